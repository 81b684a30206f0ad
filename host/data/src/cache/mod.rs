//! The read cache: a [`Backend`] in front of another, answering eventually consistent
//! gets from memory (moka) without ever showing a value older than this host's last
//! acknowledged write.
//!
//! - **Read-through with single-flight**: a miss asks the backend once, however many
//!   requests miss the same key at the same moment; the others wait for that answer.
//!   The backend read is strongly consistent, so what gets cached includes every write
//!   acknowledged before it started.
//! - **Negative entries**: "no such item" is cached too, for `negative_ttl`.
//! - **Strongly consistent gets** bypass the cache and refresh it.
//! - **Writes** go to the backend first; once it acknowledged them the cache takes the
//!   new item when the request carries it (a put; an update returning `ALL_NEW`; a
//!   delete leaves "no such item") and otherwise drops the key. A failed write drops
//!   the key: nothing uncommitted is ever cached. See [`coherence`] for how races
//!   between reads and writes are settled.
//! - **Projections** are applied here to a cached whole item.
//! - **Queries and scans** are cached only for tables that ask (`query_ttl`), and any
//!   write to the table through this host drops them.
//! - Batch and transactional reads pass through; batch and transactional writes drop
//!   the keys they touch.
//!
//! Across hosts nothing is invalidated: another host's write shows here within `ttl`.

mod coherence;
mod config;
mod stats;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::notification::RemovalCause;
use moka::sync::Cache as Moka;

use crate::backend::Backend;
use crate::error::DataError;
use crate::expr::{self, ExprContext, Projection};
use crate::ops::{
    BatchGet, BatchGetOutput, BatchWrite, BatchWriteOutput, BatchWriteRequest, DeleteItem, GetItem,
    Page, PutItem, Query, ReturnValues, Scan, TransactGet, TransactWrite, TransactWriteItem,
    UpdateItem, WriteOutput,
};
use crate::schema::{KeySchema, TableSchema};
use crate::value::{Item, item_size};

pub use config::{
    CacheConfig, DEFAULT_MAX_BYTES, DEFAULT_NEGATIVE_TTL, DEFAULT_TTI, DEFAULT_TTL,
    TableCacheConfig,
};
pub use stats::{CacheStats, TableSnapshot, TableStats};

use coherence::Coherence;
use config::TablePolicy;

/// Bytes counted for an entry beyond its item and key: moka's and our bookkeeping.
const ENTRY_OVERHEAD: usize = 96;

/// How a get was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// From the cache.
    Hit,
    /// From the backend, by this request.
    Miss,
    /// From the backend, by another request's read of the same key that this one joined.
    Coalesced,
    /// Not through the cache (consistent read, caching off for the table, a request the
    /// backend must judge).
    Bypass,
}

/// A cached item: a table and the encoded primary key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CacheKey {
    table: Arc<str>,
    key: Arc<[u8]>,
}

#[derive(Clone)]
struct Entry {
    /// `None`: the backend has no such item.
    item: Option<Arc<Item>>,
    ttl: Duration,
    weight: u32,
    stats: Arc<TableStats>,
}

#[derive(Clone)]
struct PageEntry {
    generation: u64,
    page: Arc<Page>,
    ttl: Duration,
}

/// Lifetimes: `ttl` from creation or update, cut short by `tti` without reads.
struct Lifetimes {
    tti: Duration,
}

impl moka::Expiry<CacheKey, Entry> for Lifetimes {
    fn expire_after_create(&self, _: &CacheKey, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_read(
        &self,
        _: &CacheKey,
        _: &Entry,
        _: Instant,
        until_expiry: Option<Duration>,
        _: Instant,
    ) -> Option<Duration> {
        Some(until_expiry.map_or(self.tti, |left| left.min(self.tti)))
    }

    fn expire_after_update(
        &self,
        _: &CacheKey,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

struct PageLifetimes;

impl moka::Expiry<String, PageEntry> for PageLifetimes {
    fn expire_after_create(&self, _: &String, entry: &PageEntry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// One backend read that concurrent misses of the same key share.
struct Flight {
    /// The key's stripe generation when the flight started.
    generation: u64,
    result: tokio::sync::OnceCell<Result<Option<Arc<Item>>, DataError>>,
}

/// The cache in front of a backend. Implements [`Backend`] itself.
pub struct Cache {
    inner: Arc<dyn Backend>,
    config: CacheConfig,
    keys: HashMap<String, KeySchema>,
    items: Moka<CacheKey, Entry>,
    pages: Moka<String, PageEntry>,
    table_generations: Mutex<HashMap<String, u64>>,
    coherence: Coherence,
    flights: Mutex<HashMap<CacheKey, Arc<Flight>>>,
    stats: Arc<CacheStats>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("backend", &self.inner.name())
            .field("config", &self.config)
            .field("entries", &self.items.entry_count())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache in front of `inner` for these tables.
    pub fn new(inner: Arc<dyn Backend>, config: CacheConfig, tables: &[TableSchema]) -> Self {
        let stats = Arc::new(CacheStats::default());
        let items = Moka::builder()
            .max_capacity(config.max_bytes)
            .weigher(|_: &CacheKey, entry: &Entry| entry.weight)
            .expire_after(Lifetimes { tti: config.tti })
            .eviction_listener(|_, entry: Entry, cause| {
                entry
                    .stats
                    .bytes
                    .fetch_sub(i64::from(entry.weight), Ordering::Relaxed);
                if matches!(cause, RemovalCause::Size | RemovalCause::Expired) {
                    entry.stats.evictions.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        let pages = Moka::builder()
            .max_capacity(config.max_bytes / 4)
            .weigher(|key: &String, entry: &PageEntry| {
                let bytes: usize = entry.page.items.iter().map(item_size).sum();
                u32::try_from(bytes + key.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
            })
            .expire_after(PageLifetimes)
            .build();
        Self {
            inner,
            keys: tables
                .iter()
                .map(|t| (t.name.clone(), t.key.clone()))
                .collect(),
            config,
            items,
            pages,
            table_generations: Mutex::new(HashMap::new()),
            coherence: Coherence::new(),
            flights: Mutex::new(HashMap::new()),
            stats,
        }
    }

    /// The counters, for metrics.
    pub fn stats(&self) -> Arc<CacheStats> {
        Arc::clone(&self.stats)
    }

    /// The backend behind the cache.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner
    }

    /// Where `key` of `table` is cached, if the table is cached and the key is well formed
    /// (a malformed key is left for the backend to refuse in its own words).
    fn cache_key(&self, table: &str, key: &Item) -> Option<(CacheKey, TablePolicy)> {
        let policy = self.config.policy(table);
        let schema = self.keys.get(table)?;
        if !policy.enabled || schema.validate_key(key).is_err() {
            return None;
        }
        let encoded = postcard::to_allocvec(key).ok()?;
        Some((
            CacheKey {
                table: table.into(),
                key: encoded.into(),
            },
            policy,
        ))
    }

    /// The cache key of an item's primary key.
    fn item_cache_key(&self, table: &str, item: &Item) -> Option<(CacheKey, TablePolicy)> {
        let key = self.keys.get(table)?.key_of(item)?;
        self.cache_key(table, &key)
    }

    fn insert(&self, key: &CacheKey, policy: &TablePolicy, item: Option<Arc<Item>>) {
        let stats = self.stats.table(&key.table);
        let weight =
            item.as_deref().map_or(0, item_size) + key.key.len() + key.table.len() + ENTRY_OVERHEAD;
        let weight = u32::try_from(weight).unwrap_or(u32::MAX);
        let ttl = if item.is_some() {
            policy.ttl
        } else {
            policy.negative_ttl
        };
        stats.bytes.fetch_add(i64::from(weight), Ordering::Relaxed);
        self.items.insert(
            key.clone(),
            Entry {
                item,
                ttl,
                weight,
                stats,
            },
        );
    }

    /// `GetItem`, saying how it was answered.
    ///
    /// # Errors
    /// As the backend's get.
    pub async fn get_item_with_outcome(
        &self,
        request: GetItem,
    ) -> (Result<Option<Item>, DataError>, Outcome) {
        let Some((key, policy)) = self.cache_key(&request.table, &request.key) else {
            return (self.inner.get_item(request).await, Outcome::Bypass);
        };
        let projection = match parse_projection(&request) {
            Ok(projection) => projection,
            Err(error) => return (Err(error), Outcome::Bypass),
        };
        let consistent = request.consistent;
        // The cache holds whole items, read consistently (see the module docs).
        let whole = GetItem {
            consistent: true,
            projection: None,
            names: Default::default(),
            ..request
        };
        let stats = self.stats.table(&key.table);
        let (result, outcome) = if consistent {
            let observed = self.coherence.generation(&key);
            let result = self
                .inner
                .get_item(whole)
                .await
                .map(|item| item.map(Arc::new));
            if let Ok(item) = &result {
                self.coherence.insert_if_unchanged(&key, observed, || {
                    self.insert(&key, &policy, item.clone());
                });
            }
            (result, Outcome::Bypass)
        } else if let Some(entry) = self.items.get(&key) {
            stats.hits.fetch_add(1, Ordering::Relaxed);
            (Ok(entry.item), Outcome::Hit)
        } else {
            self.read_through(key, policy, whole, &stats).await
        };
        let result = result.map(|item| {
            item.map(|item| match &projection {
                Some(projection) => projection.apply(&item),
                None => Arc::unwrap_or_clone(item),
            })
        });
        (result, outcome)
    }

    /// A miss: join the key's flight (or start one) and cache what it reads.
    async fn read_through(
        &self,
        key: CacheKey,
        policy: TablePolicy,
        request: GetItem,
        stats: &TableStats,
    ) -> (Result<Option<Arc<Item>>, DataError>, Outcome) {
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            let generation = self.coherence.generation(&key);
            // A flight that started before a write finished may read what that write
            // replaced: join only flights younger than the last write.
            match flights.get(&key) {
                Some(flight) if flight.generation == generation => Arc::clone(flight),
                _ => {
                    // A flight that finished since this request missed has cached its
                    // answer before leaving the map: look again before asking the
                    // backend a second time.
                    if let Some(entry) = self.items.get(&key) {
                        stats.hits.fetch_add(1, Ordering::Relaxed);
                        return (Ok(entry.item), Outcome::Hit);
                    }
                    let flight = Arc::new(Flight {
                        generation,
                        result: tokio::sync::OnceCell::new(),
                    });
                    flights.insert(key.clone(), Arc::clone(&flight));
                    flight
                }
            }
        };
        let ran = AtomicBool::new(false);
        let result = flight
            .result
            .get_or_init(|| async {
                ran.store(true, Ordering::Relaxed);
                let result = self
                    .inner
                    .get_item(request)
                    .await
                    .map(|item| item.map(Arc::new));
                if let Ok(item) = &result {
                    self.coherence
                        .insert_if_unchanged(&key, flight.generation, || {
                            self.insert(&key, &policy, item.clone());
                        });
                }
                result
            })
            .await
            .clone();
        {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            if flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                flights.remove(&key);
            }
        }
        let outcome = if ran.load(Ordering::Relaxed) {
            stats.misses.fetch_add(1, Ordering::Relaxed);
            Outcome::Miss
        } else {
            stats.coalesced.fetch_add(1, Ordering::Relaxed);
            Outcome::Coalesced
        };
        (result, outcome)
    }

    fn table_generation(&self, table: &str) -> u64 {
        let generations = self
            .table_generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        generations.get(table).copied().unwrap_or(0)
    }

    fn bump_table(&self, table: &str) {
        let mut generations = self
            .table_generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *generations.entry(table.to_owned()).or_insert(0) += 1;
    }

    /// Notes writes to these items starting; the guards settle the cache when dropped or
    /// finished.
    fn begin_writes<'a>(
        &'a self,
        table: &str,
        keys: impl IntoIterator<Item = Option<(CacheKey, TablePolicy)>>,
    ) -> Vec<WriteGuard<'a>> {
        let mut guards = keys
            .into_iter()
            .flatten()
            .map(|(key, policy)| WriteGuard {
                started: self.coherence.begin_write(&key),
                cache: self,
                key,
                policy,
                table: None,
                settled: false,
            })
            .collect::<Vec<_>>();
        // One guard also bumps the table's page generation (even with no cached keys).
        guards.push(WriteGuard::table_only(self, table));
        guards
    }

    /// Runs one put, update or delete on `target` of `table`, then settles the cache with
    /// what `committed` reads off the backend's answer (`None`: unknown, drop the key).
    async fn write_one<Fut>(
        &self,
        table: &str,
        target: Option<(CacheKey, TablePolicy)>,
        write: Fut,
        committed: impl FnOnce(&WriteOutput) -> Option<Option<Arc<Item>>>,
    ) -> Result<WriteOutput, DataError>
    where
        Fut: Future<Output = Result<WriteOutput, DataError>>,
    {
        let mut guards = self.begin_writes(table, [target]);
        let result = write.await;
        let table_guard = guards.pop();
        if let (Some(guard), Ok(output)) = (guards.pop(), &result) {
            guard.settle(committed(output));
        }
        drop(table_guard);
        result
    }

    /// A query or scan page, from the page cache when the table caches pages.
    async fn page<F, Fut>(
        &self,
        table: &str,
        request_key: String,
        read: F,
    ) -> Result<Page, DataError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Page, DataError>>,
    {
        let Some(ttl) = self.config.policy(table).query_ttl else {
            return read().await;
        };
        let generation = self.table_generation(table);
        if let Some(entry) = self.pages.get(&request_key)
            && entry.generation == generation
        {
            self.stats.table(table).hits.fetch_add(1, Ordering::Relaxed);
            return Ok((*entry.page).clone());
        }
        let page = read().await?;
        self.stats
            .table(table)
            .misses
            .fetch_add(1, Ordering::Relaxed);
        // Stored with the generation seen before the read: a write that finished
        // meanwhile makes it stale at once.
        self.pages.insert(
            request_key,
            PageEntry {
                generation,
                page: Arc::new(page.clone()),
                ttl,
            },
        );
        Ok(page)
    }
}

/// A write in progress on one cached key (or, with no key, on a table's pages). When
/// settled — or dropped, if the request was cancelled — it updates the cache.
struct WriteGuard<'a> {
    cache: &'a Cache,
    key: CacheKey,
    policy: TablePolicy,
    started: u64,
    /// Set on the guard that bumps the table's page generation.
    table: Option<String>,
    settled: bool,
}

impl<'a> WriteGuard<'a> {
    fn table_only(cache: &'a Cache, table: &str) -> Self {
        WriteGuard {
            cache,
            key: CacheKey {
                table: table.into(),
                key: Arc::from([]),
            },
            policy: cache.config.policy(table),
            started: 0,
            table: Some(table.to_owned()),
            settled: false,
        }
    }

    /// Settles the write: `Some(item)` is the item as committed (`Some(None)`: deleted),
    /// `None` means unknown — the key is dropped.
    fn settle(mut self, committed: Option<Option<Arc<Item>>>) {
        self.finish(committed);
    }

    fn finish(&mut self, committed: Option<Option<Arc<Item>>>) {
        if self.settled {
            return;
        }
        self.settled = true;
        if let Some(table) = &self.table {
            self.cache.bump_table(table);
            return;
        }
        let cache = self.cache;
        cache
            .coherence
            .finish_write(&self.key, self.started, |exclusive| match committed {
                Some(item) if exclusive => cache.insert(&self.key, &self.policy, item),
                _ => cache.items.invalidate(&self.key),
            });
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        // Cancelled before the backend answered: the write may or may not commit.
        self.finish(None);
    }
}

fn parse_projection(request: &GetItem) -> Result<Option<Projection>, DataError> {
    let mut ctx = ExprContext::names_only(&request.names);
    let projection = request
        .projection
        .as_deref()
        .map(|text| expr::parse_projection(text, &mut ctx))
        .transpose()?;
    ctx.finish()?;
    Ok(projection)
}

fn settle_all(guards: Vec<WriteGuard<'_>>) {
    for guard in guards {
        guard.settle(None);
    }
}

#[async_trait]
impl Backend for Cache {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn get_item(&self, request: GetItem) -> Result<Option<Item>, DataError> {
        self.get_item_with_outcome(request).await.0
    }

    async fn put_item(&self, request: PutItem) -> Result<WriteOutput, DataError> {
        let table = request.table.clone();
        let target = self.item_cache_key(&table, &request.item);
        let committed = target.is_some().then(|| Arc::new(request.item.clone()));
        let write = self.inner.put_item(request);
        self.write_one(&table, target, write, |_| Some(committed))
            .await
    }

    async fn update_item(&self, request: UpdateItem) -> Result<WriteOutput, DataError> {
        let table = request.table.clone();
        let target = self.cache_key(&table, &request.key);
        let returns_new = request.return_values == ReturnValues::AllNew;
        let write = self.inner.update_item(request);
        // ALL_NEW is the whole item as committed; an update that created nothing (a
        // REMOVE on a missing item) returns nothing: there is still no item. Any other
        // answer does not say what was committed.
        self.write_one(&table, target, write, |output| {
            returns_new.then(|| output.attributes.clone().map(Arc::new))
        })
        .await
    }

    async fn delete_item(&self, request: DeleteItem) -> Result<WriteOutput, DataError> {
        let table = request.table.clone();
        let target = self.cache_key(&table, &request.key);
        let write = self.inner.delete_item(request);
        self.write_one(&table, target, write, |_| Some(None)).await
    }

    async fn query(&self, request: Query) -> Result<Page, DataError> {
        let table = request.table.clone();
        let key = format!("{request:?}");
        self.page(&table, key, || self.inner.query(request)).await
    }

    async fn scan(&self, request: Scan) -> Result<Page, DataError> {
        let table = request.table.clone();
        let key = format!("{request:?}");
        self.page(&table, key, || self.inner.scan(request)).await
    }

    async fn batch_get(&self, request: BatchGet) -> Result<BatchGetOutput, DataError> {
        self.inner.batch_get(request).await
    }

    async fn batch_write(&self, request: BatchWrite) -> Result<BatchWriteOutput, DataError> {
        let mut guards = Vec::new();
        for (table, writes) in &request.tables {
            let keys = writes.iter().map(|write| match write {
                BatchWriteRequest::Put(item) => self.item_cache_key(table, item),
                BatchWriteRequest::Delete(key) => self.cache_key(table, key),
            });
            guards.extend(self.begin_writes(table, keys));
        }
        let result = self.inner.batch_write(request).await;
        settle_all(guards);
        result
    }

    async fn transact_get(&self, request: TransactGet) -> Result<Vec<Option<Item>>, DataError> {
        self.inner.transact_get(request).await
    }

    async fn transact_write(&self, request: TransactWrite) -> Result<(), DataError> {
        let mut guards = Vec::new();
        for item in &request.items {
            let key = match item {
                TransactWriteItem::Put(put) => self.item_cache_key(&put.table, &put.item),
                TransactWriteItem::Update(update) => self.cache_key(&update.table, &update.key),
                TransactWriteItem::Delete(delete) => self.cache_key(&delete.table, &delete.key),
                TransactWriteItem::ConditionCheck(_) => continue,
            };
            guards.extend(self.begin_writes(item.table(), [key]));
        }
        let result = self.inner.transact_write(request).await;
        settle_all(guards);
        result
    }
}
