//! 10,000 bad invocations against one host, beside normal traffic: traps, guest errors,
//! endless loops, memory bombs, stack overflows, responses over the limit or malformed,
//! and tight loops of data calls. Every bad call must get its documented status and body,
//! every normal request its answer, the failure counters must add up, and the host must
//! still be running at the end, with nothing panicked in its log.
//!
//! Its own test binary, so that it does not share the two cores with the other end-to-end
//! tests while it runs. Speed is measured nowhere: the endless calls go to a function
//! with a short timeout only to keep the run brief; the others end by themselves and get
//! 30 s, so that a loaded machine cannot turn their 500 into a timeout's 503 (with 2 s,
//! 7 of about 500 memory bombs once ran out of time while a fuzzer held one of the two
//! cores).

#[allow(dead_code)] // The shared support; this binary uses part of it.
#[path = "../e2e/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use support::{Server, client, healthz, manifest, metrics};

const MANIFEST: &str = r#"
[server]
max_instances = 64
max_queue = 256

[tables.spins]
partition_key = { name = "id", type = "S" }

[functions.misbehave]
module = "{misbehave}"
timeout = "30s"
memory = "16MiB"
max_response = "1MB"

# The same component with a short timeout, for the calls that never end.
[functions.spinner]
module = "{misbehave}"
timeout = "100ms"
tables = ["spins"]

[functions.hello]
module = "{hello}"

[routes]
"ANY /{proxy+}" = "misbehave"
"GET /loop" = "spinner"
"GET /data-loop" = "spinner"
"GET /hello/{name}" = "hello"
"#;

const INTERNAL: &str = r#"{"message":"Internal Server Error"}"#;
const UNAVAILABLE: &str = r#"{"message":"Service Unavailable"}"#;

/// How many invocations, and how many at once.
const INVOCATIONS: usize = 10_000;
const CONCURRENCY: usize = 16;
/// Clients calling `hello` all along, apart from the invocations.
const NEIGHBOURS: usize = 2;

/// One kind of call: its path, its share of the mix, what the host must answer, and the
/// function and `portico_invocation_failures_total` outcome it counts as.
struct Kind {
    path: &'static str,
    weight: usize,
    status: u16,
    body: Option<&'static str>,
    failure: Option<(&'static str, &'static str)>,
}

/// A call that fails: 500 in `misbehave`, or 503 (a timeout) in `spinner`.
const fn bad(path: &'static str, weight: usize, status: u16, outcome: &'static str) -> Kind {
    let (body, function) = if status == 503 {
        (UNAVAILABLE, "spinner")
    } else {
        (INTERNAL, "misbehave")
    };
    Kind {
        path,
        weight,
        status,
        body: Some(body),
        failure: Some((function, outcome)),
    }
}

/// The mix. The spinning kinds are rare: each holds a core for the whole timeout.
const KINDS: [Kind; 11] = [
    bad("/trap", 10, 500, "trap"),
    bad("/error", 8, 500, "guest_error"),
    bad("/oom", 5, 500, "trap"),
    bad("/stack", 8, 500, "trap"),
    bad("/huge?bytes=2000000", 6, 500, "response_too_large"),
    bad("/bad-status", 8, 500, "malformed_response"),
    bad("/bad-header", 8, 500, "malformed_response"),
    bad("/loop", 2, 503, "timeout"),
    bad("/data-loop?table=spins", 2, 503, "timeout"),
    Kind {
        path: "/sleep?ms=1",
        weight: 18,
        status: 200,
        body: Some("slept 1ms"),
        failure: None,
    },
    Kind {
        path: "/hello/adversary",
        weight: 25,
        status: 200,
        body: None,
        failure: None,
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_bad_invocations_each_get_their_status_and_the_host_goes_on() {
    let mut server = Server::start(manifest(MANIFEST));
    let server_url = Arc::new(server.url(""));

    // The mix, shuffled with a printed seed so a failure can be replayed.
    let seed = std::env::var("PORTICO_ADVERSARIAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("PORTICO_ADVERSARIAL_SEED={seed}");
    let total_weight: usize = KINDS.iter().map(|k| k.weight).sum();
    let mut plan: Vec<usize> = (0..INVOCATIONS)
        .map(|i| {
            let mut slot = i % total_weight;
            KINDS
                .iter()
                .position(|k| {
                    let hit = slot < k.weight;
                    slot = slot.saturating_sub(k.weight);
                    hit
                })
                .expect("a kind for every slot")
        })
        .collect();
    fastrand::Rng::with_seed(seed).shuffle(&mut plan);
    let plan = Arc::new(plan);

    let done = Arc::new(AtomicBool::new(false));
    let neighbours: Vec<_> = (0..NEIGHBOURS)
        .map(|n| {
            let url = format!("{server_url}/hello/neighbour{n}");
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let client = client();
                let mut answered = 0usize;
                while !done.load(Ordering::Relaxed) {
                    let resp = client.get(&url).send().await.expect("hello answers");
                    let status = resp.status().as_u16();
                    let body = resp.text().await.expect("hello's body");
                    assert_eq!(status, 200, "a neighbour got {status}: {body}");
                    answered += 1;
                }
                answered
            })
        })
        .collect();

    let next = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (plan, next, url) = (
                Arc::clone(&plan),
                Arc::clone(&next),
                Arc::clone(&server_url),
            );
            tokio::spawn(async move {
                let client = client();
                let mut wrong = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&kind) = plan.get(i) else {
                        return wrong;
                    };
                    let k = &KINDS[kind];
                    let resp = client
                        .get(format!("{url}{}", k.path))
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{}: the host did not answer: {e}", k.path));
                    let status = resp.status().as_u16();
                    let has_id = resp.headers().contains_key("apigw-requestid");
                    let body = resp.text().await.expect("a whole body");
                    let body_ok = k.body.is_none_or(|b| b == body);
                    if status != k.status || !body_ok || !has_id {
                        wrong.push(format!(
                            "{} got {status} {body:?} (request id: {has_id})",
                            k.path
                        ));
                    }
                }
            })
        })
        .collect();

    let mut wrong = Vec::new();
    for caller in callers {
        wrong.extend(caller.await.expect("a caller finished"));
    }
    done.store(true, Ordering::Relaxed);
    let mut neighbour_requests = 0;
    for neighbour in neighbours {
        neighbour_requests += neighbour.await.expect("a neighbour finished");
    }
    assert!(
        wrong.is_empty(),
        "{} of {INVOCATIONS} calls got the wrong answer, first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert!(neighbour_requests > 0, "the neighbours were served");
    println!("{INVOCATIONS} invocations; {neighbour_requests} neighbour requests, all 200");

    // Still running, still serving, nothing panicked.
    assert!(
        server.wait(std::time::Duration::ZERO).is_none(),
        "the host exited"
    );
    assert_eq!(healthz(&server).await, 200, "the admin listener answers");
    // The guest's own panics are logged as its stderr (`panicked at misbehave/src/...`).
    let log = server.log();
    let host_panics: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("panicked at") && !l.contains("panicked at misbehave/src/"))
        .collect();
    assert!(host_panics.is_empty(), "the host panicked: {host_panics:?}");

    // The counters add up to the plan, outcome by outcome.
    let mut expected: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for &kind in plan.iter() {
        if let Some(failure) = KINDS[kind].failure {
            *expected.entry(failure).or_default() += 1;
        }
    }
    let text = metrics(&server).await;
    for ((function, outcome), count) in expected {
        let line = format!(
            r#"portico_invocation_failures_total{{function="{function}",outcome="{outcome}"}} {count}"#
        );
        assert!(
            text.lines().any(|l| l == line),
            "expected `{line}` in /metrics:\n{}",
            text.lines()
                .filter(|l| l.starts_with("portico_invocation_failures_total"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(
        !text.contains(r#"portico_invocation_failures_total{function="hello""#),
        "hello never failed"
    );
}
