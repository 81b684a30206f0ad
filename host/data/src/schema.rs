//! Table definitions: keys, secondary indexes, TTL.

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::value::{Item, Value, ValueType};

/// The type of a key attribute: DynamoDB keys are strings, numbers or binaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    /// `S`.
    S,
    /// `N`.
    N,
    /// `B`.
    B,
}

impl KeyType {
    /// The value type this key type admits.
    pub fn value_type(self) -> ValueType {
        match self {
            KeyType::S => ValueType::S,
            KeyType::N => ValueType::N,
            KeyType::B => ValueType::B,
        }
    }
}

/// The largest partition key value DynamoDB stores: 2048 bytes (UTF-8 bytes of a
/// string, the bytes of a binary). Numbers are at most 38 digits and always fit.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// The largest sort key value DynamoDB stores: 1024 bytes, counted as for
/// [`MAX_PARTITION_KEY_BYTES`].
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// Which part of a key a value is: DynamoDB limits the two differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    /// The partition (hash) key: at most [`MAX_PARTITION_KEY_BYTES`].
    Partition,
    /// The sort (range) key: at most [`MAX_SORT_KEY_BYTES`].
    Sort,
}

/// Checks a key value's size against DynamoDB's limit for its role. Strings count their
/// UTF-8 bytes and binaries their bytes; numbers (at most 38 digits) always fit.
///
/// # Errors
/// A validation error with DynamoDB's message, verbatim, including the missing space
/// in "limit of2048". Sources: real DynamoDB errors quoted in issue reports
/// (nextauthjs/next-auth#5827, facebook/ThreatExchange#1324 for a Query,
/// formkiq/formkiq-core#271) and tests written against DynamoDB (architect/dynalite
/// `test/getItem.js`; getmoto/moto `moto/dynamodb/exceptions.py`: "deliberately no
/// space between of and 2048").
pub fn check_key_size(role: KeyRole, value: &Value) -> Result<(), DataError> {
    let size = match value {
        Value::S(text) => text.len(),
        Value::B(bytes) => bytes.len(),
        _ => return Ok(()),
    };
    match role {
        KeyRole::Partition if size > MAX_PARTITION_KEY_BYTES => {
            Err(DataError::validation(format!(
                "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of{MAX_PARTITION_KEY_BYTES} bytes"
            )))
        }
        KeyRole::Sort if size > MAX_SORT_KEY_BYTES => Err(DataError::validation(format!(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY_BYTES} bytes"
        ))),
        _ => Ok(()),
    }
}

/// One key attribute: its name and type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyAttribute {
    /// The attribute's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub key_type: KeyType,
}

/// A primary key or an index key: a partition key and an optional sort key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeySchema {
    /// The partition (hash) key.
    pub partition: KeyAttribute,
    /// The sort (range) key, if any.
    pub sort: Option<KeyAttribute>,
}

impl KeySchema {
    /// The key attributes, partition key first.
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.partition).chain(self.sort.as_ref())
    }

    /// The key attributes with their roles, partition key first.
    pub fn attributes_with_roles(&self) -> impl Iterator<Item = (&KeyAttribute, KeyRole)> {
        std::iter::once((&self.partition, KeyRole::Partition))
            .chain(self.sort.as_ref().map(|sort| (sort, KeyRole::Sort)))
    }

    /// Whether `name` is one of this schema's key attributes.
    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }

    /// Picks this schema's key out of an item; `None` when the item lacks a key
    /// attribute or has one of the wrong type (such items are not in an index).
    pub fn key_of(&self, item: &Item) -> Option<Item> {
        self.attributes()
            .map(|attr| {
                let value = item.get(&attr.name)?;
                (value.value_type() == attr.key_type.value_type())
                    .then(|| (attr.name.clone(), value.clone()))
            })
            .collect()
    }

    /// Checks that `key` is exactly this schema's key: every key attribute present with
    /// its type, non-empty, within its size limit ([`check_key_size`]), and nothing else.
    ///
    /// # Errors
    /// DynamoDB's validation error, "The provided key element does not match the schema",
    /// or its errors for an empty or too large key value.
    pub fn validate_key(&self, key: &Item) -> Result<(), DataError> {
        let expected = self.attributes().count();
        if key.len() != expected {
            return Err(key_mismatch());
        }
        for (attr, role) in self.attributes_with_roles() {
            let value = key.get(&attr.name).ok_or_else(key_mismatch)?;
            check_key_value(attr, value)?;
            check_key_size(role, value)?;
        }
        Ok(())
    }

    /// Checks an item's key attributes: present, of the key type, not empty, and within
    /// their size limits ([`check_key_size`]).
    ///
    /// # Errors
    /// DynamoDB's validation errors for a missing, mistyped, empty or too large key
    /// attribute.
    pub fn validate_item_key(&self, item: &Item) -> Result<(), DataError> {
        for (attr, role) in self.attributes_with_roles() {
            let value = item.get(&attr.name).ok_or_else(|| {
                DataError::validation(format!(
                    "One or more parameter values were invalid: Missing the key {} in the item",
                    attr.name
                ))
            })?;
            check_key_value(attr, value)?;
            check_key_size(role, value)?;
        }
        Ok(())
    }
}

fn key_mismatch() -> DataError {
    DataError::validation("The provided key element does not match the schema")
}

fn check_key_value(attr: &KeyAttribute, value: &Value) -> Result<(), DataError> {
    if value.value_type() != attr.key_type.value_type() {
        return Err(DataError::validation(format!(
            "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
            attr.name,
            attr.key_type.value_type(),
            value.value_type()
        )));
    }
    let empty = match value {
        Value::S(text) => text.is_empty(),
        Value::B(bytes) => bytes.is_empty(),
        _ => false,
    };
    if empty {
        return Err(DataError::validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {}",
            if matches!(value, Value::S(_)) {
                "string"
            } else {
                "binary"
            },
            attr.name
        )));
    }
    Ok(())
}

/// Which attributes a secondary index holds besides the keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IndexProjection {
    /// Every attribute.
    All,
    /// Only the table's and the index's keys.
    KeysOnly,
    /// The keys and these attributes.
    Include(Vec<String>),
}

/// A global or local secondary index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IndexSchema {
    /// The index name.
    pub name: String,
    /// The index key. A local index shares the table's partition key.
    pub key: KeySchema,
    /// The attributes the index holds.
    pub projection: IndexProjection,
}

/// One table: name, primary key, indexes, TTL attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableSchema {
    /// The table name.
    pub name: String,
    /// The primary key.
    pub key: KeySchema,
    /// Global secondary indexes.
    pub global_indexes: Vec<IndexSchema>,
    /// Local secondary indexes (same partition key as the table, another sort key).
    pub local_indexes: Vec<IndexSchema>,
    /// The attribute holding an item's expiry time (epoch seconds), if TTL is on.
    pub ttl_attribute: Option<String>,
}

impl TableSchema {
    /// A table with this name and primary key, no indexes and no TTL.
    pub fn new(name: impl Into<String>, key: KeySchema) -> Self {
        Self {
            name: name.into(),
            key,
            global_indexes: Vec::new(),
            local_indexes: Vec::new(),
            ttl_attribute: None,
        }
    }

    /// Finds an index (global or local) by name.
    pub fn index(&self, name: &str) -> Option<&IndexSchema> {
        self.global_indexes
            .iter()
            .chain(&self.local_indexes)
            .find(|index| index.name == name)
    }

    /// Whether `name` is a key attribute of the table or any of its indexes: such
    /// attributes must have their key type when present.
    pub fn key_attribute_type(&self, name: &str) -> Option<KeyType> {
        std::iter::once(&self.key)
            .chain(
                self.global_indexes
                    .iter()
                    .chain(&self.local_indexes)
                    .map(|i| &i.key),
            )
            .flat_map(KeySchema::attributes)
            .find(|attr| attr.name == name)
            .map(|attr| attr.key_type)
    }
}

/// A key schema with a string partition key and an optional string sort key, for tests
/// and examples.
pub fn string_keys(partition: &str, sort: Option<&str>) -> KeySchema {
    KeySchema {
        partition: KeyAttribute {
            name: partition.to_owned(),
            key_type: KeyType::S,
        },
        sort: sort.map(|name| KeyAttribute {
            name: name.to_owned(),
            key_type: KeyType::S,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sizes_count_utf8_bytes_and_binary_bytes() {
        use KeyRole::{Partition, Sort};
        let ok = |role, value: Value| check_key_size(role, &value).is_ok();
        assert!(ok(Partition, Value::s("x".repeat(2048))));
        assert!(!ok(Partition, Value::s("x".repeat(2049))));
        assert!(ok(Sort, Value::s("x".repeat(1024))));
        assert!(!ok(Sort, Value::s("x".repeat(1025))));
        // 342 three-byte characters: 1026 bytes, though only 342 characters.
        assert!(!ok(Sort, Value::s("€".repeat(342))));
        assert!(ok(Sort, Value::s("€".repeat(341))));
        assert!(ok(Partition, Value::B(vec![0; 2048])));
        assert!(!ok(Partition, Value::B(vec![0; 2049])));
        assert!(!ok(Sort, Value::B(vec![0; 1025])));
        // Numbers are not measured (38 digits always fit).
        assert!(ok(Sort, Value::n(1)));
        assert_eq!(
            check_key_size(Partition, &Value::s("x".repeat(2049)))
                .expect_err("too large")
                .message(),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
        );
        assert_eq!(
            check_key_size(Sort, &Value::B(vec![0; 1025]))
                .expect_err("too large")
                .message(),
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        );
    }
}
