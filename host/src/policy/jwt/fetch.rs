//! One bounded GET of an issuer's document (its JWKS, or its OpenID configuration),
//! within API Gateway's limits for JWKS endpoints: 1.5 s for the whole exchange and
//! 150 KB of body.
//!
//! Sent by wasmtime-wasi-http's `default_send_request`, the client functions' outbound
//! requests use too (HTTP/1.1, TLS with the webpki roots), so the host has one HTTP
//! client stack, not two. Redirects are not followed.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use std::time::Duration;

/// How long the whole exchange may take.
pub const TIMEOUT: Duration = Duration::from_millis(1500);
/// The largest body accepted.
pub const MAX_BYTES: usize = 150 * 1024;

/// Why a document could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL cannot be requested.
    #[error("bad URL {0:?}")]
    Url(String),
    /// Connecting, TLS or the exchange failed.
    #[error("{0}")]
    Http(String),
    /// Not a 200.
    #[error("answered {0}")]
    Status(http::StatusCode),
    /// The body is over [`MAX_BYTES`].
    #[error("the document is over {MAX_BYTES} bytes")]
    TooLarge,
    /// No answer within [`TIMEOUT`].
    #[error("no answer within {}", humantime::format_duration(TIMEOUT))]
    TimedOut,
}

/// GETs `url` and returns its body, within [`TIMEOUT`] and [`MAX_BYTES`].
pub async fn get(url: &str) -> Result<Bytes, FetchError> {
    tokio::time::timeout(TIMEOUT, exchange(url))
        .await
        .map_err(|_| FetchError::TimedOut)?
}

async fn exchange(url: &str) -> Result<Bytes, FetchError> {
    let uri: http::Uri = url.parse().map_err(|_| FetchError::Url(url.to_string()))?;
    let request = http::Request::get(uri)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "portico")
        .body(Empty::<Bytes>::new().map_err(|never| match never {}))
        .map_err(|_| FetchError::Url(url.to_string()))?;
    let request = set_host(request);
    // The whole exchange is bounded by `get`'s TIMEOUT; these only keep the client's own
    // (600 s) defaults out of the way, and fire later so that one error says why.
    let options = wasmtime_wasi_http::RequestOptions {
        connect_timeout: Some(2 * TIMEOUT),
        first_byte_timeout: Some(2 * TIMEOUT),
        between_bytes_timeout: Some(2 * TIMEOUT),
    };
    let (response, connection) = wasmtime_wasi_http::default_send_request(request, Some(options))
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    // The connection is driven beside the body; dropping the task ends it.
    let driver = tokio::spawn(connection);
    let result = async {
        if response.status() != http::StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        match Limited::new(response.into_body(), MAX_BYTES)
            .collect()
            .await
        {
            Ok(body) => Ok(body.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(FetchError::TooLarge),
            Err(e) => Err(FetchError::Http(e.to_string())),
        }
    }
    .await;
    driver.abort();
    result
}

/// HTTP/1.1 needs `host`; hyper's connection-level client does not add it.
fn set_host<B>(mut request: http::Request<B>) -> http::Request<B> {
    if let Some(authority) = request.uri().authority()
        && let Ok(host) = http::HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(http::header::HOST, host);
    }
    request
}
