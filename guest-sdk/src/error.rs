use std::fmt;

/// What can go wrong while reading a request or building a response.
#[derive(Debug)]
pub enum Error {
    /// The body was not the JSON the handler asked for, or a value could not be serialised.
    Json(serde_json::Error),
    /// The body was not UTF-8 text.
    NotUtf8(std::str::Utf8Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Json(e) => write!(f, "invalid JSON: {e}"),
            Error::NotUtf8(e) => write!(f, "body is not UTF-8: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Json(e) => Some(e),
            Error::NotUtf8(e) => Some(e),
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
