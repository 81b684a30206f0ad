//! Which host holds which connection, when several hosts share one DynamoDB: a host
//! table, `portico_connections`, key `id` (S), one item per open connection —
//! `owner` (the URL other hosts reach its peer endpoint at), `connected` (epoch
//! milliseconds) and `expires` (epoch seconds, the table's TTL attribute: the end of
//! the connection's lifetime plus an hour, so that a crashed host's records go away on
//! their own).
//!
//! Contract: a record is written (and committed) before the client is told it is
//! connected, and deleted after the connection ends, before `$disconnect` runs; a
//! record may outlive its connection only when its host died, and then names a host
//! that no longer answers for it.

use portico_data::ops::{DeleteItem, GetItem, Placeholders, PutItem, ReturnValues};
use portico_data::{
    Backend, DataError, Item, KeyAttribute, KeySchema, KeyType, Number, TableSchema, Value,
};
use std::sync::Arc;

/// The table.
pub const TABLE: &str = "portico_connections";
/// How long past its lifetime a record is kept (for a host that died holding it).
const KEPT_AFTER_LIFETIME_SECONDS: u64 = 3_600;

/// The table's schema, for the data store to create or check.
pub fn table() -> TableSchema {
    let mut schema = TableSchema::new(
        TABLE,
        KeySchema {
            partition: KeyAttribute {
                name: "id".into(),
                key_type: KeyType::S,
            },
            sort: None,
        },
    );
    schema.ttl_attribute = Some("expires".into());
    schema
}

/// The table, over a backend that has it.
#[derive(Clone)]
pub struct Directory {
    backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("backend", &self.backend.name())
            .finish()
    }
}

fn key(id: &str) -> Item {
    Item::from([("id".to_string(), Value::S(id.to_string()))])
}

fn number(n: u64) -> Value {
    Value::N(Number::from(i64::try_from(n).unwrap_or(i64::MAX)))
}

impl Directory {
    /// The table in `backend` (which must have [`table`]).
    pub fn new(backend: Arc<dyn Backend>) -> Directory {
        Directory { backend }
    }

    /// Records that `owner` holds connection `id`, made at `connected_ms` and closed by
    /// `lifetime_end_ms` at the latest.
    pub async fn claim(
        &self,
        id: &str,
        owner: &str,
        connected_ms: u64,
        lifetime_end_ms: u64,
    ) -> Result<(), DataError> {
        let mut item = key(id);
        item.insert("owner".into(), Value::S(owner.to_string()));
        item.insert("connected".into(), number(connected_ms));
        item.insert(
            "expires".into(),
            number(lifetime_end_ms / 1000 + KEPT_AFTER_LIFETIME_SECONDS),
        );
        self.backend
            .put_item(PutItem {
                table: TABLE.into(),
                item,
                condition: None,
                placeholders: Placeholders::default(),
                return_values: ReturnValues::None,
                return_old_on_condition_failure: false,
            })
            .await
            .map(|_| ())
    }

    /// The host holding connection `id`, if a record names one.
    pub async fn owner(&self, id: &str) -> Result<Option<String>, DataError> {
        let item = self
            .backend
            .get_item(GetItem {
                table: TABLE.into(),
                key: key(id),
                consistent: true,
                projection: None,
                names: Default::default(),
            })
            .await?;
        Ok(item.and_then(|mut item| match item.remove("owner") {
            Some(Value::S(owner)) => Some(owner),
            _ => None,
        }))
    }

    /// Forgets connection `id`.
    pub async fn release(&self, id: &str) -> Result<(), DataError> {
        self.backend
            .delete_item(DeleteItem {
                table: TABLE.into(),
                key: key(id),
                condition: None,
                placeholders: Placeholders::default(),
                return_values: ReturnValues::None,
                return_old_on_condition_failure: false,
            })
            .await
            .map(|_| ())
    }
}
