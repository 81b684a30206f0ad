//! Conversions between Portico's value model and the SDK's [`AttributeValue`].
//!
//! Outgoing conversions cannot fail: every [`Value`] is a valid DynamoDB value. Incoming
//! ones check what the server sent (number syntax and range, non-empty sets without
//! duplicates, `NULL` being true) and report a violation as
//! [`DataError::Unavailable`]: a server that returns such values is misbehaving, and the
//! caller did nothing wrong.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use portico_data::ops::Placeholders;
use portico_data::value::SetMember;
use portico_data::{DataError, Item, Number, Set, Value};

/// The SDK's representation of an item: attribute names to values.
pub type AttributeMap = HashMap<String, AttributeValue>;

/// Converts one value for the SDK.
pub fn value_to_attribute(value: Value) -> AttributeValue {
    match value {
        Value::S(text) => AttributeValue::S(text),
        Value::N(number) => AttributeValue::N(number.to_string()),
        Value::B(bytes) => AttributeValue::B(Blob::new(bytes)),
        Value::Bool(flag) => AttributeValue::Bool(flag),
        Value::Null => AttributeValue::Null(true),
        Value::M(map) => AttributeValue::M(item_to_attributes(map)),
        Value::L(list) => AttributeValue::L(list.into_iter().map(value_to_attribute).collect()),
        Value::Ss(set) => AttributeValue::Ss(set.into_members()),
        Value::Ns(set) => {
            AttributeValue::Ns(set.into_members().iter().map(Number::to_string).collect())
        }
        Value::Bs(set) => {
            AttributeValue::Bs(set.into_members().into_iter().map(Blob::new).collect())
        }
    }
}

/// Converts an item (or a key) for the SDK.
pub fn item_to_attributes(item: Item) -> AttributeMap {
    item.into_iter()
        .map(|(name, value)| (name, value_to_attribute(value)))
        .collect()
}

/// Converts one value the server sent.
///
/// # Errors
/// [`DataError::Unavailable`] when the value is not a valid DynamoDB value (a malformed
/// or out-of-range number, an empty set or one with duplicates, `NULL: false`) or is of
/// a type this SDK version does not know.
pub fn value_from_attribute(attribute: AttributeValue) -> Result<Value, DataError> {
    Ok(match attribute {
        AttributeValue::S(text) => Value::S(text),
        AttributeValue::N(text) => Value::N(number_from_server(&text)?),
        AttributeValue::B(blob) => Value::B(blob.into_inner()),
        AttributeValue::Bool(flag) => Value::Bool(flag),
        AttributeValue::Null(true) => Value::Null,
        AttributeValue::Null(false) => return Err(invalid("a NULL value that is not true")),
        AttributeValue::M(map) => Value::M(item_from_attributes(map)?),
        AttributeValue::L(list) => Value::L(
            list.into_iter()
                .map(value_from_attribute)
                .collect::<Result<_, _>>()?,
        ),
        AttributeValue::Ss(members) => Value::Ss(set_from_server("SS", members)?),
        AttributeValue::Ns(members) => Value::Ns(set_from_server(
            "NS",
            members
                .iter()
                .map(|text| number_from_server(text))
                .collect::<Result<_, _>>()?,
        )?),
        AttributeValue::Bs(members) => Value::Bs(set_from_server(
            "BS",
            members.into_iter().map(Blob::into_inner).collect(),
        )?),
        _ => return Err(invalid("a value of a type this SDK does not know")),
    })
}

/// Converts an item (or a key) the server sent.
///
/// # Errors
/// As [`value_from_attribute`], for any of its values.
pub fn item_from_attributes(attributes: AttributeMap) -> Result<Item, DataError> {
    attributes
        .into_iter()
        .map(|(name, value)| Ok((name, value_from_attribute(value)?)))
        .collect()
}

/// Converts an optional item the server sent.
///
/// # Errors
/// As [`item_from_attributes`].
pub fn optional_item(attributes: Option<AttributeMap>) -> Result<Option<Item>, DataError> {
    attributes.map(item_from_attributes).transpose()
}

/// Converts a list of items the server sent.
///
/// # Errors
/// As [`item_from_attributes`], for any of the items.
pub fn items_from_attributes(items: Vec<AttributeMap>) -> Result<Vec<Item>, DataError> {
    items.into_iter().map(item_from_attributes).collect()
}

/// `ExpressionAttributeNames` for the SDK: `None` when there are none, because DynamoDB
/// refuses an empty map.
pub fn names(names: BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!names.is_empty()).then(|| names.into_iter().collect())
}

/// `ExpressionAttributeValues` for the SDK: `None` when there are none, because
/// DynamoDB refuses an empty map.
pub fn values(values: BTreeMap<String, Value>) -> Option<AttributeMap> {
    (!values.is_empty()).then(|| {
        values
            .into_iter()
            .map(|(name, value)| (name, value_to_attribute(value)))
            .collect()
    })
}

/// Both placeholder maps for the SDK, each `None` when empty.
pub fn placeholders(
    placeholders: Placeholders,
) -> (Option<HashMap<String, String>>, Option<AttributeMap>) {
    (names(placeholders.names), values(placeholders.values))
}

/// Names from the server (e.g. echoed in `UnprocessedKeys`) back into Portico's map.
pub fn names_from_server(names: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    names.unwrap_or_default().into_iter().collect()
}

fn number_from_server(text: &str) -> Result<Number, DataError> {
    text.parse::<Number>()
        .map_err(|error| invalid(&format!("the number {text:?} ({})", error.message())))
}

fn set_from_server<T: SetMember>(kind: &str, members: Vec<T>) -> Result<Set<T>, DataError> {
    Set::new(members).map_err(|error| invalid(&format!("an {kind} set ({})", error.message())))
}

fn invalid(what: &str) -> DataError {
    DataError::Unavailable(format!(
        "DynamoDB returned an invalid attribute value: {what}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Number {
        text.parse().expect("a valid number")
    }

    fn sample_item() -> Item {
        let mut nested = BTreeMap::new();
        nested.insert(
            "deep".to_owned(),
            Value::L(vec![Value::Null, Value::Bool(false)]),
        );
        let mut item = Item::new();
        item.insert("s".into(), Value::s("text"));
        item.insert("empty".into(), Value::s(""));
        item.insert(
            "n".into(),
            Value::N(number("-0.12345678901234567890123456789012345678")),
        );
        item.insert("big".into(), Value::N(number("9.9E+125")));
        item.insert("b".into(), Value::B(vec![0, 255, 7]));
        item.insert("t".into(), Value::Bool(true));
        item.insert("nil".into(), Value::Null);
        item.insert("m".into(), Value::M(nested));
        item.insert("l".into(), Value::L(vec![Value::n(1), Value::s("x")]));
        item.insert(
            "ss".into(),
            Value::Ss(Set::new(vec!["b".into(), "a".into()]).expect("set")),
        );
        item.insert(
            "ns".into(),
            Value::Ns(Set::new(vec![number("1.5"), number("-3")]).expect("set")),
        );
        item.insert(
            "bs".into(),
            Value::Bs(Set::new(vec![vec![1], vec![0, 1]]).expect("set")),
        );
        item
    }

    #[test]
    fn items_round_trip_losslessly() {
        let item = sample_item();
        let attributes = item_to_attributes(item.clone());
        assert_eq!(
            item_from_attributes(attributes).expect("converts back"),
            item
        );
    }

    #[test]
    fn outgoing_shapes() {
        let attributes = item_to_attributes(sample_item());
        assert_eq!(
            attributes["n"],
            AttributeValue::N("-0.12345678901234567890123456789012345678".into())
        );
        assert_eq!(
            attributes["big"],
            AttributeValue::N(number("9.9E+125").to_string())
        );
        assert_eq!(
            attributes["b"],
            AttributeValue::B(Blob::new(vec![0, 255, 7]))
        );
        assert_eq!(attributes["nil"], AttributeValue::Null(true));
        assert_eq!(
            attributes["ns"],
            AttributeValue::Ns(vec!["-3".into(), "1.5".into()])
        );
        let AttributeValue::M(nested) = &attributes["m"] else {
            panic!("a map: {:?}", attributes["m"]);
        };
        assert_eq!(
            nested["deep"],
            AttributeValue::L(vec![
                AttributeValue::Null(true),
                AttributeValue::Bool(false)
            ])
        );
    }

    #[test]
    fn server_numbers_are_normalised() {
        assert_eq!(
            value_from_attribute(AttributeValue::N("1.50E1".into())).expect("valid"),
            Value::n(15)
        );
    }

    #[test]
    fn invalid_server_values_are_unavailable_errors() {
        let bad = [
            AttributeValue::N("abc".into()),
            AttributeValue::N("1E+200".into()),
            AttributeValue::N("123456789012345678901234567890123456789".into()),
            AttributeValue::Null(false),
            AttributeValue::Ss(vec![]),
            AttributeValue::Ss(vec!["a".into(), "a".into()]),
            AttributeValue::Ns(vec!["1".into(), "1.0".into()]),
            AttributeValue::Ns(vec!["x".into()]),
            AttributeValue::Bs(vec![]),
            AttributeValue::L(vec![AttributeValue::N("".into())]),
            AttributeValue::M(HashMap::from([(
                "k".to_owned(),
                AttributeValue::Null(false),
            )])),
        ];
        for attribute in bad {
            let error = value_from_attribute(attribute.clone()).expect_err("invalid");
            assert!(
                matches!(error, DataError::Unavailable(ref message)
                    if message.starts_with("DynamoDB returned an invalid attribute value")),
                "{attribute:?}: {error:?}"
            );
        }
    }

    #[test]
    fn empty_placeholder_maps_are_left_out() {
        assert_eq!(names(BTreeMap::new()), None);
        assert_eq!(values(BTreeMap::new()), None);
        let (names, values) = placeholders(Placeholders {
            names: BTreeMap::from([("#a".to_owned(), "a".to_owned())]),
            values: BTreeMap::new(),
        });
        assert_eq!(
            names,
            Some(HashMap::from([("#a".to_owned(), "a".to_owned())]))
        );
        assert_eq!(values, None);
    }
}
