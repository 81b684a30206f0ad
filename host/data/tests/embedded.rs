//! The embedded store's own guarantees (the conformance suite checks that it behaves
//! like DynamoDB): data survives reopening, concurrent writes all land, index changes
//! are rebuilt, a changed key schema is refused, and TTL removes items from indexes.

use std::sync::Arc;

use portico_data::embedded::{Embedded, EmbeddedConfig};
use portico_data::ops::{GetItem, Placeholders, PutItem, Query, ReturnValues, UpdateItem};
use portico_data::schema::string_keys;
use portico_data::{
    Backend, DataError, IndexProjection, IndexSchema, Item, KeyAttribute, KeyType, TableSchema,
    Value,
};

fn table() -> TableSchema {
    let mut schema = TableSchema::new("things", string_keys("pk", Some("sk")));
    schema.ttl_attribute = Some("expires".into());
    schema
}

fn with_index(mut schema: TableSchema) -> TableSchema {
    schema.global_indexes.push(IndexSchema {
        name: "by_colour".into(),
        key: string_keys("colour", None),
        projection: IndexProjection::All,
    });
    schema
}

fn item(pk: &str, sk: &str, extra: &[(&str, Value)]) -> Item {
    let mut item: Item = [("pk".into(), Value::s(pk)), ("sk".into(), Value::s(sk))].into();
    item.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    item
}

fn put(item: Item) -> PutItem {
    PutItem {
        table: "things".into(),
        item,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

async fn get(store: &Embedded, pk: &str, sk: &str) -> Option<Item> {
    store
        .get_item(GetItem {
            table: "things".into(),
            key: item(pk, sk, &[]),
            consistent: true,
            projection: None,
            names: Default::default(),
        })
        .await
        .expect("get")
}

async fn by_colour(store: &Embedded, colour: &str) -> Vec<Item> {
    let mut placeholders = Placeholders::default();
    placeholders.values.insert(":c".into(), Value::s(colour));
    store
        .query(Query {
            table: "things".into(),
            index: Some("by_colour".into()),
            key_condition: "colour = :c".into(),
            filter: None,
            projection: None,
            placeholders,
            limit: None,
            exclusive_start_key: None,
            forward: true,
            consistent: false,
            count_only: false,
        })
        .await
        .expect("query")
        .items
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmbeddedConfig::new(dir.path());
    {
        let store = Embedded::open(&config, &[table()]).expect("open");
        store
            .put_item(put(item("a", "1", &[("n", Value::n(7))])))
            .await
            .expect("put");
    }
    let store = Embedded::open(&config, &[table()]).expect("reopen");
    let found = get(&store, "a", "1").await.expect("item survives");
    assert_eq!(found["n"], Value::n(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_all_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Arc::new(Embedded::open(&EmbeddedConfig::new(dir.path()), &[table()]).expect("open"));
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut placeholders = Placeholders::default();
            placeholders.values.insert(":one".into(), Value::n(1));
            store
                .update_item(UpdateItem {
                    table: "things".into(),
                    key: item("counter", "x", &[]),
                    update: Some("ADD hits :one".into()),
                    condition: None,
                    placeholders,
                    return_values: ReturnValues::None,
                    return_old_on_condition_failure: false,
                })
                .await
        }));
    }
    for task in tasks {
        task.await.expect("join").expect("update");
    }
    assert_eq!(
        get(&store, "counter", "x").await.expect("item")["hits"],
        Value::n(200)
    );
}

#[tokio::test]
async fn a_new_index_is_built_from_existing_items() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmbeddedConfig::new(dir.path());
    {
        let store = Embedded::open(&config, &[table()]).expect("open");
        store
            .put_item(put(item("a", "1", &[("colour", Value::s("red"))])))
            .await
            .expect("put");
        store
            .put_item(put(item("b", "1", &[("colour", Value::s("blue"))])))
            .await
            .expect("put");
        store.put_item(put(item("c", "1", &[]))).await.expect("put");
    }
    let store = Embedded::open(&config, &[with_index(table())]).expect("reopen with an index");
    let red = by_colour(&store, "red").await;
    assert_eq!(red.len(), 1);
    assert_eq!(red[0]["pk"], Value::s("a"));
}

#[tokio::test]
async fn a_changed_key_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmbeddedConfig::new(dir.path());
    drop(Embedded::open(&config, &[table()]).expect("open"));
    let mut changed = table();
    changed.key.sort = Some(KeyAttribute {
        name: "sk".into(),
        key_type: KeyType::N,
    });
    let error = Embedded::open(&config, &[changed]).expect_err("must refuse");
    assert!(error.to_string().contains("things"), "{error}");
}

#[tokio::test]
async fn expired_items_leave_the_table_and_its_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Embedded::open(&EmbeddedConfig::new(dir.path()), &[with_index(table())]).expect("open");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let past = Value::n(now - 60);
    let future = Value::n(4_000_000_000);
    store
        .put_item(put(item(
            "old",
            "1",
            &[("colour", Value::s("red")), ("expires", past)],
        )))
        .await
        .expect("put");
    store
        .put_item(put(item(
            "new",
            "1",
            &[("colour", Value::s("red")), ("expires", future)],
        )))
        .await
        .expect("put");
    let swept = tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.sweep_expired()
    })
    .await
    .expect("sweep");
    assert_eq!(swept, 1);
    assert!(get(&store, "old", "1").await.is_none());
    assert!(get(&store, "new", "1").await.is_some());
    let red = by_colour(&store, "red").await;
    assert_eq!(red.len(), 1, "{red:?}");
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmbeddedConfig::new(dir.path());
    let _first = Embedded::open(&config, &[table()]).expect("open");
    let error = Embedded::open(&config, &[table()]).expect_err("locked");
    assert!(error.to_string().contains("portico.redb"), "{error}");
}

#[tokio::test]
async fn unknown_tables_are_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Embedded::open(&EmbeddedConfig::new(dir.path()), &[table()]).expect("open");
    let mut request = put(item("a", "1", &[]));
    request.table = "nope".into();
    let error = store.put_item(request).await.expect_err("unknown table");
    assert!(matches!(error, DataError::ResourceNotFound(_)), "{error:?}");
}
