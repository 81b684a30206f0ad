//! The function runtime: one wasmtime [`Engine`] with the pooling allocator and epoch
//! interruption, every component compiled once, and a fresh instance per invocation.
//!
//! The runtime owns the engine, the instance pool, admission and limits. What a
//! component *is* — its [`Kind`] — is read from its exports when it is loaded, and each
//! kind has a small executor that turns a trigger into a call:
//! - [`function`]: Portico's `function` world, API Gateway's payload 2.0;
//! - [`wasi_http`]: standard `wasi:http/proxy` components, with streaming bodies;
//! - [`authorizer`]: custom authorizers, API Gateway's Lambda authorizer (payload 2.0,
//!   simple responses).
//!
//! What a component may do beyond computing comes from [`capability`] modules (log,
//! data, outbound HTTP, variables), registered once and held generically: nothing here
//! names one.

mod admission;
pub mod api_section;
mod artifacts;
pub mod authorizer;
pub mod capability;
pub mod cpu;
pub mod function;
mod kind;
mod limits;
mod reuse;
mod state;
pub mod subscriber;
pub mod wasi_http;
pub mod websocket;

pub use admission::{Admission, Rejected};
pub use artifacts::{Artifacts, hex};
pub use capability::{
    Capabilities, Capability, CapabilityConfigs, ConfigureError, FunctionInfo, InstanceBuilder,
    InvocationRecord,
};
pub use kind::Kind;
pub use limits::{
    DEFAULT_MAX_RESPONSE, DEFAULT_MEMORY, DEFAULT_TIMEOUT, LimitError, Limits, MAX_MEMORY,
    MIN_MEMORY,
};
pub use reuse::Reuse;
pub use state::{InstanceState, PeakLimiter};

use crate::exchange::{Authorization, BodyError, IncomingRequest, Response};
use capability::Configured;
use cpu::CpuShare;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument as _;
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
};

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
    /// The function's memory limit is over the instance pool's slot size.
    #[error(
        "function `{function}`: cannot start an instance: its memory limit of {memory} bytes is over the instance pool's slot size of {slot} bytes, fixed at start; restart to apply it"
    )]
    OverPool {
        /// The function being loaded.
        function: String,
        /// Its memory limit.
        memory: u64,
        /// The pool's slot size.
        slot: u64,
    },
    /// A valid component whose exports make it none of the kinds Portico runs.
    #[error(
        "function `{function}`: component does not match Portico's `function` world, its `authorizer-function` world or `wasi:http/proxy`: it exports {exports} (a Portico function exports `portico:edge/handler@0.1.0`, a custom authorizer `portico:edge/authorizer@0.1.0`, a wasi:http component `wasi:http/incoming-handler@0.2.x`)"
    )]
    NoKind {
        /// The function being loaded.
        function: String,
        /// What the component exports.
        exports: String,
    },
    /// The manifest's `kind` says one kind, the exports another.
    #[error(
        "function `{function}`: the manifest says `kind = \"{asserted}\"`, but the component is a {found} component (it exports {export})"
    )]
    KindMismatch {
        /// The function being loaded.
        function: String,
        /// The manifest's `kind`.
        asserted: Kind,
        /// What the exports say.
        found: Kind,
        /// The export that says so.
        export: &'static str,
    },
    /// A component of the right kind whose imports or export types do not fit.
    #[error("function `{function}`: component does not match Portico's `{kind}` world: {reason}")]
    World {
        /// The function being loaded.
        function: String,
        /// The kind it was loaded as.
        kind: Kind,
        /// What is missing or mistyped.
        reason: String,
    },
    /// A capability refused the function's settings.
    #[error("function `{function}`: {source}")]
    Configure {
        /// The function being loaded.
        function: String,
        /// The capability's reason.
        source: ConfigureError,
    },
}

/// Why an invocation produced no response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// No instance was free (HTTP 503).
    #[error(transparent)]
    Rejected(#[from] Rejected),
    /// The request body could not be read (HTTP 413 or 400).
    #[error(transparent)]
    RequestBody(BodyError),
    /// The function ran past its timeout (HTTP 503).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The guest trapped, or could not be instantiated (HTTP 500).
    #[error("trap: {0:#}")]
    Trap(wasmtime::Error),
    /// The guest returned an error instead of a response (HTTP 500).
    #[error("function returned an error: {0}")]
    Guest(String),
    /// The response body was over the function's limit (HTTP 500).
    #[error("response body of {size} bytes is over the limit of {limit} bytes")]
    ResponseTooLarge {
        /// Body size.
        size: u64,
        /// The function's `max_response`.
        limit: u64,
    },
    /// The response was not valid HTTP, or an authorizer's answer not valid (HTTP 500).
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The component is of a kind that does not serve this trigger, such as an
    /// authorizer asked to answer an HTTP request (HTTP 500). Routes are checked when
    /// they are built, so this is a bug if it happens.
    #[error("a {0} component does not serve this kind of request")]
    WrongKind(Kind),
}

impl InvokeError {
    /// The outcome label of `portico_invocation_failures_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            InvokeError::Rejected(_) => "rejected",
            InvokeError::RequestBody(_) => "bad_request_body",
            InvokeError::Timeout(_) => "timeout",
            InvokeError::Trap(_) => "trap",
            InvokeError::Guest(_) => "guest_error",
            InvokeError::ResponseTooLarge { .. } => "response_too_large",
            InvokeError::Malformed(_) => "malformed_response",
            InvokeError::WrongKind(_) => "wrong_kind",
        }
    }
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

/// What a function is loaded with besides its code.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    /// The function's name.
    pub name: String,
    /// The kind the manifest asserts, if any (the exports decide otherwise).
    pub kind: Option<Kind>,
    /// Resource limits.
    pub limits: Limits,
    /// Reserved concurrency: at most this many of its instances at once, whatever the
    /// pool has free (Lambda's reserved concurrency).
    pub max_concurrency: Option<std::num::NonZeroU32>,
    /// The environment the component sees (and no other).
    pub environment: Vec<(String, String)>,
    /// Every capability's settings for the function.
    pub capabilities: CapabilityConfigs,
    /// Instance reuse (`reuse = { .. }`), for Portico functions: see [`Reuse`].
    pub reuse: Option<Reuse>,
}

/// A compiled component of one kind, ready to instantiate.
enum Handler {
    Function(Arc<function::Pre>),
    WasiHttp(Arc<wasi_http::Pre>),
    Authorizer(Arc<authorizer::Pre>),
    WebSocket(Arc<websocket::Pre>),
    /// A topic subscriber.
    Subscriber(Arc<subscriber::Pre>),
}

impl Clone for Handler {
    fn clone(&self) -> Self {
        match self {
            Handler::Function(pre) => Handler::Function(Arc::clone(pre)),
            Handler::WasiHttp(pre) => Handler::WasiHttp(Arc::clone(pre)),
            Handler::Authorizer(pre) => Handler::Authorizer(Arc::clone(pre)),
            Handler::WebSocket(pre) => Handler::WebSocket(Arc::clone(pre)),
            Handler::Subscriber(pre) => Handler::Subscriber(Arc::clone(pre)),
        }
    }
}

impl Handler {
    fn kind(&self) -> Kind {
        match self {
            Handler::Function(_) => Kind::Function,
            Handler::WasiHttp(_) => Kind::WasiHttp,
            Handler::Authorizer(_) => Kind::Authorizer,
            Handler::WebSocket(_) => Kind::WebSocket,
            Handler::Subscriber(_) => Kind::Subscriber,
        }
    }

    fn downgrade(&self) -> WeakHandler {
        match self {
            Handler::Function(pre) => WeakHandler::Function(Arc::downgrade(pre)),
            Handler::WasiHttp(pre) => WeakHandler::WasiHttp(Arc::downgrade(pre)),
            Handler::Authorizer(pre) => WeakHandler::Authorizer(Arc::downgrade(pre)),
            Handler::WebSocket(pre) => WeakHandler::WebSocket(Arc::downgrade(pre)),
            Handler::Subscriber(pre) => WeakHandler::Subscriber(Arc::downgrade(pre)),
        }
    }
}

/// A compiled module no function may use any more is freed: the cache holds it weakly.
enum WeakHandler {
    Function(Weak<function::Pre>),
    WasiHttp(Weak<wasi_http::Pre>),
    Authorizer(Weak<authorizer::Pre>),
    WebSocket(Weak<websocket::Pre>),
    Subscriber(Weak<subscriber::Pre>),
}

impl WeakHandler {
    fn upgrade(&self) -> Option<Handler> {
        match self {
            WeakHandler::Function(pre) => pre.upgrade().map(Handler::Function),
            WeakHandler::WasiHttp(pre) => pre.upgrade().map(Handler::WasiHttp),
            WeakHandler::Authorizer(pre) => pre.upgrade().map(Handler::Authorizer),
            WeakHandler::WebSocket(pre) => pre.upgrade().map(Handler::WebSocket),
            WeakHandler::Subscriber(pre) => pre.upgrade().map(Handler::Subscriber),
        }
    }

    fn alive(&self) -> bool {
        match self {
            WeakHandler::Function(pre) => pre.strong_count() > 0,
            WeakHandler::WasiHttp(pre) => pre.strong_count() > 0,
            WeakHandler::Authorizer(pre) => pre.strong_count() > 0,
            WeakHandler::WebSocket(pre) => pre.strong_count() > 0,
            WeakHandler::Subscriber(pre) => pre.strong_count() > 0,
        }
    }
}

/// A compiled, linked function, ready to instantiate.
pub struct Function {
    name: Arc<str>,
    version: String,
    digest: [u8; 32],
    origin: CodeOrigin,
    handler: Handler,
    spec: FunctionSpec,
    configured: Configured,
    requests: Arc<AtomicU64>,
    /// The function's own admission gate (`max_concurrency`), shared by its versions.
    reserved: Option<Arc<Admission>>,
    /// Its `portico-api` section (what it declares of its routes), if it has one.
    api: Option<Arc<[u8]>>,
    /// Its kept instance, when it reuses instances.
    kept: Option<reuse::Slot>,
}

impl Function {
    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether requests may reuse an instance (`reuse`).
    pub fn reuses_instances(&self) -> bool {
        self.kept.is_some()
    }

    /// Content hash of the module (first 12 hex digits of its SHA-256).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// SHA-256 of the module.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// What kind of component it is.
    pub fn kind(&self) -> Kind {
        self.handler.kind()
    }

    /// Its `portico-api` custom section ([`api_section`]), if it has one.
    pub fn api_section(&self) -> Option<&[u8]> {
        self.api.as_deref()
    }

    /// Where the compiled code came from.
    pub fn origin(&self) -> CodeOrigin {
        self.origin
    }

    /// What it was loaded with.
    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// The function's limits.
    pub fn limits(&self) -> &Limits {
        &self.spec.limits
    }

    /// The environment the function sees.
    pub fn environment(&self) -> &[(String, String)] {
        &self.spec.environment
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

    /// Ends an invocation's store: its peak memory and every capability's figures go
    /// into `record`.
    fn finish_store(&self, mut store: Store<InstanceState>, record: &mut InvocationRecord) {
        self.report_store(&mut store, record);
    }

    /// The instance's figures into `record`: peak memory (of the instance's life, for a
    /// reused one) and every capability's.
    fn report_store(&self, store: &mut Store<InstanceState>, record: &mut InvocationRecord) {
        record.memory_bytes = store.data().limiter.peak_memory() as u64;
        store.data_mut().report(&self.configured, record);
    }
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("kind", &self.kind())
            .field("limits", self.limits())
            .finish_non_exhaustive()
    }
}

/// An HTTP request on its way to a function, with what routing found out.
#[derive(Debug)]
pub struct HttpTrigger {
    /// The request.
    pub request: IncomingRequest,
    /// The route key that matched (`GET /pets/{id}`, `$default`).
    pub route_key: String,
    /// Decoded path parameters.
    pub path_parameters: Vec<(String, String)>,
    /// The stage's name.
    pub stage: String,
    /// The stage's variables.
    pub stage_variables: Vec<(String, String)>,
    /// When the request arrived.
    pub time: SystemTime,
    /// The route's payload format version: how the request becomes the event.
    pub payload: crate::exchange::PayloadVersion,
}

/// The answer of an HTTP invocation.
#[derive(Debug)]
pub struct Invocation {
    /// The response, or why there is none.
    pub response: Result<Response, InvokeError>,
    /// The invocation's record: ready, or (for a streaming response) sent once the
    /// guest is done.
    pub record: Pending,
}

/// An [`InvocationRecord`] now or later.
#[derive(Debug)]
pub enum Pending {
    /// The invocation is over.
    Ready(InvocationRecord),
    /// The guest is still writing the response body.
    Later(tokio::sync::oneshot::Receiver<wasi_http::Finished>),
}

/// The engine, the linker and the instance pool's admission gate.
pub struct Runtime {
    engine: Engine,
    linker: Linker<InstanceState>,
    admission: Admission,
    capabilities: Capabilities,
    /// Modules already compiled and linked, by SHA-256 of their bytes, so functions that
    /// share a module compile it once. Weak: a module no function uses is freed.
    compiled: Mutex<HashMap<[u8; 32], WeakHandler>>,
    /// Precompiled components on disk, if configured.
    artifacts: Option<Artifacts>,
    /// The largest linear memory an instance may have (the pool's slot size).
    max_memory_bytes: u64,
    /// How running guests share the worker threads.
    cpu: CpuShare,
    /// Functions' own gates (`max_concurrency`), by name, held weakly.
    reserved: Mutex<HashMap<String, Weak<Admission>>>,
    /// The pool's queue bounds, which functions' own gates take too.
    max_queue: u32,
    queue_timeout: Duration,
}

impl Runtime {
    /// Builds the engine and links WASI (no authority), `wasi:http` (outbound requests
    /// denied unless a capability grants them), what each kind imports, and every
    /// capability in `capabilities`.
    pub fn new(config: &RuntimeConfig, capabilities: Capabilities) -> anyhow::Result<Self> {
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
        function::link(&mut linker)?;
        capabilities.link(&mut linker)?;
        spawn_epoch_ticker(&engine)?;
        Ok(Runtime {
            linker,
            admission: Admission::new(config.max_instances, config.max_queue, config.queue_timeout),
            capabilities,
            compiled: Mutex::new(HashMap::new()),
            artifacts: config
                .artifacts
                .as_ref()
                .map(|dir| Artifacts::new(dir.clone(), &engine)),
            max_memory_bytes: config.max_memory_bytes,
            cpu: CpuShare::for_this_machine(),
            reserved: Mutex::default(),
            max_queue: config.max_queue,
            queue_timeout: config.queue_timeout,
            engine,
        })
    }

    /// The registered capability of type `C`, if any (see [`Capabilities::get`]).
    pub fn capability<C: capability::Capability>(&self) -> Option<&C> {
        self.capabilities.get::<C>()
    }

    /// The one load path (`up`, `invoke`, deploys, reloads, tests, benches): checks the
    /// limits against the pool, compiles `wasm` off the async threads, detects its kind,
    /// configures every capability, and starts one instance to prove it can start.
    pub async fn prepare(
        self: &Arc<Self>,
        spec: FunctionSpec,
        wasm: Arc<[u8]>,
    ) -> Result<Function, LoadError> {
        if spec.limits.memory_bytes > self.max_memory_bytes {
            return Err(LoadError::OverPool {
                function: spec.name,
                memory: spec.limits.memory_bytes,
                slot: self.max_memory_bytes,
            });
        }
        let name = spec.name.clone();
        let compiler = Arc::clone(self);
        let function = tokio::task::spawn_blocking(move || compiler.load(spec, &wasm))
            .await
            .map_err(|e| LoadError::Compile {
                function: name,
                reason: format!("the compiler thread failed: {e}"),
            })??;
        self.probe(&function).await?;
        Ok(function)
    }

    /// Compiles `wasm` (or reuses its compiled code) and configures it as `spec` says.
    /// CPU-heavy: [`Runtime::prepare`] runs it off the async threads.
    pub fn load(&self, spec: FunctionSpec, wasm: &[u8]) -> Result<Function, LoadError> {
        let digest: [u8; 32] = Sha256::digest(wasm).into();
        let version = version_of(&digest);
        let cached = self
            .live_modules()
            .get(&digest)
            .and_then(WeakHandler::upgrade);
        let (handler, origin) = match cached {
            Some(handler) => (handler, CodeOrigin::Shared),
            None => {
                let (handler, origin) = self.compile(&spec, wasm, &digest)?;
                self.live_modules().insert(digest, handler.downgrade());
                (handler, origin)
            }
        };
        if spec.reuse.is_some() && handler.kind() != Kind::Function {
            return Err(LoadError::Compile {
                function: spec.name,
                reason: format!(
                    "`reuse` is for Portico functions (components exporting `{}`); this is a {} component",
                    Kind::Function.export(),
                    handler.kind()
                ),
            });
        }
        if let Some(asserted) = spec.kind.filter(|k| *k != handler.kind()) {
            return Err(LoadError::KindMismatch {
                function: spec.name,
                asserted,
                found: handler.kind(),
                export: handler.kind().export(),
            });
        }
        let configured = self
            .capabilities
            .configure(&FunctionInfo {
                name: &spec.name,
                configs: &spec.capabilities,
            })
            .map_err(|source| LoadError::Configure {
                function: spec.name.clone(),
                source,
            })?;
        // What it declares for the API's document: a section that cannot be read costs
        // the document its schemas, never the function its load.
        let api = match api_section::read(wasm) {
            Ok(section) => section.map(Arc::from),
            Err(e) => {
                tracing::warn!(function = %spec.name, "its API declaration is ignored: {e}");
                None
            }
        };
        Ok(Function {
            name: spec.name.as_str().into(),
            version,
            digest,
            origin,
            handler,
            configured,
            api,
            requests: Arc::default(),
            reserved: spec
                .max_concurrency
                .map(|n| self.reserved_gate(&spec.name, n.get())),
            kept: spec.reuse.map(reuse::Slot::new),
            spec,
        })
    }

    /// The admission gate of function `name` with `max_concurrency` = `n`: the one its
    /// live versions already use when the limit is unchanged (so a deploy does not let
    /// twice as many run during the swap), else a new one. Its queue has the pool's
    /// bounds.
    fn reserved_gate(&self, name: &str, n: u32) -> Arc<Admission> {
        let mut gates = self
            .reserved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        gates.retain(|_, gate| gate.strong_count() > 0);
        if let Some(gate) = gates.get(name).and_then(Weak::upgrade)
            && gate.capacity() == n
        {
            return gate;
        }
        let gate = Arc::new(Admission::new(n, self.max_queue, self.queue_timeout));
        gates.insert(name.to_string(), Arc::downgrade(&gate));
        gate
    }

    /// Creates one instance of `function`, within its limits, and drops it: a module that
    /// cannot start is refused when it is loaded rather than on every request.
    pub async fn probe(&self, function: &Function) -> Result<(), LoadError> {
        let fail = |reason: String| LoadError::Start {
            function: function.name.to_string(),
            reason,
        };
        let (mut store, turns) = self.new_store(function, &"(load)".into(), None);
        let timeout = function.limits().timeout;
        let started = match &function.handler {
            Handler::Function(pre) => {
                tokio::time::timeout(timeout, turns.gate(function::probe(pre, &mut store))).await
            }
            Handler::WasiHttp(pre) => {
                tokio::time::timeout(timeout, turns.gate(wasi_http::probe(pre, &mut store))).await
            }
            Handler::Authorizer(pre) => {
                tokio::time::timeout(timeout, turns.gate(authorizer::probe(pre, &mut store))).await
            }
            Handler::WebSocket(pre) => {
                tokio::time::timeout(timeout, turns.gate(websocket::probe(pre, &mut store))).await
            }
            Handler::Subscriber(pre) => {
                tokio::time::timeout(timeout, turns.gate(subscriber::probe(pre, &mut store))).await
            }
        };
        match started {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(fail(format!("{e:#}"))),
            Err(_) => Err(fail(format!(
                "instantiation ran past the {timeout:?} timeout"
            ))),
        }
    }

    /// Runs an HTTP request through a fresh instance of `function`, within its limits;
    /// `timeout` (a route's own) replaces the function's timeout when given.
    pub async fn invoke_http(
        &self,
        function: &Arc<Function>,
        trigger: HttpTrigger,
        timeout: Option<Duration>,
    ) -> Invocation {
        let timeout = timeout.unwrap_or(function.limits().timeout);
        match &function.handler {
            Handler::Function(pre) => {
                let (response, record) =
                    function::invoke(self, function, pre, trigger, timeout).await;
                Invocation {
                    response,
                    record: Pending::Ready(record),
                }
            }
            Handler::WasiHttp(pre) => {
                let (response, finished) =
                    wasi_http::invoke(self, function, pre, trigger, timeout).await;
                Invocation {
                    response,
                    record: Pending::Later(finished),
                }
            }
            Handler::Authorizer(_) | Handler::WebSocket(_) | Handler::Subscriber(_) => Invocation {
                response: Err(InvokeError::WrongKind(function.kind())),
                record: Pending::Ready(InvocationRecord::default()),
            },
        }
    }

    /// Runs one WebSocket event through a fresh instance of the WebSocket route
    /// function `function`, within its limits, for a connection whose upgrade `caller`
    /// authorised (its policies' output, read through the `authorization` interface). A function of another kind answers
    /// [`InvokeError::WrongKind`].
    pub async fn invoke_websocket(
        &self,
        function: &Arc<Function>,
        event: websocket::bindings::WebsocketEvent,
        caller: Option<&Arc<Authorization>>,
    ) -> (
        Result<websocket::bindings::WebsocketResponse, InvokeError>,
        InvocationRecord,
    ) {
        let Handler::WebSocket(pre) = &function.handler else {
            return (
                Err(InvokeError::WrongKind(function.kind())),
                InvocationRecord::default(),
            );
        };
        let mut record = InvocationRecord::default();
        let request_id: Arc<str> = event.request_context.request_id.as_str().into();
        let timeout = function.limits().timeout;
        let max_response = function.limits().max_response_bytes;
        let result = self
            .in_fresh_instance(
                function,
                &request_id,
                caller,
                timeout,
                &mut record,
                async |store, record| {
                    websocket::run(pre, &event, store, record, max_response).await
                },
            )
            .await;
        (result, record)
    }

    /// Delivers `message` to the topic subscriber `function` through a fresh instance,
    /// within its limits; `request_id` names the delivery in logs. A function of
    /// another kind answers [`InvokeError::WrongKind`].
    pub async fn invoke_subscriber(
        &self,
        function: &Arc<Function>,
        message: subscriber::bindings::Message,
        request_id: &Arc<str>,
    ) -> (Result<(), InvokeError>, InvocationRecord) {
        let Handler::Subscriber(pre) = &function.handler else {
            return (
                Err(InvokeError::WrongKind(function.kind())),
                InvocationRecord::default(),
            );
        };
        let mut record = InvocationRecord::default();
        let timeout = function.limits().timeout;
        let result = self
            .in_fresh_instance(
                function,
                request_id,
                None,
                timeout,
                &mut record,
                async |store, record| subscriber::run(pre, &message, store, record).await,
            )
            .await;
        (result, record)
    }

    /// Asks the custom authorizer `function` about `trigger`, whose identity sources
    /// evaluated to `identity`, within the function's limits. A function of another
    /// kind answers [`InvokeError::WrongKind`].
    pub async fn invoke_authorizer(
        &self,
        function: &Arc<Function>,
        trigger: &HttpTrigger,
        identity: Vec<String>,
    ) -> (Result<authorizer::Verdict, InvokeError>, InvocationRecord) {
        let Handler::Authorizer(pre) = &function.handler else {
            return (
                Err(InvokeError::WrongKind(function.kind())),
                InvocationRecord::default(),
            );
        };
        let request = authorizer::build_request(trigger, identity);
        authorizer::invoke(self, function, pre, request, function.limits().timeout).await
    }

    /// Runs one invocation of `function` in a fresh instance, as every executor whose
    /// call ends with the guest does (a Portico function, an authorizer): waits for an
    /// instance slot, builds the store for a request `request_id` from `caller`, runs
    /// `call` on it taking turns with the other guests, within `timeout`, and fills
    /// `record` (queue, CPU, memory and every capability's figures; `call` adds its own
    /// phases).
    async fn in_fresh_instance<T>(
        &self,
        function: &Function,
        request_id: &Arc<str>,
        caller: Option<&Arc<Authorization>>,
        timeout: Duration,
        record: &mut InvocationRecord,
        call: impl AsyncFnOnce(
            &mut Store<InstanceState>,
            &mut InvocationRecord,
        ) -> Result<T, InvokeError>,
    ) -> Result<T, InvokeError> {
        let started = std::time::Instant::now();
        let permits = self.admit(function).await;
        record.queue = started.elapsed();
        let _permits = permits?;
        let (mut store, turns) = self.new_store(function, request_id, caller);
        let mut cpu = Duration::ZERO;
        let run = cpu::OnCpu::new(turns.gate(call(&mut store, record)), &mut cpu);
        let result = match tokio::time::timeout(timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(InvokeError::Timeout(timeout)),
        };
        record.cpu = cpu;
        function.finish_store(store, record);
        result
    }

    /// Runs one Portico function call in `function`'s kept instance when it has one
    /// within its limits, else in a new instance that is kept afterwards (see
    /// [`reuse`] for the rules): the request's own state is set up either way, and the
    /// instance is kept only after an `Ok` call.
    async fn in_kept_instance(
        &self,
        function: &Function,
        call: KeptCall<'_>,
        record: &mut InvocationRecord,
    ) -> Result<crate::exchange::Response, InvokeError> {
        let KeptCall {
            pre,
            event,
            request_id,
            caller,
            timeout,
            max_response,
        } = call;
        let Some(slot) = &function.kept else {
            return Err(InvokeError::WrongKind(function.kind()));
        };
        let started = std::time::Instant::now();
        let (mut store, mut instance, served, born, permits) = match slot.take() {
            Some(mut kept) => {
                kept.store.data_mut().begin_request(
                    &function.name,
                    request_id,
                    caller,
                    &function.configured,
                );
                (
                    kept.store,
                    Some(kept.instance),
                    kept.served,
                    kept.born,
                    kept.permits,
                )
            }
            None => {
                let permits = self.admit(function).await?;
                let (store, _) = self.new_store(function, request_id, caller);
                (store, None, 0, std::time::Instant::now(), permits)
            }
        };
        record.queue = started.elapsed();
        let turns = self.cpu.turns(&function.name);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(turns.deadline_callback());
        let mut cpu = Duration::ZERO;
        let call = async {
            let instance = match instance.take() {
                Some(instance) => instance,
                None => {
                    let started = std::time::Instant::now();
                    let made = pre
                        .instantiate_async(&mut store)
                        .await
                        .map_err(InvokeError::Trap)?;
                    record.instantiate = started.elapsed();
                    made
                }
            };
            let started = std::time::Instant::now();
            let outcome = instance
                .portico_edge_handler()
                .call_handle(&mut store, event)
                .await;
            record.guest = started.elapsed();
            Ok::<_, InvokeError>((instance, outcome))
        };
        let run = cpu::OnCpu::new(turns.gate(call), &mut cpu);
        let result = match tokio::time::timeout(timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(InvokeError::Timeout(timeout)),
        };
        record.cpu = cpu;
        function.report_store(&mut store, record);
        let (instance, outcome) = result?;
        let mapped = function::answer(outcome, max_response)?;
        slot.put(reuse::Kept {
            store,
            instance,
            served: served + 1,
            born,
            permits,
        });
        Ok(mapped)
    }

    /// Waits for a slot of `function`'s own gate, if it has one, then for a free
    /// instance slot (each a bounded wait in a bounded queue). Waiting for its own gate
    /// holds no pool slot, so a function at its `max_concurrency` leaves the pool to
    /// the others.
    async fn admit(&self, function: &Function) -> Result<Permits, Rejected> {
        async {
            let reserved = match &function.reserved {
                Some(gate) => Some(gate.admit().await?),
                None => None,
            };
            let pool = self.admission.admit().await?;
            Ok(Permits {
                _pool: pool,
                _reserved: reserved,
            })
        }
        .instrument(tracing::debug_span!("queue"))
        .await
    }

    /// A fresh store for one instance of `function` serving a request from `caller` (what
    /// the route's authorizer established): its limits, its environment, every
    /// capability's instance state, and a guest that yields to tokio at every epoch tick
    /// (so the caller's `tokio::time::timeout` can cut it off); with the [`cpu::Turns`]
    /// through whose [`gate`](cpu::Turns::gate) the caller runs it, so it takes turns
    /// with the other guests ([`cpu`]).
    fn new_store(
        &self,
        function: &Function,
        request_id: &Arc<str>,
        caller: Option<&Arc<Authorization>>,
    ) -> (Store<InstanceState>, cpu::Turns) {
        let state = InstanceState::new(
            &function.name,
            request_id,
            caller,
            &function.spec.environment,
            &function.spec.limits,
            &function.configured,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        let turns = self.cpu.turns(&function.name);
        store.epoch_deadline_callback(turns.deadline_callback());
        (store, turns)
    }

    /// Compiles (or loads the precompiled artifact of) one module, detects its kind and
    /// links it.
    fn compile(
        &self,
        spec: &FunctionSpec,
        wasm: &[u8],
        digest: &[u8; 32],
    ) -> Result<(Handler, CodeOrigin), LoadError> {
        let name = &spec.name;
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
        let (kinds, exports) = kind::detect(&component, &self.engine);
        // A component exporting both is taken as the kind the manifest asserts, else the
        // first in `Kind::ALL` order.
        let kind = spec
            .kind
            .filter(|k| kinds.contains(k))
            .or_else(|| kinds.first().copied())
            .ok_or_else(|| LoadError::NoKind {
                function: name.to_string(),
                exports: if exports.is_empty() {
                    "no interfaces".to_string()
                } else {
                    exports
                        .iter()
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })?;
        let world = |e: wasmtime::Error| LoadError::World {
            function: name.to_string(),
            kind,
            reason: format!("{e:#}"),
        };
        let pre = self.linker.instantiate_pre(&component).map_err(world)?;
        let handler = match kind {
            Kind::Function => Handler::Function(Arc::new(function::Pre::new(pre).map_err(world)?)),
            Kind::WasiHttp => Handler::WasiHttp(Arc::new(wasi_http::Pre::new(pre).map_err(world)?)),
            Kind::Authorizer => {
                Handler::Authorizer(Arc::new(authorizer::Pre::new(pre).map_err(world)?))
            }
            Kind::WebSocket => {
                Handler::WebSocket(Arc::new(websocket::Pre::new(pre).map_err(world)?))
            }
            Kind::Subscriber => {
                Handler::Subscriber(Arc::new(subscriber::Pre::new(pre).map_err(world)?))
            }
        };
        // Only a component that links is worth keeping.
        if let (Some(artifacts), CodeOrigin::Compiled) = (&self.artifacts, origin) {
            artifacts.store(digest, &component);
        }
        Ok((handler, origin))
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
    fn live_modules(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], WeakHandler>> {
        // The map stays consistent even if a holder panicked: recover it.
        let mut modules = self
            .compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        modules.retain(|_, handler| handler.alive());
        modules
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

/// One Portico function call for [`Runtime::in_kept_instance`].
pub(crate) struct KeptCall<'a> {
    pub pre: &'a function::Pre,
    pub event: &'a function::bindings::HttpRequestEvent,
    pub request_id: &'a Arc<str>,
    pub caller: Option<&'a Arc<Authorization>>,
    pub timeout: Duration,
    pub max_response: u64,
}

/// The slots an invocation holds while it runs: the pool's and, with `max_concurrency`,
/// its function's.
pub(crate) struct Permits {
    _pool: OwnedSemaphorePermit,
    _reserved: Option<OwnedSemaphorePermit>,
}

/// A module's version: the first 12 hex digits of its SHA-256.
pub fn version_of(digest: &[u8; 32]) -> String {
    hex(&digest[..6])
}

/// Advances the engine's epoch every [`cpu::EPOCH_TICK`] until the engine is dropped.
///
/// Without it no timeout interrupts a spinning guest, so failing to start it is fatal.
fn spawn_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("portico-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(cpu::EPOCH_TICK);
            }
        });
    spawned.map(drop).map_err(|e| {
        anyhow::anyhow!(
            "cannot start the epoch thread (without it timeouts cannot interrupt guests): {e}"
        )
    })
}
