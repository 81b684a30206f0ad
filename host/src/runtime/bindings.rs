//! Host-side bindings of the `portico:edge` WIT package (`wit/portico.wit`).
#![allow(missing_docs)] // Generated from the WIT, whose doc comments document every item.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "function",
    imports: { default: async | trappable },
    exports: { default: async },
    with: { "portico:edge/data.table": crate::data::OpenTable },
});

pub use self::exports::portico::edge::handler::{HttpRequestEvent, HttpResponse};
pub use self::portico::edge::http_types::{Authorizer, HttpDetails, RequestContext};
