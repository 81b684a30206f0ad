//! DynamoDB's key size limits in the embedded store (a partition key value of at most
//! 2048 bytes, a sort key value of at most 1024, strings counted in UTF-8 bytes and
//! binaries in bytes) on every operation that takes a key or writes an item (in a
//! transaction, as a cancellation reason), and the kind of a reused client token.

use std::collections::BTreeMap;

use portico_data::embedded::{Embedded, EmbeddedConfig};
use portico_data::ops::{
    BatchGet, BatchWrite, BatchWriteRequest, ConditionCheck, DeleteItem, GetItem,
    KeysAndProjection, Placeholders, PutItem, Query, ReturnValues, TransactGet, TransactGetItem,
    TransactWrite, TransactWriteItem, UpdateItem,
};
use portico_data::schema::string_keys;
use portico_data::{
    Backend, DataError, ErrorKind, IndexProjection, IndexSchema, Item, KeyAttribute, KeySchema,
    KeyType, TableSchema, Value,
};

/// DynamoDB's messages (see `portico_data::schema::check_key_size` for the sources).
const HASH_KEY_TOO_LARGE: &str = "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes";
const RANGE_KEY_TOO_LARGE: &str = "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes";

/// `things`: `pk` (S) and `sk` (S), a global index `by_colour` on `colour` (S) and
/// `label` (S). `blobs`: `pk` (B) and `sk` (B).
fn schemas() -> Vec<TableSchema> {
    let mut things = TableSchema::new("things", string_keys("pk", Some("sk")));
    things.global_indexes.push(IndexSchema {
        name: "by_colour".into(),
        key: string_keys("colour", Some("label")),
        projection: IndexProjection::All,
    });
    let binary = |name: &str| KeyAttribute {
        name: name.into(),
        key_type: KeyType::B,
    };
    let blobs = TableSchema::new(
        "blobs",
        KeySchema {
            partition: binary("pk"),
            sort: Some(binary("sk")),
        },
    );
    vec![things, blobs]
}

fn open() -> (tempfile::TempDir, Embedded) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Embedded::open(&EmbeddedConfig::new(dir.path()), &schemas()).expect("open");
    (dir, store)
}

fn key(pk: Value, sk: Value) -> Item {
    [("pk".to_owned(), pk), ("sk".to_owned(), sk)].into()
}

fn s(text: &str) -> Value {
    Value::s(text)
}

fn put(table: &str, item: Item) -> PutItem {
    PutItem {
        table: table.into(),
        item,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

fn get(table: &str, key: Item) -> GetItem {
    GetItem {
        table: table.into(),
        key,
        consistent: true,
        projection: None,
        names: BTreeMap::new(),
    }
}

fn update(key: Item, expression: &str, values: &[(&str, Value)]) -> UpdateItem {
    UpdateItem {
        table: "things".into(),
        key,
        update: Some(expression.into()),
        condition: None,
        placeholders: Placeholders {
            names: BTreeMap::new(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        },
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

fn delete(key: Item) -> DeleteItem {
    DeleteItem {
        table: "things".into(),
        key,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

fn transaction(items: Vec<TransactWriteItem>) -> TransactWrite {
    TransactWrite {
        items,
        client_token: None,
    }
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, DataError>, message: &str) {
    match result {
        Err(DataError::Validation(actual)) => assert_eq!(actual, message),
        other => panic!("expected the validation error {message:?}, got {other:?}"),
    }
}

/// A cancelled transaction of two items whose second item has `message` as its reason.
#[track_caller]
fn assert_cancelled<T: std::fmt::Debug>(result: Result<T, DataError>, message: &str) {
    match result {
        Err(DataError::TransactionCanceled { reasons }) => {
            let reasons: Vec<(&str, Option<&str>)> = reasons
                .iter()
                .map(|r| (r.code.as_str(), r.message.as_deref()))
                .collect();
            assert_eq!(
                reasons,
                vec![("None", None), ("ValidationError", Some(message))]
            );
        }
        other => panic!("expected a cancellation for {message:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn keys_at_the_limits_are_stored_and_read() {
    let (_dir, store) = open();
    // 1024 two-byte characters: exactly 2048 UTF-8 bytes; 512 of them, 1024 bytes.
    let at_limit = key(s(&"é".repeat(1024)), s(&"é".repeat(512)));
    store
        .put_item(put("things", at_limit.clone()))
        .await
        .expect("keys of exactly 2048 and 1024 bytes");
    let got = store.get_item(get("things", at_limit.clone())).await;
    assert_eq!(got.expect("get"), Some(at_limit));
    let binary = key(Value::B(vec![7; 2048]), Value::B(vec![7; 1024]));
    store
        .put_item(put("blobs", binary.clone()))
        .await
        .expect("binary keys of exactly 2048 and 1024 bytes");
    assert_eq!(
        store
            .get_item(get("blobs", binary.clone()))
            .await
            .expect("get"),
        Some(binary)
    );
}

#[tokio::test]
async fn single_item_operations_refuse_keys_over_the_limits() {
    let (_dir, store) = open();
    // Counted in UTF-8 bytes: 1025 two-byte characters are 2050 bytes, 513 are 1026.
    let long_pk = key(s(&"é".repeat(1025)), s("s"));
    let long_sk = key(s("p"), s(&"é".repeat(513)));
    let ascii_pk = key(s(&"p".repeat(2049)), s("s"));
    let ascii_sk = key(s("p"), s(&"s".repeat(1025)));
    for (key, message) in [
        (&long_pk, HASH_KEY_TOO_LARGE),
        (&ascii_pk, HASH_KEY_TOO_LARGE),
        (&long_sk, RANGE_KEY_TOO_LARGE),
        (&ascii_sk, RANGE_KEY_TOO_LARGE),
    ] {
        assert_refused(store.put_item(put("things", key.clone())).await, message);
        assert_refused(store.get_item(get("things", key.clone())).await, message);
        assert_refused(
            store
                .update_item(update(key.clone(), "SET v = :v", &[(":v", Value::n(1))]))
                .await,
            message,
        );
        assert_refused(store.delete_item(delete(key.clone())).await, message);
    }
    // Binaries count their bytes.
    assert_refused(
        store
            .put_item(put(
                "blobs",
                key(Value::B(vec![7; 2049]), Value::B(vec![7])),
            ))
            .await,
        HASH_KEY_TOO_LARGE,
    );
    assert_refused(
        store
            .get_item(get(
                "blobs",
                key(Value::B(vec![7]), Value::B(vec![7; 1025])),
            ))
            .await,
        RANGE_KEY_TOO_LARGE,
    );
}

#[tokio::test]
async fn index_keys_over_the_limits_are_refused() {
    let (_dir, store) = open();
    let with = |colour: &str, label: &str| {
        let mut item = key(s("p"), s("s"));
        item.insert("colour".into(), s(colour));
        item.insert("label".into(), s(label));
        item
    };
    assert_refused(
        store
            .put_item(put("things", with(&"c".repeat(2049), "l")))
            .await,
        HASH_KEY_TOO_LARGE,
    );
    assert_refused(
        store
            .put_item(put("things", with("c", &"l".repeat(1025))))
            .await,
        RANGE_KEY_TOO_LARGE,
    );
    // A table sort key and an index sort key of 1024 bytes each are fine: the limit is
    // per key, not on their sum.
    let mut both = with("c", &"l".repeat(1024));
    both.insert("sk".into(), s(&"s".repeat(1024)));
    store
        .put_item(put("things", both))
        .await
        .expect("two 1024-byte sort keys");
    // An update that makes an index key too large changes nothing.
    store
        .put_item(put("things", with("c", "l")))
        .await
        .expect("put");
    assert_refused(
        store
            .update_item(update(
                key(s("p"), s("s")),
                "SET colour = :c",
                &[(":c", s(&"c".repeat(2049)))],
            ))
            .await,
        HASH_KEY_TOO_LARGE,
    );
    let got = store.get_item(get("things", key(s("p"), s("s")))).await;
    assert_eq!(got.expect("get"), Some(with("c", "l")));
}

#[tokio::test]
async fn batch_and_transaction_operations_refuse_keys_over_the_limits() {
    let (_dir, store) = open();
    let long_pk = key(s(&"p".repeat(2049)), s("s"));
    let long_sk = key(s("p"), s(&"s".repeat(1025)));
    let fine = key(s("fine"), s("s"));

    let batch_get = |keys: Vec<Item>| BatchGet {
        tables: [(
            "things".to_owned(),
            KeysAndProjection {
                keys,
                projection: None,
                names: BTreeMap::new(),
                consistent: true,
            },
        )]
        .into(),
    };
    assert_refused(
        store
            .batch_get(batch_get(vec![fine.clone(), long_pk.clone()]))
            .await,
        HASH_KEY_TOO_LARGE,
    );
    assert_refused(
        store.batch_get(batch_get(vec![long_sk.clone()])).await,
        RANGE_KEY_TOO_LARGE,
    );

    let batch_write = |writes: Vec<BatchWriteRequest>| BatchWrite {
        tables: [("things".to_owned(), writes)].into(),
    };
    assert_refused(
        store
            .batch_write(batch_write(vec![
                BatchWriteRequest::Put(fine.clone()),
                BatchWriteRequest::Put(long_pk.clone()),
            ]))
            .await,
        HASH_KEY_TOO_LARGE,
    );
    assert_refused(
        store
            .batch_write(batch_write(vec![BatchWriteRequest::Delete(
                long_sk.clone(),
            )]))
            .await,
        RANGE_KEY_TOO_LARGE,
    );

    let read = |key: Item| TransactGetItem {
        table: "things".into(),
        key,
        projection: None,
        names: BTreeMap::new(),
    };
    // In a transaction a too-large key is the item's fault, like a mistyped one: the
    // transaction is cancelled with a ValidationError reason for that item.
    assert_cancelled(
        store
            .transact_get(TransactGet {
                items: vec![read(fine.clone()), read(long_pk.clone())],
            })
            .await,
        HASH_KEY_TOO_LARGE,
    );
    let check = |key: Item| ConditionCheck {
        table: "things".into(),
        key,
        condition: "attribute_not_exists(pk)".into(),
        placeholders: Placeholders::default(),
        return_old_on_condition_failure: false,
    };
    let refused: [(TransactWriteItem, &str); 4] = [
        (
            TransactWriteItem::Put(put("things", long_pk.clone())),
            HASH_KEY_TOO_LARGE,
        ),
        (
            TransactWriteItem::Update(update(
                long_sk.clone(),
                "SET v = :v",
                &[(":v", Value::n(1))],
            )),
            RANGE_KEY_TOO_LARGE,
        ),
        (
            TransactWriteItem::Delete(delete(long_pk.clone())),
            HASH_KEY_TOO_LARGE,
        ),
        (
            TransactWriteItem::ConditionCheck(check(long_sk.clone())),
            RANGE_KEY_TOO_LARGE,
        ),
    ];
    for (write, message) in refused {
        let result = store
            .transact_write(transaction(vec![
                TransactWriteItem::Put(put("things", fine.clone())),
                write,
            ]))
            .await;
        assert_cancelled(result, message);
    }
    assert_eq!(
        store.get_item(get("things", fine)).await.expect("get"),
        None,
        "nothing of the refused batches and transactions was written"
    );
}

#[tokio::test]
async fn a_query_refuses_a_partition_key_over_the_limit() {
    let (_dir, store) = open();
    let query = |index: Option<&str>, condition: &str, values: &[(&str, Value)]| Query {
        table: "things".into(),
        index: index.map(str::to_owned),
        key_condition: condition.into(),
        filter: None,
        projection: None,
        placeholders: Placeholders {
            names: BTreeMap::new(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        },
        limit: None,
        exclusive_start_key: None,
        forward: true,
        consistent: false,
        count_only: false,
    };
    assert_refused(
        store
            .query(query(None, "pk = :p", &[(":p", s(&"p".repeat(2049)))]))
            .await,
        HASH_KEY_TOO_LARGE,
    );
    assert_refused(
        store
            .query(query(
                Some("by_colour"),
                "colour = :c",
                &[(":c", s(&"c".repeat(2049)))],
            ))
            .await,
        HASH_KEY_TOO_LARGE,
    );
    let page = store
        .query(query(None, "pk = :p", &[(":p", s(&"p".repeat(2048)))]))
        .await
        .expect("a 2048-byte partition key");
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn a_reused_client_token_with_other_writes_is_a_mismatch() {
    let (_dir, store) = open();
    let request = |value: i64| TransactWrite {
        items: vec![TransactWriteItem::Update(update(
            key(s("tok"), s("s")),
            "ADD hits :n",
            &[(":n", Value::n(value))],
        ))],
        client_token: Some("token-1".into()),
    };
    store.transact_write(request(1)).await.expect("first");
    store
        .transact_write(request(1))
        .await
        .expect("the same request again");
    let error = store
        .transact_write(request(2))
        .await
        .expect_err("the same token with other writes");
    assert_eq!(error.kind(), ErrorKind::IdempotentParameterMismatch);
    assert!(!error.is_retryable());
    let got = store.get_item(get("things", key(s("tok"), s("s")))).await;
    let hits = got.expect("get").and_then(|item| item.get("hits").cloned());
    assert_eq!(hits, Some(Value::n(1)), "applied once");
}
