//! In-process hot path: route match + fresh instance + call + response mapping for the
//! `hello` example, with the pooling allocator on and off; route matching alone with 1
//! and 1,000 routes; and `GET /todos/{id}` of the todo example, a guest-issued get,
//! answered by the read cache, by the embedded store, and by the dynamodb backend
//! against a local dynoxide; and `hello` behind a JWT authorizer: a token seen before
//! (the verified-token cache), and a fresh token each call (EdDSA from the development
//! issuer, RS256 as Cognito signs), each with its key already held; and `hello` behind a
//! custom (wasm) authorizer: a cached decision, and the authorizer run on every call.
//!
//! And the same get, put and query-100 through a model, the SDK's builders and the raw
//! WIT bindings (group `models`).
//!
//! `cargo bench -p portico --bench hot_path` (builds the example components if needed;
//! the dynamodb row needs dynoxide: `PORTICO_DYNOXIDE`, installed by `scripts/test.sh`).

use bytes::Bytes;
use criterion::{Criterion, criterion_group};
use http::{HeaderMap, Method};
use portico::cli::capabilities;
use portico::data::{DataStore, open_backend};
use portico::deploy::load_gateway;
use portico::gateway::{Gateway, GatewayRequest, Router};
use portico::manifest::Manifest;
use portico::metrics::Metrics;
use portico::runtime::Runtime;
use portico_dynamodb::test_server::TestServer;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

#[path = "../tests/common/example_components.rs"]
mod example_components;

/// A gateway serving `manifest` (no data store).
fn serve(rt: &tokio::runtime::Runtime, manifest: &Manifest) -> Gateway {
    let metrics = Arc::new(Metrics::new());
    let runtime = Arc::new(
        Runtime::new(
            &manifest.runtime_config(),
            capabilities(None, &metrics, &portico::sockets::Sockets::new(), None),
        )
        .expect("runtime"),
    );
    rt.block_on(load_gateway(
        manifest,
        runtime,
        metrics,
        None,
        portico::sockets::Sockets::new(),
    ))
    .expect("gateway")
}

/// Parses a bench manifest, with the API-wide throttle (API Gateway's 10,000 rps by
/// default) raised out of reach: each bucket is still checked on every request, but a
/// bench's thousands of calls per second must measure the request path, not 429s.
fn parse(text: &str) -> Manifest {
    let text = format!("{text}\n[throttle]\nrate = 1e9\nburst = 4000000000\n");
    Manifest::parse(Path::new("bench/portico.toml"), &text).expect("manifest")
}

fn gateway(rt: &tokio::runtime::Runtime, pooling: bool) -> Gateway {
    let text = format!(
        "[functions.hello]\nmodule = {:?}\n[routes]\n\"GET /hello/{{name}}\" = \"hello\"\n",
        example_components::example_component("hello")
            .display()
            .to_string()
    );
    let manifest = parse(&text);
    let mut config = manifest.runtime_config();
    config.pooling = pooling;
    let metrics = Arc::new(Metrics::new());
    let runtime = Arc::new(
        Runtime::new(
            &config,
            capabilities(None, &metrics, &portico::sockets::Sockets::new(), None),
        )
        .expect("runtime"),
    );
    rt.block_on(load_gateway(
        &manifest,
        runtime,
        metrics,
        None,
        portico::sockets::Sockets::new(),
    ))
    .expect("gateway")
}

fn request() -> GatewayRequest {
    GatewayRequest {
        request_id: "bench-request-id".into(),
        method: Method::GET,
        path: "/hello/bench".into(),
        query: String::new(),
        headers: HeaderMap::new(),
        body: Bytes::new().into(),
        source_ip: "127.0.0.1".into(),
        protocol: "HTTP/1.1".into(),
        authorizer: None,
        replay: None,
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
            b.iter(|| rt.block_on(gateway.dispatch(black_box(request()))));
        });
    }
    group.finish();
}

/// What the console's ring of recent requests adds to each request: one line kept,
/// against a whole dispatch above (the ratio is the cost on the request path).
fn recent(c: &mut Criterion) {
    use portico::recent::{AccessLine, Recent};
    let recent = Recent::default();
    let request_id: std::sync::Arc<str> = "JkV0cpaKvW3ymEKt".into();
    c.bench_function("recent requests: keep one access line", |b| {
        b.iter(|| {
            recent.push(black_box(AccessLine {
                time: std::time::SystemTime::now(),
                request_id: std::sync::Arc::clone(&request_id),
                stage: "$default".to_string(),
                method: "GET".to_string(),
                path: "/hello/bench".to_string(),
                route: "GET /hello/{name}".to_string(),
                status: 200,
                latency_us: 40,
                function: Some("hello".to_string()),
                version: Some("0123456789ab".to_string()),
            }));
        });
    });
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
            });
        });
    }
    group.finish();
}

/// The todo example on a store: `backend` is `embedded` or `dynamodb` (at `endpoint`).
fn todo_gateway(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    backend: &str,
    cache: bool,
    endpoint: &str,
) -> Gateway {
    let text = format!(
        r#"
[data]
backend = "{backend}"
dir = {dir:?}
[data.dynamodb]
endpoint = "{endpoint}"
region = "us-east-1"
create_tables = true
[cache]
enabled = {cache}
[tables.todos]
partition_key = {{ name = "id", type = "S" }}
[tables.todos.global_indexes.by_status]
partition_key = {{ name = "status", type = "S" }}
sort_key = {{ name = "created", type = "N" }}
[functions.todo]
module = {module:?}
tables = ["todos"]
[routes]
"POST /todos" = "todo"
"GET /todos/{{id}}" = "todo"
"#,
        dir = dir.display().to_string(),
        module = example_components::example_component("todo")
            .display()
            .to_string(),
    );
    gateway_with_store(rt, &text)
}

/// A gateway serving manifest `text`, with its data store opened.
fn gateway_with_store(rt: &tokio::runtime::Runtime, text: &str) -> Gateway {
    let manifest = parse(text);
    let data = rt
        .block_on(open_backend(&manifest.data))
        .expect("data store");
    let metrics = Arc::new(Metrics::new());
    let store = DataStore::new(
        data,
        &manifest.data.cache,
        &manifest.data.tables,
        Arc::clone(&metrics),
    );
    let runtime = Arc::new(
        Runtime::new(
            &manifest.runtime_config(),
            capabilities(
                Some(store),
                &metrics,
                &portico::sockets::Sockets::new(),
                None,
            ),
        )
        .expect("runtime"),
    );
    rt.block_on(load_gateway(
        &manifest,
        runtime,
        metrics,
        None,
        portico::sockets::Sockets::new(),
    ))
    .expect("gateway")
}

/// The same get, put and query-100 through a model, the SDK's builders and the raw WIT
/// bindings (`examples/data-bench`), on the embedded store with the cache off. After the
/// criterion rows (whole requests), prints the guest's own time per call and per item,
/// from 200 calls in one request.
fn models(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        r#"
[data]
dir = {dir:?}
[cache]
enabled = false
[tables.bench]
partition_key = {{ name = "group", type = "S" }}
sort_key = {{ name = "n", type = "N" }}
[functions.bench]
module = {module:?}
tables = ["bench"]
[routes]
"POST /bench/seed" = "bench"
"GET /bench/cpu" = "bench"
"GET /bench/{{api}}/{{op}}" = "bench"
"#,
        dir = dir.path().display().to_string(),
        module = example_components::example_component("data_bench")
            .display()
            .to_string(),
    );
    let gateway = gateway_with_store(&rt, &text);
    let seeded =
        rt.block_on(gateway.dispatch(todo_request(Method::POST, "/bench/seed".into(), "")));
    assert_eq!(seeded.status, 204, "seeding the bench table must succeed");
    let call = |api: &str, op: &str, repeat: u32| GatewayRequest {
        query: format!("repeat={repeat}"),
        ..todo_request(Method::GET, format!("/bench/{api}/{op}"), "")
    };
    for op in ["get", "put", "query"] {
        let mut group = c.benchmark_group(format!("models: dispatch {op}"));
        for api in ["raw", "builder", "model"] {
            let response = rt.block_on(gateway.dispatch(call(api, op, 1)));
            assert_eq!(
                response.status,
                200,
                "{api} {op} must succeed: {:?}",
                response.body.as_full()
            );
            group.bench_function(api, |b| {
                b.iter(|| rt.block_on(gateway.dispatch(black_box(call(api, op, 1)))));
            });
        }
        group.finish();
    }
    let cpu = GatewayRequest {
        query: "repeat=200".into(),
        ..todo_request(Method::GET, "/bench/cpu".into(), "")
    };
    let response = rt.block_on(gateway.dispatch(cpu));
    let body = response.body.as_full().expect("a whole body");
    println!(
        "\nguest CPU per item (ns; 200 × 100 rows, timed in the guest): {}",
        String::from_utf8_lossy(body)
    );
    println!("\nguest time per call (200 calls in one request, timed in the guest):");
    for op in ["get", "put", "query"] {
        for api in ["raw", "builder", "model"] {
            let response = rt.block_on(gateway.dispatch(call(api, op, 200)));
            let body: serde_json::Value =
                serde_json::from_slice(response.body.as_full().expect("a whole body"))
                    .expect("json");
            let ns = body["ns"].as_f64().unwrap_or(0.0);
            let items = body["items"].as_f64().unwrap_or(1.0).max(1.0);
            println!(
                "  {op:>5} {api:>7}: {:>9.2} µs per call, {:>7.0} ns per item",
                ns / 200.0 / 1000.0,
                ns / items
            );
        }
    }
}

fn todo_request(method: Method, path: String, body: &'static str) -> GatewayRequest {
    GatewayRequest {
        method,
        path,
        body: Bytes::from_static(body.as_bytes()).into(),
        ..request()
    }
}

fn data_get(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = match TestServer::start() {
        Ok(server) => Some(server),
        Err(error) => {
            eprintln!("no dynoxide ({error}): skipping the dynamodb row");
            None
        }
    };
    let endpoint = server
        .as_ref()
        .map(TestServer::endpoint)
        .unwrap_or_default();
    let mut stores = vec![
        (
            "read cache hit",
            "embedded",
            true,
            dir.path().join("cached"),
        ),
        (
            "embedded store, no cache",
            "embedded",
            false,
            dir.path().join("uncached"),
        ),
    ];
    if server.is_some() {
        stores.push((
            "dynamodb backend, no cache",
            "dynamodb",
            false,
            dir.path().join("unused"),
        ));
    }
    let mut group = c.benchmark_group("dispatch GET /todos/{id}");
    for (label, backend, cache, data_dir) in stores {
        let gateway = todo_gateway(&rt, &data_dir, backend, cache, &endpoint);
        let created = rt.block_on(gateway.dispatch(todo_request(
            Method::POST,
            "/todos".into(),
            r#"{"title": "bench"}"#,
        )));
        assert_eq!(created.status, 201, "seeding a todo must succeed");
        let todo: serde_json::Value =
            serde_json::from_slice(created.body.as_full().expect("a whole body")).expect("json");
        let path = format!("/todos/{}", todo["id"].as_str().expect("id"));
        let read = || todo_request(Method::GET, path.clone(), "");
        assert_eq!(rt.block_on(gateway.dispatch(read())).status, 200);
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(gateway.dispatch(black_box(read()))));
        });
    }
    group.finish();
}

/// `hello` at `GET /plain/{name}` and, behind JWT authorizers, at `GET /dev/{name}`
/// (the development issuer) and `GET /rsa/{name}` (a JWKS file with one RSA key), with
/// the data directory in `dir`.
fn jwt_gateway(rt: &tokio::runtime::Runtime, dir: &Path, jwks: &Path) -> Gateway {
    let text = format!(
        r#"
[data]
dir = {data:?}
[authorizers.dev]
type = "jwt"
issuer = "portico-dev"
audiences = ["bench"]
[authorizers.rsa]
type = "jwt"
issuer = "https://issuer.example"
audiences = ["bench"]
jwks_file = {jwks:?}
[functions.hello]
module = {module:?}
[routes]
"GET /plain/{{name}}" = "hello"
"GET /dev/{{name}}" = {{ function = "hello", auth = "dev" }}
"GET /rsa/{{name}}" = {{ function = "hello", auth = "rsa" }}
"#,
        data = dir.join("data").display().to_string(),
        jwks = jwks.display().to_string(),
        module = example_components::example_component("hello")
            .display()
            .to_string(),
    );
    serve(rt, &parse(&text))
}

fn jwt(c: &mut Criterion) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
    use portico::policy::jwt::dev::DevIssuer;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let dir = tempfile::tempdir().expect("tempdir");
    let rsa = EncodingKey::from_rsa_der(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/jwt/rsa-1.der"),
        )
        .expect("RSA key fixture"),
    );
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&rsa, Algorithm::RS256).expect("jwk"))
            .expect("json");
    jwk["kid"] = "rsa-1".into();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::json!({ "keys": [jwk] }).to_string()).expect("jwks");
    let gateway = jwt_gateway(&rt, dir.path(), &jwks);
    let dev = DevIssuer::load_or_create(&dir.path().join("data")).expect("dev key");
    let mut n = 0u64;
    let mut claims = move || {
        n += 1;
        serde_json::json!({
            "iss": "portico-dev", "aud": "bench", "sub": format!("user-{n}"),
            "exp": 4_000_000_000u64, "iat": 1_700_000_000u64,
        })
    };
    let dev_token = move |claims: serde_json::Value| {
        dev.mint(claims.as_object().expect("object"))
            .expect("token")
    };
    let rsa_token = move |mut claims: serde_json::Value| {
        claims["iss"] = "https://issuer.example".into();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa-1".into());
        jsonwebtoken::encode(&header, &claims, &rsa).expect("token")
    };
    let call = |path: &str, token: Option<&str>| {
        let mut req = request();
        req.path = path.to_string();
        if let Some(token) = token {
            req.headers.insert(
                http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().expect("header"),
            );
        }
        req
    };
    let seen = dev_token(claims());
    for (path, token) in [("/plain/b", None), ("/dev/b", Some(seen.as_str()))] {
        assert_eq!(rt.block_on(gateway.dispatch(call(path, token))).status, 200);
    }
    assert_eq!(
        rt.block_on(gateway.dispatch(call("/rsa/b", Some(&rsa_token(claims())))))
            .status,
        200
    );

    let mut group = c.benchmark_group("dispatch GET hello behind a JWT authorizer");
    group.bench_function("no authorizer", |b| {
        b.iter(|| rt.block_on(gateway.dispatch(black_box(call("/plain/b", None)))));
    });
    group.bench_function("token seen before", |b| {
        b.iter(|| rt.block_on(gateway.dispatch(black_box(call("/dev/b", Some(&seen))))));
    });
    // Fresh tokens are minted outside the timed part.
    group.bench_function("fresh EdDSA token", |b| {
        b.iter_batched(
            || call("/dev/b", Some(&dev_token(claims()))),
            |req| rt.block_on(gateway.dispatch(req)),
            criterion::BatchSize::SmallInput,
        );
    });
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(2));
    group.bench_function("fresh RS256 token", |b| {
        b.iter_batched(
            || call("/rsa/b", Some(&rsa_token(claims()))),
            |req| rt.block_on(gateway.dispatch(req)),
            criterion::BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// `hello`'s greeting route `GET /hello/{name}` with `auth` set to `auth` (none: no
/// authorizer): `cached` is `misbehave-authorizer` as a custom authorizer with its
/// decisions cached, `uncached` the same with `result_ttl = "0s"` (it runs on every
/// request). One gateway each, so that all three serve the same route, whose guest code
/// reads no authorizer output: what differs is the policy alone.
fn custom_gateway(rt: &tokio::runtime::Runtime, auth: Option<&str>) -> Gateway {
    let path = |name: &str| {
        example_components::example_component(name)
            .display()
            .to_string()
    };
    let route = match auth {
        Some(name) => format!("{{ function = \"hello\", auth = \"{name}\" }}"),
        None => "\"hello\"".to_string(),
    };
    let text = format!(
        r#"
[functions.hello]
module = {hello:?}
[functions.gate]
module = {gate:?}
[authorizers.cached]
type = "request"
function = "gate"
identity_source = "$request.header.x-id"
[authorizers.uncached]
type = "request"
function = "gate"
identity_source = "$request.header.x-id"
result_ttl = "0s"
[routes]
"GET /hello/{{name}}" = {route}
"#,
        hello = path("hello"),
        gate = path("misbehave_authorizer"),
    );
    serve(rt, &parse(&text))
}

fn custom(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let call = || {
        let mut req = request();
        req.headers
            .insert("x-id", http::HeaderValue::from_static("allow:bench"));
        req
    };
    let mut group = c.benchmark_group("dispatch GET hello behind a custom authorizer");
    for (label, auth) in [
        ("no authorizer", None),
        ("decision cached", Some("cached")),
        ("authorizer runs", Some("uncached")),
    ] {
        let gateway = custom_gateway(&rt, auth);
        assert_eq!(rt.block_on(gateway.dispatch(call())).status, 200, "{label}");
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(gateway.dispatch(black_box(call()))));
        });
    }
    group.finish();
}

/// The signature check alone, for one RS256, one ES256 and one EdDSA token: jsonwebtoken's
/// RustCrypto provider against the one Portico installs (ring for RSA and ECDSA), each
/// through its verifier factory, so key and signature handling are alike.
fn signatures(c: &mut Criterion) {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, crypto::CryptoProvider};
    use ring::signature::KeyPair as _;
    let rsa = EncodingKey::from_rsa_der(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/jwt/rsa-1.der"),
        )
        .expect("RSA key fixture"),
    );
    let rsa_public = DecodingKey::from_jwk(
        &jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa, Algorithm::RS256).expect("jwk"),
    )
    .expect("key");
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("key");
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair");
    let ed = EncodingKey::from_ed_der(pkcs8.as_ref());
    let ed_public = DecodingKey::from_ed_der(pair.public_key().as_ref());
    let ec = EncodingKey::from_ec_der(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/jwt/ec-p256.der"),
        )
        .expect("EC key fixture"),
    );
    let ec_public = DecodingKey::from_jwk(
        &jsonwebtoken::jwk::Jwk::from_encoding_key(&ec, Algorithm::ES256).expect("jwk"),
    )
    .expect("key");
    let claims = serde_json::json!({"sub": "bench", "exp": 4_000_000_000u64});
    let split = |token: String| {
        let (message, signature) = token.rsplit_once('.').expect("a JWS");
        (message.to_string(), signature.to_string())
    };
    let cases = [
        (
            "RS256",
            Algorithm::RS256,
            split(
                jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &rsa).expect("sign"),
            ),
            rsa_public,
        ),
        (
            "ES256",
            Algorithm::ES256,
            split(
                jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &ec).expect("sign"),
            ),
            ec_public,
        ),
        (
            "EdDSA",
            Algorithm::EdDSA,
            split(
                jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &ed).expect("sign"),
            ),
            ed_public,
        ),
    ];
    let providers: [(&str, &CryptoProvider); 2] = [
        (
            "RustCrypto",
            &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
        ),
        (
            "Portico's",
            CryptoProvider::try_get_default().expect("installed by main"),
        ),
    ];
    let mut group = c.benchmark_group("JWT signature check");
    for (label, alg, (message, signature), key) in &cases {
        for (name, provider) in providers {
            let verify = || {
                let verifier = (provider.verifier_factory)(alg, key).expect("verifier");
                let signature = base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    signature,
                )
                .expect("base64");
                signature::Verifier::verify(&*verifier, message.as_bytes(), &signature).is_ok()
            };
            assert!(verify(), "{label} {name}");
            group.bench_function(format!("{label}, {name}"), |b| {
                b.iter(|| black_box(verify()));
            });
        }
    }
    group.finish();
}

/// One token-bucket check, as every request pays it for the API's bucket (and a route's,
/// if it has one): a bucket that always admits.
fn throttle(c: &mut Criterion) {
    use portico::policy::throttle::{Throttle, ThrottleSettings};
    let bucket = Throttle::new(
        "the bench",
        ThrottleSettings {
            rate: 1e9,
            burst: 4_000_000_000,
        },
    )
    .expect("valid");
    c.bench_function("throttle check (admitted)", |b| {
        b.iter(|| black_box(bucket.take()));
    });
}

/// An API key check on the request path: the SHA-256 of the value, the copy's lookup,
/// the plan's per-key bucket and the quota counter (loaded), as `x-api-key` costs.
fn api_keys(c: &mut Criterion) {
    use portico::policy::api_key::{
        ApiKeys, Check, QuotaPeriod, QuotaSettings, UsagePlan, UsagePlanSettings, UsagePlans,
        Verdict, store,
    };
    use portico_data::embedded::{Embedded, EmbeddedConfig};
    use std::time::SystemTime;
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let dir = tempfile::tempdir().expect("tempdir");
    let backend: Arc<dyn portico_data::Backend> = Arc::new(
        Embedded::open(&EmbeddedConfig::new(dir.path()), &store::tables()).expect("store"),
    );
    let plan = UsagePlan::new(
        "bench",
        UsagePlanSettings {
            throttle: Some(portico::policy::throttle::ThrottleSettings {
                rate: 1e9,
                burst: 4_000_000_000,
            }),
            quota: Some(QuotaSettings {
                limit: u64::MAX,
                period: QuotaPeriod::Day,
            }),
        },
    )
    .expect("plan");
    let plans = UsagePlans::new([("bench".to_string(), Arc::new(plan))].into());
    let keys = rt.block_on(ApiKeys::open(backend)).expect("keys");
    let planned = rt
        .block_on(keys.create("bench", Some("bench"), &plans))
        .expect("key");
    let planless = rt.block_on(keys.create("free", None, &plans)).expect("key");
    // The first check in a period reads the stored count; the rest do not.
    rt.block_on(async {
        let now = SystemTime::now();
        if let Check::Load(pending) = keys.check(planned.value.as_bytes(), &plans, now) {
            keys.finish(pending, now).await.expect("loaded");
        }
    });
    let admitted = |value: &str| {
        matches!(
            keys.check(value.as_bytes(), &plans, SystemTime::now()),
            Check::Done(Verdict::Admit(..))
        )
    };
    assert!(admitted(&planned.value) && admitted(&planless.value));
    c.bench_function("api key check (plan with throttle and quota)", |b| {
        b.iter(|| black_box(admitted(black_box(&planned.value))));
    });
    c.bench_function("api key check (no plan)", |b| {
        b.iter(|| black_box(admitted(black_box(&planless.value))));
    });
    c.bench_function("api key check (unknown key)", |b| {
        b.iter(|| {
            black_box(admitted(black_box(
                "0123456789012345678901234567890123456789",
            )))
        });
    });
}

criterion_group!(
    benches, dispatch, recent, routing, data_get, models, jwt, custom, signatures, throttle,
    api_keys
);

#[allow(unsafe_code, reason = "std::env::set_var; see the SAFETY comments")]
fn main() {
    // As `portico` itself does (see host/src/main.rs): wasmtime builds an error on every
    // Store drop, and a captured backtrace would dominate the measurement.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    // Dummy credentials for the local DynamoDB-compatible server (the standard chain
    // reads them). SAFETY: still no other thread.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
        }
    }
    // As `portico` does when it starts: JWT signatures are checked with ring.
    portico::policy::jwt::install_crypto();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
