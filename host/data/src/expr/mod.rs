//! DynamoDB's expression language: condition, filter, update, projection and key
//! condition expressions, parsed and evaluated the way DynamoDB does, with DynamoDB's
//! error messages.
//!
//! One request's expressions share an [`ExprContext`], which resolves `#name` and
//! `:value` placeholders and, in [`ExprContext::finish`], reports the ones no expression
//! used:
//!
//! ```
//! use portico_data::Value;
//! use portico_data::expr::{ExprContext, parse_condition, parse_update};
//! use portico_data::ops::Placeholders;
//!
//! let mut placeholders = Placeholders::default();
//! placeholders.values.insert(":one".into(), Value::n(1));
//! let mut ctx = ExprContext::new(&placeholders);
//! let condition = parse_condition("attribute_not_exists(n) OR n < :one", &mut ctx)?;
//! let update = parse_update("ADD n :one", &mut ctx)?;
//! ctx.finish()?;
//!
//! let mut item = portico_data::Item::new();
//! assert!(condition.evaluate(&item)?);
//! update.apply(&mut item)?;
//! assert_eq!(item["n"], Value::n(1));
//! # Ok::<(), portico_data::DataError>(())
//! ```
//!
//! Inside: `lexer` splits text into tokens; `parser` holds the recursive-descent
//! machinery (paths, placeholders, limits, syntax errors); `condition` is the condition
//! tree, `condition_parser` its grammar and `condition_functions` the checks on function
//! calls; `update`, `projection` and `key_condition` hold their grammar with the tree it
//! builds; `eval` evaluates conditions and `apply` carries out updates.
//!
//! Limits: an expression holds at most [`MAX_EXPRESSION_SIZE`] bytes and
//! [`MAX_OPERATORS`] operators or functions; a document path at most [`MAX_PATH_DEPTH`]
//! levels; an `IN` list at most [`MAX_IN_OPERANDS`] values; nesting (parentheses, `NOT`,
//! function calls) at most [`MAX_NESTING_DEPTH`] levels.

mod apply;
mod condition;
mod condition_functions;
mod condition_parser;
mod context;
mod errors;
mod eval;
mod key_condition;
mod lexer;
mod parser;
mod path;
mod projection;
mod reserved;
mod update;

pub use condition::{Comparator, Condition, MAX_IN_OPERANDS, Operand};
pub use context::ExprContext;
pub use errors::ExprKind;
pub use key_condition::{KeyCondition, SortKeyCondition};
pub use parser::{MAX_EXPRESSION_SIZE, MAX_NESTING_DEPTH, MAX_OPERATORS};
pub use path::{MAX_PATH_DEPTH, Path, PathElement};
pub use projection::Projection;
pub use reserved::{RESERVED_WORDS, is_reserved_word};
pub use update::{SetOperand, SetValue, Update, UpdateAction};

use crate::error::DataError;
use crate::schema::KeySchema;

/// Parses a `ConditionExpression`.
///
/// # Errors
/// DynamoDB's validation errors, "Invalid ConditionExpression: …": syntax errors,
/// undefined placeholders, reserved words, misused functions, and the limits above.
pub fn parse_condition(text: &str, ctx: &mut ExprContext) -> Result<Condition, DataError> {
    condition_parser::parse(text, ctx, ExprKind::Condition)
}

/// Parses a `FilterExpression`: the condition grammar, with errors naming the filter.
///
/// # Errors
/// As [`parse_condition`], worded "Invalid FilterExpression: …".
pub fn parse_filter(text: &str, ctx: &mut ExprContext) -> Result<Condition, DataError> {
    condition_parser::parse(text, ctx, ExprKind::Filter)
}

/// Parses an `UpdateExpression`.
///
/// # Errors
/// DynamoDB's validation errors, "Invalid UpdateExpression: …": syntax errors, repeated
/// clauses, undefined placeholders, reserved words, overlapping or conflicting paths,
/// operands of the wrong type, unknown functions.
pub fn parse_update(text: &str, ctx: &mut ExprContext) -> Result<Update, DataError> {
    update::parse(text, ctx)
}

/// Parses a `ProjectionExpression`.
///
/// # Errors
/// DynamoDB's validation errors, "Invalid ProjectionExpression: …": syntax errors,
/// undefined names, reserved words, overlapping or conflicting paths.
pub fn parse_projection(text: &str, ctx: &mut ExprContext) -> Result<Projection, DataError> {
    projection::parse(text, ctx)
}

/// Parses a `KeyConditionExpression` and checks it against `key`, the key schema of the
/// table or index queried.
///
/// # Errors
/// The condition grammar's errors ("Invalid KeyConditionExpression: …"), then DynamoDB's
/// errors for conditions a query cannot use ("Invalid operator used in
/// KeyConditionExpression: OR", "Query condition missed key schema element: pk", "Query
/// key condition not supported", "One or more parameter values were invalid: Condition
/// parameter type does not match schema type", …).
pub fn parse_key_condition(
    text: &str,
    ctx: &mut ExprContext,
    key: &KeySchema,
) -> Result<KeyCondition, DataError> {
    key_condition::parse(text, ctx, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Placeholders;
    use crate::schema::string_keys;
    use crate::value::{Item, Value};

    #[test]
    fn one_context_serves_all_expressions_of_a_request() {
        let placeholders = Placeholders {
            names: [
                ("#s".to_owned(), "status".to_owned()),
                ("#unused".to_owned(), "x".to_owned()),
            ]
            .into(),
            values: [
                (":p".to_owned(), Value::s("p")),
                (":done".to_owned(), Value::s("done")),
            ]
            .into(),
        };
        let mut ctx = ExprContext::new(&placeholders);
        parse_key_condition("pk = :p", &mut ctx, &string_keys("pk", None)).expect("key");
        parse_filter("#s <> :done", &mut ctx).expect("filter");
        parse_projection("pk, #s", &mut ctx).expect("projection");
        assert_eq!(
            ctx.finish().unwrap_err().message(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}"
        );
    }

    #[test]
    fn filters_name_themselves_in_errors() {
        let placeholders = Placeholders::default();
        let mut ctx = ExprContext::new(&placeholders);
        assert_eq!(
            parse_filter("a = ", &mut ctx).unwrap_err().message(),
            "Invalid FilterExpression: Syntax error; token: \"<EOF>\", near: \"= \""
        );
        assert_eq!(
            parse_condition("", &mut ctx).unwrap_err().message(),
            "Invalid ConditionExpression: The expression can not be empty;"
        );
    }

    #[test]
    fn a_conditional_update_round_trip() {
        let placeholders = Placeholders {
            names: [("#c".to_owned(), "count".to_owned())].into(),
            values: [
                (":zero".to_owned(), Value::n(0)),
                (":one".to_owned(), Value::n(1)),
                (":max".to_owned(), Value::n(2)),
            ]
            .into(),
        };
        let mut ctx = ExprContext::new(&placeholders);
        let condition =
            parse_condition("attribute_not_exists(#c) OR #c < :max", &mut ctx).expect("condition");
        let update =
            parse_update("SET #c = if_not_exists(#c, :zero) + :one", &mut ctx).expect("update");
        ctx.finish().expect("all placeholders used");
        update
            .check_key(&string_keys("pk", None))
            .expect("key untouched");

        let mut item = Item::from([("pk".to_owned(), Value::s("k"))]);
        let mut applied = 0;
        while condition.evaluate(&item).expect("evaluates") {
            update.apply(&mut item).expect("applies");
            applied += 1;
        }
        assert_eq!(applied, 2);
        assert_eq!(item["count"], Value::n(2));
    }

    #[test]
    fn hostile_input_never_panics() {
        let placeholders = Placeholders {
            names: [("#a".to_owned(), "a".to_owned())].into(),
            values: [(":v".to_owned(), Value::n(1))].into(),
        };
        let key = string_keys("pk", Some("sk"));
        let fragments = [
            "a",
            "#a",
            ":v",
            "(",
            ")",
            "[",
            "]",
            "0",
            "99999999999999999999",
            ".",
            ",",
            "=",
            "<>",
            "<",
            ">=",
            "+",
            "-",
            "AND",
            "OR",
            "NOT",
            "BETWEEN",
            "IN",
            "SET",
            "REMOVE",
            "ADD",
            "DELETE",
            "size",
            "contains",
            "if_not_exists",
            "list_append",
            "é",
            "\"",
            "#",
            ":",
            " ",
            "status",
        ];
        // A deterministic pseudo-random walk over fragment sequences.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut text = String::new();
            let len = (state % 12) as usize + 1;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let index = (state % fragments.len() as u64) as usize;
                text.push_str(fragments[index]);
                text.push(' ');
            }
            let mut ctx = ExprContext::new(&placeholders);
            if let Ok(condition) = parse_condition(&text, &mut ctx) {
                let _ = condition.evaluate(&Item::new());
            }
            if let Ok(update) = parse_update(&text, &mut ctx) {
                let _ = update.apply(&mut Item::new());
                let _ = update.updated_attributes(&Item::new());
            }
            if let Ok(projection) = parse_projection(&text, &mut ctx) {
                let _ = projection.apply(&Item::new());
            }
            let _ = parse_key_condition(&text, &mut ctx, &key);
        }
    }

    #[test]
    fn arbitrary_characters_never_panic() {
        let placeholders = Placeholders::default();
        let alphabet: Vec<char> = "ab#:_09()[].,=<>+- \t\"'!é😀\u{0}".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let mut ctx = ExprContext::new(&placeholders);
            let _ = parse_condition(&text, &mut ctx);
            let _ = parse_update(&text, &mut ctx);
            let _ = parse_projection(&text, &mut ctx);
        }
    }
}
