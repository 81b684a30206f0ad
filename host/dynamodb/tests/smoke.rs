//! A short, real round trip against a local dynoxide server: table creation, the item
//! operations, conditions, a cancelled transaction, and connect-time checks. The full
//! cross-backend conformance suite lives elsewhere.

use std::collections::BTreeMap;

use portico_data::ops::{
    BatchGet, BatchWrite, BatchWriteRequest, ConditionCheck, DeleteItem, GetItem,
    KeysAndProjection, Placeholders, PutItem, Query, ReturnValues, TransactGet, TransactGetItem,
    TransactWrite, TransactWriteItem, UpdateItem,
};
use portico_data::schema::string_keys;
use portico_data::{
    Backend, CancellationCode, DataError, ErrorKind, IndexProjection, IndexSchema, Item,
    KeyAttribute, KeySchema, KeyType, Number, Set, TableSchema, Value,
};
use portico_dynamodb::test_server::TestServer;
use portico_dynamodb::{ConnectError, DynamoDbBackend};

fn server() -> TestServer {
    TestServer::start().unwrap_or_else(|error| panic!("cannot start dynoxide: {error}"))
}

fn orders() -> TableSchema {
    let mut table = TableSchema::new(
        "orders",
        KeySchema {
            partition: KeyAttribute {
                name: "pk".into(),
                key_type: KeyType::S,
            },
            sort: Some(KeyAttribute {
                name: "sk".into(),
                key_type: KeyType::N,
            }),
        },
    );
    table.global_indexes.push(IndexSchema {
        name: "by_status".into(),
        key: string_keys("status", None),
        projection: IndexProjection::KeysOnly,
    });
    table.local_indexes.push(IndexSchema {
        name: "by_note".into(),
        key: string_keys("pk", Some("note")),
        projection: IndexProjection::Include(vec!["qty".into()]),
    });
    table.ttl_attribute = Some("expires".into());
    table
}

fn key(pk: &str, sk: i64) -> Item {
    Item::from([
        ("pk".to_owned(), Value::s(pk)),
        ("sk".to_owned(), Value::n(sk)),
    ])
}

fn with(mut item: Item, name: &str, value: Value) -> Item {
    item.insert(name.to_owned(), value);
    item
}

fn values(pairs: &[(&str, Value)]) -> Placeholders {
    Placeholders {
        names: BTreeMap::new(),
        values: pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect(),
    }
}

fn put(item: Item) -> PutItem {
    PutItem {
        table: "orders".into(),
        item,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

fn get(key: Item) -> GetItem {
    GetItem {
        table: "orders".into(),
        key,
        consistent: true,
        projection: None,
        names: BTreeMap::new(),
    }
}

#[tokio::test]
async fn round_trips_against_dynoxide() {
    let server = server();
    let backend = DynamoDbBackend::connect(&server.config(), &[orders()])
        .await
        .expect("connects and creates the table");
    assert_eq!(backend.name(), "dynamodb");

    // Put and get, with the value types that are easy to get wrong.
    let big: Number = "-12345678901234567890.123456789012345678"
        .parse()
        .expect("38 digits");
    let item = with(
        with(
            with(key("a", 1), "big", Value::N(big)),
            "tags",
            Value::Ss(Set::new(vec!["x".into(), "y".into()]).expect("set")),
        ),
        "blob",
        Value::B(vec![0, 1, 255]),
    );
    let item = with(with(item, "status", Value::s("open")), "qty", Value::n(2));
    backend.put_item(put(item.clone())).await.expect("put");
    assert_eq!(
        backend.get_item(get(key("a", 1))).await.expect("get"),
        Some(item.clone())
    );
    assert_eq!(
        backend.get_item(get(key("a", 99))).await.expect("get"),
        None
    );

    // A failed condition returns the old item when asked.
    let mut conditional = put(key("a", 1));
    conditional.condition = Some("attribute_not_exists(pk)".into());
    conditional.return_old_on_condition_failure = true;
    assert_eq!(
        backend.put_item(conditional).await,
        Err(DataError::ConditionalCheckFailed {
            item: Some(item.clone())
        })
    );

    // Update with placeholders and ALL_NEW.
    let updated = backend
        .update_item(UpdateItem {
            table: "orders".into(),
            key: key("a", 1),
            update: Some("SET #q = #q + :one REMOVE #b".into()),
            condition: Some("#q = :two".into()),
            placeholders: Placeholders {
                names: BTreeMap::from([
                    ("#q".to_owned(), "qty".to_owned()),
                    ("#b".to_owned(), "blob".to_owned()),
                ]),
                values: values(&[(":one", Value::n(1)), (":two", Value::n(2))]).values,
            },
            return_values: ReturnValues::UpdatedNew,
            return_old_on_condition_failure: false,
        })
        .await
        .expect("update");
    assert_eq!(
        updated.attributes,
        Some(Item::from([("qty".to_owned(), Value::n(3))]))
    );

    // Query the table and the global index; count only.
    backend.put_item(put(key("a", 2))).await.expect("put");
    let page = backend
        .query(Query {
            table: "orders".into(),
            index: None,
            key_condition: "pk = :pk AND sk >= :from".into(),
            filter: None,
            projection: Some("sk".into()),
            placeholders: values(&[(":pk", Value::s("a")), (":from", Value::n(1))]),
            limit: Some(1),
            exclusive_start_key: None,
            forward: false,
            consistent: true,
            count_only: false,
        })
        .await
        .expect("query");
    assert_eq!(
        page.items,
        vec![Item::from([("sk".to_owned(), Value::n(2))])]
    );
    assert_eq!(page.last_evaluated_key, Some(key("a", 2)));
    let counted = backend
        .query(Query {
            table: "orders".into(),
            index: Some("by_status".into()),
            key_condition: "#st = :s".into(),
            filter: None,
            projection: None,
            placeholders: Placeholders {
                names: BTreeMap::from([("#st".to_owned(), "status".to_owned())]),
                ..values(&[(":s", Value::s("open"))])
            },
            limit: None,
            exclusive_start_key: None,
            forward: true,
            consistent: false,
            count_only: true,
        })
        .await
        .expect("index query");
    assert_eq!((counted.count, counted.items.len()), (1, 0));

    // Batches.
    let written = backend
        .batch_write(BatchWrite {
            tables: BTreeMap::from([(
                "orders".to_owned(),
                vec![
                    BatchWriteRequest::Put(key("b", 1)),
                    BatchWriteRequest::Delete(key("a", 2)),
                ],
            )]),
        })
        .await
        .expect("batch write");
    assert!(written.unprocessed.is_empty());
    let read = backend
        .batch_get(BatchGet {
            tables: BTreeMap::from([(
                "orders".to_owned(),
                KeysAndProjection {
                    keys: vec![key("b", 1), key("a", 2)],
                    projection: None,
                    names: BTreeMap::new(),
                    consistent: true,
                },
            )]),
        })
        .await
        .expect("batch get");
    assert_eq!(read.responses["orders"], vec![key("b", 1)]);

    // A cancelled transaction reports a reason per item, in order.
    let transaction = TransactWrite {
        items: vec![
            TransactWriteItem::Put(put(key("c", 1))),
            TransactWriteItem::ConditionCheck(ConditionCheck {
                table: "orders".into(),
                key: key("b", 1),
                condition: "attribute_exists(nothing)".into(),
                placeholders: Placeholders::default(),
                return_old_on_condition_failure: true,
            }),
        ],
        client_token: None,
    };
    let Err(DataError::TransactionCanceled { reasons }) = backend.transact_write(transaction).await
    else {
        panic!("the transaction should be cancelled");
    };
    let codes: Vec<_> = reasons.iter().map(|r| r.code.clone()).collect();
    assert_eq!(
        codes,
        [
            CancellationCode::None,
            CancellationCode::ConditionalCheckFailed
        ]
    );
    assert_eq!(reasons[1].item, Some(key("b", 1)));
    let snapshot = backend
        .transact_get(TransactGet {
            items: [key("c", 1), key("b", 1)]
                .into_iter()
                .map(|key| TransactGetItem {
                    table: "orders".into(),
                    key,
                    projection: None,
                    names: BTreeMap::new(),
                })
                .collect(),
        })
        .await
        .expect("transact get");
    assert_eq!(snapshot, vec![None, Some(key("b", 1))]);

    // Delete returning the old item; errors keep their kinds.
    let deleted = backend
        .delete_item(DeleteItem {
            table: "orders".into(),
            key: key("b", 1),
            condition: Some("attribute_exists(pk)".into()),
            placeholders: Placeholders::default(),
            return_values: ReturnValues::AllOld,
            return_old_on_condition_failure: false,
        })
        .await
        .expect("delete");
    assert_eq!(deleted.attributes, Some(key("b", 1)));
    let mut missing = get(key("a", 1));
    missing.table = "no_such_table".into();
    assert_eq!(
        backend.get_item(missing).await.map_err(|e| e.kind()),
        Err(ErrorKind::ResourceNotFound)
    );
    let huge = with(key("h", 1), "data", Value::s("x".repeat(410 * 1024)));
    assert_eq!(
        backend.put_item(put(huge)).await,
        Err(DataError::ItemTooLarge)
    );
    assert_eq!(
        backend
            .get_item(get(Item::new()))
            .await
            .map_err(|e| e.kind()),
        Err(ErrorKind::Validation)
    );
}

#[tokio::test]
async fn connect_checks_the_declared_tables() {
    let server = server();
    let mut config = server.config();
    let backend = DynamoDbBackend::connect(&config, &[orders()])
        .await
        .expect("creates the table");
    let ttl = backend
        .client()
        .describe_time_to_live()
        .table_name("orders")
        .send()
        .await
        .expect("describes TTL")
        .time_to_live_description
        .and_then(|d| d.attribute_name);
    assert_eq!(ttl.as_deref(), Some("expires"));

    config.create_missing_tables = false;
    DynamoDbBackend::connect(&config, &[orders()])
        .await
        .expect("an existing, matching table is fine");

    let error = DynamoDbBackend::connect(
        &config,
        &[TableSchema::new("absent", string_keys("id", None))],
    )
    .await
    .expect_err("missing table");
    assert!(
        matches!(error, ConnectError::TableMissing { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("create_missing_tables"),
        "{error}"
    );

    let mut different = orders();
    different.key.sort = None;
    let error = DynamoDbBackend::connect(&config, &[different])
        .await
        .expect_err("key mismatch");
    assert!(
        matches!(error, ConnectError::KeySchemaMismatch { .. }),
        "{error}"
    );

    let mut more = orders();
    more.global_indexes.push(IndexSchema {
        name: "by_other".into(),
        key: string_keys("other", None),
        projection: IndexProjection::All,
    });
    let error = DynamoDbBackend::connect(&config, &[more])
        .await
        .expect_err("missing index");
    assert!(error.to_string().contains("`by_other`"), "{error}");

    // Nothing listens on the server's port once it is gone.
    drop(server);
    let error = DynamoDbBackend::connect(&config, &[orders()])
        .await
        .expect_err("unreachable");
    let message = error.to_string();
    assert!(
        matches!(
            error,
            ConnectError::Request {
                source: DataError::Unavailable(_),
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("`orders`"), "{message}");
}
