//! The HTTP front door: route matching with API Gateway's rules, the payload 2.0 event,
//! response mapping, API Gateway's own errors, and the access log.
//!
//! [`Gateway::dispatch`] is the one request path; the hyper server ([`server`]) and
//! `portico invoke` both feed it.

mod event;
pub mod payload;
mod request_id;
mod response;
mod route_key;
mod router;
pub mod server;

pub use event::{clf_time, query_parameters};
pub use request_id::new_request_id;
pub use response::{GatewayError, MalformedResponse};
pub use route_key::{MethodMatch, RouteKey, RouteKeyError, Segment};
pub use router::{Match, Route, RouteConflict, Router};

use crate::manifest::{Manifest, StageConfig};
use crate::metrics::{Metrics, NO_ROUTE};
use crate::runtime::{Function, InvokeError, Runtime, Timings};
use anyhow::Context as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tracing::Instrument as _;

/// Response header carrying the request id, as API Gateway sends it.
pub const REQUEST_ID_HEADER: &str = "apigw-requestid";

/// A request as the gateway sees it, independent of where it came from.
#[derive(Debug, Clone)]
pub struct GatewayRequest {
    /// The request id (sent back in `apigw-requestid` and given to the function).
    pub request_id: Arc<str>,
    /// Method.
    pub method: Method,
    /// Path as received, percent-encoding intact, without the query string.
    pub path: String,
    /// Query string without `?`.
    pub query: String,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// Client address.
    pub source_ip: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub protocol: String,
}

/// A finished response.
#[derive(Debug, Clone)]
pub struct GatewayResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// The routes, the functions behind them, and the runtime that runs them.
pub struct Gateway {
    runtime: Arc<Runtime>,
    metrics: Arc<Metrics>,
    routes: Router<Arc<Function>>,
    stage: StageConfig,
    max_body_bytes: u64,
}

impl Gateway {
    /// Loads every function of `manifest` (compiling each distinct module once and
    /// starting one instance of each function to prove it can start) and builds the
    /// routes. CPU-heavy: run it before serving or off the request path.
    pub async fn load(
        manifest: &Manifest,
        runtime: Arc<Runtime>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Gateway> {
        let mut functions = HashMap::new();
        for (name, config) in &manifest.functions {
            let wasm = std::fs::read(&config.module).with_context(|| {
                format!(
                    "function `{name}`: cannot read module {} (build it with `portico build --manifest {}`, or start with `portico up --build`)",
                    config.module.display(),
                    manifest.path.display()
                )
            })?;
            let started = Instant::now();
            let function = runtime.load(
                name,
                &wasm,
                config.limits,
                config.environment.clone(),
                config.tables.clone(),
            )?;
            runtime.probe(&function).await?;
            tracing::info!(
                function = %name,
                version = function.version(),
                compile_ms = started.elapsed().as_millis() as u64,
                "loaded {}",
                config.module.display()
            );
            functions.insert(name.clone(), Arc::new(function));
        }
        let routes = manifest.routes.map_values(|name| {
            functions
                .get(name)
                .cloned()
                .with_context(|| format!("route to unknown function `{name}`"))
        })?;
        Ok(Gateway {
            runtime,
            metrics,
            routes,
            stage: manifest.stage.clone(),
            max_body_bytes: manifest.server.max_body_bytes,
        })
    }

    /// The largest request body accepted.
    pub fn max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }

    /// The metrics this gateway records into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Requests waiting for a free instance right now.
    pub fn queue_depth(&self) -> usize {
        self.runtime.queue_depth()
    }

    /// The routes being served.
    pub fn routes(&self) -> &Router<Arc<Function>> {
        &self.routes
    }

    /// Routes, invokes and maps one request. Never fails: every problem becomes one of
    /// API Gateway's error responses, and is logged.
    pub async fn dispatch(&self, mut req: GatewayRequest) -> GatewayResponse {
        let started = Instant::now();
        let time = SystemTime::now();
        let Some(matched) = self.routes.at(&req.method, &req.path) else {
            return self.reject(&req, GatewayError::NotFound, started);
        };
        if req.body.len() as u64 > self.max_body_bytes {
            return self.reject(&req, GatewayError::PayloadTooLarge, started);
        }
        let function = &matched.route.value;
        let route = &matched.route.text;
        // Move the body into the event (no copy when the buffer is not shared).
        let body = std::mem::take(&mut req.body);
        let bytes_in = body.len();
        let event = event::build_event(
            &req,
            Vec::from(body),
            event::EventContext {
                route_key: route.clone(),
                path_parameters: matched.params,
                stage: &self.stage,
                time,
            },
        );
        // Everything the invocation logs (guest lines, data calls, stage spans at debug
        // level) nests under this span.
        let span = tracing::info_span!(
            "request",
            request_id = %req.request_id,
            route = %route,
            function = function.name(),
            version = function.version(),
        );
        let (outcome, timings) = self
            .runtime
            .invoke(function, &event, req.request_id.clone())
            .instrument(span)
            .await;
        // Memory is only ever granted once an instance exists: phases are recorded only
        // for invocations that got that far.
        if timings.memory_bytes > 0 {
            self.metrics.invocation(
                function.name(),
                timings.instantiate,
                timings.guest,
                timings.memory_bytes,
            );
        }
        let response = match outcome {
            Ok(response) => response::map_response(response).unwrap_or_else(|e| {
                tracing::warn!(request_id = %req.request_id, function = function.name(), "malformed response: {e}");
                self.metrics.failure(function.name(), "malformed_response");
                GatewayError::Internal.response()
            }),
            Err(e) => {
                let (status, outcome) = match e {
                    InvokeError::Rejected(_) => (GatewayError::Unavailable, "rejected"),
                    InvokeError::Timeout(_) => (GatewayError::Unavailable, "timeout"),
                    InvokeError::Trap(_) => (GatewayError::Internal, "trap"),
                    InvokeError::Guest(_) => (GatewayError::Internal, "guest_error"),
                    InvokeError::ResponseTooLarge { .. } => {
                        (GatewayError::Internal, "response_too_large")
                    }
                };
                tracing::warn!(request_id = %req.request_id, function = function.name(), "invocation failed: {e}");
                self.metrics.failure(function.name(), outcome);
                status.response()
            }
        };
        self.finish(
            &req,
            bytes_in,
            Some((route, function)),
            response,
            timings,
            started,
        )
    }

    /// Answers `req` with one of the gateway's own errors (and logs it).
    pub fn reject(
        &self,
        req: &GatewayRequest,
        error: GatewayError,
        started: Instant,
    ) -> GatewayResponse {
        let bytes_in = req.body.len();
        self.finish(
            req,
            bytes_in,
            None,
            error.response(),
            Timings::default(),
            started,
        )
    }

    fn finish(
        &self,
        req: &GatewayRequest,
        bytes_in: usize,
        target: Option<(&str, &Arc<Function>)>,
        mut response: GatewayResponse,
        timings: Timings,
        started: Instant,
    ) -> GatewayResponse {
        if let Ok(id) = HeaderValue::from_str(&req.request_id) {
            response.headers.insert(REQUEST_ID_HEADER, id);
        }
        let elapsed = started.elapsed();
        let route = target.map_or(NO_ROUTE, |(route, _)| route);
        let function = target.map(|(_, f)| f);
        self.metrics
            .request(route, response.status.as_u16(), elapsed);
        tracing::info!(
            target: "portico::access",
            request_id = %req.request_id,
            stage = %self.stage.name,
            method = %req.method,
            path = %req.path,
            route,
            function = function.map(|f| f.name()),
            version = function.map(|f| f.version()),
            status = response.status.as_u16(),
            bytes_in,
            bytes_out = response.body.len(),
            latency_us = elapsed.as_micros() as u64,
            queue_us = timings.queue.as_micros() as u64,
            instantiate_us = timings.instantiate.as_micros() as u64,
            guest_us = timings.guest.as_micros() as u64,
            data_calls = timings.data_calls,
            data_us = timings.data.as_micros() as u64,
            cache_hits = timings.cache_hits,
            cache_misses = timings.cache_misses,
            memory_bytes = timings.memory_bytes,
        );
        response
    }
}
