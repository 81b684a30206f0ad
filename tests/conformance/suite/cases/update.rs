//! UpdateItem: SET, REMOVE, ADD, DELETE, functions, nested paths, ReturnValues.

use portico_conformance::{CaseResult, Ctx, Kind, Must, ensure_eq, ensure_err};
use portico_data::ops::{Placeholders, ReturnValues, UpdateItem};
use portico_data::{Backend, DataError, Item, Value};

use crate::support::*;

fn returning(request: UpdateItem, rv: ReturnValues) -> UpdateItem {
    UpdateItem {
        return_values: rv,
        ..request
    }
}

fn values(pairs: &[(&str, Value)]) -> Placeholders {
    ph(&[], pairs)
}

/// All five ReturnValues, as DynamoDB documents them: ALL_OLD / ALL_NEW the whole item,
/// UPDATED_OLD only attributes that existed and were written, UPDATED_NEW only the
/// written attributes that exist afterwards (never the key).
pub async fn update_return_values(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    db.put_item(put(
        t,
        item! { "pk" => s("u"), "a" => s("hi"), "b" => s("dog") },
    ))
    .await
    .must("put")?;
    let set_b = |value: &str| update(t, key("u"), "SET b = :v", values(&[(":v", s(value))]));

    let out = db
        .update_item(returning(set_b("cat"), ReturnValues::None))
        .await
        .must("NONE")?;
    ensure_eq!(out.attributes, None, "NONE");

    let out = db
        .update_item(returning(set_b("cow"), ReturnValues::AllOld))
        .await
        .must("ALL_OLD")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "pk" => s("u"), "a" => s("hi"), "b" => s("cat") }),
        "ALL_OLD: the whole item before"
    );

    let out = db
        .update_item(returning(set_b("eel"), ReturnValues::AllNew))
        .await
        .must("ALL_NEW")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "pk" => s("u"), "a" => s("hi"), "b" => s("eel") }),
        "ALL_NEW: the whole item after"
    );

    let out = db
        .update_item(returning(
            update(
                t,
                key("u"),
                "SET b = :v, c = :w",
                values(&[(":v", s("fox")), (":w", s("new"))]),
            ),
            ReturnValues::UpdatedOld,
        ))
        .await
        .must("UPDATED_OLD")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "b" => s("eel") }),
        "UPDATED_OLD: only written attributes that existed before"
    );

    let out = db
        .update_item(returning(
            update(
                t,
                key("u"),
                "SET a = :v REMOVE c",
                values(&[(":v", s("yo"))]),
            ),
            ReturnValues::UpdatedNew,
        ))
        .await
        .must("UPDATED_NEW")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "a" => s("yo") }),
        "UPDATED_NEW: written attributes as they are now, removed ones left out"
    );

    let out = db
        .update_item(returning(
            update(t, key("u"), "REMOVE b", Placeholders::default()),
            ReturnValues::UpdatedOld,
        ))
        .await
        .must("UPDATED_OLD of a REMOVE")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "b" => s("fox") }),
        "a removed attribute's old value"
    );

    let out = db
        .update_item(returning(
            update(t, key("u"), "SET b = :v", values(&[(":v", s("gnu"))])),
            ReturnValues::UpdatedOld,
        ))
        .await
        .must("UPDATED_OLD of a new attribute")?;
    ensure_eq!(
        out.attributes,
        None,
        "nothing existed before: no attributes"
    );

    // On a new item: UPDATED_NEW leaves the key out, ALL_OLD has nothing.
    let out = db
        .update_item(returning(
            update(t, key("fresh"), "SET a = :v", values(&[(":v", n(1))])),
            ReturnValues::UpdatedNew,
        ))
        .await
        .must("UPDATED_NEW creating an item")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "a" => n(1) }),
        "the key is not an updated attribute"
    );
    let out = db
        .update_item(returning(
            update(t, key("fresh2"), "SET a = :v", values(&[(":v", n(1))])),
            ReturnValues::AllOld,
        ))
        .await
        .must("ALL_OLD creating an item")?;
    // Verified against dynoxide directly (raw UpdateItem): it answers
    // {"Attributes":{"pk":…}}. DynamoDB: "ALL_OLD - Returns all of the attributes of the
    // item, as they appeared before the UpdateItem operation": there were none.
    ctx.reference_difference(
        "dynoxide returns the new item's key as ALL_OLD of an update that created the item",
        (|| {
            ensure_eq!(out.attributes, None, "ALL_OLD when no item existed");
            Ok(())
        })(),
    )?;
    let out = db
        .update_item(returning(
            update(t, key("fresh3"), "SET a = :v", values(&[(":v", n(1))])),
            ReturnValues::AllNew,
        ))
        .await
        .must("ALL_NEW creating an item")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "pk" => s("fresh3"), "a" => n(1) }),
        "ALL_NEW of a created item includes its key"
    );
    Ok(())
}

/// UPDATED_OLD / UPDATED_NEW on nested paths return only the nested values, inside
/// their hierarchy.
pub async fn update_nested_return_values(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    db.put_item(put(
        t,
        item! {
            "pk" => s("n"),
            "a" => m(&[("b", s("dog")), ("c", l(vec![n(1), n(2), n(3)]))]),
            "d" => s("cat"),
        },
    ))
    .await
    .must("put")?;
    let run = |expression: &str, value: Value, rv| {
        returning(
            update(t, key("n"), expression, values(&[(":v", value)])),
            rv,
        )
    };
    let out = db
        .update_item(run("SET a.b = :v", s("hi"), ReturnValues::UpdatedOld))
        .await
        .must("UPDATED_OLD a.b")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "a" => m(&[("b", s("dog"))]) }),
        "UPDATED_OLD of a.b"
    );
    // Verified against dynoxide directly (raw UpdateItem): for a list-element path it
    // returns the whole top-level attribute. DynamoDB returns "only the updated
    // attributes" (UpdateItem's ReturnValues), nested in their path, list elements
    // included (ScyllaDB's test_returnvalues.py, run against DynamoDB, pins
    // {"a": {"c": [old]}}).
    const LIST_PATH_DIFFERENCE: &str = "dynoxide answers UPDATED_OLD / UPDATED_NEW of a list \
        element path (a.c[1]) with the whole top-level attribute";
    let out = db
        .update_item(run("SET a.c[1] = :v", n(7), ReturnValues::UpdatedOld))
        .await
        .must("UPDATED_OLD a.c[1]")?;
    ctx.reference_difference(
        LIST_PATH_DIFFERENCE,
        (|| {
            ensure_eq!(
                out.attributes,
                Some(item! { "a" => m(&[("c", l(vec![n(2)]))]) }),
                "UPDATED_OLD of a.c[1]"
            );
            Ok(())
        })(),
    )?;
    let out = db
        .update_item(run("SET a.b = :v", s("hello"), ReturnValues::UpdatedNew))
        .await
        .must("UPDATED_NEW a.b")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "a" => m(&[("b", s("hello"))]) }),
        "UPDATED_NEW of a.b"
    );
    let out = db
        .update_item(run("SET a.c[1] = :v", n(4), ReturnValues::UpdatedNew))
        .await
        .must("UPDATED_NEW a.c[1]")?;
    ctx.reference_difference(
        LIST_PATH_DIFFERENCE,
        (|| {
            ensure_eq!(
                out.attributes,
                Some(item! { "a" => m(&[("c", l(vec![n(4)]))]) }),
                "UPDATED_NEW of a.c[1]"
            );
            Ok(())
        })(),
    )?;
    let out = db
        .update_item(run("SET a.x = :v", n(8), ReturnValues::UpdatedNew))
        .await
        .must("UPDATED_NEW of a new member")?;
    ensure_eq!(
        out.attributes,
        Some(item! { "a" => m(&[("x", n(8))]) }),
        "UPDATED_NEW of a new map member"
    );
    let out = db
        .update_item(run("SET a.b = :v", s("z"), ReturnValues::AllNew))
        .await
        .must("ALL_NEW")?;
    ensure_eq!(
        out.attributes,
        Some(item! {
            "pk" => s("n"),
            "a" => m(&[("b", s("z")), ("c", l(vec![n(1), n(4), n(3)])), ("x", n(8))]),
            "d" => s("cat"),
        }),
        "ALL_NEW after nested updates"
    );
    Ok(())
}

/// SET and REMOVE on top-level and nested paths (`a.b[2].c`), list indexes (replace,
/// append beyond the end, remove with shifting), and invalid document paths.
pub async fn update_set_remove_paths(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let k = key("p");
    db.put_item(put(
        t,
        item! {
            "pk" => s("p"),
            "a" => m(&[("b", l(vec![
                m(&[("c", n(0))]),
                m(&[("c", n(1))]),
                m(&[("c", n(2)), ("keep", s("k"))]),
            ]))]),
            "lst" => l(vec![s("l0"), s("l1"), s("l2"), s("l3")]),
            "gone" => s("x"),
            "gone2" => n(1),
        },
    ))
    .await
    .must("put")?;
    let apply =
        |expression: &str, pairs: &[(&str, Value)]| update(t, k.clone(), expression, values(pairs));
    db.update_item(apply(
        "SET a.b[2].c = :v, a.b[0].added = :w, top = :t REMOVE gone, gone2, not_here",
        &[(":v", s("two")), (":w", Value::Bool(true)), (":t", n(5))],
    ))
    .await
    .must("SET nested, REMOVE several")?;
    db.update_item(apply(
        "SET lst[1] = :x, lst[10] = :y",
        &[(":x", s("L1")), (":y", s("appended"))],
    ))
    .await
    .must("SET list elements")?;
    let got = db.get_item(get(t, k.clone())).await.must("get")?;
    ensure_eq!(
        got,
        Some(item! {
            "pk" => s("p"),
            "a" => m(&[("b", l(vec![
                m(&[("c", n(0)), ("added", Value::Bool(true))]),
                m(&[("c", n(1))]),
                m(&[("c", s("two")), ("keep", s("k"))]),
            ]))]),
            "lst" => l(vec![s("l0"), s("L1"), s("l2"), s("l3"), s("appended")]),
            "top" => n(5),
        }),
        "after SET and REMOVE (an index past the end appends)"
    );

    db.update_item(apply("REMOVE lst[0], lst[2], a.b[1]", &[]))
        .await
        .must("REMOVE list elements")?;
    let got = db.get_item(get(t, k.clone())).await.must("get")?;
    ensure_eq!(
        got.as_ref().and_then(|i| i.get("lst")).cloned(),
        Some(l(vec![s("L1"), s("l3"), s("appended")])),
        "REMOVE lst[0], lst[2]: indexes of the list before the update, the rest shifts"
    );
    ensure_eq!(
        got.as_ref().and_then(|i| i.get("a")).cloned(),
        Some(m(&[(
            "b",
            l(vec![
                m(&[("c", n(0)), ("added", Value::Bool(true))]),
                m(&[("c", s("two")), ("keep", s("k"))]),
            ])
        )])),
        "REMOVE a.b[1]"
    );

    let before = got;
    for (expression, what) in [
        (
            "SET absent.deeper = :v",
            "a map path through a missing attribute",
        ),
        (
            "SET a.nope.deeper = :v",
            "a map path through a missing member",
        ),
        ("SET top.x = :v", "a map path through a number"),
        ("SET top[0] = :v", "a list index on a number"),
        ("SET a.b.c = :v", "a map member of a list"),
    ] {
        ensure_err!(
            db.update_item(apply(expression, &[(":v", n(1))])).await,
            Validation,
            "{what}: {expression}"
        );
    }
    let got = db.get_item(get(t, k)).await.must("get")?;
    ensure_eq!(got, before, "refused updates changed nothing");
    Ok(())
}

/// `if_not_exists`, `list_append` (both ends) and `+` / `-` arithmetic.
pub async fn update_functions(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let k = key("f");
    db.put_item(put(
        t,
        item! { "pk" => s("f"), "had" => s("old"), "n" => num("10.5"), "l" => l(vec![n(2)]) },
    ))
    .await
    .must("put")?;
    let out = db
        .update_item(returning(
            update(
                t,
                k.clone(),
                "SET had = if_not_exists(had, :d), fresh = if_not_exists(fresh, :d), \
                 l = list_append(:front, l), n = n - :small, \
                 ctr = if_not_exists(ctr, :zero) + :one, summed = :a + :b",
                values(&[
                    (":d", s("default")),
                    (":front", l(vec![n(0), n(1)])),
                    (":small", num("0.75")),
                    (":zero", n(0)),
                    (":one", n(1)),
                    (":a", num("10000000000000000000000")),
                    (":b", n(1)),
                ]),
            ),
            ReturnValues::AllNew,
        ))
        .await
        .must("functions")?;
    ensure_eq!(
        out.attributes,
        Some(item! {
            "pk" => s("f"),
            "had" => s("old"),
            "fresh" => s("default"),
            "n" => num("9.75"),
            "l" => l(vec![n(0), n(1), n(2)]),
            "ctr" => n(1),
            "summed" => num("10000000000000000000001"),
        }),
        "if_not_exists keeps existing values, list_append prepends, arithmetic is exact"
    );
    let out = db
        .update_item(returning(
            update(
                t,
                k.clone(),
                "SET ctr = if_not_exists(ctr, :zero) + :one, l = list_append(l, :back), \
                 n = n + :neg",
                values(&[
                    (":zero", n(0)),
                    (":one", n(1)),
                    (":back", l(vec![s("end")])),
                    (":neg", num("-19.75")),
                ]),
            ),
            ReturnValues::UpdatedNew,
        ))
        .await
        .must("ctr, append")?;
    ensure_eq!(
        out.attributes,
        Some(item! {
            "ctr" => n(2),
            "l" => l(vec![n(0), n(1), n(2), s("end")]),
            "n" => n(-10),
        }),
        "ctr increments, list_append appends, negative arithmetic"
    );
    for (expression, what) in [
        ("SET x = absent + :one", "arithmetic on a missing attribute"),
        ("SET x = had + :one", "arithmetic on a string"),
        ("SET x = list_append(had, :one)", "list_append on a string"),
        (
            "SET x = list_append(absent, l)",
            "list_append on a missing attribute",
        ),
    ] {
        ensure_err!(
            db.update_item(update(t, k.clone(), expression, values(&[(":one", n(1))])))
                .await,
            Validation,
            "{what}"
        );
    }
    Ok(())
}

/// ADD (numbers and sets, creating missing attributes) and DELETE (set members; the
/// last member removes the attribute); type mismatches are refused.
pub async fn update_add_delete(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let k = key("s");
    let apply = |expression: &str, pairs: &[(&str, Value)]| {
        returning(
            update(t, k.clone(), expression, values(pairs)),
            ReturnValues::AllNew,
        )
    };
    let out = db
        .update_item(apply(
            "ADD cnt :one, tags :ab, nums :n12, bins :b1",
            &[
                (":one", n(1)),
                (":ab", ss(&["a", "b"])),
                (":n12", ns(&["1", "2"])),
                (":b1", bs(&[&[1]])),
            ],
        ))
        .await
        .must("ADD creating attributes (and the item)")?;
    ensure_eq!(
        out.attributes,
        Some(item! {
            "pk" => s("s"),
            "cnt" => n(1),
            "tags" => ss(&["a", "b"]),
            "nums" => ns(&["1", "2"]),
            "bins" => bs(&[&[1]]),
        }),
        "ADD on missing attributes sets them"
    );
    let out = db
        .update_item(apply(
            "ADD cnt :five, tags :bc, nums :n23, bins :b2",
            &[
                (":five", num("-5.5")),
                (":bc", ss(&["b", "c"])),
                (":n23", ns(&["2", "3"])),
                (":b2", bs(&[&[2], &[1]])),
            ],
        ))
        .await
        .must("ADD to existing attributes")?;
    ensure_eq!(
        out.attributes,
        Some(item! {
            "pk" => s("s"),
            "cnt" => num("-4.5"),
            "tags" => ss(&["a", "b", "c"]),
            "nums" => ns(&["1", "2", "3"]),
            "bins" => bs(&[&[1], &[2]]),
        }),
        "ADD sums numbers and unites sets"
    );
    let out = db
        .update_item(apply(
            "DELETE tags :ax, nums :n13",
            &[(":ax", ss(&["a", "x"])), (":n13", ns(&["1", "3"]))],
        ))
        .await
        .must("DELETE members")?;
    ensure_eq!(
        out.attributes
            .as_ref()
            .map(|i| (i.get("tags").cloned(), i.get("nums").cloned())),
        Some((Some(ss(&["b", "c"])), Some(ns(&["2"])))),
        "DELETE removes the members present, ignores the others"
    );
    let out = db
        .update_item(apply(
            "DELETE tags :all, absent_set :all",
            &[(":all", ss(&["b", "c"]))],
        ))
        .await
        .must("DELETE every member")?;
    ensure_eq!(
        out.attributes.as_ref().map(|i| i.contains_key("tags")),
        Some(false),
        "a set emptied by DELETE is removed (sets are never empty)"
    );
    for (expression, value, what) in [
        ("ADD cnt :v", ss(&["a"]), "ADD a set to a number"),
        ("ADD nums :v", n(1), "ADD a number to a number set"),
        (
            "ADD nums :v",
            ss(&["a"]),
            "ADD a string set to a number set",
        ),
        ("ADD nm :v", n(1), "ADD to a string"),
        (
            "DELETE nums :v",
            n(2),
            "DELETE with a number instead of a set",
        ),
        (
            "DELETE nums :v",
            ss(&["2"]),
            "DELETE a string set from a number set",
        ),
        ("DELETE cnt :v", ns(&["1"]), "DELETE from a number"),
        ("ADD l :v", l(vec![n(1)]), "ADD a list"),
    ] {
        let request = apply(expression, &[(":v", value)]);
        if expression.contains("nm") {
            db.put_item(put(t, item! { "pk" => s("s2"), "nm" => s("x") }))
                .await
                .must("put")?;
            ensure_err!(
                db.update_item(UpdateItem {
                    key: key("s2"),
                    ..request
                })
                .await,
                Validation,
                "{what}"
            );
        } else {
            ensure_err!(db.update_item(request).await, Validation, "{what}");
        }
    }
    Ok(())
}

/// UpdateItem on a missing item creates it (key plus what was SET); an update that only
/// REMOVEs does not; an update without an expression creates the bare key.
pub async fn update_upsert(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let k = key2("up", n(1));
    db.update_item(update(
        t,
        k.clone(),
        "SET a = :v",
        values(&[(":v", s("x"))]),
    ))
    .await
    .must("update creating an item")?;
    let got = db.get_item(get(t, k.clone())).await.must("get")?;
    ensure_eq!(
        got,
        Some(item! { "pk" => s("up"), "sk" => n(1), "a" => s("x") }),
        "created with its key and the SET attribute"
    );
    let k2 = key2("up", n(2));
    let out = db
        .update_item(returning(
            update(t, k2.clone(), "REMOVE a", Placeholders::default()),
            ReturnValues::AllNew,
        ))
        .await
        .must("REMOVE-only update of a missing item")?;
    let got = db.get_item(get(t, k2)).await.must("get")?;
    // Verified against dynoxide directly (raw UpdateItem and GetItem): it creates the
    // bare key. DynamoDB does not create an item for an update that only removes
    // attributes (ScyllaDB's test_update_item_non_existent, run against DynamoDB, and
    // its issue #5862).
    ctx.reference_difference(
        "dynoxide creates the item for a REMOVE-only update of a missing item",
        (|| {
            ensure_eq!(
                out.attributes,
                None,
                "ALL_NEW of a REMOVE-only update of nothing"
            );
            ensure_eq!(got, None, "a REMOVE-only update does not create the item");
            Ok(())
        })(),
    )?;
    let k3 = key2("up", n(3));
    db.update_item(UpdateItem {
        update: None,
        ..update(t, k3.clone(), "", Placeholders::default())
    })
    .await
    .must("update without an expression")?;
    let got = db.get_item(get(t, k3.clone())).await.must("get")?;
    ensure_eq!(
        got,
        Some(k3),
        "an update without an expression creates the bare key"
    );

    ensure_err!(
        db.update_item(update(t, key("up"), "SET a = :v", values(&[(":v", n(1))])))
            .await,
        Validation,
        "a key without its sort key"
    );
    Ok(())
}

/// Updates DynamoDB refuses: key attributes, overlapping or repeated paths.
pub async fn update_refused(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let k = key2("r", n(1));
    let original = item! { "pk" => s("r"), "sk" => n(1), "a" => m(&[("b", n(1))]) };
    db.put_item(put(t, original.clone())).await.must("put")?;
    for (expression, what) in [
        ("SET pk = :v", "SET of the partition key"),
        ("SET sk = :n", "SET of the sort key"),
        ("REMOVE sk", "REMOVE of the sort key"),
        ("ADD sk :n", "ADD to the sort key"),
        ("SET a = :v REMOVE a", "the same path in SET and REMOVE"),
        ("SET a = :v, a = :v", "the same path twice"),
        ("SET a.b = :v, a = :v", "overlapping paths"),
        ("SET a = :v SET b = :v", "a clause repeated"),
    ] {
        let pairs: &[(&str, Value)] = if expression.contains(":n") {
            &[(":n", n(2))]
        } else {
            &[(":v", s("x"))]
        };
        ensure_err!(
            db.update_item(update(t, k.clone(), expression, values(pairs)))
                .await,
            Validation,
            "{what}: {expression}"
        );
    }
    let got = db.get_item(get(t, k)).await.must("get")?;
    ensure_eq!(got, Some(original), "refused updates changed nothing");
    Ok(())
}

/// Conditional updates: the failure returns the old item only when asked; a passing
/// condition applies the update.
pub async fn update_conditions(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let original = item! { "pk" => s("uc"), "qty" => n(3) };
    db.put_item(put(t, original.clone())).await.must("put")?;
    let take = |amount: i64, return_old: bool| UpdateItem {
        condition: Some("qty >= :amount".into()),
        return_old_on_condition_failure: return_old,
        return_values: ReturnValues::UpdatedNew,
        ..update(
            t,
            key("uc"),
            "SET qty = qty - :amount",
            values(&[(":amount", n(amount))]),
        )
    };
    let out = db.update_item(take(2, true)).await.must("take 2 of 3")?;
    ensure_eq!(out.attributes, Some(item! { "qty" => n(1) }), "UPDATED_NEW");
    let error = ensure_err!(
        db.update_item(take(2, true)).await,
        ConditionalCheckFailed,
        "take 2 of 1"
    );
    ensure_eq!(
        error,
        DataError::ConditionalCheckFailed {
            item: Some(item! { "pk" => s("uc"), "qty" => n(1) })
        },
        "the old item, asked for"
    );
    let error = ensure_err!(
        db.update_item(take(2, false)).await,
        ConditionalCheckFailed,
        "take 2 of 1, not asking"
    );
    ensure_eq!(
        error,
        DataError::ConditionalCheckFailed { item: None },
        "not asked"
    );
    let error = ensure_err!(
        db.update_item(UpdateItem {
            key: key("missing"),
            ..take(1, true)
        })
        .await,
        ConditionalCheckFailed,
        "condition on a missing item"
    );
    ensure_eq!(
        error,
        DataError::ConditionalCheckFailed { item: None },
        "no item to return"
    );
    let got = db.get_item(get(t, key("missing"))).await.must("get")?;
    ensure_eq!(got, None, "a failed conditional update creates nothing");
    let got: Option<Item> = db.get_item(get(t, key("uc"))).await.must("get")?;
    ensure_eq!(
        got,
        Some(item! { "pk" => s("uc"), "qty" => n(1) }),
        "unchanged by failures"
    );
    Ok(())
}
