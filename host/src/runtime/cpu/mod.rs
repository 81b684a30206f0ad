//! Sharing the CPU between guests, so one function's loop cannot slow the others, and
//! so a busy host still answers timeouts, I/O and its admin listener on time.
//!
//! Guests run on the server's tokio worker threads, beside the I/O. Every
//! [`EPOCH_TICK`] a running guest reaches an epoch deadline and yields with
//! `tokio::task::yield_now`, which puts it behind every task already waiting (unlike
//! wasmtime's default yield, which tokio's LIFO slot runs again at once, so a looping
//! guest kept its thread: measured `hello` fell from ~10k to ~100 req/s beside two
//! loops).
//!
//! Every guest's future goes through its [`Gate`], which polls it only while it holds a
//! turn from the runtime's [`CpuShare`], on one of two lanes:
//!
//! - The *running* lane, two turns per worker thread, for an invocation's first
//!   [`SHORT_TICKS`] ticks.
//! - The *long* lane, half as many turns (at least one), for an invocation past those:
//!   long-running guests get at most half the worker threads between them, so the rest
//!   stay free for short invocations.
//!
//! So at most two and a half guests per worker thread are ever runnable at once. A guest
//! keeps its turn through a tick's yield (which lets the worker poll its I/O and timers:
//! tokio runs a yielded task only once it has run out of others), then hands it to the
//! next in line and queues again: first come, first served within a function, round
//! robin between functions, so a burst of one function's calls queues behind itself
//! (`cpu::fair`). A guest without a turn waits in that queue, not in tokio's run queue,
//! so whatever else is runnable (a timeout's wake-up, a new connection, a response being
//! written, `/healthz`) waits behind a few slices of guest code at most, never behind
//! every guest on the host. A guest waiting for a host call (a data call, an outbound
//! request, a body) is not runnable and holds no turn.
//!
//! A timeout is the caller's `tokio::time::timeout` around the gated future: when it
//! fires, the task wakes, the gate's poll finds no permit (or runs one more slice at
//! most), and the invocation is dropped.
//!
//! [`OnCpu`] measures how long an invocation's future was actually being polled, the
//! CPU time its instance used (host calls' synchronous parts included), for the access
//! log's `cpu_us`.

mod fair;

use fair::FairLane;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use wasmtime::UpdateDeadline;

/// How often the engine's epoch advances: the length of a guest's slice of a thread.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Ticks an invocation runs as short before it needs the long lane.
pub const SHORT_TICKS: u32 = 2;

/// The runtime's share of the CPU for guests: its running lane and its long lane.
#[derive(Debug, Clone)]
pub struct CpuShare {
    running: Arc<FairLane>,
    long_lane: Arc<FairLane>,
}

impl CpuShare {
    /// A share for `workers` worker threads: two short invocations per worker running at
    /// once, and half as many long-running ones as workers (at least one).
    ///
    /// Two per worker, not one: a short invocation that happens to cross a tick keeps its
    /// turn until its worker next runs out of tasks, and with one turn per worker two
    /// such `hello`s could stall every other `hello` (measured: 0.82× of the throughput
    /// without turns; with two per worker, 0.99×).
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        CpuShare::with_turns(2 * workers, (workers / 2).max(1))
    }

    fn with_turns(running_permits: usize, long_permits: usize) -> Self {
        CpuShare {
            running: Arc::new(FairLane::new(running_permits)),
            long_lane: Arc::new(FairLane::new(long_permits)),
        }
    }

    /// Sized for this machine's parallelism (tokio's default worker count).
    pub fn for_this_machine() -> Self {
        CpuShare::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// The turns of one new invocation of `function`: give its store
    /// [`Turns::deadline_callback`] and run its future through [`Turns::gate`].
    pub fn turns(&self, function: &Arc<str>) -> Turns {
        Turns {
            share: self.clone(),
            function: Arc::clone(function),
            ticks: Arc::default(),
        }
    }
}

/// One invocation's place in the [`CpuShare`]: how many ticks it has run, counted by
/// its store's epoch callback and read by its gate.
#[derive(Debug)]
pub struct Turns {
    share: CpuShare,
    /// Running turns are shared round robin between functions.
    function: Arc<str>,
    ticks: Arc<AtomicU32>,
}

impl Turns {
    /// The epoch-deadline callback for the invocation's store: count the tick and yield.
    pub fn deadline_callback<T>(
        &self,
    ) -> impl FnMut(wasmtime::StoreContextMut<'_, T>) -> wasmtime::Result<UpdateDeadline>
    + Send
    + Sync
    + 'static {
        let ticks = Arc::clone(&self.ticks);
        move |_store| {
            ticks.fetch_add(1, Ordering::Relaxed);
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        }
    }

    /// `inner`, polled only while it holds the permits it needs (see the module docs).
    pub fn gate<F: Future>(self, inner: F) -> Gate<F> {
        Gate {
            inner: Box::pin(inner),
            turns: self,
            turn: None,
            waiting: None,
            ticked: false,
        }
    }

    fn is_long(&self) -> bool {
        self.ticks.load(Ordering::Relaxed) > SHORT_TICKS
    }
}

/// A guest's future, polled only while it holds a turn: on the running lane, or on the
/// long lane once it is long-running.
pub struct Gate<F> {
    inner: Pin<Box<F>>,
    turns: Turns,
    turn: Option<fair::Permit>,
    /// Its place in a lane's queue; the lane cannot change while it waits, since an
    /// invocation becomes long-running only while running.
    waiting: Option<fair::Acquire>,
    /// The last poll ended at a tick, with the turn still held.
    ticked: bool,
}

impl<F> Gate<F> {
    /// Takes a turn on this invocation's lane, queueing when there is none.
    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.turn.is_none() {
            let turns = &self.turns;
            let lane = if turns.is_long() {
                &turns.share.long_lane
            } else {
                &turns.share.running
            };
            let waiting = self
                .waiting
                .get_or_insert_with(|| lane.acquire(&turns.function));
            self.turn = Some(ready!(Pin::new(waiting).poll(cx)));
            self.waiting = None;
        }
        Poll::Ready(())
    }

    fn release(&mut self) {
        self.turn = None;
    }
}

impl<F: Future> Future for Gate<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if this.ticked {
            // The first poll after a tick: the tick's `yield_now` has let the worker poll
            // its I/O and timers. Now hand the turn to the next in line (the lane gives a
            // released turn to the next waiting function) and queue again.
            this.ticked = false;
            this.release();
        }
        ready!(this.poll_turn(cx));
        let ticks = this.turns.ticks.load(Ordering::Relaxed);
        let polled = this.inner.as_mut().poll(cx);
        if polled.is_pending() && this.turns.ticks.load(Ordering::Relaxed) != ticks {
            // A tick: still runnable, and keeps its turn through the yield. Handing it over
            // here instead would wake the next guest at once, and the next guest's tick the
            // one after: a chain of runnable guests that keeps a worker from ever running
            // out of tasks, so it would poll its I/O driver only every 61 polls (61 ms).
            this.ticked = true;
        } else {
            // Finished, or waiting for a host call (data, outbound HTTP, a body): no share
            // of the CPU is held while not runnable.
            this.release();
        }
        polled
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
    use std::pin::pin;
    use std::sync::Mutex;
    use std::task::Waker;

    /// One poll of `fut`, with a waker that does nothing: the tests drive the order.
    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// A guest that runs `slices` slices, logging `name` at the start of each and ending
    /// each with a tick, as its store's epoch callback would.
    async fn guest(ticks: Arc<AtomicU32>, log: Arc<Mutex<Vec<char>>>, name: char, slices: u32) {
        for _ in 0..slices {
            log.lock().unwrap().push(name);
            ticks.fetch_add(1, Ordering::Relaxed);
            tokio::task::yield_now().await;
        }
    }

    fn ticks_of(turns: &Turns) -> Arc<AtomicU32> {
        Arc::clone(&turns.ticks)
    }

    #[test]
    fn half_the_workers_and_at_least_one() {
        assert_eq!(CpuShare::new(2).running.available_permits(), 4);
        assert_eq!(CpuShare::new(1).long_lane.available_permits(), 1);
        assert_eq!(CpuShare::new(2).long_lane.available_permits(), 1);
        assert_eq!(CpuShare::new(8).long_lane.available_permits(), 4);
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

    #[tokio::test]
    async fn a_guest_runs_only_with_a_running_permit() {
        let share = CpuShare::with_turns(1, 1);
        let Poll::Ready(held) = poll_once(pin!(share.running.acquire(&"other".into()))) else {
            panic!("the share starts with a free running permit")
        };
        let mut gated = pin!(share.turns(&"f".into()).gate(async { 7 }));
        assert!(poll_once(gated.as_mut()).is_pending());
        drop(held);
        assert_eq!(poll_once(gated.as_mut()), Poll::Ready(7));
        assert_eq!(
            share.running.available_permits(),
            1,
            "given back at the end"
        );
    }

    #[tokio::test]
    async fn a_guest_waiting_for_a_host_call_holds_no_permit() {
        let share = CpuShare::with_turns(1, 1);
        let (answer, call) = tokio::sync::oneshot::channel::<u8>();
        let mut gated = pin!(share.turns(&"f".into()).gate(call));
        assert!(poll_once(gated.as_mut()).is_pending());
        assert_eq!(share.running.available_permits(), 1);
        answer.send(3).unwrap();
        assert_eq!(poll_once(gated.as_mut()), Poll::Ready(Ok(3)));
    }

    #[tokio::test]
    async fn a_tick_hands_the_turn_to_the_next_in_line() {
        let share = CpuShare::with_turns(1, 1);
        let log = Arc::default();
        let (a, b) = (share.turns(&"f".into()), share.turns(&"f".into()));
        let (a_ticks, b_ticks) = (ticks_of(&a), ticks_of(&b));
        let mut a = pin!(a.gate(guest(a_ticks, Arc::clone(&log), 'a', 2)));
        let mut b = pin!(b.gate(guest(b_ticks, Arc::clone(&log), 'b', 2)));
        // a runs a slice and keeps its turn through the tick's yield.
        assert!(poll_once(a.as_mut()).is_pending());
        assert_eq!(share.running.available_permits(), 0);
        // b queues for the one permit.
        assert!(poll_once(b.as_mut()).is_pending());
        // After its yield a hands the permit to b and queues...
        assert!(poll_once(a.as_mut()).is_pending());
        // ...so b runs, and a waits.
        assert!(poll_once(b.as_mut()).is_pending());
        assert!(poll_once(a.as_mut()).is_pending());
        assert_eq!(*log.lock().unwrap(), ['a', 'b']);
    }

    #[tokio::test]
    async fn long_runners_leave_the_other_workers_to_short_invocations() {
        let share = CpuShare::with_turns(2, 1);
        let log = Arc::default();
        let (a, b) = (share.turns(&"f".into()), share.turns(&"f".into()));
        // Both are past their short ticks.
        a.ticks.store(SHORT_TICKS + 1, Ordering::Relaxed);
        b.ticks.store(SHORT_TICKS + 1, Ordering::Relaxed);
        let (a_ticks, b_ticks) = (ticks_of(&a), ticks_of(&b));
        let mut a = pin!(a.gate(guest(a_ticks, Arc::clone(&log), 'a', 3)));
        let mut b = pin!(b.gate(guest(b_ticks, Arc::clone(&log), 'b', 3)));
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        assert_eq!(*log.lock().unwrap(), ['a'], "b waits for the long lane");
        // Long-runners leave the running lane whole to short invocations.
        assert_eq!(share.running.available_permits(), 2);
        let mut short = pin!(share.turns(&"f".into()).gate(async { 1 }));
        assert_eq!(poll_once(short.as_mut()), Poll::Ready(1));
        // After its yield a hands the lane to b.
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        assert_eq!(*log.lock().unwrap(), ['a', 'b']);
    }
}
