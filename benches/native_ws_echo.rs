//! The baseline for `scripts/bench-ws.sh`: a plain tokio-tungstenite server doing what
//! the benchmarked Portico functions do, natively — `{"action":"echo"}` answered with a
//! JSON echo (as `examples/ws-echo`), and `join`/`message` rooms broadcast in memory (as
//! `examples/chat`, without a table). No routing, no wasm, no data store.
//!
//! `cargo run --release -p portico --example native_ws_echo -- 127.0.0.1:0`

use futures_util::{SinkExt as _, StreamExt as _};
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Rooms = Arc<Mutex<HashMap<String, Vec<(u64, mpsc::UnboundedSender<Message>)>>>>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "native_ws_echo listening on http://{}",
        listener.local_addr()?
    )?;
    stdout.flush()?;
    let rooms: Rooms = Arc::default();
    let mut next_id = 0u64;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let id = next_id;
        let rooms = Arc::clone(&rooms);
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let (mut sink, mut stream) = ws.split();
            let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
            tokio::spawn(async move {
                while let Some(message) = rx.recv().await {
                    if sink.send(message).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let value: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
                let room = value["room"].as_str().unwrap_or_default().to_string();
                match value["action"].as_str() {
                    Some("join") => {
                        rooms
                            .lock()
                            .expect("rooms")
                            .entry(room.clone())
                            .or_default()
                            .push((id, tx.clone()));
                        let _ = tx.send(Message::text(
                            serde_json::json!({ "joined": room }).to_string(),
                        ));
                    }
                    Some("message") => {
                        let frame = serde_json::json!({
                            "room": room, "from": id.to_string(), "text": value["text"],
                        })
                        .to_string();
                        let members = rooms
                            .lock()
                            .expect("rooms")
                            .get(&room)
                            .cloned()
                            .unwrap_or_default();
                        for (_, member) in members {
                            let _ = member.send(Message::text(frame.clone()));
                        }
                    }
                    _ => {
                        let _ = tx.send(Message::text(
                            serde_json::json!({
                                "echo": text.as_str(),
                                "connectionId": id.to_string(),
                                "routeKey": "echo",
                            })
                            .to_string(),
                        ));
                    }
                }
            }
            for members in rooms.lock().expect("rooms").values_mut() {
                members.retain(|(member, _)| *member != id);
            }
        });
    }
}
