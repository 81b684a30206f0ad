//! Builds the event a Portico function receives from an HTTP request: API Gateway's
//! payload format 2.0, or 1.0 on a route with `payload = "1.0"`.
//!
//! Both are the one WIT record, `http-request-event`; its `version` says which rules
//! filled it. 2.0 joins a repeated header's or query parameter's values with `,` and
//! moves cookies to `cookies`; 1.0 keeps every value as its own entry (what API
//! Gateway's `multiValueHeaders` and `multiValueQueryStringParameters` hold; its
//! single-value maps are the last entry of each name) and leaves `cookie` a header.
//! Why one record and not a second record or JSON: the record holds either shape without
//! loss, a component built against `portico:edge@0.1.0` serves a 1.0 route unchanged,
//! and a Rust function keeps its typed event (no JSON to parse per request). The SDK
//! renders the exact API Gateway JSON of either version for code ported from Lambda.

use super::bindings::{Authorizer, HttpDetails, HttpRequestEvent, RequestContext};
use crate::exchange::PayloadVersion;
use crate::runtime::HttpTrigger;
use http::HeaderMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Builds the event of `trigger`, whose body is `body`. Consumes the body without
/// copying it.
pub fn build_event(trigger: HttpTrigger, body: Vec<u8>) -> HttpRequestEvent {
    let request_context = request_context(&trigger, true);
    let HttpTrigger {
        request: req,
        route_key,
        path_parameters,
        stage_variables,
        payload,
        ..
    } = trigger;
    let (headers, cookies, query_string_parameters) = match payload {
        PayloadVersion::V2 => {
            let (headers, cookies) = headers_and_cookies(&req.headers);
            (headers, cookies, query_parameters(&req.query))
        }
        PayloadVersion::V1 => (
            every_header(&req.headers),
            Vec::new(),
            form_urlencoded::parse(req.query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        ),
    };
    HttpRequestEvent {
        version: payload.as_str().to_string(),
        route_key,
        raw_path: req.path,
        query_string_parameters,
        raw_query_string: req.query,
        cookies,
        headers,
        path_parameters,
        stage_variables,
        body,
        request_context,
    }
}

/// API Gateway's `requestContext` of `trigger`; with the JWT authorizer's output when
/// `with_authorizer` (a custom authorizer's request has none).
pub fn request_context(trigger: &HttpTrigger, with_authorizer: bool) -> RequestContext {
    let req = &trigger.request;
    let header = |name| {
        req.headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
    };
    let domain_name = strip_port(header(http::header::HOST)).to_string();
    let domain_prefix = domain_name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    let authorizer = req
        .authorizer
        .as_deref()
        .filter(|a| with_authorizer && !(a.jwt_claims.is_empty() && a.jwt_scopes.is_empty()))
        .map(|a| Authorizer {
            jwt_claims: a.jwt_claims.clone(),
            jwt_scopes: a.jwt_scopes.clone(),
        });
    let epoch_ms = trigger
        .time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    RequestContext {
        request_id: req.request_id.to_string(),
        route_key: trigger.route_key.clone(),
        stage: trigger.stage.clone(),
        domain_name,
        domain_prefix,
        http: HttpDetails {
            method: req.method.to_string(),
            path: req.path.clone(),
            protocol: req.protocol.clone(),
            source_ip: req.source_ip.clone(),
            user_agent: header(http::header::USER_AGENT).to_string(),
        },
        time: clf_time(trigger.time),
        time_epoch: epoch_ms,
        authorizer,
    }
}

/// The request as the JSON event API Gateway sends a Lambda function in payload format
/// 2.0: what a route's host-side integration (a publish to a topic) passes on, in the
/// shape the SDK's `Request::to_lambda_event` renders for a 2.0 route, so a subscriber
/// reads the same event whichever sent it. A body that is not UTF-8 is base64 with
/// `isBase64Encoded: true`; empty maps and an empty body are left out, as API Gateway
/// leaves them out.
pub fn event_json(trigger: &HttpTrigger, body: &[u8]) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let ctx = request_context(trigger, true);
    let req = &trigger.request;
    // Later entries win, as they do when API Gateway's maps are built.
    let object = |pairs: &[(String, String)]| -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    };
    let (headers, cookies) = headers_and_cookies(&req.headers);
    let query = query_parameters(&req.query);
    let (body_text, base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => {
            use base64::Engine as _;
            (base64::engine::general_purpose::STANDARD.encode(body), true)
        }
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": trigger.route_key,
        "rawPath": req.path,
        "rawQueryString": req.query,
        "headers": object(&headers),
        "requestContext": {
            "domainName": ctx.domain_name,
            "domainPrefix": ctx.domain_prefix,
            "http": {
                "method": ctx.http.method,
                "path": ctx.http.path,
                "protocol": ctx.http.protocol,
                "sourceIp": ctx.http.source_ip,
                "userAgent": ctx.http.user_agent,
            },
            "requestId": ctx.request_id,
            "routeKey": ctx.route_key,
            "stage": ctx.stage,
            "time": ctx.time,
            "timeEpoch": ctx.time_epoch,
        },
        "isBase64Encoded": base64,
    });
    let optional = [
        ("cookies", json!(cookies), !cookies.is_empty()),
        (
            "queryStringParameters",
            Value::Object(object(&query)),
            !query.is_empty(),
        ),
        (
            "pathParameters",
            Value::Object(object(&trigger.path_parameters)),
            !trigger.path_parameters.is_empty(),
        ),
        (
            "stageVariables",
            Value::Object(object(&trigger.stage_variables)),
            !trigger.stage_variables.is_empty(),
        ),
        ("body", Value::String(body_text), !body.is_empty()),
    ];
    for (name, value, present) in optional {
        if present {
            event[name] = value;
        }
    }
    let mut authorizer = Map::new();
    if let Some(jwt) = &ctx.authorizer {
        authorizer.insert(
            "jwt".into(),
            json!({ "claims": object(&jwt.jwt_claims), "scopes": jwt.jwt_scopes }),
        );
    }
    if let Some(lambda) = req
        .authorizer
        .as_ref()
        .and_then(|a| a.lambda.as_deref())
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
    {
        authorizer.insert("lambda".into(), lambda);
    }
    if !authorizer.is_empty() {
        event["requestContext"]["authorizer"] = Value::Object(authorizer);
    }
    event
}

/// Every header value as its own entry, in order (payload 1.0).
fn every_header(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Headers joined per name with `,` (in first-seen order), and the cookies split out of
/// the `cookie` header(s).
pub fn headers_and_cookies(map: &HeaderMap) -> (Vec<(String, String)>, Vec<String>) {
    let mut headers = Vec::with_capacity(map.keys_len());
    let mut cookies = Vec::new();
    for name in map.keys() {
        let values = map
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()));
        if name == http::header::COOKIE {
            for value in values {
                cookies.extend(
                    value
                        .split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_string),
                );
            }
            continue;
        }
        let joined = values.collect::<Vec<_>>().join(",");
        headers.push((name.as_str().to_string(), joined));
    }
    (headers, cookies)
}

/// Query parameters decoded (`+` is a space), repeated names joined with `,`.
pub fn query_parameters(query: &str) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match params.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            None => params.push((name.into_owned(), value.into_owned())),
        }
    }
    params
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [::1]:3000 → [::1]
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..h.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// API Gateway's request time format: `12/Mar/2020:19:03:58 +0000`.
pub fn clf_time(time: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // RFC 3339 is `2020-03-12T19:03:58Z`; rearrange its fields.
    let rfc = humantime::format_rfc3339_seconds(time).to_string();
    let month = rfc
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{}/{}/{}:{} +0000",
        rfc.get(8..10).unwrap_or("01"),
        month,
        rfc.get(0..4).unwrap_or("1970"),
        rfc.get(11..19).unwrap_or("00:00:00"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn clf_time_matches_api_gateway() {
        let t = UNIX_EPOCH + Duration::from_secs(1_584_039_838);
        assert_eq!(clf_time(t), "12/Mar/2020:19:03:58 +0000");
    }

    #[test]
    fn query_parameters_decode_and_join() {
        assert_eq!(
            query_parameters("a=1&b=x+y&a=2&c&d=%2F"),
            vec![
                ("a".to_string(), "1,2".to_string()),
                ("b".to_string(), "x y".to_string()),
                ("c".to_string(), String::new()),
                ("d".to_string(), "/".to_string()),
            ]
        );
    }

    #[test]
    fn headers_join_and_cookies_split() {
        let mut map = HeaderMap::new();
        map.append("x-a", "1".parse().expect("value"));
        map.append("x-a", "2".parse().expect("value"));
        map.append("cookie", "a=1; b=2".parse().expect("value"));
        map.append("cookie", "c=3".parse().expect("value"));
        let (headers, cookies) = headers_and_cookies(&map);
        assert_eq!(headers, vec![("x-a".to_string(), "1,2".to_string())]);
        assert_eq!(cookies, vec!["a=1", "b=2", "c=3"]);
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("api.example.com:3000"), "api.example.com");
        assert_eq!(strip_port("[::1]:3000"), "[::1]");
        assert_eq!(strip_port("localhost"), "localhost");
    }
}
