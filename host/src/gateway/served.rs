//! What the gateway serves at one moment: an API with its stages, each stage's routes
//! leading to targets (an integration plus its policies), and the functions behind
//! them. A deploy or a reload builds a new [`Served`] and swaps it in whole.

use super::service::Service;
use crate::policy::api_key::ApiKeyPolicy;
use crate::policy::throttle::Throttle;
use crate::policy::{Authorizer, CorsPolicy, Policies, Policy, RouteAuth};
use crate::routing::{RouteConflict, RouteKey, Router};
use crate::runtime::Function;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// What a route says about one policy.
#[derive(Debug, Clone, Default)]
pub enum Override<T> {
    /// The API's setting applies.
    #[default]
    Inherit,
    /// Off for this route, whatever the API says.
    Off,
    /// This route's own.
    Set(T),
}

impl<T: Clone> Override<T> {
    /// The effective value, given the API's.
    pub fn resolve(&self, api: Option<&T>) -> Option<T> {
        match self {
            Override::Inherit => api.cloned(),
            Override::Off => None,
            Override::Set(own) => Some(own.clone()),
        }
    }
}

/// A route's options besides its function (the manifest's table form:
/// `"GET /items/{id}" = { function = "items", cors = false, timeout = "5s" }`).
#[derive(Debug, Clone, Default)]
pub struct RouteOptions {
    /// CORS for this route.
    pub cors: Override<Arc<CorsPolicy>>,
    /// The integration timeout for this route, replacing the function's.
    pub timeout: Option<Duration>,
    /// The route's authorizer (`auth = "NAME"`, with `scopes = [...]` for a JWT one).
    pub auth: Option<RouteAuth>,
    /// The route's own token bucket (`throttle = { rate, burst }`), besides the API's.
    pub throttle: Option<Arc<Throttle>>,
    /// Whether a request needs an API key (`api_key_required`); `None`: the stage's
    /// setting.
    pub api_key_required: Option<bool>,
    /// The payload format version of the function's event (`payload = "1.0"`).
    pub payload: crate::exchange::PayloadVersion,
    /// A host-side integration that runs before the route's function (a route with both
    /// `function` and `publish`); see [`Service`].
    pub before: Option<Arc<dyn Service>>,
}

/// What a route leads to, as configured.
#[derive(Debug, Clone)]
pub enum IntegrationSpec {
    /// The function of that name.
    Function(String),
    /// A host-side integration, answering on its own (a route with only `publish`).
    Service(Arc<dyn Service>),
}

/// A route as configured: its key, what it leads to, and its options.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// The route key.
    pub key: RouteKey,
    /// What it leads to.
    pub integration: IntegrationSpec,
    /// Policies and the timeout.
    pub options: RouteOptions,
}

impl RouteSpec {
    /// The function the route leads to, if it leads to one.
    pub fn function(&self) -> Option<&str> {
        match &self.integration {
            IntegrationSpec::Function(name) => Some(name),
            IntegrationSpec::Service(_) => None,
        }
    }

    /// Every function the route runs: the one it leads to, and its custom authorizer's.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        let authorizer = match &self.options.auth {
            Some(crate::policy::RouteAuth::Custom(custom)) => Some(custom.function()),
            _ => None,
        };
        self.function().into_iter().chain(authorizer)
    }

    /// What the route leads to, for listings: the function's name, or what the service
    /// does.
    pub fn describe(&self) -> String {
        match &self.integration {
            IntegrationSpec::Function(name) => name.clone(),
            IntegrationSpec::Service(service) => service.describe(),
        }
    }
}

/// The API-wide settings routes inherit.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    /// `[cors]`, if configured.
    pub cors: Option<Arc<CorsPolicy>>,
    /// `[authorizers.NAME]`, by name.
    pub authorizers: BTreeMap<String, Authorizer>,
    /// The API-wide token bucket (`[throttle]`; the manifest always sets one, API
    /// Gateway's default when the section is absent).
    pub throttle: Option<Arc<Throttle>>,
    /// The API key check, with the manifest's `[usage_plans]`.
    pub api_key: Arc<ApiKeyPolicy>,
    /// The WebSocket API (`[websocket]`), if there is one.
    pub websocket: Option<Arc<super::websocket::WebSocketApi>>,
    /// Functions that must be of one kind whatever version is deployed (a topic's
    /// subscribers: `Kind::Subscriber`), with who needs them so (`topics.orders`).
    pub required_kinds: BTreeMap<String, (crate::runtime::Kind, String)>,
}

impl ApiSettings {
    /// The policies of a route with `options` on `stage`, in pipeline order, over the
    /// served `functions` (a custom authorizer runs one).
    fn policies(
        &self,
        key: &RouteKey,
        options: &RouteOptions,
        stage: &StageConfig,
        functions: &BTreeMap<String, Arc<Function>>,
    ) -> Result<Policies, String> {
        let mut list: Vec<Arc<dyn Policy>> = Vec::new();
        // CORS first: a preflight is answered before any authorizer asks for a token
        // (browsers send none), and refusals carry CORS headers, so that a page sees
        // its 401.
        if let Some(cors) = options.cors.resolve(self.cors.as_ref()) {
            list.push(cors);
        }
        // Throttles before authorizers: a flood is refused before it costs a signature
        // check or an authorizer run. The API's bucket, then the route's own or, without
        // one, the stage's default bucket for the route.
        let route = options
            .throttle
            .as_ref()
            .or_else(|| stage.route_throttles.get(key));
        for throttle in [self.throttle.as_ref(), route].into_iter().flatten() {
            list.push(Arc::clone(throttle) as Arc<dyn Policy>);
        }
        if let Some(auth) = &options.auth {
            list.push(auth.bind(functions)?);
        }
        // The key after the authorizer, as API Gateway checks it: a key's quota counts
        // authorised requests only.
        if options.api_key_required.unwrap_or(stage.api_key_required) {
            list.push(Arc::clone(&self.api_key) as Arc<dyn Policy>);
        }
        Ok(Policies::new(list))
    }
}

/// What a route leads to.
#[derive(Debug, Clone)]
pub enum Integration {
    /// A function, of any kind that serves HTTP.
    Function(Arc<Function>),
    /// A host-side integration.
    Service(Arc<dyn Service>),
}

/// A route's value: the integration, the policies around it, and its options.
#[derive(Debug, Clone)]
pub struct RouteTarget {
    /// What runs.
    pub integration: Integration,
    /// What runs around it.
    pub policies: Policies,
    /// The route as configured (for deploys and the admin API).
    pub spec: RouteSpec,
}

impl RouteTarget {
    /// The function the route leads to, if it leads to one.
    pub fn function(&self) -> Option<&Arc<Function>> {
        match &self.integration {
            Integration::Function(f) => Some(f),
            Integration::Service(_) => None,
        }
    }
}

/// A stage: its settings, the versions it pins, and its routes.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Its settings.
    pub config: StageConfig,
    /// Functions served in another version than the live one on this stage
    /// (`versions = { NAME = "VERSION" }`), by name.
    pub pins: BTreeMap<String, Arc<Function>>,
    /// Routes to targets.
    pub routes: Router<RouteTarget>,
    /// The policies of the WebSocket API's upgrade on this stage (its `auth` and
    /// `api_key_required`); none without a WebSocket API.
    pub websocket: Policies,
}

impl Stage {
    /// `$default` unless set; reported as `requestContext.stage`.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Stage variables, passed in every event.
    pub fn variables(&self) -> &[(String, String)] {
        &self.config.variables
    }

    /// The function `name` as this stage serves it: its pinned version, or the live one.
    pub fn function<'a>(&'a self, served: &'a Served, name: &str) -> Option<&'a Arc<Function>> {
        self.pins.get(name).or_else(|| served.functions.get(name))
    }
}

/// The settings of a stage, before its routes are built.
#[derive(Debug, Clone)]
pub struct StageConfig {
    /// Stage name, reported in the event's request context.
    pub name: String,
    /// Stage variables, passed in every event.
    pub variables: Vec<(String, String)>,
    /// Whether its routes need an API key unless they say otherwise
    /// (`api_key_required = true` in the stage's section).
    pub api_key_required: bool,
    /// Served at the root (`[stage]`, or `[stages."$default"]`), else under `/{name}`.
    pub at_root: bool,
    /// The stage's default route throttling (its `throttle`): a bucket for each
    /// manifest route without its own. Made once per manifest, so deploys keep them.
    pub route_throttles: HashMap<RouteKey, Arc<Throttle>>,
    /// Versions it pins (`versions = { NAME = "VERSION" }`): the function's kept
    /// deployment of that version serves this stage; others follow the live one.
    pub versions: BTreeMap<String, String>,
}

impl Default for StageConfig {
    fn default() -> Self {
        StageConfig {
            name: "$default".to_string(),
            variables: Vec::new(),
            api_key_required: false,
            at_root: true,
            route_throttles: HashMap::new(),
            versions: BTreeMap::new(),
        }
    }
}

/// An API: its stages and the policies of requests no route matches.
#[derive(Debug, Clone)]
pub struct Api {
    stages: Vec<Stage>,
    settings: ApiSettings,
    policies: Policies,
}

impl Api {
    /// The stage serving `path`, and the length of the stage prefix to leave out when
    /// routing (see [`route_path`]): a stage served under `/{name}` takes the paths
    /// beneath it (an explicit stage wins), the stage at the root every other path;
    /// `None` when no stage serves it (the API has no root stage).
    pub fn stage_for(&self, path: &str) -> Option<(&Stage, usize)> {
        let named = self
            .stages
            .iter()
            .filter(|s| !s.config.at_root)
            .find(|stage| {
                path.strip_prefix('/')
                    .and_then(|p| p.strip_prefix(stage.name()))
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|stage| (stage, 1 + stage.name().len()));
        named.or_else(|| {
            self.stages
                .iter()
                .find(|s| s.config.at_root)
                .map(|stage| (stage, 0))
        })
    }

    /// The stages.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The API's own policies (for requests no route matches).
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// The API-wide settings.
    pub fn settings(&self) -> &ApiSettings {
        &self.settings
    }
}

/// Why routes could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    /// A route leads to a function that is not served.
    #[error("route `{route}` leads to unknown function `{function}`")]
    UnknownFunction {
        /// The route key.
        route: String,
        /// The function it names.
        function: String,
    },
    /// A route leads to a component that does not answer HTTP requests (an authorizer).
    #[error(
        "route `{route}` leads to function `{function}`, of kind `{kind}`, which does not answer requests (an authorizer function is named in an `[authorizers.NAME]` section)"
    )]
    NotHttp {
        /// The route key.
        route: String,
        /// The function it names.
        function: String,
        /// What the function is.
        kind: crate::runtime::Kind,
    },
    /// A route sets a payload format version for a component that takes no event.
    #[error(
        "route `{route}`: `payload = \"1.0\"` is for Portico functions, whose event it shapes; `{function}` is a {kind} component, which gets the HTTP request itself"
    )]
    PayloadForHttp {
        /// The route key.
        route: String,
        /// The function it names.
        function: String,
        /// What the function is.
        kind: crate::runtime::Kind,
    },
    /// A WebSocket route leads to a function that is not a WebSocket route function.
    #[error("{0}")]
    WebSocket(String),
    /// A function something needs of one kind (a topic's subscriber) is of another.
    #[error(
        "function `{function}` is a {kind} component, but {needed_by} needs a {required} (a component exporting `{}`)",
        required.export()
    )]
    RequiredKind {
        /// The function.
        function: String,
        /// Its kind.
        kind: crate::runtime::Kind,
        /// The kind it must be.
        required: crate::runtime::Kind,
        /// What needs it so.
        needed_by: String,
    },
    /// A route's authorizer cannot run.
    #[error("route `{route}`: {reason}")]
    Authorizer {
        /// The route key.
        route: String,
        /// Why.
        reason: String,
    },
    /// Two routes match the same requests.
    #[error(transparent)]
    Conflict(#[from] RouteConflict),
}

/// The path to route on: `path` without its first `prefix` bytes (a stage's
/// `/{name}`), `/` when nothing is left.
pub fn route_path(path: &str, prefix: usize) -> &str {
    match path.get(prefix..) {
        Some("") | None => "/",
        Some(rest) => rest,
    }
}

/// What the gateway serves at one moment.
#[derive(Debug, Clone)]
pub struct Served {
    /// Every served function by name, in its live version (including functions no
    /// route leads to).
    pub functions: BTreeMap<String, Arc<Function>>,
    /// The API.
    pub api: Api,
}

impl Served {
    /// Builds the routes of each of `stages` from `routes`, with the live `functions`
    /// and, per stage, the functions it pins (`pins`, by stage name). Fails on a route
    /// to an unknown function or two routes that conflict.
    pub fn new(
        functions: BTreeMap<String, Arc<Function>>,
        routes: &[RouteSpec],
        stages: Vec<StageConfig>,
        mut pins: BTreeMap<String, BTreeMap<String, Arc<Function>>>,
        settings: ApiSettings,
    ) -> Result<Served, RoutesError> {
        let mut stages = stages;
        if stages.is_empty() {
            // Every API has a stage: the root one, unless the manifest names others.
            stages.push(StageConfig::default());
        }
        if let Some(websocket) = &settings.websocket {
            websocket
                .check(&functions)
                .map_err(RoutesError::WebSocket)?;
        }
        for (name, (kind, needed_by)) in &settings.required_kinds {
            if let Some(function) = functions.get(name)
                && function.kind() != *kind
            {
                return Err(RoutesError::RequiredKind {
                    function: name.clone(),
                    kind: function.kind(),
                    required: *kind,
                    needed_by: needed_by.clone(),
                });
            }
        }
        let mut built = Vec::with_capacity(stages.len());
        for config in stages {
            let pins = pins.remove(&config.name).unwrap_or_default();
            let routes = stage_routes(&functions, &pins, routes, &config, &settings)?;
            let websocket = match &settings.websocket {
                Some(api) => settings
                    .policies(
                        &RouteKey::Default,
                        &api.options,
                        &config,
                        &visible(&functions, &pins),
                    )
                    .map_err(|reason| RoutesError::Authorizer {
                        route: "websocket $connect".into(),
                        reason,
                    })?,
                None => Policies::none(),
            };
            built.push(Stage {
                config,
                pins,
                routes,
                websocket,
            });
        }
        // Default options name no authorizer, so there is nothing to fail.
        let policies = settings
            .policies(
                &RouteKey::Default,
                &RouteOptions::default(),
                &StageConfig::default(),
                &functions,
            )
            .unwrap_or_default();
        Ok(Served {
            functions,
            api: Api {
                stages: built,
                settings,
                policies,
            },
        })
    }

    /// The first stage (the only one of a manifest with one `[stage]`): for listings.
    pub fn stage(&self) -> &Stage {
        &self.api.stages[0]
    }

    /// Every stage's settings, to build the next [`Served`] with.
    pub fn stage_configs(&self) -> Vec<StageConfig> {
        self.api.stages.iter().map(|s| s.config.clone()).collect()
    }

    /// Every stage's pinned functions, by stage name.
    pub fn pins(&self) -> BTreeMap<String, BTreeMap<String, Arc<Function>>> {
        self.api
            .stages
            .iter()
            .map(|s| (s.config.name.clone(), s.pins.clone()))
            .collect()
    }

    /// Every route as configured, in route order.
    pub fn route_list(&self) -> Vec<RouteSpec> {
        self.stage()
            .routes
            .routes()
            .iter()
            .map(|r| r.value.spec.clone())
            .collect()
    }

    /// The route keys leading to function `name`, in route order.
    pub fn routes_of(&self, name: &str) -> Vec<RouteKey> {
        self.stage()
            .routes
            .routes()
            .iter()
            .filter(|r| r.value.spec.function() == Some(name))
            .map(|r| r.key.clone())
            .collect()
    }

    /// What each stage runs of function `name`: (stage, version).
    pub fn stage_versions(&self, name: &str) -> Vec<(String, String)> {
        self.api
            .stages
            .iter()
            .filter_map(|stage| {
                let function = stage.function(self, name)?;
                Some((stage.config.name.clone(), function.version().to_string()))
            })
            .collect()
    }
}

/// The functions a stage sees: its pinned versions in place of the live ones (a custom
/// authorizer pinned on the stage runs in that version too).
fn visible(
    functions: &BTreeMap<String, Arc<Function>>,
    pins: &BTreeMap<String, Arc<Function>>,
) -> BTreeMap<String, Arc<Function>> {
    let mut visible = functions.clone();
    for (name, function) in pins {
        visible.insert(name.clone(), Arc::clone(function));
    }
    visible
}

/// The routes of one stage: each route's function is the stage's pinned version, else
/// the live one.
fn stage_routes(
    functions: &BTreeMap<String, Arc<Function>>,
    pins: &BTreeMap<String, Arc<Function>>,
    routes: &[RouteSpec],
    config: &StageConfig,
    settings: &ApiSettings,
) -> Result<Router<RouteTarget>, RoutesError> {
    let visible = visible(functions, pins);
    let mut router = Router::new();
    for spec in routes {
        let integration = match &spec.integration {
            IntegrationSpec::Service(service) => Integration::Service(Arc::clone(service)),
            IntegrationSpec::Function(name) => {
                Integration::Function(http_function(&visible, spec, name)?)
            }
        };
        let policies = settings
            .policies(&spec.key, &spec.options, config, &visible)
            .map_err(|reason| RoutesError::Authorizer {
                route: spec.key.to_string(),
                reason,
            })?;
        let target = RouteTarget {
            integration,
            policies,
            spec: spec.clone(),
        };
        router.insert(spec.key.clone(), target)?;
    }
    Ok(router)
}

/// The function `name` route `spec` leads to, checked to serve HTTP (and, on a route
/// with `payload`, to be a Portico function).
fn http_function(
    visible: &BTreeMap<String, Arc<Function>>,
    spec: &RouteSpec,
    name: &str,
) -> Result<Arc<Function>, RoutesError> {
    let function = visible
        .get(name)
        .ok_or_else(|| RoutesError::UnknownFunction {
            route: spec.key.to_string(),
            function: name.to_string(),
        })?;
    if !function.kind().serves_http() {
        return Err(RoutesError::NotHttp {
            route: spec.key.to_string(),
            function: name.to_string(),
            kind: function.kind(),
        });
    }
    if spec.options.payload != crate::exchange::PayloadVersion::default()
        && function.kind() != crate::runtime::Kind::Function
    {
        return Err(RoutesError::PayloadForHttp {
            route: spec.key.to_string(),
            function: name.to_string(),
            kind: function.kind(),
        });
    }
    Ok(Arc::clone(function))
}
