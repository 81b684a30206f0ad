//! The item format: serde between Rust values and [`Value`]s.
//!
//! | Rust | attribute value |
//! | --- | --- |
//! | struct, map (string or integer keys) | `M` |
//! | `Vec`, slice, tuple, tuple struct | `L` |
//! | `String`, `&str`, `char` | `S` |
//! | integers, floats, [`Number`](crate::data::Number) | `N` (floats: NaN and ±∞ refused) |
//! | `bool` | `BOOL` |
//! | `()`, unit struct | `NULL` |
//! | `Option::None` | left out of structs and maps; `NULL` in lists |
//! | bytes (`serde_bytes`, [`data::bytes`](crate::data::bytes)) | `B` |
//! | [`StringSet`](crate::data::StringSet), [`NumberSet`](crate::data::NumberSet), [`BinarySet`](crate::data::BinarySet) | `SS`, `NS`, `BS`, as built (DynamoDB refuses an empty set: use `Option` or `skip_serializing_if` to leave one out) |
//! | unit enum variant | `S` with the variant's name |
//! | newtype, tuple or struct variant | `M` of one entry: `{variant: content}` |
//!
//! Reading back: a `NULL` or a missing attribute reads as `None`; an `N` reads into any
//! integer or float type that holds it (`1.5` into an `i32` is an error) and into
//! [`Number`](crate::data::Number) exactly. Where serde cannot tell the target type
//! (`#[serde(flatten)]`, untagged enums, `serde_json::Value`), an `N` arrives as an
//! integer when it is one and an `f64` otherwise.

pub(crate) mod de;
pub(crate) mod exact;
pub(crate) mod ser;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Error, Item, Value};

/// Private newtype-struct names that mark types the format treats specially.
pub(crate) mod token {
    /// [`crate::data::Number`]: an exact `N`.
    pub(crate) const NUMBER: &str = "$__portico_private_N";
    /// [`crate::data::StringSet`].
    pub(crate) const SS: &str = "$__portico_private_SS";
    /// [`crate::data::NumberSet`].
    pub(crate) const NS: &str = "$__portico_private_NS";
    /// [`crate::data::BinarySet`].
    pub(crate) const BS: &str = "$__portico_private_BS";
    /// [`crate::data::Value`]: asks the item format for an exact value.
    pub(crate) const VALUE: &str = "$__portico_private_Value";
}

/// Converts a Rust value into an attribute value (see the [module](self) for the mapping).
///
/// # Errors
/// [`Error::Serialization`] for values DynamoDB cannot hold: NaN, numbers beyond 38
/// digits, maps with non-string keys….
///
/// ```
/// use portico_guest::data::{to_value, Value};
/// assert_eq!(to_value(&vec![1, 2])?, Value::L(vec![Value::from(1), Value::from(2)]));
/// assert_eq!(to_value(&None::<i32>)?, Value::Null);
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    Ok(value
        .serialize(ser::ValueSerializer)?
        .unwrap_or(Value::Null))
}

/// Converts a Rust value that serializes as a map (a struct, a map, an [`Item`], a JSON
/// object) into an item.
///
/// # Errors
/// [`Error::Serialization`] when the value is not a map or cannot be stored.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Todo { id: String, done: bool, note: Option<String> }
/// let item = portico_guest::data::to_item(&Todo { id: "1".into(), done: false, note: None })?;
/// assert_eq!(item.get_s("id"), Some("1"));
/// assert!(!item.contains_key("note")); // None fields are left out
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
pub fn to_item<T: Serialize + ?Sized>(value: &T) -> Result<Item, Error> {
    match to_value(value)? {
        Value::M(map) => Ok(Item::from(map)),
        other => Err(Error::serialization(format!(
            "an item must serialize as a map (a struct or a map), not {}",
            other.value_type()
        ))),
    }
}

/// Converts an attribute value into a Rust value.
///
/// # Errors
/// [`Error::Serialization`] when the value does not fit `T`.
///
/// ```
/// use portico_guest::data::{from_value, Value};
/// let n: u16 = from_value(Value::from(512))?;
/// assert_eq!(n, 512);
/// assert!(from_value::<u8>(Value::from(512)).is_err());
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(de::ValueDeserializer(value))
}

/// Converts an item into a Rust value, usually a struct.
///
/// # Errors
/// [`Error::Serialization`] when the item does not fit `T` (a missing field, a wrong
/// type…).
///
/// ```
/// use portico_guest::data::{from_item, Item};
/// #[derive(serde::Deserialize)]
/// struct Todo { id: String, done: bool, note: Option<String> }
/// let todo: Todo = from_item(Item::new().with("id", "1").with("done", true))?;
/// assert!(todo.done && todo.note.is_none());
/// # Ok::<(), portico_guest::data::Error>(())
/// ```
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Error> {
    from_value(Value::M(item.into_inner()))
}

#[cfg(test)]
mod tests;
