//! The last requests the host answered — what its access log said of them, without the
//! timings' detail — kept in memory for the console (`GET /logs/access` on the admin
//! API). A bounded ring: the newest [`CAPACITY`] lines, the oldest dropped.
//!
//! What it holds is what the access log prints: no query string, no headers, no bodies,
//! so no credential a request carried.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Lines kept.
pub const CAPACITY: usize = 200;

/// One answered request. Cheap to make on the request path (the time stays a number
/// until the line is read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessLine {
    /// When it was answered; shown as RFC 3339 with milliseconds (`time`).
    #[serde(rename = "time", serialize_with = "rfc3339")]
    pub time: std::time::SystemTime,
    /// Its request id (the `apigw-requestid` header).
    pub request_id: Arc<str>,
    /// The stage.
    pub stage: String,
    /// Method.
    pub method: String,
    /// Path, without the query string.
    pub path: String,
    /// The matched route key, or `-`.
    pub route: String,
    /// The status answered.
    pub status: u16,
    /// From request head to response, in microseconds.
    pub latency_us: u64,
    /// The function that ran, if one did.
    pub function: Option<String>,
    /// Its version.
    pub version: Option<String>,
}

fn rfc3339<S: serde::Serializer>(time: &std::time::SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*time))
}

/// The ring.
#[derive(Debug, Default)]
pub struct Recent {
    lines: Mutex<VecDeque<AccessLine>>,
}

impl Recent {
    /// Keeps `line`, dropping the oldest beyond [`CAPACITY`].
    pub fn push(&self, line: AccessLine) {
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if lines.len() == CAPACITY {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The newest `limit` lines, newest first.
    pub fn newest(&self, limit: usize) -> Vec<AccessLine> {
        let lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lines.iter().rev().take(limit).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u16) -> AccessLine {
        AccessLine {
            time: std::time::UNIX_EPOCH,
            request_id: format!("r{n}").into(),
            stage: "$default".into(),
            method: "GET".into(),
            path: "/".into(),
            route: "-".into(),
            status: n,
            latency_us: 0,
            function: None,
            version: None,
        }
    }

    #[test]
    fn the_newest_are_kept_newest_first() {
        let recent = Recent::default();
        for n in 0..(CAPACITY as u16 + 5) {
            recent.push(line(n));
        }
        let newest = recent.newest(3);
        assert_eq!(
            newest.iter().map(|l| l.status).collect::<Vec<_>>(),
            [204, 203, 202]
        );
        assert_eq!(recent.newest(usize::MAX).len(), CAPACITY);
        assert_eq!(recent.newest(usize::MAX).last().map(|l| l.status), Some(5));
    }
}
