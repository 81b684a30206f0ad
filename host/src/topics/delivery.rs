//! The delivery workers: one task per subscription takes due messages from the
//! [queue](super::queue), up to the topic's `concurrency` at once, and delivers each to
//! the subscriber function's live version.
//!
//! A delivery is leased for the function's timeout plus [`LEASE_MARGIN`]: if the host
//! dies, the message comes due again when the lease ends, for whichever host polls it
//! first. Its outcome: done (the item goes); failed with attempts left (it comes due
//! again after a backoff of `base × 2^(attempts-1)`, capped at `max`, with equal jitter:
//! half fixed, half random); failed on its last attempt (a dead letter). A worker polls
//! every [`POLL`], and at once after a publish on its own host.

use super::queue::{Queued, Settled};
use super::{Message, Subscription, Topics, subscription_key};
use crate::runtime::subscriber::bindings as wit;
use crate::runtime::{Function, Runtime};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How often a worker looks for due messages when nothing wakes it.
pub const POLL: Duration = Duration::from_millis(500);
/// A lease outlives the function's timeout by this much.
pub const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// How often the queue gauges are refreshed.
const GAUGES: Duration = Duration::from_secs(5);

/// The live version of a function by name (hot swap: asked at every delivery).
pub type Lookup = Arc<dyn Fn(&str) -> Option<Arc<Function>> + Send + Sync>;

fn now_ms() -> u64 {
    super::now_ms()
}

/// The backoff before the retry that follows `attempts` failed deliveries.
pub fn backoff(base: Duration, max: Duration, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exponent).min(max);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

/// The workers of every subscription of `topics`, until `stop`; each delivery runs on
/// `runtime`, through the function `lookup` gives.
pub fn start(
    topics: &Arc<Topics>,
    runtime: &Arc<Runtime>,
    lookup: &Lookup,
    stop: &CancellationToken,
) -> tokio::task::JoinSet<()> {
    let mut workers = tokio::task::JoinSet::new();
    for (topic, config) in topics.config() {
        for subscription in &config.subscriptions {
            let worker = Worker {
                topics: Arc::clone(topics),
                runtime: Arc::clone(runtime),
                lookup: Arc::clone(lookup),
                topic: topic.clone(),
                subscription: subscription.clone(),
                sub: subscription_key(topic, &subscription.function),
                slots: Arc::new(Semaphore::new(config.delivery.concurrency.max(1) as usize)),
                settings: config.delivery,
            };
            workers.spawn(worker.run(stop.clone()));
        }
    }
    workers
}

struct Worker {
    topics: Arc<Topics>,
    runtime: Arc<Runtime>,
    lookup: Lookup,
    topic: String,
    subscription: Subscription,
    sub: String,
    slots: Arc<Semaphore>,
    settings: super::DeliverySettings,
}

impl Worker {
    async fn run(self, stop: CancellationToken) {
        let me = Arc::new(self);
        let mut gauges = tokio::time::Instant::now();
        loop {
            if stop.is_cancelled() {
                break;
            }
            let free = me.slots.available_permits();
            let taken = if free == 0 { 0 } else { me.poll(free).await };
            if gauges.elapsed() >= GAUGES {
                me.refresh_gauges().await;
                gauges = tokio::time::Instant::now();
            }
            // More may be due right away when the slots were all used.
            if free > 0 && taken == free {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = me.topics.next_publish() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
        // In-flight deliveries finish (or their leases end and others take them).
        let all = me.settings.concurrency.max(1);
        let _ = tokio::time::timeout(
            crate::http_server::SHUTDOWN_GRACE,
            me.slots.acquire_many(all),
        )
        .await;
    }

    /// Takes up to `free` due messages and starts their deliveries; how many it took.
    async fn poll(self: &Arc<Self>, free: usize) -> usize {
        let due = match self
            .topics
            .queue()
            .due(&self.sub, now_ms(), u32::try_from(free).unwrap_or(u32::MAX))
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(target: "portico::topics", subscription = %self.sub, "cannot read the queue: {e}");
                return 0;
            }
        };
        let mut taken = 0;
        for queued in due {
            let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() else {
                break;
            };
            let Some(function) = (self.lookup)(&self.subscription.function) else {
                tracing::warn!(target: "portico::topics", subscription = %self.sub, "the subscriber function is not loaded; its messages wait");
                return taken;
            };
            let lease = function.limits().timeout + LEASE_MARGIN;
            let until =
                now_ms().saturating_add(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX));
            let token = crate::gateway::new_request_id();
            match self.topics.queue().lease(&queued, until, &token).await {
                Ok(Some(leased)) => {
                    taken += 1;
                    let me = Arc::clone(self);
                    tokio::spawn(async move {
                        me.deliver(function, leased).await;
                        drop(permit);
                    });
                }
                // Another worker (this host's or another's) took it.
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(target: "portico::topics", subscription = %self.sub, "cannot lease a message: {e}");
                }
            }
        }
        taken
    }

    async fn refresh_gauges(&self) {
        if let Ok((depth, oldest)) = self.topics.queue().depth(&self.sub).await {
            let age = oldest.map_or(0, |t| now_ms().saturating_sub(t) / 1000);
            self.topics.metrics().topic_queue(&self.sub, depth, age);
        }
    }

    async fn deliver(&self, function: Arc<Function>, leased: Queued) {
        let request_id: Arc<str> = crate::gateway::new_request_id().into();
        let started = std::time::Instant::now();
        let message = wit_message(&leased.message, leased.attempts, self.subscription.raw);
        let (outcome, record) = self
            .runtime
            .invoke_subscriber(&function, message, &request_id)
            .await;
        let queue = self.topics.queue();
        let metrics = self.topics.metrics();
        let settled = match &outcome {
            Ok(()) => {
                metrics.topic_message(&self.topic, "delivered");
                queue.complete(&leased).await
            }
            Err(e) if leased.attempts < self.settings.max_attempts => {
                metrics.topic_message(&self.topic, "failed");
                metrics.topic_message(&self.topic, "retried");
                let wait = backoff(
                    self.settings.backoff_base,
                    self.settings.backoff_max,
                    leased.attempts,
                );
                let due =
                    now_ms().saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
                queue.retry(&leased, due, &e.to_string()).await
            }
            Err(e) => {
                metrics.topic_message(&self.topic, "failed");
                metrics.topic_message(&self.topic, "dead_lettered");
                queue.bury(&leased, &e.to_string(), now_ms()).await
            }
        };
        match settled {
            Ok(Settled::Done) => {}
            Ok(Settled::LeaseLost) => metrics.topic_message(&self.topic, "duplicate"),
            Err(e) => {
                tracing::warn!(target: "portico::topics", subscription = %self.sub, message = %leased.message.id, "cannot record the delivery's outcome (it will be delivered again when its lease ends): {e}");
            }
        }
        if let Err(e) = &outcome {
            metrics.failure(function.name(), e.outcome());
        }
        let error = outcome.as_ref().err().map(ToString::to_string);
        tracing::info!(
            target: "portico::topics",
            request_id = %request_id,
            subscription = %self.sub,
            message = %leased.message.id,
            attempt = leased.attempts,
            function = function.name(),
            version = function.version(),
            ok = outcome.is_ok(),
            error = error.as_deref(),
            ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
            guest_us = u64::try_from(record.guest.as_micros()).unwrap_or(u64::MAX),
            "{} delivery {} of {}",
            self.sub,
            leased.attempts,
            leased.message.id
        );
    }
}

/// SNS's JSON envelope of `message`, as SNS sends to HTTP and SQS subscribers.
pub fn envelope(message: &Message) -> String {
    let attributes: serde_json::Map<String, serde_json::Value> = message
        .attributes
        .iter()
        .map(|a| {
            let data_type = serde_json::to_value(a.data_type).unwrap_or_default();
            (
                a.name.clone(),
                serde_json::json!({ "Type": data_type, "Value": a.value }),
            )
        })
        .collect();
    serde_json::json!({
        "Type": "Notification",
        "MessageId": message.id,
        "TopicArn": format!("arn:portico:sns:local:000000000000:{}", message.topic),
        "Subject": message.subject,
        "Message": message.body,
        "Timestamp": humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + Duration::from_millis(message.published_ms)
        )
        .to_string(),
        "MessageAttributes": attributes,
    })
    .to_string()
}

fn wit_message(message: &Message, attempt: u32, raw: bool) -> wit::Message {
    use super::AttributeType;
    wit::Message {
        message_id: message.id.clone(),
        topic: message.topic.clone(),
        subject: message.subject.clone(),
        body: if raw {
            message.body.clone()
        } else {
            envelope(message)
        },
        attributes: message
            .attributes
            .iter()
            .map(|a| wit::MessageAttribute {
                name: a.name.clone(),
                data_type: match a.data_type {
                    AttributeType::String => wit::AttributeType::String,
                    AttributeType::Number => wit::AttributeType::Number,
                    AttributeType::StringArray => wit::AttributeType::StringArray,
                    AttributeType::Binary => wit::AttributeType::Binary,
                },
                value: a.value.clone(),
            })
            .collect(),
        timestamp: message.published_ms,
        delivery_attempt: attempt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(10);
        for _ in 0..100 {
            let first = backoff(base, max, 1);
            assert!(
                first >= Duration::from_millis(500) && first <= base,
                "{first:?}"
            );
            let third = backoff(base, max, 3);
            assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4));
            let late = backoff(base, max, 40);
            assert!(late >= Duration::from_secs(5) && late <= max, "{late:?}");
        }
    }

    #[test]
    fn the_envelope_is_sns_s() {
        let message = Message {
            id: "m-1".into(),
            topic: "orders".into(),
            subject: Some("New".into()),
            body: r#"{"item":"tea"}"#.into(),
            attributes: vec![super::super::Attribute {
                name: "kind".into(),
                data_type: super::super::AttributeType::String,
                value: "placed".into(),
            }],
            published_ms: 0,
        };
        let v: serde_json::Value = serde_json::from_str(&envelope(&message)).expect("json");
        assert_eq!(v["Type"], "Notification");
        assert_eq!(v["MessageId"], "m-1");
        assert_eq!(v["Message"], r#"{"item":"tea"}"#);
        assert_eq!(v["Timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["MessageAttributes"]["kind"]["Type"], "String");
        assert_eq!(v["MessageAttributes"]["kind"]["Value"], "placed");
        assert!(
            v["TopicArn"]
                .as_str()
                .is_some_and(|a| a.ends_with(":orders"))
        );
    }
}
