//! Models: Dynamoose-style schemas for your structs, checked at compile time where Rust
//! can and at run time where it must.
//!
//! `#[derive(Model)]` on a struct declares its table, key (an attribute, or a template
//! built from fields such as `"CUSTOMER#{id}"`), secondary indexes, and per field
//! defaults, validation rules, transforms, timestamps and a TTL. The struct then has
//! [`get`](ModelExt::get), [`create`](ModelExt::create), [`save`](ModelExt::save),
//! [`update`](ModelExt::update), [`delete`](ModelExt::delete),
//! [`query`](ModelExt::query) (which picks the index from the key conditions, or says
//! why none fits), [`scan`](ModelExt::scan), batches and transactions, with conditions
//! built from typed field paths: `Todo::fields().status.eq(Status::Open)`.
//!
//! ```no_run
//! use portico_guest::data::model::{Model, ModelExt};
//!
//! #[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
//! #[serde(rename_all = "lowercase")]
//! enum Status { Open, Done }
//!
//! #[derive(Model, Debug)]
//! #[model(table = "todos", pk = "id")]
//! #[model(index(name = "by_status", pk = "status", sk = "created"))]
//! struct Todo {
//!     id: String,
//!     #[model(validate(length(min = 1, max = 200)))]
//!     title: String,
//!     #[model(default = Status::Open)]
//!     status: Option<Status>,
//!     #[model(created_at)]
//!     created: i64,
//! }
//!
//! # fn f() -> Result<(), portico_guest::data::model::Error> {
//! let mut todo = Todo { id: "1".into(), title: "milk".into(), status: None, created: 0 };
//! Todo::create(&mut todo)?; // fails if it exists; fills `status` and `created`
//! let open = Todo::query().eq(Todo::fields().status, Status::Open).all(100)?;
//! Todo::update(Todo::key("1")).set(Todo::fields().status, Status::Done).send()?;
//! # Ok(()) }
//! ```
//!
//! # What the derive reads
//!
//! Container: `#[model(table = "..", pk = "..", sk = "..")]` (a field name, or a template
//! with `{field}` parts stored in `pk_attribute`/`sk_attribute`, default `pk`/`sk`),
//! `entity = ".."` (default: the struct's name), `entity_attribute = ".."` (default
//! `_type`), `no_entity`, and `index(name = "..", pk = "field", sk = "field", local)` —
//! or, for several indexes, `index(by_kind(pk = "kind", sk = "rank"), by_rank(..))`
//! (clippy's `duplicated_attributes` takes two `index(.., sk = "rank")` for a repeated
//! attribute) — plus serde's `rename_all`. Fields: serde's `rename`, `skip`, `default` and
//! `skip_serializing_if`; `#[model(default = EXPR)]` or `default_fn = path`,
//! `validate(range(min = .., max = ..))`, `validate(length(min = .., max = ..))`,
//! `validate(regex = "..")`, `validate(with = path)`, `get = path` and `set = path`
//! (`fn(T) -> T`), `created_at` / `updated_at` (`format = "epoch_ms" | "epoch_s" |
//! "iso8601"`), `ttl`, and `unknown` on one `Item` field that keeps the attributes the
//! struct does not name (Dynamoose's `saveUnknown`).
//!
//! # Rules, written out
//!
//! - **Keys.** A template key is a string built from the fields' values (strings as they
//!   are, numbers as their decimal text); the fields are stored as attributes too. A
//!   key field cannot be changed by an update.
//! - **Entity.** Unless `no_entity`, every item carries `entity_attribute = entity`;
//!   reads check it (an item of another entity is [`Error::WrongEntity`]) and model
//!   queries and scans filter on it, so several models share one table.
//! - **Defaults** fill an `Option` field that is `None` when writing, and any missing
//!   attribute when reading.
//! - **Validation** runs on `create`, `save`, and on every value an update sets; never
//!   on reads (what is stored is what DynamoDB accepted).
//! - **Timestamps** are written by `create` (both) and `save`/`update` (`updated_at`),
//!   from the guest's clock.
//! - **Updates never replace a map they were not asked to replace**:
//!   [`patch`](update::ModelUpdate::patch) turns nested values into one `SET` per leaf;
//!   setting a map field through its typed path replaces it, explicitly.
//! - **Updates need the item** unless [`upsert`](update::ModelUpdate::upsert) is asked
//!   for: DynamoDB's `UpdateItem` would otherwise create an item without its required
//!   attributes.
//! - **No hidden table creation**: tables come from the manifest. The first use of a
//!   model in an instance checks it against the table's `describe`: key attributes and
//!   types, declared indexes and their keys, and the TTL attribute.

mod batch;
mod collection;
mod error;
mod field;
mod key;
mod query;
mod registry;
mod rules;
mod transact;
pub mod update;

#[cfg(test)]
mod tests;

use std::time::SystemTime;

use crate::data::{Condition, Item, Table, attr};

pub use batch::{BatchGetResult, Retry};
pub use collection::{Collection, CollectionQuery};
pub use error::Error;
pub use field::{Field, IntoField, Rules};
pub use key::Key;
pub use portico_guest_macros::{Collection, Model};
pub use query::{ModelPage, ModelQuery, ModelScan};
pub use rules::{Expiry, TimeFormat};
pub use transact::{Transaction, transaction};
pub use update::ModelUpdate;

/// What a model is, as the derive writes it: the table, keys, indexes and attributes.
///
/// Public so that the derive can build it; read it to document a model.
#[derive(Debug)]
pub struct Schema {
    /// The struct's name.
    pub name: &'static str,
    /// The table (from the manifest).
    pub table: &'static str,
    /// The entity attribute and this model's value of it, unless `no_entity`.
    pub entity: Option<(&'static str, &'static str)>,
    /// The partition key.
    pub partition: KeyDef,
    /// The sort key, if the table has one.
    pub sort: Option<KeyDef>,
    /// The secondary indexes the model queries.
    pub indexes: &'static [IndexDef],
    /// Every attribute the struct names, in field order.
    pub attributes: &'static [AttributeDef],
    /// The `updated_at` attribute and its format.
    pub updated_at: Option<(&'static str, TimeFormat)>,
    /// The TTL attribute.
    pub ttl: Option<&'static str>,
    /// Whether the struct keeps unknown attributes (an `unknown` field).
    pub save_unknown: bool,
}

/// A key attribute: a field's own attribute, or a template over fields.
#[derive(Debug)]
pub struct KeyDef {
    /// The key attribute's name.
    pub attribute: &'static str,
    /// Its DynamoDB type: `S`, `N` or `B` (a template is always `S`); `None` when the
    /// model leaves it to the table (an index key of an enum field, say).
    pub kind: Option<KeyKind>,
    /// The template's parts, when the key is built from fields.
    pub template: Option<&'static [Part]>,
}

/// One piece of a key template.
#[derive(Debug)]
pub enum Part {
    /// Literal text.
    Text(&'static str),
    /// A field's value, by attribute name.
    Field(&'static str),
}

/// A key attribute's type, as the model states it (compared with `describe`'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A string.
    S,
    /// A number.
    N,
    /// A binary.
    B,
}

/// A secondary index the model declares.
#[derive(Debug)]
pub struct IndexDef {
    /// Its name.
    pub name: &'static str,
    /// Global (`true`) or local.
    pub global: bool,
    /// Its partition key.
    pub partition: KeyDef,
    /// Its sort key.
    pub sort: Option<KeyDef>,
}

/// Checks one attribute value against a field's type and rules.
pub type ValueCheck = fn(&crate::data::Value) -> Result<(), Error>;

/// One attribute of the struct.
#[derive(Debug)]
pub struct AttributeDef {
    /// The attribute's name (serde's `rename` applied).
    pub name: &'static str,
    /// Whether reads fail when it is missing (not an `Option`, no default).
    pub required: bool,
    /// Checks a whole value for this attribute: its type, then the field's rules.
    pub check: Option<ValueCheck>,
}

impl Schema {
    /// The attribute named `name`, if the struct has it.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The key definitions of the table's primary key, partition first.
    pub fn key_defs(&self) -> impl Iterator<Item = &KeyDef> {
        std::iter::once(&self.partition).chain(self.sort.as_ref())
    }

    /// Whether attribute `name` is a key attribute or a part of a key template.
    pub fn is_key_part(&self, name: &str) -> bool {
        self.key_defs().any(|k| k.attribute == name || k.uses(name))
    }

    /// The entity condition model reads filter on, if there is an entity attribute.
    pub(crate) fn entity_filter(&self) -> Option<Condition> {
        self.entity
            .map(|(attribute, value)| attr(attribute).eq(value))
    }
}

impl KeyDef {
    /// Whether the template uses attribute `name`.
    pub fn uses(&self, name: &str) -> bool {
        self.template.is_some_and(|parts| {
            parts
                .iter()
                .any(|p| matches!(p, Part::Field(f) if *f == name))
        })
    }
}

/// A struct stored as items of a table: implemented by `#[derive(Model)]`.
///
/// The methods are the derive's half of the contract: they convert one struct to and
/// from the attributes it names, and apply its field rules. Keys, the entity
/// attribute, conditions and the calls themselves are [`ModelExt`]'s half.
pub trait Model: Sized + 'static {
    /// The typed paths of the struct's attributes, one [`Field`] per field.
    type Fields;

    /// The model's table, keys, indexes and attributes.
    const SCHEMA: &'static Schema;

    /// The typed field paths: `Todo::fields().title`.
    fn fields() -> Self::Fields;

    /// The struct's attributes (without keys built from templates and the entity
    /// attribute), `set` transforms applied.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] when a field cannot be stored.
    fn encode(&self) -> Result<Item, Error>;

    /// The struct from an item's attributes: defaults for missing ones, `get`
    /// transforms applied, unknown attributes kept or ignored.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] or [`Error::MissingRequired`], naming the attribute.
    fn decode(item: Item) -> Result<Self, Error>;

    /// Checks every field's rules.
    ///
    /// # Errors
    /// [`Error::Validation`] naming the attribute and the rule.
    fn validate(&self) -> Result<(), Error>;

    /// Before a write: defaults into `None` fields, and timestamps (`created_at` only
    /// when `creating`).
    fn prepare(&mut self, now: SystemTime, creating: bool);
}

/// The calls every [`Model`] has.
pub trait ModelExt: Model {
    /// The table, opened and checked against the model on first use in this instance.
    ///
    /// # Errors
    /// The table's open or describe failing, or [`Error::Schema`] on a mismatch.
    fn table() -> Result<&'static Table, Error> {
        registry::table::<Self>()
    }

    /// The item's key.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] when a key field cannot be stored.
    fn key_of(&self) -> Result<Key<Self>, Error> {
        Key::from_attributes(&self.encode()?)
    }

    /// The full item as stored: attributes, template keys, entity attribute.
    ///
    /// # Errors
    /// As [`Model::encode`], or a template field missing.
    fn to_item(&self) -> Result<Item, Error> {
        let mut item = self.encode()?;
        key::complete(Self::SCHEMA, &mut item)?;
        if let Some((attribute, value)) = Self::SCHEMA.entity {
            item.insert(attribute.to_owned(), value.into());
        }
        Ok(item)
    }

    /// The struct from a stored item, checking its entity attribute.
    ///
    /// # Errors
    /// [`Error::WrongEntity`], or as [`Model::decode`].
    fn from_item(mut item: Item) -> Result<Self, Error> {
        if let Some((attribute, value)) = Self::SCHEMA.entity {
            match item.remove(attribute) {
                Some(crate::data::Value::S(found)) if found == value => {}
                found => {
                    return Err(Error::WrongEntity {
                        expected: value,
                        found: found.and_then(|v| v.as_s().map(str::to_owned)),
                    });
                }
            }
        }
        for key in Self::SCHEMA.key_defs() {
            if key.template.is_some() {
                item.remove(key.attribute);
            }
        }
        Self::decode(item)
    }

    /// `GetItem`: the item with this key, if any.
    ///
    /// # Errors
    /// A data error, or the item not fitting the model.
    fn get(key: Key<Self>) -> Result<Option<Self>, Error> {
        Self::table()?
            .get(key.into_item())
            .send()?
            .map(Self::from_item)
            .transpose()
    }

    /// `GetItem` with a strongly consistent read.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    fn get_consistent(key: Key<Self>) -> Result<Option<Self>, Error> {
        Self::table()?
            .get(key.into_item())
            .consistent()
            .send()?
            .map(Self::from_item)
            .transpose()
    }

    /// Creates the item; fails with a condition failure if one with its key exists.
    /// Fills defaults and both timestamps into `item` first.
    ///
    /// # Errors
    /// [`Error::Validation`], or the data error (`is_condition_failure()` when it exists).
    fn create(item: &mut Self) -> Result<(), Error> {
        Self::table()?
            .put(item.prepared(true)?)
            .condition(Self::absent())
            .send()?;
        Ok(())
    }

    /// Writes the item, replacing one with the same key. Fills defaults and
    /// `updated_at` into `self` first.
    ///
    /// # Errors
    /// [`Error::Validation`], or the data error.
    fn save(&mut self) -> Result<(), Error> {
        Self::table()?.put(self.prepared(false)?).send()?;
        Ok(())
    }

    /// Writes the item if `condition` holds on the stored one.
    ///
    /// # Errors
    /// As [`save`](Self::save); a condition failure when it does not hold.
    fn save_if(&mut self, condition: Condition) -> Result<(), Error> {
        Self::table()?
            .put(self.prepared(false)?)
            .condition(condition)
            .send()?;
        Ok(())
    }

    /// Prepares, validates and converts the item for a write.
    ///
    /// # Errors
    /// [`Error::Validation`] or a conversion error.
    fn prepared(&mut self, creating: bool) -> Result<Item, Error> {
        self.prepare(SystemTime::now(), creating);
        self.validate()?;
        self.to_item()
    }

    /// The condition "no item with this key exists".
    fn absent() -> Condition {
        attr(Self::SCHEMA.partition.attribute).not_exists()
    }

    /// The condition "an item with this key exists".
    fn present() -> Condition {
        attr(Self::SCHEMA.partition.attribute).exists()
    }

    /// `UpdateItem` on the item with this key (which must exist unless
    /// [`upsert`](ModelUpdate::upsert)).
    fn update(key: Key<Self>) -> ModelUpdate<Self> {
        ModelUpdate::new(key)
    }

    /// `DeleteItem`: deletes the item with this key; returns it as it was, if any.
    ///
    /// # Errors
    /// A data error.
    fn delete(key: Key<Self>) -> Result<Option<Self>, Error> {
        Self::table()?
            .delete(key.into_item())
            .return_old()
            .send()?
            .map(Self::from_item)
            .transpose()
    }

    /// A query: set key conditions on fields, and the index is chosen from them.
    fn query() -> ModelQuery<Self> {
        ModelQuery::new()
    }

    /// A scan of the model's items (its entity only, when it has one).
    fn scan() -> ModelScan<Self> {
        ModelScan::new()
    }

    /// `BatchGetItem` of up to 100 keys; what was not read is returned to retry
    /// ([`Retry`] does it with backoff).
    ///
    /// # Errors
    /// A data error.
    fn batch_get(keys: Vec<Key<Self>>) -> Result<BatchGetResult<Self>, Error> {
        batch::get(keys)
    }

    /// `BatchWriteItem` puts of up to 25 items (prepared and validated as `save`);
    /// returns the items that were not written.
    ///
    /// # Errors
    /// [`Error::Validation`] or a data error.
    fn batch_put(items: &mut [Self]) -> Result<Vec<Item>, Error> {
        batch::put::<Self>(items)
    }

    /// `BatchWriteItem` deletes of up to 25 keys; returns the keys not deleted.
    ///
    /// # Errors
    /// A data error.
    fn batch_delete(keys: Vec<Key<Self>>) -> Result<Vec<Item>, Error> {
        batch::delete::<Self>(keys)
    }
}

impl<M: Model> ModelExt for M {}

/// What the derive's generated code calls. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use super::collection::same_table;
    pub use super::rules::{
        check_length, check_range, check_regex, stamp_epoch_ms, stamp_epoch_s, stamp_iso8601,
    };
    use crate::data::format::ser::ValueSerializer;
    use crate::data::{Value, from_value};
    pub use regex_lite::Regex;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::Error;

    /// A field's value as an attribute; `None` when it is absent (a `None`).
    pub fn encode<T: Serialize + ?Sized>(
        attribute: &'static str,
        value: &T,
    ) -> Result<Option<Value>, Error> {
        value
            .serialize(ValueSerializer)
            .map_err(|e| Error::type_mismatch(attribute, &e))
    }

    /// An attribute as a field's value.
    pub fn decode<T: DeserializeOwned>(attribute: &'static str, value: Value) -> Result<T, Error> {
        from_value(value).map_err(|e| Error::type_mismatch(attribute, &e))
    }

    /// A missing required attribute.
    pub fn missing(attribute: &'static str) -> Error {
        Error::MissingRequired { attribute }
    }

    /// A key field's type: strings, numbers and binaries (DynamoDB's key types).
    pub trait KeyValue {
        /// The key type.
        const KIND: super::KeyKind;
        /// The value as an attribute.
        fn key_value(&self) -> Value;
    }

    impl KeyValue for String {
        const KIND: super::KeyKind = super::KeyKind::S;
        fn key_value(&self) -> Value {
            Value::S(self.clone())
        }
    }

    impl KeyValue for crate::data::Number {
        const KIND: super::KeyKind = super::KeyKind::N;
        fn key_value(&self) -> Value {
            Value::N(self.clone())
        }
    }

    impl KeyValue for Vec<u8> {
        const KIND: super::KeyKind = super::KeyKind::B;
        fn key_value(&self) -> Value {
            Value::B(self.clone())
        }
    }

    macro_rules! integer_keys {
        ($($t:ty),*) => {$(
            impl KeyValue for $t {
                const KIND: super::KeyKind = super::KeyKind::N;
                fn key_value(&self) -> Value {
                    Value::from(*self)
                }
            }
        )*};
    }
    integer_keys!(i8, i16, i32, i64, u8, u16, u32, u64);

    /// Whether a `created_at` field has no time yet (`None`, `0`, empty text), so that
    /// `save` of a new item stamps it.
    pub trait Unset {
        /// Whether the field holds no timestamp.
        fn unset(&self) -> bool;
    }

    impl<T> Unset for Option<T> {
        fn unset(&self) -> bool {
            self.is_none()
        }
    }

    impl Unset for String {
        fn unset(&self) -> bool {
            self.is_empty()
        }
    }

    macro_rules! integer_unset {
        ($($t:ty),*) => {$(
            impl Unset for $t {
                fn unset(&self) -> bool {
                    *self == 0
                }
            }
        )*};
    }
    integer_unset!(i32, u32, i64, u64, i128, u128);

    /// See [`Unset`].
    pub fn is_unset<T: Unset>(value: &T) -> bool {
        value.unset()
    }

    /// A custom rule's failure.
    pub fn rule_failed(attribute: &'static str, rule: &'static str, message: String) -> Error {
        Error::Validation {
            attribute,
            rule,
            message,
        }
    }
}
