//! Sharing the CPU between guests, so one function's loop cannot slow the others.
//!
//! Guests run on the server's tokio worker threads, beside the I/O. Every
//! [`EPOCH_TICK`] a running guest reaches an epoch deadline, and its store's callback
//! decides what happens next:
//!
//! - For its first [`SHORT_TICKS`] ticks an invocation is *short*: it yields with
//!   `tokio::task::yield_now`, which puts it behind every task already waiting (unlike
//!   wasmtime's default yield, which tokio's LIFO slot runs again at once, so a looping
//!   guest kept its thread: measured `hello` fell from ~10k to ~100 req/s beside two
//!   loops).
//! - After that it is *long-running*, and may only run while it holds one of the
//!   [`CpuShare`]'s long-lane permits: at most half the worker threads (at least one)
//!   ever run long-running guests at once. At each tick it gives its permit back and
//!   queues for one again (first come, first served), so long-runners take turns, one
//!   tick each, and the other threads stay free for short invocations and I/O.
//!
//! A long-runner waiting for a permit is not in tokio's run queue, so its timeout fires
//! on time however many there are: the caller's `tokio::time::timeout` wakes it, and
//! it is dropped. A permit is held across host calls the guest makes while it has one
//! (a data call, an outbound request): the lane is a bound on CPU, and such a guest
//! gives the permit back at its next tick.
//!
//! [`OnCpu`] measures how long an invocation's future was actually being polled, the
//! CPU time its instance used (host calls' synchronous parts included), for the access
//! log's `cpu_us`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::UpdateDeadline;

/// How often the engine's epoch advances: the length of a guest's slice of a thread.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Ticks an invocation runs as short before it needs the long lane.
pub const SHORT_TICKS: u32 = 2;

/// The long lane: how many long-running guests may run at once.
#[derive(Debug, Clone)]
pub struct CpuShare {
    long_lane: Arc<Semaphore>,
    permits: usize,
}

impl CpuShare {
    /// A share for `workers` worker threads: long-runners get half of them, at least one.
    pub fn new(workers: usize) -> Self {
        let permits = (workers / 2).max(1);
        CpuShare {
            long_lane: Arc::new(Semaphore::new(permits)),
            permits,
        }
    }

    /// Sized for this machine's parallelism (tokio's default worker count).
    pub fn for_this_machine() -> Self {
        CpuShare::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// How many long-running guests may run at once.
    pub fn long_lane_permits(&self) -> usize {
        self.permits
    }

    /// The epoch-deadline callback for one store (see the module docs).
    pub fn deadline_callback<T>(
        &self,
    ) -> impl FnMut(wasmtime::StoreContextMut<'_, T>) -> wasmtime::Result<UpdateDeadline>
    + Send
    + Sync
    + 'static {
        let lane = Arc::clone(&self.long_lane);
        let held: Arc<Mutex<Option<OwnedSemaphorePermit>>> = Arc::default();
        let mut ticks: u32 = 0;
        move |_store| {
            ticks = ticks.saturating_add(1);
            if ticks <= SHORT_TICKS {
                return Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ));
            }
            // Give back the slice just used, then queue for the next.
            held.lock().unwrap_or_else(PoisonError::into_inner).take();
            let lane = Arc::clone(&lane);
            let held = Arc::clone(&held);
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(async move {
                    // The semaphore is never closed; if it were, run unthrottled.
                    if let Ok(permit) = lane.acquire_owned().await {
                        *held.lock().unwrap_or_else(PoisonError::into_inner) = Some(permit);
                    }
                    // Behind the tasks that queued while this one waited.
                    tokio::task::yield_now().await;
                }),
            ))
        }
    }
}

/// A future that adds the time spent in its `poll` to `spent`, also when dropped
/// unfinished (a timeout).
pub struct OnCpu<'a, F> {
    inner: Pin<Box<F>>,
    spent: &'a mut Duration,
}

impl<'a, F> OnCpu<'a, F> {
    /// Measures `inner` into `spent`.
    pub fn new(inner: F, spent: &'a mut Duration) -> Self {
        OnCpu {
            inner: Box::pin(inner),
            spent,
        }
    }
}

impl<F: Future> Future for OnCpu<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let started = Instant::now();
        let polled = this.inner.as_mut().poll(cx);
        *this.spent += started.elapsed();
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_the_workers_and_at_least_one() {
        assert_eq!(CpuShare::new(1).long_lane_permits(), 1);
        assert_eq!(CpuShare::new(2).long_lane_permits(), 1);
        assert_eq!(CpuShare::new(8).long_lane_permits(), 4);
    }

    #[tokio::test]
    async fn on_cpu_counts_only_time_spent_polling() {
        let mut spent = Duration::ZERO;
        OnCpu::new(
            async {
                std::thread::sleep(Duration::from_millis(20));
                tokio::time::sleep(Duration::from_millis(50)).await;
            },
            &mut spent,
        )
        .await;
        assert!(spent >= Duration::from_millis(20), "{spent:?}");
        assert!(
            spent < Duration::from_millis(50),
            "the sleep was counted: {spent:?}"
        );
    }
}
