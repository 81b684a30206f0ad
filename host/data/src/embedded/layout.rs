//! How tables map onto redb: one redb table of items per table, one per secondary index,
//! one TTL queue per table with TTL, and a catalog of the schemas they were built for.
//!
//! - `items/{table}`: primary-key bytes → item (postcard).
//! - `index/{table}/{index}`: index-key bytes + primary-key bytes → primary-key bytes.
//! - `ttl/{table}`: expiry (u64 big-endian epoch seconds) + primary-key bytes →
//!   primary-key bytes.
//! - `catalog`: table name → its schema (postcard), to notice manifest changes.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::error::DataError;
use crate::schema::{IndexSchema, TableSchema};

use super::rows;
use super::storage_error;

const CATALOG: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("catalog");

/// The redb table names of one Portico table.
#[derive(Debug)]
pub struct Layout {
    /// The table's schema.
    pub schema: TableSchema,
    /// `items/{table}`.
    pub items: String,
    /// Each secondary index with its redb table name.
    pub indexes: Vec<(IndexSchema, String)>,
    /// `ttl/{table}`.
    pub ttl: String,
}

impl Layout {
    /// The names for a schema.
    pub fn new(schema: TableSchema) -> Self {
        let indexes = schema
            .global_indexes
            .iter()
            .chain(&schema.local_indexes)
            .map(|index| {
                (
                    index.clone(),
                    format!("index/{}/{}", schema.name, index.name),
                )
            })
            .collect();
        Self {
            items: format!("items/{}", schema.name),
            ttl: format!("ttl/{}", schema.name),
            indexes,
            schema,
        }
    }

    /// The items table.
    pub fn items_def(&self) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
        TableDefinition::new(&self.items)
    }

    /// The TTL queue.
    pub fn ttl_def(&self) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
        TableDefinition::new(&self.ttl)
    }

    /// Finds a secondary index and its redb table name.
    pub fn index(&self, name: &str) -> Option<&(IndexSchema, String)> {
        self.indexes.iter().find(|(index, _)| index.name == name)
    }
}

/// Creates the redb tables of every declared table, checking each against the schema it
/// was created with. A changed primary key is refused (the data would be unreadable);
/// changed indexes or TTL are rebuilt from the items.
///
/// # Errors
/// A validation error naming the table whose key schema changed, or a storage error.
pub fn prepare(txn: &WriteTransaction, layouts: &[Layout]) -> Result<(), DataError> {
    let mut catalog = txn.open_table(CATALOG).map_err(storage_error)?;
    for layout in layouts {
        let schema = &layout.schema;
        let stored = catalog
            .get(schema.name.as_str())
            .map_err(storage_error)?
            .map(|bytes| postcard::from_bytes::<TableSchema>(bytes.value()));
        match stored {
            Some(Ok(stored)) if stored == *schema => {}
            Some(Ok(stored)) if stored.key != schema.key => {
                return Err(DataError::validation(format!(
                    "table {:?} holds data keyed by {} but the manifest now declares {}; \
                     export the table, remove it from the data directory and import it again",
                    schema.name,
                    describe_key(&stored),
                    describe_key(schema)
                )));
            }
            Some(_) => {
                // Indexes or TTL changed (or the catalog entry is unreadable): rebuild them.
                rebuild_derived(txn, layout)?;
            }
            None => {
                txn.open_table(layout.items_def()).map_err(storage_error)?;
                rebuild_derived(txn, layout)?;
            }
        }
        let encoded = postcard::to_allocvec(schema)
            .map_err(|e| DataError::Unavailable(format!("encoding the catalog: {e}")))?;
        catalog
            .insert(schema.name.as_str(), encoded.as_slice())
            .map_err(storage_error)?;
    }
    Ok(())
}

fn describe_key(schema: &TableSchema) -> String {
    schema
        .key
        .attributes()
        .map(|a| format!("{} ({:?})", a.name, a.key_type))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Empties and refills a table's index and TTL tables from its items.
fn rebuild_derived(txn: &WriteTransaction, layout: &Layout) -> Result<(), DataError> {
    for (_, name) in &layout.indexes {
        let def: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new(name);
        txn.delete_table(def).map_err(storage_error)?;
        txn.open_table(def).map_err(storage_error)?;
    }
    txn.delete_table(layout.ttl_def()).map_err(storage_error)?;
    txn.open_table(layout.ttl_def()).map_err(storage_error)?;

    let items = txn.open_table(layout.items_def()).map_err(storage_error)?;
    let mut entries = Vec::new();
    for entry in items.iter().map_err(storage_error)? {
        let (key, value) = entry.map_err(storage_error)?;
        entries.push((key.value().to_vec(), rows::decode_item(value.value())?));
    }
    drop(items);
    for (key, item) in &entries {
        rows::index_insert(txn, layout, key, item)?;
    }
    Ok(())
}
