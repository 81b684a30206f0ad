//! What functions declare of their routes (their `portico-api` sections: summaries,
//! request and response schemas), merged into the OpenAPI document.
//!
//! Merged as JSON, not through the document's types: the schemas are JSON Schema
//! 2020-12 as schemars wrote them, and passing them through another model could drop
//! what it does not know. Rules:
//!
//! - a declaration applies to the routes the manifest leads to its function, matched by
//!   route key (`POST /todos`); others are ignored (a function may declare more routes
//!   than a manifest gives it);
//! - `summary` and `description` replace the generated ones; `request` becomes the JSON
//!   request body's schema; each `responses` entry replaces the answer of that status;
//! - schemas join `components.schemas`; two functions that declare one name differently
//!   keep theirs apart as `FUNCTION.Name`, with their references rewritten.

use crate::gateway::{IntegrationSpec, RouteSpec};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// One function's declaration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Declared {
    routes: Map<String, Value>,
    schemas: Map<String, Value>,
}

impl Declared {
    /// Parses a `portico-api` section.
    pub fn parse(bytes: &[u8]) -> Result<Declared, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        match value.get("portico_api").and_then(Value::as_u64) {
            Some(1) => {}
            Some(n) => return Err(format!("format version {n}; this host reads version 1")),
            None => return Err("no `portico_api` version field".into()),
        }
        let object = |name: &str| match value.get(name) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(_) => Err(format!("`{name}` is not an object")),
        };
        Ok(Declared {
            routes: object("routes")?,
            schemas: object("schemas")?,
        })
    }
}

/// Rewrites every `#/components/schemas/NAME` reference in `value` whose NAME is in
/// `renamed`.
fn rewrite_refs(value: &mut Value, renamed: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some(name) = reference.strip_prefix("#/components/schemas/")
                && let Some(new) = renamed.get(name)
            {
                *reference = format!("#/components/schemas/{new}");
            }
            for v in map.values_mut() {
                rewrite_refs(v, renamed);
            }
        }
        Value::Array(items) => {
            for v in items {
                rewrite_refs(v, renamed);
            }
        }
        _ => {}
    }
}

/// `doc` (the generated document, as JSON) with each function's declarations merged in;
/// `operations` gives a route's (path, methods) in the document.
pub fn merge(
    doc: &mut Value,
    routes: &[RouteSpec],
    declared: &BTreeMap<String, Declared>,
    operations: impl Fn(&RouteSpec) -> Option<(String, Vec<&'static str>)>,
) {
    let mut schemas = Map::new();
    // Schema names first, so clashes are renamed the same way wherever they appear.
    let mut renames: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (function, d) in declared {
        let mut renamed = BTreeMap::new();
        for (name, schema) in &d.schemas {
            match schemas.get(name) {
                Some(existing) if existing != schema => {
                    renamed.insert(name.clone(), format!("{function}.{name}"));
                }
                _ => {
                    schemas.insert(name.clone(), schema.clone());
                }
            }
        }
        renames.insert(function, renamed);
    }
    for (function, d) in declared {
        let renamed = &renames[function.as_str()];
        for (old, new) in renamed {
            let mut schema = d.schemas.get(old).cloned().unwrap_or(Value::Null);
            rewrite_refs(&mut schema, renamed);
            schemas.insert(new.clone(), schema);
        }
        if !renamed.is_empty() {
            for name in d.schemas.keys().filter(|n| !renamed.contains_key(*n)) {
                if let Some(schema) = schemas.get_mut(name) {
                    rewrite_refs(schema, renamed);
                }
            }
        }
    }
    for spec in routes {
        let IntegrationSpec::Function(function) = &spec.integration else {
            continue;
        };
        let Some(route) = declared
            .get(function)
            .and_then(|d| d.routes.get(&spec.key.to_string()))
        else {
            continue;
        };
        let mut route = route.clone();
        rewrite_refs(&mut route, &renames[function.as_str()]);
        let Some((path, methods)) = operations(spec) else {
            continue;
        };
        for method in methods {
            let Some(operation) = doc
                .pointer_mut(&format!("/paths/{}/{method}", pointer_escape(&path)))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            apply(operation, &route);
        }
    }
    if !schemas.is_empty() {
        if !doc["components"].is_object() {
            doc["components"] = json!({});
        }
        doc["components"]["schemas"] = Value::Object(schemas);
    }
}

/// One route's declaration onto its operation.
fn apply(operation: &mut Map<String, Value>, route: &Value) {
    for field in ["summary", "description"] {
        if let Some(text) = route.get(field).filter(|v| v.is_string()) {
            operation.insert(field.into(), text.clone());
        }
    }
    if let Some(schema) = route.get("request").filter(|v| v.is_object()) {
        operation.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": { "schema": schema } } }),
        );
    }
    if let Some(declared) = route.get("responses").and_then(Value::as_object) {
        let responses = operation.entry("responses").or_insert_with(|| json!({}));
        let Some(responses) = responses.as_object_mut() else {
            return;
        };
        for (status, answer) in declared {
            let description = answer
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let mut response = json!({ "description": description });
            if let Some(schema) = answer.get("schema").filter(|v| v.is_object()) {
                response["content"] = json!({ "application/json": { "schema": schema } });
            }
            responses.insert(status.clone(), response);
        }
    }
}

/// A JSON pointer token: `~` → `~0`, `/` → `~1`.
fn pointer_escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_checked() {
        assert!(Declared::parse(br#"{"portico_api":1}"#).is_ok());
        assert!(
            Declared::parse(br#"{"portico_api":2}"#)
                .unwrap_err()
                .contains("version 2")
        );
        assert!(Declared::parse(b"{").is_err());
        assert!(Declared::parse(br#"{"portico_api":1,"routes":[]}"#).is_err());
    }

    #[test]
    fn clashing_names_are_kept_apart_with_their_references() {
        let a = Declared::parse(
            br##"{"portico_api":1,"schemas":{"Item":{"type":"string"},"List":{"items":{"$ref":"#/components/schemas/Item"}}}}"##,
        )
        .expect("a");
        let b = Declared::parse(
            br##"{"portico_api":1,"schemas":{"Item":{"type":"integer"},"Box":{"properties":{"i":{"$ref":"#/components/schemas/Item"}}}}}"##,
        )
        .expect("b");
        let declared = BTreeMap::from([("a".to_string(), a), ("b".to_string(), b)]);
        let mut doc = json!({ "paths": {} });
        merge(&mut doc, &[], &declared, |_| None);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["Item"]["type"], "string");
        assert_eq!(schemas["b.Item"]["type"], "integer");
        assert_eq!(
            schemas["Box"]["properties"]["i"]["$ref"],
            "#/components/schemas/b.Item"
        );
        assert_eq!(
            schemas["List"]["items"]["$ref"],
            "#/components/schemas/Item"
        );
    }
}
