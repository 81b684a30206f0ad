//! Custom authorizers: components that decide whether a request may reach its route's
//! function, as API Gateway's Lambda authorizers do (payload format 2.0, simple
//! responses).
//!
//! ```no_run
//! use portico_guest::authorizer::{AuthorizerRequest, Decision};
//!
//! fn authorize(req: AuthorizerRequest) -> Decision {
//!     match req.identity_source().first().map(String::as_str) {
//!         Some("let-me-in") => Decision::allow().with("user", "demo"),
//!         _ => Decision::deny(),
//!     }
//! }
//!
//! portico_guest::export_authorizer!(authorize);
//! ```
//!
//! The manifest names the component as a function and uses it in an authorizer:
//!
//! ```toml
//! [functions.gate]
//! module = "target/wasm32-wasip2/release/gate.wasm"
//!
//! [authorizers.gate]
//! type = "request"
//! function = "gate"
//! identity_source = ["$request.header.x-api-key"]
//!
//! [routes]
//! "GET /private" = { function = "app", auth = "gate" }
//! ```
//!
//! The route's function reads the decision's context with
//! [`Request::authorizer_context`](crate::Request::authorizer_context).

use crate::bindings::authorizer::exports::portico::edge::authorizer as wit;
use crate::request::RequestContext;
use serde::Serialize;
use std::fmt::Display;

/// API Gateway's payload 2.0 authorizer request.
#[derive(Debug, Clone)]
pub struct AuthorizerRequest {
    inner: wit::AuthorizerRequest,
}

fn lookup<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl AuthorizerRequest {
    /// The values of the authorizer's identity sources, in the manifest's order; never
    /// empty ones (the host answers 401 itself when one is missing).
    pub fn identity_source(&self) -> &[String] {
        &self.inner.identity_source
    }

    /// The route key that matched (`GET /pets/{id}`).
    pub fn route_key(&self) -> &str {
        &self.inner.route_key
    }

    /// The raw path, percent-encoding intact.
    pub fn path(&self) -> &str {
        &self.inner.raw_path
    }

    /// The request method.
    pub fn method(&self) -> &str {
        &self.inner.request_context.http.method
    }

    /// A header by name, case-insensitive; repeated headers joined with `,`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query string parameter, URL-decoded.
    pub fn query(&self, name: &str) -> Option<&str> {
        lookup(&self.inner.query_string_parameters, name)
    }

    /// A path parameter of the route (`{id}`), URL-decoded.
    pub fn path_param(&self, name: &str) -> Option<&str> {
        lookup(&self.inner.path_parameters, name)
    }

    /// A stage variable.
    pub fn stage_variable(&self, name: &str) -> Option<&str> {
        lookup(&self.inner.stage_variables, name)
    }

    /// Cookies, one `name=value` each.
    pub fn cookies(&self) -> &[String] {
        &self.inner.cookies
    }

    /// The request context (its `authorizer` is always `None`).
    pub fn context(&self) -> &RequestContext {
        &self.inner.request_context
    }
}

/// An authorizer's answer: API Gateway's simple response, `isAuthorized` and `context`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    authorized: bool,
    context: serde_json::Map<String, serde_json::Value>,
}

impl Decision {
    /// Admits the request.
    pub fn allow() -> Decision {
        Decision {
            authorized: true,
            context: serde_json::Map::new(),
        }
    }

    /// Refuses it: the client gets 403 `{"message":"Forbidden"}`.
    pub fn deny() -> Decision {
        Decision {
            authorized: false,
            context: serde_json::Map::new(),
        }
    }

    /// Adds `key` to the context the route's function receives. A value that does not
    /// serialise to JSON is left out.
    pub fn with(mut self, key: impl Into<String>, value: impl Serialize) -> Decision {
        if let Ok(value) = serde_json::to_value(value) {
            self.context.insert(key.into(), value);
        }
        self
    }

    /// Whether it admits the request.
    pub fn is_authorized(&self) -> bool {
        self.authorized
    }

    /// The context so far.
    pub fn context(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.context
    }

    fn into_wit(self) -> wit::AuthorizerResponse {
        wit::AuthorizerResponse {
            is_authorized: self.authorized,
            context: if self.context.is_empty() {
                String::new()
            } else {
                serde_json::Value::Object(self.context).to_string()
            },
        }
    }
}

/// What an authorizer may return: a [`Decision`], or a `Result` whose error is logged by
/// the host and answered with HTTP 500 (as is a panic).
pub trait IntoDecision {
    /// The decision, or the error text.
    fn into_decision(self) -> Result<Decision, String>;
}

impl IntoDecision for Decision {
    fn into_decision(self) -> Result<Decision, String> {
        Ok(self)
    }
}

impl<E: Display> IntoDecision for Result<Decision, E> {
    fn into_decision(self) -> Result<Decision, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Items used by [`export_authorizer!`](crate::export_authorizer)'s expansion. Not part
/// of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use super::wit::{AuthorizerRequest, AuthorizerResponse, Guest};

    /// Runs a user authorizer on one request and converts its answer for the host.
    pub fn dispatch<R: super::IntoDecision>(
        request: AuthorizerRequest,
        authorizer: fn(super::AuthorizerRequest) -> R,
    ) -> Result<AuthorizerResponse, String> {
        authorizer(super::AuthorizerRequest { inner: request })
            .into_decision()
            .map(super::Decision::into_wit)
    }
}

/// Exports a function as this component's custom authorizer entry point.
///
/// The function is a plain `fn(AuthorizerRequest) -> R` where `R` implements
/// [`IntoDecision`]. A component is either a function ([`export!`](crate::export)) or
/// an authorizer, not both.
#[macro_export]
macro_rules! export_authorizer {
    ($authorizer:path) => {
        #[doc(hidden)]
        struct __PorticoAuthorizer;

        impl $crate::authorizer::__private::Guest for __PorticoAuthorizer {
            fn authorize(
                request: $crate::authorizer::__private::AuthorizerRequest,
            ) -> ::core::result::Result<
                $crate::authorizer::__private::AuthorizerResponse,
                ::std::string::String,
            > {
                $crate::authorizer::__private::dispatch(request, $authorizer)
            }
        }

        $crate::bindings::authorizer::__export_authorizer_function_impl!(__PorticoAuthorizer with_types_in $crate::bindings::authorizer);
    };
}
