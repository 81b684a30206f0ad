//! BatchGetItem and BatchWriteItem: results, limits, duplicates, and unprocessed work
//! handled by resubmitting (with a fault-injecting wrapper).

use std::collections::BTreeMap;
use std::sync::Arc;

use portico_conformance::{
    CaseResult, Ctx, FaultInjecting, Kind, Must, RetryPolicy, batch_get_all, batch_write_all,
    ensure, ensure_eq, ensure_err,
};
use portico_data::ops::{BatchGet, BatchWrite, BatchWriteRequest, KeysAndProjection};
use portico_data::{Backend, Item};

use crate::support::*;

fn keys_of(keys: Vec<Item>) -> KeysAndProjection {
    KeysAndProjection {
        keys,
        projection: None,
        names: BTreeMap::new(),
        consistent: true,
    }
}

fn simple_items(prefix: &str, count: usize) -> Vec<Item> {
    (0..count)
        .map(|i| item! { "pk" => s(&format!("{prefix}{i:03}")), "i" => n(i as i64) })
        .collect()
}

/// Batch get across two tables: found items per table, missing keys simply absent,
/// projections per table.
pub async fn batch_get_basic(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let sorted_t = ctx.table(Kind::StrSorted)?;
    let a = simple_items("a", 3);
    put_all(db, simple, &a).await?;
    let b = vec![
        item! { "pk" => s("b"), "sk" => s("1"), "v" => m(&[("x", n(1)), ("y", n(2))]) },
        item! { "pk" => s("b"), "sk" => s("2"), "v" => m(&[("x", n(3))]) },
    ];
    put_all(db, sorted_t, &b).await?;
    let output = db
        .batch_get(BatchGet {
            tables: BTreeMap::from([
                (
                    simple.to_owned(),
                    keys_of(vec![key("a000"), key("a002"), key("missing")]),
                ),
                (
                    sorted_t.to_owned(),
                    KeysAndProjection {
                        projection: Some("#v.x".into()),
                        names: names(&[("#v", "v")]),
                        ..keys_of(vec![
                            key2("b", s("1")),
                            key2("b", s("2")),
                            key2("b", s("3")),
                        ])
                    },
                ),
            ]),
        })
        .await
        .must("batch get")?;
    ensure!(
        output.unprocessed.values().all(|e| e.keys.is_empty()),
        "nothing unprocessed: {:?}",
        output.unprocessed
    );
    ensure_eq!(
        sorted(output.responses.get(simple).cloned().unwrap_or_default()),
        sorted(vec![a[0].clone(), a[2].clone()]),
        "the simple table's items"
    );
    ensure_eq!(
        sorted(output.responses.get(sorted_t).cloned().unwrap_or_default()),
        sorted(vec![
            item! { "v" => m(&[("x", n(1))]) },
            item! { "v" => m(&[("x", n(3))]) },
        ]),
        "the projected items"
    );
    Ok(())
}

/// Batch get limits: 100 keys are fine, 101 are refused, and so are duplicate keys and
/// malformed keys.
pub async fn batch_get_limits(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let items = simple_items("g", 101);
    put_all(db, t, &items).await?;
    let all_keys: Vec<Item> = items
        .iter()
        .map(|i| item! { "pk" => i["pk"].clone() })
        .collect();
    let request = |keys: Vec<Item>| BatchGet {
        tables: BTreeMap::from([(t.to_owned(), keys_of(keys))]),
    };
    let (found, _) = batch_get_all(
        db,
        request(all_keys[..100].to_vec()),
        RetryPolicy::default(),
    )
    .await
    .must("batch get of 100 keys")?;
    ensure_eq!(found.get(t).map(Vec::len), Some(100), "100 keys read");
    ensure_err!(
        db.batch_get(request(all_keys.clone())).await,
        Validation,
        "a batch get of 101 keys"
    );
    ensure_err!(
        db.batch_get(request(vec![key("g000"), key("g001"), key("g000")]))
            .await,
        Validation,
        "duplicate keys in a batch get"
    );
    ensure_err!(
        db.batch_get(request(vec![key("g000"), item! { "pk" => n(1) }]))
            .await,
        Validation,
        "a mistyped key in a batch get"
    );
    Ok(())
}

/// Batch write across two tables: puts and deletes applied; 25 writes are fine, 26
/// are refused, as are two writes to one item and malformed items.
pub async fn batch_write_basic(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let sorted_t = ctx.table(Kind::StrSorted)?;
    put_all(db, simple, &[item! { "pk" => s("old") }]).await?;
    let output = db
        .batch_write(BatchWrite {
            tables: BTreeMap::from([
                (
                    simple.to_owned(),
                    vec![
                        BatchWriteRequest::Put(item! { "pk" => s("new"), "v" => n(1) }),
                        BatchWriteRequest::Delete(key("old")),
                        BatchWriteRequest::Delete(key("never-there")),
                    ],
                ),
                (
                    sorted_t.to_owned(),
                    vec![BatchWriteRequest::Put(
                        item! { "pk" => s("x"), "sk" => s("y") },
                    )],
                ),
            ]),
        })
        .await
        .must("batch write")?;
    ensure!(
        output.unprocessed.values().all(Vec::is_empty),
        "nothing unprocessed"
    );
    ensure_eq!(
        db.get_item(get(simple, key("new"))).await.must("get")?,
        Some(item! { "pk" => s("new"), "v" => n(1) }),
        "put applied"
    );
    ensure_eq!(
        db.get_item(get(simple, key("old"))).await.must("get")?,
        None,
        "delete applied"
    );
    ensure_eq!(
        db.get_item(get(sorted_t, key2("x", s("y"))))
            .await
            .must("get")?,
        Some(item! { "pk" => s("x"), "sk" => s("y") }),
        "the other table's put applied"
    );

    let puts = |items: &[Item]| BatchWrite {
        tables: BTreeMap::from([(
            simple.to_owned(),
            items.iter().cloned().map(BatchWriteRequest::Put).collect(),
        )]),
    };
    let items = simple_items("w", 26);
    batch_write_all(db, puts(&items[..25]), RetryPolicy::default())
        .await
        .must("a batch of 25")?;
    ensure_err!(
        db.batch_write(puts(&items)).await,
        Validation,
        "a batch of 26"
    );
    ensure_err!(
        db.batch_write(BatchWrite {
            tables: BTreeMap::from([(
                simple.to_owned(),
                vec![
                    BatchWriteRequest::Put(item! { "pk" => s("dup"), "v" => n(1) }),
                    BatchWriteRequest::Delete(key("dup")),
                ],
            )]),
        })
        .await,
        Validation,
        "a put and a delete of one item"
    );
    ensure_err!(
        db.batch_write(puts(&[
            item! { "pk" => s("dup2") },
            item! { "pk" => s("dup2"), "v" => n(2) }
        ]))
        .await,
        Validation,
        "two puts of one item"
    );
    ensure_err!(
        db.batch_write(puts(&[item! { "pk" => s("ok") }, item! { "v" => n(1) }]))
            .await,
        Validation,
        "an item without its key"
    );
    ensure_eq!(
        db.get_item(get(simple, key("ok"))).await.must("get")?,
        None,
        "a refused batch writes nothing"
    );
    ensure_eq!(
        db.get_item(get(simple, key("w025"))).await.must("get")?,
        None,
        "the refused batch of 26 wrote nothing"
    );
    Ok(())
}

/// Unprocessed work: through a wrapper that leaves half of each of the first two
/// batch calls unprocessed, one call returns exactly the unwritten part, and the retry
/// helpers end with every item written and read.
pub async fn batch_unprocessed_retry(_db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let simple = ctx.table(Kind::Simple)?;
    let sorted_t = ctx.table(Kind::StrSorted)?;
    let flaky = Arc::new(FaultInjecting::new(ctx.backend(), 2));
    let db: &dyn Backend = flaky.as_ref();

    // One call: what it reports unprocessed is exactly what it did not write.
    let items = simple_items("once", 10);
    let output = db
        .batch_write(BatchWrite {
            tables: BTreeMap::from([(
                simple.to_owned(),
                items.iter().cloned().map(BatchWriteRequest::Put).collect(),
            )]),
        })
        .await
        .must("a partial batch write")?;
    let unprocessed: Vec<Item> = output
        .unprocessed
        .get(simple)
        .into_iter()
        .flatten()
        .filter_map(|w| match w {
            BatchWriteRequest::Put(item) => Some(item.clone()),
            BatchWriteRequest::Delete(_) => None,
        })
        .collect();
    ensure!(
        !unprocessed.is_empty(),
        "the wrapper left writes unprocessed"
    );
    for item in &items {
        let stored = ctx
            .backend()
            .get_item(get(simple, item! { "pk" => item["pk"].clone() }))
            .await
            .must("get")?;
        let expected = if unprocessed.contains(item) {
            None
        } else {
            Some(item.clone())
        };
        ensure_eq!(stored, expected, "written unless reported unprocessed");
    }

    // The helpers: 25 writes over two tables, then 60 reads.
    let simple_batch = simple_items("r", 15);
    let sorted_batch: Vec<Item> = (0..10)
        .map(|i| item! { "pk" => s("r"), "sk" => s(&format!("{i:02}")), "i" => n(i) })
        .collect();
    let calls = batch_write_all(
        db,
        BatchWrite {
            tables: BTreeMap::from([
                (
                    simple.to_owned(),
                    simple_batch
                        .iter()
                        .cloned()
                        .map(BatchWriteRequest::Put)
                        .collect(),
                ),
                (
                    sorted_t.to_owned(),
                    sorted_batch
                        .iter()
                        .cloned()
                        .map(BatchWriteRequest::Put)
                        .collect(),
                ),
            ]),
        },
        RetryPolicy::default(),
    )
    .await
    .must("batch_write_all")?;
    ensure_eq!(calls, 2, "one more faulty call, then the rest");
    ensure_eq!(flaky.batch_write_calls(), 3, "calls seen by the wrapper");
    let stored = scan_pages(ctx.backend().as_ref(), scan(sorted_t)).await?;
    ensure_eq!(
        sorted(items_of(&stored)),
        sorted(sorted_batch.clone()),
        "every write applied"
    );

    let more = simple_items("m", 35);
    put_all(ctx.backend().as_ref(), simple, &more).await?;
    let mut wanted: Vec<Item> = simple_batch.clone();
    wanted.extend(more.iter().cloned());
    let key_list: Vec<Item> = wanted
        .iter()
        .map(|i| item! { "pk" => i["pk"].clone() })
        .chain((0..10).map(|i| key(&format!("absent{i}"))))
        .collect();
    ensure_eq!(key_list.len(), 60, "60 keys");
    let (found, calls) = batch_get_all(
        db,
        BatchGet {
            tables: BTreeMap::from([(simple.to_owned(), keys_of(key_list))]),
        },
        RetryPolicy::default(),
    )
    .await
    .must("batch_get_all")?;
    ensure!(calls >= 3, "two faulty calls, then the rest: {calls} calls");
    ensure_eq!(
        sorted(found.get(simple).cloned().unwrap_or_default()),
        sorted(wanted),
        "every existing item read once"
    );
    Ok(())
}
