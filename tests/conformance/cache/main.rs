//! The read cache's guarantees, on both backends: single-flight misses, negative
//! entries, read-your-writes under concurrent writers and slow reads, failed writes
//! leaving nothing uncommitted in the cache, consistent reads refreshing it, and cached
//! pages dropped by writes.
//!
//! `cargo test -p portico-conformance --test cache`. Each test starts its own dynoxide
//! (see `portico_dynamodb::test_server`) and stops it when it ends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use portico_data::cache::{Cache, CacheConfig, Outcome, TableCacheConfig};
use portico_data::embedded::{Embedded, EmbeddedConfig};
use portico_data::ops::{
    BatchGet, BatchGetOutput, BatchWrite, BatchWriteOutput, DeleteItem, GetItem, Page,
    Placeholders, PutItem, Query, ReturnValues, Scan, TransactGet, TransactWrite, UpdateItem,
    WriteOutput,
};
use portico_data::schema::string_keys;
use portico_data::{Backend, DataError, Item, TableSchema, Value};
use portico_dynamodb::DynamoDbBackend;
use portico_dynamodb::test_server::TestServer;

/// A real backend, with its gets counted and optionally slowed down (to widen the race
/// between a read-through and a write).
struct Counting {
    inner: Arc<dyn Backend>,
    gets: AtomicU64,
    queries: AtomicU64,
    /// Upper bound of a random delay added to every get, in microseconds.
    get_delay_us: u64,
}

impl Counting {
    fn new(inner: Arc<dyn Backend>, get_delay_us: u64) -> Arc<Self> {
        Arc::new(Self {
            inner,
            gets: AtomicU64::new(0),
            queries: AtomicU64::new(0),
            get_delay_us,
        })
    }
}

#[async_trait]
impl Backend for Counting {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn get_item(&self, request: GetItem) -> Result<Option<Item>, DataError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let result = self.inner.get_item(request).await;
        if self.get_delay_us > 0 {
            // Delay after reading: the answer is already old when it arrives.
            tokio::time::sleep(Duration::from_micros(fastrand::u64(0..self.get_delay_us))).await;
        }
        result
    }
    async fn put_item(&self, request: PutItem) -> Result<WriteOutput, DataError> {
        self.inner.put_item(request).await
    }
    async fn update_item(&self, request: UpdateItem) -> Result<WriteOutput, DataError> {
        self.inner.update_item(request).await
    }
    async fn delete_item(&self, request: DeleteItem) -> Result<WriteOutput, DataError> {
        self.inner.delete_item(request).await
    }
    async fn query(&self, request: Query) -> Result<Page, DataError> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        self.inner.query(request).await
    }
    async fn scan(&self, request: Scan) -> Result<Page, DataError> {
        self.inner.scan(request).await
    }
    async fn batch_get(&self, request: BatchGet) -> Result<BatchGetOutput, DataError> {
        self.inner.batch_get(request).await
    }
    async fn batch_write(&self, request: BatchWrite) -> Result<BatchWriteOutput, DataError> {
        self.inner.batch_write(request).await
    }
    async fn transact_get(&self, request: TransactGet) -> Result<Vec<Option<Item>>, DataError> {
        self.inner.transact_get(request).await
    }
    async fn transact_write(&self, request: TransactWrite) -> Result<(), DataError> {
        self.inner.transact_write(request).await
    }
}

fn schema(name: &str) -> TableSchema {
    TableSchema::new(name, string_keys("pk", None))
}

/// Both backends, each with a fresh table named `table`. Holds what must outlive them.
struct Backends {
    _dir: tempfile::TempDir,
    _server: TestServer,
    all: Vec<(&'static str, Arc<dyn Backend>)>,
}

async fn backends(table: &str) -> Backends {
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded =
        Embedded::open(&EmbeddedConfig::new(dir.path()), &[schema(table)]).expect("embedded");
    let server = tokio::task::spawn_blocking(TestServer::start)
        .await
        .expect("join")
        .expect("dynoxide starts (PORTICO_DYNOXIDE)");
    let dynamodb = DynamoDbBackend::connect(&server.config(), &[schema(table)])
        .await
        .expect("dynamodb");
    Backends {
        _dir: dir,
        _server: server,
        all: vec![
            ("embedded", Arc::new(embedded)),
            ("dynamodb", Arc::new(dynamodb)),
        ],
    }
}

fn key(pk: &str) -> Item {
    [("pk".to_owned(), Value::s(pk))].into()
}

fn get(table: &str, pk: &str) -> GetItem {
    GetItem {
        table: table.into(),
        key: key(pk),
        consistent: false,
        projection: None,
        names: BTreeMap::new(),
    }
}

fn put(table: &str, pk: &str, v: i64) -> PutItem {
    let mut item = key(pk);
    item.insert("v".into(), Value::n(v));
    item.insert("other".into(), Value::s("x"));
    PutItem {
        table: table.into(),
        item,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

fn increment(table: &str, pk: &str, return_values: ReturnValues) -> UpdateItem {
    let mut placeholders = Placeholders::default();
    placeholders.values.insert(":one".into(), Value::n(1));
    UpdateItem {
        table: table.into(),
        key: key(pk),
        update: Some("ADD v :one".into()),
        condition: None,
        placeholders,
        return_values,
        return_old_on_condition_failure: false,
    }
}

fn version(item: &Option<Item>) -> i64 {
    match item.as_ref().and_then(|item| item.get("v")) {
        Some(Value::N(n)) => n.to_string().parse().expect("integer"),
        _ => 0,
    }
}

fn cache(inner: Arc<dyn Backend>, table: &str) -> Cache {
    Cache::new(inner, CacheConfig::default(), &[schema(table)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_misses_make_one_backend_call() {
    let table = "cache_flight";
    let backends = backends(table).await;
    for (name, backend) in &backends.all {
        backend.put_item(put(table, "hot", 7)).await.expect("seed");
        let counting = Counting::new(Arc::clone(backend), 50_000);
        let cache = Arc::new(cache(counting.clone(), table));
        let reads: Vec<_> = (0..1000)
            .map(|_| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move { cache.get_item_with_outcome(get(table, "hot")).await })
            })
            .collect();
        let mut outcomes = BTreeMap::new();
        for read in reads {
            let (item, outcome) = read.await.expect("join");
            assert_eq!(version(&item.expect("get")), 7, "[{name}]");
            *outcomes.entry(format!("{outcome:?}")).or_insert(0) += 1;
        }
        assert_eq!(
            counting.gets.load(Ordering::SeqCst),
            1,
            "[{name}] backend gets; outcomes {outcomes:?}"
        );
        assert_eq!(outcomes.get("Miss"), Some(&1), "[{name}] {outcomes:?}");
    }
}

#[tokio::test]
async fn missing_items_are_cached_until_written() {
    let table = "cache_negative";
    let backends = backends(table).await;
    for (name, backend) in &backends.all {
        let counting = Counting::new(Arc::clone(backend), 0);
        let cache = cache(counting.clone(), table);
        assert_eq!(
            cache.get_item_with_outcome(get(table, "nope")).await.1,
            Outcome::Miss,
            "[{name}]"
        );
        let (item, outcome) = cache.get_item_with_outcome(get(table, "nope")).await;
        assert_eq!(
            (item.expect("get"), outcome),
            (None, Outcome::Hit),
            "[{name}]"
        );
        cache.put_item(put(table, "nope", 1)).await.expect("put");
        let (item, _) = cache.get_item_with_outcome(get(table, "nope")).await;
        assert_eq!(
            version(&item.expect("get")),
            1,
            "[{name}] a write replaces the negative entry"
        );
        // A delete leaves "no such item" behind.
        let delete = DeleteItem {
            table: table.into(),
            key: key("nope"),
            condition: None,
            placeholders: Placeholders::default(),
            return_values: ReturnValues::None,
            return_old_on_condition_failure: false,
        };
        cache.delete_item(delete).await.expect("delete");
        let (item, outcome) = cache.get_item_with_outcome(get(table, "nope")).await;
        assert_eq!(
            (item.expect("get"), outcome),
            (None, Outcome::Hit),
            "[{name}]"
        );
        assert_eq!(counting.gets.load(Ordering::SeqCst), 1, "[{name}]");
    }
}

/// Many writers and readers on few keys, with slow reads: no reader ever sees a version
/// older than the newest write acknowledged before its read began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_never_go_behind_acknowledged_writes() {
    let table = "cache_ryw";
    let backends = backends(table).await;
    const KEYS: [&str; 3] = ["k0", "k1", "k2"];
    for (name, backend) in &backends.all {
        let counting = Counting::new(Arc::clone(backend), 2_000);
        let cache = Arc::new(cache(counting.clone(), table));
        let acked: Arc<[AtomicU64; 3]> = Arc::new(Default::default());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        let mut tasks = Vec::new();
        for writer in 0..6 {
            let (cache, acked) = (Arc::clone(&cache), Arc::clone(&acked));
            tasks.push(tokio::spawn(async move {
                let mut writes = 0;
                while tokio::time::Instant::now() < deadline {
                    let k = fastrand::usize(0..KEYS.len());
                    // Half the writes return the new item (cached), half do not (dropped).
                    let returns = if writer % 2 == 0 {
                        ReturnValues::AllNew
                    } else {
                        ReturnValues::UpdatedNew
                    };
                    let output = cache
                        .update_item(increment(table, KEYS[k], returns))
                        .await
                        .expect("update");
                    let v = version(&output.attributes);
                    acked[k].fetch_max(u64::try_from(v).unwrap_or(0), Ordering::SeqCst);
                    writes += 1;
                }
                (writes, 0u64)
            }));
        }
        for _ in 0..8 {
            let (cache, acked) = (Arc::clone(&cache), Arc::clone(&acked));
            tasks.push(tokio::spawn(async move {
                let mut reads = 0;
                while tokio::time::Instant::now() < deadline {
                    let k = fastrand::usize(0..KEYS.len());
                    let known = acked[k].load(Ordering::SeqCst);
                    let item = cache.get_item(get(table, KEYS[k])).await.expect("get");
                    let seen = u64::try_from(version(&item)).unwrap_or(0);
                    assert!(
                        seen >= known,
                        "read {seen} of {} after write {known} was acknowledged",
                        KEYS[k]
                    );
                    reads += 1;
                    // Cache hits never wait: let the writers run.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                (0, reads)
            }));
        }
        let (mut writes, mut reads) = (0, 0);
        for task in tasks {
            let (w, r) = task.await.expect("a reader saw an old version");
            writes += w;
            reads += r;
        }
        let stats = cache.stats().snapshot();
        let hits = stats.get(table).map_or(0, |s| s.hits);
        println!(
            "[{name}] {writes} writes, {reads} reads, {hits} hits, {} backend gets",
            counting.gets.load(Ordering::SeqCst)
        );
        assert!(
            writes >= 20 && reads >= 20,
            "[{name}] too little traffic to mean anything"
        );
        assert!(hits > 0, "[{name}] the cache never answered");
    }
}

#[tokio::test]
async fn failed_writes_leave_nothing_uncommitted() {
    let table = "cache_failed";
    let backends = backends(table).await;
    for (name, backend) in &backends.all {
        let cache = cache(Arc::clone(backend), table);
        cache.put_item(put(table, "a", 1)).await.expect("put");
        assert_eq!(
            version(&cache.get_item(get(table, "a")).await.expect("get")),
            1
        );

        // A conditional put that fails: the cache keeps (or drops) the old item, never
        // the refused one.
        let mut refused = put(table, "a", 99);
        refused.condition = Some("attribute_not_exists(pk)".into());
        let error = cache.put_item(refused).await.expect_err("condition fails");
        assert!(
            matches!(error, DataError::ConditionalCheckFailed { .. }),
            "[{name}] {error:?}"
        );
        assert_eq!(
            version(&cache.get_item(get(table, "a")).await.expect("get")),
            1,
            "[{name}]"
        );

        // A refused put of a new item: still no item.
        assert_eq!(cache.get_item(get(table, "b")).await.expect("get"), None);
        let mut refused = put(table, "b", 5);
        refused.condition = Some("attribute_exists(pk)".into());
        cache.put_item(refused).await.expect_err("condition fails");
        assert_eq!(
            cache.get_item(get(table, "b")).await.expect("get"),
            None,
            "[{name}]"
        );

        // A cancelled transaction changes nothing either.
        let mut first = put(table, "a", 50);
        first.condition = None;
        let mut second = put(table, "b", 50);
        second.condition = Some("attribute_exists(pk)".into());
        let transaction = TransactWrite {
            items: vec![
                portico_data::ops::TransactWriteItem::Put(first),
                portico_data::ops::TransactWriteItem::Put(second),
            ],
            client_token: None,
        };
        let error = cache
            .transact_write(transaction)
            .await
            .expect_err("cancelled");
        assert!(
            matches!(error, DataError::TransactionCanceled { .. }),
            "[{name}] {error:?}"
        );
        assert_eq!(
            version(&cache.get_item(get(table, "a")).await.expect("get")),
            1,
            "[{name}]"
        );
        assert_eq!(
            cache.get_item(get(table, "b")).await.expect("get"),
            None,
            "[{name}]"
        );
    }
}

#[tokio::test]
async fn consistent_reads_bypass_and_refresh_and_projections_apply_to_cached_items() {
    let table = "cache_consistent";
    let backends = backends(table).await;
    for (name, backend) in &backends.all {
        let cache = cache(Arc::clone(backend), table);
        cache.put_item(put(table, "a", 1)).await.expect("put");
        assert_eq!(
            version(&cache.get_item(get(table, "a")).await.expect("get")),
            1
        );
        // Another host writes behind this cache's back.
        backend.put_item(put(table, "a", 2)).await.expect("put");
        assert_eq!(
            version(&cache.get_item(get(table, "a")).await.expect("get")),
            1,
            "[{name}] stale within the TTL"
        );
        let mut consistent = get(table, "a");
        consistent.consistent = true;
        let (item, outcome) = cache.get_item_with_outcome(consistent).await;
        assert_eq!(
            (version(&item.expect("get")), outcome),
            (2, Outcome::Bypass),
            "[{name}]"
        );
        let (item, outcome) = cache.get_item_with_outcome(get(table, "a")).await;
        assert_eq!(
            (version(&item.expect("get")), outcome),
            (2, Outcome::Hit),
            "[{name}] refreshed"
        );

        let mut projected = get(table, "a");
        projected.projection = Some("#v".into());
        projected.names.insert("#v".into(), "v".into());
        let (item, outcome) = cache.get_item_with_outcome(projected).await;
        let item = item.expect("get").expect("item");
        assert_eq!(
            (item.len(), outcome),
            (1, Outcome::Hit),
            "[{name}] {item:?}"
        );
    }
}

#[tokio::test]
async fn cached_pages_are_dropped_by_writes_to_their_table() {
    let table = "cache_pages";
    let backends = backends(table).await;
    for (name, backend) in &backends.all {
        let counting = Counting::new(Arc::clone(backend), 0);
        let mut config = CacheConfig::default();
        config.tables.insert(
            table.into(),
            TableCacheConfig {
                query_ttl: Some(Duration::from_secs(30)),
                ..Default::default()
            },
        );
        let cache = Cache::new(counting.clone(), config, &[schema(table)]);
        cache.put_item(put(table, "q", 1)).await.expect("put");
        let mut placeholders = Placeholders::default();
        placeholders.values.insert(":p".into(), Value::s("q"));
        let query = Query {
            table: table.into(),
            index: None,
            key_condition: "pk = :p".into(),
            filter: None,
            projection: None,
            placeholders,
            limit: None,
            exclusive_start_key: None,
            forward: true,
            consistent: false,
            count_only: false,
        };
        let first = cache.query(query.clone()).await.expect("query");
        let again = cache.query(query.clone()).await.expect("query");
        assert_eq!(
            (first.count, counting.queries.load(Ordering::SeqCst)),
            (1, 1),
            "[{name}]"
        );
        assert_eq!(again, first, "[{name}]");
        cache
            .update_item(increment(table, "q", ReturnValues::None))
            .await
            .expect("update");
        let after = cache.query(query).await.expect("query");
        assert_eq!(
            counting.queries.load(Ordering::SeqCst),
            2,
            "[{name}] the write dropped the page"
        );
        assert_eq!(version(&after.items.first().cloned()), 2, "[{name}]");
    }
}
