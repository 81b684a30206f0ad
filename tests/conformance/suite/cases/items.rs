//! GetItem, PutItem and DeleteItem: round trips, projections, ReturnValues, conditions.

use portico_conformance::{CaseResult, Ctx, Kind, Must, ensure, ensure_eq, ensure_err};
use portico_data::ops::{GetItem, ReturnValues};
use portico_data::{Backend, DataError, Item, Value};

use crate::support::*;

/// An item holding every one of the ten types, nested ones included.
fn every_type(pk: &str) -> Item {
    item! {
        "pk" => s(pk),
        "str" => s("héllo wörld"),
        "num" => num("-12.5"),
        "bin" => b(&[0, 1, 2, 254, 255]),
        "yes" => Value::Bool(true),
        "no" => Value::Bool(false),
        "nothing" => Value::Null,
        "map" => m(&[("a", n(1)), ("b", m(&[("c", s("deep"))])), ("empty", m(&[]))]),
        "lst" => l(vec![s("x"), n(2), l(vec![]), Value::Null, m(&[("k", Value::Bool(true))])]),
        "strings" => ss(&["b", "a", "c"]),
        "numbers" => ns(&["3", "-1", "2.5"]),
        "binaries" => bs(&[&[1], &[0, 255], &[]]),
    }
}

/// Put then get returns exactly what was put, for every type; a missing key reads as
/// `None`; eventually consistent reads are accepted.
pub async fn round_trip(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = every_type("all");
    db.put_item(put(t, item.clone())).await.must("put")?;
    let got = db.get_item(get(t, key("all"))).await.must("get")?;
    ensure_eq!(got, Some(item.clone()), "strongly consistent get");
    let missing = db
        .get_item(get(t, key("absent")))
        .await
        .must("get missing")?;
    ensure_eq!(missing, None, "get of a key never written");

    // An eventually consistent read may lag behind the write (DynamoDB's documentation),
    // so only its success and shape are checked.
    let eventual = db
        .get_item(GetItem {
            consistent: false,
            ..get(t, key("all"))
        })
        .await
        .must("eventually consistent get")?;
    ensure!(
        eventual.is_none() || eventual == Some(item.clone()),
        "an eventually consistent get returned something that was never written: {eventual:?}"
    );

    // A put replaces the whole item.
    db.put_item(put(t, item! { "pk" => s("all"), "only" => n(1) }))
        .await
        .must("replacing put")?;
    let got = db.get_item(get(t, key("all"))).await.must("get")?;
    ensure_eq!(
        got,
        Some(item! { "pk" => s("all"), "only" => n(1) }),
        "a put replaces every attribute"
    );
    Ok(())
}

/// ProjectionExpression: top-level names, nested map paths, list elements, the
/// `a.b[2].c` form, name placeholders; missing paths are left out; keys only when
/// asked for.
pub async fn get_projection(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = item! {
        "pk" => s("p"),
        "top" => s("t"),
        "oth" => n(7),
        "a" => m(&[
            ("b", l(vec![
                m(&[("c", s("c0")), ("d", n(0))]),
                m(&[("c", s("c1"))]),
                m(&[("c", s("c2")), ("d", n(2))]),
            ])),
            ("x", s("ax")),
        ]),
        "lst" => l(vec![s("l0"), s("l1"), s("l2")]),
        "status" => s("open"),
    };
    db.put_item(put(t, item)).await.must("put")?;
    let project = |projection: &str, pairs: &[(&str, &str)]| GetItem {
        projection: Some(projection.to_owned()),
        names: names(pairs),
        ..get(t, key("p"))
    };

    let got = db
        .get_item(project("top, oth", &[]))
        .await
        .must("top-level")?;
    ensure_eq!(
        got,
        Some(item! { "top" => s("t"), "oth" => n(7) }),
        "top-level projection (the key is not added)"
    );

    let got = db
        .get_item(project("a.b[2].c", &[]))
        .await
        .must("a.b[2].c")?;
    ensure_eq!(
        got,
        Some(item! { "a" => m(&[("b", l(vec![m(&[("c", s("c2"))])]))]) }),
        "a.b[2].c keeps the path's shape with only the selected element"
    );

    let got = db
        .get_item(project("a.x, lst[1], lst[2]", &[]))
        .await
        .must("map member and list elements")?;
    ensure_eq!(
        got,
        Some(item! { "a" => m(&[("x", s("ax"))]), "lst" => l(vec![s("l1"), s("l2")]) }),
        "map member and two list elements"
    );

    let got = db
        .get_item(project(
            "#s, pk, #a.#x",
            &[("#s", "status"), ("#a", "a"), ("#x", "x")],
        ))
        .await
        .must("placeholders")?;
    ensure_eq!(
        got,
        Some(item! { "status" => s("open"), "pk" => s("p"), "a" => m(&[("x", s("ax"))]) }),
        "projection through name placeholders, key included when asked"
    );

    let got = db
        .get_item(project("nope, a.nope, lst[9], top", &[]))
        .await
        .must("missing paths")?;
    ensure_eq!(
        got,
        Some(item! { "top" => s("t") }),
        "paths that match nothing are left out"
    );

    let got = db
        .get_item(project("nope", &[]))
        .await
        .must("only missing paths")?;
    ensure!(
        got.is_none() || got == Some(Item::new()),
        "an existing item projected onto nothing is empty, got {got:?}"
    );
    Ok(())
}

/// PutItem's ReturnValues: NONE returns nothing, ALL_OLD the replaced item (nothing
/// when there was none); the update-only values are refused.
pub async fn put_return_values(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let first = item! { "pk" => s("r"), "v" => n(1) };
    let second = item! { "pk" => s("r"), "v" => n(2) };
    let with_rv = |item: Item, rv| portico_data::ops::PutItem {
        return_values: rv,
        ..put(t, item)
    };
    let out = db
        .put_item(with_rv(first.clone(), ReturnValues::AllOld))
        .await
        .must("ALL_OLD on a new item")?;
    ensure_eq!(out.attributes, None, "ALL_OLD when no item existed");
    let out = db
        .put_item(with_rv(second.clone(), ReturnValues::None))
        .await
        .must("NONE")?;
    ensure_eq!(out.attributes, None, "NONE");
    let out = db
        .put_item(with_rv(first.clone(), ReturnValues::AllOld))
        .await
        .must("ALL_OLD")?;
    ensure_eq!(
        out.attributes,
        Some(second.clone()),
        "ALL_OLD returns the replaced item"
    );
    for rv in [
        ReturnValues::AllNew,
        ReturnValues::UpdatedOld,
        ReturnValues::UpdatedNew,
    ] {
        ensure_err!(
            db.put_item(with_rv(second.clone(), rv)).await,
            Validation,
            "PutItem with ReturnValues {}",
            rv.as_str()
        );
    }
    let got = db.get_item(get(t, key("r"))).await.must("get")?;
    ensure_eq!(got, Some(first), "refused puts changed nothing");
    Ok(())
}

/// DeleteItem: deletes, returns the old item with ALL_OLD, is a no-op without error on
/// a missing item, refuses the update-only ReturnValues.
pub async fn delete_return_values(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = item! { "pk" => s("d"), "v" => ss(&["x"]) };
    let with_rv = |rv| portico_data::ops::DeleteItem {
        return_values: rv,
        ..delete(t, key("d"))
    };
    db.put_item(put(t, item.clone())).await.must("put")?;
    for rv in [
        ReturnValues::AllNew,
        ReturnValues::UpdatedOld,
        ReturnValues::UpdatedNew,
    ] {
        ensure_err!(
            db.delete_item(with_rv(rv)).await,
            Validation,
            "DeleteItem with ReturnValues {}",
            rv.as_str()
        );
    }
    let got = db.get_item(get(t, key("d"))).await.must("get")?;
    ensure_eq!(got, Some(item.clone()), "refused deletes deleted nothing");
    let out = db
        .delete_item(with_rv(ReturnValues::AllOld))
        .await
        .must("ALL_OLD delete")?;
    ensure_eq!(
        out.attributes,
        Some(item),
        "ALL_OLD returns the deleted item"
    );
    let got = db.get_item(get(t, key("d"))).await.must("get")?;
    ensure_eq!(got, None, "the item is gone");
    let out = db
        .delete_item(with_rv(ReturnValues::AllOld))
        .await
        .must("deleting a missing item")?;
    ensure_eq!(out.attributes, None, "ALL_OLD of a missing item");
    let out = db
        .delete_item(with_rv(ReturnValues::None))
        .await
        .must("NONE delete of a missing item")?;
    ensure_eq!(out.attributes, None, "NONE");
    Ok(())
}

/// Conditional puts: create-only with `attribute_not_exists`, the failure returning
/// the old item only when asked, and never when there was no item.
pub async fn put_conditions(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let original = item! { "pk" => s("c"), "v" => n(1) };
    let create_only = |item: Item, return_old: bool| portico_data::ops::PutItem {
        condition: Some("attribute_not_exists(pk)".into()),
        return_old_on_condition_failure: return_old,
        ..put(t, item)
    };
    db.put_item(create_only(original.clone(), true))
        .await
        .must("first create-only put")?;

    let replacement = item! { "pk" => s("c"), "v" => n(2) };
    let error = ensure_err!(
        db.put_item(create_only(replacement.clone(), false)).await,
        ConditionalCheckFailed,
        "second create-only put"
    );
    ensure_eq!(
        error,
        DataError::ConditionalCheckFailed { item: None },
        "no old item unless asked for"
    );
    let error = ensure_err!(
        db.put_item(create_only(replacement.clone(), true)).await,
        ConditionalCheckFailed,
        "second create-only put asking for the old item"
    );
    ensure_eq!(
        error,
        DataError::ConditionalCheckFailed {
            item: Some(original.clone())
        },
        "the old item, when asked for"
    );
    let got = db.get_item(get(t, key("c"))).await.must("get")?;
    ensure_eq!(got, Some(original), "failed puts changed nothing");

    // A condition that fails on a missing item: nothing to return even when asked.
    let error = ensure_err!(
        db.put_item(portico_data::ops::PutItem {
            condition: Some("attribute_exists(pk)".into()),
            return_old_on_condition_failure: true,
            ..put(t, item! { "pk" => s("never") })
        })
        .await,
        ConditionalCheckFailed,
        "update-only put of a missing item"
    );
    ensure_eq!(
        error,
        DataError::ConditionalCheckFailed { item: None },
        "no old item when none existed"
    );
    let got = db.get_item(get(t, key("never"))).await.must("get")?;
    ensure_eq!(got, None, "the failed put created nothing");

    // Optimistic locking on a version attribute.
    let versioned = |v: i64, expected: i64| portico_data::ops::PutItem {
        condition: Some("version = :expected".into()),
        placeholders: ph(&[], &[(":expected", n(expected))]),
        ..put(t, item! { "pk" => s("c"), "v" => n(9), "version" => n(v) })
    };
    ensure_err!(
        db.put_item(versioned(2, 1)).await,
        ConditionalCheckFailed,
        "version check against an item without a version"
    );
    db.put_item(put(t, item! { "pk" => s("c"), "version" => n(1) }))
        .await
        .must("versioned put")?;
    db.put_item(versioned(2, 1)).await.must("version 1 → 2")?;
    ensure_err!(
        db.put_item(versioned(3, 1)).await,
        ConditionalCheckFailed,
        "stale version"
    );
    Ok(())
}

/// Conditional deletes: a failed condition keeps the item (and returns it only when
/// asked); a passing one deletes it.
pub async fn delete_conditions(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = item! { "pk" => s("dc"), "state" => s("active"), "n" => n(3) };
    db.put_item(put(t, item.clone())).await.must("put")?;
    let conditional =
        |condition: &str, value: Value, return_old: bool| portico_data::ops::DeleteItem {
            condition: Some(condition.to_owned()),
            placeholders: ph(&[("#s", "state")], &[(":v", value)]),
            return_old_on_condition_failure: return_old,
            return_values: ReturnValues::AllOld,
            ..delete(t, key("dc"))
        };
    let error = ensure_err!(
        db.delete_item(conditional("#s = :v", s("done"), true))
            .await,
        ConditionalCheckFailed,
        "delete with a false condition"
    );
    ensure_eq!(
        error,
        DataError::ConditionalCheckFailed {
            item: Some(item.clone())
        },
        "the old item with the failure"
    );
    let error = ensure_err!(
        db.delete_item(conditional("#s = :v", s("done"), false))
            .await,
        ConditionalCheckFailed,
        "delete with a false condition, old item not asked for"
    );
    ensure_eq!(
        error,
        DataError::ConditionalCheckFailed { item: None },
        "no old item unless asked"
    );
    let got = db.get_item(get(t, key("dc"))).await.must("get")?;
    ensure_eq!(got, Some(item.clone()), "still there");
    let out = db
        .delete_item(conditional("#s = :v", s("active"), true))
        .await
        .must("delete with a true condition")?;
    ensure_eq!(out.attributes, Some(item), "ALL_OLD");
    let got = db.get_item(get(t, key("dc"))).await.must("get")?;
    ensure_eq!(got, None, "deleted");
    ensure_err!(
        db.delete_item(conditional("#s = :v", s("active"), true))
            .await,
        ConditionalCheckFailed,
        "a condition on a missing item's attribute is false"
    );
    Ok(())
}
