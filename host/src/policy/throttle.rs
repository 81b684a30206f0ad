//! Throttling, as API Gateway's HTTP APIs throttle: token buckets with a steady `rate`
//! (requests per second) and a `burst` (the bucket's size), one API-wide (API Gateway's
//! account-level limit, 10,000 rps with a burst of 5,000 unless `[throttle]` says
//! otherwise) and one per route that sets its own (`throttle = { rate, burst }`) or, when
//! the stage has a default (`[stage] throttle = { ... }`), one of those per route. A
//! request must fit every bucket that applies; over a limit it is answered 429
//! `{"message":"Too Many Requests"}` with `retry-after` (whole seconds until the bucket
//! admits one again), and nothing runs.
//!
//! ```toml
//! [throttle]                 # API-wide; the default is rate = 10000, burst = 5000
//! rate = 2000
//! burst = 1000
//!
//! [routes]
//! "GET /limited" = { function = "hello", throttle = { rate = 5, burst = 5 } }
//! ```
//!
//! `rate` may be fractional (`0.5`: one request every 2 s); `rate = 0` or `burst = 0`
//! refuses every request, as API Gateway does. The buckets are GCRA cells of the
//! `governor` crate: one atomic compare-and-swap per check, no lock. A bucket belongs to
//! the manifest's setting, so deploys keep its state; a reload of the manifest starts
//! fresh buckets.

use super::{Admission, Context, Policy, Refusal, refusal};
use crate::runtime::HttpTrigger;
use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

/// API Gateway's account-level steady rate, the API-wide default.
pub const DEFAULT_RATE: f64 = 10_000.0;
/// API Gateway's account-level burst, the API-wide default.
pub const DEFAULT_BURST: u32 = 5_000;

/// `[throttle]`, or a route's `throttle = { ... }`, as written in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Steady requests per second (may be fractional; 0 refuses every request).
    pub rate: f64,
    /// The bucket's size: requests admitted at once after a quiet spell.
    pub burst: u32,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
        }
    }
}

/// A throttle setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ThrottleConfigError {
    /// The key at fault: `rate` or `burst`.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

/// One token bucket and what it limits, for the refusal's reason.
pub struct Throttle {
    scope: String,
    settings: ThrottleSettings,
    /// `None`: `rate` or `burst` is zero, so nothing is admitted.
    quota: Option<Quota>,
    limiter: Option<DefaultDirectRateLimiter>,
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("scope", &self.scope)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Throttle {
    /// A bucket for `settings`; `scope` names what it limits in refusals ("the API",
    /// "route GET /x").
    pub fn new(scope: &str, settings: ThrottleSettings) -> Result<Throttle, ThrottleConfigError> {
        let ThrottleSettings { rate, burst } = settings;
        if !rate.is_finite() || rate < 0.0 {
            return Err(ThrottleConfigError {
                field: "rate",
                reason: format!("a rate is requests per second, 0 or more; got {rate}"),
            });
        }
        let quota = match NonZeroU32::new(burst) {
            Some(burst) if rate > 0.0 => {
                // One request's worth of the bucket refills every 1/rate seconds.
                let period =
                    Duration::try_from_secs_f64(1.0 / rate).map_err(|_| ThrottleConfigError {
                        field: "rate",
                        reason: format!("rate {rate} is too small"),
                    })?;
                let quota = Quota::with_period(period)
                    .ok_or_else(|| ThrottleConfigError {
                        field: "rate",
                        reason: format!("rate {rate} is too large"),
                    })?
                    .allow_burst(burst);
                Some(quota)
            }
            _ => None,
        };
        Ok(Throttle {
            scope: scope.to_string(),
            settings,
            quota,
            limiter: quota.map(RateLimiter::direct),
        })
    }

    /// A full bucket of the same settings, limiting `scope` (an API key's own bucket
    /// made from its usage plan's).
    pub fn renewed(&self, scope: &str) -> Throttle {
        Throttle {
            scope: scope.to_string(),
            settings: self.settings,
            quota: self.quota,
            limiter: self.quota.map(RateLimiter::direct),
        }
    }

    /// The settings it was made from.
    pub fn settings(&self) -> ThrottleSettings {
        self.settings
    }

    /// Takes one request from the bucket; `Err(wait)` when it is empty, with the time
    /// until it holds one again. Lock-free: one compare-and-swap.
    pub fn take(&self) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            // Refusing everything: there is no time after which a request fits.
            return Err(Duration::from_secs(1));
        };
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

impl Policy for Throttle {
    fn name(&self) -> &'static str {
        "throttle"
    }

    fn responds(&self) -> bool {
        false
    }

    fn admit<'a>(&'a self, _trigger: &'a HttpTrigger, _cx: Context<'a>) -> Admission<'a> {
        match self.take() {
            Ok(()) => Admission::Now(Ok(None)),
            Err(wait) => Admission::Now(Err(self.refuse(wait))),
        }
    }
}

impl Throttle {
    /// API Gateway's 429 for a request over this bucket, which holds one again after
    /// `wait`.
    pub fn refuse(&self, wait: Duration) -> Box<Refusal> {
        let ThrottleSettings { rate, burst } = self.settings;
        let mut refused = refusal(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"message":"Too Many Requests"}"#,
            format!(
                "throttle: over the limit of {} (rate {rate}/s, burst {burst})",
                self.scope
            ),
        );
        // Whole seconds, rounded up (`retry-after: 0` invites a hot loop).
        retry_after(
            &mut refused,
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        );
        refused
    }
}

/// Sets a refusal's `retry-after` to `seconds`, at least 1.
pub fn retry_after(refused: &mut Refusal, seconds: u64) {
    refused
        .response
        .headers
        .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(rate: f64, burst: u32) -> Throttle {
        Throttle::new("the test", ThrottleSettings { rate, burst }).expect("valid")
    }

    #[test]
    fn a_bucket_admits_its_burst_then_refuses_with_the_wait() {
        let t = throttle(1.0, 3);
        for _ in 0..3 {
            assert!(t.take().is_ok());
        }
        let wait = t.take().expect_err("the bucket is empty");
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
    }

    #[test]
    fn a_fractional_rate_refills_slowly_and_zero_refuses_all() {
        let t = throttle(0.5, 1);
        assert!(t.take().is_ok());
        let wait = t.take().expect_err("empty");
        assert!(wait > Duration::from_millis(1900), "{wait:?}");
        assert!(throttle(0.0, 10).take().is_err());
        assert!(throttle(10.0, 0).take().is_err());
    }

    #[test]
    fn bad_rates_are_refused() {
        for rate in [-1.0, f64::NAN, f64::INFINITY] {
            let err = Throttle::new("x", ThrottleSettings { rate, burst: 1 }).expect_err("bad");
            assert_eq!(err.field, "rate");
        }
    }
}
