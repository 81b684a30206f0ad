//! Hot swap and deploy through the admin API: zero failed requests under load, bad
//! modules refused, tokens, persistence across restarts and crashes, rollback, the CLI,
//! and `up --watch`.

use crate::support::{Server, client, component, manifest, portico, root};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The admin token the deploy tests start Portico with.
pub const TOKEN: &str = "test-token";

/// One hello function on `GET /hello`, its module copied into the manifest's directory.
const HELLO: &str =
    "[functions.hello]\nmodule = \"hello.wasm\"\n[routes]\n\"GET /hello\" = \"hello\"\n";

/// `wasm` with a custom section holding `tag` appended: another version (another
/// SHA-256) that behaves the same.
pub fn variant(wasm: &[u8], tag: &str) -> Vec<u8> {
    let name = b"portico-test";
    let mut payload = leb128(name.len());
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    out.extend(leb128(payload.len()));
    out.extend(payload);
    out
}

fn leb128(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// The version Portico gives a module.
pub fn version(wasm: &[u8]) -> String {
    portico::runtime::hex(&Sha256::digest(wasm)[..6])
}

fn hello_wasm() -> Vec<u8> {
    std::fs::read(component("hello")).expect("hello component")
}

/// A manifest serving `text`, with hello.wasm copied beside it.
fn hello_manifest(text: &str) -> crate::support::TempManifest {
    let m = manifest(text);
    std::fs::write(m.dir.path().join("hello.wasm"), hello_wasm()).expect("copy hello");
    m
}

/// Starts Portico on `m` with JSON logs and the admin token [`TOKEN`].
pub fn start(m: crate::support::TempManifest) -> Server {
    Server::start_env(
        m,
        &["--log-format", "json"],
        &[("PORTICO_ADMIN_TOKEN", TOKEN)],
    )
}

/// Deploys `wasm` as `function` through the admin API.
pub async fn put(server: &Server, function: &str, wasm: Vec<u8>) -> (StatusCode, Value) {
    let resp = client()
        .put(server.admin_url(&format!("/functions/{function}")))
        .bearer_auth(TOKEN)
        .body(wasm)
        .send()
        .await
        .expect("deploy");
    answer(resp).await
}

async fn put_with_config(
    server: &Server,
    function: &str,
    wasm: Vec<u8>,
    config: &str,
) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new()
        .part("module", reqwest::multipart::Part::bytes(wasm))
        .part(
            "config",
            reqwest::multipart::Part::bytes(config.as_bytes().to_vec()),
        );
    let resp = client()
        .put(server.admin_url(&format!("/functions/{function}")))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .expect("deploy");
    answer(resp).await
}

/// One admin API call with the token.
pub async fn admin(server: &Server, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
    let resp = client()
        .request(method, server.admin_url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("admin call");
    answer(resp).await
}

async fn answer(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let body = resp.bytes().await.expect("body");
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    (status, json)
}

async fn live(server: &Server) -> String {
    let (status, info) = admin(server, reqwest::Method::GET, "/functions/hello").await;
    assert_eq!(status, StatusCode::OK, "{info}");
    info["live"].as_str().expect("live version").to_string()
}

async fn get_status(server: &Server, path: &str) -> StatusCode {
    client()
        .get(server.url(path))
        .send()
        .await
        .expect("request")
        .status()
}

/// Waits until `pred` holds for the log, or fails with the log.
fn wait_for_log(server: &Server, what: &str, pred: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pred(&server.log()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One request of the load: when it ran, how it ended, and its request id.
struct Sample {
    start: Instant,
    end: Instant,
    status: u16,
    id: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_deploys_under_load_fail_no_request() {
    let server = start(hello_manifest(HELLO));
    let original = version(&hello_wasm());
    let a = variant(&hello_wasm(), "a");
    let b = variant(&hello_wasm(), "b");

    // 32 clients, each sending one request after another until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url("/hello");
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let (stop, url) = (Arc::clone(&stop), url.clone());
            tokio::spawn(async move {
                let http = client();
                let mut samples = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    let (status, id) = match http.get(&url).send().await {
                        Ok(resp) => {
                            let id = resp
                                .headers()
                                .get("apigw-requestid")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string();
                            let status = resp.status().as_u16();
                            let _ = resp.bytes().await;
                            (status, id)
                        }
                        Err(_) => (0, String::new()),
                    };
                    samples.push(Sample {
                        start,
                        end: Instant::now(),
                        status,
                        id,
                    });
                }
                samples
            })
        })
        .collect();

    // 100 deploys, alternating two versions, spread over about ten seconds. Each
    // version is live from some moment during its PUT until some moment during the
    // next PUT.
    let load_started = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut deploys: Vec<(Instant, Instant, String)> = Vec::new();
    for i in 0..100 {
        let wasm = if i % 2 == 0 { a.clone() } else { b.clone() };
        let expected = version(&wasm);
        let started = Instant::now();
        let (status, body) = put(&server, "hello", wasm).await;
        assert_eq!(status, StatusCode::OK, "deploy {i}: {body}");
        assert_eq!(body["version"], expected.as_str());
        deploys.push((started, Instant::now(), expected));
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let last_swap = deploys.last().expect("deploys").1;
    while load_started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut samples = Vec::new();
    for c in clients {
        samples.extend(c.await.expect("client task"));
    }

    let failed: Vec<&Sample> = samples.iter().filter(|s| s.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed (statuses {:?})",
        failed.len(),
        samples.len(),
        failed.iter().map(|s| s.status).take(10).collect::<Vec<_>>()
    );

    // Which version answered each request, from the access log.
    let mut versions: HashMap<String, String> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while versions.len() < samples.len() && Instant::now() < deadline {
        versions = server
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["target"] == "portico::access")
            .filter_map(|v| {
                Some((
                    v["request_id"].as_str()?.into(),
                    v["version"].as_str()?.into(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Version k may be live from the start of its PUT to the end of the next one.
    let mut windows: Vec<(Option<Instant>, Instant, &str)> =
        vec![(None, deploys[0].1, original.as_str())];
    for (k, (put_start, _, v)) in deploys.iter().enumerate() {
        let until = deploys.get(k + 1).map_or(Instant::now(), |d| d.1);
        windows.push((Some(*put_start), until, v.as_str()));
    }
    let mut after_last = 0;
    for s in &samples {
        let v = versions
            .get(&s.id)
            .unwrap_or_else(|| panic!("no access-log line for request {}", s.id));
        let possible = windows
            .iter()
            .any(|(from, until, w)| w == v && from.is_none_or(|f| f <= s.end) && s.start <= *until);
        assert!(
            possible,
            "request {} was answered by {v}, which was not live while it ran",
            s.id
        );
        if s.start > last_swap {
            after_last += 1;
            assert_eq!(
                v, &deploys[99].2,
                "a request after the last swap ran an old version"
            );
        }
    }
    assert!(
        samples.len() > 1000,
        "too little load: {} requests",
        samples.len()
    );
    assert!(after_last > 0, "no request ran after the last swap");
    let (_, info) = admin(&server, reqwest::Method::GET, "/functions/hello").await;
    assert_eq!(info["live"], deploys[99].2.as_str());
    eprintln!(
        "{} requests, {} after the last of 100 swaps, none failed",
        samples.len(),
        after_last
    );
}

#[tokio::test]
async fn bad_modules_and_settings_are_refused_and_the_old_version_keeps_serving() {
    let server = start(hello_manifest(
        "[functions.hello]\nmodule = \"hello.wasm\"\n[functions.other]\nmodule = \"hello.wasm\"\n[routes]\n\"GET /hello\" = \"hello\"\n\"GET /other\" = \"other\"\n",
    ));
    let before = live(&server).await;
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let wrong_world = std::fs::read(component("wrong_world")).expect("wrong_world");
    let start_trap = std::fs::read(root().join("tests/fixtures/start-trap.wat")).expect("fixture");
    /// What is sent, with which settings, and what the refusal must say.
    type Case<'a> = (&'a str, Vec<u8>, Option<&'a str>, &'a [&'a str]);
    let cases: Vec<Case> = vec![
        (
            "not wasm",
            b"this is not wasm".to_vec(),
            None,
            &["not a WebAssembly binary"],
        ),
        (
            "a core module",
            core_module,
            None,
            &["cannot compile", "component parser"],
        ),
        (
            "the wrong world",
            wrong_world,
            None,
            &[
                "does not match Portico's `function` world",
                "portico:edge/handler",
            ],
        ),
        (
            "a start that traps",
            start_trap,
            None,
            &["cannot start an instance", "unreachable"],
        ),
        (
            "memory below the module's own",
            hello_wasm(),
            Some(r#"{"limits":{"memory":"64KiB"}}"#),
            &["cannot start", "exceeds memory limits"],
        ),
        (
            "memory over the pool's slots",
            hello_wasm(),
            Some(r#"{"limits":{"memory":"1GiB"}}"#),
            &["slot size"],
        ),
        (
            "an unknown setting",
            hello_wasm(),
            Some(r#"{"limits":{"cpu":"1"}}"#),
            &["config", "cpu"],
        ),
        (
            "a conflicting route",
            hello_wasm(),
            Some(r#"{"routes":["GET /other"]}"#),
            &["conflicts", "GET /other"],
        ),
        (
            "a malformed route",
            hello_wasm(),
            Some(r#"{"routes":["GET other"]}"#),
            &["routes", "GET other"],
        ),
    ];
    for (what, wasm, config, expected) in cases {
        let (status, body) = match config {
            None => put(&server, "hello", wasm).await,
            Some(config) => put_with_config(&server, "hello", wasm, config).await,
        };
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        for e in expected {
            assert!(message.contains(e), "{what}: `{e}` not in {message}");
        }
        assert_eq!(
            get_status(&server, "/hello").await,
            StatusCode::OK,
            "{what}"
        );
        assert_eq!(live(&server).await, before, "{what}");
    }
    let (status, body) = put(&server, "nope", hello_wasm()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = admin(&server, reqwest::Method::POST, "/functions/hello/rollback").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nothing to roll back to: {body}"
    );

    // Refusals are audited too.
    let audit = std::fs::read_to_string(server_dir(&server).join(".portico/data/deploy/audit.log"))
        .expect("audit log");
    // Eight refused deploys, the unknown function and the rollback; a malformed request
    // (the unknown setting) is refused before it reaches the deployer.
    assert_eq!(audit.matches("\"refused\"").count(), 10, "{audit}");
    let metrics = crate::support::metrics(&server).await;
    assert!(
        metrics.contains(
            r#"portico_deploys_total{function="hello",action="deploy",outcome="refused"} 8"#
        ),
        "{metrics}"
    );
}

/// The directory of the server's manifest (its log lives there).
fn server_dir(server: &Server) -> std::path::PathBuf {
    server.log.parent().expect("log dir").to_path_buf()
}

#[tokio::test]
async fn the_admin_api_needs_a_token_and_is_not_on_the_public_port() {
    // No token anywhere: reads and changes are refused, health and metrics are open.
    let open = Server::start(hello_manifest(HELLO));
    for (method, path) in [
        (reqwest::Method::GET, "/functions"),
        (reqwest::Method::PUT, "/functions/hello"),
    ] {
        let resp = client()
            .request(method, open.admin_url(path))
            .bearer_auth("anything")
            .send()
            .await
            .expect("admin");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let body = resp.text().await.expect("body");
        assert!(body.contains("admin token not configured"), "{body}");
    }
    for path in ["/healthz", "/metrics"] {
        let resp = client()
            .get(open.admin_url(path))
            .send()
            .await
            .expect("admin");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }

    // A token in the manifest, and another in the environment, which wins.
    let text = format!("[server]\nadmin_token = \"from-manifest\"\n{HELLO}");
    let server = Server::start_env(
        hello_manifest(&text),
        &[],
        &[("PORTICO_ADMIN_TOKEN", "from-env")],
    );
    let call = |token: Option<&'static str>| {
        let mut req = client().get(server.admin_url("/functions"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };
    let resp = call(None).await.expect("no token");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        call(Some("wrong")).await.expect("wrong").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(Some("from-manifest"))
            .await
            .expect("overridden")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let resp = call(Some("from-env")).await.expect("right token");
    assert_eq!(resp.status(), StatusCode::OK);
    let list: Value = resp.json().await.expect("json");
    assert_eq!(list[0]["name"], "hello");

    // The admin API is not on the public listener.
    let resp = client()
        .put(server.url("/functions/hello"))
        .bearer_auth("from-env")
        .body(variant(&hello_wasm(), "public"))
        .send()
        .await
        .expect("public");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = client()
        .get(server.admin_url("/functions/hello"))
        .bearer_auth("from-env")
        .send()
        .await
        .expect("describe");
    let info: Value = resp.json().await.expect("json");
    assert_eq!(info["versions"].as_array().map(Vec::len), Some(1), "{info}");

    // The manifest's token alone.
    let only = Server::start(hello_manifest(&text));
    let resp = client()
        .get(only.admin_url("/functions"))
        .bearer_auth("from-manifest")
        .send()
        .await
        .expect("manifest token");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn deploys_survive_restarts_roll_back_and_yield_to_a_rebuilt_manifest_module() {
    let m = hello_manifest(HELLO);
    let dir = m.dir.path().to_path_buf();
    let path = m.path.clone();
    let log = dir.join("portico.log");
    let env = [("PORTICO_ADMIN_TOKEN", TOKEN)];
    let json = ["--log-format", "json"];
    let mut server = Server::start_on(&path, &log, &json, &[], &env);
    let original = version(&hello_wasm());

    // Code and settings together: a new route and an environment variable.
    let a = variant(&hello_wasm(), "a");
    let (status, body) = put_with_config(
        &server,
        "hello",
        a.clone(),
        r#"{"routes":["GET /hello","GET /hi/{name}"],"environment":{"GREETING":"hi"},"limits":{"timeout":"5s"}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["previous"], original.as_str());
    assert_eq!(body["version"], version(&a).as_str());
    let hi: Value = client()
        .get(server.url("/hi/there"))
        .send()
        .await
        .expect("hi")
        .json()
        .await
        .expect("json");
    assert_eq!(hi["env"]["GREETING"], "hi", "{hi}");

    // A crash does not lose the deploy, its settings or its routes.
    server.kill();
    let server = Server::start_on(&path, &log, &json, &[], &env);
    assert_eq!(live(&server).await, version(&a));
    assert_eq!(get_status(&server, "/hi/there").await, StatusCode::OK);
    assert!(
        server.log().contains("deployed through the admin API"),
        "{}",
        server.log()
    );
    assert!(
        server.log().contains(r#""code":"artifact""#),
        "precompiled artifact used:\n{}",
        server.log()
    );
    let (_, info) = admin(&server, reqwest::Method::GET, "/functions/hello").await;
    assert_eq!(info["limits"]["timeout_ms"], 5000, "{info}");
    assert_eq!(info["versions"].as_array().map(Vec::len), Some(2), "{info}");

    // Rollback: to the previous version, with its settings (the manifest's).
    let (status, body) = admin(&server, reqwest::Method::POST, "/functions/hello/rollback").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], original.as_str());
    assert_eq!(
        get_status(&server, "/hi/there").await,
        StatusCode::NOT_FOUND
    );
    // ... and forward again by version.
    let (status, body) = admin(
        &server,
        reqwest::Method::POST,
        &format!("/functions/hello/rollback?to={}", version(&a)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(get_status(&server, "/hi/there").await, StatusCode::OK);
    let (status, body) = admin(
        &server,
        reqwest::Method::POST,
        "/functions/hello/rollback?to=0123456789ab",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    drop(server);

    // A rebuilt module file is newer than the deployed version.
    let c = variant(&hello_wasm(), "rebuilt");
    std::fs::write(dir.join("hello.wasm"), &c).expect("rebuild");
    let server = Server::start_on(&path, &log, &json, &[], &env);
    assert_eq!(live(&server).await, version(&c));
    assert!(
        server
            .log()
            .contains("the manifest's module changed since it was last loaded"),
        "{}",
        server.log()
    );
    assert_eq!(
        get_status(&server, "/hi/there").await,
        StatusCode::NOT_FOUND
    );
    drop(server);

    // Unchanged, it stays; a damaged precompiled artifact is recompiled, not run.
    for artifact in
        std::fs::read_dir(dir.join(".portico/data/deploy/artifacts")).expect("artifacts")
    {
        let artifact = artifact.expect("entry").path();
        let mut bytes = std::fs::read(&artifact).expect("read artifact");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&artifact, bytes).expect("damage artifact");
    }
    let server = Server::start_on(&path, &log, &json, &[], &env);
    assert_eq!(live(&server).await, version(&c));
    assert!(server.log().contains("corrupt"), "{}", server.log());
    assert!(
        server.log().contains(r#""code":"compiled""#),
        "{}",
        server.log()
    );
    assert_eq!(get_status(&server, "/hello").await, StatusCode::OK);
}

#[tokio::test]
async fn a_crash_during_a_deploy_leaves_the_old_or_the_new_version() {
    let m = hello_manifest(HELLO);
    let dir = m.dir.path().to_path_buf();
    let path = m.path.clone();
    let log = dir.join("portico.log");
    let env = [("PORTICO_ADMIN_TOKEN", TOKEN)];
    let mut server = Server::start_on(&path, &log, &[], &[], &env);
    let mut old = version(&hello_wasm());
    for round in 0..6u64 {
        let new = variant(&hello_wasm(), &format!("crash-{round}"));
        let new_version = version(&new);
        let admin_url = server.admin_url("/functions/hello");
        let deploy = tokio::spawn(async move {
            client()
                .put(admin_url)
                .bearer_auth(TOKEN)
                .body(new)
                .send()
                .await
        });
        // Kill at a different moment of the deploy each round.
        tokio::time::sleep(Duration::from_millis(round * 40)).await;
        server.kill();
        let _ = deploy.await;
        server = Server::start_on(&path, &log, &[], &[], &env);
        let now = live(&server).await;
        assert!(
            now == old || now == new_version,
            "round {round}: live {now}, expected {old} or {new_version}"
        );
        assert_eq!(
            get_status(&server, "/hello").await,
            StatusCode::OK,
            "round {round}"
        );
        old = now;
    }
    // No temporary files survive a restart.
    for sub in ["functions", "modules", "artifacts"] {
        for entry in std::fs::read_dir(dir.join(".portico/data/deploy").join(sub)).expect("dir") {
            let name = entry.expect("entry").file_name();
            assert!(
                !name.to_string_lossy().ends_with(".tmp"),
                "{name:?} left in {sub}"
            );
        }
    }
}

#[test]
fn the_cli_deploys_lists_and_rolls_back() {
    let server = start(hello_manifest(HELLO));
    let dir = server_dir(&server);
    let a = variant(&hello_wasm(), "cli");
    std::fs::write(dir.join("a.wasm"), &a).expect("write");
    std::fs::write(dir.join("a.json"), r#"{"environment":{"FROM":"cli"}}"#).expect("write");
    let admin = format!("http://{}", server.admin);
    let run = |args: &[&str], token: Option<&str>| {
        let mut cmd = portico();
        cmd.args(args).args(["--admin", &admin]).current_dir(&dir);
        if let Some(token) = token {
            cmd.env("PORTICO_ADMIN_TOKEN", token);
        }
        cmd.output().expect("portico runs")
    };
    let out = run(
        &["deploy", "hello", "a.wasm", "--config", "a.json"],
        Some(TOKEN),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("-> {}", version(&a))), "{stdout}");

    let out = run(&["versions", "hello"], Some(TOKEN));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains(&format!("live {}", version(&a))),
        "{stdout}"
    );
    assert!(stdout.contains(&version(&hello_wasm())), "{stdout}");

    let out = run(&["rollback", "hello"], Some(TOKEN));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["rollback", "hello", "--to", &version(&a)], Some(TOKEN));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run(&["deploy", "hello", "a.wasm"], Some("wrong"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("token"),
        "{stderr}"
    );
}

#[test]
fn up_watch_hot_swaps_rebuilt_modules_and_keeps_serving_through_a_bad_manifest() {
    // The "build" copies a prepared module over the served one when a source changes.
    let text = "[functions.hello]\nmodule = \"out/hello.wasm\"\nbuild = \"cp next.wasm out/hello.wasm\"\nwatch = [\"src\"]\n[routes]\n\"GET /hello\" = \"hello\"\n";
    let m = manifest(text);
    let dir = m.dir.path().to_path_buf();
    std::fs::create_dir_all(dir.join("out")).expect("out");
    std::fs::create_dir_all(dir.join("src")).expect("src");
    std::fs::write(dir.join("out/hello.wasm"), hello_wasm()).expect("module");
    let log = dir.join("portico.log");
    let server = Server::start_on(&m.path, &log, &["--log-format", "json"], &["--watch"], &[]);
    wait_for_log(&server, "the watcher", |l| {
        l.contains("watching for changes")
    });

    // A source change runs the build, which swaps the new module in.
    let next = variant(&hello_wasm(), "watched");
    std::fs::write(dir.join("next.wasm"), &next).expect("next");
    std::fs::write(dir.join("src/lib.rs"), "// changed").expect("touch source");
    wait_for_log(&server, "the hot swap", |l| {
        l.contains("hot-swapped") && l.contains(&version(&next))
    });
    assert_eq!(blocking_status(&server.url("/hello")), 200);

    // An invalid manifest is refused; the old configuration keeps serving.
    std::fs::write(&m.path, "[functions.hello\nbroken").expect("break manifest");
    wait_for_log(&server, "the refusal", |l| l.contains("is invalid"));
    assert_eq!(blocking_status(&server.url("/hello")), 200);

    // A fixed manifest with a new route applies.
    std::fs::write(&m.path, text.replace("\"GET /hello\"", "\"GET /hello2\""))
        .expect("fix manifest");
    wait_for_log(&server, "the new route", |_| {
        blocking_status(&server.url("/hello2")) == 200
    });
    assert_eq!(blocking_status(&server.url("/hello")), 404);
}

/// The status of `GET url` (0 if it failed), for the synchronous tests.
fn blocking_status(url: &str) -> u16 {
    let url = url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            client()
                .get(url)
                .send()
                .await
                .map_or(0, |r| r.status().as_u16())
        })
    })
    .join()
    .expect("request thread")
}
