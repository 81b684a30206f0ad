//! The open WebSocket connections of this host: the WebSocket API's sessions register
//! here, and whatever sends to a connection from outside its session — the
//! `connections` capability, the admin API's `/@connections` — goes through here.
//!
//! Contract: a registered socket's queue is the session's own bounded queue; a sender
//! never waits (a full queue means a client too slow to keep, and closes it); closing
//! a socket ends its session, which then unregisters it and runs `$disconnect`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A message for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

/// Why a send or a close failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketError {
    /// No open connection has that id (API Gateway's 410 Gone).
    #[error("connection `{0}` is gone")]
    Gone(String),
    /// The message cannot be sent.
    #[error("{0}")]
    Invalid(String),
}

/// One open connection.
#[derive(Debug)]
pub struct Socket {
    /// When it was made (ms since the Unix epoch).
    pub connected_at: u64,
    /// The client's address.
    pub source_ip: String,
    /// The client's `user-agent` at connect.
    pub user_agent: String,
    /// The largest message it takes.
    pub max_message: usize,
    last_active: AtomicU64,
    queue: mpsc::Sender<Outgoing>,
    closed: CancellationToken,
    slow: std::sync::atomic::AtomicBool,
}

impl Socket {
    /// When it last sent or was sent a message (ms since the Unix epoch).
    pub fn last_active_at(&self) -> u64 {
        self.last_active.load(Ordering::Relaxed)
    }

    /// Notes activity now.
    pub fn touch(&self) {
        self.last_active.store(now_ms(), Ordering::Relaxed);
    }

    /// Resolves when the connection is to be closed (by [`Sockets::close`], or because
    /// its queue overflowed).
    pub fn closed(&self) -> &CancellationToken {
        &self.closed
    }

    /// Whether it was closed because its queue overflowed.
    pub fn was_slow(&self) -> bool {
        self.slow.load(Ordering::Relaxed)
    }
}

/// The registry.
#[derive(Debug, Default)]
pub struct Sockets {
    open: Mutex<HashMap<String, Arc<Socket>>>,
    /// Set when the host stops: sessions close with 1001 (going away).
    stopping: std::sync::atomic::AtomicBool,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Sockets {
    /// An empty registry.
    pub fn new() -> Arc<Sockets> {
        Arc::new(Sockets::default())
    }

    /// Registers connection `id`, whose session reads `queue`; returns its socket.
    pub fn register(
        &self,
        id: &str,
        connected_at: u64,
        source_ip: String,
        user_agent: String,
        max_message: usize,
        queue: mpsc::Sender<Outgoing>,
    ) -> Arc<Socket> {
        let socket = Arc::new(Socket {
            connected_at,
            source_ip,
            user_agent,
            max_message,
            last_active: AtomicU64::new(connected_at),
            queue,
            closed: CancellationToken::new(),
            slow: std::sync::atomic::AtomicBool::new(false),
        });
        if let Ok(mut open) = self.open.lock() {
            open.insert(id.to_string(), Arc::clone(&socket));
        }
        socket
    }

    /// Forgets connection `id` (its session ended).
    pub fn unregister(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    /// The open connection `id`.
    pub fn get(&self, id: &str) -> Result<Arc<Socket>, SocketError> {
        self.open
            .lock()
            .ok()
            .and_then(|open| open.get(id).cloned())
            .filter(|s| !s.closed.is_cancelled())
            .ok_or_else(|| SocketError::Gone(id.to_string()))
    }

    /// Queues `message` for connection `id`, without waiting. A full queue closes the
    /// connection (too slow a reader) and answers [`SocketError::Gone`].
    pub fn post(&self, id: &str, message: Outgoing) -> Result<(), SocketError> {
        let socket = self.get(id)?;
        let size = match &message {
            Outgoing::Text(text) => text.len(),
            Outgoing::Binary(bytes) => bytes.len(),
        };
        if size > socket.max_message {
            return Err(SocketError::Invalid(format!(
                "a message of {size} bytes is over the API's max_message of {} bytes",
                socket.max_message
            )));
        }
        match socket.queue.try_send(message) {
            Ok(()) => {
                socket.touch();
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                socket.slow.store(true, Ordering::Relaxed);
                socket.closed.cancel();
                Err(SocketError::Gone(id.to_string()))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SocketError::Gone(id.to_string())),
        }
    }

    /// Closes connection `id`.
    pub fn close(&self, id: &str) -> Result<(), SocketError> {
        self.get(id)?.closed.cancel();
        Ok(())
    }

    /// Closes every connection because the host is stopping (each session sends 1001
    /// and runs its `$disconnect`), and waits up to `grace` for them to end.
    pub async fn close_all(&self, grace: std::time::Duration) {
        self.stopping.store(true, Ordering::Relaxed);
        let open: Vec<Arc<Socket>> = self
            .open
            .lock()
            .map(|open| open.values().cloned().collect())
            .unwrap_or_default();
        for socket in open {
            socket.closed.cancel();
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !self.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Whether the host is stopping.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Open connections.
    pub fn len(&self) -> usize {
        self.open.lock().map_or(0, |open| open.len())
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_closes_the_socket_and_gone_ones_say_so() {
        let sockets = Sockets::new();
        let (tx, mut rx) = mpsc::channel(1);
        let socket = sockets.register("c1", 1, "ip".into(), "ua".into(), 5, tx);
        assert_eq!(sockets.post("c1", Outgoing::Text("hi".into())), Ok(()));
        assert!(matches!(
            sockets.post("c1", Outgoing::Text("toolong".into())),
            Err(SocketError::Invalid(_))
        ));
        assert_eq!(
            sockets.post("c1", Outgoing::Text("2".into())),
            Err(SocketError::Gone("c1".into()))
        );
        assert!(socket.closed().is_cancelled());
        assert_eq!(rx.try_recv(), Ok(Outgoing::Text("hi".into())));
        assert_eq!(
            sockets.get("c1").map(|_| ()),
            Err(SocketError::Gone("c1".into()))
        );
        sockets.unregister("c1");
        assert!(sockets.is_empty());
        assert_eq!(sockets.close("c2"), Err(SocketError::Gone("c2".into())));
    }
}
