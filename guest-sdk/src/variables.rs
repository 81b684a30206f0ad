//! Variables and secrets the manifest gives this function
//! (`[functions.NAME] variables = { api_key = { from_env = "KEY" }, mode = "prod" }`).
//!
//! ```no_run
//! let key = portico_guest::variables::get("api_key")?;
//! # Ok::<(), portico_guest::variables::VariableError>(())
//! ```
//!
//! The host resolves every variable when the function is loaded and never logs their
//! values; do not log them yourself.

use crate::bindings::portico::edge::variables as wit;
use std::fmt;

/// Why a variable could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableError {
    /// The function has no variable of that name (add it to the function's
    /// `variables` in the manifest).
    Undefined(String),
}

impl fmt::Display for VariableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VariableError::Undefined(name) => write!(
                f,
                "no variable `{name}`: add it to the function's `variables` in the manifest"
            ),
        }
    }
}

impl std::error::Error for VariableError {}

/// The value of variable `name`.
///
/// # Errors
/// [`VariableError::Undefined`] when the manifest gives the function no such variable.
pub fn get(name: &str) -> Result<String, VariableError> {
    wit::get(name).map_err(|e| match e {
        wit::Error::Undefined(name) => VariableError::Undefined(name),
    })
}
