//! `portico up`: load the manifest's functions and serve them.

use crate::gateway::{Gateway, server};
use crate::manifest::Manifest;
use crate::runtime::{Runtime, RuntimeConfig};
use anyhow::Context as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

/// Builds (if asked), loads and serves until SIGINT or SIGTERM.
pub fn run(manifest: Manifest, listen: Option<SocketAddr>, build: bool) -> anyhow::Result<()> {
    if build {
        super::build_functions(&manifest)?;
    }
    let runtime = Arc::new(Runtime::new(&RuntimeConfig::from_manifest(&manifest))?);
    let gateway = Arc::new(Gateway::load(&manifest, runtime)?);
    for route in gateway.routes().routes() {
        tracing::info!(route = %route.key, function = route.value.name(), version = route.value.version(), "route");
    }
    let addr = listen.unwrap_or(manifest.server.listen);
    super::tokio_runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        // Tests and scripts read this line to find the port.
        let mut stdout = std::io::stdout();
        writeln!(stdout, "Portico listening on http://{bound}")?;
        stdout.flush()?;
        server::serve(gateway, listener, shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
