//! [`ModelUpdate`]: `UpdateItem` through a model — typed fields, validated values,
//! `updated_at`, and partial updates of nested maps.

use std::borrow::Borrow;

use serde::Serialize;

use super::{Error, Field, IntoField, Key, Model, ModelExt};
use crate::data::{Condition, Path, ReturnValues, Update, UpdateItem, Value, to_value};

/// An update of one item of `M`, from [`ModelExt::update`]; nothing is sent until
/// [`send`](Self::send).
///
/// ```no_run
/// # use portico_guest::data::model::{Model, ModelExt};
/// # #[derive(Model)] #[model(table = "t", pk = "id")]
/// # struct Todo { id: String, title: String, views: u64 }
/// # fn f() -> Result<(), portico_guest::data::model::Error> {
/// let f = Todo::fields();
/// Todo::update(Todo::key("1"))
///     .set(f.title, "oat milk")
///     .add(f.views, 1)
///     .condition(Todo::fields().views.lt(100))
///     .send()?;
/// # Ok(()) }
/// ```
pub struct ModelUpdate<M: Model> {
    key: Key<M>,
    update: Update,
    condition: Option<Condition>,
    upsert: bool,
    return_old: bool,
    error: Option<Error>,
}

impl<M: Model> ModelUpdate<M> {
    pub(crate) fn new(key: Key<M>) -> Self {
        ModelUpdate {
            key,
            update: Update::new(),
            condition: None,
            upsert: false,
            return_old: false,
            error: None,
        }
    }

    fn fail(mut self, e: Error) -> Self {
        self.error.get_or_insert(e);
        self
    }

    /// Refuses changes to key attributes and to attributes the model does not have.
    fn writable(&self, attribute: &str) -> Result<(), Error> {
        let schema = M::SCHEMA;
        if schema.is_key_part(attribute) {
            return Err(Error::KeyAttribute {
                attribute: attribute.to_owned(),
            });
        }
        if schema.attribute(attribute).is_none() && !schema.save_unknown {
            return Err(Error::UnknownAttribute {
                attribute: attribute.to_owned(),
            });
        }
        Ok(())
    }

    /// `SET field = value`, checked against the field's rules. Setting a map field
    /// replaces the whole map; [`patch`](Self::patch) changes only what it names.
    pub fn set<T: Serialize>(self, field: impl Borrow<Field<T>>, value: impl IntoField<T>) -> Self {
        let field = field.borrow();
        match self.checked(field, &value.into_field()) {
            Ok(v) => self.push(|u| u.set(field.path().clone(), v)),
            Err(e) => self.fail(e),
        }
    }

    /// `SET field = if_not_exists(field, value)`.
    pub fn set_if_missing<T: Serialize>(
        self,
        field: impl Borrow<Field<T>>,
        value: impl IntoField<T>,
    ) -> Self {
        let field = field.borrow();
        match self.checked(field, &value.into_field()) {
            Ok(v) => self.push(|u| u.set_if_not_exists(field.path().clone(), v)),
            Err(e) => self.fail(e),
        }
    }

    /// A value to set: the attribute writable, the field's rules kept.
    fn checked<T: Serialize>(&self, field: &Field<T>, value: &T) -> Result<Value, Error> {
        self.writable(field.attribute())?;
        field.check(value)?;
        field.value_of(value)
    }

    /// `ADD field value`: a number to a number, elements to a set.
    pub fn add<T: Serialize>(self, field: impl Borrow<Field<T>>, value: impl Serialize) -> Self {
        let field = field.borrow();
        match self.writable(field.attribute()) {
            Ok(()) => self.push(|u| u.add(field.path().clone(), value)),
            Err(e) => self.fail(e),
        }
    }

    /// `DELETE field elements`: elements out of a set.
    pub fn delete_from_set<T: Serialize>(
        self,
        field: impl Borrow<Field<T>>,
        elements: impl Serialize,
    ) -> Self {
        let field = field.borrow();
        match self.writable(field.attribute()) {
            Ok(()) => self.push(|u| u.delete_from_set(field.path().clone(), elements)),
            Err(e) => self.fail(e),
        }
    }

    /// `REMOVE field`; a required attribute (a field that is not an `Option`) cannot be
    /// removed.
    pub fn remove<T: Serialize>(self, field: impl Borrow<Field<T>>) -> Self {
        let field = field.borrow();
        let attribute = field.attribute();
        let required =
            !field.is_nested() && M::SCHEMA.attribute(attribute).is_some_and(|a| a.required);
        if required {
            return self.fail(Error::MissingRequired { attribute });
        }
        match self.writable(attribute) {
            Ok(()) => self.push(|u| u.remove(field.path().clone())),
            Err(e) => self.fail(e),
        }
    }

    /// A partial update from a value shaped like (part of) the item: one `SET` per leaf,
    /// so nested maps are merged, never replaced — `{"address": {"city": "Oslo"}}`
    /// becomes `SET #address.#city = :v` and leaves the rest of `address` as it is.
    /// Top-level values are checked against their field's type and rules.
    ///
    /// ```no_run
    /// # use portico_guest::data::model::{Model, ModelExt};
    /// # use std::collections::BTreeMap;
    /// # #[derive(Model)] #[model(table = "t", pk = "id")]
    /// # struct Customer { id: String, address: BTreeMap<String, String> }
    /// # fn f() -> Result<(), portico_guest::data::model::Error> {
    /// Customer::update(Customer::key("c1"))
    ///     .patch(&serde_json::json!({ "address": { "city": "Oslo" } }))
    ///     .send()?;
    /// # Ok(()) }
    /// ```
    pub fn patch(mut self, changes: &impl Serialize) -> Self {
        let map = match to_value(changes) {
            Ok(Value::M(map)) => map,
            Ok(other) => {
                return self.fail(Error::TypeMismatch {
                    attribute: "(patch)",
                    message: format!("a patch is a map of attributes, not {}", other.value_type()),
                });
            }
            Err(e) => return self.fail(Error::Data(e)),
        };
        for (name, value) in map {
            if let Err(e) = self.writable(&name) {
                return self.fail(e);
            }
            if let Value::M(inner) = value {
                self = self.patch_map(&Path::new(name), inner);
                continue;
            }
            if let Some(Err(e)) = M::SCHEMA
                .attribute(&name)
                .and_then(|a| a.check.map(|c| c(&value)))
            {
                return self.fail(e);
            }
            self = self.push(|u| u.set(Path::new(name), value));
        }
        self
    }

    fn patch_map(mut self, at: &Path, map: std::collections::BTreeMap<String, Value>) -> Self {
        for (name, value) in map {
            let path = at.clone().field(name);
            self = match value {
                Value::M(inner) => self.patch_map(&path, inner),
                leaf => self.push(|u| u.set(path, leaf)),
            };
        }
        self
    }

    fn push(mut self, action: impl FnOnce(Update) -> Update) -> Self {
        self.update = action(std::mem::take(&mut self.update));
        self
    }

    /// Writes only if `condition` holds (ANDed with the item existing, unless
    /// [`upsert`](Self::upsert)).
    pub fn condition(mut self, condition: Condition) -> Self {
        super::query::and_into(&mut self.condition, condition);
        self
    }

    /// Creates the item if it does not exist (DynamoDB's own `UpdateItem` behaviour).
    /// Off by default: an update would otherwise create an item holding only the key
    /// and the updated attributes, without the model's required ones.
    pub fn upsert(mut self) -> Self {
        self.upsert = true;
        self
    }

    /// On a failed condition, the error carries the item as it was
    /// (`Error::Data(ConditionalCheckFailed(Some(item)))`; read it with
    /// [`ModelExt::from_item`]): optimistic concurrency without a second read.
    pub fn return_old_on_condition_failure(mut self) -> Self {
        self.return_old = true;
        self
    }

    /// The `UpdateItem` request, with `updated_at` and the existence condition.
    ///
    /// # Errors
    /// The first rule an action broke, or the table failing to open.
    pub fn build(self) -> Result<UpdateItem<'static>, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let schema = M::SCHEMA;
        let mut update = self.update;
        if let Some((attribute, format)) = schema.updated_at {
            update = update.set(attribute, super::rules::stamp_value(format));
        }
        if self.upsert
            && let Some((attribute, value)) = schema.entity
        {
            update = update.set_if_not_exists(attribute, value);
        }
        let mut request = M::table()?.update(self.key.into_item()).update(update);
        let exists = (!self.upsert).then(M::present);
        let condition = match (exists, self.condition) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        };
        if let Some(condition) = condition {
            request = request.condition(condition);
        }
        if self.return_old {
            request = request.return_old_on_condition_failure();
        }
        Ok(request)
    }

    /// Applies the update.
    ///
    /// # Errors
    /// A broken rule; a condition failure when the item is missing (without `upsert`)
    /// or the condition does not hold; other data errors.
    pub fn send(self) -> Result<(), Error> {
        self.build()?.send()?;
        Ok(())
    }

    /// Applies the update and returns the item as it is now.
    ///
    /// # Errors
    /// As [`send`](Self::send), or the item not fitting the model.
    pub fn send_returning(self) -> Result<M, Error> {
        let item = self
            .build()?
            .return_values(ReturnValues::AllNew)
            .send()?
            .ok_or_else(|| {
                Error::Data(crate::data::Error::InvalidDocument(
                    "an update asked for the new item returned nothing".into(),
                ))
            })?;
        M::from_item(item)
    }
}
