use std::fmt;

/// What can go wrong in a handler: reading the request, using a table, building the
/// response. `?` converts each of these into it.
///
/// ```no_run
/// use portico_guest::{Request, Response, data::{Table, key}};
/// fn handle(req: Request) -> Result<Response, portico_guest::Error> {
///     let todos = Table::open("todos")?;                     // data::Error
///     let id = req.path_param("id").unwrap_or_default();
///     let todo: Option<serde_json::Value> = todos.get(key("id", id)).send_as()?;
///     Response::ok().json(&todo)                             // serde_json::Error
/// }
/// ```
#[derive(Debug)]
pub enum Error {
    /// The body was not the JSON the handler asked for, or a value could not be serialised.
    Json(serde_json::Error),
    /// The body was not UTF-8 text.
    NotUtf8(std::str::Utf8Error),
    /// A data call failed; match on the inner [`crate::data::Error`] for the case.
    Data(crate::data::Error),
    /// A Lambda proxy response API Gateway would refuse
    /// ([`Response::from_lambda`](crate::Response::from_lambda)).
    Lambda(String),
    /// A publish failed; match on the inner [`crate::topics::Error`] for the case.
    Topics(crate::topics::Error),
    /// A model call failed; match on the inner [`crate::data::model::Error`] for the case.
    Model(crate::data::model::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Json(e) => write!(f, "invalid JSON: {e}"),
            Error::NotUtf8(e) => write!(f, "body is not UTF-8: {e}"),
            Error::Data(e) => write!(f, "data: {e}"),
            Error::Lambda(e) => write!(f, "malformed Lambda proxy response: {e}"),
            Error::Topics(e) => write!(f, "publish: {e}"),
            Error::Model(e) => write!(f, "model: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Json(e) => Some(e),
            Error::NotUtf8(e) => Some(e),
            Error::Data(e) => Some(e),
            Error::Model(e) => Some(e),
            Error::Lambda(_) | Error::Topics(_) => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}

impl From<std::str::Utf8Error> for Error {
    fn from(e: std::str::Utf8Error) -> Self {
        Error::NotUtf8(e)
    }
}

impl From<crate::topics::Error> for Error {
    fn from(e: crate::topics::Error) -> Self {
        Error::Topics(e)
    }
}

impl From<crate::data::model::Error> for Error {
    fn from(e: crate::data::model::Error) -> Self {
        Error::Model(e)
    }
}

impl From<crate::data::Error> for Error {
    fn from(e: crate::data::Error) -> Self {
        Error::Data(e)
    }
}
