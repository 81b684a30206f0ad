//! `[data]` and `[tables.NAME]`: which store serves the data interface, and the tables
//! functions may use.
//!
//! ```toml
//! [data]
//! backend = "embedded"          # or "dynamodb"; PORTICO_DATA_BACKEND overrides it
//! dir = ".portico/data"         # the embedded store's directory
//!
//! [data.dynamodb]
//! endpoint = "http://127.0.0.1:8000"   # optional: a DynamoDB-compatible server
//! region = "us-east-1"                 # optional: else the AWS region chain
//! create_tables = true                 # create missing tables (default: only verify)
//!
//! [tables.todos]
//! partition_key = { name = "id", type = "S" }
//! ttl = "expires_at"
//!
//! [tables.todos.global_indexes.by_status]
//! partition_key = { name = "status", type = "S" }
//! sort_key = { name = "created", type = "N" }
//! projection = "all"            # "all", "keys_only" or a list of attributes
//!
//! [cache]                       # the read cache in front of the store (on by default)
//! max_bytes = "64MiB"
//! ttl = "30s"
//! tti = "10s"
//! negative_ttl = "2s"
//!
//! [tables.todos.cache]          # per-table overrides
//! query_ttl = "1s"              # also cache query and scan pages (off by default)
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use portico_data::cache::{CacheConfig, TableCacheConfig};
use portico_data::{IndexProjection, IndexSchema, KeyAttribute, KeySchema, KeyType, TableSchema};

use super::units::{Bytes, HumanDuration};
use serde::Deserialize;
use toml::Spanned;

pub use crate::data::{BackendKind, DEFAULT_DATA_DIR, DataConfig, DynamoDbSettings};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    enabled: Option<bool>,
    max_bytes: Option<Bytes>,
    ttl: Option<HumanDuration>,
    tti: Option<HumanDuration>,
    negative_ttl: Option<HumanDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTableCache {
    enabled: Option<bool>,
    ttl: Option<HumanDuration>,
    negative_ttl: Option<HumanDuration>,
    query_ttl: Option<HumanDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawData {
    backend: Option<BackendKind>,
    dir: Option<PathBuf>,
    #[serde(default)]
    dynamodb: DynamoDbSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    partition_key: RawKey,
    sort_key: Option<RawKey>,
    ttl: Option<String>,
    #[serde(default)]
    global_indexes: BTreeMap<String, RawGlobalIndex>,
    #[serde(default)]
    local_indexes: BTreeMap<String, RawLocalIndex>,
    #[serde(default)]
    cache: RawTableCache,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    name: String,
    #[serde(rename = "type")]
    key_type: KeyTypeName,
}

#[derive(Deserialize)]
enum KeyTypeName {
    S,
    N,
    B,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobalIndex {
    partition_key: RawKey,
    sort_key: Option<RawKey>,
    #[serde(default)]
    projection: RawProjection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocalIndex {
    sort_key: RawKey,
    #[serde(default)]
    projection: RawProjection,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawProjection {
    Kind(ProjectionKind),
    Include(Vec<String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ProjectionKind {
    All,
    KeysOnly,
}

impl Default for RawProjection {
    fn default() -> Self {
        RawProjection::Kind(ProjectionKind::All)
    }
}

impl RawKey {
    fn into_attribute(self) -> KeyAttribute {
        KeyAttribute {
            name: self.name,
            key_type: match self.key_type {
                KeyTypeName::S => KeyType::S,
                KeyTypeName::N => KeyType::N,
                KeyTypeName::B => KeyType::B,
            },
        }
    }
}

impl RawProjection {
    fn into_projection(self) -> IndexProjection {
        match self {
            RawProjection::Kind(ProjectionKind::All) => IndexProjection::All,
            RawProjection::Kind(ProjectionKind::KeysOnly) => IndexProjection::KeysOnly,
            RawProjection::Include(names) => IndexProjection::Include(names),
        }
    }
}

/// A problem with one table, pointing at a byte offset of the manifest.
pub(super) struct TableProblem {
    pub offset: usize,
    pub key: String,
    pub message: String,
}

/// Whether `name` is a valid DynamoDB table or index name: 3 to 255 of `a-z A-Z 0-9 _ - .`.
fn valid_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

const NAME_RULE: &str = "must be 3 to 255 characters of letters, digits, `_`, `-` and `.`";

/// Builds the data configuration from the raw sections.
pub(super) fn build(
    dir: &std::path::Path,
    raw: RawData,
    tables: BTreeMap<String, Spanned<RawTable>>,
    cache: &RawCache,
) -> Result<DataConfig, TableProblem> {
    let defaults = CacheConfig::default();
    let mut cache = CacheConfig {
        enabled: cache.enabled.unwrap_or(defaults.enabled),
        max_bytes: cache.max_bytes.map_or(defaults.max_bytes, |b| b.0),
        ttl: cache.ttl.map_or(defaults.ttl, |d| d.0),
        tti: cache.tti.map_or(defaults.tti, |d| d.0),
        negative_ttl: cache.negative_ttl.map_or(defaults.negative_ttl, |d| d.0),
        tables: Default::default(),
    };
    let mut schemas = Vec::with_capacity(tables.len());
    for (name, table) in tables {
        let offset = table.span().start;
        let table = table.into_inner();
        let problem = |key: &str, message: String| TableProblem {
            offset,
            key: format!("tables.{name}{key}"),
            message,
        };
        if !valid_name(&name) {
            return Err(problem(
                "",
                format!("invalid table name {name:?}: {NAME_RULE}"),
            ));
        }
        if crate::policy::api_key::store::tables()
            .iter()
            .any(|t| t.name == name)
        {
            return Err(problem(
                "",
                format!("table name `{name}` is reserved: the host keeps its API keys there"),
            ));
        }
        if crate::topics::queue::tables()
            .iter()
            .any(|t| t.name == name)
        {
            return Err(problem(
                "",
                format!("table name `{name}` is reserved: the host keeps its topics' queue there"),
            ));
        }
        if name == crate::sockets::directory::TABLE {
            return Err(problem(
                "",
                format!(
                    "table name `{name}` is reserved: hosts sharing a DynamoDB record their WebSocket connections there"
                ),
            ));
        }
        let key = KeySchema {
            partition: table.partition_key.into_attribute(),
            sort: table.sort_key.map(RawKey::into_attribute),
        };
        let mut schema = TableSchema::new(name.clone(), key);
        schema.ttl_attribute = table.ttl;
        cache.tables.insert(
            name.clone(),
            TableCacheConfig {
                enabled: table.cache.enabled,
                ttl: table.cache.ttl.map(|d| d.0),
                negative_ttl: table.cache.negative_ttl.map(|d| d.0),
                query_ttl: table.cache.query_ttl.map(|d| d.0),
            },
        );
        for (index_name, raw) in table.global_indexes {
            schema.global_indexes.push(IndexSchema {
                key: KeySchema {
                    partition: raw.partition_key.into_attribute(),
                    sort: raw.sort_key.map(RawKey::into_attribute),
                },
                name: index_name,
                projection: raw.projection.into_projection(),
            });
        }
        for (index_name, raw) in table.local_indexes {
            if schema.key.sort.is_none() {
                return Err(problem(
                    &format!(".local_indexes.{index_name}"),
                    "a local secondary index needs a table with a sort key".into(),
                ));
            }
            schema.local_indexes.push(IndexSchema {
                key: KeySchema {
                    partition: schema.key.partition.clone(),
                    sort: Some(raw.sort_key.into_attribute()),
                },
                name: index_name,
                projection: raw.projection.into_projection(),
            });
        }
        check_table(&schema).map_err(|(key, message)| problem(&key, message))?;
        schemas.push(schema);
    }
    Ok(DataConfig {
        backend: raw.backend.unwrap_or(BackendKind::Embedded),
        dir: dir.join(raw.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))),
        dynamodb: raw.dynamodb,
        tables: schemas,
        cache,
    })
}

/// DynamoDB's rules for one table: names, index counts, one type per key attribute.
fn check_table(schema: &TableSchema) -> Result<(), (String, String)> {
    if schema.global_indexes.len() > 20 {
        return Err((
            ".global_indexes".into(),
            "at most 20 global secondary indexes".into(),
        ));
    }
    if schema.local_indexes.len() > 5 {
        return Err((
            ".local_indexes".into(),
            "at most 5 local secondary indexes".into(),
        ));
    }
    let mut types: BTreeMap<&str, KeyType> = BTreeMap::new();
    let mut index_names = std::collections::BTreeSet::new();
    let keys = std::iter::once(("".to_string(), &schema.key)).chain(
        schema
            .global_indexes
            .iter()
            .map(|i| (format!(".global_indexes.{}", i.name), &i.key))
            .chain(
                schema
                    .local_indexes
                    .iter()
                    .map(|i| (format!(".local_indexes.{}", i.name), &i.key)),
            ),
    );
    for (at, key) in keys {
        if !at.is_empty() {
            let index_name = at.rsplit('.').next().unwrap_or_default().to_string();
            if !valid_name(&index_name) {
                return Err((
                    at,
                    format!("invalid index name {index_name:?}: {NAME_RULE}"),
                ));
            }
            if !index_names.insert(index_name.clone()) {
                return Err((at, format!("two indexes are named {index_name:?}")));
            }
        }
        for attribute in key.attributes() {
            if attribute.name.is_empty() {
                return Err((at, "a key attribute's name must not be empty".into()));
            }
            match types.insert(&attribute.name, attribute.key_type) {
                Some(other) if other != attribute.key_type => {
                    return Err((
                        at,
                        format!(
                            "key attribute {:?} is declared as {:?} here and as {:?} elsewhere",
                            attribute.name, attribute.key_type, other
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}
