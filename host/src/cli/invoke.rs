//! `portico invoke`: one event through the real request path, no server.

use crate::gateway::payload::{ResponsePayload, parse_event};
use crate::manifest::Manifest;
use crate::metrics::Metrics;
use anyhow::Context as _;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

/// Reads the event, dispatches it, prints the payload-2.0 response on stdout.
pub fn run(manifest: &Manifest, event: &Path) -> anyhow::Result<()> {
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
    let request = parse_event(&json).with_context(|| format!("{}", event.display()))?;
    // With tables on the embedded store, the store is opened: held until the end.
    let _lock = super::lock_embedded_store(manifest, "invoke")?;
    let payload = super::tokio_runtime()?.block_on(async {
        let metrics = Arc::new(Metrics::new());
        let opened = super::runtime_for(manifest, &metrics, None).await?;
        let gateway =
            crate::deploy::load_gateway(manifest, opened.runtime, metrics, opened.api_keys).await?;
        let response = gateway.dispatch(request).await;
        let body = response
            .body
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("the response body failed: {e}"))?;
        anyhow::Ok(ResponsePayload::new(
            response.status,
            &response.headers,
            &body,
        ))
    })?;
    println!("{}", serde_json::to_string_pretty(&payload)?);
    Ok(())
}
