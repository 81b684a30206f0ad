//! The backend's configuration.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Default for [`DynamoDbConfig::max_attempts`].
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default for [`DynamoDbConfig::table_ready_timeout_secs`].
pub const DEFAULT_TABLE_READY_TIMEOUT_SECS: u64 = 120;

/// How to reach DynamoDB and what to do about missing tables.
///
/// Credentials and region come from the standard AWS chain (environment, profile,
/// container and instance metadata, …) unless set here. All fields have defaults, so an
/// empty configuration talks to DynamoDB in the environment's region.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamoDbConfig {
    /// The endpoint URL, for DynamoDB-compatible servers (`http://127.0.0.1:8000`); AWS's
    /// regional endpoint when `None`. With an endpoint and no region anywhere, the
    /// region defaults to `us-east-1` (such servers ignore it, but requests are signed
    /// with one).
    pub endpoint: Option<String>,
    /// The AWS region; the environment's when `None`.
    pub region: Option<String>,
    /// Create declared tables that do not exist (on-demand capacity, with their indexes
    /// and TTL). When false, a missing table is an error at connect time.
    pub create_missing_tables: bool,
    /// Attempts per request, the first included, with the SDK's standard retry policy
    /// (exponential backoff with jitter on throttling and transient errors). At least 1.
    pub max_attempts: u32,
    /// How long to wait for a created (or still creating) table to become `ACTIVE`.
    pub table_ready_timeout_secs: u64,
    /// Fixed credentials instead of the standard chain: for local servers and tests.
    pub credentials: Option<StaticCredentials>,
}

impl Default for DynamoDbConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            create_missing_tables: false,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            table_ready_timeout_secs: DEFAULT_TABLE_READY_TIMEOUT_SECS,
            credentials: None,
        }
    }
}

impl DynamoDbConfig {
    /// [`table_ready_timeout_secs`](Self::table_ready_timeout_secs) as a duration.
    pub fn table_ready_timeout(&self) -> Duration {
        Duration::from_secs(self.table_ready_timeout_secs)
    }
}

/// An access key pair (and optional session token). Its `Debug` output hides the secret
/// and the token.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    #[serde(default)]
    pub session_token: Option<String>,
}

impl StaticCredentials {
    /// Credentials from a key pair without a session token.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let mut credentials = StaticCredentials::new("AKID", "very-secret");
        credentials.session_token = Some("token-secret".into());
        let shown = format!("{credentials:?}");
        assert!(shown.contains("AKID"));
        assert!(!shown.contains("very-secret") && !shown.contains("token-secret"));
    }

    #[test]
    fn defaults_apply_to_missing_fields() {
        let config: DynamoDbConfig =
            serde_json::from_str(r#"{"create_missing_tables": true}"#).expect("deserializes");
        assert!(config.create_missing_tables);
        assert_eq!(config.max_attempts, DEFAULT_MAX_ATTEMPTS);
        assert_eq!(config.endpoint, None);
    }
}
