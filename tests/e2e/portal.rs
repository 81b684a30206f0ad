//! The developer portal on the demo manifest: `portico openapi` documents its routes
//! (checked against the OpenAPI 3.1 schema by `openapi-spec-validator`, which
//! `scripts/test.sh` installs), the host serves the same document at `/openapi.json` and
//! Swagger UI at `/docs`, and — in headless Chromium — the page lists the todo routes and
//! its "try it" form creates a todo.

use crate::support::{Server, client, manifest, root};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// Where `scripts/test.sh` installs the validator.
const VALIDATOR: &str =
    "/var/tmp/portico-tools/openapi-spec-validator-0.7.2/bin/openapi-spec-validator";

fn openapi(manifest: &std::path::Path, extra: &[&str]) -> Value {
    let out = crate::support::portico()
        .args(["openapi", "--manifest"])
        .arg(manifest)
        .args(extra)
        .output()
        .expect("portico openapi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Runs the validator on `doc`: `Ok(valid)`, or why it cannot run here.
fn validate(doc: &str) -> Result<(bool, String), String> {
    let validator = PathBuf::from(
        std::env::var("PORTICO_OPENAPI_VALIDATOR").unwrap_or_else(|_| VALIDATOR.into()),
    );
    if !validator.exists() {
        return Err(format!(
            "no openapi-spec-validator at {} (scripts/test.sh installs it; set PORTICO_OPENAPI_VALIDATOR)",
            validator.display()
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc).expect("write");
    let out = Command::new(&validator)
        .args(["--schema", "3.1"])
        .arg(&file)
        .output()
        .expect("the validator runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

#[test]
fn portico_openapi_documents_the_demo_s_routes_and_the_document_is_valid() {
    let demo = crate::demo::demo_manifest();
    let doc = openapi(&demo.path, &[]);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Portico demo");
    assert_eq!(doc["servers"][0]["url"], "/");
    let paths = &doc["paths"];
    for method in ["post", "get"] {
        assert_eq!(paths["/todos"][method]["tags"][0], "todo", "{doc:#}");
    }
    for method in ["get", "patch", "delete"] {
        let op = &paths["/todos/{id}"][method];
        assert_eq!(op["parameters"][0]["name"], "id", "{op}");
        assert_eq!(op["parameters"][0]["in"], "path", "{op}");
        assert_eq!(op["parameters"][0]["required"], true, "{op}");
    }
    // The todo example declares its summaries and schemas (examples/todo/build.rs).
    let post = &paths["/todos"]["post"];
    assert_eq!(post["summary"], "Create a todo", "{post}");
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewTodo"
    );
    assert_eq!(
        post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Todo"
    );
    assert_eq!(
        paths["/todos/{id}"]["patch"]["responses"]["409"]["description"],
        "`version` is not the stored one: the current todo"
    );
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["NewTodo"]["required"], serde_json::json!(["title"]));
    assert_eq!(schemas["Todo"]["properties"]["version"]["type"], "integer");
    assert_eq!(
        schemas["Status"]["enum"],
        serde_json::json!(["open", "done"]),
        "{schemas}"
    );
    // A function without a declaration is still documented.
    assert_eq!(paths["/hello"]["get"]["tags"][0], "hello");
    assert!(paths["/hello"]["get"].get("summary").is_none());
    // Security from the authorizers: a JWT bearer for `dev`, the header for `keys`.
    assert_eq!(
        paths["/me"]["get"]["security"][0]["dev"],
        serde_json::json!([])
    );
    let dev = &doc["components"]["securitySchemes"]["dev"];
    assert_eq!(
        (dev["type"].as_str(), dev["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    assert_eq!(dev["bearerFormat"], "JWT");
    let keys = &doc["components"]["securitySchemes"]["keys"];
    assert_eq!(
        (
            keys["type"].as_str(),
            keys["in"].as_str(),
            keys["name"].as_str()
        ),
        (Some("apiKey"), Some("header"), Some("x-api-key"))
    );
    assert!(paths["/todos"]["get"].get("security").is_none());
    // Throttling as an extension (the API's default bucket), and the portal's own
    // routes left out.
    assert!(
        doc["x-portico-throttle"]["rate"].as_f64().is_some(),
        "{doc:#}"
    );
    assert!(paths.get("/openapi.json").is_none() && paths.get("/docs").is_none());
    let text = serde_json::to_string_pretty(&doc).expect("json");
    match validate(&text) {
        Ok((valid, output)) => {
            assert!(valid, "{output}");
            // The validator does fail a broken document.
            let mut broken = doc.clone();
            broken["paths"]["/todos"]["post"]["responses"] = serde_json::json!("none");
            let (valid, _) = validate(&broken.to_string()).expect("ran once");
            assert!(!valid, "the validator passed a broken document");
        }
        Err(why) => eprintln!("SKIPPED the OpenAPI 3.1 schema check: {why}"),
    }
}

#[tokio::test]
async fn the_demo_serves_its_document_and_the_page() {
    let demo = crate::demo::demo_manifest();
    let printed = openapi(&demo.path, &[]);
    let server = Server::start(demo);
    let resp = client()
        .get(server.url("/openapi.json"))
        .send()
        .await
        .expect("document");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let served: Value = resp.json().await.expect("json");
    // What the host serves is what `portico openapi` prints (same modules, same version).
    assert_eq!(served, printed);

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = http.get(server.url("/docs")).send().await.expect("docs");
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/docs/index.html");
    let page = client()
        .get(server.url("/docs/index.html"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "{html}");
    let init = client()
        .get(server.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .expect("initializer")
        .text()
        .await
        .expect("text");
    assert!(init.contains("../openapi.json"), "{init}");
    let missing = client()
        .get(server.url("/docs/nope.js"))
        .send()
        .await
        .expect("missing");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_deploy_shows_in_the_document_at_once() {
    let server = Server::start_env(
        crate::demo::demo_manifest(),
        &[],
        &[("PORTICO_ADMIN_TOKEN", "portal-token")],
    );
    let document = || async {
        client()
            .get(server.url("/openapi.json"))
            .send()
            .await
            .expect("document")
            .json::<Value>()
            .await
            .expect("json")
    };
    let before = document().await;
    assert_eq!(
        before["paths"]["/todos"]["post"]["summary"],
        "Create a todo"
    );
    // `todo` replaced by a module that declares nothing (of the same kind): the new
    // version, and its routes without the old declaration's summaries and schemas.
    let module = std::fs::read(crate::support::component("misbehave")).expect("module");
    let resp = client()
        .put(server.admin_url("/functions/todo"))
        .bearer_auth("portal-token")
        .body(module)
        .send()
        .await
        .expect("deploy");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let after = document().await;
    assert_ne!(after["info"]["version"], before["info"]["version"]);
    let post = &after["paths"]["/todos"]["post"];
    assert_eq!(post["tags"][0], "todo", "{post}");
    assert!(post.get("summary").is_none(), "{post}");
    assert!(after["components"].get("schemas").is_none(), "{after:#}");
}

#[tokio::test]
async fn each_stage_documents_itself_under_its_prefix() {
    let m = manifest(
        r#"
[stages.beta]
api_key_required = true
[portal]
enabled = true
path = "/api-docs"
[functions.hello]
module = "{hello}"
[routes]
"GET /hello" = "hello"
"ANY /files/{path+}" = "hello"
"#,
    );
    let printed = openapi(&m.path, &["--stage", "beta"]);
    let server = Server::start(m);
    // The portal itself needs no key, whatever the stage says.
    let resp = client()
        .get(server.url("/beta/openapi.json"))
        .send()
        .await
        .expect("document");
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.expect("json");
    assert_eq!(doc, printed);
    assert_eq!(doc["servers"][0]["url"], "/beta");
    let hello = &doc["paths"]["/hello"]["get"];
    assert_eq!(
        hello["security"][0]["api_key"],
        serde_json::json!([]),
        "{hello}"
    );
    let files = &doc["paths"]["/files/{path}"];
    for method in ["get", "post", "put", "delete", "patch", "head", "options"] {
        assert_eq!(
            files[method]["parameters"][0]["x-portico-greedy"], true,
            "{files}"
        );
    }
    // And the route itself still wants its key.
    let resp = client()
        .get(server.url("/beta/hello"))
        .send()
        .await
        .expect("hello");
    assert_eq!(resp.status(), 403);
    let page = client()
        .get(server.url("/beta/api-docs/index.html"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
}

#[test]
fn portal_mistakes_name_line_and_key() {
    let cases = [
        (
            "[portal]\nenabled = true\npath = \"docs/\"\n",
            "portal.path",
            "a path like",
        ),
        (
            "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /docs\" = \"hello\"\n[portal]\nenabled = true\n",
            "portal.path",
            "clash",
        ),
        (
            "[portal]\nenabled = true\ntheme = \"dark\"\n",
            "portal",
            "unknown field",
        ),
    ];
    for (text, key, words) in cases {
        crate::support::refused_at(text, key, words);
    }
    let out = crate::support::portico()
        .args(["openapi", "--stage", "nope", "--manifest"])
        .arg(root().join("examples/portico.toml"))
        .output()
        .expect("portico openapi");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no stage named `nope`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_docs_page_lists_the_todo_routes_and_its_try_it_creates_a_todo() {
    let (chromium, playwright) = match crate::browser::browser() {
        Ok(found) => found,
        Err(why) => {
            eprintln!(
                "SKIPPED the_docs_page_lists_the_todo_routes_and_its_try_it_creates_a_todo: {why}"
            );
            return;
        }
    };
    let server = Server::start(crate::demo::demo_manifest());
    let title = format!("from the docs page {}", std::process::id());
    let args = vec![
        server.url("/"),
        crate::browser::screenshots().display().to_string(),
        title.clone(),
    ];
    let stdout =
        crate::browser::run_script((chromium, playwright), "docs.mjs", args, &server).await;
    // The page's answer is the todo, and the API has it.
    let created: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("the todo");
    assert_eq!(created["title"], title);
    let id = created["id"].as_str().expect("an id");
    let todo: Value = client()
        .get(server.url(&format!("/todos/{id}")))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(todo["title"], title);
}
