//! Handler kinds: what a component is, read from its exports when it is loaded.

use serde::{Deserialize, Serialize};
use std::fmt;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// The export of a Portico function.
pub const FUNCTION_EXPORT: &str = "portico:edge/handler@0.1.0";
/// The export of a custom authorizer.
pub const AUTHORIZER_EXPORT: &str = "portico:edge/authorizer@0.1.0";
/// The export of a WebSocket route's function.
pub const WEBSOCKET_EXPORT: &str = "portico:edge/websocket@0.1.0";
/// The export that makes a component a topic subscriber.
pub const SUBSCRIBER_EXPORT: &str = "portico:edge/subscriber@0.1.0";
/// The export of a standard `wasi:http/proxy` component (any 0.2.x).
pub const WASI_HTTP_EXPORT_PREFIX: &str = "wasi:http/incoming-handler@0.2.";

/// What a component is, and so which executor runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Portico's `function` world: `handle(http-request-event) -> result<http-response, string>`,
    /// API Gateway's payload 2.0 in and out.
    Function,
    /// A standard `wasi:http/proxy` component (`wasi:http/incoming-handler@0.2.x`), as
    /// `wasmtime serve` and Spin run: streaming request and response bodies.
    WasiHttp,
    /// A custom authorizer (the `authorizer-function` world): `authorize(authorizer-request)
    /// -> result<authorizer-response, string>`, API Gateway's Lambda authorizer with
    /// payload 2.0 and simple responses. Routes name it in `auth`, never as a function.
    Authorizer,
    /// A WebSocket route's function (the `websocket-function` world): `handle(websocket-event)
    /// -> result<websocket-response, string>`, API Gateway's WebSocket event. The
    /// manifest's `[websocket.routes]` name it.
    WebSocket,
    /// A topic subscriber (the `subscriber-function` world): `on-message(message) ->
    /// result<_, string>`, SNS's notification. The manifest's `[topics.NAME]` name it.
    Subscriber,
}

impl Kind {
    /// Every kind, in detection order.
    pub const ALL: [Kind; 5] = [
        Kind::Function,
        Kind::WasiHttp,
        Kind::Authorizer,
        Kind::WebSocket,
        Kind::Subscriber,
    ];

    /// The name used in the manifest's `kind` and in the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Function => "function",
            Kind::WasiHttp => "wasi-http",
            Kind::Authorizer => "authorizer",
            Kind::WebSocket => "websocket",
            Kind::Subscriber => "subscriber",
        }
    }

    /// Parses a manifest `kind`.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// What the kind's component exports.
    pub fn export(self) -> &'static str {
        match self {
            Kind::Function => FUNCTION_EXPORT,
            Kind::WasiHttp => "wasi:http/incoming-handler@0.2.x",
            Kind::Authorizer => AUTHORIZER_EXPORT,
            Kind::WebSocket => WEBSOCKET_EXPORT,
            Kind::Subscriber => SUBSCRIBER_EXPORT,
        }
    }

    /// Whether routes may lead to it (an authorizer only decides about requests).
    pub fn serves_http(self) -> bool {
        matches!(self, Kind::Function | Kind::WasiHttp)
    }

    fn matches(self, export: &str) -> bool {
        match self {
            Kind::Function => export == FUNCTION_EXPORT,
            Kind::WasiHttp => export.starts_with(WASI_HTTP_EXPORT_PREFIX),
            Kind::Authorizer => export == AUTHORIZER_EXPORT,
            Kind::WebSocket => export == WEBSOCKET_EXPORT,
            Kind::Subscriber => export == SUBSCRIBER_EXPORT,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds a component's exports make it, in [`Kind::ALL`] order (usually one), and
/// the names of its exported instances (for the error when it is none).
pub fn detect(component: &Component, engine: &Engine) -> (Vec<Kind>, Vec<String>) {
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_string())
        .collect();
    let kinds = Kind::ALL
        .into_iter()
        .filter(|k| exports.iter().any(|e| k.matches(e)))
        .collect();
    (kinds, exports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_their_exports() {
        assert!(Kind::Function.matches("portico:edge/handler@0.1.0"));
        assert!(!Kind::Function.matches("portico:edge/handler@0.2.0"));
        assert!(Kind::WasiHttp.matches("wasi:http/incoming-handler@0.2.6"));
        assert!(Kind::WasiHttp.matches("wasi:http/incoming-handler@0.2.10"));
        assert!(!Kind::WasiHttp.matches("wasi:http/incoming-handler@0.3.0"));
        assert_eq!(Kind::parse("wasi-http"), Some(Kind::WasiHttp));
        assert_eq!(Kind::parse("proxy"), None);
        assert!(Kind::Authorizer.matches("portico:edge/authorizer@0.1.0"));
        assert_eq!(Kind::parse("authorizer"), Some(Kind::Authorizer));
    }
}
