//! Condition expressions: functions, comparisons, BETWEEN, IN, AND/OR/NOT and their
//! precedence, nested paths, missing attributes and missing items.

use portico_conformance::{CaseResult, Ctx, Failure, Kind, Must, ensure_err};
use portico_data::ops::PutItem;
use portico_data::{Backend, ErrorKind, Item, Value};

use crate::support::*;

fn fixture() -> Item {
    item! {
        "pk" => s("cond"),
        "str" => s("hello world"),
        "uni" => s("é𝄞"),
        "emp" => s(""),
        "num" => n(42),
        "neg" => num("-3.5"),
        "bin" => b(&[1, 2, 3]),
        "flag" => Value::Bool(true),
        "nul" => Value::Null,
        "mp" => m(&[("inn", s("x")), ("deep", m(&[("v", n(1))]))]),
        "lst" => l(vec![s("a"), n(2), l(vec![s("nested")])]),
        "tags" => ss(&["red", "green"]),
        "nums" => ns(&["1", "2", "3"]),
        "bins" => bs(&[&[1], &[2]]),
    }
}

/// Evaluates `condition` against the stored item `item_key` by re-putting `item`
/// under it: `Ok(true)` when the put passed, `Ok(false)` on a conditional failure.
async fn holds(
    db: &dyn Backend,
    table: &str,
    item: &Item,
    condition: &str,
    values: &[(&str, Value)],
) -> Result<bool, Failure> {
    let result = db
        .put_item(PutItem {
            condition: Some(condition.to_owned()),
            placeholders: ph(&[], values),
            ..put(table, item.clone())
        })
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == ErrorKind::ConditionalCheckFailed => Ok(false),
        Err(error) => Err(Failure::here(format!(
            "condition {condition:?}: unexpected {:?}: {}",
            error.kind(),
            error.message()
        ))),
    }
}

/// Checks every `(condition, placeholders, expected)` and reports all mismatches at once.
async fn check_all(
    db: &dyn Backend,
    table: &str,
    item: &Item,
    checks: &[(&str, Bindings<'_>, bool)],
) -> CaseResult {
    let mut wrong = Vec::new();
    for (condition, values, expected) in checks {
        match holds(db, table, item, condition, values).await {
            Ok(actual) if actual == *expected => {}
            Ok(actual) => wrong.push(format!("{condition:?} was {actual}, expected {expected}")),
            Err(failure) => wrong.push(failure.message),
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(Failure::here(format!(
            "{} of {} conditions wrong:\n      {}",
            wrong.len(),
            checks.len(),
            wrong.join("\n      ")
        )))
    }
}

/// attribute_exists, attribute_not_exists, attribute_type (every type), begins_with,
/// contains (strings, sets, lists), size (every sized type), on top-level and nested
/// paths.
pub async fn condition_functions(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = fixture();
    db.put_item(put(t, item.clone())).await.must("put")?;
    let mut checks: Vec<(&str, Bindings, bool)> = vec![
        ("attribute_exists(str)", vec![], true),
        ("attribute_exists(absent)", vec![], false),
        ("attribute_not_exists(absent)", vec![], true),
        ("attribute_not_exists(str)", vec![], false),
        ("attribute_exists(mp.inn)", vec![], true),
        ("attribute_exists(mp.deep.v)", vec![], true),
        ("attribute_exists(mp.nope)", vec![], false),
        ("attribute_exists(lst[2][0])", vec![], true),
        ("attribute_exists(lst[5])", vec![], false),
        ("attribute_exists(emp)", vec![], true),
        ("attribute_exists(nul)", vec![], true),
        ("begins_with(str, :p)", vec![(":p", s("hel"))], true),
        ("begins_with(str, :p)", vec![(":p", s("world"))], false),
        ("begins_with(str, :p)", vec![(":p", s(""))], true),
        ("begins_with(bin, :p)", vec![(":p", b(&[1, 2]))], true),
        ("begins_with(bin, :p)", vec![(":p", b(&[2]))], false),
        ("begins_with(num, :p)", vec![(":p", s("4"))], false),
        ("begins_with(absent, :p)", vec![(":p", s("h"))], false),
        ("begins_with(mp.inn, :p)", vec![(":p", s("x"))], true),
        ("contains(str, :p)", vec![(":p", s("lo w"))], true),
        ("contains(str, :p)", vec![(":p", s("xyz"))], false),
        ("contains(tags, :p)", vec![(":p", s("red"))], true),
        ("contains(tags, :p)", vec![(":p", s("blue"))], false),
        ("contains(nums, :p)", vec![(":p", n(2))], true),
        ("contains(nums, :p)", vec![(":p", n(4))], false),
        ("contains(bins, :p)", vec![(":p", b(&[2]))], true),
        ("contains(lst, :p)", vec![(":p", s("a"))], true),
        ("contains(lst, :p)", vec![(":p", n(2))], true),
        ("contains(lst, :p)", vec![(":p", s("nested"))], false),
        ("contains(absent, :p)", vec![(":p", s("a"))], false),
        ("size(str) = :n", vec![(":n", n(11))], true),
        ("size(emp) = :n", vec![(":n", n(0))], true),
        // A string's size is in UTF-16 code units: 'é' is one, '𝄞' a surrogate pair
        // (not 6, its UTF-8 bytes, nor 2, its characters).
        ("size(uni) = :n", vec![(":n", n(3))], true),
        ("size(uni) = :n", vec![(":n", n(6))], false),
        ("size(uni) = :n", vec![(":n", n(2))], false),
        ("size(bin) = :n", vec![(":n", n(3))], true),
        ("size(mp) = :n", vec![(":n", n(2))], true),
        ("size(lst) = :n", vec![(":n", n(3))], true),
        ("size(tags) = :n", vec![(":n", n(2))], true),
        ("size(nums) > :n", vec![(":n", n(2))], true),
        ("size(bins) < :n", vec![(":n", n(2))], false),
        ("size(lst[2]) = :n", vec![(":n", n(1))], true),
        ("size(absent) = :n", vec![(":n", n(0))], false),
    ];
    let typed: Vec<(String, &str)> = [
        ("str", "S"),
        ("num", "N"),
        ("bin", "B"),
        ("flag", "BOOL"),
        ("nul", "NULL"),
        ("mp", "M"),
        ("lst", "L"),
        ("tags", "SS"),
        ("nums", "NS"),
        ("bins", "BS"),
    ]
    .into_iter()
    .map(|(attribute, type_name)| (format!("attribute_type({attribute}, :t)"), type_name))
    .collect();
    for (condition, type_name) in &typed {
        checks.push((condition.as_str(), vec![(":t", s(type_name))], true));
        let other = if *type_name == "S" { "N" } else { "S" };
        checks.push((condition.as_str(), vec![(":t", s(other))], false));
    }
    checks.push(("attribute_type(absent, :t)", vec![(":t", s("S"))], false));
    checks.push(("attribute_type(mp.deep, :t)", vec![(":t", s("M"))], true));
    check_all(db, t, &item, &checks).await
}

/// Comparisons (all six operators, on every comparable type and across types),
/// BETWEEN, IN, AND / OR / NOT with DynamoDB's precedence (NOT, then AND, then OR),
/// nested paths, and missing attributes.
pub async fn condition_operators(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = fixture();
    db.put_item(put(t, item.clone())).await.must("put")?;
    let checks: Vec<(&str, Bindings, bool)> = vec![
        ("num = :v", vec![(":v", n(42))], true),
        ("num = :v", vec![(":v", num("42.0"))], true),
        ("num <> :v", vec![(":v", n(42))], false),
        ("num < :v", vec![(":v", n(50))], true),
        ("num <= :v", vec![(":v", n(42))], true),
        ("num > :v", vec![(":v", n(42))], false),
        ("num >= :v", vec![(":v", n(42))], true),
        ("neg < :v", vec![(":v", n(-3))], true),
        ("neg > :v", vec![(":v", n(-4))], true),
        ("str = :v", vec![(":v", s("hello world"))], true),
        ("str < :v", vec![(":v", s("world"))], true),
        ("str > :v", vec![(":v", s("hello"))], true),
        ("str < :v", vec![(":v", s("Hello"))], false),
        ("bin = :v", vec![(":v", b(&[1, 2, 3]))], true),
        ("bin < :v", vec![(":v", b(&[1, 3]))], true),
        ("flag = :v", vec![(":v", Value::Bool(true))], true),
        ("nul = :v", vec![(":v", Value::Null)], true),
        (
            "mp = :v",
            vec![(":v", m(&[("inn", s("x")), ("deep", m(&[("v", n(1))]))]))],
            true,
        ),
        (
            "lst = :v",
            vec![(":v", l(vec![s("a"), n(2), l(vec![s("nested")])]))],
            true,
        ),
        (
            "lst = :v",
            vec![(":v", l(vec![n(2), s("a"), l(vec![s("nested")])]))],
            false,
        ),
        ("tags = :v", vec![(":v", ss(&["green", "red"]))], true),
        ("nums = :v", vec![(":v", ns(&["3", "1", "2"]))], true),
        // Across types: false, not an error.
        ("num = :v", vec![(":v", s("42"))], false),
        ("num < :v", vec![(":v", s("z"))], false),
        ("num <> :v", vec![(":v", s("42"))], true),
        ("str > :v", vec![(":v", n(1))], false),
        // Missing attributes.
        ("absent = :v", vec![(":v", n(1))], false),
        ("absent < :v", vec![(":v", n(1))], false),
        ("NOT absent = :v", vec![(":v", n(1))], true),
        // Nested paths.
        ("mp.deep.v = :v", vec![(":v", n(1))], true),
        ("lst[1] = :v", vec![(":v", n(2))], true),
        ("lst[2][0] = :v", vec![(":v", s("nested"))], true),
        ("mp.inn = lst[0]", vec![], false),
        ("lst[0] < mp.inn", vec![], true),
        // BETWEEN and IN.
        (
            "num BETWEEN :lo AND :hi",
            vec![(":lo", n(40)), (":hi", n(42))],
            true,
        ),
        (
            "num BETWEEN :lo AND :hi",
            vec![(":lo", n(43)), (":hi", n(50))],
            false,
        ),
        (
            "num BETWEEN :lo AND :hi",
            vec![(":lo", n(42)), (":hi", n(42))],
            true,
        ),
        (
            "neg BETWEEN :lo AND :hi",
            vec![(":lo", n(-4)), (":hi", n(-3))],
            true,
        ),
        (
            "str BETWEEN :lo AND :hi",
            vec![(":lo", s("a")), (":hi", s("i"))],
            true,
        ),
        (
            "num BETWEEN :lo AND :hi",
            vec![(":lo", s("a")), (":hi", s("z"))],
            false,
        ),
        (
            "num IN (:a, :b, :c)",
            vec![(":a", n(1)), (":b", n(42)), (":c", n(7))],
            true,
        ),
        ("num IN (:a, :b)", vec![(":a", n(1)), (":b", n(2))], false),
        ("str IN (:a)", vec![(":a", s("hello world"))], true),
        ("absent IN (:a)", vec![(":a", s("x"))], false),
        // Logic and precedence.
        (
            "attribute_exists(str) AND num = :v",
            vec![(":v", n(42))],
            true,
        ),
        (
            "attribute_exists(absent) OR num = :v",
            vec![(":v", n(42))],
            true,
        ),
        ("NOT attribute_exists(absent)", vec![], true),
        (
            "NOT (num = :v AND flag = :t)",
            vec![(":v", n(42)), (":t", Value::Bool(true))],
            false,
        ),
        (
            "num = :one OR num = :v AND flag = :f",
            vec![(":one", n(1)), (":v", n(42)), (":f", Value::Bool(false))],
            false,
        ),
        (
            "(num = :one OR num = :v) AND flag = :t",
            vec![(":one", n(1)), (":v", n(42)), (":t", Value::Bool(true))],
            true,
        ),
        (
            "NOT num = :one AND flag = :t",
            vec![(":one", n(1)), (":t", Value::Bool(true))],
            true,
        ),
        (
            "num = :v OR NOT num = :v AND flag = :f",
            vec![(":v", n(42)), (":f", Value::Bool(false))],
            true,
        ),
    ];
    check_all(db, t, &item, &checks).await
}

/// Conditions on an item that does not exist: only absence holds.
pub async fn condition_on_missing_item(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = item! { "pk" => s("never-stored"), "num" => n(1) };
    let checks: Vec<(&str, Bindings, bool)> = vec![
        ("attribute_exists(pk)", vec![], false),
        ("num = :v", vec![(":v", n(1))], false),
        ("attribute_not_exists(num)", vec![], true),
        ("NOT num = :v", vec![(":v", n(1))], true),
        // Evaluated last, as it writes the item.
        ("attribute_not_exists(pk)", vec![], true),
    ];
    // Each false check leaves the item missing; the last one creates it.
    let mut wrong = Vec::new();
    for (index, (condition, values, expected)) in checks.iter().enumerate() {
        let actual = holds(db, t, &item, condition, values).await?;
        if actual != *expected {
            wrong.push(format!("{condition:?} was {actual}, expected {expected}"));
        }
        if actual && index + 1 < checks.len() {
            db.delete_item(delete(t, key("never-stored")))
                .await
                .must("delete")?;
        }
    }
    if !wrong.is_empty() {
        return Err(Failure::here(wrong.join("; ")));
    }
    Ok(())
}

/// Conditions DynamoDB refuses before evaluating them.
pub async fn condition_refused(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = fixture();
    db.put_item(put(t, item.clone())).await.must("put")?;
    let refused: Vec<(&str, Bindings, &str)> = vec![
        ("((num = :v))", vec![(":v", n(1))], "redundant parentheses"),
        (
            "num BETWEEN :hi AND :lo",
            vec![(":lo", n(1)), (":hi", n(9))],
            "BETWEEN with the bounds reversed",
        ),
        (
            "begins_with(str, :p)",
            vec![(":p", n(4))],
            "begins_with a number",
        ),
        ("size(str)", vec![], "a bare size() as a condition"),
        ("num", vec![], "a bare path as a condition"),
        ("no_such_function(str)", vec![], "an unknown function"),
        (
            "attribute_exists(:v)",
            vec![(":v", s("str"))],
            "attribute_exists of a value",
        ),
        ("num = :v", vec![], "an undefined value placeholder"),
    ];
    // Verified against dynoxide directly (raw PutItem): it answers an unknown type name
    // with ConditionalCheckFailedException. DynamoDB refuses it as a ValidationException
    // naming the type (the condition reference lists the ten type names; ScyllaDB's
    // test_update_condition_attribute_type_unknown, run against DynamoDB).
    let unknown_type = db
        .put_item(PutItem {
            condition: Some("attribute_type(str, :t)".to_owned()),
            placeholders: ph(&[], &[(":t", s("XX"))]),
            ..put(t, item.clone())
        })
        .await;
    ctx.reference_difference(
        "dynoxide evaluates attribute_type with an unknown type name to false instead of \
         refusing it",
        (|| {
            ensure_err!(
                unknown_type,
                Validation,
                "attribute_type with an unknown type name"
            );
            Ok(())
        })(),
    )?;
    // "The maximum number of operands for the IN comparator is 100" (DynamoDB's
    // constraints, expression parameters); dynoxide 3.2.0 accepts 101.
    let operands: Vec<String> = (0..101).map(|i| format!(":v{i}")).collect();
    let in_101 = db
        .put_item(PutItem {
            condition: Some(format!("num IN ({})", operands.join(", "))),
            placeholders: ph(
                &[],
                &operands
                    .iter()
                    .zip(0..)
                    .map(|(name, i)| (name.as_str(), n(i)))
                    .collect::<Vec<_>>(),
            ),
            ..put(t, item.clone())
        })
        .await;
    ctx.reference_difference(
        "dynoxide accepts more than 100 operands after IN",
        (|| {
            ensure_err!(in_101, Validation, "IN with 101 operands");
            Ok(())
        })(),
    )?;
    for (condition, values, what) in refused {
        ensure_err!(
            db.put_item(PutItem {
                condition: Some(condition.to_owned()),
                placeholders: ph(&[], &values),
                ..put(t, item.clone())
            })
            .await,
            Validation,
            "{what}: {condition}"
        );
    }
    Ok(())
}
