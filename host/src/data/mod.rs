//! The data capability: the WIT `data` interface, fulfilled by a [`Backend`].
//!
//! Its three moments ([`crate::runtime::Capability`]):
//! - engine time: [`Data::link`](crate::runtime::Capability::link) links
//!   `portico:edge/data`;
//! - app time: [`open_backend`] opens the configured store (embedded or DynamoDB) with
//!   the manifest's tables once, when the host starts; each function's
//!   [`TableGrants`] are read when it is loaded;
//! - request time: a [`DataContext`] per instance carries the store, the function's
//!   grants and the invocation's counters, which it reports as `data_calls`, `data_us`,
//!   `cache_hits` and `cache_misses`.

mod config;
mod convert;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod host;
mod open;

use std::sync::Arc;
use std::time::Duration;

use crate::metrics::Metrics;
use crate::runtime::{
    Capability, ConfigureError, FunctionInfo, InstanceBuilder, InstanceState, InvocationRecord,
};
use portico_data::cache::{Cache, CacheConfig, Outcome};
use portico_data::{Backend, TableSchema};
use wasmtime::component::{HasSelf, Linker};

pub use config::{BackendKind, DEFAULT_DATA_DIR, DataConfig, DynamoDbSettings, TableGrants};
pub use host::OpenTable;
pub use open::{OpenError, open_backend};

mod bindings {
    #![allow(missing_docs)] // Generated from the WIT, which documents every item.
    wasmtime::component::bindgen!({
        path: "../wit",
        interfaces: "import portico:edge/data@0.1.0;",
        imports: { default: async | trappable },
        with: { "portico:edge/data.table": super::OpenTable },
    });
}

/// The data capability: data calls go to `store`; without one they fail with
/// `unavailable`.
#[derive(Clone, Default)]
pub struct Data {
    store: Option<DataStore>,
}

impl Data {
    /// Data calls go to `store` (none: every call is `unavailable`).
    pub fn new(store: Option<DataStore>) -> Self {
        Data { store }
    }
}

impl Capability for Data {
    type Function = Arc<[String]>;
    type Instance = DataContext;

    fn name(&self) -> &'static str {
        "data"
    }

    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        bindings::portico::edge::data::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
    }

    fn configure(&self, function: &FunctionInfo<'_>) -> Result<Arc<[String]>, ConfigureError> {
        Ok(function
            .configs
            .get::<TableGrants>()
            .map(|grants| grants.0.as_slice().into())
            .unwrap_or_else(|| Arc::from([])))
    }

    fn instantiate(
        &self,
        grants: &Arc<[String]>,
        instance: &mut InstanceBuilder<'_>,
    ) -> DataContext {
        DataContext::new(
            self.store.clone(),
            Arc::clone(grants),
            Arc::clone(instance.function),
        )
    }

    fn report(&self, data: &mut DataContext, record: &mut InvocationRecord) {
        record.add("data_calls", u64::from(data.calls));
        record.add_duration("data_us", data.time);
        record.add("cache_hits", u64::from(data.cache_hits));
        record.add("cache_misses", u64::from(data.cache_misses));
    }
}

/// The store data calls go to: the backend, behind the read cache when it is on, and
/// the manifest's tables (what `describe` answers).
#[derive(Clone)]
pub struct DataStore {
    backend: Arc<dyn Backend>,
    cache: Option<Arc<Cache>>,
    tables: Arc<[TableSchema]>,
    metrics: Arc<Metrics>,
}

impl DataStore {
    /// `backend`, holding `tables`, behind a read cache configured by `cache` (none when
    /// it is disabled); calls and the cache's counters are reported to `metrics`.
    pub fn new(
        backend: Arc<dyn Backend>,
        cache: &CacheConfig,
        tables: &[TableSchema],
        metrics: Arc<Metrics>,
    ) -> Self {
        let cache = cache
            .enabled
            .then(|| Arc::new(Cache::new(Arc::clone(&backend), cache.clone(), tables)));
        if let Some(cache) = &cache {
            metrics.attach_cache(cache.stats());
        }
        Self {
            backend,
            cache,
            tables: tables.into(),
            metrics,
        }
    }

    /// The manifest's declaration of `table`, if it declares one.
    fn table(&self, table: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|schema| schema.name == table)
    }

    /// What calls go to: the cache if there is one, else the backend.
    fn front(&self) -> Arc<dyn Backend> {
        match &self.cache {
            Some(cache) => Arc::clone(cache) as Arc<dyn Backend>,
            None => Arc::clone(&self.backend),
        }
    }
}

/// What an instance's data calls see: the store, the tables the function may use, and
/// counters for the access log.
pub struct DataContext {
    store: Option<DataStore>,
    grants: Arc<[String]>,
    function: Arc<str>,
    /// Data calls made so far.
    pub calls: u32,
    /// Time spent in data calls.
    pub time: Duration,
    /// Gets answered by the cache (hits).
    pub cache_hits: u32,
    /// Gets the cache passed to the backend (misses, including joined reads).
    pub cache_misses: u32,
}

impl DataContext {
    /// The data context of one invocation of `function`, which may use `grants`.
    /// Without a backend every call fails with `unavailable`.
    pub fn new(store: Option<DataStore>, grants: Arc<[String]>, function: Arc<str>) -> Self {
        Self {
            store,
            grants,
            function,
            calls: 0,
            time: Duration::ZERO,
            cache_hits: 0,
            cache_misses: 0,
        }
    }

    /// Counts one data call and reports its time.
    fn record(&mut self, operation: &'static str, elapsed: Duration) {
        self.calls += 1;
        self.time += elapsed;
        if let Some(store) = &self.store {
            store
                .metrics
                .data_call(operation, store.backend.name(), elapsed);
        }
    }

    /// Counts a get's cache outcome.
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Hit => self.cache_hits += 1,
            Outcome::Miss | Outcome::Coalesced => self.cache_misses += 1,
            Outcome::Bypass => {}
        }
    }

    /// Whether the function may use `table`.
    fn granted(&self, table: &str) -> bool {
        self.grants.iter().any(|t| t == table)
    }

    /// The access-denied error for `table`. It reads the same whether or not the table
    /// exists, so a function learns nothing about tables it may not use.
    fn denied(&self, table: &str) -> portico_data::DataError {
        portico_data::DataError::AccessDenied(format!(
            "function `{}` may not use table `{table}` (add it to the function's `tables` in the manifest)",
            self.function
        ))
    }
}
