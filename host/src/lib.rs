//! # Portico
//!
//! API Gateway + Lambda + DynamoDB in one binary. HTTP requests are matched to routes
//! with API Gateway's rules ([`gateway`]), turned into payload-2.0 events, and handled by
//! WebAssembly component functions, each request in a fresh instance ([`runtime`]).
//! What runs where is declared in `portico.toml` ([`manifest`]).

#![warn(missing_docs)]

pub mod admin;
pub mod cli;
pub mod data;
pub mod gateway;
pub mod http_server;
pub mod manifest;
pub mod metrics;
pub mod runtime;
