//! The executor of Portico functions (`Kind::Function`): the request becomes API
//! Gateway's payload 2.0 event, the whole body read first; the guest's `http-response`
//! is checked and mapped back.

pub mod bindings;
mod event;
mod response;

pub use event::{clf_time, event_json, headers_and_cookies, query_parameters, request_context};
pub use response::MalformedResponse;

use super::{Function, HttpTrigger, InvokeError, Runtime};
use crate::exchange::Response;
use crate::runtime::capability::InvocationRecord;
use crate::runtime::state::InstanceState;
use bindings::FunctionHandlerPre;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument as _;
use wasmtime::component::{HasSelf, Linker};

/// Links what every Portico function imports besides capabilities: the (function-less)
/// `http-types` interface its handler's types come from.
pub fn link(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    bindings::portico::edge::http_types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
}

/// `http-types` declares only types; nothing to implement.
impl bindings::portico::edge::http_types::Host for InstanceState {}

/// A compiled Portico function, ready to instantiate.
pub type Pre = FunctionHandlerPre<InstanceState>;

/// Runs `trigger` through a fresh instance of `function`.
pub async fn invoke(
    runtime: &Runtime,
    function: &Function,
    pre: &Arc<Pre>,
    trigger: HttpTrigger,
    timeout: Duration,
) -> (Result<Response, InvokeError>, InvocationRecord) {
    let mut record = InvocationRecord::default();
    let mut trigger = trigger;
    // The whole body is part of the event: read it before taking an instance slot, so a
    // slow client never holds one.
    let body = match std::mem::take(&mut trigger.request.body).collect().await {
        Ok(body) => body,
        Err(e) => return (Err(InvokeError::RequestBody(e)), record),
    };
    let request_id = Arc::clone(&trigger.request.request_id);
    let caller = trigger.request.authorizer.clone();
    // Move the body into the event (no copy when the buffer is not shared).
    let event = event::build_event(trigger, Vec::from(body));
    let max_response = function.limits().max_response_bytes;
    if function.reuses_instances() {
        let result = runtime
            .in_kept_instance(
                function,
                super::KeptCall {
                    pre,
                    event: &event,
                    request_id: &request_id,
                    caller: caller.as_ref(),
                    timeout,
                    max_response,
                },
                &mut record,
            )
            .await;
        return (result, record);
    }
    let result = runtime
        .in_fresh_instance(
            function,
            &request_id,
            caller.as_ref(),
            timeout,
            &mut record,
            async |store, record| run(pre, &event, store, record, max_response).await,
        )
        .await;
    (result, record)
}

/// Instantiates and calls the handler; records timings as it goes.
async fn run(
    pre: &Pre,
    event: &bindings::HttpRequestEvent,
    store: &mut wasmtime::Store<InstanceState>,
    record: &mut InvocationRecord,
    max_response: u64,
) -> Result<Response, InvokeError> {
    let started = Instant::now();
    let instance = pre
        .instantiate_async(&mut *store)
        .instrument(tracing::debug_span!("instantiate"))
        .await
        .map_err(InvokeError::Trap)?;
    record.instantiate = started.elapsed();
    let started = Instant::now();
    let outcome = instance
        .portico_edge_handler()
        .call_handle(&mut *store, event)
        .instrument(tracing::debug_span!("guest"))
        .await;
    record.guest = started.elapsed();
    answer(outcome, max_response)
}

/// What a call of `handle` answered, as the gateway's response: a trap, the guest's
/// `err`, a body over `max_response` or a malformed response is the invocation's error.
pub(super) fn answer(
    outcome: wasmtime::Result<Result<bindings::HttpResponse, String>>,
    max_response: u64,
) -> Result<Response, InvokeError> {
    let response = outcome
        .map_err(InvokeError::Trap)?
        .map_err(InvokeError::Guest)?;
    if response.body.len() as u64 > max_response {
        return Err(InvokeError::ResponseTooLarge {
            size: response.body.len() as u64,
            limit: max_response,
        });
    }
    response::map_response(response).map_err(|e| InvokeError::Malformed(e.to_string()))
}

/// Starts one instance and drops it (a load-time check).
pub async fn probe(pre: &Pre, store: &mut wasmtime::Store<InstanceState>) -> wasmtime::Result<()> {
    pre.instantiate_async(store).await.map(drop)
}
