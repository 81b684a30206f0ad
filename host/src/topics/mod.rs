//! Topics, the SNS role: functions publish messages to a topic; each subscriber
//! function whose filter policy matches gets every message at least once, through a
//! durable queue in the data store.
//!
//! ```toml
//! [topics.orders]
//! max_attempts = 5              # deliveries before a message becomes a dead letter
//! retry = { base = "1s", max = "5m" }   # backoff: base × 2^(attempt-1), capped, jittered
//! concurrency = 4               # deliveries at once per subscription
//!
//! [[topics.orders.subscribers]]
//! function = "email"
//! filter = { kind = ["placed"] }   # SNS's filter policy, as TOML or a JSON string
//! raw = true                       # the body as published (else SNS's JSON envelope)
//!
//! [functions.orders]
//! module = "orders.wasm"
//! topics = ["orders"]           # may publish to these
//! ```
//!
//! The parts: [`filter`] (policies), [`queue`] (the tables and their contract),
//! [`delivery`] (the workers), [`capability`] (the WIT `topics` interface), [`route`]
//! (routes that publish without guest code). A publish is
//! acknowledged once the message is queued for every subscription it matches (SNS
//! evaluates filter policies at publish too); delivery is asynchronous, unordered, and
//! at least once.

pub mod capability;
pub mod delivery;
pub mod filter;
pub mod queue;
pub mod route;

use filter::FilterPolicy;
use queue::Queue;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// SNS's limit on a message: its body and attributes together.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SNS's limit on attributes per message.
pub const MAX_ATTRIBUTES: usize = 10;
/// SNS's limit on a subject.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// An attribute's type, as SNS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AttributeType {
    /// `String`.
    String,
    /// `Number`.
    Number,
    /// `String.Array` (a JSON array's text).
    #[serde(rename = "String.Array")]
    StringArray,
    /// `Binary` (base64).
    Binary,
}

/// One message attribute.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attribute {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub data_type: AttributeType,
    /// Its value, as text.
    pub value: String,
}

/// A published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id (a UUID).
    pub id: String,
    /// Its topic.
    pub topic: String,
    /// Its subject.
    pub subject: Option<String>,
    /// Its body.
    pub body: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
    /// When it was published (epoch ms).
    pub published_ms: u64,
}

/// One subscription: a subscriber function, and which messages it wants.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// The subscriber function.
    pub function: String,
    /// Its filter policy (none: every message).
    pub filter: Option<FilterPolicy>,
    /// Raw delivery: the body as published, not SNS's JSON envelope.
    pub raw: bool,
}

/// How a topic's messages are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// Deliveries before a message becomes a dead letter.
    pub max_attempts: u32,
    /// The first retry's backoff.
    pub backoff_base: Duration,
    /// The longest backoff.
    pub backoff_max: Duration,
    /// Deliveries at once, per subscription.
    pub concurrency: u32,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            concurrency: 4,
        }
    }
}

/// One topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    /// Its subscriptions, in manifest order.
    pub subscriptions: Vec<Subscription>,
    /// Its delivery settings.
    pub delivery: DeliverySettings,
}

/// The manifest's topics, by name.
pub type TopicsConfig = BTreeMap<String, TopicConfig>;

/// `topics = [...]` in a function's manifest entry: the topics it may publish to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicGrants(pub Vec<String>);

/// The subscription key of `function` on `topic`, as the queue names it.
pub fn subscription_key(topic: &str, function: &str) -> String {
    format!("{topic}/{function}")
}

/// Why a publish failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// No topic has that name.
    #[error("no topic named `{0}`")]
    UnknownTopic(String),
    /// The message breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// The queue could not be written.
    #[error("the message could not be queued: {0}")]
    Unavailable(String),
}

/// The topics of a host: their settings and their queue.
pub struct Topics {
    config: TopicsConfig,
    queue: Queue,
    /// Woken by each publish, so this host's workers need not wait for their poll.
    published: tokio::sync::Notify,
    metrics: Arc<crate::metrics::Metrics>,
}

impl std::fmt::Debug for Topics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topics")
            .field("topics", &self.config.keys().collect::<Vec<_>>())
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A new message id, in the UUID form SNS uses.
fn message_id() -> String {
    let mut b = [0u8; 16];
    fastrand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Checks a message against SNS's rules; `Err` names the rule.
pub fn validate(
    body: &str,
    attributes: &[Attribute],
    subject: Option<&str>,
) -> Result<(), PublishError> {
    let invalid = |why: String| Err(PublishError::Invalid(why));
    if body.is_empty() {
        return invalid("the message body is empty".into());
    }
    if attributes.len() > MAX_ATTRIBUTES {
        return invalid(format!(
            "a message has at most {MAX_ATTRIBUTES} attributes, this one {}",
            attributes.len()
        ));
    }
    let mut size = body.len();
    for (i, a) in attributes.iter().enumerate() {
        let name = &a.name;
        if name.is_empty()
            || name.len() > 256
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            || name.starts_with('.')
            || name.ends_with('.')
            || name.contains("..")
        {
            return invalid(format!(
                "attribute name {name:?}: 1 to 256 of A-Z a-z 0-9 _ - ., not starting or ending with a period, no two periods in a row"
            ));
        }
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("aws.") || lower.starts_with("amazon.") {
            return invalid(format!(
                "attribute name {name:?}: names starting with AWS. or Amazon. are reserved"
            ));
        }
        if attributes[..i].iter().any(|b| b.name == *name) {
            return invalid(format!("attribute {name:?} is given twice"));
        }
        let ok = match a.data_type {
            AttributeType::String => !a.value.is_empty(),
            AttributeType::Number => a.value.trim().parse::<f64>().is_ok_and(f64::is_finite),
            AttributeType::StringArray => matches!(
                serde_json::from_str::<serde_json::Value>(&a.value),
                Ok(serde_json::Value::Array(_))
            ),
            AttributeType::Binary => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(&a.value)
                    .is_ok()
            }
        };
        if !ok {
            return invalid(format!(
                "attribute {name:?}: not a valid {:?} value",
                a.data_type
            ));
        }
        size += name.len() + a.value.len();
    }
    if size > MAX_MESSAGE_BYTES {
        return invalid(format!(
            "the message is {size} bytes with its attributes, over SNS's {MAX_MESSAGE_BYTES}"
        ));
    }
    if let Some(subject) = subject {
        let chars = subject.chars().count();
        if chars == 0 || chars > MAX_SUBJECT_CHARS {
            return invalid(format!(
                "a subject is 1 to {MAX_SUBJECT_CHARS} characters, this one {chars}"
            ));
        }
        if subject.chars().any(char::is_control) {
            return invalid("a subject has no control characters (line breaks among them)".into());
        }
    }
    Ok(())
}

impl Topics {
    /// The topics of `config`, queued in `queue`.
    pub fn new(
        config: TopicsConfig,
        queue: Queue,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Arc<Topics> {
        Arc::new(Topics {
            config,
            queue,
            published: tokio::sync::Notify::new(),
            metrics,
        })
    }

    /// The topics' settings.
    pub fn config(&self) -> &TopicsConfig {
        &self.config
    }

    /// The queue.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The host's metrics.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// Wakes this host's workers (after a redrive, say).
    pub fn wake(&self) {
        self.published.notify_waiters();
    }

    /// Resolves at the next publish on this host.
    pub(crate) async fn next_publish(&self) {
        self.published.notified().await;
    }

    /// Publishes a message to `topic`; returns its id once it is queued for every
    /// subscription whose filter policy matches it.
    pub async fn publish(
        &self,
        topic: &str,
        body: String,
        attributes: Vec<Attribute>,
        subject: Option<String>,
    ) -> Result<String, PublishError> {
        let config = self
            .config
            .get(topic)
            .ok_or_else(|| PublishError::UnknownTopic(topic.to_string()))?;
        validate(&body, &attributes, subject.as_deref())?;
        let message = Message {
            id: message_id(),
            topic: topic.to_string(),
            subject,
            body,
            attributes,
            published_ms: now_ms(),
        };
        let subs: Vec<String> = config
            .subscriptions
            .iter()
            .filter(|s| {
                s.filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&message.attributes))
            })
            .map(|s| subscription_key(topic, &s.function))
            .collect();
        self.queue
            .enqueue(&message, &subs, message.published_ms)
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        self.metrics.topic_published(topic);
        if !subs.is_empty() {
            self.published.notify_waiters();
        }
        Ok(message.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str, data_type: AttributeType, value: &str) -> Attribute {
        Attribute {
            name: name.into(),
            data_type,
            value: value.into(),
        }
    }

    #[test]
    fn messages_are_checked_against_sns_rules() {
        assert!(validate("hi", &[], Some("Subject")).is_ok());
        let fails = |body: &str, attributes: &[Attribute], subject: Option<&str>, words: &str| {
            let e = validate(body, attributes, subject)
                .expect_err(words)
                .to_string();
            assert!(e.contains(words), "{e}");
        };
        fails("", &[], None, "empty");
        fails(&"x".repeat(MAX_MESSAGE_BYTES + 1), &[], None, "over SNS's");
        let many: Vec<Attribute> = (0..11)
            .map(|i| attr(&format!("a{i}"), AttributeType::String, "v"))
            .collect();
        fails("b", &many, None, "at most 10 attributes");
        fails(
            "b",
            &[attr("AWS.x", AttributeType::String, "v")],
            None,
            "reserved",
        );
        fails(
            "b",
            &[attr("a b", AttributeType::String, "v")],
            None,
            "attribute name",
        );
        fails(
            "b",
            &[attr("n", AttributeType::Number, "ten")],
            None,
            "Number",
        );
        fails(
            "b",
            &[attr("l", AttributeType::StringArray, "[1")],
            None,
            "StringArray",
        );
        fails(
            "b",
            &[attr("x", AttributeType::Binary, "!!")],
            None,
            "Binary",
        );
        let twice = [
            attr("k", AttributeType::String, "1"),
            attr("k", AttributeType::String, "2"),
        ];
        fails("b", &twice, None, "twice");
        fails("b", &[], Some(&"s".repeat(101)), "1 to 100");
        fails("b", &[], Some("a\nb"), "control");
    }

    #[test]
    fn message_ids_are_uuids() {
        let id = message_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, message_id());
    }
}
