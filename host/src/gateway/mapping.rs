//! Mapping values, as API Gateway's parameter mapping writes them: a static text
//! (`"Order placed"`), one expression (`$request.body.item`), or a template mixing text
//! and `${...}` expressions (`"order ${request.body.id} from ${context.identity.sourceIp}"`).
//!
//! Expressions: `request.body` (the body as it came), `request.body.PATH` (a dotted path
//! into a JSON body), `request.path.NAME` (a path parameter), and what identity sources
//! name ([`IdentitySource`]: `request.header.NAME`, `request.querystring.NAME`,
//! `stageVariables.NAME`, `context.NAME`). A value the request lacks maps to nothing —
//! an empty text, which the integration leaves out, as API Gateway leaves out a
//! parameter whose mapping found nothing.

use crate::policy::identity::IdentitySource;
use crate::runtime::HttpTrigger;
use serde_json::Value;

/// One part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Body,
    BodyPath(Vec<String>),
    PathParameter(String),
    Source(IdentitySource),
}

/// A parsed mapping value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

/// A request a template cannot be rendered from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// `$request.body` of a body that is not UTF-8 text.
    #[error("the request body is not UTF-8 text, so `{0}` cannot carry it")]
    BinaryBody(String),
}

/// The expression `text` (without its `$` or `${}`).
fn expression(text: &str) -> Result<Part, String> {
    if text == "request.body" {
        return Ok(Part::Body);
    }
    if let Some(path) = text.strip_prefix("request.body.") {
        let keys: Vec<String> = path.split('.').map(str::to_string).collect();
        if keys.iter().any(String::is_empty) {
            return Err(format!("`{text}`: an empty name in the path"));
        }
        return Ok(Part::BodyPath(keys));
    }
    if let Some(name) = text.strip_prefix("request.path.") {
        if name.is_empty() {
            return Err(format!("`{text}`: a path parameter needs a name"));
        }
        return Ok(Part::PathParameter(name.to_string()));
    }
    IdentitySource::parse(&format!("${text}"))
        .map(Part::Source)
        .map_err(|_| {
            format!(
                "`${text}`: expected $request.body, $request.body.PATH, $request.path.NAME, $request.header.NAME, $request.querystring.NAME, $stageVariables.NAME or $context.NAME"
            )
        })
}

/// One piece of a template as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text, as it is.
    Text(&'a str),
    /// An expression, without its `$` or `${}` (`request.body.action`).
    Expression(&'a str),
}

/// Splits API Gateway's template syntax into its pieces: the whole text one expression
/// (`$request.body.action`), or text with `${expression}` parts
/// (`${request.body.type}:${request.body.action}`). Route selection expressions use it
/// too.
pub fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    if let Some(single) = text.strip_prefix('$').filter(|t| !t.starts_with('{')) {
        return Ok(vec![Piece::Expression(single)]);
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`{text}`: a `${{` without its `}}`"))?;
        pieces.push(Piece::Expression(&after[..end]));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

impl Template {
    /// Parses a static text, one `$expression`, or a text with `${expression}` parts.
    pub fn parse(text: &str) -> Result<Template, String> {
        let parts = pieces(text)?
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(t) => Ok(Part::Text(t.to_string())),
                Piece::Expression(e) => expression(e),
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Template {
            text: text.to_string(),
            parts,
        })
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it reads the request body (which then has to be read whole first).
    pub fn reads_body(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Body | Part::BodyPath(_)))
    }

    /// The value for `trigger`, whose whole body is `body`. A body path into a body that
    /// is not a JSON object, or that lacks the path, maps to nothing; a string is its
    /// text, any other JSON value its JSON text.
    pub fn render(&self, trigger: &HttpTrigger, body: &[u8]) -> Result<String, MappingError> {
        let mut parsed: Option<Option<Value>> = None;
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Body => match std::str::from_utf8(body) {
                    Ok(text) => out.push_str(text),
                    Err(_) => return Err(MappingError::BinaryBody(self.text.clone())),
                },
                Part::BodyPath(path) => {
                    let json = parsed.get_or_insert_with(|| serde_json::from_slice(body).ok());
                    let found = json
                        .as_ref()
                        .and_then(|v| path.iter().try_fold(v, |v, k| v.get(k)));
                    match found {
                        None | Some(Value::Null) => {}
                        Some(Value::String(s)) => out.push_str(s),
                        Some(other) => out.push_str(&other.to_string()),
                    }
                }
                Part::PathParameter(name) => {
                    if let Some((_, value)) =
                        trigger.path_parameters.iter().find(|(n, _)| n == name)
                    {
                        out.push_str(value);
                    }
                }
                Part::Source(source) => {
                    if let Some(value) = source.value(trigger) {
                        out.push_str(&value);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::IncomingRequest;
    use std::time::SystemTime;

    fn trigger() -> HttpTrigger {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-source", "shop".parse().expect("value"));
        HttpTrigger {
            request: IncomingRequest {
                request_id: "r1".into(),
                method: http::Method::POST,
                path: "/orders/7".into(),
                query: "channel=web".into(),
                headers,
                body: Default::default(),
                source_ip: "10.0.0.1".into(),
                protocol: "HTTP/1.1".into(),
                authorizer: None,
                replay: None,
            },
            route_key: "POST /orders/{id}".into(),
            path_parameters: vec![("id".into(), "7".into())],
            stage: "$default".into(),
            stage_variables: vec![("env".into(), "test".into())],
            time: SystemTime::now(),
            payload: Default::default(),
        }
    }

    fn render(template: &str, body: &str) -> String {
        Template::parse(template)
            .expect("parses")
            .render(&trigger(), body.as_bytes())
            .expect("renders")
    }

    #[test]
    fn every_expression_reads_its_value() {
        let body = r#"{"item":"tea","quantity":2,"meta":{"gift":true,"tags":["a"]}}"#;
        assert_eq!(render("$request.body", body), body);
        assert_eq!(render("$request.body.item", body), "tea");
        assert_eq!(render("$request.body.quantity", body), "2");
        assert_eq!(render("$request.body.meta.gift", body), "true");
        assert_eq!(render("$request.body.meta.tags", body), r#"["a"]"#);
        assert_eq!(render("$request.path.id", body), "7");
        assert_eq!(render("$request.header.X-Source", body), "shop");
        assert_eq!(render("$request.querystring.channel", body), "web");
        assert_eq!(render("$stageVariables.env", body), "test");
        assert_eq!(render("$context.requestId", body), "r1");
        assert_eq!(
            render(
                "${request.body.quantity} x ${request.body.item} (#${request.path.id})",
                body
            ),
            "2 x tea (#7)"
        );
        assert_eq!(render("Order placed", body), "Order placed");
    }

    #[test]
    fn what_the_request_lacks_maps_to_nothing() {
        assert_eq!(render("$request.body.nope", "{}"), "");
        assert_eq!(render("$request.body.item", "not json"), "");
        assert_eq!(render("$request.header.x-nope", ""), "");
        assert_eq!(render("a${request.path.nope}b", ""), "ab");
        let binary = Template::parse("$request.body").expect("parses");
        assert!(matches!(
            binary.render(&trigger(), &[0xff, 0xfe]),
            Err(MappingError::BinaryBody(_))
        ));
    }

    #[test]
    fn bad_templates_say_why() {
        for bad in [
            "$request.nope",
            "${request.body.}",
            "x ${context.nope}",
            "a ${b",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        assert!(Template::parse("$request.body.a").expect("ok").reads_body());
        assert!(!Template::parse("$request.path.a").expect("ok").reads_body());
    }
}
