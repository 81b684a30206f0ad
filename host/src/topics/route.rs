//! Routes that publish without guest code: API Gateway's SNS integration.
//!
//! ```toml
//! [routes]
//! # Only a publish: 202 with SNS's Publish response, no function runs.
//! "POST /audit" = { publish = { topic = "audit" } }            # body = "event": the request's event
//! # A publish, then the function (which runs only if the publish was acknowledged).
//! "POST /orders" = { function = "orders", publish = { topic = "audit", body = "$request.body" } }
//! # Mapping values: text, `$expression`, or templates of `${expression}`s.
//! "POST /feedback" = { publish = { topic = "feedback", body = "$request.body.text",
//!     subject = "Feedback on ${request.body.page}", attributes = { channel = "$request.header.x-channel" } } }
//! ```
//!
//! `body = "event"` (the default) publishes the request as the JSON event API Gateway
//! sends a Lambda function (payload 2.0, [`crate::runtime::function::event_json`]);
//! anything else is a [`Template`]. Attributes are SNS `String` attributes; one whose
//! mapping finds nothing is left out, and so is an empty subject. A message that breaks
//! SNS's rules (an empty body, say) is refused with SNS's error, status 400.
//!
//! Answers, in the JSON SNS gives (the REST API's SNS integration passes SNS's answer
//! through; 202 because delivery happens later):
//!
//! - 202 `{"PublishResponse":{"PublishResult":{"MessageId":"…","SequenceNumber":null},
//!   "ResponseMetadata":{"RequestId":"…"}}}` once the message is durable;
//! - 400 `{"Error":{"Type":"Sender","Code":"InvalidParameter","Message":"…"},"RequestId":"…"}`;
//! - 500 with code `InternalError` when the queue cannot be written (nothing was
//!   published, the client may retry).

use super::capability::TopicsCapability;
use super::{Attribute, AttributeType, PublishError};
use crate::exchange::{Response, ResponseBody};
use crate::gateway::mapping::Template;
use crate::gateway::service::{Service, ServiceFuture};
use crate::runtime::{HttpTrigger, Runtime};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

/// What a publish route sends as the message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishBody {
    /// The request's event, as a Lambda function would get it (`body = "event"`).
    Event,
    /// A mapping value.
    Template(Template),
}

/// A route's `publish = { topic, body, subject, attributes }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    topic: String,
    body: PublishBody,
    subject: Option<Template>,
    attributes: Vec<(String, Template)>,
}

impl Publish {
    /// Publishes to `topic` (already checked to exist): `body`, with `subject` and
    /// String `attributes` mapped from the request. Checks the attribute names as SNS
    /// would, so a mistake shows at load, not at the first request: `Err` is
    /// (the key below `publish`, why).
    pub fn new(
        topic: String,
        body: PublishBody,
        subject: Option<Template>,
        attributes: Vec<(String, Template)>,
    ) -> Result<Publish, (String, String)> {
        let names: Vec<Attribute> = attributes
            .iter()
            .map(|(name, _)| Attribute {
                name: name.clone(),
                data_type: AttributeType::String,
                value: "x".into(),
            })
            .collect();
        if let Err(e) = super::validate("x", &names, None) {
            return Err(("attributes".into(), e.to_string()));
        }
        Ok(Publish {
            topic,
            body,
            subject,
            attributes,
        })
    }

    /// The topic it publishes to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The message of `trigger`, whose whole body is `body`.
    fn message(
        &self,
        trigger: &HttpTrigger,
        body: &[u8],
    ) -> Result<(String, Vec<Attribute>, Option<String>), String> {
        let text = match &self.body {
            PublishBody::Event => crate::runtime::function::event_json(trigger, body).to_string(),
            PublishBody::Template(t) => t.render(trigger, body).map_err(|e| e.to_string())?,
        };
        let mut attributes = Vec::with_capacity(self.attributes.len());
        for (name, template) in &self.attributes {
            let value = template.render(trigger, body).map_err(|e| e.to_string())?;
            if !value.is_empty() {
                attributes.push(Attribute {
                    name: name.clone(),
                    data_type: AttributeType::String,
                    value,
                });
            }
        }
        let subject = match &self.subject {
            Some(t) => Some(t.render(trigger, body).map_err(|e| e.to_string())?),
            None => None,
        }
        .filter(|s| !s.is_empty());
        Ok((text, attributes, subject))
    }
}

/// SNS's JSON answer: `status` with `value`.
fn answer(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response {
        status,
        headers,
        body: ResponseBody::Full(value.to_string().into()),
    }
}

/// SNS's error answer.
fn error(
    status: StatusCode,
    sender: bool,
    code: &str,
    message: &str,
    request_id: &str,
) -> Response {
    answer(
        status,
        &json!({
            "Error": {
                "Type": if sender { "Sender" } else { "Receiver" },
                "Code": code,
                "Message": message,
            },
            "RequestId": request_id,
        }),
    )
}

impl Service for Publish {
    fn describe(&self) -> String {
        format!("publish to topic {}", self.topic)
    }

    fn reads_body(&self) -> bool {
        match &self.body {
            PublishBody::Event => true,
            PublishBody::Template(t) => {
                t.reads_body()
                    || self.subject.as_ref().is_some_and(Template::reads_body)
                    || self.attributes.iter().any(|(_, t)| t.reads_body())
            }
        }
    }

    fn call<'a>(
        &'a self,
        trigger: &'a HttpTrigger,
        body: &'a [u8],
        runtime: &'a Runtime,
        _served: &'a crate::gateway::Served,
    ) -> ServiceFuture<'a> {
        Box::pin(async move {
            let request_id = &*trigger.request.request_id;
            let (text, attributes, subject) = match self.message(trigger, body) {
                Ok(message) => message,
                Err(why) => {
                    let message = format!("Invalid parameter: {why}");
                    return error(
                        StatusCode::BAD_REQUEST,
                        true,
                        "InvalidParameter",
                        &message,
                        request_id,
                    );
                }
            };
            let Some(topics) = runtime
                .capability::<TopicsCapability>()
                .and_then(TopicsCapability::topics)
            else {
                tracing::error!(topic = %self.topic, "a route publishes, but this host runs no topics");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    false,
                    "InternalError",
                    "topics are not running on this host",
                    request_id,
                );
            };
            match topics.publish(&self.topic, text, attributes, subject).await {
                Ok(id) => {
                    tracing::debug!(topic = %self.topic, message_id = %id, "published");
                    answer(
                        StatusCode::ACCEPTED,
                        &json!({
                            "PublishResponse": {
                                "PublishResult": { "MessageId": id, "SequenceNumber": null },
                                "ResponseMetadata": { "RequestId": request_id },
                            }
                        }),
                    )
                }
                Err(PublishError::Invalid(why)) => {
                    let message = format!("Invalid parameter: {why}");
                    error(
                        StatusCode::BAD_REQUEST,
                        true,
                        "InvalidParameter",
                        &message,
                        request_id,
                    )
                }
                Err(PublishError::UnknownTopic(topic)) => error(
                    StatusCode::NOT_FOUND,
                    true,
                    "NotFound",
                    &format!("Topic does not exist: {topic}"),
                    request_id,
                ),
                Err(PublishError::Unavailable(why)) => {
                    tracing::warn!(topic = %self.topic, "a route's publish failed: {why}");
                    error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        false,
                        "InternalError",
                        "the message could not be queued; nothing was published",
                        request_id,
                    )
                }
            }
        })
    }
}
