//! Where API keys and their usage are kept: two host tables in the manifest's data store
//! (embedded or DynamoDB), declared beside the manifest's own tables when the manifest
//! uses API keys.
//!
//! - `portico_api_keys`, key `id` (S): one item per key — `name`, `plan` (optional),
//!   `hash` (hex SHA-256 of the key's value; the value itself is never stored),
//!   `created` and, once revoked, `revoked` (epoch milliseconds).
//! - `portico_api_key_usage`, key `id` (S) and `period` (S, `day:2026-12-03`): `used`, a
//!   number added to with `ADD`, and `expires` (epoch seconds, the table's TTL
//!   attribute: three months after the period ends).

use portico_data::ops::{GetItem, Placeholders, PutItem, ReturnValues, Scan, UpdateItem};
use portico_data::{
    Backend, DataError, Item, KeyAttribute, KeySchema, KeyType, Number, TableSchema, Value,
};
use std::sync::Arc;

/// The keys table.
pub const KEYS_TABLE: &str = "portico_api_keys";
/// The usage table.
pub const USAGE_TABLE: &str = "portico_api_key_usage";
/// How long a period's count is kept after the period ends.
const USAGE_KEPT_SECONDS: i64 = 92 * 86_400;

/// The two tables, for the data store to create (embedded) or check (DynamoDB).
pub fn tables() -> Vec<TableSchema> {
    let id = KeyAttribute {
        name: "id".into(),
        key_type: KeyType::S,
    };
    let keys = TableSchema::new(
        KEYS_TABLE,
        KeySchema {
            partition: id.clone(),
            sort: None,
        },
    );
    let mut usage = TableSchema::new(
        USAGE_TABLE,
        KeySchema {
            partition: id,
            sort: Some(KeyAttribute {
                name: "period".into(),
                key_type: KeyType::S,
            }),
        },
    );
    usage.ttl_attribute = Some("expires".into());
    vec![keys, usage]
}

/// One key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Its id: public, shown in lists and given to functions.
    pub id: Arc<str>,
    /// What the operator called it.
    pub name: String,
    /// Its usage plan, if any.
    pub plan: Option<String>,
    /// SHA-256 of its value.
    pub hash: [u8; 32],
    /// When it was created (epoch milliseconds).
    pub created_ms: u64,
    /// When it was revoked (epoch milliseconds), if it was.
    pub revoked_ms: Option<u64>,
}

impl KeyRecord {
    fn to_item(&self) -> Item {
        let mut item = Item::new();
        item.insert("id".into(), Value::S(self.id.to_string()));
        item.insert("name".into(), Value::S(self.name.clone()));
        if let Some(plan) = &self.plan {
            item.insert("plan".into(), Value::S(plan.clone()));
        }
        item.insert("hash".into(), Value::S(hex(&self.hash)));
        item.insert("created".into(), number(self.created_ms));
        if let Some(revoked) = self.revoked_ms {
            item.insert("revoked".into(), number(revoked));
        }
        item
    }

    /// The record an item holds; `Err` names what is wrong with it.
    fn from_item(item: &Item) -> Result<KeyRecord, String> {
        let text = |name: &str| match item.get(name) {
            Some(Value::S(s)) => Ok(Some(s.clone())),
            None => Ok(None),
            Some(_) => Err(format!("`{name}` is not a string")),
        };
        let count = |name: &str| match item.get(name) {
            Some(Value::N(n)) => n
                .to_string()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| format!("`{name}` is not a whole number")),
            None => Ok(None),
            Some(_) => Err(format!("`{name}` is not a number")),
        };
        let id = text("id")?.ok_or("no `id`")?;
        let hash = text("hash")?.ok_or("no `hash`")?;
        let hash = unhex(&hash).ok_or("`hash` is not 64 hex digits")?;
        Ok(KeyRecord {
            id: id.into(),
            name: text("name")?.unwrap_or_default(),
            plan: text("plan")?,
            hash,
            created_ms: count("created")?.unwrap_or_default(),
            revoked_ms: count("revoked")?,
        })
    }
}

/// The two tables, over a backend.
#[derive(Clone)]
pub struct KeyStore {
    backend: Arc<dyn Backend>,
}

impl KeyStore {
    /// The tables in `backend` (which must have them: see [`tables`]).
    pub fn new(backend: Arc<dyn Backend>) -> KeyStore {
        KeyStore { backend }
    }

    /// Stores a new key; fails with [`DataError::ConditionalCheckFailed`] if its id is
    /// taken.
    pub async fn insert(&self, record: &KeyRecord) -> Result<(), DataError> {
        self.backend
            .put_item(PutItem {
                table: KEYS_TABLE.into(),
                item: record.to_item(),
                condition: Some("attribute_not_exists(id)".into()),
                placeholders: Placeholders::default(),
                return_values: ReturnValues::None,
                return_old_on_condition_failure: false,
            })
            .await
            .map(|_| ())
    }

    /// Every key, revoked ones included, with the items that are not keys (written by
    /// hand, say) named with why.
    pub async fn all(&self) -> Result<(Vec<KeyRecord>, Vec<String>), DataError> {
        let mut records = Vec::new();
        let mut bad = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .backend
                .scan(Scan {
                    table: KEYS_TABLE.into(),
                    index: None,
                    filter: None,
                    projection: None,
                    placeholders: Placeholders::default(),
                    limit: None,
                    exclusive_start_key: start.take(),
                    segment: None,
                    consistent: true,
                    count_only: false,
                })
                .await?;
            for item in &page.items {
                match KeyRecord::from_item(item) {
                    Ok(record) => records.push(record),
                    Err(why) => bad.push(why),
                }
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok((records, bad)),
            }
        }
    }

    /// The key with `id`, if there is one (and it is well formed).
    pub async fn get(&self, id: &str) -> Result<Option<KeyRecord>, DataError> {
        let item = self
            .backend
            .get_item(GetItem {
                table: KEYS_TABLE.into(),
                key: id_key(id),
                consistent: true,
                projection: None,
                names: Default::default(),
            })
            .await?;
        Ok(item.and_then(|item| KeyRecord::from_item(&item).ok()))
    }

    /// Marks key `id` revoked at `at_ms` (keeping the first time if it was already);
    /// the record as it is now, or `None` if there is no such key.
    pub async fn revoke(&self, id: &str, at_ms: u64) -> Result<Option<KeyRecord>, DataError> {
        let mut placeholders = Placeholders::default();
        placeholders.values.insert(":at".into(), number(at_ms));
        let result = self
            .backend
            .update_item(UpdateItem {
                table: KEYS_TABLE.into(),
                key: id_key(id),
                update: Some("SET revoked = if_not_exists(revoked, :at)".into()),
                condition: Some("attribute_exists(id)".into()),
                placeholders,
                return_values: ReturnValues::AllNew,
                return_old_on_condition_failure: false,
            })
            .await;
        match result {
            Ok(output) => Ok(output
                .attributes
                .and_then(|item| KeyRecord::from_item(&item).ok())),
            Err(DataError::ConditionalCheckFailed { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Key `id`'s stored count in `period` (0 when none is stored).
    pub async fn usage(&self, id: &str, period: &str) -> Result<u64, DataError> {
        let item = self
            .backend
            .get_item(GetItem {
                table: USAGE_TABLE.into(),
                key: usage_key(id, period),
                consistent: true,
                projection: None,
                names: Default::default(),
            })
            .await?;
        Ok(item.as_ref().map_or(0, used))
    }

    /// Adds `delta` to key `id`'s count in `period`, which ends at `end` (epoch
    /// seconds); the stored total after the addition.
    pub async fn add_usage(
        &self,
        id: &str,
        period: &str,
        end: i64,
        delta: u64,
    ) -> Result<u64, DataError> {
        let mut placeholders = Placeholders::default();
        placeholders.values.insert(":n".into(), number(delta));
        placeholders.values.insert(
            ":expires".into(),
            Value::N(Number::from(end.saturating_add(USAGE_KEPT_SECONDS))),
        );
        let output = self
            .backend
            .update_item(UpdateItem {
                table: USAGE_TABLE.into(),
                key: usage_key(id, period),
                update: Some("ADD used :n SET expires = :expires".into()),
                condition: None,
                placeholders,
                return_values: ReturnValues::AllNew,
                return_old_on_condition_failure: false,
            })
            .await?;
        Ok(output.attributes.as_ref().map_or(delta, used))
    }
}

fn id_key(id: &str) -> Item {
    Item::from([("id".to_string(), Value::S(id.to_string()))])
}

fn usage_key(id: &str, period: &str) -> Item {
    Item::from([
        ("id".to_string(), Value::S(id.to_string())),
        ("period".to_string(), Value::S(period.to_string())),
    ])
}

/// A usage item's `used` (0 if it is missing or not a whole number).
fn used(item: &Item) -> u64 {
    match item.get("used") {
        Some(Value::N(n)) => n.to_string().parse().unwrap_or_default(),
        _ => 0,
    }
}

fn number(n: u64) -> Value {
    Value::N(Number::from(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn hex(bytes: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_bad_items_say_why() {
        let record = KeyRecord {
            id: "abc123defg".into(),
            name: "partner".into(),
            plan: Some("basic".into()),
            hash: [7; 32],
            created_ms: 1_700_000_000_000,
            revoked_ms: None,
        };
        assert_eq!(KeyRecord::from_item(&record.to_item()), Ok(record.clone()));
        let mut item = record.to_item();
        item.insert("hash".into(), Value::S("zz".into()));
        assert_eq!(
            KeyRecord::from_item(&item),
            Err("`hash` is not 64 hex digits".into())
        );
        item.remove("id");
        assert_eq!(KeyRecord::from_item(&item), Err("no `id`".into()));
    }
}
