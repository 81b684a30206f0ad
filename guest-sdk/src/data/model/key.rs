//! [`Key`]: a model's primary key, and key templates (`"CUSTOMER#{id}"`).

use std::fmt;
use std::marker::PhantomData;

use super::{Error, KeyDef, Model, Part, Schema};
use crate::data::{Item, Value};

/// The primary key of one item of model `M`, with template keys already built.
///
/// Made by the derive's `M::key(..)` (one argument per key field) or
/// [`ModelExt::key_of`](super::ModelExt::key_of).
pub struct Key<M> {
    item: Item,
    model: PhantomData<fn() -> M>,
}

impl<M: Model> Key<M> {
    /// The key of an item given the attributes of its key fields (as the derive's
    /// `key(..)` passes them): template keys are rendered, plain key attributes copied.
    ///
    /// # Errors
    /// [`Error::MissingRequired`] when a key field is missing, or
    /// [`Error::TypeMismatch`] when a template part is not a string or number.
    pub fn from_attributes(attributes: &Item) -> Result<Self, Error> {
        let mut item = Item::new();
        for def in M::SCHEMA.key_defs() {
            item.insert(def.attribute.to_owned(), key_value(def, attributes)?);
        }
        Ok(Key {
            item,
            model: PhantomData,
        })
    }

    /// A key as stored (its key attributes, templates rendered): a page's
    /// `last_evaluated_key` or a batch's unprocessed key.
    pub fn from_stored(item: Item) -> Self {
        Key {
            item,
            model: PhantomData,
        }
    }

    /// The key as an item.
    pub fn item(&self) -> &Item {
        &self.item
    }

    /// The key as an item, taken out.
    pub fn into_item(self) -> Item {
        self.item
    }

    /// The partition key's attribute and value.
    pub fn partition(&self) -> (&'static str, Option<&Value>) {
        let name = M::SCHEMA.partition.attribute;
        (name, self.item.get(name))
    }
}

impl<M> Clone for Key<M> {
    fn clone(&self) -> Self {
        Key {
            item: self.item.clone(),
            model: PhantomData,
        }
    }
}

impl<M> fmt::Debug for Key<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Key").field(&self.item).finish()
    }
}

impl<M> PartialEq for Key<M> {
    fn eq(&self, other: &Self) -> bool {
        self.item == other.item
    }
}

/// Adds the template keys to an item holding the struct's attributes.
pub(crate) fn complete(schema: &Schema, item: &mut Item) -> Result<(), Error> {
    for def in schema.key_defs() {
        if def.template.is_some() {
            let value = key_value(def, item)?;
            item.insert(def.attribute.to_owned(), value);
        }
    }
    Ok(())
}

/// One key attribute's value, from the attributes of its fields.
pub(crate) fn key_value(def: &KeyDef, attributes: &Item) -> Result<Value, Error> {
    match def.template {
        None => attributes
            .get(def.attribute)
            .cloned()
            .ok_or(Error::MissingRequired {
                attribute: def.attribute,
            }),
        Some(parts) => render(parts, |name| attributes.get(name), parts.len()).map(Value::S),
    }
}

/// Renders the first `upto` parts of a template, reading fields with `value_of`.
///
/// # Errors
/// [`Error::MissingRequired`] for a missing field; [`Error::TypeMismatch`] for a value
/// that is neither a string nor a number (a key template is text).
pub(crate) fn render<'v>(
    parts: &[Part],
    value_of: impl Fn(&str) -> Option<&'v Value>,
    upto: usize,
) -> Result<String, Error> {
    let mut out = String::new();
    for part in &parts[..upto] {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Field(name) => match value_of(name) {
                Some(Value::S(s)) => out.push_str(s),
                Some(Value::N(n)) => out.push_str(n.as_str()),
                Some(other) => {
                    return Err(Error::TypeMismatch {
                        attribute: name,
                        message: format!(
                            "a key template takes strings and numbers, not {}",
                            other.value_type()
                        ),
                    });
                }
                None => return Err(Error::MissingRequired { attribute: name }),
            },
        }
    }
    Ok(out)
}

/// The fields a template reads, in order.
pub(crate) fn template_fields(parts: &[Part]) -> impl Iterator<Item = &'static str> + '_ {
    parts.iter().filter_map(|p| match p {
        Part::Field(f) => Some(*f),
        Part::Text(_) => None,
    })
}
