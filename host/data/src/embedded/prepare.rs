//! Checking requests and parsing their expressions before they reach the store, so the
//! writer thread only evaluates and writes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::error::DataError;
use crate::expr::{self, Condition, ExprContext, Projection, Update};
use crate::ops::{
    BatchWrite, BatchWriteRequest, ConditionCheck, DeleteItem, PutItem, ReturnValues,
    TransactWrite, TransactWriteItem, UpdateItem,
};
use crate::schema::{KeyType, check_key_size};
use crate::value::{Item, MAX_ITEM_SIZE, Value, item_size};

use super::keys;
use super::layout::Layout;

/// Most items in one transaction.
pub const MAX_TRANSACT_ITEMS: usize = 100;
/// Most writes in one batch write.
pub const MAX_BATCH_WRITES: usize = 25;
/// Most keys in one batch get.
pub const MAX_BATCH_GETS: usize = 100;

/// The declared tables, by name.
pub type Tables = HashMap<String, Arc<Layout>>;

/// One item of one table, located.
#[derive(Debug)]
pub struct Target {
    /// The table.
    pub layout: Arc<Layout>,
    /// The item's primary key.
    pub key: Item,
    /// The encoded primary key.
    pub key_bytes: Vec<u8>,
}

/// A checked put.
#[derive(Debug)]
pub struct Put {
    /// Where.
    pub target: Target,
    /// The new item.
    pub item: Item,
    /// The condition.
    pub condition: Option<Condition>,
    /// `NONE` or `ALL_OLD`.
    pub return_values: ReturnValues,
    /// Old item in a condition failure.
    pub return_old: bool,
}

/// A checked update.
#[derive(Debug)]
pub struct Updating {
    /// Where.
    pub target: Target,
    /// The update expression.
    pub update: Option<Update>,
    /// The condition.
    pub condition: Option<Condition>,
    /// What to return.
    pub return_values: ReturnValues,
    /// Old item in a condition failure.
    pub return_old: bool,
}

/// A checked delete.
#[derive(Debug)]
pub struct Delete {
    /// Where.
    pub target: Target,
    /// The condition.
    pub condition: Option<Condition>,
    /// `NONE` or `ALL_OLD`.
    pub return_values: ReturnValues,
    /// Old item in a condition failure.
    pub return_old: bool,
}

/// A checked condition check (transactions only).
#[derive(Debug)]
pub struct Check {
    /// Where.
    pub target: Target,
    /// The condition.
    pub condition: Condition,
    /// Old item in a condition failure.
    pub return_old: bool,
}

/// One checked write of a transaction.
#[derive(Debug)]
pub enum TransactOp {
    /// Put.
    Put(Put),
    /// Update.
    Update(Updating),
    /// Delete.
    Delete(Delete),
    /// Condition check.
    Check(Check),
    /// An item whose key or attributes are invalid: it cancels the transaction with a
    /// `ValidationError` reason.
    Invalid(DataError),
}

impl TransactOp {
    /// The item the write targets (none for an invalid item).
    pub fn target(&self) -> Option<&Target> {
        match self {
            TransactOp::Put(op) => Some(&op.target),
            TransactOp::Update(op) => Some(&op.target),
            TransactOp::Delete(op) => Some(&op.target),
            TransactOp::Check(op) => Some(&op.target),
            TransactOp::Invalid(_) => None,
        }
    }
}

/// Whether a transaction item's error cancels the transaction with a reason (the item's
/// data does not fit the table: a key of the wrong type, an item too large) rather than
/// refusing the whole request (a malformed expression, an empty key value), as DynamoDB
/// tells them apart.
///
/// A key value over its size limit counts as the item's data not fitting the table (a
/// "user error, such as an invalid data format", in TransactionCanceledException's
/// documentation), like a mistyped key; DynamoDB does not document which it is, and the
/// reference server (dynoxide) cancels too.
pub fn is_item_level(error: &DataError) -> bool {
    match error {
        DataError::ItemTooLarge => true,
        DataError::Validation(message) => {
            message.contains("Type mismatch")
                || message.contains("does not match the schema")
                || message.contains("Size of hashkey has exceeded")
                || message.contains("Aggregated size of all range keys has exceeded")
        }
        _ => false,
    }
}

/// One checked write of a batch write.
#[derive(Debug)]
pub enum BatchOp {
    /// Put this item.
    Put(Target, Item),
    /// Delete this key.
    Delete(Target),
}

/// Finds a declared table.
///
/// # Errors
/// `ResourceNotFound` for an undeclared table.
pub fn table<'t>(tables: &'t Tables, name: &str) -> Result<&'t Arc<Layout>, DataError> {
    tables
        .get(name)
        .ok_or_else(|| DataError::ResourceNotFound(format!("table {name:?}")))
}

/// Locates the item with `key`, checking the key against the table's schema.
///
/// # Errors
/// `ResourceNotFound` or a validation error for a key that does not match the schema.
pub fn target(tables: &Tables, name: &str, key: Item) -> Result<Target, DataError> {
    let layout = table(tables, name)?;
    layout.schema.key.validate_key(&key)?;
    let key_bytes = keys::encode_key(&layout.schema.key, &key).ok_or_else(|| {
        DataError::validation("The provided key element does not match the schema")
    })?;
    Ok(Target {
        layout: Arc::clone(layout),
        key,
        key_bytes,
    })
}

/// Checks a whole item: table key attributes present, well-typed and within their size
/// limits, index key attributes (when present) of their key type, not empty and within
/// the same limits, at most 400 KB.
///
/// # Errors
/// DynamoDB's validation errors, or `ItemTooLarge`.
pub fn check_item(layout: &Layout, item: &Item) -> Result<(), DataError> {
    layout.schema.key.validate_item_key(item)?;
    for (index, _) in &layout.indexes {
        for (attr, role) in index.key.attributes_with_roles() {
            let Some(value) = item.get(&attr.name) else {
                continue;
            };
            if value.value_type() != attr.key_type.value_type() {
                return Err(DataError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                    attr.name,
                    attr.key_type.value_type(),
                    value.value_type(),
                    index.name
                )));
            }
            let empty = match (attr.key_type, value) {
                (KeyType::S, Value::S(text)) => text.is_empty(),
                (KeyType::B, Value::B(bytes)) => bytes.is_empty(),
                _ => false,
            };
            if empty {
                return Err(DataError::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: {}, IndexKey: {}",
                    index.name, attr.name
                )));
            }
            // A value longer than an index key may be is an "index key violation"
            // (DynamoDB developer guide, "Detecting and correcting index key
            // violations"), refused like a mistyped one; the messages are the table
            // key's (moto checks index keys the same way).
            check_key_size(role, value)?;
        }
    }
    if item_size(item) > MAX_ITEM_SIZE {
        return Err(DataError::ItemTooLarge);
    }
    Ok(())
}

fn only_none_or_all_old(return_values: ReturnValues) -> Result<(), DataError> {
    match return_values {
        ReturnValues::None | ReturnValues::AllOld => Ok(()),
        _ => Err(DataError::validation("Return values set to invalid value")),
    }
}

fn condition(
    text: Option<&str>,
    ctx: &mut ExprContext<'_>,
) -> Result<Option<Condition>, DataError> {
    text.map(|text| expr::parse_condition(text, ctx))
        .transpose()
}

/// Checks a put.
///
/// # Errors
/// Validation errors for the item, the condition or the placeholders.
pub fn put(tables: &Tables, request: PutItem) -> Result<Put, DataError> {
    only_none_or_all_old(request.return_values)?;
    let layout = table(tables, &request.table)?;
    check_item(layout, &request.item)?;
    let mut ctx = ExprContext::new(&request.placeholders);
    let condition = condition(request.condition.as_deref(), &mut ctx)?;
    ctx.finish()?;
    let key = layout.schema.key.key_of(&request.item).ok_or_else(|| {
        DataError::validation("The provided key element does not match the schema")
    })?;
    Ok(Put {
        target: target(tables, &request.table, key)?,
        item: request.item,
        condition,
        return_values: request.return_values,
        return_old: request.return_old_on_condition_failure,
    })
}

/// Checks an update.
///
/// # Errors
/// Validation errors for the key, the expressions or the placeholders.
pub fn update(tables: &Tables, request: UpdateItem) -> Result<Updating, DataError> {
    let target = target(tables, &request.table, request.key)?;
    let mut ctx = ExprContext::new(&request.placeholders);
    let update = request
        .update
        .as_deref()
        .map(|text| expr::parse_update(text, &mut ctx))
        .transpose()?;
    let condition = condition(request.condition.as_deref(), &mut ctx)?;
    ctx.finish()?;
    if let Some(update) = &update {
        update.check_key(&target.layout.schema.key)?;
    }
    Ok(Updating {
        target,
        update,
        condition,
        return_values: request.return_values,
        return_old: request.return_old_on_condition_failure,
    })
}

/// Checks a delete.
///
/// # Errors
/// Validation errors for the key, the condition or the placeholders.
pub fn delete(tables: &Tables, request: DeleteItem) -> Result<Delete, DataError> {
    only_none_or_all_old(request.return_values)?;
    let target = target(tables, &request.table, request.key)?;
    let mut ctx = ExprContext::new(&request.placeholders);
    let condition = condition(request.condition.as_deref(), &mut ctx)?;
    ctx.finish()?;
    Ok(Delete {
        target,
        condition,
        return_values: request.return_values,
        return_old: request.return_old_on_condition_failure,
    })
}

fn check(tables: &Tables, request: ConditionCheck) -> Result<Check, DataError> {
    let target = target(tables, &request.table, request.key)?;
    let mut ctx = ExprContext::new(&request.placeholders);
    let condition = expr::parse_condition(&request.condition, &mut ctx)?;
    ctx.finish()?;
    Ok(Check {
        target,
        condition,
        return_old: request.return_old_on_condition_failure,
    })
}

/// Checks a transaction: at most 100 items, no two on the same item, each item valid.
/// Return values other than the old item on a condition failure are not allowed.
///
/// # Errors
/// The first validation error (a malformed transaction is refused as a whole, before
/// anything is evaluated, as DynamoDB does).
pub fn transact(tables: &Tables, request: TransactWrite) -> Result<Vec<TransactOp>, DataError> {
    if request.items.is_empty() || request.items.len() > MAX_TRANSACT_ITEMS {
        return Err(DataError::validation(format!(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to {MAX_TRANSACT_ITEMS} and greater than or equal to 1"
        )));
    }
    let mut seen = HashSet::new();
    let mut ops = Vec::with_capacity(request.items.len());
    for item in request.items {
        let prepared = match item {
            TransactWriteItem::Put(put_request) => put(
                tables,
                PutItem {
                    return_values: ReturnValues::None,
                    ..put_request
                },
            )
            .map(TransactOp::Put),
            TransactWriteItem::Update(update_request) => update(
                tables,
                UpdateItem {
                    return_values: ReturnValues::None,
                    ..update_request
                },
            )
            .map(TransactOp::Update),
            TransactWriteItem::Delete(delete_request) => delete(
                tables,
                DeleteItem {
                    return_values: ReturnValues::None,
                    ..delete_request
                },
            )
            .map(TransactOp::Delete),
            TransactWriteItem::ConditionCheck(check_request) => {
                check(tables, check_request).map(TransactOp::Check)
            }
        };
        let op = match prepared {
            Ok(op) => op,
            Err(error) if is_item_level(&error) => TransactOp::Invalid(error),
            Err(error) => return Err(error),
        };
        if let Some(target) = op.target()
            && !seen.insert((target.layout.schema.name.clone(), target.key_bytes.clone()))
        {
            return Err(DataError::validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        ops.push(op);
    }
    Ok(ops)
}

/// Checks a batch write: 1 to 25 writes, no two on the same item, valid items and keys.
///
/// # Errors
/// The first validation error; nothing is written.
pub fn batch_write(tables: &Tables, request: BatchWrite) -> Result<Vec<BatchOp>, DataError> {
    let total: usize = request.tables.values().map(Vec::len).sum();
    if total == 0 || total > MAX_BATCH_WRITES {
        return Err(DataError::validation(format!(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to {MAX_BATCH_WRITES}, Member must have length greater than or equal to 1]"
        )));
    }
    let mut seen = HashSet::new();
    let mut ops = Vec::with_capacity(total);
    for (name, writes) in request.tables {
        for write in writes {
            let op = match write {
                BatchWriteRequest::Put(item) => {
                    let layout = table(tables, &name)?;
                    check_item(layout, &item)?;
                    let key = layout.schema.key.key_of(&item).ok_or_else(|| {
                        DataError::validation("The provided key element does not match the schema")
                    })?;
                    BatchOp::Put(target(tables, &name, key)?, item)
                }
                BatchWriteRequest::Delete(key) => BatchOp::Delete(target(tables, &name, key)?),
            };
            let key_bytes = match &op {
                BatchOp::Put(target, _) | BatchOp::Delete(target) => target.key_bytes.clone(),
            };
            if !seen.insert((name.clone(), key_bytes)) {
                return Err(DataError::validation(
                    "Provided list of item keys contains duplicates",
                ));
            }
            ops.push(op);
        }
    }
    Ok(ops)
}

/// Parses an optional projection with its name placeholders.
///
/// # Errors
/// Validation errors for the projection or unused placeholders.
pub fn projection(
    text: Option<&str>,
    names: &BTreeMap<String, String>,
) -> Result<Option<Projection>, DataError> {
    let mut ctx = ExprContext::names_only(names);
    let projection = text
        .map(|text| expr::parse_projection(text, &mut ctx))
        .transpose()?;
    ctx.finish()?;
    Ok(projection)
}
