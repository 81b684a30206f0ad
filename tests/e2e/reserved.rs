//! Reserved concurrency (`max_concurrency`, Lambda's reserved concurrency) through the
//! real binary: a function at its limit waits in its own queue and leaves the pool to
//! the others.

use crate::support::{client, manifest, metrics, sample};
use std::time::Duration;

#[tokio::test]
async fn a_looping_function_at_its_limit_does_not_take_hello_down() {
    let server = crate::deploy::start(manifest(
        r#"
[server]
max_instances = 4
queue_timeout = "10s"
[functions.hello]
module = "{hello}"
[functions.misbehave]
module = "{misbehave}"
timeout = "2s"
max_concurrency = 2
[routes]
"GET /hello" = "hello"
"GET /loop" = "misbehave"
"#,
    ));
    // Six endless loops: two run (each until its 2 s timeout), four wait in misbehave's
    // own queue, holding no instance slot.
    let loops: Vec<_> = (0..6)
        .map(|_| {
            let url = server.url("/loop");
            tokio::spawn(async move { client().get(url).send().await.map(|r| r.status()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile hello answers from the two slots misbehave cannot take: all of it
    // before any loop has ended (the first ends at its 2 s timeout).
    for _ in 0..10 {
        let resp = client()
            .get(server.url("/hello"))
            .send()
            .await
            .expect("hello");
        assert_eq!(resp.status(), 200);
    }
    assert!(
        loops.iter().all(|l| !l.is_finished()),
        "hello was answered only once loops had ended"
    );
    // Every loop ends with the documented 503 after its timeout (the waiting ones run
    // in turn: 3 rounds of 2 s).
    for handle in loops {
        let status = handle.await.expect("join").expect("response");
        assert_eq!(status, 503);
    }
    let text = metrics(&server).await;
    let info: serde_json::Value = client()
        .get(server.admin_url("/functions/misbehave"))
        .bearer_auth(crate::deploy::TOKEN)
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("json");
    assert_eq!(info["max_concurrency"], 2, "{info}");
    assert_eq!(
        sample(
            &text,
            r#"portico_invocation_failures_total{function="misbehave",outcome="timeout"}"#
        ),
        Some(6.0),
        "{text}"
    );
}

#[tokio::test]
async fn max_concurrency_zero_is_refused_with_file_line_and_key() {
    crate::support::refused_at(
        "[functions.hello]\nmodule = \"{hello}\"\nmax_concurrency = 0\n",
        "functions.hello.max_concurrency",
        "at least 1",
    );
}
