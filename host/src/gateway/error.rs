//! The error responses the gateway itself sends, with API Gateway's bodies.

use crate::exchange::{Response, ResponseBody};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode};

/// An error the gateway answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// 400 `{"message":"Bad Request"}`: the request body could not be read.
    BadRequest,
    /// 404 `{"message":"Not Found"}`: no route matched.
    NotFound,
    /// 408 `{"message":"Request Timeout"}`: the request body did not arrive within
    /// `body_timeout`.
    RequestTimeout,
    /// 413 `{"message":"Request Entity Too Large"}`: body over `max_body`.
    PayloadTooLarge,
    /// 431 `{"message":"Request Header Fields Too Large"}`: request line and headers
    /// over `max_header_bytes`.
    HeaderFieldsTooLarge,
    /// 500 `{"message":"Internal Server Error"}`: trap, guest error, malformed or
    /// oversized response.
    Internal,
    /// 503 `{"message":"Service Unavailable"}`: timeout, no instance free, or the
    /// host already holds `max_body_bytes_in_flight` of request bodies.
    Unavailable,
}

impl GatewayError {
    /// The status code.
    pub fn status(self) -> StatusCode {
        match self {
            GatewayError::BadRequest => StatusCode::BAD_REQUEST,
            GatewayError::NotFound => StatusCode::NOT_FOUND,
            GatewayError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            GatewayError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::HeaderFieldsTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            GatewayError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON body.
    pub fn body(self) -> &'static str {
        match self {
            GatewayError::BadRequest => r#"{"message":"Bad Request"}"#,
            GatewayError::NotFound => r#"{"message":"Not Found"}"#,
            GatewayError::RequestTimeout => r#"{"message":"Request Timeout"}"#,
            GatewayError::PayloadTooLarge => r#"{"message":"Request Entity Too Large"}"#,
            GatewayError::HeaderFieldsTooLarge => {
                r#"{"message":"Request Header Fields Too Large"}"#
            }
            GatewayError::Internal => r#"{"message":"Internal Server Error"}"#,
            GatewayError::Unavailable => r#"{"message":"Service Unavailable"}"#,
        }
    }

    /// The full response.
    pub fn response(self) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Response {
            status: self.status(),
            headers,
            body: ResponseBody::Full(Bytes::from_static(self.body().as_bytes())),
        }
    }
}
