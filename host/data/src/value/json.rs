//! DynamoDB JSON (`{"S": "x"}`, `{"N": "1"}`, …) and plain JSON, for the CLI, exports
//! and tests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value as Json, json};

use super::{Item, Number, Set, Value};
use crate::error::DataError;

/// Reads an item in DynamoDB JSON: `{"id": {"S": "1"}, "n": {"N": "2"}}`.
///
/// # Errors
/// A validation error naming the attribute that is not a well-formed attribute value.
pub fn item_from_json(json: &Json) -> Result<Item, DataError> {
    let Json::Object(map) = json else {
        return Err(DataError::validation("an item must be a JSON object"));
    };
    map.iter()
        .map(|(name, value)| {
            value_from_json(value)
                .map(|value| (name.clone(), value))
                .map_err(|e| DataError::validation(format!("attribute {name:?}: {}", e.message())))
        })
        .collect()
}

/// Writes an item as DynamoDB JSON.
pub fn item_to_json(item: &Item) -> Json {
    Json::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), value_to_json(value)))
            .collect(),
    )
}

/// Reads one attribute value in DynamoDB JSON (`{"S": "x"}`; binaries in base64).
///
/// # Errors
/// A validation error when the JSON is not exactly one known type tag with a value of
/// the right shape.
pub fn value_from_json(json: &Json) -> Result<Value, DataError> {
    let bad = || DataError::validation(format!("not a DynamoDB attribute value: {json}"));
    let Json::Object(map) = json else {
        return Err(bad());
    };
    let mut entries = map.iter();
    let (Some((tag, inner)), None) = (entries.next(), entries.next()) else {
        return Err(bad());
    };
    let string = |v: &Json| v.as_str().map(str::to_owned).ok_or_else(bad);
    let binary = |v: &Json| {
        v.as_str()
            .and_then(|text| BASE64.decode(text).ok())
            .ok_or_else(bad)
    };
    let array = |v: &Json| v.as_array().cloned().ok_or_else(bad);
    Ok(match tag.as_str() {
        "S" => Value::S(string(inner)?),
        "N" => Value::N(string(inner)?.parse()?),
        "B" => Value::B(binary(inner)?),
        "BOOL" => Value::Bool(inner.as_bool().ok_or_else(bad)?),
        "NULL" if inner == &Json::Bool(true) => Value::Null,
        "M" => {
            let Json::Object(fields) = inner else {
                return Err(bad());
            };
            Value::M(
                fields
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), value_from_json(v)?)))
                    .collect::<Result<_, DataError>>()?,
            )
        }
        "L" => Value::L(
            array(inner)?
                .iter()
                .map(value_from_json)
                .collect::<Result<_, _>>()?,
        ),
        "SS" => Value::Ss(Set::new(
            array(inner)?.iter().map(string).collect::<Result<_, _>>()?,
        )?),
        "NS" => Value::Ns(Set::new(
            array(inner)?
                .iter()
                .map(|v| string(v)?.parse::<Number>())
                .collect::<Result<_, _>>()?,
        )?),
        "BS" => Value::Bs(Set::new(
            array(inner)?.iter().map(binary).collect::<Result<_, _>>()?,
        )?),
        _ => return Err(bad()),
    })
}

/// Writes one attribute value as DynamoDB JSON.
pub fn value_to_json(value: &Value) -> Json {
    match value {
        Value::S(text) => json!({ "S": text }),
        Value::N(number) => json!({ "N": number.to_string() }),
        Value::B(bytes) => json!({ "B": BASE64.encode(bytes) }),
        Value::Bool(flag) => json!({ "BOOL": flag }),
        Value::Null => json!({ "NULL": true }),
        Value::M(map) => json!({ "M": Json::Object(
            map.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect::<Map<_, _>>()
        ) }),
        Value::L(list) => json!({ "L": list.iter().map(value_to_json).collect::<Vec<_>>() }),
        Value::Ss(set) => json!({ "SS": set.members() }),
        Value::Ns(set) => {
            json!({ "NS": set.members().iter().map(ToString::to_string).collect::<Vec<_>>() })
        }
        Value::Bs(set) => {
            json!({ "BS": set.members().iter().map(|b| BASE64.encode(b)).collect::<Vec<_>>() })
        }
    }
}

/// Reads an item from plain JSON: strings → `S`, numbers → `N`, booleans → `BOOL`,
/// `null` → `NULL`, arrays → `L`, objects → `M`.
///
/// JSON numbers are taken as serde_json reads them (integers exactly up to 64 bits,
/// others as doubles); write numbers that need all 38 digits in DynamoDB JSON.
///
/// # Errors
/// A validation error when the JSON is not an object, or holds a number out of range.
pub fn item_from_plain_json(json: &Json) -> Result<Item, DataError> {
    match value_from_plain_json(json)? {
        Value::M(map) => Ok(map),
        _ => Err(DataError::validation("an item must be a JSON object")),
    }
}

/// Reads one value from plain JSON (see [`item_from_plain_json`]).
///
/// # Errors
/// A validation error for a number out of DynamoDB's range.
pub fn value_from_plain_json(json: &Json) -> Result<Value, DataError> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(flag) => Value::Bool(*flag),
        Json::Number(number) => Value::N(number.to_string().parse()?),
        Json::String(text) => Value::S(text.clone()),
        Json::Array(list) => Value::L(
            list.iter()
                .map(value_from_plain_json)
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => Value::M(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), value_from_plain_json(v)?)))
                .collect::<Result<_, DataError>>()?,
        ),
    })
}

/// Writes an item as plain JSON: numbers become JSON numbers when that is exact and
/// strings otherwise, binaries base64 strings, sets arrays.
pub fn item_to_plain_json(item: &Item) -> Json {
    Json::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), value_to_plain_json(value)))
            .collect(),
    )
}

/// Writes one value as plain JSON (see [`item_to_plain_json`]).
pub fn value_to_plain_json(value: &Value) -> Json {
    match value {
        Value::S(text) => Json::String(text.clone()),
        Value::N(number) => plain_number(number),
        Value::B(bytes) => Json::String(BASE64.encode(bytes)),
        Value::Bool(flag) => Json::Bool(*flag),
        Value::Null => Json::Null,
        Value::M(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value_to_plain_json(v)))
                .collect(),
        ),
        Value::L(list) => Json::Array(list.iter().map(value_to_plain_json).collect()),
        Value::Ss(set) => json!(set.members()),
        Value::Ns(set) => Json::Array(set.members().iter().map(plain_number).collect()),
        Value::Bs(set) => Json::Array(
            set.members()
                .iter()
                .map(|b| Json::String(BASE64.encode(b)))
                .collect(),
        ),
    }
}

/// A number as a JSON number when JSON can carry it exactly, else as a string.
fn plain_number(number: &Number) -> Json {
    let text = number.to_string();
    match serde_json::from_str::<Json>(&text) {
        Ok(Json::Number(parsed)) if parsed.to_string() == text => Json::Number(parsed),
        _ => Json::String(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_type() {
        let json = json!({
            "s": {"S": ""}, "n": {"N": "-1.5"}, "b": {"B": "AAE="}, "t": {"BOOL": true},
            "z": {"NULL": true}, "m": {"M": {"x": {"L": [{"N": "1"}, {"S": "a"}]}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AA=="]}
        });
        let item = item_from_json(&json).expect("valid");
        assert_eq!(item_to_json(&item), json);
    }

    #[test]
    fn plain_json_round_trips_what_it_can() {
        let json = json!({"a": "x", "n": 1.5, "i": 42, "l": [true, null], "m": {"k": -3}});
        let item = item_from_plain_json(&json).expect("valid");
        assert_eq!(item["n"], Value::N("1.5".parse().expect("number")));
        assert_eq!(item_to_plain_json(&item), json);
        let big: Number = "12345678901234567890123456789012345678"
            .parse()
            .expect("number");
        assert_eq!(
            value_to_plain_json(&Value::N(big)),
            json!("12345678901234567890123456789012345678")
        );
    }

    #[test]
    fn malformed_values_name_the_attribute() {
        let error = item_from_json(&json!({"a": {"Q": 1}})).unwrap_err();
        assert!(error.message().contains("\"a\""), "{error}");
        assert!(value_from_json(&json!({"NS": []})).is_err());
        assert!(value_from_json(&json!({"S": "a", "N": "1"})).is_err());
    }
}
