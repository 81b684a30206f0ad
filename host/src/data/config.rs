//! The data capability's settings: which store, where, and the declared tables (parsed
//! from `[data]`, `[tables.*]` and `[cache]` by the manifest).

use std::path::PathBuf;

use portico_data::TableSchema;
use portico_data::cache::CacheConfig;
use serde::Deserialize;

/// Default directory of the embedded store, relative to the manifest.
pub const DEFAULT_DATA_DIR: &str = ".portico/data";

/// Which store serves the data interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Portico's own store, in the data directory (the default).
    Embedded,
    /// DynamoDB, or a DynamoDB-compatible server.
    Dynamodb,
}

impl std::str::FromStr for BackendKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "embedded" => Ok(BackendKind::Embedded),
            "dynamodb" => Ok(BackendKind::Dynamodb),
            other => Err(format!(
                "unknown data backend {other:?}: use \"embedded\" or \"dynamodb\""
            )),
        }
    }
}

/// `[data.dynamodb]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbSettings {
    /// Endpoint URL of a DynamoDB-compatible server; AWS's endpoint when absent.
    pub endpoint: Option<String>,
    /// AWS region; the standard region chain when absent.
    pub region: Option<String>,
    /// Create declared tables that do not exist (and wait until they are active).
    #[serde(default)]
    pub create_tables: bool,
}

/// `[data]` and the declared tables.
#[derive(Debug, Clone)]
pub struct DataConfig {
    /// The store to use.
    pub backend: BackendKind,
    /// The embedded store's directory (resolved against the manifest's directory).
    pub dir: PathBuf,
    /// Settings for the dynamodb backend.
    pub dynamodb: DynamoDbSettings,
    /// The declared tables.
    pub tables: Vec<TableSchema>,
    /// The read cache.
    pub cache: CacheConfig,
}

/// A function's `tables`: the only tables it may open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableGrants(pub Vec<String>);
