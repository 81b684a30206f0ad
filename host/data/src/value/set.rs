//! DynamoDB sets (`SS`, `NS`, `BS`): non-empty, distinct members, unordered.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::DataError;

/// A non-empty set of distinct members, kept sorted so that equal sets compare equal.
///
/// DynamoDB sets have no order; Portico returns members in ascending order (strings and
/// binaries by bytes, numbers by value).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Set<T>(Vec<T>);

impl<T: Ord> Set<T> {
    /// Makes a set, refusing an empty one and duplicate members as DynamoDB does.
    ///
    /// # Errors
    /// A validation error for an empty set or a duplicate member.
    pub fn new(mut members: Vec<T>) -> Result<Self, DataError> {
        if members.is_empty() {
            return Err(DataError::validation(
                "One or more parameter values were invalid: An set may not be empty",
            ));
        }
        members.sort();
        if members.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(DataError::validation(
                "One or more parameter values were invalid: Input collection contains duplicates",
            ));
        }
        Ok(Self(members))
    }

    /// Makes a set from members that may repeat (repeats collapse); `None` when empty.
    /// For set arithmetic (`ADD`), where the result is a union.
    pub fn from_union(mut members: Vec<T>) -> Option<Self> {
        members.sort();
        members.dedup();
        (!members.is_empty()).then_some(Self(members))
    }

    /// The members in ascending order.
    pub fn members(&self) -> &[T] {
        &self.0
    }

    /// Takes the members out.
    pub fn into_members(self) -> Vec<T> {
        self.0
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &T) -> bool {
        self.0.binary_search(member).is_ok()
    }

    /// How many members the set has (never 0).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: sets are never empty. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Serialize> Serialize for Set<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de> + Ord> Deserialize<'de> for Set<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let members = Vec::<T>::deserialize(deserializer)?;
        Set::new(members).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_duplicates_are_refused() {
        assert!(Set::<String>::new(vec![]).is_err());
        assert!(Set::new(vec!["a".to_owned(), "a".to_owned()]).is_err());
        let set = Set::new(vec!["b".to_owned(), "a".to_owned()]).expect("valid");
        assert_eq!(set.members(), ["a", "b"]);
    }
}
