//! What a function sees in its event, and how its response reaches the client.

use crate::support::{Server, client, manifest};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

const ECHO: &str = r#"
[server]
max_body = "1KiB"

[stage]
name = "test"
variables = { greeting = "Hi", color = "blue" }

[functions.hello]
module = "{hello}"
environment = { PORTICO_TEST = "yes" }

[routes]
"POST /echo" = "hello"
"ANY /echo/{rest+}" = "hello"
"GET /hello/{name}" = "hello"
"#;

#[tokio::test]
async fn event_fields_match_payload_2_0() {
    let server = Server::start(manifest(ECHO));
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let resp = client()
        .post(server.url("/echo?b=2&a=1&a=3&s=x+y&e=%2F"))
        .header("X-Multi", "1")
        .header("x-multi", "2")
        .header("cookie", "c1=v1; c2=v2")
        .header("user-agent", "portico-test")
        .body("hello body")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let request_id = crate::support::request_id(&resp);
    let e: Value = resp.json().await.expect("json");

    assert_eq!(e["routeKey"], "POST /echo");
    assert_eq!(e["rawPath"], "/echo");
    assert_eq!(e["rawQueryString"], "b=2&a=1&a=3&s=x+y&e=%2F");
    assert_eq!(
        e["queryStringParameters"],
        json!({"a": "1,3", "b": "2", "s": "x y", "e": "/"})
    );
    assert_eq!(e["headers"]["x-multi"], "1,2");
    assert_eq!(e["headers"]["user-agent"], "portico-test");
    assert_eq!(e["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(e["headers"]["x-forwarded-proto"], "http");
    assert_eq!(
        e["headers"]["x-forwarded-port"],
        server.addr.port().to_string()
    );
    assert!(
        e["headers"].get("cookie").is_none(),
        "cookies move out of headers"
    );
    assert_eq!(e["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(e["body"], "hello body");
    assert_eq!(
        e["stageVariables"],
        json!({"greeting": "Hi", "color": "blue"})
    );
    assert_eq!(
        e["env"],
        json!({"PORTICO_TEST": "yes"}),
        "only the manifest's environment"
    );

    let ctx = &e["requestContext"];
    assert_eq!(ctx["requestId"], request_id.as_str());
    assert_eq!(ctx["routeKey"], "POST /echo");
    assert_eq!(ctx["stage"], "test");
    assert_eq!(ctx["domainName"], "127.0.0.1");
    assert_eq!(ctx["http"]["method"], "POST");
    assert_eq!(ctx["http"]["path"], "/echo");
    assert_eq!(ctx["http"]["protocol"], "HTTP/1.1");
    assert_eq!(ctx["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["http"]["userAgent"], "portico-test");
    let epoch = ctx["timeEpoch"].as_u64().expect("timeEpoch");
    assert!(
        epoch >= before && epoch < before + 60_000,
        "{epoch} vs {before}"
    );
    let time = ctx["time"].as_str().expect("time");
    // 12/Mar/2020:19:03:58 +0000
    assert_eq!(time.len(), 26, "{time}");
    assert!(
        time.ends_with(" +0000") && &time[2..3] == "/" && &time[6..7] == "/",
        "{time}"
    );
}

#[tokio::test]
async fn response_mapping_status_headers_cookies_binary() {
    let server = Server::start(manifest(ECHO));
    let http = client();
    let resp = http
        .get(server.url("/echo/x"))
        .header("x-echo-status", "418")
        .header("x-echo-header", "x-custom: yes")
        .header("x-echo-cookie", "a=1|b=2; Path=/; HttpOnly")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 418);
    assert_eq!(resp.headers()["x-custom"], "yes");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let cookies: Vec<_> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .collect();
    assert_eq!(cookies, ["a=1", "b=2; Path=/; HttpOnly"]);

    let bytes: Vec<u8> = (0..=255u8).collect();
    let resp = http
        .post(server.url("/echo/bin"))
        .header("x-echo-binary", "1")
        .body(bytes.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.bytes().await.expect("body").to_vec(), bytes);
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let server = Server::start(manifest(ECHO));
    let http = client();
    let resp = http
        .post(server.url("/echo"))
        .body(vec![b'x'; 1024])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200, "exactly the limit is fine");
    let resp = http
        .post(server.url("/echo"))
        .body(vec![b'x'; 1025])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 413);
    assert!(resp.headers().contains_key("apigw-requestid"));
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Request Entity Too Large"}"#
    );
}

#[tokio::test]
async fn two_hundred_concurrent_requests_are_all_answered_correctly() {
    let server = Server::start(manifest(ECHO));
    let http = client();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let http = http.clone();
            let url = server.url(&format!("/hello/user{i}"));
            tokio::spawn(async move {
                let resp = http.get(url).send().await.expect("request");
                assert_eq!(resp.status(), 200);
                let id = crate::support::request_id(&resp);
                let body: Value = resp.json().await.expect("json");
                assert_eq!(body["message"], format!("Hi, user{i}!"));
                assert_eq!(body["request_id"], id.as_str());
                id
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        assert!(ids.insert(t.await.expect("task")), "request ids are unique");
    }
    assert_eq!(ids.len(), 200);
}

#[tokio::test]
async fn http2_prior_knowledge_is_served() {
    let server = Server::start(manifest(ECHO));
    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let resp = http
        .post(server.url("/echo"))
        .body("h2")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let e: Value = resp.json().await.expect("json");
    assert_eq!(e["requestContext"]["http"]["protocol"], "HTTP/2.0");
    assert_eq!(e["requestContext"]["domainName"], "127.0.0.1");
    assert_eq!(e["body"], "h2");
}

/// Sends raw bytes on a fresh connection and returns the status line of the answer.
async fn raw_status_line(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn chunked_bodies_are_limited_and_broken_ones_refused() {
    let server = Server::start(manifest(ECHO));
    let head =
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let over = format!("{head}401\r\n{}\r\n0\r\n\r\n", "x".repeat(0x401));
    assert_eq!(
        raw_status_line(server.addr, over.as_bytes()).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    let within = format!("{head}5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(
        raw_status_line(server.addr, within.as_bytes()).await,
        "HTTP/1.1 200 OK"
    );
    let broken = format!("{head}zz\r\nhello\r\n0\r\n\r\n");
    let status = raw_status_line(server.addr, broken.as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 400"), "{status}");
}
