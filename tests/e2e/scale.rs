//! Many functions and routes: one compile per distinct module, routing still exact.

use crate::support::{Server, client, component, manifest};
use portico::cli::capabilities;
use portico::deploy::load_gateway;
use portico::manifest::Manifest;
use portico::metrics::Metrics;
use portico::runtime::Runtime;
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::Arc;

/// `functions` functions on the hello module, `routes_each` routes each.
fn many(functions: usize, routes_each: usize) -> String {
    let mut text = String::new();
    for f in 0..functions {
        let _ = writeln!(text, "[functions.f{f}]\nmodule = \"{{hello}}\"");
    }
    text.push_str("[routes]\n");
    for f in 0..functions {
        for r in 0..routes_each {
            let _ = writeln!(text, "\"GET /f{f}/r{r}/{{name}}\" = \"f{f}\"");
        }
    }
    text
}

#[tokio::test]
async fn functions_sharing_a_module_compile_it_once() {
    let text = many(100, 1).replace("{hello}", &component("hello").display().to_string());
    let manifest =
        Manifest::parse(std::path::Path::new("scale/portico.toml"), &text).expect("manifest");
    let metrics = Arc::new(Metrics::new());
    let runtime = Arc::new(
        Runtime::new(
            &manifest.runtime_config(),
            capabilities(None, &metrics, &portico::sockets::Sockets::new(), None),
        )
        .expect("runtime"),
    );
    let gateway = load_gateway(
        &manifest,
        runtime.clone(),
        metrics,
        None,
        portico::sockets::Sockets::new(),
    )
    .await
    .expect("load");
    assert_eq!(gateway.served().stage().routes.routes().len(), 100);
    assert_eq!(runtime.compiled_modules(), 1);
    drop(gateway);
    assert_eq!(runtime.compiled_modules(), 0, "unused modules are freed");
}

#[tokio::test]
async fn a_thousand_routes_route_exactly() {
    let server = Server::start(manifest(&many(100, 10)));
    let http = client();
    for (f, r) in [(0, 0), (57, 3), (99, 9)] {
        let resp = http
            .get(server.url(&format!("/f{f}/r{r}/x")))
            .header("x-echo-status", "200")
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["routeKey"], format!("GET /f{f}/r{r}/{{name}}"));
        assert_eq!(body["pathParameters"]["name"], "x");
    }
}
