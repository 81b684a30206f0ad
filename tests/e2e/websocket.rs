//! WebSocket APIs through the real binary and a real WebSocket client: `$connect`
//! accepting and refusing, routing by the selection expression, `$default`, two-way and
//! one-way routes, error frames, limits, and `$disconnect` running once.

use crate::support::{Server, manifest};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const ROUTES: &str = r#"
[functions.ws]
module = "{ws-echo}"

[websocket]
max_frame = "4KiB"
max_message = "4KiB"

[websocket.routes]
"$connect" = "ws"
"$disconnect" = "ws"
"$default" = "ws"
"echo" = "ws"
"quiet" = "ws"
"fail" = "ws"
"#;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &Server, path: &str) -> Result<Client, WsError> {
    let url = format!("ws://{}{path}", server.addr);
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(ws, _)| ws)
}

/// The next data message, as JSON text.
async fn next_json(ws: &mut Client) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("a frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn send(ws: &mut Client, text: &str) {
    ws.send(Message::text(text.to_string()))
        .await
        .expect("send");
}

#[tokio::test]
async fn messages_are_routed_by_action_and_two_way_routes_answer() {
    let server = Server::start(manifest(ROUTES));
    let mut ws = connect(&server, "/ws").await.expect("connected");
    send(&mut ws, r#"{"action":"echo","n":1}"#).await;
    let echo = next_json(&mut ws).await;
    assert_eq!(echo["routeKey"], "echo");
    assert_eq!(echo["echo"], r#"{"action":"echo","n":1}"#);
    assert_eq!(echo["stage"], "$default");
    let connection_id = echo["connectionId"].as_str().expect("an id").to_string();
    assert_eq!(connection_id.len(), 16);
    assert!(echo["messageId"].as_str().is_some_and(|m| !m.is_empty()));

    // Not JSON, or no route for the action: `$default`.
    send(&mut ws, "plain text").await;
    assert_eq!(next_json(&mut ws).await["default"], "plain text");
    send(&mut ws, r#"{"action":"unknown"}"#).await;
    assert_eq!(
        next_json(&mut ws).await["default"],
        r#"{"action":"unknown"}"#
    );

    // A one-way route answers nothing: the next frame is the next echo's.
    send(&mut ws, r#"{"action":"quiet"}"#).await;
    send(&mut ws, r#"{"action":"echo","n":2}"#).await;
    assert_eq!(
        next_json(&mut ws).await["echo"],
        r#"{"action":"echo","n":2}"#
    );

    // A failing route: API Gateway's error frame.
    send(&mut ws, r#"{"action":"fail"}"#).await;
    let error = next_json(&mut ws).await;
    assert_eq!(error["message"], "Internal server error");
    assert_eq!(error["connectionId"], connection_id.as_str());
    assert!(error["requestId"].as_str().is_some());

    // Binary frames go to `$default`, which echoes them in a binary frame.
    ws.send(Message::binary(vec![0u8, 159, 255]))
        .await
        .expect("send");
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("frame");
    assert_eq!(reply, Message::binary(vec![0u8, 159, 255]));

    // `$disconnect` runs once when the client closes.
    ws.close(None).await.expect("close");
    let line = format!("disconnected {connection_id}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.log().contains(&line) {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.log().matches(&line).count(), 1);
}

#[tokio::test]
async fn connect_refuses_the_upgrade_with_its_status() {
    let server = Server::start(manifest(ROUTES));
    match connect(&server, "/ws?deny=1").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a refused upgrade, got {:?}", other.map(|_| ())),
    }
    // Another path is not the API's: a plain 404.
    match connect(&server, "/other").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected 404, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn without_default_an_unrouted_message_gets_the_forbidden_frame() {
    let server = Server::start(manifest(&ROUTES.replace("\"$default\" = \"ws\"\n", "")));
    let mut ws = connect(&server, "/ws").await.expect("connected");
    send(&mut ws, "no route for this").await;
    let error = next_json(&mut ws).await;
    assert_eq!(error["message"], "Forbidden");
    assert!(error["connectionId"].as_str().is_some());
}

/// The close frame the server sends next.
async fn close_code(ws: &mut Client) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn oversized_messages_and_idle_connections_are_closed_with_their_codes() {
    let server = Server::start(manifest(&ROUTES.replace(
        "max_message = \"4KiB\"",
        "max_message = \"4KiB\"\nidle_timeout = \"1s\"",
    )));
    let mut ws = connect(&server, "/ws").await.expect("connected");
    send(&mut ws, &"x".repeat(5000)).await;
    assert_eq!(close_code(&mut ws).await, 1009);

    let mut idle = connect(&server, "/ws").await.expect("connected");
    let started = std::time::Instant::now();
    assert_eq!(close_code(&mut idle).await, 1001);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn websocket_mistakes_name_line_and_key() {
    let ws = "[functions.ws]\nmodule = \"{ws-echo}\"\n";
    crate::support::refused_at(
        &format!("{ws}[websocket.routes]\n\"$connect\" = \"nope\"\n"),
        "websocket.routes.\"$connect\"",
        "no function named `nope`",
    );
    crate::support::refused_at(
        &format!("{ws}[websocket]\nroute_selection_expression = \"action\"\n"),
        "websocket.route_selection_expression",
        "request.body",
    );
    crate::support::refused_at(
        &format!("{ws}[websocket.routes]\n\"$weird\" = \"ws\"\n"),
        "websocket.routes.\"$weird\"",
        "API Gateway's",
    );
    // A WebSocket route needs a WebSocket route function.
    let err = crate::support::up_fails(&manifest(
        "[functions.hello]\nmodule = \"{hello}\"\n[websocket.routes]\n\"$default\" = \"hello\"\n",
    ));
    assert!(
        err.contains("of kind `function`") && err.contains("websocket-function"),
        "{err}"
    );
}

/// The routes, with the function granted `connections` and an admin token.
fn with_connections() -> String {
    ROUTES.replace(
        "module = \"{ws-echo}\"\n",
        "module = \"{ws-echo}\"\nconnections = true\n",
    ) + "\"tell\" = \"ws\"\n\"hangup\" = \"ws\"\n[server]\nadmin_token = \"ws-token\"\n"
}

async fn my_id(ws: &mut Client) -> String {
    send(ws, r#"{"action":"echo"}"#).await;
    next_json(ws).await["connectionId"]
        .as_str()
        .expect("an id")
        .to_string()
}

#[tokio::test]
async fn functions_and_the_admin_api_post_to_connections_and_close_them() {
    let server = Server::start(manifest(&with_connections()));
    let mut a = connect(&server, "/ws").await.expect("a");
    let mut b = connect(&server, "/ws").await.expect("b");
    let b_id = my_id(&mut b).await;

    // A function posts to another connection.
    send(
        &mut a,
        &serde_json::json!({"action": "tell", "to": b_id, "text": "hello b"}).to_string(),
    )
    .await;
    assert_eq!(next_json(&mut a).await["told"], b_id.as_str());
    let got = tokio::time::timeout(Duration::from_secs(10), b.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("frame");
    assert_eq!(got, Message::text("hello b"));

    // The admin API does too, and describes the connection.
    let admin = |method: reqwest::Method, id: &str| {
        crate::support::client()
            .request(method, server.admin_url(&format!("/@connections/{id}")))
            .bearer_auth("ws-token")
    };
    let resp = admin(reqwest::Method::POST, &b_id)
        .body("from outside")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let got = tokio::time::timeout(Duration::from_secs(10), b.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("frame");
    assert_eq!(got, Message::text("from outside"));
    let info: Value = admin(reqwest::Method::GET, &b_id)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(info["identity"]["sourceIp"], "127.0.0.1");
    assert!(
        info["connectedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{info}"
    );

    // A function closes b: b gets a close frame, and b is gone for everyone.
    send(
        &mut a,
        &serde_json::json!({"action": "hangup", "who": b_id}).to_string(),
    )
    .await;
    assert_eq!(close_code(&mut b).await, 1000);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let resp = admin(reqwest::Method::POST, &b_id)
            .body("too late")
            .send()
            .await
            .expect("post");
        if resp.status() == 410 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", resp.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        admin(reqwest::Method::DELETE, &b_id)
            .send()
            .await
            .expect("delete")
            .status(),
        410
    );
    send(
        &mut a,
        &serde_json::json!({"action": "tell", "to": b_id, "text": "x"}).to_string(),
    )
    .await;
    assert!(next_json(&mut a).await["error"].is_string());

    // The admin API closes a connection too.
    let a_id = my_id(&mut a).await;
    assert_eq!(
        admin(reqwest::Method::DELETE, &a_id)
            .send()
            .await
            .expect("delete")
            .status(),
        204
    );
    assert_eq!(close_code(&mut a).await, 1000);
}

#[tokio::test]
async fn a_function_without_the_grant_may_not_post() {
    let server = Server::start(manifest(&(ROUTES.to_string() + "\"tell\" = \"ws\"\n")));
    let mut a = connect(&server, "/ws").await.expect("a");
    let id = my_id(&mut a).await;
    send(
        &mut a,
        &serde_json::json!({"action": "tell", "to": id, "text": "x"}).to_string(),
    )
    .await;
    let answer = next_json(&mut a).await;
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.to_lowercase().contains("not")),
        "{answer}"
    );
}

#[tokio::test]
async fn a_deploy_applies_to_the_next_message_of_open_connections_and_metrics_count() {
    let server = Server::start(manifest(&with_connections()));
    let mut ws = connect(&server, "/ws").await.expect("connected");
    send(&mut ws, r#"{"action":"echo"}"#).await;
    assert_eq!(next_json(&mut ws).await["tag"], Value::Null);
    // A deploy of the route's function with another environment.
    let wasm = std::fs::read(crate::support::component("ws_echo")).expect("module");
    let form = reqwest::multipart::Form::new()
        .part("module", reqwest::multipart::Part::bytes(wasm))
        .part(
            "config",
            reqwest::multipart::Part::bytes(br#"{"environment":{"ECHO_TAG":"v2"}}"#.to_vec()),
        );
    let resp = crate::support::client()
        .put(server.admin_url("/functions/ws"))
        .bearer_auth("ws-token")
        .multipart(form)
        .send()
        .await
        .expect("deploy");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    // The connection stayed open; its next message runs the new deployment.
    send(&mut ws, r#"{"action":"echo"}"#).await;
    assert_eq!(next_json(&mut ws).await["tag"], "v2");

    let metrics = crate::support::metrics(&server).await;
    let sample = |series: &str| crate::support::sample(&metrics, series);
    assert_eq!(
        sample("portico_websocket_connections"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(r#"portico_websocket_messages_total{kind="in"}"#),
        Some(2.0)
    );
    assert_eq!(
        sample(r#"portico_websocket_messages_total{kind="out"}"#),
        Some(2.0)
    );
    ws.close(None).await.expect("close");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = crate::support::metrics(&server).await;
        if crate::support::sample(&metrics, r#"portico_websocket_closes_total{kind="client"}"#)
            == Some(1.0)
        {
            assert_eq!(
                crate::support::sample(&metrics, "portico_websocket_connections"),
                Some(0.0)
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn new_connections_over_the_connect_throttle_get_429() {
    let server = Server::start(manifest(&ROUTES.replace(
        "max_message = \"4KiB\"",
        "max_message = \"4KiB\"\nconnect_throttle = { rate = 0.2, burst = 2 }",
    )));
    let _a = connect(&server, "/ws").await.expect("first");
    let _b = connect(&server, "/ws").await.expect("second");
    match connect(&server, "/ws").await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn the_chat_example_broadcasts_to_a_room_and_forgets_who_left() {
    let m = manifest(
        r#"
[data]
dir = "data"
[tables.chat_members]
partition_key = { name = "pk", type = "S" }
sort_key = { name = "sk", type = "S" }
[functions.chat]
module = "{chat}"
tables = ["chat_members"]
connections = true
[websocket.routes]
"$connect" = "chat"
"$disconnect" = "chat"
"$default" = "chat"
"join" = "chat"
"leave" = "chat"
"message" = "chat"
"#,
    );
    let log = m.dir.path().join("portico.log");
    let server = Server::start_on(&m.path, &log, &[], &[], &[]);
    let mut a = connect(&server, "/ws").await.expect("a");
    let mut b = connect(&server, "/ws").await.expect("b");
    let mut c = connect(&server, "/ws").await.expect("c");
    for (ws, room) in [(&mut a, "lobby"), (&mut b, "lobby"), (&mut c, "other")] {
        send(
            ws,
            &serde_json::json!({"action": "join", "room": room}).to_string(),
        )
        .await;
        assert_eq!(next_json(ws).await["joined"], room);
    }
    send(
        &mut a,
        r#"{"action":"message","room":"lobby","text":"hi all"}"#,
    )
    .await;
    let to_a = next_json(&mut a).await;
    let to_b = next_json(&mut b).await;
    assert_eq!(to_a["text"], "hi all");
    assert_eq!(to_b, to_a);
    assert_eq!(to_b["room"], "lobby");
    assert!(to_b["name"].is_null());
    // A message may carry its sender's name; a bad one is answered to the sender alone.
    send(
        &mut a,
        r#"{"action":"message","room":"lobby","text":"named","name":"ann"}"#,
    )
    .await;
    assert_eq!(next_json(&mut a).await["name"], "ann");
    assert_eq!(next_json(&mut b).await["name"], "ann");
    send(&mut a, r#"{"action":"message","room":"no#pe","text":"x"}"#).await;
    let refused = next_json(&mut a).await;
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("room")),
        "{refused}"
    );
    // c, in another room, got nothing: its next frame answers its own message.
    send(&mut c, r#"{"action":"nonsense"}"#).await;
    assert!(next_json(&mut c).await["error"].is_string());

    // b leaves by disconnecting; its $disconnect takes it out of the room.
    b.close(None).await.expect("close");
    // Its $disconnect has run once the log has its event line.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.log().contains("$disconnect") {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send(
        &mut a,
        r#"{"action":"message","room":"lobby","text":"still here?"}"#,
    )
    .await;
    assert_eq!(next_json(&mut a).await["text"], "still here?");
    // Once the host is gone (killed while a and c are still open, so their $disconnect
    // never runs — closing them first would race it), the table holds their
    // memberships, two items each, and none of b's.
    server_kill_and_count(server, &m, 4);
    drop((a, c));
}

/// Kills `server` and checks that `chat_members` in `m`'s store holds `expected` items.
fn server_kill_and_count(mut server: Server, m: &crate::support::TempManifest, expected: usize) {
    server.kill();
    let out = crate::support::portico()
        .args(["data", "scan", "chat_members", "--manifest"])
        .arg(&m.path)
        .output()
        .expect("portico data");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, expected, "{}", String::from_utf8_lossy(&out.stdout));
}

/// Connects with `header` on the upgrade request.
async fn connect_with(server: &Server, name: &str, value: &str) -> Result<Client, WsError> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
        value.parse().expect("value"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

#[tokio::test]
async fn the_upgrade_runs_the_api_key_check_and_the_authorizer_before_connect() {
    let text = ROUTES.replace("[websocket]\n", "[websocket]\napi_key_required = true\n")
        + "[server]\nadmin_token = \"ws-token\"\n[data]\ndir = \"data\"\n";
    let server = Server::start(manifest(&text));
    match connect(&server, "/ws").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    let created: Value = crate::support::client()
        .post(server.admin_url("/keys"))
        .bearer_auth("ws-token")
        .json(&serde_json::json!({"name": "ws"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let mut ws = connect_with(
        &server,
        "x-api-key",
        created["value"].as_str().expect("value"),
    )
    .await
    .expect("connected with a key");
    send(&mut ws, r#"{"action":"echo"}"#).await;
    // Every event of the connection knows the key's id.
    assert_eq!(next_json(&mut ws).await["apiKeyId"], created["id"]);

    // A JWT authorizer on the upgrade: no token, 401; a dev token, its claims.
    let text = ROUTES.replace("[websocket]\n", "[websocket]\nauth = \"dev\"\n")
        + "[data]\ndir = \"data\"\n[authorizers.dev]\ntype = \"jwt\"\nissuer = \"portico-dev\"\naudiences = [\"ws\"]\n";
    let m = manifest(&text);
    let token = crate::support::mint(&m.path, &["--sub", "ada", "--aud", "ws"]);
    let server = Server::start(m);
    match connect(&server, "/ws").await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let mut ws = connect_with(&server, "authorization", &format!("Bearer {token}"))
        .await
        .expect("connected with a token");
    send(&mut ws, r#"{"action":"echo"}"#).await;
    assert_eq!(next_json(&mut ws).await["sub"], "ada");
}

#[tokio::test]
async fn sigterm_tells_open_connections_the_server_is_going_away_and_runs_disconnect() {
    let mut server = Server::start(manifest(ROUTES));
    let mut ws = connect(&server, "/ws").await.expect("connected");
    let id = my_id(&mut ws).await;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert_eq!(close_code(&mut ws).await, 1001);
    let exit = server
        .wait(Duration::from_secs(20))
        .expect("portico exits after SIGTERM");
    assert!(exit.success(), "{exit:?}");
    assert_eq!(
        server.log().matches(&format!("disconnected {id}")).count(),
        1
    );
}
