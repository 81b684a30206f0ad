//! A todo API on a Portico table: create, read, update, delete and list.
//!
//! - `POST /todos` with `{"title": "..."}` → 201 and the new todo.
//! - `GET /todos/{id}` → the todo, or 404.
//! - `PATCH /todos/{id}` with `{"version": N, "title"?: "...", "status"?: "open"|"done"}`
//!   → the updated todo; 409 (with the current todo) when `version` is not the stored
//!   one: optimistic concurrency through a condition expression.
//! - `DELETE /todos/{id}` → 204, or 404.
//! - `GET /todos?status=open&limit=20&cursor=...` → `{"items": [...], "next_cursor": ...}`,
//!   newest first, through the `by_status` global secondary index; without `status`, a
//!   scan of the table. Pass `next_cursor` back as `cursor` for the next page.

use portico_guest::data::model::{self as models, ModelExt};
use portico_guest::data::{self, key};
use portico_guest::http::StatusCode;
use portico_guest::{Request, Response};

mod model;
use model::{List, NewTodo, Patch, Status, Todo};

// Summaries and schemas for the OpenAPI document, declared in build.rs.
portico_guest::api_section!();

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// A failed request: its status and a message for the client.
struct Problem {
    status: StatusCode,
    body: serde_json::Value,
}

impl Problem {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: serde_json::json!({ "message": message.into() }),
        }
    }

    fn into_response(self) -> Response {
        Response::new(self.status)
            .json(&self.body)
            .unwrap_or_else(|_| Response::new(self.status))
    }
}

impl From<portico_guest::Error> for Problem {
    fn from(error: portico_guest::Error) -> Self {
        match error {
            portico_guest::Error::Data(error) => error.into(),
            other => Problem::new(StatusCode::BAD_REQUEST, other.to_string()),
        }
    }
}

impl From<models::Error> for Problem {
    fn from(error: models::Error) -> Self {
        match error {
            models::Error::Data(error) => error.into(),
            models::Error::Validation { message, .. } => {
                Problem::new(StatusCode::BAD_REQUEST, message)
            }
            other => {
                portico_guest::log::error(format!("model call failed: {other}"));
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string())
            }
        }
    }
}

impl From<data::Error> for Problem {
    fn from(error: data::Error) -> Self {
        let status = match &error {
            data::Error::Validation(_) => StatusCode::BAD_REQUEST,
            e if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        portico_guest::log::error(format!("data call failed: {error}"));
        Problem::new(status, error.to_string())
    }
}

type Result<T> = std::result::Result<T, Problem>;

fn handle(req: Request) -> Response {
    let id = req.path_param("id").map(str::to_owned);
    let result = match (req.route_key(), id) {
        ("POST /todos", _) => create(&req),
        ("GET /todos", _) => list(&req),
        ("GET /todos/{id}", Some(id)) => read(&id),
        ("PATCH /todos/{id}", Some(id)) => patch(&req, &id),
        ("DELETE /todos/{id}", Some(id)) => delete(&id),
        _ => Err(Problem::new(StatusCode::NOT_FOUND, "Not Found")),
    };
    result.unwrap_or_else(Problem::into_response)
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Result<Response> {
    Ok(Response::new(status).json(value)?)
}

fn create(req: &Request) -> Result<Response> {
    let new: NewTodo = req.json()?;
    let mut todo = Todo {
        // Request ids are unique, so they make good item ids.
        id: req.request_id().to_owned(),
        title: new.title,
        status: Status::Open,
        created: 0,
        version: 1,
    };
    // Validates the title, stamps `created`, and fails if the id exists.
    Todo::create(&mut todo)?;
    Ok(json(StatusCode::CREATED, &todo)?.header("location", format!("/todos/{}", todo.id)))
}

fn read(id: &str) -> Result<Response> {
    match Todo::get(Todo::key(id))? {
        Some(todo) => json(StatusCode::OK, &todo),
        None => Err(Problem::new(StatusCode::NOT_FOUND, "no such todo")),
    }
}

fn patch(req: &Request, id: &str) -> Result<Response> {
    let patch: Patch = req.json()?;
    let f = Todo::fields();
    let mut update = Todo::update(Todo::key(id))
        .set(f.version.clone(), patch.version + 1)
        .condition(f.version.eq(patch.version))
        .return_old_on_condition_failure();
    if let Some(title) = patch.title {
        update = update.set(f.title, title);
    }
    if let Some(status) = patch.status {
        update = update.set(f.status, status);
    }
    match update.send_returning() {
        Ok(todo) => json(StatusCode::OK, &todo),
        // The item is missing: nothing to update.
        Err(models::Error::Data(data::Error::ConditionalCheckFailed(None))) => {
            Err(Problem::new(StatusCode::NOT_FOUND, "no such todo"))
        }
        // Someone else updated it first: answer with what is stored now.
        Err(models::Error::Data(data::Error::ConditionalCheckFailed(Some(current)))) => {
            let current = Todo::from_item(current)?;
            Err(Problem {
                status: StatusCode::CONFLICT,
                body: serde_json::json!({
                    "message": format!("version {} is stale", patch.version),
                    "current": current,
                }),
            })
        }
        Err(other) => Err(other.into()),
    }
}

fn delete(id: &str) -> Result<Response> {
    match Todo::delete(Todo::key(id))? {
        Some(_) => Ok(Response::new(StatusCode::NO_CONTENT)),
        None => Err(Problem::new(StatusCode::NOT_FOUND, "no such todo")),
    }
}

fn list(req: &Request) -> Result<Response> {
    let limit = match req.query("limit") {
        None => DEFAULT_PAGE,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("limit must be 1 to {MAX_PAGE}"),
                ));
            }
        },
    };
    let status = match req.query("status") {
        None => None,
        Some("open") => Some(Status::Open),
        Some("done") => Some(Status::Done),
        Some(_) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "status must be open or done",
            ));
        }
    };
    let cursor = req.query("cursor").map(Cursor::decode).transpose()?;
    let page = match status {
        Some(status) => {
            // The model picks `by_status` from the condition on `status`.
            let mut query = Todo::query()
                .eq(Todo::fields().status, status)
                .reverse()
                .limit(limit);
            if let Some(cursor) = cursor {
                query = query.start_after(cursor.index_key(status)?);
            }
            query.send()?
        }
        None => {
            let mut scan = Todo::scan().limit(limit);
            if let Some(cursor) = cursor {
                scan = scan.start_after(key("id", cursor.id.as_str()));
            }
            scan.send()?
        }
    };
    let next_cursor = page
        .last_evaluated_key
        .as_ref()
        .map(Cursor::from_key)
        .transpose()?
        .map(|c| c.encode());
    json(
        StatusCode::OK,
        &List {
            items: page.items,
            next_cursor,
        },
    )
}

/// Where the next page of a list starts: the last item's id and creation time, as hex
/// (so it is URL-safe without encoding).
struct Cursor {
    id: String,
    created: Option<u64>,
}

impl Cursor {
    fn from_key(key: &data::Item) -> Result<Self> {
        let id = key.get_s("id").ok_or_else(|| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "paging key without id")
        })?;
        let created = key.get_n("created").and_then(|n| n.parse::<u64>().ok());
        Ok(Self {
            id: id.to_owned(),
            created,
        })
    }

    fn encode(&self) -> String {
        let text = match self.created {
            Some(created) => format!("{created}:{}", self.id),
            None => format!(":{}", self.id),
        };
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn decode(hex: &str) -> Result<Self> {
        let invalid = || Problem::new(StatusCode::BAD_REQUEST, "invalid cursor");
        if !hex.len().is_multiple_of(2) {
            return Err(invalid());
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(invalid)?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (created, id) = text.split_once(':').ok_or_else(invalid)?;
        let created = match created {
            "" => None,
            n => Some(n.parse().map_err(|_| invalid())?),
        };
        Ok(Self {
            id: id.to_owned(),
            created,
        })
    }

    /// The index key to start after: the table key plus the index key.
    fn index_key(self, status: Status) -> Result<data::Item> {
        let created = self.created.ok_or_else(|| {
            Problem::new(StatusCode::BAD_REQUEST, "cursor is not from a status list")
        })?;
        Ok(key("id", self.id.as_str())
            .with("status", data::to_value(&status)?)
            .with("created", created))
    }
}

portico_guest::export!(handle);
