//! One process per data directory. The data directory holds the deploy store (stored
//! modules, deploy records, the audit log) and the embedded store; two processes on one
//! directory would delete each other's modules and overwrite each other's records. So
//! every command that uses the directory first takes an exclusive advisory lock on
//! `<dir>/portico.lock` and keeps it until it exits.
//!
//! The lock is the operating system's (`flock` on Unix, `LockFileEx` on Windows): it
//! dies with its process, so a killed host never leaves a stale lock behind. The file's
//! text, who holds it (pid, command, start time, listen addresses), is only there to
//! name the holder in the refusal; a leftover text means nothing. The file itself is
//! never deleted: deleting a lock file lets two processes lock two different files.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "portico.lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "data directory {} is in use by another portico ({holder}); stop it, or point this manifest's `[data] dir` at another directory",
        dir.display()
    )]
    InUse {
        /// The data directory.
        dir: PathBuf,
        /// Who holds it, as its lock file says.
        holder: String,
    },
    /// The lock file could not be created, locked or written.
    #[error("cannot lock the data directory {}: {cause}", dir.display())]
    Io {
        /// The data directory.
        dir: PathBuf,
        /// Why (in the message, not a `source`).
        cause: std::io::Error,
    },
}

/// Who holds a data directory: the lock file's text (one JSON object).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    /// `up`, `data`, `invoke`.
    command: String,
    /// When it took the lock (RFC 3339).
    since: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    admin_listen: Option<SocketAddr>,
}

impl Holder {
    /// `pid 1234, `portico up` since ..., serving http://..., admin http://...`.
    fn describe(&self) -> String {
        let mut text = format!(
            "pid {}, `portico {}` since {}",
            self.pid, self.command, self.since
        );
        if let Some(listen) = self.listen {
            text.push_str(&format!(", serving http://{listen}"));
        }
        if let Some(admin) = self.admin_listen {
            text.push_str(&format!(", admin API http://{admin}"));
        }
        text
    }
}

/// An exclusive lock on a data directory, held until dropped (or the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    dir: PathBuf,
    holder: Holder,
}

impl DataDirLock {
    /// Creates `dir` if needed and locks it for `command` (`up`, `data`, `invoke`), or
    /// says who holds it. Never waits.
    pub fn acquire(dir: &Path, command: &str) -> Result<DataDirLock, LockError> {
        let io = |cause| LockError::Io {
            dir: dir.to_path_buf(),
            cause,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(LOCK_FILE);
        // Not truncated: until the lock is ours, the text is the holder's.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::InUse {
                    dir: dir.to_path_buf(),
                    holder: read_holder(&path),
                });
            }
            Err(TryLockError::Error(cause)) => return Err(io(cause)),
        }
        let lock = DataDirLock {
            file,
            dir: dir.to_path_buf(),
            holder: Holder {
                pid: std::process::id(),
                command: command.to_string(),
                since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
                listen: None,
                admin_listen: None,
            },
        };
        lock.write().map_err(io)?;
        Ok(lock)
    }

    /// Adds the addresses the host serves on to the lock file, so a refusal names them.
    /// Best effort: the lock is what matters.
    pub fn serving(&mut self, listen: SocketAddr, admin_listen: SocketAddr) {
        self.holder.listen = Some(listen);
        self.holder.admin_listen = Some(admin_listen);
        if let Err(e) = self.write() {
            tracing::warn!(dir = %self.dir.display(), "cannot write the data directory's lock file: {e}");
        }
    }

    /// Replaces the lock file's text with the holder's. Written from the start and then
    /// cut to length, so a reader sees the old text, the new one, or the new one followed
    /// by the old one's tail (which [`read_holder`] ignores), never an empty file.
    fn write(&self) -> std::io::Result<()> {
        let mut text = serde_json::to_string(&self.holder).map_err(std::io::Error::other)?;
        text.push('\n');
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(text.as_bytes())?;
        file.set_len(text.len() as u64)?;
        file.flush()
    }
}

/// Who holds the lock file at `path`, as its text says.
fn read_holder(path: &Path) -> String {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return format!("its lock file {} cannot be read: {e}", path.display()),
    };
    // The first JSON value; anything after it is the tail of an older, longer text.
    match serde_json::Deserializer::from_str(&text)
        .into_iter::<Holder>()
        .next()
    {
        Some(Ok(holder)) => holder.describe(),
        _ => "it has not said which yet".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let mut first = DataDirLock::acquire(&data, "up").expect("first lock");
        first.serving(
            "127.0.0.1:8080".parse().expect("addr"),
            "127.0.0.1:8081".parse().expect("addr"),
        );
        // A second open file description of the same file: what another process gets.
        let e = DataDirLock::acquire(&data, "data").expect_err("held");
        let text = e.to_string();
        assert!(matches!(e, LockError::InUse { .. }), "{e:?}");
        assert!(
            text.starts_with(&format!(
                "data directory {} is in use by another portico (pid {}, `portico up` since ",
                data.display(),
                std::process::id()
            )),
            "{text}"
        );
        assert!(
            text.contains(
                ", serving http://127.0.0.1:8080, admin API http://127.0.0.1:8081); stop it"
            ),
            "{text}"
        );
        crate::manifest::assert_each_cause_once(&e);
        drop(first);
        // Released with its holder; the old text is replaced.
        let _second = DataDirLock::acquire(&data, "data").expect("free again");
        let text = std::fs::read_to_string(data.join(LOCK_FILE)).expect("lock file");
        assert!(text.contains("\"command\":\"data\""), "{text}");
        assert!(!text.contains("8080"), "{text}");
    }

    #[test]
    fn a_lock_file_left_behind_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(LOCK_FILE),
            r#"{"pid":1,"command":"up","since":"2020-01-01T00:00:00Z","listen":"127.0.0.1:1"}"#,
        )
        .expect("stale lock file");
        let lock = DataDirLock::acquire(dir.path(), "up").expect("not held by anyone");
        drop(lock);
    }

    #[test]
    fn an_unreadable_holder_text_is_said_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(LOCK_FILE);
        std::fs::write(&path, "").expect("empty");
        assert_eq!(read_holder(&path), "it has not said which yet");
        std::fs::write(
            &path,
            "{\"pid\":7,\"command\":\"invoke\",\"since\":\"now\"}\n\"listen\":\"tail\"}",
        )
        .expect("with a tail");
        assert_eq!(read_holder(&path), "pid 7, `portico invoke` since now");
    }
}
