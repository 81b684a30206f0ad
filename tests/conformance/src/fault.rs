//! A [`Backend`] wrapper that injects DynamoDB's partial batch results: for its first
//! few batch calls it forwards only part of the request and hands the rest back as
//! unprocessed, as DynamoDB does when a batch meets throttling. Everything else passes
//! straight through.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use portico_data::ops::{
    BatchGet, BatchGetOutput, BatchWrite, BatchWriteOutput, DeleteItem, GetItem, KeysAndProjection,
    Page, PutItem, Query, Scan, TransactGet, TransactWrite, UpdateItem, WriteOutput,
};
use portico_data::{Backend, DataError, Item};

/// Wraps a backend; its first `faulty_calls` batch gets and its first `faulty_calls`
/// batch writes each leave the larger half of every table's keys or writes unprocessed
/// (all of them when a table has one), forwarding only the rest.
pub struct FaultInjecting {
    inner: Arc<dyn Backend>,
    faulty_calls: usize,
    get_calls: AtomicUsize,
    write_calls: AtomicUsize,
}

impl std::fmt::Debug for FaultInjecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultInjecting")
            .field("inner", &self.inner.name())
            .field("faulty_calls", &self.faulty_calls)
            .field("get_calls", &self.get_calls)
            .field("write_calls", &self.write_calls)
            .finish()
    }
}

impl FaultInjecting {
    /// Wraps `inner`, answering its first `faulty_calls` batch calls of each kind only
    /// in part.
    pub fn new(inner: Arc<dyn Backend>, faulty_calls: usize) -> Self {
        Self {
            inner,
            faulty_calls,
            get_calls: AtomicUsize::new(0),
            write_calls: AtomicUsize::new(0),
        }
    }

    /// How many batch gets it was asked for.
    pub fn batch_get_calls(&self) -> usize {
        self.get_calls.load(Ordering::SeqCst)
    }

    /// How many batch writes it was asked for.
    pub fn batch_write_calls(&self) -> usize {
        self.write_calls.load(Ordering::SeqCst)
    }
}

/// Splits `list` into what is forwarded (the smaller first half) and what is held back.
fn split<T>(mut list: Vec<T>) -> (Vec<T>, Vec<T>) {
    let held = list.split_off(list.len() / 2);
    (list, held)
}

#[async_trait]
impl Backend for FaultInjecting {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn get_item(&self, request: GetItem) -> Result<Option<Item>, DataError> {
        self.inner.get_item(request).await
    }

    async fn put_item(&self, request: PutItem) -> Result<WriteOutput, DataError> {
        self.inner.put_item(request).await
    }

    async fn update_item(&self, request: UpdateItem) -> Result<WriteOutput, DataError> {
        self.inner.update_item(request).await
    }

    async fn delete_item(&self, request: DeleteItem) -> Result<WriteOutput, DataError> {
        self.inner.delete_item(request).await
    }

    async fn query(&self, request: Query) -> Result<Page, DataError> {
        self.inner.query(request).await
    }

    async fn scan(&self, request: Scan) -> Result<Page, DataError> {
        self.inner.scan(request).await
    }

    async fn batch_get(&self, request: BatchGet) -> Result<BatchGetOutput, DataError> {
        let call = self.get_calls.fetch_add(1, Ordering::SeqCst);
        if call >= self.faulty_calls {
            return self.inner.batch_get(request).await;
        }
        let mut forwarded = BatchGet::default();
        let mut held: BTreeMap<String, KeysAndProjection> = BTreeMap::new();
        for (table, entry) in request.tables {
            let KeysAndProjection {
                keys,
                projection,
                names,
                consistent,
            } = entry;
            let (now, later) = split(keys);
            let with_keys = |keys| KeysAndProjection {
                keys,
                projection: projection.clone(),
                names: names.clone(),
                consistent,
            };
            if !now.is_empty() {
                forwarded.tables.insert(table.clone(), with_keys(now));
            }
            if !later.is_empty() {
                held.insert(table, with_keys(later));
            }
        }
        let mut output = if forwarded.tables.is_empty() {
            BatchGetOutput::default()
        } else {
            self.inner.batch_get(forwarded).await?
        };
        for (table, entry) in held {
            match output.unprocessed.get_mut(&table) {
                Some(existing) => existing.keys.extend(entry.keys),
                None => {
                    output.unprocessed.insert(table, entry);
                }
            }
        }
        Ok(output)
    }

    async fn batch_write(&self, request: BatchWrite) -> Result<BatchWriteOutput, DataError> {
        let call = self.write_calls.fetch_add(1, Ordering::SeqCst);
        if call >= self.faulty_calls {
            return self.inner.batch_write(request).await;
        }
        let mut forwarded = BatchWrite::default();
        let mut held = BTreeMap::new();
        for (table, writes) in request.tables {
            let (now, later) = split(writes);
            if !now.is_empty() {
                forwarded.tables.insert(table.clone(), now);
            }
            if !later.is_empty() {
                held.insert(table, later);
            }
        }
        let mut output = if forwarded.tables.is_empty() {
            BatchWriteOutput::default()
        } else {
            self.inner.batch_write(forwarded).await?
        };
        for (table, writes) in held {
            output.unprocessed.entry(table).or_default().extend(writes);
        }
        Ok(output)
    }

    async fn transact_get(&self, request: TransactGet) -> Result<Vec<Option<Item>>, DataError> {
        self.inner.transact_get(request).await
    }

    async fn transact_write(&self, request: TransactWrite) -> Result<(), DataError> {
        self.inner.transact_write(request).await
    }
}
