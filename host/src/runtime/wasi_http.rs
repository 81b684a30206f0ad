//! The executor of standard `wasi:http/proxy` components (`Kind::WasiHttp`): the request
//! goes in as a `wasi:http` incoming request whose body streams from the client, and the
//! response streams out as the guest writes it.
//!
//! The guest runs in a task of its own (as `wasmtime serve` does), because it may go on
//! writing the body after it has handed over the response head. That task holds the
//! instance slot and the store until the guest returns, or until the function's timeout,
//! whichever comes first; then it sends the invocation's record back.

use super::capability::InvocationRecord;
use super::state::InstanceState;
use super::{Function, HttpTrigger, InvokeError, Runtime};
use crate::exchange::{BodyError, BoxError, Response, ResponseBody};
use crate::runtime::cpu::OnCpu;
use bytes::Bytes;
use http::header::HOST;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tracing::Instrument as _;
use wasmtime_wasi_http::WasiHttpView as _;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

/// A compiled `wasi:http` component, ready to instantiate.
pub type Pre = ProxyPre<InstanceState>;

/// How a `wasi:http` invocation ended, sent when the guest is done (which may be after
/// the response head was sent).
#[derive(Debug)]
pub struct Finished {
    /// The invocation's figures.
    pub record: InvocationRecord,
    /// A failure after the response head was sent (the body is cut short), if any.
    pub error: Option<InvokeError>,
}

/// Runs `trigger` through a fresh instance of `function`. Returns as soon as the guest
/// sets its response (or fails before that); `finished` resolves when the guest is done.
pub async fn invoke(
    runtime: &Runtime,
    function: &Arc<Function>,
    pre: &Arc<Pre>,
    trigger: HttpTrigger,
    timeout: Duration,
) -> (Result<Response, InvokeError>, oneshot::Receiver<Finished>) {
    let (finished_tx, finished) = oneshot::channel();
    let mut record = InvocationRecord::default();
    let started = Instant::now();
    let permit = match runtime.admit(function).await {
        Ok(permit) => permit,
        Err(rejected) => {
            record.queue = started.elapsed();
            let _ = finished_tx.send(Finished {
                record,
                error: None,
            });
            return (Err(rejected.into()), finished);
        }
    };
    record.queue = started.elapsed();

    let caller = trigger.request.authorizer.clone();
    let request = match incoming(trigger) {
        Ok(request) => request,
        Err(e) => {
            let _ = finished_tx.send(Finished {
                record,
                error: None,
            });
            return (Err(e), finished);
        }
    };
    let (mut store, turns) = runtime.new_store(function, &request.1, caller.as_ref());
    let (response_tx, response_rx) = oneshot::channel();
    let handles = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, request.0)
        .and_then(|req| {
            let out = store.data_mut().http().new_response_outparam(response_tx)?;
            Ok((req, out))
        });
    let (req, out) = match handles {
        Ok(handles) => handles,
        Err(e) => {
            let _ = finished_tx.send(Finished {
                record,
                error: None,
            });
            return (Err(InvokeError::Trap(e)), finished);
        }
    };

    let task_function = Arc::clone(function);
    let task_pre = Arc::clone(pre);
    let span = tracing::Span::current();
    let guest = tokio::spawn(
        async move {
            let mut store = store;
            let run = async {
                let started = Instant::now();
                let proxy = task_pre
                    .instantiate_async(&mut store)
                    .instrument(tracing::debug_span!("instantiate"))
                    .await?;
                record.instantiate = started.elapsed();
                let started = Instant::now();
                let result = proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .instrument(tracing::debug_span!("guest"))
                    .await;
                record.guest = started.elapsed();
                result
            };
            let mut cpu = Duration::ZERO;
            let error =
                match tokio::time::timeout(timeout, OnCpu::new(turns.gate(run), &mut cpu)).await {
                    Ok(Ok(())) => None,
                    Ok(Err(trap)) => Some(InvokeError::Trap(trap)),
                    Err(_) => Some(InvokeError::Timeout(timeout)),
                };
            record.cpu = cpu;
            task_function.finish_store(store, &mut record);
            drop(permit);
            (record, error)
        }
        .instrument(span),
    );

    // The guest sets the response head, or ends (or fails, or times out) without one.
    let mut guest = guest;
    let mut response_rx = response_rx;
    let (head, ended) = tokio::select! {
        biased;
        head = &mut response_rx => (head.ok(), None),
        joined = &mut guest => {
            // It may have set the head just before it ended.
            (response_rx.try_recv().ok(), Some(task_outcome(joined)))
        }
    };
    let Some(head) = head else {
        // No head: the guest's own failure says why, if it failed.
        let (record, error) = match ended {
            Some(outcome) => outcome,
            None => task_outcome(guest.await),
        };
        let error = error.unwrap_or_else(|| {
            InvokeError::Guest("the component returned without setting a response".into())
        });
        let _ = finished_tx.send(Finished {
            record,
            error: None,
        });
        return (Err(error), finished);
    };
    // The head is here; the guest may go on writing the body.
    match ended {
        Some((record, error)) => {
            let _ = finished_tx.send(Finished { record, error });
        }
        None => {
            tokio::spawn(async move {
                let (record, error) = task_outcome(guest.await);
                let _ = finished_tx.send(Finished { record, error });
            });
        }
    }
    let response = match head {
        Ok(response) => response,
        Err(code) => return (Err(InvokeError::Guest(format!("{code:?}"))), finished),
    };
    (
        outgoing(response, function.limits().max_response_bytes),
        finished,
    )
}

/// What the guest task ended with: its record, and its failure if it failed.
fn task_outcome(
    joined: Result<(InvocationRecord, Option<InvokeError>), tokio::task::JoinError>,
) -> (InvocationRecord, Option<InvokeError>) {
    joined.unwrap_or_else(|e| {
        (
            InvocationRecord::default(),
            Some(InvokeError::Trap(wasmtime::Error::msg(format!(
                "the guest task failed: {e}"
            )))),
        )
    })
}

/// The `wasi:http` request for `trigger`, its body streaming, and its request id.
fn incoming(
    trigger: HttpTrigger,
) -> Result<(hyper::Request<WasiRequestBody>, Arc<str>), InvokeError> {
    let request = trigger.request;
    let path_and_query = if request.query.is_empty() {
        request.path.clone()
    } else {
        format!("{}?{}", request.path, request.query)
    };
    let uri: Uri = path_and_query
        .parse()
        .map_err(|e| InvokeError::Guest(format!("request target {path_and_query:?}: {e}")))?;
    let mut headers = request.headers;
    if !headers.contains_key(HOST) {
        // `wasi:http` needs an authority; HTTP/1.0 and `invoke` may have none.
        headers.insert(HOST, HeaderValue::from_static("localhost"));
    }
    let mut out = hyper::Request::new(WasiRequestBody(request.body.into_stream()));
    *out.method_mut() = request.method;
    *out.uri_mut() = uri;
    *out.headers_mut() = headers;
    Ok((out, request.request_id))
}

/// A request body as `wasi:http` takes it: errors are `wasi:http` errors.
struct WasiRequestBody(crate::exchange::StreamBody);

impl Body for WasiRequestBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().0).poll_frame(cx).map_err(|e| {
            match e.downcast_ref::<BodyError>() {
                Some(BodyError::TooLarge(limit)) => {
                    wasmtime_wasi_http::Error::HttpRequestBodySize(Some(*limit))
                }
                Some(BodyError::TimedOut(_)) => wasmtime_wasi_http::Error::ConnectionReadTimeout,
                _ => wasmtime_wasi_http::Error::InternalError(Some(e.to_string())),
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.size_hint()
    }
}

/// The guest's response, its body bounded by `max_response` bytes.
fn outgoing(
    response: hyper::Response<wasmtime_wasi_http::p2::body::HyperOutgoingBody>,
    max_response: u64,
) -> Result<Response, InvokeError> {
    let (parts, body) = response.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|size| *size > max_response) {
        return Err(InvokeError::ResponseTooLarge {
            size,
            limit: max_response,
        });
    }
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        if !is_connection_header(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let body = Bounded {
        inner: body,
        left: max_response,
        limit: max_response,
    };
    Ok(Response {
        status: parts.status,
        headers,
        body: ResponseBody::Stream(body.boxed_unsync()),
    })
}

/// Headers about the connection, not the message: the server sets its own.
fn is_connection_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "proxy-connection"
    )
}

/// A response body that ends with an error once it passes its limit.
struct Bounded {
    inner: wasmtime_wasi_http::p2::body::HyperOutgoingBody,
    left: u64,
    limit: u64,
}

/// A streaming response body passed the function's `max_response`.
#[derive(Debug, thiserror::Error)]
#[error("response body over the limit of {0} bytes: cut off")]
pub struct ResponseCutOff(pub u64);

impl Body for Bounded {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.left {
                        this.left = 0;
                        return Poll::Ready(Some(Err(Box::new(ResponseCutOff(this.limit)))));
                    }
                    this.left -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Starts one instance and drops it (a load-time check).
pub async fn probe(pre: &Pre, store: &mut wasmtime::Store<InstanceState>) -> wasmtime::Result<()> {
    pre.instantiate_async(store).await.map(drop)
}
