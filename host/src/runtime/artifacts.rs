//! Precompiled components on disk, so a restart skips compilation.
//!
//! An artifact is named by the module's SHA-256 and a key of everything that makes
//! compiled code compatible (wasmtime's version and the engine's settings, from
//! [`Engine::precompile_compatibility_hash`]). The file holds the SHA-256 of the
//! serialised component followed by the component itself. Loading checks that digest
//! before handing the bytes to [`Component::deserialize`] (which trusts its input), and
//! wasmtime checks its own version and settings header: a stale, truncated or corrupt
//! artifact is recompiled and rewritten, never run.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Length of the digest that starts every artifact file.
const DIGEST_LEN: usize = 32;

/// A directory of precompiled components for one engine configuration.
#[derive(Debug, Clone)]
pub struct Artifacts {
    dir: PathBuf,
    engine_key: String,
}

impl Artifacts {
    /// Artifacts for `engine`, stored in `dir` (created on first store).
    pub fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let digest = hasher.0.finalize();
        let engine_key = hex(&digest[..8]);
        Artifacts { dir, engine_key }
    }

    /// The file that holds the artifact of the module whose SHA-256 is `module`.
    fn path(&self, module: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", hex(module), self.engine_key))
    }

    /// The precompiled component for `module`, if a sound artifact exists. Problems are
    /// logged and answered with `None`: the caller compiles instead.
    #[allow(unsafe_code, reason = "Component::deserialize; see the SAFETY comment")]
    pub fn load(&self, engine: &Engine, module: &[u8; 32]) -> Option<Component> {
        let path = self.path(module);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read precompiled artifact, compiling instead: {e}");
                return None;
            }
        };
        let Some((digest, body)) = bytes.split_first_chunk::<DIGEST_LEN>() else {
            tracing::warn!(path = %path.display(), "precompiled artifact is truncated, compiling instead");
            return None;
        };
        if Sha256::digest(body).as_slice() != digest {
            tracing::warn!(path = %path.display(), "precompiled artifact is corrupt (digest mismatch), compiling instead");
            return None;
        }
        // SAFETY: `body` is exactly what `Component::serialize` produced for an engine
        // with this compatibility key (the key is in the file name), and its SHA-256
        // matches the one written with it, so it is neither corrupt nor truncated.
        // wasmtime also checks its version and engine settings in the artifact's header.
        // Whoever can write the data directory can already replace the modules, so the
        // digest guards against damage, not against that writer.
        match unsafe { Component::deserialize(engine, body) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "precompiled artifact does not fit this engine, compiling instead: {e:#}");
                None
            }
        }
    }

    /// Stores `component` as the artifact of `module`. Failures are logged: the cache is
    /// an optimisation, never a reason to refuse a module.
    pub fn store(&self, module: &[u8; 32], component: &Component) {
        let path = self.path(module);
        let result = component
            .serialize()
            .map_err(|e| std::io::Error::other(format!("{e:#}")))
            .and_then(|body| {
                let mut bytes = Vec::with_capacity(DIGEST_LEN + body.len());
                bytes.extend_from_slice(&Sha256::digest(&body));
                bytes.extend_from_slice(&body);
                crate::fs_atomic::write(&path, &bytes)
            });
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), "cannot store precompiled artifact: {e}");
        }
    }

    /// Deletes the artifacts of modules whose SHA-256 (hex) is not in `keep`, for this
    /// engine and any other.
    pub fn retain(&self, keep: &[String]) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Some((module, _engine)) = name
                .strip_suffix(".cwasm")
                .and_then(|stem| stem.split_once('-'))
            else {
                continue;
            };
            if !keep.iter().any(|k| k == module) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The directory artifacts live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Feeds [`Hash`] output into SHA-256, which (unlike `DefaultHasher`) is stable across
/// Rust releases.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_keeps_the_artifacts_of_kept_modules_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let artifacts = Artifacts::new(dir.path().to_path_buf(), &engine);
        let kept = [1u8; 32];
        let dropped = [2u8; 32];
        for module in [&kept, &dropped] {
            std::fs::write(artifacts.path(module), b"artifact").expect("write");
        }
        std::fs::write(dir.path().join("unrelated.txt"), b"x").expect("write");
        artifacts.retain(&[hex(&kept)]);
        assert!(artifacts.path(&kept).exists());
        assert!(!artifacts.path(&dropped).exists());
        assert!(dir.path().join("unrelated.txt").exists());
        // A damaged artifact is refused, not deserialised.
        assert!(artifacts.load(&engine, &kept).is_none());
    }
}
