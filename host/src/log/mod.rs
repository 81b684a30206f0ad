//! The `log` capability: the WIT `log` interface and the guest's stdout and stderr,
//! both into the host's `tracing` log, tagged with the function and the request id.
//!
//! Its three moments:
//! - engine time: links `portico:edge/log`;
//! - app time: nothing to configure (every function may log);
//! - request time: the invocation's tags and output budget, with stdout and stderr of
//!   the instance's WASI context captured line by line.

mod output;

pub use output::{GuestOutput, OUTPUT_BUDGET, OutputTags, Stream};

use crate::runtime::{Capability, ConfigureError, FunctionInfo, InstanceBuilder, InstanceState};
use std::sync::atomic::Ordering;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    #![allow(missing_docs)] // Generated from the WIT, which documents every item.
    wasmtime::component::bindgen!({
        path: "../wit",
        interfaces: "import portico:edge/log@0.1.0;",
        imports: { default: async | trappable },
    });
}

use bindings::portico::edge::log::{self as wit, Level};

/// The `log` capability (registered once; see [`crate::runtime::Capabilities`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Log;

/// One instance's log tags.
pub struct LogInstance {
    tags: OutputTags,
}

impl Capability for Log {
    type Function = ();
    type Instance = LogInstance;

    fn name(&self) -> &'static str {
        "log"
    }

    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        wit::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
    }

    fn configure(&self, _function: &FunctionInfo<'_>) -> Result<(), ConfigureError> {
        Ok(())
    }

    fn instantiate(&self, _function: &(), instance: &mut InstanceBuilder<'_>) -> LogInstance {
        let tags = OutputTags::new(instance.function.clone(), instance.request_id.clone());
        instance
            .wasi()
            .stdout(GuestOutput::new(tags.clone(), Stream::Stdout))
            .stderr(GuestOutput::new(tags.clone(), Stream::Stderr));
        LogInstance { tags }
    }
}

impl wit::Host for InstanceState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let Some(LogInstance { tags }) = self.capability::<LogInstance>() else {
            return Ok(());
        };
        let allowed = tags
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(message.len()))
            })
            .unwrap_or(0);
        if allowed == 0 {
            return Ok(());
        }
        let (function, request_id) = (&*tags.function, &*tags.request_id);
        let message = printable(&message[..floor_char_boundary(&message, allowed)]);
        match level {
            Level::Trace => {
                tracing::trace!(target: "portico::guest", function, request_id, "{message}");
            }
            Level::Debug => {
                tracing::debug!(target: "portico::guest", function, request_id, "{message}");
            }
            Level::Info => {
                tracing::info!(target: "portico::guest", function, request_id, "{message}");
            }
            Level::Warn => {
                tracing::warn!(target: "portico::guest", function, request_id, "{message}");
            }
            Level::Error => {
                tracing::error!(target: "portico::guest", function, request_id, "{message}");
            }
        }
        Ok(())
    }
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A guest's text as one log line: control characters (line breaks, terminal escape
/// sequences) are written as escapes (`\n`, `\u{1b}`), so a function cannot forge lines
/// that look like the host's or rewrite a terminal. Tabs stay.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| c.is_control() && c != '\t';
    if !text.chars().any(escaped) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn guest_text_stays_on_one_line() {
        assert_eq!(printable("plain\ttext é"), "plain\ttext é");
        assert_eq!(
            printable("ok\nINFO portico::gateway: forged\r\u{1b}[2K"),
            "ok\\nINFO portico::gateway: forged\\r\\u{1b}[2K"
        );
    }
}
