//! The operator console: one static page on the admin listener (`/console`), with its
//! script and style sheet compiled into the binary. It has no power of its own: the
//! page asks for the admin token and calls the admin API with it (`GET /functions`,
//! `POST /functions/{name}/rollback`, `PUT /functions/{name}`, `GET /audit`,
//! `GET /logs/access`) and reads
//! `/metrics`, whose counters it samples while it is open for its charts. No build
//! toolchain: plain HTML, CSS and JavaScript, and SVG drawn by the script.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

/// Scripts and styles from the page's own origin only; calls to the admin API only.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The console's file at `path` (`/console`, `/console/console.js`, `/console/console.css`).
pub fn file(path: &str) -> Response<Full<Bytes>> {
    let (body, content_type) = match path {
        "/console" => (PAGE, "text/html; charset=utf-8"),
        "/console/console.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "/console/console.css" => (STYLE, "text/css; charset=utf-8"),
        _ => ("", "text/plain"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    if body.is_empty() {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("content-security-policy", HeaderValue::from_static(POLICY));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}
