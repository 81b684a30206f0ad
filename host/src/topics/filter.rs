//! SNS subscription filter policies on message attributes: a JSON object whose keys
//! are attribute names, each with a list of conditions. A message matches when every
//! key matches (AND), and a key matches when any of its conditions does (OR):
//!
//! ```json
//! {
//!   "kind": ["placed", "paid"],                  // exact strings
//!   "price": [{"numeric": [">=", 10, "<", 100]}],  // numeric ranges (and "=")
//!   "region": [{"prefix": "eu-"}, {"suffix": "-1"}, {"equals-ignore-case": "US"}],
//!   "store": [{"anything-but": ["test", "dev"]}],  // or a value, or {"prefix": ...}
//!   "coupon": [{"exists": false}],                 // present or absent
//!   "quantity": [1, 2, 3]                          // exact numbers
//! }
//! ```
//!
//! As in SNS: a `String.Array` attribute matches when any element does; `Binary`
//! attributes never match; an absent attribute matches only `{"exists": false}`;
//! `anything-but` needs the attribute present. A policy has at most 5 keys and at most
//! 150 combinations of values (the product of the lists' lengths). Not supported (the
//! error says so): `$or`, and matching on the message body (SNS's `MessageBody` scope).

use super::Attribute;
use serde_json::Value;
use std::collections::BTreeMap;

/// The most keys a policy has (SNS's limit).
const MAX_KEYS: usize = 5;
/// The most combinations of values (SNS's limit).
const MAX_COMBINATIONS: usize = 150;

/// A parsed filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    keys: BTreeMap<String, Vec<Condition>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Equals(String),
    Number(f64),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Vec<Plain>),
    AnythingButPrefix(String),
    Numeric(Vec<(Comparison, f64)>),
    Exists(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Plain {
    Text(String),
    Number(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why a policy is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(String);

fn refuse<T>(why: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(why.into()))
}

fn number(value: &Value, key: &str) -> Result<f64, PolicyError> {
    value
        .as_f64()
        .map_or_else(|| refuse(format!("`{key}`: {value} is not a number")), Ok)
}

fn text(value: &Value, key: &str, operator: &str) -> Result<String, PolicyError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        _ => refuse(format!("`{key}`: `{operator}` takes a string, not {value}")),
    }
}

fn plain(value: &Value, key: &str) -> Result<Plain, PolicyError> {
    match value {
        Value::String(s) => Ok(Plain::Text(s.clone())),
        Value::Number(_) => Ok(Plain::Number(number(value, key)?)),
        _ => refuse(format!(
            "`{key}`: `anything-but` takes strings or numbers, not {value}"
        )),
    }
}

fn numeric(list: &Value, key: &str) -> Result<Vec<(Comparison, f64)>, PolicyError> {
    let Value::Array(items) = list else {
        return refuse(format!(
            "`{key}`: `numeric` takes a list like [\">=\", 0, \"<\", 10]"
        ));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return refuse(format!(
            "`{key}`: `numeric` takes one or two (operator, number) pairs"
        ));
    }
    let mut out = Vec::new();
    for pair in items.chunks(2) {
        let comparison = match pair[0].as_str() {
            Some("=") => Comparison::Eq,
            Some("<") => Comparison::Lt,
            Some("<=") => Comparison::Le,
            Some(">") => Comparison::Gt,
            Some(">=") => Comparison::Ge,
            _ => {
                return refuse(format!(
                    "`{key}`: {} is not a numeric operator (=, <, <=, >, >=)",
                    pair[0]
                ));
            }
        };
        out.push((comparison, number(&pair[1], key)?));
    }
    if out.len() == 2 {
        let lower = matches!(out[0].0, Comparison::Gt | Comparison::Ge);
        let upper = matches!(out[1].0, Comparison::Lt | Comparison::Le);
        if !(lower && upper && out[0].1 <= out[1].1) {
            return refuse(format!(
                "`{key}`: a numeric range is a lower bound (> or >=) then a higher upper bound (< or <=)"
            ));
        }
    }
    Ok(out)
}

fn condition(value: &Value, key: &str) -> Result<Condition, PolicyError> {
    match value {
        Value::String(s) => Ok(Condition::Equals(s.clone())),
        Value::Number(_) => Ok(Condition::Number(number(value, key)?)),
        Value::Object(map) if map.len() == 1 => {
            let (operator, operand) = map
                .iter()
                .next()
                .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            match operator {
                "prefix" => Ok(Condition::Prefix(text(operand, key, operator)?)),
                "suffix" => Ok(Condition::Suffix(text(operand, key, operator)?)),
                "equals-ignore-case" => Ok(Condition::EqualsIgnoreCase(
                    text(operand, key, operator)?.to_lowercase(),
                )),
                "numeric" => Ok(Condition::Numeric(numeric(operand, key)?)),
                "exists" => match operand {
                    Value::Bool(b) => Ok(Condition::Exists(*b)),
                    _ => refuse(format!("`{key}`: `exists` takes true or false")),
                },
                "anything-but" => match operand {
                    Value::Array(items) if !items.is_empty() => Ok(Condition::AnythingBut(
                        items
                            .iter()
                            .map(|v| plain(v, key))
                            .collect::<Result<_, _>>()?,
                    )),
                    Value::Object(inner) if inner.len() == 1 && inner.contains_key("prefix") => {
                        Ok(Condition::AnythingButPrefix(text(
                            &inner["prefix"],
                            key,
                            "anything-but prefix",
                        )?))
                    }
                    Value::String(_) | Value::Number(_) => {
                        Ok(Condition::AnythingBut(vec![plain(operand, key)?]))
                    }
                    _ => refuse(format!(
                        "`{key}`: `anything-but` takes a value, a list of values or {{\"prefix\": ...}}"
                    )),
                },
                other => refuse(format!(
                    "`{key}`: unknown operator `{other}` (prefix, suffix, equals-ignore-case, numeric, exists, anything-but)"
                )),
            }
        }
        Value::Object(_) => refuse(format!(
            "`{key}`: a condition object has exactly one operator"
        )),
        _ => refuse(format!(
            "`{key}`: {value} is not a condition (a string, a number or an operator object)"
        )),
    }
}

impl FilterPolicy {
    /// Parses a policy (SNS's JSON, as a `serde_json::Value`).
    pub fn parse(policy: &Value) -> Result<FilterPolicy, PolicyError> {
        let Value::Object(map) = policy else {
            return refuse("a filter policy is a JSON object of attribute names");
        };
        if map.is_empty() {
            return refuse("a filter policy has at least one key");
        }
        if map.len() > MAX_KEYS {
            return refuse(format!(
                "a filter policy has at most {MAX_KEYS} keys, this one {}",
                map.len()
            ));
        }
        let mut keys = BTreeMap::new();
        let mut combinations = 1usize;
        for (key, conditions) in map {
            if key == "$or" {
                return refuse("`$or` is not supported: use one subscription per alternative");
            }
            let Value::Array(list) = conditions else {
                return refuse(format!(
                    "`{key}`: the conditions are a list (nested objects, SNS's message-body filtering, are not supported)"
                ));
            };
            if list.is_empty() {
                return refuse(format!("`{key}`: the list of conditions is empty"));
            }
            combinations = combinations.saturating_mul(list.len());
            keys.insert(
                key.clone(),
                list.iter()
                    .map(|c| condition(c, key))
                    .collect::<Result<_, _>>()?,
            );
        }
        if combinations > MAX_COMBINATIONS {
            return refuse(format!(
                "a filter policy has at most {MAX_COMBINATIONS} combinations of values, this one {combinations}"
            ));
        }
        Ok(FilterPolicy { keys })
    }

    /// Whether a message with `attributes` matches.
    pub fn matches(&self, attributes: &[Attribute]) -> bool {
        self.keys.iter().all(|(key, conditions)| {
            let attribute = attributes.iter().find(|a| a.name == *key);
            conditions.iter().any(|c| c.matches(attribute))
        })
    }
}

/// The values an attribute offers to matching: its value, or each element of a
/// `String.Array`; a `Binary` one offers none.
fn values(attribute: &Attribute) -> Vec<Plain> {
    use super::AttributeType;
    match attribute.data_type {
        AttributeType::String => vec![Plain::Text(attribute.value.clone())],
        AttributeType::Number => attribute
            .value
            .trim()
            .parse::<f64>()
            .map(|n| vec![Plain::Number(n)])
            .unwrap_or_default(),
        AttributeType::StringArray => match serde_json::from_str::<Value>(&attribute.value) {
            Ok(Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(Plain::Text(s)),
                    Value::Number(n) => n.as_f64().map(Plain::Number),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        AttributeType::Binary => Vec::new(),
    }
}

impl Condition {
    fn matches(&self, attribute: Option<&Attribute>) -> bool {
        let Some(attribute) = attribute else {
            return matches!(self, Condition::Exists(false));
        };
        if let Condition::Exists(present) = self {
            return *present && attribute.data_type != super::AttributeType::Binary;
        }
        let values = values(attribute);
        match self {
            Condition::AnythingBut(excluded) => {
                !values.is_empty() && values.iter().all(|v| !excluded.contains(v))
            }
            Condition::AnythingButPrefix(prefix) => {
                !values.is_empty()
                    && values
                        .iter()
                        .all(|v| !matches!(v, Plain::Text(s) if s.starts_with(prefix.as_str())))
            }
            _ => values.iter().any(|v| self.matches_value(v)),
        }
    }

    fn matches_value(&self, value: &Plain) -> bool {
        match (self, value) {
            (Condition::Equals(want), Plain::Text(s)) => s == want,
            (Condition::Number(want), Plain::Number(n)) => n == want,
            (Condition::Prefix(p), Plain::Text(s)) => s.starts_with(p.as_str()),
            (Condition::Suffix(p), Plain::Text(s)) => s.ends_with(p.as_str()),
            (Condition::EqualsIgnoreCase(want), Plain::Text(s)) => s.to_lowercase() == *want,
            (Condition::Numeric(bounds), Plain::Number(n)) => {
                bounds.iter().all(|(comparison, bound)| match comparison {
                    Comparison::Eq => n == bound,
                    Comparison::Lt => n < bound,
                    Comparison::Le => n <= bound,
                    Comparison::Gt => n > bound,
                    Comparison::Ge => n >= bound,
                })
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Attribute, AttributeType};
    use super::*;

    fn policy(json: &str) -> FilterPolicy {
        FilterPolicy::parse(&serde_json::from_str(json).expect("json")).expect("policy")
    }

    fn refused(json: &str) -> String {
        FilterPolicy::parse(&serde_json::from_str(json).expect("json"))
            .expect_err("refused")
            .to_string()
    }

    fn s(name: &str, value: &str) -> Attribute {
        Attribute {
            name: name.into(),
            data_type: AttributeType::String,
            value: value.into(),
        }
    }

    fn n(name: &str, value: &str) -> Attribute {
        Attribute {
            name: name.into(),
            data_type: AttributeType::Number,
            value: value.into(),
        }
    }

    fn array(name: &str, value: &str) -> Attribute {
        Attribute {
            name: name.into(),
            data_type: AttributeType::StringArray,
            value: value.into(),
        }
    }

    #[test]
    fn exact_strings_and_numbers_or_within_and_across() {
        let p = policy(r#"{"kind": ["placed", "paid"], "quantity": [1, 2.5]}"#);
        assert!(p.matches(&[s("kind", "paid"), n("quantity", "2.50")]));
        assert!(!p.matches(&[s("kind", "shipped"), n("quantity", "1")]));
        assert!(!p.matches(&[s("kind", "paid")]), "every key must match");
        assert!(
            !p.matches(&[s("kind", "paid"), s("quantity", "1")]),
            "a number condition wants a Number"
        );
        assert!(p.matches(&[array("kind", r#"["x", "placed"]"#), n("quantity", "1")]));
    }

    #[test]
    fn prefix_suffix_and_ignore_case() {
        let p = policy(
            r#"{"region": [{"prefix": "eu-"}, {"suffix": "-1"}, {"equals-ignore-case": "US"}]}"#,
        );
        for yes in ["eu-west", "ap-south-1", "us", "Us"] {
            assert!(p.matches(&[s("region", yes)]), "{yes}");
        }
        assert!(!p.matches(&[s("region", "ap-south-2")]));
    }

    #[test]
    fn numeric_ranges() {
        let p = policy(r#"{"price": [{"numeric": [">=", 10, "<", 100]}]}"#);
        assert!(p.matches(&[n("price", "10")]));
        assert!(p.matches(&[n("price", "99.99")]));
        assert!(!p.matches(&[n("price", "100")]));
        assert!(!p.matches(&[n("price", "9")]));
        assert!(!p.matches(&[n("price", "ten")]));
        assert!(policy(r#"{"p": [{"numeric": ["=", 3]}]}"#).matches(&[n("p", "3.0")]));
        assert!(policy(r#"{"p": [{"numeric": [">", 3]}]}"#).matches(&[array("p", "[1, 4]")]));
    }

    #[test]
    fn anything_but_needs_the_attribute() {
        let p = policy(r#"{"store": [{"anything-but": ["test", "dev"]}]}"#);
        assert!(p.matches(&[s("store", "prod")]));
        assert!(!p.matches(&[s("store", "dev")]));
        assert!(!p.matches(&[]));
        let p = policy(r#"{"store": [{"anything-but": {"prefix": "tmp-"}}]}"#);
        assert!(p.matches(&[s("store", "prod")]));
        assert!(!p.matches(&[s("store", "tmp-1")]));
        let p = policy(r#"{"n": [{"anything-but": 5}]}"#);
        assert!(p.matches(&[n("n", "6")]));
        assert!(!p.matches(&[n("n", "5")]));
    }

    #[test]
    fn exists_and_binary() {
        let present = policy(r#"{"coupon": [{"exists": true}]}"#);
        let absent = policy(r#"{"coupon": [{"exists": false}]}"#);
        assert!(present.matches(&[s("coupon", "x")]));
        assert!(!present.matches(&[]));
        assert!(absent.matches(&[s("other", "x")]));
        assert!(!absent.matches(&[s("coupon", "x")]));
        let binary = Attribute {
            name: "coupon".into(),
            data_type: AttributeType::Binary,
            value: "AAE=".into(),
        };
        assert!(!present.matches(std::slice::from_ref(&binary)));
        assert!(!policy(r#"{"coupon": ["AAE="]}"#).matches(&[binary]));
    }

    #[test]
    fn bad_policies_say_why() {
        assert!(refused("[]").contains("JSON object"));
        assert!(refused("{}").contains("at least one key"));
        assert!(
            refused(r#"{"a":[1],"b":[1],"c":[1],"d":[1],"e":[1],"f":[1]}"#)
                .contains("at most 5 keys")
        );
        let many: Vec<String> = (0..13).map(|i| i.to_string()).collect();
        let list = many.join(",");
        assert!(refused(&format!(r#"{{"a":[{list}],"b":[{list}]}}"#)).contains("150 combinations"));
        assert!(refused(r#"{"a": "x"}"#).contains("are a list"));
        assert!(refused(r#"{"a": [{"nope": 1}]}"#).contains("unknown operator `nope`"));
        assert!(refused(r#"{"a": [{"numeric": ["<", 1, ">", 2]}]}"#).contains("lower bound"));
        assert!(refused(r#"{"a": [{"numeric": ["~", 1]}]}"#).contains("numeric operator"));
        assert!(refused(r#"{"$or": []}"#).contains("not supported"));
        assert!(refused(r#"{"a": [true]}"#).contains("not a condition"));
    }
}
