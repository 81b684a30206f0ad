//! `portico invoke` replaying API Gateway's own published events (tests/fixtures/apigw):
//! the recorded context reaches the function, a named stage's prefix is not routed on,
//! the answer comes back in the event's payload format, and `--fresh-context` makes the
//! event a new request.

use crate::support::{TempManifest, invoke_with as invoke, manifest, root};
use serde_json::{Value, json};

/// Routes for the fixtures' requests, behind a JWT authorizer and an API key check that
/// the recorded events' own authorizer output and key id satisfy.
fn replay_manifest() -> TempManifest {
    manifest(
        r#"
[data]
dir = "data"
[authorizers.dev]
type = "jwt"
issuer = "portico-dev"
audiences = ["replay"]
[functions.hello]
module = "{hello}"
[routes]
"POST /hello/{proxy+}" = { function = "hello", auth = "dev", api_key_required = true }
"GET /my/path" = { function = "hello", auth = "dev" }
"GET /" = "hello"
"GET /hello/{name}" = "hello"
"#,
    )
}

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures/apigw").join(name)
}

/// The echo's view of the event, from a response printed in either format.
fn echoed(response: &Value) -> Value {
    assert_eq!(response["statusCode"], 200, "{response}");
    serde_json::from_str(response["body"].as_str().expect("body")).expect("JSON body")
}

#[test]
fn a_recorded_rest_api_event_replays_with_its_context_and_answers_in_1_0() {
    let m = replay_manifest();
    let response = invoke(&m.path, &fixture("apigw-request.json"), &[]);
    // Payload 1.0 in, 1.0 out.
    assert!(response.get("multiValueHeaders").is_some(), "{response}");
    assert!(response.get("cookies").is_none(), "{response}");
    let event = echoed(&response);
    let ctx = &event["requestContext"];
    assert_eq!(ctx["requestId"], "deef4878-7910-11e6-8f14-25afc3e9ae33");
    assert_eq!(ctx["stage"], "testStage");
    assert_eq!(ctx["timeEpoch"], 1_589_522_469_693_u64);
    assert_eq!(ctx["time"], "15/May/2020:06:01:09 +0000");
    assert_eq!(ctx["http"]["sourceIp"], "192.168.196.186");
    assert_eq!(ctx["http"]["userAgent"], "PostmanRuntime/2.4.5");
    assert_eq!(
        ctx["domainName"],
        "gy415nuibc.execute-api.us-east-1.amazonaws.com"
    );
    // The recorded authorizer's context and key id: neither policy ran again.
    assert_eq!(
        ctx["authorizer"]["lambda"],
        json!({"principalId": "admin", "clientId": 1, "clientName": "Exata"})
    );
    assert_eq!(ctx["identity"]["apiKeyId"], "theApiKeyId");
    assert_eq!(
        event["stageVariables"],
        json!({"stageVariableName": "stageVariableValue"})
    );
    assert_eq!(event["pathParameters"]["proxy"], "world");
    assert_eq!(event["queryStringParameters"]["name"], "me");
    assert_eq!(event["body"], "{\r\n\t\"a\": 1\r\n}");
}

#[test]
fn recorded_http_api_events_replay_their_authorizers_and_answer_in_2_0() {
    let m = replay_manifest();
    let response = invoke(
        &m.path,
        &fixture("apigw-v2-request-jwt-authorizer.json"),
        &[],
    );
    assert!(response.get("multiValueHeaders").is_none(), "{response}");
    let event = echoed(&response);
    assert_eq!(
        event["requestContext"]["authorizer"]["jwt"]["claims"],
        json!({"claim1": "value1", "claim2": "value2"})
    );
    assert_eq!(event["requestContext"]["requestId"], "id");
    assert_eq!(event["requestContext"]["timeEpoch"], 1_583_348_638_390_u64);
    assert_eq!(event["requestContext"]["http"]["userAgent"], "agent");
    assert_eq!(event["cookies"], json!(["cookie1", "cookie2"]));
    assert_eq!(
        event["queryStringParameters"]["parameter1"],
        "value1,value2"
    );
    assert_eq!(event["stageVariables"]["stageVariable2"], "value2");

    let event = echoed(&invoke(
        &m.path,
        &fixture("apigw-v2-request-lambda-authorizer.json"),
        &[],
    ));
    assert_eq!(
        event["requestContext"]["authorizer"]["lambda"],
        json!({"key": "value"})
    );

    let event = echoed(&invoke(
        &m.path,
        &fixture("apigw-v2-request-no-authorizer.json"),
        &[],
    ));
    assert_eq!(event["requestContext"]["requestId"], "LV7fzho-PHcEJPw=");
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "1.2.3.4");
    assert_eq!(
        event["requestContext"]["time"],
        "21/Apr/2020:15:08:21 +0000"
    );
}

#[test]
fn a_named_stage_prefix_is_not_routed_on_but_raw_path_keeps_it() {
    let m = replay_manifest();
    let path = m.dir.path().join("beta.json");
    std::fs::write(
        &path,
        json!({
            "version": "2.0",
            "routeKey": "GET /hello/{name}",
            "rawPath": "/beta/hello/ann",
            "rawQueryString": "",
            "headers": {"x-echo": "1"},
            "stageVariables": {"greeting": "Howdy"},
            "requestContext": {"stage": "beta", "http": {"method": "GET", "path": "/beta/hello/ann"}},
        })
        .to_string(),
    )
    .expect("event");
    let response = invoke(&m.path, &path, &[]);
    let greeting: Value =
        serde_json::from_str(response["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(greeting["message"], "Howdy, ann!", "{response}");
}

#[test]
fn fresh_context_makes_the_event_a_new_request() {
    let m = replay_manifest();
    // The route's JWT authorizer runs now, and the event carries no token.
    let response = invoke(
        &m.path,
        &fixture("apigw-v2-request-jwt-authorizer.json"),
        &["--fresh-context"],
    );
    assert_eq!(response["statusCode"], 401, "{response}");
    assert_eq!(response["body"], r#"{"message":"Unauthorized"}"#);
    // A new id, the manifest's stage, and a 2.0 answer to a 1.0 event.
    let m2 = manifest(
        "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"POST /hello/{proxy+}\" = \"hello\"\n",
    );
    let response = invoke(
        &m2.path,
        &fixture("apigw-request.json"),
        &["--fresh-context"],
    );
    assert!(response.get("multiValueHeaders").is_none(), "{response}");
    let event = echoed(&response);
    assert_ne!(
        event["requestContext"]["requestId"],
        "deef4878-7910-11e6-8f14-25afc3e9ae33"
    );
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert_eq!(event["requestContext"]["authorizer"], Value::Null);
}
