//! Requests are built on the host without calling it: these tests check what would be
//! sent.

use crate::bindings::portico::edge::data as wit;
use crate::data::document;
use crate::data::{
    BatchGet, BatchGetOutput, BatchWrite, CancellationReason, Error, Item, ReturnValues, Table,
    Update, Value, attr, key, transact_get, transact_write,
};

fn names(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn values(ph: &wit::Placeholders) -> Vec<(String, Value)> {
    ph.values
        .iter()
        .map(|(k, d)| {
            let v = document::to_value(d.clone()).unwrap_or_else(|e| panic!("{e}"));
            (k.clone(), v)
        })
        .collect()
}

fn ok<T>(r: Result<T, Error>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn query_expressions_share_one_placeholder_set() {
    let t = Table::fake("orders");
    let input = ok(t
        .query()
        .pk("pk", "user#1")
        .sk_begins_with("sk", "order#")
        .index("by_status")
        .filter(attr("status").eq("open"))
        .project(["id", "status"])
        .limit(20)
        .forward(false)
        .start_after(key("pk", "user#1").with("sk", "order#5"))
        .build());
    assert_eq!(input.key_condition, "#n0 = :v0 AND begins_with(#n1, :v1)");
    assert_eq!(input.filter.as_deref(), Some("#n2 = :v2"));
    assert_eq!(input.projection.as_deref(), Some("#n3, #n2"));
    assert_eq!(
        input.placeholders.names,
        names(&[
            ("#n0", "pk"),
            ("#n1", "sk"),
            ("#n2", "status"),
            ("#n3", "id")
        ])
    );
    assert_eq!(
        values(&input.placeholders),
        [
            (":v0".to_string(), Value::from("user#1")),
            (":v1".to_string(), Value::from("order#")),
            (":v2".to_string(), Value::from("open")),
        ]
    );
    assert_eq!(input.index.as_deref(), Some("by_status"));
    assert_eq!(input.limit, Some(20));
    assert!(!input.forward);
    let start = input.exclusive_start_key.map(document::to_item);
    assert_eq!(start, Some(Ok(key("pk", "user#1").with("sk", "order#5"))));
}

#[test]
fn query_sort_key_conditions() {
    let t = Table::fake("t");
    let kc = |q: crate::data::Query<'_>| ok(q.build()).key_condition;
    assert_eq!(kc(t.query().pk("p", 1)), "#n0 = :v0");
    assert_eq!(
        kc(t.query().pk("p", 1).sk_eq("s", 2)),
        "#n0 = :v0 AND #n1 = :v1"
    );
    assert_eq!(
        kc(t.query().pk("p", 1).sk_lt("s", 2)),
        "#n0 = :v0 AND #n1 < :v1"
    );
    assert_eq!(
        kc(t.query().pk("p", 1).sk_le("s", 2)),
        "#n0 = :v0 AND #n1 <= :v1"
    );
    assert_eq!(
        kc(t.query().pk("p", 1).sk_gt("s", 2)),
        "#n0 = :v0 AND #n1 > :v1"
    );
    assert_eq!(
        kc(t.query().pk("p", 1).sk_ge("s", 2)),
        "#n0 = :v0 AND #n1 >= :v1"
    );
    assert_eq!(
        kc(t.query().pk("p", 1).sk_between("s", 2, 3)),
        "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2"
    );
    // The last sort-key condition wins.
    assert_eq!(
        kc(t.query().pk("p", 1).sk_lt("s", 2).sk_gt("s", 3)),
        "#n0 = :v0 AND #n1 > :v1"
    );
}

#[test]
fn query_with_hand_written_key_condition() {
    let t = Table::fake("t");
    let input = ok(t
        .query()
        .key_condition_expr("#p = :p")
        .name("#p", "pk")
        .value(":p", "u1")
        .filter(attr("x").exists())
        .build());
    assert_eq!(input.key_condition, "#p = :p");
    assert_eq!(input.filter.as_deref(), Some("attribute_exists(#n0)"));
    assert_eq!(
        input.placeholders.names,
        names(&[("#p", "pk"), ("#n0", "x")])
    );
}

#[test]
fn query_mistakes_fail_before_sending() {
    let t = Table::fake("t");
    assert!(matches!(t.query().build(), Err(Error::Validation(_))));
    assert!(matches!(
        t.query().pk("p", 1).key_condition_expr("#p = :p").build(),
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        t.query().pk("p", f64::NAN).build(),
        Err(Error::Serialization(_))
    ));
    assert!(matches!(
        t.query().pk("p", 1).start_after("not a key").build(),
        Err(Error::Serialization(_))
    ));
    assert!(matches!(
        t.query().pk("p", 1).project(Vec::<&str>::new()).build(),
        Err(Error::Validation(_))
    ));
    // `start_after(None)` starts at the beginning.
    let input = ok(t.query().pk("p", 1).start_after(None::<Item>).build());
    assert!(input.exclusive_start_key.is_none());
}

#[test]
fn scan_options() {
    let t = Table::fake("t");
    let input = ok(t
        .scan()
        .filter(attr("done").eq(false))
        .filter(attr("n").gt(1))
        .segment(1, 4)
        .consistent()
        .count_only()
        .build());
    assert_eq!(input.filter.as_deref(), Some("#n0 = :v0 AND #n1 > :v1"));
    assert_eq!(input.segment.map(|s| (s.segment, s.total)), Some((1, 4)));
    assert!(input.consistent && input.count_only);
    assert!(input.projection.is_none() && input.index.is_none());
}

#[test]
fn update_renders_update_then_condition() {
    let t = Table::fake("todos");
    let item = ok(t
        .update(key("id", "1"))
        .set("title", "milk")
        .add("version", 1)
        .condition(attr("version").eq(3))
        .condition(attr("status").ne("archived"))
        .return_values(ReturnValues::AllNew)
        .return_old_on_condition_failure()
        .into_transact());
    let wit::TransactWriteItem::Update((table, key_doc, update, condition)) = item else {
        panic!("an update")
    };
    assert_eq!(table, "todos");
    assert_eq!(document::to_item(key_doc), Ok(key("id", "1")));
    assert_eq!(update.as_deref(), Some("SET #n0 = :v0 ADD #n1 :v1"));
    assert_eq!(
        condition.condition.as_deref(),
        Some("#n1 = :v2 AND #n2 <> :v3")
    );
    assert!(condition.return_old_on_condition_failure);
    assert_eq!(
        condition.placeholders.names,
        names(&[("#n0", "title"), ("#n1", "version"), ("#n2", "status")])
    );
}

#[test]
fn update_with_hand_written_expression() {
    let t = Table::fake("t");
    let item = ok(t
        .update(key("id", "1"))
        .update_expr("SET #c = #c + :one")
        .name("#c", "count")
        .value(":one", 1)
        .condition(attr("count").lt(10))
        .into_transact());
    let wit::TransactWriteItem::Update((_, _, update, condition)) = item else {
        panic!("an update")
    };
    assert_eq!(update.as_deref(), Some("SET #c = #c + :one"));
    assert_eq!(condition.condition.as_deref(), Some("#n0 < :v0"));
    assert_eq!(
        values(&condition.placeholders),
        [
            (":one".to_string(), Value::from(1)),
            (":v0".to_string(), Value::from(10))
        ]
    );
    let both = t
        .update(key("id", "1"))
        .update_expr("SET a = :a")
        .remove("b")
        .into_transact();
    assert!(matches!(both, Err(Error::Validation(_))));
    let merged = ok(t
        .update(key("id", "1"))
        .update(Update::new().remove("a"))
        .set("b", 2)
        .into_transact());
    let wit::TransactWriteItem::Update((_, _, update, _)) = merged else {
        panic!("an update")
    };
    assert_eq!(update.as_deref(), Some("SET #n0 = :v0 REMOVE #n1"));
}

#[test]
fn put_and_delete_conditions() {
    let t = Table::fake("t");
    #[derive(serde::Serialize)]
    struct Todo {
        id: &'static str,
        note: Option<String>,
    }
    let put = ok(t
        .put(&Todo {
            id: "1",
            note: None,
        })
        .condition_expr("attribute_not_exists(#k)")
        .name("#k", "id")
        .into_transact());
    let wit::TransactWriteItem::Put((_, item, condition)) = put else {
        panic!("a put")
    };
    assert_eq!(document::to_item(item), Ok(key("id", "1")));
    assert_eq!(
        condition.condition.as_deref(),
        Some("attribute_not_exists(#k)")
    );
    assert_eq!(condition.placeholders.names, names(&[("#k", "id")]));

    let delete = ok(t
        .delete(key("id", "1"))
        .condition(attr("done").eq(true))
        .into_transact());
    let wit::TransactWriteItem::Delete((_, _, condition)) = delete else {
        panic!("a delete")
    };
    assert_eq!(condition.condition.as_deref(), Some("#n0 = :v0"));
    assert!(!condition.return_old_on_condition_failure);

    assert!(matches!(
        t.put(5).into_transact(),
        Err(Error::Serialization(_))
    ));
    assert!(matches!(
        t.delete("id").into_transact(),
        Err(Error::Serialization(_))
    ));
}

#[test]
fn transactions_collect_entries_and_errors() {
    let t = Table::fake("t");
    let tx = transact_write()
        .put(t.put(key("id", "1")))
        .check(t.check(key("id", "2"), attr("id").exists()))
        .client_token("tok");
    assert_eq!(tx.len(), 2);
    let failing = transact_write().put(t.put(key("id", "1"))).put(t.put(1));
    assert!(
        matches!(failing.send(), Err(Error::Serialization(_))),
        "fails before the host"
    );
    let reads = transact_get().get(t.get(key("id", "1")).project(["a"]));
    assert_eq!(reads.len(), 1);
    let bad_read = transact_get().get(t.get(key("id", "1")).projection_expr("#a").name("a", "b"));
    assert!(matches!(bad_read.send(), Err(Error::Validation(_))));
}

#[test]
fn get_projection_names() {
    let t = Table::fake("t");
    let item = ok(t
        .get(key("id", "1"))
        .project([attr("title"), attr("meta").field("title")])
        .into_transact());
    assert_eq!(item.projection.as_deref(), Some("#n0, #n1.#n0"));
    assert_eq!(item.names, names(&[("#n0", "title"), ("#n1", "meta")]));
}

#[test]
fn batch_get_groups_keys_by_table() {
    let todos = Table::fake("todos");
    let users = Table::fake("users");
    let batch = BatchGet::new()
        .get(&todos, key("id", "1"))
        .get(&users, key("id", "u"))
        .keys(&todos, [key("id", "2")])
        .project(&users, ["name"])
        .consistent(&todos);
    assert_eq!(batch.len(), 3);
    let tables = ok(batch.build());
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].table, "todos");
    assert_eq!(tables[0].keys.len(), 2);
    assert!(tables[0].consistent && tables[0].projection.is_none());
    assert_eq!(tables[1].projection.as_deref(), Some("#n0"));
    assert_eq!(tables[1].names, names(&[("#n0", "name")]));
    assert!(matches!(
        BatchGet::new().get(&todos, 3).build(),
        Err(Error::Serialization(_))
    ));
}

#[test]
fn batch_get_output_keeps_unprocessed_keys_ready_to_resend() {
    let out = wit::BatchGetOutput {
        responses: vec![
            ("todos".into(), vec![document::from_item(&key("id", "1"))]),
            ("todos".into(), vec![document::from_item(&key("id", "2"))]),
        ],
        unprocessed: vec![wit::BatchGetTable {
            table: "todos".into(),
            keys: vec![document::from_item(&key("id", "3"))],
            projection: Some("#a".into()),
            names: names(&[("#a", "title")]),
            consistent: true,
        }],
    };
    let mut out = ok(BatchGetOutput::from_wit(out));
    assert_eq!(out.items("todos").len(), 2);
    assert_eq!(out.unprocessed.len(), 1);
    let again = ok(out.unprocessed.build());
    assert_eq!(again[0].projection.as_deref(), Some("#a"));
    assert_eq!(again[0].names, names(&[("#a", "title")]));
    assert!(again[0].consistent);
    let ids: Vec<String> = ok(out.take_as::<Item>("todos"))
        .iter()
        .filter_map(|i| i.get_s("id").map(str::to_owned))
        .collect();
    assert_eq!(ids, ["1", "2"]);
}

#[test]
fn batch_write_groups_writes_by_table() {
    let a = Table::fake("a");
    let b = Table::fake("b");
    let batch = BatchWrite::new()
        .put(&a, key("id", "1"))
        .delete(&b, key("id", "2"))
        .put(&a, key("id", "3"));
    assert_eq!(batch.len(), 3);
    let tables = ok(batch.build());
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].writes.len(), 2);
    assert!(matches!(
        tables[1].writes[0],
        wit::BatchWriteRequest::Delete(_)
    ));
}

#[test]
fn host_errors_convert() {
    let old = key("id", "1").with("v", 2);
    let e = Error::from_wit(wit::Error::ConditionalCheckFailed(Some(
        document::from_item(&old),
    )));
    assert_eq!(e, Error::ConditionalCheckFailed(Some(old.clone())));
    let e = Error::from_wit(wit::Error::TransactionCancelled(vec![
        wit::CancellationReason {
            code: "None".into(),
            message: None,
            item: None,
        },
        wit::CancellationReason {
            code: "ConditionalCheckFailed".into(),
            message: Some("no".into()),
            item: Some(document::from_item(&old)),
        },
    ]));
    assert_eq!(
        e,
        Error::TransactionCanceled(vec![
            CancellationReason {
                code: "None".into(),
                message: None,
                item: None
            },
            CancellationReason {
                code: "ConditionalCheckFailed".into(),
                message: Some("no".into()),
                item: Some(old)
            },
        ])
    );
    let e = Error::from_wit(wit::Error::ThroughputExceeded("slow".into()));
    assert!(e.is_retryable());
    let e = Error::from_wit(wit::Error::IdempotentParameterMismatch("reused".into()));
    assert_eq!(e, Error::IdempotentParameterMismatch("reused".into()));
    assert!(!e.is_retryable());
    assert_eq!(
        e.to_string(),
        "client token reused with a different request: reused"
    );
    let e = Error::from_wit(wit::Error::TransactionConflict("ongoing".into()));
    assert_eq!(e, Error::TransactionConflict("ongoing".into()));
    assert!(e.is_retryable());
    assert_eq!(e.to_string(), "transaction conflict: ongoing");
    let broken = wit::Document {
        nodes: vec![wit::Value::M(vec![("a".into(), 0)])],
    };
    let e = Error::from_wit(wit::Error::ConditionalCheckFailed(Some(broken)));
    assert!(matches!(e, Error::InvalidDocument(_)));
    // And into the handler's error, for `?`.
    let handler: crate::Error = Error::ItemTooLarge.into();
    assert!(handler.to_string().contains("maximum allowed size"));
}
