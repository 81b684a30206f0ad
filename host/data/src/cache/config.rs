//! How big the cache is and how long entries live, globally and per table.

use std::collections::HashMap;
use std::time::Duration;

/// Default bound on cached bytes (items, keys and bookkeeping).
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Default time an item stays cached after it was read or written.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// Default time an item stays cached without being read.
pub const DEFAULT_TTI: Duration = Duration::from_secs(10);
/// Default time "no such item" stays cached.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(2);

/// `[cache]`: the read cache in front of the backend.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheConfig {
    /// Whether gets are cached at all.
    pub enabled: bool,
    /// Most bytes the cache holds (weighed by item size).
    pub max_bytes: u64,
    /// Longest an entry lives. Across hosts, this bounds how stale a read can be.
    pub ttl: Duration,
    /// Longest an entry lives without being read.
    pub tti: Duration,
    /// Longest a "no such item" entry lives.
    pub negative_ttl: Duration,
    /// Per-table overrides.
    pub tables: HashMap<String, TableCacheConfig>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: DEFAULT_MAX_BYTES,
            ttl: DEFAULT_TTL,
            tti: DEFAULT_TTI,
            negative_ttl: DEFAULT_NEGATIVE_TTL,
            tables: HashMap::new(),
        }
    }
}

/// `[tables.NAME.cache]`: one table's overrides.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableCacheConfig {
    /// Cache this table's items (default: the global setting).
    pub enabled: Option<bool>,
    /// Entry lifetime for this table.
    pub ttl: Option<Duration>,
    /// "No such item" lifetime for this table.
    pub negative_ttl: Option<Duration>,
    /// Cache query and scan pages of this table for this long (off when `None`). Any
    /// write to the table through this host drops them.
    pub query_ttl: Option<Duration>,
}

/// The settings that apply to one table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TablePolicy {
    pub enabled: bool,
    pub ttl: Duration,
    pub negative_ttl: Duration,
    pub query_ttl: Option<Duration>,
}

impl CacheConfig {
    /// The settings for `table`.
    pub(crate) fn policy(&self, table: &str) -> TablePolicy {
        let over = self.tables.get(table).cloned().unwrap_or_default();
        TablePolicy {
            enabled: self.enabled && over.enabled.unwrap_or(true),
            ttl: over.ttl.unwrap_or(self.ttl),
            negative_ttl: over.negative_ttl.unwrap_or(self.negative_ttl),
            query_ttl: over.query_ttl.filter(|_| self.enabled),
        }
    }
}
