//! The value model at the store's edge: exact numbers, binaries, sets, empty strings
//! and binaries, key validation.

use portico_conformance::{CaseResult, Ctx, Kind, Must, ensure, ensure_eq, ensure_err};
use portico_data::ops::{Placeholders, Query};
use portico_data::value::item_from_json;
use portico_data::{Backend, Item, Number, Set, Value};

use crate::support::*;

/// 38-digit numbers (integers, decimals, negative, the extremes of the range) round-trip
/// exactly and compare exactly; notation does not matter; a 39-digit literal is refused.
pub async fn numbers_exact(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let literals = [
        "12345678901234567890123456789012345678",
        "-12345678901234567890123456789012345678",
        "1234567890123456789.0123456789012345678",
        "0.00000000000000000000000000000000000001",
        "99999999999999999999999999999999999999",
        "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125",
        "1E-130",
        "-1E-130",
        "0",
        "-0.5",
    ];
    let mut item = item! { "pk" => s("numbers") };
    for (index, literal) in literals.iter().enumerate() {
        item.insert(format!("n{index}"), num(literal));
    }
    item.insert("set".into(), ns(&literals));
    db.put_item(put(t, item.clone())).await.must("put")?;
    let got = db.get_item(get(t, key("numbers"))).await.must("get")?;
    ensure_eq!(got, Some(item), "38-digit numbers round-trip exactly");

    // Exact comparison: these differ only in the 38th digit.
    let condition = portico_data::ops::PutItem {
        condition: Some("n0 = :v".into()),
        placeholders: ph(
            &[],
            &[(":v", num("12345678901234567890123456789012345679"))],
        ),
        ..put(t, item! { "pk" => s("numbers") })
    };
    ensure_err!(
        db.put_item(condition).await,
        ConditionalCheckFailed,
        "numbers differing in the 38th digit are different"
    );

    // Notation does not matter: 1.50, 15E-1 and 1.5 are one number.
    db.put_item(put(t, item! { "pk" => s("notation"), "v" => num("1.50") }))
        .await
        .must("put 1.50")?;
    let got = db.get_item(get(t, key("notation"))).await.must("get")?;
    ensure_eq!(
        got,
        Some(item! { "pk" => s("notation"), "v" => num("15E-1") }),
        "1.50 = 15E-1"
    );

    let error = "123456789012345678901234567890123456789"
        .parse::<Number>()
        .map(Value::N);
    ensure_err!(error, Validation, "a 39-digit number");
    ensure_err!(
        item_from_json(&serde_json::json!({"v": {"N": "1E+126"}})),
        Validation,
        "a number above the range"
    );
    Ok(())
}

/// Arithmetic results must fit a number too: losing precision or overflowing is a
/// validation error, and nothing is written.
pub async fn numbers_arithmetic_limits(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    db.put_item(put(
        t,
        item! { "pk" => s("arith"), "big" => num("1E+50"), "mx" => num("9E+125") },
    ))
    .await
    .must("put")?;
    let one = ph(&[], &[(":one", n(1))]);
    for (expression, placeholders, what) in [
        (
            "SET r = big + :one",
            one.clone(),
            "1E+50 + 1 needs 51 digits",
        ),
        (
            "SET r = big - :one",
            one.clone(),
            "1E+50 - 1 needs 50 digits",
        ),
        ("ADD big :one", one.clone(), "ADD 1 to 1E+50"),
        (
            "SET r = mx + mx",
            Placeholders::default(),
            "9E+125 + 9E+125 overflows",
        ),
    ] {
        ensure_err!(
            db.update_item(update(t, key("arith"), expression, placeholders))
                .await,
            Validation,
            "{what}"
        );
    }
    let got = db.get_item(get(t, key("arith"))).await.must("get")?;
    ensure_eq!(
        got,
        Some(item! { "pk" => s("arith"), "big" => num("1E+50"), "mx" => num("9E+125") }),
        "nothing written"
    );
    Ok(())
}

/// Numbers as sort keys: order by value across signs, decimals and magnitudes, and
/// exactly at 38 digits.
pub async fn numbers_as_sort_keys(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let ascending = [
        "-1E+100",
        "-12345678901234567890123456789012345679",
        "-12345678901234567890123456789012345678",
        "-1000",
        "-10.5",
        "-1",
        "-0.001",
        "-1E-130",
        "0",
        "1E-130",
        "0.001",
        "0.5",
        "1",
        "2",
        "10",
        "10.25",
        "100",
        "1E+10",
        "12345678901234567890123456789012345678",
        "12345678901234567890123456789012345679",
        "1.5E+100",
    ];
    // Written in a scrambled order.
    let mut items: Vec<Item> = ascending.iter().map(|sk| key2("nums", num(sk))).collect();
    items.reverse();
    items.swap(0, 7);
    items.swap(3, 12);
    put_all(db, t, &items).await?;
    let expected: Vec<Value> = ascending.iter().map(|sk| num(sk)).collect();
    let pages = query_pages(db, query(t, "pk = :p", ph(&[], &[(":p", s("nums"))]))).await?;
    ensure_eq!(
        column(&items_of(&pages), "sk"),
        expected,
        "ascending by value"
    );
    let pages = query_pages(
        db,
        Query {
            forward: false,
            ..query(t, "pk = :p", ph(&[], &[(":p", s("nums"))]))
        },
    )
    .await?;
    let mut descending = expected.clone();
    descending.reverse();
    ensure_eq!(
        column(&items_of(&pages), "sk"),
        descending,
        "descending by value"
    );
    Ok(())
}

/// Binaries: every byte value round-trips; binary sort keys order by unsigned bytes;
/// begins_with on a binary sort key.
pub async fn binary_values(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let every_byte: Vec<u8> = (0..=255).collect();
    let item = item! {
        "pk" => s("bin"),
        "all" => Value::B(every_byte.clone()),
        "set" => bs(&[&every_byte, &[0], &[255, 0]]),
        "nested" => l(vec![b(&[0x80])]),
    };
    db.put_item(put(simple, item.clone())).await.must("put")?;
    let got = db.get_item(get(simple, key("bin"))).await.must("get")?;
    ensure_eq!(got, Some(item), "binaries round-trip");

    let t = ctx.table(Kind::BinSorted)?;
    let ascending: Vec<Vec<u8>> = vec![
        vec![0x00],
        vec![0x00, 0x00],
        vec![0x01],
        vec![0x01, 0xff],
        vec![0x02],
        vec![0x7f],
        vec![0x80],
        vec![0x80, 0x00],
        vec![0xfe, 0xff],
        vec![0xff],
        vec![0xff, 0x00],
    ];
    let mut items: Vec<Item> = ascending
        .iter()
        .map(|sk| key2("bins", Value::B(sk.clone())))
        .collect();
    items.reverse();
    put_all(db, t, &items).await?;
    let pages = query_pages(db, query(t, "pk = :p", ph(&[], &[(":p", s("bins"))]))).await?;
    let expected: Vec<Value> = ascending.iter().cloned().map(Value::B).collect();
    ensure_eq!(
        column(&items_of(&pages), "sk"),
        expected,
        "unsigned byte order"
    );
    let pages = query_pages(
        db,
        query(
            t,
            "pk = :p AND begins_with(sk, :prefix)",
            ph(&[], &[(":p", s("bins")), (":prefix", b(&[0x80]))]),
        ),
    )
    .await?;
    ensure_eq!(
        column(&items_of(&pages), "sk"),
        vec![b(&[0x80]), b(&[0x80, 0x00])],
        "begins_with on a binary sort key"
    );
    Ok(())
}

/// Sets: SS, NS and BS round-trip as sets (order-free); an empty set or duplicate
/// members cannot even be made, as DynamoDB refuses them.
pub async fn set_values(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let item = item! {
        "pk" => s("sets"),
        "ss" => ss(&["b", "a", "", "é"]),
        "ns" => ns(&["10", "-1", "2.5", "1E+20"]),
        "bs" => bs(&[&[3], &[1, 2], &[]]),
        "in_map" => m(&[("s", ss(&["x"]))]),
    };
    db.put_item(put(t, item.clone())).await.must("put")?;
    let got = db.get_item(get(t, key("sets"))).await.must("get")?;
    ensure_eq!(got, Some(item), "sets round-trip");
    for json in [
        serde_json::json!({"v": {"SS": []}}),
        serde_json::json!({"v": {"NS": []}}),
        serde_json::json!({"v": {"BS": []}}),
        serde_json::json!({"v": {"SS": ["a", "a"]}}),
        serde_json::json!({"v": {"NS": ["1", "1.0"]}}),
    ] {
        ensure_err!(item_from_json(&json), Validation, "set {json}");
    }
    ensure_err!(Set::<String>::new(Vec::new()), Validation, "an empty set");
    Ok(())
}

/// Empty strings and binaries: fine in non-key attributes (top-level and nested), refused
/// in table keys and index keys.
pub async fn empty_values(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let item = item! {
        "pk" => s("e"),
        "sk" => n(1),
        "es" => s(""),
        "eb" => b(&[]),
        "nested" => m(&[("es", s("")), ("l", l(vec![s(""), b(&[])]))]),
    };
    db.put_item(put(t, item.clone()))
        .await
        .must("put with empty values")?;
    let got = db.get_item(get(t, key2("e", n(1)))).await.must("get")?;
    ensure_eq!(got, Some(item), "empty non-key values round-trip");
    db.update_item(update(
        t,
        key2("e", n(1)),
        "SET es2 = :e",
        ph(&[], &[(":e", s(""))]),
    ))
    .await
    .must("SET an empty string")?;

    ensure_err!(
        db.put_item(put(t, item! { "pk" => s(""), "sk" => n(1) }))
            .await,
        Validation,
        "an empty partition key"
    );
    ensure_err!(
        db.get_item(get(t, key2("", n(1)))).await,
        Validation,
        "get with an empty partition key"
    );
    let bin = ctx.table(Kind::BinSorted)?;
    ensure_err!(
        db.put_item(put(bin, item! { "pk" => s("x"), "sk" => b(&[]) }))
            .await,
        Validation,
        "an empty binary sort key"
    );
    let strs = ctx.table(Kind::StrSorted)?;
    ensure_err!(
        db.put_item(put(strs, item! { "pk" => s("x"), "sk" => s("") }))
            .await,
        Validation,
        "an empty string sort key"
    );
    ensure_err!(
        db.put_item(put(
            t,
            item! { "pk" => s("e"), "sk" => n(2), "grp" => s(""), "gsk" => n(1) }
        ))
        .await,
        Validation,
        "an empty string as a global index key"
    );
    ensure_err!(
        db.put_item(put(
            t,
            item! { "pk" => s("e"), "sk" => n(3), "label" => s("") }
        ))
        .await,
        Validation,
        "an empty string as a local index key"
    );
    ensure_err!(
        db.update_item(update(
            t,
            key2("e", n(1)),
            "SET tag = :e",
            ph(&[], &[(":e", s(""))]),
        ))
        .await,
        Validation,
        "an update setting an index key to an empty string"
    );
    let got = db.get_item(get(t, key2("e", n(2)))).await.must("get")?;
    ensure_eq!(got, None, "refused puts wrote nothing");
    Ok(())
}

/// Keys must match the schema: every key attribute, of its type, nothing else; index
/// key attributes must have the index's type.
pub async fn key_validation(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let bad_keys: Vec<(Item, &str)> = vec![
        (item! { "pk" => s("k") }, "the sort key missing"),
        (item! { "sk" => n(1) }, "the partition key missing"),
        (
            item! { "pk" => s("k"), "sk" => s("1") },
            "a string for a number sort key",
        ),
        (
            item! { "pk" => n(1), "sk" => n(1) },
            "a number for a string partition key",
        ),
        (
            item! { "pk" => s("k"), "sk" => n(1), "extra" => n(1) },
            "an attribute besides the key",
        ),
        (Item::new(), "an empty key"),
    ];
    for (bad, what) in &bad_keys {
        ensure_err!(
            db.get_item(get(t, bad.clone())).await,
            Validation,
            "get: {what}"
        );
        ensure_err!(
            db.delete_item(delete(t, bad.clone())).await,
            Validation,
            "delete: {what}"
        );
        ensure_err!(
            db.update_item(update(
                t,
                bad.clone(),
                "SET a = :v",
                ph(&[], &[(":v", n(1))])
            ))
            .await,
            Validation,
            "update: {what}"
        );
    }
    ensure_err!(
        db.put_item(put(t, item! { "pk" => s("k"), "a" => n(1) }))
            .await,
        Validation,
        "a put without the sort key"
    );
    ensure_err!(
        db.put_item(put(t, item! { "pk" => s("k"), "sk" => s("x") }))
            .await,
        Validation,
        "a put with a mistyped sort key"
    );
    ensure_err!(
        db.put_item(put(
            t,
            item! { "pk" => s("k"), "sk" => n(1), "grp" => n(5), "gsk" => n(1) }
        ))
        .await,
        Validation,
        "a number in a string global index key"
    );
    ensure_err!(
        db.put_item(put(
            t,
            item! { "pk" => s("k"), "sk" => n(1), "label" => ss(&["x"]) }
        ))
        .await,
        Validation,
        "a set in a string local index key"
    );
    let got = db.get_item(get(t, key2("k", n(1)))).await.must("get")?;
    ensure!(got.is_none(), "refused puts wrote nothing: {got:?}");
    Ok(())
}
