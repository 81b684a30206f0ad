//! The single writer: every write goes through one thread that applies queued writes in
//! one redb transaction and commits them with one fsync (group commit), then answers
//! each. A write is acknowledged only after its transaction is durable.
//!
//! Each queued write is evaluated against the transaction's current state, so writes in
//! one group see each other in queue order, exactly as if they had committed one by
//! one. A write whose condition fails changes nothing. A storage failure aborts the
//! whole group and every write in it gets the error: nothing is acknowledged that was
//! not committed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable, WriteTransaction};
use tokio::sync::oneshot;

use crate::error::{CancellationCode, CancellationReason, DataError};
use crate::expr::{Condition, UpdateAction};
use crate::ops::{ReturnValues, TransactWrite, WriteOutput};
use crate::value::Item;

use super::layout::Layout;
use super::prepare::{self, BatchOp, Check, Delete, Put, Target, TransactOp, Updating};
use super::{rows, storage_error};

/// Most writes committed together.
const MAX_GROUP: usize = 512;
/// How long a transaction's client token makes retries idempotent.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// The message of a reused client token: DynamoDB's description of
/// `IdempotentParameterMismatchException` (API reference, TransactWriteItems, Errors),
/// which does not document the exception's message text itself.
const TOKEN_MISMATCH: &str = "The request was rejected because it retried a request with a \
    different payload but with an idempotent token that was already used";
/// TTL values further than this in the past are ignored, as on DynamoDB.
const TTL_HORIZON_SECS: u64 = 5 * 365 * 24 * 3600;

/// A write for the writer thread.
#[derive(Debug)]
pub enum Job {
    /// `PutItem`.
    Put(Put),
    /// `UpdateItem`.
    Update(Updating),
    /// `DeleteItem`.
    Delete(Delete),
    /// `BatchWriteItem`, applied together.
    Batch(Vec<BatchOp>),
    /// `TransactWriteItems`, with the request itself when it carries a client token.
    Transact {
        /// The checked writes.
        ops: Vec<TransactOp>,
        /// The client token and the request it was first used with.
        token: Option<(String, TransactWrite)>,
    },
    /// Delete up to `limit` items of a table whose TTL passed at `now` (epoch seconds).
    Sweep {
        /// The table.
        layout: Arc<Layout>,
        /// The current time.
        now: u64,
        /// Most items to delete in this pass.
        limit: usize,
    },
}

/// A write's result.
#[derive(Debug)]
pub enum Done {
    /// A put, update or delete, with what `ReturnValues` asked for.
    Write(WriteOutput),
    /// A batch or a transaction.
    Applied,
    /// A TTL sweep, with the number of items deleted.
    Swept(usize),
}

struct Envelope {
    job: Job,
    reply: oneshot::Sender<Result<Done, DataError>>,
}

/// The handle to the writer thread. Dropping it lets the thread finish what is queued
/// and waits for it, so the database is closed when the drop returns.
#[derive(Debug)]
pub struct Writer {
    queue: Option<mpsc::Sender<Envelope>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the embedded store's writer thread panicked");
        }
    }
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.job.fmt(f)
    }
}

impl Writer {
    /// Starts the writer thread.
    ///
    /// # Errors
    /// When the thread cannot be spawned.
    pub fn start(db: Arc<Database>) -> std::io::Result<Writer> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("portico-store-writer".into())
            .spawn(move || run(&db, &jobs))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    fn send(&self, envelope: Envelope) -> Result<(), DataError> {
        self.queue
            .as_ref()
            .and_then(|queue| queue.send(envelope).ok())
            .ok_or_else(|| DataError::Unavailable("the embedded store has stopped".into()))
    }

    /// Queues a write and waits until it is durable (or failed).
    ///
    /// # Errors
    /// The write's own error, or `Unavailable` when the store failed.
    pub async fn submit(&self, job: Job) -> Result<Done, DataError> {
        let (reply, answer) = oneshot::channel();
        self.send(Envelope { job, reply })?;
        answer
            .await
            .map_err(|_| DataError::Unavailable("the embedded store's writer stopped".into()))?
    }

    /// Queues a write and blocks the calling (non-async) thread until it is durable.
    ///
    /// # Errors
    /// As [`Writer::submit`].
    pub fn submit_blocking(&self, job: Job) -> Result<Done, DataError> {
        let (reply, answer) = oneshot::channel();
        self.send(Envelope { job, reply })?;
        answer
            .blocking_recv()
            .map_err(|_| DataError::Unavailable("the embedded store's writer stopped".into()))?
    }
}

/// The writer thread's loop: take what is queued, apply it in one transaction, commit,
/// answer.
fn run(db: &Database, jobs: &mpsc::Receiver<Envelope>) {
    let mut tokens: HashMap<String, (TransactWrite, Instant)> = HashMap::new();
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        tokens.retain(|_, (_, at)| at.elapsed() < TOKEN_LIFETIME);
        let results = apply_group(db, &group, &mut tokens);
        for (envelope, result) in group.into_iter().zip(results) {
            // The caller may have gone away (its request was cancelled); the write
            // stands either way.
            let _ = envelope.reply.send(result);
        }
    }
}

/// Applies a group in one transaction; on a storage failure every write gets it.
fn apply_group(
    db: &Database,
    group: &[Envelope],
    tokens: &mut HashMap<String, (TransactWrite, Instant)>,
) -> Vec<Result<Done, DataError>> {
    let fail_all = |error: DataError| group.iter().map(|_| Err(error.clone())).collect();
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => return fail_all(storage_error(e)),
    };
    let mut results = Vec::with_capacity(group.len());
    let mut new_tokens = Vec::new();
    for envelope in group {
        let result = match &envelope.job {
            Job::Transact {
                token: Some((token, request)),
                ..
            } => match tokens.get(token) {
                Some((first, _)) if first == request => Ok(Done::Applied),
                Some(_) => Err(DataError::IdempotentParameterMismatch(
                    TOKEN_MISMATCH.to_owned(),
                )),
                None => {
                    let result = apply(&txn, &envelope.job);
                    if result.is_ok() {
                        new_tokens.push((token.clone(), request.clone()));
                    }
                    result
                }
            },
            job => apply(&txn, job),
        };
        if let Err(DataError::Unavailable(message)) = &result {
            txn.abort().ok();
            return fail_all(DataError::Unavailable(message.clone()));
        }
        results.push(result);
    }
    if let Err(e) = txn.commit() {
        return fail_all(storage_error(e));
    }
    let now = Instant::now();
    tokens.extend(
        new_tokens
            .into_iter()
            .map(|(token, request)| (token, (request, now))),
    );
    results
}

fn apply(txn: &WriteTransaction, job: &Job) -> Result<Done, DataError> {
    match job {
        Job::Put(put) => {
            let effect = evaluate_put(txn, put)?;
            commit_effect(txn, &effect)?;
            Ok(Done::Write(effect.output))
        }
        Job::Update(update) => {
            let effect = evaluate_update(txn, update)?;
            commit_effect(txn, &effect)?;
            Ok(Done::Write(effect.output))
        }
        Job::Delete(delete) => {
            let effect = evaluate_delete(txn, delete)?;
            commit_effect(txn, &effect)?;
            Ok(Done::Write(effect.output))
        }
        Job::Batch(ops) => {
            for op in ops {
                match op {
                    BatchOp::Put(target, item) => {
                        let old = rows::read(txn, &target.layout, &target.key_bytes)?;
                        rows::write(txn, &target.layout, &target.key_bytes, old.as_ref(), item)?;
                    }
                    BatchOp::Delete(target) => {
                        if let Some(old) = rows::read(txn, &target.layout, &target.key_bytes)? {
                            rows::delete(txn, &target.layout, &target.key_bytes, &old)?;
                        }
                    }
                }
            }
            Ok(Done::Applied)
        }
        Job::Transact { ops, .. } => transact(txn, ops),
        Job::Sweep { layout, now, limit } => sweep(txn, layout, *now, *limit).map(Done::Swept),
    }
}

/// What one write does to one item, decided before anything is written.
struct Effect<'a> {
    target: &'a Target,
    old: Option<Item>,
    /// The item after the write; `None` deletes it.
    new: Option<Item>,
    /// Whether anything changes (a condition check changes nothing).
    writes: bool,
    output: WriteOutput,
}

fn commit_effect(txn: &WriteTransaction, effect: &Effect<'_>) -> Result<(), DataError> {
    if !effect.writes {
        return Ok(());
    }
    let (layout, key) = (&effect.target.layout, &effect.target.key_bytes);
    match (&effect.old, &effect.new) {
        (old, Some(new)) => rows::write(txn, layout, key, old.as_ref(), new),
        (Some(old), None) => rows::delete(txn, layout, key, old),
        (None, None) => Ok(()),
    }
}

fn check_condition(
    condition: Option<&Condition>,
    old: Option<&Item>,
    return_old: bool,
) -> Result<(), DataError> {
    let Some(condition) = condition else {
        return Ok(());
    };
    let empty = Item::new();
    if condition.evaluate(old.unwrap_or(&empty))? {
        Ok(())
    } else {
        Err(DataError::ConditionalCheckFailed {
            item: if return_old { old.cloned() } else { None },
        })
    }
}

fn all_old(return_values: ReturnValues, old: &Option<Item>) -> WriteOutput {
    WriteOutput {
        attributes: match return_values {
            ReturnValues::AllOld => old.clone(),
            _ => None,
        },
    }
}

fn evaluate_put<'a>(txn: &WriteTransaction, put: &'a Put) -> Result<Effect<'a>, DataError> {
    let old = rows::read(txn, &put.target.layout, &put.target.key_bytes)?;
    check_condition(put.condition.as_ref(), old.as_ref(), put.return_old)?;
    Ok(Effect {
        target: &put.target,
        output: all_old(put.return_values, &old),
        old,
        new: Some(put.item.clone()),
        writes: true,
    })
}

fn evaluate_update<'a>(
    txn: &WriteTransaction,
    update: &'a Updating,
) -> Result<Effect<'a>, DataError> {
    let target = &update.target;
    let old = rows::read(txn, &target.layout, &target.key_bytes)?;
    check_condition(update.condition.as_ref(), old.as_ref(), update.return_old)?;
    // Removing from an item that does not exist creates nothing (only SET and ADD, or
    // an update without an expression, create the item).
    let creates = update.update.as_ref().is_none_or(|u| {
        u.actions()
            .iter()
            .any(|a| matches!(a, UpdateAction::Set { .. } | UpdateAction::Add { .. }))
    });
    if old.is_none() && !creates {
        return Ok(Effect {
            target,
            old: None,
            new: None,
            writes: false,
            output: WriteOutput::default(),
        });
    }
    let mut new = old.clone().unwrap_or_else(|| target.key.clone());
    if let Some(expression) = &update.update {
        expression.apply(&mut new)?;
    }
    prepare::check_item(&target.layout, &new)?;
    let updated = |item: &Item| {
        let attributes = update.update.as_ref().map(|u| u.updated_attributes(item))?;
        (!attributes.is_empty()).then_some(attributes)
    };
    let attributes = match update.return_values {
        ReturnValues::None => None,
        ReturnValues::AllOld => old.clone(),
        ReturnValues::AllNew => Some(new.clone()),
        ReturnValues::UpdatedOld => old.as_ref().and_then(updated),
        ReturnValues::UpdatedNew => updated(&new),
    };
    Ok(Effect {
        target,
        old,
        new: Some(new),
        writes: true,
        output: WriteOutput { attributes },
    })
}

fn evaluate_delete<'a>(
    txn: &WriteTransaction,
    delete: &'a Delete,
) -> Result<Effect<'a>, DataError> {
    let old = rows::read(txn, &delete.target.layout, &delete.target.key_bytes)?;
    check_condition(delete.condition.as_ref(), old.as_ref(), delete.return_old)?;
    Ok(Effect {
        target: &delete.target,
        output: all_old(delete.return_values, &old),
        old,
        new: None,
        writes: true,
    })
}

fn evaluate_check<'a>(txn: &WriteTransaction, check: &'a Check) -> Result<Effect<'a>, DataError> {
    let old = rows::read(txn, &check.target.layout, &check.target.key_bytes)?;
    check_condition(Some(&check.condition), old.as_ref(), check.return_old)?;
    Ok(Effect {
        target: &check.target,
        old,
        new: None,
        writes: false,
        output: WriteOutput::default(),
    })
}

/// Evaluates every write of a transaction against the state before it; applies them
/// all if all succeed, none otherwise.
fn transact(txn: &WriteTransaction, ops: &[TransactOp]) -> Result<Done, DataError> {
    let mut effects = Vec::with_capacity(ops.len());
    let mut reasons = Vec::with_capacity(ops.len());
    let mut cancelled = false;
    for op in ops {
        let effect = match op {
            TransactOp::Put(put) => evaluate_put(txn, put),
            TransactOp::Update(update) => evaluate_update(txn, update),
            TransactOp::Delete(delete) => evaluate_delete(txn, delete),
            TransactOp::Check(check) => evaluate_check(txn, check),
            TransactOp::Invalid(error) => Err(error.clone()),
        };
        match effect {
            Ok(effect) => {
                effects.push(effect);
                reasons.push(CancellationReason::none());
            }
            Err(error @ DataError::Unavailable(_)) => return Err(error),
            Err(DataError::ConditionalCheckFailed { item }) => {
                cancelled = true;
                reasons.push(CancellationReason {
                    code: CancellationCode::ConditionalCheckFailed,
                    message: Some("The conditional request failed".into()),
                    item,
                });
            }
            Err(error) => {
                cancelled = true;
                reasons.push(CancellationReason {
                    code: CancellationCode::ValidationError,
                    message: Some(error.message()),
                    item: None,
                });
            }
        }
    }
    if cancelled {
        return Err(DataError::TransactionCanceled { reasons });
    }
    for effect in &effects {
        commit_effect(txn, effect)?;
    }
    Ok(Done::Applied)
}

/// Deletes up to `limit` items whose TTL passed, with their index entries.
fn sweep(
    txn: &WriteTransaction,
    layout: &Layout,
    now: u64,
    limit: usize,
) -> Result<usize, DataError> {
    let start = now.saturating_sub(TTL_HORIZON_SECS).to_be_bytes();
    let end = now.saturating_add(1).to_be_bytes();
    let due: Vec<Vec<u8>> = {
        let queue = txn.open_table(layout.ttl_def()).map_err(storage_error)?;
        let range = queue
            .range(start.as_slice()..end.as_slice())
            .map_err(storage_error)?;
        let mut due = Vec::new();
        for entry in range.take(limit) {
            let (_, key) = entry.map_err(storage_error)?;
            due.push(key.value().to_vec());
        }
        due
    };
    let mut deleted = 0;
    for key in due {
        if let Some(item) = rows::read(txn, layout, &key)?
            && rows::expiry(layout, &item).is_some_and(|at| at <= now)
        {
            rows::delete(txn, layout, &key, &item)?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
