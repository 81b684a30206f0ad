//! Requests and results of the data operations, shaped like DynamoDB's API so the
//! dynamodb backend is a thin mapping and guest code ports over.
//!
//! Expressions stay strings here (DynamoDB's grammar with `#name` and `:value`
//! placeholders); each backend parses or forwards them.

use std::collections::BTreeMap;

use crate::value::{Item, Value};

/// The placeholders an operation's expressions use: `ExpressionAttributeNames` and
/// `ExpressionAttributeValues`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placeholders {
    /// `#name` → attribute name.
    pub names: BTreeMap<String, String>,
    /// `:value` → value.
    pub values: BTreeMap<String, Value>,
}

/// What a write returns of the item (`ReturnValues`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReturnValues {
    /// Nothing.
    #[default]
    None,
    /// The whole item as it was before the write.
    AllOld,
    /// The whole item as it is after the write (update only).
    AllNew,
    /// The updated attributes as they were (update only).
    UpdatedOld,
    /// The updated attributes as they are now (update only).
    UpdatedNew,
}

impl ReturnValues {
    /// DynamoDB's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnValues::None => "NONE",
            ReturnValues::AllOld => "ALL_OLD",
            ReturnValues::AllNew => "ALL_NEW",
            ReturnValues::UpdatedOld => "UPDATED_OLD",
            ReturnValues::UpdatedNew => "UPDATED_NEW",
        }
    }
}

/// `GetItem`.
#[derive(Clone, Debug, PartialEq)]
pub struct GetItem {
    /// The table.
    pub table: String,
    /// The full primary key.
    pub key: Item,
    /// Strongly consistent read.
    pub consistent: bool,
    /// `ProjectionExpression`: which attributes to return (all when `None`).
    pub projection: Option<String>,
    /// Name placeholders used by the projection.
    pub names: BTreeMap<String, String>,
}

/// `PutItem`.
#[derive(Clone, Debug, PartialEq)]
pub struct PutItem {
    /// The table.
    pub table: String,
    /// The whole item, key included.
    pub item: Item,
    /// `ConditionExpression`.
    pub condition: Option<String>,
    /// Placeholders for the condition.
    pub placeholders: Placeholders,
    /// `NONE` or `ALL_OLD`.
    pub return_values: ReturnValues,
    /// Return the old item in a conditional-check failure.
    pub return_old_on_condition_failure: bool,
}

/// `UpdateItem`.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateItem {
    /// The table.
    pub table: String,
    /// The full primary key.
    pub key: Item,
    /// `UpdateExpression` (SET, REMOVE, ADD, DELETE). Without one, the item is created
    /// with just its key if missing.
    pub update: Option<String>,
    /// `ConditionExpression`.
    pub condition: Option<String>,
    /// Placeholders for both expressions.
    pub placeholders: Placeholders,
    /// Any of the five.
    pub return_values: ReturnValues,
    /// Return the old item in a conditional-check failure.
    pub return_old_on_condition_failure: bool,
}

/// `DeleteItem`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeleteItem {
    /// The table.
    pub table: String,
    /// The full primary key.
    pub key: Item,
    /// `ConditionExpression`.
    pub condition: Option<String>,
    /// Placeholders for the condition.
    pub placeholders: Placeholders,
    /// `NONE` or `ALL_OLD`.
    pub return_values: ReturnValues,
    /// Return the old item in a conditional-check failure.
    pub return_old_on_condition_failure: bool,
}

/// The result of a put, update or delete: the attributes `ReturnValues` asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteOutput {
    /// The returned attributes (`None` when nothing was asked for or there was no item).
    pub attributes: Option<Item>,
}

/// `Query`.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The table.
    pub table: String,
    /// A secondary index to query instead of the table.
    pub index: Option<String>,
    /// `KeyConditionExpression`: partition key equality, optionally a sort-key condition.
    pub key_condition: String,
    /// `FilterExpression`, applied after `limit` items were read.
    pub filter: Option<String>,
    /// `ProjectionExpression`.
    pub projection: Option<String>,
    /// Placeholders for all of the expressions.
    pub placeholders: Placeholders,
    /// Stop after evaluating this many items (before the filter).
    pub limit: Option<u32>,
    /// `ExclusiveStartKey`: the previous page's `last_evaluated_key`.
    pub exclusive_start_key: Option<Item>,
    /// Ascending sort-key order (`ScanIndexForward`).
    pub forward: bool,
    /// Strongly consistent read (not on global indexes).
    pub consistent: bool,
    /// `Select = COUNT`: return counts only.
    pub count_only: bool,
}

/// `Scan`.
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    /// The table.
    pub table: String,
    /// A secondary index to scan instead of the table.
    pub index: Option<String>,
    /// `FilterExpression`.
    pub filter: Option<String>,
    /// `ProjectionExpression`.
    pub projection: Option<String>,
    /// Placeholders for the expressions.
    pub placeholders: Placeholders,
    /// Stop after evaluating this many items (before the filter).
    pub limit: Option<u32>,
    /// `ExclusiveStartKey`.
    pub exclusive_start_key: Option<Item>,
    /// Parallel scan: this worker's segment.
    pub segment: Option<Segment>,
    /// Strongly consistent read.
    pub consistent: bool,
    /// `Select = COUNT`.
    pub count_only: bool,
}

/// A parallel scan's segment: `segment` of `total` (0 ≤ segment < total ≤ 1,000,000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// This worker's segment.
    pub segment: u32,
    /// How many segments the scan is split into.
    pub total: u32,
}

/// A page of query or scan results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// The items that passed the filter (empty with `count_only`).
    pub items: Vec<Item>,
    /// How many items passed the filter.
    pub count: u32,
    /// How many items were evaluated, before the filter.
    pub scanned_count: u32,
    /// Where the next page starts; `None` when this was the last page.
    pub last_evaluated_key: Option<Item>,
}

/// The keys to read from one table in a batch get.
#[derive(Clone, Debug, PartialEq)]
pub struct KeysAndProjection {
    /// Full primary keys.
    pub keys: Vec<Item>,
    /// `ProjectionExpression`.
    pub projection: Option<String>,
    /// Name placeholders for the projection.
    pub names: BTreeMap<String, String>,
    /// Strongly consistent reads.
    pub consistent: bool,
}

/// `BatchGetItem`: up to 100 keys across tables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchGet {
    /// Per table, the keys to read.
    pub tables: BTreeMap<String, KeysAndProjection>,
}

/// The result of a batch get.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchGetOutput {
    /// Per table, the items found (in no particular order).
    pub responses: BTreeMap<String, Vec<Item>>,
    /// Per table, keys that were not read (throttling); retry them.
    pub unprocessed: BTreeMap<String, KeysAndProjection>,
}

/// One write of a batch write.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchWriteRequest {
    /// Put this item.
    Put(Item),
    /// Delete the item with this key.
    Delete(Item),
}

/// `BatchWriteItem`: up to 25 puts and deletes across tables, no conditions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchWrite {
    /// Per table, the writes.
    pub tables: BTreeMap<String, Vec<BatchWriteRequest>>,
}

/// The result of a batch write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchWriteOutput {
    /// Per table, writes that were not applied (throttling); retry them.
    pub unprocessed: BTreeMap<String, Vec<BatchWriteRequest>>,
}

/// One read of a transact get.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactGetItem {
    /// The table.
    pub table: String,
    /// The full primary key.
    pub key: Item,
    /// `ProjectionExpression`.
    pub projection: Option<String>,
    /// Name placeholders for the projection.
    pub names: BTreeMap<String, String>,
}

/// `TransactGetItems`: up to 100 reads from one snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransactGet {
    /// The reads.
    pub items: Vec<TransactGetItem>,
}

/// One write of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum TransactWriteItem {
    /// Put an item (with an optional condition).
    Put(PutItem),
    /// Update an item.
    Update(UpdateItem),
    /// Delete an item.
    Delete(DeleteItem),
    /// Only check a condition on an item.
    ConditionCheck(ConditionCheck),
}

impl TransactWriteItem {
    /// The table the item targets.
    pub fn table(&self) -> &str {
        match self {
            TransactWriteItem::Put(op) => &op.table,
            TransactWriteItem::Update(op) => &op.table,
            TransactWriteItem::Delete(op) => &op.table,
            TransactWriteItem::ConditionCheck(op) => &op.table,
        }
    }
}

/// A transaction's condition check on an item it does not write.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionCheck {
    /// The table.
    pub table: String,
    /// The full primary key.
    pub key: Item,
    /// The condition (required).
    pub condition: String,
    /// Placeholders for the condition.
    pub placeholders: Placeholders,
    /// Return the old item in the cancellation reason when the check fails.
    pub return_old_on_condition_failure: bool,
}

/// `TransactWriteItems`: up to 100 writes, all or nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransactWrite {
    /// The writes; no two may target the same item.
    pub items: Vec<TransactWriteItem>,
    /// `ClientRequestToken` for idempotent retries.
    pub client_token: Option<String>,
}
