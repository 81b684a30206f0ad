//! A local DynamoDB-compatible server for tests: [dynoxide], started on a free loopback
//! port and killed when the [`TestServer`] is dropped.
//!
//! The binary is `$PORTICO_DYNOXIDE` when set, else `dynoxide` on `PATH`. Install it with
//! `cargo install dynoxide-rs --version 3.2.0 --locked --no-default-features --features
//! native-sqlite,http-server,cli`.
//!
//! [dynoxide]: https://crates.io/crates/dynoxide-rs

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{DynamoDbConfig, StaticCredentials};

/// The environment variable naming the dynoxide binary.
pub const DYNOXIDE_ENV: &str = "PORTICO_DYNOXIDE";

/// How long a started server may take to answer `GET /`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How often to try another port when the chosen one was taken in the meantime.
const START_ATTEMPTS: usize = 3;

/// A running dynoxide process with an in-memory database. Dropping it kills the process.
#[derive(Debug)]
pub struct TestServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl TestServer {
    /// Starts a server on a free port of 127.0.0.1 and waits until it answers. Blocks
    /// the calling thread for the few milliseconds that takes.
    ///
    /// # Errors
    /// The binary cannot be found (the message says how to provide it), does not start,
    /// or does not answer within 15 seconds.
    pub fn start() -> io::Result<TestServer> {
        let binary = find_binary()?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&binary) {
                Ok(server) => return Ok(server),
                // Most likely the port was taken between probing and binding: retry.
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("dynoxide did not start")))
    }

    fn start_once(binary: &Path) -> io::Result<TestServer> {
        let port = free_port()?;
        let log = std::env::temp_dir().join(format!(
            "portico-dynoxide-{}-{port}.log",
            std::process::id()
        ));
        let log_file = File::create(&log)?;
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("could not run dynoxide at {}: {error}", binary.display()),
                )
            })?;
        let mut server = TestServer { child, port, log };
        server.wait_until_ready()?;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> io::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "dynoxide exited with {status} before answering on port {}: {}",
                    self.port,
                    self.log_tail()
                )));
            }
            if answers_root(self.address()) {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "dynoxide did not answer on port {} within {READY_TIMEOUT:?}: {}",
                        self.port,
                        self.log_tail()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A configuration for this server: its endpoint, region `us-east-1`, dummy static
    /// credentials, one attempt per request (a local server does not throttle), and
    /// tables created on connect.
    pub fn config(&self) -> DynamoDbConfig {
        DynamoDbConfig {
            endpoint: Some(self.endpoint()),
            region: Some("us-east-1".to_owned()),
            create_missing_tables: true,
            max_attempts: 1,
            table_ready_timeout_secs: 30,
            credentials: Some(StaticCredentials::new(
                "portico-test",
                "portico-test-secret",
            )),
        }
    }

    fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let text = text.trim();
        if text.is_empty() {
            return "(no output)".to_owned();
        }
        let start = text
            .char_indices()
            .rev()
            .nth(2000)
            .map_or(0, |(index, _)| index);
        text[start..].to_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The process may already be gone; nothing useful to do about errors here.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// `$PORTICO_DYNOXIDE`, else `dynoxide` on `PATH`.
fn find_binary() -> io::Result<PathBuf> {
    if let Some(path) = std::env::var_os(DYNOXIDE_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{DYNOXIDE_ENV} is {}, which is not a file", path.display()),
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("dynoxide"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "dynoxide (a DynamoDB-compatible server) was not found: set {DYNOXIDE_ENV} to \
                     its path or put it on PATH; install it with `cargo install dynoxide-rs \
                     --version 3.2.0 --locked --no-default-features --features \
                     native-sqlite,http-server,cli`"
                ),
            )
        })
}

/// A port that was free a moment ago.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Whether `GET /` answers 200.
fn answers_root(address: SocketAddr) -> bool {
    let attempt = || -> io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.set_write_timeout(Some(Duration::from_secs(1)))?;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    };
    attempt().unwrap_or(false)
}
