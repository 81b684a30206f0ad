//! `portico build`: run each function's build command, with progress.

use crate::manifest::Manifest;
use anyhow::{Context as _, bail};
use std::process::Command;
use std::time::Instant;

/// The target Rust functions are built for.
const WASM_TARGET: &str = "wasm32-wasip2";

/// Runs every distinct build command of the manifest in the manifest's directory, then
/// checks each function's module exists.
pub fn build_functions(manifest: &Manifest) -> anyhow::Result<()> {
    let mut commands: Vec<(&str, Vec<&str>)> = Vec::new();
    for f in manifest.functions.values() {
        if let Some(cmd) = f.build.as_deref() {
            match commands.iter_mut().find(|(c, _)| *c == cmd) {
                Some((_, names)) => names.push(&f.name),
                None => commands.push((cmd, vec![&f.name])),
            }
        }
    }
    if commands.is_empty() {
        eprintln!(
            "nothing to build: no function in {} has a `build` command",
            manifest.path.display()
        );
        return Ok(());
    }
    if commands.iter().any(|(c, _)| c.contains(WASM_TARGET)) {
        ensure_wasm_target()?;
    }
    let total = commands.len();
    let all_started = Instant::now();
    for (i, (cmd, names)) in commands.iter().enumerate() {
        eprintln!("[{}/{total}] building {}: {cmd}", i + 1, names.join(", "));
        let started = Instant::now();
        let status = shell(cmd)
            .current_dir(&manifest.dir)
            .status()
            .with_context(|| format!("cannot run build command `{cmd}`"))?;
        if !status.success() {
            bail!(
                "build of {} failed ({status}): `{cmd}` in {}",
                names.join(", "),
                manifest.dir.display()
            );
        }
        eprintln!(
            "[{}/{total}] built {} in {:.1}s",
            i + 1,
            names.join(", "),
            started.elapsed().as_secs_f64()
        );
    }
    if total > 1 {
        eprintln!(
            "built {total} commands in {:.1}s",
            all_started.elapsed().as_secs_f64()
        );
    }
    for f in manifest.functions.values() {
        if f.build.is_some() && !f.module.exists() {
            bail!(
                "function `{}`: the build command succeeded but {} does not exist; check `module` in {}",
                f.name,
                f.module.display(),
                manifest.path.display()
            );
        }
    }
    Ok(())
}

/// Runs one function's build command (for `up --watch`); its output goes to stderr.
pub fn build_one(manifest: &Manifest, function: &str) -> anyhow::Result<()> {
    let Some(cmd) = manifest
        .functions
        .get(function)
        .and_then(|f| f.build.as_deref())
    else {
        return Ok(());
    };
    let started = Instant::now();
    let status = shell(cmd)
        .current_dir(&manifest.dir)
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot run build command `{cmd}`"))?;
    if !status.success() {
        bail!(
            "build of {function} failed ({status}): `{cmd}` in {}",
            manifest.dir.display()
        );
    }
    tracing::info!(
        function,
        build_s = format_args!("{:.1}", started.elapsed().as_secs_f64()),
        "rebuilt"
    );
    Ok(())
}

fn shell(cmd: &str) -> Command {
    if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.args(["/C", cmd]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", cmd]);
        c
    }
}

/// Adds the wasm32-wasip2 target with rustup when it is missing.
fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => bail!(
            "`rustup target list --installed` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // No rustup: the toolchain may still have the target (e.g. a distro Rust).
            eprintln!(
                "rustup not found; if the build fails for lack of the {WASM_TARGET} target, install it with: rustup target add {WASM_TARGET}"
            );
            return Ok(());
        }
        Err(e) => return Err(e).context("cannot run rustup"),
    };
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    eprintln!("adding the {WASM_TARGET} target: rustup target add {WASM_TARGET}");
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .context("cannot run rustup")?;
    if !status.success() {
        bail!("`rustup target add {WASM_TARGET}` failed ({status}); run it yourself and retry");
    }
    Ok(())
}
