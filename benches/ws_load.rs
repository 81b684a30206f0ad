//! The load generator of `scripts/bench-ws.sh`.
//!
//! - `ws_load echo URL CONNECTIONS SECONDS`: each connection sends
//!   `{"action":"echo",...}` and waits for its answer, in a loop; prints
//!   `RESULT <messages/s> <p50 µs> <p99 µs> <errors>`.
//! - `ws_load broadcast URL[,URL...] MEMBERS MESSAGES`: MEMBERS connections join room
//!   `bench` (member i on the i-th URL, round robin: several URLs spread them over hosts
//!   sharing a DynamoDB); the first sends MESSAGES messages, each after every member got
//!   the one before; prints
//!   `RESULT <deliveries/s> <p50 µs> <p99 µs> <errors>`, the latencies from sending a
//!   message to its last delivery.

use futures_util::{SinkExt as _, StreamExt as _};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Client {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("the server accepts the connection")
        .0
}

/// The next text frame.
async fn next_text(ws: &mut Client) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(text.to_string()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            _ => return None,
        }
    }
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn echo(url: String, connections: usize, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut ws = connect(&url).await;
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let started = Instant::now();
                let text = format!(r#"{{"action":"echo","c":{c},"n":{n}}}"#);
                if ws.send(Message::text(text)).await.is_err() {
                    errors += 1;
                    break;
                }
                match next_text(&mut ws).await {
                    Some(_) => latencies.push(started.elapsed().as_micros()),
                    None => {
                        errors += 1;
                        break;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await.expect("task");
        all.extend(latencies);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "RESULT {:.0} {} {} {}",
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        errors
    );
}

async fn broadcast(urls: String, members: usize, messages: usize) {
    let urls: Vec<&str> = urls.split(',').collect();
    let mut clients = Vec::with_capacity(members);
    for i in 0..members {
        let mut ws = connect(urls[i % urls.len()]).await;
        ws.send(Message::text(r#"{"action":"join","room":"bench"}"#))
            .await
            .expect("join");
        next_text(&mut ws).await.expect("joined");
        clients.push(ws);
    }
    let (mut sender, mut receivers) = {
        let first = clients.remove(0);
        (first, clients)
    };
    let mut latencies = Vec::with_capacity(messages);
    let mut errors = 0u64;
    let started = Instant::now();
    for n in 0..messages {
        let sent = Instant::now();
        let text = format!(r#"{{"action":"message","room":"bench","text":"m{n}"}}"#);
        sender.send(Message::text(text)).await.expect("send");
        let mut waits = Vec::with_capacity(receivers.len() + 1);
        waits.push(next_text(&mut sender));
        for receiver in &mut receivers {
            waits.push(next_text(receiver));
        }
        for got in futures_util::future::join_all(waits).await {
            if got.is_none() {
                errors += 1;
            }
        }
        latencies.push(sent.elapsed().as_micros());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "RESULT {:.0} {} {} {}",
        (messages * members) as f64 / elapsed,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        errors
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |i: usize| -> usize {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .expect("usage: ws_load echo|broadcast URL N M")
    };
    let url = args.get(2).cloned().expect("a ws:// URL");
    match args.get(1).map(String::as_str) {
        Some("echo") => echo(url, number(3), number(4) as u64).await,
        Some("broadcast") => broadcast(url, number(3), number(4)).await,
        _ => panic!("usage: ws_load echo|broadcast URL N M"),
    }
}
