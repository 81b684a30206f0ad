//! The operator console on the admin listener: its page and files are served with a
//! strict policy and no token, `GET /audit` needs the token, and — in headless Chromium —
//! the console lists the demo's functions, rolls one back from its button, and draws
//! route charts from the host's metrics under load.

use crate::support::{Server, client};
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "console-token";

/// The audit log's last `limit` entries, through the admin API.
async fn audit_log(server: &Server, limit: usize) -> Value {
    client()
        .get(server.admin_url(&format!("/audit?limit={limit}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn the_console_s_files_are_public_and_its_data_needs_the_token() {
    let server = Server::start_env(
        crate::demo::demo_manifest(),
        &[],
        &[("PORTICO_ADMIN_TOKEN", TOKEN)],
    );
    for (path, kind) in [
        ("/console", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ] {
        let resp = client()
            .get(server.admin_url(path))
            .send()
            .await
            .expect("file");
        assert_eq!(resp.status(), 200, "{path}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with(kind),
            "{path}"
        );
        let policy = resp.headers()["content-security-policy"]
            .to_str()
            .expect("ascii");
        assert!(policy.contains("script-src 'self'"), "{policy}");
    }
    let resp = client()
        .get(server.admin_url("/audit"))
        .send()
        .await
        .expect("audit");
    assert_eq!(resp.status(), 401);
    let audit = audit_log(&server, 3).await;
    let items = audit["items"].as_array().expect("items");
    // The start loaded every function: the newest three of those entries.
    assert_eq!(items.len(), 3, "{audit}");
    assert!(
        items
            .iter()
            .all(|e| e["action"] == "load" && e["who"] == "startup"),
        "{audit}"
    );
    // The recent requests: a request's line, by its request id; the query string (where
    // a key could be) is not kept.
    let resp = client()
        .get(server.url("/hello/ann?key=secret-value"))
        .send()
        .await
        .expect("hello");
    let id = crate::support::request_id(&resp);
    let resp = client()
        .get(server.admin_url("/logs/access"))
        .send()
        .await
        .expect("logs");
    assert_eq!(resp.status(), 401);
    let text = client()
        .get(server.admin_url("/logs/access?limit=5"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("logs")
        .text()
        .await
        .expect("text");
    let recent: Value = serde_json::from_str(&text).expect("json");
    let line = &recent["items"][0];
    assert_eq!(line["request_id"], id.as_str(), "{recent}");
    assert_eq!(line["path"], "/hello/ann");
    assert_eq!(line["route"], "GET /hello/{name}");
    assert_eq!(line["status"], 200);
    assert_eq!(line["function"], "hello");
    assert!(!text.contains("secret-value"), "{text}");
}

#[tokio::test]
async fn the_console_lists_functions_rolls_back_and_charts_the_routes() {
    let (chromium, playwright) = match crate::browser::browser() {
        Ok(found) => found,
        Err(why) => {
            eprintln!(
                "SKIPPED the_console_lists_functions_rolls_back_and_charts_the_routes: {why}"
            );
            return;
        }
    };
    let server = Server::start_env(
        crate::demo::demo_manifest(),
        &[],
        &[("PORTICO_ADMIN_TOKEN", TOKEN)],
    );
    let info = |server: &Server| {
        let url = server.admin_url("/functions/hello");
        async move {
            client()
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("describe")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let original = info(&server).await["live"]
        .as_str()
        .expect("live")
        .to_string();
    // The page deploys this (another module of the same kind) as `hello`, then rolls
    // back to the original.
    let module = crate::support::component("misbehave");

    // Load on the todo routes while the page samples the metrics.
    let url = server.url("/todos");
    let load = tokio::spawn(async move {
        for _ in 0..400 {
            let _ = client().get(&url).send().await;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
    let args = vec![
        server.admin_url("/"),
        crate::browser::screenshots().display().to_string(),
        TOKEN.to_string(),
        "hello".to_string(),
        original.clone(),
        module.display().to_string(),
    ];
    crate::browser::run_script((chromium, playwright), "console.mjs", args, &server).await;
    load.abort();
    // The rollback the page made is live, after its deploy, both in the audit log as
    // the token's.
    let now = info(&server).await;
    assert_eq!(now["live"], original.as_str());
    assert_eq!(now["versions"].as_array().map(Vec::len), Some(2), "{now}");
    let audit = audit_log(&server, 1).await;
    assert_eq!(audit["items"][0]["action"], "rollback", "{audit}");
    let audit = audit_log(&server, 2).await;
    assert_eq!(audit["items"][1]["action"], "deploy", "{audit}");
    assert!(
        audit["items"][0]["who"]
            .as_str()
            .is_some_and(|w| w.starts_with("token:"))
    );
}
