//! Outbound HTTP: call another service from a function.
//!
//! [`get`] and [`fetch`] send a request through the standard `wasi:http/outgoing-handler`
//! interface and wait for the whole response. The request body is streamed to the host in
//! chunks and the response body is read in chunks of at most 64 KiB;
//! [`fetch_with_limit`] refuses a response body longer than a bound you choose.
//!
//! ```no_run
//! use portico_guest::{Request, Response, outbound};
//!
//! fn handle(_req: Request) -> Result<Response, outbound::FetchError> {
//!     let upstream = outbound::get("https://api.example.com/status")?;
//!     Ok(Response::ok().text(String::from_utf8_lossy(upstream.body())))
//! }
//! # portico_guest::export!(handle);
//! ```
//!
//! The host decides which requests may leave: one it does not allow fails with
//! [`FetchError::Http`] carrying `HttpRequestDenied`. A component that uses this module
//! imports `wasi:http/outgoing-handler` (and `wasi:http/types`) besides the Portico world;
//! one that does not use it imports neither.

use std::fmt;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, Method,
    OutgoingBody, OutgoingRequest, Scheme,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// The most bytes read from or written to a body stream at once.
const CHUNK: usize = 64 * 1024;

/// Headers that belong to the connection, not the request: the host (like any HTTP
/// client) manages them itself and refuses them from a guest, so they are left out.
/// `host` comes from the URL's authority.
const CONNECTION_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

/// Why an outbound request failed.
///
/// ```no_run
/// use portico_guest::outbound::{self, FetchError};
/// match outbound::get("https://example.com/") {
///     Ok(response) => println!("{}", response.status()),
///     Err(FetchError::Http(code)) if code == "HttpRequestDenied" => println!("not allowed"),
///     Err(e) => println!("failed: {e}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// The request cannot be sent as it is: the URL is not absolute (`scheme://host/...`)
    /// or does not parse, or the host refused a method or header. The text says which.
    InvalidRequest(String),
    /// The host or the network failed the request with a `wasi:http` `error-code`, given as
    /// the code's name and payload, e.g. `HttpRequestDenied` (the host does not allow this
    /// destination), `ConnectionRefused`, `DnsError(...)`, `ConnectionTimeout`.
    Http(String),
    /// Reading the response body failed for a reason that is not an `error-code` (the
    /// stream closed early, the function ran out of memory holding the body). A failed
    /// request-body write is reported as what the host says next: the response, or its
    /// `error-code`.
    Body(String),
    /// The response body was longer than the limit given to [`fetch_with_limit`].
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::InvalidRequest(why) => write!(f, "invalid outbound request: {why}"),
            FetchError::Http(code) => write!(f, "outbound request failed: {code}"),
            FetchError::Body(why) => write!(f, "outbound body: {why}"),
            FetchError::BodyTooLarge { limit } => {
                write!(f, "outbound response body longer than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for FetchError {}

/// Sends a `GET` to `url` and returns the whole response.
///
/// The response body is read without a bound; use [`fetch_with_limit`] for untrusted
/// upstreams.
///
/// ```no_run
/// let response = portico_guest::outbound::get("http://inventory.internal/items/42")?;
/// assert!(response.status().is_success());
/// let item: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
/// # Ok::<(), portico_guest::outbound::FetchError>(())
/// ```
pub fn get(url: &str) -> Result<http::Response<Vec<u8>>, FetchError> {
    let request = http::Request::get(url)
        .body(Vec::new())
        .map_err(|e| FetchError::InvalidRequest(format!("{url:?}: {e}")))?;
    fetch(request)
}

/// Sends `request` and returns the whole response.
///
/// The request's URI must be absolute (`https://host[:port]/path?query`). Its method,
/// headers and body are sent as they are, except the connection headers (`host`,
/// `connection`, `transfer-encoding`, …), which the host sets itself; a `content-length`
/// is added for a non-empty body (and for an empty `POST`, `PUT` or `PATCH`) when the
/// request has none. Any status, 4xx and 5xx included, is an `Ok` response: errors are
/// for requests that got no response at all. The response body is read without a bound.
///
/// ```no_run
/// use portico_guest::{http, outbound};
/// let request = http::Request::post("https://hooks.example.com/orders")
///     .header("content-type", "application/json")
///     .body(br#"{"order":42}"#.to_vec())
///     .unwrap();
/// let response = outbound::fetch(request)?;
/// # Ok::<(), outbound::FetchError>(())
/// ```
pub fn fetch(request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, FetchError> {
    send(request, None)
}

/// Like [`fetch`], but fails with [`FetchError::BodyTooLarge`] as soon as the response
/// body grows past `max_body_bytes`, without reading the rest.
///
/// ```no_run
/// use portico_guest::outbound::{self, FetchError};
/// let request = portico_guest::http::Request::get("https://example.com/feed")
///     .body(Vec::new())
///     .unwrap();
/// match outbound::fetch_with_limit(request, 1 << 20) {
///     Ok(response) => assert!(response.body().len() <= 1 << 20),
///     Err(FetchError::BodyTooLarge { limit }) => println!("over {limit} bytes"),
///     Err(e) => println!("{e}"),
/// }
/// ```
pub fn fetch_with_limit(
    request: http::Request<Vec<u8>>,
    max_body_bytes: usize,
) -> Result<http::Response<Vec<u8>>, FetchError> {
    send(request, Some(max_body_bytes))
}

/// A request taken apart into what `wasi:http` needs, before any host call.
#[derive(Debug)]
struct Prepared {
    method: Method,
    scheme: Scheme,
    authority: String,
    path_and_query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn prepare(request: http::Request<Vec<u8>>) -> Result<Prepared, FetchError> {
    let (parts, body) = request.into_parts();
    let uri = &parts.uri;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        Some(other) => Scheme::Other(other.to_string()),
        None => {
            return Err(FetchError::InvalidRequest(format!(
                "{uri:?} is not an absolute URL (no scheme)"
            )));
        }
    };
    let Some(authority) = uri.authority() else {
        return Err(FetchError::InvalidRequest(format!(
            "{uri:?} is not an absolute URL (no host)"
        )));
    };
    let method = match parts.method {
        http::Method::GET => Method::Get,
        http::Method::HEAD => Method::Head,
        http::Method::POST => Method::Post,
        http::Method::PUT => Method::Put,
        http::Method::DELETE => Method::Delete,
        http::Method::CONNECT => Method::Connect,
        http::Method::OPTIONS => Method::Options,
        http::Method::TRACE => Method::Trace,
        http::Method::PATCH => Method::Patch,
        ref other => Method::Other(other.as_str().to_string()),
    };
    let mut headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !CONNECTION_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
        .collect();
    let wants_length = !body.is_empty()
        || matches!(
            parts.method,
            http::Method::POST | http::Method::PUT | http::Method::PATCH
        );
    if wants_length && !parts.headers.contains_key(http::header::CONTENT_LENGTH) {
        headers.push(("content-length".to_string(), body.len().to_string().into()));
    }
    Ok(Prepared {
        method,
        scheme,
        authority: authority.as_str().to_string(),
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string()),
        headers,
        body,
    })
}

fn send(
    request: http::Request<Vec<u8>>,
    limit: Option<usize>,
) -> Result<http::Response<Vec<u8>>, FetchError> {
    let prepared = prepare(request)?;

    let fields = Fields::new();
    for (name, value) in &prepared.headers {
        fields.append(name, value).map_err(|e| {
            FetchError::InvalidRequest(format!("header {name:?} refused by the host: {e:?}"))
        })?;
    }
    let outgoing = OutgoingRequest::new(fields);
    let refused = |what: &str| FetchError::InvalidRequest(format!("{what} refused by the host"));
    outgoing
        .set_method(&prepared.method)
        .map_err(|()| refused("method"))?;
    outgoing
        .set_scheme(Some(&prepared.scheme))
        .map_err(|()| refused("scheme"))?;
    outgoing
        .set_authority(Some(&prepared.authority))
        .map_err(|()| refused("authority"))?;
    outgoing
        .set_path_with_query(Some(&prepared.path_and_query))
        .map_err(|()| refused("path"))?;
    // A request whose body is never taken goes out with an empty one and no framing
    // headers of its own, which is what a body-less `GET` should look like.
    let body = if prepared.body.is_empty() {
        None
    } else {
        Some(outgoing.body().map_err(|()| {
            FetchError::InvalidRequest("the host refused a request body".to_string())
        })?)
    };

    // Hand the request over first and stream its body afterwards: the host consumes the
    // body while it sends, so a body larger than the host's buffer cannot block.
    let future = outgoing_handler::handle(outgoing, None).map_err(|e| http_error(&e))?;
    if let Some(body) = body
        && write_body(&body, &prepared.body).is_ok()
    {
        // `finish` fails only when fewer bytes were written than a `content-length`
        // promised; the host then aborts the request and the response says so.
        let _ = OutgoingBody::finish(body, None);
    }
    // A failed body write stops the upload early and drops `body` unfinished, which
    // aborts the request. Either way the outcome is what the host says next: a response
    // (a server may answer before reading the whole body) or the `error-code` that ended
    // the request, which is more telling than the write error it caused.
    let response = wait(&future)?;
    drop(future);
    read_response(response, limit)
}

/// Writes `data` into the request body in chunks.
fn write_body(body: &OutgoingBody, data: &[u8]) -> Result<(), FetchError> {
    let stream = body
        .write()
        .map_err(|()| FetchError::Body("request body stream unavailable".to_string()))?;
    write_all(&stream, data)?;
    match stream.blocking_flush() {
        // Every byte was accepted; a consumer that has had them all may close the
        // stream before the flush (the host does once a `content-length` is reached).
        Ok(()) | Err(StreamError::Closed) => Ok(()),
        Err(e) => Err(stream_error(e, "request")),
    }
    // `stream`, a child of `body`, is dropped here, before the caller finishes `body`.
}

fn write_all(stream: &OutputStream, mut data: &[u8]) -> Result<(), FetchError> {
    while !data.is_empty() {
        let ready = stream
            .check_write()
            .map_err(|e| stream_error(e, "request"))?;
        if ready == 0 {
            stream.subscribe().block();
            continue;
        }
        let n = data
            .len()
            .min(CHUNK)
            .min(usize::try_from(ready).unwrap_or(usize::MAX));
        stream
            .write(&data[..n])
            .map_err(|e| stream_error(e, "request"))?;
        data = &data[n..];
    }
    Ok(())
}

/// Blocks until the response's status and headers arrive.
fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, FetchError> {
    loop {
        match future.get() {
            Some(Ok(result)) => return result.map_err(|e| http_error(&e)),
            Some(Err(())) => {
                return Err(FetchError::Body("response already taken".to_string()));
            }
            None => future.subscribe().block(),
        }
    }
}

fn read_response(
    response: IncomingResponse,
    limit: Option<usize>,
) -> Result<http::Response<Vec<u8>>, FetchError> {
    let status = response.status();
    let entries = {
        let headers = response.headers();
        headers.entries()
    };
    let incoming = response
        .consume()
        .map_err(|()| FetchError::Body("response body unavailable".to_string()))?;
    let body = {
        let stream = incoming
            .stream()
            .map_err(|()| FetchError::Body("response body stream unavailable".to_string()))?;
        let hint = content_length(&entries);
        read_all(&stream, hint, limit)?
        // `stream`, a child of `incoming`, is dropped here.
    };
    drop(IncomingBody::finish(incoming));
    drop(response);

    let mut builder = http::Response::builder().status(status);
    for (name, value) in entries {
        // The host has already parsed these as HTTP headers; anything that does not
        // convert is left out rather than failing a response that did arrive.
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_bytes(&value),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(body)
        .map_err(|e| FetchError::Http(format!("invalid upstream response: {e}")))
}

fn content_length(entries: &[(String, Vec<u8>)]) -> Option<usize> {
    entries
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| std::str::from_utf8(value).ok()?.trim().parse().ok())
}

/// Reads a body stream to its end, chunk by chunk, never past `limit` (+ one chunk).
fn read_all(
    stream: &InputStream,
    hint: Option<usize>,
    limit: Option<usize>,
) -> Result<Vec<u8>, FetchError> {
    let mut body = Vec::new();
    if let Some(hint) = hint {
        if limit.is_some_and(|limit| hint > limit) {
            return Err(FetchError::BodyTooLarge {
                limit: limit.unwrap_or_default(),
            });
        }
        // Only a hint: a failed reservation just means growing as the chunks come.
        let _ = body.try_reserve_exact(hint);
    }
    loop {
        let chunk = match stream.blocking_read(CHUNK as u64) {
            Ok(chunk) => chunk,
            Err(StreamError::Closed) => return Ok(body),
            Err(e) => return Err(stream_error(e, "response")),
        };
        if let Some(limit) = limit
            && body.len() + chunk.len() > limit
        {
            return Err(FetchError::BodyTooLarge { limit });
        }
        body.try_reserve(chunk.len()).map_err(|_| {
            FetchError::Body(format!(
                "out of memory after {} bytes of the response body",
                body.len()
            ))
        })?;
        body.extend_from_slice(&chunk);
    }
}

/// `error-code` as text: its Rust name and payload without the type's prefix, e.g.
/// `HttpRequestDenied` or `DnsError(DnsErrorPayload { rcode: Some("NXDOMAIN"), .. })`.
fn code_text(code: &ErrorCode) -> String {
    let text = format!("{code:?}");
    match text.strip_prefix("ErrorCode::") {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

fn http_error(code: &ErrorCode) -> FetchError {
    FetchError::Http(code_text(code))
}

/// A stream failure: the `error-code` behind it when the host gives one.
fn stream_error(e: StreamError, which: &str) -> FetchError {
    match e {
        StreamError::Closed => FetchError::Body(format!("{which} body stream closed early")),
        StreamError::LastOperationFailed(e) => match wasip2::http::types::http_error_code(&e) {
            Some(code) => http_error(&code),
            None => FetchError::Body(format!("{which} body: {}", io_error_text(&e))),
        },
    }
}

/// An I/O error's text without the host's backtrace, which wasmtime appends when it
/// captured one.
fn io_error_text(e: &wasip2::io::error::Error) -> String {
    let text = e.to_debug_string();
    match text.split_once("Stack backtrace:") {
        Some((message, _)) => message.trim_end().to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str, body: &[u8]) -> http::Request<Vec<u8>> {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "ignored.example")
            .header("connection", "close")
            .header("x-trace", "abc")
            .body(body.to_vec())
            .expect("valid request")
    }

    #[test]
    fn prepare_splits_the_url_and_drops_connection_headers() {
        let p =
            prepare(request("GET", "https://api.example.com:8443/a/b?c=d", b"")).expect("prepares");
        assert!(matches!(p.method, Method::Get));
        assert!(matches!(p.scheme, Scheme::Https));
        assert_eq!(p.authority, "api.example.com:8443");
        assert_eq!(p.path_and_query, "/a/b?c=d");
        assert_eq!(p.headers, [("x-trace".to_string(), b"abc".to_vec())]);
    }

    #[test]
    fn prepare_adds_content_length_for_bodies_and_empty_posts() {
        let p = prepare(request("PUT", "http://h/x", b"hello")).expect("prepares");
        assert!(
            p.headers
                .contains(&("content-length".to_string(), b"5".to_vec()))
        );
        let p = prepare(request("POST", "http://h", b"")).expect("prepares");
        assert!(
            p.headers
                .contains(&("content-length".to_string(), b"0".to_vec()))
        );
        assert_eq!(p.path_and_query, "/");
        let p = prepare(request("GET", "http://h/", b"")).expect("prepares");
        assert!(!p.headers.iter().any(|(n, _)| n == "content-length"));
        let mut r = request("POST", "http://h/", b"abc");
        r.headers_mut()
            .insert("content-length", http::HeaderValue::from_static("3"));
        let p = prepare(r).expect("prepares");
        let lengths = p.headers.iter().filter(|(n, _)| n == "content-length");
        assert_eq!(lengths.count(), 1);
    }

    #[test]
    fn prepare_maps_methods_and_schemes() {
        let p = prepare(request("PATCH", "ftp://h/", b"")).expect("prepares");
        assert!(matches!(p.method, Method::Patch));
        assert!(matches!(p.scheme, Scheme::Other(ref s) if s == "ftp"));
        let p = prepare(request("PURGE", "http://h/", b"")).expect("prepares");
        assert!(matches!(p.method, Method::Other(ref m) if m == "PURGE"));
    }

    #[test]
    fn relative_urls_are_invalid_requests() {
        let err = prepare(request("GET", "/only/a/path", b"")).expect_err("no scheme");
        assert!(matches!(err, FetchError::InvalidRequest(_)), "{err:?}");
        assert!(err.to_string().contains("not an absolute URL"), "{err}");
    }

    #[test]
    fn error_codes_read_as_their_names() {
        assert_eq!(
            code_text(&ErrorCode::HttpRequestDenied),
            "HttpRequestDenied"
        );
        let e = http_error(&ErrorCode::ConnectionRefused);
        assert_eq!(e, FetchError::Http("ConnectionRefused".to_string()));
        assert_eq!(e.to_string(), "outbound request failed: ConnectionRefused");
        let text = code_text(&ErrorCode::InternalError(Some("boom".to_string())));
        assert_eq!(text, r#"InternalError(Some("boom"))"#);
    }

    #[test]
    fn content_length_hint_is_case_insensitive() {
        let entries = [("Content-Length".to_string(), b" 12 ".to_vec())];
        assert_eq!(content_length(&entries), Some(12));
        assert_eq!(content_length(&[]), None);
    }
}
