//! WebSocket APIs, as API Gateway runs them: one API per host, upgraded on its path of
//! the public listener (`/ws` by default, under a stage's prefix as HTTP routes are),
//! its routes leading to WebSocket route functions (`Kind::WebSocket`).
//!
//! ```toml
//! [websocket]
//! path = "/ws"
//! route_selection_expression = "$request.body.action"
//!
//! [websocket.routes]
//! "$connect" = "chat"        # runs on the upgrade; a non-2xx answer refuses it
//! "$disconnect" = "chat"     # runs once when the connection ends, for any reason
//! "$default" = "chat"        # messages no other route matches (and non-JSON ones)
//! "sendmessage" = "chat"     # {"action": "sendmessage", ...}
//! ```
//!
//! A connection's life ([`session`]): the upgrade runs `$connect` (if routed) before the
//! handshake is answered; each message is routed by the selection expression — an exact
//! route key, else `$default`, else API Gateway's `Forbidden` error frame — and a route's
//! answer body is sent back (two-way routes); `$disconnect` runs once at the end. The
//! host answers pings, bounds frames, messages, idle time, lifetime and the outgoing
//! queue ([`Limits`]). Route functions are looked up for every event, so a deploy
//! applies to the next message of open connections.

pub mod selection;
mod session;
mod upgrade;

pub use selection::SelectionExpression;
pub use upgrade::{is_upgrade, upgrade};

use crate::runtime::{Function, Kind};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// API Gateway's WebSocket frame limit.
pub const DEFAULT_MAX_FRAME: usize = 32 * 1024;
/// API Gateway's WebSocket message limit.
pub const DEFAULT_MAX_MESSAGE: usize = 128 * 1024;
/// API Gateway's idle timeout.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// API Gateway's connection lifetime.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);
/// Messages waiting to be sent to one client before it counts as too slow.
pub const DEFAULT_MAX_OUTGOING: usize = 256;
/// API Gateway's limit on new connections per second (its account-level default).
pub const DEFAULT_CONNECT_RATE: f64 = 500.0;

/// What bounds one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame; larger closes the connection with 1009.
    pub max_frame: usize,
    /// Largest message (frames reassembled); larger closes with 1009.
    pub max_message: usize,
    /// A connection with no message either way for this long is closed (1001).
    pub idle_timeout: Duration,
    /// A connection is closed (1001) this long after it opened.
    pub max_lifetime: Duration,
    /// Messages queued for a client; past it the client is too slow and is closed
    /// (1008), so a slow reader never costs unbounded memory.
    pub max_outgoing: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: DEFAULT_MAX_FRAME,
            max_message: DEFAULT_MAX_MESSAGE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            max_outgoing: DEFAULT_MAX_OUTGOING,
        }
    }
}

/// The route keys API Gateway gives a meaning of its own.
pub const CONNECT: &str = "$connect";
/// See [`CONNECT`].
pub const DISCONNECT: &str = "$disconnect";
/// See [`CONNECT`].
pub const DEFAULT: &str = "$default";

/// The manifest's `[websocket]`: the API's path, selection expression, limits and
/// routes (route key → function name).
#[derive(Debug, Clone)]
pub struct WebSocketApi {
    /// Where it upgrades (below a stage's prefix).
    pub path: String,
    /// How a message picks its route.
    pub selection: SelectionExpression,
    /// What bounds a connection.
    pub limits: Limits,
    /// Route key → function.
    pub routes: BTreeMap<String, String>,
    /// The bucket new connections take a token from (`connect_throttle`); over it an
    /// upgrade gets 429 `{"message":"Too Many Requests"}` and no `$connect` runs.
    pub connect_throttle: Arc<crate::policy::throttle::Throttle>,
    /// The upgrade's policies, as a route's: `auth` (an authorizer, before `$connect`)
    /// and `api_key_required`. What they establish reaches every event of the
    /// connection through the `authorization` interface.
    pub options: crate::gateway::RouteOptions,
}

impl WebSocketApi {
    /// The function route `key` leads to, if it is routed.
    pub fn route(&self, key: &str) -> Option<&str> {
        self.routes.get(key).map(String::as_str)
    }

    /// The route of a message: the route key its selection expression yields if routed,
    /// else `$default` if routed, else none.
    pub fn route_for_message(&self, body: &[u8], binary: bool) -> Option<(String, &str)> {
        let selected = if binary {
            None
        } else {
            self.selection.select(body)
        };
        selected
            .and_then(|key| self.routes.get(&key).map(|f| (key, f.as_str())))
            .or_else(|| {
                self.routes
                    .get(DEFAULT)
                    .map(|f| (DEFAULT.to_string(), f.as_str()))
            })
    }

    /// Checks that every route leads to a served WebSocket route function.
    pub fn check(&self, functions: &BTreeMap<String, Arc<Function>>) -> Result<(), String> {
        for (key, name) in &self.routes {
            match functions.get(name) {
                None => {
                    return Err(format!(
                        "websocket route `{key}` leads to unknown function `{name}`"
                    ));
                }
                Some(f) if f.kind() != Kind::WebSocket => {
                    return Err(format!(
                        "websocket route `{key}` leads to function `{name}`, of kind `{}`; a WebSocket route needs a component exporting `{}` (the `websocket-function` world)",
                        f.kind(),
                        Kind::WebSocket.export()
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}
