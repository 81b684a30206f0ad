//! Condition and filter expressions: the syntax tree.
//!
//! The grammar is in `condition_parser` (with the function checks in
//! `condition_functions`); evaluation is in `eval`.

use std::collections::BTreeSet;

use super::lexer::TokenKind;
use super::path::Path;
use crate::value::{Value, ValueType};

/// The most values the list of an `IN` may hold.
pub const MAX_IN_OPERANDS: usize = 100;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `=`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Comparator {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }

    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub fn mirrored(self) -> Self {
        match self {
            Comparator::Lt => Comparator::Gt,
            Comparator::Le => Comparator::Ge,
            Comparator::Gt => Comparator::Lt,
            Comparator::Ge => Comparator::Le,
            same => same,
        }
    }

    pub(crate) fn from_token(kind: TokenKind) -> Option<Self> {
        Some(match kind {
            TokenKind::Eq => Comparator::Eq,
            TokenKind::Ne => Comparator::Ne,
            TokenKind::Lt => Comparator::Lt,
            TokenKind::Le => Comparator::Le,
            TokenKind::Gt => Comparator::Gt,
            TokenKind::Ge => Comparator::Ge,
            _ => return None,
        })
    }
}

/// Something a condition compares: a path into the item, a value, or a size.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// The value at a document path (absent when the path does not resolve).
    Path(Path),
    /// An expression attribute value.
    Value(Value),
    /// `size(operand)`: a number, absent for types without a size.
    Size(Box<Operand>),
}

impl Operand {
    /// The operand's type when it is known without an item.
    pub(crate) fn static_type(&self) -> Option<ValueType> {
        match self {
            Operand::Path(_) => None,
            Operand::Value(value) => Some(value.value_type()),
            Operand::Size(_) => Some(ValueType::N),
        }
    }
}

/// A parsed condition (or filter) expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// `a = b`, `a < b`, ….
    Compare {
        /// The left operand.
        left: Operand,
        /// The operator.
        op: Comparator,
        /// The right operand.
        right: Operand,
    },
    /// `a BETWEEN low AND high` (bounds included).
    Between {
        /// The operand tested.
        operand: Operand,
        /// The lower bound.
        low: Operand,
        /// The upper bound.
        high: Operand,
    },
    /// `a IN (b, c, …)`.
    In {
        /// The operand tested.
        operand: Operand,
        /// The candidates (1 to [`MAX_IN_OPERANDS`]).
        list: Vec<Operand>,
    },
    /// `attribute_exists(path)`.
    AttributeExists(Path),
    /// `attribute_not_exists(path)`.
    AttributeNotExists(Path),
    /// `attribute_type(operand, :type)`.
    AttributeType(Operand, ValueType),
    /// `begins_with(operand, prefix)`, on strings or binaries.
    BeginsWith(Operand, Operand),
    /// `contains(operand, member)`: substring, set member or list element.
    Contains(Operand, Operand),
    /// `NOT c`.
    Not(Box<Condition>),
    /// `c AND d AND …` (at least two).
    And(Vec<Condition>),
    /// `c OR d OR …` (at least two).
    Or(Vec<Condition>),
}

impl Condition {
    /// The top-level attribute names the condition reads (a filter may not read key
    /// attributes).
    pub fn top_level_attributes(&self) -> BTreeSet<&str> {
        let mut names = BTreeSet::new();
        self.visit_paths(&mut |path| {
            names.insert(path.head());
        });
        names
    }

    /// Calls `f` on every document path in the condition.
    pub(crate) fn visit_paths<'s>(&'s self, f: &mut impl FnMut(&'s Path)) {
        fn operand<'s>(op: &'s Operand, f: &mut impl FnMut(&'s Path)) {
            match op {
                Operand::Path(path) => f(path),
                Operand::Value(_) => {}
                Operand::Size(inner) => operand(inner, f),
            }
        }
        match self {
            Condition::Compare { left, right, .. } => {
                operand(left, f);
                operand(right, f);
            }
            Condition::Between {
                operand: op,
                low,
                high,
            } => {
                operand(op, f);
                operand(low, f);
                operand(high, f);
            }
            Condition::In { operand: op, list } => {
                operand(op, f);
                list.iter().for_each(|item| operand(item, f));
            }
            Condition::AttributeExists(path) | Condition::AttributeNotExists(path) => f(path),
            Condition::AttributeType(op, _) => operand(op, f),
            Condition::BeginsWith(a, b) | Condition::Contains(a, b) => {
                operand(a, f);
                operand(b, f);
            }
            Condition::Not(inner) => inner.visit_paths(f),
            Condition::And(items) | Condition::Or(items) => {
                items.iter().for_each(|item| item.visit_paths(f));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{ExprContext, parse_condition};
    use crate::ops::Placeholders;

    #[test]
    fn top_level_attributes_are_listed() {
        let condition =
            parse_ok_condition("a.b = :one AND (size(c[1]) > :one OR attribute_exists(#n))");
        let names: Vec<&str> = condition.top_level_attributes().into_iter().collect();
        assert_eq!(names, ["a", "c", "n"]);
    }

    #[test]
    fn comparator_mirroring() {
        assert_eq!(Comparator::Lt.mirrored(), Comparator::Gt);
        assert_eq!(Comparator::Ge.mirrored(), Comparator::Le);
        assert_eq!(Comparator::Eq.mirrored(), Comparator::Eq);
        assert_eq!(Comparator::Ne.symbol(), "<>");
    }

    fn parse_ok_condition(text: &str) -> Condition {
        let placeholders = Placeholders {
            names: [("#n".to_owned(), "n".to_owned())].into(),
            values: [(":one".to_owned(), Value::n(1))].into(),
        };
        let mut ctx = ExprContext::new(&placeholders);
        parse_condition(text, &mut ctx).unwrap_or_else(|e| panic!("{text}: {e}"))
    }
}
