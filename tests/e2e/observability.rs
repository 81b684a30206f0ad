//! The admin listener (`/healthz`, `/metrics`) and the access log.

use crate::support::{Server, client, manifest, sample};
use serde_json::Value;
use std::time::{Duration, Instant};

const BOTH: &str = r#"
[functions.hello]
module = "{hello}"

[functions.misbehave]
module = "{misbehave}"
timeout = "1s"

[routes]
"GET /hello/{name}" = "hello"
"GET /trap" = "misbehave"
"GET /loop" = "misbehave"
"GET /sleep" = "misbehave"
"#;

#[tokio::test]
async fn metrics_count_known_traffic() {
    let server = Server::start(manifest(BOTH));
    let http = client();
    for name in ["a", "b", "c"] {
        let resp = http
            .get(server.url(&format!("/hello/{name}")))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
    }
    for (path, status) in [("/nope", 404), ("/trap", 500), ("/loop", 503)] {
        let resp = http.get(server.url(path)).send().await.expect("request");
        assert_eq!(resp.status(), status, "{path}");
    }

    let resp = http
        .get(server.admin_url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .contains("openmetrics-text")
    );
    let m = resp.text().await.expect("body");
    let expect = |series: &str, value: f64| {
        assert_eq!(sample(&m, series), Some(value), "{series} in\n{m}");
    };
    expect(
        r#"portico_requests_total{route="GET /hello/{name}",status="200"}"#,
        3.0,
    );
    expect(
        r#"portico_requests_total{route="(none)",status="404"}"#,
        1.0,
    );
    expect(
        r#"portico_requests_total{route="GET /trap",status="500"}"#,
        1.0,
    );
    expect(
        r#"portico_requests_total{route="GET /loop",status="503"}"#,
        1.0,
    );
    expect(
        r#"portico_invocation_failures_total{function="misbehave",outcome="trap"}"#,
        1.0,
    );
    expect(
        r#"portico_invocation_failures_total{function="misbehave",outcome="timeout"}"#,
        1.0,
    );
    expect(
        r#"portico_request_duration_seconds_count{route="GET /hello/{name}"}"#,
        3.0,
    );
    expect(
        r#"portico_instantiate_duration_seconds_count{function="hello"}"#,
        3.0,
    );
    expect(
        r#"portico_guest_duration_seconds_count{function="hello"}"#,
        3.0,
    );
    expect(
        r#"portico_instance_memory_bytes_count{function="hello"}"#,
        3.0,
    );
    expect("portico_queue_depth", 0.0);
    let memory = sample(&m, r#"portico_instance_memory_bytes_sum{function="hello"}"#).expect("sum");
    assert!(
        memory >= 3.0 * 65536.0,
        "each instance has at least one wasm page: {memory}"
    );
}

#[tokio::test]
async fn admin_routes_live_only_on_the_admin_listener() {
    let server = Server::start(manifest(BOTH));
    let http = client();
    let health = http
        .get(server.admin_url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.expect("body"), r#"{"status":"ok"}"#);
    let post = http
        .post(server.admin_url("/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(post.status(), 405);
    // Everything else on the admin listener needs a token, and none is configured.
    let other = http
        .get(server.admin_url("/functions"))
        .send()
        .await
        .expect("request");
    assert_eq!(other.status(), 403);
    for path in ["/metrics", "/healthz"] {
        let public = http.get(server.url(path)).send().await.expect("request");
        assert_eq!(
            public.status(),
            404,
            "the public listener does not serve {path}"
        );
    }
}

/// Waits (up to 5 s) for the JSON log line of `target` about request `id`.
async fn log_line(server: &Server, target: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = server.log();
        let found = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["target"] == target && v["request_id"] == id);
        if let Some(line) = found {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no {target} line for {id}:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn json_access_log_has_one_line_per_request() {
    let server = Server::start_with(manifest(BOTH), &["--log-format", "json"]);
    let resp = client()
        .get(server.url("/hello/log"))
        .send()
        .await
        .expect("request");
    let id = crate::support::request_id(&resp);
    let access = log_line(&server, "portico::access", &id).await;
    assert_eq!(access["status"], 200);
    assert_eq!(access["route"], "GET /hello/{name}");
    assert_eq!(access["function"], "hello");
    assert_eq!(access["stage"], "$default");
    assert_eq!(access["method"], "GET");
    assert_eq!(access["path"], "/hello/log");
    assert_eq!(access["version"].as_str().map(str::len), Some(12));
    for field in [
        "latency_us",
        "queue_us",
        "instantiate_us",
        "guest_us",
        "cpu_us",
        "bytes_out",
        "memory_bytes",
    ] {
        assert!(access[field].is_u64(), "{field} in {access}");
    }
    let guest = server
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["target"] == "portico::guest" && v["request_id"] == id.as_str())
        .expect("the guest's log line carries the request id");
    assert_eq!(guest["function"], "hello");
}

/// A looping guest's CPU time is counted in its access-log line and in
/// `portico_function_cpu_seconds_total`, and a guest waiting on a timer is not.
#[tokio::test]
async fn cpu_time_is_what_the_instance_ran_not_what_it_waited() {
    let server = Server::start_with(manifest(BOTH), &["--log-format", "json"]);
    let looped = client()
        .get(server.url("/loop"))
        .send()
        .await
        .expect("loop");
    assert_eq!(looped.status(), 503);
    let id = crate::support::request_id(&looped);
    let access = log_line(&server, "portico::access", &id).await;
    let cpu = access["cpu_us"].as_u64().expect("cpu_us");
    let latency = access["latency_us"].as_u64().expect("latency_us");
    // It ran for most of its 1 s (the machine may be busy: a tenth is enough to show
    // it was counted), and never for longer than it existed.
    assert!(cpu >= 100_000, "cpu_us {cpu} for a 1 s loop: {access}");
    assert!(
        cpu <= latency,
        "cpu_us {cpu} over latency_us {latency}: {access}"
    );
    let text = crate::support::metrics(&server).await;
    let total = sample(
        &text,
        r#"portico_function_cpu_seconds_total{function="misbehave"}"#,
    )
    .expect("cpu counter");
    assert!(total >= 0.1, "{text}");
    // Sleeping is waiting: a guest asleep for 500 ms used next to no CPU.
    let slept = client()
        .get(server.url("/sleep?ms=500"))
        .send()
        .await
        .expect("sleep");
    assert_eq!(slept.status(), 200);
    let id = crate::support::request_id(&slept);
    let access = log_line(&server, "portico::access", &id).await;
    let cpu = access["cpu_us"].as_u64().expect("cpu_us");
    assert!(
        cpu < 250_000,
        "cpu_us {cpu} for a guest that slept 500 ms: {access}"
    );
}

/// Every request runs in a `request` span (request id, route, function, version); with
/// debug enabled for Portico, its stages are child spans, so a guest's log line names the
/// stage it came from.
#[tokio::test]
async fn requests_run_in_spans_with_their_stages() {
    let server = Server::start_env(
        manifest(BOTH),
        &["--log-format", "json"],
        &[("RUST_LOG", "info,portico=debug")],
    );
    let resp = client()
        .get(server.url("/hello/spans"))
        .send()
        .await
        .expect("request");
    let id = crate::support::request_id(&resp);
    let guest = log_line(&server, "portico::guest", &id).await;
    let spans = guest["spans"].as_array().expect("the line lists its spans");
    let names: Vec<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["request", "guest"], "{guest}");
    assert_eq!(spans[0]["request_id"], id.as_str(), "{guest}");
    assert_eq!(spans[0]["route"], "GET /hello/{name}", "{guest}");
    assert_eq!(spans[0]["function"], "hello", "{guest}");
}
