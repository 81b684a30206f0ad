//! Topic subscribers: a component that exports `on-message` gets each message of the
//! topics it subscribes to (`[[topics.NAME.subscribers]]` in the manifest) at least
//! once. Returning an error means "not delivered": the host retries it with backoff,
//! then keeps it as a dead letter. Make handlers idempotent (the message id is the same
//! on every attempt).
//!
//! ```no_run
//! use portico_guest::subscriber::Message;
//!
//! fn on_message(message: Message) -> Result<(), String> {
//!     let order: serde_json::Value = message.json().map_err(|e| e.to_string())?;
//!     portico_guest::log::info(format!("email for order {}", order["id"]));
//!     Ok(())
//! }
//!
//! portico_guest::export_subscriber!(on_message);
//! ```

use crate::bindings::portico::edge::topic_types::AttributeType;
use crate::bindings::subscriber::exports::portico::edge::subscriber as wit;

/// One delivery of a message.
#[derive(Debug, Clone)]
pub struct Message {
    inner: wit::Message,
}

impl Message {
    /// The message's id (the same on every attempt).
    pub fn id(&self) -> &str {
        &self.inner.message_id
    }

    /// The topic it was published to.
    pub fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// Its subject, if it has one.
    pub fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }

    /// The body: as published with `raw = true`, else SNS's JSON envelope (whose
    /// `Message` is the body as published).
    pub fn body(&self) -> &str {
        &self.inner.body
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Errors
    /// When the body is not `T` in JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.inner.body)
    }

    /// The value of attribute `name`, as text, if it has one.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.inner
            .attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Every attribute: name, SNS type (`String`, `Number`, `String.Array`, `Binary`),
    /// value.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &'static str, &str)> {
        self.inner.attributes.iter().map(|a| {
            let data_type = match a.data_type {
                AttributeType::String => "String",
                AttributeType::Number => "Number",
                AttributeType::StringArray => "String.Array",
                AttributeType::Binary => "Binary",
            };
            (a.name.as_str(), data_type, a.value.as_str())
        })
    }

    /// When it was published, milliseconds since the Unix epoch.
    pub fn timestamp(&self) -> u64 {
        self.inner.timestamp
    }

    /// Which delivery this is: 1 for the first.
    pub fn delivery_attempt(&self) -> u32 {
        self.inner.delivery_attempt
    }
}

/// Items used by [`export_subscriber!`](crate::export_subscriber)'s expansion. Not
/// part of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use super::wit::{Guest, Message};

    /// Runs a user handler on one message.
    pub fn dispatch<E: std::fmt::Display>(
        message: Message,
        handler: fn(super::Message) -> Result<(), E>,
    ) -> Result<(), String> {
        handler(super::Message { inner: message }).map_err(|e| e.to_string())
    }
}

/// Exports a function as this component's topic subscriber.
///
/// The function is a plain `fn(Message) -> Result<(), E>` with `E: Display`. A
/// component is one kind: a function ([`export!`](crate::export)), an authorizer, a
/// WebSocket handler, or a subscriber.
#[macro_export]
macro_rules! export_subscriber {
    ($handler:path) => {
        #[doc(hidden)]
        struct __PorticoSubscriber;

        impl $crate::subscriber::__private::Guest for __PorticoSubscriber {
            fn on_message(
                message: $crate::subscriber::__private::Message,
            ) -> ::core::result::Result<(), ::std::string::String> {
                $crate::subscriber::__private::dispatch(message, $handler)
            }
        }

        $crate::bindings::subscriber::__export_subscriber_function_impl!(__PorticoSubscriber with_types_in $crate::bindings::subscriber);
    };
}
