//! [`TableDescription`]: a table's key schema, indexes and TTL attribute, as
//! [`Table::describe`](crate::data::Table::describe) returns them.

use std::fmt;

use crate::bindings::portico::edge::data as wit;

/// A table as the manifest declares it (tables come from the manifest): `DescribeTable`'s
/// key schema and indexes.
///
/// ```
/// use portico_guest::data::{KeyAttribute, KeySchema, KeyType, TableDescription};
/// let todos = TableDescription {
///     name: "todos".into(),
///     key: KeySchema { partition: KeyAttribute::new("id", KeyType::S), sort: None },
///     global_indexes: vec![],
///     local_indexes: vec![],
///     ttl_attribute: None,
/// };
/// assert!(todos.index("by_status").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDescription {
    /// The table name.
    pub name: String,
    /// The primary key.
    pub key: KeySchema,
    /// Global secondary indexes, by name.
    pub global_indexes: Vec<IndexDescription>,
    /// Local secondary indexes, by name.
    pub local_indexes: Vec<IndexDescription>,
    /// The attribute holding an item's expiry time (epoch seconds), if TTL is on.
    pub ttl_attribute: Option<String>,
}

impl TableDescription {
    /// The index (global or local) called `name`, if the table has one.
    ///
    /// ```
    /// # use portico_guest::data::*;
    /// let by_status = IndexDescription {
    ///     name: "by_status".into(),
    ///     key: KeySchema { partition: KeyAttribute::new("status", KeyType::S), sort: None },
    ///     projection: Projection::KeysOnly,
    /// };
    /// let todos = TableDescription {
    ///     name: "todos".into(),
    ///     key: KeySchema { partition: KeyAttribute::new("id", KeyType::S), sort: None },
    ///     global_indexes: vec![by_status.clone()],
    ///     local_indexes: vec![],
    ///     ttl_attribute: None,
    /// };
    /// assert_eq!(todos.index("by_status"), Some(&by_status));
    /// ```
    pub fn index(&self, name: &str) -> Option<&IndexDescription> {
        self.global_indexes
            .iter()
            .chain(&self.local_indexes)
            .find(|index| index.name == name)
    }

    pub(crate) fn from_wit(raw: wit::TableDescription) -> Self {
        Self {
            name: raw.name,
            key: KeySchema::from_wit(raw.key),
            global_indexes: raw
                .global_indexes
                .into_iter()
                .map(IndexDescription::from_wit)
                .collect(),
            local_indexes: raw
                .local_indexes
                .into_iter()
                .map(IndexDescription::from_wit)
                .collect(),
            ttl_attribute: raw.ttl_attribute,
        }
    }
}

/// A primary key or an index key: a partition key and an optional sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchema {
    /// The partition (hash) key.
    pub partition: KeyAttribute,
    /// The sort (range) key, if any.
    pub sort: Option<KeyAttribute>,
}

impl KeySchema {
    fn from_wit(raw: wit::KeySchema) -> Self {
        Self {
            partition: KeyAttribute::from_wit(raw.partition),
            sort: raw.sort.map(KeyAttribute::from_wit),
        }
    }
}

/// One attribute of a key: its name and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttribute {
    /// The attribute's name.
    pub name: String,
    /// Its type.
    pub key_type: KeyType,
}

impl KeyAttribute {
    /// The key attribute `name` of type `key_type`.
    ///
    /// ```
    /// # use portico_guest::data::{KeyAttribute, KeyType};
    /// let id = KeyAttribute::new("id", KeyType::S);
    /// assert_eq!(id.name, "id");
    /// ```
    pub fn new(name: impl Into<String>, key_type: KeyType) -> Self {
        Self {
            name: name.into(),
            key_type,
        }
    }

    fn from_wit(raw: wit::KeyAttribute) -> Self {
        Self {
            name: raw.name,
            key_type: match raw.key_type {
                wit::KeyType::S => KeyType::S,
                wit::KeyType::N => KeyType::N,
                wit::KeyType::B => KeyType::B,
            },
        }
    }
}

/// The type of a key attribute: DynamoDB keys are strings, numbers or binaries.
///
/// ```
/// use portico_guest::data::KeyType;
/// assert_eq!(KeyType::N.name(), "N");
/// assert_eq!(KeyType::B.to_string(), "B");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// String (`S`).
    S,
    /// Number (`N`).
    N,
    /// Binary (`B`).
    B,
}

impl KeyType {
    /// DynamoDB's name for the type: `S`, `N` or `B`.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A global or local secondary index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDescription {
    /// The index name.
    pub name: String,
    /// The index key (a local index's partition key is the table's).
    pub key: KeySchema,
    /// The attributes the index holds.
    pub projection: Projection,
}

impl IndexDescription {
    fn from_wit(raw: wit::IndexDescription) -> Self {
        Self {
            name: raw.name,
            key: KeySchema::from_wit(raw.key),
            projection: match raw.projection {
                wit::Projection::All => Projection::All,
                wit::Projection::KeysOnly => Projection::KeysOnly,
                wit::Projection::Include(names) => Projection::Include(names),
            },
        }
    }
}

/// Which attributes a secondary index holds besides the keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute.
    All,
    /// Only the table's and the index's keys.
    KeysOnly,
    /// The keys and these attributes.
    Include(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_convert_from_the_host_and_find_indexes() {
        let attribute = |name: &str, key_type| wit::KeyAttribute {
            name: name.into(),
            key_type,
        };
        let raw = wit::TableDescription {
            name: "orders".into(),
            key: wit::KeySchema {
                partition: attribute("pk", wit::KeyType::S),
                sort: Some(attribute("sk", wit::KeyType::N)),
            },
            global_indexes: vec![wit::IndexDescription {
                name: "by_status".into(),
                key: wit::KeySchema {
                    partition: attribute("status", wit::KeyType::S),
                    sort: None,
                },
                projection: wit::Projection::Include(vec!["total".into()]),
            }],
            local_indexes: vec![wit::IndexDescription {
                name: "by_hash".into(),
                key: wit::KeySchema {
                    partition: attribute("pk", wit::KeyType::S),
                    sort: Some(attribute("hash", wit::KeyType::B)),
                },
                projection: wit::Projection::KeysOnly,
            }],
            ttl_attribute: Some("expires".into()),
        };
        let table = TableDescription::from_wit(raw);
        assert_eq!(
            table.key,
            KeySchema {
                partition: KeyAttribute::new("pk", KeyType::S),
                sort: Some(KeyAttribute::new("sk", KeyType::N)),
            }
        );
        let by_status = table.index("by_status").expect("a global index");
        assert_eq!(
            by_status.projection,
            Projection::Include(vec!["total".into()])
        );
        let by_hash = table.index("by_hash").expect("a local index");
        assert_eq!(by_hash.projection, Projection::KeysOnly);
        assert_eq!(
            by_hash.key.sort.as_ref().map(|k| k.key_type),
            Some(KeyType::B)
        );
        assert!(table.index("missing").is_none());
        assert_eq!(table.ttl_attribute.as_deref(), Some("expires"));
    }
}
