//! `GET /hello` and `GET /hello/{name}`: a JSON greeting; `GET /me`: the caller's JWT
//! claims (the route has a JWT authorizer); `GET /whoami`: the context a custom
//! authorizer returned; a path ending in `/lambda`: a handler written for Lambda (JSON
//! event in, proxy response out) served through the SDK's Lambda shapes; and an echo
//! route the tests use to see exactly what the host put in the event.

use portico_guest::{Error, Request, Response, http::StatusCode};
use serde::Serialize;

#[derive(Serialize)]
struct Greeting<'a> {
    message: String,
    request_id: &'a str,
}

fn handle(req: Request) -> Result<Response, Error> {
    match req.route_key() {
        "GET /hello" | "GET /hello/{name}" => greet(&req),
        "GET /me" => me(&req),
        "GET /whoami" => whoami(&req),
        _ if req.path().ends_with("/lambda") => lambda(&req),
        _ if req.path().ends_with("/count") => count(&req),
        _ if req.path().ends_with("/count-then-fail") => {
            count(&req)?;
            Err(Error::Lambda("failing after counting, as asked".into()))
        }
        _ => echo(&req),
    }
}

/// How many requests this instance has served: 1 in a fresh instance every time, and
/// counting up in an instance the host reuses (`reuse` in the manifest).
fn count(req: &Request) -> Result<Response, Error> {
    static SERVED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SERVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    Response::ok().json(&serde_json::json!({ "count": n, "request_id": req.request_id() }))
}

fn greet(req: &Request) -> Result<Response, Error> {
    let name = req.path_param("name").unwrap_or("world");
    let greeting = req.stage_variable("greeting").unwrap_or("Hello");
    portico_guest::log::info(format!("greeting {name}"));
    Response::ok().json(&Greeting {
        message: format!("{greeting}, {name}!"),
        request_id: req.request_id(),
    })
}

/// Who the caller is, from the claims of the token the gateway validated.
fn me(req: &Request) -> Result<Response, Error> {
    Response::ok().json(&serde_json::json!({
        "sub": req.claim("sub"),
        "scopes": req.scopes(),
        "claims": req.claims().collect::<std::collections::BTreeMap<_, _>>(),
    }))
}

/// Who the caller is, from the context the route's custom authorizer returned.
fn whoami(req: &Request) -> Result<Response, Error> {
    Response::ok().json(&serde_json::json!({ "authorizer": req.authorizer_context() }))
}

/// A Lambda handler, unchanged: it gets API Gateway's JSON event (1.0 or 2.0, as the
/// route says) and answers with a proxy response, which API Gateway's rules of the same
/// version turn into the HTTP response (in 1.0, `multiValueHeaders` win over `headers`).
fn lambda(req: &Request) -> Result<Response, Error> {
    let answer = ported_handler(&req.to_lambda_event());
    Response::from_lambda(&answer, req.payload_version())
}

fn ported_handler(event: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json", "x-handler": "single" },
        "multiValueHeaders": { "x-handler": ["lambda", "ported"] },
        "body": event.to_string(),
    })
}

/// Reflects the event back as JSON, and lets the caller choose the response's shape
/// through headers: `x-echo-status`, `x-echo-header` (`name: value`), `x-echo-cookie`.
fn echo(req: &Request) -> Result<Response, Error> {
    let ctx = req.context();
    let event = serde_json::json!({
        "version": req.payload_version(),
        "routeKey": req.route_key(),
        "rawPath": req.path(),
        "rawQueryString": req.raw_query(),
        "method": req.method().as_str(),
        "pathParameters": req.path_params().collect::<std::collections::BTreeMap<_, _>>(),
        "queryStringParameters": req.query_params().collect::<std::collections::BTreeMap<_, _>>(),
        "headers": req.headers().collect::<std::collections::BTreeMap<_, _>>(),
        "cookies": req.cookies(),
        "stageVariables": req.stage_variables().collect::<std::collections::BTreeMap<_, _>>(),
        "body": String::from_utf8_lossy(req.body()),
        "bodyLen": req.body().len(),
        "env": std::env::vars().collect::<std::collections::BTreeMap<_, _>>(),
        "requestContext": {
            "requestId": ctx.request_id,
            "routeKey": ctx.route_key,
            "stage": ctx.stage,
            "domainName": ctx.domain_name,
            "domainPrefix": ctx.domain_prefix,
            "time": ctx.time,
            "timeEpoch": ctx.time_epoch,
            "http": {
                "method": ctx.http.method,
                "path": ctx.http.path,
                "protocol": ctx.http.protocol,
                "sourceIp": ctx.http.source_ip,
                "userAgent": ctx.http.user_agent,
            },
            "authorizer": authorizer(req),
            "identity": { "apiKeyId": req.api_key_id() },
        },
    });
    let status = req
        .header("x-echo-status")
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut resp = Response::new(status);
    if let Some((name, value)) = req.header("x-echo-header").and_then(|h| h.split_once(':')) {
        resp = resp.header(name.trim(), value.trim());
    }
    for cookie in req
        .header("x-echo-cookie")
        .into_iter()
        .flat_map(|c| c.split('|'))
    {
        resp = resp.cookie(cookie);
    }
    if req.header("x-echo-binary").is_some() {
        return Ok(resp
            .header("content-type", "application/octet-stream")
            .bytes(req.body().to_vec()));
    }
    resp.json(&event)
}

portico_guest::export!(handle);

/// `requestContext.authorizer` as API Gateway shows it: `jwt` from a JWT authorizer,
/// `lambda` from a custom one; absent without either.
fn authorizer(req: &Request) -> Option<serde_json::Value> {
    let mut authorizer = serde_json::Map::new();
    if req.context().authorizer.is_some() {
        authorizer.insert(
            "jwt".into(),
            serde_json::json!({
                "claims": req.claims().collect::<std::collections::BTreeMap<_, _>>(),
                "scopes": req.scopes(),
            }),
        );
    }
    let lambda = req.authorizer_context();
    if !lambda.is_empty() {
        authorizer.insert("lambda".into(), serde_json::Value::Object(lambda));
    }
    (!authorizer.is_empty()).then_some(serde_json::Value::Object(authorizer))
}
