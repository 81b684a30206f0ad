//! Counters of one listener's connections (exported by the metrics registry as
//! `portico_connections_total{listener,outcome}` and `portico_connections_open{listener}`),
//! and a warning that says how often something happened instead of logging every time.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What happened to one listener's connections. The default is a set of unregistered
/// counters (tests); the metrics registry gives registered ones (`Metrics::connections`).
#[derive(Debug, Clone, Default)]
pub struct ConnectionStats {
    /// Connections accepted and served.
    pub accepted: Counter,
    /// Connections closed at once because the listener was at its connection cap.
    pub refused: Counter,
    /// Connections closed because no request head arrived in time after accept.
    pub first_request_timeout: Counter,
    /// Connections closed after sitting idle between requests.
    pub idle_timeout: Counter,
    /// Connections closed because a request head took too long to arrive.
    pub header_timeout: Counter,
    /// Failed `accept` calls (out of file descriptors and the like).
    pub accept_errors: Counter,
    /// Connections open now.
    pub open: Gauge,
}

/// A warning logged at most once per [`Throttled::EVERY`], with how many times it
/// happened since the last one.
#[derive(Debug)]
pub struct Throttled {
    what: &'static str,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttled {
    /// The shortest time between two warnings.
    pub const EVERY: Duration = Duration::from_secs(10);

    /// A throttled warning about `what` (e.g. "connections refused at the cap").
    pub const fn new(what: &'static str) -> Self {
        Throttled {
            what,
            state: Mutex::new((None, 0)),
        }
    }

    /// Counts one occurrence; logs (with `detail`) if the last warning is old enough.
    pub fn hit(&self, detail: &dyn std::fmt::Display) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last, count) = &mut *state;
        *count += 1;
        let now = Instant::now();
        if last.is_none_or(|at| now.duration_since(at) >= Self::EVERY) {
            let n = std::mem::take(count);
            *last = Some(now);
            drop(state);
            tracing::warn!("{}: {n} since the last warning ({detail})", self.what);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_between_warnings() {
        let t = Throttled::new("x");
        t.hit(&"a");
        t.hit(&"b");
        t.hit(&"c");
        let state = t.state.lock().expect("lock");
        // The first hit warned; the next two wait for the next warning.
        assert_eq!(state.1, 2);
    }
}
