//! Skipping builds whose inputs did not change.
//!
//! A build command's inputs are the command itself and every file under the `watch`
//! paths of the functions it builds (path and contents, in path order). After a build
//! succeeds, their digest and the SHA-256 of each module it produced are recorded in
//! `<data dir>/build/<command digest>.json`. A later build is skipped when the inputs
//! hash the same and every module is still the file that build produced: a toolchain
//! whose output differs on every build (componentize-js, componentize-py) then does
//! not turn an unchanged source into a new version, and the artifact cache keeps
//! hitting.
//!
//! What is not under `watch` is not an input: a command with a function that has no
//! `watch` paths always runs, and `--force` runs every command.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::manifest::{FunctionConfig, Manifest};
use crate::runtime::hex;

/// Directory names never hashed under a `watch` path: build outputs and caches, which
/// change with every build and are not sources.
const SKIPPED_DIRS: [&str; 5] = ["target", "node_modules", "__pycache__", ".git", ".portico"];

/// What a successful build left: its inputs' digest, and each module's SHA-256.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    inputs: String,
    modules: Vec<(PathBuf, String)>,
}

/// One build command's place in the cache.
pub struct Entry {
    path: PathBuf,
    inputs: String,
}

impl Entry {
    /// The cache entry of `command`, building `functions`; `None` when a function has
    /// no `watch` paths (its inputs are unknown, so it always builds).
    ///
    /// # Errors
    /// A `watch` path that cannot be read.
    pub fn new(
        manifest: &Manifest,
        command: &str,
        functions: &[&FunctionConfig],
    ) -> anyhow::Result<Option<Entry>> {
        if functions.iter().any(|f| f.watch.is_empty()) {
            return Ok(None);
        }
        let mut hasher = Sha256::new();
        hasher.update(command.as_bytes());
        let mut files = Vec::new();
        for f in functions {
            for root in &f.watch {
                collect(root, &mut files)?;
            }
        }
        files.sort();
        files.dedup();
        for file in &files {
            let bytes = std::fs::read(file).map_err(|e| {
                anyhow::anyhow!("cannot read {} (a `watch` source): {e}", file.display())
            })?;
            hasher.update(file.to_string_lossy().as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        let command_digest = hex(&Sha256::digest(command.as_bytes())[..8]);
        Ok(Some(Entry {
            path: manifest
                .data
                .dir
                .join("build")
                .join(format!("{command_digest}.json")),
            inputs: hex(&hasher.finalize()),
        }))
    }

    /// Whether the last build of this command had these inputs and its modules are
    /// still the files it produced.
    pub fn fresh(&self, functions: &[&FunctionConfig]) -> bool {
        let Ok(text) = std::fs::read(&self.path) else {
            return false;
        };
        let Ok(record) = serde_json::from_slice::<Record>(&text) else {
            return false;
        };
        record.inputs == self.inputs
            && functions.iter().all(|f| {
                record.modules.iter().any(|(path, sha)| {
                    *path == f.module && module_sha(&f.module).as_deref() == Some(sha)
                })
            })
    }

    /// Records a successful build of `functions`. A failure to write only costs the
    /// next build its skip, so it is logged, not returned.
    pub fn record(&self, functions: &[&FunctionConfig]) {
        let modules = functions
            .iter()
            .filter_map(|f| module_sha(&f.module).map(|sha| (f.module.clone(), sha)))
            .collect();
        let record = Record {
            inputs: self.inputs.clone(),
            modules,
        };
        let written = serde_json::to_vec_pretty(&record)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                crate::fs_atomic::write(&self.path, &bytes)
            });
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), "cannot record the build: {e}");
        }
    }
}

fn module_sha(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|bytes| hex(&Sha256::digest(bytes)))
}

/// Every file under `root` (or `root` itself), skipping [`SKIPPED_DIRS`].
fn collect(root: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let meta = std::fs::metadata(root)
        .map_err(|e| anyhow::anyhow!("cannot read {} (a `watch` path): {e}", root.display()))?;
    if meta.is_file() {
        out.push(root.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(root)
        .map_err(|e| anyhow::anyhow!("cannot list {} (a `watch` path): {e}", root.display()))?;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let skipped = entry
                .file_name()
                .to_str()
                .is_some_and(|n| SKIPPED_DIRS.contains(&n));
            if !skipped {
                collect(&path, out)?;
            }
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::collect;

    #[test]
    fn collects_sources_and_skips_build_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::create_dir_all(root.join("node_modules/x")).unwrap();
        std::fs::create_dir_all(root.join("target/release")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "a").unwrap();
        std::fs::write(root.join("src/deep/mod.rs"), "b").unwrap();
        std::fs::write(root.join("node_modules/x/index.js"), "c").unwrap();
        std::fs::write(root.join("target/release/x.wasm"), "d").unwrap();
        let mut files = Vec::new();
        collect(root, &mut files).unwrap();
        files.sort();
        assert_eq!(
            files,
            vec![root.join("src/deep/mod.rs"), root.join("src/lib.rs")]
        );
    }
}
