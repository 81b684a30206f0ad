//! Opening the configured store with the manifest's tables (app time).

use std::sync::Arc;

use portico_data::Backend;
use portico_data::embedded::{Embedded, EmbeddedConfig};
use portico_dynamodb::{DynamoDbBackend, DynamoDbConfig};

use super::{BackendKind, DataConfig};

/// Why the data store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The embedded store failed to open.
    #[error(transparent)]
    Embedded(#[from] portico_data::embedded::OpenError),
    /// DynamoDB could not be reached or its tables do not match the manifest.
    #[error("dynamodb backend: {0}")]
    DynamoDb(#[from] portico_dynamodb::ConnectError),
}

/// Opens the store `config` names, creating (embedded) or verifying (dynamodb) the
/// declared tables.
///
/// # Errors
/// [`OpenError`] with the cause: a locked or unreadable data directory, a table whose
/// key schema changed, an unreachable endpoint, a missing table, ….
pub async fn open_backend(config: &DataConfig) -> Result<Arc<dyn Backend>, OpenError> {
    Ok(match config.backend {
        BackendKind::Embedded => {
            let config_dir = EmbeddedConfig::new(&config.dir);
            let tables = config.tables.clone();
            let store = tokio::task::spawn_blocking(move || Embedded::open(&config_dir, &tables))
                .await
                .map_err(|e| {
                    portico_data::embedded::OpenError::Thread(std::io::Error::other(e.to_string()))
                })??;
            Arc::new(store)
        }
        BackendKind::Dynamodb => {
            let settings = DynamoDbConfig {
                endpoint: config.dynamodb.endpoint.clone(),
                region: config.dynamodb.region.clone(),
                create_missing_tables: config.dynamodb.create_tables,
                ..DynamoDbConfig::default()
            };
            Arc::new(DynamoDbBackend::connect(&settings, &config.tables).await?)
        }
    })
}
