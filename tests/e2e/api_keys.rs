//! API keys and usage plans through the real binary: keys made and revoked with
//! `portico keys`, API Gateway's 403 and 429 answers, per-key throttles, quotas that
//! survive a graceful stop and a `kill -9`, the key's id in the function, both backends.

use crate::support::{
    Server, TempManifest, access_line, client, invoke, manifest, metrics, portico, refused_at,
    request_id, sample,
};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const TOKEN: &str = "test-admin-token";

/// Keys on three plans: `small` (its own bucket of 1 rps, burst 2), `quota` (3 a day),
/// none; `/keyed` needs a key, `/open` does not.
const KEYED: &str = r#"
[server]
admin_token = "test-admin-token"

[data]
dir = "data"

[data.dynamodb]
create_tables = true

[usage_plans.small]
throttle = { rate = 1, burst = 2 }

[usage_plans.quota]
quota = { limit = 3, period = "day" }

[functions.hello]
module = "{hello}"

[routes]
"GET /keyed" = { function = "hello", api_key_required = true }
"GET /open" = "hello"
"#;

/// Runs `portico keys ARGS` against `server`'s admin API; its stdout, which must be a
/// success.
fn keys(server: &Server, args: &[&str]) -> String {
    let out = portico()
        .arg("keys")
        .args(args)
        .args(["--admin", &server.admin_url(""), "--token", TOKEN])
        .output()
        .expect("portico keys");
    assert!(
        out.status.success(),
        "portico keys {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Creates a key on `plan` with `portico keys create`: (id, value).
fn create(server: &Server, name: &str, plan: Option<&str>) -> (String, String) {
    let mut args = vec!["create", name];
    if let Some(plan) = plan {
        args.extend(["--plan", plan]);
    }
    let out = keys(server, &args);
    let value = out.lines().last().expect("the value").to_string();
    let id = out
        .split_whitespace()
        .nth(3)
        .expect("created API key ID")
        .to_string();
    (id, value)
}

async fn get(server: &Server, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = client().get(server.url(path));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.send().await.expect("request")
}

/// API Gateway's JSON answer: status, body and content type, exactly.
async fn assert_answer(resp: reqwest::Response, status: u16, body: &str) {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.text().await.expect("body"), body);
}

async fn admin_get(server: &Server, path: &str) -> Value {
    client()
        .get(server.admin_url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn only_live_keys_reach_the_function_which_sees_the_key_id_never_its_value() {
    let server = Server::start(manifest(KEYED));
    // No key, an unknown key: 403, and nothing runs.
    let resp = get(&server, "/keyed", None).await;
    let id = request_id(&resp);
    assert_answer(resp, 403, r#"{"message":"Forbidden"}"#).await;
    assert!(
        access_line(&server, &id)
            .await
            .contains("api key: no x-api-key header")
    );
    assert_answer(
        get(&server, "/keyed", Some("made-up")).await,
        403,
        r#"{"message":"Forbidden"}"#,
    )
    .await;
    assert_eq!(get(&server, "/open", None).await.status(), 200);

    let (key_id, value) = create(&server, "partner-1", None);
    assert_eq!(value.len(), 40, "{value}");
    let resp = get(&server, "/keyed", Some(&value)).await;
    assert_eq!(resp.status(), 200);
    let event: Value = resp.json().await.expect("echo");
    assert_eq!(event["requestContext"]["identity"]["apiKeyId"], key_id);
    // A route without the requirement gives no key id, even when one is sent.
    let event: Value = get(&server, "/open", Some(&value))
        .await
        .json()
        .await
        .expect("echo");
    assert_eq!(event["requestContext"]["identity"]["apiKeyId"], Value::Null);

    // The admin API lists it without its value.
    let list = admin_get(&server, "/keys").await;
    assert_eq!(list["items"][0]["id"], key_id);
    assert_eq!(list["items"][0]["enabled"], true);
    assert!(!list.to_string().contains(&value), "{list}");
    let listed = keys(&server, &["list"]);
    assert!(
        listed.contains(&key_id) && listed.contains("enabled"),
        "{listed}"
    );

    let revoked = keys(&server, &["revoke", &key_id]);
    assert!(
        revoked.contains(&format!("revoked API key {key_id}")),
        "{revoked}"
    );
    assert_answer(
        get(&server, "/keyed", Some(&value)).await,
        403,
        r#"{"message":"Forbidden"}"#,
    )
    .await;
    assert!(keys(&server, &["list"]).contains("revoked 20"));

    let metrics = metrics(&server).await;
    assert_eq!(
        sample(
            &metrics,
            r#"portico_api_key_decisions_total{plan="none",decision="forbidden"}"#
        ),
        Some(3.0),
        "{metrics}"
    );
    // The value is in no log line and not in the data directory.
    assert!(!server.log().contains(&value));
    let data = server.log.parent().expect("manifest dir").join("data");
    for file in files_under(&data) {
        let bytes = std::fs::read(&file).expect("read");
        assert!(
            !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
            "{} holds the key's value",
            file.display()
        );
    }
}

/// Every file under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn a_plan_throttles_each_key_on_its_own_and_a_quota_answers_limit_exceeded() {
    let server = Server::start(manifest(KEYED));
    let (_, small) = create(&server, "a", Some("small"));
    let (_, other) = create(&server, "b", Some("small"));
    for _ in 0..2 {
        assert_eq!(get(&server, "/keyed", Some(&small)).await.status(), 200);
    }
    let resp = get(&server, "/keyed", Some(&small)).await;
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_answer(resp, 429, r#"{"message":"Too Many Requests"}"#).await;
    // Another key on the same plan has a bucket of its own.
    assert_eq!(get(&server, "/keyed", Some(&other)).await.status(), 200);

    let (quota_id, quota) = create(&server, "c", Some("quota"));
    for _ in 0..3 {
        assert_eq!(get(&server, "/keyed", Some(&quota)).await.status(), 200);
    }
    let resp = get(&server, "/keyed", Some(&quota)).await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!(
        (1..=86_400).contains(&retry),
        "until the next UTC day: {retry}"
    );
    let id = request_id(&resp);
    assert_answer(resp, 429, r#"{"message":"Limit Exceeded"}"#).await;
    assert!(
        access_line(&server, &id)
            .await
            .contains("usage plan `quota`'s quota of 3 is used up")
    );
    let usage = admin_get(&server, &format!("/keys/{quota_id}/usage")).await;
    assert_eq!(usage["used"], 3, "{usage}");
    assert_eq!(usage["remaining"], 0);
    assert_eq!(usage["period"], "day");
    let text = keys(&server, &["usage", &quota_id]);
    assert!(text.contains("3 of 3 requests this day"), "{text}");

    // A key on an unknown plan is refused at creation.
    let resp = client()
        .post(server.admin_url("/keys"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"name": "x", "plan": "gold"}))
        .send()
        .await
        .expect("admin");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(
        body["message"],
        "no usage plan `gold` (usage plans in the manifest: quota, small)"
    );
}

/// `kill -TERM` and wait for the exit.
fn stop(server: &mut Server) {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    server
        .wait(Duration::from_secs(20))
        .expect("portico exits after SIGTERM");
}

fn used(usage: &Value) -> u64 {
    usage["used"].as_u64().expect("a count")
}

#[tokio::test]
async fn quota_counts_survive_a_graceful_stop_and_a_kill_9() {
    let m: TempManifest = manifest(&KEYED.replace("limit = 3", "limit = 6"));
    let log = m.dir.path().join("portico.log");
    let start = |m: &Path| Server::start_on(m, &log, &[], &[], &[]);
    let mut server = start(&m.path);
    let (id, value) = create(&server, "durable", Some("quota"));
    for _ in 0..2 {
        assert_eq!(get(&server, "/keyed", Some(&value)).await.status(), 200);
    }
    // A graceful stop writes what was counted at once.
    stop(&mut server);
    let mut server = start(&m.path);
    assert_eq!(
        used(&admin_get(&server, &format!("/keys/{id}/usage")).await),
        2
    );

    // A kill -9 loses at most the last flush interval (1 s): after it, nothing.
    assert_eq!(get(&server, "/keyed", Some(&value)).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    server.kill();
    let server = start(&m.path);
    for _ in 0..3 {
        assert_eq!(get(&server, "/keyed", Some(&value)).await.status(), 200);
    }
    assert_answer(
        get(&server, "/keyed", Some(&value)).await,
        429,
        r#"{"message":"Limit Exceeded"}"#,
    )
    .await;
    assert_eq!(
        used(&admin_get(&server, &format!("/keys/{id}/usage")).await),
        6
    );
}

#[tokio::test]
async fn keys_and_quotas_work_on_dynamodb() {
    let dynamodb = crate::support::dynamodb().await;
    let endpoint = dynamodb.endpoint();
    let env = crate::support::dynamodb_env(&endpoint);
    let m = manifest(KEYED);
    let log = m.dir.path().join("portico.log");
    let mut server = Server::start_on(&m.path, &log, &[], &[], &env);
    let (id, value) = create(&server, "on-dynamodb", Some("quota"));
    for _ in 0..2 {
        assert_eq!(get(&server, "/keyed", Some(&value)).await.status(), 200);
    }
    stop(&mut server);
    // A second host on the same tables knows the key and its count.
    let server = Server::start_on(&m.path, &log, &[], &[], &env);
    assert_eq!(get(&server, "/keyed", Some(&value)).await.status(), 200);
    assert_answer(
        get(&server, "/keyed", Some(&value)).await,
        429,
        r#"{"message":"Limit Exceeded"}"#,
    )
    .await;
    assert_eq!(
        used(&admin_get(&server, &format!("/keys/{id}/usage")).await),
        3
    );
}

#[tokio::test]
async fn a_whole_stage_can_require_keys_and_a_route_can_opt_out() {
    let server = Server::start(manifest(
        r#"
[server]
admin_token = "test-admin-token"
[data]
dir = "data"
[stage]
api_key_required = true
[functions.hello]
module = "{hello}"
[routes]
"GET /hello" = "hello"
"GET /health" = { function = "hello", api_key_required = false }
"#,
    ));
    assert_eq!(get(&server, "/hello", None).await.status(), 403);
    assert_eq!(get(&server, "/health", None).await.status(), 200);
    let (_, value) = create(&server, "k", None);
    assert_eq!(get(&server, "/hello", Some(&value)).await.status(), 200);
}

#[test]
fn invoke_takes_the_key_id_from_the_event_or_checks_the_header() {
    let m = manifest(KEYED);
    let event = |identity: Value, headers: Value| {
        let path = m.dir.path().join("event.json");
        let text = serde_json::json!({
            "resource": "/keyed",
            "path": "/keyed",
            "httpMethod": "GET",
            "headers": headers,
            "requestContext": {"identity": identity},
        });
        std::fs::write(&path, text.to_string()).expect("event");
        invoke(&m.path, &path)
    };
    let payload = event(
        serde_json::json!({"apiKeyId": "recorded1"}),
        serde_json::json!({}),
    );
    assert_eq!(payload["statusCode"], 200, "{payload}");
    let body: Value = serde_json::from_str(payload["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(body["requestContext"]["identity"]["apiKeyId"], "recorded1");
    let payload = event(
        serde_json::json!({}),
        serde_json::json!({"x-api-key": "not-a-key"}),
    );
    assert_eq!(payload["statusCode"], 403, "{payload}");
}

#[tokio::test]
async fn the_admin_api_needs_its_token_and_says_when_keys_are_off() {
    let server = Server::start(manifest(KEYED));
    let resp = client()
        .get(server.admin_url("/keys"))
        .send()
        .await
        .expect("admin");
    assert_eq!(resp.status(), 401);
    let plain = Server::start(manifest(
        "[server]\nadmin_token = \"test-admin-token\"\n[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /hello\" = \"hello\"\n",
    ));
    let resp = client()
        .get(plain.admin_url("/keys"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin");
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.expect("JSON");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("API keys are not in use on this host")),
        "{body}"
    );
}

#[test]
fn bad_usage_plans_name_line_and_key() {
    let hello = "[functions.hello]\nmodule = \"{hello}\"\n";
    refused_at(
        &format!("{hello}[usage_plans.p]\nquota = {{ limit = 0, period = \"day\" }}\n"),
        "usage_plans.p.quota.limit",
        "1 request or more",
    );
    refused_at(
        &format!("{hello}[usage_plans.p]\nthrottle = {{ rate = -1, burst = 1 }}\n"),
        "usage_plans.p.throttle.rate",
        "0 or more",
    );
    refused_at(
        &format!("{hello}[usage_plans.p]\nquota = {{ limit = 5, period = \"year\" }}\n"),
        "usage_plans",
        "unknown variant `year`",
    );
    refused_at(
        "[tables.portico_api_keys]\npartition_key = { name = \"id\", type = \"S\" }\n",
        "tables.portico_api_keys",
        "reserved",
    );
}
