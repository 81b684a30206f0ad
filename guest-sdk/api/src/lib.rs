//! # portico-api
//!
//! Declares what a Portico function's routes take and answer, for the host's OpenAPI
//! document: summaries, and request and response schemas derived by
//! [schemars](https://docs.rs/schemars) from your serde types. The declaration is made in
//! the function's **build script** (where schemars can run) and carried in a custom
//! section of the component, which the host reads at load without running the guest.
//!
//! ```no_run
//! // build.rs, with `portico-api`, `schemars` and `serde` as build-dependencies. The
//! // types are usually the function's own, shared with it through
//! // `#[path = "src/model.rs"] mod model;` (see examples/todo).
//! use schemars::JsonSchema;
//!
//! #[derive(JsonSchema)]
//! struct NewTodo {
//!     title: String,
//! }
//!
//! #[derive(JsonSchema)]
//! struct Todo {
//!     id: String,
//!     title: String,
//! }
//!
//! fn main() {
//!     portico_api::Api::new()
//!         .route("POST /todos", |r| {
//!             r.summary("Create a todo")
//!                 .request::<NewTodo>()
//!                 .response::<Todo>(201, "The new todo")
//!         })
//!         .write()
//!         .expect("OUT_DIR/portico-api.json");
//! }
//! ```
//!
//! and in the function, `portico_guest::api_section!();` embeds the file.
//!
//! ## The section, for other languages
//!
//! A custom section named `portico-api` in the component (or in a core module inside it:
//! the host looks in both), holding UTF-8 JSON:
//!
//! ```json
//! {
//!   "portico_api": 1,
//!   "routes": {
//!     "POST /todos": {
//!       "summary": "Create a todo",
//!       "description": "optional, CommonMark",
//!       "request": { "$ref": "#/components/schemas/NewTodo" },
//!       "responses": { "201": { "description": "The new todo", "schema": { "$ref": "#/components/schemas/Todo" } } }
//!     }
//!   },
//!   "schemas": { "NewTodo": { "type": "object", "...": "..." }, "Todo": { "...": "..." } }
//! }
//! ```
//!
//! Route keys are the manifest's (`METHOD /path`); schemas are JSON Schema 2020-12 (what
//! OpenAPI 3.1 uses), with references into `#/components/schemas/`. Every field but
//! `portico_api` is optional; the host ignores routes the manifest does not lead to this
//! function, and a section over 1 MiB or that is not this JSON (with a warning).

#![warn(missing_docs)]

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// The custom section's name.
pub const SECTION: &str = "portico-api";
/// The file [`Api::write`] writes in `OUT_DIR`, which `portico_guest::api_section!`
/// embeds.
pub const FILE: &str = "portico-api.json";
/// The format's version.
pub const VERSION: u32 = 1;

/// A function's declared routes.
pub struct Api {
    routes: Map<String, Value>,
    generator: SchemaGenerator,
}

impl Default for Api {
    fn default() -> Self {
        Api::new()
    }
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("routes", &self.routes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One route's declaration, built by [`Api::route`]'s closure.
pub struct Route<'a> {
    doc: Map<String, Value>,
    generator: &'a mut SchemaGenerator,
}

impl Route<'_> {
    /// A one-line summary.
    #[must_use]
    pub fn summary(mut self, text: &str) -> Self {
        self.doc.insert("summary".into(), json!(text));
        self
    }

    /// A longer description (CommonMark).
    #[must_use]
    pub fn description(mut self, text: &str) -> Self {
        self.doc.insert("description".into(), json!(text));
        self
    }

    /// The JSON request body is a `T`.
    #[must_use]
    pub fn request<T: JsonSchema>(mut self) -> Self {
        let schema = self.generator.subschema_for::<T>().to_value();
        self.doc.insert("request".into(), schema);
        self
    }

    /// An answer with `status` whose JSON body is a `T`.
    #[must_use]
    pub fn response<T: JsonSchema>(self, status: u16, description: &str) -> Self {
        let schema = self.generator.subschema_for::<T>().to_value();
        self.answer(status, description, Some(schema))
    }

    /// An answer with `status` and no body (or one not worth a schema).
    #[must_use]
    pub fn status(self, status: u16, description: &str) -> Self {
        self.answer(status, description, None)
    }

    fn answer(mut self, status: u16, description: &str, schema: Option<Value>) -> Self {
        let responses = self
            .doc
            .entry("responses")
            .or_insert_with(|| Value::Object(Map::new()));
        let mut answer = json!({ "description": description });
        if let Some(schema) = schema {
            answer["schema"] = schema;
        }
        if let Value::Object(responses) = responses {
            responses.insert(status.to_string(), answer);
        }
        self
    }
}

impl Api {
    /// No routes yet.
    pub fn new() -> Api {
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        });
        Api {
            routes: Map::new(),
            generator: settings.into_generator(),
        }
    }

    /// Declares route `key` (as the manifest writes it: `POST /todos`).
    #[must_use]
    pub fn route(mut self, key: &str, build: impl FnOnce(Route<'_>) -> Route<'_>) -> Api {
        let route = build(Route {
            doc: Map::new(),
            generator: &mut self.generator,
        });
        self.routes
            .insert(key.to_string(), Value::Object(route.doc));
        self
    }

    /// The section's JSON.
    pub fn to_json(&mut self) -> String {
        let schemas = self.generator.take_definitions(true);
        let doc = json!({
            "portico_api": VERSION,
            "routes": self.routes,
            "schemas": schemas,
        });
        // The definitions stay with the generator for a second call.
        for (name, schema) in schemas_of(&doc) {
            self.generator.definitions_mut().insert(name, schema);
        }
        doc.to_string()
    }

    /// Writes the section's JSON to `OUT_DIR/portico-api.json` (from a build script);
    /// returns the path.
    pub fn write(mut self) -> std::io::Result<PathBuf> {
        let dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
            std::io::Error::other("OUT_DIR is not set: call Api::write from a build script")
        })?;
        let path = PathBuf::from(dir).join(FILE);
        std::fs::write(&path, self.to_json())?;
        Ok(path)
    }
}

fn schemas_of(doc: &Value) -> Vec<(String, Value)> {
    doc["schemas"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct NewTodo {
        /// What to do.
        title: String,
    }

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Todo {
        id: String,
        title: String,
        version: u64,
    }

    #[test]
    fn routes_carry_summaries_and_schemas_by_reference() {
        let mut api = Api::new()
            .route("POST /todos", |r| {
                r.summary("Create a todo")
                    .request::<NewTodo>()
                    .response::<Todo>(201, "The new todo")
                    .status(400, "A bad title")
            })
            .route("GET /todos/{id}", |r| r.response::<Todo>(200, "The todo"));
        let doc: Value = serde_json::from_str(&api.to_json()).expect("JSON");
        assert_eq!(doc["portico_api"], 1);
        let post = &doc["routes"]["POST /todos"];
        assert_eq!(post["summary"], "Create a todo");
        assert_eq!(post["request"]["$ref"], "#/components/schemas/NewTodo");
        assert_eq!(
            post["responses"]["201"]["schema"]["$ref"],
            "#/components/schemas/Todo"
        );
        assert!(post["responses"]["400"].get("schema").is_none());
        let todo = &doc["schemas"]["Todo"];
        assert_eq!(todo["type"], "object");
        assert_eq!(todo["properties"]["version"]["type"], "integer");
        assert_eq!(
            doc["schemas"]["NewTodo"]["properties"]["title"]["description"],
            "What to do."
        );
        // A second rendering is the same.
        assert_eq!(
            serde_json::from_str::<Value>(&api.to_json()).expect("JSON"),
            doc
        );
    }
}
