//! Publishing to the manifest's topics (the SNS role), for a function whose manifest
//! entry lists them (`topics = ["orders"]`). A publish returns once the message is
//! durable: queued for every subscriber whose filter policy matches it.
//!
//! ```no_run
//! use portico_guest::topics::{self, Attribute};
//! # fn f() -> Result<(), portico_guest::topics::Error> {
//! let id = topics::Publish::new("orders", r#"{"item":"tea","quantity":2}"#)
//!     .subject("Order placed")
//!     .attribute(Attribute::string("kind", "placed"))
//!     .attribute(Attribute::number("quantity", 2))
//!     .send()?;
//! portico_guest::log::info(format!("published {id}"));
//! # Ok(()) }
//! ```

use crate::bindings::portico::edge::topic_types::{AttributeType, MessageAttribute};
use crate::bindings::portico::edge::topics as wit;

pub use wit::Error;

/// A message attribute, what subscribers' filter policies match on.
#[derive(Debug, Clone)]
pub struct Attribute(MessageAttribute);

impl Attribute {
    /// A `String` attribute.
    pub fn string(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute(MessageAttribute {
            name: name.into(),
            data_type: AttributeType::String,
            value: value.into(),
        })
    }

    /// A `Number` attribute.
    pub fn number(name: impl Into<String>, value: impl std::fmt::Display) -> Attribute {
        Attribute(MessageAttribute {
            name: name.into(),
            data_type: AttributeType::Number,
            value: value.to_string(),
        })
    }

    /// A `String.Array` attribute.
    pub fn string_array<S: AsRef<str>>(name: impl Into<String>, values: &[S]) -> Attribute {
        let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
        Attribute(MessageAttribute {
            name: name.into(),
            data_type: AttributeType::StringArray,
            value: serde_json::to_string(&values).unwrap_or_else(|_| "[]".into()),
        })
    }

    /// A `Binary` attribute.
    pub fn binary(name: impl Into<String>, bytes: &[u8]) -> Attribute {
        use base64::Engine as _;
        Attribute(MessageAttribute {
            name: name.into(),
            data_type: AttributeType::Binary,
            value: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }
}

/// A message being built; [`send`](Publish::send) publishes it.
#[derive(Debug, Clone)]
#[must_use = "a message is published by `send`"]
pub struct Publish {
    topic: String,
    body: String,
    subject: Option<String>,
    attributes: Vec<MessageAttribute>,
}

impl Publish {
    /// A message with `body` for `topic`.
    pub fn new(topic: impl Into<String>, body: impl Into<String>) -> Publish {
        Publish {
            topic: topic.into(),
            body: body.into(),
            subject: None,
            attributes: Vec::new(),
        }
    }

    /// Sets its subject.
    pub fn subject(mut self, subject: impl Into<String>) -> Publish {
        self.subject = Some(subject.into());
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: Attribute) -> Publish {
        self.attributes.push(attribute.0);
        self
    }

    /// Publishes it; its message id.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] for a topic not in the function's `topics`,
    /// [`Error::Invalid`] for a message over SNS's limits, [`Error::Unavailable`] when
    /// the queue cannot be written (nothing was published).
    pub fn send(self) -> Result<String, Error> {
        wit::publish(
            &self.topic,
            &self.body,
            &self.attributes,
            self.subject.as_deref(),
        )
    }
}

/// Publishes `body` to `topic`, without subject or attributes; its message id.
///
/// # Errors
/// As [`Publish::send`].
pub fn publish(topic: &str, body: &str) -> Result<String, Error> {
    Publish::new(topic, body).send()
}
