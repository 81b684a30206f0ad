//! Reading and writing one item inside a redb transaction, keeping its secondary
//! index entries and TTL entry in step with it.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::error::DataError;
use crate::value::{Item, Value};

use super::keys;
use super::layout::Layout;
use super::storage_error;

/// Encodes an item for storage.
pub fn encode_item(item: &Item) -> Result<Vec<u8>, DataError> {
    postcard::to_allocvec(item)
        .map_err(|e| DataError::Unavailable(format!("encoding an item: {e}")))
}

/// Decodes a stored item.
pub fn decode_item(bytes: &[u8]) -> Result<Item, DataError> {
    postcard::from_bytes(bytes).map_err(|e| {
        DataError::Unavailable(format!("the embedded store holds an unreadable item: {e}"))
    })
}

/// Reads the item stored under `key` in a write transaction.
pub fn read(
    txn: &WriteTransaction,
    layout: &Layout,
    key: &[u8],
) -> Result<Option<Item>, DataError> {
    let items = txn.open_table(layout.items_def()).map_err(storage_error)?;
    let stored = items.get(key).map_err(storage_error)?;
    stored.map(|bytes| decode_item(bytes.value())).transpose()
}

/// Stores `new` under `key`, replacing `old` (the item currently there, if any) and
/// moving its index and TTL entries.
pub fn write(
    txn: &WriteTransaction,
    layout: &Layout,
    key: &[u8],
    old: Option<&Item>,
    new: &Item,
) -> Result<(), DataError> {
    if let Some(old) = old {
        index_remove(txn, layout, key, old)?;
    }
    let encoded = encode_item(new)?;
    let mut items = txn.open_table(layout.items_def()).map_err(storage_error)?;
    items
        .insert(key, encoded.as_slice())
        .map_err(storage_error)?;
    drop(items);
    index_insert(txn, layout, key, new)
}

/// Deletes the item `old` stored under `key`, with its index and TTL entries.
pub fn delete(
    txn: &WriteTransaction,
    layout: &Layout,
    key: &[u8],
    old: &Item,
) -> Result<(), DataError> {
    index_remove(txn, layout, key, old)?;
    let mut items = txn.open_table(layout.items_def()).map_err(storage_error)?;
    items.remove(key).map_err(storage_error)?;
    Ok(())
}

/// Adds an item's entries to its table's indexes and TTL queue. An item without an
/// index's key attributes is not in that index (sparse indexes).
pub fn index_insert(
    txn: &WriteTransaction,
    layout: &Layout,
    key: &[u8],
    item: &Item,
) -> Result<(), DataError> {
    for (entry, table) in derived_entries(layout, key, item) {
        let def: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new(table);
        let mut derived = txn.open_table(def).map_err(storage_error)?;
        derived
            .insert(entry.as_slice(), key)
            .map_err(storage_error)?;
    }
    Ok(())
}

fn index_remove(
    txn: &WriteTransaction,
    layout: &Layout,
    key: &[u8],
    item: &Item,
) -> Result<(), DataError> {
    for (entry, table) in derived_entries(layout, key, item) {
        let def: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new(table);
        let mut derived = txn.open_table(def).map_err(storage_error)?;
        derived.remove(entry.as_slice()).map_err(storage_error)?;
    }
    Ok(())
}

/// The index and TTL entries an item has: (entry key, redb table name).
fn derived_entries<'l>(layout: &'l Layout, key: &[u8], item: &Item) -> Vec<(Vec<u8>, &'l str)> {
    let mut entries = Vec::new();
    for (index, table) in &layout.indexes {
        if let Some(mut entry) = index_key(index, item) {
            entry.extend_from_slice(key);
            entries.push((entry, table.as_str()));
        }
    }
    if let Some(expiry) = expiry(layout, item) {
        let mut entry = expiry.to_be_bytes().to_vec();
        entry.extend_from_slice(key);
        entries.push((entry, layout.ttl.as_str()));
    }
    entries
}

/// The encoded index key of an item, when it has the index's key attributes with the
/// right types.
pub fn index_key(index: &crate::schema::IndexSchema, item: &Item) -> Option<Vec<u8>> {
    index
        .key
        .key_of(item)
        .and_then(|key| keys::encode_key(&index.key, &key))
}

/// The item's expiry time (epoch seconds) when its table has TTL and the item's TTL
/// attribute is a non-negative number that fits in 64 bits. Other values are ignored,
/// as DynamoDB ignores them.
pub fn expiry(layout: &Layout, item: &Item) -> Option<u64> {
    let attribute = layout.schema.ttl_attribute.as_ref()?;
    let Some(Value::N(number)) = item.get(attribute) else {
        return None;
    };
    let text = number.to_string();
    let whole = text.split('.').next().unwrap_or_default();
    whole.parse::<u64>().ok()
}
