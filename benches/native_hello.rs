//! The baseline for `scripts/bench.sh`: a plain hyper server answering every request with
//! the same JSON the `hello` example returns, with no routing, no wasm, no event mapping.
//! Whatever Portico adds is measured against this.
//!
//! `cargo run --release -p portico --example native_hello -- 127.0.0.1:0`

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::io::Write as _;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "native_hello listening on http://{}",
        listener.local_addr()?
    )?;
    stdout.flush()?;
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        tokio::spawn(async move {
            let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                let id = portico::gateway::new_request_id();
                let body = format!(r#"{{"message":"Hello, world!","request_id":"{id}"}}"#);
                let mut resp = Response::new(Full::new(Bytes::from(body)));
                let headers = resp.headers_mut();
                headers.insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                if let Ok(id) = http::HeaderValue::from_str(&id) {
                    headers.insert("apigw-requestid", id);
                }
                Ok::<_, Infallible>(resp)
            });
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
