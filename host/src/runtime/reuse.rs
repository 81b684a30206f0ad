//! Instance reuse for Portico functions, opt in per function (`reuse = { max_requests,
//! max_age }`): weaker isolation for heavy guests (a JS or Python engine each) whose
//! instantiation costs more than their request.
//!
//! The rules, written out:
//! - A kept instance serves one request at a time: it is taken out of the function's
//!   slot for the request and put back only after it.
//! - It is put back only after a request that ended `Ok` within the limits; a trap, a
//!   timeout, a guest error or a refused response discards it.
//! - It serves at most `max_requests` requests and lives at most `max_age`; then it is
//!   dropped (checked when it would be put back and when it would be taken).
//! - Per-request state is new for every request: the request id, the caller's
//!   authorization, every capability's instance state (counters, logs' request id) and
//!   the outbound hooks. What the guest keeps in its own memory — globals, caches —
//!   survives between requests: that is the weaker isolation.
//! - One instance is kept per function. While kept it holds its admission permit, so it
//!   counts against `max_instances` (and `max_concurrency`): the instance pool can never
//!   be short of a slot the admission gate promised.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::Permits;
use super::function::bindings::FunctionHandler;
use super::state::InstanceState;

/// How long and for how many requests an instance may be reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reuse {
    /// Requests one instance serves, in all.
    pub max_requests: NonZeroU32,
    /// How long after it was created an instance may still take a request.
    pub max_age: Duration,
}

/// An instance between requests, with what keeps it valid.
pub(super) struct Kept {
    pub store: Store<InstanceState>,
    pub instance: FunctionHandler,
    pub served: u32,
    pub born: Instant,
    pub permits: Permits,
}

/// A function's slot for its kept instance.
pub(super) struct Slot {
    reuse: Reuse,
    kept: Mutex<Option<Kept>>,
}

impl Slot {
    pub(super) fn new(reuse: Reuse) -> Self {
        Slot {
            reuse,
            kept: Mutex::new(None),
        }
    }

    fn alive(&self, kept: &Kept) -> bool {
        kept.served < self.reuse.max_requests.get() && kept.born.elapsed() < self.reuse.max_age
    }

    /// The kept instance, if there is one still within its limits.
    pub(super) fn take(&self) -> Option<Kept> {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        self.alive(&kept).then_some(kept)
    }

    /// Keeps `kept` for the next request, if it is within its limits and the slot is
    /// free (else it is dropped, and its permit with it).
    pub(super) fn put(&self, kept: Kept) {
        if !self.alive(&kept) {
            return;
        }
        let mut slot = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(kept);
        }
    }
}
