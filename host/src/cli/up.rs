//! `portico up`: load the manifest's functions and serve them, with the admin API beside
//! (and, with `--watch`, rebuild and hot-swap on changes).

use crate::admin::{Admin, AdminToken};
use crate::deploy::{DeployStore, Deployer};
use crate::gateway::body_budget::BodyBudget;
use crate::gateway::server;
use crate::http_server::{ConnectionLimits, Listening, fds};
use crate::manifest::Manifest;
use crate::metrics::Metrics;
use anyhow::Context as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Shares this host's WebSocket connections with the other hosts recording theirs in
/// `directory`: they reach this one at `peer_url` (or its admin address), with the
/// credential derived from the admin token — without one, it shares nothing.
fn join_peers(
    sockets: &crate::sockets::Sockets,
    directory: crate::sockets::directory::Directory,
    token: Option<&AdminToken>,
    peer_url: Option<String>,
    admin_addr: SocketAddr,
) -> anyhow::Result<()> {
    let Some(token) = token else {
        tracing::warn!(
            "WebSocket connections are not shared with other hosts on this DynamoDB: that needs the admin token ({}) the hosts share",
            crate::admin::ADMIN_TOKEN_ENV
        );
        return Ok(());
    };
    let me = peer_url.unwrap_or_else(|| {
        let mut addr = admin_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        if addr.ip().is_loopback() {
            tracing::info!(
                "other hosts reach this host's WebSocket connections at http://{addr}, on this machine only; set server.peer_url for hosts elsewhere"
            );
        }
        format!("http://{addr}")
    });
    let peers = crate::sockets::peer::PeerClient::new(token.peer_credential().clone())
        .context("cannot make the client for other hosts")?;
    sockets.join(crate::sockets::Remote::new(directory, &me, peers));
    tracing::info!(peer_url = %me, "WebSocket connections shared with the other hosts on this DynamoDB");
    Ok(())
}

/// On the embedded store (this host's alone), the deliveries its last run left leased
/// — cut short by a crash — come due at once rather than when their leases end.
async fn recover_leases(topics: &crate::topics::Topics) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    match topics.queue().recover_leases(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            target: "portico::topics",
            deliveries = n,
            "deliveries cut short by the last run's end are due again"
        ),
        Err(e) => tracing::warn!(
            target: "portico::topics",
            "cannot look for deliveries the last run left leased (they come due when their leases end): {e}"
        ),
    }
}

/// Starts the topics' delivery workers (that each subscriber is one, the served
/// functions were checked for when they loaded).
fn start_delivery(
    topics: &Arc<crate::topics::Topics>,
    gateway: &Arc<crate::gateway::Gateway>,
    stop: &tokio_util::sync::CancellationToken,
) -> tokio::task::JoinSet<()> {
    let lookup_gateway = Arc::clone(gateway);
    let lookup: crate::topics::delivery::Lookup =
        Arc::new(move |name: &str| lookup_gateway.served().functions.get(name).cloned());
    crate::topics::delivery::start(topics, gateway.runtime(), &lookup, stop)
}

/// Builds (if asked), loads and serves until SIGINT or SIGTERM.
pub fn run(
    manifest: Manifest,
    listen: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
    build: bool,
    watch: bool,
) -> anyhow::Result<()> {
    // First of all, before the deploy store or the embedded store is touched (and before
    // a build): the data directory is this host's until it exits.
    let mut lock = super::lock::DataDirLock::acquire(&manifest.data.dir, "up")?;
    if build {
        super::build_functions(&manifest, false)?;
    }
    let addr = listen.unwrap_or(manifest.server.listen);
    let admin_addr = admin_listen.unwrap_or(manifest.server.admin_listen);
    super::tokio_runtime()?.block_on(async move {
        let metrics = Arc::new(Metrics::new());
        let store = DeployStore::open(DeployStore::root_in(&manifest.data.dir))
            .context("cannot open the deploy store")?;
        let super::Opened {
            runtime,
            api_keys,
            sockets,
            directory,
            topics,
        } =
            super::runtime_for(&manifest, &metrics, Some(&store), None).await?;
        let token = AdminToken::resolve(manifest.server.admin_token.as_deref());
        let manifest_path = manifest.path.clone();
        let peer_url = manifest.server.peer_url.clone();
        let manifest_backend = manifest.data.backend;
        let limits = server::RequestLimits {
            max_header_bytes: manifest.server.max_header_bytes,
            body_timeout: manifest.server.body_timeout,
            body_budget: BodyBudget::new(manifest.server.max_body_bytes_in_flight),
        };
        let public_listening = public_listening(&manifest, &metrics);
        let admin_listening = Listening {
            name: "admin",
            limits: ConnectionLimits::admin(),
            stats: metrics.connections("admin"),
        };
        let deployer = Arc::new(
            Deployer::start(
                manifest,
                store,
                runtime,
                metrics,
                api_keys.clone(),
                Arc::clone(&sockets),
            )
            .await?,
        );
        let gateway = Arc::clone(deployer.gateway());
        let stop_delivery = tokio_util::sync::CancellationToken::new();
        let mut delivery = match &topics {
            Some(topics) => {
                if manifest_backend == crate::manifest::BackendKind::Embedded {
                    recover_leases(topics).await;
                }
                Some(start_delivery(topics, &gateway, &stop_delivery))
            }
            None => None,
        };
        for route in gateway.served().stage().routes.routes() {
            let policies = route.value.policies.names();
            match route.value.function() {
                Some(function) => {
                    tracing::info!(route = %route.text, function = function.name(), version = function.version(), kind = function.kind().as_str(), ?policies, "route");
                }
                None => {
                    tracing::info!(route = %route.text, integration = %route.value.spec.describe(), ?policies, "route");
                }
            }
        }
        if gateway.served().stage().routes.routes().is_empty() {
            tracing::warn!(
                manifest = %manifest_path.display(),
                "nothing is served: the manifest has no routes, so every request gets 404; add a function and a route to it, e.g. `[functions.hello]` with `module = \"hello.wasm\"`, and `[routes]` with `\"GET /hello\" = \"hello\"`"
            );
        }
        if token.is_none() {
            tracing::info!(
                "admin API: no token configured ({}), so deploys and rollbacks through it are off",
                crate::admin::ADMIN_TOKEN_ENV
            );
        }
        let listener = bind(addr, "listen").await?;
        let admin_listener = bind(admin_addr, "admin-listen").await?;
        if !admin_addr.ip().is_loopback() {
            tracing::warn!(
                "the admin API listens on {admin_addr}, beyond loopback, in clear text: its token and deploys cross the network unencrypted; put TLS in front of it or keep it on 127.0.0.1"
            );
        }
        lock.serving(listener.local_addr()?, admin_listener.local_addr()?);
        if let Some(directory) = directory {
            join_peers(
                &sockets,
                directory,
                token.as_ref(),
                peer_url,
                admin_listener.local_addr()?,
            )?;
        }
        // Tests and scripts read these lines to find the ports.
        let mut stdout = std::io::stdout();
        writeln!(
            stdout,
            "Portico listening on http://{}",
            listener.local_addr()?
        )?;
        writeln!(
            stdout,
            "Portico admin listening on http://{}",
            admin_listener.local_addr()?
        )?;
        stdout.flush()?;

        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        if watch {
            super::watch::spawn(Arc::clone(&deployer), manifest_path, stopped.clone())?;
        }
        let public = server::serve(
            gateway,
            listener,
            limits,
            public_listening,
            until_stopped(stopped.clone()),
        );
        let admin = Arc::new(Admin::new(deployer, token).with_topics(topics.clone()));
        let admin = crate::admin::serve(
            admin,
            admin_listener,
            admin_listening,
            until_stopped(stopped),
        );
        let signal = async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        };
        let (public, admin, ()) = tokio::join!(public, admin, signal);
        // Deliveries in flight finish (within the grace); what is left is redelivered
        // when its lease ends.
        stop_delivery.cancel();
        if let Some(workers) = delivery.take() {
            let _ = tokio::time::timeout(crate::http_server::SHUTDOWN_GRACE, workers.join_all()).await;
        }
        // Open WebSocket connections are told the server is going away (1001), and
        // their `$disconnect` runs, within the same grace as in-flight requests.
        sockets.close_all(crate::http_server::SHUTDOWN_GRACE).await;
        // Counted API key requests not yet written reach the store before exit.
        if let Some(keys) = api_keys {
            keys.flush().await;
        }
        public?;
        admin?;
        Ok(())
    })
}

/// The public listener's connection limits: the manifest's, with the cap sized from
/// the open-files limit (raised to its hard limit first) when the manifest sets none.
fn public_listening(manifest: &Manifest, metrics: &Metrics) -> Listening {
    let nofile = fds::raise_fd_limit();
    let max_connections = manifest
        .server
        .max_connections
        .unwrap_or_else(|| fds::default_max_connections(nofile));
    tracing::info!(
        max_connections,
        open_files_limit = nofile,
        "public connections"
    );
    Listening {
        name: "public",
        limits: ConnectionLimits {
            max_connections,
            header_timeout: manifest.server.header_timeout,
            idle_timeout: manifest.server.idle_timeout,
        },
        stats: metrics.connections("public"),
    }
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (--{what})"))
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
