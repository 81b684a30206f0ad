//! The `wasi:http` hooks of one invocation: outbound requests checked against the
//! function's allow list, sent with capped timeouts, their response bodies size-limited,
//! and every attempt counted.

use super::hosts::AllowedHosts;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// The future `send_request` hands back alongside the response: it drives the connection
/// and reports its error, if any.
type IoFuture = Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>;

/// What `send_request` returns: the response head (and body), or why there is none.
type SendFuture = Box<
    dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, IoFuture)>> + Send,
>;

/// Bounds on one outbound request.
///
/// The guest's own `request-options` may set shorter timeouts, never longer ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundLimits {
    /// Longest wait for the TCP connection (and, for `https`, the TLS and HTTP
    /// handshakes) to be established (default 5 s).
    pub connect_timeout: Duration,
    /// Longest wait, once connected, for the response head (default 30 s).
    pub first_byte_timeout: Duration,
    /// Largest response body; one byte more ends the body with
    /// `HTTP-response-body-size` (default 10 MiB).
    pub max_response_bytes: u64,
}

impl Default for OutboundLimits {
    fn default() -> Self {
        OutboundLimits {
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(30),
            max_response_bytes: 10 * 1024 * 1024,
        }
    }
}

impl OutboundLimits {
    /// The options a request is sent with: the guest's, with the connect and first-byte
    /// timeouts capped by these limits (and set to them where the guest gave none). The
    /// guest's between-bytes timeout is kept as given.
    pub fn cap(&self, guest: Option<RequestOptions>) -> RequestOptions {
        let guest = guest.unwrap_or_default();
        let capped = |asked: Option<Duration>, limit: Duration| {
            Some(asked.map_or(limit, |asked| asked.min(limit)))
        };
        RequestOptions {
            connect_timeout: capped(guest.connect_timeout, self.connect_timeout),
            first_byte_timeout: capped(guest.first_byte_timeout, self.first_byte_timeout),
            between_bytes_timeout: guest.between_bytes_timeout,
        }
    }
}

/// Outbound-request counters shared by the invocations that report to one place (a
/// function, say); every field only grows.
#[derive(Debug, Default)]
pub struct OutboundCounters {
    calls: AtomicU64,
    denied: AtomicU64,
    head_micros: AtomicU64,
}

impl OutboundCounters {
    /// All zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The figures so far (each read on its own: under load they may be a moment apart).
    pub fn snapshot(&self) -> OutboundFigures {
        OutboundFigures {
            calls: self.calls.load(Ordering::Relaxed),
            denied: self.denied.load(Ordering::Relaxed),
            time: Duration::from_micros(self.head_micros.load(Ordering::Relaxed)),
        }
    }
}

/// A snapshot of [`OutboundCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundFigures {
    /// Requests sent: allowed by the list and attempted, whether they then got a response,
    /// failed or timed out. Denied requests are not among them.
    pub calls: u64,
    /// Requests denied because no `allowed_outbound_hosts` entry matched.
    pub denied: u64,
    /// Total time of the sent requests until their response head arrived (or until they
    /// failed, timed out, or were abandoned by the guest), in whole microseconds.
    pub time: Duration,
}

/// The [`WasiHttpHooks`] of one invocation of a function.
///
/// `send_request` denies, with `HTTP-request-denied`, every request whose scheme, host
/// and port no entry of `allowed` matches (logging a warning under the target
/// `portico::outbound`, with the origin only: paths and queries may hold secrets), and
/// sends the others with [`wasmtime_wasi_http::default_send_request`], within `limits`.
/// The other hooks keep wasmtime's defaults.
#[derive(Debug, Clone)]
pub struct OutboundHooks {
    allowed: Arc<AllowedHosts>,
    limits: OutboundLimits,
    counters: Arc<OutboundCounters>,
    function: Arc<str>,
    request_id: Arc<str>,
}

impl OutboundHooks {
    /// Hooks for one invocation of `function` serving `request_id` (both only tag the log).
    pub fn new(
        allowed: Arc<AllowedHosts>,
        limits: OutboundLimits,
        counters: Arc<OutboundCounters>,
        function: Arc<str>,
        request_id: Arc<str>,
    ) -> Self {
        OutboundHooks {
            allowed,
            limits,
            counters,
            function,
            request_id,
        }
    }
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> SendFuture {
        // Like wasmtime's own `send_request`, nothing is reported on `fut`.
        drop(fut);
        if !self.allowed.allows(request.uri()) {
            self.counters.denied.fetch_add(1, Ordering::Relaxed);
            let (function, request_id) = (&*self.function, &*self.request_id);
            tracing::warn!(
                target: "portico::outbound",
                function,
                request_id,
                uri = %Origin(request.uri()),
                "outbound HTTP request denied: not in allowed_outbound_hosts"
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            target: "portico::outbound",
            function = &*self.function,
            request_id = &*self.request_id,
            uri = %Origin(request.uri()),
            "outbound HTTP request"
        );
        let options = self.limits.cap(options);
        let limit = self.limits.max_response_bytes;
        let timer = HeadTimer {
            started: Instant::now(),
            counters: Arc::clone(&self.counters),
        };
        Box::new(async move {
            let sent = wasmtime_wasi_http::default_send_request(request, Some(options)).await;
            drop(timer);
            let (response, io) = sent?;
            let response =
                response.map(|body| LimitedBody::new(body.boxed_unsync(), limit).boxed_unsync());
            Ok((response, Box::new(io) as IoFuture))
        })
    }
}

/// Adds the time since `started` to the counters when dropped: when the response head
/// arrived, the request failed, or the guest dropped the pending response.
struct HeadTimer {
    started: Instant,
    counters: Arc<OutboundCounters>,
}

impl Drop for HeadTimer {
    fn drop(&mut self) {
        let micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.counters
            .head_micros
            .fetch_add(micros, Ordering::Relaxed);
    }
}

/// Shows a URI as `scheme://host[:port]`: no user information, path or query.
struct Origin<'a>(&'a http::Uri);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.0.scheme_str().unwrap_or("");
        let authority = self
            .0
            .authority()
            .map_or("", |authority| authority.as_str());
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_userinfo, host_port)| host_port);
        write!(f, "{scheme}://{host_port}")
    }
}

/// A response body that ends with `HTTP-response-body-size` once more than `limit` bytes
/// of data have come (or are announced by `Content-Length`), without buffering any.
struct LimitedBody {
    inner: WasiBody,
    limit: u64,
    received: u64,
    exceeded: bool,
}

impl LimitedBody {
    fn new(inner: WasiBody, limit: u64) -> Self {
        LimitedBody {
            inner,
            limit,
            received: 0,
            exceeded: false,
        }
    }

    /// Ends the body: the error now, nothing afterwards; the connection is let go.
    fn exceed(&mut self) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.exceeded = true;
        self.inner = http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed_unsync();
        Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(self.limit)))))
    }
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        // `WasiBody` is a pinned box, so `LimitedBody` is `Unpin`.
        let this = self.get_mut();
        if this.exceeded {
            return Poll::Ready(None);
        }
        // A `Content-Length` over the limit fails at once rather than after `limit` bytes.
        if this.received.saturating_add(this.inner.size_hint().lower()) > this.limit {
            return this.exceed();
        }
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
            this.received = this.received.saturating_add(len);
            if this.received > this.limit {
                return this.exceed();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.exceeded || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.exceeded {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_options_may_shorten_the_timeouts_but_not_lengthen_them() {
        let limits = OutboundLimits::default();
        assert_eq!(
            limits.cap(None),
            RequestOptions {
                connect_timeout: Some(Duration::from_secs(5)),
                first_byte_timeout: Some(Duration::from_secs(30)),
                between_bytes_timeout: None,
            }
        );
        let guest = RequestOptions {
            connect_timeout: Some(Duration::from_secs(60)),
            first_byte_timeout: Some(Duration::from_millis(250)),
            between_bytes_timeout: Some(Duration::from_secs(1)),
        };
        assert_eq!(
            limits.cap(Some(guest)),
            RequestOptions {
                connect_timeout: Some(Duration::from_secs(5)),
                first_byte_timeout: Some(Duration::from_millis(250)),
                between_bytes_timeout: Some(Duration::from_secs(1)),
            }
        );
    }

    #[test]
    fn the_logged_origin_has_no_userinfo_path_or_query() {
        let shown = |uri: &str| {
            let uri: http::Uri = uri.parse().expect("test URI parses");
            Origin(&uri).to_string()
        };
        assert_eq!(
            shown("https://user:pw@api.example.com:8443/v1/x?token=secret#f"),
            "https://api.example.com:8443"
        );
        assert_eq!(shown("http://[::1]/a"), "http://[::1]");
        assert_eq!(shown("/relative?x"), "://");
    }

    #[test]
    fn default_limits() {
        let limits = OutboundLimits::default();
        assert_eq!(limits.max_response_bytes, 10_485_760);
        assert_eq!(
            OutboundCounters::new().snapshot(),
            OutboundFigures::default()
        );
    }
}
