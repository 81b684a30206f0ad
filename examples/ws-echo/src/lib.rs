//! A WebSocket route function for every route of a `[websocket]` API:
//!
//! - `$connect`: refused with 403 when the upgrade's query has `deny=1`, else accepted;
//! - route `echo` (`{"action":"echo", ...}`): answers with the message, the connection id,
//!   the route key and the `ECHO_TAG` environment variable (a two-way route);
//! - route `quiet`: answers nothing (a one-way route);
//! - route `fail`: returns an error (the client gets API Gateway's error frame);
//! - `$default`: answers `{"default": "<the message>"}`;
//! - route `tell` (`{"action":"tell","to":ID,"text":T}`): posts `T` to connection `ID`
//!   through the `connections` capability, and answers `{"told": ID}` or
//!   `{"error": "..."}`;
//! - route `hangup` (`{"action":"hangup","who":ID}`): closes connection `ID`;
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
            "tag": std::env::var("ECHO_TAG").ok(),
            "apiKeyId": event.api_key_id(),
            "sub": event.claims().into_iter().find(|(k, _)| k == "sub").map(|(_, v)| v),
        }))
        .map_err(|e| e.to_string()),
        (_, "quiet") => Ok(Reply::accept()),
        (_, "tell") => {
            let message: serde_json::Value = event.json().map_err(|e| e.to_string())?;
            let to = message["to"].as_str().unwrap_or_default();
            let text = message["text"].as_str().unwrap_or_default();
            let answer = match portico_guest::connections::post(to, text) {
                Ok(()) => serde_json::json!({ "told": to }),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            };
            Reply::json(&answer).map_err(|e| e.to_string())
        }
        (_, "hangup") => {
            let message: serde_json::Value = event.json().map_err(|e| e.to_string())?;
            let who = message["who"].as_str().unwrap_or_default();
            portico_guest::connections::close(who).map_err(|e| e.to_string())?;
            Ok(Reply::accept())
        }
        (_, "fail") => Err("ws-echo: deliberate failure".into()),
        _ if event.is_binary() => Ok(Reply::binary(event.body().to_vec())),
        _ => Reply::json(&serde_json::json!({ "default": event.text().unwrap_or_default() }))
            .map_err(|e| e.to_string()),
    }
}

portico_guest::export_websocket!(handle);
