//! The data operations: each request mapped field by field onto its DynamoDB call, and
//! the answer mapped back.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    self as sdk, ReturnValue, ReturnValuesOnConditionCheckFailure, Select, WriteRequest,
};
use portico_data::ops::{
    BatchGet, BatchGetOutput, BatchWrite, BatchWriteOutput, BatchWriteRequest, ConditionCheck,
    DeleteItem, GetItem, KeysAndProjection, Page, PutItem, Query, ReturnValues, Scan, Segment,
    TransactGet, TransactWrite, TransactWriteItem, UpdateItem, WriteOutput,
};
use portico_data::{Backend, DataError, Item};

use crate::backend::DynamoDbBackend;
use crate::convert::{
    AttributeMap, item_from_attributes, item_to_attributes, items_from_attributes, names,
    names_from_server, optional_item, placeholders,
};
use crate::errors::{build_error, sdk_error};

#[async_trait]
impl Backend for DynamoDbBackend {
    fn name(&self) -> &'static str {
        "dynamodb"
    }

    async fn get_item(&self, request: GetItem) -> Result<Option<Item>, DataError> {
        let output = self
            .client()
            .get_item()
            .table_name(request.table)
            .set_key(Some(item_to_attributes(request.key)))
            .set_consistent_read(request.consistent.then_some(true))
            .set_projection_expression(request.projection)
            .set_expression_attribute_names(names(request.names))
            .send()
            .await
            .map_err(sdk_error)?;
        optional_item(output.item)
    }

    async fn put_item(&self, request: PutItem) -> Result<WriteOutput, DataError> {
        let (names, values) = placeholders(request.placeholders);
        let output = self
            .client()
            .put_item()
            .table_name(request.table)
            .set_item(Some(item_to_attributes(request.item)))
            .set_condition_expression(request.condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_return_values(return_value(request.return_values))
            .set_return_values_on_condition_check_failure(on_failure(
                request.return_old_on_condition_failure,
            ))
            .send()
            .await
            .map_err(sdk_error)?;
        write_output(output.attributes)
    }

    async fn update_item(&self, request: UpdateItem) -> Result<WriteOutput, DataError> {
        let (names, values) = placeholders(request.placeholders);
        let output = self
            .client()
            .update_item()
            .table_name(request.table)
            .set_key(Some(item_to_attributes(request.key)))
            .set_update_expression(request.update)
            .set_condition_expression(request.condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_return_values(return_value(request.return_values))
            .set_return_values_on_condition_check_failure(on_failure(
                request.return_old_on_condition_failure,
            ))
            .send()
            .await
            .map_err(sdk_error)?;
        write_output(output.attributes)
    }

    async fn delete_item(&self, request: DeleteItem) -> Result<WriteOutput, DataError> {
        let (names, values) = placeholders(request.placeholders);
        let output = self
            .client()
            .delete_item()
            .table_name(request.table)
            .set_key(Some(item_to_attributes(request.key)))
            .set_condition_expression(request.condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_return_values(return_value(request.return_values))
            .set_return_values_on_condition_check_failure(on_failure(
                request.return_old_on_condition_failure,
            ))
            .send()
            .await
            .map_err(sdk_error)?;
        write_output(output.attributes)
    }

    async fn query(&self, request: Query) -> Result<Page, DataError> {
        let (names, values) = placeholders(request.placeholders);
        let output = self
            .client()
            .query()
            .table_name(request.table)
            .set_index_name(request.index)
            .key_condition_expression(request.key_condition)
            .set_filter_expression(request.filter)
            .set_projection_expression(request.projection)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_limit(request.limit.map(limit))
            .set_exclusive_start_key(request.exclusive_start_key.map(item_to_attributes))
            .scan_index_forward(request.forward)
            .set_consistent_read(request.consistent.then_some(true))
            .set_select(request.count_only.then_some(Select::Count))
            .send()
            .await
            .map_err(sdk_error)?;
        page(
            output.items,
            output.count,
            output.scanned_count,
            output.last_evaluated_key,
        )
    }

    async fn scan(&self, request: Scan) -> Result<Page, DataError> {
        let (names, values) = placeholders(request.placeholders);
        let (segment, total_segments) = match request.segment {
            Some(segment) => {
                let (segment, total) = segment_numbers(segment)?;
                (Some(segment), Some(total))
            }
            None => (None, None),
        };
        let output = self
            .client()
            .scan()
            .table_name(request.table)
            .set_index_name(request.index)
            .set_filter_expression(request.filter)
            .set_projection_expression(request.projection)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_limit(request.limit.map(limit))
            .set_exclusive_start_key(request.exclusive_start_key.map(item_to_attributes))
            .set_segment(segment)
            .set_total_segments(total_segments)
            .set_consistent_read(request.consistent.then_some(true))
            .set_select(request.count_only.then_some(Select::Count))
            .send()
            .await
            .map_err(sdk_error)?;
        page(
            output.items,
            output.count,
            output.scanned_count,
            output.last_evaluated_key,
        )
    }

    async fn batch_get(&self, request: BatchGet) -> Result<BatchGetOutput, DataError> {
        let mut request_items = HashMap::with_capacity(request.tables.len());
        for (table, keys) in &request.tables {
            let keys_and_attributes = sdk::KeysAndAttributes::builder()
                .set_keys(Some(
                    keys.keys.iter().cloned().map(item_to_attributes).collect(),
                ))
                .set_projection_expression(keys.projection.clone())
                .set_expression_attribute_names(names(keys.names.clone()))
                .set_consistent_read(keys.consistent.then_some(true))
                .build()
                .map_err(|e| build_error(&e))?;
            request_items.insert(table.clone(), keys_and_attributes);
        }
        let output = self
            .client()
            .batch_get_item()
            .set_request_items(Some(request_items))
            .send()
            .await
            .map_err(sdk_error)?;

        let responses = output
            .responses
            .unwrap_or_default()
            .into_iter()
            .map(|(table, items)| Ok((table, items_from_attributes(items)?)))
            .collect::<Result<BTreeMap<_, _>, DataError>>()?;
        let mut unprocessed = BTreeMap::new();
        for (table, keys) in output.unprocessed_keys.unwrap_or_default() {
            if keys.keys.is_empty() {
                continue;
            }
            // DynamoDB echoes the table's projection and names; fall back to the request's
            // in case a compatible server does not.
            let requested = request.tables.get(&table);
            let names = match keys.expression_attribute_names {
                Some(names) => names_from_server(Some(names)),
                None => requested.map(|r| r.names.clone()).unwrap_or_default(),
            };
            unprocessed.insert(
                table,
                KeysAndProjection {
                    keys: items_from_attributes(keys.keys)?,
                    projection: keys
                        .projection_expression
                        .or_else(|| requested.and_then(|r| r.projection.clone())),
                    names,
                    consistent: keys
                        .consistent_read
                        .unwrap_or_else(|| requested.is_some_and(|r| r.consistent)),
                },
            );
        }
        Ok(BatchGetOutput {
            responses,
            unprocessed,
        })
    }

    async fn batch_write(&self, request: BatchWrite) -> Result<BatchWriteOutput, DataError> {
        let mut request_items = HashMap::with_capacity(request.tables.len());
        for (table, writes) in request.tables {
            let writes = writes
                .into_iter()
                .map(write_request)
                .collect::<Result<Vec<_>, _>>()?;
            request_items.insert(table, writes);
        }
        let output = self
            .client()
            .batch_write_item()
            .set_request_items(Some(request_items))
            .send()
            .await
            .map_err(sdk_error)?;

        let mut unprocessed = BTreeMap::new();
        for (table, writes) in output.unprocessed_items.unwrap_or_default() {
            if writes.is_empty() {
                continue;
            }
            let writes = writes
                .into_iter()
                .map(write_request_from_server)
                .collect::<Result<Vec<_>, _>>()?;
            unprocessed.insert(table, writes);
        }
        Ok(BatchWriteOutput { unprocessed })
    }

    async fn transact_get(&self, request: TransactGet) -> Result<Vec<Option<Item>>, DataError> {
        let expected = request.items.len();
        let items = request
            .items
            .into_iter()
            .map(|read| {
                let get = sdk::Get::builder()
                    .table_name(read.table)
                    .set_key(Some(item_to_attributes(read.key)))
                    .set_projection_expression(read.projection)
                    .set_expression_attribute_names(names(read.names))
                    .build()
                    .map_err(|e| build_error(&e))?;
                Ok(sdk::TransactGetItem::builder().get(get).build())
            })
            .collect::<Result<Vec<_>, DataError>>()?;
        let output = self
            .client()
            .transact_get_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(sdk_error)?;
        let responses = output.responses.unwrap_or_default();
        if responses.len() != expected {
            return Err(DataError::Unavailable(format!(
                "DynamoDB answered a TransactGetItems of {expected} reads with {} responses",
                responses.len()
            )));
        }
        responses
            .into_iter()
            .map(|response| optional_item(response.item))
            .collect()
    }

    async fn transact_write(&self, request: TransactWrite) -> Result<(), DataError> {
        let items = request
            .items
            .into_iter()
            .enumerate()
            .map(|(position, item)| transact_write_item(position, item))
            .collect::<Result<Vec<_>, _>>()?;
        self.client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .set_client_request_token(request.client_token)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

/// `ReturnValues`, left out when it is the default (`NONE`).
fn return_value(return_values: ReturnValues) -> Option<ReturnValue> {
    match return_values {
        ReturnValues::None => None,
        ReturnValues::AllOld => Some(ReturnValue::AllOld),
        ReturnValues::AllNew => Some(ReturnValue::AllNew),
        ReturnValues::UpdatedOld => Some(ReturnValue::UpdatedOld),
        ReturnValues::UpdatedNew => Some(ReturnValue::UpdatedNew),
    }
}

/// `ReturnValuesOnConditionCheckFailure = ALL_OLD` when asked for, else left out.
fn on_failure(return_old: bool) -> Option<ReturnValuesOnConditionCheckFailure> {
    return_old.then_some(ReturnValuesOnConditionCheckFailure::AllOld)
}

fn write_output(attributes: Option<AttributeMap>) -> Result<WriteOutput, DataError> {
    Ok(WriteOutput {
        attributes: optional_item(attributes)?,
    })
}

/// `Limit` is an int in the API; a larger request means "no smaller limit", so it is
/// capped rather than refused.
fn limit(limit: u32) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}

/// `Segment` and `TotalSegments` as the API's ints; values beyond DynamoDB's limit
/// (1,000,000 segments) are refused with its message.
fn segment_numbers(segment: Segment) -> Result<(i32, i32), DataError> {
    let too_large = |field: &str, value: u32| {
        DataError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy \
             constraint: Member must have value less than or equal to 1000000"
        ))
    };
    let total =
        i32::try_from(segment.total).map_err(|_| too_large("totalSegments", segment.total))?;
    let index =
        i32::try_from(segment.segment).map_err(|_| too_large("segment", segment.segment))?;
    Ok((index, total))
}

fn page(
    items: Option<Vec<AttributeMap>>,
    count: i32,
    scanned_count: i32,
    last_evaluated_key: Option<AttributeMap>,
) -> Result<Page, DataError> {
    let counter = |name: &str, value: i32| {
        u32::try_from(value).map_err(|_| {
            DataError::Unavailable(format!("DynamoDB returned a negative {name}: {value}"))
        })
    };
    Ok(Page {
        items: items_from_attributes(items.unwrap_or_default())?,
        count: counter("Count", count)?,
        scanned_count: counter("ScannedCount", scanned_count)?,
        // An empty key would not start a next page; treat it as the end.
        last_evaluated_key: optional_item(last_evaluated_key.filter(|key| !key.is_empty()))?,
    })
}

fn write_request(write: BatchWriteRequest) -> Result<WriteRequest, DataError> {
    Ok(match write {
        BatchWriteRequest::Put(item) => WriteRequest::builder()
            .put_request(
                sdk::PutRequest::builder()
                    .set_item(Some(item_to_attributes(item)))
                    .build()
                    .map_err(|e| build_error(&e))?,
            )
            .build(),
        BatchWriteRequest::Delete(key) => WriteRequest::builder()
            .delete_request(
                sdk::DeleteRequest::builder()
                    .set_key(Some(item_to_attributes(key)))
                    .build()
                    .map_err(|e| build_error(&e))?,
            )
            .build(),
    })
}

fn write_request_from_server(write: WriteRequest) -> Result<BatchWriteRequest, DataError> {
    match (write.put_request, write.delete_request) {
        (Some(put), None) => Ok(BatchWriteRequest::Put(item_from_attributes(put.item)?)),
        (None, Some(delete)) => Ok(BatchWriteRequest::Delete(item_from_attributes(delete.key)?)),
        _ => Err(DataError::Unavailable(
            "DynamoDB returned an unprocessed write that is neither one put nor one delete"
                .to_owned(),
        )),
    }
}

/// One write of a transaction. Transactions take no `ReturnValues`, so a request's
/// `return_values` is ignored here; an update needs an update expression.
fn transact_write_item(
    position: usize,
    item: TransactWriteItem,
) -> Result<sdk::TransactWriteItem, DataError> {
    let builder = sdk::TransactWriteItem::builder();
    Ok(match item {
        TransactWriteItem::Put(put) => {
            let (names, values) = placeholders(put.placeholders);
            builder
                .put(
                    sdk::Put::builder()
                        .table_name(put.table)
                        .set_item(Some(item_to_attributes(put.item)))
                        .set_condition_expression(put.condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .set_return_values_on_condition_check_failure(on_failure(
                            put.return_old_on_condition_failure,
                        ))
                        .build()
                        .map_err(|e| build_error(&e))?,
                )
                .build()
        }
        TransactWriteItem::Update(update) => {
            let (names, values) = placeholders(update.placeholders);
            let expression = update.update.ok_or_else(|| {
                DataError::Validation(format!(
                    "1 validation error detected: Value null at \
                     'transactItems.{}.member.update.updateExpression' failed to satisfy \
                     constraint: Member must not be null",
                    position + 1
                ))
            })?;
            builder
                .update(
                    sdk::Update::builder()
                        .table_name(update.table)
                        .set_key(Some(item_to_attributes(update.key)))
                        .update_expression(expression)
                        .set_condition_expression(update.condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .set_return_values_on_condition_check_failure(on_failure(
                            update.return_old_on_condition_failure,
                        ))
                        .build()
                        .map_err(|e| build_error(&e))?,
                )
                .build()
        }
        TransactWriteItem::Delete(delete) => {
            let (names, values) = placeholders(delete.placeholders);
            builder
                .delete(
                    sdk::Delete::builder()
                        .table_name(delete.table)
                        .set_key(Some(item_to_attributes(delete.key)))
                        .set_condition_expression(delete.condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .set_return_values_on_condition_check_failure(on_failure(
                            delete.return_old_on_condition_failure,
                        ))
                        .build()
                        .map_err(|e| build_error(&e))?,
                )
                .build()
        }
        TransactWriteItem::ConditionCheck(ConditionCheck {
            table,
            key,
            condition,
            placeholders: holders,
            return_old_on_condition_failure,
        }) => {
            let (names, values) = placeholders(holders);
            builder
                .condition_check(
                    sdk::ConditionCheck::builder()
                        .table_name(table)
                        .set_key(Some(item_to_attributes(key)))
                        .condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .set_return_values_on_condition_check_failure(on_failure(
                            return_old_on_condition_failure,
                        ))
                        .build()
                        .map_err(|e| build_error(&e))?,
                )
                .build()
        }
    })
}

#[cfg(test)]
mod tests {
    use portico_data::Value;
    use portico_data::ops::Placeholders;

    use super::*;

    fn key(id: &str) -> Item {
        Item::from([("id".to_owned(), Value::s(id))])
    }

    #[test]
    fn segments_and_limits() {
        assert_eq!(
            segment_numbers(Segment {
                segment: 1,
                total: 4
            }),
            Ok((1, 4))
        );
        assert!(
            segment_numbers(Segment {
                segment: 0,
                total: u32::MAX
            })
            .is_err()
        );
        assert_eq!(limit(10), 10);
        assert_eq!(limit(u32::MAX), i32::MAX);
    }

    #[test]
    fn pages_convert_and_drop_empty_start_keys() {
        let page = page(
            Some(vec![item_to_attributes(key("a"))]),
            1,
            3,
            Some(HashMap::new()),
        )
        .expect("valid");
        assert_eq!(page.items, vec![key("a")]);
        assert_eq!((page.count, page.scanned_count), (1, 3));
        assert_eq!(page.last_evaluated_key, None);
        assert!(super::page(None, -1, 0, None).is_err());
    }

    #[test]
    fn batch_writes_round_trip() {
        for write in [
            BatchWriteRequest::Put(key("a")),
            BatchWriteRequest::Delete(key("b")),
        ] {
            let sdk = write_request(write.clone()).expect("builds");
            assert_eq!(write_request_from_server(sdk).expect("converts"), write);
        }
        assert!(write_request_from_server(WriteRequest::builder().build()).is_err());
    }

    #[test]
    fn transaction_items() {
        let update = UpdateItem {
            table: "t".into(),
            key: key("a"),
            update: None,
            condition: None,
            placeholders: Placeholders::default(),
            return_values: ReturnValues::None,
            return_old_on_condition_failure: false,
        };
        let error =
            transact_write_item(1, TransactWriteItem::Update(update.clone())).expect_err("invalid");
        assert!(error.message().contains("transactItems.2"), "{error}");

        let with_expression = UpdateItem {
            update: Some("SET #a = :v".into()),
            placeholders: Placeholders {
                names: BTreeMap::from([("#a".to_owned(), "a".to_owned())]),
                values: BTreeMap::from([(":v".to_owned(), Value::n(1))]),
            },
            return_old_on_condition_failure: true,
            ..update
        };
        let built =
            transact_write_item(0, TransactWriteItem::Update(with_expression)).expect("builds");
        let update = built.update.expect("an update");
        assert_eq!(update.update_expression, "SET #a = :v");
        assert_eq!(
            update.return_values_on_condition_check_failure,
            Some(ReturnValuesOnConditionCheckFailure::AllOld)
        );
        assert_eq!(update.expression_attribute_names.map(|n| n.len()), Some(1));
    }
}
