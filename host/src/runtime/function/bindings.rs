//! Host-side bindings of a Portico function's export, `portico:edge/handler`
//! (`wit/portico.wit`). Only the export: each capability generates the bindings of the
//! interface it serves, and links it itself.
#![allow(missing_docs)] // Generated from the WIT, whose doc comments document every item.

wasmtime::component::bindgen!({
    path: "../wit",
    inline: "
        package portico:host;

        world function-handler {
            export portico:edge/handler@0.1.0;
        }
    ",
    exports: { default: async },
});

pub use self::exports::portico::edge::handler::{HttpRequestEvent, HttpResponse};
pub use self::portico::edge::http_types::{Authorizer, HttpDetails, RequestContext};
