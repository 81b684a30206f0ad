//! Custom authorizers, as API Gateway's HTTP APIs run Lambda authorizers (payload format
//! 2.0, simple responses): a route with `auth = "NAME"` asks an authorizer function
//! before its own function runs.
//!
//! ```toml
//! [functions.keys-authorizer]
//! module = "target/wasm32-wasip2/release/authorizer.wasm"
//! tables = ["api_keys"]
//!
//! [authorizers.keys]
//! type = "request"
//! function = "keys-authorizer"
//! identity_source = ["$request.header.x-api-key"]   # the default: $request.header.Authorization
//! result_ttl = "5m"                                 # the default; "0s" turns caching off
//!
//! [routes]
//! "GET /reports" = { function = "reports", auth = "keys" }
//! ```
//!
//! For each request:
//! 1. every identity source must have a non-empty value, else the answer is 401
//!    `{"message":"Unauthorized"}` and no authorizer runs;
//! 2. a decision cached for the same values (and the same version of the authorizer
//!    function) answers, if younger than `result_ttl`;
//! 3. otherwise the authorizer function runs — once for any number of concurrent
//!    requests with the same values — and its decision is cached: `isAuthorized = false`
//!    answers 403 `{"message":"Forbidden"}`; a trap, timeout, error or malformed answer
//!    is 500 `{"message":"Internal Server Error"}` (never cached); no free instance is 503;
//! 4. an admitted request reaches its function with the authorizer's `context` as
//!    `requestContext.authorizer.lambda`.
//!
//! The cache is keyed by a SHA-256 of the authorizer's module digest and the identity
//! values, so it holds no credential, and a deploy of a new authorizer version starts
//! from fresh decisions. It is bounded to [`DECISION_BYTES`] per authorizer.

use super::identity::IdentitySource;
use super::{Admission, Context, Decision, Policy, refusal};
use crate::exchange::Authorization;
use crate::runtime::{Function, HttpTrigger, InvokeError, Kind};
use http::StatusCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The default `result_ttl`, as API Gateway's.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The largest `result_ttl`, as API Gateway's.
pub const MAX_TTL: Duration = Duration::from_secs(3600);
/// How many bytes of decisions are cached, per authorizer.
pub const DECISION_BYTES: u64 = 8 << 20;

/// `[authorizers.NAME]` with `type = "request"`, as written in the manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSettings {
    /// The authorizer function (of kind `authorizer`), from `[functions]`.
    pub function: String,
    /// Identity source expressions; one string or a list.
    pub identity_source: Option<OneOrMany>,
    /// How long a decision is cached (`"5m"`; `"0s"`: not at all).
    pub result_ttl: Option<String>,
}

/// One string, or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `"$request.header.x-api-key"`.
    One(String),
    /// `["$request.header.x-api-key", "$context.routeKey"]`.
    Many(Vec<String>),
}

/// A setting of a custom authorizer that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct CustomConfigError {
    /// The key at fault.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

/// A cached decision.
#[derive(Debug, Clone)]
enum Cached {
    Allow(Arc<Authorization>),
    Deny,
}

/// A custom authorizer: its function's name, its identity sources and its decisions.
pub struct CustomAuthorizer {
    name: String,
    function: String,
    sources: Vec<IdentitySource>,
    ttl: Duration,
    /// `None` when `result_ttl` is zero.
    decisions: Option<moka::future::Cache<[u8; 32], Cached>>,
}

impl fmt::Debug for CustomAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomAuthorizer")
            .field("name", &self.name)
            .field("function", &self.function)
            .field("sources", &self.sources)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CustomAuthorizer {
    /// The authorizer `[authorizers.NAME]` describes.
    pub fn new(
        name: &str,
        settings: &CustomSettings,
    ) -> Result<CustomAuthorizer, CustomConfigError> {
        let fail = |field, reason: String| CustomConfigError { field, reason };
        let texts = match &settings.identity_source {
            None => vec!["$request.header.Authorization".to_string()],
            Some(OneOrMany::One(text)) => vec![text.clone()],
            Some(OneOrMany::Many(list)) if list.is_empty() => {
                return Err(fail(
                    "identity_source",
                    "at least one identity source (the cache is keyed by their values)".into(),
                ));
            }
            Some(OneOrMany::Many(list)) => list.clone(),
        };
        let sources = texts
            .iter()
            .map(|text| IdentitySource::parse(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| fail("identity_source", reason))?;
        let ttl = match &settings.result_ttl {
            None => DEFAULT_TTL,
            Some(text) => humantime::parse_duration(text)
                .map_err(|e| fail("result_ttl", format!("{text:?}: {e}")))?,
        };
        if ttl > MAX_TTL {
            return Err(fail(
                "result_ttl",
                format!(
                    "at most {} (API Gateway's limit)",
                    humantime::format_duration(MAX_TTL)
                ),
            ));
        }
        let decisions = (!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(DECISION_BYTES)
                .weigher(|_key: &[u8; 32], value: &Cached| {
                    let context = match value {
                        Cached::Allow(a) => a.lambda.as_deref().map_or(0, str::len),
                        Cached::Deny => 0,
                    };
                    u32::try_from(96 + context).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build()
        });
        Ok(CustomAuthorizer {
            name: name.to_string(),
            function: settings.function.clone(),
            sources,
            ttl,
            decisions,
        })
    }

    /// The authorizer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The authorizer function's name.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The identity sources, in order.
    pub fn sources(&self) -> &[IdentitySource] {
        &self.sources
    }

    /// How long decisions are cached (zero: not at all).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// A route's custom authorizer, bound to the authorizer function being served.
#[derive(Debug)]
pub struct CustomPolicy {
    authorizer: Arc<CustomAuthorizer>,
    function: Arc<Function>,
}

/// Why the authorizer function gave no decision.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failed(InvokeError);

impl CustomPolicy {
    /// The policy of `authorizer` over its function among `functions`, which must be
    /// there and be of kind `authorizer`.
    pub fn bind(
        authorizer: Arc<CustomAuthorizer>,
        functions: &BTreeMap<String, Arc<Function>>,
    ) -> Result<CustomPolicy, String> {
        let Some(function) = functions.get(&authorizer.function) else {
            return Err(format!(
                "authorizer `{}` runs function `{}`, which is not served",
                authorizer.name, authorizer.function
            ));
        };
        if function.kind() != Kind::Authorizer {
            return Err(format!(
                "authorizer `{}` runs function `{}`, of kind `{}`: an authorizer function exports `{}`",
                authorizer.name,
                authorizer.function,
                function.kind(),
                Kind::Authorizer.export()
            ));
        }
        Ok(CustomPolicy {
            authorizer,
            function: Arc::clone(function),
        })
    }

    /// Runs the authorizer function (a cache miss), and records the invocation as any
    /// other in the function's metrics.
    async fn ask(
        &self,
        trigger: &HttpTrigger,
        cx: Context<'_>,
        identity: Vec<String>,
    ) -> Result<Cached, Failed> {
        self.function.count_request();
        let (verdict, record) = cx
            .runtime
            .invoke_authorizer(&self.function, trigger, identity)
            .await;
        let name = self.function.name();
        match &verdict {
            Err(e @ InvokeError::Rejected(_)) => cx.metrics.failure(name, e.outcome()),
            started => {
                cx.metrics.invocation(
                    name,
                    record.instantiate,
                    record.guest,
                    record.cpu,
                    record.memory_bytes,
                );
                if let Err(e) = started {
                    cx.metrics.failure(name, e.outcome());
                }
            }
        }
        tracing::debug!(
            authorizer = %self.authorizer.name,
            function = name,
            guest_us = u64::try_from(record.guest.as_micros()).unwrap_or(u64::MAX),
            "custom authorizer ran"
        );
        let verdict = verdict.map_err(Failed)?;
        Ok(if verdict.authorized {
            Cached::Allow(Arc::new(Authorization {
                lambda: verdict.context,
                ..Authorization::default()
            }))
        } else {
            Cached::Deny
        })
    }

    fn decide(&self, outcome: Result<Cached, Arc<Failed>>, ran: bool, cx: Context<'_>) -> Decision {
        let decision = match &outcome {
            Ok(Cached::Allow(_)) => "allow",
            Ok(Cached::Deny) => "deny",
            Err(_) => "error",
        };
        let source = if ran { "function" } else { "cache" };
        cx.metrics
            .authorizer_decision(&self.authorizer.name, decision, source);
        match outcome {
            Ok(Cached::Allow(authorization)) => Ok(Some(authorization)),
            Ok(Cached::Deny) => Err(refusal(
                StatusCode::FORBIDDEN,
                r#"{"message":"Forbidden"}"#,
                self.reason("the authorizer denied the request"),
            )),
            Err(failed) => {
                tracing::warn!(
                    authorizer = %self.authorizer.name,
                    function = self.function.name(),
                    "custom authorizer failed: {}",
                    failed.0
                );
                let reason = self.reason(&format!("the authorizer failed: {}", failed.0));
                Err(match failed.0 {
                    InvokeError::Rejected(_) => refusal(
                        StatusCode::SERVICE_UNAVAILABLE,
                        r#"{"message":"Service Unavailable"}"#,
                        reason,
                    ),
                    _ => refusal(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        r#"{"message":"Internal Server Error"}"#,
                        reason,
                    ),
                })
            }
        }
    }

    fn reason(&self, why: &str) -> String {
        format!("custom authorizer {}: {why}", self.authorizer.name)
    }

    /// The cache key of `identity`: no credential is kept, only its hash with the
    /// authorizer module's digest.
    fn key(&self, identity: &[String]) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.function.digest());
        for value in identity {
            hash.update((value.len() as u64).to_le_bytes());
            hash.update(value.as_bytes());
        }
        hash.finalize().into()
    }
}

impl Policy for CustomPolicy {
    fn name(&self) -> &'static str {
        "custom-authorizer"
    }

    fn responds(&self) -> bool {
        false
    }

    fn admit<'a>(&'a self, trigger: &'a HttpTrigger, cx: Context<'a>) -> Admission<'a> {
        // An event `portico invoke` read carries its authorizer's output already.
        if trigger.request.carries_authorizer_output() {
            return Admission::Now(Ok(None));
        }
        let mut identity = Vec::with_capacity(self.authorizer.sources.len());
        for source in &self.authorizer.sources {
            match source.value(trigger) {
                Some(value) => identity.push(value.into_owned()),
                None => {
                    cx.metrics
                        .authorizer_decision(&self.authorizer.name, "unauthorized", "none");
                    return Admission::Now(Err(refusal(
                        StatusCode::UNAUTHORIZED,
                        r#"{"message":"Unauthorized"}"#,
                        self.reason(&format!("no value for identity source {source}")),
                    )));
                }
            }
        }
        Admission::Later(Box::pin(async move {
            // Set when this request's own call ran the function (not a cached decision,
            // nor another request's concurrent call for the same values).
            let ran = AtomicBool::new(false);
            let outcome = match &self.authorizer.decisions {
                Some(cache) => {
                    let key = self.key(&identity);
                    let ask = async {
                        ran.store(true, Ordering::Relaxed);
                        self.ask(trigger, cx, identity).await
                    };
                    cache.try_get_with(key, ask).await
                }
                None => {
                    ran.store(true, Ordering::Relaxed);
                    self.ask(trigger, cx, identity).await.map_err(Arc::new)
                }
            };
            self.decide(outcome, ran.load(Ordering::Relaxed), cx)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> CustomSettings {
        toml::from_str(toml).expect("settings parse")
    }

    #[test]
    fn defaults_are_api_gateways() {
        let a = CustomAuthorizer::new("k", &settings(r#"function = "f""#)).expect("valid");
        assert_eq!(a.ttl(), DEFAULT_TTL);
        assert_eq!(a.sources().len(), 1);
        assert_eq!(a.sources()[0].to_string(), "$request.header.authorization");
        assert!(a.decisions.is_some());
    }

    #[test]
    fn settings_are_checked() {
        let one = CustomAuthorizer::new(
            "k",
            &settings(
                r#"function = "f"
identity_source = "$request.querystring.key"
result_ttl = "0s""#,
            ),
        )
        .expect("valid");
        assert!(one.decisions.is_none());
        let bad = |toml: &str| CustomAuthorizer::new("k", &settings(toml)).expect_err(toml);
        assert_eq!(
            bad("function = \"f\"\nresult_ttl = \"2h\"").field,
            "result_ttl"
        );
        assert_eq!(
            bad("function = \"f\"\nresult_ttl = \"soon\"").field,
            "result_ttl"
        );
        assert_eq!(
            bad("function = \"f\"\nidentity_source = []").field,
            "identity_source"
        );
        assert_eq!(
            bad("function = \"f\"\nidentity_source = [\"$request.body.key\"]").field,
            "identity_source"
        );
    }
}
