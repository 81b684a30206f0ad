//! The command line: `invoke`, `build`, manifest and module errors, graceful shutdown.

use crate::support::{Server, client, manifest, portico, root, up_fails};
use serde_json::{Value, json};
use std::time::Duration;

const HELLO: &str = r#"
[functions.hello]
module = "{hello}"

[routes]
"GET /hello/{name}" = "hello"
"POST /echo" = "hello"
"#;

/// `portico invoke` on one of `tests/events/`.
fn invoke(manifest_path: &std::path::Path, event: &str) -> Value {
    crate::support::invoke(manifest_path, &root().join("tests/events").join(event))
}

#[test]
fn invoke_runs_a_v2_event() {
    let m = manifest(HELLO);
    let resp = invoke(&m.path, "v2.json");
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(resp["isBase64Encoded"], false);
    assert_eq!(resp["headers"]["apigw-requestid"], "id-from-v2-event");
    let body: Value = serde_json::from_str(resp["body"].as_str().expect("body")).expect("json");
    assert_eq!(
        body,
        json!({"message": "Hello, ann!", "request_id": "id-from-v2-event"})
    );
}

#[test]
fn invoke_runs_a_v1_event() {
    let m = manifest(HELLO);
    let resp = invoke(&m.path, "v1.json");
    assert_eq!(resp["statusCode"], 200);
    let e: Value = serde_json::from_str(resp["body"].as_str().expect("body")).expect("json");
    assert_eq!(e["routeKey"], "POST /echo");
    assert_eq!(e["body"], "Hello from Lambda!");
    assert_eq!(e["headers"]["header2"], "value1,value2");
    assert_eq!(
        e["queryStringParameters"],
        json!({"parameter1": "value1,value2", "parameter2": "value"})
    );
    assert_eq!(e["requestContext"]["http"]["sourceIp"], "192.0.2.1");
}

#[test]
fn invoke_answers_unrouted_events_with_404() {
    let m =
        manifest("[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /other\" = \"hello\"\n");
    let resp = invoke(&m.path, "v2.json");
    assert_eq!(resp["statusCode"], 404);
    assert_eq!(resp["body"], r#"{"message":"Not Found"}"#);
}

/// `invoke` compiles only the function its event routes to (a broken module elsewhere
/// in the manifest does not stop it), and keeps the compiled code as an artifact that
/// the next `invoke` (and `up`) loads instead of compiling.
#[test]
fn invoke_compiles_only_the_routed_function_and_reuses_its_artifact() {
    let m = manifest(
        r#"
[data]
dir = "data"

[functions.hello]
module = "{hello}"

[functions.broken]
module = "broken.wasm"

[routes]
"GET /hello/{name}" = "hello"
"GET /other" = "broken"
"#,
    );
    std::fs::write(m.dir.path().join("broken.wasm"), b"not wasm at all").expect("write");
    let run = || {
        let out = portico()
            .args(["invoke", "--manifest"])
            .arg(&m.path)
            .arg("--event")
            .arg(root().join("tests/events/v2.json"))
            .output()
            .expect("portico runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let resp: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_eq!(resp["statusCode"], 200, "{stderr}");
        stderr
    };
    let origin = |log: &str, code: &str| {
        log.contains(&format!("code={code}")) || log.contains(&format!("code=\"{code}\""))
    };
    let first = run();
    assert!(origin(&first, "compiled"), "{first}");
    assert!(
        !first.contains("broken"),
        "the broken module was not read: {first}"
    );
    let artifacts = m.dir.path().join("data/deploy/artifacts");
    let stored = std::fs::read_dir(&artifacts)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(stored, 1, "one artifact in {}", artifacts.display());
    let second = run();
    assert!(origin(&second, "artifact"), "{second}");
}

#[test]
fn manifest_errors_name_file_line_and_key() {
    let m = manifest("[functions.hello]\nmodule = \"{hello}\"\ntimeout = \"forever\"\n");
    let err = up_fails(&m);
    let expected = format!("{}:3:", m.path.display());
    assert!(err.contains(&expected), "{err}");
    assert!(err.contains("functions.hello.timeout"), "{err}");
    assert!(err.contains("invalid duration"), "{err}");
}

#[test]
fn modules_that_are_not_components_are_refused_with_the_reason() {
    // Routed at the event's path: `invoke` compiles only the function the event reaches.
    let m = manifest(
        "[functions.bad]\nmodule = \"bad.wasm\"\n[routes]\n\"GET /hello/{name}\" = \"bad\"\n",
    );
    let dir = m.dir.path();
    // A valid core module: WebAssembly, but not a component.
    std::fs::write(dir.join("bad.wasm"), b"\0asm\x01\0\0\0").expect("write");
    let out = portico()
        .args(["invoke", "--event"])
        .arg(root().join("tests/events/v2.json"))
        .arg("--manifest")
        .arg(&m.path)
        .output()
        .expect("portico runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("function `bad`: cannot compile the WebAssembly component")
            && err.contains("attempted to parse a wasm module with a component parser"),
        "{err}"
    );

    std::fs::write(dir.join("bad.wasm"), b"this is not wasm").expect("write");
    let err = up_fails(&m);
    assert!(
        err.contains("cannot compile the WebAssembly component"),
        "{err}"
    );

    // A real component, but without Portico's handler export.
    std::fs::copy(
        crate::support::component("wrong_world"),
        dir.join("bad.wasm"),
    )
    .expect("copy");
    let err = up_fails(&m);
    assert!(
        err.contains("function `bad`: component does not match Portico's `function` world")
            && err.contains("portico:edge/handler@0.1.0"),
        "{err}"
    );

    std::fs::remove_file(dir.join("bad.wasm")).expect("remove");
    let err = up_fails(&m);
    assert!(
        err.contains("cannot read module") && err.contains("portico build"),
        "{err}"
    );
}

#[test]
fn build_runs_the_build_commands() {
    crate::support::component("hello"); // make sure the build below is incremental
    let out = portico()
        .args(["build", "--manifest"])
        .arg(root().join("examples/hello/portico.toml"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("portico runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("[1/1] building hello"), "{err}");
    assert!(err.contains("[1/1] built hello"), "{err}");

    let m = manifest("[functions.f]\nmodule = \"f.wasm\"\nbuild = \"exit 3\"\n");
    let out = portico()
        .args(["build", "--manifest"])
        .arg(&m.path)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("build of f failed"));
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_then_exits() {
    let misbehave = "[functions.m]\nmodule = \"{misbehave}\"\n[routes]\n\"GET /sleep\" = \"m\"\n";
    let mut server = Server::start(manifest(misbehave));
    let url = server.url("/sleep?ms=1500");
    let in_flight = tokio::spawn(async move { client().get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = in_flight
        .await
        .expect("task")
        .expect("the in-flight request is answered");
    assert_eq!(status, 200);
    let exit = server
        .wait(Duration::from_secs(10))
        .expect("portico exits after SIGTERM");
    assert!(exit.success(), "{exit:?}");
    // New connections are refused once it has stopped.
    assert!(
        client()
            .get(server.url("/sleep?ms=1"))
            .send()
            .await
            .is_err()
    );
}

#[cfg(unix)]
/// `portico build` skips a command whose `watch` sources are unchanged since it last
/// succeeded (a toolchain that never builds the same bytes twice then makes no new
/// version), runs it when a source changes, when the module was replaced, and with
/// `--force`; and it leaves precompiled artifacts for `up`.
#[test]
fn build_skips_unchanged_sources_and_precompiles() {
    let hello = crate::support::component("hello");
    let m = manifest(&format!(
        r#"
[data]
dir = "data"

[functions.f]
module = "f.wasm"
build = "cp {hello} f.wasm && echo built >> builds.txt"
watch = ["src"]

[routes]
"GET /hello/{{name}}" = "f"
"#,
        hello = hello.display()
    ));
    let dir = m.dir.path();
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(dir.join("src/lib.rs"), "// one").expect("write");
    let build = |args: &[&str]| {
        let out = portico()
            .args(["build", "--manifest"])
            .arg(&m.path)
            .args(args)
            .output()
            .expect("portico runs");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        err
    };
    let builds = || {
        std::fs::read_to_string(dir.join("builds.txt"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let first = build(&[]);
    assert!(first.contains("[1/1] building f"), "{first}");
    assert!(first.contains("precompiled f (compiled)"), "{first}");
    let artifacts = std::fs::read_dir(dir.join("data/deploy/artifacts"))
        .map(Iterator::count)
        .unwrap_or(0);
    assert_eq!(artifacts, 1, "an artifact for up");
    let second = build(&[]);
    assert!(
        second.contains("sources unchanged since the last build, skipped"),
        "{second}"
    );
    assert!(second.contains("precompiled f (artifact)"), "{second}");
    assert_eq!(builds(), 1);
    std::fs::write(dir.join("src/lib.rs"), "// two").expect("write");
    build(&[]);
    assert_eq!(builds(), 2, "a changed source builds");
    std::fs::write(dir.join("f.wasm"), b"replaced").expect("write");
    build(&[]);
    assert_eq!(
        builds(),
        3,
        "a module that is not what the build made builds again"
    );
    build(&["--force"]);
    assert_eq!(builds(), 4, "--force builds");
    // `up` serves the precompiled module without compiling it.
    let server = Server::start_with(m, &[]);
    assert!(
        server.log().contains("code=artifact") || server.log().contains("code=\"artifact\""),
        "{}",
        server.log()
    );
}

/// `portico new` makes functions that build and serve with one more command: the http
/// template and the data template (a model on a table of its own), into a manifest it
/// creates, then adds to; a second function of the same name is refused.
#[tokio::test]
async fn new_makes_functions_that_build_and_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("portico.toml");
    let new = |args: &[&str]| {
        portico()
            .arg("new")
            .args(args)
            .arg("--manifest")
            .arg(&path)
            .output()
            .expect("portico runs")
    };
    let out = new(&["greet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = new(&["notes", "--template", "data"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = new(&["greet"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
    let out = new(&["Bad_Name"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a function name"));

    let out = portico()
        .args(["build", "--manifest"])
        .arg(&path)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("portico build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).expect("manifest");
    let m = crate::support::TempManifest { dir, path };
    let server = Server::start(m);
    let http = client();
    let greeting: Value = http
        .get(server.url("/greet/you"))
        .send()
        .await
        .expect("greet")
        .json()
        .await
        .expect("json");
    assert_eq!(greeting["message"], "Hello, you!", "{text}");
    let created = http
        .post(server.url("/notes"))
        .body(r#"{"text": "hi"}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    let item: Value = created.json().await.expect("json");
    let id = item["id"].as_str().expect("id");
    let read: Value = http
        .get(server.url(&format!("/notes/{id}")))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(read["text"], "hi");
    let empty = http
        .post(server.url("/notes"))
        .body(r#"{"text": ""}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(empty.status(), 400, "the model's length rule");
}

#[test]
fn build_adds_the_wasm_target_with_rustup_when_missing() {
    use std::os::unix::fs::PermissionsExt;
    let m = manifest(
        "[functions.f]\nmodule = \"f.wasm\"\nbuild = \"echo --target wasm32-wasip2 > f.wasm\"\n",
    );
    let dir = m.dir.path();
    // A stand-in rustup that has no targets installed and records what it is asked.
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let calls = dir.join("rustup-calls");
    let script = format!("#!/bin/sh\necho \"$@\" >> '{}'\n", calls.display());
    std::fs::write(bin.join("rustup"), script).expect("write");
    std::fs::set_permissions(bin.join("rustup"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");

    let out = portico()
        .args(["build", "--manifest"])
        .arg(&m.path)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .expect("portico runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("adding the wasm32-wasip2 target: rustup target add wasm32-wasip2"),
        "{err}"
    );
    let recorded = std::fs::read_to_string(&calls).expect("rustup was called");
    assert_eq!(
        recorded,
        "target list --installed\ntarget add wasm32-wasip2\n"
    );

    // Without rustup, the build goes ahead and says which command would add the target.
    let only_sh = dir.join("only-sh");
    std::fs::create_dir(&only_sh).expect("mkdir");
    std::os::unix::fs::symlink("/bin/sh", only_sh.join("sh")).expect("symlink");
    let out = portico()
        .args(["build", "--manifest"])
        .arg(&m.path)
        .env("PATH", &only_sh)
        .output()
        .expect("portico runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("rustup not found") && err.contains("rustup target add wasm32-wasip2"),
        "{err}"
    );
}

#[test]
fn modules_that_cannot_start_within_their_limits_are_refused_at_load() {
    // hello's initial linear memory (17 pages) is larger than 64 KiB; `other` keeps the
    // pool's slots at the default size, so only the function's own limit refuses it.
    let m = manifest(concat!(
        "[functions.hello]\nmodule = \"{hello}\"\nmemory = \"64KiB\"\n",
        "[functions.other]\nmodule = \"{hello}\"\n",
    ));
    let err = up_fails(&m);
    assert!(
        err.contains("function `hello`: cannot start an instance"),
        "{err}"
    );
    assert!(err.contains("exceeds memory limits"), "{err}");

    // With only that function, the pool's slots are that small and the module does not
    // even compile for them; the message says why.
    let m = manifest("[functions.hello]\nmodule = \"{hello}\"\nmemory = \"64KiB\"\n");
    let err = up_fails(&m);
    assert!(err.contains("function `hello`: cannot compile"), "{err}");
    assert!(err.contains("minimum byte size"), "{err}");
}
