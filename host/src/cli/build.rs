//! `portico build`: run each function's build command, with progress, skipping those
//! whose inputs did not change (see [`super::build_cache`]), then precompile every
//! module into the artifacts `up` loads.

use super::build_cache::Entry;
use crate::manifest::{FunctionConfig, Manifest};
use anyhow::{Context as _, bail};
use std::process::Command;
use std::time::Instant;

/// The target Rust functions are built for.
const WASM_TARGET: &str = "wasm32-wasip2";

/// Runs every distinct build command of the manifest in the manifest's directory
/// (unless its inputs are unchanged since it last succeeded, or always with `force`),
/// then checks each function's module exists.
pub fn build_functions(manifest: &Manifest, force: bool) -> anyhow::Result<()> {
    let mut commands: Vec<(&str, Vec<&FunctionConfig>)> = Vec::new();
    for f in manifest.functions.values() {
        if let Some(cmd) = f.build.as_deref() {
            match commands.iter_mut().find(|(c, _)| *c == cmd) {
                Some((_, functions)) => functions.push(f),
                None => commands.push((cmd, vec![f])),
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
    let mut built = 0;
    for (i, (cmd, functions)) in commands.iter().enumerate() {
        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        let cache = Entry::new(manifest, cmd, functions)?;
        if !force && cache.as_ref().is_some_and(|c| c.fresh(functions)) {
            eprintln!(
                "[{}/{total}] {}: sources unchanged since the last build, skipped (`--force` builds anyway)",
                i + 1,
                names.join(", ")
            );
            continue;
        }
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
        if let Some(cache) = cache {
            cache.record(functions);
        }
        built += 1;
    }
    if built > 1 {
        eprintln!(
            "built {built} commands in {:.1}s",
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

/// Runs one function's build command (for `up --watch`), unless its inputs are
/// unchanged since it last succeeded; its output goes to stderr.
pub fn build_one(manifest: &Manifest, function: &str) -> anyhow::Result<()> {
    let Some((config, cmd)) = manifest
        .functions
        .get(function)
        .and_then(|f| f.build.as_deref().map(|cmd| (f, cmd)))
    else {
        return Ok(());
    };
    let functions = [config];
    let cache = Entry::new(manifest, cmd, &functions)?;
    if cache.as_ref().is_some_and(|c| c.fresh(&functions)) {
        tracing::info!(
            function,
            "sources unchanged since the last build: not rebuilt"
        );
        return Ok(());
    }
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
    if let Some(cache) = cache {
        cache.record(&functions);
    }
    tracing::info!(
        function,
        build_s = format_args!("{:.1}", started.elapsed().as_secs_f64()),
        "rebuilt"
    );
    Ok(())
}

/// Compiles every function's module into the precompiled artifacts `up` and `invoke`
/// load (`<data dir>/deploy/artifacts`), so that neither compiles at start. A module
/// whose artifact exists is only checked. A module that does not compile is reported
/// with the reason `up` would refuse it for; the build itself succeeded, so that is
/// not an error here.
pub fn precompile(manifest: &Manifest) -> anyhow::Result<()> {
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::new());
    let mut config = manifest.runtime_config();
    config.artifacts = Some(crate::deploy::DeployStore::artifacts_dir_in(
        &manifest.data.dir,
    ));
    let runtime = crate::runtime::Runtime::new(
        &config,
        super::capabilities(None, &metrics, &crate::sockets::Sockets::new(), None),
    )?;
    for f in manifest.functions.values() {
        let Ok(wasm) = std::fs::read(&f.module) else {
            continue;
        };
        let started = Instant::now();
        match runtime.load(f.spec(f.limits, f.environment.clone()), &wasm) {
            Ok(function) => eprintln!(
                "precompiled {} ({}) in {:.1}s",
                f.name,
                function.origin().as_str(),
                started.elapsed().as_secs_f64()
            ),
            Err(e) => eprintln!(
                "cannot precompile {} ({}): `up` will refuse it: {}",
                f.name,
                f.module.display(),
                super::report::error_chain(&anyhow::Error::from(e))
            ),
        }
    }
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
