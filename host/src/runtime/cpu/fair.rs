//! A counting semaphore whose waiters are served round robin between functions, first
//! come first served within one function: a burst of one function's calls queues behind
//! itself, and another function's call waits for at most one turn of each function
//! ahead of it.
//!
//! The contract:
//! - At most `permits` [`Permit`]s exist at once.
//! - A released permit goes to a waiter when there is one (never back to the free count
//!   while anyone waits), to the first waiter of the function after the last one served.
//! - An [`Acquire`] dropped while waiting leaves the queue; one dropped after it was
//!   granted a permit, before it was polled again, gives the permit back.
//!
//! Locks: the lane's state, then a waiter's slot, never the other way round.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// The semaphore.
#[derive(Debug)]
pub struct FairLane {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    free: usize,
    /// Each waiting function's waiters, oldest first; a function is here only while it
    /// has one.
    queues: HashMap<Arc<str>, VecDeque<Arc<Slot>>>,
    /// The waiting functions, the next to be served first.
    order: VecDeque<Arc<str>>,
}

#[derive(Debug)]
struct Slot(Mutex<Waiting>);

#[derive(Debug)]
enum Waiting {
    Queued(Waker),
    Granted,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here panics while holding a lock; if something did, the state is still
    // consistent at every await point.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FairLane {
    /// A lane of `permits` permits.
    pub fn new(permits: usize) -> Self {
        FairLane {
            state: Mutex::new(State {
                free: permits,
                ..State::default()
            }),
        }
    }

    /// Waits for a permit for a call of `function`.
    pub fn acquire(self: &Arc<Self>, function: &Arc<str>) -> Acquire {
        Acquire {
            lane: Arc::clone(self),
            function: Arc::clone(function),
            slot: None,
        }
    }

    /// How many permits are free.
    #[cfg(test)]
    pub fn available_permits(&self) -> usize {
        lock(&self.state).free
    }

    /// Gives a permit to the next waiter, or back to the free count.
    fn release(&self) {
        let mut state = lock(&self.state);
        let Some(function) = state.order.pop_front() else {
            state.free += 1;
            return;
        };
        let (slot, more) = match state.queues.get_mut(&function) {
            Some(queue) => (queue.pop_front(), !queue.is_empty()),
            None => (None, false),
        };
        if more {
            state.order.push_back(function);
        } else {
            state.queues.remove(&function);
        }
        let Some(slot) = slot else {
            // Unreachable by the invariant (a function in `order` has a waiter); keep
            // the permit rather than lose it.
            state.free += 1;
            return;
        };
        let waiting = std::mem::replace(&mut *lock(&slot.0), Waiting::Granted);
        drop(state);
        if let Waiting::Queued(waker) = waiting {
            waker.wake();
        }
    }
}

/// A permit of a [`FairLane`], given back when dropped.
#[derive(Debug)]
pub struct Permit {
    lane: Arc<FairLane>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.lane.release();
    }
}

/// The future of [`FairLane::acquire`].
#[derive(Debug)]
pub struct Acquire {
    lane: Arc<FairLane>,
    function: Arc<str>,
    /// Its place in the queue, once it has one.
    slot: Option<Arc<Slot>>,
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = self.get_mut();
        match &this.slot {
            Some(slot) => {
                let mut waiting = lock(&slot.0);
                match &mut *waiting {
                    Waiting::Granted => {
                        drop(waiting);
                        this.slot = None;
                        Poll::Ready(Permit {
                            lane: Arc::clone(&this.lane),
                        })
                    }
                    Waiting::Queued(waker) => {
                        waker.clone_from(cx.waker());
                        Poll::Pending
                    }
                }
            }
            None => {
                let mut state = lock(&this.lane.state);
                if state.free > 0 && state.order.is_empty() {
                    state.free -= 1;
                    return Poll::Ready(Permit {
                        lane: Arc::clone(&this.lane),
                    });
                }
                let slot = Arc::new(Slot(Mutex::new(Waiting::Queued(cx.waker().clone()))));
                let state = &mut *state;
                let queue = state.queues.entry(Arc::clone(&this.function)).or_default();
                if queue.is_empty() {
                    state.order.push_back(Arc::clone(&this.function));
                }
                queue.push_back(Arc::clone(&slot));
                this.slot = Some(slot);
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let mut state = lock(&self.lane.state);
        if matches!(*lock(&slot.0), Waiting::Granted) {
            drop(state);
            self.lane.release();
            return;
        }
        let state = &mut *state;
        if let Some(queue) = state.queues.get_mut(&self.function) {
            queue.retain(|queued| !Arc::ptr_eq(queued, &slot));
            if queue.is_empty() {
                state.queues.remove(&self.function);
                state.order.retain(|f| *f != self.function);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn name(s: &str) -> Arc<str> {
        s.into()
    }

    #[test]
    fn free_permits_are_taken_at_once_and_given_back() {
        let lane = Arc::new(FairLane::new(2));
        let a = pin!(lane.acquire(&name("f")));
        let Poll::Ready(a) = poll_once(a) else {
            panic!("a free permit was not taken")
        };
        assert_eq!(lane.available_permits(), 1);
        drop(a);
        assert_eq!(lane.available_permits(), 2);
    }

    #[test]
    fn waiters_are_served_round_robin_between_functions() {
        let lane = Arc::new(FairLane::new(1));
        let mut held = Some(match poll_once(pin!(lane.acquire(&name("busy")))) {
            Poll::Ready(permit) => permit,
            Poll::Pending => panic!("the lane starts with a free permit"),
        });
        // A burst of one function's calls, then another function's call.
        let mut burst: Vec<_> = (0..3)
            .map(|_| Box::pin(lane.acquire(&name("loop"))))
            .collect();
        for call in &mut burst {
            assert!(poll_once(call.as_mut()).is_pending());
        }
        let mut hello = Box::pin(lane.acquire(&name("hello")));
        assert!(poll_once(hello.as_mut()).is_pending());

        // The first release goes to the first waiting function, the second to the next.
        drop(held.take());
        let Poll::Ready(first) = poll_once(burst[0].as_mut()) else {
            panic!("the oldest waiter was not served")
        };
        assert!(poll_once(hello.as_mut()).is_pending());
        drop(first);
        let Poll::Ready(hello) = poll_once(hello.as_mut()) else {
            panic!("hello waited behind the whole burst")
        };
        assert!(poll_once(burst[1].as_mut()).is_pending());
        drop(hello);
        assert!(poll_once(burst[1].as_mut()).is_ready());
    }

    #[test]
    fn a_dropped_waiter_leaves_the_queue_and_a_dropped_grant_gives_back() {
        let lane = Arc::new(FairLane::new(1));
        let held = match poll_once(pin!(lane.acquire(&name("f")))) {
            Poll::Ready(permit) => permit,
            Poll::Pending => panic!("the lane starts with a free permit"),
        };
        let mut gone = Box::pin(lane.acquire(&name("g")));
        assert!(poll_once(gone.as_mut()).is_pending());
        drop(gone);
        let mut granted = Box::pin(lane.acquire(&name("h")));
        assert!(poll_once(granted.as_mut()).is_pending());
        drop(held);
        // `h` was granted the permit; dropped before taking it, it gives it back.
        drop(granted);
        assert_eq!(lane.available_permits(), 1);
    }
}
