//! API keys and usage plans, as API Gateway's REST APIs have them: a route (or a whole
//! stage) with `api_key_required = true` admits only requests whose `x-api-key` header
//! holds a live key, and a key's usage plan limits it with a throttle of its own and a
//! quota per day, week or month.
//!
//! ```toml
//! [usage_plans.basic]
//! throttle = { rate = 10, burst = 20 }        # this key's own bucket
//! quota = { limit = 1000, period = "day" }    # day | week | month (UTC)
//!
//! [routes]
//! "GET /keyed" = { function = "hello", api_key_required = true }
//! ```
//!
//! Keys are made through the admin API (`POST /keys`, or `portico keys create`), which
//! shows a key's value once; the data store keeps its SHA-256 only ([`store`]). A
//! request on such a route, after its authorizer if it has one (as API Gateway checks
//! the key after authorising):
//!
//! 1. without `x-api-key`, or with a value that is no live key → 403
//!    `{"message":"Forbidden"}`; so is a key whose plan is no longer in the manifest;
//! 2. over its plan's throttle → 429 `{"message":"Too Many Requests"}` with
//!    `retry-after`;
//! 3. past its plan's quota for the period → 429 `{"message":"Limit Exceeded"}` with
//!    `retry-after` (seconds until the next period);
//! 4. otherwise admitted, and the function reads the key's id (the WIT
//!    `authorization.api-key-id`, API Gateway's `requestContext.identity.apiKeyId`).
//!
//! A key without a plan has no limits of its own (API Gateway refuses a key in no usage
//! plan; Portico lets a plan be optional, so that keys alone can guard a route).
//! Quota counts are kept in the data store, written in batches ([`quota`] says what a
//! `kill -9` can lose: at most one second of requests).

pub mod quota;
pub mod registry;
pub mod store;

pub use quota::QuotaPeriod;
pub use registry::{ApiKeys, Check, CreatedKey, KeyError, KeyInfo, Refused, Usage, Verdict};

use super::throttle::{Throttle, ThrottleConfigError, ThrottleSettings, retry_after};
use super::{Admission, Context, Decision, Policy, refusal};
use crate::runtime::HttpTrigger;
use http::StatusCode;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The header a key is read from, as API Gateway's `apiKeySource = HEADER`.
pub const API_KEY_HEADER: &str = "x-api-key";

/// `[usage_plans.NAME]`, as written in the manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanSettings {
    /// Each key's own token bucket.
    pub throttle: Option<ThrottleSettings>,
    /// Each key's quota.
    pub quota: Option<QuotaSettings>,
}

/// A usage plan's `quota = { limit, period }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// Requests per period, 1 or more.
    pub limit: u64,
    /// The period.
    pub period: QuotaPeriod,
}

/// A usage plan setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PlanConfigError {
    /// The key at fault, below the plan: `quota.limit`, `throttle.rate`, ...
    pub field: String,
    /// Why.
    pub reason: String,
}

/// A usage plan: what limits each key on it.
#[derive(Debug)]
pub struct UsagePlan {
    /// The bucket each key's own is made from.
    pub throttle: Option<Throttle>,
    /// The quota.
    pub quota: Option<QuotaSettings>,
}

impl UsagePlan {
    /// The plan `[usage_plans.NAME]` describes.
    pub fn new(name: &str, settings: UsagePlanSettings) -> Result<UsagePlan, PlanConfigError> {
        let throttle = match settings.throttle {
            Some(throttle) => Some(
                Throttle::new(&format!("usage plan {name}"), throttle).map_err(
                    |ThrottleConfigError { field, reason }| PlanConfigError {
                        field: format!("throttle.{field}"),
                        reason,
                    },
                )?,
            ),
            None => None,
        };
        if let Some(quota) = settings.quota
            && quota.limit == 0
        {
            return Err(PlanConfigError {
                field: "quota.limit".into(),
                reason: "a quota's limit is 1 request or more per period".into(),
            });
        }
        Ok(UsagePlan {
            throttle,
            quota: settings.quota,
        })
    }
}

/// The manifest's usage plans, by name.
#[derive(Debug, Default)]
pub struct UsagePlans(BTreeMap<String, Arc<UsagePlan>>);

impl UsagePlans {
    /// These plans.
    pub fn new(plans: BTreeMap<String, Arc<UsagePlan>>) -> UsagePlans {
        UsagePlans(plans)
    }

    /// The plan called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<UsagePlan>> {
        self.0.get(name)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// "plans in this manifest: a, b", or "the manifest has no [usage_plans]".
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            "the manifest has no [usage_plans.NAME] section".into()
        } else {
            let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
            format!("usage plans in the manifest: {}", names.join(", "))
        }
    }
}

/// The policy of a route with `api_key_required = true`. See the [module docs](self).
#[derive(Debug, Default)]
pub struct ApiKeyPolicy {
    plans: Arc<UsagePlans>,
}

impl ApiKeyPolicy {
    /// Checks keys against `plans`.
    pub fn new(plans: Arc<UsagePlans>) -> ApiKeyPolicy {
        ApiKeyPolicy { plans }
    }

    /// The usage plans keys are checked against.
    pub fn plans(&self) -> &Arc<UsagePlans> {
        &self.plans
    }

    /// What `verdict` means for `trigger`'s request.
    fn decide(trigger: &HttpTrigger, cx: Context<'_>, verdict: Verdict) -> Decision {
        match verdict {
            Verdict::Admit(id, plan) => {
                cx.metrics
                    .api_key_decision(plan.as_deref().unwrap_or("none"), "admitted");
                // Keep what an authorizer before established; add the key.
                let mut authorization = trigger
                    .request
                    .authorizer
                    .as_deref()
                    .cloned()
                    .unwrap_or_default();
                authorization.api_key_id = Some(id);
                Ok(Some(Arc::new(authorization)))
            }
            Verdict::Refuse(Refused::Unknown) => {
                cx.metrics.api_key_decision("none", "forbidden");
                Err(forbidden("api key: no live key has the value sent".into()))
            }
            Verdict::Refuse(Refused::PlanGone { id, plan }) => {
                cx.metrics.api_key_decision(&plan, "forbidden");
                Err(forbidden(format!(
                    "api key {id}: its usage plan `{plan}` is not in the manifest"
                )))
            }
            Verdict::Refuse(Refused::Throttled { plan, bucket, wait }) => {
                cx.metrics.api_key_decision(&plan, "throttled");
                Err(bucket.refuse(wait))
            }
            Verdict::Refuse(Refused::LimitExceeded {
                id,
                plan,
                limit,
                retry_after: seconds,
            }) => {
                cx.metrics.api_key_decision(&plan, "limit_exceeded");
                let mut refused = refusal(
                    StatusCode::TOO_MANY_REQUESTS,
                    r#"{"message":"Limit Exceeded"}"#,
                    format!("api key {id}: usage plan `{plan}`'s quota of {limit} is used up"),
                );
                retry_after(&mut refused, seconds);
                Err(refused)
            }
        }
    }
}

/// API Gateway's 403 for a missing or unknown key.
fn forbidden(reason: String) -> Box<super::Refusal> {
    refusal(StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#, reason)
}

impl Policy for ApiKeyPolicy {
    fn name(&self) -> &'static str {
        "api-key"
    }

    fn responds(&self) -> bool {
        false
    }

    fn admit<'a>(&'a self, trigger: &'a HttpTrigger, cx: Context<'a>) -> Admission<'a> {
        // An event `portico invoke` read carries its key's id already.
        if trigger
            .request
            .authorizer
            .as_ref()
            .is_some_and(|a| a.api_key_id.is_some())
        {
            return Admission::Now(Ok(None));
        }
        let Some(keys) = cx.api_keys else {
            cx.metrics.api_key_decision("none", "error");
            return Admission::Now(Err(refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"message":"Internal Server Error"}"#,
                "api key: this host has no key store (API keys were first required after it started: restart it)".into(),
            )));
        };
        let value = match trigger.request.headers.get(API_KEY_HEADER) {
            Some(value) if !value.is_empty() => value,
            _ => {
                cx.metrics.api_key_decision("none", "forbidden");
                return Admission::Now(Err(forbidden(format!(
                    "api key: no {API_KEY_HEADER} header"
                ))));
            }
        };
        // The wall clock, not the request's time: a replayed event carries the time it
        // was recorded, and quotas count requests now.
        let now = std::time::SystemTime::now();
        match keys.check(value.as_bytes(), &self.plans, now) {
            Check::Done(verdict) => Admission::Now(Self::decide(trigger, cx, verdict)),
            Check::Load(pending) => Admission::Later(Box::pin(async move {
                match keys.finish(pending, now).await {
                    Ok(verdict) => Self::decide(trigger, cx, verdict),
                    Err(e) => {
                        cx.metrics.api_key_decision("none", "error");
                        Err(refusal(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            r#"{"message":"Internal Server Error"}"#,
                            format!(
                                "api key: cannot read the key's usage from the data store: {e}"
                            ),
                        ))
                    }
                }
            })),
        }
    }
}
