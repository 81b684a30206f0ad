//! API Gateway's JSON payloads, for `portico invoke`: request events in payload format
//! 1.0 and 2.0 in — with the context they recorded (stage, stage variables, time,
//! request id, authorizer, API key) — and responses out in the event's own format.

use super::GatewayRequest;
use crate::exchange::{Authorization, PayloadVersion, Replay};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An event file that cannot be turned into a request.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON, or fields of the wrong type.
    #[error("not a valid API Gateway event: {0}")]
    Json(#[from] serde_json::Error),
    /// Neither `rawPath` (2.0) nor `httpMethod` (1.0) is present.
    #[error(
        "not an API Gateway event: expected payload format 2.0 (`rawPath`, `requestContext.http.method`) or 1.0 (`httpMethod`, `path`)"
    )]
    UnknownFormat,
    /// A field with a value HTTP cannot carry.
    #[error("invalid {field}: {value:?}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// `isBase64Encoded` is true but the body is not base64.
    #[error("body is marked base64 but does not decode: {0}")]
    Base64(#[from] base64::DecodeError),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawEvent {
    version: Option<String>,
    // 2.0
    raw_path: Option<String>,
    raw_query_string: Option<String>,
    cookies: Option<Vec<String>>,
    // 1.0
    http_method: Option<String>,
    path: Option<String>,
    multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    multi_value_query_string_parameters: Option<BTreeMap<String, Vec<String>>>,
    // both
    headers: Option<BTreeMap<String, String>>,
    query_string_parameters: Option<BTreeMap<String, String>>,
    stage_variables: Option<BTreeMap<String, String>>,
    body: Option<String>,
    is_base64_encoded: bool,
    request_context: Context,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Context {
    request_id: Option<String>,
    http: Option<HttpContext>,
    identity: Option<Identity>,
    protocol: Option<String>,
    authorizer: Option<AuthorizerContext>,
    stage: Option<String>,
    domain_name: Option<String>,
    /// 2.0, milliseconds.
    time_epoch: Option<u64>,
    /// 1.0, milliseconds.
    request_time_epoch: Option<u64>,
}

/// `requestContext.authorizer`: `jwt.claims` and `jwt.scopes` (2.0), or `claims` (1.0,
/// a Cognito user-pool authorizer); `lambda`, a custom authorizer's context (2.0).
#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthorizerContext {
    jwt: Option<JwtContext>,
    claims: Option<serde_json::Map<String, serde_json::Value>>,
    lambda: Option<serde_json::Map<String, serde_json::Value>>,
    /// 1.0: a custom authorizer's context is flat in `authorizer` (with `principalId`).
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JwtContext {
    claims: serde_json::Map<String, serde_json::Value>,
    scopes: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct HttpContext {
    method: Option<String>,
    protocol: Option<String>,
    source_ip: Option<String>,
    user_agent: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Identity {
    source_ip: Option<String>,
    /// The API key's id, when the route required one (REST APIs, payload 1.0).
    api_key_id: Option<String>,
    user_agent: Option<String>,
}

/// An event read from a file: the request, its payload format, and what it recorded of
/// its context.
#[derive(Debug)]
pub struct Event {
    /// The request, with [`GatewayRequest::replay`] set.
    pub request: GatewayRequest,
    /// The event's payload format version: the answer is printed in it.
    pub version: PayloadVersion,
}

/// Parses an API Gateway event (payload 1.0 or 2.0) into a request, keeping what it
/// recorded of its context (see [`Replay`]). A missing `requestContext.requestId` gets
/// a fresh id; a missing `host` or `user-agent` header is taken from
/// `requestContext.domainName` and the recorded user agent.
pub fn parse_event(json: &[u8]) -> Result<Event, PayloadError> {
    let event: RawEvent = serde_json::from_slice(json)?;
    let is_v2 = event.version.as_deref() == Some("2.0") || event.raw_path.is_some();
    let mut context = event.request_context;
    let api_key_id = context
        .identity
        .as_mut()
        .and_then(|identity| identity.api_key_id.take())
        .filter(|id| !id.is_empty());
    let mut authorizer = context.authorizer.map(|a| {
        let mut authorization = match (a.jwt, a.claims) {
            (Some(jwt), _) => Authorization::from_jwt(&jwt.claims, jwt.scopes.unwrap_or_default()),
            (None, claims) => Authorization::from_jwt(claims.iter().flatten(), Vec::new()),
        };
        // 2.0 has `lambda`; 1.0 keeps a custom authorizer's context flat (in 2.0 other
        // keys are other authorizers' output, such as `iam`).
        let lambda = a
            .lambda
            .or_else(|| (!is_v2 && !a.rest.is_empty()).then_some(a.rest));
        authorization.lambda =
            lambda.map(|context| serde_json::Value::Object(context).to_string().into());
        authorization
    });
    if let Some(id) = api_key_id {
        authorizer
            .get_or_insert_with(Authorization::default)
            .api_key_id = Some(id.into());
    }
    let authorizer = authorizer.map(Arc::new);
    let http_ctx = context.http.unwrap_or_default();
    let user_agent = http_ctx
        .user_agent
        .clone()
        .or_else(|| context.identity.as_ref().and_then(|i| i.user_agent.clone()));
    let time = context
        .time_epoch
        .or(context.request_time_epoch)
        .map(|ms| std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms));
    let (method, path, query, protocol, source_ip) = if is_v2 {
        let query = match event.raw_query_string.filter(|q| !q.is_empty()) {
            Some(q) => q,
            None => encode_query(event.query_string_parameters.iter().flatten()),
        };
        (
            http_ctx.method,
            event.raw_path,
            query,
            http_ctx.protocol,
            http_ctx.source_ip,
        )
    } else if event.http_method.is_some() {
        let query = match &event.multi_value_query_string_parameters {
            Some(multi) => encode_query(
                multi
                    .iter()
                    .flat_map(|(k, vs)| vs.iter().map(move |v| (k, v))),
            ),
            None => encode_query(event.query_string_parameters.iter().flatten()),
        };
        (
            event.http_method,
            event.path,
            query,
            context.protocol.clone(),
            context.identity.as_ref().and_then(|i| i.source_ip.clone()),
        )
    } else {
        return Err(PayloadError::UnknownFormat);
    };
    let method = method.ok_or(PayloadError::UnknownFormat)?;
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| PayloadError::Invalid {
        field: "method",
        value: method.clone(),
    })?;
    let path = path.ok_or(PayloadError::UnknownFormat)?;

    let mut headers = HeaderMap::new();
    let single = event.headers.iter().flatten();
    let multi = event
        .multi_value_headers
        .iter()
        .flatten()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (k, v)));
    // 1.0 events carry both maps with the same content; prefer the multi-value one.
    let pairs: Vec<(&String, &String)> = if event.multi_value_headers.is_some() {
        multi.collect()
    } else {
        single.collect()
    };
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| {
            PayloadError::Invalid {
                field: "header name",
                value: name.clone(),
            }
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| PayloadError::Invalid {
            field: "header value",
            value: value.clone(),
        })?;
        headers.append(name, value);
    }
    if let Some(cookies) = event.cookies.filter(|c| !c.is_empty()) {
        let joined = cookies.join("; ");
        let value = HeaderValue::from_str(&joined).map_err(|_| PayloadError::Invalid {
            field: "cookies",
            value: joined.clone(),
        })?;
        headers.insert(http::header::COOKIE, value);
    }
    let recorded = [
        (http::header::HOST, context.domain_name.as_deref()),
        (http::header::USER_AGENT, user_agent.as_deref()),
    ];
    for (name, value) in recorded {
        if let Some(value) = value
            && !headers.contains_key(&name)
            && let Ok(value) = HeaderValue::from_str(value)
        {
            headers.insert(name, value);
        }
    }
    // 2.0's rawPath carries a named stage's prefix (`/beta/...`); routing does not.
    let route_path = context
        .stage
        .as_deref()
        .filter(|stage| is_v2 && *stage != "$default")
        .and_then(|stage| {
            let rest = path.strip_prefix('/')?.strip_prefix(stage)?;
            match rest {
                "" => Some("/".to_string()),
                rest if rest.starts_with('/') => Some(rest.to_string()),
                _ => None,
            }
        });
    let replay = Replay {
        stage: context.stage,
        stage_variables: event
            .stage_variables
            .map(|variables| variables.into_iter().collect()),
        time,
        route_path,
    };

    let body = match event.body {
        None => Bytes::new(),
        Some(b) if event.is_base64_encoded => Bytes::from(STANDARD.decode(b.as_bytes())?),
        Some(b) => Bytes::from(b),
    };
    let request = GatewayRequest {
        request_id: context
            .request_id
            .unwrap_or_else(super::new_request_id)
            .into(),
        method,
        path,
        query,
        headers,
        body: body.into(),
        source_ip: source_ip.unwrap_or_else(|| "127.0.0.1".to_string()),
        protocol: protocol.unwrap_or_else(|| "HTTP/1.1".to_string()),
        authorizer,
        replay: Some(Box::new(replay)),
    };
    Ok(Event {
        request,
        version: if is_v2 {
            PayloadVersion::V2
        } else {
            PayloadVersion::V1
        },
    })
}

fn encode_query<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// A response in payload format 2.0's shape.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePayload {
    /// HTTP status.
    pub status_code: u16,
    /// Headers, repeated names joined with `,` (`set-cookie` goes to `cookies`).
    pub headers: BTreeMap<String, String>,
    /// One entry per `set-cookie`.
    pub cookies: Vec<String>,
    /// The body: text if it is UTF-8, otherwise base64.
    pub body: String,
    /// Whether `body` is base64.
    pub is_base64_encoded: bool,
}

impl ResponsePayload {
    /// The payload of a response with `status`, `headers` and the whole `body`.
    pub fn new(status: http::StatusCode, response_headers: &HeaderMap, body: &[u8]) -> Self {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        let mut cookies = Vec::new();
        for (name, value) in response_headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if name == http::header::SET_COOKIE {
                cookies.push(value);
                continue;
            }
            headers
                .entry(name.as_str().to_string())
                .and_modify(|v| {
                    v.push(',');
                    v.push_str(&value);
                })
                .or_insert(value);
        }
        let (body, is_base64_encoded) = body_text(body);
        ResponsePayload {
            status_code: status.as_u16(),
            headers,
            cookies,
            body,
            is_base64_encoded,
        }
    }
}

/// A body as payload text: itself if it is UTF-8, else base64 (and `true`).
fn body_text(body: &[u8]) -> (String, bool) {
    match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (STANDARD.encode(body), true),
    }
}

/// A response in payload format 1.0's shape: `headers` with each name's last value,
/// `multiValueHeaders` with all of them (`set-cookie` included).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePayloadV1 {
    /// HTTP status.
    pub status_code: u16,
    /// Each header's last value.
    pub headers: BTreeMap<String, String>,
    /// Every header value, in order.
    pub multi_value_headers: BTreeMap<String, Vec<String>>,
    /// The body: text if it is UTF-8, otherwise base64.
    pub body: String,
    /// Whether `body` is base64.
    pub is_base64_encoded: bool,
}

impl ResponsePayloadV1 {
    /// The payload of a response with `status`, `headers` and the whole `body`.
    pub fn new(status: http::StatusCode, response_headers: &HeaderMap, body: &[u8]) -> Self {
        let mut headers = BTreeMap::new();
        let mut multi_value_headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in response_headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers.insert(name.as_str().to_string(), value.clone());
            multi_value_headers
                .entry(name.as_str().to_string())
                .or_default()
                .push(value);
        }
        let (body, is_base64_encoded) = body_text(body);
        ResponsePayloadV1 {
            status_code: status.as_u16(),
            headers,
            multi_value_headers,
            body,
            is_base64_encoded,
        }
    }
}

/// A response as JSON in payload format `version`.
pub fn response_json(
    version: PayloadVersion,
    status: http::StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> serde_json::Result<serde_json::Value> {
    match version {
        PayloadVersion::V1 => serde_json::to_value(ResponsePayloadV1::new(status, headers, body)),
        PayloadVersion::V2 => serde_json::to_value(ResponsePayload::new(status, headers, body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_v2_event() {
        let event = parse_event(
            br#"{"version":"2.0","routeKey":"$default","rawPath":"/hello/ann","rawQueryString":"a=1&a=2",
                "cookies":["c1=x","c2=y"],"headers":{"Header1":"v1","header2":"v1,v2"},
                "requestContext":{"requestId":"rid","http":{"method":"POST","path":"/hello/ann",
                "protocol":"HTTP/1.1","sourceIp":"192.0.2.1","userAgent":"agent"}},
                "body":"aGk=","isBase64Encoded":true}"#,
        )
        .expect("valid");
        assert_eq!(event.version, PayloadVersion::V2);
        let req = event.request;
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.path, "/hello/ann");
        assert_eq!(req.query, "a=1&a=2");
        assert_eq!(&*req.request_id, "rid");
        assert_eq!(req.source_ip, "192.0.2.1");
        assert_eq!(req.headers["header1"], "v1");
        assert_eq!(req.headers["cookie"], "c1=x; c2=y");
        assert_eq!(req.body.known_len(), Some(2));
    }

    #[test]
    fn parses_a_v1_event() {
        let event = parse_event(
            br#"{"version":"1.0","resource":"/hello","path":"/hello","httpMethod":"GET",
                "headers":{"h":"1"},"multiValueHeaders":{"h":["1","2"]},
                "queryStringParameters":{"q":"2"},"multiValueQueryStringParameters":{"q":["1","2"]},
                "requestContext":{"requestId":"r1","identity":{"sourceIp":"10.0.0.1"}},
                "pathParameters":null,"stageVariables":null,"body":null,"isBase64Encoded":false}"#,
        )
        .expect("valid");
        assert_eq!(event.version, PayloadVersion::V1);
        let req = event.request;
        assert_eq!(req.method, Method::GET);
        assert_eq!(req.query, "q=1&q=2");
        assert_eq!(req.headers.get_all("h").iter().count(), 2);
        assert_eq!(req.source_ip, "10.0.0.1");
        assert_eq!(req.body.known_len(), Some(0));
    }

    #[test]
    fn rejects_what_is_not_an_event() {
        assert!(matches!(
            parse_event(br#"{"hello":1}"#),
            Err(PayloadError::UnknownFormat)
        ));
        assert!(matches!(parse_event(b"nope"), Err(PayloadError::Json(_))));
        assert!(matches!(
            parse_event(br#"{"httpMethod":"GET","path":"/","body":"***","isBase64Encoded":true}"#),
            Err(PayloadError::Base64(_))
        ));
    }

    #[test]
    fn binary_bodies_are_base64_in_responses() {
        let mut headers = HeaderMap::new();
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("x", HeaderValue::from_static("1"));
        headers.append("x", HeaderValue::from_static("2"));
        let payload = ResponsePayload::new(http::StatusCode::OK, &headers, &[0xff, 0x00]);
        assert!(payload.is_base64_encoded);
        assert_eq!(payload.body, "/wA=");
        assert_eq!(payload.cookies, vec!["a=1"]);
        assert_eq!(payload.headers["x"], "1,2");
        let v1 = ResponsePayloadV1::new(http::StatusCode::OK, &headers, b"hi");
        assert_eq!(v1.headers["x"], "2");
        assert_eq!(v1.multi_value_headers["x"], ["1", "2"]);
        assert_eq!(v1.multi_value_headers["set-cookie"], ["a=1"]);
    }

    #[test]
    fn a_named_stage_prefix_is_not_routed_on_and_the_context_is_kept() {
        let event = parse_event(
            br#"{"version":"2.0","rawPath":"/beta/hello","stageVariables":{"v":"1"},
                "requestContext":{"stage":"beta","timeEpoch":1583348638390,"domainName":"api.example",
                "http":{"method":"GET","userAgent":"agent"}}}"#,
        )
        .expect("valid");
        let req = event.request;
        assert_eq!(req.path, "/beta/hello");
        let replay = req.replay.as_deref().expect("recorded");
        assert_eq!(replay.route_path.as_deref(), Some("/hello"));
        assert_eq!(replay.stage.as_deref(), Some("beta"));
        assert_eq!(replay.stage_variables, Some(vec![("v".into(), "1".into())]));
        assert_eq!(
            replay.time,
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_583_348_638_390))
        );
        assert_eq!(req.headers["host"], "api.example");
        assert_eq!(req.headers["user-agent"], "agent");
        // `/betamax` is not under stage `beta`.
        let event = parse_event(
            br#"{"version":"2.0","rawPath":"/betamax","requestContext":{"stage":"beta","http":{"method":"GET"}}}"#,
        )
        .expect("valid");
        assert_eq!(event.request.replay.and_then(|r| r.route_path), None);
    }
}
