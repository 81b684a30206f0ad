//! Opening the configured store with the manifest's tables (app time).

use std::sync::Arc;

use portico_data::Backend;
use portico_data::embedded::{Embedded, EmbeddedConfig};
use portico_dynamodb::{DynamoDbBackend, DynamoDbConfig};

use super::{BackendKind, DataConfig};

/// Why the data store could not be opened. The message holds the whole cause, so none is
/// also returned as [`std::error::Error::source`]: a chain printed with `{:#}` says each
/// cause once.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The embedded store failed to open.
    #[error("{0}")]
    Embedded(portico_data::embedded::OpenError),
    /// DynamoDB could not be reached or its tables do not match the manifest.
    #[error("dynamodb backend: {0}")]
    DynamoDb(portico_dynamodb::ConnectError),
}

impl From<portico_data::embedded::OpenError> for OpenError {
    fn from(e: portico_data::embedded::OpenError) -> Self {
        OpenError::Embedded(e)
    }
}

impl From<portico_dynamodb::ConnectError> for OpenError {
    fn from(e: portico_dynamodb::ConnectError) -> Self {
        OpenError::DynamoDb(e)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_that_cannot_open_says_why_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = DataConfig {
            backend: BackendKind::Embedded,
            dir: dir.path().to_path_buf(),
            dynamodb: Default::default(),
            tables: Vec::new(),
            cache: Default::default(),
        };
        let _open = open_backend(&config).await.expect("first open");
        let Err(e) = open_backend(&config).await else {
            panic!("the store is open already");
        };
        // The message says the cause; it is not also the source.
        assert!(std::error::Error::source(&e).is_none(), "{e:?}");
        let text = format!("{:#}", anyhow::Error::from(e));
        assert!(
            text.starts_with("cannot open the embedded store "),
            "{text}"
        );
        let cause = text.rsplit(": ").next().unwrap_or_default();
        assert_eq!(text.matches(cause).count(), 1, "{text}");
    }
}
