//! Resubmitting a batch's unprocessed part until nothing is left, with exponential
//! backoff, as DynamoDB's documentation asks of batch callers.

use std::collections::BTreeMap;
use std::time::Duration;

use portico_data::ops::{BatchGet, BatchWrite};
use portico_data::{Backend, DataError, Item};

/// How often and how patiently to resubmit.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Most calls in all, the first included.
    pub max_attempts: u32,
    /// The wait after the first partial answer; doubled after each further one.
    pub first_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(200),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Writes the whole batch: resubmits what comes back unprocessed (and retries
/// retryable errors) until nothing is left. Returns how many calls it took.
///
/// # Errors
/// A non-retryable error as the backend reported it, or
/// [`DataError::Throttled`] when writes were still unprocessed after
/// `policy.max_attempts` calls.
pub async fn batch_write_all(
    backend: &dyn Backend,
    request: BatchWrite,
    policy: RetryPolicy,
) -> Result<u32, DataError> {
    let mut pending = request;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match backend.batch_write(pending.clone()).await {
            Ok(output) if output.unprocessed.values().all(Vec::is_empty) => return Ok(attempt),
            Ok(output) => {
                pending = BatchWrite {
                    tables: output.unprocessed,
                }
            }
            Err(error) if error.is_retryable() => {}
            Err(error) => return Err(error),
        }
        if attempt >= policy.max_attempts {
            return Err(DataError::Throttled(format!(
                "batch write still unprocessed after {attempt} attempts"
            )));
        }
        tokio::time::sleep(policy.backoff(attempt)).await;
    }
}

/// Reads the whole batch: resubmits unprocessed keys (and retries retryable errors)
/// until every key was read. Returns the items per table and how many calls it took.
///
/// # Errors
/// A non-retryable error as the backend reported it, or
/// [`DataError::Throttled`] when keys were still unprocessed after
/// `policy.max_attempts` calls.
pub async fn batch_get_all(
    backend: &dyn Backend,
    request: BatchGet,
    policy: RetryPolicy,
) -> Result<(BTreeMap<String, Vec<Item>>, u32), DataError> {
    let mut pending = request;
    let mut found: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match backend.batch_get(pending.clone()).await {
            Ok(output) => {
                for (table, items) in output.responses {
                    found.entry(table).or_default().extend(items);
                }
                if output.unprocessed.values().all(|e| e.keys.is_empty()) {
                    return Ok((found, attempt));
                }
                pending = BatchGet {
                    tables: output.unprocessed,
                };
            }
            Err(error) if error.is_retryable() => {}
            Err(error) => return Err(error),
        }
        if attempt >= policy.max_attempts {
            return Err(DataError::Throttled(format!(
                "batch get still unprocessed after {attempt} attempts"
            )));
        }
        tokio::time::sleep(policy.backoff(attempt)).await;
    }
}
