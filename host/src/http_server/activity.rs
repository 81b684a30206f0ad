//! What one connection is doing, so an idle one can be closed: how many requests are in
//! flight and since when none is.
//!
//! A request counts from the moment hyper hands its head to the service until its
//! response body ends or is dropped, so a response still streaming keeps its connection
//! busy however long it takes. Between requests (and before the first) the connection is
//! idle; [`Activity::idle_for`] resolves once it has been idle for the allowed time.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// One connection's requests in flight and the start of its current idle spell.
#[derive(Debug)]
pub struct Activity {
    /// One lock for the count and the time, so a watcher never sees a count of zero
    /// with the time of an older idle spell.
    state: Mutex<State>,
    /// Signalled whenever the last request in flight ends.
    ended: Notify,
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    /// When the last request ended, or when the connection was accepted.
    idle_since: Instant,
    /// Whether any request has started on this connection.
    served: bool,
}

impl Activity {
    /// A connection accepted now, with nothing in flight.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                served: false,
            }),
            ended: Notify::new(),
        })
    }

    /// Counts a request as in flight until the returned guard drops.
    pub fn start(self: &Arc<Self>) -> InFlight {
        let mut state = self.state();
        state.in_flight += 1;
        state.served = true;
        InFlight(Arc::clone(self))
    }

    /// Resolves once no request has been in flight for `first` since the connection was
    /// accepted (a client that never sends a request head), or for `idle` since the
    /// last request ended. Never resolves while a request is in flight.
    pub async fn idle_for(&self, first: Duration, idle: Duration) {
        loop {
            // Created before the check, and enabled below only if needed: Notify keeps a
            // permit from `notify_one` for the next waiter, so an end between the check
            // and the wait is not missed.
            let ended = self.ended.notified();
            let next_deadline = || {
                let state = self.state();
                let allowed = if state.served { idle } else { first };
                (state.in_flight == 0).then(|| state.idle_since + allowed)
            };
            match next_deadline() {
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {
                            // Still idle since then, or activity moved the deadline on.
                            if next_deadline().is_some_and(|d| d <= Instant::now()) {
                                return;
                            }
                        }
                        () = ended => {}
                    }
                }
                None => ended.await,
            }
        }
    }

    /// Whether any request has started on this connection.
    pub fn served(&self) -> bool {
        self.state().served
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is two plain fields, consistent after any panic: recover it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request in flight on its connection (see [`Activity::start`]).
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            drop(state);
            self.0.ended.notify_one();
        }
    }
}

/// A response body that holds its request's [`InFlight`] until it ends or is dropped.
pub struct Guarded<B> {
    inner: B,
    in_flight: Option<InFlight>,
}

impl<B> Guarded<B> {
    /// `inner`, keeping `in_flight` alive until its last frame.
    pub fn new(inner: B, in_flight: InFlight) -> Self {
        Guarded {
            inner,
            in_flight: Some(in_flight),
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Guarded<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.in_flight = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_after_first_allowance_when_nothing_arrives() {
        let activity = Activity::new();
        let started = Instant::now();
        activity
            .idle_for(Duration::from_secs(5), Duration::from_secs(60))
            .await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_never_idle_and_resets_the_clock() {
        let activity = Activity::new();
        let request = activity.start();
        let watcher = {
            let activity = Arc::clone(&activity);
            tokio::spawn(async move {
                activity
                    .idle_for(Duration::from_secs(5), Duration::from_secs(60))
                    .await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(
            !watcher.is_finished(),
            "closed while a request was in flight"
        );
        let ended = Instant::now();
        drop(request);
        let closed = watcher.await.expect("watcher");
        // After a request, the keep-alive allowance counts from its end.
        assert_eq!(closed - ended, Duration::from_secs(60));
    }
}
