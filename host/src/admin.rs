//! The admin listener (default `127.0.0.1:3001`, never the public port): `GET /healthz`
//! and `GET /metrics` (Prometheus text), both without a token.

use crate::gateway::Gateway;
use crate::http_server::{self, Peers};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Content type of `/metrics` (OpenMetrics text, which Prometheus scrapes natively).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves the admin API for `gateway` until `shutdown` resolves.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let handler = move |req: Request<Incoming>, _: Peers| {
        let gateway = gateway.clone();
        async move { handle(&gateway, req.method(), req.uri().path()) }
    };
    http_server::serve(listener, handler, shutdown).await
}

/// Answers one admin request.
pub fn handle(gateway: &Gateway, method: &Method, path: &str) -> Response<Full<Bytes>> {
    match (method, path) {
        (&Method::GET, "/healthz") => respond(
            StatusCode::OK,
            "application/json",
            r#"{"status":"ok"}"#.into(),
        ),
        (&Method::GET, "/metrics") => {
            let metrics = gateway.metrics();
            metrics.set_queue_depth(gateway.queue_depth());
            respond(StatusCode::OK, METRICS_CONTENT_TYPE, metrics.render())
        }
        (_, "/healthz" | "/metrics") => respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "application/json",
            r#"{"message":"Method Not Allowed"}"#.into(),
        ),
        _ => respond(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"message":"Not Found"}"#.into(),
        ),
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
