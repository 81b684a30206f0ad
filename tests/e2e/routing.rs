//! Route matching through the real server: API Gateway's priority rules.

use crate::support::{Server, client, manifest};
use serde_json::Value;

const ROUTES: &str = r#"
[stage]
name = "test"
variables = { greeting = "Hi" }

[functions.hello]
module = "{hello}"

[routes]
"GET /pets/dog/1" = "hello"
"GET /pets/dog/{id}" = "hello"
"GET /pets/{proxy+}" = "hello"
"ANY /{proxy+}" = "hello"
"$default" = "hello"
"GET /a/{x}/c" = "hello"
"GET /a/b/{y}" = "hello"
"GET /items" = "hello"
"ANY /items" = "hello"
"GET /files/{name}" = "hello"
"GET /hello/{name}" = "hello"
"#;

/// (method, path, expected route key, expected path parameters)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

#[tokio::test]
async fn priority_table() {
    let server = Server::start(manifest(ROUTES));
    let http = client();
    let table: &[Case] = &[
        ("GET", "/pets/dog/1", "GET /pets/dog/1", &[]),
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}", &[("id", "2")]),
        (
            "GET",
            "/pets/cat/1",
            "GET /pets/{proxy+}",
            &[("proxy", "cat/1")],
        ),
        (
            "GET",
            "/pets/a/b/c",
            "GET /pets/{proxy+}",
            &[("proxy", "a/b/c")],
        ),
        ("POST", "/test/5", "ANY /{proxy+}", &[("proxy", "test/5")]),
        (
            "POST",
            "/pets/dog/1",
            "ANY /{proxy+}",
            &[("proxy", "pets/dog/1")],
        ),
        ("GET", "/", "$default", &[]),
        ("GET", "/a/b/c", "GET /a/b/{y}", &[("y", "c")]),
        ("GET", "/a/z/c", "GET /a/{x}/c", &[("x", "z")]),
        ("GET", "/items", "GET /items", &[]),
        ("GET", "/items/", "GET /items", &[]),
        ("DELETE", "/items", "ANY /items", &[]),
        (
            "GET",
            "/files/a%20b%2Fc",
            "GET /files/{name}",
            &[("name", "a b/c")],
        ),
        (
            "GET",
            "/files/%E2%9C%93",
            "GET /files/{name}",
            &[("name", "✓")],
        ),
    ];
    for (method, path, key, params) in table {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = http
            .request(method.clone(), server.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "{method} {path}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["routeKey"], *key, "{method} {path}: {body}");
        assert_eq!(body["requestContext"]["routeKey"], *key);
        let expected: serde_json::Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        assert_eq!(
            body["pathParameters"],
            Value::Object(expected),
            "{method} {path}"
        );
    }

    let hello: Value = http
        .get(server.url("/hello/ann"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(hello["message"], "Hi, ann!");
}

#[tokio::test]
async fn unmatched_is_api_gateway_404() {
    let server = Server::start(manifest(
        "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /hello\" = \"hello\"\n\"GET /pets/{proxy+}\" = \"hello\"\n",
    ));
    let http = client();
    for (method, path) in [
        ("GET", "/nope"),
        ("POST", "/hello"),
        ("GET", "/pets"),
        ("GET", "/"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = http
            .request(method, server.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 404, "{path}");
        assert!(resp.headers().contains_key("apigw-requestid"));
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(
            resp.text().await.expect("body"),
            r#"{"message":"Not Found"}"#
        );
    }
}
