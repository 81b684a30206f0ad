//! The TTL sweeper: a background thread that deletes items whose TTL attribute (epoch
//! seconds) has passed. As on DynamoDB, an expired item stays readable until it is
//! swept; here that is at most one sweep interval.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Inner;
use super::writer::{Done, Job};

/// Most items deleted per table in one transaction.
const SWEEP_BATCH: usize = 1000;

/// Starts the sweeper for the tables with TTL. It stops on its own once the store is
/// dropped.
pub fn start(store: Weak<Inner>, interval: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("portico-store-ttl".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                let Some(store) = store.upgrade() else { return };
                sweep_all(&store);
            }
        })?;
    Ok(())
}

/// Runs one sweep over every table with TTL; returns how many items were deleted.
pub fn sweep_all(store: &Arc<Inner>) -> usize {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let mut deleted = 0;
    for layout in store.tables.values() {
        if layout.schema.ttl_attribute.is_none() {
            continue;
        }
        loop {
            let job = Job::Sweep {
                layout: Arc::clone(layout),
                now,
                limit: SWEEP_BATCH,
            };
            match store.writer.submit_blocking(job) {
                Ok(Done::Swept(count)) => {
                    deleted += count;
                    if count < SWEEP_BATCH {
                        break;
                    }
                }
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(table = %layout.schema.name, %error, "TTL sweep failed; retrying at the next interval");
                    break;
                }
            }
        }
    }
    if deleted > 0 {
        tracing::debug!(deleted, "TTL sweep deleted expired items");
    }
    deleted
}
