//! Deployed versions on disk, under `<data dir>/deploy/`:
//!
//! ```text
//! modules/<sha256>.wasm      every deployed module, content-addressed
//! artifacts/<sha256>-<engine>.cwasm   precompiled components (see runtime::Artifacts)
//! functions/<name>.json      each function's history and live pointer
//! audit.log                  one JSON line per admin change
//! ```
//!
//! Every file is replaced atomically (temporary file, fsync, rename, fsync of the
//! directory), and a module is written before any record points at it: after a crash
//! the live pointer names the old version or the new one, and its module is there.

use crate::runtime::hex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::settings::StoredSettings;

/// Why the store could not be read or written. Each message holds its whole cause, so
/// none is also returned as [`std::error::Error::source`] (a chain printed with `{:#}`
/// says each cause once).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        cause: std::io::Error,
    },
    /// A record file is not valid JSON of the expected shape.
    #[error(
        "{path}: not a valid deployment record ({cause}); move it away to start this function's history afresh"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        cause: serde_json::Error,
    },
    /// A stored module's content does not match its name.
    #[error("{path}: stored module does not match its SHA-256 (damaged on disk)")]
    Damaged {
        /// The file.
        path: PathBuf,
    },
}

/// Where a deployment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The manifest's module file (at start, or after a rebuild under `up --watch`).
    Manifest,
    /// `PUT /functions/{name}` on the admin API.
    Admin,
}

impl Source {
    /// `manifest` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manifest => "manifest",
            Source::Admin => "admin",
        }
    }
}

/// One deployment of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Deployment number, increasing per function.
    pub id: u64,
    /// The module's version (first 12 hex digits of its SHA-256).
    pub version: String,
    /// The module's full SHA-256, in hex: the name of its file under `modules/`.
    pub sha256: String,
    /// When it was deployed, in milliseconds since the Unix epoch.
    pub deployed_at_ms: u64,
    /// Where it came from.
    pub source: Source,
    /// Settings it was deployed with; `None` means the manifest's (as they are now).
    pub settings: Option<StoredSettings>,
}

/// A function's deployments and which one is live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionRecord {
    /// Id of the live deployment.
    pub live: Option<u64>,
    /// Since when it is live, in milliseconds since the Unix epoch.
    pub live_since_ms: u64,
    /// SHA-256 (hex) of the manifest's module file when it was last loaded.
    pub manifest_sha256: Option<String>,
    /// Deployments that stages serve instead of the live one (`deploy --stage`), by
    /// stage.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub stage_pins: std::collections::BTreeMap<String, u64>,
    /// Deployments kept, oldest first.
    pub history: Vec<Deployment>,
}

impl FunctionRecord {
    /// The live deployment.
    pub fn live_deployment(&self) -> Option<&Deployment> {
        let live = self.live?;
        self.history.iter().find(|d| d.id == live)
    }

    /// Appends a deployment and makes it live; returns (a copy of) it.
    pub fn push(
        &mut self,
        version: String,
        sha256: String,
        source: Source,
        settings: Option<StoredSettings>,
    ) -> Deployment {
        let deployment = self.add(version, sha256, source, settings);
        self.live = Some(deployment.id);
        self.live_since_ms = deployment.deployed_at_ms;
        deployment
    }

    /// Appends a deployment without making it live (a stage's); returns it.
    pub fn add(
        &mut self,
        version: String,
        sha256: String,
        source: Source,
        settings: Option<StoredSettings>,
    ) -> Deployment {
        let id = self.history.last().map_or(1, |d| d.id + 1);
        let now = now_ms();
        let deployment = Deployment {
            id,
            version,
            sha256,
            deployed_at_ms: now,
            source,
            settings,
        };
        self.history.push(deployment.clone());
        deployment
    }

    /// Makes deployment `id` live.
    pub fn set_live(&mut self, id: u64) {
        self.live = Some(id);
        self.live_since_ms = now_ms();
    }

    /// Drops the oldest deployments beyond `keep`, never the live one nor one of a
    /// version in `pinned` (a stage serves it).
    pub fn prune(&mut self, keep: usize, pinned: &[&str]) {
        while self.history.len() > keep {
            let Some(oldest) = self.history.iter().position(|d| {
                Some(d.id) != self.live
                    && !pinned.contains(&d.version.as_str())
                    && !self.stage_pins.values().any(|&id| id == d.id)
            }) else {
                break;
            };
            self.history.remove(oldest);
        }
    }

    /// The newest kept deployment of `version` (a version, or a module's SHA-256).
    pub fn find(&self, version: &str) -> Option<&Deployment> {
        self.history
            .iter()
            .rev()
            .find(|d| d.version == version || d.sha256 == version)
    }
}

/// The deploy store of one Portico host.
#[derive(Debug, Clone)]
pub struct DeployStore {
    root: PathBuf,
}

impl DeployStore {
    /// The store under `root` (created as needed).
    /// Temporary files a crash left behind are removed.
    pub fn open(root: PathBuf) -> Result<DeployStore, StoreError> {
        for dir in ["modules", "functions", "artifacts"] {
            let path = root.join(dir);
            std::fs::create_dir_all(&path).map_err(|cause| StoreError::Io {
                path: path.clone(),
                cause,
            })?;
            crate::fs_atomic::remove_leftovers(&path);
        }
        Ok(DeployStore { root })
    }

    /// The store's root in data directory `data_dir`: `<data dir>/deploy`.
    pub fn root_in(data_dir: &Path) -> PathBuf {
        data_dir.join("deploy")
    }

    /// Where precompiled artifacts go.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.root.join("artifacts")
    }

    /// The artifacts directory of the store in `data_dir`, without opening the store
    /// (which would clean up temporary files a running host may be writing): for
    /// `portico invoke` and `portico build`, which share a host's artifacts. Artifacts
    /// are content-addressed and written atomically, so sharing is safe.
    pub fn artifacts_dir_in(data_dir: &Path) -> PathBuf {
        Self::root_in(data_dir).join("artifacts")
    }

    /// The audit log file.
    pub fn audit_path(&self) -> PathBuf {
        self.root.join("audit.log")
    }

    fn record_path(&self, function: &str) -> PathBuf {
        self.root.join("functions").join(format!("{function}.json"))
    }

    fn module_path(&self, sha256: &str) -> PathBuf {
        self.root.join("modules").join(format!("{sha256}.wasm"))
    }

    /// Function `function`'s record (empty if it was never deployed).
    pub fn read_record(&self, function: &str) -> Result<FunctionRecord, StoreError> {
        let path = self.record_path(function);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|cause| StoreError::Corrupt { path, cause })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FunctionRecord::default()),
            Err(cause) => Err(StoreError::Io { path, cause }),
        }
    }

    /// Replaces function `function`'s record, durably.
    pub fn write_record(&self, function: &str, record: &FunctionRecord) -> Result<(), StoreError> {
        let path = self.record_path(function);
        let json = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Io {
            path: path.clone(),
            cause: std::io::Error::other(e),
        })?;
        crate::fs_atomic::write(&path, &json).map_err(|cause| StoreError::Io { path, cause })
    }

    /// Stores a module under its SHA-256 (hex), durably; a module already there is kept.
    pub fn put_module(&self, sha256: &str, wasm: &[u8]) -> Result<(), StoreError> {
        let path = self.module_path(sha256);
        if path.exists() {
            return Ok(());
        }
        crate::fs_atomic::write(&path, wasm).map_err(|cause| StoreError::Io { path, cause })
    }

    /// Reads a stored module and checks it against its name.
    pub fn read_module(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.module_path(sha256);
        let wasm = std::fs::read(&path).map_err(|cause| StoreError::Io {
            path: path.clone(),
            cause,
        })?;
        if hex(&Sha256::digest(&wasm)) != sha256 {
            return Err(StoreError::Damaged { path });
        }
        Ok(wasm)
    }

    /// Deletes stored modules that no record on disk mentions, including records of
    /// functions no longer in the manifest (they may come back), and returns the SHA-256s
    /// kept. Best effort: failures are logged, and an unreadable record stops the sweep
    /// (`None`).
    pub fn collect_garbage(&self) -> Option<Vec<String>> {
        let functions = self.root.join("functions");
        let entries = std::fs::read_dir(&functions).ok()?;
        let mut keep: Vec<String> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(function) = name
                .to_string_lossy()
                .strip_suffix(".json")
                .map(String::from)
            else {
                continue;
            };
            match self.read_record(&function) {
                Ok(record) => keep.extend(record.history.into_iter().map(|d| d.sha256)),
                Err(e) => {
                    tracing::warn!("not removing old modules: {e}");
                    return None;
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir(self.root.join("modules")) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let Some(sha) = name.strip_suffix(".wasm") else {
                    continue;
                };
                if !keep.iter().any(|k| k == sha)
                    && let Err(e) = std::fs::remove_file(entry.path())
                {
                    tracing::warn!(path = %entry.path().display(), "cannot remove an old module: {e}");
                }
            }
        }
        Some(keep)
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// RFC 3339 text of a time in milliseconds since the Unix epoch.
pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_prune_keeps_the_live_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DeployStore::open(dir.path().to_path_buf()).expect("open");
        assert_eq!(
            store.read_record("f").expect("empty"),
            FunctionRecord::default()
        );
        let mut record = FunctionRecord::default();
        for n in 0..5 {
            record.push(format!("v{n}"), format!("{n:064}"), Source::Admin, None);
        }
        record.set_live(1);
        record.prune(2, &[]);
        let ids: Vec<u64> = record.history.iter().map(|d| d.id).collect();
        assert_eq!(ids, [1, 5], "the live deployment survives pruning");
        store.write_record("f", &record).expect("write");
        assert_eq!(store.read_record("f").expect("read"), record);
        // The next id keeps increasing after pruning.
        assert_eq!(
            record.push("v".into(), "x".into(), Source::Admin, None).id,
            6
        );
    }

    #[test]
    fn garbage_is_what_no_record_mentions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DeployStore::open(dir.path().to_path_buf()).expect("open");
        let sha = |m: &[u8]| hex(&Sha256::digest(m));
        for m in [&b"kept by f"[..], b"kept by g", b"orphan"] {
            store.put_module(&sha(m), m).expect("put");
        }
        for (f, m) in [("f", &b"kept by f"[..]), ("g", b"kept by g")] {
            let mut record = FunctionRecord::default();
            record.push("v".into(), sha(m), Source::Admin, None);
            store.write_record(f, &record).expect("write");
        }
        store.collect_garbage();
        assert!(store.read_module(&sha(b"kept by f")).is_ok());
        assert!(store.read_module(&sha(b"kept by g")).is_ok());
        assert!(store.read_module(&sha(b"orphan")).is_err());
    }

    #[test]
    fn modules_are_checked_against_their_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DeployStore::open(dir.path().to_path_buf()).expect("open");
        let sha = hex(&Sha256::digest(b"module"));
        store.put_module(&sha, b"module").expect("put");
        assert_eq!(store.read_module(&sha).expect("read"), b"module");
        std::fs::write(dir.path().join(format!("modules/{sha}.wasm")), b"damaged").expect("damage");
        assert!(matches!(
            store.read_module(&sha),
            Err(StoreError::Damaged { .. })
        ));
        std::fs::write(dir.path().join("functions/g.json"), b"{").expect("corrupt");
        let corrupt = store.read_record("g").unwrap_err();
        assert!(matches!(corrupt, StoreError::Corrupt { .. }), "{corrupt:?}");
        let missing = store.read_module(&"0".repeat(64)).unwrap_err();
        assert!(matches!(missing, StoreError::Io { .. }), "{missing:?}");
        for e in [corrupt, missing] {
            crate::manifest::assert_each_cause_once(&e);
            let deploy = super::super::DeployError::from(e);
            crate::manifest::assert_each_cause_once(&deploy);
        }
    }
}
