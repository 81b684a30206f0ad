//! DynamoDB sets (`SS`, `NS`, `BS`): non-empty, distinct members, unordered.
//!
//! # DynamoDB's messages
//!
//! A set that DynamoDB refuses cannot be made, and [`Set::new`] refuses it with DynamoDB's
//! own message, verbatim (two spaces and "An number" included):
//!
//! | refused | message |
//! | --- | --- |
//! | empty `SS` | `One or more parameter values were invalid: An string set  may not be empty` |
//! | empty `NS` | `One or more parameter values were invalid: An number set  may not be empty` |
//! | empty `BS` | `One or more parameter values were invalid: Binary sets should not be empty` |
//! | repeated `SS` member | `One or more parameter values were invalid: Input collection ["a", "b", "b"] contains duplicates.` |
//! | repeated `BS` member | `One or more parameter values were invalid: Input collection ["AA==","/w==","AA=="]of type BS contains duplicates.` |
//! | repeated `NS` member | `One or more parameter values were invalid: Input collection contains duplicates.` |
//!
//! Sources: tests written against DynamoDB (architect/dynalite `test/*.js`: the three
//! empty-set messages, with "Binary sets should not be empty", not "An binary set", and the
//! older duplicate wording), a user quoting DynamoDB's answer (truora/minidyn#50:
//! `Input collection [X, X] contains duplicates.`), getmoto/moto's AWS-verified
//! `test_update_item_add_empty_set`, and a TypeScript conformance suite (in the search
//! index without a repository name) that records DynamoDB's answers captured in four
//! regions on 2026-10-09; dynoxide 3.2.0, the reference server of Portico's tests, gives
//! those answers exactly.
//!
//! DynamoDB words a repeated member in one of two ways, depending on the operation. Its
//! current wording (PutItem, UpdateItem, DeleteItem, GetItem, BatchGetItem, Query) quotes
//! the members (`"a"`, JSON-style; binaries in base64, joined without a space) and lists
//! the members before the first repeat in ascending byte order, then the repeat, then the
//! rest as sent; it names no member of a number set. Its older wording (BatchWriteItem,
//! Scan, and TransactWriteItems / TransactGetItems outside eu-west-2) lists the members as
//! sent, unquoted (`Input collection [b, a, b] contains duplicates.`, dynalite's and
//! minidyn's form), and for a number set says only `Input collection contains
//! duplicates`. Portico gives the current wording for every operation.
//!
//! Differences from DynamoDB and dynoxide, all in the framing, none in the words above:
//! - PutItem, UpdateItem and DeleteItem put the message in DynamoDB's
//!   `1 validation error detected: ` envelope; Portico's value errors are bare on every
//!   operation (as its number errors are), as GetItem and Query answer.
//! - An empty set in an expression attribute value is reported as
//!   `ExpressionAttributeValues contains invalid value: <message> for key :v` (dynalite,
//!   dynoxide; the host's WIT reader adds it). Portico adds it wherever the empty set sits
//!   in the value; dynoxide adds it only at the value's top and answers a nested one
//!   bare, and for a repeat nested in an expression value it falls back to the older,
//!   unquoted wording. Nothing shows what DynamoDB does there.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Number;
use crate::error::DataError;

/// DynamoDB's message for an empty string set.
pub const EMPTY_STRING_SET: &str =
    "One or more parameter values were invalid: An string set  may not be empty";
/// DynamoDB's message for an empty number set.
pub const EMPTY_NUMBER_SET: &str =
    "One or more parameter values were invalid: An number set  may not be empty";
/// DynamoDB's message for an empty binary set.
pub const EMPTY_BINARY_SET: &str =
    "One or more parameter values were invalid: Binary sets should not be empty";

/// Why a set cannot be made: DynamoDB's validation errors (see the [module](self) docs).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    /// The set has no members.
    #[error("{0}")]
    Empty(&'static str),
    /// A member appears more than once.
    #[error("{0}")]
    Duplicates(String),
}

impl From<SetError> for DataError {
    fn from(error: SetError) -> Self {
        DataError::validation(error.to_string())
    }
}

/// What a set may hold: strings, numbers, binaries. Each kind has DynamoDB's words for
/// refusing its sets.
pub trait SetMember: Ord + Sized {
    /// DynamoDB's message for an empty set of this kind.
    const EMPTY: &'static str;

    /// DynamoDB's message for a repeated member, given the members in the order it lists
    /// them.
    fn duplicates(listed: &[&Self]) -> String;
}

impl SetMember for String {
    const EMPTY: &'static str = EMPTY_STRING_SET;

    fn duplicates(listed: &[&Self]) -> String {
        let quoted: Vec<String> = listed.iter().map(|member| quote(member)).collect();
        format!(
            "One or more parameter values were invalid: Input collection [{}] contains duplicates.",
            quoted.join(", ")
        )
    }
}

impl SetMember for Number {
    const EMPTY: &'static str = EMPTY_NUMBER_SET;

    fn duplicates(_listed: &[&Self]) -> String {
        "One or more parameter values were invalid: Input collection contains duplicates."
            .to_owned()
    }
}

impl SetMember for Vec<u8> {
    const EMPTY: &'static str = EMPTY_BINARY_SET;

    fn duplicates(listed: &[&Self]) -> String {
        let quoted: Vec<String> = listed
            .iter()
            .map(|member| quote(&BASE64.encode(member)))
            .collect();
        // No space after the commas, and none before "of type BS": DynamoDB's spacing.
        format!(
            "One or more parameter values were invalid: Input collection [{}]of type BS contains duplicates.",
            quoted.join(",")
        )
    }
}

/// A member as DynamoDB quotes it: in double quotes, with `"` and `\` escaped.
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

/// The members in the order DynamoDB lists them when it refuses a repeat: those before
/// the first repeat in ascending order, then the repeat, then the rest as sent. `None`
/// when no member repeats.
fn refusal_order<T: Ord>(members: &[T]) -> Option<Vec<&T>> {
    let mut seen = BTreeSet::new();
    for (at, member) in members.iter().enumerate() {
        if !seen.insert(member) {
            let mut listed: Vec<&T> = seen.into_iter().collect();
            listed.extend(&members[at..]);
            return Some(listed);
        }
    }
    None
}

/// A non-empty set of distinct members, kept sorted so that equal sets compare equal.
///
/// DynamoDB sets have no order; Portico returns members in ascending order (strings and
/// binaries by bytes, numbers by value).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Set<T>(Vec<T>);

impl<T: SetMember> Set<T> {
    /// Makes a set, refusing an empty one and duplicate members as DynamoDB does (never
    /// collapsing them).
    ///
    /// # Errors
    /// A validation error with DynamoDB's message for an empty set or a repeated member.
    pub fn new(members: Vec<T>) -> Result<Self, DataError> {
        Self::try_new(members).map_err(DataError::from)
    }

    /// [`Set::new`], telling an empty set from a repeated member (an expression attribute
    /// value words the first differently).
    ///
    /// # Errors
    /// [`SetError::Empty`] or [`SetError::Duplicates`], with DynamoDB's messages.
    pub fn try_new(mut members: Vec<T>) -> Result<Self, SetError> {
        if members.is_empty() {
            return Err(SetError::Empty(T::EMPTY));
        }
        // Sets read back from a store or built from a sorted collection are already in
        // strictly ascending order: nothing to sort, nothing can repeat.
        if members.windows(2).all(|pair| pair[0] < pair[1]) {
            return Ok(Self(members));
        }
        if let Some(listed) = refusal_order(&members) {
            return Err(SetError::Duplicates(T::duplicates(&listed)));
        }
        members.sort_unstable();
        Ok(Self(members))
    }
}

impl<T: Ord> Set<T> {
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

impl<'de, T: Deserialize<'de> + SetMember> Deserialize<'de> for Set<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let members = Vec::<T>::deserialize(deserializer)?;
        Set::new(members).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(members: &[&str]) -> Vec<String> {
        members.iter().map(|m| (*m).to_owned()).collect()
    }

    fn refusal<T: SetMember + std::fmt::Debug>(members: Vec<T>) -> String {
        Set::new(members).expect_err("refused").message()
    }

    #[test]
    fn empty_sets_are_refused_with_dynamodb_messages() {
        assert_eq!(
            refusal(Vec::<String>::new()),
            "One or more parameter values were invalid: An string set  may not be empty"
        );
        assert_eq!(
            refusal(Vec::<Number>::new()),
            "One or more parameter values were invalid: An number set  may not be empty"
        );
        assert_eq!(
            refusal(Vec::<Vec<u8>>::new()),
            "One or more parameter values were invalid: Binary sets should not be empty"
        );
        assert_eq!(
            Set::<String>::try_new(Vec::new()),
            Err(SetError::Empty(EMPTY_STRING_SET))
        );
    }

    #[test]
    fn repeated_members_are_refused_never_collapsed() {
        assert_eq!(
            refusal(strings(&["b", "a", "b"])),
            "One or more parameter values were invalid: Input collection [\"a\", \"b\", \"b\"] contains duplicates."
        );
        // Ascending up to the first repeat, then the repeat and the rest as sent.
        assert_eq!(
            refusal(strings(&["c", "a", "c", "b", "a"])),
            "One or more parameter values were invalid: Input collection [\"a\", \"c\", \"c\", \"b\", \"a\"] contains duplicates."
        );
        // Quotes are escaped; byte order puts "z" before "é".
        assert_eq!(
            refusal(strings(&["x\"y", "é", "z", "é"])),
            "One or more parameter values were invalid: Input collection [\"x\\\"y\", \"z\", \"é\", \"é\"] contains duplicates."
        );
        assert_eq!(
            refusal(vec![vec![0xff], vec![0], vec![0]]),
            "One or more parameter values were invalid: Input collection [\"AA==\",\"/w==\",\"AA==\"]of type BS contains duplicates."
        );
        let numbers = ["1", "1.0"].map(|n| n.parse::<Number>().expect("number"));
        assert_eq!(
            refusal(numbers.to_vec()),
            "One or more parameter values were invalid: Input collection contains duplicates."
        );
    }

    #[test]
    fn valid_sets_are_sorted() {
        let set = Set::new(strings(&["b", "a"])).expect("valid");
        assert_eq!(set.members(), ["a", "b"]);
        let sorted = Set::new(strings(&["a", "b"])).expect("valid");
        assert_eq!(sorted, set);
    }
}
