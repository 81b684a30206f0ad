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
use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::collections::BTreeMap;
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

/// What the gateway serves at one moment: the routes, the functions behind them and the
/// stage. A deploy or a manifest reload builds a new one and swaps it in whole, so a
/// function's code, limits and routes change together.
#[derive(Debug, Clone)]
pub struct Served {
    /// Routes to functions.
    pub routes: Router<Arc<Function>>,
    /// Every served function by name (including functions no route leads to).
    pub functions: BTreeMap<String, Arc<Function>>,
    /// Stage name and variables.
    pub stage: StageConfig,
}

impl Served {
    /// Builds the route table for `functions`: `routes` lists (route key, function name).
    /// Fails on a route to an unknown function or two routes that conflict.
    pub fn new(
        functions: BTreeMap<String, Arc<Function>>,
        routes: &[(RouteKey, String)],
        stage: StageConfig,
    ) -> anyhow::Result<Served> {
        let mut router = Router::new();
        for (key, name) in routes {
            let function = functions
                .get(name)
                .with_context(|| format!("route `{key}` leads to unknown function `{name}`"))?;
            router.insert(key.clone(), Arc::clone(function))?;
        }
        Ok(Served {
            routes: router,
            functions,
            stage,
        })
    }

    /// The route keys leading to each function, in route order.
    pub fn route_list(&self) -> Vec<(RouteKey, String)> {
        self.routes
            .routes()
            .iter()
            .map(|r| (r.key.clone(), r.value.name().to_string()))
            .collect()
    }
}

/// The routes, the functions behind them, and the runtime that runs them.
pub struct Gateway {
    runtime: Arc<Runtime>,
    metrics: Arc<Metrics>,
    /// Swapped whole by deploys; read without a lock on every request.
    served: ArcSwap<Served>,
    max_body_bytes: u64,
}

impl Gateway {
    /// A gateway serving `served`, with requests bodies up to `max_body_bytes`.
    pub fn new(
        runtime: Arc<Runtime>,
        metrics: Arc<Metrics>,
        served: Served,
        max_body_bytes: u64,
    ) -> Gateway {
        Gateway {
            runtime,
            metrics,
            served: ArcSwap::from_pointee(served),
            max_body_bytes,
        }
    }

    /// Loads every function of `manifest` (compiling each distinct module once and
    /// starting one instance of each function to prove it can start) and builds the
    /// routes. CPU-heavy: run it before serving or off the request path.
    pub async fn load(
        manifest: &Manifest,
        runtime: Arc<Runtime>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Gateway> {
        let mut functions = BTreeMap::new();
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
        let served = Served::new(functions, &manifest.route_list(), manifest.stage.clone())?;
        Ok(Gateway::new(
            runtime,
            metrics,
            served,
            manifest.server.max_body_bytes,
        ))
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

    /// The runtime functions run in.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// What is being served right now.
    pub fn served(&self) -> Arc<Served> {
        self.served.load_full()
    }

    /// Serves `served` from the next request on; requests already routed finish on what
    /// they were routed to. Returns what was served before.
    pub fn swap(&self, served: Served) -> Arc<Served> {
        self.served.swap(Arc::new(served))
    }

    /// Routes, invokes and maps one request. Never fails: every problem becomes one of
    /// API Gateway's error responses, and is logged.
    pub async fn dispatch(&self, mut req: GatewayRequest) -> GatewayResponse {
        let started = Instant::now();
        let time = SystemTime::now();
        // One lock-free read of what is served: the route, its function and the stage
        // all come from the same deploy.
        let (function, route, event) = {
            let served = self.served.load();
            let Some(matched) = served.routes.at(&req.method, &req.path) else {
                return self.reject(&req, GatewayError::NotFound, started);
            };
            if req.body.len() as u64 > self.max_body_bytes {
                return self.reject(&req, GatewayError::PayloadTooLarge, started);
            }
            let function = Arc::clone(&matched.route.value);
            let route = matched.route.text.clone();
            // Move the body into the event (no copy when the buffer is not shared).
            let body = std::mem::take(&mut req.body);
            let event = event::build_event(
                &req,
                Vec::from(body),
                event::EventContext {
                    route_key: route.clone(),
                    path_parameters: matched.params,
                    stage: &served.stage,
                    time,
                },
            );
            (function, route, event)
        };
        let function = &function;
        let route = &route;
        let bytes_in = event.body.len();
        function.count_request();
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
        let served = self.served.load();
        self.metrics
            .request(route, response.status.as_u16(), elapsed);
        tracing::info!(
            target: "portico::access",
            request_id = %req.request_id,
            stage = %served.stage.name,
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
