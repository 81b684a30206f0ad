//! A hyper server loop shared by the public gateway and the admin listener: HTTP/1.1 and
//! HTTP/2 (cleartext) on one listener, a request-head timeout, graceful shutdown.

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long a client may take to send a request's head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long in-flight requests may take to finish after shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The addresses of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Peers {
    /// The client.
    pub remote: SocketAddr,
    /// The listener's address.
    pub local: SocketAddr,
}

/// Serves `handler` on `listener` until `shutdown` resolves, then stops accepting and
/// waits (up to [`SHUTDOWN_GRACE`]) for in-flight requests to finish.
pub async fn serve<H, F, B>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    H: Fn(Request<Incoming>, Peers) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let local = listener.local_addr()?;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A client must finish sending its request head within HEADER_READ_TIMEOUT, so idle
    // half-open connections cannot pile up (slowloris).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let peers = Peers { remote, local };
                let handler = handler.clone();
                let service = service_fn(move |req| {
                    let response = handler(req, peers);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%remote, "connection ended with an error: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(%local, "shutting down: finishing in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(%local, "in-flight requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    Ok(())
}
