//! One request's access-log line and metrics, written once the response is complete:
//! at once for a whole body, or when a streaming body has ended (or been dropped) and
//! the guest is done.

use super::{REQUEST_ID_HEADER, RouteTarget};
use crate::exchange::{BoxError, IncomingRequest, RequestBody, Response, ResponseBody};
use crate::metrics::{Metrics, NO_ROUTE};
use crate::runtime::{Function, InvocationRecord, Pending};
use bytes::Bytes;
use http::HeaderValue;
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::sync::oneshot;

/// What the access log needs to know about one request.
pub(super) struct Access {
    metrics: Arc<Metrics>,
    request_id: Arc<str>,
    method: http::Method,
    path: String,
    stage: String,
    bytes_in: BytesIn,
    route: Option<String>,
    function: Option<Arc<Function>>,
    refused: Option<String>,
    started: Instant,
}

/// How the request body's size is known.
enum BytesIn {
    Known(u64),
    Counted(Arc<AtomicU64>),
}

impl Access {
    /// Starts the record of `req`; a streaming body gets counted as it is read.
    pub(super) fn new(
        metrics: &Arc<Metrics>,
        req: &mut IncomingRequest,
        stage: &str,
        started: Instant,
    ) -> Access {
        let bytes_in = match &mut req.body {
            RequestBody::Full(bytes) => BytesIn::Known(bytes.len() as u64),
            RequestBody::Stream(stream) => {
                let counter = Arc::new(AtomicU64::new(0));
                let stream = stream.get_mut();
                let taken = std::mem::replace(stream, empty_stream());
                *stream = Counted {
                    inner: taken,
                    counter: Arc::clone(&counter),
                    done: None,
                }
                .boxed_unsync();
                BytesIn::Counted(counter)
            }
        };
        Access {
            metrics: Arc::clone(metrics),
            request_id: Arc::clone(&req.request_id),
            method: req.method.clone(),
            path: req.path.clone(),
            stage: stage.to_string(),
            bytes_in,
            route: None,
            function: None,
            refused: None,
            started,
        }
    }

    /// The request matched `text`, leading to `target`.
    pub(super) fn route(&mut self, text: &str, target: &RouteTarget) {
        self.route = Some(text.to_string());
        self.function = target.function().map(Arc::clone);
    }

    /// A policy refused the request, for `reason` (logged as `refused`).
    pub(super) fn refused(&mut self, reason: String) {
        self.refused = Some(reason);
    }

    /// The request id.
    pub(super) fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The matched route key, or `(none)`.
    pub(super) fn route_text(&self) -> &str {
        self.route.as_deref().unwrap_or(NO_ROUTE)
    }

    /// Logs a response that is complete now.
    pub(super) fn finish_now(
        self,
        response: Response,
        record: Option<InvocationRecord>,
    ) -> Response {
        self.finish(response, Pending::Ready(record.unwrap_or_default()))
    }

    /// Logs `response` once it is complete and the invocation's record is in.
    pub(super) fn finish(self, mut response: Response, record: Pending) -> Response {
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            response.headers.insert(REQUEST_ID_HEADER, id);
        }
        let status = response.status.as_u16();
        match (response.body, record) {
            (ResponseBody::Full(bytes), Pending::Ready(record)) => {
                self.log(status, bytes.len() as u64, &record);
                response.body = ResponseBody::Full(bytes);
            }
            (body, record) => {
                let stream = match body {
                    ResponseBody::Full(bytes) => http_body_util::Full::new(bytes)
                        .map_err(|e| match e {})
                        .boxed_unsync(),
                    ResponseBody::Stream(stream) => stream,
                };
                let counter = Arc::new(AtomicU64::new(0));
                let (done_tx, done) = oneshot::channel();
                response.body = ResponseBody::Stream(
                    Counted {
                        inner: stream,
                        counter: Arc::clone(&counter),
                        done: Some(done_tx),
                    }
                    .boxed_unsync(),
                );
                tokio::spawn(async move {
                    // The body ended, or was dropped (the client went away).
                    let _ = done.await;
                    let record = match record {
                        Pending::Ready(record) => record,
                        Pending::Later(finished) => match finished.await {
                            Ok(finished) => {
                                if let (Some(error), Some(function)) =
                                    (&finished.error, &self.function)
                                {
                                    tracing::warn!(request_id = %self.request_id, function = function.name(), "invocation failed after the response began: {error}");
                                    self.metrics.failure(function.name(), error.outcome());
                                }
                                finished.record
                            }
                            Err(_) => InvocationRecord::default(),
                        },
                    };
                    self.log(status, counter.load(Ordering::Relaxed), &record);
                });
            }
        }
        response
    }

    fn log(&self, status: u16, bytes_out: u64, record: &InvocationRecord) {
        let elapsed = self.started.elapsed();
        let route = self.route_text();
        let function = self.function.as_deref();
        // Memory is only ever granted once an instance exists: phases are recorded only
        // for invocations that got that far.
        if let (Some(function), true) = (function, record.memory_bytes > 0) {
            self.metrics.invocation(
                function.name(),
                record.instantiate,
                record.guest,
                record.cpu,
                record.memory_bytes,
            );
        }
        self.metrics.request(route, status, elapsed);
        let bytes_in = match &self.bytes_in {
            BytesIn::Known(n) => *n,
            BytesIn::Counted(counter) => counter.load(Ordering::Relaxed),
        };
        self.metrics.recent().push(crate::recent::AccessLine {
            time: std::time::SystemTime::now(),
            request_id: Arc::clone(&self.request_id),
            stage: self.stage.to_string(),
            method: self.method.to_string(),
            path: self.path.to_string(),
            route: route.to_string(),
            status,
            latency_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            function: function.map(|f| f.name().to_string()),
            version: function.map(|f| f.version().to_string()),
        });
        tracing::info!(
            target: "portico::access",
            request_id = %self.request_id,
            stage = %self.stage,
            method = %self.method,
            path = %self.path,
            route,
            function = function.map(|f| f.name()),
            version = function.map(|f| f.version()),
            kind = function.map(|f| f.kind().as_str()),
            status,
            bytes_in,
            bytes_out,
            latency_us = elapsed.as_micros() as u64,
            queue_us = record.queue.as_micros() as u64,
            instantiate_us = record.instantiate.as_micros() as u64,
            guest_us = record.guest.as_micros() as u64,
            cpu_us = record.cpu.as_micros() as u64,
            memory_bytes = record.memory_bytes,
            usage = %record.usage(),
            refused = self.refused.as_deref(),
        );
    }
}

fn empty_stream() -> crate::exchange::StreamBody {
    http_body_util::Empty::new()
        .map_err(|e| match e {})
        .boxed_unsync()
}

/// A body that counts the bytes passing through it, and says when it is over.
struct Counted {
    inner: crate::exchange::StreamBody,
    counter: Arc<AtomicU64>,
    done: Option<oneshot::Sender<()>>,
}

impl Body for Counted {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
            }
            Poll::Ready(None | Some(Err(_))) => {
                if let Some(done) = this.done.take() {
                    let _ = done.send(());
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
