//! The HTTP front door: stages and routes leading to targets, the policy pipeline
//! around each integration, API Gateway's own errors, and the access log.
//!
//! [`Gateway::dispatch`] is the one request path; the hyper server ([`server`]) and
//! `portico invoke` both feed it:
//!
//! ```text
//! request ─▶ stage ─▶ preflight policies ─▶ route match ─▶ admit policies ─▶ integration
//!         ◀─ access log, metrics ◀─ respond policies ◀──────────────────────────┘
//! ```

mod access;
pub mod body_budget;
mod error;
pub mod mapping;
pub mod payload;
mod request_id;
mod served;
pub mod server;
pub mod service;
pub mod websocket;

pub use crate::exchange::{IncomingRequest as GatewayRequest, Response as GatewayResponse};
pub use crate::routing::{
    Match, MethodMatch, Route, RouteConflict, RouteKey, RouteKeyError, Router, Segment,
};
pub use crate::runtime::function::{clf_time, query_parameters};
pub use error::GatewayError;
pub use request_id::new_request_id;
pub use served::{
    Api, ApiSettings, Integration, IntegrationSpec, Override, RouteOptions, RouteSpec, RouteTarget,
    RoutesError, Served, Stage, StageConfig,
};
pub use service::Service;

use crate::exchange::{BodyError, Response};
use crate::metrics::Metrics;
use crate::policy::Refusal;
use crate::runtime::{HttpTrigger, InvokeError, Runtime};
use access::Access;
use arc_swap::ArcSwap;
use http::Method;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tracing::Instrument as _;

/// Response header carrying the request id, as API Gateway sends it.
pub const REQUEST_ID_HEADER: &str = "apigw-requestid";

/// The served API and the runtime that runs its functions.
pub struct Gateway {
    runtime: Arc<Runtime>,
    metrics: Arc<Metrics>,
    /// Swapped whole by deploys; read without a lock on every request.
    served: ArcSwap<Served>,
    max_body_bytes: u64,
    /// The host's API keys, when the manifest uses them.
    api_keys: Option<Arc<crate::policy::api_key::ApiKeys>>,
    /// The host's open WebSocket connections.
    sockets: Arc<crate::sockets::Sockets>,
}

impl Gateway {
    /// A gateway serving `served`, with requests bodies up to `max_body_bytes`, and
    /// routes that require API keys checking them against `api_keys`.
    pub fn new(
        runtime: Arc<Runtime>,
        metrics: Arc<Metrics>,
        served: Served,
        max_body_bytes: u64,
        api_keys: Option<Arc<crate::policy::api_key::ApiKeys>>,
        sockets: Arc<crate::sockets::Sockets>,
    ) -> Gateway {
        warm(&served);
        Gateway {
            runtime,
            metrics,
            served: ArcSwap::from_pointee(served),
            max_body_bytes,
            api_keys,
            sockets,
        }
    }

    /// The host's open WebSocket connections.
    pub fn sockets(&self) -> &Arc<crate::sockets::Sockets> {
        &self.sockets
    }

    /// What the policies of a request may use.
    pub fn policy_context(&self) -> crate::policy::Context<'_> {
        crate::policy::Context {
            runtime: &self.runtime,
            metrics: &self.metrics,
            api_keys: self.api_keys.as_deref(),
        }
    }

    /// The host's API keys, if the manifest uses them.
    pub fn api_keys(&self) -> Option<&Arc<crate::policy::api_key::ApiKeys>> {
        self.api_keys.as_ref()
    }

    /// The largest request body accepted.
    pub fn max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }

    /// The metrics this gateway records into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The same, shared.
    pub fn metrics_arc(&self) -> &Arc<Metrics> {
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
        warm(&served);
        self.served.swap(Arc::new(served))
    }

    /// Routes, invokes and maps one request. Never fails: every problem becomes one of
    /// API Gateway's error responses, and is logged.
    pub async fn dispatch(&self, mut req: GatewayRequest) -> GatewayResponse {
        let started = Instant::now();
        let time = SystemTime::now();
        // One lock-free read of what is served: the stage, the route, its function and
        // its policies all come from the same deploy.
        let served = self.served.load_full();
        let Some((stage, prefix)) = served.api.stage_for(&req.path) else {
            // No stage serves the path (the API has no stage at the root).
            let mut response = GatewayError::NotFound.response();
            served.api.policies().respond(&req.headers, &mut response);
            return Access::new(&self.metrics, &mut req, "-", started).finish_now(response, None);
        };
        let mut access = Access::new(&self.metrics, &mut req, stage.name(), started);
        // A recorded event `portico invoke` replays brings its own context; routing
        // leaves out the stage's prefix (the function still sees the whole path).
        let mut replay = req.replay.take().map(|r| *r).unwrap_or_default();
        let replayed_path = replay.route_path.take().filter(|_| prefix == 0);
        let route_path = replayed_path
            .as_deref()
            .unwrap_or_else(|| served::route_path(&req.path, prefix));

        // Before routing: a preflight is answered by the policies of the route it asks
        // about (or the API's), without running anything.
        let asked = preflight_method(&req).map(|asked| {
            stage
                .routes
                .at(&asked, route_path)
                .map_or(served.api.policies(), |m| &m.route.value.policies)
        });
        if let Some(response) = asked.and_then(|policies| policies.preflight(&req)) {
            return access.finish_now(response, None);
        }

        let Some(matched) = stage.routes.at(&req.method, route_path) else {
            // A preflight that fell through answers with its route's policies.
            let mut response = GatewayError::NotFound.response();
            asked
                .unwrap_or(served.api.policies())
                .respond(&req.headers, &mut response);
            return access.finish_now(response, None);
        };
        let target = &matched.route.value;
        access.route(&matched.route.text, target);
        let policies = target.policies.clone();
        // Response policies see the request's headers; kept only if one changes responses.
        let request_headers = if !policies.change_responses() {
            http::HeaderMap::new()
        } else {
            req.headers.clone()
        };
        let mut trigger = HttpTrigger {
            request: req,
            route_key: matched.route.text.clone(),
            path_parameters: matched.params,
            stage: replay.stage.unwrap_or_else(|| stage.name().to_string()),
            stage_variables: replay
                .stage_variables
                .unwrap_or_else(|| stage.variables().to_vec()),
            time: replay.time.unwrap_or(time),
            payload: target.spec.options.payload,
        };
        let cx = self.policy_context();
        if let Err(refusal) = policies.admit(&mut trigger, cx).await {
            let Refusal {
                mut response,
                reason,
            } = *refusal;
            access.refused(reason);
            policies.respond(&request_headers, &mut response);
            return access.finish_now(response, None);
        }
        if trigger
            .request
            .body
            .known_len()
            .is_some_and(|n| n as u64 > self.max_body_bytes)
        {
            let mut response = GatewayError::PayloadTooLarge.response();
            policies.respond(&request_headers, &mut response);
            return access.finish_now(response, None);
        }

        // Host-side integrations: one before the function, or the route's own.
        let services = target
            .spec
            .options
            .before
            .iter()
            .chain(match &target.integration {
                Integration::Service(service) => Some(service),
                Integration::Function(_) => None,
            });
        let mut answer = None;
        for service in services {
            let response = match self
                .call_service(service, &mut trigger, &access, &served)
                .await
            {
                Ok(response) => response,
                Err(error) => error.response(),
            };
            // What follows runs after a 2xx only.
            let success = response.status.is_success();
            answer = Some(response);
            if !success {
                break;
            }
        }
        let function = match (target.function(), answer) {
            (Some(function), None) => Arc::clone(function),
            (Some(function), Some(answer)) if answer.status.is_success() => Arc::clone(function),
            (_, answer) => {
                // A service answered: a refusal, or the route's own answer. (A route
                // without a function has a service, so the fallback never serves.)
                let mut response = answer.unwrap_or_else(|| GatewayError::Internal.response());
                policies.respond(&request_headers, &mut response);
                return access.finish_now(response, None);
            }
        };
        function.count_request();
        let timeout = target.spec.options.timeout;
        // Everything the invocation logs (guest lines, data calls, stage spans at debug
        // level) nests under this span.
        let span = tracing::info_span!(
            "request",
            request_id = %access.request_id(),
            route = %access.route_text(),
            function = function.name(),
            version = function.version(),
        );
        let invocation = self
            .runtime
            .invoke_http(&function, trigger, timeout)
            .instrument(span)
            .await;
        let mut response = match invocation.response {
            Ok(response) => response,
            Err(e) => self.failed(&access, &function, &e).response(),
        };
        policies.respond(&request_headers, &mut response);
        access.finish(response, invocation.record)
    }

    /// Runs `service` for `trigger`, reading its body first if the service needs it (and
    /// putting it back for a function after it).
    async fn call_service(
        &self,
        service: &Arc<dyn Service>,
        trigger: &mut HttpTrigger,
        access: &Access,
        served: &Served,
    ) -> Result<Response, GatewayError> {
        let body = if service.reads_body() {
            let body = std::mem::take(&mut trigger.request.body)
                .collect()
                .await
                .map_err(|e| {
                    tracing::debug!(request_id = %access.request_id(), "{e}");
                    body_error(&e)
                })?;
            trigger.request.body = crate::exchange::RequestBody::from(body.clone());
            body
        } else {
            bytes::Bytes::new()
        };
        let span = tracing::info_span!(
            "request",
            request_id = %access.request_id(),
            route = %access.route_text(),
            integration = %service.describe(),
        );
        Ok(service
            .call(trigger, &body, &self.runtime, served)
            .instrument(span)
            .await)
    }

    /// Logs and counts a failed invocation; the gateway's answer to it.
    fn failed(
        &self,
        access: &Access,
        function: &crate::runtime::Function,
        error: &InvokeError,
    ) -> GatewayError {
        let status = match error {
            InvokeError::Rejected(_) | InvokeError::Timeout(_) => GatewayError::Unavailable,
            InvokeError::RequestBody(e) => body_error(e),
            InvokeError::Trap(_)
            | InvokeError::Guest(_)
            | InvokeError::ResponseTooLarge { .. }
            | InvokeError::Malformed(_)
            | InvokeError::WrongKind(_) => GatewayError::Internal,
        };
        match error {
            InvokeError::RequestBody(e) => {
                tracing::debug!(request_id = %access.request_id(), "{e}");
            }
            e => {
                tracing::warn!(request_id = %access.request_id(), function = function.name(), "invocation failed: {e}");
                self.metrics.failure(function.name(), e.outcome());
            }
        }
        status
    }

    /// Answers `req` with one of the gateway's own errors (and logs it), before any
    /// routing: a request the server could not even read.
    pub fn reject(
        &self,
        mut req: GatewayRequest,
        error: GatewayError,
        started: Instant,
    ) -> Response {
        let served = self.served.load();
        let stage = served
            .api
            .stage_for(&req.path)
            .map_or_else(|| "-".to_string(), |(stage, _)| stage.name().to_string());
        let mut response = error.response();
        served.api.policies().respond(&req.headers, &mut response);
        Access::new(&self.metrics, &mut req, &stage, started).finish_now(response, None)
    }
}

/// The gateway's answer to a request body it could not read.
fn body_error(error: &BodyError) -> GatewayError {
    match error {
        BodyError::TooLarge(_) => GatewayError::PayloadTooLarge,
        BodyError::Broken(_) => GatewayError::BadRequest,
        BodyError::TimedOut(_) => GatewayError::RequestTimeout,
        BodyError::OverBudget(_) => GatewayError::Unavailable,
    }
}

/// Lets `served`'s authorizers start what they want done before their first request.
fn warm(served: &Served) {
    for authorizer in served.api.settings().authorizers.values() {
        authorizer.warm();
    }
}

/// The method a CORS preflight asks about (`Access-Control-Request-Method` of an
/// `OPTIONS` request), as the Fetch standard defines a preflight.
fn preflight_method(req: &GatewayRequest) -> Option<Method> {
    if req.method != Method::OPTIONS {
        return None;
    }
    let asked = req.headers.get("access-control-request-method")?;
    Method::from_bytes(asked.as_bytes()).ok()
}
