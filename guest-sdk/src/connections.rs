//! The host's open WebSocket connections (API Gateway's `@connections` API), for a
//! function whose manifest entry says `connections = true`. Where several hosts share a
//! DynamoDB, a connection another host holds is reached through it; when that host
//! cannot be reached the call fails with [`Error::Unavailable`].
//!
//! ```no_run
//! # fn f(room: &[String]) -> Result<(), portico_guest::connections::Error> {
//! for member in room {
//!     // A member that left is `gone`: skip it.
//!     match portico_guest::connections::post(member, "someone joined") {
//!         Ok(()) | Err(portico_guest::connections::Error::Gone) => {}
//!         Err(e) => return Err(e),
//!     }
//! }
//! # Ok(()) }
//! ```

use crate::bindings::portico::edge::connections as wit;

pub use wit::{ConnectionInfo, Error};

/// Sends `text` to the client of `connection_id` in a text frame.
///
/// # Errors
/// [`Error::Gone`] if it is closed (or too slow, and so closed now),
/// [`Error::NotAllowed`] without the grant, [`Error::Invalid`] over `max_message`,
/// [`Error::Unavailable`] when the host holding it cannot be reached.
pub fn post(connection_id: &str, text: &str) -> Result<(), Error> {
    wit::post(connection_id, text.as_bytes(), false)
}

/// Sends `bytes` to the client of `connection_id` in a binary frame.
///
/// # Errors
/// As [`post`].
pub fn post_binary(connection_id: &str, bytes: &[u8]) -> Result<(), Error> {
    wit::post(connection_id, bytes, true)
}

/// What is known of an open connection.
///
/// # Errors
/// [`Error::Gone`] if it is closed, [`Error::NotAllowed`] without the grant.
pub fn get(connection_id: &str) -> Result<ConnectionInfo, Error> {
    wit::get(connection_id)
}

/// Closes the connection (its `$disconnect` runs).
///
/// # Errors
/// [`Error::Gone`] if it is closed already, [`Error::NotAllowed`] without the grant.
pub fn close(connection_id: &str) -> Result<(), Error> {
    wit::close(connection_id)
}
