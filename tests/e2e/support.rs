//! Shared test support: build the example components once, start the real `portico`
//! binary on a free loopback port, and stop it afterwards.

#[path = "../common/example_components.rs"]
mod example_components;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Builds `examples/` for wasm32-wasip2 (once per test binary) and returns the path of
/// the component for `name`.
pub fn component(name: &str) -> PathBuf {
    example_components::example_component(name)
}

/// The `portico` binary under test.
pub fn portico() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    cmd.env("RUST_LOG", "info")
        .env_remove("PORTICO_ADMIN_TOKEN");
    cmd
}

/// A manifest written into a temporary directory.
pub struct TempManifest {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The manifest file.
    pub path: PathBuf,
}

/// Writes `text` as `portico.toml` in a new temporary directory. `{hello}`,
/// `{misbehave}`, `{todo}`, `{fetch}`, `{wasi}` (the wasi:http example), `{keys}`, `{ws-echo}`, `{chat}`,
/// `{chat-page}`, `{orders}`, `{order-email}`, `{order-stats}`, `{shop}`, `{models}`, `{authorizer}` and `{misbehave-authorizer}` are replaced with the components' paths.
pub fn manifest(text: &str) -> TempManifest {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("portico.toml");
    std::fs::write(&path, manifest_text(text)).expect("write manifest");
    TempManifest { dir, path }
}

/// `text` with the components' placeholders replaced, as [`manifest`] writes it.
pub fn manifest_text(text: &str) -> String {
    text.replace("{hello}", &toml_path(&component("hello")))
        .replace("{misbehave}", &toml_path(&component("misbehave")))
        .replace("{todo}", &toml_path(&component("todo")))
        .replace("{fetch}", &toml_path(&component("fetch")))
        .replace("{wasi}", &toml_path(&component("wasi_http_hello")))
        .replace("{keys}", &toml_path(&component("keys")))
        .replace("{ws-echo}", &toml_path(&component("ws_echo")))
        .replace("{chat}", &toml_path(&component("chat")))
        .replace("{chat-page}", &toml_path(&component("chat_page")))
        .replace("{orders}", &toml_path(&component("orders")))
        .replace("{order-email}", &toml_path(&component("order_email")))
        .replace("{order-stats}", &toml_path(&component("order_stats")))
        .replace("{authorizer}", &toml_path(&component("authorizer")))
        .replace("{shop}", &toml_path(&component("shop")))
        .replace("{models}", &toml_path(&component("models")))
        .replace(
            "{misbehave-authorizer}",
            &toml_path(&component("misbehave_authorizer")),
        )
}

fn toml_path(p: &Path) -> String {
    p.display().to_string().replace('\\', "/")
}

/// A running `portico up`, killed on drop.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its admin API listens.
    pub admin: SocketAddr,
    /// Its stderr (the log), captured to a file.
    pub log: PathBuf,
    _manifest: Option<TempManifest>,
}

impl Server {
    /// Starts `portico up` on `manifest` with a free port, and waits until it listens.
    pub fn start(manifest: TempManifest) -> Server {
        Server::start_with(manifest, &[])
    }

    /// Like [`Server::start`], with extra arguments for `portico` (before `up`).
    pub fn start_with(manifest: TempManifest, global_args: &[&str]) -> Server {
        Server::start_env(manifest, global_args, &[])
    }

    /// Like [`Server::start_with`], with extra environment variables.
    pub fn start_env(manifest: TempManifest, global_args: &[&str], env: &[(&str, &str)]) -> Server {
        let log = manifest.dir.path().join("portico.log");
        let mut server = Server::spawn(&manifest.path, &log, global_args, &[], env);
        server._manifest = Some(manifest);
        server
    }

    /// Starts `portico [global_args] up [up_args]` on a manifest that outlives it (e.g.
    /// to restart after a kill), with `env`, logging to `log`.
    pub fn start_on(
        path: &Path,
        log: &Path,
        global_args: &[&str],
        up_args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        Server::spawn(path, log, global_args, up_args, env)
    }

    /// Starts `portico` again on a manifest that outlives it (e.g. after a kill), with
    /// the log in `log`.
    pub fn restart(path: &Path, log: &Path) -> Server {
        Server::spawn(path, log, &[], &[], &[])
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts `portico [global_args] up --manifest path` on free ports, logging to `log`.
    fn spawn(
        path: &Path,
        log: &Path,
        global_args: &[&str],
        up_args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let log_file = std::fs::File::create(log).expect("log file");
        let mut child = portico()
            .envs(env.iter().copied())
            .args(global_args)
            .args([
                "up",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .args(up_args)
            .arg("--manifest")
            .arg(path)
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("portico starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut public = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("Portico listening on http://") {
                    public = Some(addr.to_string());
                } else if let Some(admin) = line.strip_prefix("Portico admin listening on http://")
                    && let Some(public) = public.take()
                {
                    let _ = tx.send((public, admin.to_string()));
                }
            }
        });
        let (addr, admin) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((addr, admin)) => (
                addr.parse().expect("address"),
                admin.parse().expect("admin address"),
            ),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "portico did not start; log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        };
        Server {
            child,
            addr,
            admin,
            log: log.to_path_buf(),
            _manifest: None,
        }
    }

    /// `http://ADDR/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `http://ADMIN/path`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin, path)
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client with a generous timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// Runs `portico invoke --manifest MANIFEST --event EVENT`, which must succeed, and
/// returns the payload 2.0 response it printed.
pub fn invoke(manifest: &Path, event: &Path) -> serde_json::Value {
    invoke_with(manifest, event, &[])
}

/// [`invoke`] with more arguments (`--fresh-context`); the response it printed, in
/// whichever payload format.
pub fn invoke_with(manifest: &Path, event: &Path, args: &[&str]) -> serde_json::Value {
    let out = portico()
        .args(["invoke", "--manifest"])
        .arg(manifest)
        .arg("--event")
        .arg(event)
        .args(args)
        .output()
        .expect("portico runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// A DynamoDB-compatible test server on a free loopback port.
pub async fn dynamodb() -> portico_dynamodb::test_server::TestServer {
    tokio::task::spawn_blocking(portico_dynamodb::test_server::TestServer::start)
        .await
        .expect("join")
        .expect("the DynamoDB-compatible test server starts")
}

/// The environment that points `portico up` at the dynamodb backend at `endpoint`,
/// with dummy credentials.
pub fn dynamodb_env(endpoint: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("PORTICO_DATA_BACKEND", "dynamodb"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "portico-test"),
        ("AWS_SECRET_ACCESS_KEY", "portico-test"),
    ]
}

/// Runs `portico token --manifest PATH ARGS`, which must succeed, and returns the token
/// it printed last.
pub fn mint(path: &Path, args: &[&str]) -> String {
    let out = portico()
        .arg("token")
        .arg("--manifest")
        .arg(path)
        .args(args)
        .output()
        .expect("portico token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    stdout.lines().last().expect("a token").to_string()
}

/// `portico invoke` of a payload 2.0 `GET path` event whose `requestContext.authorizer`
/// is `authorizer`, on manifest `m`; the function must answer 200, and its JSON body is
/// returned.
pub fn invoke_with_authorizer(
    m: &TempManifest,
    path: &str,
    authorizer: &serde_json::Value,
) -> serde_json::Value {
    let event = m.dir.path().join("event.json");
    let text = serde_json::json!({
        "version": "2.0",
        "routeKey": format!("GET {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": path},
            "authorizer": authorizer,
        },
    });
    std::fs::write(&event, text.to_string()).expect("event");
    let payload = invoke(&m.path, &event);
    assert_eq!(payload["statusCode"], 200, "{payload}");
    serde_json::from_str(payload["body"].as_str().expect("body")).expect("JSON body")
}

/// Runs `portico up` on `m` and returns its stderr; it must fail.
pub fn up_fails(m: &TempManifest) -> String {
    let out = portico()
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--manifest")
        .arg(&m.path)
        .output()
        .expect("portico runs");
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `portico up` on manifest `text`, which must fail with an error naming the file
/// and line, the key `key` and the words `words`.
pub fn refused_at(text: &str, key: &str, words: &str) {
    let err = up_fails(&manifest(text));
    assert!(err.contains(key) && err.contains(words), "{key}: {err}");
    assert!(
        err.contains("portico.toml:"),
        "names the file and line: {err}"
    );
}

/// The `apigw-requestid` header of a response.
pub fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()["apigw-requestid"]
        .to_str()
        .expect("ascii")
        .to_string()
}

/// The admin listener's `/metrics` text.
pub async fn metrics(server: &Server) -> String {
    client()
        .get(server.admin_url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The status of the admin listener's `/healthz`.
pub async fn healthz(server: &Server) -> u16 {
    client()
        .get(server.admin_url("/healthz"))
        .send()
        .await
        .expect("healthz")
        .status()
        .as_u16()
}

/// The value of one series (`name{labels}`, exactly as rendered) in a `/metrics` text.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The access-log line of request `id`, once it is written (a streaming response's line
/// is written when its body ends).
pub async fn access_line(server: &Server, id: &str) -> String {
    for _ in 0..100 {
        if let Some(line) = server
            .log()
            .lines()
            .find(|l| l.contains("portico::access") && l.contains(id))
        {
            return line.to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no access-log line for {id}:\n{}", server.log());
}
