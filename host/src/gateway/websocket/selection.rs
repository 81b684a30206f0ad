//! Route selection expressions, as API Gateway evaluates them on a message: one
//! `$request.body.PATH` (a dotted path into the JSON message), or a template mixing
//! text and `${request.body.PATH}` parts (`${request.body.type}:${request.body.action}`).
//! A message that is not a JSON object, or lacks a path, selects nothing (so it goes to
//! `$default`).

use crate::gateway::mapping::Piece;
use serde_json::Value;

/// One part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Body(Vec<String>),
}

/// A parsed route selection expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionExpression {
    text: String,
    parts: Vec<Part>,
}

impl Default for SelectionExpression {
    fn default() -> Self {
        SelectionExpression::parse("$request.body.action").unwrap_or(SelectionExpression {
            text: String::new(),
            parts: Vec::new(),
        })
    }
}

fn body_path(text: &str) -> Result<Vec<String>, String> {
    let path = text.strip_prefix("request.body.").ok_or_else(|| {
        format!("`{text}`: only `request.body.NAME` paths are supported (API Gateway's message selection)")
    })?;
    let keys: Vec<String> = path.split('.').map(str::to_string).collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(format!("`{text}`: an empty name in the path"));
    }
    Ok(keys)
}

impl SelectionExpression {
    /// Parses `$request.body.PATH` or a `${request.body.PATH}` template.
    pub fn parse(text: &str) -> Result<SelectionExpression, String> {
        let parts = crate::gateway::mapping::pieces(text)?
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(t) => Ok(Part::Text(t.to_string())),
                Piece::Expression(e) => body_path(e).map(Part::Body),
            })
            .collect::<Result<Vec<_>, String>>()?;
        if !parts.iter().any(|p| matches!(p, Part::Body(_))) {
            return Err(format!(
                "`{text}`: expected `$request.body.NAME`, or a template with `${{request.body.NAME}}` parts"
            ));
        }
        Ok(SelectionExpression {
            text: text.to_string(),
            parts,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The route key `message` selects, if it is a JSON object with every path.
    pub fn select(&self, message: &[u8]) -> Option<String> {
        let value: Value = serde_json::from_slice(message).ok()?;
        if !value.is_object() {
            return None;
        }
        let mut key = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => key.push_str(text),
                Part::Body(path) => {
                    let found = path.iter().try_fold(&value, |v, k| v.get(k))?;
                    match found {
                        Value::String(s) => key.push_str(s),
                        Value::Number(n) => key.push_str(&n.to_string()),
                        Value::Bool(b) => key.push_str(&b.to_string()),
                        _ => return None,
                    }
                }
            }
        }
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_path_selects_its_value() {
        let e = SelectionExpression::parse("$request.body.action").expect("valid");
        assert_eq!(
            e.select(br#"{"action":"join","room":"a"}"#).as_deref(),
            Some("join")
        );
        assert_eq!(e.select(br#"{"room":"a"}"#), None);
        assert_eq!(e.select(b"not json"), None);
        assert_eq!(e.select(br#"["action"]"#), None);
        let nested = SelectionExpression::parse("$request.body.meta.kind").expect("valid");
        assert_eq!(
            nested.select(br#"{"meta":{"kind":7}}"#).as_deref(),
            Some("7")
        );
    }

    #[test]
    fn templates_mix_text_and_paths() {
        let e = SelectionExpression::parse("${request.body.type}:${request.body.action}!")
            .expect("valid");
        assert_eq!(
            e.select(br#"{"type":"chat","action":"send"}"#).as_deref(),
            Some("chat:send!")
        );
        assert_eq!(e.select(br#"{"type":"chat"}"#), None);
    }

    #[test]
    fn bad_expressions_say_why() {
        for bad in [
            "action",
            "$request.header.x",
            "${request.body.a",
            "$request.body.",
            "text only",
        ] {
            assert!(SelectionExpression::parse(bad).is_err(), "{bad}");
        }
    }
}
