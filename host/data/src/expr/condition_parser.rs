//! The grammar of condition and filter expressions (also read by key conditions).
//!
//! ```text
//! condition  ::= or
//! or         ::= and ( OR and )*
//! and        ::= not ( AND not )*
//! not        ::= NOT not | primary
//! primary    ::= '(' or ')' | operand comparison | function
//! comparison ::= comparator operand | BETWEEN operand AND operand | IN '(' operand (',' operand)* ')'
//! operand    ::= path | :value | size '(' operand ')' | '(' operand ')'
//! function   ::= attribute_exists(path) | attribute_not_exists(path) | attribute_type(operand, :type)
//!              | begins_with(operand, operand) | contains(operand, operand)
//! ```
//!
//! Keywords (`AND`, `OR`, `NOT`, `BETWEEN`, `IN`) are case-insensitive; function names are
//! case-sensitive, as DynamoDB documents. A parenthesised operand and a parenthesised
//! condition both start with `(`; the parser reads what is inside and decides by what
//! follows the `)`, so no backtracking is needed. Function calls are checked in
//! `condition_functions`.

use super::condition::{Comparator, Condition, MAX_IN_OPERANDS, Operand};
use super::context::ExprContext;
use super::errors::{ExprKind, Problem};
use super::lexer::TokenKind;
use super::parser::Parser;
use crate::error::DataError;

/// Parses `text` with the condition grammar, reporting errors as an expression of `kind`.
pub(crate) fn parse(
    text: &str,
    ctx: &mut ExprContext,
    kind: ExprKind,
) -> Result<Condition, DataError> {
    let mut parser = Parser::new(text, kind, ctx)?;
    let node = parser.or_node()?;
    let condition = parser.require_condition(node)?;
    parser.expect_end()?;
    parser.finish()?;
    Ok(condition)
}

/// The words the condition grammar keeps for itself; they cannot name attributes.
fn is_keyword(word: &str) -> bool {
    ["AND", "OR", "NOT", "BETWEEN", "IN"]
        .iter()
        .any(|keyword| word.eq_ignore_ascii_case(keyword))
}

/// What `primary` read: a condition, or an operand that a comparison may still follow
/// (for `(a) = b`). `parens` tells whether it was wrapped in parentheses.
enum Node {
    Condition { condition: Condition, parens: bool },
    Operand { operand: Operand, parens: bool },
}

impl Node {
    fn condition(condition: Condition) -> Self {
        Node::Condition {
            condition,
            parens: false,
        }
    }

    fn parens(&self) -> bool {
        match self {
            Node::Condition { parens, .. } | Node::Operand { parens, .. } => *parens,
        }
    }

    fn wrapped(self) -> Self {
        match self {
            Node::Condition { condition, .. } => Node::Condition {
                condition,
                parens: true,
            },
            Node::Operand { operand, .. } => Node::Operand {
                operand,
                parens: true,
            },
        }
    }
}

/// An operand or a function call, before it is known which one the context needs.
pub(crate) enum Term {
    /// A path or a value.
    Operand(Operand),
    /// A function call, by name.
    Call {
        /// The function's name as written.
        name: String,
        /// Its arguments.
        args: Vec<Operand>,
    },
}

/// Stands in for a condition or operand whose problem was already recorded; the parse
/// fails at the end, so it is never evaluated.
pub(crate) fn placeholder_condition() -> Condition {
    Condition::And(Vec::new())
}

pub(crate) const REDUNDANT_PARENTHESES: &str = "The expression has redundant parentheses;";

impl Parser<'_, '_, '_> {
    /// A syntax error unless `node` is a condition (a lone operand is not one).
    fn require_condition(&self, node: Node) -> Result<Condition, DataError> {
        match node {
            Node::Condition { condition, .. } => Ok(condition),
            Node::Operand { .. } => Err(self.syntax_error()),
        }
    }

    fn or_node(&mut self) -> Result<Node, DataError> {
        self.logical_node("OR", Self::and_node, Condition::Or)
    }

    fn and_node(&mut self) -> Result<Node, DataError> {
        self.logical_node("AND", Self::not_node, Condition::And)
    }

    /// `operand (keyword operand)*`, combined with `combine` when there are several.
    fn logical_node(
        &mut self,
        keyword: &str,
        operand: fn(&mut Self) -> Result<Node, DataError>,
        combine: fn(Vec<Condition>) -> Condition,
    ) -> Result<Node, DataError> {
        let first = operand(self)?;
        if !self.at_keyword(keyword) {
            return Ok(first);
        }
        let mut items = vec![self.require_condition(first)?];
        while self.at_keyword(keyword) {
            self.count_operator()?;
            self.advance();
            let next = operand(self)?;
            items.push(self.require_condition(next)?);
        }
        Ok(Node::condition(combine(items)))
    }

    fn not_node(&mut self) -> Result<Node, DataError> {
        if !self.at_keyword("NOT") {
            return self.primary();
        }
        self.count_operator()?;
        self.advance();
        self.enter()?;
        let inner = self.not_node()?;
        let condition = self.require_condition(inner)?;
        self.leave();
        Ok(Node::condition(Condition::Not(Box::new(condition))))
    }

    fn at_comparison(&self) -> bool {
        Comparator::from_token(self.peek().kind).is_some()
            || self.at_keyword("BETWEEN")
            || self.at_keyword("IN")
    }

    fn primary(&mut self) -> Result<Node, DataError> {
        if self.eat(TokenKind::LParen) {
            self.enter()?;
            let inner = self.or_node()?;
            self.expect(TokenKind::RParen)?;
            self.leave();
            if inner.parens() {
                self.problems
                    .report(Problem::RedundantParentheses, REDUNDANT_PARENTHESES);
            }
            return match inner {
                Node::Operand { operand, .. } if self.at_comparison() => self.comparison(operand),
                other => Ok(other.wrapped()),
            };
        }
        let term = self.term()?;
        if self.at_comparison() {
            let left = self.term_operand(term);
            return self.comparison(left);
        }
        Ok(match term {
            Term::Call { name, args } => Node::condition(self.call_condition(&name, args)),
            Term::Operand(operand) => Node::Operand {
                operand,
                parens: false,
            },
        })
    }

    /// The rest of a comparison, `BETWEEN` or `IN` whose left operand was read.
    fn comparison(&mut self, left: Operand) -> Result<Node, DataError> {
        self.count_operator()?;
        if let Some(op) = Comparator::from_token(self.peek().kind) {
            self.advance();
            let right = self.operand()?;
            self.check_distinct(op.symbol(), &left, &right);
            return Ok(Node::condition(Condition::Compare { left, op, right }));
        }
        if self.at_keyword("BETWEEN") {
            self.advance();
            let low = self.operand()?;
            if !self.at_keyword("AND") {
                return Err(self.syntax_error());
            }
            self.advance();
            let high = self.operand()?;
            self.check_bounds(&low, &high);
            return Ok(Node::condition(Condition::Between {
                operand: left,
                low,
                high,
            }));
        }
        if !self.at_keyword("IN") {
            return Err(self.syntax_error());
        }
        self.advance();
        self.expect(TokenKind::LParen)?;
        let mut list = vec![self.operand()?];
        while self.eat(TokenKind::Comma) {
            list.push(self.operand()?);
        }
        self.expect(TokenKind::RParen)?;
        if list.len() > MAX_IN_OPERANDS {
            return Err(self.kind.error(format_args!(
                "The IN operator is provided with too many operands; number of operands: {}",
                list.len()
            )));
        }
        Ok(Node::condition(Condition::In {
            operand: left,
            list,
        }))
    }

    /// An operand where only an operand may stand (right of a comparator, in a list, as
    /// a function argument).
    fn operand(&mut self) -> Result<Operand, DataError> {
        Ok(self.operand_with_parens()?.0)
    }

    fn operand_with_parens(&mut self) -> Result<(Operand, bool), DataError> {
        if self.eat(TokenKind::LParen) {
            self.enter()?;
            let (operand, inner_parens) = self.operand_with_parens()?;
            self.expect(TokenKind::RParen)?;
            self.leave();
            if inner_parens {
                self.problems
                    .report(Problem::RedundantParentheses, REDUNDANT_PARENTHESES);
            }
            return Ok((operand, true));
        }
        let term = self.term()?;
        Ok((self.term_operand(term), false))
    }

    /// A path, a value, or a function call.
    fn term(&mut self) -> Result<Term, DataError> {
        let token = self.peek();
        match token.kind {
            TokenKind::Value => Ok(Term::Operand(Operand::Value(self.value()?))),
            TokenKind::Ident
                if self.peek_at(1).kind == TokenKind::LParen
                    && !is_keyword(self.text_of(token)) =>
            {
                self.count_operator()?;
                let name = self.text_of(token).to_owned();
                self.advance();
                self.advance();
                self.enter()?;
                let mut args = vec![self.operand()?];
                while self.eat(TokenKind::Comma) {
                    args.push(self.operand()?);
                }
                self.expect(TokenKind::RParen)?;
                self.leave();
                Ok(Term::Call { name, args })
            }
            TokenKind::Ident | TokenKind::Name => {
                Ok(Term::Operand(Operand::Path(self.path(is_keyword)?)))
            }
            _ => Err(self.syntax_error()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::expr::path::{Path, PathElement};
    use crate::ops::Placeholders;
    use crate::value::Value;

    pub(crate) fn placeholders() -> Placeholders {
        Placeholders {
            names: [
                ("#s".to_owned(), "status".to_owned()),
                ("#n".to_owned(), "n".to_owned()),
            ]
            .into(),
            values: [
                (":one".to_owned(), Value::n(1)),
                (":two".to_owned(), Value::n(2)),
                (":a".to_owned(), Value::s("a")),
                (":b".to_owned(), Value::s("b")),
                (":t".to_owned(), Value::s("SS")),
                (":bad_type".to_owned(), Value::s("STRING")),
            ]
            .into(),
        }
    }

    pub(crate) fn parse_ok(text: &str) -> Condition {
        let p = placeholders();
        let mut ctx = ExprContext::new(&p);
        parse(text, &mut ctx, ExprKind::Condition).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    pub(crate) fn parse_err(text: &str) -> String {
        let p = placeholders();
        let mut ctx = ExprContext::new(&p);
        match parse(text, &mut ctx, ExprKind::Condition) {
            Ok(condition) => panic!("{text}: parsed as {condition:?}"),
            Err(error) => error.message(),
        }
    }

    pub(crate) fn path(name: &str) -> Operand {
        Operand::Path(Path::attribute(name))
    }

    #[test]
    fn comparisons() {
        assert_eq!(
            parse_ok("a <= :one"),
            Condition::Compare {
                left: path("a"),
                op: Comparator::Le,
                right: Operand::Value(Value::n(1)),
            }
        );
        assert_eq!(
            parse_ok("(a) <> (:one)"),
            Condition::Compare {
                left: path("a"),
                op: Comparator::Ne,
                right: Operand::Value(Value::n(1)),
            }
        );
        assert!(matches!(
            parse_ok("size(a.b[1]) > :two"),
            Condition::Compare {
                left: Operand::Size(_),
                op: Comparator::Gt,
                ..
            }
        ));
        assert!(matches!(
            parse_ok("a between :one and :two"),
            Condition::Between { .. }
        ));
        match parse_ok("a IN (:one, :two, b)") {
            Condition::In { list, .. } => assert_eq!(list.len(), 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn precedence_and_grouping() {
        // NOT binds tighter than AND, AND tighter than OR.
        let condition = parse_ok("a = :one OR NOT b = :one AND c = :one");
        let Condition::Or(items) = condition else {
            panic!("expected OR")
        };
        assert_eq!(items.len(), 2);
        assert!(
            matches!(&items[1], Condition::And(inner) if matches!(inner[0], Condition::Not(_)))
        );

        let condition = parse_ok("(a = :one OR b = :one) AND c = :one");
        assert!(
            matches!(condition, Condition::And(ref items) if matches!(items[0], Condition::Or(_)))
        );

        let condition = parse_ok("a = :one and b = :one AND c = :one");
        assert!(matches!(condition, Condition::And(ref items) if items.len() == 3));
    }

    #[test]
    fn keywords_ignore_case_but_function_names_do_not() {
        parse_ok("a = :one aNd NoT b = :one oR c BeTwEeN :one AnD :two");
        assert_eq!(
            parse_err("ATTRIBUTE_EXISTS(a)"),
            "Invalid ConditionExpression: Invalid function name; function: ATTRIBUTE_EXISTS"
        );
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            parse_err("a"),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"a\""
        );
        assert_eq!(
            parse_err("a = "),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"= \""
        );
        assert_eq!(
            parse_err("a == :one"),
            "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"== :one\""
        );
        assert_eq!(
            parse_err("a = :one b"),
            "Invalid ConditionExpression: Syntax error; token: \"b\", near: \":one b\""
        );
        for text in [
            "things are not gonna be ok",
            "a > 4",
            "(size(a))[0] > a",
            "a AND b = :one",
            "NOT a",
            "a = :one OR b",
            "(a)",
            "a IN ()",
            "a IN :one",
            "a BETWEEN :one :two",
            "f()",
            "a = and",
            "and = :one",
            "a.and = :one",
            "a = :one)",
            "(a = :one",
            "a[1.5] = :one",
            "a = \"x\"",
            "a != :one",
        ] {
            let message = parse_err(text);
            assert!(
                message.starts_with("Invalid ConditionExpression: Syntax error; token: "),
                "{text}: {message}"
            );
        }
    }

    #[test]
    fn placeholders_and_reserved_words() {
        assert_eq!(
            parse_err("status = :one"),
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
        );
        assert_eq!(
            parse_err("#x = :one"),
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"
        );
        assert_eq!(
            parse_err("a = :x"),
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x"
        );
        // Only placeholders defeat the reserved-word check.
        parse_ok("#s = :one");
    }

    #[test]
    fn redundant_parentheses() {
        for text in [
            "((a = :one))",
            "((a)) = :one",
            "a = ((:one))",
            "((a = :one)) AND b = :one",
        ] {
            assert_eq!(
                parse_err(text),
                "Invalid ConditionExpression: The expression has redundant parentheses;",
                "{text}"
            );
        }
        parse_ok("(a = :one) AND ((b = :one) OR (c = :one))");
        parse_ok("NOT (a = :one)");
    }

    #[test]
    fn in_lists_hold_at_most_100_values() {
        let list = vec![":one"; MAX_IN_OPERANDS].join(", ");
        parse_ok(&format!("a IN ({list})"));
        let list = vec![":one"; MAX_IN_OPERANDS + 1].join(", ");
        assert_eq!(
            parse_err(&format!("a IN ({list})")),
            "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"
        );
    }

    #[test]
    fn nesting_and_size_limits() {
        let deep = format!("{}a = :one{}", "(".repeat(150), ")".repeat(150));
        assert!(parse_err(&deep).contains("too many nesting levels"));
        let nots = format!("{}a = :one", "NOT ".repeat(150));
        assert!(parse_err(&nots).contains("too many nesting levels"));
        let sizes = format!("{}a{} = :one", "size(".repeat(150), ")".repeat(150));
        assert!(parse_err(&sizes).contains("too many nesting levels"));
        let ors = vec!["a = :one"; 301].join(" OR ");
        assert!(parse_err(&ors).contains("too many operators"));
    }

    #[test]
    fn nested_paths_parse() {
        let Condition::Compare {
            left: Operand::Path(path),
            ..
        } = parse_ok("a.b[2].#n = :one")
        else {
            panic!("expected a comparison")
        };
        assert_eq!(
            path.elements(),
            [
                PathElement::Attr("a".into()),
                PathElement::Attr("b".into()),
                PathElement::Index(2),
                PathElement::Attr("n".into()),
            ]
        );
    }
}
