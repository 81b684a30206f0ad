//! `[topics.NAME]`: parsed into the topics' own types ([`crate::topics`]). A mistake
//! names the key below `topics` and why; the caller adds the file and line.

use super::units::HumanDuration;
use crate::topics::filter::FilterPolicy;
use crate::topics::{DeliverySettings, Subscription, TopicConfig, TopicsConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// One `[topics.NAME]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopic {
    max_attempts: Option<u32>,
    retry: Option<RawRetry>,
    concurrency: Option<u32>,
    #[serde(default)]
    subscribers: Vec<RawSubscriber>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    base: Option<HumanDuration>,
    max: Option<HumanDuration>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSubscriber {
    Name(String),
    Table(RawSubscriberTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscriberTable {
    function: String,
    filter: Option<toml::Value>,
    #[serde(default)]
    raw: bool,
}

/// A route's `publish = { ... }` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPublish {
    topic: String,
    body: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// The publish of a route: `Err` is (the key below the route, why).
pub(super) fn publish(
    raw: RawPublish,
    topics: &TopicsConfig,
) -> Result<crate::topics::route::Publish, (String, String)> {
    use crate::gateway::mapping::Template;
    use crate::topics::route::{Publish, PublishBody};
    if !topics.contains_key(&raw.topic) {
        return Err((
            ".publish.topic".into(),
            super::unknown("topic", &raw.topic, topics.keys()),
        ));
    }
    let template =
        |key: &str, text: &str| Template::parse(text).map_err(|e| (format!(".publish.{key}"), e));
    let body = match raw.body.as_deref() {
        None | Some("event") => PublishBody::Event,
        Some(text) => PublishBody::Template(template("body", text)?),
    };
    let subject = raw
        .subject
        .as_deref()
        .map(|text| template("subject", text))
        .transpose()?;
    let attributes = raw
        .attributes
        .iter()
        .map(|(name, text)| Ok((name.clone(), template(&format!("attributes.{name}"), text)?)))
        .collect::<Result<Vec<_>, (String, String)>>()?;
    Publish::new(raw.topic, body, subject, attributes)
        .map_err(|(key, why)| (format!(".publish.{key}"), why))
}

/// A problem: where (the span of the topic), the key below `topics`, and why.
pub(super) type Problem = (std::ops::Range<usize>, String, String);

/// The most attempts a topic may configure.
const MAX_ATTEMPTS: u32 = 100;
/// The most deliveries at once per subscription.
const MAX_CONCURRENCY: u32 = 256;

/// The topics of `raw`, whose subscribers must be among `functions`.
pub(super) fn build(
    raw: BTreeMap<String, Spanned<RawTopic>>,
    functions: &[String],
) -> Result<TopicsConfig, Problem> {
    let mut topics = TopicsConfig::new();
    for (name, topic) in raw {
        let span = topic.span();
        let topic = topic.into_inner();
        let problem = |key: &str, message: String| (span.clone(), format!("{name}{key}"), message);
        if name.is_empty()
            || name.len() > 256
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        {
            return Err(problem(
                "",
                format!("invalid topic name {name:?}: 1 to 256 of A-Z a-z 0-9 _ - (as SNS's)"),
            ));
        }
        let defaults = DeliverySettings::default();
        let max_attempts = topic.max_attempts.unwrap_or(defaults.max_attempts);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            return Err(problem(
                ".max_attempts",
                format!("must be 1 to {MAX_ATTEMPTS}, got {max_attempts}"),
            ));
        }
        let concurrency = topic.concurrency.unwrap_or(defaults.concurrency);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(problem(
                ".concurrency",
                format!("must be 1 to {MAX_CONCURRENCY}, got {concurrency}"),
            ));
        }
        let (backoff_base, backoff_max) = match topic.retry {
            Some(retry) => (
                retry.base.map_or(defaults.backoff_base, |d| d.0),
                retry.max.map_or(defaults.backoff_max, |d| d.0),
            ),
            None => (defaults.backoff_base, defaults.backoff_max),
        };
        if backoff_base.is_zero() || backoff_max < backoff_base {
            return Err(problem(
                ".retry",
                "`base` must be more than 0 and `max` at least `base`".into(),
            ));
        }
        let mut subscriptions: Vec<Subscription> = Vec::new();
        for (i, subscriber) in topic.subscribers.into_iter().enumerate() {
            let key = format!(".subscribers[{i}]");
            let (function, filter, raw) = match subscriber {
                RawSubscriber::Name(function) => (function, None, false),
                RawSubscriber::Table(t) => (t.function, t.filter, t.raw),
            };
            if !functions.contains(&function) {
                return Err(problem(
                    &format!("{key}.function"),
                    format!(
                        "no function named `{function}` (functions in this manifest: {})",
                        if functions.is_empty() {
                            "none".to_string()
                        } else {
                            functions.join(", ")
                        }
                    ),
                ));
            }
            if subscriptions.iter().any(|s| s.function == function) {
                return Err(problem(
                    &format!("{key}.function"),
                    format!(
                        "`{function}` subscribes twice: one subscription per function and topic"
                    ),
                ));
            }
            let filter = match filter {
                None => None,
                Some(value) => {
                    let json = match value {
                        toml::Value::String(text) => serde_json::from_str(&text).map_err(|e| {
                            problem(&format!("{key}.filter"), format!("not JSON: {e}"))
                        })?,
                        other => serde_json::to_value(other)
                            .map_err(|e| problem(&format!("{key}.filter"), e.to_string()))?,
                    };
                    Some(
                        FilterPolicy::parse(&json)
                            .map_err(|e| problem(&format!("{key}.filter"), e.to_string()))?,
                    )
                }
            };
            subscriptions.push(Subscription {
                function,
                filter,
                raw,
            });
        }
        topics.insert(
            name,
            TopicConfig {
                subscriptions,
                delivery: DeliverySettings {
                    max_attempts,
                    backoff_base,
                    backoff_max,
                    concurrency,
                },
            },
        );
    }
    Ok(topics)
}
