//! The placeholders of one request, and which of them its expressions used.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::DataError;
use crate::ops::Placeholders;
use crate::value::Value;

/// Tracks which placeholders an operation's expressions used; one per request, shared by
/// all its expressions.
///
/// DynamoDB refuses a request whose `ExpressionAttributeNames` or
/// `ExpressionAttributeValues` hold an entry that none of its expressions uses; parse every
/// expression of the request with the same context, then call [`ExprContext::finish`].
#[derive(Debug)]
pub struct ExprContext<'a> {
    names: &'a BTreeMap<String, String>,
    values: Option<&'a BTreeMap<String, Value>>,
    used_names: BTreeSet<&'a str>,
    used_values: BTreeSet<&'a str>,
}

impl<'a> ExprContext<'a> {
    /// A context over a request's names and values.
    pub fn new(placeholders: &'a Placeholders) -> Self {
        Self {
            names: &placeholders.names,
            values: Some(&placeholders.values),
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        }
    }

    /// A context with names only, for requests that take no values (get and batch-get
    /// projections).
    pub fn names_only(names: &'a BTreeMap<String, String>) -> Self {
        Self {
            names,
            values: None,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        }
    }

    /// The attribute name behind `#placeholder`, marking it used.
    pub(crate) fn name(&mut self, placeholder: &str) -> Option<&'a str> {
        let (key, name) = self.names.get_key_value(placeholder)?;
        self.used_names.insert(key.as_str());
        Some(name.as_str())
    }

    /// The value behind `:placeholder`, marking it used.
    pub(crate) fn value(&mut self, placeholder: &str) -> Option<&'a Value> {
        let (key, value) = self.values?.get_key_value(placeholder)?;
        self.used_values.insert(key.as_str());
        Some(value)
    }

    /// After all expressions of the request were parsed: DynamoDB's errors for malformed
    /// or unused placeholders.
    ///
    /// # Errors
    /// "ExpressionAttributeNames contains invalid key: Syntax error; key: \"x\"" for a key
    /// that is not `#` followed by letters, digits or underscores (likewise for values with
    /// `:`), then "Value provided in ExpressionAttributeNames unused in expressions: keys:
    /// {#a, #b}", then the same for `ExpressionAttributeValues`.
    pub fn finish(self) -> Result<(), DataError> {
        let values = self.values.into_iter().flat_map(BTreeMap::keys);
        check_keys("ExpressionAttributeNames", '#', self.names.keys())?;
        check_keys("ExpressionAttributeValues", ':', values.clone())?;
        check_unused(
            "ExpressionAttributeNames",
            self.names.keys(),
            &self.used_names,
        )?;
        check_unused("ExpressionAttributeValues", values, &self.used_values)
    }
}

/// Whether `key` is `sigil` followed by one or more letters, digits or underscores.
fn is_placeholder_key(key: &str, sigil: char) -> bool {
    key.strip_prefix(sigil).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

fn check_keys<'k>(
    parameter: &str,
    sigil: char,
    keys: impl Iterator<Item = &'k String>,
) -> Result<(), DataError> {
    for key in keys {
        if !is_placeholder_key(key, sigil) {
            return Err(DataError::validation(format!(
                "{parameter} contains invalid key: Syntax error; key: \"{key}\""
            )));
        }
    }
    Ok(())
}

fn check_unused<'k>(
    parameter: &str,
    keys: impl Iterator<Item = &'k String>,
    used: &BTreeSet<&str>,
) -> Result<(), DataError> {
    let unused: Vec<&str> = keys
        .map(String::as_str)
        .filter(|key| !used.contains(key))
        .collect();
    if unused.is_empty() {
        return Ok(());
    }
    Err(DataError::validation(format!(
        "Value provided in {parameter} unused in expressions: keys: {{{}}}",
        unused.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(names: &[(&str, &str)], values: &[(&str, Value)]) -> Placeholders {
        Placeholders {
            names: names
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn lookups_mark_placeholders_used() {
        let p = placeholders(&[("#n", "name")], &[(":v", Value::n(1))]);
        let mut ctx = ExprContext::new(&p);
        assert_eq!(ctx.name("#n"), Some("name"));
        assert_eq!(ctx.value(":v"), Some(&Value::n(1)));
        assert_eq!(ctx.name("#missing"), None);
        assert_eq!(ctx.value(":missing"), None);
        assert!(ctx.finish().is_ok());
    }

    #[test]
    fn unused_names_are_reported_before_unused_values() {
        let p = placeholders(
            &[("#a", "a"), ("#b", "b"), ("#c", "c")],
            &[(":x", Value::n(1)), (":y", Value::n(2))],
        );
        let mut ctx = ExprContext::new(&p);
        ctx.name("#b");
        assert_eq!(
            ctx.finish().unwrap_err().message(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #c}"
        );

        let p = placeholders(&[], &[(":x", Value::n(1)), (":y", Value::n(2))]);
        let mut ctx = ExprContext::new(&p);
        ctx.value(":y");
        assert_eq!(
            ctx.finish().unwrap_err().message(),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"
        );
    }

    #[test]
    fn malformed_keys_are_reported_first() {
        let p = placeholders(&[("n", "name")], &[]);
        assert_eq!(
            ExprContext::new(&p).finish().unwrap_err().message(),
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"n\""
        );
        let p = placeholders(&[], &[(":a-b", Value::Null)]);
        assert_eq!(
            ExprContext::new(&p).finish().unwrap_err().message(),
            "ExpressionAttributeValues contains invalid key: Syntax error; key: \":a-b\""
        );
        let p = placeholders(&[("#", "x")], &[]);
        assert!(ExprContext::new(&p).finish().is_err());
    }

    #[test]
    fn names_only_has_no_values() {
        let names = BTreeMap::from([("#n".to_owned(), "n".to_owned())]);
        let mut ctx = ExprContext::names_only(&names);
        assert_eq!(ctx.value(":v"), None);
        assert_eq!(ctx.name("#n"), Some("n"));
        assert!(ctx.finish().is_ok());
    }
}
