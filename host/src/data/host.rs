//! The host side of the WIT `data` interface: checks the function's grants, converts
//! the guest's documents, calls the backend, and counts the calls for the access log.
//!
//! A data failure is returned to the guest as the `error` variant; it never traps.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument as _;

use portico_data::ops::{
    BatchGet, BatchWrite, DeleteItem, GetItem, PutItem, Query, Scan, TransactGet, TransactGetItem,
    TransactWrite, UpdateItem, WriteOutput,
};
use portico_data::{Backend, DataError};
use wasmtime::component::Resource;

use super::DataContext;
use super::bindings::portico::edge::data as wit;
use super::convert::{self, item_from_wit, item_to_wit};
use crate::runtime::InstanceState;

/// A table the guest opened: the resource behind `data.table`.
#[derive(Debug)]
pub struct OpenTable {
    name: String,
}

/// A data call's result as the guest sees it.
type GuestResult<T> = wasmtime::Result<Result<T, wit::Error>>;

impl InstanceState {
    /// This instance's data context (present whenever the data interface is linked).
    fn data(&mut self) -> Option<&mut DataContext> {
        self.capability::<DataContext>()
    }

    /// Runs one backend call, counting it and its time.
    async fn data_call<T, F, Fut>(&mut self, operation: &'static str, call: F) -> GuestResult<T>
    where
        F: FnOnce(Arc<dyn Backend>) -> Fut,
        Fut: Future<Output = Result<T, DataError>>,
    {
        let Some(backend) = self
            .data()
            .and_then(|d| d.store.as_ref())
            .map(super::DataStore::front)
        else {
            return Ok(Err(wit::Error::Unavailable(
                "this host has no data store configured".into(),
            )));
        };
        let started = Instant::now();
        let result = call(backend)
            .instrument(tracing::debug_span!("data", operation))
            .await;
        if let Some(data) = self.data() {
            data.record(operation, started.elapsed());
        }
        Ok(result.map_err(convert::error_to_wit))
    }

    /// Fails with access-denied unless the function may use every one of `tables`.
    fn check_grants<'t>(
        &mut self,
        tables: impl IntoIterator<Item = &'t str>,
    ) -> Result<(), wit::Error> {
        let Some(data) = self.data() else {
            return Err(wit::Error::Unavailable(
                "this host has no data store configured".into(),
            ));
        };
        for table in tables {
            if !data.granted(table) {
                return Err(convert::error_to_wit(data.denied(table)));
            }
        }
        Ok(())
    }

    /// The name of an open table.
    fn table_name(&mut self, table: &Resource<OpenTable>) -> wasmtime::Result<String> {
        Ok(self.resources().get(table)?.name.clone())
    }
}

/// Converts guest input, turning a malformed document into the guest's validation error.
macro_rules! input {
    ($conversion:expr) => {
        match $conversion {
            Ok(value) => value,
            Err(error) => return Ok(Err(convert::error_to_wit(error))),
        }
    };
}

fn written(output: &WriteOutput) -> Option<wit::Document> {
    output.attributes.as_ref().map(item_to_wit)
}

impl wit::HostTable for InstanceState {
    async fn open(&mut self, name: String) -> GuestResult<Resource<OpenTable>> {
        if let Err(denied) = self.check_grants([name.as_str()]) {
            return Ok(Err(denied));
        }
        Ok(Ok(self.resources().push(OpenTable { name })?))
    }

    async fn name(&mut self, table: Resource<OpenTable>) -> wasmtime::Result<String> {
        self.table_name(&table)
    }

    async fn get(
        &mut self,
        table: Resource<OpenTable>,
        key: wit::Document,
        options: wit::GetOptions,
    ) -> GuestResult<Option<wit::Document>> {
        let request = GetItem {
            table: self.table_name(&table)?,
            key: input!(item_from_wit(key)),
            consistent: options.consistent,
            projection: options.projection,
            names: convert::names(options.names),
        };
        let Some(cache) = self
            .data()
            .and_then(|d| d.store.as_ref())
            .and_then(|s| s.cache.clone())
        else {
            return self
                .data_call("get", |backend| async move {
                    Ok(backend.get_item(request).await?.as_ref().map(item_to_wit))
                })
                .await;
        };
        let started = Instant::now();
        let (result, outcome) = cache
            .get_item_with_outcome(request)
            .instrument(tracing::debug_span!("data", operation = "get"))
            .await;
        if let Some(data) = self.data() {
            data.record("get", started.elapsed());
            data.count(outcome);
        }
        Ok(result
            .map(|item| item.as_ref().map(item_to_wit))
            .map_err(convert::error_to_wit))
    }

    async fn put(
        &mut self,
        table: Resource<OpenTable>,
        item: wit::Document,
        options: wit::WriteOptions,
    ) -> GuestResult<Option<wit::Document>> {
        let request = PutItem {
            table: self.table_name(&table)?,
            item: input!(item_from_wit(item)),
            condition: options.condition,
            placeholders: input!(convert::placeholders(options.placeholders)),
            return_values: convert::return_values(options.return_values),
            return_old_on_condition_failure: options.return_old_on_condition_failure,
        };
        self.data_call("put", |backend| async move {
            Ok(written(&backend.put_item(request).await?))
        })
        .await
    }

    async fn update(
        &mut self,
        table: Resource<OpenTable>,
        key: wit::Document,
        update: Option<String>,
        options: wit::WriteOptions,
    ) -> GuestResult<Option<wit::Document>> {
        let request = UpdateItem {
            table: self.table_name(&table)?,
            key: input!(item_from_wit(key)),
            update,
            condition: options.condition,
            placeholders: input!(convert::placeholders(options.placeholders)),
            return_values: convert::return_values(options.return_values),
            return_old_on_condition_failure: options.return_old_on_condition_failure,
        };
        self.data_call("update", |backend| async move {
            Ok(written(&backend.update_item(request).await?))
        })
        .await
    }

    async fn delete(
        &mut self,
        table: Resource<OpenTable>,
        key: wit::Document,
        options: wit::WriteOptions,
    ) -> GuestResult<Option<wit::Document>> {
        let request = DeleteItem {
            table: self.table_name(&table)?,
            key: input!(item_from_wit(key)),
            condition: options.condition,
            placeholders: input!(convert::placeholders(options.placeholders)),
            return_values: convert::return_values(options.return_values),
            return_old_on_condition_failure: options.return_old_on_condition_failure,
        };
        self.data_call("delete", |backend| async move {
            Ok(written(&backend.delete_item(request).await?))
        })
        .await
    }

    async fn query(
        &mut self,
        table: Resource<OpenTable>,
        input: wit::QueryInput,
    ) -> GuestResult<wit::Page> {
        let request = Query {
            table: self.table_name(&table)?,
            index: input.index,
            key_condition: input.key_condition,
            filter: input.filter,
            projection: input.projection,
            placeholders: input!(convert::placeholders(input.placeholders)),
            limit: input.limit,
            exclusive_start_key: input!(input.exclusive_start_key.map(item_from_wit).transpose()),
            forward: input.forward,
            consistent: input.consistent,
            count_only: input.count_only,
        };
        self.data_call("query", |backend| async move {
            Ok(convert::page_to_wit(&backend.query(request).await?))
        })
        .await
    }

    async fn scan(
        &mut self,
        table: Resource<OpenTable>,
        input: wit::ScanInput,
    ) -> GuestResult<wit::Page> {
        let request = Scan {
            table: self.table_name(&table)?,
            index: input.index,
            filter: input.filter,
            projection: input.projection,
            placeholders: input!(convert::placeholders(input.placeholders)),
            limit: input.limit,
            exclusive_start_key: input!(input.exclusive_start_key.map(item_from_wit).transpose()),
            segment: input.segment.map(convert::segment),
            consistent: input.consistent,
            count_only: input.count_only,
        };
        self.data_call("scan", |backend| async move {
            Ok(convert::page_to_wit(&backend.scan(request).await?))
        })
        .await
    }

    async fn describe(&mut self, table: Resource<OpenTable>) -> GuestResult<wit::TableDescription> {
        let name = self.table_name(&table)?;
        // Opening the table checked the grant. The manifest's declaration is the
        // table's: Portico creates or verifies every table from it at start.
        let schema = self
            .data()
            .and_then(|d| d.store.as_ref())
            .and_then(|store| store.table(&name))
            .cloned();
        self.data_call("describe", |_backend| async move {
            schema
                .as_ref()
                .map(convert::table_description_to_wit)
                .ok_or_else(|| DataError::ResourceNotFound(format!("table {name:?}")))
        })
        .await
    }

    async fn drop(&mut self, table: Resource<OpenTable>) -> wasmtime::Result<()> {
        self.resources().delete(table)?;
        Ok(())
    }
}

impl wit::Host for InstanceState {
    async fn batch_get(
        &mut self,
        tables: Vec<wit::BatchGetTable>,
    ) -> GuestResult<wit::BatchGetOutput> {
        if let Err(denied) = self.check_grants(tables.iter().map(|t| t.table.as_str())) {
            return Ok(Err(denied));
        }
        let mut request = BatchGet::default();
        for table in tables {
            let (name, keys) = input!(convert::batch_get_table(table));
            match request.tables.get_mut(&name) {
                Some(existing) => existing.keys.extend(keys.keys),
                None => {
                    request.tables.insert(name, keys);
                }
            }
        }
        self.data_call("batch_get", |backend| async move {
            let output = backend.batch_get(request).await?;
            Ok(wit::BatchGetOutput {
                responses: output
                    .responses
                    .into_iter()
                    .map(|(table, items)| (table, items.iter().map(item_to_wit).collect()))
                    .collect(),
                unprocessed: output
                    .unprocessed
                    .into_iter()
                    .map(|(table, keys)| convert::batch_get_table_to_wit(table, keys))
                    .collect(),
            })
        })
        .await
    }

    async fn batch_write(
        &mut self,
        tables: Vec<wit::BatchWriteTable>,
    ) -> GuestResult<Vec<wit::BatchWriteTable>> {
        if let Err(denied) = self.check_grants(tables.iter().map(|t| t.table.as_str())) {
            return Ok(Err(denied));
        }
        let mut request = BatchWrite::default();
        for table in tables {
            let writes: Vec<_> = input!(
                table
                    .writes
                    .into_iter()
                    .map(convert::batch_write_request)
                    .collect::<Result<_, _>>()
            );
            request
                .tables
                .entry(table.table)
                .or_default()
                .extend(writes);
        }
        self.data_call("batch_write", |backend| async move {
            let output = backend.batch_write(request).await?;
            Ok(output
                .unprocessed
                .into_iter()
                .map(|(table, writes)| wit::BatchWriteTable {
                    table,
                    writes: writes
                        .iter()
                        .map(convert::batch_write_request_to_wit)
                        .collect(),
                })
                .collect())
        })
        .await
    }

    async fn transact_get(
        &mut self,
        items: Vec<wit::TransactGetItem>,
    ) -> GuestResult<Vec<Option<wit::Document>>> {
        if let Err(denied) = self.check_grants(items.iter().map(|i| i.table.as_str())) {
            return Ok(Err(denied));
        }
        let mut request = TransactGet::default();
        for item in items {
            request.items.push(TransactGetItem {
                table: item.table,
                key: input!(item_from_wit(item.key)),
                projection: item.projection,
                names: convert::names(item.names),
            });
        }
        self.data_call("transact_get", |backend| async move {
            let items = backend.transact_get(request).await?;
            Ok(items
                .iter()
                .map(|item| item.as_ref().map(item_to_wit))
                .collect())
        })
        .await
    }

    async fn transact_write(
        &mut self,
        items: Vec<wit::TransactWriteItem>,
        client_token: Option<String>,
    ) -> GuestResult<()> {
        let mut request = TransactWrite {
            items: Vec::with_capacity(items.len()),
            client_token,
        };
        for item in items {
            request
                .items
                .push(input!(convert::transact_write_item(item)));
        }
        if let Err(denied) = self.check_grants(request.items.iter().map(|i| i.table())) {
            return Ok(Err(denied));
        }
        self.data_call("transact_write", |backend| async move {
            backend.transact_write(request).await
        })
        .await
    }
}
