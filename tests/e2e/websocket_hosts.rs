//! Two hosts on loopback sharing one DynamoDB-compatible server: a function on one
//! host posts to, reads and closes a connection the other host holds, the admin API of
//! either reaches both, and the peer endpoint takes only the peer credential.

use crate::support::{Server, manifest};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const HOST: &str = r#"
[server]
admin_token = "ws-token"

[data]
dir = "data"

[data.dynamodb]
create_tables = true

[functions.ws]
module = "{ws-echo}"
connections = true

[websocket.routes]
"$connect" = "ws"
"$disconnect" = "ws"
"$default" = "ws"
"echo" = "ws"
"tell" = "ws"
"hangup" = "ws"
"#;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &Server) -> Client {
    let url = format!("ws://{}/ws", server.addr);
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connected")
        .0
}

async fn next(ws: &mut Client) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("a frame");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

async fn ask(ws: &mut Client, message: Value) -> Value {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("send");
    match next(ws).await {
        Message::Text(text) => serde_json::from_str(&text).expect("JSON"),
        other => panic!("unexpected {other:?}"),
    }
}

async fn my_id(ws: &mut Client) -> String {
    ask(ws, serde_json::json!({"action": "echo"})).await["connectionId"]
        .as_str()
        .expect("an id")
        .to_string()
}

fn admin(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    crate::support::client()
        .request(method, server.admin_url(path))
        .bearer_auth(token)
}

#[tokio::test]
async fn connections_are_reached_from_any_host_sharing_the_dynamodb() {
    let dynamodb = crate::support::dynamodb().await;
    let endpoint = dynamodb.endpoint();
    let env = crate::support::dynamodb_env(&endpoint);
    let one = Server::start_env(manifest(HOST), &[], &env);
    let mut two = Server::start_env(manifest(HOST), &[], &env);
    let mut a = connect(&one).await;
    let mut b = connect(&two).await;
    let (a_id, b_id) = (my_id(&mut a).await, my_id(&mut b).await);

    // A function on host one posts to a connection on host two.
    let told = ask(
        &mut a,
        serde_json::json!({"action": "tell", "to": b_id, "text": "across"}),
    )
    .await;
    assert_eq!(told["told"], b_id.as_str(), "{told}");
    assert_eq!(next(&mut b).await, Message::text("across"));

    // Host two's admin API reaches host one's connection: post, describe.
    let resp = admin(
        &two,
        reqwest::Method::POST,
        &format!("/@connections/{a_id}"),
        "ws-token",
    )
    .body("from two")
    .send()
    .await
    .expect("post");
    assert_eq!(resp.status(), 200);
    assert_eq!(next(&mut a).await, Message::text("from two"));
    let info: Value = admin(
        &two,
        reqwest::Method::GET,
        &format!("/@connections/{a_id}"),
        "ws-token",
    )
    .send()
    .await
    .expect("get")
    .json()
    .await
    .expect("json");
    assert_eq!(info["identity"]["sourceIp"], "127.0.0.1", "{info}");
    assert!(
        info["connectedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    // The peer endpoint takes the peer credential only: not the admin token, not
    // nothing.
    for token in ["ws-token", "guess"] {
        let resp = admin(
            &one,
            reqwest::Method::POST,
            &format!("/@peer/connections/{a_id}"),
            token,
        )
        .body("sneaky")
        .send()
        .await
        .expect("post");
        assert_eq!(resp.status(), 401, "{token}");
    }

    // A function on host two closes host one's connection; then it is gone everywhere,
    // and its record with it.
    b.send(Message::text(
        serde_json::json!({"action": "hangup", "who": a_id}).to_string(),
    ))
    .await
    .expect("send");
    match next(&mut a).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected a close frame, got {other:?}"),
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let told = ask(
            &mut b,
            serde_json::json!({"action": "tell", "to": a_id, "text": "late"}),
        )
        .await;
        if told["error"].is_string() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{told}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for host in [&one, &two] {
        let resp = admin(
            host,
            reqwest::Method::POST,
            &format!("/@connections/{a_id}"),
            "ws-token",
        )
        .body("late")
        .send()
        .await
        .expect("post");
        assert_eq!(resp.status(), 410);
    }

    // A host that died holds no connections: posting to one it held is `gone`.
    let mut c = connect(&one).await;
    two.kill();
    let told = ask(
        &mut c,
        serde_json::json!({"action": "tell", "to": b_id, "text": "anyone?"}),
    )
    .await;
    assert!(told["error"].is_string(), "{told}");
    let resp = admin(
        &one,
        reqwest::Method::POST,
        &format!("/@connections/{b_id}"),
        "ws-token",
    )
    .body("anyone?")
    .send()
    .await
    .expect("post");
    assert_eq!(resp.status(), 410);
}
