//! Payload format 1.0 through the real binary: a route with `payload = "1.0"` gives its
//! function a 1.0 event (every header and query value apart, `cookie` left a header),
//! the SDK renders API Gateway's exact 1.0 JSON, and a ported Lambda handler's 1.0
//! response is merged by API Gateway's rules.

use crate::support::{Server, client, manifest, up_fails};
use serde_json::Value;

const ROUTES: &str = r#"
[stage]
variables = { greeting = "Hi" }

[functions.hello]
module = "{hello}"

[routes]
"GET /v1/{rest+}" = { function = "hello", payload = "1.0" }
"GET /v2/{rest+}" = "hello"
"#;

async fn get(server: &Server, path: &str) -> reqwest::Response {
    client()
        .get(server.url(path))
        .header("x-multi", "1")
        .header("x-multi", "2")
        .header("cookie", "c1=v1; c2=v2")
        .header("user-agent", "portico-test")
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_1_0_route_keeps_every_value_apart_and_cookies_in_their_header() {
    let server = Server::start(manifest(ROUTES));
    let v1: Value = get(&server, "/v1/echo?a=1&a=3&b=x+y")
        .await
        .json()
        .await
        .expect("echo");
    assert_eq!(v1["version"], "1.0");
    let headers = v1["headers"].as_object().expect("headers");
    // The echo collects headers into a map, so a repeated name shows its last value,
    // as 1.0's `headers` does; the cookie stays a header.
    assert_eq!(headers["x-multi"], "2");
    assert_eq!(headers["cookie"], "c1=v1; c2=v2");
    assert_eq!(v1["cookies"], serde_json::json!([]));
    assert_eq!(v1["queryStringParameters"]["a"], "3");

    let v2: Value = get(&server, "/v2/echo?a=1&a=3")
        .await
        .json()
        .await
        .expect("echo");
    assert_eq!(v2["version"], "2.0");
    assert_eq!(v2["headers"]["x-multi"], "1,2");
    assert_eq!(v2["cookies"], serde_json::json!(["c1=v1", "c2=v2"]));
    assert_eq!(v2["queryStringParameters"]["a"], "1,3");
}

#[tokio::test]
async fn a_ported_lambda_handler_gets_the_1_0_event_and_its_response_merges() {
    let server = Server::start(manifest(ROUTES));
    let resp = get(&server, "/v1/a/lambda?a=1&a=3").await;
    assert_eq!(resp.status(), 200);
    // 1.0: multiValueHeaders win over headers for the same name.
    let handler: Vec<&str> = resp
        .headers()
        .get_all("x-handler")
        .iter()
        .map(|v| v.to_str().expect("text"))
        .collect();
    assert_eq!(handler, ["lambda", "ported"]);
    let event: Value = resp.json().await.expect("the event");
    assert_eq!(event["version"], "1.0");
    assert_eq!(event["resource"], "/v1/{rest+}");
    assert_eq!(event["path"], "/v1/a/lambda");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["headers"]["x-multi"], "2");
    assert_eq!(
        event["multiValueHeaders"]["x-multi"],
        serde_json::json!(["1", "2"])
    );
    assert_eq!(event["queryStringParameters"]["a"], "3");
    assert_eq!(
        event["multiValueQueryStringParameters"]["a"],
        serde_json::json!(["1", "3"])
    );
    assert_eq!(event["pathParameters"]["rest"], "a/lambda");
    assert_eq!(event["stageVariables"]["greeting"], "Hi");
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(
        event["requestContext"]["identity"]["userAgent"],
        "portico-test"
    );
    assert_eq!(event["requestContext"]["resourcePath"], "/v1/{rest+}");
    assert_eq!(event["body"], Value::Null);
    assert_eq!(event["isBase64Encoded"], false);

    // 2.0: the same handler's multiValueHeaders are not a 2.0 field.
    let resp = get(&server, "/v2/a/lambda").await;
    assert_eq!(resp.headers()["x-handler"], "single");
    let event: Value = resp.json().await.expect("the event");
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["rawPath"], "/v2/a/lambda");
    assert_eq!(event["cookies"], serde_json::json!(["c1=v1", "c2=v2"]));
}

#[test]
fn payload_versions_are_checked() {
    let err = up_fails(&manifest(
        "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /a\" = { function = \"hello\", payload = \"3.0\" }\n",
    ));
    assert!(
        err.contains("routes.\"GET /a\".payload") && err.contains("use \"1.0\" or \"2.0\""),
        "{err}"
    );
    let err = up_fails(&manifest(
        "[functions.w]\nmodule = \"{wasi}\"\n[routes]\n\"GET /a\" = { function = \"w\", payload = \"1.0\" }\n",
    ));
    assert!(
        err.contains("is a wasi-http component, which gets the HTTP request itself"),
        "{err}"
    );
}
