//! Cache counters per table, read by the host's metrics at scrape time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// One table's counters.
#[derive(Debug, Default)]
pub struct TableStats {
    /// Gets answered from the cache.
    pub hits: AtomicU64,
    /// Gets that went to the backend.
    pub misses: AtomicU64,
    /// Gets that waited for another request's read of the same key instead of asking
    /// the backend themselves.
    pub coalesced: AtomicU64,
    /// Entries dropped for space or age.
    pub evictions: AtomicU64,
    /// Bytes held for this table.
    pub bytes: AtomicI64,
}

/// A snapshot of one table's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableSnapshot {
    /// Gets answered from the cache.
    pub hits: u64,
    /// Gets that went to the backend.
    pub misses: u64,
    /// Gets that joined another request's read.
    pub coalesced: u64,
    /// Entries dropped for space or age.
    pub evictions: u64,
    /// Bytes held.
    pub bytes: u64,
}

/// Counters for every table the cache has seen.
#[derive(Debug, Default)]
pub struct CacheStats {
    tables: RwLock<BTreeMap<Arc<str>, Arc<TableStats>>>,
}

impl CacheStats {
    /// The counters of `table`, created on first use.
    pub(crate) fn table(&self, table: &str) -> Arc<TableStats> {
        if let Some(stats) = self
            .tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(table)
        {
            return Arc::clone(stats);
        }
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(tables.entry(table.into()).or_default())
    }

    /// Every table's counters now.
    pub fn snapshot(&self) -> BTreeMap<String, TableSnapshot> {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        tables
            .iter()
            .map(|(name, s)| {
                (
                    name.to_string(),
                    TableSnapshot {
                        hits: s.hits.load(Ordering::Relaxed),
                        misses: s.misses.load(Ordering::Relaxed),
                        coalesced: s.coalesced.load(Ordering::Relaxed),
                        evictions: s.evictions.load(Ordering::Relaxed),
                        bytes: u64::try_from(s.bytes.load(Ordering::Relaxed)).unwrap_or(0),
                    },
                )
            })
            .collect()
    }
}
