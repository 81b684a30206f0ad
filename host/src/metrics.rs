//! The Prometheus metrics registry, served as text on the admin listener's `/metrics`.
//!
//! One [`Metrics`] per process; the gateway records every request into it. Labels are
//! bounded: routes come from the manifest, functions too, statuses are HTTP codes.

use crate::http_server::ConnectionStats;
use portico_data::cache::CacheStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Route label used when no route matched (404).
pub const NO_ROUTE: &str = "(none)";

/// `route` and `status` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    /// Route key (`GET /hello/{name}`), or [`NO_ROUTE`].
    pub route: String,
    /// HTTP status code.
    pub status: u16,
}

/// `route` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// Route key, or [`NO_ROUTE`].
    pub route: String,
}

/// `function` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionLabel {
    /// Function name.
    pub function: String,
}

/// `function` and `outcome` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionOutcome {
    /// Function name.
    pub function: String,
    /// What went wrong: `timeout`, `trap`, `guest_error`, `response_too_large`,
    /// `malformed_response` or `rejected` (no instance free).
    pub outcome: &'static str,
}

/// Labels of a change to what is served.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeployLabels {
    /// Function name.
    pub function: String,
    /// `deploy`, `rollback` or `load` (start and `up --watch`).
    pub action: &'static str,
    /// `ok` or `refused`.
    pub outcome: &'static str,
}

/// `operation` and `backend` labels of a data call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DataCallLabels {
    /// `get`, `put`, `update`, `delete`, `query`, `scan`, `batch_get`, `batch_write`,
    /// `transact_get` or `transact_write`.
    pub operation: &'static str,
    /// `embedded` or `dynamodb`.
    pub backend: &'static str,
}

/// `table` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabel {
    /// Table name.
    pub table: String,
}

/// `listener` and `outcome` labels of a connection.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    /// `public` or `admin`.
    pub listener: &'static str,
    /// `accepted`, `refused` (at the cap), `first_request_timeout`, `idle_timeout`,
    /// `header_timeout` or `accept_error`.
    pub outcome: &'static str,
}

/// Labels of an API key check.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiKeyLabels {
    /// The key's usage plan (`none`: no plan, or the key is unknown).
    pub plan: String,
    /// `admitted`, `forbidden` (missing, unknown or revoked key, or its plan is gone),
    /// `throttled`, `limit_exceeded`, or `error` (the store could not be read).
    pub decision: &'static str,
}

/// Labels of a custom authorizer's decision.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthorizerLabels {
    /// The authorizer's name (`[authorizers.NAME]`).
    pub authorizer: String,
    /// `allow`, `deny`, `error` (the function failed), or `unauthorized` (an identity
    /// source was missing; nothing ran).
    pub decision: &'static str,
    /// `function` (this request ran the authorizer function), `cache` (a cached
    /// decision answered, or another request's run for the same identity values), or
    /// `none` (`unauthorized`).
    pub source: &'static str,
}

/// Labels of WebSocket messages (`direction`: `in` or `out`) and closes (`reason`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebSocketLabels {
    /// `in`, `out`, or why a connection ended: `client`, `idle`, `lifetime`,
    /// `too_big`, `protocol`, `slow`, `closed`, `shutdown`.
    pub kind: &'static str,
}

/// Labels of the topic messages counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    /// The topic.
    pub topic: String,
    /// `published`, `delivered`, `failed` (one attempt), `retried`, `dead_lettered`,
    /// `duplicate` (a delivery whose lease had run out: another may have run too).
    pub outcome: &'static str,
}

/// Labels of the topic queue gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SubscriptionLabels {
    /// The subscription, `TOPIC/FUNCTION`.
    pub subscription: String,
}

/// `listener` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabel {
    /// `public` or `admin`.
    pub listener: &'static str,
}

/// The read cache's counters, read from the cache at scrape time.
#[derive(Debug, Default)]
struct CacheCollector {
    stats: Arc<OnceLock<Arc<CacheStats>>>,
}

impl Collector for CacheCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(stats) = self.stats.get() else {
            return Ok(());
        };
        let tables = stats.snapshot();
        type Read = fn(&portico_data::cache::TableSnapshot) -> u64;
        let counters: [(&str, &str, Read); 4] = [
            (
                "cache_hits",
                "Gets answered from the read cache, by table",
                |s| s.hits,
            ),
            (
                "cache_misses",
                "Gets the read cache passed to the backend, by table",
                |s| s.misses,
            ),
            (
                "cache_coalesced",
                "Gets that joined another request's backend read of the same key, by table",
                |s| s.coalesced,
            ),
            (
                "cache_evictions",
                "Cache entries dropped for space or age, by table",
                |s| s.evictions,
            ),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (table, snapshot) in &tables {
                let labels = TableLabel {
                    table: table.clone(),
                };
                ConstCounter::new(value(snapshot)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "cache_bytes",
            "Bytes the read cache holds, by table",
            None,
            MetricType::Gauge,
        )?;
        for (table, snapshot) in &tables {
            let labels = TableLabel {
                table: table.clone(),
            };
            let bytes = i64::try_from(snapshot.bytes).unwrap_or(i64::MAX);
            ConstGauge::new(bytes).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Every metric Portico exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    latency: Family<RouteLabel, Histogram, fn() -> Histogram>,
    instantiate: Family<FunctionLabel, Histogram, fn() -> Histogram>,
    guest: Family<FunctionLabel, Histogram, fn() -> Histogram>,
    cpu: Family<FunctionLabel, Counter<f64>>,
    memory: Family<FunctionLabel, Histogram, fn() -> Histogram>,
    failures: Family<FunctionOutcome, Counter>,
    outbound: Family<FunctionOutcome, Counter>,
    outbound_time: Family<FunctionLabel, Counter<f64>>,
    queue_depth: Gauge,
    deploys: Family<DeployLabels, Counter>,
    data_calls: Family<DataCallLabels, Histogram, fn() -> Histogram>,
    cache: Arc<OnceLock<Arc<CacheStats>>>,
    connections: Family<ConnectionLabels, Counter>,
    connections_open: Family<ListenerLabel, Gauge>,
    authorizer_decisions: Family<AuthorizerLabels, Counter>,
    api_key_decisions: Family<ApiKeyLabels, Counter>,
    websocket_open: Gauge,
    websocket_messages: Family<WebSocketLabels, Counter>,
    websocket_closes: Family<WebSocketLabels, Counter>,
    topic_messages: Family<TopicLabels, Counter>,
    topic_depth: Family<SubscriptionLabels, Gauge>,
    topic_oldest: Family<SubscriptionLabels, Gauge>,
    /// The last requests answered, for the console.
    recent: crate::recent::Recent,
}

fn seconds_histogram() -> Histogram {
    // 10 µs .. ~42 s
    Histogram::new(exponential_buckets(0.000_01, 2.0, 23))
}

fn bytes_histogram() -> Histogram {
    // 64 KiB .. 4 GiB
    Histogram::new(exponential_buckets(65_536.0, 2.0, 17))
}

/// A histogram family whose histograms all use `buckets`, registered under `name`.
fn histograms<L>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    buckets: fn() -> Histogram,
) -> Family<L, Histogram, fn() -> Histogram>
where
    L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::new_with_constructor(buckets);
    registry.register(name, help, family.clone());
    family
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// The last requests answered ([`crate::recent`]).
    pub fn recent(&self) -> &crate::recent::Recent {
        &self.recent
    }

    /// A registry with every metric registered and at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portico");
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let latency = histograms(
            &mut registry,
            "request_duration_seconds",
            "Time from request head to response, by route",
            seconds_histogram,
        );
        let instantiate = histograms(
            &mut registry,
            "instantiate_duration_seconds",
            "Time to create a function instance",
            seconds_histogram,
        );
        let guest = histograms(
            &mut registry,
            "guest_duration_seconds",
            "Time spent in a function's handler",
            seconds_histogram,
        );
        let cpu = Family::<FunctionLabel, Counter<f64>>::default();
        registry.register(
            "function_cpu_seconds",
            "CPU time functions' instances ran for (instantiation and handler; not waits), by function",
            cpu.clone(),
        );
        let memory = histograms(
            &mut registry,
            "instance_memory_bytes",
            "Largest linear memory an instance reached during one invocation",
            bytes_histogram,
        );
        let failures = Family::<FunctionOutcome, Counter>::default();
        registry.register(
            "invocation_failures",
            "Invocations without a response: timeouts, traps, guest errors, bad responses, no instance free",
            failures.clone(),
        );
        let outbound = Family::<FunctionOutcome, Counter>::default();
        registry.register(
            "outbound_requests",
            "Outbound HTTP requests of functions: `sent` (allowed and attempted) or `denied` (not in allowed_outbound_hosts)",
            outbound.clone(),
        );
        let outbound_time = Family::<FunctionLabel, Counter<f64>>::default();
        registry.register(
            "outbound_wait_seconds",
            "Time functions waited for the response heads of their outbound HTTP requests",
            outbound_time.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Requests waiting for a free instance",
            queue_depth.clone(),
        );
        let data_calls = histograms(
            &mut registry,
            "data_call_duration_seconds",
            "Time of a function's data call, by operation and backend (cache hits included)",
            seconds_histogram,
        );
        let deploys = Family::<DeployLabels, Counter>::default();
        registry.register(
            "deploys",
            "Changes to a function's live version: deploys, rollbacks and loads, by outcome",
            deploys.clone(),
        );
        let connections = Family::<ConnectionLabels, Counter>::default();
        registry.register(
            "connections",
            "Connections by listener and what became of them: accepted, refused at the cap, closed for a missing first request, idleness or a slow request head, or a failed accept",
            connections.clone(),
        );
        let connections_open = Family::<ListenerLabel, Gauge>::default();
        registry.register(
            "connections_open",
            "Connections open now, by listener",
            connections_open.clone(),
        );
        let authorizer_decisions = Family::<AuthorizerLabels, Counter>::default();
        registry.register(
            "authorizer_decisions",
            "Custom authorizer decisions, by authorizer, decision and whether the cache or the function gave it",
            authorizer_decisions.clone(),
        );
        let websocket_open = Gauge::default();
        registry.register(
            "websocket_connections",
            "WebSocket connections open now",
            websocket_open.clone(),
        );
        let websocket_messages = Family::<WebSocketLabels, Counter>::default();
        registry.register(
            "websocket_messages",
            "WebSocket messages, by kind: in (from clients) or out (to clients)",
            websocket_messages.clone(),
        );
        let websocket_closes = Family::<WebSocketLabels, Counter>::default();
        registry.register(
            "websocket_closes",
            "WebSocket connections ended, by kind (the reason)",
            websocket_closes.clone(),
        );
        let topic_messages = Family::<TopicLabels, Counter>::default();
        registry.register(
            "topic_messages",
            "Topic messages, by topic and outcome: published, delivered, failed, retried, dead_lettered, duplicate",
            topic_messages.clone(),
        );
        let topic_depth = Family::<SubscriptionLabels, Gauge>::default();
        registry.register(
            "topic_queue_depth",
            "Messages queued for a subscription, not yet delivered (as last polled)",
            topic_depth.clone(),
        );
        let topic_oldest = Family::<SubscriptionLabels, Gauge>::default();
        registry.register(
            "topic_oldest_message_age_seconds",
            "Age of a subscription's oldest undelivered message (as last polled; 0 when none)",
            topic_oldest.clone(),
        );
        let api_key_decisions = Family::<ApiKeyLabels, Counter>::default();
        registry.register(
            "api_key_decisions",
            "API key checks, by usage plan and decision",
            api_key_decisions.clone(),
        );
        let cache = CacheCollector::default();
        let cache_stats = Arc::clone(&cache.stats);
        registry.register_collector(Box::new(cache));
        Metrics {
            recent: crate::recent::Recent::default(),
            cache: cache_stats,
            data_calls,
            registry,
            requests,
            latency,
            instantiate,
            guest,
            cpu,
            memory,
            failures,
            outbound,
            outbound_time,
            queue_depth,
            deploys,
            connections,
            connections_open,
            authorizer_decisions,
            api_key_decisions,
            websocket_open,
            websocket_messages,
            websocket_closes,
            topic_messages,
            topic_depth,
            topic_oldest,
        }
    }

    /// One message of `topic` had `outcome` (see [`TopicLabels`]).
    pub fn topic_message(&self, topic: &str, outcome: &'static str) {
        self.topic_messages
            .get_or_create(&TopicLabels {
                topic: topic.to_string(),
                outcome,
            })
            .inc();
    }

    /// One message was published to `topic`.
    pub fn topic_published(&self, topic: &str) {
        self.topic_message(topic, "published");
    }

    /// `subscription` has `depth` messages queued, the oldest `oldest_seconds` old.
    pub fn topic_queue(&self, subscription: &str, depth: u64, oldest_seconds: u64) {
        let labels = SubscriptionLabels {
            subscription: subscription.to_string(),
        };
        self.topic_depth
            .get_or_create(&labels)
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        self.topic_oldest
            .get_or_create(&labels)
            .set(i64::try_from(oldest_seconds).unwrap_or(i64::MAX));
    }

    /// A WebSocket connection opened.
    pub fn websocket_opened(&self) {
        self.websocket_open.inc();
    }

    /// A WebSocket connection ended, for `reason`.
    pub fn websocket_closed(&self, reason: &'static str) {
        self.websocket_open.dec();
        self.websocket_closes
            .get_or_create(&WebSocketLabels { kind: reason })
            .inc();
    }

    /// A WebSocket message went `direction` (`in` or `out`).
    pub fn websocket_message(&self, direction: &'static str) {
        self.websocket_messages
            .get_or_create(&WebSocketLabels { kind: direction })
            .inc();
    }

    /// Records one API key check of a key on `plan` (`none` without one).
    pub fn api_key_decision(&self, plan: &str, decision: &'static str) {
        self.api_key_decisions
            .get_or_create(&ApiKeyLabels {
                plan: plan.to_string(),
                decision,
            })
            .inc();
    }

    /// Records one decision of custom authorizer `authorizer`.
    pub fn authorizer_decision(
        &self,
        authorizer: &str,
        decision: &'static str,
        source: &'static str,
    ) {
        self.authorizer_decisions
            .get_or_create(&AuthorizerLabels {
                authorizer: authorizer.to_string(),
                decision,
                source,
            })
            .inc();
    }

    /// Registered counters for the connections of listener `listener`.
    pub fn connections(&self, listener: &'static str) -> ConnectionStats {
        let counter = |outcome| {
            self.connections
                .get_or_create(&ConnectionLabels { listener, outcome })
                .clone()
        };
        ConnectionStats {
            accepted: counter("accepted"),
            refused: counter("refused"),
            first_request_timeout: counter("first_request_timeout"),
            idle_timeout: counter("idle_timeout"),
            header_timeout: counter("header_timeout"),
            accept_errors: counter("accept_error"),
            open: self
                .connections_open
                .get_or_create(&ListenerLabel { listener })
                .clone(),
        }
    }

    /// Records a deploy, rollback or load.
    pub fn deploy(&self, function: &str, action: &'static str, outcome: &'static str) {
        self.deploys
            .get_or_create(&DeployLabels {
                function: function.to_string(),
                action,
                outcome,
            })
            .inc();
    }

    /// Records one data call.
    pub fn data_call(&self, operation: &'static str, backend: &'static str, elapsed: Duration) {
        self.data_calls
            .get_or_create(&DataCallLabels { operation, backend })
            .observe(elapsed.as_secs_f64());
    }

    /// Exports the read cache's counters (once; later calls are ignored).
    pub fn attach_cache(&self, stats: Arc<CacheStats>) {
        let _ = self.cache.set(stats);
    }

    /// Records one answered request.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RouteStatus {
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabel {
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records the phases of one invocation that got an instance.
    pub fn invocation(
        &self,
        function: &str,
        instantiate: Duration,
        guest: Duration,
        cpu: Duration,
        memory_bytes: u64,
    ) {
        let label = FunctionLabel {
            function: function.to_string(),
        };
        self.instantiate
            .get_or_create(&label)
            .observe(instantiate.as_secs_f64());
        self.guest
            .get_or_create(&label)
            .observe(guest.as_secs_f64());
        self.cpu.get_or_create(&label).inc_by(cpu.as_secs_f64());
        self.memory
            .get_or_create(&label)
            .observe(memory_bytes as f64);
    }

    /// Records an invocation that produced no response.
    pub fn failure(&self, function: &str, outcome: &'static str) {
        self.failures
            .get_or_create(&FunctionOutcome {
                function: function.to_string(),
                outcome,
            })
            .inc();
    }

    /// Records one invocation's outbound HTTP requests.
    pub fn outbound(&self, function: &str, sent: u64, denied: u64, waited: Duration) {
        for (outcome, n) in [("sent", sent), ("denied", denied)] {
            if n > 0 {
                self.outbound
                    .get_or_create(&FunctionOutcome {
                        function: function.to_string(),
                        outcome,
                    })
                    .inc_by(n);
            }
        }
        self.outbound_time
            .get_or_create(&FunctionLabel {
                function: function.to_string(),
            })
            .inc_by(waited.as_secs_f64());
    }

    /// Sets the number of requests waiting for an instance.
    pub fn set_queue_depth(&self, depth: usize) {
        self.queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// The Prometheus / OpenMetrics text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_recorded_values() {
        let m = Metrics::new();
        m.request("GET /a", 200, Duration::from_millis(1));
        m.request("GET /a", 200, Duration::from_millis(2));
        m.failure("f", "timeout");
        m.set_queue_depth(3);
        let text = m.render();
        assert!(
            text.contains(r#"portico_requests_total{route="GET /a",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"portico_invocation_failures_total{function="f",outcome="timeout"} 1"#),
            "{text}"
        );
        assert!(text.contains("portico_queue_depth 3"), "{text}");
        assert!(
            text.contains(r#"portico_request_duration_seconds_count{route="GET /a"} 2"#),
            "{text}"
        );
    }
}
