//! A WebSocket route function for every route of a `[websocket]` API:
//!
//! - `$connect`: refused with 403 when the upgrade's query has `deny=1`, else accepted;
//! - route `echo` (`{"action":"echo", ...}`): answers with the message, the connection id
//!   and the route key (a two-way route);
//! - route `quiet`: answers nothing (a one-way route);
//! - route `fail`: returns an error (the client gets API Gateway's error frame);
//! - `$default`: answers `{"default": "<the message>"}`;
//! - `$disconnect`: logs `disconnected <connection id>`.

use portico_guest::websocket::{EventType, Reply, WebSocketEvent};

fn handle(event: WebSocketEvent) -> Result<Reply, String> {
    match (event.event_type(), event.route_key()) {
        (EventType::Connect, _) if event.query("deny") == Some("1") => Ok(Reply::refuse(403)),
        (EventType::Connect, _) => Ok(Reply::accept()),
        (EventType::Disconnect, _) => {
            portico_guest::log::info(format!("disconnected {}", event.connection_id()));
            Ok(Reply::accept())
        }
        (_, "echo") => Reply::json(&serde_json::json!({
            "echo": event.text().unwrap_or_default(),
            "connectionId": event.connection_id(),
            "routeKey": event.route_key(),
            "messageId": event.message_id(),
            "stage": event.stage(),
        }))
        .map_err(|e| e.to_string()),
        (_, "quiet") => Ok(Reply::accept()),
        (_, "fail") => Err("ws-echo: deliberate failure".into()),
        _ if event.is_binary() => Ok(Reply::binary(event.body().to_vec())),
        _ => Reply::json(&serde_json::json!({ "default": event.text().unwrap_or_default() }))
            .map_err(|e| e.to_string()),
    }
}

portico_guest::export_websocket!(handle);
