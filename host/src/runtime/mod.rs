//! The function runtime: one wasmtime [`Engine`] with the pooling allocator and epoch
//! interruption, every function compiled once, and a fresh instance per invocation.
//!
//! The three moments of a capability (see the README's Architecture section):
//! - engine time: [`Runtime::new`] links WASI, wasi:http (outbound denied) and Portico's
//!   `log` into one linker;
//! - app time: [`Runtime::load`] compiles a component and pre-instantiates it;
//! - request time: [`Runtime::invoke`] builds a small [`InstanceState`] inside a new store.

mod admission;
mod artifacts;
pub mod bindings;
mod output;
mod state;

pub use admission::{Admission, Rejected};
pub use artifacts::{Artifacts, hex};
pub use state::{InstanceState, PeakLimiter};

use crate::data::{DataContext, DataStore};
use crate::manifest::{Limits, Manifest};
use bindings::{HttpRequestEvent, HttpResponse};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tracing::Instrument as _;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
};

/// How often the epoch advances; a running guest yields to the scheduler this often, so
/// timeouts are precise to about this much.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Engine-wide settings, usually taken from the manifest's `[server]` section.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Instances alive at once (the pool size and the admission limit).
    pub max_instances: u32,
    /// Requests that may wait for an instance.
    pub max_queue: u32,
    /// How long a request may wait for an instance.
    pub queue_timeout: Duration,
    /// Largest linear memory any function may grow to (sizes the pool's memory slots).
    pub max_memory_bytes: u64,
    /// Use the pooling instance allocator (the default); off only for comparisons.
    pub pooling: bool,
    /// Where precompiled components are kept between runs (none: compile every time).
    pub artifacts: Option<PathBuf>,
}

impl RuntimeConfig {
    /// Settings for serving `manifest`.
    pub fn from_manifest(manifest: &Manifest) -> Self {
        RuntimeConfig {
            max_instances: manifest.server.max_instances,
            max_queue: manifest.server.max_queue,
            queue_timeout: manifest.server.queue_timeout,
            max_memory_bytes: manifest.largest_memory(),
            pooling: true,
            artifacts: None,
        }
    }
}

/// Why a module could not become a function.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a valid WebAssembly component (or not WebAssembly at all), or one whose
    /// declared memories or tables cannot fit the instance pool's slots.
    #[error("function `{function}`: cannot compile the WebAssembly component: {reason}")]
    Compile {
        /// The function being loaded.
        function: String,
        /// wasmtime's explanation.
        reason: String,
    },
    /// The component instantiates with an error: its initial memory is over the
    /// function's limit, its start code traps, or it needs more than the pool offers.
    #[error("function `{function}`: cannot start an instance: {reason}")]
    Start {
        /// The function being loaded.
        function: String,
        /// wasmtime's explanation.
        reason: String,
    },
    /// A valid component that does not fit Portico's `function` world.
    #[error("function `{function}`: component does not match Portico's `function` world: {reason}")]
    World {
        /// The function being loaded.
        function: String,
        /// What is missing or mistyped.
        reason: String,
    },
}

/// Why an invocation produced no response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// No instance was free (HTTP 503).
    #[error(transparent)]
    Rejected(#[from] Rejected),
    /// The function ran past its timeout (HTTP 503).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The guest trapped, or could not be instantiated (HTTP 500).
    #[error("trap: {0:#}")]
    Trap(wasmtime::Error),
    /// The guest returned `err(message)` (HTTP 500).
    #[error("function returned an error: {0}")]
    Guest(String),
    /// The response body was over the function's limit (HTTP 500).
    #[error("response body of {size} bytes is over the limit of {limit} bytes")]
    ResponseTooLarge {
        /// Body size.
        size: usize,
        /// The function's `max_response`.
        limit: u64,
    },
}

/// Where an invocation's time went, and how much memory it used.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Waiting for a free instance slot.
    pub queue: Duration,
    /// Creating the instance.
    pub instantiate: Duration,
    /// Running the handler.
    pub guest: Duration,
    /// Largest linear memory the instance reached, in bytes (0 if it never started).
    pub memory_bytes: u64,
    /// Data calls the function made.
    pub data_calls: u32,
    /// Time spent in data calls (part of `guest`).
    pub data: Duration,
    /// Gets the read cache answered.
    pub cache_hits: u32,
    /// Gets the read cache passed to the backend.
    pub cache_misses: u32,
}

/// Where a function's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOrigin {
    /// Another live function already used the same module.
    Shared,
    /// A precompiled artifact from disk.
    Artifact,
    /// Compiled now.
    Compiled,
}

impl CodeOrigin {
    /// `shared`, `artifact` or `compiled`.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeOrigin::Shared => "shared",
            CodeOrigin::Artifact => "artifact",
            CodeOrigin::Compiled => "compiled",
        }
    }
}

/// A compiled, linked function, ready to instantiate.
pub struct Function {
    name: Arc<str>,
    version: String,
    digest: [u8; 32],
    origin: CodeOrigin,
    pre: Arc<bindings::FunctionPre<InstanceState>>,
    limits: Limits,
    environment: Vec<(String, String)>,
    tables: Arc<[String]>,
    requests: Arc<AtomicU64>,
}

impl Function {
    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Content hash of the module (first 12 hex digits of its SHA-256).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// SHA-256 of the module.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Where the compiled code came from.
    pub fn origin(&self) -> CodeOrigin {
        self.origin
    }

    /// The function's limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The environment the function sees.
    pub fn environment(&self) -> &[(String, String)] {
        &self.environment
    }

    /// The tables the function may use.
    pub fn tables(&self) -> &[String] {
        &self.tables
    }

    /// Counts requests in `counter` (shared with other loads of the same version)
    /// instead of a counter of its own.
    pub fn with_request_counter(mut self, counter: Arc<AtomicU64>) -> Self {
        self.requests = counter;
        self
    }

    /// Requests routed to this function (on its request counter).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Counts one request routed to this function.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The engine, the linker and the instance pool's admission gate.
pub struct Runtime {
    engine: Engine,
    linker: Linker<InstanceState>,
    admission: Admission,
    /// The data store functions' data calls go to, if any.
    data: Option<DataStore>,
    /// Modules already compiled and linked, by SHA-256 of their bytes, so functions that
    /// share a module compile it once. Weak: a module no function uses is freed.
    compiled: Mutex<CompiledModules>,
    /// Precompiled components on disk, if configured.
    artifacts: Option<Artifacts>,
    /// The largest linear memory an instance may have (the pool's slot size).
    max_memory_bytes: u64,
}

/// Compiled modules by the SHA-256 of their bytes.
type CompiledModules = HashMap<[u8; 32], Weak<bindings::FunctionPre<InstanceState>>>;

impl Runtime {
    /// Builds the engine and links every import a function may use. Data calls go to
    /// `data`; without one they fail with `unavailable`.
    pub fn new(config: &RuntimeConfig, data: Option<DataStore>) -> anyhow::Result<Self> {
        let mut wasm = Config::new();
        wasm.epoch_interruption(true);
        if config.pooling {
            let n = config.max_instances;
            let memory = usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX);
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(n)
                .total_core_instances(n.saturating_mul(8))
                .total_memories(n.saturating_mul(2))
                .total_tables(n.saturating_mul(4))
                .total_stacks(n)
                .max_memory_size(memory)
                // Keep touched pages resident between instances instead of faulting them
                // in again: measured 36 µs → 20 µs per request (TOOLCHAIN.md).
                .linear_memory_keep_resident(4 << 20)
                .table_keep_resident(64 << 10)
                .pagemap_scan(Enabled::Auto);
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&wasm)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::Function::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        spawn_epoch_ticker(&engine);
        Ok(Runtime {
            linker,
            admission: Admission::new(config.max_instances, config.max_queue, config.queue_timeout),
            data,
            compiled: Mutex::new(HashMap::new()),
            artifacts: config
                .artifacts
                .as_ref()
                .map(|dir| Artifacts::new(dir.clone(), &engine)),
            max_memory_bytes: config.max_memory_bytes,
            engine,
        })
    }

    /// Compiles `wasm` and checks it against Portico's world. The function sees
    /// `environment` and may use `tables`. CPU-heavy: call it off the async request path
    /// (e.g. in `spawn_blocking`).
    pub fn load(
        &self,
        name: &str,
        wasm: &[u8],
        limits: Limits,
        environment: Vec<(String, String)>,
        tables: Vec<String>,
    ) -> Result<Function, LoadError> {
        let digest: [u8; 32] = Sha256::digest(wasm).into();
        let version = version_of(&digest);
        let cached = self.live_modules().get(&digest).and_then(Weak::upgrade);
        let (pre, origin) = match cached {
            Some(pre) => (pre, CodeOrigin::Shared),
            None => {
                let (pre, origin) = self.compile(name, wasm, &digest)?;
                let pre = Arc::new(pre);
                self.live_modules().insert(digest, Arc::downgrade(&pre));
                (pre, origin)
            }
        };
        Ok(Function {
            name: name.into(),
            version,
            digest,
            origin,
            pre,
            limits,
            environment,
            tables: tables.into(),
            requests: Arc::default(),
        })
    }

    /// Creates one instance of `function`, within its limits, and drops it: a module that
    /// cannot start is refused when it is loaded rather than on every request.
    pub async fn probe(&self, function: &Function) -> Result<(), LoadError> {
        let fail = |reason: String| LoadError::Start {
            function: function.name.to_string(),
            reason,
        };
        let mut store = self.new_store(function, "(load)".into());
        let timeout = function.limits.timeout;
        match tokio::time::timeout(timeout, function.pre.instantiate_async(&mut store)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(fail(format!("{e:#}"))),
            Err(_) => Err(fail(format!(
                "instantiation ran past the {timeout:?} timeout"
            ))),
        }
    }

    /// A fresh store for one instance of `function`: its limits, its environment, log tags
    /// for `request_id`, and a guest that yields to tokio at every epoch tick (so the
    /// caller's `tokio::time::timeout` can cut it off).
    fn new_store(&self, function: &Function, request_id: Arc<str>) -> Store<InstanceState> {
        let tags = output::OutputTags::new(function.name.clone(), request_id);
        let data = DataContext::new(
            self.data.clone(),
            function.tables.clone(),
            function.name.clone(),
        );
        let state = InstanceState::new(&function.environment, &function.limits, tags, data);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        store
    }

    /// Compiles (or loads the precompiled artifact of) one module and links it.
    fn compile(
        &self,
        name: &str,
        wasm: &[u8],
        digest: &[u8; 32],
    ) -> Result<(bindings::FunctionPre<InstanceState>, CodeOrigin), LoadError> {
        let precompiled = self
            .artifacts
            .as_ref()
            .and_then(|a| a.load(&self.engine, digest));
        let (component, origin) = match precompiled {
            Some(component) => (component, CodeOrigin::Artifact),
            None => {
                let component =
                    Component::new(&self.engine, wasm).map_err(|e| LoadError::Compile {
                        function: name.to_string(),
                        reason: if wasm.starts_with(b"\0asm") {
                            format!("{e:#}")
                        } else {
                            format!(
                                "not a WebAssembly binary (no `\\0asm` header), and not valid WebAssembly text either: {e:#}"
                            )
                        },
                    })?;
                (component, CodeOrigin::Compiled)
            }
        };
        let world = |e: wasmtime::Error| LoadError::World {
            function: name.to_string(),
            reason: format!("{e:#}"),
        };
        let pre = self.linker.instantiate_pre(&component).map_err(world)?;
        let pre = bindings::FunctionPre::new(pre).map_err(world)?;
        // Only a component that links is worth keeping.
        if let (Some(artifacts), CodeOrigin::Compiled) = (&self.artifacts, origin) {
            artifacts.store(digest, &component);
        }
        Ok((pre, origin))
    }

    /// The precompiled-artifact store, if configured.
    pub fn artifacts(&self) -> Option<&Artifacts> {
        self.artifacts.as_ref()
    }

    /// The largest linear memory a function may be given (the instance pool's slot size,
    /// fixed when the runtime starts).
    pub fn max_memory_bytes(&self) -> u64 {
        self.max_memory_bytes
    }

    /// The compiled-module map, with modules no function uses any more removed.
    fn live_modules(&self) -> std::sync::MutexGuard<'_, CompiledModules> {
        // The map stays consistent even if a holder panicked: recover it.
        let mut modules = self
            .compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        modules.retain(|_, pre| pre.strong_count() > 0);
        modules
    }

    /// Runs `function` on `event` in a fresh instance, within the function's limits.
    pub async fn invoke(
        &self,
        function: &Function,
        event: &HttpRequestEvent,
        request_id: Arc<str>,
    ) -> (Result<HttpResponse, InvokeError>, Timings) {
        let mut timings = Timings::default();
        let started = Instant::now();
        let permit = match self
            .admission
            .admit()
            .instrument(tracing::debug_span!("queue"))
            .await
        {
            Ok(permit) => permit,
            Err(rejected) => {
                timings.queue = started.elapsed();
                return (Err(rejected.into()), timings);
            }
        };
        timings.queue = started.elapsed();

        let mut store = self.new_store(function, request_id);

        let timeout = function.limits.timeout;
        let run = run(function, event, &mut store, &mut timings);
        let result = match tokio::time::timeout(timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(InvokeError::Timeout(timeout)),
        };
        timings.memory_bytes = store.data().limiter.peak_memory() as u64;
        let data = store.data_mut().data();
        (timings.data_calls, timings.data) = (data.calls, data.time);
        (timings.cache_hits, timings.cache_misses) = (data.cache_hits, data.cache_misses);
        drop(store);
        drop(permit);
        (result, timings)
    }

    /// How many distinct compiled modules live functions use.
    pub fn compiled_modules(&self) -> usize {
        self.live_modules().len()
    }

    /// Requests waiting for an instance right now.
    pub fn queue_depth(&self) -> usize {
        self.admission.queue_depth()
    }
}

/// Instantiates and calls the handler; records timings as it goes.
async fn run(
    function: &Function,
    event: &HttpRequestEvent,
    store: &mut Store<InstanceState>,
    timings: &mut Timings,
) -> Result<HttpResponse, InvokeError> {
    let started = Instant::now();
    let instance = function
        .pre
        .instantiate_async(&mut *store)
        .instrument(tracing::debug_span!("instantiate"))
        .await
        .map_err(InvokeError::Trap)?;
    timings.instantiate = started.elapsed();
    let started = Instant::now();
    let outcome = instance
        .portico_edge_handler()
        .call_handle(&mut *store, event)
        .instrument(tracing::debug_span!("guest"))
        .await;
    timings.guest = started.elapsed();
    let response = outcome
        .map_err(InvokeError::Trap)?
        .map_err(InvokeError::Guest)?;
    if response.body.len() as u64 > function.limits.max_response_bytes {
        return Err(InvokeError::ResponseTooLarge {
            size: response.body.len(),
            limit: function.limits.max_response_bytes,
        });
    }
    Ok(response)
}

/// A module's version: the first 12 hex digits of its SHA-256.
pub fn version_of(digest: &[u8; 32]) -> String {
    hex(&digest[..6])
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("portico-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the epoch thread, timeouts will not interrupt guests: {e}");
    }
}
