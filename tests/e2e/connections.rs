//! What one client cannot do to the host, with real sockets: hold connections that send
//! nothing, sit idle, exceed the connection cap, trickle a body, or pile up bodies past
//! the host's budget.

use crate::support::{Server, client, healthz, manifest, metrics, sample};
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const LIMITS: &str = r#"
[server]
header_timeout = "1s"
idle_timeout = "1s"
body_timeout = "1s"
max_body = "1MiB"
max_body_bytes_in_flight = "2MiB"

[functions.hello]
module = "{hello}"

[functions.misbehave]
module = "{misbehave}"

[routes]
"GET /hello/{name}" = "hello"
"POST /echo" = "hello"
"GET /sleep" = "misbehave"
"#;

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream
}

/// Reads until the server closes the connection; how long that took, and what it sent.
fn until_closed(stream: &mut TcpStream) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (started.elapsed(), seen),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (started.elapsed(), seen),
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
}

/// Reads one HTTP/1.1 response with a `content-length` body: (head, body).
fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&seen[end + 4..end + 4 + length]).to_string();
                return (head, body);
            }
        }
        let n = stream.read(&mut buf).expect("read response");
        assert!(
            n > 0,
            "closed mid-response: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
}

/// The value of one sample in the metrics text, 0 if absent.
#[tokio::test]
async fn silent_connections_and_a_bare_http2_preface_are_closed_after_the_header_timeout() {
    let server = Server::start(manifest(LIMITS));
    let addr = server.addr;
    let (silent, preface) = tokio::task::spawn_blocking(move || {
        let mut silent = connect(addr);
        let mut h2 = connect(addr);
        h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .expect("preface");
        let silent = until_closed(&mut silent).0;
        let preface = until_closed(&mut h2).0;
        (silent, preface)
    })
    .await
    .expect("join");
    for (what, took) in [("silent", silent), ("preface only", preface)] {
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(4),
            "{what}: closed after {took:?}, header_timeout is 1s"
        );
    }
    let text = metrics(&server).await;
    let timed_out = sample(
        &text,
        r#"portico_connections_total{listener="public",outcome="first_request_timeout"}"#,
    );
    assert!(timed_out >= Some(2.0), "{text}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_but_a_slow_request_is_not_cut() {
    // hyper's head timer also runs while an HTTP/1 connection waits for its next
    // request: a longer header_timeout lets idle_timeout be the one that fires.
    let server = Server::start(manifest(
        &LIMITS.replace("header_timeout = \"1s\"", "header_timeout = \"10s\""),
    ));
    let addr = server.addr;
    let (head, body, took) = tokio::task::spawn_blocking(move || {
        let mut stream = connect(addr);
        // A request that runs longer than idle_timeout is in flight, not idle.
        stream
            .write_all(b"GET /sleep?ms=1500 HTTP/1.1\r\nhost: x\r\n\r\n")
            .expect("write");
        let (head, body) = read_response(&mut stream);
        // Then the connection sits idle.
        let (took, _) = until_closed(&mut stream);
        (head, body, took)
    })
    .await
    .expect("join");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "slept 1500ms");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "closed {took:?} after the response, idle_timeout is 1s"
    );
    let text = metrics(&server).await;
    assert!(
        sample(
            &text,
            r#"portico_connections_total{listener="public",outcome="idle_timeout"}"#
        ) >= Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_are_closed_and_the_admin_port_still_answers() {
    let server = Server::start(manifest(
        "[server]\nmax_connections = 4\n[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /hello/{name}\" = \"hello\"\n",
    ));
    let addr = server.addr;
    let held: Vec<TcpStream> = (0..4).map(|_| connect(addr)).collect();
    // Let the server accept all four before the fifth arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (took, sent) = tokio::task::spawn_blocking(move || {
        let mut fifth = connect(addr);
        let _ = fifth.write_all(b"GET /hello/x HTTP/1.1\r\nhost: x\r\n\r\n");
        until_closed(&mut fifth)
    })
    .await
    .expect("join");
    assert!(
        sent.is_empty(),
        "the fifth connection was served: {}",
        String::from_utf8_lossy(&sent)
    );
    assert!(took < Duration::from_secs(2), "refused only after {took:?}");
    assert_eq!(healthz(&server).await, 200, "the admin listener answers");
    let text = metrics(&server).await;
    assert!(
        sample(
            &text,
            r#"portico_connections_total{listener="public",outcome="refused"}"#
        ) >= Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"portico_connections_open{listener="public"}"#),
        Some(4.0),
        "{text}"
    );
    // Once the held connections go, new ones are served again.
    drop(held);
    let mut served = false;
    for _ in 0..50 {
        if let Ok(resp) = client().get(server.url("/hello/again")).send().await
            && resp.status() == 200
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "not served after the held connections closed:\n{}",
        server.log()
    );
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_and_the_connection_is_closed() {
    let server = Server::start(manifest(LIMITS));
    let addr = server.addr;
    let (head, body, took) = tokio::task::spawn_blocking(move || {
        let mut stream = connect(addr);
        let started = Instant::now();
        // 90 of 100 bytes, then nothing.
        stream
            .write_all(
                format!(
                    "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{}",
                    "a".repeat(90)
                )
                .as_bytes(),
            )
            .expect("write");
        let (head, body) = read_response(&mut stream);
        (head, body, started.elapsed())
    })
    .await
    .expect("join");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    assert_eq!(body, r#"{"message":"Request Timeout"}"#);
    assert!(
        took < Duration::from_secs(4),
        "answered after {took:?}, body_timeout is 1s"
    );
}

#[tokio::test]
async fn bodies_past_the_in_flight_budget_get_503_at_once_and_others_still_pass() {
    let server = Server::start(manifest(
        &LIMITS.replace("body_timeout = \"1s\"", "body_timeout = \"30s\""),
    ));
    let addr = server.addr;
    // Two uploads declaring 1 MiB each hold the whole 2 MiB budget while they stall.
    let stalled: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(addr);
            s.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1048576\r\n\r\nabc")
                .expect("write");
            s
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut declared = connect(addr);
        declared
            .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1048576\r\n\r\n")
            .expect("write");
        let declared = read_response(&mut declared);
        let mut chunked = connect(addr);
        chunked
            .write_all(
                format!(
                    "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n800\r\n{}\r\n",
                    "b".repeat(0x800)
                )
                .as_bytes(),
            )
            .expect("write");
        let chunked = read_response(&mut chunked);
        (declared, chunked, started.elapsed())
    })
    .await
    .expect("join");
    let ((head, body), (chunked_head, chunked_body), took) = refused;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert_eq!(body, r#"{"message":"Service Unavailable"}"#);
    assert!(chunked_head.starts_with("HTTP/1.1 503"), "{chunked_head}");
    assert_eq!(chunked_body, r#"{"message":"Service Unavailable"}"#);
    assert!(took < Duration::from_secs(3), "refused only after {took:?}");
    // A request without a body takes nothing from the budget.
    let hello = client()
        .get(server.url("/hello/x"))
        .send()
        .await
        .expect("hello");
    assert_eq!(hello.status(), 200);
    // When the stalled uploads go away, their share comes back.
    drop(stalled);
    let mut passed = false;
    for _ in 0..50 {
        let resp = client()
            .post(server.url("/echo"))
            .body(vec![b'c'; 1 << 20])
            .send()
            .await
            .expect("post");
        if resp.status() == 200 {
            passed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(passed, "a 1 MiB body never fit again:\n{}", server.log());
}
