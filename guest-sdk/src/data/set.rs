//! The three set types: [`StringSet`] (`SS`), [`NumberSet`] (`NS`), [`BinarySet`] (`BS`).
//!
//! A struct field of one of these types is stored as a DynamoDB set rather than a list.
//! DynamoDB has no empty sets: an empty set is left out of the item like a `None` (so
//! give such fields `#[serde(default)]`), and a `NULL` reads back as an empty set.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use super::Number;
use super::bytes::ByteBuf;
use super::format::token;

macro_rules! set_type {
    ($(#[$doc:meta])* $name:ident, $elem:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(BTreeSet<$elem>);

        impl $name {
            /// An empty set.
            pub fn new() -> Self {
                Self(BTreeSet::new())
            }

            /// The `BTreeSet` inside.
            pub fn into_inner(self) -> BTreeSet<$elem> {
                self.0
            }
        }

        impl Deref for $name {
            type Target = BTreeSet<$elem>;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl DerefMut for $name {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.0
            }
        }

        impl From<BTreeSet<$elem>> for $name {
            fn from(set: BTreeSet<$elem>) -> Self {
                Self(set)
            }
        }

        impl From<$name> for BTreeSet<$elem> {
            fn from(set: $name) -> Self {
                set.0
            }
        }

        impl<T: Into<$elem>> FromIterator<T> for $name {
            fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
                Self(iter.into_iter().map(Into::into).collect())
            }
        }

        impl<T: Into<$elem>, const N: usize> From<[T; N]> for $name {
            fn from(elements: [T; N]) -> Self {
                elements.into_iter().collect()
            }
        }

        impl IntoIterator for $name {
            type Item = $elem;
            type IntoIter = std::collections::btree_set::IntoIter<$elem>;

            fn into_iter(self) -> Self::IntoIter {
                self.0.into_iter()
            }
        }

        impl<'a> IntoIterator for &'a $name {
            type Item = &'a $elem;
            type IntoIter = std::collections::btree_set::Iter<'a, $elem>;

            fn into_iter(self) -> Self::IntoIter {
                self.0.iter()
            }
        }
    };
}

set_type!(
    /// A string set (`SS`). In other formats (JSON) it is an array.
    ///
    /// ```
    /// use portico_guest::data::StringSet;
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Todo {
    ///     id: String,
    ///     #[serde(default)]
    ///     tags: StringSet,
    /// }
    /// let todo = Todo { id: "1".into(), tags: StringSet::from(["home"]) };
    /// let item = portico_guest::data::to_item(&todo)?;
    /// assert!(item["tags"].as_ss().is_some());
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    StringSet,
    String
);

set_type!(
    /// A number set (`NS`). In other formats (JSON) it is an array of decimal strings.
    ///
    /// ```
    /// use portico_guest::data::{NumberSet, Number};
    /// let mut scores = NumberSet::from([10, 20]);
    /// scores.insert(Number::from(30));
    /// assert_eq!(scores.len(), 3);
    /// ```
    NumberSet,
    Number
);

set_type!(
    /// A binary set (`BS`). In other formats the elements are byte strings.
    ///
    /// ```
    /// use portico_guest::data::BinarySet;
    /// let keys = BinarySet::from([vec![1u8, 2], vec![3]]);
    /// assert!(keys.contains(&vec![3u8]));
    /// ```
    BinarySet,
    Vec<u8>
);

impl Serialize for StringSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(token::SS, &self.0)
    }
}

impl Serialize for NumberSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(token::NS, &self.0)
    }
}

/// The elements of a binary set, each written as bytes.
struct BinaryElements<'a>(&'a BTreeSet<Vec<u8>>);

impl Serialize for BinaryElements<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for element in self.0 {
            seq.serialize_element(&super::bytes::Bytes(element))?;
        }
        seq.end()
    }
}

impl Serialize for BinarySet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(token::BS, &BinaryElements(&self.0))
    }
}

/// Reads a set from a set, a list (other formats), or `NULL` (empty).
struct SetVisitor<E>(&'static str, PhantomData<E>);

impl<'de, E: Deserialize<'de> + Ord> Visitor<'de> for SetVisitor<E> {
    type Value = BTreeSet<E>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut set = BTreeSet::new();
        while let Some(element) = seq.next_element()? {
            set.insert(element);
        }
        Ok(set)
    }

    fn visit_unit<E2: de::Error>(self) -> Result<Self::Value, E2> {
        Ok(BTreeSet::new())
    }

    fn visit_none<E2: de::Error>(self) -> Result<Self::Value, E2> {
        Ok(BTreeSet::new())
    }
}

impl<'de> Deserialize<'de> for StringSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(token::SS, SetVisitor("a string set", PhantomData))
            .map(StringSet)
    }
}

impl<'de> Deserialize<'de> for NumberSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(token::NS, SetVisitor("a number set", PhantomData))
            .map(NumberSet)
    }
}

impl<'de> Deserialize<'de> for BinarySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let set: BTreeSet<ByteBuf> =
            d.deserialize_newtype_struct(token::BS, SetVisitor("a binary set", PhantomData))?;
        Ok(BinarySet(set.into_iter().map(|b| b.0).collect()))
    }
}
