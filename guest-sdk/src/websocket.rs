//! WebSocket route functions: a component exporting `portico:edge/websocket` handles the
//! events of the manifest's `[websocket]` API — `$connect` (accept or refuse the
//! upgrade), each message (routed by the API's selection expression), `$disconnect`.
//!
//! ```no_run
//! use portico_guest::websocket::{EventType, Reply, WebSocketEvent};
//!
//! fn handle(event: WebSocketEvent) -> Reply {
//!     match event.event_type() {
//!         EventType::Connect => Reply::accept(),
//!         EventType::Message => Reply::text(format!("echo: {}", event.text().unwrap_or(""))),
//!         EventType::Disconnect => Reply::accept(),
//!     }
//! }
//! portico_guest::export_websocket!(handle);
//! ```

use crate::bindings::websocket::exports::portico::edge::websocket as wit;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Display;

pub use wit::EventType;

/// One WebSocket event: API Gateway's WebSocket event.
#[derive(Debug, Clone)]
pub struct WebSocketEvent {
    inner: wit::WebsocketEvent,
}

fn lookup<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl WebSocketEvent {
    /// The connection's id (what `connections` calls take).
    pub fn connection_id(&self) -> &str {
        &self.inner.request_context.connection_id
    }

    /// Why the function runs.
    pub fn event_type(&self) -> EventType {
        self.inner.request_context.event_type
    }

    /// The route key that matched: `$connect`, `$disconnect`, `$default` or a custom one.
    pub fn route_key(&self) -> &str {
        &self.inner.request_context.route_key
    }

    /// The message id (messages only).
    pub fn message_id(&self) -> Option<&str> {
        self.inner.request_context.message_id.as_deref()
    }

    /// When the connection was made (ms since the Unix epoch).
    pub fn connected_at(&self) -> u64 {
        self.inner.request_context.connected_at
    }

    /// The request id of this event.
    pub fn request_id(&self) -> &str {
        &self.inner.request_context.request_id
    }

    /// The stage.
    pub fn stage(&self) -> &str {
        &self.inner.request_context.stage
    }

    /// The client's address.
    pub fn source_ip(&self) -> &str {
        &self.inner.request_context.source_ip
    }

    /// A header of the upgrade request (`$connect` only), case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        lookup(&self.inner.headers, name)
    }

    /// A query parameter of the upgrade request (`$connect` only).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.inner
            .query_string_parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A stage variable.
    pub fn stage_variable(&self, name: &str) -> Option<&str> {
        lookup(&self.inner.stage_variables, name)
    }

    /// The id of the API key the upgrade carried, when `[websocket]` has
    /// `api_key_required = true` (the same for every event of the connection).
    pub fn api_key_id(&self) -> Option<String> {
        crate::bindings::portico::edge::authorization::api_key_id()
    }

    /// The `context` the upgrade's custom authorizer returned (`[websocket] auth`), as
    /// for [`Request::authorizer_context`](crate::Request::authorizer_context).
    pub fn authorizer_context(&self) -> serde_json::Map<String, serde_json::Value> {
        crate::bindings::portico::edge::authorization::lambda_context()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// The claims of the JWT the upgrade's JWT authorizer validated.
    pub fn claims(&self) -> Vec<(String, String)> {
        crate::bindings::portico::edge::authorization::jwt_claims()
    }

    /// The message's bytes.
    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }

    /// Whether the message came in a binary frame.
    pub fn is_binary(&self) -> bool {
        self.inner.is_binary
    }

    /// The message as text (a text frame's), if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.inner.body).ok()
    }

    /// The message parsed as JSON.
    ///
    /// # Errors
    /// When it is not JSON of that shape.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, crate::Error> {
        Ok(serde_json::from_slice(&self.inner.body)?)
    }
}

/// A route's answer: a status (for `$connect`, 2xx accepts the connection) and, for a
/// two-way route, a message back to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    body: Option<Vec<u8>>,
    binary: bool,
}

impl Reply {
    /// 200, nothing sent back (accepts a `$connect`).
    pub fn accept() -> Reply {
        Reply {
            status: 200,
            body: None,
            binary: false,
        }
    }

    /// Refuses a `$connect` with `status` (the client's upgrade gets that answer).
    pub fn refuse(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            binary: false,
        }
    }

    /// 200 with a text frame back to the caller.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply {
            status: 200,
            body: Some(text.into().into_bytes()),
            binary: false,
        }
    }

    /// 200 with a binary frame back to the caller.
    pub fn binary(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            body: Some(bytes.into()),
            binary: true,
        }
    }

    /// 200 with `value` as a JSON text frame back to the caller.
    ///
    /// # Errors
    /// When `value` does not serialise.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Reply, crate::Error> {
        Ok(Reply::text(serde_json::to_string(value)?))
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    fn into_wit(self) -> wit::WebsocketResponse {
        wit::WebsocketResponse {
            status: self.status,
            body: self.body,
            is_binary: self.binary,
        }
    }
}

/// What a WebSocket handler may return: a [`Reply`], or a `Result` whose error is logged
/// by the host (a `$connect` is then refused with 500; a message gets API Gateway's error
/// frame).
pub trait IntoReply {
    /// The reply, or the error text.
    fn into_reply(self) -> Result<Reply, String>;
}

impl IntoReply for Reply {
    fn into_reply(self) -> Result<Reply, String> {
        Ok(self)
    }
}

impl<E: Display> IntoReply for Result<Reply, E> {
    fn into_reply(self) -> Result<Reply, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Items used by [`export_websocket!`](crate::export_websocket)'s expansion. Not part
/// of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use super::wit::{Guest, WebsocketEvent, WebsocketResponse};

    /// Runs a user handler on one event and converts its answer for the host.
    pub fn dispatch<R: super::IntoReply>(
        event: WebsocketEvent,
        handler: fn(super::WebSocketEvent) -> R,
    ) -> Result<WebsocketResponse, String> {
        handler(super::WebSocketEvent { inner: event })
            .into_reply()
            .map(super::Reply::into_wit)
    }
}

/// Exports a function as this component's WebSocket route handler.
///
/// The function is a plain `fn(WebSocketEvent) -> R` where `R` implements
/// [`IntoReply`]. A component is one kind: a function ([`export!`](crate::export)), an
/// authorizer, or a WebSocket handler.
#[macro_export]
macro_rules! export_websocket {
    ($handler:path) => {
        #[doc(hidden)]
        struct __PorticoWebSocket;

        impl $crate::websocket::__private::Guest for __PorticoWebSocket {
            fn handle(
                event: $crate::websocket::__private::WebsocketEvent,
            ) -> ::core::result::Result<
                $crate::websocket::__private::WebsocketResponse,
                ::std::string::String,
            > {
                $crate::websocket::__private::dispatch(event, $handler)
            }
        }

        $crate::bindings::websocket::__export_websocket_function_impl!(__PorticoWebSocket with_types_in $crate::bindings::websocket);
    };
}
