//! The admin listener (default `127.0.0.1:3001`, never the public port).
//!
//! - `GET /healthz`, `GET /metrics`: no token.
//! - `GET /.well-known/jwks.json`: no token; the development issuer's public key, when
//!   an authorizer uses it (`issuer = "portico-dev"`), else 404.
//! - Everything else needs `Authorization: Bearer <token>` ([`auth`]); with no token
//!   configured it answers 403.
//!   - `GET /functions`, `GET /functions/{name}`: versions, the live one, request counts;
//!   - `PUT /functions/{name}`: deploy a component (the body), or a `multipart/form-data`
//!     body with a `module` part and an optional `config` part (JSON settings);
//!   - `POST /functions/{name}/rollback[?to=VERSION]`;
//!   - both with `?stage=NAME`: for that stage only (the live version stays);
//!   - API keys ([`keys`]): `POST /keys` (`{"name": "...", "plan": "..."}`; the answer
//!     holds the key's value, shown this once), `GET /keys`, `GET /keys/{id}`,
//!     `DELETE /keys/{id}` (revoke), `GET /keys/{id}/usage`;
//!   - topics ([`topics`]): `GET /topics` (queue depths, dead letters), `POST
//!     /topics/{name}/messages` (publish), `GET /topics/{name}/dead-letters`, `POST
//!     /topics/{name}/dead-letters/redrive`;
//!   - WebSocket connections: `POST`, `GET`, `DELETE /@connections/{id}`, wherever the
//!     connection is ([`connections`]).
//! - `/@peer/connections/{id}`: the same for this host's own connections, for the other
//!   hosts sharing its DynamoDB; it takes their peer credential, not the admin token.
//!
//! Answers are JSON; errors are `{"message": "..."}`.

mod auth;
mod connections;
mod console;
mod keys;
mod topics;
pub mod upload;

pub use auth::{ADMIN_TOKEN_ENV, AdminToken, Denied};

use crate::deploy::{DeployError, Deployer};
use crate::http_server::{self, Listening, Peers};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde::Serialize;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Content type of `/metrics` (OpenMetrics text, which Prometheus scrapes natively).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Largest body `PUT /functions/{name}` accepts.
pub const MAX_UPLOAD_BYTES: usize = 128 << 20;

/// The admin API's state.
pub struct Admin {
    deployer: Arc<Deployer>,
    token: Option<AdminToken>,
    topics: Option<Arc<crate::topics::Topics>>,
}

impl Admin {
    /// The admin API over `deployer`, guarded by `token` (none: changes are refused).
    pub fn new(deployer: Arc<Deployer>, token: Option<AdminToken>) -> Admin {
        Admin {
            deployer,
            token,
            topics: None,
        }
    }

    /// With `/topics` over `topics`.
    #[must_use]
    pub fn with_topics(mut self, topics: Option<Arc<crate::topics::Topics>>) -> Admin {
        self.topics = topics;
        self
    }
}

/// Serves the admin API on `listener`, within `listening`'s limits, until `shutdown`
/// resolves.
pub async fn serve(
    admin: Arc<Admin>,
    listener: TcpListener,
    listening: Listening,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let handler = move |req: Request<Incoming>, _: Peers| {
        let admin = Arc::clone(&admin);
        async move { handle(&admin, req).await }
    };
    http_server::serve(listener, handler, shutdown, listening).await
}

/// The development issuer's JWKS, if a served authorizer uses it.
async fn dev_jwks(admin: &Admin) -> Response<Full<Bytes>> {
    use crate::policy::jwt::dev::DevIssuer;
    use crate::policy::jwt::keys::KeySource;
    let served = admin.deployer.gateway().served();
    let dir = served
        .api
        .settings()
        .authorizers
        .values()
        .filter_map(|a| a.jwt())
        .find_map(|a| match a.key_source() {
            KeySource::Dev(dir) => Some(dir.clone()),
            _ => None,
        });
    let Some(dir) = dir else {
        return error(
            StatusCode::NOT_FOUND,
            "no authorizer uses the development issuer (issuer = \"portico-dev\")",
        );
    };
    match tokio::task::spawn_blocking(move || DevIssuer::load_or_create(&dir)).await {
        Ok(Ok(issuer)) => respond(StatusCode::OK, "application/json", issuer.jwks()),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Answers one admin request.
pub async fn handle(admin: &Admin, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let method = &parts.method;
    let path = parts.uri.path();
    match (method, path) {
        (&Method::GET, "/healthz") => {
            return respond(
                StatusCode::OK,
                "application/json",
                r#"{"status":"ok"}"#.into(),
            );
        }
        (&Method::GET, "/metrics") => {
            let gateway = admin.deployer.gateway();
            let metrics = gateway.metrics();
            metrics.set_queue_depth(gateway.queue_depth());
            return respond(StatusCode::OK, METRICS_CONTENT_TYPE, metrics.render());
        }
        (&Method::GET, "/.well-known/jwks.json") => return dev_jwks(admin).await,
        // The console's files: static, no secrets; everything they show comes from the
        // calls below, with the token the operator types in.
        (&Method::GET, "/console" | "/console/console.js" | "/console/console.css") => {
            return console::file(path);
        }
        _ if path.starts_with(crate::sockets::peer::PATH) => {
            return connections::peer(admin, &parts, body).await;
        }
        (_, "/healthz" | "/metrics" | "/.well-known/jwks.json") => return method_not_allowed(),
        _ => {}
    }
    let actor = match AdminToken::check(admin.token.as_ref(), &parts.headers) {
        Ok(actor) => actor,
        Err(Denied::NotConfigured) => {
            return error(
                StatusCode::FORBIDDEN,
                &format!(
                    "admin token not configured (set {ADMIN_TOKEN_ENV} or `admin_token` in the manifest's [server] section)"
                ),
            );
        }
        Err(Denied::BadToken) => {
            let mut response = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let deployer = &admin.deployer;
    match (method, segments.as_slice()) {
        (&Method::GET, ["functions"]) => json(StatusCode::OK, &deployer.list().await),
        (&Method::GET, ["functions", name]) => match deployer.describe(name).await {
            Some(info) => json(StatusCode::OK, &info),
            None => error(
                StatusCode::NOT_FOUND,
                &format!("no function named `{name}`"),
            ),
        },
        (&Method::PUT, ["functions", name]) => {
            let upload = match upload::read(&parts.headers, body, MAX_UPLOAD_BYTES).await {
                Ok(upload) => upload,
                Err((status, message)) => return error(status, &message),
            };
            let result = match query(&parts.uri, "stage") {
                Some(stage) => {
                    deployer
                        .deploy_to_stage(name, &stage, upload.module, upload.settings, &actor)
                        .await
                }
                None => {
                    deployer
                        .deploy(name, upload.module, upload.settings, &actor)
                        .await
                }
            };
            outcome(result)
        }
        (&Method::POST, ["functions", name, "rollback"]) => {
            let to = query(&parts.uri, "to");
            let result = match query(&parts.uri, "stage") {
                Some(stage) => {
                    deployer
                        .rollback_stage(name, &stage, to.as_deref(), &actor)
                        .await
                }
                None => deployer.rollback(name, to.as_deref(), &actor).await,
            };
            outcome(result)
        }
        (_, ["functions"] | ["functions", _] | ["functions", _, "rollback"]) => {
            method_not_allowed()
        }
        (&Method::GET, ["audit"]) => {
            let limit = query(&parts.uri, "limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(100)
                .clamp(1, 1000);
            match deployer.audit_recent(limit) {
                Ok(items) => json(StatusCode::OK, &serde_json::json!({ "items": items })),
                Err(e) => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("cannot read the audit log: {e}"),
                ),
            }
        }
        (_, ["audit"]) => method_not_allowed(),
        (&Method::GET, ["logs", "access"]) => {
            let limit = query(&parts.uri, "limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(50)
                .clamp(1, crate::recent::CAPACITY);
            let items = deployer.gateway().metrics().recent().newest(limit);
            json(StatusCode::OK, &serde_json::json!({ "items": items }))
        }
        (_, ["logs", "access"]) => method_not_allowed(),
        (_, ["keys", ..]) => keys::handle(admin, method, &segments[1..], body, &actor).await,
        (_, ["topics", ..]) => {
            let query = parts.uri.query().map(str::to_string);
            topics::handle(admin, method, &segments[1..], query, body).await
        }
        (_, ["@connections", id]) => {
            connections::public(admin.deployer.gateway().sockets(), method, id, body).await
        }
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// Query parameter `name` of `uri`, decoded.
fn query(uri: &http::Uri, name: &str) -> Option<String> {
    uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

fn outcome(result: Result<crate::deploy::Deployed, DeployError>) -> Response<Full<Bytes>> {
    match result {
        Ok(deployed) => json(StatusCode::OK, &deployed),
        Err(e) => {
            let status = match &e {
                DeployError::UnknownFunction(_)
                | DeployError::UnknownVersion { .. }
                | DeployError::UnknownStage { .. } => StatusCode::NOT_FOUND,
                DeployError::BadModule(_)
                | DeployError::BadSettings(_)
                | DeployError::Routes(_) => StatusCode::BAD_REQUEST,
                DeployError::NothingToRollBack { .. } | DeployError::PinnedByManifest { .. } => {
                    StatusCode::CONFLICT
                }
                DeployError::RoutesOfOneStage => StatusCode::BAD_REQUEST,
                DeployError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            error(status, &e.to_string())
        }
    }
}

fn json(status: StatusCode, value: &impl Serialize) -> Response<Full<Bytes>> {
    match serde_json::to_string_pretty(value) {
        Ok(body) => respond(status, "application/json", body),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "message": message }).to_string();
    respond(status, "application/json", body)
}

fn method_not_allowed() -> Response<Full<Bytes>> {
    error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
