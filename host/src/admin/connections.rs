//! `/@connections/{id}`, API Gateway's connection management API, and
//! `/@peer/connections/{id}`, the same for the other hosts sharing this host's
//! DynamoDB ([`crate::sockets::peer`]).
//!
//! On both, `POST` sends the body to the client, `GET` describes the connection and
//! `DELETE` closes it; a connection that is gone answers 410. The public one reaches a
//! connection wherever it is, and decides a text or a binary frame by whether the body
//! is UTF-8; the peer one acts on this host's connections only, and takes the frame
//! type from the `x-portico-frame` header.

use super::{Admin, AdminToken, Denied, error, json, method_not_allowed, respond};
use crate::sockets::peer::{FRAME_HEADER, PATH};
use crate::sockets::{Outgoing, SocketError, Sockets};
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;

/// The largest message body taken (API Gateway's message limit is 128 KB; the API's own
/// `max_message` is checked when it is sent).
const MAX_BODY: usize = 1 << 20;

fn failed(e: &SocketError) -> Response<Full<Bytes>> {
    let status = match *e {
        SocketError::Gone(_) => StatusCode::GONE,
        SocketError::Invalid(_) => StatusCode::PAYLOAD_TOO_LARGE,
        SocketError::Unavailable(_) => StatusCode::BAD_GATEWAY,
    };
    error(status, &e.to_string())
}

async fn read(body: Incoming) -> Result<Bytes, Response<Full<Bytes>>> {
    match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => Ok(body.to_bytes()),
        Err(_) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is over 1 MiB, or broken",
        )),
    }
}

fn no_content() -> Response<Full<Bytes>> {
    respond(StatusCode::NO_CONTENT, "application/json", String::new())
}

/// `/@connections/{id}`, behind the admin token.
pub(super) async fn public(
    sockets: &Sockets,
    method: &Method,
    id: &str,
    body: Incoming,
) -> Response<Full<Bytes>> {
    match *method {
        Method::POST => {
            let bytes = match read(body).await {
                Ok(bytes) => bytes,
                Err(response) => return response,
            };
            let message = match String::from_utf8(bytes.to_vec()) {
                Ok(text) => Outgoing::Text(text),
                Err(e) => Outgoing::Binary(e.into_bytes()),
            };
            match sockets.post(id, message).await {
                Ok(()) => json(StatusCode::OK, &serde_json::json!({})),
                Err(e) => failed(&e),
            }
        }
        Method::GET => match sockets.get(id).await {
            Ok(info) => json(
                StatusCode::OK,
                &serde_json::json!({
                    "connectedAt": crate::deploy::rfc3339(info.connected_at),
                    "lastActiveAt": crate::deploy::rfc3339(info.last_active_at),
                    "identity": {
                        "sourceIp": info.source_ip,
                        "userAgent": info.user_agent,
                    },
                }),
            ),
            Err(e) => failed(&e),
        },
        Method::DELETE => match sockets.close(id).await {
            Ok(()) => no_content(),
            Err(e) => failed(&e),
        },
        _ => method_not_allowed(),
    }
}

/// `/@peer/connections/{id}`, behind the peer credential.
pub(super) async fn peer(
    admin: &Admin,
    parts: &http::request::Parts,
    body: Incoming,
) -> Response<Full<Bytes>> {
    match AdminToken::check_peer(admin.token.as_ref(), &parts.headers) {
        Ok(()) => {}
        Err(Denied::NotConfigured) => {
            return error(
                StatusCode::FORBIDDEN,
                "this host has no admin token, so it shares no connections",
            );
        }
        Err(Denied::BadToken) => {
            return error(StatusCode::UNAUTHORIZED, "missing or wrong peer credential");
        }
    }
    let raw = parts.uri.path().strip_prefix(PATH).unwrap_or_default();
    let id = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    if id.is_empty() || id.contains('/') {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    let sockets = admin.deployer.gateway().sockets();
    match parts.method {
        Method::POST => {
            let bytes = match read(body).await {
                Ok(bytes) => bytes,
                Err(response) => return response,
            };
            let binary = parts
                .headers
                .get(FRAME_HEADER)
                .is_some_and(|v| v.as_bytes() == b"binary");
            let message = if binary {
                Outgoing::Binary(bytes.to_vec())
            } else {
                match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => Outgoing::Text(text),
                    Err(_) => {
                        return error(StatusCode::BAD_REQUEST, "a text message must be UTF-8");
                    }
                }
            };
            match sockets.post_here(&id, message) {
                Ok(()) => no_content(),
                Err(e) => failed(&e),
            }
        }
        Method::GET => match sockets.get_here(&id) {
            Ok(socket) => json(StatusCode::OK, &socket.info()),
            Err(e) => failed(&e),
        },
        Method::DELETE => match sockets.close_here(&id) {
            Ok(()) => no_content(),
            Err(e) => failed(&e),
        },
        _ => method_not_allowed(),
    }
}
