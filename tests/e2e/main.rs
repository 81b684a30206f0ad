//! End-to-end tests: the real `portico` binary on loopback, real components compiled
//! from `examples/`, driven by a real HTTP client.

mod api_keys;
mod auth;
mod browser;
mod capabilities;
mod cli;
mod connections;
mod console;
mod custom_auth;
mod data;
mod datadir;
mod demo;
mod deploy;
mod errors;
mod events;
mod languages;
mod models;
mod observability;
mod payload_v1;
mod policies;
mod portal;
mod replay;
mod reserved;
mod reuse;
mod routing;
mod scale;
mod shop;
mod stages;
mod support;
mod telemetry;
mod throttle;
mod topics;
mod wasi_http;
mod websocket;
mod websocket_hosts;
