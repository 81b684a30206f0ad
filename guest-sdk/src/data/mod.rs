//! Typed access to Portico's DynamoDB-shaped tables.
//!
//! Open a [`Table`] by name (the function's manifest entry must list it), then build a
//! request — [`get`](Table::get), [`put`](Table::put), [`update`](Table::update),
//! [`delete`](Table::delete), [`query`](Table::query), [`scan`](Table::scan), or across
//! tables [`batch_get`], [`batch_write`], [`transact_get`], [`transact_write`] — and
//! `send` it. The same calls run on the embedded store and on DynamoDB.
//!
//! Items go in as anything `Serialize` that is a map (your structs, an [`Item`], a JSON
//! object) and come out as an [`Item`] or, with `send_as`, as your own types. The
//! [item format](mod@format) maps serde's data model onto DynamoDB's ten types; numbers stay
//! exact with [`Number`], and [`StringSet`], [`NumberSet`], [`BinarySet`] store sets.
//!
//! Conditions, filters and updates are built from paths — [`attr`]`("status").eq("open")`,
//! [`Update::new`]`().add("views", 1)` — and sent with generated placeholders, so
//! DynamoDB's reserved words never get in the way. Hand-written expressions work too:
//! `.condition_expr("attribute_not_exists(#k)").name("#k", "id")`.
//!
//! ```no_run
//! use portico_guest::data::{Table, attr, key};
//! use portico_guest::{Request, Response};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Todo {
//!     id: String,
//!     title: String,
//!     done: bool,
//! }
//!
//! fn handle(req: Request) -> Result<Response, portico_guest::Error> {
//!     let todos = Table::open("todos")?;
//!     let todo: Todo = req.json()?;
//!     todos.put(&todo).condition(attr("id").not_exists()).send()?;
//!     let stored: Option<Todo> = todos.get(key("id", todo.id.as_str())).send_as()?;
//!     Response::ok().json(&stored)
//! }
//! # portico_guest::export!(handle);
//! ```

pub mod bytes;
mod describe;
mod document;
mod error;
mod expr;
pub mod format;
mod item;
pub mod model;
mod number;
mod ops;
mod set;
mod table;
mod value;

pub use describe::{
    IndexDescription, KeyAttribute, KeySchema, KeyType, Projection, TableDescription,
};
pub use error::{CancellationReason, Error};
pub use expr::condition::{Condition, IntoOperand, Operand, Size};
pub use expr::path::{Path, attr};
pub use expr::placeholders::Expression;
pub use expr::update::Update;
pub use format::{from_item, from_value, to_item, to_value};
pub use item::{Item, key};
pub use number::{MAX_DIGITS, Number};
pub use ops::{
    BatchGet, BatchGetOutput, BatchWrite, ConditionCheck, Delete, Get, Page, Pages, Put, Query,
    ReturnValues, Scan, TransactGet, TransactWrite, UpdateItem,
};
pub use set::{BinarySet, NumberSet, StringSet};
pub use table::Table;
pub use value::{Value, ValueType};

/// A `BatchGetItem` request: up to 100 keys across tables.
///
/// ```no_run
/// # use portico_guest::data::{Table, batch_get, key};
/// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
/// let out = batch_get().get(t, key("id", "1")).get(t, key("id", "2")).send()?;
/// # Ok(()) }
/// ```
pub fn batch_get() -> BatchGet {
    BatchGet::new()
}

/// A `BatchWriteItem` request: up to 25 puts and deletes across tables.
///
/// ```no_run
/// # use portico_guest::data::{Table, batch_write, key};
/// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
/// let unprocessed = batch_write().put(t, key("id", "1")).delete(t, key("id", "2")).send()?;
/// # Ok(()) }
/// ```
pub fn batch_write() -> BatchWrite {
    BatchWrite::new()
}

/// A `TransactGetItems` request: up to 100 reads from one snapshot.
///
/// ```no_run
/// # use portico_guest::data::{Table, transact_get, key};
/// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
/// let items = transact_get().get(t.get(key("id", "1"))).send()?;
/// # Ok(()) }
/// ```
pub fn transact_get() -> TransactGet {
    TransactGet::new()
}

/// A `TransactWriteItems` request: up to 100 writes, all or nothing.
///
/// ```no_run
/// # use portico_guest::data::{Table, transact_write, key, attr};
/// # fn f(t: &Table) -> Result<(), portico_guest::data::Error> {
/// transact_write()
///     .put(t.put(key("id", "1")).condition(attr("id").not_exists()))
///     .delete(t.delete(key("id", "2")))
///     .send()?;
/// # Ok(()) }
/// ```
pub fn transact_write() -> TransactWrite {
    TransactWrite::new()
}
