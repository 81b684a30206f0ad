//! In-process hot path: route match + fresh instance + call + response mapping for the
//! `hello` example, with the pooling allocator on and off; and route matching alone with
//! 1 and 1,000 routes.
//!
//! `cargo bench -p portico --bench hot_path` (builds the example components if needed).

use bytes::Bytes;
use criterion::{Criterion, criterion_group};
use http::{HeaderMap, Method};
use portico::gateway::{Gateway, GatewayRequest, Router};
use portico::manifest::Manifest;
use portico::metrics::Metrics;
use portico::runtime::{Runtime, RuntimeConfig};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

#[path = "../tests/common/example_components.rs"]
mod example_components;

fn gateway(rt: &tokio::runtime::Runtime, pooling: bool) -> Gateway {
    let text = format!(
        "[functions.hello]\nmodule = {:?}\n[routes]\n\"GET /hello/{{name}}\" = \"hello\"\n",
        example_components::example_component("hello")
            .display()
            .to_string()
    );
    let manifest = Manifest::parse(Path::new("bench/portico.toml"), &text).expect("manifest");
    let mut config = RuntimeConfig::from_manifest(&manifest);
    config.pooling = pooling;
    let runtime = Arc::new(Runtime::new(&config, None).expect("runtime"));
    rt.block_on(Gateway::load(&manifest, runtime, Arc::new(Metrics::new())))
        .expect("gateway")
}

fn request() -> GatewayRequest {
    GatewayRequest {
        request_id: "bench-request-id".into(),
        method: Method::GET,
        path: "/hello/bench".into(),
        query: String::new(),
        headers: HeaderMap::new(),
        body: Bytes::new(),
        source_ip: "127.0.0.1".into(),
        protocol: "HTTP/1.1".into(),
    }
}

fn dispatch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let mut group = c.benchmark_group("dispatch GET /hello/{name}");
    for (label, pooling) in [("pooling", true), ("no pooling", false)] {
        let gateway = gateway(&rt, pooling);
        let resp = rt.block_on(gateway.dispatch(request()));
        assert_eq!(resp.status, 200, "the bench request must succeed");
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(gateway.dispatch(black_box(request()))))
        });
    }
    group.finish();
}

fn routing(c: &mut Criterion) {
    let mut group = c.benchmark_group("route match");
    for n in [1usize, 1000] {
        let mut router = Router::new();
        for i in 0..n {
            router
                .insert(format!("GET /svc{i}/items/{{id}}").parse().expect("key"), i)
                .expect("insert");
        }
        let path = format!("/svc{}/items/42", n - 1);
        group.bench_function(format!("{n} routes"), |b| {
            b.iter(|| {
                router
                    .at(&Method::GET, black_box(&path))
                    .map(|m| m.route.value)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, dispatch, routing);

fn main() {
    // As `portico` itself does (see host/src/main.rs): wasmtime builds an error on every
    // Store drop, and a captured backtrace would dominate the measurement.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
