//! Placeholder allocation: `#n0`, `#n1`, … for names and `:v0`, `:v1`, … for values,
//! one set per request.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::bindings::portico::edge::data as wit;
use crate::data::{Error, Value, document, to_value};

/// A rendered expression with its placeholders, as a request sends it.
///
/// ```
/// use portico_guest::data::attr;
/// let e = attr("status").eq("open").to_expression()?;
/// assert_eq!(e.text, "#n0 = :v0");
/// assert_eq!(e.names, [("#n0".to_string(), "status".to_string())]);
/// assert_eq!(e.values[0].0, ":v0");
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression {
    /// The expression, e.g. `#n0 = :v0`.
    pub text: String,
    /// `ExpressionAttributeNames`: placeholder → attribute name.
    pub names: Vec<(String, String)>,
    /// `ExpressionAttributeValues`: placeholder → value.
    pub values: Vec<(String, Value)>,
}

/// The placeholders of one request: those the caller wrote and those generated.
#[derive(Debug, Default)]
pub(crate) struct Placeholders {
    names: Vec<(String, String)>,
    values: Vec<(String, Value)>,
    /// Attribute name → its generated placeholder, so a name is sent once.
    by_name: BTreeMap<String, String>,
    /// Every placeholder in use, so generated ones never collide with the caller's.
    taken: BTreeSet<String>,
    next_name: usize,
    next_value: usize,
}

impl Placeholders {
    /// Starts with the caller's placeholders.
    pub(crate) fn with_user(user: &UserPlaceholders) -> Result<Self, Error> {
        if let Some(e) = &user.error {
            return Err(e.clone());
        }
        let mut p = Placeholders::default();
        for (key, name) in &user.names {
            if !key.starts_with('#') || key.len() < 2 {
                return Err(Error::validation(format!(
                    "name placeholder {key:?} must start with '#'"
                )));
            }
            p.taken.insert(key.clone());
            p.names.push((key.clone(), name.clone()));
        }
        for (key, value) in &user.values {
            if !key.starts_with(':') || key.len() < 2 {
                return Err(Error::validation(format!(
                    "value placeholder {key:?} must start with ':'"
                )));
            }
            p.taken.insert(key.clone());
            p.values.push((key.clone(), value.clone()));
        }
        Ok(p)
    }

    /// The placeholder of an attribute name.
    pub(crate) fn name(&mut self, attr: &str) -> String {
        if let Some(key) = self.by_name.get(attr) {
            return key.clone();
        }
        let key = loop {
            let key = format!("#n{}", self.next_name);
            self.next_name += 1;
            if !self.taken.contains(&key) {
                break key;
            }
        };
        self.taken.insert(key.clone());
        self.by_name.insert(attr.to_owned(), key.clone());
        self.names.push((key.clone(), attr.to_owned()));
        key
    }

    /// A new placeholder for a value.
    pub(crate) fn value(&mut self, value: Value) -> String {
        let key = loop {
            let key = format!(":v{}", self.next_value);
            self.next_value += 1;
            if !self.taken.contains(&key) {
                break key;
            }
        };
        self.taken.insert(key.clone());
        self.values.push((key.clone(), value));
        key
    }

    /// The placeholders as an [`Expression`] around `text`.
    pub(crate) fn into_expression(self, text: String) -> Expression {
        Expression {
            text,
            names: self.names,
            values: self.values,
        }
    }

    /// Only the names (for requests without values: gets and projections).
    pub(crate) fn into_names(self) -> Result<Vec<(String, String)>, Error> {
        if let Some((key, _)) = self.values.first() {
            return Err(Error::validation(format!(
                "value placeholder {key} given to a request that takes no values"
            )));
        }
        Ok(self.names)
    }

    /// The placeholders as the host takes them.
    pub(crate) fn into_wit(self) -> wit::Placeholders {
        wit::Placeholders {
            names: self.names,
            values: self
                .values
                .iter()
                .map(|(k, v)| (k.clone(), document::from_value(v)))
                .collect(),
        }
    }
}

/// Placeholders written by hand, for expressions written by hand.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct UserPlaceholders {
    names: Vec<(String, String)>,
    values: Vec<(String, Value)>,
    error: Option<Error>,
}

impl UserPlaceholders {
    pub(crate) fn name(&mut self, placeholder: impl Into<String>, name: impl Into<String>) {
        self.names.push((placeholder.into(), name.into()));
    }

    pub(crate) fn value(
        &mut self,
        placeholder: impl Into<String>,
        value: &(impl Serialize + ?Sized),
    ) {
        match to_value(value) {
            Ok(v) => self.values.push((placeholder.into(), v)),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }
}
