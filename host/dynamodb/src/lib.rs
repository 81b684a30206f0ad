//! Portico's DynamoDB backend: [`portico_data::Backend`] on `aws-sdk-dynamodb`.
//!
//! A thin, faithful mapping: each operation becomes the DynamoDB call of the same name
//! with the same parameters (expressions are forwarded as written), and DynamoDB's
//! exceptions become [`DataError`](portico_data::DataError) kinds.
//!
//! - [`DynamoDbConfig`] / [`DynamoDbBackend::connect`]: the standard AWS credential and
//!   region chain, an optional endpoint for DynamoDB-compatible servers, the SDK's
//!   standard retries; declared tables are checked (and created when allowed).
//! - [`convert`]: values to and from the SDK's `AttributeValue`.
//! - [`errors`]: SDK errors to `DataError`, and [`ConnectError`].
//! - `test_server` (feature `test-server`): a local dynoxide server for tests.

#![warn(missing_docs)]

pub mod backend;
pub mod config;
pub mod convert;
pub mod errors;
mod ops;
mod tables;
#[cfg(feature = "test-server")]
pub mod test_server;

pub use backend::DynamoDbBackend;
pub use config::{DynamoDbConfig, StaticCredentials};
pub use errors::ConnectError;
