//! Route policies through the real binary: CORS (API-wide and per route, preflights the
//! gateway answers itself) and API Gateway's request-head limit.

use crate::support::{Server, access_line, client, manifest, request_id};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const CORS: &str = r#"
[cors]
allow_origins = ["https://app.example", "https://*.example.com"]
allow_methods = ["GET", "POST"]
allow_headers = ["content-type", "x-api-key"]
expose_headers = ["x-trace"]
max_age = 600
allow_credentials = true

[functions.hello]
module = "{hello}"

[routes]
"GET /hello" = "hello"
"GET /echo" = "hello"
"POST /echo" = "hello"
"GET /public" = { function = "hello", cors = { allow_origins = ["*"], allow_methods = ["GET"] } }
"GET /private" = { function = "hello", cors = false }
"#;

fn header<'r>(resp: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn preflight(server: &Server, path: &str, origin: &str, method: &str) -> reqwest::Response {
    client()
        .request(reqwest::Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight")
}

#[tokio::test]
async fn preflights_are_answered_by_the_gateway_for_allowed_origins_only() {
    let server = Server::start(manifest(CORS));

    // No OPTIONS route exists: the gateway answers, and no function runs.
    let resp = preflight(&server, "/echo", "https://app.example", "POST").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        header(&resp, "access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        header(&resp, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&resp, "access-control-max-age"), Some("600"));
    let methods = header(&resp, "access-control-allow-methods").expect("methods");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = header(&resp, "access-control-allow-headers").expect("headers");
    assert!(
        headers.contains("content-type") && headers.contains("x-api-key"),
        "{headers}"
    );
    assert!(header(&resp, "vary").is_some_and(|v| v.contains("origin")));
    let id = request_id(&resp);

    // A wildcard subdomain, at any depth; never the bare domain or another scheme.
    for origin in ["https://a.example.com", "https://a.b.example.com"] {
        let resp = preflight(&server, "/hello", origin, "GET").await;
        assert_eq!(resp.status(), 204);
        assert_eq!(header(&resp, "access-control-allow-origin"), Some(origin));
    }
    for origin in [
        "https://example.com",
        "http://a.example.com",
        "https://evil.example",
        "https://app.example.evil",
    ] {
        let resp = preflight(&server, "/hello", origin, "GET").await;
        assert_eq!(resp.status(), 204, "{origin}");
        assert!(
            resp.headers()
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-")),
            "{origin} got CORS headers: {:?}",
            resp.headers()
        );
    }

    // A preflight for a path no route matches is answered with the API's settings too.
    let resp = preflight(&server, "/nowhere", "https://app.example", "GET").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        header(&resp, "access-control-allow-origin"),
        Some("https://app.example")
    );

    // The access log shows the preflight, answered with no function.
    let line = access_line(&server, &id).await;
    let log = server.log();
    assert!(
        line.contains("status=204") && line.contains("method=OPTIONS"),
        "{line}"
    );
    assert!(!line.contains("function=\"hello\""), "{line}");
    assert!(!log.contains("portico::guest"), "no guest ran:\n{log}");
}

#[tokio::test]
async fn function_responses_get_the_configured_headers_and_lose_their_own() {
    let server = Server::start(manifest(CORS));
    let http = client();

    // The function sets its own CORS header; the gateway replaces it.
    let resp = http
        .get(server.url("/echo"))
        .header("origin", "https://app.example")
        .header(
            "x-echo-header",
            "access-control-allow-origin: https://evil.example",
        )
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let origins: Vec<_> = resp
        .headers()
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(origins, ["https://app.example"]);
    assert_eq!(
        header(&resp, "access-control-expose-headers"),
        Some("x-trace")
    );
    assert_eq!(
        header(&resp, "access-control-allow-credentials"),
        Some("true")
    );

    // Without Origin, or from a disallowed one: no CORS headers at all, the function's
    // own removed too.
    for origin in [None, Some("https://evil.example")] {
        let mut req = http
            .get(server.url("/echo"))
            .header("x-echo-header", "access-control-allow-origin: *");
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-")),
            "{origin:?}: {:?}",
            resp.headers()
        );
    }

    // The gateway's own errors carry CORS headers too, so browsers can read them.
    let resp = http
        .get(server.url("/nowhere"))
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    assert_eq!(
        header(&resp, "access-control-allow-origin"),
        Some("https://app.example")
    );
}

#[tokio::test]
async fn routes_override_or_switch_off_the_api_settings() {
    let server = Server::start(manifest(CORS));
    let http = client();

    // `/public` has its own settings: any origin, no credentials, so `*`.
    let resp = http
        .get(server.url("/public"))
        .header("origin", "https://anyone.example")
        .send()
        .await
        .expect("request");
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    assert!(header(&resp, "access-control-allow-credentials").is_none());
    let resp = preflight(&server, "/public", "https://anyone.example", "GET").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));

    // `/private` has CORS off: no headers, and a preflight for it is not answered by
    // the gateway (no OPTIONS route either: 404).
    let resp = http
        .get(server.url("/private"))
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "access-control-allow-origin").is_none());
    let resp = preflight(&server, "/private", "https://app.example", "GET").await;
    assert_eq!(resp.status(), 404);
    assert!(header(&resp, "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn bad_cors_settings_name_the_line_and_key() {
    let m = manifest(
        "[cors]\nallow_origins = [\"*\"]\nallow_credentials = true\n[functions.hello]\nmodule = \"{hello}\"\n",
    );
    let err = crate::support::up_fails(&m);
    assert!(
        err.contains("portico.toml:1:") || err.contains("portico.toml:2:"),
        "{err}"
    );
    assert!(err.contains("cors."), "{err}");
    let m = manifest(
        "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /a\" = { function = \"hello\", cors = { allow_origins = [\"example.com\"] } }\n",
    );
    let err = crate::support::up_fails(&m);
    assert!(err.contains("portico.toml:4:"), "{err}");
    assert!(err.contains("routes.\"GET /a\".cors"), "{err}");
    assert!(err.contains("example.com"), "{err}");
}

/// Sends a raw HTTP/1.1 request whose head is about `head_bytes` long; returns the
/// status line and the body.
fn raw_request(addr: SocketAddr, head_bytes: usize) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let base = "GET /hello HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n";
    let filler = head_bytes.saturating_sub(base.len() + "x-filler: \r\n\r\n".len());
    let request = format!("{base}x-filler: {}\r\n\r\n", "a".repeat(filler));
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn oversized_request_heads_get_431_as_api_gateway_sends_it() {
    let server = Server::start(manifest(CORS));
    let addr = server.addr;
    let (status, body) = tokio::task::spawn_blocking(move || raw_request(addr, 12_000))
        .await
        .expect("join");
    assert!(status.contains(" 431 "), "{status}");
    assert!(
        body.contains(r#"{"message":"Request Header Fields Too Large"}"#),
        "{body}"
    );
    // Just under the limit is served.
    let (status, _) = tokio::task::spawn_blocking(move || raw_request(addr, 10_000))
        .await
        .expect("join");
    assert!(status.contains(" 200 "), "{status}");
}

#[tokio::test]
async fn the_head_limit_is_configurable() {
    let text = format!("[server]\nmax_header_bytes = \"4KiB\"\n{CORS}");
    let server = Server::start(manifest(&text));
    let addr = server.addr;
    let (status, _) = tokio::task::spawn_blocking(move || raw_request(addr, 5_000))
        .await
        .expect("join");
    assert!(status.contains(" 431 "), "{status}");
}

#[tokio::test]
async fn the_policies_example_answers_preflights_for_its_app() {
    let m = policies_example();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |origin: &str| {
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            format!(
                r#"{{"version":"2.0","rawPath":"/hello","headers":{{"origin":"{origin}","access-control-request-method":"GET"}},"requestContext":{{"http":{{"method":"OPTIONS"}}}}}}"#
            ),
        )
        .expect("event");
        let out = crate::support::portico()
            .args(["invoke", "--manifest"])
            .arg(&m.path)
            .arg("--event")
            .arg(&event)
            .output()
            .expect("invoke runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("payload")
    };
    let allowed = run("https://app.example");
    assert_eq!(allowed["statusCode"], 204);
    assert_eq!(
        allowed["headers"]["access-control-allow-origin"],
        "https://app.example"
    );
    let other = run("https://other.example");
    assert_eq!(other["statusCode"], 204);
    assert!(
        other["headers"]
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// `examples/policies/portico.toml` in a temporary directory (absolute module paths,
/// no build, its own data directory), so that tests do not share the example's.
fn policies_example() -> crate::support::TempManifest {
    let root = crate::support::root();
    let text =
        std::fs::read_to_string(root.join("examples/policies/portico.toml")).expect("the example");
    let target = root.join("examples/target/").display().to_string();
    let text: String = text
        .replace("../target/", &target)
        .lines()
        .filter(|l| !l.starts_with("build = "))
        .map(|l| format!("{l}\n"))
        .collect();
    crate::support::component("hello"); // builds the examples
    crate::support::manifest(&text)
}

#[tokio::test]
async fn the_policies_example_serves_each_of_its_policies() {
    let m = policies_example();
    let server = Server::start_env(m, &[], &[("PORTICO_ADMIN_TOKEN", "dev")]);
    let get = |path: &str| client().get(server.url(path)).send();
    // Two stages, each with its variables.
    let root: serde_json::Value = get("/hello/ann")
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(root["message"], "Hello, ann!");
    let beta: serde_json::Value = get("/beta/hello/ann")
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(beta["message"], "Hello from beta, ann!");
    // GET /limited: 5 rps with a burst of 5.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(get("/limited").await.expect("get").status().as_u16());
    }
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert!(statuses[5..].contains(&429), "{statuses:?}");
    // GET /keyed: a key on the partner plan.
    assert_eq!(get("/keyed").await.expect("get").status(), 403);
    let created: serde_json::Value = client()
        .post(server.admin_url("/keys"))
        .bearer_auth("dev")
        .json(&serde_json::json!({"name": "partner-1", "plan": "partner"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let value = created["value"].as_str().expect("value");
    let resp = client()
        .get(server.url("/keyed"))
        .header("x-api-key", value)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    // The payload 1.0 route.
    let resp = get("/v1/lambda?tag=a&tag=b").await.expect("get");
    let event: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(event["version"], "1.0");
    assert_eq!(
        event["multiValueQueryStringParameters"]["tag"],
        serde_json::json!(["a", "b"])
    );
}
