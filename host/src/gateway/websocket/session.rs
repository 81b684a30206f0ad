//! One open WebSocket connection: reads messages, routes each to its function, sends
//! the answers back through a bounded queue, enforces the [`Limits`](super::Limits),
//! and runs `$disconnect` once when it ends.

use super::{DISCONNECT, WebSocketApi};
use crate::gateway::Gateway;
use crate::runtime::websocket::bindings::{
    EventType, WebsocketContext, WebsocketEvent, WebsocketResponse,
};
use crate::sockets::Outgoing;
use futures_util::{SinkExt as _, StreamExt as _};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

/// What one connection is: API Gateway's WebSocket context, less the per-event parts.
#[derive(Debug)]
pub(super) struct Connection {
    /// The connection id.
    pub id: String,
    /// When it was made (ms since the Unix epoch).
    pub connected_at: u64,
    source_ip: String,
    domain_name: String,
    user_agent: String,
    stage: String,
    stage_variables: Vec<(String, String)>,
    /// What the upgrade's policies established (an authorizer's output, the API key):
    /// every event's instance reads it through the `authorization` interface.
    caller: Option<Arc<crate::exchange::Authorization>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The host name of a `host` header, without its port (`[::1]:3000` → `[::1]`).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

impl Connection {
    /// A new connection from `source_ip` to `host`, on stage `stage`.
    pub fn new(
        source_ip: String,
        host: &str,
        user_agent: String,
        (stage, stage_variables): (String, Vec<(String, String)>),
        caller: Option<Arc<crate::exchange::Authorization>>,
    ) -> Connection {
        Connection {
            id: crate::gateway::new_request_id(),
            connected_at: now_ms(),
            source_ip,
            domain_name: strip_port(host).to_string(),
            user_agent,
            stage,
            stage_variables,
            caller,
        }
    }

    /// An event of this connection: `route_key` for `event_type`, carrying `data`.
    pub fn event(
        &self,
        event_type: EventType,
        route_key: &str,
        message_id: Option<String>,
        data: EventData,
    ) -> WebsocketEvent {
        let EventData {
            headers,
            query,
            body,
            is_binary,
        } = data;
        WebsocketEvent {
            request_context: WebsocketContext {
                connection_id: self.id.clone(),
                event_type,
                route_key: route_key.to_string(),
                message_id,
                connected_at: self.connected_at,
                request_time_epoch: now_ms(),
                request_id: crate::gateway::new_request_id(),
                stage: self.stage.clone(),
                domain_name: self.domain_name.clone(),
                source_ip: self.source_ip.clone(),
                user_agent: self.user_agent.clone(),
            },
            headers,
            query_string_parameters: query,
            stage_variables: self.stage_variables.clone(),
            body,
            is_binary,
        }
    }
}

/// What an event carries besides its context: the upgrade request's headers and query
/// (`$connect`), or a message.
#[derive(Debug, Default)]
pub(super) struct EventData {
    /// `$connect`'s request headers.
    pub headers: Vec<(String, String)>,
    /// `$connect`'s query parameters.
    pub query: Vec<(String, String)>,
    /// The message.
    pub body: Vec<u8>,
    /// Whether it came in a binary frame.
    pub is_binary: bool,
}

/// Runs `event` through function `name` as the connection's stage serves it (its pinned
/// version, else the live one: looked up now, so deploys apply to the next event).
/// Failures are logged; `Err(())` tells the caller to answer with an error.
pub(super) async fn invoke(
    gateway: &Gateway,
    connection: &Connection,
    name: &str,
    event: WebsocketEvent,
) -> Result<WebsocketResponse, ()> {
    let served = gateway.served();
    let function = served
        .api
        .stages()
        .iter()
        .find(|s| s.name() == connection.stage)
        .and_then(|stage| stage.function(&served, name))
        .or_else(|| served.functions.get(name))
        .cloned();
    let route = event.request_context.route_key.clone();
    let request_id = event.request_context.request_id.clone();
    let Some(function) = function else {
        tracing::warn!(connection = %connection.id, %route, function = name, "websocket route leads to a function that is not served");
        return Err(());
    };
    let started = Instant::now();
    let (result, record) = gateway
        .runtime()
        .invoke_websocket(&function, event, connection.caller.as_ref())
        .await;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    match result {
        Ok(reply) => {
            tracing::info!(
                target: "portico::websocket",
                connection = %connection.id,
                request_id,
                %route,
                function = function.name(),
                version = function.version(),
                status = reply.status,
                ms = format_args!("{ms:.2}"),
                guest_us = u64::try_from(record.guest.as_micros()).unwrap_or(u64::MAX),
                "websocket event"
            );
            Ok(reply)
        }
        Err(e) => {
            tracing::warn!(connection = %connection.id, request_id, %route, function = function.name(), "websocket event failed: {e}");
            gateway.metrics().failure(function.name(), e.outcome());
            Err(())
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed it (or went away).
    Client,
    /// No message for the idle timeout.
    Idle,
    /// Open for the maximum lifetime.
    Lifetime,
    /// A frame or message over the limit.
    TooBig,
    /// The client broke the protocol.
    Protocol,
    /// The client read too slowly: its outgoing queue was full.
    Slow,
    /// Closed through the `connections` capability or the admin API.
    Closed,
    /// The host is stopping.
    Shutdown,
}

impl End {
    /// Its name in metrics.
    fn as_str(self) -> &'static str {
        match self {
            End::Client => "client",
            End::Idle => "idle",
            End::Lifetime => "lifetime",
            End::TooBig => "too_big",
            End::Protocol => "protocol",
            End::Slow => "slow",
            End::Closed => "closed",
            End::Shutdown => "shutdown",
        }
    }

    /// The close frame the host sends, if it ends the connection itself.
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::Client => return None,
            End::Idle => (CloseCode::Away, "Going away: idle timeout"),
            End::Lifetime => (CloseCode::Away, "Going away: connection lifetime"),
            End::TooBig => (CloseCode::Size, "Message too big"),
            End::Protocol => (CloseCode::Protocol, "Protocol error"),
            End::Slow => (CloseCode::Policy, "Client too slow"),
            End::Closed => (CloseCode::Normal, "Connection closed"),
            End::Shutdown => (CloseCode::Away, "Going away: the server is stopping"),
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

/// API Gateway's error frame for a message that could not be handled.
fn error_frame(message: &str, connection: &Connection, request_id: &str) -> Outgoing {
    Outgoing::Text(
        serde_json::json!({
            "message": message,
            "connectionId": connection.id,
            "requestId": request_id,
        })
        .to_string(),
    )
}

/// Serves one upgraded connection until it ends, then runs `$disconnect`.
pub(super) async fn run<S>(
    gateway: Arc<Gateway>,
    api: Arc<WebSocketApi>,
    connection: Arc<Connection>,
    io: S,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Until the very end (close frame sent, `$disconnect` run): a stopping host waits.
    let _session = gateway.sockets().session();
    let limits = api.limits;
    let config = WebSocketConfig::default()
        .max_frame_size(Some(limits.max_frame))
        .max_message_size(Some(limits.max_message));
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (mut sink, mut stream) = ws.split();
    // The outgoing queue is bounded: a client that does not read is closed, never
    // buffered without end. The session's answers and every post from outside (the
    // registry's sender) share it; the close frame follows what is queued.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Outgoing>(limits.max_outgoing.max(1));
    let (close_tx, close_rx) = tokio::sync::oneshot::channel::<CloseFrame>();
    let socket = gateway.sockets().register(
        &connection.id,
        connection.connected_at,
        connection.source_ip.clone(),
        connection.user_agent.clone(),
        limits.max_message,
        tx.clone(),
    );
    gateway.metrics().websocket_opened();
    let metrics = Arc::clone(gateway.metrics_arc());
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            let message = match message {
                Outgoing::Text(text) => Message::text(text),
                Outgoing::Binary(bytes) => Message::binary(bytes),
            };
            // Counted as it is handed to the socket (before a client can have it).
            metrics.websocket_message("out");
            if sink.send(message).await.is_err() {
                return;
            }
        }
        if let Ok(frame) = close_rx.await {
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
        let _ = sink.close().await;
    });
    let lifetime = tokio::time::sleep(limits.max_lifetime);
    tokio::pin!(lifetime);
    let mut messages = 0u64;
    let end = loop {
        let next = tokio::select! {
            next = tokio::time::timeout(limits.idle_timeout, stream.next()) => next,
            () = &mut lifetime => break End::Lifetime,
            () = socket.closed().cancelled() => {
                break if socket.was_slow() {
                    End::Slow
                } else if gateway.sockets().stopping() {
                    End::Shutdown
                } else {
                    End::Closed
                };
            }
        };
        let message = match next {
            Err(_) => break End::Idle,
            Ok(None) => break End::Client,
            Ok(Some(Err(e))) => {
                use tokio_tungstenite::tungstenite::Error;
                break match e {
                    Error::Capacity(_) => End::TooBig,
                    Error::Protocol(_) | Error::Utf8(_) => End::Protocol,
                    _ => End::Client,
                };
            }
            Ok(Some(Ok(message))) => message,
        };
        let (body, binary) = match message {
            Message::Text(text) => (text.as_bytes().to_vec(), false),
            Message::Binary(bytes) => (bytes.to_vec(), true),
            Message::Close(_) => break End::Client,
            // Pings are answered by the codec itself.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
        };
        messages += 1;
        socket.touch();
        gateway.metrics().websocket_message("in");
        let message_id = format!("{}-{messages}", connection.id);
        let outgoing = match api.route_for_message(&body, binary) {
            None => {
                // No route and no `$default`: API Gateway's answer.
                Some(error_frame(
                    "Forbidden",
                    &connection,
                    &crate::gateway::new_request_id(),
                ))
            }
            Some((key, function)) => {
                let event = connection.event(
                    EventType::Message,
                    &key,
                    Some(message_id),
                    EventData {
                        body,
                        is_binary: binary,
                        ..EventData::default()
                    },
                );
                let request_id = event.request_context.request_id.clone();
                match invoke(&gateway, &connection, function, event).await {
                    Ok(WebsocketResponse {
                        body: Some(body),
                        is_binary,
                        ..
                    }) => Some(if is_binary {
                        Outgoing::Binary(body)
                    } else {
                        Outgoing::Text(String::from_utf8_lossy(&body).into_owned())
                    }),
                    Ok(_) => None,
                    Err(()) => Some(error_frame(
                        "Internal server error",
                        &connection,
                        &request_id,
                    )),
                }
            }
        };
        if let Some(outgoing) = outgoing
            && tx.try_send(outgoing).is_err()
        {
            break End::Slow;
        }
    };
    tracing::debug!(connection = %connection.id, ?end, messages, "websocket connection ended");
    gateway.sockets().unregister(&connection.id);
    gateway.metrics().websocket_closed(end.as_str());
    // The writer sends what is queued, then our close frame if we end the connection
    // (without one, it closes at once: the client closed, or is gone).
    match end.close_frame() {
        Some(frame) => {
            let _ = close_tx.send(frame);
        }
        None => drop(close_tx),
    }
    drop((tx, socket));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), writer).await;
    gateway.sockets().release(&connection.id).await;
    disconnect(&gateway, &api, &connection).await;
}

/// Runs `$disconnect` for `connection`, if it is routed (once; best effort: its answer
/// goes nowhere).
pub(super) async fn disconnect(gateway: &Gateway, api: &WebSocketApi, connection: &Connection) {
    if let Some(function) = api.route(DISCONNECT) {
        let event = connection.event(
            EventType::Disconnect,
            DISCONNECT,
            None,
            EventData::default(),
        );
        let _ = invoke(gateway, connection, function, event).await;
    }
}
