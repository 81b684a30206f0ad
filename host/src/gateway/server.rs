//! The public listener: turns hyper requests into [`GatewayRequest`]s (with the header
//! and body limits and API Gateway's `x-forwarded-*` headers) and answers with the
//! gateway. Request bodies stream: a function kind that wants the whole body reads it,
//! one that streams gets it as it arrives.
//!
//! Every body is bounded three ways: by size (`max_body`, 413), by time (the whole body
//! must arrive within `body_timeout` of the head, else 408), and by the host-wide
//! [`BodyBudget`] of body bytes in flight (over it, 503 at once). A response to a request
//! whose body was not read to its end closes an HTTP/1 connection.

use super::body_budget::{BodyBudget, Hold};
use super::{Gateway, GatewayError, GatewayRequest, GatewayResponse, new_request_id};
use crate::exchange::{BodyError, BoxError, RequestBody, WireBody};
use crate::http_server::{self, Listening, Peers, Throttled};
use bytes::Bytes;
use http::header::{CONNECTION, HOST, HeaderValue};
use http::{Request, Response, Version};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::time::Sleep;

/// API Gateway's limit on a request's line and headers together, in bytes.
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 10 * 1024;

/// Requests refused because the host held its budget of request bodies (503).
static OVER_BUDGET: Throttled =
    Throttled::new("requests refused: request bodies in flight over the budget");

/// How long a request's body may take to arrive, from its head.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Limits the public listener applies to each request, beside the gateway's `max_body`.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    /// Request line plus headers; larger requests get 431.
    pub max_header_bytes: u64,
    /// Time from the request head to the body's end; slower bodies get 408.
    pub body_timeout: Duration,
    /// Request-body bytes all requests may hold at once; past it, 503.
    pub body_budget: BodyBudget,
}

/// Serves `gateway` on `listener` until `shutdown` resolves (see [`http_server::serve`]).
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    limits: RequestLimits,
    listening: Listening,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let handler = move |req, peers: Peers| {
        let gateway = gateway.clone();
        let limits = Arc::clone(&limits);
        async move { handle(&gateway, &limits, req, peers.remote, peers.local).await }
    };
    http_server::serve(listener, handler, shutdown, listening).await
}

/// One HTTP request through the gateway (or, on the WebSocket API's path, an upgrade).
async fn handle(
    gateway: &Arc<Gateway>,
    limits: &RequestLimits,
    req: Request<Incoming>,
    peer: SocketAddr,
    local: SocketAddr,
) -> Response<WireBody> {
    if super::websocket::is_upgrade(&req) {
        let served = gateway.served();
        if let Some(api) = served.api.settings().websocket.clone()
            && let Some((stage, prefix)) = served.api.stage_for(req.uri().path())
            && super::served::route_path(req.uri().path(), prefix) == api.path
        {
            let policies = stage.websocket.clone();
            let stage = (stage.name().to_string(), stage.variables().to_vec());
            drop(served);
            return super::websocket::upgrade(Arc::clone(gateway), api, stage, policies, req, peer)
                .await;
        }
    }
    let started = Instant::now();
    let head_bytes = head_size(&req);
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
        body: RequestBody::default(),
        source_ip: peer.ip().to_string(),
        protocol: protocol(parts.version).to_string(),
        authorizer: None,
        replay: None,
    };
    // A client that sent a body the gateway did not read must not reuse the connection:
    // the unread rest would be taken for its next request.
    let http1 = parts.version < Version::HTTP_2;
    if head_bytes > limits.max_header_bytes {
        tracing::debug!(request_id = %request.request_id, head_bytes, "request line and headers over the limit");
        let response = gateway.reject(request, GatewayError::HeaderFieldsTooLarge, started);
        return close_if(into_hyper(response), http1 && !body.is_end_stream());
    }
    let declared = request
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > gateway.max_body_bytes()) {
        let response = gateway.reject(request, GatewayError::PayloadTooLarge, started);
        return close_if(into_hyper(response), http1);
    }
    if body.is_end_stream() {
        return into_hyper(gateway.dispatch(request).await);
    }
    // Held until the answer has started (here) and the body is gone (in `Tracked`).
    let hold = Arc::new(limits.body_budget.hold());
    if let Some(declared) = declared
        && !hold.reserve(declared)
    {
        tracing::debug!(request_id = %request.request_id, declared, "request body over the budget of bodies in flight");
        OVER_BUDGET.hit(&format_args!(
            "max_body_bytes_in_flight = {}",
            hold.budget_bytes()
        ));
        let response = gateway.reject(request, GatewayError::Unavailable, started);
        return close_if(into_hyper(response), http1);
    }
    let deadline = tokio::time::Instant::from_std(started) + limits.body_timeout;
    let tracked = Tracked::new(body, Arc::clone(&hold), deadline, limits.body_timeout);
    let unread = Arc::clone(&tracked.state);
    request.body = RequestBody::limited(tracked, gateway.max_body_bytes());
    let response = into_hyper(gateway.dispatch(request).await);
    drop(hold);
    let dropped_unread = unread.load(Ordering::Acquire) == DROPPED_UNREAD;
    close_if(response, http1 && dropped_unread)
}

/// `response` with `connection: close` when `close`.
fn close_if(mut response: Response<WireBody>, close: bool) -> Response<WireBody> {
    if close {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

const READING: u8 = 0;
const ENDED: u8 = 1;
const DROPPED_UNREAD: u8 = 2;

/// The client's body: ends with [`BodyError::TimedOut`] past its deadline and
/// [`BodyError::OverBudget`] when its bytes do not fit the budget, and remembers whether
/// it was dropped before its end.
struct Tracked {
    inner: Incoming,
    state: Arc<AtomicU8>,
    hold: Arc<Hold>,
    /// Bytes received so far.
    received: u64,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl Tracked {
    fn new(
        inner: Incoming,
        hold: Arc<Hold>,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Self {
        Tracked {
            inner,
            state: Arc::new(AtomicU8::new(READING)),
            hold,
            received: 0,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            timeout,
        }
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(Box::new(BodyError::TimedOut(this.timeout)))));
                }
                Poll::Pending
            }
            Poll::Ready(None) => {
                this.state.store(ENDED, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                    if !this.hold.reserve(this.received) {
                        let budget = this.hold.budget_bytes();
                        OVER_BUDGET.hit(&format_args!("max_body_bytes_in_flight = {budget}"));
                        return Poll::Ready(Some(Err(Box::new(BodyError::OverBudget(budget)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let _ = self.state.compare_exchange(
            READING,
            DROPPED_UNREAD,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

/// The size of the request line and headers as sent on HTTP/1.1
/// (`METHOD SP target SP HTTP/1.1 CRLF`, then `name: value CRLF` each), which is what
/// API Gateway's limit counts. HTTP/2 requests are measured the same way.
fn head_size<B>(req: &Request<B>) -> u64 {
    let target = req.uri().path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = req.method().as_str().len() + 1 + target + 1 + "HTTP/1.1\r\n".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    (line + headers) as u64
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

fn into_hyper(response: GatewayResponse) -> Response<WireBody> {
    let mut out = Response::new(WireBody::from(response.body));
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}
