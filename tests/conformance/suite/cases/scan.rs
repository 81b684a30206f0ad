//! Scan: filters, paging with Limit, COUNT, parallel segments, index scans.

use std::collections::BTreeSet;

use portico_conformance::{CaseResult, Ctx, Kind, Must, ensure, ensure_eq, ensure_err};
use portico_data::ops::{Scan, Segment};
use portico_data::{Backend, Item, Value};

use crate::support::*;

fn fixture(count: i64) -> Vec<Item> {
    (0..count)
        .map(|i| {
            item! {
                "pk" => s(&format!("item{i:03}")),
                "i" => n(i),
                "odd" => Value::Bool(i % 2 == 1),
            }
        })
        .collect()
}

fn pks(items: &[Item]) -> Vec<String> {
    let mut keys: Vec<String> = items
        .iter()
        .filter_map(|i| match i.get("pk") {
            Some(Value::S(pk)) => Some(pk.clone()),
            _ => None,
        })
        .collect();
    keys.sort();
    keys
}

/// A scan with a filter and Limit: Limit counts items read before the filter, pages
/// follow each other to the whole table, each item once.
pub async fn scan_filter_paging(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let items = fixture(30);
    put_all(db, t, &items).await?;
    let all = scan_pages(db, scan(t)).await?;
    ensure_eq!(
        pks(&items_of(&all)),
        pks(&items),
        "a scan returns every item"
    );

    let request = Scan {
        filter: Some("odd = :t AND i >= :five".into()),
        limit: Some(7),
        placeholders: ph(&[], &[(":t", Value::Bool(true)), (":five", n(5))]),
        ..scan(t)
    };
    let pages = scan_pages(db, request).await?;
    let want: Vec<Item> = items
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1 && *i >= 5)
        .map(|(_, item)| item.clone())
        .collect();
    ensure_eq!(
        pks(&items_of(&pages)),
        pks(&want),
        "filtered pages together"
    );
    let mut seen = BTreeSet::new();
    for item in items_of(&pages) {
        ensure!(
            seen.insert(format!("{:?}", item["pk"])),
            "{:?} twice",
            item["pk"]
        );
    }
    for page in &pages {
        ensure!(
            page.scanned_count <= 7,
            "ScannedCount {} over Limit 7",
            page.scanned_count
        );
        ensure!(page.count <= page.scanned_count, "Count over ScannedCount");
        ensure_eq!(page.count as usize, page.items.len(), "Count = items");
    }
    let scanned: u32 = pages.iter().map(|p| p.scanned_count).sum();
    ensure_eq!(scanned, 30, "every item read once");
    ensure!(
        pages.len() >= 5,
        "30 items by 7 take at least 5 pages, got {}",
        pages.len()
    );

    let page = db
        .scan(Scan {
            count_only: true,
            filter: Some("odd = :t".into()),
            placeholders: ph(&[], &[(":t", Value::Bool(true))]),
            ..scan(t)
        })
        .await
        .must("COUNT scan")?;
    ensure_eq!(
        (page.items.len(), page.count, page.scanned_count),
        (0, 15, 30),
        "a COUNT scan with a filter"
    );
    let page = db
        .scan(Scan {
            projection: Some("i".into()),
            filter: Some("pk = :k".into()),
            placeholders: ph(&[], &[(":k", s("item004"))]),
            ..scan(t)
        })
        .await
        .must("projected scan filtered on the key")?;
    ensure_eq!(
        page.items,
        vec![item! { "i" => n(4) }],
        "projection, and a filter on the key"
    );
    Ok(())
}

/// Parallel scan: the segments together are the whole table, without duplicates, with
/// paging inside each segment; a segment out of range is refused.
pub async fn scan_parallel_segments(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::Simple)?;
    let items = fixture(50);
    put_all(db, t, &items).await?;
    for total in [1, 3, 4, 7] {
        let mut union = Vec::new();
        for segment in 0..total {
            let pages = scan_pages(
                db,
                Scan {
                    segment: Some(Segment { segment, total }),
                    limit: Some(6),
                    ..scan(t)
                },
            )
            .await?;
            union.extend(items_of(&pages));
        }
        let keys = pks(&union);
        let distinct: BTreeSet<&String> = keys.iter().collect();
        ensure_eq!(
            distinct.len(),
            keys.len(),
            "no item in two segments (total {total})"
        );
        ensure_eq!(
            keys,
            pks(&items),
            "the segments cover the table (total {total})"
        );
    }
    for (segment, total) in [(4, 4), (0, 0), (5, 2)] {
        ensure_err!(
            db.scan(Scan {
                segment: Some(Segment { segment, total }),
                ..scan(t)
            })
            .await,
            Validation,
            "segment {segment} of {total}"
        );
    }
    Ok(())
}

/// Scanning an index returns only the items in it (a sparse global index, a local
/// index) with the index's projection.
pub async fn scan_index(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let items = vec![
        item! { "pk" => s("a"), "sk" => n(1), "grp" => s("g"), "gsk" => n(1), "tag" => s("x"), "v" => n(1) },
        item! { "pk" => s("a"), "sk" => n(2), "grp" => s("h"), "gsk" => n(2), "label" => s("l") },
        item! { "pk" => s("b"), "sk" => n(1), "v" => n(3) },
        item! { "pk" => s("c"), "sk" => n(1), "tag" => s("y") },
    ];
    put_all(db, t, &items).await?;
    let scan_of = |index: &str| Scan {
        index: Some(index.to_owned()),
        consistent: false,
        ..scan(t)
    };
    let got = items_of(&scan_pages(db, scan_of("by_group")).await?);
    ensure_eq!(
        sorted(got),
        sorted(vec![items[0].clone(), items[1].clone()]),
        "global index scan: items with the index key"
    );
    let got = items_of(&scan_pages(db, scan_of("by_tag")).await?);
    ensure_eq!(
        sorted(got),
        sorted(vec![
            item! { "pk" => s("a"), "sk" => n(1), "tag" => s("x") },
            item! { "pk" => s("c"), "sk" => n(1), "tag" => s("y") },
        ]),
        "keys-only index scan"
    );
    let got = items_of(&scan_pages(db, scan_of("by_label")).await?);
    ensure_eq!(got, vec![items[1].clone()], "local index scan");
    ensure_err!(
        db.scan(scan_of("nope")).await,
        Validation,
        "scan of an index the table does not have"
    );
    Ok(())
}
