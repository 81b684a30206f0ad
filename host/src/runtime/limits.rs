//! A function's resource limits: one type, used by the manifest (which parses into it),
//! the deploy store and the admin API (which serialise it as JSON), and the runtime
//! (which enforces it).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Default per-invocation timeout: API Gateway HTTP API's integration timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default linear-memory limit of one function instance.
pub const DEFAULT_MEMORY: u64 = 128 << 20;
/// Default response-body limit: Lambda's synchronous response limit.
pub const DEFAULT_MAX_RESPONSE: u64 = 6 << 20;
/// Largest memory limit a function may ask for (the 32-bit address space).
pub const MAX_MEMORY: u64 = 4 << 30;
/// Smallest memory limit a function may ask for (one WebAssembly page).
pub const MIN_MEMORY: u64 = 64 << 10;

/// Per-function resource limits. As JSON (stored deployments, the admin API):
/// `{"timeout_ms": 30000, "memory_bytes": 134217728, "max_response_bytes": 6291456}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock limit of one invocation; over it the client gets 503.
    #[serde(rename = "timeout_ms", with = "millis")]
    pub timeout: Duration,
    /// Linear-memory limit of one instance; an allocation past it fails (a trap: 500).
    pub memory_bytes: u64,
    /// Response-body limit; a larger body is answered with 500.
    pub max_response_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: DEFAULT_MEMORY,
            max_response_bytes: DEFAULT_MAX_RESPONSE,
        }
    }
}

/// Why a limit's value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A zero timeout.
    #[error("must be longer than zero")]
    ZeroTimeout,
    /// Memory outside 64 KiB..=4 GiB.
    #[error("must be between 64KiB and 4GiB, got {0} bytes")]
    Memory(u64),
}

impl Limits {
    /// Checks a timeout.
    pub fn check_timeout(timeout: Duration) -> Result<Duration, LimitError> {
        if timeout.is_zero() {
            return Err(LimitError::ZeroTimeout);
        }
        Ok(timeout)
    }

    /// Checks a memory limit.
    pub fn check_memory(bytes: u64) -> Result<u64, LimitError> {
        if !(MIN_MEMORY..=MAX_MEMORY).contains(&bytes) {
            return Err(LimitError::Memory(bytes));
        }
        Ok(bytes)
    }
}

/// A `Duration` as whole milliseconds.
mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_round_trip_as_json() {
        let limits = Limits::default();
        let json = serde_json::to_string(&limits).expect("json");
        assert_eq!(
            json,
            r#"{"timeout_ms":30000,"memory_bytes":134217728,"max_response_bytes":6291456}"#
        );
        assert_eq!(serde_json::from_str::<Limits>(&json).expect("back"), limits);
    }

    #[test]
    fn bad_values_are_refused() {
        assert_eq!(
            Limits::check_timeout(Duration::ZERO),
            Err(LimitError::ZeroTimeout)
        );
        assert!(Limits::check_memory(1).is_err());
        assert!(Limits::check_memory(MAX_MEMORY + 1).is_err());
        assert_eq!(Limits::check_memory(MIN_MEMORY), Ok(MIN_MEMORY));
    }
}
