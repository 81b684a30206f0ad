//! API Gateway's JSON, for code ported from Lambda: the event a Lambda function would
//! get ([`Request::to_lambda_event`]), and a Lambda proxy response turned into a
//! [`Response`] by API Gateway's rules ([`Response::from_lambda`]).
//!
//! ```no_run
//! use portico_guest::{Request, Response, Error};
//! // A handler written for Lambda, which takes and returns JSON...
//! fn lambda_handler(event: serde_json::Value) -> serde_json::Value {
//!     serde_json::json!({ "statusCode": 200, "body": event["path"] })
//! }
//! // ...served by Portico unchanged.
//! fn handle(req: Request) -> Result<Response, Error> {
//!     Response::from_lambda(&lambda_handler(req.to_lambda_event()), req.payload_version())
//! }
//! ```

use crate::{Error, Request, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::StatusCode;
use serde_json::{Map, Value, json};

/// `(name, value)` pairs as a JSON object; the last value of a name wins.
fn last_wins<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in pairs {
        map.insert(k.to_string(), Value::String(v.to_string()));
    }
    map
}

/// `(name, value)` pairs as a JSON object of arrays, in order.
fn every_value<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in pairs {
        let entry = map
            .entry(k.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.push(Value::String(v.to_string()));
        }
    }
    map
}

/// An object, or `null` when empty (as 1.0 events show absent maps).
fn or_null(map: Map<String, Value>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    }
}

impl Request {
    /// The request as the JSON event API Gateway sends a Lambda function, in this
    /// route's payload format version: 2.0 (`rawPath`, `cookies`, joined headers, ...)
    /// or 1.0 (`resource`, `path`, `httpMethod`, `multiValueHeaders`,
    /// `multiValueQueryStringParameters`, `requestContext.identity`, ...). A body that is
    /// not UTF-8 is base64 with `isBase64Encoded: true`.
    pub fn to_lambda_event(&self) -> Value {
        let event = self.event();
        let ctx = &event.request_context;
        let (body, base64) = match std::str::from_utf8(&event.body) {
            Ok(text) => (Value::String(text.to_string()), false),
            Err(_) => (Value::String(BASE64.encode(&event.body)), true),
        };
        let pairs = |fields: &'_ [(String, String)]| -> Map<String, Value> {
            last_wins(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        };
        let mut authorizer = Map::new();
        if let Some(jwt) = &ctx.authorizer {
            let claims = pairs(&jwt.jwt_claims);
            let scopes = json!(jwt.jwt_scopes);
            if self.is_v1() {
                authorizer.insert("claims".into(), Value::Object(claims));
                authorizer.insert("scopes".into(), scopes);
            } else {
                authorizer.insert("jwt".into(), json!({ "claims": claims, "scopes": scopes }));
            }
        }
        let lambda = self.authorizer_context();
        if !lambda.is_empty() {
            if self.is_v1() {
                authorizer.extend(lambda);
            } else {
                authorizer.insert("lambda".into(), Value::Object(lambda));
            }
        }
        if self.is_v1() {
            let resource = event
                .route_key
                .split_once(' ')
                .map_or(event.route_key.as_str(), |(_, path)| path);
            let headers = || event.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            let query = || {
                event
                    .query_string_parameters
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
            };
            json!({
                "version": "1.0",
                "resource": resource,
                "path": event.raw_path,
                "httpMethod": ctx.http.method,
                "headers": last_wins(headers()),
                "multiValueHeaders": every_value(headers()),
                "queryStringParameters": or_null(last_wins(query())),
                "multiValueQueryStringParameters": or_null(every_value(query())),
                "pathParameters": or_null(pairs(&event.path_parameters)),
                "stageVariables": or_null(pairs(&event.stage_variables)),
                "requestContext": {
                    "httpMethod": ctx.http.method,
                    "path": ctx.http.path,
                    "protocol": ctx.http.protocol,
                    "requestId": ctx.request_id,
                    "requestTime": ctx.time,
                    "requestTimeEpoch": ctx.time_epoch,
                    "resourcePath": resource,
                    "stage": ctx.stage,
                    "domainName": ctx.domain_name,
                    "domainPrefix": ctx.domain_prefix,
                    "identity": {
                        "sourceIp": ctx.http.source_ip,
                        "userAgent": ctx.http.user_agent,
                        "apiKeyId": self.api_key_id(),
                    },
                    "authorizer": or_null(authorizer),
                },
                "body": if event.body.is_empty() { Value::Null } else { body },
                "isBase64Encoded": base64,
            })
        } else {
            let mut out = json!({
                "version": "2.0",
                "routeKey": event.route_key,
                "rawPath": event.raw_path,
                "rawQueryString": event.raw_query_string,
                "headers": pairs(&event.headers),
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
            // 2.0 leaves out what is empty.
            let fields = [
                ("cookies", json!(event.cookies), !event.cookies.is_empty()),
                (
                    "queryStringParameters",
                    Value::Object(pairs(&event.query_string_parameters)),
                    !event.query_string_parameters.is_empty(),
                ),
                (
                    "pathParameters",
                    Value::Object(pairs(&event.path_parameters)),
                    !event.path_parameters.is_empty(),
                ),
                (
                    "stageVariables",
                    Value::Object(pairs(&event.stage_variables)),
                    !event.stage_variables.is_empty(),
                ),
                ("body", body, !event.body.is_empty()),
            ];
            for (name, value, present) in fields {
                if present {
                    out[name] = value;
                }
            }
            if !authorizer.is_empty() {
                out["requestContext"]["authorizer"] = Value::Object(authorizer);
            }
            out
        }
    }
}

/// A header value as a Lambda response may give it: text, or a number or boolean
/// (API Gateway sends its text).
fn header_text(name: &str, value: &Value) -> Result<String, Error> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(Error::Lambda(format!(
            "header `{name}`: expected text, got {other}"
        ))),
    }
}

impl Response {
    /// The response API Gateway makes of a Lambda proxy response `value`, by the rules
    /// of payload format `version` (`"1.0"` or `"2.0"`; see
    /// [`Request::payload_version`]):
    ///
    /// - `statusCode`, `headers`, `body` (text; base64 with `isBase64Encoded: true`);
    /// - 1.0: `multiValueHeaders` too, merged with `headers`; for a name in both, only
    ///   the `multiValueHeaders` values are sent (API Gateway's rule); a response without
    ///   `statusCode` is malformed;
    /// - 2.0: `cookies` (each a `set-cookie`); an answer without `statusCode` — any
    ///   JSON value — is a 200 with `content-type: application/json` and the value as
    ///   the body (a string as it is), as API Gateway infers it.
    ///
    /// # Errors
    /// [`Error::Lambda`] for a response API Gateway would refuse (a status that is not
    /// an HTTP status, headers that are not text, bad base64, ...).
    pub fn from_lambda(value: &Value, version: &str) -> Result<Response, Error> {
        let v1 = version == "1.0";
        let object = match value.as_object() {
            Some(object) if v1 || object.contains_key("statusCode") => object,
            _ if v1 => {
                return Err(Error::Lambda(
                    "a payload 1.0 response must be an object with `statusCode`".into(),
                ));
            }
            _ => {
                let body = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                return Ok(Response::ok()
                    .header("content-type", "application/json")
                    .bytes(body.into_bytes()));
            }
        };
        let status = object
            .get("statusCode")
            .and_then(Value::as_u64)
            .and_then(|code| u16::try_from(code).ok())
            .and_then(|code| StatusCode::from_u16(code).ok())
            .ok_or_else(|| {
                Error::Lambda(format!(
                    "`statusCode` must be an HTTP status, got {}",
                    object.get("statusCode").unwrap_or(&Value::Null)
                ))
            })?;
        let mut response = Response::new(status);
        let multi = match object.get("multiValueHeaders") {
            Some(Value::Object(multi)) if v1 => Some(multi),
            Some(Value::Null) | None => None,
            Some(_) if !v1 => None,
            Some(other) => {
                return Err(Error::Lambda(format!(
                    "`multiValueHeaders` must be an object of lists, got {other}"
                )));
            }
        };
        match object.get("headers") {
            Some(Value::Object(headers)) => {
                for (name, value) in headers {
                    if multi.is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(name))) {
                        continue;
                    }
                    response = response.header(name.clone(), header_text(name, value)?);
                }
            }
            Some(Value::Null) | None => {}
            Some(other) => {
                return Err(Error::Lambda(format!(
                    "`headers` must be an object, got {other}"
                )));
            }
        }
        for (name, values) in multi.into_iter().flatten() {
            let Value::Array(values) = values else {
                return Err(Error::Lambda(format!(
                    "`multiValueHeaders.{name}` must be a list"
                )));
            };
            for value in values {
                response = response.header(name.clone(), header_text(name, value)?);
            }
        }
        if !v1 {
            for cookie in object
                .get("cookies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let cookie = cookie
                    .as_str()
                    .ok_or_else(|| Error::Lambda("`cookies` must be a list of text".into()))?;
                response = response.cookie(cookie);
            }
        }
        let base64 = object
            .get("isBase64Encoded")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match object.get("body") {
            Some(Value::String(text)) if base64 => {
                let bytes = BASE64
                    .decode(text)
                    .map_err(|e| Error::Lambda(format!("`body` is not base64: {e}")))?;
                Ok(response.bytes(bytes))
            }
            Some(Value::String(text)) => Ok(response.bytes(text.clone().into_bytes())),
            Some(Value::Null) | None => Ok(response),
            Some(other) => Err(Error::Lambda(format!("`body` must be text, got {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(r: &Response) -> Vec<(&str, &str)> {
        r.headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn v1_multi_value_headers_merge_and_win_on_a_clash() {
        let r = Response::from_lambda(
            &json!({
                "statusCode": 201,
                "headers": {"x-a": "single", "x-b": "kept", "n": 5},
                "multiValueHeaders": {"x-a": ["m1", "m2"], "set-cookie": ["a=1", "b=2"]},
                "body": "hi",
            }),
            "1.0",
        )
        .expect("valid");
        assert_eq!(r.status(), StatusCode::CREATED);
        let mut got = headers(&r);
        got.sort_unstable();
        assert_eq!(
            got,
            vec![
                ("n", "5"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("x-a", "m1"),
                ("x-a", "m2"),
                ("x-b", "kept"),
            ]
        );
        assert_eq!(r.body(), b"hi");
        assert!(Response::from_lambda(&json!({"body": "x"}), "1.0").is_err());
    }

    #[test]
    fn v2_infers_a_200_and_takes_cookies_and_base64() {
        let r = Response::from_lambda(&json!({"ok": true}), "2.0").expect("valid");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(headers(&r), vec![("content-type", "application/json")]);
        assert_eq!(r.body(), br#"{"ok":true}"#);
        let r = Response::from_lambda(&json!("Hello from Lambda!"), "2.0").expect("valid");
        assert_eq!(r.body(), b"Hello from Lambda!");
        let r = Response::from_lambda(
            &json!({
                "statusCode": 200,
                "cookies": ["s=1"],
                "multiValueHeaders": {"x-ignored": ["1"]},
                "body": "AAEC",
                "isBase64Encoded": true,
            }),
            "2.0",
        )
        .expect("valid");
        assert_eq!(r.body(), &[0, 1, 2]);
        assert!(headers(&r).is_empty());
        assert!(
            Response::from_lambda(&json!({"statusCode": 99}), "2.0").is_err(),
            "not an HTTP status"
        );
        assert!(
            Response::from_lambda(
                &json!({"statusCode": 200, "body": "%%", "isBase64Encoded": true}),
                "2.0"
            )
            .is_err()
        );
    }
}
