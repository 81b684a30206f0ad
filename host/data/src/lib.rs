//! Portico's data layer: a DynamoDB-shaped data model and the stores behind it.
//!
//! - [`value`]: the ten attribute types, exact 38-digit numbers, DynamoDB JSON.
//! - [`ops`]: requests and results, shaped like DynamoDB's API.
//! - [`Backend`]: what a store implements; [`embedded`] is Portico's own (redb), the
//!   `portico-dynamodb` crate maps the same trait onto DynamoDB.
//! - [`expr`]: DynamoDB's expression language (conditions, updates, key conditions,
//!   filters, projections), parsed and evaluated.
//!
//! This crate knows nothing of wasmtime or the gateway, so it builds and tests alone.

pub mod backend;
pub mod cache;
pub mod embedded;
pub mod error;
pub mod expr;
pub mod ops;
pub mod schema;
pub mod value;

pub use backend::Backend;
pub use error::{CancellationCode, CancellationReason, DataError, ErrorKind};
pub use schema::{IndexProjection, IndexSchema, KeyAttribute, KeySchema, KeyType, TableSchema};
pub use value::{Item, Number, Set, Value, ValueType};
