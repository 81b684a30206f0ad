//! Query: sort-key order and conditions, paging, Limit before the filter, COUNT,
//! projections, global (sparse, keys-only) and local indexes.

use portico_conformance::{CaseResult, Ctx, Failure, Kind, Must, ensure, ensure_eq, ensure_err};
use portico_data::ops::{Placeholders, Query};
use portico_data::{Backend, Item, Value};

use crate::support::*;

fn pk_is(p: &str) -> Placeholders {
    ph(&[], &[(":p", s(p))])
}

/// String sort keys order by UTF-8 bytes, in both directions.
pub async fn query_order_strings(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::StrSorted)?;
    let ascending = [
        " ", "0", "1", "10", "2", "A", "B", "Z", "a", "a b", "aa", "ab", "b", "z", "~", "é", "ё",
        "中", "😀",
    ];
    let mut items: Vec<Item> = ascending.iter().map(|sk| key2("strs", s(sk))).collect();
    items.reverse();
    items.swap(2, 9);
    put_all(db, t, &items).await?;
    let expected: Vec<Value> = ascending.iter().map(|sk| s(sk)).collect();
    let pages = query_pages(db, query(t, "pk = :p", pk_is("strs"))).await?;
    ensure_eq!(column(&items_of(&pages), "sk"), expected, "ascending");
    let pages = query_pages(
        db,
        Query {
            forward: false,
            ..query(t, "pk = :p", pk_is("strs"))
        },
    )
    .await?;
    let mut descending = expected;
    descending.reverse();
    ensure_eq!(column(&items_of(&pages), "sk"), descending, "descending");
    Ok(())
}

/// Sort-key conditions: = < <= > >= BETWEEN on numbers, begins_with on strings,
/// through name placeholders too, in both directions; only the partition's items.
pub async fn query_key_conditions(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let mut items: Vec<Item> = [-5, -1, 0, 1, 2, 3, 10, 20]
        .iter()
        .map(|&sk| key2("kc", n(sk)))
        .collect();
    items.push(key2("other-partition", n(1)));
    put_all(db, t, &items).await?;
    let cases: Vec<(&str, Bindings, Vec<i64>)> = vec![
        ("pk = :p", vec![], vec![-5, -1, 0, 1, 2, 3, 10, 20]),
        ("pk = :p AND sk = :v", vec![(":v", n(2))], vec![2]),
        ("pk = :p AND sk = :v", vec![(":v", n(4))], vec![]),
        ("pk = :p AND sk < :v", vec![(":v", n(1))], vec![-5, -1, 0]),
        (
            "pk = :p AND sk <= :v",
            vec![(":v", n(1))],
            vec![-5, -1, 0, 1],
        ),
        ("pk = :p AND sk > :v", vec![(":v", n(2))], vec![3, 10, 20]),
        (
            "pk = :p AND sk >= :v",
            vec![(":v", n(2))],
            vec![2, 3, 10, 20],
        ),
        (
            "pk = :p AND sk >= :v",
            vec![(":v", num("-0.5"))],
            vec![0, 1, 2, 3, 10, 20],
        ),
        (
            "pk = :p AND sk BETWEEN :lo AND :hi",
            vec![(":lo", n(-1)), (":hi", n(3))],
            vec![-1, 0, 1, 2, 3],
        ),
        ("#k = :p AND #s > :v", vec![(":v", n(3))], vec![10, 20]),
        ("sk < :v AND pk = :p", vec![(":v", n(0))], vec![-5, -1]),
        ("(pk = :p) AND (sk = :v)", vec![(":v", n(0))], vec![0]),
    ];
    for (condition, extra, expected) in cases {
        let mut placeholders = pk_is("kc");
        placeholders
            .values
            .extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
        if condition.contains('#') {
            placeholders.names = names(&[("#k", "pk"), ("#s", "sk")]);
        }
        for forward in [true, false] {
            let pages = query_pages(
                db,
                Query {
                    forward,
                    ..query(t, condition, placeholders.clone())
                },
            )
            .await?;
            let mut want: Vec<Value> = expected.iter().map(|&v| n(v)).collect();
            if !forward {
                want.reverse();
            }
            ensure_eq!(
                column(&items_of(&pages), "sk"),
                want,
                "{condition} ({})",
                if forward { "forward" } else { "backward" }
            );
        }
    }

    let s_table = ctx.table(Kind::StrSorted)?;
    put_all(
        db,
        s_table,
        &["ab", "abc", "abd", "b", "a", "ac"]
            .iter()
            .map(|sk| key2("bw", s(sk)))
            .collect::<Vec<_>>(),
    )
    .await?;
    let pages = query_pages(
        db,
        query(
            s_table,
            "pk = :p AND begins_with(sk, :prefix)",
            ph(&[], &[(":p", s("bw")), (":prefix", s("ab"))]),
        ),
    )
    .await?;
    ensure_eq!(
        column(&items_of(&pages), "sk"),
        vec![s("ab"), s("abc"), s("abd")],
        "begins_with"
    );
    Ok(())
}

/// Key conditions DynamoDB refuses.
pub async fn query_key_conditions_refused(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let refused: Vec<(&str, Bindings, &str)> = vec![
        ("sk = :v", vec![(":v", n(1))], "no partition key condition"),
        (
            "pk < :p",
            vec![(":p", s("a"))],
            "a range condition on the partition key",
        ),
        (
            "pk = :p OR sk = :v",
            vec![(":p", s("a")), (":v", n(1))],
            "OR",
        ),
        (
            "pk = :p AND oth = :v",
            vec![(":p", s("a")), (":v", n(1))],
            "a non-key attribute",
        ),
        (
            "pk = :p AND begins_with(sk, :v)",
            vec![(":p", s("a")), (":v", n(1))],
            "begins_with on a number sort key",
        ),
        (
            "pk = :p AND sk > :v AND sk < :w",
            vec![(":p", s("a")), (":v", n(1)), (":w", n(5))],
            "two sort key conditions",
        ),
        (
            "pk = :p AND sk <> :v",
            vec![(":p", s("a")), (":v", n(1))],
            "<> on the sort key",
        ),
        (
            "pk = :p",
            vec![(":p", n(1))],
            "a mistyped partition key value",
        ),
        (
            "pk = :p AND sk = :v",
            vec![(":p", s("a")), (":v", s("1"))],
            "a mistyped sort key value",
        ),
    ];
    for (condition, values, what) in refused {
        ensure_err!(
            db.query(query(t, condition, ph(&[], &values))).await,
            Validation,
            "{what}: {condition}"
        );
    }
    ensure_err!(
        db.query(Query {
            filter: Some("sk > :v".into()),
            ..query(t, "pk = :p", ph(&[], &[(":p", s("a")), (":v", n(1))]))
        })
        .await,
        Validation,
        "a filter on a key attribute"
    );
    ensure_err!(
        db.query(Query {
            index: Some("no_such_index".into()),
            ..query(t, "pk = :p", pk_is("a"))
        })
        .await,
        Validation,
        "an index the table does not have"
    );
    Ok(())
}

/// Paging with Limit: every page holds at most Limit items, LastEvaluatedKey is the
/// key of the page's last item, and following it visits every item once, forwards and
/// backwards; an ExclusiveStartKey can be built by hand.
pub async fn query_paging(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let items: Vec<Item> = (1..=10)
        .map(|sk| with(key2("pg", n(sk)), "v", s(&"x".repeat(sk as usize))))
        .collect();
    put_all(db, t, &items).await?;
    for forward in [true, false] {
        let request = Query {
            limit: Some(3),
            forward,
            ..query(t, "pk = :p", pk_is("pg"))
        };
        let pages = query_pages(db, request.clone()).await?;
        let mut want = items.clone();
        if !forward {
            want.reverse();
        }
        ensure_eq!(
            items_of(&pages),
            want,
            "all items once, in order (forward {forward})"
        );
        ensure!(
            pages.len() == 4 || pages.len() == 5,
            "10 items by 3: 4 pages (5 with an empty last one), got {}",
            pages.len()
        );
        for page in &pages {
            ensure!(
                page.items.len() <= 3,
                "a page over the limit: {}",
                page.items.len()
            );
            ensure_eq!(page.count as usize, page.items.len(), "Count = items");
            ensure_eq!(
                page.scanned_count,
                page.count,
                "ScannedCount without a filter"
            );
            if let (Some(lek), Some(last)) = (&page.last_evaluated_key, page.items.last()) {
                ensure_eq!(
                    Some(lek.clone()),
                    Some(key2("pg", last["sk"].clone())),
                    "LastEvaluatedKey is the last item's key"
                );
            }
        }
        ensure!(
            pages[0].last_evaluated_key.is_some(),
            "a full first page has a LastEvaluatedKey"
        );
    }
    // A start key made by hand, for an item that does not exist.
    let page = db
        .query(Query {
            exclusive_start_key: Some(key2("pg", num("4.5"))),
            limit: Some(2),
            ..query(t, "pk = :p", pk_is("pg"))
        })
        .await
        .must("query from a made-up key")?;
    ensure_eq!(
        column(&page.items, "sk"),
        vec![n(5), n(6)],
        "starts after 4.5"
    );
    let page = db
        .query(Query {
            limit: Some(10),
            ..query(t, "pk = :p", pk_is("pg"))
        })
        .await
        .must("limit = size")?;
    ensure_eq!(
        page.items.len(),
        10,
        "a limit of exactly the partition's size"
    );
    ensure_err!(
        db.query(Query {
            limit: Some(0),
            ..query(t, "pk = :p", pk_is("pg"))
        })
        .await,
        Validation,
        "Limit 0"
    );
    ensure_err!(
        db.query(Query {
            exclusive_start_key: Some(key("pg")),
            ..query(t, "pk = :p", pk_is("pg"))
        })
        .await,
        Validation,
        "an ExclusiveStartKey without the sort key"
    );
    Ok(())
}

/// Limit counts the items read before the filter: Count ≤ ScannedCount ≤ Limit, pages
/// may be empty yet carry a LastEvaluatedKey, and all pages together hold exactly the
/// matching items.
pub async fn query_limit_before_filter(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let items: Vec<Item> = (1..=10)
        .map(|sk| with(key2("lf", n(sk)), "even", Value::Bool(sk % 2 == 0)))
        .collect();
    put_all(db, t, &items).await?;
    let request = Query {
        filter: Some("even = :t".into()),
        limit: Some(4),
        ..query(
            t,
            "pk = :p",
            ph(&[], &[(":p", s("lf")), (":t", Value::Bool(true))]),
        )
    };
    let first = db.query(request.clone()).await.must("first page")?;
    ensure_eq!(
        (first.count, first.scanned_count),
        (2, 4),
        "(Count, ScannedCount) of the first page: 4 read, 2 kept"
    );
    ensure_eq!(
        column(&first.items, "sk"),
        vec![n(2), n(4)],
        "first page items"
    );
    ensure_eq!(
        first.last_evaluated_key,
        Some(key2("lf", n(4))),
        "stops at the 4th item read"
    );
    let pages = query_pages(db, request).await?;
    ensure_eq!(
        column(&items_of(&pages), "sk"),
        vec![n(2), n(4), n(6), n(8), n(10)],
        "every matching item once"
    );
    let scanned: u32 = pages.iter().map(|p| p.scanned_count).sum();
    ensure_eq!(scanned, 10, "every item read once");

    // A page whose items all fail the filter is empty but not the end.
    let none = Query {
        filter: Some("even = :f".into()),
        limit: Some(1),
        ..query(
            t,
            "pk = :p AND sk <= :two",
            ph(
                &[],
                &[(":p", s("lf")), (":f", Value::Bool(false)), (":two", n(2))],
            ),
        )
    };
    let page = db.query(none).await.must("query")?;
    ensure_eq!(
        (page.count, page.scanned_count),
        (1, 1),
        "the odd item matches"
    );
    let page = db
        .query(Query {
            exclusive_start_key: page.last_evaluated_key,
            filter: Some("even = :f".into()),
            limit: Some(1),
            ..query(
                t,
                "pk = :p AND sk <= :two",
                ph(
                    &[],
                    &[(":p", s("lf")), (":f", Value::Bool(false)), (":two", n(2))],
                ),
            )
        })
        .await
        .must("second page")?;
    ensure_eq!(
        (page.items.len(), page.count, page.scanned_count),
        (0, 0, 1),
        "an empty page after reading one item"
    );
    ensure!(
        page.last_evaluated_key.is_some(),
        "an empty page that hit the limit still pages on"
    );
    Ok(())
}

/// Select COUNT: counts without items; with a filter, Count < ScannedCount.
pub async fn query_count(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let items: Vec<Item> = (1..=7)
        .map(|sk| with(key2("cnt", n(sk)), "big", Value::Bool(sk > 4)))
        .collect();
    put_all(db, t, &items).await?;
    let page = db
        .query(Query {
            count_only: true,
            ..query(t, "pk = :p", pk_is("cnt"))
        })
        .await
        .must("COUNT")?;
    ensure_eq!(
        (
            page.items.len(),
            page.count,
            page.scanned_count,
            page.last_evaluated_key
        ),
        (0, 7, 7, None),
        "COUNT of the partition"
    );
    let page = db
        .query(Query {
            count_only: true,
            filter: Some("big = :t".into()),
            ..query(
                t,
                "pk = :p",
                ph(&[], &[(":p", s("cnt")), (":t", Value::Bool(true))]),
            )
        })
        .await
        .must("COUNT with a filter")?;
    ensure_eq!(
        (page.items.len(), page.count, page.scanned_count),
        (0, 3, 7),
        "filtered COUNT"
    );
    let pages = query_pages(
        db,
        Query {
            count_only: true,
            limit: Some(3),
            ..query(t, "pk = :p", pk_is("cnt"))
        },
    )
    .await?;
    let total: u32 = pages.iter().map(|p| p.count).sum();
    ensure_eq!(total, 7, "COUNT pages with Limit add up");
    ensure!(
        pages.iter().all(|p| p.items.is_empty()),
        "COUNT pages carry no items"
    );
    Ok(())
}

/// A query's projection and filter, with name placeholders and nested paths.
pub async fn query_projection_filter(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let items: Vec<Item> = (1..=4)
        .map(|sk| {
            item! {
                "pk" => s("pf"),
                "sk" => n(sk),
                "status" => s(if sk % 2 == 0 { "open" } else { "closed" }),
                "doc" => m(&[("n", n(sk * 10)), ("skip", s("x"))]),
            }
        })
        .collect();
    put_all(db, t, &items).await?;
    let pages = query_pages(
        db,
        Query {
            filter: Some("#st = :open AND doc.n > :ten".into()),
            projection: Some("sk, doc.n".into()),
            ..query(
                t,
                "pk = :p",
                ph(
                    &[("#st", "status")],
                    &[(":p", s("pf")), (":open", s("open")), (":ten", n(10))],
                ),
            )
        },
    )
    .await?;
    ensure_eq!(
        items_of(&pages),
        vec![
            item! { "sk" => n(2), "doc" => m(&[("n", n(20))]) },
            item! { "sk" => n(4), "doc" => m(&[("n", n(40))]) },
        ],
        "filtered and projected"
    );
    Ok(())
}

/// Global index queries: order by the index sort key, a sparse index (items without
/// the index key are absent), paging with index start keys, a keys-only index, and
/// no strongly consistent reads.
pub async fn gsi_query(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let mut items: Vec<Item> = Vec::new();
    for i in 1..=6 {
        items.push(item! {
            "pk" => s(&format!("user{i}")),
            "sk" => n(i),
            "grp" => s("g1"),
            "gsk" => n(100 - i * 10),
            "tag" => s("t"),
            "payload" => s(&format!("p{i}")),
        });
    }
    // Sparse: in the table, not in the index (no grp, or no gsk).
    items.push(item! { "pk" => s("loner"), "sk" => n(1), "payload" => s("none") });
    items.push(item! { "pk" => s("half"), "sk" => n(1), "grp" => s("g1") });
    // Same index key as user3: both are kept.
    items.push(item! { "pk" => s("twin"), "sk" => n(9), "grp" => s("g1"), "gsk" => n(70) });
    put_all(db, t, &items).await?;

    let index_query = |limit: Option<u32>| Query {
        index: Some("by_group".into()),
        limit,
        ..query(t, "grp = :g", ph(&[], &[(":g", s("g1"))]))
    };
    let pages = query_pages(db, index_query(None)).await?;
    let got = items_of(&pages);
    let order: Vec<Value> = column(&got, "gsk");
    ensure_eq!(
        order,
        vec![n(40), n(50), n(60), n(70), n(70), n(80), n(90)],
        "ordered by the index sort key"
    );
    ensure!(
        got.iter()
            .all(|i| i.contains_key("grp") && i.contains_key("gsk")),
        "only items with the whole index key"
    );
    ensure!(
        got.iter()
            .find(|i| i["pk"] == s("user1"))
            .is_some_and(|i| i.get("payload") == Some(&s("p1"))),
        "an ALL-projection index returns every attribute"
    );

    let paged = query_pages(db, index_query(Some(2))).await?;
    ensure_eq!(
        sorted(items_of(&paged)),
        sorted(got.clone()),
        "paging through the index"
    );
    let Some(lek) = &paged[0].last_evaluated_key else {
        return Err(Failure::here("a full index page has a LastEvaluatedKey"));
    };
    let names: Vec<&str> = lek.keys().map(String::as_str).collect();
    ensure_eq!(
        names,
        vec!["grp", "gsk", "pk", "sk"],
        "an index LastEvaluatedKey holds the index and the table key"
    );

    let page = db
        .query(Query {
            index: Some("by_group".into()),
            ..query(
                t,
                "grp = :g AND gsk BETWEEN :lo AND :hi",
                ph(&[], &[(":g", s("g1")), (":lo", n(55)), (":hi", n(80))]),
            )
        })
        .await
        .must("index range")?;
    ensure_eq!(
        column(&page.items, "gsk"),
        vec![n(60), n(70), n(70), n(80)],
        "an index sort key condition"
    );

    let keys_only = query_pages(
        db,
        Query {
            index: Some("by_tag".into()),
            ..query(t, "tag = :t", ph(&[], &[(":t", s("t"))]))
        },
    )
    .await?;
    let got = sorted(items_of(&keys_only));
    let want = sorted(
        (1..=6)
            .map(|i| item! { "pk" => s(&format!("user{i}")), "sk" => n(i), "tag" => s("t") })
            .collect(),
    );
    ensure_eq!(
        got,
        want,
        "a KEYS_ONLY index returns the table and index keys only"
    );

    ensure_err!(
        db.query(Query {
            consistent: true,
            ..index_query(None)
        })
        .await,
        Validation,
        "a strongly consistent read of a global index"
    );
    Ok(())
}

/// A local index: same partition, another sort key; sparse; consistent reads allowed.
pub async fn lsi_query(db: &dyn Backend, ctx: &Ctx) -> CaseResult {
    let t = ctx.table(Kind::NumSorted)?;
    let items = vec![
        item! { "pk" => s("lsi"), "sk" => n(1), "label" => s("c") },
        item! { "pk" => s("lsi"), "sk" => n(2), "label" => s("a") },
        item! { "pk" => s("lsi"), "sk" => n(3) },
        item! { "pk" => s("lsi"), "sk" => n(4), "label" => s("b"), "x" => n(4) },
        item! { "pk" => s("other"), "sk" => n(1), "label" => s("a") },
    ];
    put_all(db, t, &items).await?;
    let request = Query {
        index: Some("by_label".into()),
        consistent: true,
        ..query(t, "pk = :p", pk_is("lsi"))
    };
    let pages = query_pages(db, request.clone()).await?;
    ensure_eq!(
        items_of(&pages),
        vec![items[1].clone(), items[3].clone(), items[0].clone()],
        "by label, without the item lacking one"
    );
    let pages = query_pages(
        db,
        Query {
            forward: false,
            key_condition: "pk = :p AND label >= :b".into(),
            placeholders: ph(&[], &[(":p", s("lsi")), (":b", s("b"))]),
            ..request.clone()
        },
    )
    .await?;
    ensure_eq!(
        column(&items_of(&pages), "label"),
        vec![s("c"), s("b")],
        "descending range"
    );
    let paged = query_pages(
        db,
        Query {
            limit: Some(1),
            ..request
        },
    )
    .await?;
    ensure_eq!(
        column(&items_of(&paged), "sk"),
        vec![n(2), n(4), n(1)],
        "paging a local index"
    );
    // Moving an item in the index: changing its label.
    db.update_item(update(
        t,
        key2("lsi", n(1)),
        "REMOVE label",
        Placeholders::default(),
    ))
    .await
    .must("remove label")?;
    let pages = query_pages(
        db,
        Query {
            index: Some("by_label".into()),
            ..query(t, "pk = :p", pk_is("lsi"))
        },
    )
    .await?;
    ensure_eq!(
        column(&items_of(&pages), "sk"),
        vec![n(2), n(4)],
        "an item leaves the index when its index key goes"
    );
    Ok(())
}
