//! The attribute value model: DynamoDB's ten types.

mod json;
mod number;
mod set;
mod size;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use json::{
    item_from_json, item_from_plain_json, item_to_json, item_to_plain_json, value_from_json,
    value_from_plain_json, value_to_json, value_to_plain_json,
};
pub use number::{MAX_DIGITS, MAX_EXPONENT, MIN_EXPONENT, Number};
pub use set::{Set, SetError, SetMember};
pub use size::{MAX_ITEM_SIZE, item_size, value_size};

/// An item (or a key): attribute names to values.
pub type Item = BTreeMap<String, Value>;

/// One DynamoDB attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// `S`: a UTF-8 string (may be empty outside keys).
    S(String),
    /// `N`: an exact decimal number.
    N(Number),
    /// `B`: binary (may be empty outside keys).
    B(#[serde(with = "serde_bytes_vec")] Vec<u8>),
    /// `BOOL`.
    Bool(bool),
    /// `NULL` (always true).
    Null,
    /// `M`: a map of attribute names to values.
    M(BTreeMap<String, Value>),
    /// `L`: an ordered list of values.
    L(Vec<Value>),
    /// `SS`: a non-empty set of distinct strings.
    Ss(Set<String>),
    /// `NS`: a non-empty set of distinct numbers.
    Ns(Set<Number>),
    /// `BS`: a non-empty set of distinct binaries.
    Bs(Set<Vec<u8>>),
}

/// A value's type, with DynamoDB's names (`S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`, `SS`,
/// `NS`, `BS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ValueType {
    /// String.
    S,
    /// Number.
    N,
    /// Binary.
    B,
    /// Boolean.
    Bool,
    /// Null.
    Null,
    /// Map.
    M,
    /// List.
    L,
    /// String set.
    Ss,
    /// Number set.
    Ns,
    /// Binary set.
    Bs,
}

impl ValueType {
    /// DynamoDB's name for the type, as `attribute_type` takes it.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::S => "S",
            ValueType::N => "N",
            ValueType::B => "B",
            ValueType::Bool => "BOOL",
            ValueType::Null => "NULL",
            ValueType::M => "M",
            ValueType::L => "L",
            ValueType::Ss => "SS",
            ValueType::Ns => "NS",
            ValueType::Bs => "BS",
        }
    }

    /// Parses DynamoDB's name for a type.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "S" => ValueType::S,
            "N" => ValueType::N,
            "B" => ValueType::B,
            "BOOL" => ValueType::Bool,
            "NULL" => ValueType::Null,
            "M" => ValueType::M,
            "L" => ValueType::L,
            "SS" => ValueType::Ss,
            "NS" => ValueType::Ns,
            "BS" => ValueType::Bs,
            _ => return None,
        })
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Value {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::S(_) => ValueType::S,
            Value::N(_) => ValueType::N,
            Value::B(_) => ValueType::B,
            Value::Bool(_) => ValueType::Bool,
            Value::Null => ValueType::Null,
            Value::M(_) => ValueType::M,
            Value::L(_) => ValueType::L,
            Value::Ss(_) => ValueType::Ss,
            Value::Ns(_) => ValueType::Ns,
            Value::Bs(_) => ValueType::Bs,
        }
    }

    /// A string value.
    pub fn s(text: impl Into<String>) -> Self {
        Value::S(text.into())
    }

    /// A number value from an integer.
    pub fn n(number: i64) -> Self {
        Value::N(Number::from(number))
    }
}

/// Serde helper: binaries as byte strings (compact in postcard).
mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        Vec::<u8>::deserialize(deserializer)
    }
}
