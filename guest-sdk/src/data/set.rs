//! The three set types: [`StringSet`] (`SS`), [`NumberSet`] (`NS`), [`BinarySet`] (`BS`).
//!
//! A struct field of one of these types is stored as a DynamoDB set rather than a list.
//! The SDK sends a set exactly as it was built, and DynamoDB's rules are checked where
//! DynamoDB checks them, in the table:
//!
//! - An empty set is refused by DynamoDB with a validation error
//!   (`One or more parameter values were invalid: An string set  may not be empty`). To
//!   leave an empty set out of the item, use `Option<StringSet>` or
//!   `#[serde(skip_serializing_if = "StringSet::is_empty")]` (with `#[serde(default)]`
//!   to read it back); a `NULL` reads back as an empty set.
//! - A set keeps its members in the order given. [`insert`](StringSet::insert) adds only
//!   what is not there yet, but a set made from an array, a `Vec` or an iterator keeps
//!   repeats, and DynamoDB refuses them (`Input collection [...] contains duplicates.`)
//!   rather than the SDK dropping them silently. Make it from a `BTreeSet` to collapse
//!   them on purpose.
//!
//! Equality ignores order: `StringSet::from(["a", "b"]) == StringSet::from(["b", "a"])`.

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use super::Number;
use super::bytes::ByteBuf;
use super::format::token;

macro_rules! set_type {
    ($(#[$doc:meta])* $name:ident, $elem:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default)]
        pub struct $name(Vec<$elem>);

        impl $name {
            /// An empty set.
            pub fn new() -> Self {
                Self(Vec::new())
            }

            /// How many members the set holds, repeats included.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether the set has no members (DynamoDB refuses such a set).
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// Whether `member` is in the set.
            pub fn contains<Q>(&self, member: &Q) -> bool
            where
                $elem: Borrow<Q>,
                Q: PartialEq + ?Sized,
            {
                self.0.iter().any(|m| m.borrow() == member)
            }

            /// Adds `member` at the end unless it is already there; like a set's
            /// `insert`, returns whether it was added.
            pub fn insert(&mut self, member: impl Into<$elem>) -> bool {
                let member = member.into();
                if self.0.contains(&member) {
                    return false;
                }
                self.0.push(member);
                true
            }

            /// Removes `member` (every copy of it); returns whether it was there.
            pub fn remove<Q>(&mut self, member: &Q) -> bool
            where
                $elem: Borrow<Q>,
                Q: PartialEq + ?Sized,
            {
                let before = self.0.len();
                self.0.retain(|m| m.borrow() != member);
                self.0.len() != before
            }

            /// The members, in the order given (as the host returned them, once read).
            pub fn iter(&self) -> std::slice::Iter<'_, $elem> {
                self.0.iter()
            }

            /// The members, in the order given.
            pub fn into_vec(self) -> Vec<$elem> {
                self.0
            }

            /// The members sorted, for comparisons that ignore order.
            fn sorted(&self) -> Vec<&$elem> {
                let mut members: Vec<&$elem> = self.0.iter().collect();
                members.sort_unstable();
                members
            }
        }

        /// Equal when they hold the same members, in any order (repeats count).
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.len() == other.0.len() && self.sorted() == other.sorted()
            }
        }

        impl Eq for $name {}

        /// Hashes the sorted members, agreeing with the order-blind equality.
        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.sorted().hash(state);
            }
        }

        /// In ascending order; a `BTreeSet` has no repeats.
        impl From<BTreeSet<$elem>> for $name {
            fn from(set: BTreeSet<$elem>) -> Self {
                Self(set.into_iter().collect())
            }
        }

        /// Collapses repeats.
        impl From<$name> for BTreeSet<$elem> {
            fn from(set: $name) -> Self {
                set.0.into_iter().collect()
            }
        }

        /// Keeps the order and any repeats.
        impl<T: Into<$elem>> From<Vec<T>> for $name {
            fn from(members: Vec<T>) -> Self {
                members.into_iter().collect()
            }
        }

        /// Keeps the order and any repeats.
        impl<T: Into<$elem>> FromIterator<T> for $name {
            fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
                Self(iter.into_iter().map(Into::into).collect())
            }
        }

        /// Keeps the order and any repeats.
        impl<T: Into<$elem>, const N: usize> From<[T; N]> for $name {
            fn from(members: [T; N]) -> Self {
                members.into_iter().collect()
            }
        }

        impl IntoIterator for $name {
            type Item = $elem;
            type IntoIter = std::vec::IntoIter<$elem>;

            fn into_iter(self) -> Self::IntoIter {
                self.0.into_iter()
            }
        }

        impl<'a> IntoIterator for &'a $name {
            type Item = &'a $elem;
            type IntoIter = std::slice::Iter<'a, $elem>;

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
    ///     // Leave an empty set out: DynamoDB refuses empty sets.
    ///     #[serde(default, skip_serializing_if = "StringSet::is_empty")]
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
    /// assert!(scores.insert(30));
    /// assert!(!scores.insert(Number::from(10)), "already there");
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
    /// assert!(keys.contains(&[3u8][..]));
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
struct BinaryElements<'a>(&'a [Vec<u8>]);

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

/// Reads a set from a set, a list (other formats), or `NULL` (empty), keeping the
/// members as they come.
struct SetVisitor<E>(&'static str, PhantomData<E>);

impl<'de, E: Deserialize<'de>> Visitor<'de> for SetVisitor<E> {
    type Value = Vec<E>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(member) = seq.next_element()? {
            members.push(member);
        }
        Ok(members)
    }

    fn visit_unit<E2: de::Error>(self) -> Result<Self::Value, E2> {
        Ok(Vec::new())
    }

    fn visit_none<E2: de::Error>(self) -> Result<Self::Value, E2> {
        Ok(Vec::new())
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
        let members: Vec<ByteBuf> =
            d.deserialize_newtype_struct(token::BS, SetVisitor("a binary set", PhantomData))?;
        Ok(BinarySet(members.into_iter().map(|b| b.0).collect()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::hash::{BuildHasher, RandomState};

    use super::*;

    #[test]
    fn repeats_are_kept_in_order_unless_inserted() {
        let mut tags = StringSet::from(["b", "a", "b"]);
        assert_eq!(tags.len(), 3);
        assert_eq!(tags.iter().collect::<Vec<_>>(), ["b", "a", "b"]);
        assert!(!tags.insert("a"));
        assert!(tags.insert("c"));
        assert_eq!(tags.clone().into_vec(), ["b", "a", "b", "c"]);
        assert!(tags.remove("b"), "every copy goes");
        assert!(!tags.contains("b"));
        assert!(!tags.remove("b"));
        assert_eq!(tags.into_iter().collect::<Vec<_>>(), ["a", "c"]);
        let vec = NumberSet::from(vec![2, 2]);
        assert_eq!(vec.len(), 2);
        let collected: BinarySet = [vec![1u8], vec![1]].into_iter().collect();
        assert_eq!(collected.len(), 2);
        let collapsed = StringSet::from(BTreeSet::from(["b".to_owned(), "a".to_owned()]));
        assert_eq!(collapsed.into_vec(), ["a", "b"]);
        let back: BTreeSet<String> = StringSet::from(["x", "x"]).into();
        assert_eq!(back.len(), 1);
    }

    #[test]
    fn equality_and_hash_ignore_order_but_not_repeats() {
        let hasher = RandomState::new();
        let ab = StringSet::from(["a", "b"]);
        let ba = StringSet::from(["b", "a"]);
        assert_eq!(ab, ba);
        assert_eq!(hasher.hash_one(&ab), hasher.hash_one(&ba));
        assert_ne!(
            StringSet::from(["a", "a", "b"]),
            StringSet::from(["a", "b", "b"])
        );
        assert_ne!(StringSet::from(["a"]), StringSet::from(["a", "a"]));
        assert_eq!(NumberSet::from([1, 2]), NumberSet::from([2, 1]));
        assert_eq!(StringSet::default(), StringSet::new());
    }
}
