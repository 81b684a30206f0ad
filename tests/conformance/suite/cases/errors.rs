//! Requests refused as a whole: malformed expressions, placeholder mistakes, reserved
//! words, unknown tables.

use std::collections::BTreeMap;

use portico_conformance::{CaseResult, Ctx, Kind, Must, ensure_eq, ensure_err};
use portico_data::ops::{
    BatchGet, BatchWrite, BatchWriteRequest, GetItem, KeysAndProjection, Placeholders, PutItem,
    Query, Scan, TransactGet, TransactGetItem, TransactWrite, TransactWriteItem, UpdateItem,
};
use portico_data::{Backend, Value};

use crate::support::*;

/// Syntax errors, undefined and unused placeholders, reserved words used bare, empty
/// expressions, placeholders without expressions: all validation errors, in every
/// kind of expression, and nothing is written.
pub async fn expression_errors(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let original = item! { "pk" => s("e"), "a" => n(1), "status" => s("open") };
    db.put_item(put(t, original.clone())).await.must("put")?;
    let v1 = |pairs: &[(&str, Value)]| ph(&[], pairs);

    let updates: Vec<(&str, Placeholders, &str)> = vec![
        ("SET a = ", v1(&[]), "a syntax error"),
        ("SET a = :v,", v1(&[(":v", n(1))]), "a trailing comma"),
        ("SET a := :v", v1(&[(":v", n(1))]), "an unknown operator"),
        ("SET a = :nope", v1(&[]), "an undefined value placeholder"),
        (
            "SET #nope = :v",
            v1(&[(":v", n(1))]),
            "an undefined name placeholder",
        ),
        (
            "SET a = :v",
            v1(&[(":v", n(1)), (":unused", n(2))]),
            "an unused value placeholder",
        ),
        (
            "SET a = :v",
            ph(&[("#unused", "x")], &[(":v", n(1))]),
            "an unused name placeholder",
        ),
        (
            "SET status = :v",
            v1(&[(":v", s("x"))]),
            "a reserved word used bare",
        ),
        ("REMOVE status", v1(&[]), "a reserved word in REMOVE"),
        ("", v1(&[]), "an empty update expression"),
        ("UPSERT a = :v", v1(&[(":v", n(1))]), "an unknown clause"),
    ];
    for (expression, placeholders, what) in updates {
        ensure_err!(
            db.update_item(update(t, key("e"), expression, placeholders))
                .await,
            Validation,
            "update: {what}: {expression:?}"
        );
    }

    let conditions: Vec<(&str, Placeholders, &str)> = vec![
        ("a = = :v", v1(&[(":v", n(1))]), "a syntax error"),
        ("(a = :v", v1(&[(":v", n(1))]), "an unclosed parenthesis"),
        (
            "a = :v",
            v1(&[(":v", n(1)), (":w", n(2))]),
            "an unused value placeholder",
        ),
        (
            "status = :v",
            v1(&[(":v", s("open"))]),
            "a reserved word used bare",
        ),
        ("", v1(&[]), "an empty condition"),
        ("a = :v AND", v1(&[(":v", n(1))]), "a dangling AND"),
    ];
    for (condition, placeholders, what) in conditions {
        ensure_err!(
            db.put_item(PutItem {
                condition: Some(condition.to_owned()),
                placeholders,
                ..put(t, original.clone())
            })
            .await,
            Validation,
            "condition: {what}: {condition:?}"
        );
    }
    ensure_err!(
        db.put_item(PutItem {
            placeholders: v1(&[(":v", n(1))]),
            ..put(t, original.clone())
        })
        .await,
        Validation,
        "placeholders without any expression"
    );

    let projections: Vec<(&str, BTreeMap<String, String>, &str)> = vec![
        ("a,,pk", BTreeMap::new(), "a syntax error"),
        ("status", BTreeMap::new(), "a reserved word used bare"),
        ("a", names(&[("#x", "x")]), "an unused name placeholder"),
        ("#nope", BTreeMap::new(), "an undefined name placeholder"),
        ("a[x]", BTreeMap::new(), "a non-numeric list index"),
    ];
    for (projection, names, what) in projections {
        ensure_err!(
            db.get_item(GetItem {
                projection: Some(projection.to_owned()),
                names,
                ..get(t, key("e"))
            })
            .await,
            Validation,
            "projection: {what}: {projection:?}"
        );
    }

    ensure_err!(
        db.scan(Scan {
            filter: Some("status = :v".into()),
            placeholders: v1(&[(":v", s("open"))]),
            ..scan(t)
        })
        .await,
        Validation,
        "a scan filter with a reserved word used bare"
    );
    ensure_err!(
        db.scan(Scan {
            filter: Some("a = :v)".into()),
            placeholders: v1(&[(":v", n(1))]),
            ..scan(t)
        })
        .await,
        Validation,
        "a scan filter with a syntax error"
    );
    ensure_err!(
        db.query(query(t, "pk = :p AND", v1(&[(":p", s("e"))])))
            .await,
        Validation,
        "a key condition with a syntax error"
    );
    ensure_err!(
        db.query(query(t, "pk = :p", v1(&[(":p", s("e")), (":q", s("x"))])))
            .await,
        Validation,
        "a query with an unused value placeholder"
    );
    ensure_err!(
        db.query(Query {
            filter: Some("#s = :v".into()),
            ..query(
                t,
                "pk = :p",
                ph(
                    &[("#s", "status"), ("#t", "x")],
                    &[(":p", s("e")), (":v", s("open"))]
                )
            )
        })
        .await,
        Validation,
        "a query with an unused name placeholder"
    );

    // The same expressions through placeholders are fine.
    db.update_item(UpdateItem {
        condition: Some("#s = :open".into()),
        ..update(
            t,
            key("e"),
            "SET #s = :closed",
            ph(
                &[("#s", "status")],
                &[(":open", s("open")), (":closed", s("closed"))],
            ),
        )
    })
    .await
    .must("a reserved word through a placeholder")?;
    let got = db.get_item(get(t, key("e"))).await.must("get")?;
    ensure_eq!(
        got,
        Some(item! { "pk" => s("e"), "a" => n(1), "status" => s("closed") }),
        "only the valid update applied"
    );
    Ok(())
}

/// Every operation on a table that does not exist: ResourceNotFound.
pub async fn unknown_table(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    // The case's own table name with a suffix, so it cannot exist.
    let t = format!("{}-nonexistent", ctx.table(Kind::Simple)?);
    let t = t.as_str();
    let item = item! { "pk" => s("x"), "v" => n(1) };
    ensure_err!(db.get_item(get(t, key("x"))).await, ResourceNotFound, "get");
    ensure_err!(
        db.put_item(put(t, item.clone())).await,
        ResourceNotFound,
        "put"
    );
    ensure_err!(
        db.update_item(update(t, key("x"), "SET v = :v", ph(&[], &[(":v", n(1))])))
            .await,
        ResourceNotFound,
        "update"
    );
    ensure_err!(
        db.delete_item(delete(t, key("x"))).await,
        ResourceNotFound,
        "delete"
    );
    ensure_err!(
        db.query(query(t, "pk = :p", ph(&[], &[(":p", s("x"))])))
            .await,
        ResourceNotFound,
        "query"
    );
    ensure_err!(
        db.query(Query {
            index: Some("by_group".into()),
            ..query(t, "grp = :p", ph(&[], &[(":p", s("x"))]))
        })
        .await,
        ResourceNotFound,
        "index query"
    );
    ensure_err!(db.scan(scan(t)).await, ResourceNotFound, "scan");
    ensure_err!(
        db.batch_get(BatchGet {
            tables: BTreeMap::from([(
                t.to_owned(),
                KeysAndProjection {
                    keys: vec![key("x")],
                    projection: None,
                    names: BTreeMap::new(),
                    consistent: false,
                },
            )]),
        })
        .await,
        ResourceNotFound,
        "batch get"
    );
    ensure_err!(
        db.batch_write(BatchWrite {
            tables: BTreeMap::from([(t.to_owned(), vec![BatchWriteRequest::Put(item.clone())])]),
        })
        .await,
        ResourceNotFound,
        "batch write"
    );
    ensure_err!(
        db.transact_get(TransactGet {
            items: vec![TransactGetItem {
                table: t.to_owned(),
                key: key("x"),
                projection: None,
                names: BTreeMap::new(),
            }],
        })
        .await,
        ResourceNotFound,
        "transact get"
    );
    ensure_err!(
        db.transact_write(TransactWrite {
            items: vec![TransactWriteItem::Put(put(t, item))],
            client_token: None,
        })
        .await,
        ResourceNotFound,
        "transact write"
    );
    Ok(())
}
