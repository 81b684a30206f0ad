use crate::Error;
use crate::bindings::portico::edge::http_types::HttpRequestEvent;
use serde::de::DeserializeOwned;

/// Facts about the request that API Gateway puts in `requestContext`.
pub use crate::bindings::portico::edge::http_types::RequestContext;

/// One incoming HTTP request (API Gateway HTTP API payload format 2.0, or 1.0 on a route
/// with `payload = "1.0"`).
///
/// Header names are lower case. In 2.0, repeated headers and repeated query parameters
/// arrive joined with `,` as API Gateway joins them; in 1.0 each value is its own entry
/// ([`Request::header_values`]) and [`Request::header`] gives the last, as API
/// Gateway's 1.0 `headers` map does. Path parameters and query parameters are already
/// URL-decoded. [`Request::to_lambda_event`] renders the exact API Gateway JSON event.
///
/// ```no_run
/// # fn handle(req: portico_guest::Request) {
/// let id = req.path_param("id");
/// let page = req.query("page").unwrap_or("1");
/// let agent = req.header("User-Agent"); // case-insensitive
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    event: HttpRequestEvent,
    method: http::Method,
}

fn lookup<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl Request {
    /// Wraps an event received from the host.
    pub(crate) fn from_event(event: HttpRequestEvent) -> Self {
        // The host only sends methods that parsed as HTTP methods; fall back to GET
        // rather than panic if a foreign host sends garbage.
        let method = http::Method::from_bytes(event.request_context.http.method.as_bytes())
            .unwrap_or(http::Method::GET);
        Request { event, method }
    }

    /// The request method.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// if req.method() == portico_guest::http::Method::POST { /* ... */ }
    /// # }
    /// ```
    pub fn method(&self) -> &http::Method {
        &self.method
    }

    /// The raw path, percent-encoding intact, without the query string (`/hello/w%20x`).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// if req.path().starts_with("/admin") { /* ... */ }
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.event.raw_path
    }

    /// The raw query string without `?` (empty when there is none).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let signed = format!("{}?{}", req.path(), req.raw_query());
    /// # }
    /// ```
    pub fn raw_query(&self) -> &str {
        &self.event.raw_query_string
    }

    /// The route key that matched, e.g. `GET /hello/{name}` or `$default`.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// match req.route_key() {
    ///     "GET /todos" => { /* list */ }
    ///     _ => { /* ... */ }
    /// }
    /// # }
    /// ```
    pub fn route_key(&self) -> &str {
        &self.event.route_key
    }

    /// The value of path parameter `name` (`{name}` or `{name+}` in the route), decoded.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let name = req.path_param("name").unwrap_or("world");
    /// # }
    /// ```
    pub fn path_param(&self, name: &str) -> Option<&str> {
        lookup(&self.event.path_parameters, name)
    }

    /// All path parameters as `(name, value)`.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// for (name, value) in req.path_params() { portico_guest::log::debug(format!("{name}={value}")); }
    /// # }
    /// ```
    pub fn path_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.event
            .path_parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The decoded value of query parameter `name`: in 2.0 repeated parameters are
    /// joined with `,`; in 1.0 the last one (API Gateway's `queryStringParameters`).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let limit: usize = req.query("limit").and_then(|v| v.parse().ok()).unwrap_or(10);
    /// # }
    /// ```
    pub fn query(&self, name: &str) -> Option<&str> {
        if self.is_v1() {
            self.event
                .query_string_parameters
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        } else {
            lookup(&self.event.query_string_parameters, name)
        }
    }

    /// All query parameters as `(name, value)`.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let filters: Vec<(&str, &str)> = req.query_params().filter(|(k, _)| k.starts_with("f.")).collect();
    /// # }
    /// ```
    pub fn query_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.event
            .query_string_parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of header `name` (case-insensitive): in 2.0 repeated headers are joined
    /// with `,`; in 1.0 the last one (API Gateway's `headers`).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let ct = req.header("content-type").unwrap_or("application/octet-stream");
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .event
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        if self.is_v1() {
            values.next_back()
        } else {
            values.next()
        }
    }

    /// Every value of header `name` (case-insensitive): one in 2.0 (joined), each one
    /// in 1.0 (API Gateway's `multiValueHeaders`).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let forwarded: Vec<&str> = req.header_values("x-forwarded-for").collect();
    /// # }
    /// ```
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.event
            .headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The payload format version of the route: `2.0`, or `1.0`.
    pub fn payload_version(&self) -> &str {
        &self.event.version
    }

    pub(crate) fn is_v1(&self) -> bool {
        self.event.version == "1.0"
    }

    pub(crate) fn event(&self) -> &HttpRequestEvent {
        &self.event
    }

    /// All headers as `(lower-case name, value)`.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let custom = req.headers().filter(|(k, _)| k.starts_with("x-")).count();
    /// # }
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.event
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The cookies sent by the client, each as `name=value`.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let count = req.cookies().len();
    /// # }
    /// ```
    pub fn cookies(&self) -> &[String] {
        &self.event.cookies
    }

    /// The value of cookie `name`, if the client sent it.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let session = req.cookie("session");
    /// # }
    /// ```
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.event.cookies.iter().find_map(|c| {
            let (k, v) = c.split_once('=')?;
            (k.trim() == name).then(|| v.trim())
        })
    }

    /// The value of stage variable `name` from the manifest.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let table = req.stage_variable("table").unwrap_or("todos");
    /// # }
    /// ```
    pub fn stage_variable(&self, name: &str) -> Option<&str> {
        lookup(&self.event.stage_variables, name)
    }

    /// All stage variables as `(name, value)`.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let vars: std::collections::BTreeMap<_, _> = req.stage_variables().collect();
    /// # }
    /// ```
    pub fn stage_variables(&self) -> impl Iterator<Item = (&str, &str)> {
        self.event
            .stage_variables
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The unique id of this request (also sent to the client as `apigw-requestid`).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// portico_guest::log::info(format!("handling {}", req.request_id()));
    /// # }
    /// ```
    pub fn request_id(&self) -> &str {
        &self.event.request_context.request_id
    }

    /// The claims of the caller's JWT, as `(claim, value)`, when the route has a JWT
    /// authorizer (`auth = "NAME"` in the manifest); none otherwise. String claims are
    /// as they are; any other value is JSON text (`42`, `["admin","users"]`).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// for (claim, value) in req.claims() {
    ///     portico_guest::log::info(format!("{claim} = {value}"));
    /// }
    /// # }
    /// ```
    pub fn claims(&self) -> impl Iterator<Item = (&str, &str)> {
        self.event
            .request_context
            .authorizer
            .iter()
            .flat_map(|a| a.jwt_claims.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// One claim of the caller's JWT (see [`Request::claims`]).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let user = req.claim("sub").unwrap_or("anonymous");
    /// let groups: Vec<String> = req
    ///     .claim("cognito:groups")
    ///     .and_then(|g| serde_json::from_str(g).ok())
    ///     .unwrap_or_default();
    /// # }
    /// ```
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.event
            .request_context
            .authorizer
            .as_ref()
            .and_then(|a| lookup(&a.jwt_claims, name))
    }

    /// The OAuth scopes of the caller's JWT (`scope`, or `scp`); empty without one.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let may_write = req.scopes().iter().any(|s| s == "todos/write");
    /// # }
    /// ```
    pub fn scopes(&self) -> &[String] {
        self.event
            .request_context
            .authorizer
            .as_ref()
            .map_or(&[], |a| a.jwt_scopes.as_slice())
    }

    /// The `context` the route's custom authorizer returned (`type = "request"` in the
    /// manifest; API Gateway's `requestContext.authorizer.lambda`); empty without one.
    /// Asked of the host on each call.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let context = req.authorizer_context();
    /// let owner = context.get("owner").and_then(|o| o.as_str()).unwrap_or("nobody");
    /// # }
    /// ```
    pub fn authorizer_context(&self) -> serde_json::Map<String, serde_json::Value> {
        crate::bindings::portico::edge::authorization::lambda_context()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// The id of the API key the request carried, on a route with
    /// `api_key_required = true` (API Gateway's `requestContext.identity.apiKeyId`);
    /// `None` elsewhere. The key's value is never given to a function.
    pub fn api_key_id(&self) -> Option<String> {
        crate::bindings::portico::edge::authorization::api_key_id()
    }

    /// The whole request context.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let client_ip = &req.context().http.source_ip;
    /// let stage = &req.context().stage;
    /// # }
    /// ```
    pub fn context(&self) -> &RequestContext {
        &self.event.request_context
    }

    /// The body as raw bytes (empty when there is none).
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let is_empty = req.body().is_empty();
    /// # }
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.event.body
    }

    /// The body as UTF-8 text.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) -> Result<(), portico_guest::Error> {
    /// let text = req.text()?;
    /// # Ok(()) }
    /// ```
    pub fn text(&self) -> Result<&str, Error> {
        Ok(std::str::from_utf8(&self.event.body)?)
    }

    /// The body parsed as JSON into `T`.
    ///
    /// ```no_run
    /// #[derive(serde::Deserialize)]
    /// struct NewTodo { title: String }
    /// # fn f(req: portico_guest::Request) -> Result<(), portico_guest::Error> {
    /// let todo: NewTodo = req.json()?;
    /// # Ok(()) }
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_slice(&self.event.body)?)
    }

    /// Takes the body out of the request without copying it.
    ///
    /// ```no_run
    /// # fn f(req: portico_guest::Request) {
    /// let upload: Vec<u8> = req.into_body();
    /// # }
    /// ```
    pub fn into_body(self) -> Vec<u8> {
        self.event.body
    }
}
