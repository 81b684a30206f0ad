//! TransactGetItems and TransactWriteItems: snapshots, all-or-nothing, cancellation
//! reasons, one operation per item, limits, idempotency tokens.

use std::collections::BTreeMap;

use portico_conformance::{CaseResult, Ctx, Failure, Kind, Must, ensure, ensure_eq, ensure_err};
use portico_data::ops::{
    ConditionCheck, DeleteItem, Placeholders, PutItem, TransactGet, TransactGetItem, TransactWrite,
    TransactWriteItem, UpdateItem,
};
use portico_data::{Backend, CancellationCode, DataError, Item};

use crate::support::*;

fn read(table: &str, key: Item) -> TransactGetItem {
    TransactGetItem {
        table: table.to_owned(),
        key,
        projection: None,
        names: BTreeMap::new(),
    }
}

fn check(table: &str, key: Item, condition: &str, placeholders: Placeholders) -> ConditionCheck {
    ConditionCheck {
        table: table.to_owned(),
        key,
        condition: condition.to_owned(),
        placeholders,
        return_old_on_condition_failure: false,
    }
}

fn transaction(items: Vec<TransactWriteItem>) -> TransactWrite {
    TransactWrite {
        items,
        client_token: None,
    }
}

/// Transact get: one result per request, in order, `None` for missing items,
/// projections; more than 100 reads are refused.
pub async fn transact_get(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let sorted_t = ctx.table(Kind::StrSorted)?;
    let a = item! { "pk" => s("a"), "v" => n(1), "w" => m(&[("x", n(2)), ("y", n(3))]) };
    let b = item! { "pk" => s("b"), "sk" => s("1"), "v" => n(2) };
    let b2 = item! { "pk" => s("b"), "v" => n(3) };
    db.put_item(put(simple, a.clone())).await.must("put")?;
    db.put_item(put(simple, b2.clone())).await.must("put")?;
    db.put_item(put(sorted_t, b.clone())).await.must("put")?;
    let got = db
        .transact_get(TransactGet {
            items: vec![
                read(sorted_t, key2("b", s("1"))),
                read(simple, key("missing")),
                TransactGetItem {
                    projection: Some("#w.y, v".into()),
                    names: names(&[("#w", "w")]),
                    ..read(simple, key("a"))
                },
                read(simple, key("b")),
            ],
        })
        .await
        .must("transact get")?;
    ensure_eq!(got.len(), 4, "one result per read");
    ensure_eq!(
        (&got[0], &got[1], &got[3]),
        (&Some(b), &None, &Some(b2)),
        "results in request order"
    );
    // Verified against dynoxide directly (raw TransactGetItems): it adds the table key
    // to a projected item (deliberately: its own test says "key always included").
    // DynamoDB's Get.ProjectionExpression: "identifies one or more attributes of the
    // specified item to retrieve", as for GetItem, which returns only those.
    ctx.reference_difference(
        "dynoxide adds the key attributes to a TransactGetItems projection",
        (|| {
            ensure_eq!(
                got[2],
                Some(item! { "w" => m(&[("y", n(3))]), "v" => n(1) }),
                "a projected read returns only the projected attributes"
            );
            Ok(())
        })(),
    )?;
    ensure_err!(
        db.transact_get(TransactGet {
            items: vec![read(simple, key("a")), read(simple, key("a"))],
        })
        .await,
        Validation,
        "two reads of one item"
    );
    let too_many: Vec<TransactGetItem> = (0..101)
        .map(|i| read(simple, key(&format!("k{i}"))))
        .collect();
    ensure_err!(
        db.transact_get(TransactGet { items: too_many }).await,
        Validation,
        "101 reads"
    );
    // "A user error, such as an invalid data format" cancels a TransactGetItems
    // (TransactionCanceledException's documentation), with a ValidationError reason for
    // that read.
    let error = ensure_err!(
        db.transact_get(TransactGet {
            items: vec![read(simple, key("a")), read(simple, item! { "pk" => n(1) })]
        })
        .await,
        TransactionCanceled,
        "a read with a mistyped key"
    );
    if let DataError::TransactionCanceled { reasons } = error {
        let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
        ensure_eq!(
            codes,
            vec!["None", "ValidationError"],
            "cancellation reasons"
        );
    }
    Ok(())
}

/// A transaction of a conditional put, an update, a delete and a condition check over
/// two tables applies all of them.
pub async fn transact_write_commit(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let sorted_t = ctx.table(Kind::StrSorted)?;
    put_all(
        db,
        simple,
        &[
            item! { "pk" => s("acct1"), "balance" => n(100) },
            item! { "pk" => s("acct2"), "balance" => n(5) },
            item! { "pk" => s("gone") },
        ],
    )
    .await?;
    db.put_item(put(
        sorted_t,
        item! { "pk" => s("lock"), "sk" => s("1"), "held" => n(0) },
    ))
    .await
    .must("put")?;
    db.transact_write(transaction(vec![
        TransactWriteItem::Update(UpdateItem {
            condition: Some("balance >= :amt".into()),
            ..update(
                simple,
                key("acct1"),
                "SET balance = balance - :amt",
                ph(&[], &[(":amt", n(30))]),
            )
        }),
        TransactWriteItem::Update(update(
            simple,
            key("acct2"),
            "ADD balance :amt",
            ph(&[], &[(":amt", n(30))]),
        )),
        TransactWriteItem::Put(PutItem {
            condition: Some("attribute_not_exists(pk)".into()),
            ..put(simple, item! { "pk" => s("log1"), "amt" => n(30) })
        }),
        TransactWriteItem::Delete(delete(simple, key("gone"))),
        TransactWriteItem::ConditionCheck(check(
            sorted_t,
            key2("lock", s("1")),
            "held = :zero",
            ph(&[], &[(":zero", n(0))]),
        )),
    ]))
    .await
    .must("transaction")?;
    let items = scan_pages(db, scan(simple)).await?;
    ensure_eq!(
        sorted(items_of(&items)),
        sorted(vec![
            item! { "pk" => s("acct1"), "balance" => n(70) },
            item! { "pk" => s("acct2"), "balance" => n(35) },
            item! { "pk" => s("log1"), "amt" => n(30) },
        ]),
        "every write applied"
    );
    Ok(())
}

/// One failing condition cancels the whole transaction: a reason per item in order
/// (`None` for the others), the old item in the reason only when asked, nothing applied.
pub async fn transact_write_cancel(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let guard = item! { "pk" => s("guard"), "open" => bool_value(false) };
    put_all(
        db,
        simple,
        &[guard.clone(), item! { "pk" => s("target"), "n" => n(1) }],
    )
    .await?;
    let before = sorted(items_of(&scan_pages(db, scan(simple)).await?));
    let writes = |return_old: bool| {
        transaction(vec![
            TransactWriteItem::Put(put(simple, item! { "pk" => s("new"), "n" => n(1) })),
            TransactWriteItem::ConditionCheck(ConditionCheck {
                return_old_on_condition_failure: return_old,
                ..check(
                    simple,
                    key("guard"),
                    "#o = :t",
                    ph(&[("#o", "open")], &[(":t", bool_value(true))]),
                )
            }),
            TransactWriteItem::Update(update(
                simple,
                key("target"),
                "SET n = n + :one",
                ph(&[], &[(":one", n(1))]),
            )),
            TransactWriteItem::Delete(delete(simple, key("absent"))),
        ])
    };
    for return_old in [false, true] {
        let error = ensure_err!(
            db.transact_write(writes(return_old)).await,
            TransactionCanceled,
            "a transaction with a false condition (return old: {return_old})"
        );
        let DataError::TransactionCanceled { reasons } = error else {
            return Err(Failure::here("not a cancellation"));
        };
        let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
        ensure_eq!(
            codes,
            vec!["None", "ConditionalCheckFailed", "None", "None"],
            "one reason per item, in order"
        );
        let items: Vec<Option<Item>> = reasons.iter().map(|r| r.item.clone()).collect();
        let want_old = return_old.then(|| guard.clone());
        ensure_eq!(
            items,
            vec![None, want_old, None, None],
            "the old item only when asked"
        );
        let after = sorted(items_of(&scan_pages(db, scan(simple)).await?));
        ensure_eq!(after, before, "nothing applied");
    }

    // A failing condition on a put of a missing item: no item in the reason.
    let error = ensure_err!(
        db.transact_write(transaction(vec![
            TransactWriteItem::Update(UpdateItem {
                condition: Some("attribute_exists(pk)".into()),
                return_old_on_condition_failure: true,
                ..update(
                    simple,
                    key("nobody"),
                    "SET n = :one",
                    ph(&[], &[(":one", n(1))])
                )
            }),
            TransactWriteItem::Update(update(
                simple,
                key("target"),
                "SET n = :two",
                ph(&[], &[(":two", n(2))]),
            )),
        ]))
        .await,
        TransactionCanceled,
        "an update of a missing item requiring it to exist"
    );
    if let DataError::TransactionCanceled { reasons } = error {
        let codes: Vec<CancellationCode> = reasons.iter().map(|r| r.code.clone()).collect();
        ensure_eq!(
            codes,
            vec![
                CancellationCode::ConditionalCheckFailed,
                CancellationCode::None
            ],
            "reasons"
        );
        ensure_eq!(reasons[0].item, None, "no old item when there was none");
    }
    let after = sorted(items_of(&scan_pages(db, scan(simple)).await?));
    ensure_eq!(after, before, "nothing applied");
    Ok(())
}

fn bool_value(flag: bool) -> portico_data::Value {
    portico_data::Value::Bool(flag)
}

/// Two operations on one item, more than 100 operations, and malformed operations are
/// refused as a whole.
pub async fn transact_write_refused(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let sorted_t = ctx.table(Kind::StrSorted)?;
    ensure_err!(
        db.transact_write(transaction(vec![
            TransactWriteItem::Put(put(simple, item! { "pk" => s("same"), "v" => n(1) })),
            TransactWriteItem::Update(update(
                simple,
                key("same"),
                "SET w = :v",
                ph(&[], &[(":v", n(2))])
            )),
        ]))
        .await,
        Validation,
        "a put and an update of one item"
    );
    ensure_err!(
        db.transact_write(transaction(vec![
            TransactWriteItem::ConditionCheck(check(
                simple,
                key("same"),
                "attribute_not_exists(pk)",
                Placeholders::default()
            )),
            TransactWriteItem::Delete(DeleteItem {
                ..delete(simple, key("same"))
            }),
        ]))
        .await,
        Validation,
        "a condition check and a delete of one item"
    );
    // The same key in different tables is two items: fine.
    db.transact_write(transaction(vec![
        TransactWriteItem::Put(put(simple, item! { "pk" => s("same") })),
        TransactWriteItem::Put(put(
            sorted_t,
            item! { "pk" => s("same"), "sk" => s("same") },
        )),
    ]))
    .await
    .must("one key in two tables")?;
    let too_many: Vec<TransactWriteItem> = (0..101)
        .map(|i| TransactWriteItem::Put(put(simple, item! { "pk" => s(&format!("t{i}")) })))
        .collect();
    ensure_err!(
        db.transact_write(transaction(too_many)).await,
        Validation,
        "101 writes"
    );
    // A key of the wrong type is "a user error, such as an invalid data format": DynamoDB
    // cancels the transaction with a ValidationError reason for that item
    // (TransactionCanceledException's documentation); an empty-string key is refused
    // before the transaction runs, as a ValidationException.
    let error = ensure_err!(
        db.transact_write(transaction(vec![
            TransactWriteItem::Put(put(simple, item! { "pk" => s("fine") })),
            TransactWriteItem::Put(put(simple, item! { "pk" => n(1) })),
        ]))
        .await,
        TransactionCanceled,
        "an item with a mistyped key"
    );
    if let DataError::TransactionCanceled { reasons } = error {
        let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
        ensure_eq!(
            codes,
            vec!["None", "ValidationError"],
            "cancellation reasons"
        );
    }
    ensure_err!(
        db.transact_write(transaction(vec![
            TransactWriteItem::Put(put(simple, item! { "pk" => s("fine") })),
            TransactWriteItem::Put(put(simple, item! { "pk" => s("") })),
        ]))
        .await,
        Validation,
        "an item with an empty-string key"
    );
    ensure_eq!(
        db.get_item(get(simple, key("fine"))).await.must("get")?,
        None,
        "refused transactions apply nothing"
    );
    ensure_eq!(
        db.get_item(get(simple, key("t0"))).await.must("get")?,
        None,
        "the refused 101-write transaction applied nothing"
    );
    Ok(())
}

/// A client token makes a retried transaction apply once; the same token with other
/// writes is refused.
pub async fn transact_write_idempotent(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let request = TransactWrite {
        items: vec![TransactWriteItem::Update(update(
            simple,
            key("tok"),
            "ADD hits :one",
            ph(&[], &[(":one", n(1))]),
        ))],
        client_token: Some(format!("conformance-token-{}", ctx.target())),
    };
    db.transact_write(request.clone()).await.must("first")?;
    db.transact_write(request.clone())
        .await
        .must("retry with the same token")?;
    ensure_eq!(
        db.get_item(get(simple, key("tok"))).await.must("get")?,
        Some(item! { "pk" => s("tok"), "hits" => n(1) }),
        "applied once"
    );
    let mut other = request;
    other.items = vec![TransactWriteItem::Update(update(
        simple,
        key("tok"),
        "ADD hits :two",
        ph(&[], &[(":two", n(2))]),
    ))];
    let error = ensure_err!(
        db.transact_write(other).await,
        IdempotentParameterMismatch,
        "the same token with other writes"
    );
    ensure!(
        !error.is_retryable(),
        "a token mismatch is not retryable as it is"
    );
    ensure_eq!(
        db.get_item(get(simple, key("tok"))).await.must("get")?,
        Some(item! { "pk" => s("tok"), "hits" => n(1) }),
        "the mismatched request applied nothing"
    );
    Ok(())
}
