//! Structured logging into the host's log.
//!
//! Every record is tagged by the host with the request id and the function name.
//! `println!` and `eprintln!` work too (one host log line per text line), but these
//! functions carry a level.
//!
//! ```no_run
//! portico_guest::log::info("order accepted");
//! portico_guest::log::warn(format!("slow path taken for {}", 42));
//! ```

use crate::bindings::portico::edge::log::{Level, log};

/// Log at `trace` level.
pub fn trace(message: impl AsRef<str>) {
    log(Level::Trace, message.as_ref());
}

/// Log at `debug` level.
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message.as_ref());
}

/// Log at `info` level.
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message.as_ref());
}

/// Log at `warn` level.
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message.as_ref());
}

/// Log at `error` level.
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message.as_ref());
}
