//! Capabilities beyond computing, from a Portico function: outbound HTTP through
//! [`portico_guest::outbound`] and variables through [`portico_guest::variables`].
//!
//! - `GET /fetch?url=URL`: fetches URL (only hosts in the function's
//!   `allowed_outbound_hosts` are reachable);
//! - `GET /var/{name}`: the value of variable `name`.

use portico_guest::{Error, Request, Response, http::StatusCode};

fn handle(req: Request) -> Result<Response, Error> {
    match req.route_key() {
        "GET /var/{name}" => variable(&req),
        _ => fetch(&req),
    }
}

/// `GET /fetch?url=URL`: 200 `{"status": <upstream status>, "body": "<upstream body>"}`,
/// or 502 `{"error": "<why>"}` when the outbound request fails (the host denies every
/// destination it does not allow, with `HttpRequestDenied`).
fn fetch(req: &Request) -> Result<Response, Error> {
    let Some(url) = req.query("url") else {
        return Response::new(StatusCode::BAD_REQUEST)
            .json(&serde_json::json!({ "error": "missing query parameter url" }));
    };
    match portico_guest::outbound::get(url) {
        Ok(upstream) => Response::ok().json(&serde_json::json!({
            "status": upstream.status().as_u16(),
            "body": String::from_utf8_lossy(upstream.body()),
        })),
        Err(e) => Response::new(StatusCode::BAD_GATEWAY)
            .json(&serde_json::json!({ "error": e.to_string() })),
    }
}

/// `GET /var/{name}`: the value of variable `name`, or 404 with the reason.
fn variable(req: &Request) -> Result<Response, Error> {
    let name = req.path_param("name").unwrap_or_default();
    match portico_guest::variables::get(name) {
        Ok(value) => Ok(Response::ok().text(value)),
        Err(e) => Response::new(StatusCode::NOT_FOUND)
            .json(&serde_json::json!({ "error": e.to_string() })),
    }
}

portico_guest::export!(handle);
