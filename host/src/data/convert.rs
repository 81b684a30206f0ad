//! Between the WIT data types (documents as flat arenas) and the data layer's types.
//!
//! Guest input is untrusted: every index is checked, a node may be used only once (so a
//! document cannot expand exponentially), children must come after their parent (so it
//! cannot loop), and nesting stops at DynamoDB's 32 levels.

use std::collections::BTreeMap;

use portico_data::ops::{
    BatchWriteRequest, ConditionCheck, DeleteItem, KeysAndProjection, Page, Placeholders, PutItem,
    ReturnValues, Segment, TransactWriteItem, UpdateItem,
};
use portico_data::value::{SetError, SetMember};
use portico_data::{
    CancellationReason, DataError, IndexProjection, IndexSchema, Item, KeyAttribute, KeySchema,
    KeyType, Number, Set, TableSchema, Value,
};

use super::bindings::portico::edge::data as wit;

/// DynamoDB's limit on nested maps and lists.
const MAX_DEPTH: usize = 32;

fn invalid(message: impl Into<String>) -> DataError {
    DataError::validation(message)
}

/// Reads a document whose root is any value.
pub fn value_from_wit(document: wit::Document) -> Result<Value, DataError> {
    Reader::new(document, None).take(0, 0)
}

/// Reads the value of the expression attribute value `key` (`:v`): DynamoDB words an
/// empty set there with the key's name.
fn expression_value_from_wit(key: &str, document: wit::Document) -> Result<Value, DataError> {
    Reader::new(document, Some(key)).take(0, 0)
}

/// Reads a document whose root is a map: an item or a key.
pub fn item_from_wit(document: wit::Document) -> Result<Item, DataError> {
    match value_from_wit(document)? {
        Value::M(map) => Ok(map),
        other => Err(invalid(format!(
            "an item or key must be a map (M), not {}",
            other.value_type()
        ))),
    }
}

struct Reader<'k> {
    /// Each node once: taken nodes become `None`.
    nodes: Vec<Option<wit::Value>>,
    /// The expression attribute value being read, if it is one.
    expression_value: Option<&'k str>,
}

impl<'k> Reader<'k> {
    fn new(document: wit::Document, expression_value: Option<&'k str>) -> Self {
        Reader {
            nodes: document.nodes.into_iter().map(Some).collect(),
            expression_value,
        }
    }

    /// Makes a set as the guest sent it: an empty set or a repeated member is refused
    /// with DynamoDB's message, never emptied out or collapsed.
    fn set<T: SetMember>(&self, members: Vec<T>) -> Result<Set<T>, DataError> {
        Set::try_new(members).map_err(|error| match (error, self.expression_value) {
            // DynamoDB (and dynoxide) name the placeholder of an empty set; a repeated
            // member has no such framing in DynamoDB's current wording (see
            // portico_data's `value::set` module for the sources).
            (SetError::Empty(message), Some(key)) => invalid(format!(
                "ExpressionAttributeValues contains invalid value: {message} for key {key}"
            )),
            (error, _) => error.into(),
        })
    }

    fn take(&mut self, index: usize, depth: usize) -> Result<Value, DataError> {
        if depth > MAX_DEPTH {
            return Err(invalid("Nesting Levels have exceeded supported limits"));
        }
        let node = self
            .nodes
            .get_mut(index)
            .ok_or_else(|| invalid(format!("malformed document: node {index} does not exist")))?
            .take()
            .ok_or_else(|| invalid(format!("malformed document: node {index} is used twice")))?;
        let child = |reader: &mut Reader, child: u32| {
            let child = usize::try_from(child).unwrap_or(usize::MAX);
            if child <= index {
                return Err(invalid(format!(
                    "malformed document: node {index} refers back to node {child}"
                )));
            }
            reader.take(child, depth + 1)
        };
        Ok(match node {
            wit::Value::S(text) => Value::S(text),
            wit::Value::N(text) => Value::N(text.parse()?),
            wit::Value::B(bytes) => Value::B(bytes),
            wit::Value::Boolean(flag) => Value::Bool(flag),
            wit::Value::Null => Value::Null,
            wit::Value::Ss(members) => Value::Ss(self.set(members)?),
            wit::Value::Ns(members) => Value::Ns(
                self.set(
                    members
                        .iter()
                        .map(|m| m.parse::<Number>())
                        .collect::<Result<_, _>>()?,
                )?,
            ),
            wit::Value::Bs(members) => Value::Bs(self.set(members)?),
            wit::Value::L(children) => Value::L(
                children
                    .into_iter()
                    .map(|c| child(self, c))
                    .collect::<Result<_, _>>()?,
            ),
            wit::Value::M(entries) => {
                let mut map = BTreeMap::new();
                for (name, c) in entries {
                    let value = child(self, c)?;
                    if map.insert(name.clone(), value).is_some() {
                        return Err(invalid(format!(
                            "malformed document: attribute {name:?} appears twice in one map"
                        )));
                    }
                }
                Value::M(map)
            }
        })
    }
}

/// Writes an item as a document whose root is a map.
pub fn item_to_wit(item: &Item) -> wit::Document {
    let mut nodes = vec![wit::Value::Null];
    let entries = item
        .iter()
        .map(|(name, value)| (name.clone(), push(value, &mut nodes)))
        .collect();
    nodes[0] = wit::Value::M(entries);
    wit::Document { nodes }
}

/// Writes a value as a document whose root is that value (the fuzz target checks the
/// reader against it).
#[cfg(feature = "fuzzing")]
pub fn value_to_wit(value: &Value) -> wit::Document {
    let mut nodes = Vec::new();
    push(value, &mut nodes);
    wit::Document { nodes }
}

fn push(value: &Value, nodes: &mut Vec<wit::Value>) -> u32 {
    let index = nodes.len();
    nodes.push(wit::Value::Null);
    let node = match value {
        Value::S(text) => wit::Value::S(text.clone()),
        Value::N(number) => wit::Value::N(number.to_string()),
        Value::B(bytes) => wit::Value::B(bytes.clone()),
        Value::Bool(flag) => wit::Value::Boolean(*flag),
        Value::Null => wit::Value::Null,
        Value::Ss(set) => wit::Value::Ss(set.members().to_vec()),
        Value::Ns(set) => wit::Value::Ns(set.members().iter().map(ToString::to_string).collect()),
        Value::Bs(set) => wit::Value::Bs(set.members().to_vec()),
        Value::L(list) => wit::Value::L(list.iter().map(|v| push(v, nodes)).collect()),
        Value::M(map) => wit::Value::M(
            map.iter()
                .map(|(name, v)| (name.clone(), push(v, nodes)))
                .collect(),
        ),
    };
    nodes[index] = node;
    // Documents are bounded by guest memory (≤ 4 GiB), far below u32::MAX nodes.
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// Reads `ExpressionAttributeNames` and `ExpressionAttributeValues`.
pub fn placeholders(raw: wit::Placeholders) -> Result<Placeholders, DataError> {
    Ok(Placeholders {
        names: names(raw.names),
        values: raw
            .values
            .into_iter()
            .map(|(name, value)| {
                let value = expression_value_from_wit(&name, value)?;
                Ok((name, value))
            })
            .collect::<Result<_, DataError>>()?,
    })
}

/// Reads name placeholders.
pub fn names(raw: Vec<(String, String)>) -> BTreeMap<String, String> {
    raw.into_iter().collect()
}

/// Reads `ReturnValues`.
pub fn return_values(raw: wit::ReturnValues) -> ReturnValues {
    match raw {
        wit::ReturnValues::None => ReturnValues::None,
        wit::ReturnValues::AllOld => ReturnValues::AllOld,
        wit::ReturnValues::AllNew => ReturnValues::AllNew,
        wit::ReturnValues::UpdatedOld => ReturnValues::UpdatedOld,
        wit::ReturnValues::UpdatedNew => ReturnValues::UpdatedNew,
    }
}

/// Reads a parallel-scan segment.
pub fn segment(raw: wit::Segment) -> Segment {
    Segment {
        segment: raw.segment,
        total: raw.total,
    }
}

/// Writes a page.
pub fn page_to_wit(page: &Page) -> wit::Page {
    wit::Page {
        items: page.items.iter().map(item_to_wit).collect(),
        count: page.count,
        scanned_count: page.scanned_count,
        last_evaluated_key: page.last_evaluated_key.as_ref().map(item_to_wit),
    }
}

/// Reads one table's keys of a batch get.
pub fn batch_get_table(raw: wit::BatchGetTable) -> Result<(String, KeysAndProjection), DataError> {
    Ok((
        raw.table,
        KeysAndProjection {
            keys: raw
                .keys
                .into_iter()
                .map(item_from_wit)
                .collect::<Result<_, _>>()?,
            projection: raw.projection,
            names: names(raw.names),
            consistent: raw.consistent,
        },
    ))
}

/// Writes one table's keys of a batch get.
pub fn batch_get_table_to_wit(table: String, keys: KeysAndProjection) -> wit::BatchGetTable {
    wit::BatchGetTable {
        table,
        keys: keys.keys.iter().map(item_to_wit).collect(),
        projection: keys.projection,
        names: keys.names.into_iter().collect(),
        consistent: keys.consistent,
    }
}

/// Reads one write of a batch write.
pub fn batch_write_request(raw: wit::BatchWriteRequest) -> Result<BatchWriteRequest, DataError> {
    Ok(match raw {
        wit::BatchWriteRequest::Put(item) => BatchWriteRequest::Put(item_from_wit(item)?),
        wit::BatchWriteRequest::Delete(key) => BatchWriteRequest::Delete(item_from_wit(key)?),
    })
}

/// Writes one write of a batch write.
pub fn batch_write_request_to_wit(request: &BatchWriteRequest) -> wit::BatchWriteRequest {
    match request {
        BatchWriteRequest::Put(item) => wit::BatchWriteRequest::Put(item_to_wit(item)),
        BatchWriteRequest::Delete(key) => wit::BatchWriteRequest::Delete(item_to_wit(key)),
    }
}

/// Reads one write of a transaction.
pub fn transact_write_item(raw: wit::TransactWriteItem) -> Result<TransactWriteItem, DataError> {
    Ok(match raw {
        wit::TransactWriteItem::Put((table, item, condition)) => TransactWriteItem::Put(PutItem {
            table,
            item: item_from_wit(item)?,
            condition: condition.condition,
            placeholders: placeholders(condition.placeholders)?,
            return_values: ReturnValues::None,
            return_old_on_condition_failure: condition.return_old_on_condition_failure,
        }),
        wit::TransactWriteItem::Update((table, key, update, condition)) => {
            TransactWriteItem::Update(UpdateItem {
                table,
                key: item_from_wit(key)?,
                update,
                condition: condition.condition,
                placeholders: placeholders(condition.placeholders)?,
                return_values: ReturnValues::None,
                return_old_on_condition_failure: condition.return_old_on_condition_failure,
            })
        }
        wit::TransactWriteItem::Delete((table, key, condition)) => {
            TransactWriteItem::Delete(DeleteItem {
                table,
                key: item_from_wit(key)?,
                condition: condition.condition,
                placeholders: placeholders(condition.placeholders)?,
                return_values: ReturnValues::None,
                return_old_on_condition_failure: condition.return_old_on_condition_failure,
            })
        }
        wit::TransactWriteItem::ConditionCheck((table, key, condition)) => {
            TransactWriteItem::ConditionCheck(ConditionCheck {
                table,
                key: item_from_wit(key)?,
                condition: condition
                    .condition
                    .ok_or_else(|| invalid("A condition check needs a condition expression"))?,
                placeholders: placeholders(condition.placeholders)?,
                return_old_on_condition_failure: condition.return_old_on_condition_failure,
            })
        }
    })
}

/// Writes an error as the guest sees it.
pub fn error_to_wit(error: DataError) -> wit::Error {
    match error {
        DataError::ConditionalCheckFailed { item } => {
            wit::Error::ConditionalCheckFailed(item.as_ref().map(item_to_wit))
        }
        DataError::TransactionCanceled { reasons } => {
            wit::Error::TransactionCancelled(reasons.into_iter().map(reason_to_wit).collect())
        }
        DataError::Validation(message) => wit::Error::Validation(message),
        DataError::ItemTooLarge => wit::Error::ItemTooLarge,
        DataError::ResourceNotFound(message) => wit::Error::ResourceNotFound(message),
        DataError::AccessDenied(message) => wit::Error::AccessDenied(message),
        DataError::IdempotentParameterMismatch(message) => {
            wit::Error::IdempotentParameterMismatch(message)
        }
        DataError::TransactionConflict(message) => wit::Error::TransactionConflict(message),
        DataError::Throttled(message) => wit::Error::ThroughputExceeded(message),
        DataError::Unavailable(message) => wit::Error::Unavailable(message),
    }
}

/// Writes a table's declaration as `describe` returns it.
pub fn table_description_to_wit(table: &TableSchema) -> wit::TableDescription {
    wit::TableDescription {
        name: table.name.clone(),
        key: key_schema_to_wit(&table.key),
        global_indexes: table.global_indexes.iter().map(index_to_wit).collect(),
        local_indexes: table.local_indexes.iter().map(index_to_wit).collect(),
        ttl_attribute: table.ttl_attribute.clone(),
    }
}

fn index_to_wit(index: &IndexSchema) -> wit::IndexDescription {
    wit::IndexDescription {
        name: index.name.clone(),
        key: key_schema_to_wit(&index.key),
        projection: match &index.projection {
            IndexProjection::All => wit::Projection::All,
            IndexProjection::KeysOnly => wit::Projection::KeysOnly,
            IndexProjection::Include(names) => wit::Projection::Include(names.clone()),
        },
    }
}

fn key_schema_to_wit(key: &KeySchema) -> wit::KeySchema {
    wit::KeySchema {
        partition: key_attribute_to_wit(&key.partition),
        sort: key.sort.as_ref().map(key_attribute_to_wit),
    }
}

fn key_attribute_to_wit(attribute: &KeyAttribute) -> wit::KeyAttribute {
    wit::KeyAttribute {
        name: attribute.name.clone(),
        key_type: match attribute.key_type {
            KeyType::S => wit::KeyType::S,
            KeyType::N => wit::KeyType::N,
            KeyType::B => wit::KeyType::B,
        },
    }
}

fn reason_to_wit(reason: CancellationReason) -> wit::CancellationReason {
    wit::CancellationReason {
        code: reason.code.as_str().to_owned(),
        message: reason.message,
        item: reason.item.as_ref().map(item_to_wit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(nodes: Vec<wit::Value>) -> wit::Document {
        wit::Document { nodes }
    }

    #[test]
    fn nested_items_round_trip() {
        let json = serde_json::json!({
            "id": {"S": "a"}, "n": {"N": "12345678901234567890123456789012345678"},
            "m": {"M": {"l": {"L": [{"N": "1"}, {"M": {"x": {"NULL": true}}}]}}},
            "ss": {"SS": ["a", "b"]}, "b": {"B": "AAE="}
        });
        let item = portico_data::value::item_from_json(&json).expect("valid");
        assert_eq!(item_from_wit(item_to_wit(&item)).expect("round trip"), item);
    }

    #[test]
    fn malicious_documents_are_refused() {
        // A node that refers to itself.
        assert!(value_from_wit(doc(vec![wit::Value::L(vec![0])])).is_err());
        // A node used twice (exponential expansion).
        assert!(value_from_wit(doc(vec![wit::Value::L(vec![1, 1]), wit::Value::Null])).is_err());
        // An index out of range.
        assert!(value_from_wit(doc(vec![wit::Value::L(vec![7])])).is_err());
        // An empty document.
        assert!(value_from_wit(doc(vec![])).is_err());
        // Too deep.
        let deep: Vec<_> = (1..=40)
            .map(|i| wit::Value::L(vec![i]))
            .chain([wit::Value::Null])
            .collect();
        assert!(value_from_wit(doc(deep)).is_err());
        // Duplicate map keys, bad numbers, empty sets.
        let dup = doc(vec![
            wit::Value::M(vec![("a".into(), 1), ("a".into(), 2)]),
            wit::Value::Null,
            wit::Value::Null,
        ]);
        assert!(value_from_wit(dup).is_err());
        assert!(value_from_wit(doc(vec![wit::Value::N("1x".into())])).is_err());
        assert!(value_from_wit(doc(vec![wit::Value::Ss(vec![])])).is_err());
        // A key that is not a map.
        assert!(item_from_wit(doc(vec![wit::Value::S("a".into())])).is_err());
    }

    /// The message of a refused conversion.
    fn refusal<T: std::fmt::Debug>(result: Result<T, DataError>) -> String {
        match result {
            Err(DataError::Validation(message)) => message,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    const EMPTY_SS: &str =
        "One or more parameter values were invalid: An string set  may not be empty";
    const EMPTY_NS: &str =
        "One or more parameter values were invalid: An number set  may not be empty";
    const EMPTY_BS: &str =
        "One or more parameter values were invalid: Binary sets should not be empty";
    const REPEATED_SS: &str = "One or more parameter values were invalid: \
        Input collection [\"a\", \"b\", \"b\"] contains duplicates.";
    const REPEATED_NS: &str =
        "One or more parameter values were invalid: Input collection contains duplicates.";
    const REPEATED_BS: &str = "One or more parameter values were invalid: \
        Input collection [\"AA==\",\"/w==\",\"AA==\"]of type BS contains duplicates.";

    /// Each refused set with DynamoDB's message for it.
    fn refused_sets() -> Vec<(wit::Value, &'static str)> {
        vec![
            (wit::Value::Ss(vec![]), EMPTY_SS),
            (wit::Value::Ns(vec![]), EMPTY_NS),
            (wit::Value::Bs(vec![]), EMPTY_BS),
            (
                wit::Value::Ss(vec!["b".into(), "a".into(), "b".into()]),
                REPEATED_SS,
            ),
            (
                wit::Value::Ns(vec!["2".into(), "1".into(), "2.0".into()]),
                REPEATED_NS,
            ),
            (
                wit::Value::Bs(vec![vec![0xff], vec![0], vec![0]]),
                REPEATED_BS,
            ),
        ]
    }

    /// `{"pk": "k", "s": set}`, `{"pk": "k", "l": [set]}` and `{"pk": "k", "m": {"x": set}}`.
    fn items_holding(set: &wit::Value) -> [wit::Document; 3] {
        let pk = || ("pk".to_owned(), 1);
        [
            doc(vec![
                wit::Value::M(vec![pk(), ("s".into(), 2)]),
                wit::Value::S("k".into()),
                set.clone(),
            ]),
            doc(vec![
                wit::Value::M(vec![pk(), ("l".into(), 2)]),
                wit::Value::S("k".into()),
                wit::Value::L(vec![3]),
                set.clone(),
            ]),
            doc(vec![
                wit::Value::M(vec![pk(), ("m".into(), 2)]),
                wit::Value::S("k".into()),
                wit::Value::M(vec![("x".into(), 3)]),
                set.clone(),
            ]),
        ]
    }

    #[test]
    fn sets_dynamodb_refuses_are_refused_with_its_messages_wherever_they_sit() {
        for (set, message) in refused_sets() {
            for item in items_holding(&set) {
                assert_eq!(refusal(item_from_wit(item)), message, "{set:?}");
            }
        }
    }

    #[test]
    fn sets_in_expression_values_are_refused_with_dynamodb_messages() {
        let values = |value: wit::Document| wit::Placeholders {
            names: vec![],
            values: vec![(":v".into(), value)],
        };
        for (set, message) in refused_sets() {
            // An empty set is named by its placeholder; a repeat is worded as in an item.
            let expected = if [EMPTY_SS, EMPTY_NS, EMPTY_BS].contains(&message) {
                format!("ExpressionAttributeValues contains invalid value: {message} for key :v")
            } else {
                message.to_owned()
            };
            let top = doc(vec![set.clone()]);
            assert_eq!(refusal(placeholders(values(top))), expected, "{set:?}");
            let nested = doc(vec![wit::Value::L(vec![1]), set.clone()]);
            assert_eq!(
                refusal(placeholders(values(nested))),
                expected,
                "nested {set:?}"
            );
        }
    }

    #[test]
    fn valid_sets_are_kept_whole_in_any_order() {
        let item = item_from_wit(doc(vec![
            wit::Value::M(vec![("s".into(), 1)]),
            wit::Value::Ss(vec!["b".into(), "a".into()]),
        ]))
        .expect("valid");
        let expected = Set::new(vec!["a".to_owned(), "b".to_owned()]).expect("set");
        assert_eq!(item["s"], Value::Ss(expected));
    }

    #[test]
    fn describe_reports_the_declared_keys_indexes_and_ttl() {
        let attribute = |name: &str, key_type| KeyAttribute {
            name: name.into(),
            key_type,
        };
        let mut table = TableSchema::new(
            "orders",
            KeySchema {
                partition: attribute("pk", KeyType::S),
                sort: Some(attribute("sk", KeyType::N)),
            },
        );
        table.global_indexes.push(IndexSchema {
            name: "by_status".into(),
            key: KeySchema {
                partition: attribute("status", KeyType::S),
                sort: None,
            },
            projection: IndexProjection::Include(vec!["total".into()]),
        });
        table.local_indexes.push(IndexSchema {
            name: "by_hash".into(),
            key: KeySchema {
                partition: attribute("pk", KeyType::S),
                sort: Some(attribute("hash", KeyType::B)),
            },
            projection: IndexProjection::KeysOnly,
        });
        table.ttl_attribute = Some("expires".into());
        let described = table_description_to_wit(&table);
        assert_eq!(described.name, "orders");
        assert_eq!(described.key.partition.name, "pk");
        assert!(matches!(described.key.partition.key_type, wit::KeyType::S));
        let sort = described.key.sort.as_ref().expect("a sort key");
        assert_eq!(sort.name, "sk");
        assert!(matches!(sort.key_type, wit::KeyType::N));
        let [global] = described.global_indexes.as_slice() else {
            panic!("one global index: {:?}", described.global_indexes);
        };
        assert_eq!(global.name, "by_status");
        assert!(global.key.sort.is_none());
        assert!(
            matches!(&global.projection, wit::Projection::Include(names) if names == &["total"])
        );
        let [local] = described.local_indexes.as_slice() else {
            panic!("one local index: {:?}", described.local_indexes);
        };
        assert_eq!(local.name, "by_hash");
        assert!(matches!(local.projection, wit::Projection::KeysOnly));
        assert!(matches!(
            local.key.sort.as_ref().map(|s| s.key_type),
            Some(wit::KeyType::B)
        ));
        assert_eq!(described.ttl_attribute.as_deref(), Some("expires"));
        let bare = table_description_to_wit(&TableSchema::new(
            "t",
            KeySchema {
                partition: attribute("id", KeyType::B),
                sort: None,
            },
        ));
        assert!(bare.global_indexes.is_empty() && bare.local_indexes.is_empty());
        assert!(bare.ttl_attribute.is_none() && bare.key.sort.is_none());
    }

    #[test]
    fn token_mismatch_and_transaction_conflict_keep_their_kinds() {
        assert!(matches!(
            error_to_wit(DataError::IdempotentParameterMismatch("reused".into())),
            wit::Error::IdempotentParameterMismatch(message) if message == "reused"
        ));
        assert!(matches!(
            error_to_wit(DataError::TransactionConflict("ongoing".into())),
            wit::Error::TransactionConflict(message) if message == "ongoing"
        ));
    }
}
