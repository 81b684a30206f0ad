//! Key condition expressions: which items of a table or index a query reads.
//!
//! The expression uses the condition grammar, restricted to: the partition key `=` a
//! value, optionally `AND` one condition on the sort key (`=`, `<`, `<=`, `>`, `>=`,
//! `BETWEEN`, `begins_with`), in either order, each key on either side of its operator.

use std::cmp::Ordering;

use super::condition::{Comparator, Condition, Operand};
use super::condition_parser;
use super::context::ExprContext;
use super::errors::ExprKind;
use super::eval::{begins_with, compare_ordered};
use super::path::Path;
use crate::error::DataError;
use crate::schema::{KeyAttribute, KeyRole, KeySchema, check_key_size};
use crate::value::Value;

/// A query's key condition, checked against the key schema it queries.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCondition {
    /// The partition key's value.
    pub partition: Value,
    /// The condition on the sort key, if any.
    pub sort: Option<SortKeyCondition>,
}

/// A condition on the sort key. Its values have the sort key's type.
#[derive(Clone, Debug, PartialEq)]
pub enum SortKeyCondition {
    /// `sk = v`.
    Eq(Value),
    /// `sk < v`.
    Lt(Value),
    /// `sk <= v`.
    Le(Value),
    /// `sk > v`.
    Gt(Value),
    /// `sk >= v`.
    Ge(Value),
    /// `sk BETWEEN low AND high` (bounds included).
    Between(Value, Value),
    /// `begins_with(sk, prefix)` (string and binary keys).
    BeginsWith(Value),
}

impl SortKeyCondition {
    /// Whether an item's sort key value satisfies the condition (false for a value of
    /// another type).
    pub fn matches(&self, sort_value: &Value) -> bool {
        let order = |bound: &Value| compare_ordered(sort_value, bound);
        match self {
            SortKeyCondition::Eq(v) => order(v) == Some(Ordering::Equal),
            SortKeyCondition::Lt(v) => order(v) == Some(Ordering::Less),
            SortKeyCondition::Le(v) => matches!(order(v), Some(Ordering::Less | Ordering::Equal)),
            SortKeyCondition::Gt(v) => order(v) == Some(Ordering::Greater),
            SortKeyCondition::Ge(v) => {
                matches!(order(v), Some(Ordering::Greater | Ordering::Equal))
            }
            SortKeyCondition::Between(low, high) => {
                matches!(order(low), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(order(high), Some(Ordering::Less | Ordering::Equal))
            }
            SortKeyCondition::BeginsWith(prefix) => begins_with(sort_value, prefix),
        }
    }

    /// The condition's values.
    fn values(&self) -> Vec<&Value> {
        match self {
            SortKeyCondition::Eq(v)
            | SortKeyCondition::Lt(v)
            | SortKeyCondition::Le(v)
            | SortKeyCondition::Gt(v)
            | SortKeyCondition::Ge(v)
            | SortKeyCondition::BeginsWith(v) => vec![v],
            SortKeyCondition::Between(low, high) => vec![low, high],
        }
    }
}

/// Parses a key condition expression and checks it against the key schema queried.
pub(crate) fn parse(
    text: &str,
    ctx: &mut ExprContext,
    key: &KeySchema,
) -> Result<KeyCondition, DataError> {
    let condition = condition_parser::parse(text, ctx, ExprKind::KeyCondition)?;
    let mut conditions = Vec::new();
    collect(condition, &mut conditions)?;
    match_schema(conditions, key)
}

/// One condition of a key condition expression, on the attribute it names.
struct KeyTerm {
    attribute: String,
    condition: SortKeyCondition,
}

fn invalid_operator(operator: &str) -> DataError {
    DataError::validation(format!(
        "Invalid operator used in KeyConditionExpression: {operator}"
    ))
}

fn invalid_condition(reason: &str) -> DataError {
    DataError::validation(format!(
        "Invalid condition in KeyConditionExpression: {reason}"
    ))
}

/// Splits the expression into its per-key conditions, with DynamoDB's errors for what a
/// key condition cannot hold.
fn collect(condition: Condition, out: &mut Vec<KeyTerm>) -> Result<(), DataError> {
    let (shape, operands) = match condition {
        Condition::And(items) => {
            for item in items {
                collect(item, out)?;
            }
            return Ok(());
        }
        Condition::Or(_) => return Err(invalid_operator("OR")),
        Condition::Not(_) => return Err(invalid_operator("NOT")),
        Condition::In { .. } => return Err(invalid_operator("IN")),
        Condition::Compare {
            op: Comparator::Ne, ..
        } => return Err(invalid_operator("<>")),
        Condition::AttributeExists(_) => return Err(invalid_operator("attribute_exists")),
        Condition::AttributeNotExists(_) => return Err(invalid_operator("attribute_not_exists")),
        Condition::AttributeType(..) => return Err(invalid_operator("attribute_type")),
        Condition::Contains(..) => return Err(invalid_operator("contains")),
        Condition::Compare { left, op, right } => (Shape::Compare(op), vec![left, right]),
        Condition::Between { operand, low, high } => {
            if !matches!(operand, Operand::Path(_)) {
                return Err(invalid_condition(
                    "BETWEEN operator must have the key attribute as its first operand",
                ));
            }
            (Shape::Between, vec![operand, low, high])
        }
        Condition::BeginsWith(whole, prefix) => {
            if !matches!(whole, Operand::Path(_)) {
                return Err(invalid_condition(
                    "begins_with operator must have the key attribute as its first operand",
                ));
            }
            (Shape::BeginsWith, vec![whole, prefix])
        }
    };

    // Exactly one operand names a (top-level) key attribute; the others are values.
    let mut attribute: Option<(usize, Path)> = None;
    let mut values = Vec::new();
    for (position, operand) in operands.into_iter().enumerate() {
        match operand {
            Operand::Path(path) => {
                if attribute.is_some() {
                    return Err(invalid_condition(
                        "Multiple attribute names used in one condition",
                    ));
                }
                if path.is_nested() {
                    return Err(DataError::validation(
                        "KeyConditionExpressions cannot have conditions on nested attributes",
                    ));
                }
                attribute = Some((position, path));
            }
            Operand::Size(_) => {
                return Err(DataError::validation(
                    "KeyConditionExpressions cannot contain nested operations",
                ));
            }
            Operand::Value(value) => values.push(value),
        }
    }
    let Some((position, path)) = attribute else {
        return Err(invalid_condition("No key attribute specified"));
    };
    let attribute = path.head().to_owned();
    if out.iter().any(|term| term.attribute == attribute) {
        return Err(DataError::validation(
            "KeyConditionExpressions must only contain one condition per key",
        ));
    }
    let mut values = values.into_iter();
    let mut next = || values.next().unwrap_or(Value::Null);
    let condition = match shape {
        Shape::Between => SortKeyCondition::Between(next(), next()),
        Shape::BeginsWith => SortKeyCondition::BeginsWith(next()),
        Shape::Compare(op) => {
            // `:v < sk` is `sk > :v`.
            let op = if position == 0 { op } else { op.mirrored() };
            let value = next();
            match op {
                Comparator::Lt => SortKeyCondition::Lt(value),
                Comparator::Le => SortKeyCondition::Le(value),
                Comparator::Gt => SortKeyCondition::Gt(value),
                Comparator::Ge => SortKeyCondition::Ge(value),
                Comparator::Eq | Comparator::Ne => SortKeyCondition::Eq(value),
            }
        }
    };
    out.push(KeyTerm {
        attribute,
        condition,
    });
    Ok(())
}

/// The form of one key condition.
enum Shape {
    Compare(Comparator),
    Between,
    BeginsWith,
}

/// Matches the per-key conditions with the key schema.
fn match_schema(terms: Vec<KeyTerm>, key: &KeySchema) -> Result<KeyCondition, DataError> {
    let not_supported = || DataError::validation("Query key condition not supported");
    let missed = |attr: &KeyAttribute| {
        DataError::validation(format!(
            "Query condition missed key schema element: {}",
            attr.name
        ))
    };
    if key.sort.is_none() && terms.len() > 1 {
        return Err(not_supported());
    }
    let mut partition = None;
    let mut sort = None;
    let mut others = 0;
    for term in terms {
        if term.attribute == key.partition.name {
            partition = Some(term.condition);
        } else if key.sort.as_ref().is_some_and(|s| s.name == term.attribute) {
            sort = Some(term.condition);
        } else {
            others += 1;
        }
    }
    let Some(partition) = partition else {
        return Err(missed(&key.partition));
    };
    if others > 0 {
        return match &key.sort {
            Some(sort_key) if sort.is_none() => Err(missed(sort_key)),
            _ => Err(not_supported()),
        };
    }
    check_types(&partition, &key.partition)?;
    let SortKeyCondition::Eq(partition) = partition else {
        return Err(not_supported());
    };
    // DynamoDB checks the partition key value's size in a Query too (a real Query's
    // error quoted in facebook/ThreatExchange#1324); nothing documents a check of the
    // sort key condition's values, so they are not checked.
    check_key_size(KeyRole::Partition, &partition)?;
    if let (Some(condition), Some(sort_key)) = (&sort, &key.sort) {
        check_types(condition, sort_key)?;
    }
    Ok(KeyCondition { partition, sort })
}

fn check_types(condition: &SortKeyCondition, attr: &KeyAttribute) -> Result<(), DataError> {
    let expected = attr.key_type.value_type();
    if condition
        .values()
        .iter()
        .any(|value| value.value_type() != expected)
    {
        return Err(DataError::validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse_key_condition;
    use crate::ops::Placeholders;
    use crate::schema::{KeyType, string_keys};

    fn placeholders() -> Placeholders {
        Placeholders {
            names: [("#pk".to_owned(), "pk".to_owned())].into(),
            values: [
                (":p", Value::s("p")),
                (":a", Value::s("a")),
                (":b", Value::s("b")),
                (":one", Value::n(1)),
                (":two", Value::n(2)),
                (":bin", Value::B(vec![1])),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }
    }

    fn numeric_sort() -> KeySchema {
        let mut key = string_keys("pk", Some("sk"));
        if let Some(sort) = key.sort.as_mut() {
            sort.key_type = KeyType::N;
        }
        key
    }

    fn parse_with(text: &str, key: &KeySchema) -> Result<KeyCondition, DataError> {
        let p = placeholders();
        let mut ctx = ExprContext::new(&p);
        parse_key_condition(text, &mut ctx, key)
    }

    fn ok(text: &str) -> KeyCondition {
        parse_with(text, &string_keys("pk", Some("sk"))).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        parse_with(text, &string_keys("pk", Some("sk")))
            .expect_err(text)
            .message()
    }

    #[test]
    fn partition_only_and_with_sort_conditions() {
        assert_eq!(
            ok("pk = :p"),
            KeyCondition {
                partition: Value::s("p"),
                sort: None
            }
        );
        assert_eq!(
            ok("#pk = :p AND sk = :a").sort,
            Some(SortKeyCondition::Eq(Value::s("a")))
        );
        assert_eq!(
            ok("sk < :a and pk = :p").sort,
            Some(SortKeyCondition::Lt(Value::s("a")))
        );
        assert_eq!(
            ok(":p = pk AND :a < sk").sort,
            Some(SortKeyCondition::Gt(Value::s("a")))
        );
        assert_eq!(
            ok("pk = :p AND sk >= :a").sort,
            Some(SortKeyCondition::Ge(Value::s("a")))
        );
        assert_eq!(
            ok("pk = :p AND sk BETWEEN :a AND :b").sort,
            Some(SortKeyCondition::Between(Value::s("a"), Value::s("b")))
        );
        assert_eq!(
            ok("pk = :p AND begins_with(sk, :a)").sort,
            Some(SortKeyCondition::BeginsWith(Value::s("a")))
        );
        assert_eq!(
            ok("(pk = :p) AND (sk <= :b)").sort,
            Some(SortKeyCondition::Le(Value::s("b")))
        );
    }

    #[test]
    fn operators_a_key_condition_cannot_use() {
        for (text, operator) in [
            ("pk = :p OR sk = :a", "OR"),
            ("pk IN (:p, :a)", "IN"),
            ("attribute_exists(pk)", "attribute_exists"),
            ("attribute_not_exists(pk)", "attribute_not_exists"),
            ("contains(pk, :p)", "contains"),
            ("NOT pk = :p", "NOT"),
            ("pk <> :p", "<>"),
        ] {
            assert_eq!(
                err(text),
                format!("Invalid operator used in KeyConditionExpression: {operator}")
            );
        }
    }

    #[test]
    fn malformed_conditions() {
        assert_eq!(
            err(":a BETWEEN :a AND :b AND pk = :p"),
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"
        );
        assert_eq!(
            err("begins_with(:a, sk) AND pk = :p"),
            "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand"
        );
        assert_eq!(
            err("pk = :p AND size(sk) > :one"),
            "KeyConditionExpressions cannot contain nested operations"
        );
        assert_eq!(
            err("pk = sk"),
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
        );
        assert_eq!(
            err("pk.a = :p"),
            "KeyConditionExpressions cannot have conditions on nested attributes"
        );
        assert_eq!(
            err(":a = :p"),
            "Invalid condition in KeyConditionExpression: No key attribute specified"
        );
        assert_eq!(
            err("pk = :p AND pk = :a"),
            "KeyConditionExpressions must only contain one condition per key"
        );
    }

    #[test]
    fn schema_mismatches() {
        assert_eq!(
            err("sk = :a"),
            "Query condition missed key schema element: pk"
        );
        assert_eq!(err("pk > :p"), "Query key condition not supported");
        assert_eq!(
            err("pk = :p AND extra = :a"),
            "Query condition missed key schema element: sk"
        );
        assert_eq!(
            err("pk = :p AND sk = :a AND extra = :b"),
            "Query key condition not supported"
        );
        assert_eq!(
            parse_with("pk = :p AND sk = :a", &string_keys("pk", None))
                .unwrap_err()
                .message(),
            "Query key condition not supported"
        );
        assert_eq!(
            err("pk = :one"),
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        );
        assert_eq!(
            parse_with("pk = :p AND begins_with(sk, :a)", &numeric_sort())
                .unwrap_err()
                .message(),
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        );
        assert_eq!(
            parse_with("pk = :p AND begins_with(sk, :one)", &numeric_sort())
                .unwrap_err()
                .message(),
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
        );
        assert!(parse_with("pk = :p AND sk BETWEEN :one AND :two", &numeric_sort()).is_ok());
    }

    #[test]
    fn parse_errors_name_the_key_condition() {
        assert!(err("pk = ").starts_with("Invalid KeyConditionExpression: Syntax error"));
        assert_eq!(
            err("pk = :p AND sk BETWEEN :b AND :a"),
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}"
        );
        assert_eq!(
            err("pk = :x"),
            "Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x"
        );
    }

    #[test]
    fn partition_key_size_limit() {
        let key = string_keys("pk", Some("sk"));
        let with_values = |values: &[(&str, Value)]| Placeholders {
            names: Default::default(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        };
        let parse = |p: &Placeholders, text: &str| {
            let mut ctx = ExprContext::new(p);
            parse_key_condition(text, &mut ctx, &key)
        };
        let at_limit = with_values(&[(":p", Value::s("p".repeat(2048)))]);
        assert!(parse(&at_limit, "pk = :p").is_ok());
        // 1025 two-byte characters: 2050 UTF-8 bytes.
        let over = with_values(&[(":p", Value::s("é".repeat(1025)))]);
        assert_eq!(
            parse(&over, "pk = :p").expect_err("too large").message(),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
        );
        // The sort key condition's values are not limited.
        let long_sort = with_values(&[(":p", Value::s("p")), (":a", Value::s("a".repeat(1025)))]);
        assert!(parse(&long_sort, "pk = :p AND sk > :a").is_ok());
    }

    #[test]
    fn sort_conditions_match_values() {
        let s = Value::s;
        assert!(SortKeyCondition::Eq(s("a")).matches(&s("a")));
        assert!(!SortKeyCondition::Eq(s("a")).matches(&Value::n(1)));
        assert!(SortKeyCondition::Lt(s("b")).matches(&s("a")));
        assert!(!SortKeyCondition::Lt(s("a")).matches(&s("a")));
        assert!(SortKeyCondition::Le(s("a")).matches(&s("a")));
        assert!(SortKeyCondition::Gt(Value::n(1)).matches(&Value::n(2)));
        assert!(SortKeyCondition::Ge(Value::n(2)).matches(&Value::n(2)));
        assert!(!SortKeyCondition::Ge(Value::n(3)).matches(&Value::n(2)));
        assert!(SortKeyCondition::Between(Value::n(1), Value::n(2)).matches(&Value::n(1)));
        assert!(SortKeyCondition::Between(Value::n(1), Value::n(2)).matches(&Value::n(2)));
        assert!(!SortKeyCondition::Between(Value::n(1), Value::n(2)).matches(&Value::n(3)));
        assert!(SortKeyCondition::BeginsWith(s("ab")).matches(&s("abc")));
        assert!(!SortKeyCondition::BeginsWith(s("b")).matches(&s("abc")));
        assert!(SortKeyCondition::BeginsWith(Value::B(vec![1])).matches(&Value::B(vec![1, 2])));
        // Numbers order by value, strings by bytes.
        assert!(SortKeyCondition::Lt(Value::n(10)).matches(&Value::n(9)));
        assert!(!SortKeyCondition::Lt(s("10")).matches(&s("9")));
    }

    #[test]
    fn binary_keys() {
        let mut key = string_keys("pk", Some("sk"));
        if let Some(sort) = key.sort.as_mut() {
            sort.key_type = KeyType::B;
        }
        let condition = parse_with("pk = :p AND begins_with(sk, :bin)", &key).expect("parses");
        assert_eq!(
            condition.sort,
            Some(SortKeyCondition::BeginsWith(Value::B(vec![1])))
        );
    }
}
