//! The demo (`examples/portico.toml`, the README's first command) as the README's
//! "try it" uses it: its own manifest, with the modules the examples build and its data
//! in a temporary directory instead of `examples/.portico`.

use crate::support::{Server, TempManifest, client, root};
use serde_json::Value;

/// `examples/portico.toml` with absolute module paths, no build commands, and its data
/// directory inside the returned temporary directory.
pub fn demo_manifest() -> TempManifest {
    // Builds the examples (once per test binary).
    crate::support::component("hello");
    let examples = root().join("examples");
    let text = std::fs::read_to_string(examples.join("portico.toml")).expect("demo manifest");
    let dir = tempfile::tempdir().expect("tempdir");
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("build = ") && !l.starts_with("watch = "))
        .map(|l| {
            if let Some(module) = l.strip_prefix("module = \"") {
                format!("module = \"{}/{module}", examples.display())
            } else if l.starts_with("dir = ") {
                format!("dir = \"{}\"", dir.path().join("data").display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.path().join("portico.toml");
    std::fs::write(&path, text).expect("write manifest");
    TempManifest { dir, path }
}

#[tokio::test]
async fn the_readme_s_try_it_works_on_the_demo() {
    let m = demo_manifest();
    let path = m.path.clone();
    let server = Server::start(m);
    let http = client();

    let hello: Value = http
        .get(server.url("/hello/you"))
        .send()
        .await
        .expect("hello")
        .json()
        .await
        .expect("json");
    assert_eq!(hello["message"], "Hello, you!");

    let token = crate::support::mint(&path, &["--sub", "ann"]);
    let me: Value = http
        .get(server.url("/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["sub"], "ann");
    assert_eq!(
        http.get(server.url("/me"))
            .send()
            .await
            .expect("me")
            .status(),
        401
    );

    let issued: Value = http
        .post(server.url("/keys"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("keys")
        .json()
        .await
        .expect("json");
    let key = issued["key"].as_str().expect("a key");
    let whoami: Value = http
        .get(server.url("/whoami"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("whoami")
        .json()
        .await
        .expect("json");
    assert_eq!(whoami["authorizer"]["owner"], "ann", "{whoami}");
    let wrong = http
        .get(server.url("/whoami"))
        .header("x-api-key", "pk_wrong")
        .send()
        .await
        .expect("whoami");
    assert_eq!(wrong.status(), 403);

    let todo = http
        .post(server.url("/todos"))
        .body(r#"{"title": "buy milk"}"#)
        .send()
        .await
        .expect("todos");
    assert_eq!(todo.status(), 201);
    let wasi = http
        .get(server.url("/wasi/hello/you"))
        .send()
        .await
        .expect("wasi");
    assert_eq!(wasi.status(), 200);

    // The shop, as the README's curl lines use it.
    for (path, body, status) in [
        ("/shop/customers", r#"{"id": "ada", "name": "Ada"}"#, 201),
        (
            "/shop/products",
            r#"{"id": "tea", "name": "Tea", "stock": 5, "price": "3.10"}"#,
            201,
        ),
        (
            "/shop/orders",
            r#"{"customer": "ada", "product": "tea", "quantity": 2}"#,
            201,
        ),
        (
            "/shop/orders",
            r#"{"customer": "ada", "product": "tea", "quantity": 4}"#,
            409,
        ),
    ] {
        let response = http
            .post(server.url(path))
            .body(body)
            .send()
            .await
            .expect("shop");
        assert_eq!(response.status(), status, "POST {path} {body}");
    }
    let ada: Value = http
        .get(server.url("/shop/customers/ada"))
        .send()
        .await
        .expect("customer")
        .json()
        .await
        .expect("json");
    assert_eq!(ada["orders"].as_array().map(Vec::len), Some(1), "{ada}");
}
