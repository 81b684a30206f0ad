//! # wasi-http-hello
//!
//! A plain, standard `wasi:http/proxy` component: it exports
//! `wasi:http/incoming-handler@0.2.x` and imports only WASI (`wasi:http/types`,
//! `wasi:http/outgoing-handler`, `wasi:io`, `wasi:cli` …). It uses no Portico crate and does
//! not export `portico:edge/handler`; the bindings come from the Bytecode Alliance's
//! [`wasip2`] crate. The same `.wasm` file runs unchanged under `wasmtime serve`, Spin, or
//! any other `wasi:http/proxy` host:
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml \
//!     --target-dir examples/target -p wasi-http-hello
//! wasmtime serve -S cli=y --env GREETING=hi \
//!     examples/target/wasm32-wasip2/release/wasi_http_hello.wasm
//! curl localhost:8080/wasi/hello/ada        # {"hello":"ada"}
//! curl localhost:8080/wasi/env/GREETING     # hi
//! ```
//!
//! (`-S cli=y` because Rust's standard library imports `wasi:cli/environment`, `exit` and
//! the terminal interfaces besides the proxy world's own imports.)
//!
//! Routes (the component matches them itself, on the request's path-with-query):
//!
//! | request | answer |
//! |---|---|
//! | `GET /wasi/hello`, `GET /wasi/hello/{name}` | 200 `{"hello":"NAME"}` (default `world`) |
//! | `POST /wasi/echo` | 200, the request body streamed back chunk by chunk, same `content-type` |
//! | `GET /wasi/bytes/{n}` | 200, exactly `n` bytes (byte `i` is `i % 251`), generated in chunks; 400 for a bad `n` |
//! | `GET /wasi/fetch?url=URL` | 200 with the upstream body and `x-upstream-status`; 502 `{"error":"<error-code>"}` if the outgoing request fails |
//! | `GET /wasi/env/{NAME}` | 200 with the variable's value as text; 404 if unset |
//! | `GET /wasi/spin` | never answers: loops until the host's timeout stops it |
//! | `GET /wasi/panic` | panics (a trap) before setting a response |
//! | anything else | 404 `{"message":"Not Found"}` |
//!
//! Every response carries `x-handler: wasi-http`. Bodies are never held whole in memory: the
//! echo, bytes and fetch routes move at most 64 KiB at a time, so they work for bodies of
//! tens of MiB in a small linear memory. The response (status and headers) is handed to the
//! host before the body is streamed, and every body is closed with `OutgoingBody::finish`.

use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingRequest, IncomingResponse,
    Method, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam, Scheme,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// The most bytes moved through linear memory at once.
const CHUNK: usize = 64 * 1024;

/// The largest `n` that `GET /wasi/bytes/{n}` accepts (1 GiB).
const MAX_GENERATED: u64 = 1 << 30;

struct WasiHttpHello;

wasip2::http::proxy::export!(WasiHttpHello);

impl Guest for WasiHttpHello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        route(&request, out);
        // `request` drops last, after every child resource (headers, body, stream) taken
        // from it inside `route`.
    }
}

fn route(request: &IncomingRequest, out: ResponseOutparam) {
    let path_with_query = request.path_with_query().unwrap_or_else(|| "/".to_string());
    let (path, query) = match path_with_query.split_once('?') {
        Some((path, query)) => (path, query),
        None => (path_with_query.as_str(), ""),
    };
    let method = request.method();
    let get = matches!(method, Method::Get);
    let post = matches!(method, Method::Post);

    match path.strip_prefix("/wasi/") {
        Some("hello") if get => hello(out, "world"),
        Some(rest) if get && one_segment(rest, "hello/").is_some() => {
            let name = percent_decode(one_segment(rest, "hello/").unwrap_or_default(), false);
            hello(out, &name)
        }
        Some("echo") if post => echo(request, out),
        Some(rest) if get && one_segment(rest, "bytes/").is_some() => {
            bytes(out, one_segment(rest, "bytes/").unwrap_or_default())
        }
        Some("fetch") if get => fetch(out, query),
        Some(rest) if get && one_segment(rest, "env/").is_some() => {
            let name = percent_decode(one_segment(rest, "env/").unwrap_or_default(), false);
            env(out, &name)
        }
        Some("spin") if get => spin(),
        Some("panic") if get => panic!("asked to panic"),
        _ => not_found(out),
    }
}

/// Spins without end (the host's `timeout` is what stops it).
fn spin() {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// `rest` with `prefix` removed, when what is left is one non-empty path segment.
fn one_segment<'a>(rest: &'a str, prefix: &str) -> Option<&'a str> {
    rest.strip_prefix(prefix)
        .filter(|segment| !segment.is_empty() && !segment.contains('/'))
}

// ---------------------------------------------------------------------------------------
// Routes

fn hello(out: ResponseOutparam, name: &str) {
    let body = serde_json::json!({ "hello": name }).to_string();
    respond(
        out,
        200,
        &[("content-type", b"application/json")],
        body.as_bytes(),
    );
}

fn not_found(out: ResponseOutparam) {
    respond(
        out,
        404,
        &[("content-type", b"application/json")],
        br#"{"message":"Not Found"}"#,
    );
}

fn json_error(out: ResponseOutparam, status: u16, message: &str) {
    let body = serde_json::json!({ "error": message }).to_string();
    respond(
        out,
        status,
        &[("content-type", b"application/json")],
        body.as_bytes(),
    );
}

/// Streams the request body back, one chunk of at most [`CHUNK`] bytes at a time.
fn echo(request: &IncomingRequest, out: ResponseOutparam) {
    let content_type = {
        let headers = request.headers();
        headers.get("content-type").into_iter().next()
    };
    let Ok(incoming) = request.consume() else {
        return json_error(out, 500, "request body already consumed");
    };
    let Ok(input) = incoming.stream() else {
        return json_error(out, 500, "request body stream unavailable");
    };
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    if let Some(content_type) = &content_type {
        headers.push(("content-type", content_type));
    }
    let Some(mut writer) = BodyWriter::start(out, 200, &headers) else {
        return;
    };
    if let Err(e) = copy(&input, &mut writer) {
        // Headers are already out: all that is left is to end the body abnormally, which
        // dropping the writer without `finish` does.
        eprintln!("echo: {e}");
        return;
    }
    drop(input);
    drop(IncomingBody::finish(incoming));
    writer.finish();
}

/// Writes exactly `n` generated bytes, byte `i` being `(i % 251) as u8`.
fn bytes(out: ResponseOutparam, n: &str) {
    let n = match n.parse::<u64>() {
        Ok(n) if n <= MAX_GENERATED => n,
        _ => {
            return json_error(
                out,
                400,
                &format!("n must be a whole number of bytes from 0 to {MAX_GENERATED}"),
            );
        }
    };
    // One period of slack lets every chunk be a slice of the same pattern buffer.
    let pattern: Vec<u8> = (0..CHUNK + 251).map(|i| (i % 251) as u8).collect();
    let length = n.to_string();
    let headers: [(&str, &[u8]); 2] = [
        ("content-type", b"application/octet-stream"),
        ("content-length", length.as_bytes()),
    ];
    let Some(mut writer) = BodyWriter::start(out, 200, &headers) else {
        return;
    };
    let mut sent: u64 = 0;
    while sent < n {
        let len = (n - sent).min(CHUNK as u64) as usize;
        let start = (sent % 251) as usize;
        if let Err(e) = writer.write_all(&pattern[start..start + len]) {
            eprintln!("bytes: {e}");
            return;
        }
        sent += len as u64;
    }
    writer.finish();
}

/// `GET URL` through `wasi:http/outgoing-handler`, streaming the upstream body back.
fn fetch(out: ResponseOutparam, query: &str) {
    let Some(url) = query_param(query, "url") else {
        return json_error(out, 400, "missing query parameter url");
    };
    let request = match outgoing_get(&url) {
        Ok(request) => request,
        Err(message) => return json_error(out, 400, &message),
    };
    let upstream = match outgoing_handler::handle(request, None).and_then(|f| wait(&f)) {
        Ok(upstream) => upstream,
        Err(code) => return json_error(out, 502, &format!("{code:?}")),
    };
    let status = upstream.status().to_string();
    let content_type = {
        let headers = upstream.headers();
        headers.get("content-type").into_iter().next()
    };
    let mut headers: Vec<(&str, &[u8])> = vec![("x-upstream-status", status.as_bytes())];
    if let Some(content_type) = &content_type {
        headers.push(("content-type", content_type));
    }
    let Ok(incoming) = upstream.consume() else {
        return json_error(out, 502, "upstream body unavailable");
    };
    let Ok(input) = incoming.stream() else {
        return json_error(out, 502, "upstream body stream unavailable");
    };
    let Some(mut writer) = BodyWriter::start(out, 200, &headers) else {
        return;
    };
    if let Err(e) = copy(&input, &mut writer) {
        eprintln!("fetch: {e}");
        return;
    }
    drop(input);
    drop(IncomingBody::finish(incoming));
    drop(upstream);
    writer.finish();
}

fn env(out: ResponseOutparam, name: &str) {
    match std::env::var_os(name) {
        Some(value) => respond(
            out,
            200,
            &[("content-type", b"text/plain; charset=utf-8")],
            value.to_string_lossy().as_bytes(),
        ),
        None => not_found(out),
    }
}

// ---------------------------------------------------------------------------------------
// Outgoing requests

/// Builds a body-less `GET` for an absolute `http`/`https` URL.
fn outgoing_get(url: &str) -> Result<OutgoingRequest, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("invalid url {url:?}: {e}"))?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        Some(other) => Scheme::Other(other.to_string()),
        None => return Err(format!("invalid url {url:?}: no scheme")),
    };
    let Some(authority) = uri.authority() else {
        return Err(format!("invalid url {url:?}: no host"));
    };
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let request = OutgoingRequest::new(Fields::new());
    let invalid = |what: &str| format!("invalid url {url:?}: bad {what}");
    request
        .set_method(&Method::Get)
        .map_err(|()| invalid("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    request
        .set_authority(Some(authority.as_str()))
        .map_err(|()| invalid("authority"))?;
    request
        .set_path_with_query(Some(path_and_query))
        .map_err(|()| invalid("path"))?;
    Ok(request)
}

/// Blocks until the outgoing request's response (status and headers) arrives.
fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, ErrorCode> {
    loop {
        match future.get() {
            Some(Ok(result)) => return result,
            Some(Err(())) => {
                return Err(ErrorCode::InternalError(Some(
                    "response already taken".to_string(),
                )));
            }
            None => future.subscribe().block(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Outgoing responses

/// Sends a whole (small) response.
fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &[u8])], body: &[u8]) {
    if let Some(mut writer) = BodyWriter::start(out, status, headers) {
        match writer.write_all(body) {
            Ok(()) => writer.finish(),
            Err(e) => eprintln!("respond: {e}"),
        }
    }
}

/// An outgoing response body whose status and headers are already with the host.
///
/// Dropping it without [`BodyWriter::finish`] ends the body abnormally (the host sees a
/// truncated body), which is the right thing after a failure half-way.
struct BodyWriter {
    // Field order matters: the stream is a child of the body and drops first.
    stream: OutputStream,
    body: OutgoingBody,
}

impl BodyWriter {
    /// Builds the response, hands it to the host through `out` (so the status and headers
    /// can reach the client now), and returns its body for streaming.
    fn start(out: ResponseOutparam, status: u16, headers: &[(&str, &[u8])]) -> Option<Self> {
        let mut entries: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_vec()))
            .collect();
        entries.push(("x-handler".to_string(), b"wasi-http".to_vec()));
        let fields = match Fields::from_list(&entries) {
            Ok(fields) => fields,
            Err(e) => {
                let message = format!("bad response header: {e:?}");
                eprintln!("{message}");
                ResponseOutparam::set(out, Err(ErrorCode::InternalError(Some(message))));
                return None;
            }
        };
        let response = OutgoingResponse::new(fields);
        if response.set_status_code(status).is_err() {
            ResponseOutparam::set(
                out,
                Err(ErrorCode::InternalError(Some(format!(
                    "bad status {status}"
                )))),
            );
            return None;
        }
        let body = response.body().expect("a new response's body is available");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("a new body's stream is available");
        Some(BodyWriter { stream, body })
    }

    /// Writes all of `data`, waiting whenever the host's buffer is full.
    fn write_all(&mut self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            let ready = self.stream.check_write().map_err(stream_error)?;
            if ready == 0 {
                self.stream.subscribe().block();
                continue;
            }
            let n = data.len().min(usize::try_from(ready).unwrap_or(usize::MAX));
            self.stream.write(&data[..n]).map_err(stream_error)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Flushes and closes the body: the response is complete.
    fn finish(self) {
        let BodyWriter { stream, body } = self;
        let flushed = stream.blocking_flush();
        // The stream is a child of the body: it must go before the body is finished or
        // dropped (the host traps otherwise).
        drop(stream);
        match flushed {
            // Every byte was accepted; a consumer that has had them all may close the
            // stream before the flush (wasmtime does once a `content-length` is reached).
            Ok(()) | Err(StreamError::Closed) => {
                if let Err(e) = OutgoingBody::finish(body, None) {
                    eprintln!("finish: {e:?}");
                }
            }
            Err(e) => eprintln!("flush: {}", stream_error(e)),
        }
    }
}

/// Copies `input` to `writer` chunk by chunk until the input ends.
fn copy(input: &InputStream, writer: &mut BodyWriter) -> Result<(), String> {
    loop {
        match input.blocking_read(CHUNK as u64) {
            Ok(chunk) => writer.write_all(&chunk)?,
            Err(StreamError::Closed) => return Ok(()),
            Err(e) => return Err(stream_error(e)),
        }
    }
}

fn stream_error(e: StreamError) -> String {
    match e {
        StreamError::Closed => "stream closed".to_string(),
        StreamError::LastOperationFailed(e) => match wasip2::http::types::http_error_code(&e) {
            Some(code) => format!("{code:?}"),
            None => io_error_text(&e),
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

// ---------------------------------------------------------------------------------------
// URL helpers

/// The decoded value of the first `name=value` pair of a query string.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key, true) == name).then(|| percent_decode(value, true))
    })
}

/// Decodes `%XX` escapes (and `+` as a space in a query); a malformed escape stays as is.
fn percent_decode(input: &str, plus_is_space: bool) -> String {
    let bytes = input.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    decoded.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                _ => decoded.push(b'%'),
            },
            b'+' if plus_is_space => decoded.push(b' '),
            b => decoded.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
