//! Functions in JavaScript and Python: `examples/hello-js`, `hello-py`, `notes-js` and
//! `notes-py`, built by `portico build` with componentize-js and componentize-py (through
//! `guest-js/componentize.sh` and `guest-py/componentize.sh`), served by `portico up`:
//! the Rust hello's answer, and a data API on the embedded store and on the dynamodb
//! backend whose numbers survive exactly, including ones a double cannot hold; and the
//! helpers' own unit tests (`guest-js/test/` in node, `tests/guests/` in CPython).
//!
//! `scripts/test.sh` installs both toolchains (pinned) into the tools directory; where one
//! is absent its tests say SKIPPED and pass without running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Server, TempManifest, client, portico, request_id, root};

#[derive(Clone, Copy, Debug)]
enum Lang {
    Js,
    Py,
}

impl Lang {
    /// The example suffix and route prefix: `js` or `py`.
    fn suffix(self) -> &'static str {
        match self {
            Lang::Js => "js",
            Lang::Py => "py",
        }
    }

    /// The componentize binary: from the environment (`scripts/test.sh` exports it), else
    /// where `scripts/test.sh` installs it.
    fn toolchain(self) -> PathBuf {
        let tools = std::env::var("PORTICO_TOOLS_DIR")
            .unwrap_or_else(|_| "/var/tmp/portico-tools".to_string());
        let (var, default) = match self {
            Lang::Js => (
                "PORTICO_COMPONENTIZE_JS",
                "componentize-js-0.23.0/node_modules/.bin/componentize-js",
            ),
            Lang::Py => (
                "PORTICO_COMPONENTIZE_PY",
                "componentize-py-0.25.1/bin/componentize-py",
            ),
        };
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(&tools).join(default))
    }

    /// Builds this language's examples once per test binary with `portico build` on their
    /// own manifests, and returns the component of `example` (`hello` or `notes`); `None`
    /// (after saying SKIPPED) when the toolchain is not installed.
    fn component(self, example: &str, test: &str) -> Option<PathBuf> {
        static JS: OnceLock<Result<(), String>> = OnceLock::new();
        static PY: OnceLock<Result<(), String>> = OnceLock::new();
        let tool = self.toolchain();
        if !tool.exists() {
            eprintln!(
                "SKIPPED {test}: toolchain missing: no {} (scripts/test.sh installs it)",
                tool.display()
            );
            return None;
        }
        let built = match self {
            Lang::Js => &JS,
            Lang::Py => &PY,
        };
        let built = built.get_or_init(|| {
            for example in ["hello", "notes"] {
                let manifest = self.example_dir(example).join("portico.toml");
                let out = portico()
                    .arg("build")
                    .arg("--manifest")
                    .arg(&manifest)
                    .output()
                    .expect("portico build runs");
                if !out.status.success() {
                    return Err(format!(
                        "portico build --manifest {} failed:\n{}{}",
                        manifest.display(),
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
            Ok(())
        });
        if let Err(why) = built {
            panic!("{why}");
        }
        let path = root().join(format!(
            "examples/target/components/{example}-{}.wasm",
            self.suffix()
        ));
        assert!(path.exists(), "{} missing after build", path.display());
        Some(path)
    }

    fn example_dir(self, example: &str) -> PathBuf {
        root().join(format!("examples/{example}-{}", self.suffix()))
    }

    /// The example's own manifest, as a temporary one: the module at `component`, no
    /// build command, and the data in the temporary directory.
    fn manifest(self, example: &str, component: &Path) -> TempManifest {
        let text = std::fs::read_to_string(self.example_dir(example).join("portico.toml"))
            .expect("example manifest");
        let mut out = String::new();
        for line in text.lines() {
            if line.starts_with("module = ") {
                out.push_str(&format!("module = {:?}\n", component.display().to_string()));
            } else if line.starts_with("dir = ") {
                out.push_str("dir = \"data\"\n");
            } else if !line.starts_with("build = ") && !line.starts_with("watch = ") {
                out.push_str(line);
                out.push('\n');
            }
        }
        assert!(
            out.contains("module = "),
            "the example manifest names a module"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("portico.toml");
        std::fs::write(&path, out).expect("write manifest");
        TempManifest { dir, path }
    }
}

async fn hello(lang: Lang, test: &str) {
    let Some(component) = lang.component("hello", test) else {
        return;
    };
    let server = Server::start(lang.manifest("hello", &component));
    let prefix = format!("/hello-{}", lang.suffix());
    for (path, name) in [(format!("{prefix}/ann"), "ann"), (prefix.clone(), "world")] {
        let resp = client()
            .get(server.url(&path))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let id = request_id(&resp);
        let body = resp.text().await.expect("body");
        // The Rust hello's shape, compact as serde_json writes it.
        assert_eq!(
            body,
            json!({ "message": format!("Hello, {name}!"), "request_id": id }).to_string(),
            "{path}"
        );
    }
    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.contains("portico::guest") && l.contains("greeting ann")),
        "the function's log record reaches the host's log:\n{log}"
    );
}

#[tokio::test]
async fn hello_in_javascript_answers_like_the_rust_hello() {
    hello(Lang::Js, "hello_in_javascript_answers_like_the_rust_hello").await;
}

#[tokio::test]
async fn hello_in_python_answers_like_the_rust_hello() {
    hello(Lang::Py, "hello_in_python_answers_like_the_rust_hello").await;
}

/// Status and raw body text.
async fn send(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

fn parsed(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Numbers a double cannot hold (kept exactly), a 38-digit one, and ordinary ones.
const EXACT: &str = r#"{"text": "numbers", "meta": {"amount": 12345678901234567890.5, "big": 9007199254740993, "digits": 12345678901234567890123456789012345678, "small": 0.1, "tiny": -1e-21, "list": [1, 2.5, true, null, "x", {"deep": []}], "nested": {"yes": false, "name": "é𝄞"}}}"#;

/// The notes API's whole contract, against whatever backend `server` uses; returns the
/// id of the note created from [`EXACT`].
async fn notes_contract(server: &Server, lang: Lang) -> String {
    let http = client();
    let base = format!("/notes-{}", lang.suffix());

    // Create and read back.
    let (code, body) = send(
        http.post(server.url(&base))
            .json(&json!({ "text": "buy milk" })),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let note = parsed(&body);
    let id = note["id"].as_str().expect("an id").to_string();
    assert!(!id.is_empty());
    assert_eq!(note["text"], "buy milk");
    assert!(
        note["created"].as_u64().unwrap() > 1_700_000_000_000,
        "{note}"
    );
    let (code, body) = send(http.get(server.url(&format!("{base}/{id}")))).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(parsed(&body), note);

    // Another note gets another id.
    let (code, body) = send(http.post(server.url(&base)).json(&json!({ "text": "two" }))).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_ne!(parsed(&body)["id"], note["id"]);

    // Missing.
    let (code, body) = send(http.get(server.url(&format!("{base}/no-such-note")))).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(parsed(&body)["message"], "no note no-such-note");

    // Bad input: 400 with a message naming what is wrong; nothing written.
    for (input, words, field) in [
        ("", "expected a JSON body", None),
        ("{\"text\": ", "the body is not JSON", None),
        ("[1, 2]", "expected a JSON object", None),
        ("{}", "`text` must be a non-empty string", Some("text")),
        (
            "{\"text\": 5}",
            "`text` must be a non-empty string",
            Some("text"),
        ),
        (
            "{\"text\": \"  \"}",
            "`text` must be a non-empty string",
            Some("text"),
        ),
        (
            "{\"text\": \"a\", \"colour\": \"red\"}",
            "unknown field `colour`",
            Some("colour"),
        ),
        (
            "{\"text\": \"a\", \"meta\": [1]}",
            "`meta` must be a JSON object",
            Some("meta"),
        ),
    ] {
        let (code, body) = send(http.post(server.url(&base)).body(input)).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{input}: {body}");
        let error = parsed(&body);
        let message = error["message"].as_str().expect("a message");
        assert!(message.contains(words), "{input}: {message}");
        if let Some(field) = field {
            assert_eq!(error["field"], field, "{input}: {body}");
        }
    }
    let long = json!({ "text": "x".repeat(1001) });
    let (code, body) = send(http.post(server.url(&base)).json(&long)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    // A number DynamoDB cannot store (39 significant digits): the store's validation
    // error, answered as 400.
    let (code, body) = send(
        http.post(server.url(&base))
            .body(r#"{"text": "a", "meta": {"n": 123456789012345678901234567890123456789}}"#),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(parsed(&body)["field"], "meta", "{body}");

    // Exact numbers, written and read back as JSON numbers with every digit.
    let (code, created) = send(http.post(server.url(&base)).body(EXACT)).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let id = parsed(&created)["id"].as_str().expect("id").to_string();
    let (code, read) = send(http.get(server.url(&format!("{base}/{id}")))).await;
    assert_eq!(code, StatusCode::OK, "{read}");
    for body in [&created, &read] {
        for exact in [
            r#""amount":12345678901234567890.5"#,
            r#""big":9007199254740993"#,
            r#""digits":12345678901234567890123456789012345678"#,
            r#""small":0.1"#,
        ] {
            assert!(body.contains(exact), "{exact} in {body}");
        }
    }
    let meta = &parsed(&read)["meta"];
    assert_eq!(meta["tiny"].as_f64(), Some(-1e-21), "{read}");
    assert_eq!(
        meta["list"],
        json!([1, 2.5, true, null, "x", { "deep": [] }])
    );
    assert_eq!(meta["nested"], json!({ "yes": false, "name": "é𝄞" }));
    id
}

/// `portico data get` of the note `id`, as DynamoDB JSON: what the table holds.
fn stored(manifest: &Path, id: &str, env: &[(&str, &str)]) -> Value {
    let out = portico()
        .envs(env.iter().copied())
        .args(["data", "--manifest"])
        .arg(manifest)
        .args(["--json", "dynamodb", "get", "notes"])
        .arg(json!({ "id": { "S": id } }).to_string())
        .output()
        .expect("portico data runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parsed(String::from_utf8_lossy(&out.stdout).trim())
}

/// The item holds the numbers as DynamoDB numbers (`N`), with their exact text.
fn assert_stored_exactly(item: &Value) {
    let meta = &item["meta"]["M"];
    assert_eq!(
        meta["amount"],
        json!({ "N": "12345678901234567890.5" }),
        "{item}"
    );
    assert_eq!(meta["big"], json!({ "N": "9007199254740993" }), "{item}");
    assert_eq!(
        meta["digits"],
        json!({ "N": "12345678901234567890123456789012345678" }),
        "{item}"
    );
    assert_eq!(meta["small"], json!({ "N": "0.1" }), "{item}");
    assert_eq!(
        meta["list"]["L"][2],
        json!({ "BOOL": true }),
        "a JSON true is a BOOL: {item}"
    );
    assert_eq!(meta["list"]["L"][3], json!({ "NULL": true }), "{item}");
    assert_eq!(item["text"], json!({ "S": "numbers" }), "{item}");
}

async fn notes_on_the_embedded_store(lang: Lang, test: &str) {
    let Some(component) = lang.component("notes", test) else {
        return;
    };
    let manifest = lang.manifest("notes", &component);
    let path = manifest.path.clone();
    let mut server = Server::start(manifest);
    let id = notes_contract(&server, lang).await;
    // The embedded store is one process's at a time: read it after the host is gone.
    server.kill();
    assert_stored_exactly(&stored(&path, &id, &[]));
}

async fn notes_on_dynamodb(lang: Lang, test: &str) {
    let Some(component) = lang.component("notes", test) else {
        return;
    };
    let dynamodb = crate::support::dynamodb().await;
    let endpoint = dynamodb.endpoint();
    let env = crate::support::dynamodb_env(&endpoint);
    let manifest = lang.manifest("notes", &component);
    let path = manifest.path.clone();
    let server = Server::start_env(manifest, &[], &env);
    let id = notes_contract(&server, lang).await;
    assert_stored_exactly(&stored(&path, &id, &env));
}

#[tokio::test]
async fn notes_in_javascript_on_the_embedded_store() {
    notes_on_the_embedded_store(Lang::Js, "notes_in_javascript_on_the_embedded_store").await;
}

#[tokio::test]
async fn notes_in_javascript_on_dynamodb() {
    notes_on_dynamodb(Lang::Js, "notes_in_javascript_on_dynamodb").await;
}

#[tokio::test]
async fn notes_in_python_on_the_embedded_store() {
    notes_on_the_embedded_store(Lang::Py, "notes_in_python_on_the_embedded_store").await;
}

#[tokio::test]
async fn notes_in_python_on_dynamodb() {
    notes_on_dynamodb(Lang::Py, "notes_in_python_on_dynamodb").await;
}

/// Without the toolchain, the build scripts say what is missing and how to get it.
#[test]
fn a_build_without_its_toolchain_names_it_and_how_to_install_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-tool");
    for (script, var, args) in [
        (
            "guest-js/componentize.sh",
            "PORTICO_COMPONENTIZE_JS",
            vec!["src/hello.js", "out.wasm"],
        ),
        (
            "guest-py/componentize.sh",
            "PORTICO_COMPONENTIZE_PY",
            vec!["src", "hello", "out.wasm"],
        ),
    ] {
        let out = Command::new("sh")
            .arg(root().join(script))
            .args(&args)
            .env(var, &missing)
            .current_dir(dir.path())
            .output()
            .expect("sh runs");
        assert_eq!(out.status.code(), Some(127), "{script}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&missing.display().to_string())
                && stderr.contains("run scripts/test.sh")
                && stderr.contains(var),
            "{script}: {stderr}"
        );
        assert!(!dir.path().join("out.wasm").exists());
        let usage = Command::new("sh")
            .arg(root().join(script))
            .output()
            .expect("sh runs");
        assert_eq!(usage.status.code(), Some(2), "{script}: usage");
        assert!(String::from_utf8_lossy(&usage.stderr).contains("usage:"));
    }
}

/// `guest-js/test/` (the helpers' conversions and JSON, in plain node).
#[test]
fn the_javascript_helpers_pass_their_unit_tests() {
    if Command::new("node").arg("--version").output().is_ok() {
        let out = Command::new("node")
            .arg("--test")
            .arg(root().join("guest-js/test/"))
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("# fail 0"));
    } else {
        eprintln!(
            "SKIPPED the_javascript_helpers_pass_their_unit_tests: toolchain missing: no node"
        );
    }
}

/// `tests/guests/test_portico_guest.py` (the Python helpers), against the bindings
/// componentize-py generates.
#[test]
fn the_python_helpers_pass_their_unit_tests() {
    let tool = Lang::Py.toolchain();
    if !tool.exists() {
        eprintln!(
            "SKIPPED the_python_helpers_pass_their_unit_tests: toolchain missing: no {}",
            tool.display()
        );
        return;
    }
    let bindings = tempfile::tempdir().expect("tempdir");
    let out = Command::new(&tool)
        .arg("-d")
        .arg(root().join("wit"))
        .args(["-w", "function", "bindings"])
        .arg(bindings.path())
        .output()
        .expect("componentize-py runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The venv's interpreter, which componentize-py's version of Python suits.
    let python = tool.with_file_name("python3");
    let python = if python.exists() {
        python
    } else {
        PathBuf::from("python3")
    };
    let path = std::env::join_paths([bindings.path().to_path_buf(), root().join("guest-py")])
        .expect("PYTHONPATH");
    let out = Command::new(python)
        .args(["-m", "unittest", "discover", "-v", "-p", "test_*.py", "-s"])
        .arg(root().join("tests/guests"))
        .env("PYTHONPATH", path)
        // No __pycache__ in guest-py: componentize-py would bundle it.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("\nOK"), "{stderr}");
}
