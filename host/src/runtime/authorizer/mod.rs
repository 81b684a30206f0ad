//! The executor of custom authorizers (`Kind::Authorizer`): a routed request becomes
//! API Gateway's payload 2.0 authorizer request (no body: an authorizer decides from
//! identity sources, headers and context), the guest's simple response becomes a
//! [`Verdict`].
//!
//! Which requests reach it, and what is cached, is the route policy's business
//! (`policy::custom`); this module only runs one instance per call.

use super::function::{headers_and_cookies, query_parameters, request_context};
use super::{Function, HttpTrigger, InvokeError, Runtime};
use crate::runtime::capability::InvocationRecord;
use crate::runtime::state::InstanceState;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

/// Host-side bindings of the `portico:edge/authorizer` export; its records use the
/// function bindings' `http-types`.
#[allow(missing_docs)] // Generated from the WIT, whose doc comments document every item.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        inline: "
            package portico:host;

            world authorizer-handler {
                export portico:edge/authorizer@0.1.0;
            }
        ",
        with: {
            "portico:edge/http-types": crate::runtime::function::bindings::portico::edge::http_types,
        },
        exports: { default: async },
    });

    pub use self::exports::portico::edge::authorizer::{AuthorizerRequest, AuthorizerResponse};
}

/// A compiled custom authorizer, ready to instantiate.
pub type Pre = bindings::AuthorizerHandlerPre<InstanceState>;

/// What an authorizer decided about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `isAuthorized`.
    pub authorized: bool,
    /// `context`: the text of a JSON object, when the authorizer gave one.
    pub context: Option<Arc<str>>,
}

/// The authorizer request for `trigger`, whose identity sources evaluated to `identity`.
pub fn build_request(trigger: &HttpTrigger, identity: Vec<String>) -> bindings::AuthorizerRequest {
    let req = &trigger.request;
    let (headers, cookies) = headers_and_cookies(&req.headers);
    bindings::AuthorizerRequest {
        version: "2.0".to_string(),
        identity_source: identity,
        route_key: trigger.route_key.clone(),
        raw_path: req.path.clone(),
        raw_query_string: req.query.clone(),
        cookies,
        headers,
        query_string_parameters: query_parameters(&req.query),
        path_parameters: trigger.path_parameters.clone(),
        stage_variables: trigger.stage_variables.clone(),
        request_context: request_context(trigger, false),
    }
}

/// Runs `request` through a fresh instance of the authorizer `function`.
pub async fn invoke(
    runtime: &Runtime,
    function: &Function,
    pre: &Pre,
    request: bindings::AuthorizerRequest,
    timeout: Duration,
) -> (Result<Verdict, InvokeError>, InvocationRecord) {
    let mut record = InvocationRecord::default();
    let request_id: Arc<str> = request.request_context.request_id.as_str().into();
    let max_response = function.limits().max_response_bytes;
    let result = runtime
        .in_fresh_instance(
            function,
            &request_id,
            None,
            timeout,
            &mut record,
            async |store, record| run(pre, &request, store, record, max_response).await,
        )
        .await;
    (result, record)
}

/// Instantiates and calls `authorize`; records timings as it goes.
async fn run(
    pre: &Pre,
    request: &bindings::AuthorizerRequest,
    store: &mut wasmtime::Store<InstanceState>,
    record: &mut InvocationRecord,
    max_response: u64,
) -> Result<Verdict, InvokeError> {
    let started = Instant::now();
    let instance = pre
        .instantiate_async(&mut *store)
        .instrument(tracing::debug_span!("instantiate"))
        .await
        .map_err(InvokeError::Trap)?;
    record.instantiate = started.elapsed();
    let started = Instant::now();
    let outcome = instance
        .portico_edge_authorizer()
        .call_authorize(&mut *store, request)
        .instrument(tracing::debug_span!("authorizer"))
        .await;
    record.guest = started.elapsed();
    let response = outcome
        .map_err(InvokeError::Trap)?
        .map_err(InvokeError::Guest)?;
    verdict(&response, max_response)
}

/// Checks the guest's answer: `context` is empty or a JSON object within the
/// function's response limit.
fn verdict(
    response: &bindings::AuthorizerResponse,
    max_response: u64,
) -> Result<Verdict, InvokeError> {
    let text = response.context.trim();
    if text.len() as u64 > max_response {
        return Err(InvokeError::ResponseTooLarge {
            size: text.len() as u64,
            limit: max_response,
        });
    }
    let context = if text.is_empty() {
        None
    } else {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => Some(Arc::from(text)),
            Ok(other) => {
                return Err(InvokeError::Malformed(format!(
                    "the authorizer's context must be a JSON object, got {}",
                    json_kind(&other)
                )));
            }
            Err(e) => {
                return Err(InvokeError::Malformed(format!(
                    "the authorizer's context is not JSON: {e}"
                )));
            }
        }
    };
    Ok(Verdict {
        authorized: response.is_authorized,
        context,
    })
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Starts one instance and drops it (a load-time check).
pub async fn probe(pre: &Pre, store: &mut wasmtime::Store<InstanceState>) -> wasmtime::Result<()> {
    pre.instantiate_async(store).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(context: &str) -> bindings::AuthorizerResponse {
        bindings::AuthorizerResponse {
            is_authorized: true,
            context: context.to_string(),
        }
    }

    #[test]
    fn context_is_an_object_or_nothing() {
        assert_eq!(verdict(&answer(""), 100).expect("empty").context, None);
        assert_eq!(
            verdict(&answer(r#" {"user":"a","n":[1]} "#), 100)
                .expect("object")
                .context
                .as_deref(),
            Some(r#"{"user":"a","n":[1]}"#)
        );
        for bad in ["[1]", "\"x\"", "{", "null"] {
            assert!(
                matches!(verdict(&answer(bad), 100), Err(InvokeError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            verdict(&answer(r#"{"k":"0123456789"}"#), 5),
            Err(InvokeError::ResponseTooLarge { .. })
        ));
    }
}
