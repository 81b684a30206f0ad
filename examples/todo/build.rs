//! Declares the todo routes' summaries and schemas (from the serde types in
//! `src/model.rs`) for the host's OpenAPI document; `lib.rs` embeds them with
//! `portico_guest::api_section!()`.

#[path = "src/model.rs"]
#[allow(dead_code)]
mod model;

use model::{List, NewTodo, Patch, Todo};

fn main() {
    println!("cargo::rerun-if-changed=src/model.rs");
    println!("cargo::rerun-if-changed=build.rs");
    let written = portico_api::Api::new()
        .route("POST /todos", |r| {
            r.summary("Create a todo")
                .request::<NewTodo>()
                .response::<Todo>(201, "The new todo, open, at version 1")
                .status(400, "Not JSON, or a title empty or over 1000 bytes")
        })
        .route("GET /todos", |r| {
            r.summary("List todos, newest first")
                .description(
                    "`status=open|done` lists through the `by_status` index; `limit` (1 to 100, \
                     default 20) and `cursor` (a page's `next_cursor`) page through them.",
                )
                .response::<List>(200, "A page of todos")
        })
        .route("GET /todos/{id}", |r| {
            r.summary("Read a todo")
                .response::<Todo>(200, "The todo")
                .status(404, "No todo with that id")
        })
        .route("PATCH /todos/{id}", |r| {
            r.summary("Change a todo's title or status")
                .request::<Patch>()
                .response::<Todo>(200, "The updated todo, one version on")
                .response::<Todo>(409, "`version` is not the stored one: the current todo")
                .status(404, "No todo with that id")
        })
        .route("DELETE /todos/{id}", |r| {
            r.summary("Delete a todo")
                .status(204, "Deleted")
                .status(404, "No todo with that id")
        })
        .write();
    if let Err(e) = written {
        panic!("cannot write the API declaration: {e}");
    }
}
