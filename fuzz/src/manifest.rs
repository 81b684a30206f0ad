//! Manifests (`portico.toml`).

use portico::manifest::{Manifest, ManifestError};
use std::path::Path;

/// Parses the input as a manifest.
///
/// # Panics
/// When a manifest is refused without pointing at the file and at a line and column
/// inside it (the promise of [`ManifestError`]: "names file, line and key").
pub fn manifest(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz/portico.toml");
    match Manifest::parse(path, source) {
        Ok(manifest) => {
            // What the host derives from a manifest at start must not panic either.
            let _ = manifest.route_list();
            let _ = manifest.runtime_config();
            let _ = manifest.largest_memory();
        }
        Err(ManifestError::Invalid {
            path: at,
            line,
            column,
            key,
            message,
        }) => {
            assert_eq!(at, path);
            let lines = source.lines().count().max(1);
            // One past the last line: an error at the very end of a file that ends in a
            // newline.
            assert!(
                (1..=lines + 1).contains(&line),
                "line {line} of a {lines}-line manifest: {key}: {message}"
            );
            assert!(column >= 1, "column {column}: {key}: {message}");
            assert!(!key.is_empty(), "no key: {message}");
            assert!(!message.is_empty(), "no message at {key}");
        }
        Err(other @ ManifestError::Read { .. }) => panic!("parse read a file: {other}"),
    }
}
