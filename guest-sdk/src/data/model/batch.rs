//! Batches of one model: `BatchGetItem` and `BatchWriteItem`, split into DynamoDB's
//! request sizes, with what was not processed handed back, and [`Retry`] for it.

use std::time::Duration;

use super::{Error, Key, Model, ModelExt};
use crate::data::{Item, batch_get, batch_write};

/// `BatchGetItem`'s limit.
const GET_LIMIT: usize = 100;
/// `BatchWriteItem`'s limit.
const WRITE_LIMIT: usize = 25;

/// What a batch get read, and the keys it did not (throttling): retry those.
#[derive(Debug)]
pub struct BatchGetResult<M> {
    /// The items found, in no particular order.
    pub items: Vec<M>,
    /// Keys not read: send them again, with backoff ([`Retry`]).
    pub unprocessed: Vec<Key<M>>,
}

pub(crate) fn get<M: Model>(keys: Vec<Key<M>>) -> Result<BatchGetResult<M>, Error> {
    let table = M::table()?;
    let mut result = BatchGetResult {
        items: Vec::with_capacity(keys.len()),
        unprocessed: Vec::new(),
    };
    let mut keys = keys.into_iter().map(Key::into_item).peekable();
    while keys.peek().is_some() {
        let chunk: Vec<Item> = keys.by_ref().take(GET_LIMIT).collect();
        let mut out = batch_get().keys(table, chunk).send()?;
        for item in out.take(table.name()) {
            result.items.push(M::from_item(item)?);
        }
        for key in out.unprocessed.take_keys(table.name()) {
            result.unprocessed.push(Key::from_stored(key));
        }
    }
    Ok(result)
}

pub(crate) fn put<M: Model>(items: &mut [M]) -> Result<Vec<Item>, Error> {
    let prepared = items
        .iter_mut()
        .map(|item| item.prepared(false))
        .collect::<Result<Vec<_>, _>>()?;
    put_items::<M>(prepared)
}

pub(crate) fn put_items<M: Model>(items: Vec<Item>) -> Result<Vec<Item>, Error> {
    let table = M::table()?;
    let mut left = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let chunk = items.by_ref().take(WRITE_LIMIT);
        let batch = chunk.fold(batch_write(), |b, item| b.put(table, item));
        left.extend(batch.send()?.take_writes(table.name()).0);
    }
    Ok(left)
}

pub(crate) fn delete<M: Model>(keys: Vec<Key<M>>) -> Result<Vec<Item>, Error> {
    delete_items::<M>(keys.into_iter().map(Key::into_item).collect())
}

pub(crate) fn delete_items<M: Model>(keys: Vec<Item>) -> Result<Vec<Item>, Error> {
    let table = M::table()?;
    let mut left = Vec::new();
    let mut keys = keys.into_iter().peekable();
    while keys.peek().is_some() {
        let chunk = keys.by_ref().take(WRITE_LIMIT);
        let batch = chunk.fold(batch_write(), |b, key| b.delete(table, key));
        left.extend(batch.send()?.take_writes(table.name()).1);
    }
    Ok(left)
}

/// Sends what a batch did not process again, with exponential backoff, until nothing
/// is left or the attempts run out (AWS's advice for `UnprocessedKeys` and
/// `UnprocessedItems`).
///
/// ```no_run
/// # use portico_guest::data::model::{Model, ModelExt, Retry};
/// # #[derive(Model)] #[model(table = "t", pk = "id")] struct Todo { id: String }
/// # fn f(mut todos: Vec<Todo>) -> Result<(), portico_guest::data::model::Error> {
/// let retry = Retry::new(5);
/// let left = retry.put(&mut todos)?;
/// assert!(left.is_empty(), "{} items still throttled", left.len());
/// let found = retry.get(vec![Todo::key("1"), Todo::key("2")])?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    attempts: u32,
    base: Duration,
}

impl Retry {
    /// Up to `attempts` sends in all (at least one), waiting 50 ms, 100 ms, 200 ms, …
    /// between them.
    pub fn new(attempts: u32) -> Self {
        Retry {
            attempts: attempts.max(1),
            base: Duration::from_millis(50),
        }
    }

    /// The first wait (doubled after each attempt).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base = delay;
        self
    }

    fn run<W>(
        &self,
        mut work: Vec<W>,
        mut round: impl FnMut(Vec<W>) -> Result<Vec<W>, Error>,
    ) -> Result<Vec<W>, Error> {
        let mut delay = self.base;
        for attempt in 0..self.attempts {
            if attempt > 0 {
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2);
            }
            work = round(work)?;
            if work.is_empty() {
                break;
            }
        }
        Ok(work)
    }

    /// A batch get, retrying unprocessed keys; returns what was read and the keys still
    /// unprocessed after the last attempt.
    ///
    /// # Errors
    /// As [`ModelExt::batch_get`].
    pub fn get<M: Model>(&self, keys: Vec<Key<M>>) -> Result<BatchGetResult<M>, Error> {
        let mut items = Vec::new();
        let unprocessed = self.run(keys, |keys| {
            let out = get(keys)?;
            items.extend(out.items);
            Ok(out.unprocessed)
        })?;
        Ok(BatchGetResult { items, unprocessed })
    }

    /// A batch put, retrying unprocessed items; returns the items still unwritten.
    ///
    /// # Errors
    /// As [`ModelExt::batch_put`].
    pub fn put<M: Model>(&self, items: &mut [M]) -> Result<Vec<Item>, Error> {
        let prepared = items
            .iter_mut()
            .map(|item| item.prepared(false))
            .collect::<Result<Vec<_>, _>>()?;
        self.run(prepared, put_items::<M>)
    }

    /// A batch delete, retrying unprocessed keys; returns the keys still not deleted.
    ///
    /// # Errors
    /// As [`ModelExt::batch_delete`].
    pub fn delete<M: Model>(&self, keys: Vec<Key<M>>) -> Result<Vec<Item>, Error> {
        self.run(
            keys.into_iter().map(Key::into_item).collect(),
            delete_items::<M>,
        )
    }
}
