//! [`Value`]: one attribute value, with DynamoDB's ten types.

use std::collections::BTreeMap;
use std::fmt;

use super::{BinarySet, Error, Item, Number, NumberSet, StringSet};

/// One DynamoDB attribute value, for code that works with items dynamically.
///
/// Most Rust values convert with `From`/`Into`; floats with `TryFrom` (NaN and
/// infinities are not numbers in DynamoDB). `Vec<u8>` and `&[u8]` become binaries (`B`).
///
/// ```
/// use portico_guest::data::{Value, StringSet};
/// let title = Value::from("milk");
/// let count = Value::from(3);
/// let tags = Value::from(StringSet::from(["home", "food"]));
/// assert_eq!(title.as_s(), Some("milk"));
/// assert_eq!(count.as_n().map(|n| n.as_str()), Some("3"));
/// assert_eq!(tags.value_type().name(), "SS");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `S`: a string.
    S(String),
    /// `N`: an exact decimal number.
    N(Number),
    /// `B`: binary.
    B(Vec<u8>),
    /// `BOOL`.
    Bool(bool),
    /// `NULL`.
    Null,
    /// `M`: attribute names to values.
    M(BTreeMap<String, Value>),
    /// `L`: an ordered list of values.
    L(Vec<Value>),
    /// `SS`: a set of strings, sent as built (DynamoDB refuses an empty set and repeats).
    Ss(StringSet),
    /// `NS`: a set of numbers, sent as built (DynamoDB refuses an empty set and repeats).
    Ns(NumberSet),
    /// `BS`: a set of binaries, sent as built (DynamoDB refuses an empty set and repeats).
    Bs(BinarySet),
}

/// A value's type, with DynamoDB's names (`S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`, `SS`,
/// `NS`, `BS`), as `attribute_type` conditions take it.
///
/// ```
/// use portico_guest::data::ValueType;
/// assert_eq!(ValueType::Bool.name(), "BOOL");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// DynamoDB's name for the type.
    ///
    /// ```
    /// # use portico_guest::data::ValueType;
    /// assert_eq!(ValueType::Ns.name(), "NS");
    /// ```
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
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Value {
    /// The value's type.
    ///
    /// ```
    /// # use portico_guest::data::{Value, ValueType};
    /// assert_eq!(Value::from(true).value_type(), ValueType::Bool);
    /// ```
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

    /// The string of an `S`.
    ///
    /// ```
    /// # use portico_guest::data::Value;
    /// assert_eq!(Value::from("a").as_s(), Some("a"));
    /// assert_eq!(Value::from(1).as_s(), None);
    /// ```
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }

    /// The number of an `N`.
    ///
    /// ```
    /// # use portico_guest::data::Value;
    /// let n = Value::from(12).as_n().and_then(|n| n.parse::<u8>().ok());
    /// assert_eq!(n, Some(12));
    /// ```
    pub fn as_n(&self) -> Option<&Number> {
        match self {
            Value::N(n) => Some(n),
            _ => None,
        }
    }

    /// The bytes of a `B`.
    ///
    /// ```
    /// # use portico_guest::data::Value;
    /// assert_eq!(Value::from(vec![1u8, 2]).as_b(), Some(&[1u8, 2][..]));
    /// ```
    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            Value::B(b) => Some(b),
            _ => None,
        }
    }

    /// The boolean of a `BOOL`.
    ///
    /// ```
    /// # use portico_guest::data::Value;
    /// assert_eq!(Value::from(true).as_bool(), Some(true));
    /// ```
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The entries of an `M`.
    ///
    /// ```
    /// # use portico_guest::data::{Item, Value};
    /// let m = Value::from(Item::new().with("a", 1));
    /// assert!(m.as_m().is_some_and(|m| m.contains_key("a")));
    /// ```
    pub fn as_m(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::M(m) => Some(m),
            _ => None,
        }
    }

    /// The elements of an `L`.
    ///
    /// ```
    /// # use portico_guest::data::Value;
    /// let l = Value::from(vec![Value::from(1), Value::from("two")]);
    /// assert_eq!(l.as_l().map(<[Value]>::len), Some(2));
    /// ```
    pub fn as_l(&self) -> Option<&[Value]> {
        match self {
            Value::L(l) => Some(l),
            _ => None,
        }
    }

    /// The strings of an `SS`.
    ///
    /// ```
    /// # use portico_guest::data::{StringSet, Value};
    /// let v = Value::from(StringSet::from(["a"]));
    /// assert!(v.as_ss().is_some_and(|s| s.contains("a")));
    /// ```
    pub fn as_ss(&self) -> Option<&StringSet> {
        match self {
            Value::Ss(s) => Some(s),
            _ => None,
        }
    }

    /// The numbers of an `NS`.
    ///
    /// ```
    /// # use portico_guest::data::{NumberSet, Value};
    /// let v = Value::from(NumberSet::from([1, 2]));
    /// assert_eq!(v.as_ns().map(|s| s.len()), Some(2));
    /// ```
    pub fn as_ns(&self) -> Option<&NumberSet> {
        match self {
            Value::Ns(s) => Some(s),
            _ => None,
        }
    }

    /// The binaries of a `BS`.
    ///
    /// ```
    /// # use portico_guest::data::{BinarySet, Value};
    /// let v = Value::from(BinarySet::from([vec![1u8]]));
    /// assert_eq!(v.as_bs().map(|s| s.len()), Some(1));
    /// ```
    pub fn as_bs(&self) -> Option<&BinarySet> {
        match self {
            Value::Bs(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `NULL`.
    ///
    /// ```
    /// # use portico_guest::data::Value;
    /// assert!(Value::from(None::<i32>).is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::S(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::S(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::S(v.clone())
    }
}

impl From<char> for Value {
    fn from(v: char) -> Self {
        Value::S(v.to_string())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<Number> for Value {
    fn from(v: Number) -> Self {
        Value::N(v)
    }
}

macro_rules! value_from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::N(Number::from(v))
            }
        }
    )*};
}

value_from_integer!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! value_try_from_number {
    ($($t:ty),*) => {$(
        impl TryFrom<$t> for Value {
            type Error = Error;

            /// Fails where [`Number`] does: NaN, infinities, out of range or precision.
            fn try_from(v: $t) -> Result<Self, Error> {
                Number::try_from(v).map(Value::N)
            }
        }
    )*};
}

value_try_from_number!(i128, u128, f32, f64);

impl From<Vec<u8>> for Value {
    /// A binary (`B`).
    fn from(v: Vec<u8>) -> Self {
        Value::B(v)
    }
}

impl From<&[u8]> for Value {
    /// A binary (`B`).
    fn from(v: &[u8]) -> Self {
        Value::B(v.to_vec())
    }
}

impl From<Vec<Value>> for Value {
    /// A list (`L`).
    fn from(v: Vec<Value>) -> Self {
        Value::L(v)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    /// A map (`M`).
    fn from(v: BTreeMap<String, Value>) -> Self {
        Value::M(v)
    }
}

impl From<Item> for Value {
    /// A map (`M`).
    fn from(v: Item) -> Self {
        Value::M(v.into_inner())
    }
}

impl From<StringSet> for Value {
    fn from(v: StringSet) -> Self {
        Value::Ss(v)
    }
}

impl From<NumberSet> for Value {
    fn from(v: NumberSet) -> Self {
        Value::Ns(v)
    }
}

impl From<BinarySet> for Value {
    fn from(v: BinarySet) -> Self {
        Value::Bs(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is `NULL`.
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl FromIterator<Value> for Value {
    /// A list (`L`).
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Value::L(iter.into_iter().collect())
    }
}
