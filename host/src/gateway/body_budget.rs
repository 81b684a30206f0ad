//! The host-wide budget of request-body bytes in flight: bodies being received or held
//! for an invocation take from it, and give back when their request's answer has
//! started. A request that would take the total past the budget gets 503 at once, so a
//! crowd of slow uploads cannot hold unbounded memory (100 stalled 10 MB bodies would
//! otherwise hold 1 GB).
//!
//! A body with a `content-length` takes all of it before its first byte is read, so an
//! upload that cannot fit is refused before it is received; a chunked body takes as its
//! frames arrive. Bytes are counted in KiB units (a semaphore of permits), rounded up.

use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default budget: 256 MiB of request bodies across all requests.
pub const DEFAULT_MAX_BODY_BYTES_IN_FLIGHT: u64 = 256 << 20;

const UNIT: u64 = 1024;

/// Request-body bytes the host may hold at once.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    bytes: u64,
}

impl BodyBudget {
    /// A budget of `bytes` (at least one unit).
    pub fn new(bytes: u64) -> Self {
        let units = bytes.div_ceil(UNIT).clamp(1, Semaphore::MAX_PERMITS as u64);
        BodyBudget {
            permits: Arc::new(Semaphore::new(usize::try_from(units).unwrap_or(usize::MAX))),
            bytes,
        }
    }

    /// The budget, in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes not taken by any request now.
    pub fn available(&self) -> u64 {
        (self.permits.available_permits() as u64).saturating_mul(UNIT)
    }

    /// An empty hold for one request's body.
    pub fn hold(&self) -> Hold {
        Hold {
            budget: self.clone(),
            held: Mutex::new(Held {
                bytes: 0,
                permit: None,
            }),
        }
    }
}

/// One request's share of the [`BodyBudget`]; given back when dropped.
#[derive(Debug)]
pub struct Hold {
    budget: BodyBudget,
    held: Mutex<Held>,
}

#[derive(Debug)]
struct Held {
    bytes: u64,
    permit: Option<OwnedSemaphorePermit>,
}

impl Hold {
    /// Makes sure this request holds at least `bytes` in all; false (holding what it
    /// held before) if the budget cannot give the rest now.
    pub fn reserve(&self, bytes: u64) -> bool {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if bytes <= held.bytes {
            return true;
        }
        let have = held.bytes.div_ceil(UNIT);
        let need = bytes.div_ceil(UNIT) - have;
        let Ok(need) = u32::try_from(need) else {
            return false;
        };
        if need == 0 {
            held.bytes = bytes;
            return true;
        }
        match Arc::clone(&self.budget.permits).try_acquire_many_owned(need) {
            Ok(permit) => {
                match &mut held.permit {
                    Some(existing) => existing.merge(permit),
                    None => held.permit = Some(permit),
                }
                held.bytes = bytes;
                true
            }
            Err(_) => false,
        }
    }

    /// The whole budget, in bytes (for error messages).
    pub fn budget_bytes(&self) -> u64 {
        self.budget.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_add_up_and_are_given_back() {
        let budget = BodyBudget::new(10 * UNIT);
        let a = budget.hold();
        assert!(a.reserve(6 * UNIT));
        let b = budget.hold();
        assert!(!b.reserve(5 * UNIT), "6 + 5 KiB is over a 10 KiB budget");
        assert!(b.reserve(4 * UNIT));
        assert_eq!(budget.available(), 0);
        // Growing within what is held takes nothing more.
        assert!(a.reserve(6 * UNIT - 1));
        drop(a);
        assert_eq!(budget.available(), 6 * UNIT);
        assert!(b.reserve(10 * UNIT), "b grows into what a gave back");
        drop(b);
        assert_eq!(budget.available(), 10 * UNIT);
    }

    #[test]
    fn partial_units_round_up() {
        let budget = BodyBudget::new(2 * UNIT);
        let a = budget.hold();
        assert!(a.reserve(1));
        assert!(a.reserve(UNIT));
        assert_eq!(budget.available(), UNIT);
        assert!(a.reserve(UNIT + 1));
        assert_eq!(budget.available(), 0);
        assert!(!a.reserve(2 * UNIT + 1));
    }
}
