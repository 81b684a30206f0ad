//! A function's deployable settings (limits, environment, routes): the effective form
//! the gateway serves, the JSON form stored with a deployment, and the JSON patch a
//! `multipart/form-data` deploy sends in its `config` part.

use crate::manifest::{Bytes, FunctionConfig, HumanDuration, Manifest};
use crate::routing::RouteKey;
use crate::runtime::Limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    pub fn to_settings(&self) -> Result<Settings, String> {
        let routes = self
            .routes
            .iter()
            .map(|r| {
                r.parse::<RouteKey>()
                    .map_err(|e| format!("route `{r}`: {e}"))
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
    pub fn parse(json: &[u8]) -> Result<SettingsPatch, String> {
        let mut de = serde_json::Deserializer::from_slice(json);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                format!("config: {}", e.into_inner())
            } else {
                format!("config: `{path}`: {}", e.into_inner())
            }
        })
    }

    /// Applies the patch to `live`. `max_memory` is the instance pool's slot size, which
    /// is fixed while the host runs.
    pub fn apply(&self, live: &Settings, max_memory: u64) -> Result<Settings, String> {
        let mut next = live.clone();
        if let Some(t) = &self.limits.timeout {
            next.limits.timeout =
                Limits::check_timeout(t.0).map_err(|e| format!("config: `limits.timeout` {e}"))?;
        }
        if let Some(m) = &self.limits.memory {
            let bytes =
                Limits::check_memory(m.0).map_err(|e| format!("config: `limits.memory` {e}"))?;
            if bytes > max_memory {
                return Err(format!(
                    "config: `limits.memory` of {} is over the instance pool's slot size of {}, \
                     which is fixed at start by the largest `memory` in the manifest; raise a \
                     function's `memory` there and restart",
                    bytesize::ByteSize(bytes).display().iec(),
                    bytesize::ByteSize(max_memory).display().iec(),
                ));
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
                    r.parse::<RouteKey>()
                        .map_err(|e| format!("config: `routes`: `{r}`: {e}"))
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
        assert!(err.contains("limits.memory"), "{err}");
        let err = SettingsPatch::parse(br#"{"colour":"red"}"#).unwrap_err();
        assert!(err.contains("colour"), "{err}");
        let patch = SettingsPatch::parse(br#"{"limits":{"memory":"1GiB"}}"#).expect("parses");
        let err = patch.apply(&live(), 128 << 20).unwrap_err();
        assert!(err.contains("slot size of 128"), "{err}");
        let patch = SettingsPatch::parse(br#"{"routes":["FETCH /x"]}"#).expect("parses");
        assert!(
            patch
                .apply(&live(), 128 << 20)
                .unwrap_err()
                .contains("FETCH /x")
        );
        let patch = SettingsPatch::parse(br#"{"limits":{"timeout":"0s"}}"#).expect("parses");
        assert!(
            patch
                .apply(&live(), 128 << 20)
                .unwrap_err()
                .contains("timeout")
        );
    }
}
