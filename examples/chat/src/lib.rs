//! Chat rooms over a WebSocket API (`[websocket]` in `examples/portico.toml`, on `/ws`):
//!
//! - `{"action":"join","room":"lobby"}` → `{"joined":"lobby"}`;
//! - `{"action":"leave","room":"lobby"}` → `{"left":"lobby"}`;
//! - `{"action":"message","room":"lobby","text":"hi"}` (and optionally `"name"`, up to
//!   32 characters) → every member of the room (the sender too) gets
//!   `{"room":"lobby","from":CONNECTION_ID,"name":NAME,"text":"hi"}`, sent through the
//!   `connections` capability; members that are gone are dropped;
//! - anything else → `{"error": "..."}`;
//! - `$disconnect` takes the connection out of every room it joined.
//!
//! Membership is two items per (room, connection) in table `chat_members`
//! (`pk`/`sk`): `room#ROOM`/`conn#ID` to list a room's members, and `conn#ID`/`room#ROOM`
//! to find a connection's rooms when it leaves.

use portico_guest::data::{Table, key};
use portico_guest::websocket::{EventType, Reply, WebSocketEvent};
use serde::Deserialize;

const TABLE: &str = "chat_members";
const MAX_ROOM: usize = 64;
const MAX_TEXT: usize = 4096;
const MAX_NAME: usize = 32;

#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
enum Action {
    Join {
        room: String,
    },
    Leave {
        room: String,
    },
    Message {
        room: String,
        text: String,
        #[serde(default)]
        name: Option<String>,
    },
}

#[derive(Deserialize)]
struct Member {
    sk: String,
}

fn membership(pk: String, sk: String) -> portico_guest::data::Item {
    key("pk", pk).with("sk", sk)
}

fn check_room(room: &str) -> Result<(), String> {
    if room.is_empty() || room.len() > MAX_ROOM || room.contains('#') {
        return Err(format!("a room is 1 to {MAX_ROOM} characters, without `#`"));
    }
    Ok(())
}

fn join(table: &Table, connection: &str, room: &str) -> Result<(), String> {
    check_room(room)?;
    for (pk, sk) in [
        (format!("room#{room}"), format!("conn#{connection}")),
        (format!("conn#{connection}"), format!("room#{room}")),
    ] {
        table
            .put(membership(pk, sk))
            .send()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn leave(table: &Table, connection: &str, room: &str) -> Result<(), String> {
    for (pk, sk) in [
        (format!("room#{room}"), format!("conn#{connection}")),
        (format!("conn#{connection}"), format!("room#{room}")),
    ] {
        table
            .delete(membership(pk, sk))
            .send()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The sort keys under partition `pk`, every page.
fn members(table: &Table, pk: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = table
            .query()
            .pk("pk", pk)
            .start_after(start.take())
            .send_as::<Member>()
            .map_err(|e| e.to_string())?;
        out.extend(page.items.into_iter().map(|m| m.sk));
        match page.last_evaluated_key {
            Some(next) => start = Some(next),
            None => return Ok(out),
        }
    }
}

fn broadcast(
    table: &Table,
    from: &str,
    name: Option<&str>,
    room: &str,
    text: &str,
) -> Result<usize, String> {
    check_room(room)?;
    if text.len() > MAX_TEXT {
        return Err(format!("a message is at most {MAX_TEXT} bytes"));
    }
    if name.is_some_and(|n| n.chars().count() > MAX_NAME) {
        return Err(format!("a name is at most {MAX_NAME} characters"));
    }
    let frame =
        serde_json::json!({ "room": room, "from": from, "name": name, "text": text }).to_string();
    let mut sent = 0;
    for member in members(table, &format!("room#{room}"))? {
        let Some(connection) = member.strip_prefix("conn#") else {
            continue;
        };
        match portico_guest::connections::post(connection, &frame) {
            Ok(()) => sent += 1,
            // Gone without its $disconnect having run yet (or too slow): drop it.
            Err(portico_guest::connections::Error::Gone) => leave(table, connection, room)?,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(sent)
}

fn handle(event: WebSocketEvent) -> Result<Reply, String> {
    let table = Table::open(TABLE).map_err(|e| e.to_string())?;
    let connection = event.connection_id().to_string();
    match event.event_type() {
        EventType::Connect => Ok(Reply::accept()),
        EventType::Disconnect => {
            for room in members(&table, &format!("conn#{connection}"))? {
                if let Some(room) = room.strip_prefix("room#") {
                    leave(&table, &connection, room)?;
                }
            }
            Ok(Reply::accept())
        }
        EventType::Message => {
            let answer = match event.json::<Action>() {
                Err(e) => Err(format!(
                    "expected {{\"action\": \"join\"|\"leave\"|\"message\", \"room\": ..., \"text\": ...}}: {e}"
                )),
                Ok(Action::Join { room }) => {
                    join(&table, &connection, &room).map(|()| serde_json::json!({ "joined": room }))
                }
                Ok(Action::Leave { room }) => {
                    leave(&table, &connection, &room).map(|()| serde_json::json!({ "left": room }))
                }
                Ok(Action::Message { room, text, name }) => {
                    // The members get the message; the sender only its own copy.
                    return match broadcast(&table, &connection, name.as_deref(), &room, &text) {
                        Ok(_) => Ok(Reply::accept()),
                        Err(error) => Reply::json(&serde_json::json!({ "error": error }))
                            .map_err(|e| e.to_string()),
                    };
                }
            };
            let body = answer.unwrap_or_else(|error| serde_json::json!({ "error": error }));
            Reply::json(&body).map_err(|e| e.to_string())
        }
    }
}

portico_guest::export_websocket!(handle);
