//! `portico.toml`: which functions exist, where their modules are, their limits, and
//! which route leads to which function.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:3000"
//!
//! [stage]
//! name = "$default"
//! variables = { greeting = "Hello" }
//!
//! [functions.hello]
//! module = "target/wasm32-wasip2/release/hello.wasm"
//! build = "cargo build --release --target wasm32-wasip2"
//! timeout = "30s"
//! memory = "128MiB"
//!
//! [routes]
//! "GET /hello/{name}" = "hello"
//! ```
//!
//! Every error names the file, the line and column, and the key at fault.

mod data;
mod error;
mod topics;
mod units;

pub use crate::gateway::StageConfig;
pub use crate::runtime::{DEFAULT_MAX_RESPONSE, DEFAULT_MEMORY, DEFAULT_TIMEOUT, Limits};
pub use data::{BackendKind, DEFAULT_DATA_DIR, DataConfig, DynamoDbSettings};
pub use error::ManifestError;
#[cfg(test)]
pub(crate) use error::assert_each_cause_once;
pub use units::{Bytes, HumanDuration, check_timeout, parse_duration, parse_size};

use crate::data::TableGrants;
use crate::gateway::{ApiSettings, IntegrationSpec, Override, RouteOptions, RouteSpec, Service};
use crate::outbound::AllowedHosts;
use crate::policy::api_key::{ApiKeyPolicy, UsagePlan, UsagePlanSettings, UsagePlans};
use crate::policy::cors::{Cors, CorsSettings};
use crate::policy::custom::{CustomAuthorizer, CustomSettings};
use crate::policy::jwt::{JwtAuthorizer, JwtSettings};
use crate::policy::throttle::{Throttle, ThrottleSettings};
use crate::policy::{Authorizer, CorsPolicy};
use crate::routing::{RouteKey, Router};
use crate::runtime::{CapabilityConfigs, FunctionSpec, Kind, RuntimeConfig};
use crate::telemetry::{OtlpProtocol, TelemetryConfig};
use crate::variables::{self, Source, VariableSpecs};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;

/// Default listen address of `portico up`.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 3000);
/// Default listen address of the admin API (`/healthz`, `/metrics`).
pub const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 3001);
/// Default request-body limit: API Gateway's payload limit.
pub const DEFAULT_MAX_BODY: u64 = 10 << 20;
/// Default number of function instances alive at once.
pub const DEFAULT_MAX_INSTANCES: u32 = 256;
/// Most instances a host may keep alive at once. Each pooled instance reserves address
/// space for its linear memories (about 8 GiB of virtual memory, none of it resident).
pub const MAX_INSTANCES: u32 = 4096;
/// Default number of requests waiting for an instance before new ones get 503.
pub const DEFAULT_MAX_QUEUE: u32 = 1024;
/// Default time a request waits for an instance before it gets 503.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of deployed versions kept per function (the live one is always kept).
pub const DEFAULT_KEEP_VERSIONS: usize = 10;

/// A loaded, validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it was read from.
    pub path: PathBuf,
    /// The directory relative paths and build commands are resolved against.
    pub dir: PathBuf,
    /// Listener and admission settings.
    pub server: ServerConfig,
    /// The stages: one `[stage]` (served at the root), or each `[stages.NAME]`.
    pub stages: Vec<StageConfig>,
    /// Functions by name.
    pub functions: BTreeMap<String, FunctionConfig>,
    /// Routes, with their functions and options; already checked for conflicts and
    /// unknown functions.
    pub routes: Router<RouteSpec>,
    /// API-wide settings routes inherit (`[cors]`).
    pub api: ApiSettings,
    /// The data store and the declared tables.
    pub data: DataConfig,
    /// Trace export.
    pub telemetry: TelemetryConfig,
    /// The topics (`[topics.NAME]`).
    pub topics: crate::topics::TopicsConfig,
    /// The developer portal (`[portal] enabled = true`), if enabled; its routes are
    /// among `routes`.
    pub portal: Option<crate::portal::PortalConfig>,
}

/// `[server]`. Its `Debug` leaves the admin token out.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address the gateway listens on (`--listen` overrides it).
    pub listen: SocketAddr,
    /// Address of the admin API (`--admin-listen` overrides it).
    pub admin_listen: SocketAddr,
    /// Largest request body accepted; larger bodies get 413.
    pub max_body_bytes: u64,
    /// Function instances alive at once, across all functions (the instance pool size).
    pub max_instances: u32,
    /// Requests that may wait for an instance; beyond that, 503 at once.
    pub max_queue: u32,
    /// How long a request may wait for an instance before 503.
    pub queue_timeout: Duration,
    /// Bearer token of the admin API (`PORTICO_ADMIN_TOKEN` wins over it).
    pub admin_token: Option<String>,
    /// Deployed versions kept per function for rollback.
    pub keep_versions: usize,
    /// Largest request line plus headers; larger requests get 431.
    pub max_header_bytes: u64,
    /// Public connections open at once; `None`: sized from the open-files limit.
    pub max_connections: Option<usize>,
    /// How long a client may take to send a request head (and the first one, from
    /// accept).
    pub header_timeout: Duration,
    /// How long a connection may sit with no request in flight.
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive, from the request head (then 408).
    pub body_timeout: Duration,
    /// Request-body bytes held at once across all requests (then 503).
    pub max_body_bytes_in_flight: u64,
    /// The URL other hosts sharing the DynamoDB reach this host's admin listener at
    /// (for the connections it holds); `None`: `http://` and the admin address.
    pub peer_url: Option<String>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured, so a new field cannot be forgotten here.
        let ServerConfig {
            listen,
            admin_listen,
            max_body_bytes,
            max_instances,
            max_queue,
            queue_timeout,
            admin_token,
            keep_versions,
            max_header_bytes,
            max_connections,
            header_timeout,
            idle_timeout,
            body_timeout,
            max_body_bytes_in_flight,
            peer_url,
        } = self;
        f.debug_struct("ServerConfig")
            .field("listen", listen)
            .field("admin_listen", admin_listen)
            .field("max_body_bytes", max_body_bytes)
            .field("max_instances", max_instances)
            .field("max_queue", max_queue)
            .field("queue_timeout", queue_timeout)
            .field("admin_token", &admin_token.as_ref().map(|_| "<redacted>"))
            .field("keep_versions", keep_versions)
            .field("max_header_bytes", max_header_bytes)
            .field("max_connections", max_connections)
            .field("header_timeout", header_timeout)
            .field("idle_timeout", idle_timeout)
            .field("body_timeout", body_timeout)
            .field("max_body_bytes_in_flight", max_body_bytes_in_flight)
            .field("peer_url", peer_url)
            .finish()
    }
}

/// A duration that must be more than zero: `default` when absent.
fn positive(
    value: Option<Spanned<HumanDuration>>,
    default: Duration,
    key: &str,
    at: &dyn Fn(std::ops::Range<usize>, &str, String) -> ManifestError,
) -> Result<Duration, ManifestError> {
    match value {
        Some(d) if d.get_ref().0.is_zero() => {
            Err(at(d.span(), key, "must be more than zero".into()))
        }
        d => Ok(d.map_or(default, |d| d.get_ref().0)),
    }
}

/// `[functions.NAME]`.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// The function's name (its key in the manifest).
    pub name: String,
    /// Path of the component file, resolved against the manifest's directory.
    pub module: PathBuf,
    /// Shell command that builds the module, run in the manifest's directory.
    pub build: Option<String>,
    /// The kind the manifest asserts (`kind = "wasi-http"`), if any.
    pub kind: Option<Kind>,
    /// Resource limits.
    pub limits: Limits,
    /// Reserved concurrency (`max_concurrency`): at most this many instances at once.
    pub max_concurrency: Option<NonZeroU32>,
    /// Environment variables the function sees (and no others).
    pub environment: Vec<(String, String)>,
    /// Each capability's settings: table grants, the outbound allow list, variables.
    pub capabilities: CapabilityConfigs,
    /// Source files and directories whose changes make `up --watch` rebuild the function.
    pub watch: Vec<PathBuf>,
    /// Instance reuse (`reuse = { max_requests, max_age }`), if opted in.
    pub reuse: Option<crate::runtime::Reuse>,
}

impl FunctionConfig {
    /// What the runtime loads the function with, with `limits` and `environment` (the
    /// manifest's, or a deployment's own).
    pub fn spec(&self, limits: Limits, environment: Vec<(String, String)>) -> FunctionSpec {
        FunctionSpec {
            name: self.name.clone(),
            kind: self.kind,
            limits,
            max_concurrency: self.max_concurrency,
            environment,
            capabilities: self.capabilities.clone(),
            reuse: self.reuse,
        }
    }

    /// The tables the function may use.
    pub fn tables(&self) -> &[String] {
        self.capabilities
            .get::<TableGrants>()
            .map_or(&[], |g| g.0.as_slice())
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    server: RawServer,
    stage: Option<Spanned<RawStage>>,
    #[serde(default)]
    stages: BTreeMap<String, Spanned<RawStage>>,
    #[serde(default)]
    functions: BTreeMap<FunctionName, RawFunction>,
    #[serde(default)]
    routes: BTreeMap<String, Spanned<toml::Value>>,
    cors: Option<Spanned<CorsSettings>>,
    throttle: Option<Spanned<ThrottleSettings>>,
    #[serde(default)]
    authorizers: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    usage_plans: BTreeMap<String, Spanned<UsagePlanSettings>>,
    websocket: Option<Spanned<RawWebSocket>>,
    #[serde(default)]
    topics: BTreeMap<String, Spanned<topics::RawTopic>>,
    portal: Option<Spanned<RawPortal>>,
    #[serde(default)]
    data: data::RawData,
    #[serde(default)]
    tables: BTreeMap<String, Spanned<data::RawTable>>,
    #[serde(default)]
    cache: data::RawCache,
    #[serde(default)]
    telemetry: RawTelemetry,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelemetry {
    #[serde(default)]
    otlp: bool,
    endpoint: Option<Spanned<String>>,
    #[serde(default)]
    protocol: OtlpProtocol,
    service_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
    max_body: Option<Spanned<Bytes>>,
    max_instances: Option<Spanned<u32>>,
    max_queue: Option<u32>,
    queue_timeout: Option<Spanned<HumanDuration>>,
    admin_token: Option<Spanned<String>>,
    keep_versions: Option<Spanned<usize>>,
    max_header_bytes: Option<Spanned<Bytes>>,
    max_connections: Option<Spanned<usize>>,
    header_timeout: Option<Spanned<HumanDuration>>,
    idle_timeout: Option<Spanned<HumanDuration>>,
    body_timeout: Option<Spanned<HumanDuration>>,
    max_body_bytes_in_flight: Option<Spanned<Bytes>>,
    peer_url: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStage {
    name: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    throttle: Option<Spanned<ThrottleSettings>>,
    #[serde(default)]
    api_key_required: bool,
    /// `[stages.NAME]` only: function → version (or `live`).
    #[serde(default)]
    versions: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunction {
    module: Spanned<PathBuf>,
    build: Option<String>,
    kind: Option<Spanned<String>>,
    timeout: Option<Spanned<HumanDuration>>,
    max_concurrency: Option<Spanned<u32>>,
    memory: Option<Spanned<Bytes>>,
    max_response: Option<Spanned<Bytes>>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    tables: Vec<Spanned<String>>,
    allowed_outbound_hosts: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    variables: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    variables_as_env: bool,
    #[serde(default)]
    connections: bool,
    #[serde(default)]
    topics: Vec<Spanned<String>>,
    #[serde(default)]
    watch: Vec<PathBuf>,
    reuse: Option<Spanned<RawReuse>>,
}

/// A function's `reuse = { max_requests, max_age }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReuse {
    max_requests: u32,
    max_age: Option<HumanDuration>,
}

/// How long a reused instance lives when `reuse` gives no `max_age`.
const DEFAULT_REUSE_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// `[websocket]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebSocket {
    path: Option<String>,
    route_selection_expression: Option<String>,
    max_frame: Option<Bytes>,
    max_message: Option<Bytes>,
    idle_timeout: Option<HumanDuration>,
    max_lifetime: Option<HumanDuration>,
    max_outgoing: Option<usize>,
    connect_throttle: Option<ThrottleSettings>,
    auth: Option<String>,
    api_key_required: Option<bool>,
    #[serde(default)]
    routes: BTreeMap<String, String>,
}

/// `[portal]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    #[serde(default)]
    enabled: bool,
    path: Option<String>,
    title: Option<String>,
}

/// A route's table form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    function: Option<String>,
    publish: Option<topics::RawPublish>,
    cors: Option<toml::Value>,
    timeout: Option<HumanDuration>,
    auth: Option<String>,
    scopes: Option<Vec<String>>,
    throttle: Option<ThrottleSettings>,
    api_key_required: Option<bool>,
    payload: Option<String>,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let source = std::fs::read_to_string(path).map_err(|cause| ManifestError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        Self::parse(path, &source)
    }

    /// Validates manifest text; `path` is used for messages and to resolve relative paths.
    pub fn parse(path: &Path, source: &str) -> Result<Manifest, ManifestError> {
        let raw = deserialize(path, source)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let at = |span: std::ops::Range<usize>, key: &str, message: String| {
            ManifestError::at(path, source, span.start, key, message)
        };

        let max_body_bytes = raw
            .server
            .max_body
            .as_ref()
            .map_or(DEFAULT_MAX_BODY, |b| b.get_ref().0);
        let server = ServerConfig {
            listen: raw.server.listen.unwrap_or(DEFAULT_LISTEN),
            admin_listen: raw.server.admin_listen.unwrap_or(DEFAULT_ADMIN_LISTEN),
            max_body_bytes,
            max_instances: match raw.server.max_instances {
                Some(n) if !(1..=MAX_INSTANCES).contains(n.get_ref()) => {
                    return Err(at(
                        n.span(),
                        "server.max_instances",
                        format!("must be between 1 and {MAX_INSTANCES}"),
                    ));
                }
                Some(n) => *n.get_ref(),
                None => DEFAULT_MAX_INSTANCES,
            },
            max_queue: raw.server.max_queue.unwrap_or(DEFAULT_MAX_QUEUE),
            queue_timeout: raw
                .server
                .queue_timeout
                .map_or(DEFAULT_QUEUE_TIMEOUT, |d| d.get_ref().0),
            admin_token: match raw.server.admin_token {
                Some(t) if t.get_ref().trim().is_empty() => {
                    return Err(at(
                        t.span(),
                        "server.admin_token",
                        "must not be empty (leave it out to disable the admin API's changes)"
                            .into(),
                    ));
                }
                t => t.map(Spanned::into_inner),
            },
            keep_versions: match raw.server.keep_versions {
                Some(n) if *n.get_ref() == 0 => {
                    return Err(at(
                        n.span(),
                        "server.keep_versions",
                        "must be at least 1".into(),
                    ));
                }
                n => n.map_or(DEFAULT_KEEP_VERSIONS, Spanned::into_inner),
            },
            max_header_bytes: raw
                .server
                .max_header_bytes
                .map_or(crate::gateway::server::DEFAULT_MAX_HEADER_BYTES, |b| {
                    b.get_ref().0
                }),
            max_connections: match raw.server.max_connections {
                Some(n) if *n.get_ref() == 0 => {
                    return Err(at(
                        n.span(),
                        "server.max_connections",
                        "must be at least 1 (leave it out to size it from the open-files limit)"
                            .into(),
                    ));
                }
                n => n.map(Spanned::into_inner),
            },
            header_timeout: positive(
                raw.server.header_timeout,
                crate::http_server::HEADER_READ_TIMEOUT,
                "server.header_timeout",
                &at,
            )?,
            idle_timeout: positive(
                raw.server.idle_timeout,
                crate::http_server::DEFAULT_IDLE_TIMEOUT,
                "server.idle_timeout",
                &at,
            )?,
            body_timeout: positive(
                raw.server.body_timeout,
                crate::gateway::server::DEFAULT_BODY_TIMEOUT,
                "server.body_timeout",
                &at,
            )?,
            max_body_bytes_in_flight: match raw.server.max_body_bytes_in_flight {
                Some(b) if b.get_ref().0 < max_body_bytes => {
                    return Err(at(
                        b.span(),
                        "server.max_body_bytes_in_flight",
                        format!(
                            "must be at least server.max_body ({max_body_bytes} bytes), or no body of the largest size could ever be received"
                        ),
                    ));
                }
                b => b.map_or(
                    crate::gateway::body_budget::DEFAULT_MAX_BODY_BYTES_IN_FLIGHT
                        .max(max_body_bytes),
                    |b| b.get_ref().0,
                ),
            },
            peer_url: match raw.server.peer_url {
                Some(u)
                    if !(u.get_ref().starts_with("http://")
                        || u.get_ref().starts_with("https://"))
                        || reqwest::Url::parse(u.get_ref()).is_err() =>
                {
                    return Err(at(
                        u.span(),
                        "server.peer_url",
                        format!(
                            "must be an http:// or https:// URL other hosts reach this host's admin listener at, got {:?}",
                            u.get_ref()
                        ),
                    ));
                }
                u => u.map(Spanned::into_inner),
            },
        };

        // The stages, as written: `[stage]` (one, at the root) or `[stages.NAME]`.
        let raw_stages: Vec<(String, String, RawStage, std::ops::Range<usize>)> = match (
            raw.stage,
            raw.stages.is_empty(),
        ) {
            (Some(stage), false) => {
                return Err(at(
                    stage.span(),
                    "stage",
                    "use either one [stage] section or [stages.NAME] sections, not both".into(),
                ));
            }
            (stage, true) => {
                let span = stage.as_ref().map_or(0..0, Spanned::span);
                let stage = stage.map(Spanned::into_inner).unwrap_or_default();
                if !stage.versions.is_empty() {
                    return Err(at(
                            span,
                            "stage.versions",
                            "versions are pinned per stage in [stages.NAME] sections; [stage] serves the live versions".into(),
                        ));
                }
                let name = stage.name.clone().unwrap_or_else(|| "$default".to_string());
                vec![("stage".to_string(), name, stage, span)]
            }
            (None, false) => {
                let mut out = Vec::new();
                for (name, stage) in raw.stages {
                    let field = format!("stages.{name}");
                    let span = stage.span();
                    let stage = stage.into_inner();
                    if stage.name.is_some() {
                        return Err(at(
                            span,
                            &format!("{field}.name"),
                            "a stage's name is its section's: [stages.NAME]".into(),
                        ));
                    }
                    if name != "$default"
                        && (name.is_empty()
                            || name.len() > 128
                            || !name
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                    {
                        return Err(at(
                            span,
                            &field,
                            format!(
                                "invalid stage name {name:?}: `$default`, or 1 to 128 letters, digits, `-` and `_` (it is the path prefix /{{name}})"
                            ),
                        ));
                    }
                    out.push((field, name, stage, span));
                }
                out
            }
        };

        let mut data = data::build(&dir, raw.data, raw.tables, &raw.cache)
            .map_err(|p| ManifestError::at(path, source, p.offset, p.key, p.message))?;

        let function_names: Vec<String> = raw.functions.keys().map(|n| n.0.clone()).collect();
        let topics = topics::build(raw.topics, &function_names)
            .map_err(|(span, key, message)| at(span, &format!("topics.{key}"), message))?;
        if !topics.is_empty() {
            data.tables.extend(crate::topics::queue::tables());
        }

        let mut functions = BTreeMap::new();
        for (FunctionName(name), f) in raw.functions {
            let key = |field: &str| format!("functions.{name}.{field}");
            let mut limits = Limits::default();
            if let Some(t) = f.timeout {
                limits.timeout = units::check_timeout(t.get_ref().0)
                    .map_err(|e| at(t.span(), &key("timeout"), e))?;
            }
            if let Some(m) = f.memory {
                limits.memory_bytes = Limits::check_memory(m.get_ref().0)
                    .map_err(|e| at(m.span(), &key("memory"), e.to_string()))?;
            }
            if let Some(r) = f.max_response {
                limits.max_response_bytes = r.get_ref().0;
            }
            let max_concurrency = match f.max_concurrency {
                Some(n) => Some(NonZeroU32::new(*n.get_ref()).ok_or_else(|| {
                    at(
                        n.span(),
                        &key("max_concurrency"),
                        "must be at least 1 (to stop a function, remove its routes)".into(),
                    )
                })?),
                None => None,
            };
            if f.module.get_ref().as_os_str().is_empty() {
                return Err(at(
                    f.module.span(),
                    &key("module"),
                    "must not be empty".into(),
                ));
            }
            let reuse = match f.reuse {
                None => None,
                Some(raw) => {
                    let span = raw.span();
                    let raw = raw.into_inner();
                    let max_requests = NonZeroU32::new(raw.max_requests).ok_or_else(|| {
                        at(
                            span.clone(),
                            &key("reuse.max_requests"),
                            "must be at least 1 (1 is a fresh instance per request: leave `reuse` out)".into(),
                        )
                    })?;
                    let max_age = raw.max_age.map_or(DEFAULT_REUSE_AGE, |d| d.0);
                    if max_age.is_zero() {
                        return Err(at(
                            span,
                            &key("reuse.max_age"),
                            "must be more than 0".into(),
                        ));
                    }
                    Some(crate::runtime::Reuse {
                        max_requests,
                        max_age,
                    })
                }
            };
            let mut tables = Vec::with_capacity(f.tables.len());
            for table in f.tables {
                if !data.tables.iter().any(|t| &t.name == table.get_ref()) {
                    let declared: Vec<&str> = data.tables.iter().map(|t| t.name.as_str()).collect();
                    return Err(at(
                        table.span(),
                        &key("tables"),
                        format!(
                            "no table named `{}` (tables in this manifest: {})",
                            table.get_ref(),
                            if declared.is_empty() {
                                "none".to_string()
                            } else {
                                declared.join(", ")
                            }
                        ),
                    ));
                }
                tables.push(table.into_inner());
            }
            let kind = match f.kind {
                Some(k) => Some(Kind::parse(k.get_ref()).ok_or_else(|| {
                    at(
                        k.span(),
                        &key("kind"),
                        format!(
                            "unknown kind {:?}: use {}",
                            k.get_ref(),
                            Kind::ALL
                                .iter()
                                .map(|k| format!("\"{k}\""))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    )
                })?),
                None => None,
            };
            let mut capabilities = CapabilityConfigs::default();
            capabilities.insert(TableGrants(tables));
            capabilities.insert(crate::connections::ConnectionsGrant(f.connections));
            let mut granted_topics = Vec::with_capacity(f.topics.len());
            for topic in f.topics {
                if !topics.contains_key(topic.get_ref()) {
                    return Err(at(
                        topic.span(),
                        &key("topics"),
                        unknown("topic", topic.get_ref(), topics.keys()),
                    ));
                }
                granted_topics.push(topic.into_inner());
            }
            capabilities.insert(crate::topics::TopicGrants(granted_topics));
            if let Some(hosts) = f.allowed_outbound_hosts {
                let allowed = AllowedHosts::parse(hosts.get_ref())
                    .map_err(|e| at(hosts.span(), &key("allowed_outbound_hosts"), e.to_string()))?;
                capabilities.insert(allowed);
            }
            let mut specs = VariableSpecs {
                variables: BTreeMap::new(),
                as_env: f.variables_as_env,
            };
            for (var, value) in f.variables {
                let field = key(&format!("variables.{var}"));
                variables::check_name(&var).map_err(|e| at(value.span(), &field, e.to_string()))?;
                let source = variable_source(&dir, value.get_ref())
                    .map_err(|e| at(value.span(), &field, e))?;
                specs.variables.insert(var, source);
            }
            capabilities.insert(specs);
            functions.insert(
                name.clone(),
                FunctionConfig {
                    module: dir.join(f.module.into_inner()),
                    build: f.build,
                    kind,
                    limits,
                    max_concurrency,
                    environment: f.environment.into_iter().collect(),
                    capabilities,
                    watch: f.watch.into_iter().map(|p| dir.join(p)).collect(),
                    reuse,
                    name,
                },
            );
        }

        let mut authorizers = BTreeMap::new();
        for (name, value) in raw.authorizers {
            let field = format!("authorizers.{name}");
            let authorizer = authorizer(&name, value.get_ref(), &dir, &data.dir, &functions)
                .map_err(|(sub, e)| at(value.span(), &format!("{field}{sub}"), e))?;
            authorizers.insert(name, authorizer);
        }

        let throttle = match raw.throttle {
            Some(settings) => Throttle::new("the API", *settings.get_ref()).map_err(|e| {
                at(
                    settings.span(),
                    &format!("throttle.{}", e.field),
                    e.to_string(),
                )
            })?,
            None => Throttle::new("the API", ThrottleSettings::default())
                .map_err(|e| at(0..0, "throttle", e.to_string()))?,
        };
        let mut plans = BTreeMap::new();
        for (name, settings) in raw.usage_plans {
            let plan = UsagePlan::new(&name, *settings.get_ref()).map_err(|e| {
                at(
                    settings.span(),
                    &format!("usage_plans.{name}.{}", e.field),
                    e.to_string(),
                )
            })?;
            plans.insert(name, Arc::new(plan));
        }
        let websocket = match raw.websocket {
            Some(section) => {
                let span = section.span();
                Some(Arc::new(
                    websocket_api(section.into_inner(), &functions, &authorizers)
                        .map_err(|(key, message)| at(span, &format!("websocket{key}"), message))?,
                ))
            }
            None => None,
        };
        let required_kinds = topics
            .iter()
            .flat_map(|(topic, config)| {
                config.subscriptions.iter().map(move |s| {
                    (
                        s.function.clone(),
                        (Kind::Subscriber, format!("topic `{topic}`")),
                    )
                })
            })
            .collect();
        let api = ApiSettings {
            required_kinds,
            websocket,
            api_key: Arc::new(ApiKeyPolicy::new(Arc::new(UsagePlans::new(plans)))),
            throttle: Some(Arc::new(throttle)),
            authorizers,
            cors: match raw.cors {
                Some(settings) => Some(Arc::new(CorsPolicy(
                    Cors::new(settings.get_ref()).map_err(|e| {
                        at(
                            settings.span(),
                            &format!("cors.{}", e.field()),
                            e.to_string(),
                        )
                    })?,
                ))),
                None => None,
            },
        };

        let mut routes = Router::new();
        for (key, value) in raw.routes {
            // A route is one `"KEY" = ...` line: errors about the key point at the line.
            let field = format!("routes.\"{key}\"");
            let route_key: RouteKey = key.parse().map_err(|e: crate::routing::RouteKeyError| {
                at(value.span(), &field, e.to_string())
            })?;
            let (integration, options) = route_value(value.get_ref(), &api, &key, &topics)
                .map_err(|(sub, e)| at(value.span(), &format!("{field}{sub}"), e))?;
            if let IntegrationSpec::Function(function) = &integration
                && !functions.contains_key(function)
            {
                return Err(at(
                    value.span(),
                    &field,
                    unknown("function", function, functions.keys()),
                ));
            }
            let spec = RouteSpec {
                key: route_key.clone(),
                integration,
                options,
            };
            routes
                .insert(route_key, spec)
                .map_err(|e| at(value.span(), &field, e.to_string()))?;
        }

        let portal = match raw.portal {
            Some(raw) if raw.get_ref().enabled => {
                let span = raw.span();
                let raw = raw.into_inner();
                let config = crate::portal::PortalConfig::new(
                    raw.path.as_deref().unwrap_or(crate::portal::DEFAULT_PATH),
                    raw.title
                        .unwrap_or_else(|| crate::portal::DEFAULT_TITLE.to_string()),
                )
                .map_err(|e| at(span.clone(), "portal.path", e))?;
                for (key, service) in config.routes() {
                    let spec = RouteSpec {
                        key: key.clone(),
                        integration: IntegrationSpec::Service(service),
                        // Documentation is public whatever the stage says of API keys.
                        options: RouteOptions {
                            api_key_required: Some(false),
                            ..RouteOptions::default()
                        },
                    };
                    routes.insert(key, spec).map_err(|e| {
                        at(
                            span.clone(),
                            "portal.path",
                            format!("the portal's routes clash with the manifest's: {e}"),
                        )
                    })?;
                }
                Some(config)
            }
            _ => None,
        };

        let single = raw_stages.len() == 1 && raw_stages[0].0 == "stage";
        let mut stages = Vec::with_capacity(raw_stages.len());
        for (field, name, stage, span) in raw_stages {
            // The stage's default route throttling: a bucket of its own for each route
            // without its own `throttle`.
            let mut route_throttles = std::collections::HashMap::new();
            if let Some(settings) = stage.throttle {
                Throttle::new("the stage", *settings.get_ref()).map_err(|e| {
                    at(
                        settings.span(),
                        &format!("{field}.throttle.{}", e.field),
                        e.to_string(),
                    )
                })?;
                for route in routes.routes() {
                    if route.value.options.throttle.is_none() {
                        let scope = if single {
                            format!("route {} (the stage's default)", route.text)
                        } else {
                            format!("route {} (stage {name}'s default)", route.text)
                        };
                        let bucket = Throttle::new(&scope, *settings.get_ref())
                            .map_err(|e| at(settings.span(), &field, e.to_string()))?;
                        route_throttles.insert(route.key.clone(), Arc::new(bucket));
                    }
                }
            }
            let mut versions = BTreeMap::new();
            for (function, version) in stage.versions {
                if !functions.contains_key(&function) {
                    return Err(at(
                        span,
                        &format!("{field}.versions.{function}"),
                        unknown("function", &function, functions.keys()),
                    ));
                }
                if version != "live" {
                    versions.insert(function, version);
                }
            }
            stages.push(StageConfig {
                at_root: single || name == "$default",
                name,
                variables: stage.variables.into_iter().collect(),
                api_key_required: stage.api_key_required,
                route_throttles,
                versions,
            });
        }

        // The host's key tables join the store's when anything uses keys.
        if uses_api_keys(&api, &stages, &routes) {
            data.tables.extend(crate::policy::api_key::store::tables());
        }

        let telemetry = TelemetryConfig {
            otlp: raw.telemetry.otlp,
            endpoint: match raw.telemetry.endpoint {
                Some(e)
                    if !(e.get_ref().starts_with("http://")
                        || e.get_ref().starts_with("https://")) =>
                {
                    return Err(at(
                        e.span(),
                        "telemetry.endpoint",
                        format!("must be an http:// or https:// URL, got {:?}", e.get_ref()),
                    ));
                }
                e => e.map(Spanned::into_inner),
            },
            protocol: raw.telemetry.protocol,
            service_name: raw
                .telemetry
                .service_name
                .unwrap_or_else(|| "portico".to_string()),
        };

        Ok(Manifest {
            path: path.to_path_buf(),
            dir,
            server,
            stages,
            functions,
            routes,
            api,
            data,
            telemetry,
            topics,
            portal,
        })
    }

    /// The routes leading to function `name`, in route order.
    pub fn routes_of(&self, name: &str) -> Vec<RouteKey> {
        self.routes
            .routes()
            .iter()
            .filter(|r| r.value.function() == Some(name))
            .map(|r| r.key.clone())
            .collect()
    }

    /// Every route as configured, in route order.
    pub fn route_list(&self) -> Vec<RouteSpec> {
        self.routes
            .routes()
            .iter()
            .map(|r| r.value.clone())
            .collect()
    }

    /// The options the manifest gives route `key` (the defaults when it has no such
    /// route): a deployment that moves a function's routes keeps each route's options.
    pub fn route_options(&self, key: &RouteKey) -> RouteOptions {
        self.routes
            .routes()
            .iter()
            .find(|r| &r.key == key)
            .map(|r| r.value.options.clone())
            .unwrap_or_default()
    }

    /// Whether the host keeps API keys for this manifest: a route or the stage requires
    /// them, or it has usage plans (so keys can be made before a route needs them).
    pub fn uses_api_keys(&self) -> bool {
        uses_api_keys(&self.api, &self.stages, &self.routes)
    }

    /// Whether anything holds or reaches WebSocket connections: a `[websocket]` API, or
    /// a function granted `connections`.
    pub fn uses_connections(&self) -> bool {
        self.api.websocket.is_some()
            || self.functions.values().any(|f| {
                f.capabilities
                    .get::<crate::connections::ConnectionsGrant>()
                    .is_some_and(|grant| grant.0)
            })
    }

    /// The runtime's settings for serving this manifest.
    pub fn runtime_config(&self) -> RuntimeConfig {
        RuntimeConfig {
            max_instances: self.server.max_instances,
            max_queue: self.server.max_queue,
            queue_timeout: self.server.queue_timeout,
            max_memory_bytes: self.largest_memory(),
            pooling: true,
            artifacts: None,
        }
    }

    /// The largest memory limit of any function (sizes the instance pool's memory slots).
    pub fn largest_memory(&self) -> u64 {
        self.functions
            .values()
            .map(|f| f.limits.memory_bytes)
            .max()
            .unwrap_or(DEFAULT_MEMORY)
    }
}

/// A route's value: `"function"`, or `{ function = "f", cors = false, timeout = "5s" }`.
/// The error is (the sub-key at fault, the message).
/// The WebSocket API `[websocket]` describes, over the manifest's `functions`; `Err`
/// names the key below `websocket` and why.
fn websocket_api(
    raw: RawWebSocket,
    functions: &BTreeMap<String, FunctionConfig>,
    authorizers: &BTreeMap<String, crate::policy::Authorizer>,
) -> Result<crate::gateway::websocket::WebSocketApi, (String, String)> {
    use crate::gateway::websocket::{
        CONNECT, DEFAULT, DISCONNECT, Limits, SelectionExpression, WebSocketApi,
    };
    let path = raw.path.unwrap_or_else(|| "/ws".to_string());
    if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
        return Err((
            ".path".into(),
            format!("a path like \"/ws\" (starting with `/`, no query), got {path:?}"),
        ));
    }
    let selection = match raw.route_selection_expression {
        Some(text) => SelectionExpression::parse(&text)
            .map_err(|e| (".route_selection_expression".to_string(), e))?,
        None => SelectionExpression::default(),
    };
    let defaults = Limits::default();
    let size = |value: Option<Bytes>, default: usize, key: &str| match value {
        None => Ok(default),
        Some(Bytes(0)) => Err((format!(".{key}"), "must be at least 1 byte".to_string())),
        Some(Bytes(n)) => usize::try_from(n).map_err(|_| (format!(".{key}"), "too large".into())),
    };
    let duration = |value: Option<HumanDuration>, default, key: &str| match value {
        None => Ok(default),
        Some(HumanDuration(d)) if d.is_zero() => {
            Err((format!(".{key}"), "must be longer than 0s".to_string()))
        }
        Some(HumanDuration(d)) => Ok(d),
    };
    let limits = Limits {
        max_frame: size(raw.max_frame, defaults.max_frame, "max_frame")?,
        max_message: size(raw.max_message, defaults.max_message, "max_message")?,
        idle_timeout: duration(raw.idle_timeout, defaults.idle_timeout, "idle_timeout")?,
        max_lifetime: duration(raw.max_lifetime, defaults.max_lifetime, "max_lifetime")?,
        max_outgoing: match raw.max_outgoing {
            Some(0) => return Err((".max_outgoing".into(), "must be at least 1".into())),
            Some(n) => n,
            None => defaults.max_outgoing,
        },
    };
    if limits.max_frame > limits.max_message {
        return Err((
            ".max_frame".into(),
            format!(
                "a frame of {} bytes cannot be larger than the largest message ({} bytes, max_message)",
                limits.max_frame, limits.max_message
            ),
        ));
    }
    for (key, function) in &raw.routes {
        let field = format!(".routes.\"{key}\"");
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err((
                field,
                "a route key is `$connect`, `$disconnect`, `$default` or one word".into(),
            ));
        }
        if key.starts_with('$') && ![CONNECT, DISCONNECT, DEFAULT].contains(&key.as_str()) {
            return Err((
                field,
                "route keys starting with `$` are API Gateway's: `$connect`, `$disconnect`, `$default`".into(),
            ));
        }
        if !functions.contains_key(function) {
            return Err((field, unknown("function", function, functions.keys())));
        }
    }
    let connect = raw.connect_throttle.unwrap_or(ThrottleSettings {
        rate: crate::gateway::websocket::DEFAULT_CONNECT_RATE,
        burst: crate::gateway::websocket::DEFAULT_CONNECT_RATE as u32,
    });
    let connect_throttle = Throttle::new("new WebSocket connections", connect)
        .map_err(|e| (format!(".connect_throttle.{}", e.field), e.to_string()))?;
    let auth = match raw.auth {
        Some(name) => {
            let Some(authorizer) = authorizers.get(&name) else {
                return Err((
                    ".auth".into(),
                    unknown("authorizer", &name, authorizers.keys()),
                ));
            };
            Some(
                authorizer
                    .for_route(Vec::new())
                    .map_err(|e| (".auth".to_string(), e))?,
            )
        }
        None => None,
    };
    Ok(WebSocketApi {
        path,
        selection,
        limits,
        routes: raw.routes,
        connect_throttle: Arc::new(connect_throttle),
        options: RouteOptions {
            // The upgrade is no CORS request; the connection's throttle is its own.
            cors: Override::Off,
            auth,
            api_key_required: raw.api_key_required,
            ..RouteOptions::default()
        },
    })
}

fn uses_api_keys(api: &ApiSettings, stages: &[StageConfig], routes: &Router<RouteSpec>) -> bool {
    stages.iter().any(|s| s.api_key_required)
        || !api.api_key.plans().is_empty()
        || api
            .websocket
            .as_ref()
            .is_some_and(|ws| ws.options.api_key_required == Some(true))
        || routes
            .routes()
            .iter()
            .any(|r| r.value.options.api_key_required == Some(true))
}

fn route_value(
    value: &toml::Value,
    api: &ApiSettings,
    key: &str,
    topic_config: &crate::topics::TopicsConfig,
) -> Result<(IntegrationSpec, RouteOptions), (String, String)> {
    let table = match value {
        toml::Value::String(function) => {
            return Ok((
                IntegrationSpec::Function(function.clone()),
                RouteOptions::default(),
            ));
        }
        toml::Value::Table(_) => value
            .clone()
            .try_into::<RawRoute>()
            .map_err(|e| (String::new(), e.message().trim().to_string()))?,
        other => {
            return Err((
                String::new(),
                format!(
                    "expected a function name or a table like {{ function = \"f\", cors = false }} or {{ publish = {{ topic = \"t\" }} }}, got {}",
                    other.type_str()
                ),
            ));
        }
    };
    let cors = match table.cors {
        None => Override::Inherit,
        Some(toml::Value::Boolean(false)) => Override::Off,
        Some(toml::Value::Boolean(true)) if api.cors.is_some() => Override::Inherit,
        Some(toml::Value::Boolean(true)) => {
            return Err((
                ".cors".into(),
                "`cors = true` takes the API's `[cors]` settings, but the manifest has no `[cors]` section (add one, or give this route its own: cors = { allow_origins = [...] })".into(),
            ));
        }
        Some(settings @ toml::Value::Table(_)) => {
            let settings: CorsSettings = settings
                .try_into()
                .map_err(|e| (".cors".to_string(), e.message().trim().to_string()))?;
            let cors = Cors::new(&settings)
                .map_err(|e| (format!(".cors.{}", e.field()), e.to_string()))?;
            Override::Set(Arc::new(CorsPolicy(cors)))
        }
        Some(other) => {
            return Err((
                ".cors".into(),
                format!(
                    "expected true, false or a table of CORS settings, got {}",
                    other.type_str()
                ),
            ));
        }
    };
    let timeout = match table.timeout {
        Some(t) => Some(units::check_timeout(t.0).map_err(|e| (".timeout".to_string(), e))?),
        None => None,
    };
    let throttle = match table.throttle {
        Some(settings) => Some(Arc::new(
            Throttle::new(&format!("route {key}"), settings)
                .map_err(|e| (format!(".throttle.{}", e.field), e.to_string()))?,
        )),
        None => None,
    };
    let auth = match (table.auth, table.scopes) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err((
                ".scopes".into(),
                "scopes are checked by an authorizer: add `auth = \"NAME\"` naming one of `[authorizers]`".into(),
            ));
        }
        (Some(name), scopes) => {
            let Some(authorizer) = api.authorizers.get(&name) else {
                return Err((
                    ".auth".into(),
                    unknown("authorizer", &name, api.authorizers.keys()),
                ));
            };
            let scopes = scopes.unwrap_or_default();
            if scopes
                .iter()
                .any(|s| s.is_empty() || s.contains(char::is_whitespace))
            {
                return Err((".scopes".into(), "a scope is one non-empty word".into()));
            }
            Some(
                authorizer
                    .for_route(scopes)
                    .map_err(|e| (".scopes".to_string(), e))?,
            )
        }
    };
    let publish = match table.publish {
        Some(raw) => Some(Arc::new(topics::publish(raw, topic_config)?) as Arc<dyn Service>),
        None => None,
    };
    let (integration, before) = match (table.function, publish) {
        (Some(function), before) => (IntegrationSpec::Function(function), before),
        (None, Some(publish)) => {
            if table.payload.is_some() || table.timeout.is_some() {
                let key = if table.payload.is_some() {
                    ".payload"
                } else {
                    ".timeout"
                };
                return Err((
                    key.into(),
                    "applies to a function, and this route has none (only `publish`)".into(),
                ));
            }
            (IntegrationSpec::Service(publish), None)
        }
        (None, None) => {
            return Err((
                String::new(),
                "a route leads to a `function`, or publishes (`publish = { topic = \"t\" }`), or both".into(),
            ));
        }
    };
    Ok((
        integration,
        RouteOptions {
            cors,
            timeout,
            auth,
            throttle,
            api_key_required: table.api_key_required,
            payload: match table.payload {
                Some(version) => version.parse().map_err(|e| (".payload".to_string(), e))?,
                None => crate::exchange::PayloadVersion::default(),
            },
            before,
        },
    ))
}

/// "no `kind` named `name` (`kind`s in this manifest: a, b)", or "... none)".
fn unknown<'a>(kind: &str, name: &str, known: impl Iterator<Item = &'a String>) -> String {
    let known: Vec<&str> = known.map(String::as_str).collect();
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    format!("no {kind} named `{name}` ({kind}s in this manifest: {known})")
}

/// One `[authorizers.NAME]` section. The error is (the sub-key at fault, the message).
fn authorizer(
    name: &str,
    value: &toml::Value,
    dir: &Path,
    data_dir: &Path,
    functions: &BTreeMap<String, FunctionConfig>,
) -> Result<Authorizer, (String, String)> {
    let Some(table) = value.as_table() else {
        return Err((
            String::new(),
            format!("expected a table, got {}", value.type_str()),
        ));
    };
    let mut table = table.clone();
    let kind = match table.remove("type") {
        Some(toml::Value::String(t)) if t == "jwt" || t == "request" => t,
        Some(toml::Value::String(t)) => {
            return Err((
                ".type".into(),
                format!(
                    "unknown authorizer type {t:?}: Portico has `jwt` (a JWT issuer) and `request` (a custom authorizer function)"
                ),
            ));
        }
        Some(other) => {
            return Err((
                ".type".into(),
                format!("expected a string, got {}", other.type_str()),
            ));
        }
        None => {
            return Err((
                String::new(),
                "missing `type` (`type = \"jwt\"` or `type = \"request\"`)".into(),
            ));
        }
    };
    let table = toml::Value::Table(table);
    if kind == "request" {
        let settings: CustomSettings = table
            .try_into()
            .map_err(|e| (String::new(), e.message().trim().to_string()))?;
        if !functions.contains_key(&settings.function) {
            return Err((
                ".function".into(),
                unknown("function", &settings.function, functions.keys()),
            ));
        }
        return CustomAuthorizer::new(name, &settings)
            .map(|a| Authorizer::Custom(Arc::new(a)))
            .map_err(|e| (format!(".{}", e.field), e.reason));
    }
    let settings: JwtSettings = table
        .try_into()
        .map_err(|e| (String::new(), e.message().trim().to_string()))?;
    JwtAuthorizer::new(name, &settings, dir, data_dir)
        .map(|a| Authorizer::Jwt(Arc::new(a)))
        .map_err(|e| (format!(".{}", e.field), e.reason))
}

/// A variable's value: `"text"`, `{ from_env = "NAME" }` or `{ from_file = "path" }`
/// (relative to the manifest's directory).
fn variable_source(dir: &Path, value: &toml::Value) -> Result<Source, String> {
    let toml::Value::Table(table) = value else {
        return match value {
            toml::Value::String(text) => Ok(Source::Value(text.clone())),
            other => Err(format!(
                "expected a string, {{ from_env = \"NAME\" }} or {{ from_file = \"path\" }}, got {}",
                other.type_str()
            )),
        };
    };
    let mut entries = table.iter();
    match (entries.next(), entries.next()) {
        (Some((k, toml::Value::String(name))), None) if k == "from_env" && !name.is_empty() => {
            Ok(Source::FromEnv(name.clone()))
        }
        (Some((k, toml::Value::String(file))), None) if k == "from_file" && !file.is_empty() => {
            Ok(Source::FromFile(dir.join(file)))
        }
        _ => Err("expected exactly one of `from_env = \"NAME\"` or `from_file = \"path\"`".into()),
    }
}

/// A function's name: letters, digits, `_` and `-`.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct FunctionName(String);

impl<'de> Deserialize<'de> for FunctionName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(serde::de::Error::custom(format!(
                "invalid function name {name:?}: use only letters, digits, `_` and `-`"
            )));
        }
        Ok(FunctionName(name))
    }
}

/// Deserialises with the dotted key path of any error.
fn deserialize(path: &Path, source: &str) -> Result<RawManifest, ManifestError> {
    let de = toml::Deserializer::parse(source).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        ManifestError::at(
            path,
            source,
            offset,
            "(document)",
            e.message().trim().to_string(),
        )
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        // `Spanned<T>` shows up in the path as an internal field; users never wrote it.
        let key = match e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "")
        {
            p if p == "." => "(document)".to_string(),
            // An empty key (`"" = 1`) is an empty segment: spell it as TOML does.
            p => empty_segments_quoted(&p),
        };
        let inner = e.into_inner();
        let offset = inner.span().map_or(0, |s| s.start);
        ManifestError::at(
            path,
            source,
            offset,
            key,
            inner.message().trim().to_string(),
        )
    })
}

/// `a..b` → `a."".b`, `` → `""`: a dotted key path whose empty segments can be read.
fn empty_segments_quoted(path: &str) -> String {
    path.split('.')
        .map(|segment| if segment.is_empty() { "\"\"" } else { segment })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_data::KeyType;

    #[test]
    fn an_empty_key_is_named_as_written() {
        // Found by the manifest fuzz target: the error named no key.
        let e = parse("\"\" = \"hello\"\n").expect_err("unknown key");
        let text = e.to_string();
        assert!(
            text.starts_with("dir/portico.toml:1:1: \"\": unknown field"),
            "{text}"
        );
        let e = parse("[functions.\"\"]\nmodule = \"m.wasm\"\n").expect_err("empty name");
        assert!(e.to_string().contains("functions.\"\""), "{e}");
    }

    fn parse(src: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(Path::new("dir/portico.toml"), src)
    }

    #[test]
    fn the_connections_table_is_reserved_and_peer_url_is_a_url() {
        let e = parse(
            "[tables.portico_connections]\npartition_key = { name = \"id\", type = \"S\" }\n",
        )
        .expect_err("reserved");
        let text = e.to_string();
        assert!(text.contains("portico.toml:1:"), "{text}");
        assert!(text.contains("tables.portico_connections"), "{text}");
        assert!(text.contains("WebSocket connections"), "{text}");
        for bad in ["10.0.0.5:3001", "ftp://x", "http://"] {
            let e = parse(&format!("[server]\npeer_url = {bad:?}\n")).expect_err(bad);
            let text = e.to_string();
            assert!(
                text.contains("portico.toml:2:") && text.contains("server.peer_url"),
                "{text}"
            );
        }
        let m = parse("[server]\npeer_url = \"http://10.0.0.5:3001\"\n").expect("valid");
        assert_eq!(m.server.peer_url.as_deref(), Some("http://10.0.0.5:3001"));
        assert!(!m.uses_connections());
    }

    #[test]
    fn the_server_config_debug_leaves_the_admin_token_out() {
        let m = parse("[server]\nadmin_token = \"s3cr3t-token\"\n").expect("valid");
        assert_eq!(m.server.admin_token.as_deref(), Some("s3cr3t-token"));
        let debug = format!("{:?}", m.server);
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(
            debug.contains("admin_token: Some(\"<redacted>\")"),
            "{debug}"
        );
    }

    fn error(src: &str) -> (usize, String) {
        let e = parse(src).expect_err("should fail");
        (e.line().expect("has a line"), e.to_string())
    }

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:0"
max_body = "1MiB"

[stage]
name = "prod"
variables = { a = "1" }

[functions.hello]
module = "hello.wasm"
timeout = "2s"
memory = "64MiB"
environment = { K = "V" }

[routes]
"GET /hello" = "hello"
"$default" = "hello"
"#;

    #[test]
    fn a_good_manifest_loads_with_defaults_filled_in() {
        let m = parse(GOOD).expect("valid");
        assert_eq!(m.server.max_body_bytes, 1 << 20);
        assert_eq!(m.server.max_instances, DEFAULT_MAX_INSTANCES);
        assert_eq!(m.stages[0].name, "prod");
        let f = &m.functions["hello"];
        assert_eq!(f.module, Path::new("dir/hello.wasm"));
        assert_eq!(f.limits.timeout, Duration::from_secs(2));
        assert_eq!(f.limits.memory_bytes, 64 << 20);
        assert_eq!(f.limits.max_response_bytes, DEFAULT_MAX_RESPONSE);
        assert_eq!(f.environment, vec![("K".to_string(), "V".to_string())]);
        assert_eq!(m.routes.routes().len(), 2);
    }

    #[test]
    fn unknown_keys_name_line_and_key() {
        let (line, msg) = error("[functions.hello]\nmodule = \"a.wasm\"\ntimeuot = \"1s\"\n");
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("functions.hello"), "{msg}");
        assert!(msg.contains("timeuot"), "{msg}");
        assert!(msg.starts_with("dir/portico.toml:3:"), "{msg}");
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let (line, msg) = error("[functions.hello]\nmodule = \"a.wasm\"\n\ntimeout = \"soon\"\n");
        assert_eq!(line, 4, "{msg}");
        assert!(msg.contains("functions.hello.timeout"), "{msg}");
        assert!(msg.contains("invalid duration"), "{msg}");

        let (line, msg) = error("[server]\nlisten = \"nowhere\"\n");
        assert_eq!(line, 2, "{msg}");
        assert!(msg.contains("server.listen"), "{msg}");

        let (line, msg) = error("[functions.a]\nmodule = \"a.wasm\"\nmemory = \"8GiB\"\n");
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("functions.a.memory"), "{msg}");
    }

    #[test]
    fn bad_routes_name_line_and_key() {
        let base = "[functions.a]\nmodule = \"a.wasm\"\n[routes]\n";
        let (line, msg) = error(&format!("{base}\"GET /x\" = \"b\"\n"));
        assert_eq!(line, 4, "{msg}");
        assert!(msg.contains("no function named `b`"), "{msg}");

        let (line, msg) = error(&format!("{base}\"GET /x\" = \"a\"\n\"FETCH /y\" = \"a\"\n"));
        assert_eq!(line, 5, "{msg}");
        assert!(msg.contains("routes.\"FETCH /y\""), "{msg}");

        let (_, msg) = error(&format!(
            "{base}\"GET /x/{{a}}\" = \"a\"\n\"GET /x/{{b}}\" = \"a\"\n"
        ));
        assert!(msg.contains("conflicts"), "{msg}");
    }

    #[test]
    fn syntax_errors_have_lines() {
        let (line, msg) = error("[server]\nlisten = \n");
        assert_eq!(line, 2, "{msg}");
    }

    #[test]
    fn bad_function_names_are_refused() {
        let (line, msg) = error("[functions.\"a b\"]\nmodule = \"a.wasm\"\n");
        assert_eq!(line, 1, "{msg}");
        assert!(msg.contains("invalid function name"), "{msg}");
    }

    const TABLES: &str = r#"
[data]
backend = "dynamodb"
[data.dynamodb]
endpoint = "http://127.0.0.1:8000"
create_tables = true

[tables.todos]
partition_key = { name = "id", type = "S" }
sort_key = { name = "n", type = "N" }
ttl = "expires"

[tables.todos.global_indexes.by_status]
partition_key = { name = "status", type = "S" }
projection = ["title"]

[tables.todos.local_indexes.by_created]
sort_key = { name = "created", type = "N" }
projection = "keys_only"

[functions.a]
module = "a.wasm"
tables = ["todos"]
"#;

    #[test]
    fn tables_and_grants_load() {
        let m = parse(TABLES).expect("valid");
        assert_eq!(m.data.backend, BackendKind::Dynamodb);
        assert_eq!(m.data.dir, Path::new("dir/.portico/data"));
        assert!(m.data.dynamodb.create_tables);
        let todos = &m.data.tables[0];
        assert_eq!(todos.name, "todos");
        assert_eq!(
            todos.key.sort.as_ref().map(|k| k.key_type),
            Some(KeyType::N)
        );
        assert_eq!(todos.ttl_attribute.as_deref(), Some("expires"));
        assert_eq!(
            todos.global_indexes[0].projection,
            portico_data::IndexProjection::Include(vec!["title".into()])
        );
        assert_eq!(todos.local_indexes[0].key.partition.name, "id");
        assert_eq!(m.functions["a"].tables(), ["todos".to_string()]);
    }

    #[test]
    fn the_cache_is_on_by_default_and_configurable() {
        let m = parse(TABLES).expect("valid");
        assert!(m.data.cache.enabled);
        let text = format!(
            "{TABLES}\n[cache]\nmax_bytes = \"1MiB\"\nttl = \"5s\"\n[tables.todos.cache]\nquery_ttl = \"1s\"\nenabled = true\n"
        );
        let m = parse(&text).expect("valid");
        assert_eq!(m.data.cache.max_bytes, 1 << 20);
        assert_eq!(m.data.cache.ttl, Duration::from_secs(5));
        assert_eq!(
            m.data.cache.tables["todos"].query_ttl,
            Some(Duration::from_secs(1))
        );
        let (_, msg) = error(&format!("{TABLES}\n[cache]\nttl = \"soon\"\n"));
        assert!(msg.contains("cache.ttl"), "{msg}");
    }

    #[test]
    fn table_errors_name_line_and_key() {
        let (line, msg) = error("[functions.a]\nmodule = \"a.wasm\"\ntables = [\"nope\"]\n");
        assert_eq!(line, 3, "{msg}");
        assert!(
            msg.contains("functions.a.tables") && msg.contains("no table named `nope`"),
            "{msg}"
        );

        let (line, msg) = error("[tables.t]\npartition_key = { name = \"id\", type = \"X\" }\n");
        assert_eq!(line, 2, "{msg}");
        assert!(msg.contains("tables.t.partition_key"), "{msg}");

        let (line, msg) = error(
            "\n[tables.todos]\npartition_key = { name = \"id\", type = \"S\" }\n[tables.todos.local_indexes.by_x]\nsort_key = { name = \"x\", type = \"S\" }\n",
        );
        assert_eq!(line, 2, "{msg}");
        assert!(msg.contains("needs a table with a sort key"), "{msg}");

        let (_, msg) = error("[tables.t]\npartition_key = { name = \"id\", type = \"S\" }\n");
        assert!(msg.contains("invalid table name"), "{msg}");

        let (_, msg) = error(
            "[tables.things]\npartition_key = { name = \"id\", type = \"S\" }\n[tables.things.global_indexes.by_id]\npartition_key = { name = \"id\", type = \"N\" }\n",
        );
        assert!(
            msg.contains("declared as N here and as S elsewhere"),
            "{msg}"
        );
    }

    #[test]
    fn the_example_manifests_load() {
        for (path, text) in [
            (
                "examples/portico.toml",
                include_str!("../../../examples/portico.toml"),
            ),
            (
                "examples/todo/portico.toml",
                include_str!("../../../examples/todo/portico.toml"),
            ),
            (
                "examples/hello/portico.toml",
                include_str!("../../../examples/hello/portico.toml"),
            ),
            (
                "examples/policies/portico.toml",
                include_str!("../../../examples/policies/portico.toml"),
            ),
        ] {
            if let Err(e) = Manifest::parse(Path::new(path), text) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn sizes_and_durations_that_do_not_fit_name_line_and_key() {
        let f = "[functions.a]\nmodule = \"a.wasm\"\n";
        let (line, msg) = error(&format!(
            "{f}max_response = \"99999999999999999999999GiB\"\n"
        ));
        assert_eq!(line, 3, "{msg}");
        assert!(
            msg.starts_with("dir/portico.toml:3:") && msg.contains("functions.a.max_response"),
            "{msg}"
        );
        assert!(msg.contains("too large"), "{msg}");

        let (line, msg) = error(&format!("{f}max_response = \"16EiB\"\n"));
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("too large"), "{msg}");

        let (line, msg) = error(&format!("{f}max_response = \"1.5B\"\n"));
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("not a whole number of bytes"), "{msg}");

        let (line, msg) = error(&format!("{f}timeout = \"18446744073709551615s\"\n"));
        assert_eq!(line, 3, "{msg}");
        assert!(
            msg.contains("functions.a.timeout") && msg.contains("too long"),
            "{msg}"
        );

        let (line, msg) = error(&format!("{f}timeout = \"99999999999999999999999s\"\n"));
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("invalid duration"), "{msg}");

        let (line, msg) = error(&format!("{f}timeout = \"500us\"\n"));
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("whole number of milliseconds"), "{msg}");

        let (line, msg) = error(&format!(
            "{f}[routes]\n\"GET /a\" = {{ function = \"a\", timeout = \"18446744073709551615s\" }}\n"
        ));
        assert_eq!(line, 4, "{msg}");
        assert!(
            msg.contains("routes.\"GET /a\"") && msg.contains("too long"),
            "{msg}"
        );

        let (line, msg) = error("\n[cache]\nmax_bytes = \"99999999999999999999999GiB\"\n");
        assert_eq!(line, 3, "{msg}");
        assert!(
            msg.contains("cache.max_bytes") && msg.contains("too large"),
            "{msg}"
        );

        let (line, msg) = error("\n[cache]\nttl = \"18446744073709551615s\"\n");
        assert_eq!(line, 3, "{msg}");
        assert!(
            msg.contains("cache.ttl") && msg.contains("too long"),
            "{msg}"
        );

        let (line, msg) = error("[server]\nmax_body = \"99999999999999999999999GiB\"\n");
        assert_eq!(line, 2, "{msg}");
        assert!(
            msg.contains("server.max_body") && msg.contains("too large"),
            "{msg}"
        );

        let (line, msg) = error("[server]\nqueue_timeout = \"18446744073709551615s\"\n");
        assert_eq!(line, 2, "{msg}");
        assert!(
            msg.contains("server.queue_timeout") && msg.contains("too long"),
            "{msg}"
        );

        // The largest that fit are accepted.
        let m = parse(&format!(
            "{f}max_response = \"18446744073709551615\"\ntimeout = \"18446744073709551s\"\n"
        ))
        .expect("fits");
        assert_eq!(m.functions["a"].limits.max_response_bytes, u64::MAX);
        assert_eq!(
            m.functions["a"].limits.timeout,
            Duration::from_secs(u64::MAX / 1000)
        );
    }

    #[test]
    fn an_empty_manifest_loads() {
        let m = parse("").expect("valid");
        assert!(m.functions.is_empty());
        assert!(m.routes.routes().is_empty());
    }

    #[test]
    fn missing_module_is_an_error() {
        let (_, msg) = error("[functions.a]\ntimeout = \"1s\"\n");
        assert!(msg.contains("module"), "{msg}");
    }
}
