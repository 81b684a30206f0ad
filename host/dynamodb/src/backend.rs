//! The backend value: an SDK client, set up from [`DynamoDbConfig`].

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region, SharedHttpClient};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
use portico_data::TableSchema;

use crate::config::DynamoDbConfig;
use crate::errors::ConnectError;
use crate::tables::ensure_tables;

/// The region used with a custom endpoint when none is configured anywhere.
const ENDPOINT_DEFAULT_REGION: &str = "us-east-1";

/// Portico's data operations on DynamoDB (or a DynamoDB-compatible server): implements
/// [`portico_data::Backend`] by forwarding each operation to the matching API call.
///
/// Cheap to clone: clones share the SDK client and its connection pool.
#[derive(Clone, Debug)]
pub struct DynamoDbBackend {
    client: Client,
}

impl DynamoDbBackend {
    /// Builds a client from `config` and the standard AWS chain, then checks that every
    /// table in `tables` exists with its declared key and indexes (creating missing ones
    /// when [`DynamoDbConfig::create_missing_tables`] allows it, and waiting until they are
    /// `ACTIVE`).
    ///
    /// # Errors
    /// [`ConnectError`]: no region, a table missing or different from its declaration,
    /// or DynamoDB unreachable or refusing the requests (for instance for lack of
    /// credentials).
    pub async fn connect(
        config: &DynamoDbConfig,
        tables: &[TableSchema],
    ) -> Result<DynamoDbBackend, ConnectError> {
        let client = client(config).await?;
        ensure_tables(
            &client,
            tables,
            config.create_missing_tables,
            config.table_ready_timeout(),
        )
        .await?;
        Ok(DynamoDbBackend { client })
    }

    /// A backend on an existing SDK client, without checking any table.
    pub fn from_client(client: Client) -> DynamoDbBackend {
        DynamoDbBackend { client }
    }

    /// The SDK client, for what the [`Backend`](portico_data::Backend) trait does not
    /// cover (administration, tests).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The SDK client for `config`: standard chain, overrides from `config`, standard
/// retries.
async fn client(config: &DynamoDbConfig) -> Result<Client, ConnectError> {
    if config.max_attempts == 0 {
        return Err(ConnectError::InvalidConfig(
            "max_attempts must be at least 1".to_owned(),
        ));
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts));
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.endpoint {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(ConnectError::InvalidConfig(format!(
                "endpoint {endpoint:?} must be an http:// or https:// URL"
            )));
        }
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(credentials) = &config.credentials {
        loader = loader.credentials_provider(Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            credentials.session_token.clone(),
            None,
            "portico-config",
        ));
    }
    let shared = loader.load().await;
    let mut builder = aws_sdk_dynamodb::config::Builder::from(&shared);
    if shared.region().is_none() {
        if config.endpoint.is_none() {
            return Err(ConnectError::NoRegion);
        }
        builder = builder.region(Region::new(ENDPOINT_DEFAULT_REGION));
    }
    Ok(Client::from_conf(builder.build()))
}

/// The SDK's default HTTPS client (hyper 1, rustls, the proxy from `HTTPS_PROXY` and
/// friends), with ring as rustls' crypto provider instead of aws-lc: wasmtime-wasi-http
/// builds ring already, and aws-lc would be a second crypto library, built from C. This
/// is what `aws-smithy-runtime`'s `default_https_client` does for its behaviour version,
/// with the provider changed. `build_with_connector_fn` is `doc(hidden)` (the SDK's own
/// crates use it); the public `build_https` would lose the proxy settings.
fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
