//! What one function instance's `Store` holds: WASI with no ambient authority, wasi:http
//! with outbound requests denied, the memory limiter, and the log tags.

use super::bindings::portico::edge::log::{self, Level};
use super::output::{GuestOutput, OutputTags, Stream};
use crate::data::DataContext;
use crate::manifest::Limits;
use std::sync::atomic::Ordering;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// Per-invocation state inside a `Store`.
pub struct InstanceState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: DenyOutbound,
    pub(super) limiter: PeakLimiter,
    tags: OutputTags,
    data: DataContext,
}

impl InstanceState {
    /// State for one invocation: the function's environment and nothing else — no
    /// preopened directories, no network, no arguments; stdout and stderr go to the log.
    pub fn new(
        environment: &[(String, String)],
        limits: &Limits,
        tags: OutputTags,
        data: DataContext,
    ) -> Self {
        let wasi = WasiCtxBuilder::new()
            .envs(environment)
            .stdout(GuestOutput::new(tags.clone(), Stream::Stdout))
            .stderr(GuestOutput::new(tags.clone(), Stream::Stderr))
            .build();
        let memory = usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX);
        InstanceState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: DenyOutbound,
            limiter: PeakLimiter {
                limits: StoreLimitsBuilder::new()
                    .memory_size(memory)
                    .trap_on_grow_failure(false)
                    .build(),
                peak_memory: 0,
            },
            tags,
            data,
        }
    }

    /// The invocation's data context (grants, backend, counters).
    pub(crate) fn data(&mut self) -> &mut DataContext {
        &mut self.data
    }

    /// The resources the guest holds (WASI streams, open tables, …).
    pub(crate) fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
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
            hooks: &mut self.hooks,
        }
    }
}

/// Outbound HTTP is linked (so components that import `wasi:http/outgoing-handler`
/// instantiate) but every request fails with `HTTP-request-denied`.
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
        tracing::debug!(uri = %request.uri(), "outbound HTTP request denied");
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

impl log::Host for InstanceState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let budget = &self.tags.budget;
        let allowed = budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(message.len()))
            })
            .unwrap_or(0);
        if allowed == 0 {
            return Ok(());
        }
        let (function, request_id) = (&*self.tags.function, &*self.tags.request_id);
        let message = &message[..floor_char_boundary(&message, allowed)];
        match level {
            Level::Trace => {
                tracing::trace!(target: "portico::guest", function, request_id, "{message}")
            }
            Level::Debug => {
                tracing::debug!(target: "portico::guest", function, request_id, "{message}")
            }
            Level::Info => {
                tracing::info!(target: "portico::guest", function, request_id, "{message}")
            }
            Level::Warn => {
                tracing::warn!(target: "portico::guest", function, request_id, "{message}")
            }
            Level::Error => {
                tracing::error!(target: "portico::guest", function, request_id, "{message}")
            }
        }
        Ok(())
    }
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `http-types` declares only types; nothing to implement.
impl super::bindings::portico::edge::http_types::Host for InstanceState {}
