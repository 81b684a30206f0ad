//! Evaluating conditions against an item.
//!
//! DynamoDB's rules, as documented and as observed:
//! - An operand whose path does not resolve is *absent*. Every comparison with an absent
//!   operand is false, except `<>`, which is true: `a <> :v` holds for an item without
//!   `a` (DynamoDB's behaviour; `<>` is exactly the negation of `=`).
//! - Operands of different types are never equal and never ordered; that makes the
//!   comparison false, not an error.
//! - `<`, `<=`, `>`, `>=` and `BETWEEN` order strings and binaries by their bytes
//!   (UTF-8 for strings) and numbers by value; other types have no order.
//! - `=` and `<>` compare any two values deeply; sets compare as sets.
//! - `size` is a string's length in UTF-16 code units (DynamoDB's measure here, though it
//!   counts UTF-8 bytes for item sizes and key limits: `size("é𝄞")` is 3, as measured
//!   against DynamoDB in ExtendDB/extenddb#60 and #67, and as dynoxide counts), a
//!   binary's length in bytes, or the number of elements of a set, list or map; other
//!   types have no size (the operand is absent).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::condition::{Comparator, Condition, Operand};
use crate::error::DataError;
use crate::value::{Item, Number, Value};

impl Condition {
    /// Whether `item` satisfies the condition. A missing item is evaluated as an empty
    /// [`Item`].
    ///
    /// # Errors
    /// None at present: type mismatches make comparisons false, as in DynamoDB. The
    /// `Result` leaves room for evaluation errors without an API change.
    pub fn evaluate(&self, item: &Item) -> Result<bool, DataError> {
        Ok(self.holds(item))
    }

    fn holds(&self, item: &Item) -> bool {
        match self {
            Condition::Compare { left, op, right } => compare(
                *op,
                operand(left, item).as_deref(),
                operand(right, item).as_deref(),
            ),
            Condition::Between {
                operand: op,
                low,
                high,
            } => {
                let (Some(value), Some(low), Some(high)) =
                    (operand(op, item), operand(low, item), operand(high, item))
                else {
                    return false;
                };
                matches!(
                    compare_ordered(&value, &low),
                    Some(Ordering::Greater | Ordering::Equal)
                ) && matches!(
                    compare_ordered(&value, &high),
                    Some(Ordering::Less | Ordering::Equal)
                )
            }
            Condition::In { operand: op, list } => operand(op, item).is_some_and(|value| {
                list.iter()
                    .any(|candidate| operand(candidate, item).is_some_and(|c| *c == *value))
            }),
            Condition::AttributeExists(path) => path.resolve(item).is_some(),
            Condition::AttributeNotExists(path) => path.resolve(item).is_none(),
            Condition::AttributeType(op, value_type) => {
                operand(op, item).is_some_and(|value| value.value_type() == *value_type)
            }
            Condition::BeginsWith(whole, prefix) => {
                match (operand(whole, item), operand(prefix, item)) {
                    (Some(whole), Some(prefix)) => begins_with(&whole, &prefix),
                    _ => false,
                }
            }
            Condition::Contains(whole, member) => {
                match (operand(whole, item), operand(member, item)) {
                    (Some(whole), Some(member)) => contains(&whole, &member),
                    _ => false,
                }
            }
            Condition::Not(inner) => !inner.holds(item),
            Condition::And(items) => items.iter().all(|c| c.holds(item)),
            Condition::Or(items) => items.iter().any(|c| c.holds(item)),
        }
    }
}

/// The value of an operand for `item`; `None` when it is absent.
pub(crate) fn operand<'v>(op: &'v Operand, item: &'v Item) -> Option<Cow<'v, Value>> {
    match op {
        Operand::Path(path) => path.resolve(item).map(Cow::Borrowed),
        Operand::Value(value) => Some(Cow::Borrowed(value)),
        Operand::Size(inner) => {
            let value = operand(inner, item)?;
            size(&value).map(|n| Cow::Owned(Value::N(n)))
        }
    }
}

/// `size(value)`, or `None` for a type without a size.
pub(crate) fn size(value: &Value) -> Option<Number> {
    let count = match value {
        Value::S(text) => text.encode_utf16().count(),
        Value::B(bytes) => bytes.len(),
        Value::Ss(set) => set.len(),
        Value::Ns(set) => set.len(),
        Value::Bs(set) => set.len(),
        Value::L(list) => list.len(),
        Value::M(map) => map.len(),
        Value::N(_) | Value::Bool(_) | Value::Null => return None,
    };
    // Sizes are bounded by the 400 KB item limit, far below i64::MAX.
    Some(Number::from(i64::try_from(count).unwrap_or(i64::MAX)))
}

/// A comparison of two operands, either of which may be absent.
fn compare(op: Comparator, left: Option<&Value>, right: Option<&Value>) -> bool {
    let (Some(left), Some(right)) = (left, right) else {
        return op == Comparator::Ne;
    };
    match op {
        Comparator::Eq => left == right,
        Comparator::Ne => left != right,
        Comparator::Lt => compare_ordered(left, right) == Some(Ordering::Less),
        Comparator::Le => matches!(
            compare_ordered(left, right),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Comparator::Gt => compare_ordered(left, right) == Some(Ordering::Greater),
        Comparator::Ge => matches!(
            compare_ordered(left, right),
            Some(Ordering::Greater | Ordering::Equal)
        ),
    }
}

/// The order of two values of the same orderable type (string, number, binary); `None`
/// for other types or mixed types.
pub(crate) fn compare_ordered(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::S(a), Value::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Value::N(a), Value::N(b)) => Some(a.cmp(b)),
        (Value::B(a), Value::B(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// `begins_with`: a string or binary starting with a prefix of the same type.
pub(crate) fn begins_with(whole: &Value, prefix: &Value) -> bool {
    match (whole, prefix) {
        (Value::S(whole), Value::S(prefix)) => whole.starts_with(prefix.as_str()),
        (Value::B(whole), Value::B(prefix)) => whole.starts_with(prefix),
        _ => false,
    }
}

/// `contains`: a substring of a string (or binary), a member of a set, an element of a
/// list.
fn contains(whole: &Value, member: &Value) -> bool {
    match (whole, member) {
        (Value::S(text), Value::S(part)) => text.contains(part.as_str()),
        (Value::B(bytes), Value::B(part)) => {
            part.is_empty()
                || bytes
                    .windows(part.len())
                    .any(|window| window == part.as_slice())
        }
        (Value::Ss(set), Value::S(m)) => set.contains(m),
        (Value::Ns(set), Value::N(m)) => set.contains(m),
        (Value::Bs(set), Value::B(m)) => set.contains(m),
        (Value::L(list), m) => list.contains(m),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{ExprContext, parse_condition};
    use crate::ops::Placeholders;
    use crate::value::Set;

    fn values() -> Placeholders {
        let set = |members: &[&str]| {
            Value::Ss(Set::new(members.iter().map(|m| (*m).to_owned()).collect()).expect("set"))
        };
        Placeholders {
            names: [("#s".to_owned(), "status".to_owned())].into(),
            values: [
                (":zero", Value::n(0)),
                (":one", Value::n(1)),
                (":two", Value::n(2)),
                (":three", Value::n(3)),
                (":ten", Value::n(10)),
                (":a", Value::s("a")),
                (":ab", Value::s("ab")),
                (":b", Value::s("b")),
                (":abc", Value::s("abc")),
                (":one_s", Value::s("1")),
                (":bin", Value::B(vec![1, 2])),
                (":bin_prefix", Value::B(vec![1])),
                (":t", Value::Bool(true)),
                (":null", Value::Null),
                (":set", set(&["x", "y"])),
                (":set_yx", set(&["y", "x"])),
                (":x", Value::s("x")),
                (":list", Value::L(vec![Value::n(1), Value::s("x")])),
                (":map", Value::M([("k".to_owned(), Value::n(1))].into())),
                (":type_s", Value::s("S")),
                (":type_n", Value::s("N")),
                (":type_null", Value::s("NULL")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }
    }

    fn item() -> Item {
        Item::from([
            ("n".to_owned(), Value::n(1)),
            ("s".to_owned(), Value::s("abc")),
            ("b".to_owned(), Value::B(vec![1, 2, 3])),
            ("t".to_owned(), Value::Bool(true)),
            ("z".to_owned(), Value::Null),
            ("status".to_owned(), Value::s("active")),
            (
                "ss".to_owned(),
                Value::Ss(Set::new(vec!["x".to_owned(), "y".to_owned()]).expect("set")),
            ),
            (
                "l".to_owned(),
                Value::L(vec![
                    Value::n(1),
                    Value::s("x"),
                    Value::L(vec![Value::n(5)]),
                ]),
            ),
            (
                "m".to_owned(),
                Value::M(
                    [
                        ("k".to_owned(), Value::n(1)),
                        ("u".to_owned(), Value::s("é")),
                    ]
                    .into(),
                ),
            ),
        ])
    }

    fn eval(text: &str) -> bool {
        eval_on(text, &item())
    }

    fn eval_on(text: &str, item: &Item) -> bool {
        let p = values();
        let mut ctx = ExprContext::new(&p);
        let condition = parse_condition(text, &mut ctx).unwrap_or_else(|e| panic!("{text}: {e}"));
        condition.evaluate(item).expect("evaluates")
    }

    #[test]
    fn comparisons_by_type() {
        assert!(eval("n = :one"));
        assert!(eval("n < :two"));
        assert!(eval("n >= :one"));
        assert!(!eval("n > :one"));
        assert!(eval("s > :ab"));
        assert!(eval("s < :b"));
        assert!(eval("s <= :abc"));
        assert!(eval("b > :bin"));
        // Different types: never equal, never ordered; `<>` is true.
        assert!(!eval("n = :one_s"));
        assert!(eval("n <> :one_s"));
        assert!(!eval("n < :one_s"));
        assert!(!eval("s >= :one"));
        // Types without an order.
        assert!(!eval("t > :t"));
        assert!(eval("t = :t"));
        assert!(eval("z = :null"));
    }

    #[test]
    fn numbers_compare_by_value_and_strings_by_bytes() {
        assert!(eval("n < :ten"));
        let item = Item::from([("s".to_owned(), Value::s("Z"))]);
        // 'Z' (0x5A) sorts before 'a' (0x61).
        assert!(eval_on("s < :a", &item));
        let item = Item::from([("s".to_owned(), Value::s("é"))]);
        assert!(eval_on("s > :b", &item));
    }

    #[test]
    fn absent_operands() {
        assert!(!eval("absent = :one"));
        assert!(eval("absent <> :one"));
        assert!(!eval("absent < :one"));
        assert!(!eval("absent BETWEEN :one AND :two"));
        assert!(!eval("absent IN (:one)"));
        assert!(!eval("size(absent) >= :zero"));
        assert!(!eval("n = absent"));
        assert!(eval("absent <> other_absent"));
        assert!(!eval("absent = other_absent"));
        assert!(!eval("begins_with(absent, :a)"));
        assert!(!eval("contains(absent, :a)"));
        assert!(!eval("attribute_type(absent, :type_s)"));
    }

    #[test]
    fn deep_equality() {
        assert!(eval("ss = :set"));
        assert!(eval("ss = :set_yx"));
        assert!(eval("m.k = :one"));
        assert!(eval("l[1] = :x"));
        assert!(!eval("l[2][0] = :one"));
        let item = Item::from([("l".to_owned(), Value::L(vec![Value::n(1), Value::s("x")]))]);
        assert!(eval_on("l = :list", &item));
        let item = Item::from([(
            "m".to_owned(),
            Value::M([("k".to_owned(), Value::n(1))].into()),
        )]);
        assert!(eval_on("m = :map", &item));
        assert!(!eval_on("m <> :map", &item));
    }

    #[test]
    fn between_and_in() {
        assert!(eval("n BETWEEN :one AND :two"));
        assert!(eval("n BETWEEN :zero AND :one"));
        assert!(!eval("n BETWEEN :two AND :ten"));
        assert!(!eval("n BETWEEN :a AND :b"));
        assert!(eval("s BETWEEN :ab AND :b"));
        assert!(eval("n IN (:two, :one)"));
        assert!(!eval("n IN (:two, :ten)"));
        assert!(eval("s IN (:a, s)"));
    }

    #[test]
    fn functions() {
        assert!(eval("attribute_exists(m.k)"));
        assert!(!eval("attribute_exists(m.nope)"));
        assert!(eval("attribute_not_exists(l[9])"));
        assert!(eval("attribute_exists(z)"));
        assert!(eval("attribute_exists(#s)"));
        assert!(eval("attribute_type(n, :type_n)"));
        assert!(eval("attribute_type(z, :type_null)"));
        assert!(!eval("attribute_type(n, :type_s)"));
        assert!(eval("begins_with(s, :ab)"));
        assert!(!eval("begins_with(s, :b)"));
        assert!(eval("begins_with(b, :bin_prefix)"));
        assert!(!eval("begins_with(b, :a)"));
        assert!(eval("contains(s, :b)"));
        assert!(eval("contains(ss, :x)"));
        assert!(!eval("contains(ss, :a)"));
        assert!(eval("contains(l, :x)"));
        assert!(eval("contains(l, :one)"));
        assert!(!eval("contains(l, :two)"));
        assert!(eval("contains(b, :bin)"));
        assert!(!eval("contains(n, :one)"));
    }

    #[test]
    fn sizes() {
        assert!(!eval("size(s) = :two"));
        let item = Item::from([("s".to_owned(), Value::s("ab"))]);
        assert!(eval_on("size(s) = :two", &item));
        // UTF-16 code units: 'é' is one.
        assert!(eval("size(m.u) = :one"));
        assert!(!eval("size(m.u) = :two"));
        // 'é' plus a surrogate pair: 3 units (UTF-8 would say 6).
        let item = Item::from([("s".to_owned(), Value::s("é𝄞"))]);
        assert!(eval_on("size(s) = :three", &item));
        assert!(eval_on("NOT size(s) > :three", &item));
        assert!(eval("size(b) > :two"));
        assert!(eval("size(ss) = :two"));
        assert!(eval("size(l) > :two"));
        assert!(eval("size(m) = :two"));
        assert!(!eval("size(n) = :one"));
        assert!(!eval("size(t) = :one"));
    }

    #[test]
    fn logic() {
        assert!(eval("n = :one AND s = :abc"));
        assert!(!eval("n = :one AND s = :a"));
        assert!(eval("n = :two OR s = :abc"));
        assert!(eval("NOT n = :two"));
        assert!(eval("NOT (n = :two OR s = :a)"));
        assert!(eval("n = :two OR n = :one AND s = :abc"));
        assert!(!eval("(n = :two OR n = :one) AND s = :a"));
    }

    #[test]
    fn a_missing_item_is_empty() {
        let empty = Item::new();
        assert!(eval_on("attribute_not_exists(pk)", &empty));
        assert!(!eval_on("attribute_exists(pk)", &empty));
        assert!(eval_on("pk <> :a", &empty));
    }

    #[test]
    fn helpers() {
        // UTF-16 code units: 'é' is one unit (two UTF-8 bytes), '𝄞' (outside the BMP) a
        // surrogate pair (four UTF-8 bytes, one character).
        assert_eq!(size(&Value::s("héllo")), Some(Number::from(5)));
        assert_eq!(size(&Value::s("é𝄞")), Some(Number::from(3)));
        assert_eq!(size(&Value::s("")), Some(Number::from(0)));
        // Binaries stay byte counts.
        assert_eq!(
            size(&Value::B("é𝄞".as_bytes().to_vec())),
            Some(Number::from(6))
        );
        assert_eq!(size(&Value::Null), None);
        assert_eq!(compare_ordered(&Value::n(1), &Value::s("1")), None);
        assert!(begins_with(&Value::s("abc"), &Value::s("")));
        assert!(contains(&Value::B(vec![1]), &Value::B(vec![])));
    }
}
