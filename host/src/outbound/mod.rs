//! Outbound HTTP: the capability of a function to send HTTP requests from inside its
//! instance, through `wasi:http/outgoing-handler`.
//!
//! A function may reach only the origins its manifest lists in `allowed_outbound_hosts`
//! (Spin's convention); with no list, or an empty one, it may reach none. Every other
//! request fails, before any connection is made, with the `wasi:http` error
//! `HTTP-request-denied`, and a warning (`portico::outbound`, naming the function, the
//! request id and the request's `scheme://host:port`, never its path or query) is logged.
//!
//! Each entry is `<scheme>://<host>[:<port>]` ([`hosts`] has the exact rules):
//!
//! | part   | may be                                                   | example                     |
//! |--------|----------------------------------------------------------|-----------------------------|
//! | scheme | `http`, `https`, or `*` for either                       | `*://api.example.com:8443`  |
//! | host   | a name, an IPv4 address, an IPv6 address in brackets     | `http://[::1]:8080`         |
//! |        | `*.domain`: every subdomain, at any depth (not `domain`) | `https://*.example.com`     |
//! |        | `*`: every host                                          | `https://*`                 |
//! | port   | a number, `*` for any                                    | `http://localhost:*`        |
//! |        | left out: the scheme's default (80, 443; with `*`, each) | `https://api.example.com`   |
//!
//! `*://*:*` allows everything. Paths, queries, fragments and user information are
//! refused (a trailing `/` is fine); schemes and hosts compare case-insensitively.
//!
//! Allowed requests are sent by wasmtime's `default_send_request` (HTTP/1.1, TLS with the
//! webpki roots) within [`OutboundLimits`]: connect and first-byte timeouts that the
//! guest's `request-options` may shorten but not lengthen, and a response body size past
//! which the body ends with `HTTP-response-body-size`. [`OutboundCounters`] counts the
//! requests sent and denied and the time spent waiting for responses.

pub mod hooks;
pub mod hosts;

pub use hooks::{OutboundCounters, OutboundFigures, OutboundHooks, OutboundLimits};
pub use hosts::{AllowedHosts, HostPatternError};

mod capability;

pub use capability::OutboundHttp;
