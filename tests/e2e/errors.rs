//! A misbehaving function gets API Gateway's error statuses, and the host keeps serving.

use crate::support::{Server, client, manifest};
use std::time::{Duration, Instant};

const MISBEHAVE: &str = r#"
[functions.misbehave]
module = "{misbehave}"
timeout = "2s"
memory = "32MiB"
environment = { MISBEHAVE_MODE = "test" }

[routes]
"ANY /{proxy+}" = "misbehave"
"#;

const INTERNAL: &str = r#"{"message":"Internal Server Error"}"#;
const UNAVAILABLE: &str = r#"{"message":"Service Unavailable"}"#;

async fn get(server: &Server, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let resp = client()
        .get(server.url(path))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    assert!(resp.headers().contains_key("apigw-requestid"), "{path}");
    (status, resp.text().await.expect("body"), started.elapsed())
}

async fn still_serving(server: &Server) {
    let (status, body, _) = get(server, "/sleep?ms=1").await;
    assert_eq!((status, body.as_str()), (200, "slept 1ms"));
}

#[tokio::test]
async fn traps_and_guest_errors_are_500_and_the_host_goes_on() {
    let server = Server::start(manifest(MISBEHAVE));
    for path in ["/trap", "/error", "/bad-status", "/bad-header"] {
        let (status, body, _) = get(&server, path).await;
        assert_eq!((status, body.as_str()), (500, INTERNAL), "{path}");
        still_serving(&server).await;
    }
    let log = server.log();
    assert!(
        log.contains("misbehave: deliberate trap"),
        "the panic message is logged"
    );
    assert!(
        log.contains("misbehave: deliberate error"),
        "the returned error is logged"
    );
}

#[tokio::test]
async fn infinite_loop_is_503_at_the_timeout() {
    let server = Server::start(manifest(MISBEHAVE));
    let (status, body, took) = get(&server, "/loop").await;
    assert_eq!((status, body.as_str()), (503, UNAVAILABLE));
    assert!(
        took >= Duration::from_secs(2),
        "not before the 2s timeout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "soon after the 2s timeout: {took:?}"
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn memory_bomb_is_500() {
    let server = Server::start(manifest(MISBEHAVE));
    let (status, body, _) = get(&server, "/oom").await;
    assert_eq!((status, body.as_str()), (500, INTERNAL));
    still_serving(&server).await;
}

#[tokio::test]
async fn response_over_the_limit_is_500() {
    let server = Server::start(manifest(MISBEHAVE));
    let (status, body, _) = get(&server, "/huge").await;
    assert_eq!(
        (status, body.as_str()),
        (500, INTERNAL),
        "7 MB is over the 6 MB default"
    );
    let (status, body, _) = get(&server, "/huge?bytes=1000").await;
    assert_eq!((status, body.len()), (200, 1000));
}

#[tokio::test]
async fn guest_output_is_logged_with_the_request_id() {
    let server = Server::start(manifest(MISBEHAVE));
    let resp = client()
        .get(server.url("/print"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let id = crate::support::request_id(&resp);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = server.log();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(&id)).collect();
        let stdout = lines
            .iter()
            .any(|l| l.contains("to stdout") && l.contains("misbehave"));
        let stderr = lines.iter().any(|l| l.contains("to stderr"));
        let access = lines
            .iter()
            .any(|l| l.contains("portico::access") && l.contains("status=200"));
        if stdout && stderr && access {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "log lines for {id} missing:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn guests_see_only_their_environment_and_no_files() {
    let server = Server::start(manifest(MISBEHAVE));
    let (status, body, _) = get(&server, "/env").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "env=MISBEHAVE_MODE=test\nfs=false\n")
    );
}

#[tokio::test]
async fn exhausted_pool_answers_503_without_queueing_forever() {
    let server = Server::start(manifest(&format!(
        "[server]\nmax_instances = 2\nmax_queue = 0\n{MISBEHAVE}"
    )));
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let url = server.url("/loop");
            tokio::spawn(async move { client().get(url).send().await.expect("request").status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body, took) = get(&server, "/sleep?ms=1").await;
    assert_eq!((status, body.as_str()), (503, UNAVAILABLE));
    assert!(took < Duration::from_secs(1), "refused at once: {took:?}");
    for b in busy {
        assert_eq!(b.await.expect("task"), 503, "the loops time out");
    }
    still_serving(&server).await;
}

#[tokio::test]
async fn queued_requests_wait_for_a_free_instance() {
    let server = Server::start(manifest(&format!(
        "[server]\nmax_instances = 1\nmax_queue = 8\nqueue_timeout = \"10s\"\n{MISBEHAVE}"
    )));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let url = server.url("/sleep?ms=200");
            tokio::spawn(async move { client().get(url).send().await.expect("request").status() })
        })
        .collect();
    let started = Instant::now();
    for t in tasks {
        assert_eq!(t.await.expect("task"), 200);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "one at a time: {:?}",
        started.elapsed()
    );
}
