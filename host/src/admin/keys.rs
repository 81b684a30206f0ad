//! The admin API's API keys: `/keys...`, over the host's
//! [`ApiKeys`](crate::policy::api_key::ApiKeys).
//!
//! - `POST /keys` with `{"name": "partner-1", "plan": "basic"}` (`plan` optional) →
//!   201 with the key, its `value` included: the only time it is shown;
//! - `GET /keys` → `{"items": [...]}`, revoked keys included, oldest first;
//! - `GET /keys/{id}`, `DELETE /keys/{id}` (revokes; the record stays, `enabled: false`);
//! - `GET /keys/{id}/usage` → the quota's period, `used`, `limit` and `remaining`.
//!
//! A key's value is in no answer but the creating one, and in no log.

use super::{Admin, error, json, method_not_allowed};
use crate::deploy::Actor;
use crate::policy::api_key::KeyError;
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;

/// Largest `POST /keys` body.
const MAX_BODY_BYTES: usize = 16 << 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    plan: Option<String>,
}

/// Answers `/keys/{rest...}`.
pub(super) async fn handle(
    admin: &Admin,
    method: &Method,
    rest: &[&str],
    body: Incoming,
    actor: &Actor,
) -> Response<Full<Bytes>> {
    let gateway = admin.deployer.gateway();
    let Some(keys) = gateway.api_keys() else {
        return error(
            StatusCode::NOT_FOUND,
            "API keys are not in use on this host: add `api_key_required = true` to a route (or [stage]), or a [usage_plans.NAME] section, and restart it",
        );
    };
    let served = gateway.served();
    let plans = served.api.settings().api_key.plans();
    match (method, rest) {
        (&Method::POST, []) => {
            let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => {
                    return error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("the body is larger than {MAX_BODY_BYTES} bytes, or broken"),
                    );
                }
            };
            let new: NewKey = match serde_json::from_slice(&body) {
                Ok(new) => new,
                Err(e) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "expected a JSON object like {{\"name\": \"partner-1\", \"plan\": \"basic\"}}: {e}"
                        ),
                    );
                }
            };
            match keys.create(&new.name, new.plan.as_deref(), plans).await {
                Ok(created) => {
                    tracing::info!(
                        id = %created.info.id,
                        name = %created.info.name,
                        plan = created.info.plan.as_deref().unwrap_or("-"),
                        by = %actor.label(),
                        "API key created"
                    );
                    json(StatusCode::CREATED, &created)
                }
                Err(e) => failed(&e),
            }
        }
        (&Method::GET, []) => match keys.list().await {
            Ok(items) => json(StatusCode::OK, &serde_json::json!({ "items": items })),
            Err(e) => failed(&e),
        },
        (&Method::GET, [id]) => match keys.get(id).await {
            Ok(info) => json(StatusCode::OK, &info),
            Err(e) => failed(&e),
        },
        (&Method::DELETE, [id]) => match keys.revoke(id).await {
            Ok(info) => {
                tracing::info!(id = %info.id, by = %actor.label(), "API key revoked");
                json(StatusCode::OK, &info)
            }
            Err(e) => failed(&e),
        },
        (&Method::GET, [id, "usage"]) => match keys.usage(id, plans).await {
            Ok(usage) => json(StatusCode::OK, &usage),
            Err(e) => failed(&e),
        },
        (_, [] | [_] | [_, "usage"]) => method_not_allowed(),
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn failed(e: &KeyError) -> Response<Full<Bytes>> {
    let status = match e {
        KeyError::UnknownKey(_) => StatusCode::NOT_FOUND,
        KeyError::UnknownPlan { .. } | KeyError::BadName => StatusCode::BAD_REQUEST,
        KeyError::Store(_) | KeyError::Random => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}
