//! A hyper server loop shared by the public gateway and the admin listener: HTTP/1.1 and
//! HTTP/2 (cleartext) on one listener, with the limits that keep one client from taking
//! the host down, and graceful shutdown.
//!
//! What a connection may do ([`ConnectionLimits`]):
//! - **Cap.** At most `max_connections` are open; past it a new connection is closed at
//!   once (counted as `refused`) rather than left in the kernel's backlog, so the others
//!   keep their descriptors and the admin listener (its own cap) stays reachable.
//! - **First request.** A client must send a whole request head within
//!   `header_timeout` of being accepted; a connection that sends nothing, or only
//!   HTTP/2's preface, is closed then.
//! - **Idle.** A connection with no request in flight for `idle_timeout` is closed
//!   (HTTP/1 keep-alive, and HTTP/2, which has no idle timeout of its own). A request
//!   is in flight from its head until its response body ends, so a long streaming
//!   response is never cut. An HTTP/1 connection is closed sooner if `header_timeout`
//!   is shorter: hyper starts the head timer when it starts waiting for the next
//!   request.
//! - **Heads.** hyper's own `header_read_timeout` bounds a head that starts but does
//!   not finish (slowloris); HTTP/2 pings every [`HTTP2_KEEP_ALIVE_INTERVAL`] find dead
//!   peers.
//!
//! Request bodies are bounded by the gateway (`gateway::server`), which knows the
//! request they belong to.

mod activity;
pub mod fds;
mod stats;

pub use activity::{Activity, Guarded, InFlight};
pub use stats::{ConnectionStats, Throttled};

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a client may take to send a request's head, and, after accept, to send the
/// first one.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a connection may sit with no request in flight before it is closed. Longer
/// than common clients' keep-alive pools keep an idle connection (Go and Node: 90 s and
/// 5 s...), it only bounds connections nobody uses.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How often an HTTP/2 connection is pinged, and how long the peer has to answer.
pub const HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);

/// How long in-flight requests may take to finish after shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long a connection closed for idleness may take to say goodbye (HTTP/2 GOAWAY)
/// before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long to wait before accepting again after `accept` failed (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The addresses of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Peers {
    /// The client.
    pub remote: SocketAddr,
    /// The listener's address.
    pub local: SocketAddr,
}

/// What each connection on a listener may do (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; past it new ones are closed at accept.
    pub max_connections: usize,
    /// Time to send a request head (and, after accept, the first one).
    pub header_timeout: Duration,
    /// Time a connection may sit with no request in flight.
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// The admin listener's limits: a small cap of its own.
    pub fn admin() -> Self {
        ConnectionLimits {
            max_connections: fds::ADMIN_MAX_CONNECTIONS,
            header_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// One listener's name (for logs), limits and counters.
#[derive(Debug, Clone)]
pub struct Listening {
    /// `public` or `admin`.
    pub name: &'static str,
    /// What each connection may do.
    pub limits: ConnectionLimits,
    /// Where connections are counted.
    pub stats: ConnectionStats,
}

/// Serves `handler` on `listener` within `listening`'s limits until `shutdown` resolves,
/// then stops accepting and waits (up to [`SHUTDOWN_GRACE`]) for in-flight requests to
/// finish.
pub async fn serve<H, F, B>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
    listening: Listening,
) -> std::io::Result<()>
where
    H: Fn(Request<Incoming>, Peers) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let local = listener.local_addr()?;
    let Listening {
        name,
        limits,
        stats,
    } = listening;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HTTP2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(HTTP2_KEEP_ALIVE_INTERVAL);
    let refused = Throttled::new("connections refused at the connection cap");
    let accept_failed = Throttled::new("accept failed");
    let connections = TaskTracker::new();
    let stop = CancellationToken::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    stats.accept_errors.inc();
                    accept_failed.hit(&format_args!("{name} listener {local}: {e}"));
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let open = usize::try_from(stats.open.get()).unwrap_or(0);
        if open >= limits.max_connections {
            stats.refused.inc();
            refused.hit(&format_args!(
                "{name} listener {local} has {open} of max_connections = {}",
                limits.max_connections
            ));
            drop(stream);
            continue;
        }
        stats.accepted.inc();
        // Counted here, not in the task, so a burst of accepts sees its own count.
        let open = OpenGuard::new(stats.open.clone());
        let _ = stream.set_nodelay(true);
        let peers = Peers { remote, local };
        let activity = Activity::new();
        let handler = handler.clone();
        let service = {
            let activity = activity.clone();
            service_fn(move |req| {
                let in_flight = activity.start();
                let response = handler(req, peers);
                async move {
                    let response = response.await;
                    Ok::<_, Infallible>(response.map(|body| Guarded::new(body, in_flight)))
                }
            })
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let stats = stats.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            let _open = open;
            let mut conn = std::pin::pin!(conn);
            let mut closing = false;
            let mut idle_closed = false;
            let ended = loop {
                tokio::select! {
                    ended = conn.as_mut() => break ended,
                    () = activity.idle_for(limits.header_timeout, limits.idle_timeout), if !closing => {
                        if activity.served() {
                            stats.idle_timeout.inc();
                        } else {
                            stats.first_request_timeout.inc();
                        }
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                        idle_closed = true;
                    }
                    () = stop.cancelled(), if !closing => {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    // Nothing is in flight: a peer that does not take the goodbye is dropped.
                    () = tokio::time::sleep(CLOSE_GRACE), if idle_closed => break Ok(()),
                }
            };
            if let Err(e) = ended {
                if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout) {
                    stats.header_timeout.inc();
                }
                tracing::debug!(%remote, "connection ended with an error: {e}");
            }
        });
    }
    drop(listener);
    tracing::info!(%local, "shutting down: finishing in-flight requests");
    stop.cancel();
    connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(%local, "in-flight requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    Ok(())
}

/// Counts a connection as open for as long as it lives.
struct OpenGuard(prometheus_client::metrics::gauge::Gauge);

impl OpenGuard {
    fn new(open: prometheus_client::metrics::gauge::Gauge) -> Self {
        open.inc();
        OpenGuard(open)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
