//! Hot swap and deploy: which version of each function is live, and changing it while
//! traffic flows.
//!
//! Every change (a deploy, a rollback, a reload of the manifest) follows one path:
//! 1. compile and link the module off the request path (`spawn_blocking`), and start one
//!    instance of it to prove it can start; a bad module stops here and nothing changes;
//! 2. build the new [`Served`] (routes, functions, stage) beside the live one; a route
//!    conflict stops here;
//! 3. store the module and the function's record durably ([`store`]);
//! 4. swap the new [`Served`] in with one atomic pointer store ([`Gateway::swap`]):
//!    requests already routed finish on the old version, every later one runs the new;
//! 5. append to the audit log, then acknowledge.
//!
//! Changes are serialised by one async mutex; the request path takes no lock.

mod audit;
mod settings;
mod store;

pub use audit::{Actor, AuditAction, AuditLog, AuditOutcome};
pub use settings::{Settings, SettingsError, SettingsPatch, StoredSettings};
pub use store::{DeployStore, Deployment, FunctionRecord, Source, StoreError, rfc3339};

use crate::gateway::{Gateway, IntegrationSpec, RouteSpec, RoutesError, Served};
use crate::manifest::{FunctionConfig, Manifest};
use crate::metrics::Metrics;
use crate::policy::api_key::ApiKeys;
use crate::routing::RouteKey;
use crate::runtime::{Function, FunctionSpec, Kind, Limits, LoadError, Runtime, hex, version_of};
use anyhow::Context as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// Why a deploy or rollback was refused. Nothing changed.
///
/// The admin API answers with the message alone, so each message holds its whole cause
/// and none is also returned as [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The manifest has no function by that name.
    #[error("no function named `{0}` in the manifest")]
    UnknownFunction(String),
    /// The module cannot be compiled, does not match Portico's world, or cannot start.
    #[error("{0}")]
    BadModule(LoadError),
    /// The settings (a deploy's `config`, or those stored with a deployment) are invalid.
    #[error(transparent)]
    BadSettings(#[from] SettingsError),
    /// The function's routes conflict with another function's (or lead nowhere).
    #[error(transparent)]
    Routes(#[from] RoutesError),
    /// No kept deployment has that version.
    #[error(
        "function `{function}` has no kept version `{version}` (kept: {})",
        kept_list(.kept)
    )]
    UnknownVersion {
        /// The function.
        function: String,
        /// The version asked for.
        version: String,
        /// The versions kept, oldest first.
        kept: Vec<String>,
    },
    /// Rollback with nothing to roll back to, or to the live version.
    #[error("{}", .reason.message(.function))]
    NothingToRollBack {
        /// The function.
        function: String,
        /// Why there is nothing to do.
        reason: NoRollback,
    },
    /// The API has no stage by that name.
    #[error("no stage named `{stage}` (stages: {})", kept_list(.known))]
    UnknownStage {
        /// The stage asked for.
        stage: String,
        /// The stages there are.
        known: Vec<String>,
    },
    /// The manifest pins the stage's version of the function.
    #[error(
        "stage `{stage}` runs version `{version}` of function `{function}` because the manifest pins it (`[stages.{stage}] versions`): change the pin there"
    )]
    PinnedByManifest {
        /// The stage.
        stage: String,
        /// The function.
        function: String,
        /// The pinned version.
        version: String,
    },
    /// A stage deploy tried to change the function's routes, which every stage shares.
    #[error(
        "config: `routes` are shared by every stage, so a deploy to one stage cannot change them: deploy without a stage to change them"
    )]
    RoutesOfOneStage,
    /// The store could not be read or written; the live version is unchanged.
    #[error("cannot record the change, so it was not made: {0}")]
    Store(StoreError),
}

impl From<LoadError> for DeployError {
    fn from(e: LoadError) -> Self {
        DeployError::BadModule(e)
    }
}

impl From<StoreError> for DeployError {
    fn from(e: StoreError) -> Self {
        DeployError::Store(e)
    }
}

/// Why a rollback has nothing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRollback {
    /// No kept deployment is older than the live one.
    NoEarlierVersion,
    /// The deployment asked for is the live one.
    AlreadyLive {
        /// Its version.
        version: String,
    },
}

impl NoRollback {
    fn message(&self, function: &str) -> String {
        match self {
            NoRollback::NoEarlierVersion => {
                format!("function `{function}` has no version before the live one to roll back to")
            }
            NoRollback::AlreadyLive { version } => {
                format!("version `{version}` of function `{function}` is already live")
            }
        }
    }
}

/// `a, b, c`, or `none`.
fn kept_list(kept: &[String]) -> String {
    if kept.is_empty() {
        "none".into()
    } else {
        kept.join(", ")
    }
}

/// The answer to a successful deploy or rollback.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    /// The function.
    pub function: String,
    /// The version now live.
    pub version: String,
    /// The version live before.
    pub previous: Option<String>,
    /// Deployment number of the live version.
    pub deployment: u64,
    /// Time to compile (or load the precompiled artifact of) and link the module, and
    /// start one instance, in milliseconds.
    pub compile_ms: f64,
    /// `compiled`, `artifact` (precompiled, from disk) or `shared` (already in memory).
    pub code: &'static str,
    /// The function's routes now.
    pub routes: Vec<String>,
}

/// A function's deployments, for `GET /functions/{name}`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionInfo {
    /// The function.
    pub name: String,
    /// The live version.
    pub live: Option<String>,
    /// Deployment number of the live version.
    pub live_deployment: Option<u64>,
    /// Since when it is live (RFC 3339).
    pub live_since: Option<String>,
    /// What kind of component the live version is.
    pub kind: Kind,
    /// Routes leading to it.
    pub routes: Vec<String>,
    /// Its limits.
    pub limits: Limits,
    /// Its reserved concurrency (`max_concurrency` in the manifest), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// The version each stage runs, by stage: the live one, or the one the stage pins.
    pub stages: BTreeMap<String, String>,
    /// Kept deployments, newest first.
    pub versions: Vec<VersionInfo>,
}

/// One kept deployment.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// Deployment number.
    pub deployment: u64,
    /// Module version.
    pub version: String,
    /// When it was deployed (RFC 3339).
    pub deployed_at: String,
    /// `manifest` or `admin`.
    pub source: &'static str,
    /// Whether it carries its own settings (otherwise the manifest's apply).
    pub own_settings: bool,
    /// Whether it is the live deployment.
    pub live: bool,
    /// Requests routed to this version since the host started.
    pub requests: u64,
}

/// Deploys, rollbacks and reloads for one gateway.
pub struct Deployer {
    gateway: Arc<Gateway>,
    store: DeployStore,
    audit: AuditLog,
    metrics: Arc<Metrics>,
    keep: usize,
    state: tokio::sync::Mutex<State>,
}

/// What changes hold the lock over.
struct State {
    manifest: Manifest,
    records: BTreeMap<String, FunctionRecord>,
    /// Request counters by (function, version), shared by every load of a version.
    counters: HashMap<(String, String), Arc<AtomicU64>>,
}

impl State {
    /// Function `name` of the applied manifest.
    fn function(&self, name: &str) -> Result<FunctionConfig, DeployError> {
        self.manifest
            .functions
            .get(name)
            .cloned()
            .ok_or_else(|| DeployError::UnknownFunction(name.to_string()))
    }

    fn counter(&mut self, function: &str, version: &str) -> Arc<AtomicU64> {
        Arc::clone(
            self.counters
                .entry((function.to_string(), version.to_string()))
                .or_default(),
        )
    }
}

impl Deployer {
    /// Chooses the live version of every function of `manifest` (see [`Deployer::reload`]
    /// for the rule), loads them, and returns the deployer with its gateway.
    pub async fn start(
        manifest: Manifest,
        store: DeployStore,
        runtime: Arc<Runtime>,
        metrics: Arc<Metrics>,
        api_keys: Option<Arc<ApiKeys>>,
        sockets: Arc<crate::sockets::Sockets>,
    ) -> anyhow::Result<Deployer> {
        let mut state = State {
            records: BTreeMap::new(),
            counters: HashMap::new(),
            manifest,
        };
        for name in state.manifest.functions.keys() {
            state.records.insert(name.clone(), store.read_record(name)?);
        }
        let keep = state.manifest.server.keep_versions;
        let manifest = state.manifest.clone();
        let (served, changes) =
            reconcile(&runtime, &store, &mut state, &manifest, None, keep).await?;
        let gateway = Arc::new(Gateway::new(
            runtime,
            Arc::clone(&metrics),
            served,
            manifest.server.max_body_bytes,
            api_keys,
            sockets,
        ));
        let audit = AuditLog::new(store.audit_path());
        let deployer = Deployer {
            gateway,
            store,
            audit,
            metrics,
            keep,
            state: tokio::sync::Mutex::new(state),
        };
        deployer.record_changes(&changes, &Actor::Startup)?;
        Ok(deployer)
    }

    /// The gateway whose functions this deployer changes.
    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }

    /// The manifest currently applied.
    pub async fn manifest(&self) -> Manifest {
        self.state.lock().await.manifest.clone()
    }

    /// Deploys `wasm` as function `name`, with its settings changed by `patch` if given,
    /// and makes it live.
    pub async fn deploy(
        &self,
        name: &str,
        wasm: Vec<u8>,
        patch: Option<SettingsPatch>,
        actor: &Actor,
    ) -> Result<Deployed, DeployError> {
        let result = self.try_deploy(name, wasm, patch).await;
        self.finish(AuditAction::Deploy, name, None, actor, result)
    }

    /// Deploys `wasm` as function `name` for stage `stage` only: the deployment is kept,
    /// the stage serves it, and the live version (and other stages) stay as they are.
    /// `patch` may change limits and environment, not routes (every stage shares them).
    pub async fn deploy_to_stage(
        &self,
        name: &str,
        stage: &str,
        wasm: Vec<u8>,
        patch: Option<SettingsPatch>,
        actor: &Actor,
    ) -> Result<Deployed, DeployError> {
        let result = self.try_deploy_to_stage(name, stage, wasm, patch).await;
        self.finish(AuditAction::Deploy, name, Some(stage), actor, result)
    }

    async fn try_deploy_to_stage(
        &self,
        name: &str,
        stage: &str,
        wasm: Vec<u8>,
        patch: Option<SettingsPatch>,
    ) -> Result<Deployed, DeployError> {
        let mut state = self.state.lock().await;
        let config = state.function(name)?;
        let served = self.gateway.served();
        let current = stage_function(&served, stage, name)?;
        if patch.as_ref().is_some_and(|p| p.routes.is_some()) {
            return Err(DeployError::RoutesOfOneStage);
        }
        let stage_settings = Settings {
            limits: *current.limits(),
            environment: current.environment().iter().cloned().collect(),
            routes: served.routes_of(name),
        };
        let (settings, stored) = match &patch {
            Some(patch) => {
                let settings =
                    patch.apply(&stage_settings, self.gateway.runtime().max_memory_bytes())?;
                let stored = settings.to_stored();
                (settings, Some(stored))
            }
            None => {
                let stored = (stage_settings.limits != config.limits
                    || stage_settings.environment_list() != config.environment)
                    .then(|| stage_settings.to_stored());
                (stage_settings, stored)
            }
        };
        let wasm: Arc<[u8]> = wasm.into();
        let started = Instant::now();
        let function = load(
            self.gateway.runtime(),
            &config,
            Arc::clone(&wasm),
            &settings,
            &mut state,
        )
        .await?;
        let compile = started.elapsed();
        let (sha, version) = (hex(function.digest()), function.version().to_string());
        let origin = function.origin();
        let next = pin_function(&served, stage, name, Some(function))?;
        let mut record = state.records.get(name).cloned().unwrap_or_default();
        self.store.put_module(&sha, &wasm)?;
        let id = record.add(version.clone(), sha, Source::Admin, stored).id;
        record.stage_pins.insert(stage.to_string(), id);
        record.prune(self.keep, &pinned_versions(&state.manifest, name));
        self.store.write_record(name, &record)?;
        state.records.insert(name.to_string(), record);
        self.gateway.swap(next);
        self.collect_garbage();
        Ok(Deployed {
            function: name.to_string(),
            version,
            previous: Some(current.version().to_string()),
            deployment: id,
            compile_ms: duration_ms(compile),
            code: origin.as_str(),
            routes: settings.routes.iter().map(ToString::to_string).collect(),
        })
    }

    /// Changes the version stage `stage` serves of function `name`: the kept deployment
    /// before the stage's one, that of version `to`, or — with `to = "live"` — the live
    /// version again (the stage follows it from then on).
    pub async fn rollback_stage(
        &self,
        name: &str,
        stage: &str,
        to: Option<&str>,
        actor: &Actor,
    ) -> Result<Deployed, DeployError> {
        let result = self.try_rollback_stage(name, stage, to).await;
        self.finish(AuditAction::Rollback, name, Some(stage), actor, result)
    }

    async fn try_rollback_stage(
        &self,
        name: &str,
        stage: &str,
        to: Option<&str>,
    ) -> Result<Deployed, DeployError> {
        let mut state = self.state.lock().await;
        let config = state.function(name)?;
        let served = self.gateway.served();
        let current = Arc::clone(stage_function(&served, stage, name)?);
        let mut record = state.records.get(name).cloned().unwrap_or_default();
        let current_id = record.stage_pins.get(stage).copied().or(record.live);
        // `None`: follow the live version.
        let target =
            match to {
                Some("live") => None,
                Some(version) => Some(record.find(version).cloned().ok_or_else(|| {
                    DeployError::UnknownVersion {
                        function: name.to_string(),
                        version: version.to_string(),
                        kept: record.history.iter().map(|d| d.version.clone()).collect(),
                    }
                })?),
                None => Some(
                    record
                        .history
                        .iter()
                        .rev()
                        .find(|d| Some(d.id) < current_id)
                        .cloned()
                        .ok_or_else(|| DeployError::NothingToRollBack {
                            function: name.to_string(),
                            reason: NoRollback::NoEarlierVersion,
                        })?,
                ),
            };
        let target_id = target.as_ref().map_or(record.live, |d| Some(d.id));
        if target_id == current_id {
            return Err(DeployError::NothingToRollBack {
                function: name.to_string(),
                reason: NoRollback::AlreadyLive {
                    version: current.version().to_string(),
                },
            });
        }
        let started = Instant::now();
        let (function, id) = match target.filter(|d| Some(d.id) != record.live) {
            Some(target) => {
                let settings = match &target.settings {
                    Some(stored) => stored.to_settings()?,
                    None => Settings::from_manifest(&state.manifest, &config),
                };
                let wasm = self.store.read_module(&target.sha256)?;
                let function = load(
                    self.gateway.runtime(),
                    &config,
                    wasm.into(),
                    &settings,
                    &mut state,
                )
                .await?;
                record.stage_pins.insert(stage.to_string(), target.id);
                (Some(function), target.id)
            }
            None => {
                record.stage_pins.remove(stage);
                (None, record.live.unwrap_or_default())
            }
        };
        let compile = started.elapsed();
        let origin = function.as_ref().map(|f| f.origin());
        let next = pin_function(&served, stage, name, function)?;
        let version = stage_function(&next, stage, name)?.version().to_string();
        self.store.write_record(name, &record)?;
        state.records.insert(name.to_string(), record);
        self.gateway.swap(next);
        self.collect_garbage();
        Ok(Deployed {
            function: name.to_string(),
            version,
            previous: Some(current.version().to_string()),
            deployment: id,
            compile_ms: duration_ms(compile),
            code: origin.map_or("shared", |o| o.as_str()),
            routes: served
                .routes_of(name)
                .iter()
                .map(ToString::to_string)
                .collect(),
        })
    }

    async fn try_deploy(
        &self,
        name: &str,
        wasm: Vec<u8>,
        patch: Option<SettingsPatch>,
    ) -> Result<Deployed, DeployError> {
        let mut state = self.state.lock().await;
        let config = state.function(name)?;
        let served = self.gateway.served();
        let live_settings = served_settings(&served, name)
            .ok_or_else(|| DeployError::UnknownFunction(name.to_string()))?;
        let record = state.records.get(name).cloned().unwrap_or_default();
        let (settings, stored) = match &patch {
            Some(patch) => {
                let settings =
                    patch.apply(&live_settings, self.gateway.runtime().max_memory_bytes())?;
                let stored = settings.to_stored();
                (settings, Some(stored))
            }
            // Code only: the live settings stay, whether the manifest's or deployed ones.
            None => (
                live_settings,
                record.live_deployment().and_then(|d| d.settings.clone()),
            ),
        };
        let wasm: Arc<[u8]> = wasm.into();
        let started = Instant::now();
        let function = load(
            self.gateway.runtime(),
            &config,
            Arc::clone(&wasm),
            &settings,
            &mut state,
        )
        .await?;
        let compile = started.elapsed();
        let (sha, version) = (hex(function.digest()), function.version().to_string());
        let origin = function.origin();
        let next = replace_function(&served, function, &settings.routes, &state.manifest)?;

        let mut record = record;
        let previous = record.live_deployment().map(|d| d.version.clone());
        self.store.put_module(&sha, &wasm)?;
        let id = record.push(version.clone(), sha, Source::Admin, stored).id;
        record.prune(self.keep, &pinned_versions(&state.manifest, name));
        self.store.write_record(name, &record)?;
        state.records.insert(name.to_string(), record);
        self.gateway.swap(next);
        self.collect_garbage();
        Ok(Deployed {
            function: name.to_string(),
            version,
            previous,
            deployment: id,
            compile_ms: duration_ms(compile),
            code: origin.as_str(),
            routes: settings.routes.iter().map(ToString::to_string).collect(),
        })
    }

    /// Makes an earlier deployment of `name` live again: the one before the live one, or
    /// the newest kept deployment of version `to`.
    pub async fn rollback(
        &self,
        name: &str,
        to: Option<&str>,
        actor: &Actor,
    ) -> Result<Deployed, DeployError> {
        let result = self.try_rollback(name, to).await;
        self.finish(AuditAction::Rollback, name, None, actor, result)
    }

    async fn try_rollback(&self, name: &str, to: Option<&str>) -> Result<Deployed, DeployError> {
        let mut state = self.state.lock().await;
        let config = state.function(name)?;
        let mut record = state.records.get(name).cloned().unwrap_or_default();
        let live = record.live_deployment().cloned();
        let target = match to {
            Some(version) => {
                record
                    .find(version)
                    .cloned()
                    .ok_or_else(|| DeployError::UnknownVersion {
                        function: name.to_string(),
                        version: version.to_string(),
                        kept: record.history.iter().map(|d| d.version.clone()).collect(),
                    })?
            }
            None => {
                let live_id = live.as_ref().map_or(u64::MAX, |d| d.id);
                record
                    .history
                    .iter()
                    .rev()
                    .find(|d| d.id < live_id)
                    .cloned()
                    .ok_or_else(|| DeployError::NothingToRollBack {
                        function: name.to_string(),
                        reason: NoRollback::NoEarlierVersion,
                    })?
            }
        };
        if live.as_ref().is_some_and(|l| l.id == target.id) {
            return Err(DeployError::NothingToRollBack {
                function: name.to_string(),
                reason: NoRollback::AlreadyLive {
                    version: target.version,
                },
            });
        }
        let settings = match &target.settings {
            Some(stored) => stored.to_settings()?,
            None => Settings::from_manifest(&state.manifest, &config),
        };
        let wasm = self.store.read_module(&target.sha256)?;
        let started = Instant::now();
        let function = load(
            self.gateway.runtime(),
            &config,
            wasm.into(),
            &settings,
            &mut state,
        )
        .await?;
        let compile = started.elapsed();
        let origin = function.origin();
        let served = self.gateway.served();
        let next = replace_function(&served, function, &settings.routes, &state.manifest)?;
        let previous = live.map(|d| d.version);
        record.set_live(target.id);
        self.store.write_record(name, &record)?;
        state.records.insert(name.to_string(), record);
        self.gateway.swap(next);
        Ok(Deployed {
            function: name.to_string(),
            version: target.version,
            previous,
            deployment: target.id,
            compile_ms: duration_ms(compile),
            code: origin.as_str(),
            routes: settings.routes.iter().map(ToString::to_string).collect(),
        })
    }

    /// Applies `manifest` (re-read from disk) to what is served. For each function the
    /// live version is the newer of the last deployed version and the manifest's module
    /// file, if that file changed since it was last loaded. Functions whose version and
    /// settings did not change keep their loaded code. All or nothing: on any error the
    /// old configuration keeps serving. Returns (function, old version, new version) of
    /// each change.
    pub async fn reload(
        &self,
        manifest: Manifest,
        actor: &Actor,
    ) -> anyhow::Result<Vec<(String, Option<String>, String)>> {
        if manifest.uses_api_keys() && self.gateway.api_keys().is_none() {
            anyhow::bail!(
                "the manifest now uses API keys (api_key_required or [usage_plans]): restart the host to open their tables in the data store"
            );
        }
        let mut state = self.state.lock().await;
        warn_about_restart_only_changes(&state.manifest, &manifest);
        let served = self.gateway.served();
        // Work on a copy: an error leaves the state as it was.
        let mut next_state = State {
            manifest: state.manifest.clone(),
            records: state.records.clone(),
            counters: state.counters.clone(),
        };
        for name in manifest.functions.keys() {
            if !next_state.records.contains_key(name) {
                next_state
                    .records
                    .insert(name.clone(), self.store.read_record(name)?);
            }
        }
        let (next, changes) = reconcile(
            self.gateway.runtime(),
            &self.store,
            &mut next_state,
            &manifest,
            Some(&served),
            self.keep,
        )
        .await?;
        next_state.manifest = manifest;
        *state = next_state;
        self.gateway.swap(next);
        self.collect_garbage();
        drop(state);
        self.record_changes(&changes, actor)?;
        Ok(changes)
    }

    /// The audit log's last `limit` entries, newest first, for `GET /audit`.
    pub fn audit_recent(&self, limit: usize) -> std::io::Result<Vec<serde_json::Value>> {
        self.audit.recent(limit)
    }

    /// Every function, for `GET /functions`.
    pub async fn list(&self) -> Vec<FunctionInfo> {
        let state = self.state.lock().await;
        let served = self.gateway.served();
        served
            .functions
            .keys()
            .filter_map(|name| info(&state, &served, name))
            .collect()
    }

    /// One function, for `GET /functions/{name}`.
    pub async fn describe(&self, name: &str) -> Option<FunctionInfo> {
        let state = self.state.lock().await;
        info(&state, &self.gateway.served(), name)
    }

    /// Deletes the modules and precompiled artifacts no kept deployment uses.
    fn collect_garbage(&self) {
        if let Some(keep) = self.store.collect_garbage()
            && let Some(artifacts) = self.gateway.runtime().artifacts()
        {
            artifacts.retain(&keep);
        }
    }

    /// Audits and counts the outcome of a deploy or rollback.
    fn finish(
        &self,
        action: AuditAction,
        function: &str,
        stage: Option<&str>,
        actor: &Actor,
        result: Result<Deployed, DeployError>,
    ) -> Result<Deployed, DeployError> {
        let (outcome, to, from, reason) = match &result {
            Ok(d) => (
                AuditOutcome::Ok,
                Some(d.version.clone()),
                d.previous.clone(),
                None,
            ),
            Err(e) => (AuditOutcome::Refused, None, None, Some(e.to_string())),
        };
        self.metrics
            .deploy(function, action.as_str(), outcome.as_str());
        let entry = audit::Entry {
            time: store::rfc3339(store::now_ms()),
            who: actor.label(),
            action,
            function,
            from: from.as_deref(),
            to: to.as_deref(),
            outcome,
            stage,
            reason: reason.as_deref(),
        };
        if let Err(e) = self.audit.record(&entry) {
            tracing::error!("cannot write the audit log: {e}");
            if result.is_ok() {
                // The change is made and durable; say so rather than pretend it failed.
                tracing::error!(
                    function,
                    "the change above is live but missing from the audit log"
                );
            }
        }
        result
    }

    fn record_changes(
        &self,
        changes: &[(String, Option<String>, String)],
        actor: &Actor,
    ) -> anyhow::Result<()> {
        for (function, from, to) in changes {
            let (action, outcome) = (AuditAction::Load, AuditOutcome::Ok);
            self.metrics
                .deploy(function, action.as_str(), outcome.as_str());
            self.audit.record(&audit::Entry {
                time: store::rfc3339(store::now_ms()),
                who: actor.label(),
                action,
                function,
                from: from.as_deref(),
                to: Some(to),
                outcome,
                stage: None,
                reason: None,
            })?;
        }
        Ok(())
    }
}

/// A module's SHA-256 in hex and its version, as [`Runtime::load`] names them.
fn identify(wasm: &[u8]) -> (String, String) {
    let digest: [u8; 32] = Sha256::digest(wasm).into();
    (hex(&digest), version_of(&digest))
}

/// The settings function `name` is served with now.
fn served_settings(served: &Served, name: &str) -> Option<Settings> {
    let function = served.functions.get(name)?;
    Some(Settings {
        limits: *function.limits(),
        environment: function.environment().iter().cloned().collect(),
        routes: served.routes_of(name),
    })
}

/// Function `name` as stage `stage` of `served` runs it; refused when the manifest pins
/// that stage's version (only the manifest changes it then).
fn stage_function<'a>(
    served: &'a Served,
    stage: &str,
    name: &str,
) -> Result<&'a Arc<Function>, DeployError> {
    let Some(found) = served.api.stages().iter().find(|s| s.name() == stage) else {
        return Err(DeployError::UnknownStage {
            stage: stage.to_string(),
            known: served
                .api
                .stages()
                .iter()
                .map(|s| s.name().to_string())
                .collect(),
        });
    };
    if let Some(version) = found.config.versions.get(name) {
        return Err(DeployError::PinnedByManifest {
            stage: stage.to_string(),
            function: name.to_string(),
            version: version.clone(),
        });
    }
    found
        .function(served, name)
        .ok_or_else(|| DeployError::UnknownFunction(name.to_string()))
}

/// `served` with stage `stage` serving `function` as its `name` (`None`: the live one).
fn pin_function(
    served: &Served,
    stage: &str,
    name: &str,
    function: Option<Arc<Function>>,
) -> Result<Served, DeployError> {
    let mut pins = served.pins();
    let stage_pins = pins.entry(stage.to_string()).or_default();
    match function {
        Some(function) => stage_pins.insert(name.to_string(), function),
        None => stage_pins.remove(name),
    };
    Served::new(
        served.functions.clone(),
        &served.route_list(),
        served.stage_configs(),
        pins,
        served.api.settings().clone(),
    )
    .map_err(DeployError::Routes)
}

/// `served` with `function` in place of its namesake, leading from `routes` (each with
/// the options `manifest` gives that route key).
fn replace_function(
    served: &Served,
    function: Arc<Function>,
    routes: &[RouteKey],
    manifest: &Manifest,
) -> Result<Served, DeployError> {
    let name = function.name().to_string();
    let mut list = served.route_list();
    let current: Vec<&RouteKey> = list
        .iter()
        .filter(|r| r.function() == Some(&name))
        .map(|r| &r.key)
        .collect();
    if current.len() != routes.len() || current.iter().zip(routes).any(|(a, b)| *a != b) {
        list.retain(|r| r.function() != Some(&name));
        list.extend(routes.iter().map(|k| route_spec(manifest, k, &name)));
    }
    let mut functions = served.functions.clone();
    functions.insert(name, function);
    Served::new(
        functions,
        &list,
        served.stage_configs(),
        served.pins(),
        served.api.settings().clone(),
    )
    .map_err(DeployError::Routes)
}

/// Route `key` to function `name`, with the options the manifest gives that key.
fn route_spec(manifest: &Manifest, key: &RouteKey, name: &str) -> RouteSpec {
    RouteSpec {
        key: key.clone(),
        integration: IntegrationSpec::Function(name.to_string()),
        options: manifest.route_options(key),
    }
}

/// Compiles (off the async threads) and starts one instance of a function, counting its
/// requests in the version's counter in `state`.
async fn load(
    runtime: &Arc<Runtime>,
    config: &FunctionConfig,
    wasm: Arc<[u8]>,
    settings: &Settings,
    state: &mut State,
) -> Result<Arc<Function>, LoadError> {
    let spec = config.spec(settings.limits, settings.environment_list());
    let function = runtime.prepare(spec, wasm).await?;
    let counter = state.counter(&config.name, function.version());
    Ok(Arc::new(function.with_request_counter(counter)))
}

/// A gateway serving every function of `manifest` with the manifest's settings (no
/// deploy store): what tests and benches serve. Each function is loaded through
/// [`Runtime::prepare`], like every deploy, several at a time.
pub async fn load_gateway(
    manifest: &Manifest,
    runtime: Arc<Runtime>,
    metrics: Arc<Metrics>,
    api_keys: Option<Arc<ApiKeys>>,
    sockets: Arc<crate::sockets::Sockets>,
) -> anyhow::Result<Gateway> {
    load_gateway_for(manifest, None, runtime, metrics, api_keys, sockets).await
}

/// As [`load_gateway`], with only the functions `only` names (all when `None`) and the
/// routes that need no other: what `portico invoke` serves for one event, without
/// compiling the rest of the manifest. With `only`, the WebSocket API is left out
/// (an HTTP event never reaches it).
pub async fn load_gateway_for(
    manifest: &Manifest,
    only: Option<&std::collections::BTreeSet<String>>,
    runtime: Arc<Runtime>,
    metrics: Arc<Metrics>,
    api_keys: Option<Arc<ApiKeys>>,
    sockets: Arc<crate::sockets::Sockets>,
) -> anyhow::Result<Gateway> {
    let wanted = |name: &str| only.is_none_or(|only| only.contains(name));
    let mut specs = Vec::new();
    for (name, config) in manifest.functions.iter().filter(|(n, _)| wanted(n)) {
        let wasm = std::fs::read(&config.module).with_context(|| {
            format!(
                "function `{name}`: cannot read module {} (build it with `portico build --manifest {}`, or start with `portico up --build`)",
                config.module.display(),
                manifest.path.display()
            )
        })?;
        specs.push((
            config.spec(config.limits, config.environment.clone()),
            wasm.into(),
        ));
    }
    let mut functions = BTreeMap::new();
    for (function, took) in load_concurrently(&runtime, specs).await? {
        let name = function.name().to_string();
        tracing::info!(
            function = %name,
            version = function.version(),
            kind = function.kind().as_str(),
            code = function.origin().as_str(),
            compile_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            "loaded {}",
            manifest.functions.get(&name).map_or_else(String::new, |c| c.module.display().to_string())
        );
        functions.insert(name, Arc::new(function));
    }
    for stage in &manifest.stages {
        for (function, version) in &stage.versions {
            tracing::warn!(
                stage = %stage.name,
                function = %function,
                version = %version,
                "the stage pins a deployed version, which only `portico up` serves (from its deploy store); this runs the manifest's module instead"
            );
        }
    }
    let mut routes = manifest.route_list();
    let mut api = manifest.api.clone();
    if only.is_some() {
        routes.retain(|r| r.functions().all(|f| functions.contains_key(f)));
        api.websocket = None;
    }
    let served = Served::new(
        functions,
        &routes,
        manifest.stages.clone(),
        BTreeMap::new(),
        api,
    )?;
    Ok(Gateway::new(
        runtime,
        metrics,
        served,
        manifest.server.max_body_bytes,
        api_keys,
        sockets,
    ))
}

/// How a function's live deployment was chosen.
struct Choice {
    deployment: Deployment,
    /// The module, if it was read from the manifest's file.
    wasm: Option<Vec<u8>>,
    reason: String,
    /// The manifest's module file cannot be read (an earlier deployment serves): worth a
    /// warning, not an info line.
    unreadable: bool,
}

/// Chooses function `config`'s live deployment against its record (updated in place).
fn choose(
    config: &FunctionConfig,
    manifest: &Manifest,
    record: &mut FunctionRecord,
    keep: usize,
) -> anyhow::Result<Choice> {
    let file = std::fs::read(&config.module);
    let file_id = file.as_ref().ok().map(|w| identify(w));
    let file_sha = file_id.as_ref().map(|(sha, _)| sha.clone());
    let live = record.live_deployment().cloned();
    let unreadable = |e: &std::io::Error| {
        format!(
            "function `{}`: cannot read module {}: {e} (build it with `portico build --manifest {}`, or start with `portico up --build`)",
            config.name,
            config.module.display(),
            manifest.path.display()
        )
    };
    let changed = file_sha.is_some() && file_sha != record.manifest_sha256;
    match (live, file, file_id) {
        (None, Err(e), _) => anyhow::bail!(unreadable(&e)),
        (Some(live), Ok(wasm), Some((sha, version))) if changed => {
            record.manifest_sha256 = Some(sha.clone());
            if live.sha256 == sha && live.settings.is_none() {
                return Ok(Choice {
                    deployment: live,
                    wasm: Some(wasm),
                    reason: "the manifest's module is the live version".into(),
                    unreadable: false,
                });
            }
            let deployment = record.push(version, sha, Source::Manifest, None);
            record.prune(keep, &pinned_versions(manifest, &config.name));
            Ok(Choice {
                deployment,
                wasm: Some(wasm),
                reason: format!(
                    "the manifest's module changed since it was last loaded, so it is newer than the deployed version {}",
                    live.version
                ),
                unreadable: false,
            })
        }
        (None, Ok(wasm), Some((sha, version))) => {
            record.manifest_sha256 = Some(sha.clone());
            let deployment = record.push(version, sha, Source::Manifest, None);
            Ok(Choice {
                deployment,
                wasm: Some(wasm),
                reason: "first load of the manifest's module".into(),
                unreadable: false,
            })
        }
        (Some(live), file, _) => {
            let reason = match (&file, live.source) {
                (Err(e), _) => format!("{}; serving the last deployed version", unreadable(e)),
                (Ok(_), Source::Admin) => format!(
                    "deployed through the admin API at {}; the manifest's module is unchanged since it was last loaded",
                    store::rfc3339(live.deployed_at_ms)
                ),
                (Ok(_), Source::Manifest) => "the manifest's module, unchanged".into(),
            };
            let unreadable = file.is_err();
            let wasm = file
                .ok()
                .filter(|_| file_sha.as_deref() == Some(live.sha256.as_str()));
            Ok(Choice {
                deployment: live,
                wasm,
                reason,
                unreadable,
            })
        }
        (None, Ok(_), None) => {
            anyhow::bail!("function `{}`: module read but not hashed", config.name)
        }
    }
}

/// What reconciling does with one function's code.
enum Load {
    /// Keep the loaded function: same module, same settings.
    Reuse(Arc<Function>),
    /// Compile (or load the artifact of) this module with this spec.
    Compile(FunctionSpec, Arc<[u8]>),
}

/// How many functions load at once: one per core. Cranelift already compiles one
/// module's functions in parallel, but a component's parsing, validation and artifact
/// reading are serial, and a start with several heavy components (a JS or Python
/// engine each) spent most of its time there, one after another.
fn load_parallelism() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Loads `specs` through [`Runtime::prepare`], [`load_parallelism`] at a time; the
/// results in the order given, each with its own load time. The first failure fails
/// the whole (as one load after another did).
async fn load_concurrently(
    runtime: &Arc<Runtime>,
    specs: Vec<(FunctionSpec, Arc<[u8]>)>,
) -> Result<Vec<(Function, Duration)>, LoadError> {
    use futures_util::{StreamExt as _, TryStreamExt as _};
    futures_util::stream::iter(specs.into_iter().map(|(spec, wasm)| {
        let runtime = Arc::clone(runtime);
        async move {
            let started = Instant::now();
            let function = runtime.prepare(spec, wasm).await?;
            Ok::<_, LoadError>((function, started.elapsed()))
        }
    }))
    .buffered(load_parallelism())
    .try_collect()
    .await
}

/// Chooses and loads every function of `manifest` into a new [`Served`], reusing the
/// loaded code of functions in `current` whose version and settings are unchanged.
/// Records are updated in `state` and written to the store before returning.
async fn reconcile(
    runtime: &Arc<Runtime>,
    store: &DeployStore,
    state: &mut State,
    manifest: &Manifest,
    current: Option<&Served>,
    keep: usize,
) -> anyhow::Result<(Served, Vec<(String, Option<String>, String)>)> {
    let mut functions = BTreeMap::new();
    let mut own_routes: Vec<RouteSpec> = Vec::new();
    let mut changes = Vec::new();
    let mut dirty = Vec::new();
    // First every choice (reads and writes of records and modules, in manifest order),
    // then the loads, several at a time, then what each load changed.
    let mut plans = Vec::new();
    for (name, config) in &manifest.functions {
        let mut record = state.records.get(name).cloned().unwrap_or_default();
        let before = record.clone();
        let mut choice = choose(config, manifest, &mut record, keep)?;
        let deployment = &choice.deployment;
        let settings = match &deployment.settings {
            Some(stored) => {
                let settings = stored.to_settings().with_context(|| {
                    format!(
                        "function `{name}`: stored settings of deployment {}",
                        deployment.id
                    )
                })?;
                own_routes.extend(
                    settings
                        .routes
                        .iter()
                        .map(|k| route_spec(manifest, k, name)),
                );
                settings
            }
            None => Settings::from_manifest(manifest, config),
        };
        let old = current.and_then(|s| s.functions.get(name));
        let unchanged = old.is_some_and(|f| {
            hex(f.digest()) == deployment.sha256
                && *f.spec() == config.spec(settings.limits, settings.environment_list())
        });
        let load = match old {
            Some(f) if unchanged => Load::Reuse(Arc::clone(f)),
            _ => {
                let wasm = match choice.wasm.take() {
                    Some(wasm) => wasm,
                    None => store.read_module(&deployment.sha256)?,
                };
                if deployment.source == Source::Manifest {
                    store.put_module(&deployment.sha256, &wasm)?;
                }
                Load::Compile(
                    config.spec(settings.limits, settings.environment_list()),
                    wasm.into(),
                )
            }
        };
        plans.push((name, choice, before, record, load));
    }
    let jobs = plans
        .iter()
        .filter_map(|(.., load)| match load {
            Load::Compile(spec, wasm) => Some((spec.clone(), Arc::clone(wasm))),
            Load::Reuse(_) => None,
        })
        .collect();
    let loaded = load_concurrently(runtime, jobs).await?;
    let mut loaded = loaded.into_iter();
    for (name, choice, before, record, load) in plans {
        let deployment = &choice.deployment;
        let function = match load {
            Load::Reuse(function) => {
                if choice.unreadable {
                    tracing::warn!(function = %name, version = %deployment.version, "still serving: {}", choice.reason);
                }
                function
            }
            Load::Compile(..) => {
                let Some((function, took)) = loaded.next() else {
                    anyhow::bail!("function `{name}`: its load went missing");
                };
                let counter = state.counter(name, function.version());
                let function = Arc::new(function.with_request_counter(counter));
                // One line per loaded function; a warning when its module file is gone.
                macro_rules! serving {
                    ($level:ident) => {
                        tracing::$level!(
                            function = %name,
                            version = %deployment.version,
                            deployment = deployment.id,
                            source = deployment.source.as_str(),
                            code = function.origin().as_str(),
                            load_ms = format_args!("{:.2}", duration_ms(took)),
                            "serving: {}",
                            choice.reason
                        )
                    };
                }
                if choice.unreadable {
                    serving!(warn);
                } else {
                    serving!(info);
                }
                function
            }
        };
        // A change is a new live deployment, not a restart serving the same one again.
        if before.live != record.live {
            let old_version = before.live_deployment().map(|d| d.version.clone());
            changes.push((name.clone(), old_version, deployment.version.clone()));
        }
        if record != before {
            dirty.push(name.clone());
        }
        state.records.insert(name.clone(), record);
        functions.insert(name.clone(), function);
    }
    // The manifest's routes of functions served with the manifest's settings, then the
    // routes deployments set.
    let own: Vec<&str> = own_routes.iter().filter_map(RouteSpec::function).collect();
    let mut routes: Vec<RouteSpec> = manifest
        .route_list()
        .into_iter()
        .filter(|r| r.function().is_none_or(|f| !own.contains(&f)))
        .collect();
    routes.extend(own_routes);
    let pins = load_pins(runtime, store, state, manifest, current, &functions).await?;
    let served = Served::new(
        functions,
        &routes,
        manifest.stages.clone(),
        pins,
        manifest.api.clone(),
    )
    .map_err(|e| {
        anyhow::anyhow!("{e:#} (a deployment's own routes conflict with the manifest's: roll it back, or change the manifest)")
    })?;
    for name in dirty {
        if let Some(record) = state.records.get(&name) {
            store.write_record(&name, record)?;
        }
    }
    Ok((served, changes))
}

/// The functions each stage of `manifest` pins to a kept deployment, by stage: the
/// live function when the pinned version is the live one, the pin already loaded in
/// `current` when it is unchanged, else loaded from the deploy store.
async fn load_pins(
    runtime: &Arc<Runtime>,
    store: &DeployStore,
    state: &mut State,
    manifest: &Manifest,
    current: Option<&Served>,
    live: &BTreeMap<String, Arc<Function>>,
) -> anyhow::Result<BTreeMap<String, BTreeMap<String, Arc<Function>>>> {
    let mut pins = BTreeMap::new();
    for stage in &manifest.stages {
        let mut stage_pins = BTreeMap::new();
        for (name, config) in &manifest.functions {
            let Some(record) = state.records.get(name) else {
                continue;
            };
            // The manifest's pin, else one a `deploy --stage` or `rollback --stage` set.
            let deployment = match stage.versions.get(name) {
                Some(version) => match record.find(version) {
                    Some(deployment) => deployment.clone(),
                    None => anyhow::bail!(
                        "stage `{}` pins function `{name}` to version `{version}`, which is not kept (kept: {}): deploy it, or pin a kept version, or `live`",
                        stage.name,
                        kept_list(
                            &record
                                .history
                                .iter()
                                .map(|d| d.version.clone())
                                .collect::<Vec<_>>()
                        )
                    ),
                },
                None => {
                    let Some(id) = record.stage_pins.get(&stage.name) else {
                        continue;
                    };
                    match record.history.iter().find(|d| d.id == *id) {
                        Some(deployment) => deployment.clone(),
                        None => {
                            tracing::warn!(stage = %stage.name, function = %name, deployment = id, "the stage's deployment is no longer kept: the stage follows the live version");
                            continue;
                        }
                    }
                }
            };
            let settings = match &deployment.settings {
                Some(stored) => stored.to_settings()?,
                None => Settings::from_manifest(manifest, config),
            };
            let spec = config.spec(settings.limits, settings.environment_list());
            let same =
                |f: &Arc<Function>| hex(f.digest()) == deployment.sha256 && *f.spec() == spec;
            let loaded = live.get(name).filter(|f| same(f)).cloned().or_else(|| {
                current
                    .and_then(|served| {
                        served
                            .api
                            .stages()
                            .iter()
                            .find_map(|s| s.pins.get(name).filter(|f| same(f)))
                    })
                    .cloned()
            });
            let function = match loaded {
                Some(function) => function,
                None => {
                    let wasm = store.read_module(&deployment.sha256)?;
                    let function = load(runtime, config, wasm.into(), &settings, state).await?;
                    tracing::info!(
                        stage = %stage.name,
                        function = %name,
                        version = %deployment.version,
                        deployment = deployment.id,
                        "serving the stage's pinned version"
                    );
                    function
                }
            };
            stage_pins.insert(name.clone(), function);
        }
        pins.insert(stage.name.clone(), stage_pins);
    }
    Ok(pins)
}

fn duration_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn warn_about_restart_only_changes(old: &Manifest, new: &Manifest) {
    let tables =
        |m: &Manifest| -> Vec<String> { m.data.tables.iter().map(|t| format!("{t:?}")).collect() };
    if tables(old) != tables(new)
        || old.data.backend != new.data.backend
        || old.data.dir != new.data.dir
    {
        tracing::warn!("the manifest's [data] and [tables] changed: restart to apply them");
    }
    let (a, b) = (&old.server, &new.server);
    if a.listen != b.listen
        || a.admin_listen != b.admin_listen
        || a.max_instances != b.max_instances
        || a.max_queue != b.max_queue
        || a.queue_timeout != b.queue_timeout
        || a.max_body_bytes != b.max_body_bytes
        || a.admin_token != b.admin_token
        || a.keep_versions != b.keep_versions
        || a.max_header_bytes != b.max_header_bytes
    {
        tracing::warn!("the manifest's [server] section changed: restart to apply it");
    }
}

fn info(state: &State, served: &Served, name: &str) -> Option<FunctionInfo> {
    let function = served.functions.get(name)?;
    let record = state.records.get(name)?;
    let live = record.live_deployment();
    let settings = served_settings(served, name)?;
    let versions = record
        .history
        .iter()
        .rev()
        .map(|d| VersionInfo {
            deployment: d.id,
            version: d.version.clone(),
            deployed_at: store::rfc3339(d.deployed_at_ms),
            source: d.source.as_str(),
            own_settings: d.settings.is_some(),
            live: Some(d.id) == record.live,
            requests: state
                .counters
                .get(&(name.to_string(), d.version.clone()))
                .map_or(0, |c| c.load(std::sync::atomic::Ordering::Relaxed)),
        })
        .collect();
    Some(FunctionInfo {
        name: name.to_string(),
        live: Some(function.version().to_string()),
        live_deployment: live.map(|d| d.id),
        live_since: live.map(|_| store::rfc3339(record.live_since_ms)),
        kind: function.kind(),
        routes: settings.routes.iter().map(ToString::to_string).collect(),
        limits: settings.limits,
        max_concurrency: function
            .spec()
            .max_concurrency
            .map(std::num::NonZeroU32::get),
        stages: served.stage_versions(name).into_iter().collect(),
        versions,
    })
}

/// The versions of function `name` that stages of `manifest` pin.
fn pinned_versions<'a>(manifest: &'a Manifest, name: &str) -> Vec<&'a str> {
    manifest
        .stages
        .iter()
        .filter_map(|stage| stage.versions.get(name).map(String::as_str))
        .collect()
}
