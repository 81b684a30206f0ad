//! Route policies: what the gateway does around an integration — CORS, throttling, JWT
//! authorizers, custom authorizers and API keys — one module each, behind one small
//! trait.
//!
//! A request meets a route's policies at three points, in this order:
//!
//! 1. **before routing** ([`Policy::preflight`]): a request the gateway may answer
//!    itself without running anything, such as a CORS preflight. For an `OPTIONS`
//!    request carrying `Access-Control-Request-Method`, the policies asked are those of
//!    the route the preflight asks about (that method, that path), or the API's when
//!    no route matches;
//! 2. **after routing, before the integration** ([`Policy::admit`]): may refuse the
//!    request with a response of its own (401, 403, 429, ...), and nothing runs then;
//!    or admit it with what it established about the caller (an [`Authorization`]).
//!    A policy decides at once when it can ([`Admission::Now`]) and returns a future
//!    only when it must wait (a key set to fetch, an authorizer to run);
//! 3. **on the response** ([`Policy::respond`]): may change the headers of whatever
//!    answers the request — the integration's response or the gateway's own error.
//!
//! Policies run in their list's order at every point. Contract: a policy is cheap on
//! requests it does not concern (no allocation on the common path), never blocks, and
//! never sees a response body.

pub mod api_key;
pub mod cors;
pub mod custom;
pub mod identity;
pub mod jwt;
pub mod throttle;

use crate::exchange::{Authorization, IncomingRequest, Response, ResponseBody};
use crate::metrics::Metrics;
use crate::runtime::{Function, HttpTrigger, Runtime};
use http::{HeaderMap, HeaderValue, StatusCode};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A request a policy refused: the answer the client gets, and the reason the access
/// log gets (never a credential).
#[derive(Debug)]
pub struct Refusal {
    /// The gateway's answer.
    pub response: Response,
    /// Why, for the access log: `jwt: the token has expired`.
    pub reason: String,
}

/// What a policy decided about a request: admitted (with what it learnt about the
/// caller, if anything), or refused.
pub type Decision = Result<Option<Arc<Authorization>>, Box<Refusal>>;

/// What a policy may use while it decides.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Runs functions (a custom authorizer's).
    pub runtime: &'a Runtime,
    /// Records what the policy did.
    pub metrics: &'a Metrics,
    /// The host's API keys (none when the manifest uses none).
    pub api_keys: Option<&'a api_key::ApiKeys>,
}

/// A decision now, or one to wait for.
pub enum Admission<'a> {
    /// Decided.
    Now(Decision),
    /// Decided once this future is done.
    Later(Pin<Box<dyn Future<Output = Decision> + Send + 'a>>),
}

/// One route policy. See the [module docs](self) for when each method runs.
pub trait Policy: Send + Sync + fmt::Debug + 'static {
    /// The policy's name, for logs (`cors`, ...).
    fn name(&self) -> &'static str;

    /// Before routing: the gateway's own answer to `request`, if this policy has one.
    fn preflight(&self, request: &IncomingRequest) -> Option<Response> {
        let _ = request;
        None
    }

    /// After routing: admits or refuses the routed request `trigger`.
    fn admit<'a>(&'a self, trigger: &'a HttpTrigger, cx: Context<'a>) -> Admission<'a> {
        let _ = (trigger, cx);
        Admission::Now(Ok(None))
    }

    /// On the response to a request whose headers were `request_headers`.
    fn respond(&self, request_headers: &HeaderMap, response: &mut Response) {
        let _ = (request_headers, response);
    }

    /// Whether [`Policy::respond`] does anything. The gateway keeps a copy of the
    /// request's headers for the response only when a policy says yes; a policy that
    /// leaves `respond` alone says no.
    fn responds(&self) -> bool {
        true
    }
}

/// The policies of a route (or of the whole API), in order. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Policies(Arc<[Arc<dyn Policy>]>);

impl Policies {
    /// No policies.
    pub fn none() -> Self {
        Self::default()
    }

    /// These policies, in this order.
    pub fn new(policies: Vec<Arc<dyn Policy>>) -> Self {
        Policies(policies.into())
    }

    /// Whether any of them changes responses (see [`Policy::responds`]).
    pub fn change_responses(&self) -> bool {
        self.0.iter().any(|p| p.responds())
    }

    /// The first answer a policy gives before routing.
    pub fn preflight(&self, request: &IncomingRequest) -> Option<Response> {
        self.0.iter().find_map(|p| p.preflight(request))
    }

    /// Asks every policy in turn, up to the first refusal. What a policy established
    /// about the caller goes into `trigger.request.authorizer` (a later policy's
    /// replaces an earlier one's).
    pub async fn admit(
        &self,
        trigger: &mut HttpTrigger,
        cx: Context<'_>,
    ) -> Result<(), Box<Refusal>> {
        for policy in self.0.iter() {
            let decision = match policy.admit(trigger, cx) {
                Admission::Now(decision) => decision,
                Admission::Later(future) => future.await,
            };
            if let Some(authorization) = decision? {
                trigger.request.authorizer = Some(authorization);
            }
        }
        Ok(())
    }

    /// Lets every policy change the response.
    pub fn respond(&self, request_headers: &HeaderMap, response: &mut Response) {
        for policy in self.0.iter() {
            policy.respond(request_headers, response);
        }
    }

    /// The policies' names, for the admin API and logs.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|p| p.name()).collect()
    }
}

/// A refusal answered with API Gateway's JSON `body` (`{"message":"Unauthorized"}`).
fn refusal(status: StatusCode, body: &'static str, reason: String) -> Box<Refusal> {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Box::new(Refusal {
        response: Response {
            status,
            headers,
            body: ResponseBody::Full(bytes::Bytes::from_static(body.as_bytes())),
        },
        reason,
    })
}

/// A named authorizer of the manifest (`[authorizers.NAME]`), shared by the routes that
/// name it and kept across deploys (its caches with it).
#[derive(Debug, Clone)]
pub enum Authorizer {
    /// `type = "jwt"`.
    Jwt(Arc<jwt::JwtAuthorizer>),
    /// `type = "request"`: a custom authorizer function.
    Custom(Arc<custom::CustomAuthorizer>),
}

impl Authorizer {
    /// Starts any background work the authorizer wants before its first request
    /// (fetching a JWT issuer's keys).
    pub fn warm(&self) {
        match self {
            Authorizer::Jwt(jwt) => jwt.warm(),
            Authorizer::Custom(_) => {}
        }
    }

    /// The JWT authorizer, if it is one.
    pub fn jwt(&self) -> Option<&Arc<jwt::JwtAuthorizer>> {
        match self {
            Authorizer::Jwt(jwt) => Some(jwt),
            Authorizer::Custom(_) => None,
        }
    }

    /// The authorizer of a route with `auth = "NAME"` and `scopes`. Scopes are a JWT
    /// authorizer's; a custom authorizer refuses them, as API Gateway does.
    pub fn for_route(&self, scopes: Vec<String>) -> Result<RouteAuth, String> {
        match self {
            Authorizer::Jwt(jwt) => Ok(RouteAuth::Jwt(Arc::new(jwt::JwtPolicy::new(
                Arc::clone(jwt),
                scopes,
            )))),
            Authorizer::Custom(custom) if scopes.is_empty() => {
                Ok(RouteAuth::Custom(Arc::clone(custom)))
            }
            Authorizer::Custom(custom) => Err(format!(
                "`{}` is a custom authorizer (`type = \"request\"`): scopes are checked by JWT authorizers only; decide in the authorizer function instead",
                custom.name()
            )),
        }
    }
}

/// A route's authorizer as configured, before the functions it needs are loaded.
#[derive(Debug, Clone)]
pub enum RouteAuth {
    /// A JWT authorizer with the route's scopes.
    Jwt(Arc<jwt::JwtPolicy>),
    /// A custom authorizer.
    Custom(Arc<custom::CustomAuthorizer>),
}

impl RouteAuth {
    /// The route's policy, given the served functions: a custom authorizer's function
    /// must be among them and be an authorizer.
    pub fn bind(
        &self,
        functions: &BTreeMap<String, Arc<Function>>,
    ) -> Result<Arc<dyn Policy>, String> {
        match self {
            RouteAuth::Jwt(policy) => Ok(Arc::clone(policy) as Arc<dyn Policy>),
            RouteAuth::Custom(authorizer) => Ok(Arc::new(custom::CustomPolicy::bind(
                Arc::clone(authorizer),
                functions,
            )?)),
        }
    }

    /// The authorizer's name.
    pub fn name(&self) -> &str {
        match self {
            RouteAuth::Jwt(policy) => policy.authorizer_name(),
            RouteAuth::Custom(authorizer) => authorizer.name(),
        }
    }
}

/// CORS as a route policy: preflights answered by the gateway, CORS headers on every
/// response.
#[derive(Debug)]
pub struct CorsPolicy(pub cors::Cors);

impl Policy for CorsPolicy {
    fn name(&self) -> &'static str {
        "cors"
    }

    fn preflight(&self, request: &IncomingRequest) -> Option<Response> {
        if !cors::Cors::is_preflight(&request.method, &request.headers) {
            return None;
        }
        let (status, headers) = self.0.preflight(&request.headers);
        Some(Response {
            status,
            headers,
            body: crate::exchange::ResponseBody::Full(bytes::Bytes::new()),
        })
    }

    fn respond(&self, request_headers: &HeaderMap, response: &mut Response) {
        self.0.apply(request_headers, &mut response.headers);
    }
}
