//! Topics through the real binary and real components (`examples/orders`,
//! `order-email`, `order-stats`): a publish reaches every matching subscriber, filter
//! policies skip the rest, a failing subscriber is retried and dead-lettered, and a host
//! killed with undelivered messages delivers them all after a restart.

use crate::support::{Server, TempManifest, client, manifest, sample};
use serde_json::Value;
use std::time::{Duration, Instant};

/// `examples/orders/portico.toml`'s topic and tables, with the components' paths,
/// `SUBSCRIBERS` in place of its subscriptions and the retry settings given.
fn orders(subscribers: &str, delivery: &str) -> TempManifest {
    orders_with(subscribers, delivery, r#""POST /orders" = "orders""#)
}

/// [`orders`] with more `routes` lines.
fn orders_with(subscribers: &str, delivery: &str, routes: &str) -> TempManifest {
    manifest(&format!(
        r#"
[server]
admin_token = "topics-token"
[data]
dir = "data"
[tables.orders]
partition_key = {{ name = "id", type = "S" }}
[tables.order_stats]
partition_key = {{ name = "id", type = "S" }}
ttl = "expires"
[topics.order-placed]
{delivery}
{subscribers}
[functions.orders]
module = "{{orders}}"
tables = ["orders", "order_stats"]
topics = ["order-placed"]
[functions.order-email]
module = "{{order-email}}"
[functions.order-stats]
module = "{{order-stats}}"
tables = ["order_stats"]
[routes]
"GET /orders/stats" = "orders"
{routes}
"#
    ))
}

const BOTH: &str = r#"
[[topics.order-placed.subscribers]]
function = "order-email"
raw = true
filter = { item = [{ "anything-but" = ["test"] }] }
[[topics.order-placed.subscribers]]
function = "order-stats"
"#;

async fn place(server: &Server, item: &str, quantity: u64) -> Value {
    let resp = client()
        .post(server.url("/orders"))
        .json(&serde_json::json!({ "item": item, "quantity": quantity }))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 201);
    resp.json().await.expect("json")
}

async fn stats(server: &Server) -> Value {
    client()
        .get(server.url("/orders/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

/// Waits until the stats count `count` (and returns them).
async fn stats_reach(server: &Server, count: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = stats(server).await;
        if stats["count"] == count {
            return stats;
        }
        assert!(Instant::now() < deadline, "{stats}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn metric(server: &Server, series: &str) -> f64 {
    let text = client()
        .get(server.admin_url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    sample(&text, series).unwrap_or(0.0)
}

#[tokio::test]
async fn a_publish_reaches_each_matching_subscriber_once() {
    let server = Server::start(orders(BOTH, ""));
    let placed = place(&server, "tea", 2).await;
    let id = placed["message_id"]
        .as_str()
        .expect("a message id")
        .to_string();
    assert_eq!(id.len(), 36, "{placed}");
    place(&server, "test", 5).await;
    place(&server, "cake", 1).await;
    let stats = stats_reach(&server, 3).await;
    assert_eq!(stats["quantity"], 8);
    // The email skipped the test order (its filter policy): two emails, one per order.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.log().matches("email: order").count() < 2 {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let log = server.log();
    assert_eq!(log.matches("email: order").count(), 2, "{log}");
    assert!(log.contains("x tea confirmed"), "{log}");
    assert!(!log.contains("x test confirmed"), "{log}");
    assert!(log.contains(&format!("message {id}, attempt 1")), "{log}");
    assert_eq!(
        metric(
            &server,
            r#"portico_topic_messages_total{topic="order-placed",outcome="published"}"#
        )
        .await,
        3.0
    );
    assert_eq!(
        metric(
            &server,
            r#"portico_topic_messages_total{topic="order-placed",outcome="delivered"}"#
        )
        .await,
        5.0
    );
}

#[tokio::test]
async fn a_failing_subscriber_is_retried_with_backoff_then_dead_lettered() {
    // order-stats wants SNS's envelope: given the raw body, it fails every time.
    let subscribers = r#"
[[topics.order-placed.subscribers]]
function = "order-stats"
raw = true
"#;
    let m = orders(
        subscribers,
        "max_attempts = 3\nretry = { base = \"200ms\", max = \"1s\" }",
    );
    let log = m.dir.path().join("portico.log");
    let mut server = Server::start_on(&m.path, &log, &[], &[], &[]);
    let placed = place(&server, "tea", 1).await;
    let id = placed["message_id"].as_str().expect("id").to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(
        &server,
        r#"portico_topic_messages_total{topic="order-placed",outcome="dead_lettered"}"#,
    )
    .await
        < 1.0
    {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        metric(
            &server,
            r#"portico_topic_messages_total{topic="order-placed",outcome="failed"}"#
        )
        .await,
        3.0
    );
    assert_eq!(
        metric(
            &server,
            r#"portico_topic_messages_total{topic="order-placed",outcome="retried"}"#
        )
        .await,
        2.0
    );
    // Three attempts, each logged with its number, the later ones after a backoff.
    let text = server.log();
    for attempt in 1..=3 {
        assert!(
            text.contains(&format!(
                "order-placed/order-stats delivery {attempt} of {id}"
            )),
            "{text}"
        );
    }
    assert!(text.contains("not an SNS envelope"), "{text}");
    assert_eq!(stats(&server).await["count"], 0);

    // The operators' view, through the CLI: the dead letter, then a redrive, which
    // starts its attempts again from 1.
    let cli = |args: &[&str]| {
        let out = crate::support::portico()
            .args([
                "topics",
                "--admin",
                &format!("http://{}", server.admin),
                "--token",
                "topics-token",
            ])
            .args(args)
            .output()
            .expect("portico topics");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = cli(&["stats"]);
    let row = table
        .lines()
        .find(|l| l.starts_with("order-placed/order-stats"))
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["order-placed/order-stats", "0", "-", "1"],
        "{table}"
    );
    let letters = cli(&["dead-letters", "order-placed"]);
    assert!(
        letters.contains(&id) && letters.contains(r#""attempts":3"#),
        "{letters}"
    );
    assert!(cli(&["redrive", "order-placed"]).contains("redrove 1 dead letters"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(
        &server,
        r#"portico_topic_messages_total{topic="order-placed",outcome="dead_lettered"}"#,
    )
    .await
        < 2.0
    {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = format!("order-placed/order-stats delivery 1 of {id}");
    assert_eq!(server.log().matches(&first).count(), 2, "{}", server.log());
    // Publishing through the CLI, with attributes.
    let published = cli(&[
        "publish",
        "order-placed",
        r#"{"item":"x","quantity":1}"#,
        "-a",
        "item=x",
        "-a",
        "quantity:Number=1",
        "--subject",
        "By hand",
    ]);
    assert_eq!(published.trim().len(), 36, "{published}");
    // The dead letter is kept, with its error and attempts.
    server.kill();
    let out = crate::support::portico()
        .args(["data", "scan", "portico_topic_dead_letters", "--manifest"])
        .arg(&m.path)
        .output()
        .expect("portico data");
    let letters = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The redriven one, dead again, and the one published by hand (dead too, or still
    // queued: it fails the same way).
    assert!(letters.lines().count() >= 1, "{letters}");
    assert!(
        letters.contains(&id) && letters.contains("not an SNS envelope"),
        "{letters}"
    );
    assert!(letters.contains(r#""attempts":3"#), "{letters}");
}

#[tokio::test]
async fn messages_undelivered_at_a_kill_are_all_delivered_after_restart() {
    let m = orders(BOTH, "concurrency = 1");
    let log = m.dir.path().join("portico.log");
    let mut server = Server::start_on(&m.path, &log, &[], &[], &[]);
    const ORDERS: u64 = 40;
    for n in 0..ORDERS {
        place(&server, &format!("item-{n}"), 1).await;
    }
    // Every publish was acknowledged; kill at once, mid-delivery.
    server.kill();
    let before = std::fs::read_to_string(&log).unwrap_or_default();
    let delivered_before = before.matches("email: order").count();
    let server = Server::start_on(&m.path, &log, &[], &[], &[]);
    // None lost, none counted twice (order-stats counts each message id once); the
    // delivery the kill cut short is due again at once (the embedded store is this
    // host's alone), not when its lease ends.

    let stats = stats_reach(&server, ORDERS).await;
    assert_eq!(stats["quantity"], ORDERS, "{stats}");
    eprintln!("{delivered_before} of {ORDERS} emails were sent before the kill");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let emails = server.log().matches("email: order").count();
        // At least once: a delivery cut short by the kill runs again.
        if emails + delivered_before >= ORDERS as usize {
            break;
        }
        assert!(Instant::now() < deadline, "{emails} + {delivered_before}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The dead letters of `order-placed`, through the admin API.
async fn dead_letters(server: &Server) -> Vec<Value> {
    let body: Value = client()
        .get(server.admin_url("/topics/order-placed/dead-letters"))
        .bearer_auth("topics-token")
        .send()
        .await
        .expect("dead letters")
        .json()
        .await
        .expect("json");
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_route_publishes_without_any_function() {
    let routes = r#"
"POST /orders" = "orders"
"POST /orders/import" = { publish = { topic = "order-placed", body = "$request.body", subject = "Imported ${request.body.id}", attributes = { item = "$request.body.item", channel = "$request.header.x-channel" } } }
"POST /orders/note" = { publish = { topic = "order-placed", body = "$request.body.text" } }
"#;
    let server = Server::start(orders_with(BOTH, "", routes));
    let import = |body: Value| {
        client()
            .post(server.url("/orders/import"))
            .header("x-channel", "partner")
            .json(&body)
            .send()
    };
    let resp = import(serde_json::json!({"id": "ext-1", "item": "tea", "quantity": 3}))
        .await
        .expect("import");
    assert_eq!(resp.status(), 202);
    let request_id = resp
        .headers()
        .get("apigw-requestid")
        .and_then(|v| v.to_str().ok())
        .expect("a request id")
        .to_string();
    let answer: Value = resp.json().await.expect("json");
    let id = answer["PublishResponse"]["PublishResult"]["MessageId"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(id.len(), 36, "{answer}");
    assert_eq!(
        answer["PublishResponse"]["ResponseMetadata"]["RequestId"], request_id,
        "{answer}"
    );
    // Both subscribers get it as they get the function's publishes; the mapped `item`
    // attribute drives the email's filter policy.
    let stats = stats_reach(&server, 1).await;
    assert_eq!(stats["quantity"], 3);
    let resp = import(serde_json::json!({"id": "ext-2", "item": "test", "quantity": 1}))
        .await
        .expect("import");
    assert_eq!(resp.status(), 202);
    stats_reach(&server, 2).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server
        .log()
        .contains("email: order ext-1 for 3 x tea confirmed")
    {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!server.log().contains("ext-2"), "{}", server.log());

    // A mapping that finds nothing leaves an empty body, which SNS refuses: 400 with
    // SNS's error, and nothing published.
    let resp = client()
        .post(server.url("/orders/note"))
        .json(&serde_json::json!({"other": 1}))
        .send()
        .await
        .expect("note");
    assert_eq!(resp.status(), 400);
    let error: Value = resp.json().await.expect("json");
    assert_eq!(error["Error"]["Code"], "InvalidParameter", "{error}");
    assert!(
        error["Error"]["Message"]
            .as_str()
            .is_some_and(|m| m.contains("empty")),
        "{error}"
    );
    assert_eq!(
        metric(
            &server,
            r#"portico_topic_messages_total{topic="order-placed",outcome="published"}"#
        )
        .await,
        2.0
    );
}

#[tokio::test]
async fn a_route_publishes_its_event_before_its_function() {
    // order-stats, given the request's event instead of an order, fails at once: its
    // dead letter shows what the route published.
    let subscribers = r#"
[[topics.order-placed.subscribers]]
function = "order-stats"
"#;
    let routes = r#"
"POST /orders" = { function = "orders", publish = { topic = "order-placed", subject = "$request.header.x-subject" } }
"#;
    let server = Server::start(orders_with(subscribers, "max_attempts = 1", routes));
    let resp = client()
        .post(server.url("/orders?source=web"))
        .header("x-subject", "Audit")
        .json(&serde_json::json!({"item": "tea", "quantity": 2}))
        .send()
        .await
        .expect("post");
    // The function's own answer, after the publish.
    assert_eq!(resp.status(), 201);
    let request_id = resp
        .headers()
        .get("apigw-requestid")
        .and_then(|v| v.to_str().ok())
        .expect("a request id")
        .to_string();
    // The function's publish is an order, counted once.
    stats_reach(&server, 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let letters = loop {
        let letters = dead_letters(&server).await;
        if !letters.is_empty() {
            break letters;
        }
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["subject"], "Audit");
    let event: Value =
        serde_json::from_str(letters[0]["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(event["version"], "2.0", "{event}");
    assert_eq!(event["routeKey"], "POST /orders", "{event}");
    assert_eq!(event["rawPath"], "/orders", "{event}");
    assert_eq!(event["queryStringParameters"]["source"], "web", "{event}");
    assert_eq!(event["headers"]["x-subject"], "Audit", "{event}");
    assert_eq!(event["requestContext"]["requestId"], request_id, "{event}");
    assert_eq!(event["requestContext"]["http"]["method"], "POST", "{event}");
    assert_eq!(event["isBase64Encoded"], false, "{event}");
    let body: Value = serde_json::from_str(event["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(body, serde_json::json!({"item": "tea", "quantity": 2}));

    // A publish SNS refuses (a subject over 100 characters): 400, and the function does
    // not run.
    let resp = client()
        .post(server.url("/orders"))
        .header("x-subject", "s".repeat(101))
        .json(&serde_json::json!({"item": "cake", "quantity": 1}))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 400);
    let error: Value = resp.json().await.expect("json");
    assert_eq!(error["Error"]["Code"], "InvalidParameter", "{error}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(stats(&server).await["count"], 1);
}

#[test]
fn topic_mistakes_name_line_and_key() {
    let cases = [
        (
            "[topics.t]\n[[topics.t.subscribers]]\nfunction = \"nobody\"\n",
            "topics.t.subscribers[0].function",
            "no function named `nobody`",
        ),
        (
            "[functions.f]\nmodule = \"{orders}\"\ntopics = [\"missing\"]\n",
            "functions.f.topics",
            "no topic named `missing`",
        ),
        (
            "[functions.f]\nmodule = \"{order-stats}\"\n[topics.t]\n[[topics.t.subscribers]]\nfunction = \"f\"\nfilter = { kind = \"placed\" }\n",
            "topics.t.subscribers[0].filter",
            "are a list",
        ),
        (
            "[topics.t]\nmax_attempts = 0\n",
            "topics.t.max_attempts",
            "must be 1 to 100",
        ),
        (
            "[tables.portico_topic_queue]\npartition_key = { name = \"sub\", type = \"S\" }\n",
            "tables.portico_topic_queue",
            "reserved",
        ),
        (
            "[routes]\n\"POST /a\" = { publish = { topic = \"nope\" } }\n",
            "routes.\"POST /a\".publish.topic",
            "no topic named `nope`",
        ),
        (
            "[topics.t]\n[routes]\n\"POST /a\" = { publish = { topic = \"t\", body = \"${request.nope}\" } }\n",
            "routes.\"POST /a\".publish.body",
            "expected $request.body",
        ),
        (
            "[topics.t]\n[routes]\n\"POST /a\" = { publish = { topic = \"t\", attributes = { \"AWS.x\" = \"v\" } } }\n",
            "routes.\"POST /a\".publish.attributes",
            "reserved",
        ),
        (
            "[topics.t]\n[routes]\n\"POST /a\" = { payload = \"1.0\", publish = { topic = \"t\" } }\n",
            "routes.\"POST /a\".payload",
            "applies to a function",
        ),
        (
            "[routes]\n\"POST /a\" = { cors = false }\n",
            "routes.\"POST /a\"",
            "leads to a `function`, or publishes",
        ),
    ];
    for (text, key, words) in cases {
        crate::support::refused_at(text, key, words);
    }
    // A subscriber must be one: checked when the modules load (and at every deploy).
    let err = crate::support::up_fails(&manifest(
        "[functions.f]\nmodule = \"{orders}\"\n[topics.t]\nsubscribers = [\"f\"]\n",
    ));
    assert!(
        err.contains("function `f` is a function component, but topic `t` needs a subscriber"),
        "{err}"
    );
}

#[tokio::test]
async fn two_hosts_on_one_dynamodb_share_the_queue_and_take_over_a_dead_host_s_messages() {
    let dynamodb = crate::support::dynamodb().await;
    let endpoint = dynamodb.endpoint();
    let env = crate::support::dynamodb_env(&endpoint);
    // Short timeouts: a delivery the kill cuts short is leased for 1 s + 30 s.
    let host = || {
        let m = orders(BOTH, "concurrency = 1");
        let manifest = std::fs::read_to_string(&m.path).expect("read");
        let manifest = manifest
            .replace(
                "[data]\n",
                "[data.dynamodb]\ncreate_tables = true\n[data]\n",
            )
            .replace(
                "[functions.order-email]\n",
                "[functions.order-email]\ntimeout = \"1s\"\n",
            )
            .replace(
                "[functions.order-stats]\n",
                "[functions.order-stats]\ntimeout = \"1s\"\n",
            );
        std::fs::write(&m.path, manifest).expect("write");
        m
    };
    let mut one = Server::start_env(host(), &[], &env);
    let two = Server::start_env(host(), &[], &env);
    for n in 0..10 {
        place(
            if n % 2 == 0 { &one } else { &two },
            &format!("shared-{n}"),
            1,
        )
        .await;
    }
    // Both hosts read the same stats item; each message counted once.
    stats_reach(&two, 10).await;
    assert_eq!(stats(&one).await["count"], 10);
    // Twenty more through host one, which dies at once: host two delivers them all,
    // the ones host one had leased once their leases end.
    for n in 0..20 {
        place(&one, &format!("orphan-{n}"), 1).await;
    }
    one.kill();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let stats = stats(&two).await;
        if stats["count"] == 30 {
            assert_eq!(stats["quantity"], 30);
            break;
        }
        assert!(Instant::now() < deadline, "{stats}\n{}", two.log());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The email subscription has its own queue: a message host one had leased there
    // comes due when that lease ends, which may be after the stats are complete.
    let emails =
        || one.log().matches("email: order").count() + two.log().matches("email: order").count();
    while emails() < 30 {
        assert!(
            Instant::now() < deadline,
            "{} emails for 30 orders\n{}",
            emails(),
            two.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let emails = emails();
    let duplicates = metric(
        &two,
        r#"portico_topic_messages_total{topic="order-placed",outcome="duplicate"}"#,
    )
    .await;
    eprintln!("{emails} emails for 30 orders; host two counted {duplicates} duplicate deliveries");
}
