//! The upgrade: a `GET` with `Upgrade: websocket` on the API's path runs `$connect`
//! (when routed) before the handshake is answered — a non-2xx answer refuses it with
//! that status — then answers 101 and hands the connection to a [`session`].

use super::session::{self, Connection, EventData};
use super::{CONNECT, WebSocketApi};
use crate::exchange::WireBody;
use crate::gateway::Gateway;
use crate::runtime::websocket::bindings::EventType;
use bytes::Bytes;
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Whether `req` asks for a WebSocket upgrade.
pub fn is_upgrade(req: &Request<Incoming>) -> bool {
    let has = |name, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    req.method() == Method::GET && has(UPGRADE, "websocket") && has(CONNECTION, "upgrade")
}

fn answer(status: StatusCode, message: &str) -> Response<WireBody> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(WireBody::from(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Answers the upgrade request `req` for `api`'s stage `stage` (its name and
/// variables), whose upgrade has `policies`: 101 and a session, or the refusal.
pub async fn upgrade(
    gateway: Arc<Gateway>,
    api: Arc<WebSocketApi>,
    stage: (String, Vec<(String, String)>),
    policies: crate::policy::Policies,
    mut req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<WireBody> {
    if let Err(wait) = api.connect_throttle.take() {
        let refused = api.connect_throttle.refuse(wait);
        let mut response = answer(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        if let Some(retry) = refused.response.headers.get(http::header::RETRY_AFTER) {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, retry.clone());
        }
        tracing::debug!(%peer, "websocket upgrade refused: {}", refused.reason);
        return response;
    }
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY).cloned() else {
        return answer(StatusCode::BAD_REQUEST, "Bad Request");
    };
    if req
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut response = answer(StatusCode::UPGRADE_REQUIRED, "Upgrade Required");
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return response;
    }
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    // The upgrade's policies (an authorizer, the API key) decide before `$connect`.
    let mut trigger = crate::runtime::HttpTrigger {
        request: crate::exchange::IncomingRequest {
            request_id: crate::gateway::new_request_id().into(),
            method: Method::GET,
            path: req.uri().path().to_string(),
            query: req.uri().query().unwrap_or_default().to_string(),
            headers: req.headers().clone(),
            body: crate::exchange::RequestBody::default(),
            source_ip: peer.ip().to_string(),
            protocol: "HTTP/1.1".into(),
            authorizer: None,
            replay: None,
        },
        route_key: CONNECT.into(),
        path_parameters: Vec::new(),
        stage: stage.0.clone(),
        stage_variables: stage.1.clone(),
        time: std::time::SystemTime::now(),
        payload: crate::exchange::PayloadVersion::default(),
    };
    if let Err(refusal) = policies.admit(&mut trigger, gateway.policy_context()).await {
        tracing::info!(target: "portico::websocket", %peer, "websocket upgrade refused: {}", refusal.reason);
        let crate::exchange::Response {
            status,
            headers,
            body,
        } = refusal.response;
        let mut response = Response::new(WireBody::from(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        return response;
    }
    let connection = Arc::new(Connection::new(
        peer.ip().to_string(),
        &header(http::header::HOST),
        header(http::header::USER_AGENT),
        stage,
        trigger.request.authorizer.take(),
    ));
    if let Some(function) = api.route(CONNECT) {
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let query = crate::gateway::query_parameters(req.uri().query().unwrap_or_default());
        let event = connection.event(
            EventType::Connect,
            CONNECT,
            None,
            EventData {
                headers,
                query,
                ..EventData::default()
            },
        );
        match session::invoke(&gateway, &connection, function, event).await {
            Ok(reply) if (200..300).contains(&reply.status) => {}
            Ok(reply) => {
                let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::FORBIDDEN);
                return answer(status, status.canonical_reason().unwrap_or("Forbidden"));
            }
            Err(()) => return answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        }
    }
    // Other hosts learn where the connection is before its client does.
    let lifetime_end = connection
        .connected_at
        .saturating_add(u64::try_from(api.limits.max_lifetime.as_millis()).unwrap_or(u64::MAX));
    if let Err(e) = gateway
        .sockets()
        .claim(&connection.id, connection.connected_at, lifetime_end)
        .await
    {
        tracing::error!(target: "portico::websocket", connection = %connection.id, "websocket upgrade refused: cannot record the connection for the other hosts: {e}");
        session::disconnect(&gateway, &api, &connection).await;
        return answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => session::run(gateway, api, connection, TokioIo::new(upgraded)).await,
            Err(e) => {
                tracing::debug!(connection = %connection.id, "the upgrade did not complete: {e}");
                gateway.sockets().release(&connection.id).await;
                session::disconnect(&gateway, &api, &connection).await;
            }
        }
    });
    let mut response = Response::new(WireBody::from(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}
