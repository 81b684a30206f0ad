//! Throttling through the real binary: a route's bucket, the API-wide bucket, `rate = 0`,
//! and API Gateway's 429.

use crate::support::{Server, access_line, client, manifest, metrics, request_id, sample};
use std::time::Duration;

async fn get(server: &Server, path: &str) -> reqwest::Response {
    client()
        .get(server.url(path))
        .send()
        .await
        .expect("request")
}

/// How many times `hello` got an instance.
async fn runs(server: &Server) -> f64 {
    sample(
        &metrics(server).await,
        r#"portico_guest_duration_seconds_count{function="hello"}"#,
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn a_route_over_its_limit_gets_429_with_retry_after_and_no_guest_runs() {
    let server = Server::start(manifest(
        r#"
[functions.hello]
module = "{hello}"
[routes]
"GET /limited" = { function = "hello", throttle = { rate = 1, burst = 2 } }
"GET /open" = "hello"
"#,
    ));
    assert_eq!(get(&server, "/limited").await.status(), 200);
    assert_eq!(get(&server, "/limited").await.status(), 200);
    let resp = get(&server, "/limited").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let id = request_id(&resp);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Too Many Requests"}"#
    );
    let line = access_line(&server, &id).await;
    assert!(
        line.contains("over the limit of route GET /limited (rate 1/s, burst 2)"),
        "{line}"
    );
    assert_eq!(runs(&server).await, 2.0, "the refused request ran nothing");
    // Other routes have their own limits (here: only the API's).
    for _ in 0..5 {
        assert_eq!(get(&server, "/open").await.status(), 200);
    }
    // The bucket refills at its rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&server, "/limited").await.status(), 200);
}

#[tokio::test]
async fn the_api_wide_bucket_is_shared_by_every_route_and_rate_zero_refuses_all() {
    let server = Server::start(manifest(
        r#"
[throttle]
rate = 0.5
burst = 2
[functions.hello]
module = "{hello}"
[routes]
"GET /a" = "hello"
"GET /b" = "hello"
"#,
    ));
    assert_eq!(get(&server, "/a").await.status(), 200);
    assert_eq!(get(&server, "/b").await.status(), 200);
    let resp = get(&server, "/a").await;
    assert_eq!(resp.status(), 429);
    // One request per 2 s: the wait is about 2 s, rounded up.
    assert_eq!(resp.headers()["retry-after"], "2");
    let id = request_id(&resp);
    assert!(
        access_line(&server, &id)
            .await
            .contains("over the limit of the API")
    );

    let server = Server::start(manifest(
        r#"
[functions.hello]
module = "{hello}"
[routes]
"GET /closed" = { function = "hello", throttle = { rate = 0, burst = 0 } }
"GET /open" = "hello"
"#,
    ));
    for _ in 0..3 {
        assert_eq!(get(&server, "/closed").await.status(), 429);
    }
    assert_eq!(get(&server, "/open").await.status(), 200);
}

#[tokio::test]
async fn the_stage_default_gives_each_route_its_own_bucket_unless_it_has_one() {
    let server = Server::start(manifest(
        r#"
[stage]
throttle = { rate = 0.5, burst = 1 }
[functions.hello]
module = "{hello}"
[routes]
"GET /a" = "hello"
"GET /b" = { function = "hello", timeout = "5s" }
"GET /own" = { function = "hello", throttle = { rate = 1, burst = 3 } }
"#,
    ));
    // Each route its own bucket of one: /a's second request is refused, /b's first is not.
    assert_eq!(get(&server, "/a").await.status(), 200);
    let resp = get(&server, "/a").await;
    assert_eq!(resp.status(), 429);
    let id = request_id(&resp);
    assert!(
        access_line(&server, &id)
            .await
            .contains("route GET /a (the stage's default)"),
        "names the bucket"
    );
    assert_eq!(get(&server, "/b").await.status(), 200);
    assert_eq!(get(&server, "/b").await.status(), 429);
    // A route's own setting replaces the stage's.
    for _ in 0..3 {
        assert_eq!(get(&server, "/own").await.status(), 200);
    }
    assert_eq!(get(&server, "/own").await.status(), 429);
}

#[tokio::test]
async fn throttle_mistakes_name_file_line_and_key() {
    for (text, key) in [
        ("[throttle]\nrate = -1\nburst = 5\n", "throttle.rate"),
        ("[throttle]\nrate = 5\n", "throttle"),
        (
            "[stage]\nthrottle = { rate = -3, burst = 1 }\n",
            "stage.throttle.rate",
        ),
        (
            "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /a\" = { function = \"hello\", throttle = { rate = -2, burst = 1 } }\n",
            "routes.\"GET /a\".throttle.rate",
        ),
        (
            "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /a\" = { function = \"hello\", throttle = { rate = 1, burst = -1 } }\n",
            "routes.\"GET /a\"",
        ),
    ] {
        crate::support::refused_at(text, key, "");
    }
}
