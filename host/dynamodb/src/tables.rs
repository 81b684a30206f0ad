//! Making sure the declared tables exist as declared: describe, compare, and (when
//! allowed) create them with their indexes and TTL.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement,
    KeyType as SdkKeyType, LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType,
    TableDescription, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use portico_data::{
    DataError, IndexProjection, IndexSchema, KeyAttribute, KeySchema, KeyType, TableSchema,
};

use crate::errors::{ConnectError, build_error, sdk_error};

/// Checks every declared table, creating missing ones when `create` allows it.
///
/// # Errors
/// The first table that is missing (and may not be created), differs from its
/// declaration, cannot be created, or does not become `ACTIVE` within `ready_timeout`.
pub async fn ensure_tables(
    client: &Client,
    tables: &[TableSchema],
    create: bool,
    ready_timeout: Duration,
) -> Result<(), ConnectError> {
    for table in tables {
        ensure_table(client, table, create, ready_timeout).await?;
    }
    Ok(())
}

async fn ensure_table(
    client: &Client,
    table: &TableSchema,
    create: bool,
    ready_timeout: Duration,
) -> Result<(), ConnectError> {
    let created = match describe(client, &table.name).await? {
        Some(_) => false,
        None if create => create_table(client, table).await?,
        None => {
            return Err(ConnectError::TableMissing {
                table: table.name.clone(),
            });
        }
    };
    let description = wait_until_active(client, &table.name, ready_timeout).await?;
    check_table(table, &description)?;
    match (&table.ttl_attribute, created) {
        (Some(attribute), true) => enable_ttl(client, &table.name, attribute).await,
        (Some(attribute), false) => {
            check_ttl(client, &table.name, attribute).await;
            Ok(())
        }
        (None, _) => Ok(()),
    }
}

/// `DescribeTable`: the description, or `None` when the table does not exist.
async fn describe(client: &Client, table: &str) -> Result<Option<TableDescription>, ConnectError> {
    match client.describe_table().table_name(table).send().await {
        Ok(output) => match output.table {
            Some(description) => Ok(Some(description)),
            None => Err(unexpected(table, "DescribeTable returned no table")),
        },
        Err(error) => match sdk_error(error) {
            DataError::ResourceNotFound(_) => Ok(None),
            source => Err(ConnectError::Request {
                action: "describing",
                table: table.to_owned(),
                source,
            }),
        },
    }
}

/// `CreateTable` with on-demand capacity. Returns whether this call created it (false
/// when someone else created it at the same time).
async fn create_table(client: &Client, table: &TableSchema) -> Result<bool, ConnectError> {
    let request_error = |source: DataError| ConnectError::Request {
        action: "creating",
        table: table.name.clone(),
        source,
    };
    let build = |error| request_error(build_error(&error));

    let global_indexes = table
        .global_indexes
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema_elements(&index.key).map_err(build)?))
                .projection(projection(&index.projection))
                .build()
                .map_err(build)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let local_indexes = table
        .local_indexes
        .iter()
        .map(|index| {
            LocalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema_elements(&index.key).map_err(build)?))
                .projection(projection(&index.projection))
                .build()
                .map_err(build)
        })
        .collect::<Result<Vec<_>, _>>()?;

    tracing::info!(table = %table.name, "creating DynamoDB table");
    let result = client
        .create_table()
        .table_name(&table.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema_elements(&table.key).map_err(build)?))
        .set_attribute_definitions(Some(attribute_definitions(table)?))
        .set_global_secondary_indexes((!global_indexes.is_empty()).then_some(global_indexes))
        .set_local_secondary_indexes((!local_indexes.is_empty()).then_some(local_indexes))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        // Created concurrently by another process: check it like an existing table.
        Err(error) if error.code() == Some("ResourceInUseException") => Ok(false),
        Err(error) => Err(request_error(sdk_error(error))),
    }
}

/// Polls `DescribeTable` until the table and its global indexes are `ACTIVE`.
async fn wait_until_active(
    client: &Client,
    table: &str,
    timeout: Duration,
) -> Result<TableDescription, ConnectError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        let description = describe(client, table)
            .await?
            .ok_or_else(|| unexpected(table, "the table disappeared while waiting for it"))?;
        let status = description.table_status.clone();
        let indexes_active = description
            .global_secondary_indexes()
            .iter()
            .all(|index| matches!(index.index_status, None | Some(IndexStatus::Active)));
        // Some compatible servers leave the status out; treat that as ready.
        if matches!(status, None | Some(TableStatus::Active)) && indexes_active {
            return Ok(description);
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(ConnectError::NotReady {
                table: table.to_owned(),
                status: match status {
                    Some(TableStatus::Active) => "waiting for its indexes".to_owned(),
                    Some(status) => status.as_str().to_owned(),
                    None => "unknown".to_owned(),
                },
                waited,
            });
        }
        tokio::time::sleep(delay.min(timeout.saturating_sub(waited))).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// `UpdateTimeToLive` on a table this backend just created.
async fn enable_ttl(client: &Client, table: &str, attribute: &str) -> Result<(), ConnectError> {
    let request_error = |source: DataError| ConnectError::Request {
        action: "enabling TTL on",
        table: table.to_owned(),
        source,
    };
    let specification = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
        .build()
        .map_err(|error| request_error(build_error(&error)))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|error| request_error(sdk_error(error)))?;
    Ok(())
}

/// On an existing table, only warns when TTL is not on the declared attribute: changing
/// an existing table's TTL is an operator's decision (DynamoDB allows one change an hour).
async fn check_ttl(client: &Client, table: &str, attribute: &str) {
    let description = match client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
    {
        Ok(output) => output.time_to_live_description,
        Err(error) => {
            tracing::warn!(table, error = %sdk_error(error), "could not check the table's TTL setting");
            return;
        }
    };
    let (status, actual) = description
        .map(|d| (d.time_to_live_status, d.attribute_name))
        .unwrap_or_default();
    let on = matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    );
    if !on || actual.as_deref() != Some(attribute) {
        tracing::warn!(
            table,
            declared = attribute,
            actual = actual.as_deref().unwrap_or("none"),
            status = status.as_ref().map(|s| s.as_str()).unwrap_or("unknown"),
            "the DynamoDB table's TTL does not match its declaration; items will not expire as declared"
        );
    }
}

/// Compares an existing table with its declaration: the primary key, and every declared
/// index's key and projection. Indexes the table has beyond those are fine.
fn check_table(table: &TableSchema, description: &TableDescription) -> Result<(), ConnectError> {
    let types = described_types(&table.name, description)?;
    let actual = described_key(&table.name, description.key_schema(), &types)?;
    if actual != table.key {
        return Err(ConnectError::KeySchemaMismatch {
            table: table.name.clone(),
            expected: show_key(&table.key),
            actual: show_key(&actual),
        });
    }
    for index in &table.global_indexes {
        let found = description
            .global_secondary_indexes()
            .iter()
            .find(|d| d.index_name.as_deref() == Some(index.name.as_str()))
            .ok_or_else(|| ConnectError::IndexMissing {
                table: table.name.clone(),
                index: index.name.clone(),
                kind: "global",
            })?;
        check_index(
            table,
            index,
            found.key_schema(),
            found.projection.as_ref(),
            &types,
        )?;
    }
    for index in &table.local_indexes {
        let found = description
            .local_secondary_indexes()
            .iter()
            .find(|d| d.index_name.as_deref() == Some(index.name.as_str()))
            .ok_or_else(|| ConnectError::IndexMissing {
                table: table.name.clone(),
                index: index.name.clone(),
                kind: "local",
            })?;
        check_index(
            table,
            index,
            found.key_schema(),
            found.projection.as_ref(),
            &types,
        )?;
    }
    Ok(())
}

fn check_index(
    table: &TableSchema,
    index: &IndexSchema,
    key_schema: &[KeySchemaElement],
    projection: Option<&Projection>,
    types: &BTreeMap<String, KeyType>,
) -> Result<(), ConnectError> {
    let mismatch = |detail: String| ConnectError::IndexMismatch {
        table: table.name.clone(),
        index: index.name.clone(),
        detail,
    };
    let actual = described_key(&table.name, key_schema, types)?;
    if actual != index.key {
        return Err(mismatch(format!(
            "its key is {}, declared {}",
            show_key(&actual),
            show_key(&index.key)
        )));
    }
    // A server that does not describe projections cannot be checked.
    let Some(projection) = projection else {
        return Ok(());
    };
    let actual = match projection.projection_type {
        Some(ProjectionType::All) => IndexProjection::All,
        Some(ProjectionType::KeysOnly) => IndexProjection::KeysOnly,
        Some(ProjectionType::Include) => {
            IndexProjection::Include(sorted(projection.non_key_attributes().to_vec()))
        }
        _ => return Ok(()),
    };
    let declared = match &index.projection {
        IndexProjection::Include(names) => IndexProjection::Include(sorted(names.clone())),
        other => other.clone(),
    };
    if actual != declared {
        return Err(mismatch(format!(
            "it projects {}, declared {}",
            show_projection(&actual),
            show_projection(&declared)
        )));
    }
    Ok(())
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names.dedup();
    names
}

/// The types of the key attributes of the table and its indexes, from the description.
fn described_types(
    table: &str,
    description: &TableDescription,
) -> Result<BTreeMap<String, KeyType>, ConnectError> {
    description
        .attribute_definitions()
        .iter()
        .map(|definition| {
            let key_type = match definition.attribute_type {
                ScalarAttributeType::S => KeyType::S,
                ScalarAttributeType::N => KeyType::N,
                ScalarAttributeType::B => KeyType::B,
                ref other => {
                    return Err(unexpected(
                        table,
                        &format!(
                            "attribute `{}` has the unknown type {}",
                            definition.attribute_name,
                            other.as_str()
                        ),
                    ));
                }
            };
            Ok((definition.attribute_name.clone(), key_type))
        })
        .collect()
}

/// A described key schema as Portico's [`KeySchema`].
fn described_key(
    table: &str,
    elements: &[KeySchemaElement],
    types: &BTreeMap<String, KeyType>,
) -> Result<KeySchema, ConnectError> {
    let attribute = |element: &KeySchemaElement| {
        let key_type = types.get(&element.attribute_name).ok_or_else(|| {
            unexpected(
                table,
                &format!(
                    "key attribute `{}` has no attribute definition",
                    element.attribute_name
                ),
            )
        })?;
        Ok(KeyAttribute {
            name: element.attribute_name.clone(),
            key_type: *key_type,
        })
    };
    let partition = elements
        .iter()
        .find(|e| e.key_type == SdkKeyType::Hash)
        .ok_or_else(|| unexpected(table, "a key schema has no HASH key"))?;
    let sort = elements.iter().find(|e| e.key_type == SdkKeyType::Range);
    Ok(KeySchema {
        partition: attribute(partition)?,
        sort: sort.map(attribute).transpose()?,
    })
}

/// A declared key as the SDK's key schema elements.
fn key_schema_elements(
    key: &KeySchema,
) -> Result<Vec<KeySchemaElement>, aws_sdk_dynamodb::error::BuildError> {
    let mut elements = vec![
        KeySchemaElement::builder()
            .attribute_name(&key.partition.name)
            .key_type(SdkKeyType::Hash)
            .build()?,
    ];
    if let Some(sort) = &key.sort {
        elements.push(
            KeySchemaElement::builder()
                .attribute_name(&sort.name)
                .key_type(SdkKeyType::Range)
                .build()?,
        );
    }
    Ok(elements)
}

/// One attribute definition per key attribute of the table and its indexes.
fn attribute_definitions(table: &TableSchema) -> Result<Vec<AttributeDefinition>, ConnectError> {
    let mut types: BTreeMap<&str, KeyType> = BTreeMap::new();
    let keys = std::iter::once(&table.key).chain(
        table
            .global_indexes
            .iter()
            .chain(&table.local_indexes)
            .map(|index| &index.key),
    );
    for attribute in keys.flat_map(KeySchema::attributes) {
        match types.insert(&attribute.name, attribute.key_type) {
            Some(previous) if previous != attribute.key_type => {
                return Err(ConnectError::InvalidSchema {
                    table: table.name.clone(),
                    detail: format!(
                        "key attribute `{}` is declared both as {:?} and as {:?}",
                        attribute.name, previous, attribute.key_type
                    ),
                });
            }
            _ => {}
        }
    }
    types
        .into_iter()
        .map(|(name, key_type)| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(match key_type {
                    KeyType::S => ScalarAttributeType::S,
                    KeyType::N => ScalarAttributeType::N,
                    KeyType::B => ScalarAttributeType::B,
                })
                .build()
                .map_err(|error| ConnectError::Request {
                    action: "creating",
                    table: table.name.clone(),
                    source: build_error(&error),
                })
        })
        .collect()
}

fn projection(projection: &IndexProjection) -> Projection {
    match projection {
        IndexProjection::All => Projection::builder()
            .projection_type(ProjectionType::All)
            .build(),
        IndexProjection::KeysOnly => Projection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build(),
        IndexProjection::Include(names) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(names.clone()))
            .build(),
    }
}

fn show_key(key: &KeySchema) -> String {
    key.attributes()
        .map(|a| format!("{} ({:?})", a.name, a.key_type))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_projection(projection: &IndexProjection) -> String {
    match projection {
        IndexProjection::All => "ALL".to_owned(),
        IndexProjection::KeysOnly => "KEYS_ONLY".to_owned(),
        IndexProjection::Include(names) => format!("INCLUDE [{}]", names.join(", ")),
    }
}

fn unexpected(table: &str, detail: &str) -> ConnectError {
    ConnectError::UnexpectedDescription {
        table: table.to_owned(),
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{
        GlobalSecondaryIndexDescription, LocalSecondaryIndexDescription,
    };
    use portico_data::schema::string_keys;

    use super::*;

    fn schema() -> TableSchema {
        let mut table = TableSchema::new("orders", string_keys("pk", Some("sk")));
        table.global_indexes.push(IndexSchema {
            name: "by_customer".into(),
            key: KeySchema {
                partition: KeyAttribute {
                    name: "customer".into(),
                    key_type: KeyType::S,
                },
                sort: Some(KeyAttribute {
                    name: "total".into(),
                    key_type: KeyType::N,
                }),
            },
            projection: IndexProjection::Include(vec!["b".into(), "a".into()]),
        });
        table.local_indexes.push(IndexSchema {
            name: "by_date".into(),
            key: string_keys("pk", Some("date")),
            projection: IndexProjection::KeysOnly,
        });
        table
    }

    /// The description DynamoDB would give of `schema()` once created.
    fn description(table: &TableSchema) -> TableDescription {
        let gsi = &table.global_indexes[0];
        let lsi = &table.local_indexes[0];
        TableDescription::builder()
            .table_name(&table.name)
            .table_status(TableStatus::Active)
            .set_key_schema(Some(key_schema_elements(&table.key).expect("key")))
            .set_attribute_definitions(Some(attribute_definitions(table).expect("definitions")))
            .global_secondary_indexes(
                GlobalSecondaryIndexDescription::builder()
                    .index_name(&gsi.name)
                    .set_key_schema(Some(key_schema_elements(&gsi.key).expect("key")))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::Include)
                            .non_key_attributes("a")
                            .non_key_attributes("b")
                            .build(),
                    )
                    .index_status(IndexStatus::Active)
                    .build(),
            )
            .local_secondary_indexes(
                LocalSecondaryIndexDescription::builder()
                    .index_name(&lsi.name)
                    .set_key_schema(Some(key_schema_elements(&lsi.key).expect("key")))
                    .projection(projection(&lsi.projection))
                    .build(),
            )
            .build()
    }

    #[test]
    fn attribute_definitions_cover_all_keys_once() {
        let definitions = attribute_definitions(&schema()).expect("definitions");
        let names: Vec<_> = definitions
            .iter()
            .map(|d| (d.attribute_name.as_str(), d.attribute_type.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("customer", "S"),
                ("date", "S"),
                ("pk", "S"),
                ("sk", "S"),
                ("total", "N")
            ]
        );
    }

    #[test]
    fn conflicting_key_types_are_refused() {
        let mut table = schema();
        table.global_indexes[0].key.partition.name = "sk".into();
        table.global_indexes[0].key.partition.key_type = KeyType::N;
        let error = attribute_definitions(&table).expect_err("conflict");
        assert!(error.to_string().contains("`sk`"), "{error}");
    }

    #[test]
    fn a_matching_table_passes() {
        let table = schema();
        check_table(&table, &description(&table)).expect("matches");
    }

    #[test]
    fn a_different_primary_key_is_named() {
        let table = schema();
        let mut other = table.clone();
        other.key.sort.as_mut().expect("sort key").key_type = KeyType::N;
        let error = check_table(&other, &description(&table)).expect_err("mismatch");
        let message = error.to_string();
        assert!(matches!(error, ConnectError::KeySchemaMismatch { .. }));
        assert!(
            message.contains("orders")
                && message.contains("pk (S), sk (S)")
                && message.contains("pk (S), sk (N)"),
            "{message}"
        );
    }

    #[test]
    fn missing_and_different_indexes_are_named() {
        let table = schema();
        let mut extra = table.clone();
        extra.global_indexes.push(IndexSchema {
            name: "by_status".into(),
            key: string_keys("status", None),
            projection: IndexProjection::All,
        });
        let error = check_table(&extra, &description(&table)).expect_err("missing");
        assert!(
            error
                .to_string()
                .contains("global secondary index `by_status`")
        );

        let mut different = table.clone();
        different.local_indexes[0].projection = IndexProjection::All;
        let error = check_table(&different, &description(&table)).expect_err("mismatch");
        assert!(
            error.to_string().contains("by_date") && error.to_string().contains("KEYS_ONLY"),
            "{error}"
        );
    }
}
