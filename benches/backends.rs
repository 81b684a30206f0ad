//! The two data backends side by side, through the same `Backend` trait in one run: the
//! embedded store (redb, durable commits) and the dynamodb backend against a local
//! DynamoDB-compatible server (dynoxide). Operations: put, get, a query returning 100
//! items, a transaction of 10 puts, and 64 concurrent puts (group commit); and a get
//! answered by the read cache in front of each (the host-side cost of a hit).
//!
//! `cargo bench -p portico-dynamodb --features test-server --bench backends`
//! (needs dynoxide: `PORTICO_DYNOXIDE` or on `PATH`; `scripts/test.sh` installs it).
//! After criterion's report it prints each operation's mean on both backends and the
//! ratio dynamodb / embedded.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group};
use portico_data::cache::{Cache, CacheConfig};
use portico_data::embedded::{Embedded, EmbeddedConfig};
use portico_data::ops::{
    GetItem, Placeholders, PutItem, Query, ReturnValues, TransactWrite, TransactWriteItem,
};
use portico_data::schema::string_keys;
use portico_data::{Backend, Item, TableSchema, Value};
use portico_dynamodb::DynamoDbBackend;
use portico_dynamodb::test_server::TestServer;

const OPERATIONS: [&str; 6] = [
    "put",
    "get",
    "get (cache hit)",
    "query 100 items",
    "transact write 10",
    "64 concurrent puts",
];

fn schema() -> TableSchema {
    TableSchema::new("bench", string_keys("pk", Some("sk")))
}

fn item(pk: &str, sk: u64) -> Item {
    [
        ("pk".to_owned(), Value::s(pk)),
        ("sk".to_owned(), Value::s(format!("{sk:08}"))),
        (
            "title".to_owned(),
            Value::s("a todo item of a typical size, with some words in it"),
        ),
        ("status".to_owned(), Value::s("open")),
        ("created".to_owned(), Value::n(1_700_000_000_000)),
        ("version".to_owned(), Value::n(3)),
    ]
    .into()
}

fn put(item: Item) -> PutItem {
    PutItem {
        table: "bench".into(),
        item,
        condition: None,
        placeholders: Placeholders::default(),
        return_values: ReturnValues::None,
        return_old_on_condition_failure: false,
    }
}

fn query() -> Query {
    let mut placeholders = Placeholders::default();
    placeholders.values.insert(":p".into(), Value::s("hundred"));
    Query {
        table: "bench".into(),
        index: None,
        key_condition: "pk = :p".into(),
        filter: None,
        projection: None,
        placeholders,
        limit: None,
        exclusive_start_key: None,
        forward: true,
        consistent: false,
        count_only: false,
    }
}

struct Backends {
    _dir: tempfile::TempDir,
    _server: TestServer,
    all: Vec<(&'static str, Arc<dyn Backend>)>,
}

fn backends(rt: &tokio::runtime::Runtime) -> Backends {
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded =
        Embedded::open(&EmbeddedConfig::new(dir.path()), &[schema()]).expect("embedded store");
    let server = TestServer::start().expect("dynoxide starts (set PORTICO_DYNOXIDE)");
    let dynamodb = rt
        .block_on(DynamoDbBackend::connect(&server.config(), &[schema()]))
        .expect("dynamodb backend");
    let all: Vec<(&'static str, Arc<dyn Backend>)> = vec![
        ("embedded", Arc::new(embedded)),
        ("dynamodb", Arc::new(dynamodb)),
    ];
    for (_, backend) in &all {
        rt.block_on(async {
            backend.put_item(put(item("one", 0))).await.expect("seed");
            for sk in 0..100 {
                backend
                    .put_item(put(item("hundred", sk)))
                    .await
                    .expect("seed");
            }
        });
    }
    Backends {
        _dir: dir,
        _server: server,
        all,
    }
}

fn data(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let backends = backends(&rt);
    let counter = AtomicU64::new(0);
    let next = || counter.fetch_add(1, Ordering::Relaxed);

    let mut group = c.benchmark_group(OPERATIONS[0]);
    for (name, backend) in &backends.all {
        group.bench_function(*name, |b| {
            b.iter(|| {
                rt.block_on(backend.put_item(put(item("fresh", next()))))
                    .expect("put")
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group(OPERATIONS[1]);
    for (name, backend) in &backends.all {
        let key: Item = [
            ("pk".into(), Value::s("one")),
            ("sk".into(), Value::s("00000000")),
        ]
        .into();
        group.bench_function(*name, |b| {
            b.iter(|| {
                let request = GetItem {
                    table: "bench".into(),
                    key: key.clone(),
                    consistent: false,
                    projection: None,
                    names: BTreeMap::new(),
                };
                black_box(rt.block_on(backend.get_item(request)).expect("get"))
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group(OPERATIONS[2]);
    for (name, backend) in &backends.all {
        let cache = Cache::new(Arc::clone(backend), CacheConfig::default(), &[schema()]);
        let key: Item = [
            ("pk".into(), Value::s("one")),
            ("sk".into(), Value::s("00000000")),
        ]
        .into();
        let request = GetItem {
            table: "bench".into(),
            key,
            consistent: false,
            projection: None,
            names: BTreeMap::new(),
        };
        rt.block_on(cache.get_item(request.clone()))
            .expect("warm the cache");
        group.bench_function(*name, |b| {
            b.iter(|| black_box(rt.block_on(cache.get_item(request.clone())).expect("get")));
        });
    }
    group.finish();

    let mut group = c.benchmark_group(OPERATIONS[3]);
    for (name, backend) in &backends.all {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let page = rt.block_on(backend.query(query())).expect("query");
                assert_eq!(page.items.len(), 100);
                black_box(page)
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group(OPERATIONS[4]);
    for (name, backend) in &backends.all {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let request = TransactWrite {
                    items: (0..10)
                        .map(|_| TransactWriteItem::Put(put(item("tx", next()))))
                        .collect(),
                    client_token: None,
                };
                rt.block_on(backend.transact_write(request))
                    .expect("transact");
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group(OPERATIONS[5]);
    for (name, backend) in &backends.all {
        group.bench_function(*name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let writes: Vec<_> = (0..64)
                        .map(|_| {
                            let backend = Arc::clone(backend);
                            let request = put(item("many", next()));
                            tokio::spawn(async move { backend.put_item(request).await })
                        })
                        .collect();
                    for write in writes {
                        write.await.expect("join").expect("put");
                    }
                });
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = data
}

/// Where criterion keeps its results.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("criterion")
}

/// The mean time, in nanoseconds, criterion measured for `group/bench` in this run.
fn mean_ns(group: &str, bench: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group.replace('/', "_"))
        .join(bench)
        .join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!(
        "\n{:<22} {:>14} {:>14} {:>18}",
        "operation", "embedded", "dynamodb", "dynamodb/embedded"
    );
    for operation in OPERATIONS {
        match (
            mean_ns(operation, "embedded"),
            mean_ns(operation, "dynamodb"),
        ) {
            (Some(embedded), Some(dynamodb)) => println!(
                "{operation:<22} {:>11.1} µs {:>11.1} µs {:>17.1}×",
                embedded / 1e3,
                dynamodb / 1e3,
                dynamodb / embedded
            ),
            _ => println!("{operation:<22} (no result: run without a filter)"),
        }
    }
}
