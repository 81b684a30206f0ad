//! Applying an update expression to an item.
//!
//! DynamoDB's semantics:
//! - Every right-hand side, and every `ADD`/`DELETE` operand's current value, is read from
//!   the item as it was *before* the update; actions do not see each other's effects.
//! - List indexes refer to the list as it was before the update: `REMOVE a[1], a[2]`
//!   removes the second and third elements; `SET a[9] = :v` on a shorter list appends,
//!   several such appends in index order.
//! - The parent of every target path must exist and be a map (for `.name`) or a list
//!   (for `[i]`); otherwise the update fails and the item is unchanged.
//!
//! The update is planned first (all values computed, all paths checked against the old
//! item), then carried out: writes in path order, so appends to a list happen in index
//! order; then removals in reverse path order, so removing a list element never shifts an
//! element still to be removed.

use std::collections::BTreeMap;

use super::path::{Path, PathElement, step};
use super::projection;
use super::update::{SetOperand, SetValue, Update, UpdateAction};
use crate::error::DataError;
use crate::value::{Item, Set, Value};

const INVALID_PATH: &str =
    "The document path provided in the update expression is invalid for update";
const WRONG_TYPE: &str = "An operand in the update expression has an incorrect data type";
const MISSING_ATTRIBUTE: &str =
    "The provided expression refers to an attribute that does not exist in the item";

impl Update {
    /// Applies SET/REMOVE/ADD/DELETE to `item` in place (`item` starts as the existing
    /// item, or just the key when the item is new). All right-hand sides are evaluated
    /// against the item as it was before the update.
    ///
    /// # Errors
    /// DynamoDB's validation errors: a target whose parent is missing or of the wrong kind
    /// ("The document path provided in the update expression is invalid for update"), an
    /// operand that does not exist ("The provided expression refers to an attribute that
    /// does not exist in the item"), an operand of the wrong type ("An operand in the
    /// update expression has an incorrect data type"), a number out of DynamoDB's range.
    /// On error `item` is left unchanged.
    pub fn apply(&self, item: &mut Item) -> Result<(), DataError> {
        // Right-hand sides first, as DynamoDB reports their errors before path errors.
        let mut set_values = Vec::new();
        for action in &self.actions {
            if let UpdateAction::Set { value, .. } = action {
                set_values.push(set_value(value, item)?);
            }
        }
        let mut set_values = set_values.into_iter();
        let mut writes: Vec<(&Path, Value)> = Vec::new();
        let mut removals: Vec<&Path> = Vec::new();
        for action in &self.actions {
            let path = action.path();
            check_parent(item, path)?;
            let current = path.resolve(item);
            match action {
                UpdateAction::Set { .. } => {
                    let value = set_values
                        .next()
                        .ok_or_else(|| DataError::validation(INVALID_PATH))?;
                    writes.push((path, value));
                }
                UpdateAction::Remove { .. } => {
                    // Removing what is not there does nothing (and must not remove an
                    // element appended by this same update).
                    if current.is_some() {
                        removals.push(path);
                    }
                }
                UpdateAction::Add { value, .. } => writes.push((path, add(current, value)?)),
                UpdateAction::Delete { value, .. } => match current {
                    None => {}
                    Some(current) => match delete(current, value)? {
                        Some(rest) => writes.push((path, rest)),
                        None => removals.push(path),
                    },
                },
            }
        }
        writes.sort_by(|a, b| a.0.cmp(b.0));
        removals.sort_by(|a, b| b.cmp(a));

        let mut updated = item.clone();
        for (path, value) in writes {
            write(&mut updated, path, value)?;
        }
        for path in removals {
            remove(&mut updated, path)?;
        }
        *item = updated;
        Ok(())
    }

    /// For `ReturnValues` `UPDATED_OLD` / `UPDATED_NEW`: the parts of `item` at the paths
    /// this update targets, nested structure kept as in a projection. Empty if none is
    /// present.
    pub fn updated_attributes(&self, item: &Item) -> Item {
        projection::project(self.actions.iter().map(UpdateAction::path), item)
    }
}

/// The value of a `SET` right-hand side.
fn set_value(value: &SetValue, item: &Item) -> Result<Value, DataError> {
    match value {
        SetValue::Operand(op) => set_operand(op, item),
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            let a = number(set_operand(a, item)?)?;
            let b = number(set_operand(b, item)?)?;
            let result = if matches!(value, SetValue::Plus(..)) {
                a.checked_add(&b)?
            } else {
                a.checked_sub(&b)?
            };
            Ok(Value::N(result))
        }
    }
}

fn number(value: Value) -> Result<crate::value::Number, DataError> {
    match value {
        Value::N(number) => Ok(number),
        _ => Err(DataError::validation(WRONG_TYPE)),
    }
}

fn set_operand(op: &SetOperand, item: &Item) -> Result<Value, DataError> {
    match op {
        SetOperand::Path(path) => path
            .resolve(item)
            .cloned()
            .ok_or_else(|| DataError::validation(MISSING_ATTRIBUTE)),
        SetOperand::Value(value) => Ok(value.clone()),
        SetOperand::IfNotExists(path, fallback) => match path.resolve(item) {
            Some(value) => Ok(value.clone()),
            None => set_operand(fallback, item),
        },
        SetOperand::ListAppend(a, b) => {
            let Value::L(mut list) = set_operand(a, item)? else {
                return Err(DataError::validation(WRONG_TYPE));
            };
            let Value::L(tail) = set_operand(b, item)? else {
                return Err(DataError::validation(WRONG_TYPE));
            };
            list.extend(tail);
            Ok(Value::L(list))
        }
    }
}

/// `ADD`: a number added to the current number (0 when missing), or a set united with the
/// current set (empty when missing).
fn add(current: Option<&Value>, operand: &Value) -> Result<Value, DataError> {
    let Some(current) = current else {
        return Ok(operand.clone());
    };
    fn union<T: Ord + Clone>(a: &Set<T>, b: &Set<T>) -> Option<Set<T>> {
        Set::from_union(a.members().iter().chain(b.members()).cloned().collect())
    }
    let sum = match (current, operand) {
        (Value::N(a), Value::N(b)) => Some(Value::N(a.checked_add(b)?)),
        (Value::Ss(a), Value::Ss(b)) => union(a, b).map(Value::Ss),
        (Value::Ns(a), Value::Ns(b)) => union(a, b).map(Value::Ns),
        (Value::Bs(a), Value::Bs(b)) => union(a, b).map(Value::Bs),
        _ => None,
    };
    sum.ok_or_else(|| DataError::validation(WRONG_TYPE))
}

/// `DELETE`: the current set without the operand's members; `None` when nothing is left
/// (the attribute is then removed).
fn delete(current: &Value, operand: &Value) -> Result<Option<Value>, DataError> {
    fn difference<T: Ord + Clone>(a: &Set<T>, b: &Set<T>) -> Option<Set<T>> {
        Set::from_union(
            a.members()
                .iter()
                .filter(|member| !b.contains(member))
                .cloned()
                .collect(),
        )
    }
    match (current, operand) {
        (Value::Ss(a), Value::Ss(b)) => Ok(difference(a, b).map(Value::Ss)),
        (Value::Ns(a), Value::Ns(b)) => Ok(difference(a, b).map(Value::Ns)),
        (Value::Bs(a), Value::Bs(b)) => Ok(difference(a, b).map(Value::Bs)),
        _ => Err(DataError::validation(WRONG_TYPE)),
    }
}

/// Checks that the container a target path writes into exists and has the right kind.
fn check_parent(item: &Item, path: &Path) -> Result<(), DataError> {
    let mut elements = path.parent_elements().iter();
    let parent_is_map = match elements.next() {
        // A top-level attribute: the item itself is the container.
        None => true,
        Some(PathElement::Attr(name)) => {
            let mut value = item.get(name);
            for element in elements {
                value = value.and_then(|v| step(v, element));
            }
            match value {
                Some(Value::M(_)) => true,
                Some(Value::L(_)) => false,
                _ => return Err(DataError::validation(INVALID_PATH)),
            }
        }
        Some(PathElement::Index(_)) => return Err(DataError::validation(INVALID_PATH)),
    };
    match (parent_is_map, path.last()) {
        (true, Some(PathElement::Attr(_))) | (false, Some(PathElement::Index(_))) => Ok(()),
        _ => Err(DataError::validation(INVALID_PATH)),
    }
}

/// A mutable view of the container a target path writes into.
enum Container<'v> {
    Map(&'v mut BTreeMap<String, Value>),
    List(&'v mut Vec<Value>),
}

fn container<'v>(item: &'v mut Item, path: &Path) -> Result<Container<'v>, DataError> {
    let mut current = Container::Map(item);
    for element in path.parent_elements() {
        let value = match (current, element) {
            (Container::Map(map), PathElement::Attr(name)) => map.get_mut(name),
            (Container::List(list), PathElement::Index(index)) => list.get_mut(*index),
            _ => None,
        };
        current = match value {
            Some(Value::M(map)) => Container::Map(map),
            Some(Value::L(list)) => Container::List(list),
            _ => return Err(DataError::validation(INVALID_PATH)),
        };
    }
    Ok(current)
}

/// Writes `value` at `path`: replaces a map entry or list element, or appends to a list
/// when the index is past its end.
fn write(item: &mut Item, path: &Path, value: Value) -> Result<(), DataError> {
    match (container(item, path)?, path.last()) {
        (Container::Map(map), Some(PathElement::Attr(name))) => {
            map.insert(name.clone(), value);
        }
        (Container::List(list), Some(PathElement::Index(index))) => match list.get_mut(*index) {
            Some(slot) => *slot = value,
            None => list.push(value),
        },
        _ => return Err(DataError::validation(INVALID_PATH)),
    }
    Ok(())
}

/// Removes what is at `path`, shifting later list elements down.
fn remove(item: &mut Item, path: &Path) -> Result<(), DataError> {
    match (container(item, path)?, path.last()) {
        (Container::Map(map), Some(PathElement::Attr(name))) => {
            map.remove(name);
        }
        (Container::List(list), Some(PathElement::Index(index))) => {
            if *index < list.len() {
                list.remove(*index);
            }
        }
        _ => return Err(DataError::validation(INVALID_PATH)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::error::DataError;
    use crate::expr::{ExprContext, parse_update};
    use crate::ops::Placeholders;
    use crate::value::{Item, Number, Set, Value};

    fn ss(members: &[&str]) -> Value {
        Value::Ss(Set::new(members.iter().map(|m| (*m).to_owned()).collect()).expect("set"))
    }

    fn ns(members: &[i64]) -> Value {
        Value::Ns(Set::new(members.iter().map(|m| Number::from(*m)).collect()).expect("set"))
    }

    fn list(values: &[&str]) -> Value {
        Value::L(values.iter().map(|v| Value::s(*v)).collect())
    }

    fn num(text: &str) -> Value {
        Value::N(text.parse().expect("number"))
    }

    fn placeholders() -> Placeholders {
        Placeholders {
            names: [("#n".to_owned(), "name".to_owned())].into(),
            values: [
                (":one", Value::n(1)),
                (":five", Value::n(5)),
                (":minus", Value::n(-3)),
                (":s", Value::s("new")),
                (":x", Value::s("x")),
                (":ss_ab", ss(&["a", "b"])),
                (":ss_bc", ss(&["b", "c"])),
                (":ss_z", ss(&["z"])),
                (":ns_1", ns(&[1])),
                (":l", list(&["p", "q"])),
                (":empty", Value::L(vec![])),
                (":map", Value::M(Default::default())),
                (":big", num("99999999999999999999999999999999999999")),
                (":tenth", num("0.1")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }
    }

    fn apply(text: &str, item: &mut Item) -> Result<(), DataError> {
        let p = placeholders();
        let mut ctx = ExprContext::new(&p);
        let update = parse_update(text, &mut ctx).unwrap_or_else(|e| panic!("{text}: {e}"));
        update.apply(item)
    }

    fn applied(text: &str, mut item: Item) -> Item {
        apply(text, &mut item).unwrap_or_else(|e| panic!("{text}: {e}"));
        item
    }

    fn failed(text: &str, mut item: Item) -> String {
        let before = item.clone();
        let error = apply(text, &mut item).expect_err(text);
        assert_eq!(
            item, before,
            "{text}: a failed update must not change the item"
        );
        error.message()
    }

    fn item(pairs: &[(&str, Value)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn chisel() -> Value {
        list(&["Chisel", "Hammer", "Nails", "Screwdriver", "Hacksaw"])
    }

    #[test]
    fn set_writes_values_and_sums() {
        let out = applied(
            "SET a = :s, b = b + :five, c = :five - b, #n = b",
            item(&[("b", Value::n(2))]),
        );
        assert_eq!(out["a"], Value::s("new"));
        assert_eq!(out["b"], Value::n(7));
        // Right-hand sides read the item as it was before the update.
        assert_eq!(out["c"], Value::n(3));
        assert_eq!(out["name"], Value::n(2));
    }

    #[test]
    fn set_functions() {
        let out = applied(
            "SET a = if_not_exists(a, :one), b = if_not_exists(b, :one), l = list_append(l, :l), m = list_append(:l, if_not_exists(m, :empty))",
            item(&[("b", Value::n(9)), ("l", list(&["o"]))]),
        );
        assert_eq!(out["a"], Value::n(1));
        assert_eq!(out["b"], Value::n(9));
        assert_eq!(out["l"], list(&["o", "p", "q"]));
        assert_eq!(out["m"], list(&["p", "q"]));
    }

    #[test]
    fn set_into_nested_paths() {
        let out = applied(
            "SET m.k = :one, l[1] = :x, l[7] = :s",
            item(&[
                ("m", Value::M(Default::default())),
                ("l", list(&["a", "b"])),
            ]),
        );
        assert_eq!(out["m"], Value::M([("k".to_owned(), Value::n(1))].into()));
        // Past the end appends.
        assert_eq!(out["l"], list(&["a", "x", "new"]));

        let out = applied("SET l[9] = :s, l[5] = :x", item(&[("l", list(&["a"]))]));
        assert_eq!(out["l"], list(&["a", "x", "new"]), "appends in index order");
    }

    #[test]
    fn set_errors() {
        assert_eq!(
            failed("SET a = b", Item::new()),
            "The provided expression refers to an attribute that does not exist in the item"
        );
        assert_eq!(
            failed("SET a = list_append(b, :l)", Item::new()),
            "The provided expression refers to an attribute that does not exist in the item"
        );
        assert_eq!(
            failed("SET a = b + :one", item(&[("b", Value::s("x"))])),
            "An operand in the update expression has an incorrect data type"
        );
        assert_eq!(
            failed("SET a = list_append(b, :l)", item(&[("b", Value::n(1))])),
            "An operand in the update expression has an incorrect data type"
        );
        for text in ["SET b.a = :one", "SET b[1] = :one"] {
            assert_eq!(
                failed(text, Item::new()),
                "The document path provided in the update expression is invalid for update"
            );
        }
        let existing = item(&[
            ("b", Value::s("x")),
            ("c", Value::M([("1".to_owned(), Value::s("a"))].into())),
            ("d", list(&["a", "b"])),
        ]);
        for text in [
            "SET b.a = :one",
            "SET b[1] = :one",
            "SET c[1] = :one",
            "SET d.x = :one",
            "SET y.a = :one",
            "REMOVE b.a",
            "REMOVE y.a",
            "REMOVE c[1]",
            "REMOVE d.x",
            "ADD b.a :one",
            "ADD c[1] :one",
            "ADD d.x :one",
            "DELETE y.a :ss_ab",
            "DELETE d.x :ss_ab",
            "SET d[0].x = :one",
            "SET d[5].x = :one",
        ] {
            assert_eq!(
                failed(text, existing.clone()),
                "The document path provided in the update expression is invalid for update",
                "{text}"
            );
        }
    }

    #[test]
    fn arithmetic_is_exact_and_checked() {
        let out = applied("SET a = a + :tenth", item(&[("a", num("0.2"))]));
        assert_eq!(out["a"], num("0.3"));
        let out = applied("SET a = a + :minus", item(&[("a", Value::n(1))]));
        assert_eq!(out["a"], Value::n(-2));
        let out = applied("SET a = :big + :one", Item::new());
        assert_eq!(out["a"], num("1E+38"));
        assert_eq!(
            failed("SET a = :big + :tenth", Item::new()),
            "Attempting to store more than 38 significant digits in a Number"
        );
        assert_eq!(
            failed(
                "ADD a :tenth",
                item(&[("a", num("99999999999999999999999999999999999999"))])
            ),
            "Attempting to store more than 38 significant digits in a Number"
        );
    }

    #[test]
    fn remove_shifts_list_elements() {
        // DynamoDB's documented example.
        let out = applied("REMOVE l[1], l[2]", item(&[("l", chisel())]));
        assert_eq!(out["l"], list(&["Chisel", "Screwdriver", "Hacksaw"]));
        let out = applied("REMOVE l[2], l[0], l[4]", item(&[("l", chisel())]));
        assert_eq!(out["l"], list(&["Hammer", "Screwdriver"]));
        // Missing elements and attributes: nothing happens.
        let out = applied(
            "REMOVE l[9], nope, m.nope",
            item(&[("l", chisel()), ("m", Value::M(Default::default()))]),
        );
        assert_eq!(out["l"], chisel());
    }

    #[test]
    fn list_indexes_refer_to_the_list_before_the_update() {
        // `l[3]` did not exist before the update, so removing it does nothing, even though
        // the append puts an element at index 3.
        let out = applied(
            "SET l[5] = :x REMOVE l[3]",
            item(&[("l", list(&["a", "b", "c"]))]),
        );
        assert_eq!(out["l"], list(&["a", "b", "c", "x"]));
        let out = applied(
            "SET l[7] = :x REMOVE l[2]",
            item(&[("l", list(&["a", "b"]))]),
        );
        assert_eq!(out["l"], list(&["a", "b", "x"]));
        let out = applied(
            "SET l[1] = :x REMOVE l[0]",
            item(&[("l", list(&["a", "b", "c"]))]),
        );
        assert_eq!(out["l"], list(&["x", "c"]));
        let nested = Value::L(vec![
            Value::M([("k".to_owned(), Value::n(0))].into()),
            Value::M([("k".to_owned(), Value::n(1))].into()),
        ]);
        let out = applied("SET l[1].k = :five REMOVE l[0]", item(&[("l", nested)]));
        assert_eq!(
            out["l"],
            Value::L(vec![Value::M([("k".to_owned(), Value::n(5))].into())])
        );
    }

    #[test]
    fn add_numbers_and_sets() {
        let out = applied("ADD n :five, s :ss_ab", Item::new());
        assert_eq!(out["n"], Value::n(5), "a missing number counts as 0");
        assert_eq!(out["s"], ss(&["a", "b"]), "a missing set counts as empty");
        let out = applied("ADD n :minus, s :ss_bc", out);
        assert_eq!(out["n"], Value::n(2));
        assert_eq!(out["s"], ss(&["a", "b", "c"]));
        let out = applied("ADD m.n :one", item(&[("m", Value::M(Default::default()))]));
        assert_eq!(out["m"], Value::M([("n".to_owned(), Value::n(1))].into()));
        for existing in [Value::s("x"), ns(&[1]), list(&["a"])] {
            assert_eq!(
                failed("ADD a :ss_ab", item(&[("a", existing)])),
                "An operand in the update expression has an incorrect data type"
            );
        }
        assert_eq!(
            failed("ADD a :one", item(&[("a", ns(&[1]))])),
            "An operand in the update expression has an incorrect data type"
        );
    }

    #[test]
    fn delete_from_sets() {
        let out = applied("DELETE s :ss_bc", item(&[("s", ss(&["a", "b"]))]));
        assert_eq!(out["s"], ss(&["a"]));
        let out = applied("DELETE s :ss_ab", item(&[("s", ss(&["a", "b"]))]));
        assert!(!out.contains_key("s"), "an emptied set is removed");
        let out = applied("DELETE s :ss_z, t :ss_z", item(&[("s", ss(&["a"]))]));
        assert_eq!(out["s"], ss(&["a"]));
        assert!(
            !out.contains_key("t"),
            "deleting from a missing set does nothing"
        );
        let out = applied(
            "DELETE l[0] :ss_ab",
            item(&[("l", Value::L(vec![ss(&["a"]), Value::n(1)]))]),
        );
        assert_eq!(
            out["l"],
            Value::L(vec![Value::n(1)]),
            "an emptied list element is removed"
        );
        assert_eq!(
            failed("DELETE s :ns_1", item(&[("s", ss(&["a"]))])),
            "An operand in the update expression has an incorrect data type"
        );
        assert_eq!(
            failed("DELETE s :ss_ab", item(&[("s", Value::n(1))])),
            "An operand in the update expression has an incorrect data type"
        );
    }

    #[test]
    fn a_new_item_starts_from_its_key() {
        let out = applied("SET a = :one", item(&[("pk", Value::s("k"))]));
        assert_eq!(out, item(&[("pk", Value::s("k")), ("a", Value::n(1))]));
    }

    #[test]
    fn updated_attributes_keep_structure() {
        let p = placeholders();
        let mut ctx = ExprContext::new(&p);
        let update = parse_update("SET m.k = :one, l[1] = :x, gone = :one REMOVE r", &mut ctx)
            .expect("parses");
        let before = item(&[
            (
                "m",
                Value::M([("k".to_owned(), Value::n(0)), ("j".to_owned(), Value::n(0))].into()),
            ),
            ("l", list(&["a", "b", "c"])),
            ("r", Value::n(1)),
            ("other", Value::n(1)),
        ]);
        assert_eq!(
            update.updated_attributes(&before),
            item(&[
                ("m", Value::M([("k".to_owned(), Value::n(0))].into())),
                ("l", list(&["b"])),
                ("r", Value::n(1)),
            ])
        );
        let mut after = before;
        update.apply(&mut after).expect("applies");
        assert_eq!(
            update.updated_attributes(&after),
            item(&[
                ("m", Value::M([("k".to_owned(), Value::n(1))].into())),
                ("l", list(&["x"])),
                ("gone", Value::n(1)),
            ])
        );
        assert!(update.updated_attributes(&Item::new()).is_empty());
    }
}
