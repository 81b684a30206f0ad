//! The `variables` capability: configuration values and secrets a function reads by
//! name through the WIT `variables` interface (and, with `variables_as_env = true`, as
//! environment variables: `api_key` becomes `API_KEY`).
//!
//! ```toml
//! [functions.billing]
//! variables = { api_key = { from_env = "BILLING_KEY" }, cert = { from_file = "cert.pem" }, mode = "prod" }
//! ```
//!
//! Its three moments:
//! - engine time: links `portico:edge/variables`;
//! - app time: resolves each variable once, when the function is loaded — a `from_env`
//!   that is not set, or a `from_file` that cannot be read, stops the load and names the
//!   variable (never its value);
//! - request time: the instance shares the resolved values (one `Arc`).
//!
//! Values never reach a log line, an error message or the admin API: [`Secret`] prints
//! as `<redacted>`.

use crate::runtime::{Capability, ConfigureError, FunctionInfo, InstanceBuilder, InstanceState};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    #![allow(missing_docs)] // Generated from the WIT, which documents every item.
    wasmtime::component::bindgen!({
        path: "../wit",
        interfaces: "import portico:edge/variables@0.1.0;",
        imports: { default: async | trappable },
    });
}

use bindings::portico::edge::variables as wit;

/// Where a variable's value comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Source {
    /// Written in the manifest.
    Value(String),
    /// The host's environment variable of that name, read when the function loads.
    FromEnv(String),
    /// The contents of that file (UTF-8), read when the function loads.
    FromFile(PathBuf),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // A manifest value may be a secret too.
            Source::Value(_) => f.write_str("Value(<redacted>)"),
            Source::FromEnv(name) => write!(f, "FromEnv({name:?})"),
            Source::FromFile(path) => write!(f, "FromFile({path:?})"),
        }
    }
}

/// A function's `variables` (and `variables_as_env`), as the manifest declares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariableSpecs {
    /// Variables by name.
    pub variables: BTreeMap<String, Source>,
    /// Also set each as an environment variable, its name upper-cased.
    pub as_env: bool,
}

/// Why a variable name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid variable name {0:?}: use lower-case letters, digits and `_`, starting with a letter"
)]
pub struct InvalidName(pub String);

/// Checks a variable name (as Spin names them: `[a-z][a-z0-9_]*`).
pub fn check_name(name: &str) -> Result<(), InvalidName> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(InvalidName(name.to_string()))
    }
}

/// A value that must not be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value itself: only for handing it to the guest.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A function's resolved variables.
#[derive(Debug, Default)]
pub struct Resolved {
    values: BTreeMap<String, Secret>,
}

/// The `variables` capability.
#[derive(Debug, Clone, Copy, Default)]
pub struct Variables;

impl Capability for Variables {
    type Function = (Arc<Resolved>, bool);
    type Instance = Arc<Resolved>;

    fn name(&self) -> &'static str {
        "variables"
    }

    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        wit::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
    }

    fn configure(
        &self,
        function: &FunctionInfo<'_>,
    ) -> Result<(Arc<Resolved>, bool), ConfigureError> {
        let Some(specs) = function.configs.get::<VariableSpecs>() else {
            return Ok((Arc::default(), false));
        };
        let fail = |message: String| ConfigureError {
            capability: "variables",
            message,
        };
        let mut values = BTreeMap::new();
        for (name, source) in &specs.variables {
            let value = match source {
                Source::Value(value) => value.clone(),
                Source::FromEnv(var) => std::env::var(var).map_err(|e| {
                    fail(match e {
                        std::env::VarError::NotPresent => format!(
                            "`{name}`: environment variable `{var}` is not set (set it, or change the variable's `from_env`)"
                        ),
                        std::env::VarError::NotUnicode(_) => {
                            format!("`{name}`: environment variable `{var}` is not valid UTF-8")
                        }
                    })
                })?,
                Source::FromFile(path) => std::fs::read_to_string(path).map_err(|e| {
                    fail(format!("`{name}`: cannot read {}: {e}", path.display()))
                })?,
            };
            values.insert(name.clone(), Secret(value));
        }
        Ok((Arc::new(Resolved { values }), specs.as_env))
    }

    fn instantiate(
        &self,
        (resolved, as_env): &(Arc<Resolved>, bool),
        instance: &mut InstanceBuilder<'_>,
    ) -> Arc<Resolved> {
        if *as_env {
            for (name, value) in &resolved.values {
                instance
                    .wasi()
                    .env(name.to_ascii_uppercase(), value.expose());
            }
        }
        Arc::clone(resolved)
    }
}

impl wit::Host for InstanceState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, wit::Error>> {
        let value = self
            .capability::<Arc<Resolved>>()
            .and_then(|resolved| resolved.values.get(&name))
            .map(|value| value.expose().to_string());
        Ok(value.ok_or(wit::Error::Undefined(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_spin() {
        assert!(check_name("api_key").is_ok());
        assert!(check_name("a1").is_ok());
        for bad in ["", "1a", "Api", "api-key", "_a", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_never_print() {
        let secret = Secret("hunter2".into());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        let spec = Source::Value("hunter2".into());
        assert!(!format!("{spec:?}").contains("hunter2"));
        let resolved = Resolved {
            values: BTreeMap::from([("k".to_string(), secret)]),
        };
        assert!(!format!("{resolved:?}").contains("hunter2"));
    }
}
