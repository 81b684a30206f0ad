//! `[telemetry]`: span export over OTLP/HTTP to an in-process collector (with the `otlp`
//! feature), and a clear refusal without it.

const HELLO: &str =
    "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /hello/{name}\" = \"hello\"\n";

#[cfg(not(feature = "otlp"))]
#[test]
fn the_otlp_switch_without_the_feature_says_how_to_get_it() {
    let m = crate::support::manifest(&format!("[telemetry]\notlp = true\n{HELLO}"));
    let err = crate::support::up_fails(&m);
    assert!(err.contains("--features otlp"), "{err}");
}

#[cfg(feature = "otlp")]
mod export {
    use super::HELLO;
    use crate::support::{Server, client, manifest};
    use bytes::Bytes;
    use http_body_util::{BodyExt as _, Full};
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use serde_json::Value;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// Bodies an OTLP/HTTP collector received, by path.
    type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

    /// A minimal OTLP/HTTP collector on a free loopback port: it keeps every request body
    /// and answers with an empty export response.
    async fn collector() -> (SocketAddr, Received) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received: Received = Arc::default();
        let store = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let store = Arc::clone(&store);
                        async move {
                            let path = req.uri().path().to_string();
                            let body = req.into_body().collect().await?.to_bytes();
                            store.lock().expect("lock").push((path, body));
                            let mut resp = hyper::Response::new(Full::new(Bytes::from("{}")));
                            resp.headers_mut()
                                .insert("content-type", "application/json".parse().expect("value"));
                            Ok::<_, hyper::Error>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, received)
    }

    /// Every span in the OTLP/JSON bodies received at `/v1/traces`, with the resource's
    /// `service.name`.
    fn spans(received: &Received) -> Vec<(String, Value)> {
        let bodies = received.lock().expect("lock").clone();
        let mut out = Vec::new();
        for (path, body) in bodies {
            assert_eq!(path, "/v1/traces");
            let json: Value = serde_json::from_slice(&body).expect("OTLP/JSON body");
            for rs in json["resourceSpans"].as_array().into_iter().flatten() {
                let service = rs["resource"]["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["key"] == "service.name")
                    .and_then(|a| a["value"]["stringValue"].as_str())
                    .unwrap_or_default()
                    .to_string();
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for span in ss["spans"].as_array().into_iter().flatten() {
                        out.push((service.clone(), span.clone()));
                    }
                }
            }
        }
        out
    }

    fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a str> {
        span["attributes"]
            .as_array()?
            .iter()
            .find(|a| a["key"] == key)?["value"]["stringValue"]
            .as_str()
    }

    #[tokio::test]
    async fn request_spans_reach_an_otlp_collector_with_their_stages() {
        let (addr, received) = collector().await;
        let text = format!(
            "[telemetry]\notlp = true\nendpoint = \"http://{addr}\"\nprotocol = \"http/json\"\nservice_name = \"portico-test\"\n{HELLO}"
        );
        let server = Server::start_env(
            manifest(&text),
            &[],
            &[
                ("RUST_LOG", "info,portico=debug"),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ],
        );
        let resp = client()
            .get(server.url("/hello/otel"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        let id = crate::support::request_id(&resp);

        let deadline = Instant::now() + Duration::from_secs(20);
        let (request, all) = loop {
            let all = spans(&received);
            let request = all
                .iter()
                .find(|(_, s)| s["name"] == "request" && attribute(s, "request_id") == Some(&id))
                .map(|(service, s)| (service.clone(), s.clone()));
            if let Some(request) = request {
                break (request, all);
            }
            assert!(
                Instant::now() < deadline,
                "no `request` span for {id} reached the collector; got {} spans; log:\n{}",
                all.len(),
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (service, request) = request;
        assert_eq!(service, "portico-test");
        assert_eq!(
            attribute(&request, "route"),
            Some("GET /hello/{name}"),
            "{request}"
        );
        assert_eq!(attribute(&request, "function"), Some("hello"), "{request}");
        // Its stages are child spans of the same trace.
        let children: Vec<&str> = all
            .iter()
            .filter(|(_, s)| {
                s["parentSpanId"] == request["spanId"] && s["traceId"] == request["traceId"]
            })
            .filter_map(|(_, s)| s["name"].as_str())
            .collect();
        for stage in ["queue", "instantiate", "guest"] {
            assert!(children.contains(&stage), "{stage} not among {children:?}");
        }
    }
}
