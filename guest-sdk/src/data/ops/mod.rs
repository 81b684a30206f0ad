//! Request builders: one module per kind of request.

mod batch;
mod get;
mod query;
mod transact;
mod write;

pub use batch::{BatchGet, BatchGetOutput, BatchWrite};
pub use get::Get;
pub use query::{Page, Pages, Query, Scan};
pub use transact::{TransactGet, TransactWrite};
pub use write::{ConditionCheck, Delete, Put, ReturnValues, UpdateItem};

#[cfg(test)]
mod tests;
