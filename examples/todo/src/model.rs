//! The todo API's types: what it stores, takes and answers. Shared with `build.rs`,
//! which declares the routes' schemas from them (so they need nothing but serde and
//! schemars).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A todo as stored and as returned.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Todo {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// Creation time, epoch milliseconds (the `by_status` index's sort key).
    pub created: u64,
    /// Incremented by every update; a PATCH must name the version it read.
    pub version: u64,
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
