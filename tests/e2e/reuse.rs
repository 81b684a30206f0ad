//! Instance reuse (`reuse = { max_requests, max_age }`): a kept instance serves up to
//! `max_requests` requests one after another — its globals survive, the request's own
//! state does not — and a fresh instance follows; without `reuse` every request gets a
//! fresh one.

use serde_json::Value;

use crate::support::{Server, client, manifest, refused_at};

const HELLO: &str = r#"
[functions.hello]
module = "{hello}"
REUSE

[routes]
"GET /c/count" = "hello"
"GET /c/count-then-fail" = "hello"
"#;

/// `count` and `request_id` of `n` requests in a row, with the id the gateway sent.
async fn counts(server: &Server, n: usize) -> Vec<u64> {
    let http = client();
    let mut out = Vec::new();
    for _ in 0..n {
        let response = http
            .get(server.url("/c/count"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let id = response.headers()["apigw-requestid"]
            .to_str()
            .expect("id")
            .to_owned();
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["request_id"], id.as_str(), "each request's own id");
        out.push(body["count"].as_u64().expect("count"));
    }
    out
}

#[tokio::test]
async fn a_reused_instance_serves_max_requests_then_a_fresh_one_follows() {
    let server = Server::start(manifest(
        &HELLO.replace("REUSE", "reuse = { max_requests = 3, max_age = \"1h\" }"),
    ));
    assert_eq!(counts(&server, 7).await, [1, 2, 3, 1, 2, 3, 1]);
}

/// A request that ends in an error (here the guest's own `Err`, answered 500) discards
/// the instance: the next request starts from a fresh one.
#[tokio::test]
async fn an_instance_whose_request_failed_is_discarded() {
    let server = Server::start(manifest(
        &HELLO.replace("REUSE", "reuse = { max_requests = 100 }"),
    ));
    assert_eq!(counts(&server, 2).await, [1, 2]);
    let failed = client()
        .get(server.url("/c/count-then-fail"))
        .send()
        .await
        .expect("request");
    assert_eq!(failed.status(), 500);
    assert_eq!(
        counts(&server, 2).await,
        [1, 2],
        "a fresh instance after the failure"
    );
}

#[tokio::test]
async fn without_reuse_every_request_gets_a_fresh_instance() {
    let server = Server::start(manifest(&HELLO.replace("REUSE", "")));
    assert_eq!(counts(&server, 3).await, [1, 1, 1]);
}

#[tokio::test]
async fn an_instance_past_its_max_age_is_not_reused() {
    let server = Server::start(manifest(&HELLO.replace(
        "REUSE",
        "reuse = { max_requests = 100, max_age = \"300ms\" }",
    )));
    assert_eq!(counts(&server, 2).await, [1, 2]);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(counts(&server, 1).await, [1]);
}

#[test]
fn reuse_mistakes_name_the_key() {
    refused_at(
        &HELLO.replace("REUSE", "reuse = { max_requests = 0 }"),
        "functions.hello.reuse.max_requests",
        "at least 1",
    );
    refused_at(
        &HELLO.replace("REUSE", "reuse = { max_requests = 2, max_age = \"0s\" }"),
        "functions.hello.reuse.max_age",
        "more than 0",
    );
}
