//! # Portico
//!
//! API Gateway + Lambda + DynamoDB in one binary. HTTP requests are matched to routes
//! with API Gateway's rules ([`gateway`]), turned into payload-2.0 events, and handled by
//! WebAssembly component functions, each request in a fresh instance ([`runtime`]).
//! What runs where is declared in `portico.toml` ([`manifest`]); which version of each
//! function is live, and changing it under load, is [`deploy`]'s job, driven through
//! the admin API ([`admin`]).

#![deny(missing_docs)]

pub mod admin;
pub mod cli;
pub mod data;
pub mod deploy;
pub mod exchange;
pub mod fs_atomic;
pub mod gateway;
pub mod http_server;
pub mod log;
pub mod manifest;
pub mod metrics;
pub mod outbound;
pub mod policy;
pub mod routing;
pub mod runtime;
pub mod telemetry;
pub mod variables;
