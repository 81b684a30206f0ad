//! The executor of WebSocket route functions (`Kind::WebSocket`): one WebSocket event
//! (`$connect`, a message, `$disconnect`) through one fresh instance, the guest's
//! response checked against the function's response limit.
//!
//! Which events reach it — the upgrade, route selection, limits, the connection's
//! lifetime — is the WebSocket API's business (the gateway's `websocket` module).

use crate::runtime::InvokeError;
use crate::runtime::capability::InvocationRecord;
use crate::runtime::state::InstanceState;
use std::time::Instant;
use tracing::Instrument as _;

/// Host-side bindings of the `portico:edge/websocket` export.
#[allow(missing_docs)] // Generated from the WIT, whose doc comments document every item.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        inline: "
            package portico:host;

            world websocket-handler {
                export portico:edge/websocket@0.1.0;
            }
        ",
        with: {
            "portico:edge/http-types": crate::runtime::function::bindings::portico::edge::http_types,
        },
        exports: { default: async },
    });

    pub use self::exports::portico::edge::websocket::{
        EventType, WebsocketContext, WebsocketEvent, WebsocketResponse,
    };
}

/// A compiled WebSocket route function, ready to instantiate.
pub type Pre = bindings::WebsocketHandlerPre<InstanceState>;

/// Instantiates and calls `handle`; records timings as it goes.
pub(crate) async fn run(
    pre: &Pre,
    event: &bindings::WebsocketEvent,
    store: &mut wasmtime::Store<InstanceState>,
    record: &mut InvocationRecord,
    max_response: u64,
) -> Result<bindings::WebsocketResponse, InvokeError> {
    let started = Instant::now();
    let instance = pre
        .instantiate_async(&mut *store)
        .instrument(tracing::debug_span!("instantiate"))
        .await
        .map_err(InvokeError::Trap)?;
    record.instantiate = started.elapsed();
    let started = Instant::now();
    let outcome = instance
        .portico_edge_websocket()
        .call_handle(&mut *store, event)
        .instrument(tracing::debug_span!("websocket"))
        .await;
    record.guest = started.elapsed();
    let response = outcome
        .map_err(InvokeError::Trap)?
        .map_err(InvokeError::Guest)?;
    check(response, max_response)
}

/// The guest's answer, if it is one the host can send: a body within the function's
/// response limit, text frames UTF-8, a status HTTP has.
fn check(
    response: bindings::WebsocketResponse,
    max_response: u64,
) -> Result<bindings::WebsocketResponse, InvokeError> {
    if !(100..=599).contains(&response.status) {
        return Err(InvokeError::Malformed(format!(
            "status {} is not an HTTP status",
            response.status
        )));
    }
    if let Some(body) = &response.body {
        if body.len() as u64 > max_response {
            return Err(InvokeError::ResponseTooLarge {
                size: body.len() as u64,
                limit: max_response,
            });
        }
        if !response.is_binary && std::str::from_utf8(body).is_err() {
            return Err(InvokeError::Malformed(
                "a text frame's body must be UTF-8 (set is-binary for bytes)".into(),
            ));
        }
    }
    Ok(response)
}

/// Starts one instance and drops it (a load-time check).
pub async fn probe(pre: &Pre, store: &mut wasmtime::Store<InstanceState>) -> wasmtime::Result<()> {
    pre.instantiate_async(store).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: Option<&[u8]>, is_binary: bool) -> bindings::WebsocketResponse {
        bindings::WebsocketResponse {
            status,
            body: body.map(<[u8]>::to_vec),
            is_binary,
        }
    }

    #[test]
    fn answers_are_checked() {
        assert!(check(answer(200, Some(b"hi"), false), 10).is_ok());
        assert!(check(answer(200, Some(&[0xff]), true), 10).is_ok());
        assert!(matches!(
            check(answer(200, Some(&[0xff]), false), 10),
            Err(InvokeError::Malformed(_))
        ));
        assert!(matches!(
            check(answer(42, None, false), 10),
            Err(InvokeError::Malformed(_))
        ));
        assert!(matches!(
            check(answer(200, Some(b"0123456789ab"), false), 10),
            Err(InvokeError::ResponseTooLarge { .. })
        ));
    }
}
