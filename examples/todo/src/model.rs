//! The todo API's types: what it stores, takes and answers. Shared with `build.rs`,
//! which declares the routes' schemas from them.

use portico_guest::data::model::Model;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The longest title, in bytes.
pub const MAX_TITLE: usize = 1000;

/// A todo as stored and as returned: a model of table `todos`, keyed by `id`, listed by
/// status through `by_status`. No entity attribute: the table holds todos only, and
/// items stored before the port to models read as they are.
#[derive(Debug, Serialize, Deserialize, JsonSchema, Model)]
#[model(table = "todos", pk = "id", no_entity)]
#[model(index(name = "by_status", pk = "status", sk = "created"))]
pub struct Todo {
    pub id: String,
    #[model(validate(with = title_ok))]
    pub title: String,
    pub status: Status,
    /// Creation time, epoch milliseconds (the `by_status` index's sort key).
    #[model(created_at)]
    pub created: u64,
    /// Incremented by every update; a PATCH must name the version it read.
    pub version: u64,
}

/// A title is 1 to [`MAX_TITLE`] bytes, not only blanks.
pub fn title_ok(title: &str) -> Result<(), String> {
    if title.trim().is_empty() || title.len() > MAX_TITLE {
        return Err(format!("title must be 1 to {MAX_TITLE} bytes"));
    }
    Ok(())
}

/// Whether it is still to do.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Done,
}

/// A new todo.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTodo {
    pub title: String,
}

/// A change to a todo, naming the version it was read at.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub version: u64,
    pub title: Option<String>,
    pub status: Option<Status>,
}

/// A page of todos.
#[derive(Serialize, JsonSchema)]
pub struct List {
    pub items: Vec<Todo>,
    pub next_cursor: Option<String>,
}
