//! The backend trait: what the host needs of a data store.

use async_trait::async_trait;

use crate::error::DataError;
use crate::ops::{
    BatchGet, BatchGetOutput, BatchWrite, BatchWriteOutput, DeleteItem, GetItem, Page, PutItem,
    Query, Scan, TransactGet, TransactWrite, UpdateItem, WriteOutput,
};
use crate::value::Item;

/// A DynamoDB-shaped data store. Both implementations (`embedded`, `dynamodb`) must give
/// the same results and the same error kinds for the same requests; the conformance
/// suite holds them to it.
///
/// A write returns only after the store committed it durably.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A short name for logs and metrics (`embedded`, `dynamodb`).
    fn name(&self) -> &'static str;

    /// `GetItem`: the item, or `None` when there is none with that key.
    async fn get_item(&self, request: GetItem) -> Result<Option<Item>, DataError>;

    /// `PutItem`.
    async fn put_item(&self, request: PutItem) -> Result<WriteOutput, DataError>;

    /// `UpdateItem`.
    async fn update_item(&self, request: UpdateItem) -> Result<WriteOutput, DataError>;

    /// `DeleteItem`.
    async fn delete_item(&self, request: DeleteItem) -> Result<WriteOutput, DataError>;

    /// `Query`: one page.
    async fn query(&self, request: Query) -> Result<Page, DataError>;

    /// `Scan`: one page.
    async fn scan(&self, request: Scan) -> Result<Page, DataError>;

    /// `BatchGetItem`.
    async fn batch_get(&self, request: BatchGet) -> Result<BatchGetOutput, DataError>;

    /// `BatchWriteItem`.
    async fn batch_write(&self, request: BatchWrite) -> Result<BatchWriteOutput, DataError>;

    /// `TransactGetItems`: one item (or `None`) per request, in order.
    async fn transact_get(&self, request: TransactGet) -> Result<Vec<Option<Item>>, DataError>;

    /// `TransactWriteItems`: all or nothing.
    async fn transact_write(&self, request: TransactWrite) -> Result<(), DataError>;
}
