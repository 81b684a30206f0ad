//! The topics benchmark of `scripts/bench-topics.sh`, in one process on the embedded
//! store, each row against the bare store's write rate measured in the same run:
//!
//! - `put` and `put-after`: CONCURRENCY tasks writing items of the message's size with
//!   `PutItem` (the baseline, before and after the publishes: what one durable write
//!   costs);
//! - `publish`: the same tasks publishing to a topic with one subscription, no worker
//!   running (the publish path: validation, filter, one queue write, acknowledged once
//!   committed);
//! - `latency`: one message at a time, from the start of its publish to the end of its
//!   delivery (lease, a fresh instance of `examples/order-email`, completion), with the
//!   delivery workers running.
//!
//!   topics_load SUBSCRIBER.wasm CONCURRENCY SECONDS MESSAGES
//!
//! Prints `RESULT <row> <per second> <p50 µs> <p99 µs>` lines.

use portico::manifest::Manifest;
use portico::metrics::Metrics;
use portico::topics::{Topics, queue::Queue};
use portico_data::ops::{Placeholders, PutItem, ReturnValues};
use portico_data::{Item, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BODY: &str = r#"{"id":"0123456789abcdef","item":"green tea, loose leaf, 250 g","quantity":2,"placed":1796332523748}"#;

fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(row: &str, count: usize, elapsed: Duration, mut latencies: Vec<u128>) {
    latencies.sort_unstable();
    println!(
        "RESULT {row} {:.0} {} {}",
        count as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
}

/// Runs `op` from `concurrency` tasks for `seconds`; the count, time and latencies.
async fn load<F, Fut>(concurrency: usize, seconds: u64, op: F) -> (usize, Duration, Vec<u128>)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let op = Arc::clone(&op);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < until {
                let sent = Instant::now();
                op((t as u64) << 32 | n).await;
                latencies.push(sent.elapsed().as_micros());
                n += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    (all.len(), started.elapsed(), all)
}

/// One durable `PutItem` of an item the message's size, numbered `n`.
fn put(
    backend: &Arc<dyn portico_data::Backend>,
) -> impl Fn(u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
+ Send
+ Sync
+ 'static {
    let store = Arc::clone(backend);
    move |n| {
        let store = Arc::clone(&store);
        Box::pin(async move {
            let mut item = Item::new();
            item.insert("id".into(), Value::S(format!("item-{n}")));
            item.insert("body".into(), Value::S(BODY.into()));
            store
                .put_item(PutItem {
                    table: "bench".into(),
                    item,
                    condition: None,
                    placeholders: Placeholders::default(),
                    return_values: ReturnValues::None,
                    return_old_on_condition_failure: false,
                })
                .await
                .expect("put");
        })
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: topics_load SUBSCRIBER.wasm CONCURRENCY SECONDS MESSAGES";
    let module = args.get(1).expect(usage).clone();
    let number = |i: usize| -> usize { args.get(i).and_then(|a| a.parse().ok()).expect(usage) };
    let (concurrency, seconds, messages) = (number(2), number(3) as u64, number(4));
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        r#"
[data]
dir = "{}"
[tables.bench]
partition_key = {{ name = "id", type = "S" }}
[topics.bench]
[[topics.bench.subscribers]]
function = "email"
raw = true
[functions.email]
module = "{module}"
"#,
        dir.path().join("data").display()
    );
    let manifest = Manifest::parse(&dir.path().join("portico.toml"), &text).expect("manifest");
    let backend = portico::data::open_backend(&manifest.data)
        .await
        .expect("the embedded store opens");
    let metrics = Arc::new(Metrics::new());

    // The baseline: bare durable writes of an item the message's size.
    let (count, elapsed, latencies) = load(concurrency, seconds, put(&backend)).await;
    report("put", count, elapsed, latencies);

    // Publishes, acknowledged when queued; no worker takes them.
    let topics = Topics::new(
        manifest.topics.clone(),
        Queue::new(Arc::clone(&backend)),
        Arc::clone(&metrics),
    );
    let publisher = Arc::clone(&topics);
    let (count, elapsed, latencies) = load(concurrency, seconds, move |_| {
        let topics = Arc::clone(&publisher);
        async move {
            topics
                .publish("bench", BODY.into(), Vec::new(), None)
                .await
                .expect("publish");
        }
    })
    .await;
    report("publish", count, elapsed, latencies);
    let backlog = count;
    // The baseline again, after: the two rows bracket the publishes.
    let (count, elapsed, latencies) = load(concurrency, seconds, put(&backend)).await;
    report("put-after", count, elapsed, latencies);

    // Deliveries: the workers drain the backlog, then one message at a time.
    let runtime = Arc::new(
        portico::runtime::Runtime::new(
            &manifest.runtime_config(),
            portico::cli::capabilities(
                None,
                &metrics,
                &portico::sockets::Sockets::new(),
                Some(Arc::clone(&topics)),
            ),
        )
        .expect("runtime"),
    );
    let gateway = Arc::new(
        portico::deploy::load_gateway(
            &manifest,
            Arc::clone(&runtime),
            Arc::clone(&metrics),
            None,
            portico::sockets::Sockets::new(),
        )
        .await
        .expect("the subscriber loads"),
    );
    let lookup_gateway = Arc::clone(&gateway);
    let lookup: portico::topics::delivery::Lookup =
        Arc::new(move |name: &str| lookup_gateway.served().functions.get(name).cloned());
    let stop = tokio_util::sync::CancellationToken::new();
    let workers = portico::topics::delivery::start(&topics, &runtime, &lookup, &stop);
    let sub = portico::topics::subscription_key("bench", "email");
    let started = Instant::now();
    loop {
        let (queued, _) = topics.queue().depth(&sub).await.expect("depth");
        if queued == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report("drain", backlog, started.elapsed(), Vec::new());
    let mut latencies = Vec::with_capacity(messages);
    let started = Instant::now();
    for _ in 0..messages {
        let sent = Instant::now();
        topics
            .publish("bench", BODY.into(), Vec::new(), None)
            .await
            .expect("publish");
        loop {
            let (queued, _) = topics.queue().depth(&sub).await.expect("depth");
            if queued == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        latencies.push(sent.elapsed().as_micros());
    }
    report("latency", messages, started.elapsed(), latencies);
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), workers.join_all()).await;
}
