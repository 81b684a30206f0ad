//! The embedded backend: Portico's own store on [redb], the default.
//!
//! - ACID: every write runs in a redb write transaction, committed with fsync before it
//!   is acknowledged; concurrent writes share one commit (group commit, see [`writer`]).
//! - Keys are stored in an order-preserving encoding ([`keys`]): numbers sort by value,
//!   strings and binaries by bytes, so queries are range scans.
//! - Secondary indexes and the TTL queue are written in the same transaction as their
//!   item ([`rows`]); a TTL sweeper deletes expired items ([`ttl`]).
//! - Reads run on tokio's blocking pool, each in one read transaction: every read is
//!   strongly consistent.
//!
//! redb over the alternatives: pure Rust (no C toolchain, unlike RocksDB or SQLite),
//! MVCC snapshots for readers alongside one writer, crash-safe commits, and a byte-
//! ordered B-tree that fits the key encoding directly.

mod keys;
mod layout;
mod prepare;
mod reads;
mod rows;
mod ttl;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redb::Database;

use crate::backend::Backend;
use crate::error::DataError;
use crate::ops::{
    BatchGet, BatchGetOutput, BatchWrite, BatchWriteOutput, DeleteItem, GetItem, Page, PutItem,
    Query, Scan, TransactGet, TransactWrite, UpdateItem, WriteOutput,
};
use crate::schema::TableSchema;
use crate::value::Item;

use layout::Layout;
use writer::{Done, Job, Writer};

/// Where and how the embedded store keeps its data.
#[derive(Clone, Debug)]
pub struct EmbeddedConfig {
    /// The data directory; the store is the file `portico.redb` inside it.
    pub dir: PathBuf,
    /// How often the TTL sweeper runs.
    pub ttl_interval: Duration,
}

impl EmbeddedConfig {
    /// A store in `dir`, sweeping expired items every second.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ttl_interval: Duration::from_secs(1),
        }
    }
}

/// Why the embedded store could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// redb could not open the file (in use by another process, unreadable, …).
    #[error("cannot open the embedded store {path}: {source}")]
    Open {
        /// The store file.
        path: PathBuf,
        /// The cause.
        source: redb::DatabaseError,
    },
    /// A declared table does not fit the data already stored.
    #[error("the embedded store {path} does not fit the manifest: {source}")]
    Schema {
        /// The store file.
        path: PathBuf,
        /// The cause.
        source: DataError,
    },
    /// A background thread could not start.
    #[error("cannot start the embedded store's threads: {0}")]
    Thread(#[from] std::io::Error),
}

/// Shared state of an open store.
#[derive(Debug)]
pub(crate) struct Inner {
    db: Arc<Database>,
    tables: prepare::Tables,
    writer: Writer,
}

/// The embedded backend. Cloning is cheap; clones share the store.
#[derive(Clone, Debug)]
pub struct Embedded {
    inner: Arc<Inner>,
}

impl Embedded {
    /// Opens (or creates) the store in `config.dir` with these tables, creating their
    /// storage and rebuilding indexes whose definition changed.
    ///
    /// # Errors
    /// [`OpenError`] naming the directory or file and the cause.
    pub fn open(config: &EmbeddedConfig, tables: &[TableSchema]) -> Result<Self, OpenError> {
        std::fs::create_dir_all(&config.dir).map_err(|source| OpenError::CreateDir {
            path: config.dir.clone(),
            source,
        })?;
        let path = config.dir.join("portico.redb");
        let db = Database::create(&path).map_err(|source| OpenError::Open {
            path: path.clone(),
            source,
        })?;
        let layouts: Vec<Layout> = tables.iter().cloned().map(Layout::new).collect();
        let schema_error = |source| OpenError::Schema {
            path: path.clone(),
            source,
        };
        let txn = db
            .begin_write()
            .map_err(|e| schema_error(storage_error(e)))?;
        layout::prepare(&txn, &layouts).map_err(schema_error)?;
        txn.commit().map_err(|e| schema_error(storage_error(e)))?;

        let db = Arc::new(db);
        let writer = Writer::start(Arc::clone(&db))?;
        let tables: HashMap<_, _> = layouts
            .into_iter()
            .map(|layout| (layout.schema.name.clone(), Arc::new(layout)))
            .collect();
        let has_ttl = tables.values().any(|l| l.schema.ttl_attribute.is_some());
        let inner = Arc::new(Inner { db, tables, writer });
        if has_ttl {
            ttl::start(Arc::downgrade(&inner), config.ttl_interval)?;
        }
        Ok(Self { inner })
    }

    /// The store file of a data directory.
    pub fn file_in(dir: &Path) -> PathBuf {
        dir.join("portico.redb")
    }

    /// Deletes expired items now instead of waiting for the sweeper; returns how many.
    /// Blocks the calling thread: use from tests, tools, or `spawn_blocking`.
    pub fn sweep_expired(&self) -> usize {
        ttl::sweep_all(&self.inner)
    }

    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Database, &prepare::Tables) -> Result<T, DataError> + Send + 'static,
    ) -> Result<T, DataError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || read(&inner.db, &inner.tables))
            .await
            .map_err(|e| {
                DataError::Unavailable(format!("a read of the embedded store failed: {e}"))
            })?
    }

    async fn write(&self, job: Job) -> Result<WriteOutput, DataError> {
        match self.inner.writer.submit(job).await? {
            Done::Write(output) => Ok(output),
            Done::Applied | Done::Swept(_) => Ok(WriteOutput::default()),
        }
    }
}

/// Maps a redb failure to `Unavailable`, keeping its message.
pub(crate) fn storage_error(error: impl Into<redb::Error>) -> DataError {
    DataError::Unavailable(format!("embedded store: {}", error.into()))
}

#[async_trait]
impl Backend for Embedded {
    fn name(&self) -> &'static str {
        "embedded"
    }

    async fn get_item(&self, request: GetItem) -> Result<Option<Item>, DataError> {
        self.read(move |db, tables| reads::get(db, tables, request))
            .await
    }

    async fn put_item(&self, request: PutItem) -> Result<WriteOutput, DataError> {
        let put = prepare::put(&self.inner.tables, request)?;
        self.write(Job::Put(put)).await
    }

    async fn update_item(&self, request: UpdateItem) -> Result<WriteOutput, DataError> {
        let update = prepare::update(&self.inner.tables, request)?;
        self.write(Job::Update(update)).await
    }

    async fn delete_item(&self, request: DeleteItem) -> Result<WriteOutput, DataError> {
        let delete = prepare::delete(&self.inner.tables, request)?;
        self.write(Job::Delete(delete)).await
    }

    async fn query(&self, request: Query) -> Result<Page, DataError> {
        self.read(move |db, tables| reads::query(db, tables, &request))
            .await
    }

    async fn scan(&self, request: Scan) -> Result<Page, DataError> {
        self.read(move |db, tables| reads::scan(db, tables, &request))
            .await
    }

    async fn batch_get(&self, request: BatchGet) -> Result<BatchGetOutput, DataError> {
        self.read(move |db, tables| reads::batch_get(db, tables, request))
            .await
    }

    async fn batch_write(&self, request: BatchWrite) -> Result<BatchWriteOutput, DataError> {
        let ops = prepare::batch_write(&self.inner.tables, request)?;
        self.write(Job::Batch(ops)).await?;
        Ok(BatchWriteOutput::default())
    }

    async fn transact_get(&self, request: TransactGet) -> Result<Vec<Option<Item>>, DataError> {
        self.read(move |db, tables| reads::transact_get(db, tables, request))
            .await
    }

    async fn transact_write(&self, request: TransactWrite) -> Result<(), DataError> {
        let token = request
            .client_token
            .clone()
            .map(|token| (token, request.clone()));
        let ops = prepare::transact(&self.inner.tables, request)?;
        self.write(Job::Transact { ops, token }).await?;
        Ok(())
    }
}
