//! [`Error`]: what a model call reports, naming the attribute when one is at fault.

use std::fmt;

use crate::data;

/// A model call's failure.
///
/// Model rules fail before anything reaches the host and name the attribute; a data
/// call's own failure is [`Error::Data`]. It converts into [`crate::Error`] for `?` in a
/// handler.
///
/// ```
/// use portico_guest::data::model::Error;
/// let e = Error::MissingRequired { attribute: "title" };
/// assert_eq!(e.attribute(), Some("title"));
/// assert_eq!(e.to_string(), "attribute `title` is required and missing");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The data call failed (condition, validation by DynamoDB, throttling, …).
    Data(data::Error),
    /// An attribute's value does not have the field's type.
    TypeMismatch {
        /// The attribute.
        attribute: &'static str,
        /// What did not fit.
        message: String,
    },
    /// A value broke a field's rule.
    Validation {
        /// The attribute.
        attribute: &'static str,
        /// The rule: `range`, `length`, `regex` or the custom function's name.
        rule: &'static str,
        /// What is wrong with the value.
        message: String,
    },
    /// An update names an attribute the model does not have (and it keeps no unknown
    /// attributes).
    UnknownAttribute {
        /// The attribute.
        attribute: String,
    },
    /// A required attribute is missing: in a stored item, or removed by an update.
    MissingRequired {
        /// The attribute.
        attribute: &'static str,
    },
    /// An update would change an attribute the key is built from.
    KeyAttribute {
        /// The attribute.
        attribute: String,
    },
    /// A stored item is of another entity.
    WrongEntity {
        /// This model's entity.
        expected: &'static str,
        /// The item's entity attribute, if it had one.
        found: Option<String>,
    },
    /// The model does not match its table as the manifest declares it.
    Schema {
        /// The model (the struct's name).
        model: &'static str,
        /// What differs.
        message: String,
    },
    /// No key of the table or of a declared index can serve a query's conditions.
    NoIndex {
        /// The model.
        model: &'static str,
        /// Why each candidate does not fit.
        message: String,
    },
}

impl Error {
    /// The attribute at fault, when there is one.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            Error::TypeMismatch { attribute, .. }
            | Error::Validation { attribute, .. }
            | Error::MissingRequired { attribute } => Some(attribute),
            Error::UnknownAttribute { attribute } | Error::KeyAttribute { attribute } => {
                Some(attribute)
            }
            _ => None,
        }
    }

    /// Whether a condition did not hold (the item exists on `create`, is missing on an
    /// update, or a transaction's condition failed).
    ///
    /// ```
    /// use portico_guest::data::{self, model::Error};
    /// assert!(Error::Data(data::Error::ConditionalCheckFailed(None)).is_condition_failure());
    /// ```
    pub fn is_condition_failure(&self) -> bool {
        matches!(self, Error::Data(e) if e.is_condition_failure())
    }

    /// Whether retrying later may succeed (see [`data::Error::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Data(e) if e.is_retryable())
    }

    pub(crate) fn type_mismatch(attribute: &'static str, e: &data::Error) -> Self {
        let message = match e {
            data::Error::Serialization(m) => m.clone(),
            other => other.to_string(),
        };
        Error::TypeMismatch { attribute, message }
    }

    pub(crate) fn schema(model: &'static str, message: impl Into<String>) -> Self {
        Error::Schema {
            model,
            message: message.into(),
        }
    }
}

impl From<data::Error> for Error {
    fn from(e: data::Error) -> Self {
        Error::Data(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Data(e) => e.fmt(f),
            Error::TypeMismatch { attribute, message } => {
                write!(f, "attribute `{attribute}` has the wrong type: {message}")
            }
            Error::Validation {
                attribute,
                rule,
                message,
            } => write!(f, "attribute `{attribute}` failed `{rule}`: {message}"),
            Error::UnknownAttribute { attribute } => {
                write!(f, "attribute `{attribute}` is not part of the model")
            }
            Error::MissingRequired { attribute } => {
                write!(f, "attribute `{attribute}` is required and missing")
            }
            Error::KeyAttribute { attribute } => write!(
                f,
                "attribute `{attribute}` is part of the key and cannot be updated: delete and create the item instead"
            ),
            Error::WrongEntity { expected, found } => match found {
                Some(found) => write!(f, "the item is a `{found}`, not a `{expected}`"),
                None => write!(
                    f,
                    "the item has no entity attribute (expected `{expected}`)"
                ),
            },
            Error::Schema { model, message } => {
                write!(f, "model `{model}` does not match its table: {message}")
            }
            Error::NoIndex { model, message } => {
                write!(f, "no key of model `{model}` fits the query: {message}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Data(e) => Some(e),
            _ => None,
        }
    }
}
