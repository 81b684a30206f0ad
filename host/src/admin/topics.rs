//! The admin API's topics: `/topics...`, over the host's [`Topics`].
//!
//! - `GET /topics` → `{"items": [{"topic", "subscriptions": [{"function", "queued",
//!   "oldest_age_seconds", "dead_letters"}]}]}`;
//! - `POST /topics/{name}/messages` with `{"message": "...", "subject": "...",
//!   "attributes": [{"name": "kind", "type": "String", "value": "placed"}]}` (`subject`
//!   and `attributes` optional) → 200 `{"message_id": ...}` once it is durable (SNS's
//!   `Publish`);
//! - `GET /topics/{name}/dead-letters` → `{"items": [...]}`, each with `subscription`,
//!   `message_id`, `body`, `attempts`, `error`, `failed_at`;
//! - `POST /topics/{name}/dead-letters/redrive[?subscription=FUNCTION]` → `{"redriven":
//!   N}`: the dead letters go back to their queues with their attempts reset.

use super::{Admin, error, json, method_not_allowed};
use crate::topics::{Attribute, PublishError, Topics, subscription_key};
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use std::sync::Arc;

/// Largest publish body (SNS's message limit, with room for the JSON around it).
const MAX_BODY_BYTES: usize = 300 << 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    message: String,
    subject: Option<String>,
    #[serde(default)]
    attributes: Vec<Attribute>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn unavailable(e: &portico_data::DataError) -> Response<Full<Bytes>> {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("the queue cannot be read: {e}"),
    )
}

/// Answers `/topics/{rest...}`.
pub(super) async fn handle(
    admin: &Admin,
    method: &Method,
    rest: &[&str],
    query: Option<String>,
    body: Incoming,
) -> Response<Full<Bytes>> {
    let Some(topics) = &admin.topics else {
        return error(StatusCode::NOT_FOUND, "the manifest has no topics");
    };
    let known = |name: &str| topics.config().contains_key(name);
    match (method, rest) {
        (&Method::GET, []) => stats(topics).await,
        (_, []) => method_not_allowed(),
        (_, [name, ..]) if !known(name) => {
            error(StatusCode::NOT_FOUND, &format!("no topic named `{name}`"))
        }
        (&Method::POST, [name, "messages"]) => publish(topics, name, body).await,
        (&Method::GET, [name, "dead-letters"]) => dead_letters(topics, name).await,
        (&Method::POST, [name, "dead-letters", "redrive"]) => {
            redrive(topics, name, query.as_deref()).await
        }
        (_, [_, "messages"] | [_, "dead-letters"] | [_, "dead-letters", "redrive"]) => {
            method_not_allowed()
        }
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn stats(topics: &Arc<Topics>) -> Response<Full<Bytes>> {
    let letters = match topics.queue().dead_letters().await {
        Ok(letters) => letters,
        Err(e) => return unavailable(&e),
    };
    let mut items = Vec::new();
    for (topic, config) in topics.config() {
        let mut subscriptions = Vec::new();
        for subscription in &config.subscriptions {
            let sub = subscription_key(topic, &subscription.function);
            let (queued, oldest) = match topics.queue().depth(&sub).await {
                Ok(depth) => depth,
                Err(e) => return unavailable(&e),
            };
            subscriptions.push(serde_json::json!({
                "function": subscription.function,
                "queued": queued,
                "oldest_age_seconds": oldest.map(|t| now_ms().saturating_sub(t) / 1000),
                "dead_letters": letters.iter().filter(|l| l.sub == sub).count(),
            }));
        }
        items.push(serde_json::json!({ "topic": topic, "subscriptions": subscriptions }));
    }
    json(StatusCode::OK, &serde_json::json!({ "items": items }))
}

async fn publish(topics: &Arc<Topics>, name: &str, body: Incoming) -> Response<Full<Bytes>> {
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {MAX_BODY_BYTES} bytes, or broken"),
            );
        }
    };
    let message: NewMessage = match serde_json::from_slice(&bytes) {
        Ok(message) => message,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "expected {{\"message\": \"...\", \"subject\"?: \"...\", \"attributes\"?: [{{\"name\", \"type\", \"value\"}}]}}: {e}"
                ),
            );
        }
    };
    match topics
        .publish(name, message.message, message.attributes, message.subject)
        .await
    {
        Ok(id) => json(StatusCode::OK, &serde_json::json!({ "message_id": id })),
        Err(e @ PublishError::UnknownTopic(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e @ PublishError::Invalid(_)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e @ PublishError::Unavailable(_)) => {
            error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
        }
    }
}

async fn dead_letters(topics: &Arc<Topics>, name: &str) -> Response<Full<Bytes>> {
    let letters = match topics.queue().dead_letters().await {
        Ok(letters) => letters,
        Err(e) => return unavailable(&e),
    };
    let items: Vec<_> = letters
        .iter()
        .filter(|l| l.message.topic == name)
        .map(|l| {
            serde_json::json!({
                "subscription": l.sub,
                "message_id": l.message.id,
                "subject": l.message.subject,
                "body": l.message.body,
                "attributes": l.message.attributes,
                "attempts": l.attempts,
                "error": l.error,
                "failed_at": humantime::format_rfc3339_millis(
                    std::time::UNIX_EPOCH + std::time::Duration::from_millis(l.failed_ms)
                )
                .to_string(),
            })
        })
        .collect();
    json(StatusCode::OK, &serde_json::json!({ "items": items }))
}

async fn redrive(topics: &Arc<Topics>, name: &str, query: Option<&str>) -> Response<Full<Bytes>> {
    let only = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "subscription")
            .map(|(_, v)| subscription_key(name, &v))
    });
    let letters = match topics.queue().dead_letters().await {
        Ok(letters) => letters,
        Err(e) => return unavailable(&e),
    };
    let mut redriven = 0u64;
    for letter in letters
        .iter()
        .filter(|l| l.message.topic == name && only.as_ref().is_none_or(|s| *s == l.sub))
    {
        match topics.queue().redrive(letter, now_ms()).await {
            Ok(crate::topics::queue::Settled::Done) => redriven += 1,
            // Redriven by someone else meanwhile.
            Ok(crate::topics::queue::Settled::LeaseLost) => {}
            Err(e) => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("redrove {redriven}, then could not go on: {e}"),
                );
            }
        }
    }
    topics.wake();
    json(StatusCode::OK, &serde_json::json!({ "redriven": redriven }))
}
