//! Identity sources: where an authorizer finds what identifies the caller, written as
//! API Gateway writes them — `$request.header.NAME`, `$request.querystring.NAME`,
//! `$stageVariables.NAME` and `$context.NAME`.

use crate::runtime::HttpTrigger;
use http::HeaderName;
use std::borrow::Cow;
use std::fmt;

/// One identity source expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A header (`$request.header.Authorization`); the first if repeated.
    Header(HeaderName),
    /// A query string parameter, URL-decoded (`$request.querystring.token`).
    Query(String),
    /// A stage variable (`$stageVariables.tenant`).
    StageVariable(String),
    /// A fact of the request context (`$context.routeKey`).
    Context(ContextVariable),
}

/// The `$context` variables an identity source may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextVariable {
    /// `$context.requestId`.
    RequestId,
    /// `$context.routeKey`.
    RouteKey,
    /// `$context.stage`.
    Stage,
    /// `$context.domainName`: the `host` header without its port.
    DomainName,
    /// `$context.http.method`.
    HttpMethod,
    /// `$context.http.path`.
    HttpPath,
    /// `$context.identity.sourceIp`.
    SourceIp,
}

impl ContextVariable {
    const ALL: [(ContextVariable, &'static str); 7] = [
        (ContextVariable::RequestId, "requestId"),
        (ContextVariable::RouteKey, "routeKey"),
        (ContextVariable::Stage, "stage"),
        (ContextVariable::DomainName, "domainName"),
        (ContextVariable::HttpMethod, "http.method"),
        (ContextVariable::HttpPath, "http.path"),
        (ContextVariable::SourceIp, "identity.sourceIp"),
    ];

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(v, _)| *v == self)
            .map_or("", |(_, name)| name)
    }
}

impl IdentitySource {
    /// Parses one expression.
    pub fn parse(text: &str) -> Result<IdentitySource, String> {
        if let Some(name) = text.strip_prefix("$request.header.") {
            return HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map(IdentitySource::Header)
                .map_err(|_| format!("{name:?} is not a header name"));
        }
        if let Some(name) = text.strip_prefix("$request.querystring.")
            && !name.is_empty()
        {
            return Ok(IdentitySource::Query(name.to_string()));
        }
        if let Some(name) = text.strip_prefix("$stageVariables.")
            && !name.is_empty()
        {
            return Ok(IdentitySource::StageVariable(name.to_string()));
        }
        if let Some(name) = text.strip_prefix("$context.") {
            return ContextVariable::ALL
                .iter()
                .find(|(_, n)| *n == name)
                .map(|(v, _)| IdentitySource::Context(*v))
                .ok_or_else(|| {
                    let known: Vec<String> = ContextVariable::ALL
                        .iter()
                        .map(|(_, n)| format!("$context.{n}"))
                        .collect();
                    format!(
                        "unknown context variable {text:?} (identity sources may use {})",
                        known.join(", ")
                    )
                });
        }
        Err(format!(
            "expected `$request.header.NAME`, `$request.querystring.NAME`, `$stageVariables.NAME` or `$context.NAME`, got {text:?}"
        ))
    }

    /// Whether it reads the request itself (a header or the query string), as a JWT
    /// authorizer's source must.
    pub fn is_request(&self) -> bool {
        matches!(self, IdentitySource::Header(_) | IdentitySource::Query(_))
    }

    /// Its value for `trigger`, trimmed; `None` when missing or empty.
    pub fn value<'t>(&self, trigger: &'t HttpTrigger) -> Option<Cow<'t, str>> {
        let request = &trigger.request;
        let value = match self {
            // The common case borrows from the request: no allocation.
            IdentitySource::Header(name) => {
                Cow::Borrowed(request.headers.get(name)?.to_str().ok()?.trim())
            }
            IdentitySource::Query(name) => {
                let (_, value) =
                    form_urlencoded::parse(request.query.as_bytes()).find(|(n, _)| n == name)?;
                Cow::Owned(value.trim().to_string())
            }
            IdentitySource::StageVariable(name) => Cow::Borrowed(
                trigger
                    .stage_variables
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())?,
            ),
            IdentitySource::Context(variable) => match variable {
                ContextVariable::RequestId => Cow::Borrowed(&*request.request_id),
                ContextVariable::RouteKey => Cow::Borrowed(trigger.route_key.as_str()),
                ContextVariable::Stage => Cow::Borrowed(trigger.stage.as_str()),
                ContextVariable::DomainName => {
                    let host = request.headers.get(http::header::HOST)?.to_str().ok()?;
                    Cow::Borrowed(host.rsplit_once(':').map_or(host, |(h, _)| h))
                }
                ContextVariable::HttpMethod => Cow::Borrowed(request.method.as_str()),
                ContextVariable::HttpPath => Cow::Borrowed(request.path.as_str()),
                ContextVariable::SourceIp => Cow::Borrowed(request.source_ip.as_str()),
            },
        };
        (!value.is_empty()).then_some(value)
    }
}

impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentitySource::Header(name) => write!(f, "$request.header.{name}"),
            IdentitySource::Query(name) => write!(f, "$request.querystring.{name}"),
            IdentitySource::StageVariable(name) => write!(f, "$stageVariables.{name}"),
            IdentitySource::Context(variable) => write!(f, "$context.{}", variable.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::IncomingRequest;
    use std::time::SystemTime;

    fn trigger() -> HttpTrigger {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-api-key", " k1 ".parse().expect("value"));
        headers.insert("host", "api.example.com:3000".parse().expect("value"));
        headers.insert("x-empty", "".parse().expect("value"));
        HttpTrigger {
            request: IncomingRequest {
                request_id: "r1".into(),
                method: http::Method::GET,
                path: "/pets/1".into(),
                query: "key=a%20b&none=".into(),
                headers,
                body: Default::default(),
                source_ip: "10.0.0.1".into(),
                protocol: "HTTP/1.1".into(),
                authorizer: None,
                replay: None,
            },
            route_key: "GET /pets/{id}".into(),
            path_parameters: vec![("id".into(), "1".into())],
            stage: "$default".into(),
            stage_variables: vec![("tenant".into(), "acme".into())],
            time: SystemTime::now(),
            payload: Default::default(),
        }
    }

    fn value(source: &str) -> Option<String> {
        let parsed = IdentitySource::parse(source).expect("parses");
        assert_eq!(
            parsed.to_string().to_ascii_lowercase(),
            source.to_ascii_lowercase()
        );
        parsed.value(&trigger()).map(|v| v.into_owned())
    }

    #[test]
    fn every_kind_of_source_reads_its_value() {
        assert_eq!(value("$request.header.X-Api-Key").as_deref(), Some("k1"));
        assert_eq!(value("$request.querystring.key").as_deref(), Some("a b"));
        assert_eq!(value("$stageVariables.tenant").as_deref(), Some("acme"));
        assert_eq!(
            value("$context.routeKey").as_deref(),
            Some("GET /pets/{id}")
        );
        assert_eq!(
            value("$context.identity.sourceIp").as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(
            value("$context.domainName").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(value("$context.http.method").as_deref(), Some("GET"));
    }

    #[test]
    fn missing_and_empty_values_are_none() {
        assert_eq!(value("$request.header.x-missing"), None);
        assert_eq!(value("$request.header.x-empty"), None);
        assert_eq!(value("$request.querystring.none"), None);
        assert_eq!(value("$stageVariables.nope"), None);
    }

    #[test]
    fn bad_expressions_say_what_is_allowed() {
        for bad in [
            "Authorization",
            "$request.body.x",
            "$context.nope",
            "$request.querystring.",
        ] {
            assert!(IdentitySource::parse(bad).is_err(), "{bad}");
        }
        assert!(
            IdentitySource::parse("$context.nope")
                .unwrap_err()
                .contains("$context.routeKey")
        );
        assert!(
            IdentitySource::parse("$request.header.a")
                .expect("ok")
                .is_request()
        );
        assert!(
            !IdentitySource::parse("$stageVariables.a")
                .expect("ok")
                .is_request()
        );
    }
}
