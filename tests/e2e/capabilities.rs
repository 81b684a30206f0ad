//! Capabilities through the real binary: outbound HTTP only to allowed hosts, and
//! variables and secrets that reach the guest but never the log, the admin API or the
//! audit log.

use crate::deploy::{TOKEN, admin, put, variant};
use crate::support::{
    Server, access_line, client, component, manifest, metrics, request_id, up_fails,
};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A tiny HTTP/1.1 server on a free loopback port answering every request with `body`;
/// counts the connections it accepted. Runs until the test process ends.
fn upstream(body: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn functions_reach_allowed_hosts_only() {
    let (allowed, allowed_hits) = upstream("from upstream");
    let (other, other_hits) = upstream("must not be reached");
    let text = format!(
        r#"
[functions.fetch]
module = "{{fetch}}"
allowed_outbound_hosts = ["http://{allowed}"]

[functions.wasi]
module = "{{wasi}}"
allowed_outbound_hosts = ["http://127.0.0.1:{port}"]

[routes]
"GET /fetch" = "fetch"
"GET /wasi/fetch" = "wasi"
"#,
        port = allowed.port()
    );
    let server = Server::start(manifest(&text));
    let http = client();

    // A Portico function, through the SDK's `outbound::get`.
    let resp = http
        .get(server.url(&format!("/fetch?url=http://{allowed}/x")))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let id = request_id(&resp);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["status"], 200);
    assert_eq!(body["body"], "from upstream");
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);

    // Another port on the same host is not allowed: denied before any connection.
    let resp = http
        .get(server.url(&format!("/fetch?url=http://{other}/secret-path?token=t0p")))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 502);
    let denied_id = request_id(&resp);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("HttpRequestDenied"),
        "{body}"
    );
    assert_eq!(
        other_hits.load(Ordering::SeqCst),
        0,
        "no connection was made"
    );

    // A plain wasi:http component gets the same rules.
    let resp = http
        .get(server.url(&format!("/wasi/fetch?url=http://{allowed}/y")))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "from upstream");
    let resp = http
        .get(server.url(&format!("/wasi/fetch?url=http://{other}/")))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 502);
    assert!(
        resp.text()
            .await
            .expect("body")
            .contains("HttpRequestDenied")
    );
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);

    // The access log counts the calls; the denial is logged with the origin only.
    let line = access_line(&server, &id).await;
    assert!(line.contains("outbound_calls=1"), "{line}");
    let line = access_line(&server, &denied_id).await;
    assert!(line.contains("outbound_denied=1"), "{line}");
    let log = server.log();
    let warning = log
        .lines()
        .find(|l| l.contains("outbound HTTP request denied"))
        .expect("the denial is logged");
    assert!(warning.contains(&format!("http://{other}")), "{warning}");
    assert!(
        !log.contains("secret-path") && !log.contains("t0p"),
        "{log}"
    );

    // And so do the metrics.
    let metrics = metrics(&server).await;
    assert!(
        metrics.contains(r#"portico_outbound_requests_total{function="fetch",outcome="sent"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"portico_outbound_requests_total{function="fetch",outcome="denied"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn without_a_list_nothing_is_reachable() {
    let (addr, hits) = upstream("no");
    let server = Server::start(manifest(
        "[functions.fetch]\nmodule = \"{fetch}\"\n[routes]\n\"GET /fetch\" = \"fetch\"\n",
    ));
    let resp = client()
        .get(server.url(&format!("/fetch?url=http://{addr}/")))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 502);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn bad_allow_lists_name_the_line_and_key() {
    let err = up_fails(&manifest(
        "[functions.fetch]\nmodule = \"{fetch}\"\nallowed_outbound_hosts = [\"ftp://example.com\"]\n",
    ));
    assert!(err.contains("portico.toml:3:"), "{err}");
    assert!(
        err.contains("functions.fetch.allowed_outbound_hosts"),
        "{err}"
    );
    assert!(err.contains("ftp://example.com"), "{err}");
}

/// A secret no log line, admin answer or audit entry may contain.
const SECRET: &str = "s3cr3t-7f1c9a2e-value";

fn secrets_manifest() -> String {
    r#"
[functions.fetch]
module = "{fetch}"
variables = { api_key = { from_env = "PORTICO_TEST_API_KEY" }, cert = { from_file = "cert.txt" }, mode = "prod" }

[functions.wasi]
module = "{wasi}"
variables = { api_key = { from_env = "PORTICO_TEST_API_KEY" } }
variables_as_env = true

[routes]
"GET /var/{name}" = "fetch"
"GET /wasi/env/{name}" = "wasi"
"#
    .to_string()
}

#[tokio::test]
async fn variables_reach_the_guest_and_secrets_stay_out_of_logs_and_the_admin_api() {
    let m = manifest(&secrets_manifest());
    std::fs::write(m.dir.path().join("cert.txt"), "-----CERT-----").expect("cert");
    let deploy_dir = m.dir.path().join(".portico/data/deploy");
    let server = Server::start_env(
        m,
        &[],
        &[
            ("PORTICO_TEST_API_KEY", SECRET),
            ("PORTICO_ADMIN_TOKEN", TOKEN),
            ("RUST_LOG", "debug"),
        ],
    );
    let http = client();
    let get = |path: String| {
        let http = http.clone();
        let url = server.url(&path);
        async move {
            let resp = http.get(url).send().await.expect("request");
            (resp.status().as_u16(), resp.text().await.expect("body"))
        }
    };
    assert_eq!(get("/var/api_key".into()).await, (200, SECRET.to_string()));
    assert_eq!(get("/var/mode".into()).await, (200, "prod".to_string()));
    assert_eq!(
        get("/var/cert".into()).await,
        (200, "-----CERT-----".to_string())
    );
    let (status, body) = get("/var/nope".into()).await;
    assert_eq!(status, 404);
    assert!(body.contains("no variable `nope`"), "{body}");
    // A plain component reads them as environment variables when the manifest says so.
    assert_eq!(
        get("/wasi/env/API_KEY".into()).await,
        (200, SECRET.to_string())
    );

    // Change things through the admin API so it and the audit log have something to say.
    let wasm = std::fs::read(component("fetch")).expect("fetch");
    let (status, body) = put(&server, "fetch", variant(&wasm, "v2")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get("/var/api_key".into()).await, (200, SECRET.to_string()));
    let mut answers = Vec::new();
    for path in ["/functions", "/functions/fetch", "/functions/wasi"] {
        let (status, body) = admin(&server, reqwest::Method::GET, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        answers.push(body.to_string());
    }
    answers.push(metrics(&server).await);
    let audit = std::fs::read_to_string(deploy_dir.join("audit.log")).expect("audit log");
    assert!(audit.contains("\"deploy\""), "{audit}");

    let log = server.log();
    assert!(log.contains("portico::access"), "the log has lines: {log}");
    for (what, text) in [("the log", &log), ("the audit log", &audit)]
        .into_iter()
        .chain(answers.iter().map(|a| ("the admin API", a)))
    {
        assert!(!text.contains(SECRET), "{what} shows the secret:\n{text}");
    }
}

#[tokio::test]
async fn a_missing_secret_stops_the_start_naming_the_variable() {
    let m = manifest(
        "[functions.fetch]\nmodule = \"{fetch}\"\nvariables = { api_key = { from_env = \"PORTICO_TEST_UNSET_9d2b\" } }\n",
    );
    let err = up_fails(&m);
    assert!(err.contains("`api_key`"), "{err}");
    assert!(err.contains("PORTICO_TEST_UNSET_9d2b"), "{err}");
    let err = up_fails(&manifest(
        "[functions.fetch]\nmodule = \"{fetch}\"\nvariables = { \"API-KEY\" = \"x\" }\n",
    ));
    assert!(err.contains("portico.toml:3:"), "{err}");
    assert!(err.contains("invalid variable name"), "{err}");
    let err = up_fails(&manifest(
        "[functions.fetch]\nmodule = \"{fetch}\"\nvariables = { key = { from_env = \"A\", from_file = \"b\" } }\n",
    ));
    assert!(err.contains("functions.fetch.variables.key"), "{err}");
}

#[tokio::test]
async fn secrets_are_not_printed_when_a_deploy_is_refused() {
    let m = manifest(&secrets_manifest());
    std::fs::write(m.dir.path().join("cert.txt"), "c").expect("cert");
    let server = Server::start_env(
        m,
        &[],
        &[
            ("PORTICO_TEST_API_KEY", SECRET),
            ("PORTICO_ADMIN_TOKEN", TOKEN),
        ],
    );
    let (status, body) = put(&server, "fetch", b"not wasm".to_vec()).await;
    assert_eq!(status, 400);
    assert!(!body.to_string().contains(SECRET));
    assert!(!server.log().contains(SECRET));
}
