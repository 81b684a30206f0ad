//! `portico invoke`: one event through the real request path, no server.
//!
//! A recorded event is replayed as it happened: its request id, time, stage, stage
//! variables, source IP, domain, user agent, authorizer output and API key id are the
//! function's (the route's authorizer and API-key check do not run again when the
//! event carries their output), a named stage's prefix in `rawPath` is not routed on,
//! and the answer is printed in the event's payload format. `--fresh-context` makes it
//! a new request instead: a fresh id, now, the manifest's stage, every policy run, and
//! the answer in payload 2.0.

use crate::exchange::PayloadVersion;
use crate::gateway::payload::{parse_event, response_json};
use crate::manifest::Manifest;
use crate::metrics::Metrics;
use anyhow::Context as _;
use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

/// Reads the event, dispatches it, prints the response on stdout (see the module docs).
pub fn run(manifest: &Manifest, event: &Path, fresh_context: bool) -> anyhow::Result<()> {
    let json = if event == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the event from stdin")?;
        buf
    } else {
        std::fs::read(event)
            .with_context(|| format!("cannot read event file {}", event.display()))?
    };
    let parsed = parse_event(&json).with_context(|| format!("{}", event.display()))?;
    let (mut request, mut version) = (parsed.request, parsed.version);
    if fresh_context {
        request.replay = None;
        request.authorizer = None;
        request.request_id = crate::gateway::new_request_id().into();
        version = PayloadVersion::V2;
    }
    // With tables on the embedded store, the store is opened: held until the end.
    let _lock = super::lock_embedded_store(manifest, "invoke")?;
    let payload = super::tokio_runtime()?.block_on(async {
        let metrics = Arc::new(Metrics::new());
        // The host's precompiled artifacts, shared: a module `up` or `build` compiled
        // before is not compiled again.
        let artifacts = crate::deploy::DeployStore::artifacts_dir_in(&manifest.data.dir);
        let opened = super::runtime_for(manifest, &metrics, None, Some(artifacts)).await?;
        // Only what this event needs is loaded: its route's function and authorizer.
        let needed = needed_functions(manifest, &request.method, &request.path);
        let gateway = crate::deploy::load_gateway_for(
            manifest,
            Some(&needed),
            opened.runtime,
            metrics,
            opened.api_keys,
            opened.sockets,
        )
        .await?;
        let response = gateway.dispatch(request).await;
        let body = response
            .body
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("the response body failed: {e}"))?;
        Ok::<_, anyhow::Error>(response_json(
            version,
            response.status,
            &response.headers,
            &body,
        )?)
    })?;
    println!("{}", serde_json::to_string_pretty(&payload)?);
    Ok(())
}

/// The functions a request to `method path` can run: the function of each route it
/// matches — with the path as given and with its first segment taken as a stage
/// prefix, since which applies is the gateway's to decide — and each such route's
/// custom authorizer's function.
fn needed_functions(manifest: &Manifest, method: &http::Method, path: &str) -> BTreeSet<String> {
    let unprefixed = path
        .strip_prefix('/')
        .and_then(|p| p.find('/').map(|i| &p[i..]));
    let mut needed = BTreeSet::new();
    for candidate in std::iter::once(path).chain(unprefixed) {
        let Some(found) = manifest.routes.at(method, candidate) else {
            continue;
        };
        needed.extend(found.route.value.functions().map(str::to_owned));
    }
    needed
}
