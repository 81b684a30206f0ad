//! The data interface end to end: the todo example through the real binary, on the
//! embedded store and on the dynamodb backend (against a local DynamoDB-compatible
//! server); durability across `kill -9`; table grants.

use crate::support::{Server, TempManifest, client, manifest};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// The todo API, as `examples/todo/portico.toml` declares it, with its data in the
/// manifest's temporary directory.
const TODO: &str = r#"
[data]
dir = "data"

[data.dynamodb]
create_tables = true

[tables.todos]
partition_key = { name = "id", type = "S" }

[tables.todos.global_indexes.by_status]
partition_key = { name = "status", type = "S" }
sort_key = { name = "created", type = "N" }

[functions.todo]
module = "{todo}"
tables = ["todos"]

[routes]
"POST /todos" = "todo"
"GET /todos" = "todo"
"GET /todos/{id}" = "todo"
"PATCH /todos/{id}" = "todo"
"DELETE /todos/{id}" = "todo"
"#;

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    let body = response.text().await.expect("body");
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or(Value::String(body))
    };
    (status, json)
}

/// Every list page of one status, following the cursors.
async fn list_all(server: &Server, status: &str) -> Vec<Value> {
    let http = client();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut url = server.url(&format!("/todos?status={status}&limit=2"));
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let (code, page) = send(http.get(url)).await;
        assert_eq!(code, StatusCode::OK, "{page}");
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("paging did not end");
}

/// The todo API's whole contract, run against whatever backend `server` uses.
async fn todo_contract(server: &Server) {
    let http = client();
    let mut ids = Vec::new();
    for title in ["one", "two", "three", "four", "five"] {
        let (code, todo) = send(
            http.post(server.url("/todos"))
                .json(&json!({ "title": title })),
        )
        .await;
        assert_eq!(code, StatusCode::CREATED, "{todo}");
        assert_eq!(todo["status"], "open");
        assert_eq!(todo["version"], 1);
        ids.push(todo["id"].as_str().expect("id").to_owned());
        // Distinct creation times, so the index order is known.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }

    let (code, todo) = send(http.get(server.url(&format!("/todos/{}", ids[0])))).await;
    assert_eq!(
        (code, todo["title"].as_str()),
        (StatusCode::OK, Some("one"))
    );

    // Optimistic concurrency: the first PATCH with version 1 wins, the second gets 409
    // and the stored todo.
    let done = json!({ "version": 1, "status": "done" });
    let (code, todo) = send(
        http.patch(server.url(&format!("/todos/{}", ids[1])))
            .json(&done),
    )
    .await;
    assert_eq!(
        (code, &todo["version"], &todo["status"]),
        (StatusCode::OK, &json!(2), &json!("done")),
        "{todo}"
    );
    let (code, conflict) = send(
        http.patch(server.url(&format!("/todos/{}", ids[1])))
            .json(&done),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["current"]["version"], 2);

    // The status index lists newest first, across pages of two.
    let open: Vec<_> = list_all(server, "open")
        .await
        .iter()
        .map(|t| t["title"].clone())
        .collect();
    assert_eq!(
        open,
        vec![json!("five"), json!("four"), json!("three"), json!("one")]
    );
    let done: Vec<_> = list_all(server, "done")
        .await
        .iter()
        .map(|t| t["title"].clone())
        .collect();
    assert_eq!(done, vec![json!("two")]);

    // Delete, then it is gone everywhere.
    let (code, _) = send(http.delete(server.url(&format!("/todos/{}", ids[0])))).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = send(http.delete(server.url(&format!("/todos/{}", ids[0])))).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = send(http.get(server.url(&format!("/todos/{}", ids[0])))).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = send(
        http.patch(server.url(&format!("/todos/{}", ids[0])))
            .json(&done_patch()),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(list_all(server, "open").await.len(), 3);

    // Bad input is the client's fault.
    let (code, _) = send(
        http.post(server.url("/todos"))
            .json(&json!({ "title": "" })),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = send(http.get(server.url("/todos?status=open&cursor=zz"))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    // Reads of a todo this host wrote come from the read cache: the access log and the
    // metrics say so.
    for _ in 0..2 {
        let (code, _) = send(http.get(server.url(&format!("/todos/{}", ids[2])))).await;
        assert_eq!(code, StatusCode::OK);
    }
    let log = server.log();
    assert!(log.contains("data_calls=1"), "{log}");
    assert!(log.contains("cache_hits=1"), "{log}");
    let metrics = http
        .get(server.admin_url("/metrics"))
        .send()
        .await
        .expect("metrics");
    let metrics = metrics.text().await.expect("metrics body");
    let hits = metrics
        .lines()
        .find_map(|line| line.strip_prefix("portico_cache_hits_total{table=\"todos\"} "))
        .and_then(|value| value.trim().parse::<u64>().ok());
    assert!(hits.is_some_and(|hits| hits >= 2), "{metrics}");
    assert!(
        metrics.contains("portico_cache_bytes{table=\"todos\"}"),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(
            |line| line.starts_with("portico_data_call_duration_seconds_count{")
                && line.contains("operation=\"put\"")
        ),
        "{metrics}"
    );
}

fn done_patch() -> Value {
    json!({ "version": 1, "status": "done" })
}

#[tokio::test]
async fn the_todo_api_works_on_the_embedded_store() {
    let server = Server::start(manifest(TODO));
    todo_contract(&server).await;
}

#[tokio::test]
async fn the_todo_api_works_on_dynamodb() {
    let dynamodb = crate::support::dynamodb().await;
    let server = start_on_dynamodb(&dynamodb.endpoint(), &[]);
    assert!(
        server.log().contains("backend=\"dynamodb\"") || server.log().contains("backend=dynamodb"),
        "{}",
        server.log()
    );
    todo_contract(&server).await;
}

/// The same API with DynamoDB behind HTTPS (as AWS always is): the SDK's client, over
/// rustls with ring, verifies the server's certificate against `SSL_CERT_FILE`. Two
/// workers: starting the server blocks one while the terminator answers on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_todo_api_works_on_dynamodb_over_https() {
    let dynamodb = crate::support::dynamodb().await;
    let upstream = dynamodb.endpoint().trim_start_matches("http://").to_owned();
    let port = tls_terminator(upstream).await;
    let ca = crate::support::root().join("tests/fixtures/tls/ca.pem");
    let server = start_on_dynamodb(
        &format!("https://localhost:{port}"),
        &[("SSL_CERT_FILE", ca.to_str().expect("utf-8 path"))],
    );
    todo_contract(&server).await;
}

/// `portico up` on the todo API with the dynamodb backend at `endpoint`, dummy
/// credentials, and `env` besides.
fn start_on_dynamodb(endpoint: &str, env: &[(&str, &str)]) -> Server {
    let mut all = crate::support::dynamodb_env(endpoint);
    all.extend_from_slice(env);
    Server::start_env(manifest(TODO), &[], &all)
}

/// A TLS terminator on a free loopback port, with the test `localhost` certificate, in
/// front of `upstream` (`host:port`); returns its port.
async fn tls_terminator(upstream: String) -> u16 {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;

    let dir = crate::support::root().join("tests/fixtures/tls");
    let certs = CertificateDer::pem_file_iter(dir.join("localhost.pem"))
        .expect("certificate file")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_file(dir.join("localhost.key")).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let manifest: TempManifest = manifest(TODO);
    let log = manifest.dir.path().join("first.log");
    let mut server = Server::restart(&manifest.path, &log);
    let http = client();
    let writes = (0..40).map(|i| {
        let request = http
            .post(server.url("/todos"))
            .json(&json!({ "title": format!("t{i}") }));
        async move { send(request).await }
    });
    let mut ids = Vec::new();
    for (code, todo) in futures_join_all(writes).await {
        assert_eq!(code, StatusCode::CREATED, "{todo}");
        ids.push(todo["id"].as_str().expect("id").to_owned());
    }
    server.kill();

    let server = Server::restart(&manifest.path, &manifest.dir.path().join("second.log"));
    for id in ids {
        let (code, todo) = send(http.get(server.url(&format!("/todos/{id}")))).await;
        assert_eq!(
            code,
            StatusCode::OK,
            "todo {id} was acknowledged but lost: {todo}"
        );
    }
}

/// Runs the futures concurrently and collects their results in order.
async fn futures_join_all<F: Future<Output = T> + Send + 'static, T: Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await.expect("task"));
    }
    results
}

#[tokio::test]
async fn a_function_cannot_use_a_table_it_was_not_granted() {
    // The table exists, but the function's manifest entry does not list it.
    let server = Server::start(manifest(
        &TODO.replace("tables = [\"todos\"]", "tables = []"),
    ));
    let (code, body) = send(
        client()
            .post(server.url("/todos"))
            .json(&json!({ "title": "x" })),
    )
    .await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("may not use table `todos`"), "{body}");
}

#[test]
fn a_manifest_granting_an_undeclared_table_is_refused() {
    let manifest = manifest(&TODO.replace("tables = [\"todos\"]", "tables = [\"nope\"]"));
    let stderr = crate::support::up_fails(&manifest);
    assert!(
        stderr.contains("functions.todo.tables") && stderr.contains("no table named `nope`"),
        "{stderr}"
    );
}

/// Runs `portico data ARGS` on `manifest`; returns stdout, or panics with stderr.
fn data_cli(manifest: &TempManifest, args: &[&str]) -> String {
    let output = crate::support::portico()
        .arg("data")
        .arg("--manifest")
        .arg(&manifest.path)
        .args(args)
        .output()
        .expect("portico runs");
    assert!(
        output.status.success(),
        "portico data {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn operators_seed_inspect_export_and_import_with_portico_data() {
    let manifest = manifest(TODO);
    for (id, status, created) in [("a", "open", 1), ("b", "done", 2), ("c", "open", 3)] {
        let item = json!({ "id": id, "title": format!("todo {id}"), "status": status, "created": created, "version": 1 });
        data_cli(&manifest, &["put", "todos", &item.to_string()]);
    }
    let got: Value =
        serde_json::from_str(&data_cli(&manifest, &["get", "todos", r#"{"id": "a"}"#]))
            .expect("json");
    assert_eq!(got["title"], "todo a");
    let typed = data_cli(
        &manifest,
        &[
            "--json",
            "dynamodb",
            "get",
            "todos",
            r#"{"id": {"S": "a"}}"#,
        ],
    );
    assert!(typed.contains(r#""created":{"N":"1"}"#), "{typed}");

    let open = data_cli(
        &manifest,
        &[
            "query",
            "todos",
            "--index",
            "by_status",
            "--key-condition",
            "#s = :s",
            "--names",
            r##"{"#s": "status"}"##,
            "--values",
            r#"{":s": "open"}"#,
            "--reverse",
        ],
    );
    let ids: Vec<String> = open
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["c", "a"]);

    let backup = manifest.dir.path().join("todos.jsonl");
    data_cli(
        &manifest,
        &[
            "export",
            "todos",
            "--output",
            backup.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&backup)
            .expect("export")
            .lines()
            .count(),
        3
    );
    for id in ["a", "b", "c"] {
        data_cli(
            &manifest,
            &["delete", "todos", &json!({ "id": id }).to_string()],
        );
    }
    assert_eq!(data_cli(&manifest, &["scan", "todos"]).lines().count(), 0);
    data_cli(
        &manifest,
        &[
            "--json",
            "dynamodb",
            "import",
            "todos",
            "--input",
            backup.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(data_cli(&manifest, &["scan", "todos"]).lines().count(), 3);
}
