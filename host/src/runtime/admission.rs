//! The instance pool's front door: at most `max_instances` invocations run at once; up to
//! `max_queue` more wait, each for at most `queue_timeout`; everything beyond is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The wait queue was full.
    #[error("instance pool exhausted and the wait queue is full")]
    QueueFull,
    /// The request waited `queue_timeout` without getting an instance.
    #[error("no instance became free within the queue timeout")]
    QueueTimeout,
}

/// Bounded admission to the instance pool.
#[derive(Debug)]
pub struct Admission {
    capacity: u32,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_queue: usize,
    queue_timeout: Duration,
}

/// Counts one waiting request for as long as it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Admission {
    /// An admission gate for `max_instances` concurrent invocations.
    pub fn new(max_instances: u32, max_queue: u32, queue_timeout: Duration) -> Self {
        Admission {
            capacity: max_instances,
            permits: Arc::new(Semaphore::new(max_instances as usize)),
            waiting: AtomicUsize::new(0),
            max_queue: max_queue as usize,
            queue_timeout,
        }
    }

    /// Waits for a free instance slot; the slot is released when the permit drops.
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit, Rejected> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let previously = self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        if previously >= self.max_queue {
            return Err(Rejected::QueueFull);
        }
        match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it like a timeout if it were.
            Ok(Err(_)) | Err(_) => Err(Rejected::QueueTimeout),
        }
    }

    /// How many may hold a slot at once.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Requests currently waiting for an instance.
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_queue_then_refusal() {
        let gate = Arc::new(Admission::new(1, 1, Duration::from_millis(100)));
        let held = gate.admit().await.expect("first is admitted");
        // One may wait...
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.admit().await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.queue_depth(), 1);
        // ...the next is refused at once...
        assert_eq!(gate.admit().await.err(), Some(Rejected::QueueFull));
        // ...and the waiter times out because the slot stays held.
        assert_eq!(waiter.await.expect("join"), Err(Rejected::QueueTimeout));
        drop(held);
        assert!(gate.admit().await.is_ok());
        assert_eq!(gate.queue_depth(), 0);
    }
}
