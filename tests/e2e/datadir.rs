//! The data directory is one host's: a second `portico up` (or `portico data`) on it is
//! refused with the holder named, whatever the manifest holds, and the first keeps its
//! deploys; a killed host's lock does not outlive it. Also the start-up messages about
//! configuration: overflowing values, an empty manifest, a missing module, and errors
//! that say each cause once.

use crate::deploy::{TOKEN, admin, put, variant, version};
use crate::support::{Server, client, component, manifest, portico};
use reqwest::{Method, StatusCode};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One hello function on `GET /hello`, its module copied beside the manifest; no tables.
const HELLO: &str =
    "[functions.hello]\nmodule = \"hello.wasm\"\n[routes]\n\"GET /hello\" = \"hello\"\n";

fn hello_wasm() -> Vec<u8> {
    std::fs::read(component("hello")).expect("hello component")
}

/// A manifest serving `text` with hello.wasm copied beside it.
fn hello_manifest(text: &str) -> crate::support::TempManifest {
    let m = manifest(text);
    std::fs::write(m.dir.path().join("hello.wasm"), hello_wasm()).expect("copy hello");
    m
}

/// Runs `portico ARGS` to its end (at most a minute: a second host that is not refused
/// would serve forever); returns its exit status and stderr.
fn run_to_end(args: &[&str], manifest: &Path, env: &[(&str, &str)]) -> (ExitStatus, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let stderr = dir.path().join("stderr");
    let mut child = portico()
        .envs(env.iter().copied())
        .args(args)
        .arg("--manifest")
        .arg(manifest)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("portico runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`portico {args:?}` still runs after a minute; stderr:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, std::fs::read_to_string(&stderr).unwrap_or_default())
}

/// `up` on free ports.
const UP: &[&str] = &[
    "up",
    "--listen",
    "127.0.0.1:0",
    "--admin-listen",
    "127.0.0.1:0",
];

/// Every file under `dir` with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn a_second_host_on_the_same_data_directory_is_refused_and_the_first_keeps_its_deploys() {
    let m = hello_manifest(HELLO);
    let path = m.path.clone();
    let deploy_dir = m.dir.path().join(".portico/data/deploy");
    let lock_file = m.dir.path().join(".portico/data/portico.lock");
    let env = [("PORTICO_ADMIN_TOKEN", TOKEN)];
    let mut first = Server::start_env(m, &["--log-format", "json"], &env);

    // An acknowledged deploy: the second host's start-up cleanup would have deleted its
    // module and overwritten its record.
    let deployed = variant(&hello_wasm(), "deployed");
    let (status, body) = put(&first, "hello", deployed.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = snapshot(&deploy_dir);

    let (status, stderr) = run_to_end(UP, &path, &env);
    assert!(!status.success(), "the second host ran: {stderr}");
    let expected = format!(
        "is in use by another portico (pid {}, `portico up` since ",
        first.pid()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains(&format!("serving http://{}", first.addr))
            && stderr.contains(&format!("admin API http://{}", first.admin)),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");

    // The first host is untouched: same files, still serving, its deploy live and
    // rollback working.
    assert_eq!(snapshot(&deploy_dir), before, "the deploy store changed");
    let resp = client()
        .get(first.url("/hello"))
        .send()
        .await
        .expect("hello");
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, info) = admin(&first, Method::GET, "/functions/hello").await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["live"], version(&deployed), "{info}");
    let (status, body) = admin(&first, Method::POST, "/functions/hello/rollback").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], version(&hello_wasm()), "{body}");

    // kill -9: the lock dies with the process (the lock file, naming the dead pid, is
    // left behind and does not matter).
    let first_pid = first.pid();
    first.kill();
    let stale = std::fs::read_to_string(&lock_file).expect("lock file");
    assert!(stale.contains(&format!("\"pid\":{first_pid}")), "{stale}");
    let log = path.with_file_name("third.log");
    let third = Server::start_on(&path, &log, &["--log-format", "json"], &[], &env);
    let resp = client()
        .get(third.url("/hello"))
        .send()
        .await
        .expect("hello");
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, info) = admin(&third, Method::GET, "/functions/hello").await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["live"], version(&hello_wasm()), "{info}");
    assert_eq!(
        info["versions"].as_array().map(Vec::len),
        Some(2),
        "both deployments are kept: {info}"
    );
    let now = std::fs::read_to_string(&lock_file).expect("lock file");
    assert!(now.contains(&format!("\"pid\":{}", third.pid())), "{now}");
}

/// The todo API on the embedded store, with its data beside the manifest.
const TODO: &str = r#"
[data]
dir = "data"

[tables.todos]
partition_key = { name = "id", type = "S" }

[functions.todo]
module = "{todo}"
tables = ["todos"]

[routes]
"GET /todos/{id}" = "todo"
"#;

#[test]
fn portico_data_is_refused_while_a_host_uses_the_store_and_runs_once_it_is_gone() {
    let m = manifest(TODO);
    let path = m.path.clone();
    let scan = ["data", "scan", "todos"];
    let mut server = Server::start(m);

    let (status, stderr) = run_to_end(&scan, &path, &[]);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "is in use by another portico (pid {}, `portico up` since ",
            server.pid()
        )),
        "{stderr}"
    );
    // Refused by the lock, before the embedded store's own (less helpful) refusal.
    assert!(!stderr.contains("portico.redb"), "{stderr}");

    server.kill();
    let (status, stderr) = run_to_end(&scan, &path, &[]);
    assert!(status.success(), "{stderr}");
}

#[test]
fn invoke_without_tables_runs_beside_a_host() {
    let m = hello_manifest(
        "[functions.hello]\nmodule = \"hello.wasm\"\n[routes]\n\"GET /hello/{name}\" = \"hello\"\n",
    );
    let path = m.path.clone();
    let _server = Server::start(m);
    let event = crate::support::root().join("tests/events/v2.json");
    let out = portico()
        .args(["invoke", "--manifest"])
        .arg(&path)
        .arg("--event")
        .arg(event)
        .output()
        .expect("portico runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_size_that_overflows_is_an_error_naming_file_line_and_key() {
    let m = hello_manifest(
        "[functions.hello]\nmodule = \"hello.wasm\"\nmax_response = \"99999999999999999999999GiB\"\n",
    );
    let stderr = crate::support::up_fails(&m);
    assert!(
        stderr.contains("portico.toml:3:")
            && stderr.contains("functions.hello.max_response")
            && stderr.contains("too large"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_empty_manifest_starts_with_a_warning() {
    let server = Server::start_with(manifest(""), &["--log-format", "json"]);
    let resp = client()
        .get(server.url("/anything"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains(r#""level":"WARN""#)
            && l.contains("nothing is served")
            && l.contains("[routes]")),
        "{log}"
    );
}

#[test]
fn a_missing_module_served_from_an_earlier_deploy_is_a_warning() {
    let m = hello_manifest(HELLO);
    let path = m.path.clone();
    let log = m.dir.path().join("first.log");
    let json = ["--log-format", "json"];
    let first = Server::start_on(&path, &log, &json, &[], &[]);
    drop(first);
    std::fs::remove_file(m.dir.path().join("hello.wasm")).expect("remove the module");
    let log = m.dir.path().join("second.log");
    let second = Server::start_on(&path, &log, &json, &[], &[]);
    let text = second.log();
    let line = text
        .lines()
        .find(|l| l.contains("serving the last deployed version"))
        .unwrap_or_else(|| panic!("no line about the missing module:\n{text}"));
    assert!(line.contains(r#""level":"WARN""#), "{line}");
    assert!(line.contains("cannot read module"), "{line}");
}

#[test]
fn start_up_errors_say_each_cause_once() {
    // An unreadable manifest.
    let dir = tempfile::tempdir().expect("tempdir");
    let (status, stderr) = run_to_end(UP, &dir.path().join("missing.toml"), &[]);
    assert!(!status.success());
    assert!(stderr.contains("cannot read manifest"), "{stderr}");
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");

    // A module file that cannot be read, never deployed.
    let m = manifest(HELLO);
    let stderr = crate::support::up_fails(&m);
    assert!(stderr.contains("cannot read module"), "{stderr}");
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");

    // A capability refusing the function: its reason once (the runtime's error says it
    // in its message and returns it as its source too).
    let m = hello_manifest(
        "[functions.hello]\nmodule = \"hello.wasm\"\nvariables = { k = { from_env = \"PORTICO_TEST_UNSET\" } }\n",
    );
    let stderr = crate::support::up_fails(&m);
    assert_eq!(
        stderr
            .matches("environment variable `PORTICO_TEST_UNSET` is not set")
            .count(),
        1,
        "{stderr}"
    );

    // An event file that is not an event.
    let bad = m.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"rawPath": 5"#).expect("write");
    let (status, stderr) = run_to_end(
        &["invoke", "--event", bad.to_str().expect("utf-8 path")],
        &m.path,
        &[],
    );
    assert!(!status.success(), "{stderr}");
    assert_eq!(stderr.matches("invalid type").count(), 1, "{stderr}");

    // An address in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let m = hello_manifest(HELLO);
    let (status, stderr) = run_to_end(
        &["up", "--listen", &addr, "--admin-listen", "127.0.0.1:0"],
        &m.path,
        &[],
    );
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr} (--listen): ")),
        "{stderr}"
    );
    let cause = stderr
        .trim()
        .rsplit(": ")
        .next()
        .expect("a cause")
        .to_string();
    assert_eq!(stderr.matches(&cause).count(), 1, "{stderr}");
}
