//! The host's API keys: created, listed and revoked through the admin API, kept in the
//! data store ([`super::store`]), and checked on the request path against a copy in
//! memory.
//!
//! The copy's rules:
//! - it maps the SHA-256 of each live key's value to the key, so a check is a hash and
//!   one lock-free map read, and an unknown key costs no store read (a flood of made-up
//!   keys never reaches the store);
//! - a key created or revoked through this host's admin API is in (or out of) the copy
//!   before the call returns; keys changed through another host sharing the store are
//!   seen within [`REFRESH_INTERVAL`], when the copy is read again from the store;
//! - a key's throttle bucket and quota counter live with it in the copy, so refreshes
//!   and manifest reloads keep them (a bucket starts afresh when its plan's settings
//!   change).

use super::quota::{Counter, FLUSH_INTERVAL, QuotaPeriod};
use super::store::{KeyRecord, KeyStore};
use super::{UsagePlan, UsagePlans};
use crate::policy::throttle::Throttle;
use arc_swap::{ArcSwap, ArcSwapOption};
use portico_data::{Backend, DataError};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

/// How often the copy in memory is read again from the store.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Length of a key's value, as API Gateway's generated keys (letters and digits).
pub const VALUE_LENGTH: usize = 40;
/// Length of a key's id.
const ID_LENGTH: usize = 10;
/// Longest key name.
const MAX_NAME_CHARS: usize = 128;

/// Why a key operation failed. Messages never hold a key's value.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No key has that id.
    #[error("no API key with id `{0}`")]
    UnknownKey(String),
    /// The usage plan is not in the manifest.
    #[error("no usage plan `{plan}` ({known})")]
    UnknownPlan {
        /// The plan asked for.
        plan: String,
        /// The plans there are, for the message.
        known: String,
    },
    /// The key's name cannot be used.
    #[error("a key's name is 1 to {MAX_NAME_CHARS} characters, none of them control characters")]
    BadName,
    /// The data store failed.
    #[error("the data store failed: {0}")]
    Store(#[from] DataError),
    /// The system's random source failed.
    #[error("cannot generate a key: the system's random source failed")]
    Random,
}

/// A key in the copy in memory: its record and its limits' state.
#[derive(Debug)]
struct Key {
    record: KeyRecord,
    throttle: ArcSwapOption<Throttle>,
    counter: ArcSwapOption<Counter>,
}

impl Key {
    fn new(record: KeyRecord) -> Key {
        Key {
            record,
            throttle: ArcSwapOption::empty(),
            counter: ArcSwapOption::empty(),
        }
    }

    /// The same key with a changed record, keeping its bucket and counter.
    fn changed(&self, record: KeyRecord) -> Key {
        Key {
            record,
            throttle: ArcSwapOption::new(self.throttle.load_full()),
            counter: ArcSwapOption::new(self.counter.load_full()),
        }
    }

    /// The key's bucket for its plan's `model` (a fresh one if the settings changed).
    fn throttle(&self, model: &Throttle) -> Arc<Throttle> {
        if let Some(bucket) = &*self.throttle.load()
            && bucket.settings() == model.settings()
        {
            return Arc::clone(bucket);
        }
        let fresh = Arc::new(model.renewed(&format!("API key {}", self.record.id)));
        // Two requests racing here may each make one; the last stored wins and the
        // other admits its one request from a bucket that is then dropped.
        self.throttle.store(Some(Arc::clone(&fresh)));
        fresh
    }
}

/// What a check of a key's value decided.
#[derive(Debug)]
pub enum Verdict {
    /// Admitted: the key's id and plan.
    Admit(Arc<str>, Option<String>),
    /// Refused.
    Refuse(Refused),
}

/// A check's outcome: decided, or waiting for a quota counter's first read.
#[derive(Debug)]
pub enum Check {
    /// Decided.
    Done(Verdict),
    /// The key's quota counter must be read from the store first: finish with
    /// [`ApiKeys::finish`].
    Load(Pending),
}

/// A check waiting for a quota counter's first read.
#[derive(Debug)]
pub struct Pending {
    key: Arc<Key>,
    counter: Arc<Counter>,
    limit: u64,
}

/// Why a key was refused.
#[derive(Debug, Clone)]
pub enum Refused {
    /// No live key has that value (never created, or revoked).
    Unknown,
    /// The key's usage plan is no longer in the manifest.
    PlanGone {
        /// The key.
        id: Arc<str>,
        /// Its plan.
        plan: String,
    },
    /// Over the plan's throttle.
    Throttled {
        /// Its plan.
        plan: String,
        /// The key's bucket.
        bucket: Arc<Throttle>,
        /// Until the bucket holds a request again.
        wait: Duration,
    },
    /// The plan's quota is used up for this period.
    LimitExceeded {
        /// The key.
        id: Arc<str>,
        /// Its plan.
        plan: String,
        /// The quota.
        limit: u64,
        /// Seconds until the next period.
        retry_after: u64,
    },
}

/// A key as the admin API shows it (never its value).
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its usage plan.
    pub plan: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// Whether it is accepted (not revoked).
    pub enabled: bool,
    /// When it was revoked (RFC 3339).
    pub revoked_at: Option<String>,
}

impl From<&KeyRecord> for KeyInfo {
    fn from(record: &KeyRecord) -> Self {
        KeyInfo {
            id: record.id.to_string(),
            name: record.name.clone(),
            plan: record.plan.clone(),
            created_at: rfc3339(record.created_ms),
            enabled: record.revoked_ms.is_none(),
            revoked_at: record.revoked_ms.map(rfc3339),
        }
    }
}

/// A new key: what the admin API shows once, value included. Its `Debug` leaves the
/// value out.
#[derive(Clone, Serialize)]
pub struct CreatedKey {
    /// The key.
    #[serde(flatten)]
    pub info: KeyInfo,
    /// The value callers send as `x-api-key`. Not stored: shown this once.
    pub value: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("info", &self.info)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// A key's use of its quota in the current period.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// The key.
    pub id: String,
    /// Its plan.
    pub plan: Option<String>,
    /// The quota's period (`day`, `week`, `month`); `None` without a quota.
    pub period: Option<&'static str>,
    /// When the period started (RFC 3339).
    pub period_start: Option<String>,
    /// Requests counted in the period.
    pub used: Option<u64>,
    /// The quota.
    pub limit: Option<u64>,
    /// What is left of it.
    pub remaining: Option<u64>,
}

/// The host's API keys. See the [module docs](self).
pub struct ApiKeys {
    store: KeyStore,
    /// Live keys by the SHA-256 of their value. Swapped whole on every change.
    keys: ArcSwap<HashMap<[u8; 32], Arc<Key>>>,
    /// Serialises changes of `keys` (create, revoke, refresh).
    changes: tokio::sync::Mutex<()>,
    /// Counters replaced (a new period) or of keys gone, with requests still to flush.
    retired: Mutex<Vec<(Arc<str>, Arc<Counter>)>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.keys.load().len())
            .finish_non_exhaustive()
    }
}

impl ApiKeys {
    /// Reads the keys from `backend` (which has [`super::store::tables`]) and starts
    /// the refresher and the flusher, which stop when the returned value is dropped.
    /// Call from within a tokio runtime.
    pub async fn open(backend: Arc<dyn Backend>) -> Result<Arc<ApiKeys>, DataError> {
        let keys = Arc::new(ApiKeys {
            store: KeyStore::new(backend),
            keys: ArcSwap::from_pointee(HashMap::new()),
            changes: tokio::sync::Mutex::new(()),
            retired: Mutex::new(Vec::new()),
        });
        keys.refresh().await?;
        spawn_every(&keys, REFRESH_INTERVAL, |keys| async move {
            if let Err(e) = keys.refresh().await {
                tracing::warn!(
                    "API keys: cannot read the keys again from the data store (the last copy stays in use): {e}"
                );
            }
        });
        spawn_every(
            &keys,
            FLUSH_INTERVAL,
            |keys| async move { keys.flush().await },
        );
        Ok(keys)
    }

    /// Live keys in the copy in memory.
    pub fn len(&self) -> usize {
        self.keys.load().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks a request's `x-api-key` value against the live keys and, for a key with
    /// a plan in `plans`, the plan's throttle and quota. Lock-free; no store access
    /// except a quota counter's first read in a period ([`Check::Load`]).
    pub fn check(&self, value: &[u8], plans: &UsagePlans, now: SystemTime) -> Check {
        let hash: [u8; 32] = Sha256::digest(value).into();
        let keys = self.keys.load();
        let Some(key) = keys.get(&hash) else {
            return Check::Done(Verdict::Refuse(Refused::Unknown));
        };
        let Some(plan_name) = &key.record.plan else {
            return Check::Done(Verdict::Admit(Arc::clone(&key.record.id), None));
        };
        let Some(plan) = plans.get(plan_name) else {
            return Check::Done(Verdict::Refuse(Refused::PlanGone {
                id: Arc::clone(&key.record.id),
                plan: plan_name.clone(),
            }));
        };
        if let Some(model) = &plan.throttle {
            let bucket = key.throttle(model);
            if let Err(wait) = bucket.take() {
                return Check::Done(Verdict::Refuse(Refused::Throttled {
                    plan: plan_name.clone(),
                    bucket,
                    wait,
                }));
            }
        }
        let Some(quota) = plan.quota else {
            return Check::Done(Verdict::Admit(
                Arc::clone(&key.record.id),
                Some(plan_name.clone()),
            ));
        };
        let counter = self.counter(key, quota.period, now);
        if !counter.is_loaded() {
            return Check::Load(Pending {
                key: Arc::clone(key),
                counter,
                limit: quota.limit,
            });
        }
        Check::Done(take(key, &counter, quota.limit, plan_name, now))
    }

    /// Finishes a check that had to read its quota counter.
    pub async fn finish(&self, pending: Pending, now: SystemTime) -> Result<Verdict, DataError> {
        let Pending {
            key,
            counter,
            limit,
        } = pending;
        self.load(&key.record.id, &counter).await?;
        let plan = key.record.plan.clone().unwrap_or_default();
        Ok(take(&key, &counter, limit, &plan, now))
    }

    /// Reads `counter`'s stored count, once.
    async fn load(&self, id: &str, counter: &Counter) -> Result<(), DataError> {
        counter
            .load(self.store.usage(id, &counter.window().id))
            .await
    }

    /// `key`'s counter for the period of kind `period` that `now` is in; a counter of
    /// an ended period is retired (to be flushed) and replaced.
    fn counter(&self, key: &Key, period: QuotaPeriod, now: SystemTime) -> Arc<Counter> {
        let current = key.counter.load_full();
        if let Some(counter) = &current
            && counter.window().contains(period, now)
        {
            return Arc::clone(counter);
        }
        let fresh = Arc::new(Counter::new(period.window(now)));
        let previous = key
            .counter
            .compare_and_swap(&current, Some(Arc::clone(&fresh)));
        let swapped = match (&*previous, &current) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !swapped {
            // Another request replaced it first: use theirs.
            return (*previous).clone().unwrap_or(fresh);
        }
        if let Some(old) = current {
            self.retire(Arc::clone(&key.record.id), old);
        }
        fresh
    }

    fn retire(&self, id: Arc<str>, counter: Arc<Counter>) {
        if counter.is_dirty()
            && let Ok(mut retired) = self.retired.lock()
        {
            retired.push((id, counter));
        }
    }

    /// Creates a key called `name` on `plan` (which must be in `plans`). The value is
    /// in the answer only: the store keeps its hash.
    pub async fn create(
        &self,
        name: &str,
        plan: Option<&str>,
        plans: &UsagePlans,
    ) -> Result<CreatedKey, KeyError> {
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(KeyError::BadName);
        }
        if let Some(plan) = plan
            && plans.get(plan).is_none()
        {
            return Err(KeyError::UnknownPlan {
                plan: plan.to_string(),
                known: plans.describe(),
            });
        }
        let _changing = self.changes.lock().await;
        let mut attempts = 0;
        let (record, value) = loop {
            let value = random_text(VALUE_LENGTH, ALPHANUMERIC)?;
            let record = KeyRecord {
                id: random_text(ID_LENGTH, LOWER_ALPHANUMERIC)?.into(),
                name: name.to_string(),
                plan: plan.map(str::to_string),
                hash: Sha256::digest(value.as_bytes()).into(),
                created_ms: now_ms(),
                revoked_ms: None,
            };
            match self.store.insert(&record).await {
                Ok(()) => break (record, value),
                // An id already taken (1 in 36^10 per key): draw again.
                Err(DataError::ConditionalCheckFailed { .. }) if attempts < 3 => attempts += 1,
                Err(e) => return Err(e.into()),
            }
        };
        let mut keys = HashMap::clone(&self.keys.load());
        keys.insert(record.hash, Arc::new(Key::new(record.clone())));
        self.keys.store(Arc::new(keys));
        Ok(CreatedKey {
            info: KeyInfo::from(&record),
            value,
        })
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let (mut records, _) = self.store.all().await?;
        records.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then(a.id.cmp(&b.id)));
        Ok(records.iter().map(KeyInfo::from).collect())
    }

    /// The key with `id`.
    pub async fn get(&self, id: &str) -> Result<KeyInfo, KeyError> {
        match self.store.get(id).await? {
            Some(record) => Ok(KeyInfo::from(&record)),
            None => Err(KeyError::UnknownKey(id.to_string())),
        }
    }

    /// Revokes key `id`: refused from the next request on (on this host; on others
    /// within [`REFRESH_INTERVAL`]). The record stays, marked revoked.
    pub async fn revoke(&self, id: &str) -> Result<KeyInfo, KeyError> {
        let _changing = self.changes.lock().await;
        let record = self
            .store
            .revoke(id, now_ms())
            .await?
            .ok_or_else(|| KeyError::UnknownKey(id.to_string()))?;
        let mut keys = HashMap::clone(&self.keys.load());
        if let Some(key) = keys.remove(&record.hash)
            && let Some(counter) = key.counter.load_full()
        {
            self.retire(Arc::clone(&key.record.id), counter);
        }
        self.keys.store(Arc::new(keys));
        Ok(KeyInfo::from(&record))
    }

    /// Key `id`'s use of its plan's quota in the current period.
    pub async fn usage(&self, id: &str, plans: &UsagePlans) -> Result<Usage, KeyError> {
        let record = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| KeyError::UnknownKey(id.to_string()))?;
        let quota = record
            .plan
            .as_deref()
            .and_then(|p| plans.get(p))
            .and_then(|p: &Arc<UsagePlan>| p.quota);
        let Some(quota) = quota else {
            return Ok(Usage {
                id: id.to_string(),
                plan: record.plan,
                period: None,
                period_start: None,
                used: None,
                limit: None,
                remaining: None,
            });
        };
        let now = SystemTime::now();
        let window = quota.period.window(now);
        // This host's requests not yet written go to the store first; the store's
        // count then has every host's flushed requests.
        if let Some(key) = self.keys.load().get(&record.hash)
            && let Some(counter) = key.counter.load_full()
            && counter.window().id == window.id
        {
            counter
                .flush(|delta| self.store.add_usage(id, &window.id, window.end, delta))
                .await?;
        }
        let used = self.store.usage(id, &window.id).await?;
        Ok(Usage {
            id: id.to_string(),
            plan: record.plan,
            period: Some(quota.period.as_str()),
            period_start: Some(window.start_text()),
            used: Some(used),
            limit: Some(quota.limit),
            remaining: Some(quota.limit.saturating_sub(used)),
        })
    }

    /// Writes every counted request not yet in the store. Failures are logged and
    /// kept for the next flush.
    pub async fn flush(&self) {
        let keys = self.keys.load_full();
        let mut dirty: Vec<(Arc<str>, Arc<Counter>)> = keys
            .values()
            .filter_map(|key| {
                let counter = key.counter.load_full()?;
                counter
                    .is_dirty()
                    .then(|| (Arc::clone(&key.record.id), counter))
            })
            .collect();
        if let Ok(mut retired) = self.retired.lock() {
            dirty.append(&mut retired);
        }
        let mut failed = 0;
        let mut last_error = None;
        for (id, counter) in dirty {
            let window = counter.window().clone();
            let result = counter
                .flush(|delta| self.store.add_usage(&id, &window.id, window.end, delta))
                .await;
            if let Err(e) = result {
                failed += 1;
                last_error = Some(e);
                // Keep a retired counter for the next try (a live one is found again).
                if !keys.values().any(|k| {
                    k.counter
                        .load()
                        .as_ref()
                        .is_some_and(|c| Arc::ptr_eq(c, &counter))
                }) {
                    self.retire(id, counter);
                }
            }
        }
        if let Some(e) = last_error {
            tracing::warn!(
                keys = failed,
                "API keys: cannot write usage counts to the data store (kept for the next try): {e}"
            );
        }
    }

    /// Reads the keys again from the store, keeping the state of keys that stay.
    async fn refresh(&self) -> Result<(), DataError> {
        let _changing = self.changes.lock().await;
        let (records, bad) = self.store.all().await?;
        for why in bad {
            tracing::warn!(
                table = super::store::KEYS_TABLE,
                "API keys: an item that is not a key is ignored: {why}"
            );
        }
        let old = self.keys.load_full();
        let by_id: HashMap<&str, &Arc<Key>> = old.values().map(|k| (&*k.record.id, k)).collect();
        let mut keys = HashMap::with_capacity(records.len());
        for record in records.into_iter().filter(|r| r.revoked_ms.is_none()) {
            let key = match by_id.get(&*record.id) {
                Some(existing) if existing.record == record => Arc::clone(existing),
                Some(existing) => Arc::new(existing.changed(record)),
                None => Arc::new(Key::new(record)),
            };
            keys.insert(key.record.hash, key);
        }
        for gone in old.values() {
            if !keys.contains_key(&gone.record.hash)
                && let Some(counter) = gone.counter.load_full()
            {
                self.retire(Arc::clone(&gone.record.id), counter);
            }
        }
        self.keys.store(Arc::new(keys));
        Ok(())
    }
}

/// Counts a request in `counter` against `limit`.
fn take(key: &Key, counter: &Counter, limit: u64, plan: &str, now: SystemTime) -> Verdict {
    if counter.take(limit) {
        Verdict::Admit(Arc::clone(&key.record.id), Some(plan.to_string()))
    } else {
        Verdict::Refuse(Refused::LimitExceeded {
            id: Arc::clone(&key.record.id),
            plan: plan.to_string(),
            limit,
            retry_after: counter.window().seconds_left(now),
        })
    }
}

/// Runs `task` every `interval` while `keys` is alive.
fn spawn_every<F, Fut>(keys: &Arc<ApiKeys>, interval: Duration, task: F)
where
    F: Fn(Arc<ApiKeys>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let weak: Weak<ApiKeys> = Arc::downgrade(keys);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(keys) = weak.upgrade() else { return };
            task(keys).await;
        }
    });
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `length` characters drawn uniformly from `alphabet` with the system's CSPRNG.
fn random_text(length: usize, alphabet: &[u8]) -> Result<String, KeyError> {
    use ring::rand::SecureRandom as _;
    let random = ring::rand::SystemRandom::new();
    // Bytes at or above the largest multiple of the alphabet's size are dropped, so
    // every character is equally likely.
    let cutoff = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 64];
    while out.len() < length {
        random.fill(&mut buf).map_err(|_| KeyError::Random)?;
        for &b in &buf {
            if usize::from(b) < cutoff && out.len() < length {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_use_their_alphabet_and_differ() {
        let a = random_text(VALUE_LENGTH, ALPHANUMERIC).expect("random");
        let b = random_text(VALUE_LENGTH, ALPHANUMERIC).expect("random");
        assert_eq!(a.len(), VALUE_LENGTH);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
        let id = random_text(ID_LENGTH, LOWER_ALPHANUMERIC).expect("random");
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{id}"
        );
    }

    fn plans(limit: u64) -> UsagePlans {
        let plan = UsagePlan::new(
            "basic",
            super::super::UsagePlanSettings {
                throttle: None,
                quota: Some(super::super::QuotaSettings {
                    limit,
                    period: QuotaPeriod::Day,
                }),
            },
        )
        .expect("a plan");
        UsagePlans::new([("basic".to_string(), Arc::new(plan))].into())
    }

    async fn verdict(keys: &ApiKeys, value: &str, plans: &UsagePlans) -> Verdict {
        let now = SystemTime::now();
        match keys.check(value.as_bytes(), plans, now) {
            Check::Done(verdict) => verdict,
            Check::Load(pending) => keys.finish(pending, now).await.expect("store"),
        }
    }

    #[tokio::test]
    async fn keys_are_checked_counted_kept_and_revoked() {
        use portico_data::embedded::{Embedded, EmbeddedConfig};
        let dir = tempfile::tempdir().expect("tempdir");
        let backend: Arc<dyn Backend> = Arc::new(
            Embedded::open(
                &EmbeddedConfig::new(dir.path()),
                &super::super::store::tables(),
            )
            .expect("store"),
        );
        let plans = plans(3);
        let keys = ApiKeys::open(Arc::clone(&backend)).await.expect("open");
        let created = keys
            .create("partner", Some("basic"), &plans)
            .await
            .expect("created");
        assert!(matches!(
            keys.create("x", Some("gold"), &plans).await,
            Err(KeyError::UnknownPlan { .. })
        ));
        assert!(matches!(
            keys.create("", None, &plans).await,
            Err(KeyError::BadName)
        ));
        assert!(matches!(
            verdict(&keys, "not-a-key", &plans).await,
            Verdict::Refuse(Refused::Unknown)
        ));
        for _ in 0..2 {
            let Verdict::Admit(id, plan) = verdict(&keys, &created.value, &plans).await else {
                panic!("admitted");
            };
            assert_eq!(&*id, created.info.id);
            assert_eq!(plan.as_deref(), Some("basic"));
        }
        keys.flush().await;

        // Another host on the same store continues from the stored count.
        let other = ApiKeys::open(Arc::clone(&backend)).await.expect("open");
        assert!(matches!(
            verdict(&other, &created.value, &plans).await,
            Verdict::Admit(..)
        ));
        assert!(matches!(
            verdict(&other, &created.value, &plans).await,
            Verdict::Refuse(Refused::LimitExceeded { limit: 3, .. })
        ));
        // Usage counts this host's unflushed requests (another host's once it flushes).
        let usage = keys.usage(&created.info.id, &plans).await.expect("usage");
        assert_eq!((usage.used, usage.remaining), (Some(2), Some(1)));
        let usage = other.usage(&created.info.id, &plans).await.expect("usage");
        assert_eq!((usage.used, usage.remaining), (Some(3), Some(0)));
        assert_eq!(usage.period, Some("day"));

        // The store holds the hash, never the value.
        let (records, _) = KeyStore::new(Arc::clone(&backend))
            .all()
            .await
            .expect("all");
        assert_eq!(records.len(), 1);
        assert_ne!(hex_of(&records[0].hash), created.value);

        let revoked = keys.revoke(&created.info.id).await.expect("revoked");
        assert!(!revoked.enabled);
        assert!(matches!(
            verdict(&keys, &created.value, &plans).await,
            Verdict::Refuse(Refused::Unknown)
        ));
        assert!(matches!(
            keys.revoke("nope").await,
            Err(KeyError::UnknownKey(_))
        ));
        // A plan removed from the manifest refuses its keys.
        let planless = keys
            .create("p", Some("basic"), &plans)
            .await
            .expect("created");
        assert!(matches!(
            verdict(&keys, &planless.value, &UsagePlans::default()).await,
            Verdict::Refuse(Refused::PlanGone { .. })
        ));
    }

    fn hex_of(bytes: &[u8; 32]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_created_key_debug_leaves_the_value_out() {
        let key = CreatedKey {
            info: KeyInfo {
                id: "abc".into(),
                name: "n".into(),
                plan: None,
                created_at: String::new(),
                enabled: true,
                revoked_at: None,
            },
            value: "s3cr3tvalue".into(),
        };
        assert!(!format!("{key:?}").contains("s3cr3t"));
    }
}
