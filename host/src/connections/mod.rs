//! The `connections` capability: a function sends to, reads and closes the host's open
//! WebSocket connections through the WIT `connections` interface (API Gateway's
//! `@connections` API), when its manifest entry grants it:
//!
//! ```toml
//! [functions.chat]
//! module = "chat.wasm"
//! connections = true
//! ```
//!
//! Its three moments:
//! - engine time: links `portico:edge/connections`;
//! - app time: reads the function's grant ([`ConnectionsGrant`]);
//! - request time: the instance holds the host's [`Sockets`] if granted, and counts the
//!   messages it posted (`posts` in the access log).
//!
//! A connection another host holds (hosts sharing a DynamoDB) is reached through that
//! host: see [`crate::sockets`].

use crate::runtime::{
    Capability, ConfigureError, FunctionInfo, InstanceBuilder, InstanceState, InvocationRecord,
};
use crate::sockets::{Outgoing, SocketError, Sockets};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    #![allow(missing_docs)] // Generated from the WIT, which documents every item.
    wasmtime::component::bindgen!({
        path: "../wit",
        interfaces: "import portico:edge/connections@0.1.0;",
        imports: { default: async | trappable },
    });
}

use bindings::portico::edge::connections as wit;

/// `connections = true` in a function's manifest entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionsGrant(pub bool);

/// The capability, over the host's open connections.
#[derive(Debug, Clone)]
pub struct Connections {
    sockets: Arc<Sockets>,
}

impl Connections {
    /// Calls go to `sockets`.
    pub fn new(sockets: Arc<Sockets>) -> Connections {
        Connections { sockets }
    }
}

/// An instance's view: the sockets if the function is granted them, and its count.
#[derive(Debug, Default)]
pub struct ConnectionsContext {
    sockets: Option<Arc<Sockets>>,
    posts: u32,
}

impl Capability for Connections {
    type Function = bool;
    type Instance = ConnectionsContext;

    fn name(&self) -> &'static str {
        "connections"
    }

    fn link(&self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        wit::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
    }

    fn configure(&self, function: &FunctionInfo<'_>) -> Result<bool, ConfigureError> {
        Ok(function
            .configs
            .get::<ConnectionsGrant>()
            .is_some_and(|grant| grant.0))
    }

    fn instantiate(
        &self,
        granted: &bool,
        _instance: &mut InstanceBuilder<'_>,
    ) -> ConnectionsContext {
        ConnectionsContext {
            sockets: granted.then(|| Arc::clone(&self.sockets)),
            posts: 0,
        }
    }

    fn report(&self, context: &mut ConnectionsContext, record: &mut InvocationRecord) {
        if context.posts > 0 {
            record.add("posts", u64::from(context.posts));
        }
    }
}

impl InstanceState {
    fn sockets(&mut self) -> Result<(Arc<Sockets>, &mut ConnectionsContext), wit::Error> {
        let context = self
            .capability::<ConnectionsContext>()
            .ok_or(wit::Error::NotAllowed)?;
        let sockets = context.sockets.clone().ok_or(wit::Error::NotAllowed)?;
        Ok((sockets, context))
    }
}

fn error(e: SocketError) -> wit::Error {
    match e {
        SocketError::Gone(_) => wit::Error::Gone,
        SocketError::Invalid(why) => wit::Error::Invalid(why),
        SocketError::Unavailable(why) => wit::Error::Unavailable(why),
    }
}

impl wit::Host for InstanceState {
    async fn post(
        &mut self,
        connection_id: String,
        data: Vec<u8>,
        is_binary: bool,
    ) -> wasmtime::Result<Result<(), wit::Error>> {
        let (sockets, context) = match self.sockets() {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let message = if is_binary {
            Outgoing::Binary(data)
        } else {
            match String::from_utf8(data) {
                Ok(text) => Outgoing::Text(text),
                Err(_) => {
                    return Ok(Err(wit::Error::Invalid(
                        "a text message must be UTF-8 (post it as binary)".into(),
                    )));
                }
            }
        };
        context.posts += 1;
        Ok(sockets.post(&connection_id, message).await.map_err(error))
    }

    async fn get(
        &mut self,
        connection_id: String,
    ) -> wasmtime::Result<Result<wit::ConnectionInfo, wit::Error>> {
        let (sockets, _) = match self.sockets() {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        Ok(sockets
            .get(&connection_id)
            .await
            .map(|info| wit::ConnectionInfo {
                connected_at: info.connected_at,
                last_active_at: info.last_active_at,
                source_ip: info.source_ip,
                user_agent: info.user_agent,
            })
            .map_err(error))
    }

    async fn close(&mut self, connection_id: String) -> wasmtime::Result<Result<(), wit::Error>> {
        let (sockets, _) = match self.sockets() {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        Ok(sockets.close(&connection_id).await.map_err(error))
    }
}
