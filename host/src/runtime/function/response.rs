//! Maps a Portico function's `http-response` to HTTP, checking every part of it.

use super::bindings::HttpResponse;
use crate::exchange::{Response, ResponseBody};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, SET_COOKIE};
use http::{HeaderMap, StatusCode};

/// Why a function's response could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MalformedResponse {
    /// Status outside 200..=599.
    #[error("status {0} is not a valid final HTTP status (200-599)")]
    Status(u16),
    /// A header name that is not a valid HTTP token.
    #[error("header name {0:?} is not valid HTTP")]
    HeaderName(String),
    /// A header or cookie value with forbidden characters.
    #[error("value of header {0:?} is not valid HTTP")]
    HeaderValue(String),
}

/// Headers the gateway controls; a function's values for them are dropped.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "upgrade"
            | "te"
            | "trailer"
            | "proxy-connection"
    )
}

/// Converts a function's response, checking every part of it.
pub fn map_response(response: HttpResponse) -> Result<Response, MalformedResponse> {
    let status = match response.status {
        s @ 200..=599 => StatusCode::from_u16(s).map_err(|_| MalformedResponse::Status(s))?,
        s => return Err(MalformedResponse::Status(s)),
    };
    let mut headers = HeaderMap::with_capacity(response.headers.len() + response.cookies.len());
    for (name, value) in response.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| MalformedResponse::HeaderName(name.clone()))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| MalformedResponse::HeaderValue(name.to_string()))?;
        if !is_hop_by_hop(&name) {
            headers.append(name, value);
        }
    }
    for cookie in response.cookies {
        let value = HeaderValue::from_str(&cookie)
            .map_err(|_| MalformedResponse::HeaderValue("set-cookie".into()))?;
        headers.append(SET_COOKIE, value);
    }
    Ok(Response {
        status,
        headers,
        body: ResponseBody::Full(Bytes::from(response.body)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], cookies: &[&str]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cookies: cookies.iter().map(|c| c.to_string()).collect(),
            body: b"hi".to_vec(),
        }
    }

    #[test]
    fn maps_headers_cookies_and_drops_hop_by_hop() {
        let r = map_response(response(
            201,
            &[("X-A", "1"), ("x-a", "2"), ("content-length", "999")],
            &["a=1", "b=2; Path=/"],
        ))
        .expect("valid");
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.headers.get_all("x-a").iter().count(), 2);
        assert_eq!(r.headers.get_all(SET_COOKIE).iter().count(), 2);
        assert!(r.headers.get("content-length").is_none());
    }

    #[test]
    fn rejects_malformed_parts() {
        assert!(matches!(
            map_response(response(999, &[], &[])),
            Err(MalformedResponse::Status(999))
        ));
        assert!(matches!(
            map_response(response(100, &[], &[])),
            Err(MalformedResponse::Status(100))
        ));
        assert!(matches!(
            map_response(response(200, &[("bad name", "v")], &[])),
            Err(MalformedResponse::HeaderName(_))
        ));
        assert!(matches!(
            map_response(response(200, &[("x", "a\nb")], &[])),
            Err(MalformedResponse::HeaderValue(_))
        ));
        assert!(matches!(
            map_response(response(200, &[], &["a=\r\n"])),
            Err(MalformedResponse::HeaderValue(_))
        ));
    }
}
