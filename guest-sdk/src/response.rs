use crate::Error;
use crate::bindings::portico::edge::http_types::HttpResponse;
use http::StatusCode;
use serde::Serialize;

/// An HTTP response under construction.
///
/// ```no_run
/// use portico_guest::{Response, http::StatusCode};
/// # fn f() -> Result<Response, portico_guest::Error> {
/// let created = Response::new(StatusCode::CREATED)
///     .header("location", "/todos/1")
///     .cookie("seen=1; Path=/; HttpOnly")
///     .json(&serde_json::json!({ "id": 1 }))?;
/// # Ok(created) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: StatusCode,
    headers: Vec<(String, String)>,
    cookies: Vec<String>,
    body: Vec<u8>,
}

impl Response {
    /// An empty response with `status`.
    ///
    /// ```no_run
    /// let accepted = portico_guest::Response::new(portico_guest::http::StatusCode::ACCEPTED);
    /// ```
    pub fn new(status: StatusCode) -> Self {
        Response {
            status,
            headers: Vec::new(),
            cookies: Vec::new(),
            body: Vec::new(),
        }
    }

    /// An empty `200 OK`.
    ///
    /// ```no_run
    /// let r = portico_guest::Response::ok().text("hi");
    /// ```
    pub fn ok() -> Self {
        Self::new(StatusCode::OK)
    }

    /// An empty `404 Not Found`.
    ///
    /// ```no_run
    /// let missing = portico_guest::Response::not_found().text("no such todo");
    /// ```
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND)
    }

    /// Changes the status.
    ///
    /// ```no_run
    /// use portico_guest::{Response, http::StatusCode};
    /// let r = Response::ok().with_status(StatusCode::CONFLICT);
    /// ```
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds a header. Adding the same name twice sends it twice.
    ///
    /// ```no_run
    /// let r = portico_guest::Response::ok().header("cache-control", "no-store");
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a cookie, sent as one `set-cookie` header (`name=value; attributes`).
    ///
    /// ```no_run
    /// let r = portico_guest::Response::ok().cookie("session=abc; Path=/; HttpOnly; Secure");
    /// ```
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookies.push(cookie.into());
        self
    }

    /// Sets a raw body (no content type is added).
    ///
    /// ```no_run
    /// let png: Vec<u8> = vec![0x89, b'P', b'N', b'G'];
    /// let r = portico_guest::Response::ok().header("content-type", "image/png").bytes(png);
    /// ```
    pub fn bytes(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a text body with `content-type: text/plain; charset=utf-8`.
    ///
    /// ```no_run
    /// let r = portico_guest::Response::ok().text("pong");
    /// ```
    pub fn text(self, body: impl Into<String>) -> Self {
        self.content_type("text/plain; charset=utf-8")
            .bytes(body.into().into_bytes())
    }

    /// Sets an HTML body with `content-type: text/html; charset=utf-8`.
    ///
    /// ```no_run
    /// let r = portico_guest::Response::ok().html("<!doctype html><p>hi</p>");
    /// ```
    pub fn html(self, body: impl Into<String>) -> Self {
        self.content_type("text/html; charset=utf-8")
            .bytes(body.into().into_bytes())
    }

    /// Serialises `value` as the JSON body with `content-type: application/json`.
    ///
    /// ```no_run
    /// # fn f() -> Result<portico_guest::Response, portico_guest::Error> {
    /// portico_guest::Response::ok().json(&serde_json::json!({ "ok": true }))
    /// # }
    /// ```
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(value)?;
        Ok(self.content_type("application/json").bytes(body))
    }

    fn content_type(mut self, value: &str) -> Self {
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        self.header("content-type", value)
    }

    /// The status.
    ///
    /// ```no_run
    /// assert_eq!(portico_guest::Response::ok().status(), 200);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers added so far.
    ///
    /// ```no_run
    /// let r = portico_guest::Response::ok().header("x-a", "1");
    /// assert_eq!(r.headers().len(), 1);
    /// ```
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body set so far.
    ///
    /// ```no_run
    /// assert_eq!(portico_guest::Response::ok().text("hi").body(), b"hi");
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub(crate) fn into_wit(self) -> HttpResponse {
        HttpResponse {
            status: self.status.as_u16(),
            headers: self.headers,
            cookies: self.cookies,
            body: self.body,
        }
    }
}

/// Anything a handler may return.
///
/// `Err(e)` is logged by the host with the request id and answered with HTTP 500
/// `{"message":"Internal Server Error"}`; the message never reaches the client.
pub trait IntoResponse {
    /// Converts into a response, or the error text for the host's log.
    ///
    /// ```no_run
    /// use portico_guest::{IntoResponse, Response};
    /// assert!(Response::ok().into_response().is_ok());
    /// ```
    fn into_response(self) -> Result<Response, String>;
}

impl IntoResponse for Response {
    fn into_response(self) -> Result<Response, String> {
        Ok(self)
    }
}

impl<E: std::fmt::Display> IntoResponse for Result<Response, E> {
    fn into_response(self) -> Result<Response, String> {
        self.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_sets_content_type_once() {
        let r = Response::ok()
            .header("Content-Type", "text/html")
            .json(&[1, 2])
            .expect("serialises");
        let ct: Vec<_> = r
            .headers()
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .collect();
        assert_eq!(
            ct,
            [&("content-type".to_string(), "application/json".to_string())]
        );
        assert_eq!(r.body(), b"[1,2]");
    }

    #[test]
    fn error_results_become_host_errors() {
        let r: Result<Response, &str> = Err("boom");
        assert_eq!(r.into_response(), Err("boom".to_string()));
    }
}
