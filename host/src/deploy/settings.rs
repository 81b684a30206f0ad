//! A function's deployable settings (limits, environment, routes): the effective form
//! the gateway serves, the JSON form stored with a deployment, and the JSON patch a
//! `multipart/form-data` deploy sends in its `config` part.

use crate::manifest::{Bytes, FunctionConfig, HumanDuration, Manifest, check_timeout};
use crate::routing::{RouteKey, RouteKeyError};
use crate::runtime::Limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why settings (a deploy's `config` part, or those stored with a deployment) are refused.
///
/// Each message holds its whole cause (the answer of the admin API is the message alone),
/// so none is also returned as [`std::error::Error::source`]: a chain printed with `{:#}`
/// says each cause once.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The `config` part is not valid JSON of the expected shape.
    #[error("config: {}{cause}", field_prefix(.path.as_deref()))]
    Config {
        /// The field at fault (`limits.memory`), `None` for the document as a whole.
        path: Option<String>,
        /// The parser's error.
        cause: serde_json::Error,
    },
    /// A limit's value is out of range.
    #[error("config: `{field}` {reason}")]
    Limit {
        /// The field: `limits.timeout` or `limits.memory`.
        field: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// `limits.memory` is over the instance pool's slot size.
    #[error(
        "config: `limits.memory` of {} is over the instance pool's slot size of {}, \
         which is fixed at start by the largest `memory` in the manifest; raise a \
         function's `memory` there and restart",
        bytesize::ByteSize(*.memory).display().iec(),
        bytesize::ByteSize(*.slot).display().iec()
    )]
    MemoryOverSlot {
        /// The memory asked for, in bytes.
        memory: u64,
        /// The pool's slot size, in bytes.
        slot: u64,
    },
    /// A route key of the `config` part does not parse.
    #[error("config: `routes`: `{route}`: {cause}")]
    Route {
        /// The route key as given.
        route: String,
        /// Why it does not parse.
        cause: RouteKeyError,
    },
    /// A route key stored with a deployment does not parse (in this version).
    #[error("route `{route}`: {cause}")]
    StoredRoute {
        /// The route key as stored.
        route: String,
        /// Why it does not parse.
        cause: RouteKeyError,
    },
}

/// "`path`: " before a parse error at a field, nothing for the whole document.
fn field_prefix(path: Option<&str>) -> String {
    path.map(|p| format!("`{p}`: ")).unwrap_or_default()
}

/// What a deploy may change besides the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Resource limits.
    pub limits: Limits,
    /// The environment the function sees.
    pub environment: BTreeMap<String, String>,
    /// The routes leading to the function.
    pub routes: Vec<RouteKey>,
}

impl Settings {
    /// The settings `manifest` gives function `config`.
    pub fn from_manifest(manifest: &Manifest, config: &FunctionConfig) -> Settings {
        Settings {
            limits: config.limits,
            environment: config.environment.iter().cloned().collect(),
            routes: manifest.routes_of(&config.name),
        }
    }

    /// The stored (JSON) form.
    pub fn to_stored(&self) -> StoredSettings {
        StoredSettings {
            limits: self.limits,
            environment: self.environment.clone(),
            routes: self.routes.iter().map(ToString::to_string).collect(),
        }
    }

    /// The environment as the runtime takes it.
    pub fn environment_list(&self) -> Vec<(String, String)> {
        self.environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Settings as stored with a deployment: the limits' own JSON fields (`timeout_ms`,
/// `memory_bytes`, `max_response_bytes`) beside the environment and routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSettings {
    /// Resource limits.
    #[serde(flatten)]
    pub limits: Limits,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Route keys.
    pub routes: Vec<String>,
}

impl StoredSettings {
    /// Back to effective settings; fails on a route key this version cannot parse.
    pub fn to_settings(&self) -> Result<Settings, SettingsError> {
        let routes = self
            .routes
            .iter()
            .map(|r| {
                r.parse::<RouteKey>()
                    .map_err(|cause| SettingsError::StoredRoute {
                        route: r.clone(),
                        cause,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Settings {
            limits: self.limits,
            environment: self.environment.clone(),
            routes,
        })
    }
}

/// The `config` part of a deploy: each key present replaces that part of the live
/// settings; keys left out keep their live values.
///
/// ```json
/// {"limits": {"timeout": "5s", "memory": "64MiB", "max_response": "1MiB"},
///  "environment": {"GREETING": "Hi"},
///  "routes": ["GET /hello", "GET /hello/{name}"]}
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// Limits to change (each one left out keeps its value).
    #[serde(default)]
    pub limits: LimitsPatch,
    /// The whole new environment.
    pub environment: Option<BTreeMap<String, String>>,
    /// The whole new set of routes of the function.
    pub routes: Option<Vec<String>>,
}

/// `limits` of a [`SettingsPatch`], in the manifest's units.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsPatch {
    /// `"30s"`, `"500ms"`.
    pub timeout: Option<HumanDuration>,
    /// `"128MiB"` or a number of bytes.
    pub memory: Option<Bytes>,
    /// `"6MB"` or a number of bytes.
    pub max_response: Option<Bytes>,
}

impl SettingsPatch {
    /// Parses a `config` part; the error names the field at fault.
    pub fn parse(json: &[u8]) -> Result<SettingsPatch, SettingsError> {
        let mut de = serde_json::Deserializer::from_slice(json);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            SettingsError::Config {
                path: (path != ".").then_some(path),
                cause: e.into_inner(),
            }
        })
    }

    /// Applies the patch to `live`. `max_memory` is the instance pool's slot size, which
    /// is fixed while the host runs.
    pub fn apply(&self, live: &Settings, max_memory: u64) -> Result<Settings, SettingsError> {
        let mut next = live.clone();
        if let Some(t) = &self.limits.timeout {
            next.limits.timeout = check_timeout(t.0).map_err(|reason| SettingsError::Limit {
                field: "limits.timeout",
                reason,
            })?;
        }
        if let Some(m) = &self.limits.memory {
            let bytes = Limits::check_memory(m.0).map_err(|e| SettingsError::Limit {
                field: "limits.memory",
                reason: e.to_string(),
            })?;
            if bytes > max_memory {
                return Err(SettingsError::MemoryOverSlot {
                    memory: bytes,
                    slot: max_memory,
                });
            }
            next.limits.memory_bytes = bytes;
        }
        if let Some(r) = &self.limits.max_response {
            next.limits.max_response_bytes = r.0;
        }
        if let Some(environment) = &self.environment {
            next.environment = environment.clone();
        }
        if let Some(routes) = &self.routes {
            next.routes = routes
                .iter()
                .map(|r| {
                    r.parse::<RouteKey>().map_err(|cause| SettingsError::Route {
                        route: r.clone(),
                        cause,
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn live() -> Settings {
        Settings {
            limits: Limits::default(),
            environment: BTreeMap::from([("A".into(), "1".into())]),
            routes: vec!["GET /a".parse().expect("route")],
        }
    }

    #[test]
    fn a_patch_replaces_only_what_it_names() {
        let patch =
            SettingsPatch::parse(br#"{"limits":{"timeout":"5s"},"routes":["GET /b","POST /b"]}"#)
                .expect("valid");
        let next = patch.apply(&live(), 128 << 20).expect("applies");
        assert_eq!(next.limits.timeout, Duration::from_secs(5));
        assert_eq!(next.limits.memory_bytes, Limits::default().memory_bytes);
        assert_eq!(next.environment, live().environment);
        assert_eq!(next.routes.len(), 2);
        let stored = next.to_stored();
        assert_eq!(stored.to_settings().expect("round trip"), next);
    }

    #[test]
    fn bad_patches_name_the_field() {
        let err = SettingsPatch::parse(br#"{"limits":{"memory":"lots"}}"#).unwrap_err();
        assert!(
            matches!(&err, SettingsError::Config { path: Some(p), .. } if p == "limits.memory"),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("config: `limits.memory`: "),
            "{err}"
        );
        let err = SettingsPatch::parse(br#"{"colour":"red"}"#).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = SettingsPatch::parse(b"[]").unwrap_err();
        assert!(
            matches!(&err, SettingsError::Config { path: None, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("config: invalid length"),
            "{err}"
        );
        let patch = SettingsPatch::parse(br#"{"limits":{"memory":"1GiB"}}"#).expect("parses");
        let err = patch.apply(&live(), 128 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config: `limits.memory` of 1.0 GiB is over the instance pool's slot size of \
             128.0 MiB, which is fixed at start by the largest `memory` in the manifest; raise \
             a function's `memory` there and restart"
        );
        let patch = SettingsPatch::parse(br#"{"routes":["FETCH /x"]}"#).expect("parses");
        let err = patch.apply(&live(), 128 << 20).unwrap_err();
        assert!(matches!(err, SettingsError::Route { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("config: `routes`: `FETCH /x`: "),
            "{err}"
        );
        let patch = SettingsPatch::parse(br#"{"limits":{"timeout":"0s"}}"#).expect("parses");
        assert_eq!(
            patch.apply(&live(), 128 << 20).unwrap_err().to_string(),
            "config: `limits.timeout` must be longer than zero"
        );
        let patch = SettingsPatch::parse(br#"{"limits":{"memory":1}}"#).expect("parses");
        assert_eq!(
            patch.apply(&live(), 128 << 20).unwrap_err().to_string(),
            "config: `limits.memory` must be between 64KiB and 4GiB, got 1 bytes"
        );
    }

    #[test]
    fn a_stored_route_that_does_not_parse_is_named() {
        let mut stored = live().to_stored();
        stored.routes = vec!["FETCH /x".into()];
        let err = stored.to_settings().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("route `FETCH /x`: invalid route key"),
            "{err}"
        );
        crate::manifest::assert_each_cause_once(&err);
    }

    #[test]
    fn every_refusal_says_its_cause_once() {
        let refusals = [
            SettingsPatch::parse(br#"{"limits":{"memory":"lots"}}"#).unwrap_err(),
            SettingsPatch::parse(b"[]").unwrap_err(),
            SettingsPatch::parse(br#"{"routes":["FETCH /x"]}"#)
                .expect("parses")
                .apply(&live(), 128 << 20)
                .unwrap_err(),
            SettingsPatch::parse(br#"{"limits":{"timeout":"0s"}}"#)
                .expect("parses")
                .apply(&live(), 128 << 20)
                .unwrap_err(),
        ];
        for err in refusals {
            crate::manifest::assert_each_cause_once(&err);
            // As the command line prints it: the message and nothing after.
            let text = err.to_string();
            assert_eq!(format!("{:#}", anyhow::Error::from(err)), text);
        }
    }

    #[test]
    fn limits_that_do_not_fit_are_refused() {
        let err =
            SettingsPatch::parse(br#"{"limits":{"max_response":"99999999999999999999999GiB"}}"#)
                .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config: `limits.max_response`: size "),
            "{err}"
        );
        assert!(err.to_string().contains("too large"), "{err}");
        let err =
            SettingsPatch::parse(br#"{"limits":{"timeout":"18446744073709551615s"}}"#).unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
        let patch = SettingsPatch::parse(br#"{"limits":{"timeout":"500us"}}"#).expect("parses");
        let err = patch.apply(&live(), 128 << 20).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config: `limits.timeout` must be a whole number of milliseconds"),
            "{err}"
        );
    }
}
