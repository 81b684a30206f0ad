//! Builds the example functions (`examples/`, wasm32-wasip2) for tests and benches.
//! Included with `#[path]` by `tests/e2e` and `benches/hot_path.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Builds `examples/` once per process (incremental after the first time) and returns
/// the path of the component for example `name`.
pub fn example_component(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    BUILT.get_or_init(|| {
        // An explicit target dir keeps the paths in the example manifests valid whatever
        // CARGO_TARGET_DIR says.
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(examples.join("target"))
            .arg("--manifest-path")
            .arg(examples.join("Cargo.toml"))
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the examples failed");
    });
    let path = examples.join(format!("target/wasm32-wasip2/release/{name}.wasm"));
    assert!(path.exists(), "{} missing after build", path.display());
    path
}
