//! Guest stdout and stderr, captured into the host's `tracing` log one line at a time,
//! tagged with the function and the request id.

use bytes::Bytes;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Longest line logged as one record; longer lines are split.
const MAX_LINE: usize = 16 << 10;
/// Output bytes one invocation may log; the rest is dropped with one notice.
pub const OUTPUT_BUDGET: usize = 1 << 20;

/// Which guest stream a line came from.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// stdout: logged at info level.
    Stdout,
    /// stderr: logged at warn level.
    Stderr,
}

/// Who is writing: shared by an invocation's stdout and stderr.
#[derive(Debug, Clone)]
pub struct OutputTags {
    /// Function name.
    pub function: Arc<str>,
    /// Request id of the invocation.
    pub request_id: Arc<str>,
    /// Bytes this invocation may still log.
    pub budget: Arc<AtomicUsize>,
}

impl OutputTags {
    /// Tags for one invocation, with a fresh output budget.
    pub fn new(function: Arc<str>, request_id: Arc<str>) -> Self {
        OutputTags {
            function,
            request_id,
            budget: Arc::new(AtomicUsize::new(OUTPUT_BUDGET)),
        }
    }
}

/// A `StdoutStream` that logs.
pub struct GuestOutput {
    tags: OutputTags,
    stream: Stream,
}

impl GuestOutput {
    /// Captures `stream` of the invocation described by `tags`.
    pub fn new(tags: OutputTags, stream: Stream) -> Self {
        GuestOutput { tags, stream }
    }

    fn logger(&self) -> LineLogger {
        LineLogger {
            tags: self.tags.clone(),
            stream: self.stream,
            buf: Vec::new(),
            truncated: false,
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.logger())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.logger())
    }
}

/// Buffers a partial line; emits each complete line as a log record.
struct LineLogger {
    tags: OutputTags,
    stream: Stream,
    buf: Vec<u8>,
    truncated: bool,
}

impl LineLogger {
    fn push(&mut self, mut bytes: &[u8]) {
        let allowed = take_budget(&self.tags.budget, bytes.len());
        if allowed < bytes.len() {
            bytes = &bytes[..allowed];
            if !self.truncated {
                self.truncated = true;
                tracing::warn!(
                    target: "portico::guest",
                    function = %self.tags.function,
                    request_id = %self.tags.request_id,
                    "guest output over {OUTPUT_BUDGET} bytes; the rest of this invocation's output is dropped"
                );
            }
        }
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            self.buf.extend_from_slice(chunk);
            if chunk.ends_with(b"\n") || self.buf.len() >= MAX_LINE {
                self.emit();
            }
        }
    }

    fn emit(&mut self) {
        let line = String::from_utf8_lossy(&self.buf);
        let line = super::printable(line.trim_end_matches(['\n', '\r']));
        let (function, request_id) = (&*self.tags.function, &*self.tags.request_id);
        match self.stream {
            Stream::Stdout => {
                tracing::info!(target: "portico::guest", function, request_id, stream = "stdout", "{line}");
            }
            Stream::Stderr => {
                tracing::warn!(target: "portico::guest", function, request_id, stream = "stderr", "{line}");
            }
        }
        self.buf.clear();
    }
}

/// Takes up to `want` bytes from `budget`; returns how many were granted.
fn take_budget(budget: &AtomicUsize, want: usize) -> usize {
    let mut granted = 0;
    let _ = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
        granted = left.min(want);
        Some(left - granted)
    });
    granted
}

impl Drop for LineLogger {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.emit();
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineLogger {
    async fn ready(&mut self) {}
}

impl OutputStream for LineLogger {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for LineLogger {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_shared_and_never_negative() {
        let budget = AtomicUsize::new(10);
        assert_eq!(take_budget(&budget, 4), 4);
        assert_eq!(take_budget(&budget, 10), 6);
        assert_eq!(take_budget(&budget, 1), 0);
    }
}
