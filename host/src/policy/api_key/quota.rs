//! Usage-plan quotas: the period a request counts in, and the counter of one key's
//! requests in one period.
//!
//! A counter is this host's view of a number kept in the data store (the usage table's
//! `used`, one item per key and period). Its rules:
//!
//! - **loaded before use**: the first request of a key in a period reads the stored
//!   count (once, for any number of concurrent requests); so a restart continues from
//!   what was stored, and so does a second host;
//! - **taken without a lock**: admitting a request is one compare-and-swap on `used`
//!   (which never passes the limit on this host) and one add to `unflushed`;
//! - **flushed in batches**: every [`FLUSH_INTERVAL`] the flusher adds each counter's
//!   `unflushed` to the store with one `ADD` update (commutative, so hosts sharing a
//!   store sum correctly) and learns the stored total, other hosts' requests included.
//!   A failed flush puts its count back for the next one.
//!
//! What can be lost: a `kill -9` loses the requests counted since the last flush — at
//! most one [`FLUSH_INTERVAL`] of them per host — and those requests were served, so the
//! error is in the caller's favour. A graceful stop (SIGINT, SIGTERM) flushes first and
//! loses nothing. Hosts sharing a store may together admit up to one flush interval's
//! worth of requests beyond the limit, as API Gateway's own quotas are approximate.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use time::{Date, OffsetDateTime};

/// How often counted requests are written to the data store.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// A quota's period, as a usage plan's `quota = { limit, period }` names it. Periods
/// are calendar periods in UTC: a day from midnight, a week from Monday's midnight (ISO
/// weeks), a month from the first's midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    /// A UTC day.
    Day,
    /// An ISO week (Monday to Sunday, UTC).
    Week,
    /// A calendar month (UTC).
    Month,
}

impl QuotaPeriod {
    /// Its name in the manifest and in the store: `day`, `week`, `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "day",
            QuotaPeriod::Week => "week",
            QuotaPeriod::Month => "month",
        }
    }

    /// The period of this kind that `now` falls in.
    pub fn window(self, now: SystemTime) -> Window {
        let seconds = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let today = OffsetDateTime::from_unix_timestamp(seconds)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .date();
        let (start, end) = match self {
            QuotaPeriod::Day => (today, today.next_day()),
            QuotaPeriod::Week => {
                let back = i64::from(today.weekday().number_days_from_monday());
                let monday = today
                    .checked_sub(time::Duration::days(back))
                    .unwrap_or(today);
                (monday, monday.checked_add(time::Duration::days(7)))
            }
            QuotaPeriod::Month => {
                let first = today.replace_day(1).unwrap_or(today);
                let next = match first.month() {
                    time::Month::December => {
                        Date::from_calendar_date(first.year() + 1, time::Month::January, 1)
                    }
                    month => Date::from_calendar_date(first.year(), month.next(), 1),
                };
                (first, next.ok())
            }
        };
        let midnight = |date: Date| date.midnight().assume_utc().unix_timestamp();
        Window {
            period: self,
            start: midnight(start),
            // Past the calendar's last day there is no next period: it never ends.
            end: end.map_or(i64::MAX, midnight),
            id: format!("{}:{start}", self.as_str()),
        }
    }
}

/// One period of a quota: its bounds (UTC epoch seconds, `start` included, `end` not)
/// and its name in the usage table (`day:2026-12-03`, `week:2026-11-30`,
/// `month:2026-12-01`: the kind and the first day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The kind of period.
    pub period: QuotaPeriod,
    /// When it starts.
    pub start: i64,
    /// When the next one starts.
    pub end: i64,
    /// Its name in the store.
    pub id: String,
}

impl Window {
    /// Whether `now` falls in it.
    pub fn contains(&self, period: QuotaPeriod, now: SystemTime) -> bool {
        let seconds = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.period == period && (self.start..self.end).contains(&seconds)
    }

    /// Whole seconds from `now` until the period ends (at least 1).
    pub fn seconds_left(&self, now: SystemTime) -> u64 {
        let seconds = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        u64::try_from(self.end.saturating_sub(seconds)).map_or(1, |s| s.max(1))
    }

    /// When it starts, as RFC 3339 text.
    pub fn start_text(&self) -> String {
        let start = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(self.start).unwrap_or_default());
        humantime::format_rfc3339_seconds(start).to_string()
    }
}

/// One key's requests in one period. See the [module docs](self) for its rules.
#[derive(Debug)]
pub struct Counter {
    window: Window,
    loaded: tokio::sync::OnceCell<()>,
    /// The best count known: the stored total at the last load or flush, plus this
    /// host's requests since.
    used: AtomicU64,
    /// This host's requests not yet added to the store.
    unflushed: AtomicU64,
}

impl Counter {
    /// A counter for `window`, not loaded yet.
    pub fn new(window: Window) -> Counter {
        Counter {
            window,
            loaded: tokio::sync::OnceCell::new(),
            used: AtomicU64::new(0),
            unflushed: AtomicU64::new(0),
        }
    }

    /// Its period.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Whether the stored count has been read.
    pub fn is_loaded(&self) -> bool {
        self.loaded.initialized()
    }

    /// Reads the stored count with `read`, once: concurrent callers wait for the one
    /// read, and a failed read is tried again by the next caller.
    pub async fn load<F, E>(&self, read: F) -> Result<(), E>
    where
        F: Future<Output = Result<u64, E>>,
    {
        self.loaded
            .get_or_try_init(|| async {
                let stored = read.await?;
                self.used.fetch_add(stored, Ordering::AcqRel);
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Counts one request if the period's count is below `limit`; `false` when the
    /// quota is used up. Call only once loaded.
    pub fn take(&self, limit: u64) -> bool {
        let taken = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < limit).then_some(used + 1)
            })
            .is_ok();
        if taken {
            self.unflushed.fetch_add(1, Ordering::AcqRel);
        }
        taken
    }

    /// The best count known.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Whether it holds requests the store has not got.
    pub fn is_dirty(&self) -> bool {
        self.unflushed.load(Ordering::Acquire) > 0
    }

    /// Adds this host's unwritten requests to the store with `add`, which returns the
    /// stored total after the addition. On failure the requests stay counted here, for
    /// the next flush.
    pub async fn flush<F, Fut, E>(&self, add: F) -> Result<(), E>
    where
        F: FnOnce(u64) -> Fut,
        Fut: Future<Output = Result<u64, E>>,
    {
        let delta = self.unflushed.swap(0, Ordering::AcqRel);
        if delta == 0 {
            return Ok(());
        }
        match add(delta).await {
            Ok(total) => {
                // The store's total has every host's flushed requests; ours taken since
                // the swap are not in it yet. Never lower the count (a request taken
                // meanwhile is in `used` already).
                let pending = self.unflushed.load(Ordering::Acquire);
                self.used.fetch_max(total + pending, Ordering::AcqRel);
                Ok(())
            }
            Err(e) => {
                self.unflushed.fetch_add(delta, Ordering::AcqRel);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).expect("a time")
    }

    #[test]
    fn periods_are_utc_calendar_periods() {
        let now = at("2026-12-03T17:30:00Z"); // a Thursday
        let day = QuotaPeriod::Day.window(now);
        assert_eq!(day.id, "day:2026-12-03");
        assert_eq!(day.start_text(), "2026-12-03T00:00:00Z");
        assert_eq!(day.end - day.start, 86_400);
        let week = QuotaPeriod::Week.window(now);
        assert_eq!(week.id, "week:2026-11-30");
        assert_eq!(week.end - week.start, 7 * 86_400);
        let month = QuotaPeriod::Month.window(now);
        assert_eq!(month.id, "month:2026-12-01");
        assert_eq!(
            month.end,
            QuotaPeriod::Month.window(at("2027-01-15T00:00:00Z")).start
        );
        assert!(month.contains(QuotaPeriod::Month, at("2026-12-31T23:59:59Z")));
        assert!(!month.contains(QuotaPeriod::Month, at("2027-01-01T00:00:00Z")));
        assert!(!month.contains(QuotaPeriod::Day, now));
        assert_eq!(day.seconds_left(now), 6 * 3600 + 30 * 60);
    }

    #[tokio::test]
    async fn a_counter_continues_from_the_store_and_stops_at_the_limit() {
        let counter = Counter::new(QuotaPeriod::Day.window(SystemTime::now()));
        assert!(!counter.is_loaded());
        counter.load(async { Ok::<_, ()>(8) }).await.expect("read");
        // A second load does not read again.
        counter
            .load(async { Err::<u64, ()>(()) })
            .await
            .expect("loaded once");
        assert!(counter.take(10));
        assert!(counter.take(10));
        assert!(!counter.take(10));
        assert_eq!(counter.used(), 10);
        assert!(counter.is_dirty());
    }

    #[tokio::test]
    async fn a_flush_adds_the_new_requests_and_learns_the_total() {
        let counter = Counter::new(QuotaPeriod::Day.window(SystemTime::now()));
        counter.load(async { Ok::<_, ()>(0) }).await.expect("read");
        for _ in 0..3 {
            assert!(counter.take(100));
        }
        // Another host added 5 meanwhile: the store answers 8.
        counter
            .flush(|delta| async move {
                assert_eq!(delta, 3);
                Ok::<_, ()>(8)
            })
            .await
            .expect("flushed");
        assert_eq!(counter.used(), 8);
        assert!(!counter.is_dirty());
        // A failed flush keeps the count for the next one.
        assert!(counter.take(100));
        counter
            .flush(|_| async { Err::<u64, ()>(()) })
            .await
            .expect_err("failed");
        assert!(counter.is_dirty());
        counter
            .flush(|delta| async move {
                assert_eq!(delta, 1);
                Ok::<_, ()>(9)
            })
            .await
            .expect("flushed");
        assert_eq!(counter.used(), 9);
    }
}
