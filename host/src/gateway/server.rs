//! The public listener: turns hyper requests into [`GatewayRequest`]s (with the body
//! limit and API Gateway's `x-forwarded-*` headers) and answers with the gateway.

use super::{Gateway, GatewayError, GatewayRequest, GatewayResponse, new_request_id};
use crate::http_server::{self, Peers};
use bytes::Bytes;
use http::header::{HOST, HeaderValue};
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

/// Serves `gateway` on `listener` until `shutdown` resolves (see [`http_server::serve`]).
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let handler = move |req, peers: Peers| {
        let gateway = gateway.clone();
        async move { handle(&gateway, req, peers.remote, peers.local).await }
    };
    http_server::serve(listener, handler, shutdown).await
}

/// One HTTP request through the gateway.
async fn handle(
    gateway: &Gateway,
    req: Request<Incoming>,
    peer: SocketAddr,
    local: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let mut headers = parts.headers;
    if !headers.contains_key(HOST)
        && let Some(authority) = parts.uri.authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        headers.insert(HOST, host);
    }
    add_forwarded(&mut headers, peer, local);
    let mut request = GatewayRequest {
        request_id: new_request_id().into(),
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers,
        body: Bytes::new(),
        source_ip: peer.ip().to_string(),
        protocol: protocol(parts.version).to_string(),
    };
    let limit = usize::try_from(gateway.max_body_bytes()).unwrap_or(usize::MAX);
    let declared = request
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > gateway.max_body_bytes()) {
        return into_hyper(gateway.reject(&request, GatewayError::PayloadTooLarge, started));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => request.body = collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return into_hyper(gateway.reject(&request, GatewayError::PayloadTooLarge, started));
        }
        Err(e) => {
            // A broken body (bad chunking, or the client went away mid-body).
            tracing::debug!(request_id = %request.request_id, "request body failed: {e}");
            return into_hyper(gateway.reject(&request, GatewayError::BadRequest, started));
        }
    }
    into_hyper(gateway.dispatch(request).await)
}

/// Sets the `x-forwarded-*` headers API Gateway adds: the client address is appended to
/// `x-forwarded-for`, and `x-forwarded-proto` / `x-forwarded-port` describe the listener.
fn add_forwarded(headers: &mut http::HeaderMap, peer: SocketAddr, local: SocketAddr) {
    let chain = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    if let Ok(chain) = HeaderValue::from_str(&chain) {
        headers.insert("x-forwarded-for", chain);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    headers.insert("x-forwarded-port", HeaderValue::from(local.port()));
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn into_hyper(response: GatewayResponse) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(response.body));
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}
