//! One HTTP exchange as the gateway and the executors see it, independent of where it
//! came from (the hyper server, `portico invoke`, a bench): the incoming request, and
//! request and response bodies that are either whole or still streaming.
//!
//! A leaf module: it imports no other part of Portico.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use sync_wrapper::SyncWrapper;

/// Any error a streaming body may end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body that is still arriving (or still being produced).
pub type StreamBody = UnsyncBoxBody<Bytes, BoxError>;

/// A request as received.
#[derive(Debug)]
pub struct IncomingRequest {
    /// The request id (sent back in `apigw-requestid` and given to the function).
    pub request_id: Arc<str>,
    /// Method.
    pub method: Method,
    /// Path as received, percent-encoding intact, without the query string.
    pub path: String,
    /// Query string without `?`.
    pub query: String,
    /// Headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: RequestBody,
    /// Client address.
    pub source_ip: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub protocol: String,
    /// What an authorizer established about the caller: set by the route's policies
    /// (the server never sets it), or carried in by `portico invoke` from an event's
    /// `requestContext.authorizer`, as a Lambda test event would. Shared: the function's
    /// event and its instance both read it.
    pub authorizer: Option<Arc<Authorization>>,
    /// The context of a recorded event `portico invoke` replays (the server never sets
    /// it): its stage, stage variables and time are the function's, not the host's.
    pub replay: Option<Box<Replay>>,
}

/// What a recorded API Gateway event says about its own context, kept when `portico
/// invoke` replays it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// `requestContext.stage`.
    pub stage: Option<String>,
    /// `stageVariables` (`None`: the event has none, so the manifest's apply).
    pub stage_variables: Option<Vec<(String, String)>>,
    /// `requestContext.timeEpoch` (2.0) or `requestTimeEpoch` (1.0).
    pub time: Option<std::time::SystemTime>,
    /// The path to route on: `rawPath` without the stage's `/{stage}` prefix, when the
    /// event's stage is not `$default` and the path carries it (the function still
    /// sees `rawPath` whole).
    pub route_path: Option<String>,
}

impl IncomingRequest {
    /// Whether the request came with an authorizer's output (an event `portico invoke`
    /// replays), so that the route's authorizer does not run again.
    pub fn carries_authorizer_output(&self) -> bool {
        self.authorizer
            .as_ref()
            .is_some_and(|a| a.has_authorizer_output())
    }
}

/// What the route's authorizer established about the caller, passed to the function as
/// `requestContext.authorizer` (`jwt` and `lambda`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    /// The claims of a validated JWT as `(claim, value)`, in the token's order; values
    /// that are not strings are JSON text.
    pub jwt_claims: Vec<(String, String)>,
    /// The token's scopes (`scope`, or `scp`).
    pub jwt_scopes: Vec<String>,
    /// The `context` a custom authorizer returned: the text of a JSON object.
    pub lambda: Option<Arc<str>>,
    /// The id of the API key the request carried, on a route that requires one
    /// (`requestContext.identity.apiKeyId`).
    pub api_key_id: Option<Arc<str>>,
}

impl Authorization {
    /// The authorization of a token with `claims` and `scopes`: each claim's value as
    /// [`claim_text`].
    pub fn from_jwt<'a>(
        claims: impl IntoIterator<Item = (&'a String, &'a serde_json::Value)>,
        scopes: Vec<String>,
    ) -> Authorization {
        Authorization {
            jwt_claims: claims
                .into_iter()
                .map(|(name, value)| (name.clone(), claim_text(value)))
                .collect(),
            jwt_scopes: scopes,
            lambda: None,
            api_key_id: None,
        }
    }

    /// Whether an authorizer (JWT or custom) gave any of it: an event `portico invoke`
    /// replays may carry an authorizer's output, and then the route's authorizer does
    /// not run again.
    pub fn has_authorizer_output(&self) -> bool {
        !self.jwt_claims.is_empty() || !self.jwt_scopes.is_empty() || self.lambda.is_some()
    }
}

/// A claim's value as the function sees it: a string as it is, anything else as JSON
/// text (`42`, `true`, `["admin","users"]`).
pub fn claim_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A request body: whole in memory, or still arriving from the client.
pub enum RequestBody {
    /// The whole body.
    Full(Bytes),
    /// Arriving; ends with an error if it breaks or grows past the request limit.
    /// Wrapped so that the request is `Sync` (a stream is only ever used by value or
    /// through `&mut`): a route policy can then hold `&IncomingRequest` across an
    /// `.await` in a `Send` future, as a custom authorizer does.
    Stream(SyncWrapper<StreamBody>),
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestBody::Full(bytes) => write!(f, "Full({} bytes)", bytes.len()),
            RequestBody::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl Default for RequestBody {
    fn default() -> Self {
        RequestBody::Full(Bytes::new())
    }
}

impl From<Bytes> for RequestBody {
    fn from(bytes: Bytes) -> Self {
        RequestBody::Full(bytes)
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// It is longer than the limit (HTTP 413).
    #[error("request body over the limit of {0} bytes")]
    TooLarge(u64),
    /// It broke off: bad chunked encoding, or the client went away (HTTP 400).
    #[error("request body unreadable: {0}")]
    Broken(BoxError),
    /// It did not arrive within the body timeout (HTTP 408).
    #[error("request body not received within {0:?}")]
    TimedOut(std::time::Duration),
    /// The host already holds its budget of request-body bytes (HTTP 503).
    #[error("request bodies in flight are over the host's budget of {0} bytes")]
    OverBudget(u64),
}

impl RequestBody {
    /// A streaming body that ends with [`BodyError::TooLarge`] past `limit` bytes.
    pub fn limited<B>(body: B, limit: u64) -> RequestBody
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
        RequestBody::Stream(SyncWrapper::new(
            limited
                .map_err(move |e| -> BoxError {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        Box::new(BodyError::TooLarge(limit))
                    } else if e.is::<BodyError>() {
                        // The body's own reason (a timeout, the budget) stays as it is.
                        e
                    } else {
                        Box::new(BodyError::Broken(e))
                    }
                })
                .boxed_unsync(),
        ))
    }

    /// The whole body; a streaming body is read to its end.
    pub async fn collect(self) -> Result<Bytes, BodyError> {
        match self {
            RequestBody::Full(bytes) => Ok(bytes),
            RequestBody::Stream(body) => match body.into_inner().collect().await {
                Ok(collected) => Ok(collected.to_bytes()),
                Err(e) => Err(match e.downcast::<BodyError>() {
                    Ok(e) => *e,
                    Err(e) => BodyError::Broken(e),
                }),
            },
        }
    }

    /// The body as a stream, whichever it is.
    pub fn into_stream(self) -> StreamBody {
        match self {
            RequestBody::Full(bytes) => Full::new(bytes).map_err(|e| match e {}).boxed_unsync(),
            RequestBody::Stream(body) => body.into_inner(),
        }
    }

    /// Its length, if it is whole.
    pub fn known_len(&self) -> Option<usize> {
        match self {
            RequestBody::Full(bytes) => Some(bytes.len()),
            RequestBody::Stream(_) => None,
        }
    }
}

/// A finished response: status, headers, and a whole or streaming body.
#[derive(Debug)]
pub struct Response {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: ResponseBody,
}

/// A response body: whole, or produced while it is sent (a `wasi:http` component
/// writing its body).
pub enum ResponseBody {
    /// The whole body.
    Full(Bytes),
    /// Produced while sent.
    Stream(StreamBody),
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResponseBody::Full(bytes) => write!(f, "Full({} bytes)", bytes.len()),
            ResponseBody::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl ResponseBody {
    /// The whole body, if it is in memory.
    pub fn as_full(&self) -> Option<&Bytes> {
        match self {
            ResponseBody::Full(bytes) => Some(bytes),
            ResponseBody::Stream(_) => None,
        }
    }

    /// The whole body; a stream is read to its end.
    pub async fn collect(self) -> Result<Bytes, BoxError> {
        match self {
            ResponseBody::Full(bytes) => Ok(bytes),
            ResponseBody::Stream(body) => Ok(body.collect().await?.to_bytes()),
        }
    }
}

/// The body hyper sends: whole bodies are not boxed.
pub enum WireBody {
    /// A whole body.
    Full(Option<Bytes>),
    /// A stream.
    Stream(StreamBody),
}

impl From<ResponseBody> for WireBody {
    fn from(body: ResponseBody) -> Self {
        match body {
            ResponseBody::Full(bytes) => WireBody::Full((!bytes.is_empty()).then_some(bytes)),
            ResponseBody::Stream(stream) => WireBody::Stream(stream),
        }
    }
}

impl From<Bytes> for WireBody {
    fn from(bytes: Bytes) -> Self {
        ResponseBody::Full(bytes).into()
    }
}

impl Body for WireBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            WireBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            WireBody::Stream(stream) => Pin::new(stream).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            WireBody::Full(bytes) => bytes.is_none(),
            WireBody::Stream(stream) => stream.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            WireBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            WireBody::Stream(stream) => stream.size_hint(),
        }
    }
}

/// API Gateway's payload format version of a route (`payload = "1.0"`): how a request
/// becomes a Portico function's event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PayloadVersion {
    /// 1.0, the REST API format: every header and query value kept apart
    /// (`multiValueHeaders`, `multiValueQueryStringParameters`), cookies left in the
    /// `cookie` header.
    V1,
    /// 2.0, the HTTP API format (the default): repeated headers and query parameters
    /// joined with `,`, cookies in `cookies`.
    #[default]
    V2,
}

impl PayloadVersion {
    /// `1.0` or `2.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadVersion::V1 => "1.0",
            PayloadVersion::V2 => "2.0",
        }
    }
}

impl std::str::FromStr for PayloadVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "1.0" => Ok(PayloadVersion::V1),
            "2.0" => Ok(PayloadVersion::V2),
            other => Err(format!(
                "unknown payload format version {other:?}: use \"1.0\" or \"2.0\""
            )),
        }
    }
}
