//! The audit log: one JSON line per change to what is served (deploy, rollback, reload),
//! appended and fsynced before the change is acknowledged. Also logged under the
//! `portico::audit` tracing target.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An admin API caller, named by the first 8 hex digits of its token's SHA-256.
    Token(String),
    /// `portico up` choosing versions at start.
    Startup,
    /// `portico up --watch` after a change on disk.
    Watch,
}

impl Actor {
    /// The actor for an admin token.
    pub fn for_token(token: &str) -> Actor {
        Actor::Token(crate::runtime::hex(&Sha256::digest(token.as_bytes())[..4]))
    }

    /// `token:1a2b3c4d`, `startup` or `watch`.
    pub fn label(&self) -> String {
        match self {
            Actor::Token(id) => format!("token:{id}"),
            Actor::Startup => "startup".into(),
            Actor::Watch => "watch".into(),
        }
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditAction {
    /// `PUT /functions/{name}`: new code (and maybe settings).
    Deploy,
    /// `POST /functions/{name}/rollback`: an earlier deployment live again.
    Rollback,
    /// A version chosen at start or under `up --watch`.
    Load,
}

impl AuditAction {
    /// `deploy`, `rollback` or `load`: its name in the log and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Deploy => "deploy",
            AuditAction::Rollback => "rollback",
            AuditAction::Load => "load",
        }
    }
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// Made and live.
    Ok,
    /// Refused; nothing changed.
    Refused,
}

impl AuditOutcome {
    /// `ok` or `refused`: its name in the log and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Refused => "refused",
        }
    }
}

/// One audit entry.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// When (RFC 3339).
    pub time: String,
    /// Who ([`Actor::label`]).
    pub who: String,
    /// What was done.
    pub action: AuditAction,
    /// The function.
    pub function: &'a str,
    /// Version live before.
    pub from: Option<&'a str>,
    /// Version live after (the attempted one when refused).
    pub to: Option<&'a str>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The stage a deploy or rollback was for (`--stage`); none: the live version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<&'a str>,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// The append-only audit log file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl AuditLog {
    /// The log at `path` (opened on first write).
    pub fn new(path: PathBuf) -> AuditLog {
        AuditLog {
            path,
            file: Mutex::new(None),
        }
    }

    /// Appends `entry` and syncs it to disk. A failure is returned so the caller can
    /// refuse to acknowledge a change it cannot account for.
    pub fn record(&self, entry: &Entry<'_>) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        tracing::info!(
            target: "portico::audit",
            who = %entry.who,
            action = entry.action.as_str(),
            function = entry.function,
            from = entry.from,
            to = entry.to,
            outcome = entry.outcome.as_str(),
            reason = entry.reason,
        );
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if file.is_none() {
            *file = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let Some(f) = file.as_mut() else {
            return Err(std::io::Error::other("audit log not open"));
        };
        f.write_all(&line)?;
        f.sync_data()
    }
}

/// How much of the log's end [`AuditLog::recent`] reads: the last entries, not the
/// whole history (a long-lived host's log grows without end).
const RECENT_BYTES: u64 = 256 * 1024;

impl AuditLog {
    /// The last `limit` entries, newest first, as written (JSON objects). A missing log
    /// is an empty one; a line that does not parse (a torn last write) is skipped.
    pub fn recent(&self, limit: usize) -> std::io::Result<Vec<serde_json::Value>> {
        use std::io::{Read as _, Seek as _, SeekFrom};
        let mut file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        let start = len.saturating_sub(RECENT_BYTES);
        file.seek(SeekFrom::Start(start))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let mut lines: Vec<&str> = text.lines().collect();
        if start > 0 && !lines.is_empty() {
            // The first line was cut by the seek.
            lines.remove(0);
        }
        Ok(lines
            .iter()
            .rev()
            .filter_map(|line| serde_json::from_str(line).ok())
            .take(limit)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_json_lines_naming_the_token_by_its_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("audit.log"));
        let who = Actor::for_token("secret").label();
        // SHA-256("secret") starts 2bb80d53.
        assert_eq!(who, "token:2bb80d53");
        for to in ["a", "b"] {
            log.record(&Entry {
                time: "t".into(),
                who: who.clone(),
                action: AuditAction::Deploy,
                function: "f",
                from: None,
                to: Some(to),
                outcome: AuditOutcome::Ok,
                stage: None,
                reason: None,
            })
            .expect("record");
        }
        let text = std::fs::read_to_string(dir.path().join("audit.log")).expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["to"], "b");
        assert_eq!(lines[0]["who"], "token:2bb80d53");
        assert!(!text.contains("secret"));
        // Newest first, at most `limit`; a torn last line is skipped.
        let recent = log.recent(1).expect("recent");
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0]["to"], "b");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("audit.log"))
            .expect("open");
        file.write_all(b"{\"time\":").expect("write");
        let recent = log.recent(10).expect("recent");
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[1]["to"], "a");
        let missing = AuditLog::new(dir.path().join("none.log"));
        assert!(missing.recent(5).expect("empty").is_empty());
    }

    #[test]
    fn actions_and_outcomes_are_written_as_their_names() {
        let entry = Entry {
            time: "t".into(),
            who: "watch".into(),
            action: AuditAction::Rollback,
            function: "f",
            from: Some("a"),
            to: None,
            outcome: AuditOutcome::Refused,
            stage: None,
            reason: Some("why"),
        };
        assert_eq!(
            serde_json::to_string(&entry).expect("json"),
            r#"{"time":"t","who":"watch","action":"rollback","function":"f","from":"a","to":null,"outcome":"refused","reason":"why"}"#
        );
        for action in [
            AuditAction::Deploy,
            AuditAction::Rollback,
            AuditAction::Load,
        ] {
            let json = serde_json::to_value(action).expect("json");
            assert_eq!(json, action.as_str());
        }
        for outcome in [AuditOutcome::Ok, AuditOutcome::Refused] {
            let json = serde_json::to_value(outcome).expect("json");
            assert_eq!(json, outcome.as_str());
        }
    }
}
