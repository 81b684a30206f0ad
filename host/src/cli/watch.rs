//! `portico up --watch`: the dev loop. Watches the manifest, every function's module file
//! and its `watch` sources; after a burst of changes settles ([`DEBOUNCE`]), rebuilds the
//! functions whose sources changed and reloads the manifest through the deployer, which
//! hot-swaps whatever changed. An invalid manifest or a failed build is logged and the
//! old configuration keeps serving.

use crate::deploy::{Actor, Deployer};
use crate::manifest::Manifest;
use notify::{RecursiveMode, Watcher as _};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time after the last change before acting on a burst of changes.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Starts watching in the background until `stopped` turns true.
pub fn spawn(
    deployer: Arc<Deployer>,
    manifest_path: PathBuf,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if !event.kind.is_access() => {
                tracing::debug!(kind = ?event.kind, paths = ?event.paths, "file event");
                for path in event.paths {
                    let _ = tx.send(path);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("file watcher: {e}"),
        })?;
    // Loaded as given (so relative paths resolve as they did at start), matched absolute.
    let manifest_abs = std::path::absolute(&manifest_path)?;
    tokio::spawn(async move {
        let mut watched = BTreeSet::new();
        let manifest = deployer.manifest().await;
        watch_paths(&mut watcher, &mut watched, &manifest_abs, &manifest);
        tracing::info!(paths = watched.len(), "watching for changes");
        loop {
            let manifest = deployer.manifest().await;
            let relevant = |p: &PathBuf| is_relevant(p, &manifest_abs, &manifest);
            // Wait for a relevant change (other files in watched directories, such as a
            // log, are ignored), then until none came for DEBOUNCE.
            let mut changed = Vec::new();
            while changed.is_empty() {
                let path = tokio::select! {
                    path = rx.recv() => path,
                    _ = stopped.wait_for(|s| *s) => None,
                };
                let Some(path) = path else { return };
                if relevant(&path) {
                    changed.push(path);
                }
            }
            let mut quiet_at = tokio::time::Instant::now() + DEBOUNCE;
            while let Ok(Some(path)) = tokio::time::timeout_at(quiet_at, rx.recv()).await {
                if relevant(&path) {
                    changed.push(path);
                    quiet_at = tokio::time::Instant::now() + DEBOUNCE;
                }
            }
            tracing::debug!(?changed, "changes");
            let (next, rebuild) = plan(&manifest_path, &manifest_abs, &manifest, &changed);
            let next = match next {
                Some(Ok(next)) => next,
                Some(Err(e)) => {
                    tracing::error!(
                        "the manifest changed but is invalid; the old configuration keeps serving: {}",
                        super::report::error_chain(&e)
                    );
                    manifest
                }
                None => manifest,
            };
            for function in rebuild {
                let m = next.clone();
                let f = function.clone();
                match tokio::task::spawn_blocking(move || super::build_one(&m, &f)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(
                        function,
                        "{}; the old version keeps serving",
                        super::report::error_chain(&e)
                    ),
                    Err(e) => tracing::error!(function, "build task failed: {e}"),
                }
            }
            // Events that arrived meanwhile (the build's own output among them) are not
            // dropped: the next round reloads again, which swaps only what changed.
            match deployer.reload(next.clone(), &Actor::Watch).await {
                Ok(changes) if changes.is_empty() => tracing::info!("reloaded: nothing to swap"),
                Ok(changes) => {
                    for (function, from, to) in changes {
                        tracing::info!(function, from = from.as_deref(), to, "hot-swapped");
                    }
                }
                Err(e) => {
                    tracing::error!(
                        "reload refused; the old configuration keeps serving: {}",
                        super::report::error_chain(&e)
                    );
                }
            }
            watch_paths(&mut watcher, &mut watched, &manifest_abs, &next);
        }
    });
    Ok(())
}

/// Whether a change at `path` matters: the manifest, a module file, or a `watch` source.
fn is_relevant(path: &Path, manifest_abs: &Path, manifest: &Manifest) -> bool {
    path == manifest_abs
        || manifest.functions.values().any(|f| {
            path == absolute(&f.module) || f.watch.iter().any(|w| path.starts_with(absolute(w)))
        })
}

/// The manifest to apply (if the manifest file changed) and the functions to rebuild.
fn plan(
    manifest_path: &Path,
    manifest_abs: &Path,
    manifest: &Manifest,
    changed: &[PathBuf],
) -> (Option<anyhow::Result<Manifest>>, Vec<String>) {
    let next = changed
        .iter()
        .any(|p| p == manifest_abs)
        .then(|| super::load(manifest_path));
    let sources = next
        .as_ref()
        .and_then(|n| n.as_ref().ok())
        .unwrap_or(manifest);
    let rebuild = sources
        .functions
        .values()
        .filter(|f| f.build.is_some())
        .filter(|f| {
            changed.iter().any(|p| {
                f.watch.iter().any(|w| p.starts_with(absolute(w)))
                    // The build's own output never triggers another build.
                    && !f.module.parent().is_some_and(|m| p.starts_with(absolute(m)))
            })
        })
        .map(|f| f.name.clone())
        .collect();
    (next, rebuild)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Watches the manifest's directory, each module's directory and each `watch` path, once.
fn watch_paths(
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut BTreeSet<PathBuf>,
    manifest_path: &Path,
    manifest: &Manifest,
) {
    let mut wanted: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    if let Some(dir) = manifest_path.parent() {
        wanted.push((dir.to_path_buf(), RecursiveMode::NonRecursive));
    }
    for f in manifest.functions.values() {
        if let Some(dir) = f.module.parent() {
            wanted.push((absolute(dir), RecursiveMode::NonRecursive));
        }
        wanted.extend(
            f.watch
                .iter()
                .map(|w| (absolute(w), RecursiveMode::Recursive)),
        );
    }
    for (path, mode) in wanted {
        if watched.contains(&path) {
            continue;
        }
        match watcher.watch(&path, mode) {
            Ok(()) => {
                watched.insert(path);
            }
            Err(e) => tracing::warn!(path = %path.display(), "cannot watch: {e}"),
        }
    }
}
