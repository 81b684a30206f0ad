//! The open WebSocket connections: the WebSocket API's sessions register here, and
//! whatever sends to a connection from outside its session — the `connections`
//! capability, the admin API's `/@connections` — goes through here.
//!
//! Contract: a registered socket's queue is the session's own bounded queue; a sender
//! never waits for a client (a full queue means a client too slow to keep, and closes
//! it); closing a socket ends its session, which then unregisters it and runs
//! `$disconnect`.
//!
//! Across hosts: when the hosts share a DynamoDB, each [joins](Sockets::join) the
//! others — it records the connections it holds in the [`directory`], and
//! [`post`](Sockets::post), [`get`](Sockets::get) and [`close`](Sockets::close) reach a
//! connection another host holds through that host's [`peer`] endpoint. The `_here`
//! methods act on this host's connections only (what the peer endpoint serves).

pub mod directory;
pub mod peer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    /// The connection is on another host, which cannot be reached now.
    #[error("{0}")]
    Unavailable(String),
}

/// What is known of an open connection, wherever it is (and what the peer endpoint
/// answers `GET` with).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// When it was made (ms since the Unix epoch).
    pub connected_at: u64,
    /// When it last sent or was sent a message (ms since the Unix epoch).
    pub last_active_at: u64,
    /// The client's address.
    pub source_ip: String,
    /// The client's `user-agent` at connect.
    pub user_agent: String,
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

    /// What is known of it.
    pub fn info(&self) -> ConnectionInfo {
        ConnectionInfo {
            connected_at: self.connected_at,
            last_active_at: self.last_active_at(),
            source_ip: self.source_ip.clone(),
            user_agent: self.user_agent.clone(),
        }
    }
}

/// How a host reaches the connections other hosts hold.
#[derive(Debug)]
pub struct Remote {
    directory: directory::Directory,
    /// This host's peer URL, as the directory names it.
    me: Arc<str>,
    peers: peer::PeerClient,
    /// Owners looked up: a connection never moves, so an owner stays right until the
    /// connection is gone (then the entry is dropped).
    owners: moka::sync::Cache<String, Arc<str>>,
}

impl Remote {
    /// Connections are recorded in `directory` as held by `me` (the URL other hosts
    /// reach this host's peer endpoint at); calls to other hosts go through `peers`.
    pub fn new(directory: directory::Directory, me: &str, peers: peer::PeerClient) -> Remote {
        Remote {
            directory,
            me: me.trim_end_matches('/').into(),
            peers,
            owners: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(600))
                .build(),
        }
    }

    /// The host holding connection `id`, which is not this one.
    async fn owner(&self, id: &str) -> Result<Arc<str>, SocketError> {
        if let Some(owner) = self.owners.get(id) {
            return Ok(owner);
        }
        let owner = self
            .directory
            .owner(id)
            .await
            .map_err(|e| SocketError::Unavailable(format!("cannot look the connection up: {e}")))?
            .map(|owner| Arc::<str>::from(owner.trim_end_matches('/')))
            // A record naming this host is of a connection it no longer has.
            .filter(|owner| *owner != self.me)
            .ok_or_else(|| SocketError::Gone(id.to_string()))?;
        self.owners.insert(id.to_string(), Arc::clone(&owner));
        Ok(owner)
    }

    /// A peer call's outcome for connection `id`, forgetting its owner if it is gone.
    fn settle<T>(&self, id: &str, result: Result<T, peer::PeerError>) -> Result<T, SocketError> {
        result.map_err(|e| match e {
            peer::PeerError::Gone => {
                self.owners.invalidate(id);
                SocketError::Gone(id.to_string())
            }
            peer::PeerError::Failed(e) => e,
        })
    }
}

/// The registry.
#[derive(Debug, Default)]
pub struct Sockets {
    open: Mutex<HashMap<String, Arc<Socket>>>,
    /// Set when the host stops: sessions close with 1001 (going away).
    stopping: std::sync::atomic::AtomicBool,
    /// Set when this host shares its connections with others.
    remote: OnceLock<Remote>,
    /// Every session until it has fully ended (its close frame sent, its `$disconnect`
    /// run): what a stopping host waits for, since a connection leaves `open` first.
    sessions: tokio_util::task::TaskTracker,
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

    /// Held by a session until it has fully ended; [`Sockets::close_all`] waits for
    /// every one.
    pub fn session(&self) -> tokio_util::task::task_tracker::TaskTrackerToken {
        self.sessions.token()
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

    /// Shares this host's connections with the other hosts of `remote`'s directory
    /// (once; a second call is ignored, and says so).
    pub fn join(&self, remote: Remote) -> bool {
        self.remote.set(remote).is_ok()
    }

    /// Records that this host holds connection `id` (made at `connected_ms`, closed by
    /// `lifetime_end_ms`), when it shares its connections; returns once the record is
    /// committed.
    pub async fn claim(
        &self,
        id: &str,
        connected_ms: u64,
        lifetime_end_ms: u64,
    ) -> Result<(), portico_data::DataError> {
        match self.remote.get() {
            Some(remote) => {
                remote
                    .directory
                    .claim(id, &remote.me, connected_ms, lifetime_end_ms)
                    .await
            }
            None => Ok(()),
        }
    }

    /// Forgets this host's record of connection `id` (best effort: a record left by a
    /// failure expires with its TTL).
    pub async fn release(&self, id: &str) {
        if let Some(remote) = self.remote.get()
            && let Err(e) = remote.directory.release(id).await
        {
            tracing::warn!(connection = %id, "cannot delete the connection's record: {e}");
        }
    }

    /// Queues `message` for connection `id`, on this host or the one holding it.
    pub async fn post(&self, id: &str, message: Outgoing) -> Result<(), SocketError> {
        let remote = match (self.get_here(id), self.remote.get()) {
            (Ok(socket), _) => return Self::send(&socket, id, message),
            (Err(SocketError::Gone(_)), Some(remote)) => remote,
            (Err(e), _) => return Err(e),
        };
        let owner = remote.owner(id).await?;
        remote.settle(id, remote.peers.post(&owner, id, message).await)
    }

    /// What is known of connection `id`, on this host or the one holding it.
    pub async fn get(&self, id: &str) -> Result<ConnectionInfo, SocketError> {
        let remote = match (self.get_here(id), self.remote.get()) {
            (Ok(socket), _) => return Ok(socket.info()),
            (Err(SocketError::Gone(_)), Some(remote)) => remote,
            (Err(e), _) => return Err(e),
        };
        let owner = remote.owner(id).await?;
        remote.settle(id, remote.peers.get(&owner, id).await)
    }

    /// Closes connection `id`, on this host or the one holding it.
    pub async fn close(&self, id: &str) -> Result<(), SocketError> {
        let remote = match (self.close_here(id), self.remote.get()) {
            (Err(SocketError::Gone(_)), Some(remote)) => remote,
            (result, _) => return result,
        };
        let owner = remote.owner(id).await?;
        remote.settle(id, remote.peers.close(&owner, id).await)
    }

    /// This host's open connection `id`.
    pub fn get_here(&self, id: &str) -> Result<Arc<Socket>, SocketError> {
        self.open
            .lock()
            .ok()
            .and_then(|open| open.get(id).cloned())
            .filter(|s| !s.closed.is_cancelled())
            .ok_or_else(|| SocketError::Gone(id.to_string()))
    }

    /// Queues `message` for this host's connection `id`, without waiting. A full queue
    /// closes the connection (too slow a reader) and answers [`SocketError::Gone`].
    pub fn post_here(&self, id: &str, message: Outgoing) -> Result<(), SocketError> {
        Self::send(&*self.get_here(id)?, id, message)
    }

    fn send(socket: &Socket, id: &str, message: Outgoing) -> Result<(), SocketError> {
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

    /// Closes this host's connection `id`.
    pub fn close_here(&self, id: &str) -> Result<(), SocketError> {
        self.get_here(id)?.closed.cancel();
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
        // Not `open` becoming empty: a session leaves it before its close frame is sent
        // and its `$disconnect` runs, and the process must not exit in between.
        self.sessions.close();
        let _ = tokio::time::timeout(grace, self.sessions.wait()).await;
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
        assert_eq!(sockets.post_here("c1", Outgoing::Text("hi".into())), Ok(()));
        assert!(matches!(
            sockets.post_here("c1", Outgoing::Text("toolong".into())),
            Err(SocketError::Invalid(_))
        ));
        assert_eq!(
            sockets.post_here("c1", Outgoing::Text("2".into())),
            Err(SocketError::Gone("c1".into()))
        );
        assert!(socket.closed().is_cancelled());
        assert_eq!(rx.try_recv(), Ok(Outgoing::Text("hi".into())));
        assert_eq!(
            sockets.get_here("c1").map(|_| ()),
            Err(SocketError::Gone("c1".into()))
        );
        sockets.unregister("c1");
        assert!(sockets.is_empty());
        assert_eq!(
            sockets.close_here("c2"),
            Err(SocketError::Gone("c2".into()))
        );
    }
}
