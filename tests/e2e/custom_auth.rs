//! Custom authorizers (`type = "request"`, API Gateway's Lambda authorizers) through the
//! real binary: the `authorizer` example looking up keys the `keys` example issued, and
//! `misbehave-authorizer` for the failure and caching cases.

use crate::support::{Server, access_line, client, manifest, metrics, mint, request_id, sample};
use serde_json::{Value, json};
use std::time::Duration;

/// The demo's arrangement: a dev JWT issues keys at `POST /keys`; `GET /whoami` and the
/// echo route `GET /echo/{id}` are behind the `keys` authorizer.
const KEYS: &str = r#"
[tables.api_keys]
partition_key = { name = "key_hash", type = "S" }

[functions.hello]
module = "{hello}"

[functions.keys]
module = "{keys}"
tables = ["api_keys"]

[functions.authorizer]
module = "{authorizer}"
tables = ["api_keys"]

[authorizers.dev]
type = "jwt"
issuer = "portico-dev"
audiences = ["portico-demo"]

[authorizers.keys]
type = "request"
function = "authorizer"
identity_source = ["$request.header.x-api-key"]

[routes]
"POST /keys" = { function = "keys", auth = "dev" }
"GET /whoami" = { function = "hello", auth = "keys" }
"GET /echo/{id}" = { function = "hello", auth = "keys" }
"GET /open" = "hello"
"#;

/// `misbehave-authorizer` behind three authorizers: the default TTL, a one-second TTL,
/// and no cache; its identity value comes from `x-id`.
const MISBEHAVE: &str = r#"
[functions.hello]
module = "{hello}"

[functions.gate]
module = "{misbehave-authorizer}"
timeout = "500ms"

[authorizers.cached]
type = "request"
function = "gate"
identity_source = "$request.header.x-id"

[authorizers.brief]
type = "request"
function = "gate"
identity_source = ["$request.header.x-id", "$context.routeKey"]
result_ttl = "1s"

[authorizers.uncached]
type = "request"
function = "gate"
identity_source = ["$request.header.x-id"]
result_ttl = "0s"

[routes]
"GET /cached" = { function = "hello", auth = "cached" }
"GET /brief" = { function = "hello", auth = "brief" }
"GET /uncached" = { function = "hello", auth = "uncached" }
"GET /open" = "hello"
"#;

async fn get(server: &Server, path: &str, header: Option<(&str, &str)>) -> reqwest::Response {
    let mut req = client().get(server.url(path));
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.expect("request")
}

/// `portico_authorizer_decisions_total` for one authorizer, decision and source.
async fn decisions(server: &Server, authorizer: &str, decision: &str, source: &str) -> f64 {
    let text = metrics(server).await;
    sample(
        &text,
        &format!(
            "portico_authorizer_decisions_total{{authorizer=\"{authorizer}\",decision=\"{decision}\",source=\"{source}\"}}"
        ),
    )
    .unwrap_or(0.0)
}

/// How many times function `name` got an instance (its guest-time histogram's count).
async fn runs(server: &Server, name: &str) -> f64 {
    let text = metrics(server).await;
    sample(
        &text,
        &format!("portico_guest_duration_seconds_count{{function=\"{name}\"}}"),
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn issued_api_keys_admit_requests_and_their_context_reaches_the_function() {
    let m = manifest(KEYS);
    let ann = mint(&m.path, &["--sub", "ann"]);
    let server = Server::start(m);

    let issued = client()
        .post(server.url("/keys"))
        .bearer_auth(&ann)
        .send()
        .await
        .expect("issue");
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().await.expect("json");
    let key = issued["key"].as_str().expect("a key").to_string();
    assert!(key.starts_with("pk_"), "{issued}");
    assert_eq!(issued["owner"], "ann");

    // No key: 401 before any authorizer runs.
    let resp = get(&server, "/whoami", None).await;
    assert_eq!(resp.status(), 401);
    let id = request_id(&resp);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Unauthorized"}"#
    );
    let line = access_line(&server, &id).await;
    assert!(
        line.contains("no value for identity source $request.header.x-api-key"),
        "{line}"
    );
    assert_eq!(runs(&server, "authorizer").await, 0.0);
    assert_eq!(
        decisions(&server, "keys", "unauthorized", "none").await,
        1.0
    );

    // A key nobody issued: 403, and the key is in no log line.
    let resp = get(&server, "/whoami", Some(("x-api-key", "pk_forged"))).await;
    assert_eq!(resp.status(), 403);
    let id = request_id(&resp);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Forbidden"}"#
    );
    assert!(access_line(&server, &id).await.contains("denied"));

    // The issued key: admitted, with the authorizer's context, five times over one run.
    for _ in 0..5 {
        let resp = get(&server, "/whoami", Some(("x-api-key", &key))).await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["authorizer"]["owner"], "ann", "{body}");
        assert_eq!(body["authorizer"]["keyId"], issued["id"], "{body}");
    }
    assert_eq!(decisions(&server, "keys", "allow", "function").await, 1.0);
    assert_eq!(decisions(&server, "keys", "allow", "cache").await, 4.0);
    assert_eq!(
        runs(&server, "authorizer").await,
        2.0,
        "one allow, one deny"
    );

    // The event: `requestContext.authorizer.lambda`, and no `jwt` part.
    let resp = get(&server, "/echo/7", Some(("x-api-key", &key))).await;
    assert_eq!(resp.status(), 200);
    let event: Value = resp.json().await.expect("json");
    let authorizer = &event["requestContext"]["authorizer"];
    assert_eq!(authorizer["lambda"]["owner"], "ann", "{event}");
    assert!(authorizer.get("jwt").is_none(), "{event}");

    let log = server.log();
    assert!(!log.contains(&key), "the key reached the log");
    assert_eq!(get(&server, "/open", None).await.status(), 200);
}

#[tokio::test]
async fn decisions_are_cached_for_result_ttl_and_not_at_all_with_zero() {
    let server = Server::start(manifest(MISBEHAVE));
    let allow = Some(("x-id", "allow:bo"));

    for _ in 0..3 {
        let resp = get(&server, "/brief", allow).await;
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(decisions(&server, "brief", "allow", "function").await, 1.0);
    assert_eq!(decisions(&server, "brief", "allow", "cache").await, 2.0);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(get(&server, "/brief", allow).await.status(), 200);
    assert_eq!(
        decisions(&server, "brief", "allow", "function").await,
        2.0,
        "an expired decision runs the authorizer again"
    );

    for _ in 0..3 {
        assert_eq!(get(&server, "/uncached", allow).await.status(), 200);
    }
    assert_eq!(
        decisions(&server, "uncached", "allow", "function").await,
        3.0
    );
    assert_eq!(decisions(&server, "uncached", "allow", "cache").await, 0.0);

    // Denials are cached too (API Gateway caches the policy either way).
    for _ in 0..3 {
        assert_eq!(
            get(&server, "/cached", Some(("x-id", "nobody")))
                .await
                .status(),
            403
        );
    }
    assert_eq!(decisions(&server, "cached", "deny", "function").await, 1.0);
    assert_eq!(decisions(&server, "cached", "deny", "cache").await, 2.0);
}

#[tokio::test]
async fn concurrent_requests_with_the_same_identity_run_the_authorizer_once() {
    let server = Server::start(manifest(MISBEHAVE));
    let requests = (0..12).map(|_| get(&server, "/cached", Some(("x-id", "slow:cy"))));
    for resp in futures_util::future::join_all(requests).await {
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(decisions(&server, "cached", "allow", "function").await, 1.0);
    assert_eq!(runs(&server, "gate").await, 1.0);
}

#[tokio::test]
async fn failing_authorizers_answer_500_uncached_and_the_host_goes_on() {
    let server = Server::start(manifest(MISBEHAVE));
    for (value, why) in [
        ("trap", "trap"),
        ("error", "deliberate error"),
        ("loop", "timed out"),
    ] {
        for _ in 0..2 {
            let resp = get(&server, "/cached", Some(("x-id", value))).await;
            assert_eq!(resp.status(), 500, "{value}");
            let id = request_id(&resp);
            assert_eq!(
                resp.text().await.expect("body"),
                r#"{"message":"Internal Server Error"}"#
            );
            let line = access_line(&server, &id).await;
            assert!(
                line.contains("the authorizer failed") && line.contains(why),
                "{line}"
            );
        }
    }
    // Failures are never cached: each request ran the function.
    assert_eq!(decisions(&server, "cached", "error", "function").await, 6.0);
    let text = metrics(&server).await;
    assert_eq!(
        sample(
            &text,
            r#"portico_invocation_failures_total{function="gate",outcome="timeout"}"#
        ),
        Some(2.0),
        "{text}"
    );
    let resp = get(&server, "/cached", Some(("x-id", "allow:di"))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(get(&server, "/open", None).await.status(), 200);
}

#[tokio::test]
async fn the_authorizer_request_carries_the_identity_and_the_route() {
    let m = manifest(
        r#"
[functions.hello]
module = "{hello}"
[functions.gate]
module = "{misbehave-authorizer}"
[authorizers.gate]
type = "request"
function = "gate"
identity_source = "$request.querystring.id"
[routes]
"GET /pets/{id}" = { function = "hello", auth = "gate" }
"#,
    );
    let server = Server::start(m);
    let event: Value = get(&server, "/pets/9?id=allow:gu", None)
        .await
        .json()
        .await
        .expect("json");
    let lambda = &event["requestContext"]["authorizer"]["lambda"];
    assert_eq!(lambda["name"], "gu", "{event}");
    assert_eq!(lambda["route"], "GET /pets/{id}", "{event}");
    assert_eq!(get(&server, "/pets/9", None).await.status(), 401);
    assert_eq!(get(&server, "/pets/9?id=", None).await.status(), 401);
}

#[tokio::test]
async fn invoke_carries_the_event_s_lambda_context_into_the_function() {
    let body = crate::support::invoke_with_authorizer(
        &manifest(KEYS),
        "/whoami",
        &json!({"lambda": {"owner": "from-event", "tier": 2}}),
    );
    assert_eq!(
        body["authorizer"],
        json!({"owner": "from-event", "tier": 2})
    );
}

#[tokio::test]
async fn custom_authorizer_mistakes_are_refused_with_the_reason() {
    // Found while reading the manifest: file, line and key.
    for (text, key, words) in [
        (
            "[authorizers.a]\ntype = \"request\"\nfunction = \"nope\"\n",
            "authorizers.a.function",
            "no function named `nope`",
        ),
        (
            "[functions.gate]\nmodule = \"{misbehave-authorizer}\"\n[authorizers.a]\ntype = \"request\"\nfunction = \"gate\"\nresult_ttl = \"2h\"\n",
            "authorizers.a.result_ttl",
            "at most 1h",
        ),
        (
            "[functions.gate]\nmodule = \"{misbehave-authorizer}\"\n[authorizers.a]\ntype = \"request\"\nfunction = \"gate\"\nidentity_source = [\"$request.body.k\"]\n",
            "authorizers.a.identity_source",
            "$stageVariables.NAME",
        ),
        (
            "[functions.hello]\nmodule = \"{hello}\"\n[functions.gate]\nmodule = \"{misbehave-authorizer}\"\n[authorizers.a]\ntype = \"request\"\nfunction = \"gate\"\n[routes]\n\"GET /a\" = { function = \"hello\", auth = \"a\", scopes = [\"x\"] }\n",
            "routes.\"GET /a\".scopes",
            "JWT authorizers only",
        ),
    ] {
        crate::support::refused_at(text, key, words);
    }
    // Found once the components are loaded: what each one is.
    for (text, words) in [
        (
            "[functions.hello]\nmodule = \"{hello}\"\n[authorizers.a]\ntype = \"request\"\nfunction = \"hello\"\n[routes]\n\"GET /a\" = { function = \"hello\", auth = \"a\" }\n",
            "authorizer `a` runs function `hello`, of kind `function`",
        ),
        (
            "[functions.gate]\nmodule = \"{misbehave-authorizer}\"\n[routes]\n\"GET /a\" = \"gate\"\n",
            "leads to function `gate`, of kind `authorizer`",
        ),
    ] {
        let err = crate::support::up_fails(&manifest(text));
        assert!(err.contains(words), "{words}: {err}");
    }
}

#[tokio::test]
async fn a_new_authorizer_version_decides_afresh_and_a_function_cannot_replace_it() {
    let server = crate::deploy::start(manifest(MISBEHAVE));
    let allow = Some(("x-id", "allow:hu"));
    for _ in 0..2 {
        assert_eq!(get(&server, "/cached", allow).await.status(), 200);
    }
    assert_eq!(decisions(&server, "cached", "allow", "function").await, 1.0);

    // Another version of the authorizer: its decisions are its own.
    let gate = std::fs::read(crate::support::component("misbehave_authorizer")).expect("wasm");
    let (status, body) =
        crate::deploy::put(&server, "gate", crate::deploy::variant(&gate, "v2")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&server, "/cached", allow).await.status(), 200);
    assert_eq!(decisions(&server, "cached", "allow", "function").await, 2.0);

    // A function in the authorizer's place is refused; the authorizer goes on serving.
    let hello = std::fs::read(crate::support::component("hello")).expect("wasm");
    let (status, body) = crate::deploy::put(&server, "gate", hello).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.to_string().contains("of kind `function`"), "{body}");
    assert_eq!(get(&server, "/cached", allow).await.status(), 200);
    assert_eq!(decisions(&server, "cached", "allow", "function").await, 2.0);
}
