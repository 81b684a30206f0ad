//! What one instance's `Store` holds: WASI with no ambient authority, the `wasi:http`
//! context (outbound requests denied unless a capability set hooks), the memory
//! limiter, and each capability's instance state, held generically.

use super::capability::{Configured, InstanceBuilder, InvocationRecord};
use super::limits::Limits;
use crate::exchange::Authorization;
use std::any::Any;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// Per-invocation state inside a `Store`.
pub struct InstanceState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: Box<dyn WasiHttpHooks + Send>,
    pub(super) limiter: PeakLimiter,
    capabilities: Vec<Box<dyn Any + Send>>,
}

impl InstanceState {
    /// State for one invocation of a function with `limits` and `environment`, each
    /// capability configured as `configured` building its part. No preopened
    /// directories, no network, no arguments; only what capabilities grant.
    pub(super) fn new(
        function: &Arc<str>,
        request_id: &Arc<str>,
        caller: Option<&Arc<Authorization>>,
        environment: &[(String, String)],
        limits: &Limits,
        configured: &Configured,
    ) -> Self {
        let mut wasi = WasiCtxBuilder::new();
        // wasmtime-wasi's defaults already refuse these; said here so that no upgrade of
        // its defaults opens sockets to guests.
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .envs(environment);
        let mut hooks = None;
        let capabilities = configured.instantiate(&mut InstanceBuilder {
            function,
            request_id,
            caller,
            wasi: &mut wasi,
            http_hooks: &mut hooks,
        });
        let memory = usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX);
        InstanceState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: hooks.unwrap_or_else(|| Box::new(DenyOutbound)),
            limiter: PeakLimiter {
                limits: StoreLimitsBuilder::new()
                    .memory_size(memory)
                    .trap_on_grow_failure(false)
                    .build(),
                peak_memory: 0,
            },
            capabilities,
        }
    }

    /// A reused instance's state for its next request: every capability's instance state
    /// and the outbound hooks made anew for `request_id` and `caller`; the WASI context
    /// and the resource table (the guest's handles) stay, as the guest's memory does.
    pub(super) fn begin_request(
        &mut self,
        function: &Arc<str>,
        request_id: &Arc<str>,
        caller: Option<&Arc<Authorization>>,
        configured: &Configured,
    ) {
        // Capabilities may add to a WASI builder; the instance keeps the context it was
        // built with (its environment is the function's, the same for every request).
        let mut unused = WasiCtxBuilder::new();
        let mut hooks = None;
        self.capabilities = configured.instantiate(&mut InstanceBuilder {
            function,
            request_id,
            caller,
            wasi: &mut unused,
            http_hooks: &mut hooks,
        });
        self.hooks = hooks.unwrap_or_else(|| Box::new(DenyOutbound));
    }

    /// The instance state of the capability whose state type is `T`, if registered.
    pub fn capability<T: 'static>(&mut self) -> Option<&mut T> {
        self.capabilities
            .iter_mut()
            .find_map(|c| c.downcast_mut::<T>())
    }

    /// Like [`InstanceState::capability`], together with the resource table (for
    /// capabilities that hand the guest resources).
    pub fn capability_and_resources<T: 'static>(&mut self) -> (Option<&mut T>, &mut ResourceTable) {
        let state = self
            .capabilities
            .iter_mut()
            .find_map(|c| c.downcast_mut::<T>());
        (state, &mut self.table)
    }

    /// The resources the guest holds (WASI streams, open tables, ...).
    pub fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// Lets every capability add its figures to `record`.
    pub(super) fn report(&mut self, configured: &Configured, record: &mut InvocationRecord) {
        configured.report(&mut self.capabilities, record);
    }
}

/// The function's memory limit, remembering the largest linear memory granted (initial
/// sizes count: instantiation asks the limiter too).
pub struct PeakLimiter {
    limits: StoreLimits,
    peak_memory: usize,
}

impl PeakLimiter {
    /// Largest linear memory, in bytes, granted so far.
    pub fn peak_memory(&self) -> usize {
        self.peak_memory
    }
}

impl ResourceLimiter for PeakLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = self.limits.memory_growing(current, desired, maximum)?;
        let size = if granted { desired } else { current };
        self.peak_memory = self.peak_memory.max(size);
        Ok(granted)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut *self.hooks,
        }
    }
}

/// What outbound `wasi:http` requests do when no capability granted any: they fail
/// with `HTTP-request-denied`. (The interfaces are linked all the same, so components
/// from toolchains that always import them instantiate.)
struct DenyOutbound;

impl WasiHttpHooks for DenyOutbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
                )>,
            > + Send,
    > {
        tracing::debug!(uri = %request.uri().authority().map_or("", |a| a.as_str()), "outbound HTTP request denied");
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
