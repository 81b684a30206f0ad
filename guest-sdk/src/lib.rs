//! # portico-guest
//!
//! Write [Portico](https://example.invalid/portico) functions in Rust. A function is a
//! WebAssembly component built for `wasm32-wasip2`; this crate hides the WIT bindings and
//! gives you a [`Request`] with typed accessors and a [`Response`] builder.
//!
//! ```no_run
//! use portico_guest::{Request, Response};
//!
//! fn handle(req: Request) -> Result<Response, portico_guest::Error> {
//!     let name = req.path_param("name").unwrap_or("world");
//!     Response::ok().json(&serde_json::json!({ "hello": name }))
//! }
//!
//! portico_guest::export!(handle);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and point a route of your
//! `portico.toml` at the resulting `.wasm` file.
//!
//! Tables: the [`data`] module opens the tables listed in the function's manifest entry
//! and reads and writes items as your own serde types.
//!
//! WebSocket routes: the [`websocket`] module and [`export_websocket!`] make a component
//! that handles a WebSocket API's `$connect`, messages and `$disconnect`.
//!
//! Custom authorizers: the [`authorizer`] module and [`export_authorizer!`] make a
//! component that decides whether requests may reach a route (API Gateway's Lambda
//! authorizer); the route's function reads what it decided with
//! [`Request::authorizer_context`].
//!
//! A handler may return anything that implements [`IntoResponse`]: a [`Response`], or a
//! `Result<Response, E>` whose error is logged and answered with HTTP 500
//! `{"message":"Internal Server Error"}`. A panic is a trap: also HTTP 500.

#![warn(missing_docs)]

// The derives write `::portico_guest::…` paths; this makes them resolve in the SDK's own
// tests too.
extern crate self as portico_guest;

pub mod authorizer;
pub mod connections;
pub mod data;
mod error;
mod lambda;
pub mod log;
pub mod outbound;
mod request;
mod response;
pub mod subscriber;
pub mod topics;
pub mod variables;
pub mod websocket;

pub use error::Error;

/// Embeds the API declaration the function's build script wrote with the `portico-api`
/// crate (`portico_api::Api::write`, to `OUT_DIR/portico-api.json`) as the component's
/// `portico-api` custom section, which the host reads at load for its OpenAPI document
/// (summaries, request and response schemas) without running the function.
///
/// ```ignore
/// portico_guest::api_section!();
/// ```
#[macro_export]
macro_rules! api_section {
    () => {
        #[unsafe(link_section = "portico-api")]
        #[used]
        static __PORTICO_API: [u8; include_bytes!(concat!(env!("OUT_DIR"), "/portico-api.json"))
            .len()] = *include_bytes!(concat!(env!("OUT_DIR"), "/portico-api.json"));
    };
}
pub use http;
pub use request::{Request, RequestContext};
pub use response::{IntoResponse, Response};

/// The generated WIT bindings. Not part of the stable API: use [`Request`], [`Response`],
/// [`log`] and [`export!`] instead.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "function",
        pub_export_macro: true,
        export_macro_name: "__export_function_impl",
        default_bindings_module: "portico_guest::bindings",
    });

    /// The bindings of the `authorizer-function` world; its imports are the function
    /// world's.
    pub mod authorizer {
        wit_bindgen::generate!({
            path: "../wit",
            world: "authorizer-function",
            pub_export_macro: true,
            export_macro_name: "__export_authorizer_function_impl",
            default_bindings_module: "portico_guest::bindings::authorizer",
            with: {
                "portico:edge/http-types@0.1.0": crate::bindings::portico::edge::http_types,
                "portico:edge/log@0.1.0": crate::bindings::portico::edge::log,
                "portico:edge/data@0.1.0": crate::bindings::portico::edge::data,
                "portico:edge/variables@0.1.0": crate::bindings::portico::edge::variables,
                "portico:edge/authorization@0.1.0": crate::bindings::portico::edge::authorization,
                "portico:edge/connections@0.1.0": crate::bindings::portico::edge::connections,
                "portico:edge/topic-types@0.1.0": crate::bindings::portico::edge::topic_types,
                "portico:edge/topics@0.1.0": crate::bindings::portico::edge::topics,
            },
        });
    }

    /// The bindings of the `websocket-function` world; its imports are the function
    /// world's.
    pub mod websocket {
        wit_bindgen::generate!({
            path: "../wit",
            world: "websocket-function",
            pub_export_macro: true,
            export_macro_name: "__export_websocket_function_impl",
            default_bindings_module: "portico_guest::bindings::websocket",
            with: {
                "portico:edge/http-types@0.1.0": crate::bindings::portico::edge::http_types,
                "portico:edge/log@0.1.0": crate::bindings::portico::edge::log,
                "portico:edge/data@0.1.0": crate::bindings::portico::edge::data,
                "portico:edge/variables@0.1.0": crate::bindings::portico::edge::variables,
                "portico:edge/authorization@0.1.0": crate::bindings::portico::edge::authorization,
                "portico:edge/connections@0.1.0": crate::bindings::portico::edge::connections,
                "portico:edge/topic-types@0.1.0": crate::bindings::portico::edge::topic_types,
                "portico:edge/topics@0.1.0": crate::bindings::portico::edge::topics,
            },
        });
    }

    /// The bindings of the `subscriber-function` world; its imports are the function
    /// world's.
    pub mod subscriber {
        wit_bindgen::generate!({
            path: "../wit",
            world: "subscriber-function",
            pub_export_macro: true,
            export_macro_name: "__export_subscriber_function_impl",
            default_bindings_module: "portico_guest::bindings::subscriber",
            with: {
                "portico:edge/http-types@0.1.0": crate::bindings::portico::edge::http_types,
                "portico:edge/log@0.1.0": crate::bindings::portico::edge::log,
                "portico:edge/data@0.1.0": crate::bindings::portico::edge::data,
                "portico:edge/variables@0.1.0": crate::bindings::portico::edge::variables,
                "portico:edge/authorization@0.1.0": crate::bindings::portico::edge::authorization,
                "portico:edge/connections@0.1.0": crate::bindings::portico::edge::connections,
                "portico:edge/topic-types@0.1.0": crate::bindings::portico::edge::topic_types,
                "portico:edge/topics@0.1.0": crate::bindings::portico::edge::topics,
            },
        });
    }
}

/// Items used by [`export!`]'s expansion. Not part of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::exports::portico::edge::handler::Guest;
    pub use crate::bindings::portico::edge::http_types::{HttpRequestEvent, HttpResponse};

    /// Runs a user handler on one event and converts its answer for the host.
    pub fn dispatch<R: crate::IntoResponse>(
        event: HttpRequestEvent,
        handler: fn(crate::Request) -> R,
    ) -> Result<HttpResponse, String> {
        handler(crate::Request::from_event(event))
            .into_response()
            .map(crate::Response::into_wit)
    }
}

/// Exports a handler function as this component's Portico entry point.
///
/// The handler is a plain `fn(Request) -> R` where `R` implements [`IntoResponse`].
/// Use the macro once per crate (a component has exactly one handler).
///
/// ```no_run
/// fn handle(_req: portico_guest::Request) -> portico_guest::Response {
///     portico_guest::Response::ok().text("pong")
/// }
/// portico_guest::export!(handle);
/// ```
#[macro_export]
macro_rules! export {
    ($handler:path) => {
        #[doc(hidden)]
        struct __PorticoFunction;

        impl $crate::__private::Guest for __PorticoFunction {
            fn handle(
                event: $crate::__private::HttpRequestEvent,
            ) -> ::core::result::Result<$crate::__private::HttpResponse, ::std::string::String> {
                $crate::__private::dispatch(event, $handler)
            }
        }

        $crate::bindings::__export_function_impl!(__PorticoFunction with_types_in $crate::bindings);
    };
}
