//! [`Field`]: a typed path to one attribute of a model, for conditions, filters, key
//! conditions and updates.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;

use super::Error;
use crate::data::{Condition, Path, Size, Value, ValueType, to_value};

/// A value for a field of type `T`: a `T`, a `T` where the field is an `Option<T>`, or
/// `&str` for text fields. Unlike `Into<T>` it lets an integer literal take the field's
/// type (`views.lt(100)` on a `u64` field).
pub trait IntoField<T> {
    /// The value as the field's type.
    fn into_field(self) -> T;
}

impl<T> IntoField<T> for T {
    fn into_field(self) -> T {
        self
    }
}

impl<T> IntoField<Option<T>> for T {
    fn into_field(self) -> Option<T> {
        Some(self)
    }
}

impl IntoField<String> for &str {
    fn into_field(self) -> String {
        self.to_owned()
    }
}

impl IntoField<String> for &String {
    fn into_field(self) -> String {
        self.clone()
    }
}

impl IntoField<Option<String>> for &str {
    fn into_field(self) -> Option<String> {
        Some(self.to_owned())
    }
}

/// A field's rules, as the derive writes them: `Ok` or the first rule broken.
pub type Rules<T> = fn(&T) -> Result<(), Error>;

/// A typed path to an attribute whose values are `T`: `Todo::fields().status`.
///
/// Comparisons take the field's own type (`impl IntoField<T>`), so `status.eq("opne")`
/// does not compile when `status` is an enum; [`at`](Self::at) reaches into a map.
///
/// ```
/// use portico_guest::data::model::Field;
/// let done: Field<bool> = Field::new("done", None);
/// let c = done.eq(true);
/// assert_eq!(c.to_expression()?.text, "#n0 = :v0");
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
pub struct Field<T> {
    path: Path,
    attribute: &'static str,
    rules: Option<Rules<T>>,
    nested: bool,
    value: PhantomData<fn() -> T>,
}

impl<T> Clone for Field<T> {
    fn clone(&self) -> Self {
        Field {
            path: self.path.clone(),
            attribute: self.attribute,
            rules: self.rules,
            nested: self.nested,
            value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Field<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Field")
            .field(&self.path.to_string())
            .finish()
    }
}

impl<T: Serialize> Field<T> {
    /// The top-level attribute `attribute`, with the field's rules (the derive writes
    /// these).
    pub fn new(attribute: &'static str, rules: Option<Rules<T>>) -> Self {
        Field {
            path: Path::new(attribute),
            attribute,
            rules,
            nested: false,
            value: PhantomData,
        }
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The top-level attribute the path starts at.
    pub fn attribute(&self) -> &'static str {
        self.attribute
    }

    /// Whether the path reaches inside the attribute (a map field or list element).
    pub fn is_nested(&self) -> bool {
        self.nested
    }

    /// Field `name` of the map at this path, with values `U`: `address.at::<String>("city")`.
    ///
    /// ```
    /// # use portico_guest::data::model::Field;
    /// # use std::collections::BTreeMap;
    /// let address: Field<BTreeMap<String, String>> = Field::new("address", None);
    /// let city = address.at::<String>("city");
    /// assert_eq!(city.path().to_string(), "address.city");
    /// ```
    pub fn at<U: Serialize>(&self, name: &str) -> Field<U> {
        Field {
            path: self.path.clone().field(name),
            attribute: self.attribute,
            rules: None,
            nested: true,
            value: PhantomData,
        }
    }

    /// Element `i` of the list at this path, with values `U`.
    pub fn element<U: Serialize>(&self, i: u32) -> Field<U> {
        Field {
            path: self.path.clone().index(i),
            attribute: self.attribute,
            rules: None,
            nested: true,
            value: PhantomData,
        }
    }

    /// Checks a value against the field's rules.
    ///
    /// # Errors
    /// [`Error::Validation`] naming the attribute and the rule.
    pub fn check(&self, value: &T) -> Result<(), Error> {
        match self.rules {
            Some(rules) => rules(value),
            None => Ok(()),
        }
    }

    /// The value as an attribute value.
    pub(crate) fn value_of(&self, value: &T) -> Result<Value, Error> {
        to_value(value).map_err(|e| Error::type_mismatch(self.attribute, &e))
    }

    /// `path = value`.
    pub fn eq(&self, value: impl IntoField<T>) -> Condition {
        self.path.clone().eq(value.into_field())
    }

    /// `path <> value`.
    pub fn ne(&self, value: impl IntoField<T>) -> Condition {
        self.path.clone().ne(value.into_field())
    }

    /// `path < value`.
    pub fn lt(&self, value: impl IntoField<T>) -> Condition {
        self.path.clone().lt(value.into_field())
    }

    /// `path <= value`.
    pub fn le(&self, value: impl IntoField<T>) -> Condition {
        self.path.clone().le(value.into_field())
    }

    /// `path > value`.
    pub fn gt(&self, value: impl IntoField<T>) -> Condition {
        self.path.clone().gt(value.into_field())
    }

    /// `path >= value`.
    pub fn ge(&self, value: impl IntoField<T>) -> Condition {
        self.path.clone().ge(value.into_field())
    }

    /// `path BETWEEN low AND high`.
    pub fn between(&self, low: impl IntoField<T>, high: impl IntoField<T>) -> Condition {
        self.path
            .clone()
            .between(low.into_field(), high.into_field())
    }

    /// `path IN (values)`.
    pub fn is_in(&self, values: impl IntoIterator<Item = T>) -> Condition {
        self.path.clone().is_in(values)
    }

    /// `begins_with(path, prefix)` (strings and binaries).
    pub fn begins_with(&self, prefix: &str) -> Condition {
        self.path.clone().begins_with(prefix)
    }

    /// `contains(path, element)`: a substring, or an element of a set or list.
    pub fn contains(&self, element: impl Serialize) -> Condition {
        self.path.clone().contains(element)
    }

    /// `attribute_exists(path)`.
    pub fn exists(&self) -> Condition {
        self.path.clone().exists()
    }

    /// `attribute_not_exists(path)`.
    pub fn not_exists(&self) -> Condition {
        self.path.clone().not_exists()
    }

    /// `attribute_type(path, type)`.
    pub fn is_type(&self, value_type: ValueType) -> Condition {
        self.path.clone().is_type(value_type)
    }

    /// `size(path)`, to compare.
    pub fn size(&self) -> Size {
        self.path.clone().size()
    }
}

impl<T> From<Field<T>> for Path {
    fn from(field: Field<T>) -> Self {
        field.path
    }
}

impl<T> From<&Field<T>> for Path {
    fn from(field: &Field<T>) -> Self {
        field.path.clone()
    }
}
