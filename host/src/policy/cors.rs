//! CORS as API Gateway HTTP APIs do it: `[cors]` in the manifest (and a route's own
//! `cors = { ... }`), compiled once into [`Cors`], which answers preflights itself and
//! rewrites the CORS headers of every function response.
//!
//! Behaviour, after "Configure CORS for HTTP APIs in API Gateway"
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>) and the
//! `Cors` type of the API Gateway V2 API (CloudFormation `AWS::ApiGatewayV2::Api Cors`):
//!
//! - The gateway answers a preflight (`OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`) itself, whether or not an `OPTIONS` route exists; no
//!   function runs. CORS headers are only ever sent to a request that has an `Origin`.
//! - When CORS is configured, the CORS headers a function returns are ignored: [`Cors::apply`]
//!   removes every `access-control-*` header of the function's response and adds the
//!   configured ones.
//! - `allow_credentials = true` with `*` in `allow_origins` is refused, with API Gateway's
//!   reason (it answers `allow-credentials is not supported if 'allow-origin' is *`).
//! - Origins: `*`, exact origins, `scheme://*` (any host of that scheme, as API Gateway's
//!   `https://*`), and `scheme://*.parent` (any subdomain of `parent`, at any depth, not
//!   `parent` itself). A pattern may carry a port, which must then match exactly.
//!
//! Where the documentation is silent:
//!
//! - A preflight from an origin that is not allowed gets `204` with no CORS headers (and
//!   `vary: origin`): API Gateway documents no error for it, and the browser blocks the
//!   request when the allow-origin header is missing. Requested methods and headers are not
//!   checked against the lists either; the lists are sent and the browser decides.
//! - Origins compare case-insensitively on the whole text, port included, so
//!   `https://a.example:443` is not `https://a.example`: browsers serialize `Origin` without
//!   a default port, so the literal comparison is what matches them, and it needs no parsing
//!   of the request's origin.
//! - `allow_headers = ["*"]` echoes the request's `Access-Control-Request-Headers` (a literal
//!   `*` does not cover `Authorization` and is no wildcard at all with credentials);
//!   `allow_methods = ["*"]` sends `*`, or echoes `Access-Control-Request-Method` when
//!   credentials are on, for the same reason.
//! - `vary: origin` is added whenever the answer depends on the origin (any configuration
//!   other than `*`), also to requests from an origin that is not allowed, so a shared cache
//!   never serves one origin's answer to another. A request without `Origin` is left alone.
//! - A route's `cors` replaces the api-wide `[cors]` as a whole; fields are not merged, since
//!   an empty list or `false` cannot be told apart from a field left out.
//!
//! This is hand-written rather than built on tower-http's `cors` module: tower-http only
//! exposes a tower `Service` wrapping the whole request (its header logic is private), it
//! takes every `OPTIONS` for a preflight and answers it `200`, it sends the configured
//! headers to disallowed origins, and it does not remove the inner service's own
//! `access-control-*` headers. Using it would mean a `Service` call per request plus
//! rewriting its output, more code than the header logic itself.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

/// Longest `max_age` API Gateway accepts, in seconds (one day).
pub const MAX_AGE_LIMIT: u32 = 86_400;

/// Longest method name API Gateway accepts in `allowMethods`.
const METHOD_MAX_LEN: usize = 64;

/// `[cors]` in the manifest, and a route's `cors = { ... }` override: the raw settings, as written.
///
/// A route's override replaces the api-wide settings as a whole (no field-by-field merge).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Allowed origins: `*`, exact origins (`https://app.example`), `scheme://*` (any host of
    /// that scheme) or `scheme://*.parent` (any subdomain of `parent`).
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// Methods sent in `access-control-allow-methods`: names, or `*`.
    #[serde(default)]
    pub allow_methods: Vec<String>,
    /// Headers sent in `access-control-allow-headers`: names (any case), or `*`.
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Headers sent in `access-control-expose-headers` on actual responses.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// `access-control-max-age` of preflight answers, in seconds (0 to 86400).
    pub max_age: Option<u32>,
    /// Whether to send `access-control-allow-credentials: true`.
    #[serde(default)]
    pub allow_credentials: bool,
}

/// Why a [`CorsSettings`] cannot be used. Each message names the value at fault;
/// [`CorsError::field`] names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsError {
    /// `allow_credentials = true` together with `*` in `allow_origins`.
    #[error(
        "\"*\" in allow_origins cannot be combined with allow_credentials = true \
         (API Gateway: allow-credentials is not supported if 'allow-origin' is *); \
         list the allowed origins instead"
    )]
    CredentialsWithAnyOrigin,
    /// An entry of `allow_origins` that is not `*`, an origin or an origin pattern.
    #[error("invalid origin {origin:?}: {reason}")]
    InvalidOrigin {
        /// The entry, as written.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry of `allow_methods` that is not `*` or a method name.
    #[error(
        "invalid method {0:?}: a method is `*` or a name of 1 to 64 token characters (GET, POST, ...)"
    )]
    InvalidMethod(String),
    /// An entry of `allow_headers` or `expose_headers` that is not `*` or a header name.
    #[error("invalid header name {name:?} in {field}")]
    InvalidHeader {
        /// `allow_headers` or `expose_headers`.
        field: &'static str,
        /// The entry, as written.
        name: String,
    },
    /// `max_age` above [`MAX_AGE_LIMIT`].
    #[error("max_age {0} is out of range: at most 86400 seconds")]
    MaxAge(u32),
}

impl CorsError {
    /// The [`CorsSettings`] field at fault (`allow_origins`, `max_age`, ...), for error keys
    /// such as `cors.allow_origins`.
    pub fn field(&self) -> &'static str {
        match self {
            CorsError::CredentialsWithAnyOrigin => "allow_credentials",
            CorsError::InvalidOrigin { .. } => "allow_origins",
            CorsError::InvalidMethod(_) => "allow_methods",
            CorsError::InvalidHeader { field, .. } => field,
            CorsError::MaxAge(_) => "max_age",
        }
    }
}

const NO_SCHEME: &str =
    "an origin is `scheme://host` or `scheme://host:port`, and this has no scheme";
const BAD_SCHEME: &str = "its scheme is not valid";
const HAS_PATH: &str = "an origin has no path, query or fragment (not even a trailing `/`)";
const HAS_USERINFO: &str = "an origin has no user name or password";
const BAD_HOST: &str =
    "its host is not a valid name or address (write international names in punycode)";
const BAD_PORT: &str = "its port is not a number from 1 to 65535";
const WILDCARD_PLACE: &str = "`*` may only be the whole origin, the whole host (`https://*`) \
     or the first label of the host (`https://*.example.com`)";

/// Compiled CORS rules, built once per configuration.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Origins,
    allow_credentials: bool,
    allow_methods: Allow,
    allow_headers: Allow,
    /// Rendered `access-control-expose-headers`.
    expose_headers: Option<HeaderValue>,
    /// Rendered `access-control-max-age`.
    max_age: Option<HeaderValue>,
    /// Rendered `vary` of an allowed preflight's answer.
    preflight_vary: Option<HeaderValue>,
    /// The settings as given, for documents that describe the policy.
    settings: CorsSettings,
}

/// Which origins are allowed.
#[derive(Debug, Clone)]
enum Origins {
    /// `*`: every origin; the answer is `*` (credentials are off).
    Any,
    /// Listed origins; the answer echoes the request's origin.
    Listed {
        /// Exact origins, lower-case (`https://app.example`, `http://localhost:3000`).
        exact: Vec<Box<str>>,
        /// `scheme://*` and `scheme://*.parent` patterns.
        patterns: Vec<OriginPattern>,
    },
}

/// A configured list of methods or headers.
#[derive(Debug, Clone)]
enum Allow {
    /// Empty: the header is not sent.
    Nothing,
    /// `*`.
    Any,
    /// The rendered list.
    List(HeaderValue),
}

/// `scheme://*[:port]` or `scheme://*.parent[:port]`, lower-case.
#[derive(Debug, Clone)]
struct OriginPattern {
    /// Without `://`.
    scheme: Box<str>,
    host: HostPattern,
    /// When set, the origin's port must be exactly this; when not, the origin must have no
    /// port, except for [`HostPattern::Any`], which takes any port.
    port: Option<Box<str>>,
}

#[derive(Debug, Clone)]
enum HostPattern {
    /// `*`: any host.
    Any,
    /// `*.parent`: `.parent`, with its leading dot; the host must be longer.
    Subdomains(Box<str>),
}

/// One parsed entry of `allow_origins`.
enum OriginRule {
    Any,
    Exact(Box<str>),
    Pattern(OriginPattern),
}

impl Cors {
    /// Validates `settings` and compiles them: origins lower-cased, header values rendered.
    pub fn new(settings: &CorsSettings) -> Result<Cors, CorsError> {
        let mut any_origin = false;
        let mut exact: Vec<Box<str>> = Vec::new();
        let mut patterns = Vec::new();
        for raw in &settings.allow_origins {
            match parse_origin(raw)? {
                OriginRule::Any => any_origin = true,
                OriginRule::Exact(origin) => {
                    if !exact.contains(&origin) {
                        exact.push(origin);
                    }
                }
                OriginRule::Pattern(pattern) => patterns.push(pattern),
            }
        }
        if any_origin && settings.allow_credentials {
            return Err(CorsError::CredentialsWithAnyOrigin);
        }
        let origins = if any_origin {
            Origins::Any
        } else {
            Origins::Listed { exact, patterns }
        };

        let allow_methods = compile_methods(&settings.allow_methods)?;
        let allow_headers = header_list(&settings.allow_headers, "allow_headers")?;
        let allow_headers = if allow_headers.iter().any(|name| name == "*") {
            Allow::Any
        } else {
            render(&allow_headers).map_or(Allow::Nothing, Allow::List)
        };
        let expose_headers = render(&header_list(&settings.expose_headers, "expose_headers")?);
        let max_age = match settings.max_age {
            Some(seconds) if seconds > MAX_AGE_LIMIT => return Err(CorsError::MaxAge(seconds)),
            Some(seconds) => Some(HeaderValue::from(seconds)),
            None => None,
        };

        let mut vary: Vec<&str> = Vec::new();
        if !matches!(origins, Origins::Any) {
            vary.push("origin");
        }
        if matches!(allow_methods, Allow::Any) && settings.allow_credentials {
            vary.push("access-control-request-method");
        }
        if matches!(allow_headers, Allow::Any) {
            vary.push("access-control-request-headers");
        }
        // Constant tokens: rendering cannot fail.
        let preflight_vary = render(&vary);

        Ok(Cors {
            origins,
            allow_credentials: settings.allow_credentials,
            allow_methods,
            allow_headers,
            expose_headers,
            max_age,
            preflight_vary,
            settings: settings.clone(),
        })
    }

    /// The settings as configured, as JSON (for the OpenAPI document's `x-portico-cors`).
    pub fn describe(&self) -> serde_json::Value {
        let s = &self.settings;
        serde_json::json!({
            "allow_origins": s.allow_origins,
            "allow_methods": s.allow_methods,
            "allow_headers": s.allow_headers,
            "expose_headers": s.expose_headers,
            "max_age": s.max_age,
            "allow_credentials": s.allow_credentials,
        })
    }

    /// Whether `method`/`headers` make a CORS preflight request.
    pub fn is_preflight(method: &http::Method, headers: &http::HeaderMap) -> bool {
        *method == Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// Whether a request with this `Origin` gets CORS headers.
    pub fn allows_origin(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::Listed { exact, patterns } => listed_allows(exact, patterns, origin),
        }
    }

    /// The gateway's own answer to a preflight: status and headers (body empty).
    ///
    /// Always `204 No Content`; the CORS headers only when the request's origin is allowed.
    pub fn preflight(
        &self,
        request_headers: &http::HeaderMap,
    ) -> (http::StatusCode, http::HeaderMap) {
        let mut headers = HeaderMap::new();
        let Some(origin) = request_headers.get(header::ORIGIN) else {
            return (StatusCode::NO_CONTENT, headers);
        };
        let Some(allow_origin) = self.allow_origin_value(origin) else {
            if self.depends_on_origin() {
                headers.insert(header::VARY, HeaderValue::from_static("origin"));
            }
            return (StatusCode::NO_CONTENT, headers);
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);

        match &self.allow_methods {
            Allow::Nothing => {}
            Allow::List(methods) => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods.clone());
            }
            // With credentials a `*` is the method named "*", so name the one asked for.
            Allow::Any if self.allow_credentials => {
                if let Some(method) = request_headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method.clone());
                }
            }
            Allow::Any => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("*"),
                );
            }
        }
        match &self.allow_headers {
            Allow::Nothing => {}
            Allow::List(names) => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, names.clone());
            }
            Allow::Any => {
                if let Some(requested) = requested_headers(request_headers) {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
                }
            }
        }
        if let Some(max_age) = &self.max_age {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, max_age.clone());
        }
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(vary) = &self.preflight_vary {
            headers.insert(header::VARY, vary.clone());
        }
        (StatusCode::NO_CONTENT, headers)
    }

    /// Rewrites a function's response headers for the request's `Origin`.
    ///
    /// Every `access-control-*` header the function set is removed; then, if the request's
    /// origin is allowed, the configured ones are added and `origin` is appended to `vary`.
    pub fn apply(&self, request_headers: &http::HeaderMap, response_headers: &mut http::HeaderMap) {
        remove_cors_headers(response_headers);
        let Some(origin) = request_headers.get(header::ORIGIN) else {
            return;
        };
        if let Some(allow_origin) = self.allow_origin_value(origin) {
            response_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
            if let Some(expose) = &self.expose_headers {
                response_headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
            }
            if self.allow_credentials {
                response_headers.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
        }
        if self.depends_on_origin() {
            append_vary_origin(response_headers);
        }
    }

    /// Whether the answer differs from one origin to another (anything but `*`).
    fn depends_on_origin(&self) -> bool {
        !matches!(self.origins, Origins::Any)
    }

    /// The `access-control-allow-origin` for this origin, or `None` when it is not allowed.
    fn allow_origin_value(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match &self.origins {
            // `new` refuses `*` with credentials, so `*` is always the right answer here.
            Origins::Any => Some(HeaderValue::from_static("*")),
            Origins::Listed { exact, patterns } => {
                listed_allows(exact, patterns, origin).then(|| origin.clone())
            }
        }
    }
}

fn listed_allows(exact: &[Box<str>], patterns: &[OriginPattern], origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    exact
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
        || patterns.iter().any(|pattern| pattern.matches(origin))
}

impl OriginPattern {
    /// Whether the request's `origin` (any case) matches.
    fn matches(&self, origin: &str) -> bool {
        let Some(rest) = strip_prefix_ignore_case(origin, &self.scheme)
            .and_then(|rest| rest.strip_prefix("://"))
        else {
            return false;
        };
        let Some((host, port)) = split_authority(rest) else {
            return false;
        };
        let port_matches = match (&self.port, port) {
            (Some(wanted), Some(got)) => **wanted == *got,
            (None, None) => true,
            (None, Some(got)) => matches!(self.host, HostPattern::Any) && is_port(got),
            (Some(_), None) => false,
        };
        port_matches
            && match &self.host {
                HostPattern::Any => is_host(host),
                HostPattern::Subdomains(parent) => {
                    let Some(cut) = host.len().checked_sub(parent.len()).filter(|&cut| cut > 0)
                    else {
                        return false;
                    };
                    host.get(cut..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(parent))
                        && host.get(..cut).is_some_and(is_dns_name)
                }
            }
    }
}

/// Parses one entry of `allow_origins`.
fn parse_origin(raw: &str) -> Result<OriginRule, CorsError> {
    if raw == "*" {
        return Ok(OriginRule::Any);
    }
    let bad = |reason| CorsError::InvalidOrigin {
        origin: raw.to_owned(),
        reason,
    };
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Err(bad(NO_SCHEME));
    };
    if scheme.is_empty() {
        return Err(bad(NO_SCHEME));
    }
    if !is_scheme(scheme) {
        return Err(bad(if scheme.contains('*') {
            WILDCARD_PLACE
        } else {
            BAD_SCHEME
        }));
    }
    if rest.contains(['/', '?', '#']) {
        return Err(bad(HAS_PATH));
    }
    if rest.contains('@') {
        return Err(bad(HAS_USERINFO));
    }
    let (host, port) = split_authority(rest).ok_or_else(|| bad(BAD_HOST))?;
    if port.is_some_and(|port| !is_port(port)) {
        return Err(bad(BAD_PORT));
    }
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let port = port.map(Box::<str>::from);

    let pattern_host = if host == "*" {
        HostPattern::Any
    } else if let Some(parent) = host.strip_prefix("*.") {
        if parent.contains('*') {
            return Err(bad(WILDCARD_PLACE));
        }
        if !is_dns_name(parent) {
            return Err(bad(BAD_HOST));
        }
        HostPattern::Subdomains(format!(".{parent}").into())
    } else if host.contains('*') {
        return Err(bad(WILDCARD_PLACE));
    } else if !is_host(&host) {
        return Err(bad(BAD_HOST));
    } else {
        let exact = match &port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        };
        return Ok(OriginRule::Exact(exact.into()));
    };
    Ok(OriginRule::Pattern(OriginPattern {
        scheme: scheme.into(),
        host: pattern_host,
        port,
    }))
}

/// Splits `host[:port]` (host possibly a bracketed IPv6 address). `None` when malformed.
fn split_authority(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.starts_with('[') {
        let end = rest.find(']')?;
        let (host, after) = rest.split_at(end + 1);
        if after.is_empty() {
            Some((host, None))
        } else {
            after.strip_prefix(':').map(|port| (host, Some(port)))
        }
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => Some((host, Some(port))),
            None => Some((rest, None)),
        }
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .and_then(|_| text.get(prefix.len()..))
}

fn is_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn is_port(port: &str) -> bool {
    !port.starts_with('0')
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port
            .parse::<u32>()
            .is_ok_and(|port| (1..=65_535).contains(&port))
}

/// A DNS name or IPv4 address, or a bracketed IPv6 address.
fn is_host(host: &str) -> bool {
    match host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
    {
        Some(inner) => {
            !inner.is_empty()
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
        }
        None => is_dns_name(host),
    }
}

/// Dot-separated labels of letters, digits, `-` and `_`, none empty.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        })
}

fn compile_methods(methods: &[String]) -> Result<Allow, CorsError> {
    let mut any = false;
    let mut names: Vec<&str> = Vec::new();
    for method in methods {
        if method == "*" {
            any = true;
        } else if method.is_empty()
            || method.len() > METHOD_MAX_LEN
            || Method::from_bytes(method.as_bytes()).is_err()
        {
            return Err(CorsError::InvalidMethod(method.clone()));
        } else if !names.contains(&method.as_str()) {
            names.push(method);
        }
    }
    Ok(if any {
        Allow::Any
    } else {
        render(&names).map_or(Allow::Nothing, Allow::List)
    })
}

/// Validates a list of header names (or `*`): lower-cased, duplicates dropped, in order.
fn header_list(names: &[String], field: &'static str) -> Result<Vec<String>, CorsError> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let normalized = if name == "*" {
            "*".to_owned()
        } else {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| CorsError::InvalidHeader {
                    field,
                    name: name.clone(),
                })?
                .as_str()
                .to_owned()
        };
        if !out.contains(&normalized) {
            out.push(normalized);
        }
    }
    Ok(out)
}

/// `a, b, c` as a header value; `None` for an empty list. The items are validated tokens,
/// so rendering cannot fail.
fn render<S: AsRef<str>>(items: &[S]) -> Option<HeaderValue> {
    let mut text = String::new();
    for item in items {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(item.as_ref());
    }
    if text.is_empty() {
        None
    } else {
        HeaderValue::try_from(text).ok()
    }
}

/// The request's `Access-Control-Request-Headers`, all lines joined; `None` when absent or empty.
fn requested_headers(request_headers: &HeaderMap) -> Option<HeaderValue> {
    let mut lines = request_headers
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter(|value| !value.as_bytes().trim_ascii().is_empty());
    let first = lines.next()?;
    let Some(second) = lines.next() else {
        return Some(first.clone());
    };
    let mut joined = first.as_bytes().to_vec();
    for line in std::iter::once(second).chain(lines) {
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(line.as_bytes());
    }
    HeaderValue::from_bytes(&joined).ok()
}

/// Removes every `access-control-*` header. Allocates nothing when there is none.
fn remove_cors_headers(headers: &mut HeaderMap) {
    while let Some(name) = headers
        .keys()
        .find(|name| name.as_str().starts_with("access-control-"))
        .cloned()
    {
        headers.remove(&name);
    }
}

/// Adds `origin` to `vary`, keeping what is there; nothing when it is already covered.
fn append_vary_origin(headers: &mut HeaderMap) {
    let covered = headers.get_all(header::VARY).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .map(str::trim)
                .any(|token| token == "*" || token.eq_ignore_ascii_case("origin"))
        })
    });
    if !covered {
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(origins: &[&str]) -> CorsSettings {
        CorsSettings {
            allow_origins: origins.iter().map(|o| o.to_string()).collect(),
            ..CorsSettings::default()
        }
    }

    fn compile(settings: &CorsSettings) -> Cors {
        match Cors::new(settings) {
            Ok(cors) => cors,
            Err(err) => panic!("settings refused: {err}"),
        }
    }

    fn request(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn origin(value: &str) -> HeaderMap {
        request(&[("origin", value)])
    }

    fn preflight_request(origin: &str) -> HeaderMap {
        request(&[("origin", origin), ("access-control-request-method", "PUT")])
    }

    fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn vary(headers: &HeaderMap) -> Vec<&str> {
        headers
            .get_all(header::VARY)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    fn cors_header_names(headers: &HeaderMap) -> Vec<&str> {
        headers
            .keys()
            .map(HeaderName::as_str)
            .filter(|name| name.starts_with("access-control-"))
            .collect()
    }

    fn allowed(cors: &Cors, value: &str) -> bool {
        cors.allows_origin(&HeaderValue::from_str(value).unwrap())
    }

    fn error(settings: &CorsSettings) -> CorsError {
        match Cors::new(settings) {
            Ok(_) => panic!("settings accepted: {settings:?}"),
            Err(err) => err,
        }
    }

    #[test]
    fn exact_origin_is_echoed_with_vary() {
        let cors = compile(&settings(&["https://App.Example", "http://localhost:3000"]));
        let mut response = HeaderMap::new();
        cors.apply(&origin("https://app.example"), &mut response);
        assert_eq!(
            get(&response, "access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(vary(&response), ["origin"]);
        assert!(response.get("access-control-allow-credentials").is_none());
        assert!(response.get("access-control-expose-headers").is_none());

        // Scheme and host compare case-insensitively; the answer echoes the request verbatim.
        let mut response = HeaderMap::new();
        cors.apply(&origin("HTTPS://APP.example"), &mut response);
        assert_eq!(
            get(&response, "access-control-allow-origin"),
            Some("HTTPS://APP.example")
        );

        assert!(allowed(&cors, "http://localhost:3000"));
        for other in [
            "http://app.example",
            "https://app.example:8443",
            "https://api.app.example",
            "https://app.example.evil",
            "http://localhost:3001",
            "null",
        ] {
            assert!(!allowed(&cors, other), "{other} allowed");
        }
    }

    #[test]
    fn explicit_default_port_is_a_different_origin() {
        let cors = compile(&settings(&["https://a.example:443"]));
        assert!(allowed(&cors, "https://a.example:443"));
        assert!(!allowed(&cors, "https://a.example"));
        let cors = compile(&settings(&["https://a.example"]));
        assert!(!allowed(&cors, "https://a.example:443"));
    }

    #[test]
    fn any_origin_answers_star_without_vary() {
        let cors = compile(&settings(&["*"]));
        let mut response = HeaderMap::new();
        cors.apply(&origin("https://whoever.example"), &mut response);
        assert_eq!(get(&response, "access-control-allow-origin"), Some("*"));
        assert!(vary(&response).is_empty());

        let (status, headers) = cors.preflight(&preflight_request("https://whoever.example"));
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(get(&headers, "access-control-allow-origin"), Some("*"));
        assert!(vary(&headers).is_empty());
    }

    #[test]
    fn wildcard_subdomain_matches_subdomains_at_any_depth() {
        let cors = compile(&settings(&["https://*.Example.com"]));
        for ok in [
            "https://a.example.com",
            "https://a.b.example.com",
            "HTTPS://A.EXAMPLE.COM",
        ] {
            assert!(allowed(&cors, ok), "{ok} refused");
        }
        let mut response = HeaderMap::new();
        cors.apply(&origin("https://a.b.example.com"), &mut response);
        assert_eq!(
            get(&response, "access-control-allow-origin"),
            Some("https://a.b.example.com")
        );
        assert_eq!(vary(&response), ["origin"]);
    }

    #[test]
    fn wildcard_subdomain_refuses_the_rest() {
        let cors = compile(&settings(&["https://*.example.com"]));
        for no in [
            "https://example.com",
            "http://a.example.com",
            "https://a.example.com:8443",
            "https://evilexample.com",
            "https://a.example.com.evil.com",
            "https://.example.com",
            "https://a..example.com",
            "https://a/b.example.com",
            "https://a.example.com/",
            "a.example.com",
        ] {
            assert!(!allowed(&cors, no), "{no} allowed");
        }
    }

    #[test]
    fn wildcard_patterns_with_ports_and_scheme_wildcard() {
        let cors = compile(&settings(&["https://*.example.com:8443"]));
        assert!(allowed(&cors, "https://a.example.com:8443"));
        assert!(!allowed(&cors, "https://a.example.com"));
        assert!(!allowed(&cors, "https://a.example.com:443"));

        // API Gateway's `https://*`: any origin of that scheme.
        let cors = compile(&settings(&["https://*"]));
        assert!(allowed(&cors, "https://a.example"));
        assert!(allowed(&cors, "https://localhost:3000"));
        assert!(allowed(&cors, "https://[::1]:8080"));
        assert!(!allowed(&cors, "http://a.example"));
        assert!(!allowed(&cors, "https://"));
        assert!(!allowed(&cors, "https://a.example/path"));
    }

    #[test]
    fn credentials_echo_the_origin_and_never_send_star() {
        let mut s = settings(&["https://*.example.com", "https://app.example"]);
        s.allow_credentials = true;
        s.allow_methods = vec!["*".into()];
        s.expose_headers = vec!["X-Request-Id".into()];
        let cors = compile(&s);

        let mut response = HeaderMap::new();
        cors.apply(&origin("https://a.example.com"), &mut response);
        assert_eq!(
            get(&response, "access-control-allow-origin"),
            Some("https://a.example.com")
        );
        assert_eq!(
            get(&response, "access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(
            get(&response, "access-control-expose-headers"),
            Some("x-request-id")
        );

        let (status, headers) = cors.preflight(&preflight_request("https://app.example"));
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            get(&headers, "access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(
            get(&headers, "access-control-allow-credentials"),
            Some("true")
        );
        // `*` methods with credentials: the requested method, named.
        assert_eq!(get(&headers, "access-control-allow-methods"), Some("PUT"));
        assert_eq!(
            get(&headers, "vary"),
            Some("origin, access-control-request-method")
        );
        for value in headers.values().chain(response.values()) {
            assert_ne!(value, "*");
        }
    }

    #[test]
    fn preflight_from_an_allowed_origin() {
        let cors = compile(&CorsSettings {
            allow_origins: vec!["https://app.example".into()],
            allow_methods: vec!["GET".into(), "POST".into(), "DELETE".into(), "GET".into()],
            allow_headers: vec![
                "Authorization".into(),
                "X-Api-Key".into(),
                "authorization".into(),
            ],
            expose_headers: vec!["x-request-id".into()],
            max_age: Some(300),
            allow_credentials: false,
        });
        let request = request(&[
            ("origin", "https://app.example"),
            ("access-control-request-method", "DELETE"),
            ("access-control-request-headers", "authorization"),
        ]);
        assert!(Cors::is_preflight(&Method::OPTIONS, &request));
        let (status, headers) = cors.preflight(&request);
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            get(&headers, "access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(
            get(&headers, "access-control-allow-methods"),
            Some("GET, POST, DELETE")
        );
        assert_eq!(
            get(&headers, "access-control-allow-headers"),
            Some("authorization, x-api-key")
        );
        assert_eq!(get(&headers, "access-control-max-age"), Some("300"));
        assert_eq!(get(&headers, "vary"), Some("origin"));
        assert!(headers.get("access-control-allow-credentials").is_none());
        // Expose headers belong to actual responses only.
        assert!(headers.get("access-control-expose-headers").is_none());
    }

    #[test]
    fn preflight_from_a_disallowed_origin_gets_no_cors_headers() {
        let cors = compile(&CorsSettings {
            allow_origins: vec!["https://app.example".into()],
            allow_methods: vec!["GET".into()],
            allow_headers: vec!["*".into()],
            max_age: Some(600),
            ..CorsSettings::default()
        });
        let (status, headers) = cors.preflight(&preflight_request("https://evil.example"));
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(cors_header_names(&headers).is_empty(), "{headers:?}");
        assert_eq!(vary(&headers), ["origin"]);

        // A malformed origin is just another origin that is not allowed.
        let mut odd = preflight_request("x");
        odd.insert(
            header::ORIGIN,
            HeaderValue::from_bytes(b"https://app.example\xff").unwrap(),
        );
        let (status, headers) = cors.preflight(&odd);
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(cors_header_names(&headers).is_empty());
    }

    #[test]
    fn allow_headers_star_echoes_the_requested_headers() {
        let mut s = settings(&["https://app.example"]);
        s.allow_headers = vec!["*".into(), "x-ignored".into()];
        let cors = compile(&s);
        let request = request(&[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
            ("access-control-request-headers", "x-trace"),
        ]);
        let (_, headers) = cors.preflight(&request);
        assert_eq!(
            get(&headers, "access-control-allow-headers"),
            Some("authorization,content-type, x-trace")
        );
        assert_eq!(
            get(&headers, "vary"),
            Some("origin, access-control-request-headers")
        );

        // Nothing requested: nothing to allow.
        let (_, headers) = cors.preflight(&preflight_request("https://app.example"));
        assert!(headers.get("access-control-allow-headers").is_none());
    }

    #[test]
    fn allow_methods_star_without_credentials_is_sent_as_star() {
        let mut s = settings(&["https://app.example"]);
        s.allow_methods = vec!["GET".into(), "*".into()];
        let (_, headers) = compile(&s).preflight(&preflight_request("https://app.example"));
        assert_eq!(get(&headers, "access-control-allow-methods"), Some("*"));
        assert_eq!(get(&headers, "vary"), Some("origin"));
    }

    #[test]
    fn max_age_is_sent_when_set_even_zero() {
        let mut s = settings(&["https://app.example"]);
        let (_, headers) = compile(&s).preflight(&preflight_request("https://app.example"));
        assert!(headers.get("access-control-max-age").is_none());
        s.max_age = Some(0);
        let (_, headers) = compile(&s).preflight(&preflight_request("https://app.example"));
        assert_eq!(get(&headers, "access-control-max-age"), Some("0"));
        s.max_age = Some(MAX_AGE_LIMIT);
        let (_, headers) = compile(&s).preflight(&preflight_request("https://app.example"));
        assert_eq!(get(&headers, "access-control-max-age"), Some("86400"));
    }

    #[test]
    fn is_preflight_needs_options_origin_and_request_method() {
        let full = preflight_request("https://app.example");
        assert!(Cors::is_preflight(&Method::OPTIONS, &full));
        assert!(!Cors::is_preflight(&Method::GET, &full));
        assert!(!Cors::is_preflight(
            &Method::OPTIONS,
            &origin("https://app.example")
        ));
        let no_origin = request(&[("access-control-request-method", "PUT")]);
        assert!(!Cors::is_preflight(&Method::OPTIONS, &no_origin));
        assert!(!Cors::is_preflight(&Method::OPTIONS, &HeaderMap::new()));
    }

    #[test]
    fn function_cors_headers_are_removed_and_replaced() {
        let mut s = settings(&["https://app.example"]);
        s.expose_headers = vec!["X-Request-Id".into(), "*".into()];
        let cors = compile(&s);
        let mut response = request(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-origin", "https://other.example"),
            ("access-control-allow-methods", "GET"),
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-private-network", "true"),
            ("Access-Control-Custom", "x"),
            ("content-type", "application/json"),
            ("x-function", "kept"),
        ]);
        cors.apply(&origin("https://app.example"), &mut response);
        assert_eq!(
            response
                .get_all("access-control-allow-origin")
                .iter()
                .collect::<Vec<_>>(),
            ["https://app.example"]
        );
        assert_eq!(
            get(&response, "access-control-expose-headers"),
            Some("x-request-id, *")
        );
        let mut names = cors_header_names(&response);
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "access-control-allow-origin",
                "access-control-expose-headers"
            ]
        );
        assert_eq!(get(&response, "content-type"), Some("application/json"));
        assert_eq!(get(&response, "x-function"), Some("kept"));
    }

    #[test]
    fn vary_is_appended_not_replaced() {
        let cors = compile(&settings(&["https://app.example"]));
        let mut response = request(&[("vary", "accept-encoding")]);
        cors.apply(&origin("https://app.example"), &mut response);
        assert_eq!(vary(&response), ["accept-encoding", "origin"]);

        // Already there (any case, inside a list, or `*`): not added twice.
        for existing in ["Accept-Encoding, Origin", "*"] {
            let mut response = request(&[("vary", existing)]);
            cors.apply(&origin("https://app.example"), &mut response);
            assert_eq!(vary(&response), [existing]);
        }
    }

    #[test]
    fn no_origin_only_removes_the_functions_cors_headers() {
        let mut s = settings(&["https://app.example"]);
        s.allow_credentials = true;
        s.expose_headers = vec!["x-request-id".into()];
        let cors = compile(&s);
        let mut response = request(&[
            ("access-control-allow-origin", "*"),
            ("vary", "accept-encoding"),
            ("cache-control", "no-store"),
        ]);
        cors.apply(&HeaderMap::new(), &mut response);
        assert!(cors_header_names(&response).is_empty());
        assert_eq!(vary(&response), ["accept-encoding"]);
        assert_eq!(get(&response, "cache-control"), Some("no-store"));
        assert_eq!(response.len(), 2);

        let mut untouched = request(&[("content-type", "text/plain")]);
        cors.apply(&HeaderMap::new(), &mut untouched);
        assert_eq!(untouched, request(&[("content-type", "text/plain")]));
    }

    #[test]
    fn disallowed_origin_gets_no_cors_headers() {
        let mut s = settings(&["https://app.example"]);
        s.allow_credentials = true;
        s.expose_headers = vec!["x-request-id".into()];
        let cors = compile(&s);
        let mut response = request(&[("access-control-allow-origin", "https://evil.example")]);
        cors.apply(&origin("https://evil.example"), &mut response);
        assert!(cors_header_names(&response).is_empty(), "{response:?}");
        assert_eq!(vary(&response), ["origin"]);
    }

    #[test]
    fn empty_settings_allow_nothing() {
        let cors = compile(&CorsSettings::default());
        assert!(!allowed(&cors, "https://app.example"));
        let (status, headers) = cors.preflight(&preflight_request("https://app.example"));
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(cors_header_names(&headers).is_empty());
    }

    #[test]
    fn credentials_with_any_origin_are_refused() {
        let mut s = settings(&["https://app.example", "*"]);
        s.allow_credentials = true;
        let err = error(&s);
        assert_eq!(err, CorsError::CredentialsWithAnyOrigin);
        assert_eq!(err.field(), "allow_credentials");
        assert!(err.to_string().contains("\"*\" in allow_origins"), "{err}");
        // Wildcard patterns are not `*`: fine with credentials.
        s.allow_origins = vec!["https://*.example.com".into(), "https://*".into()];
        assert!(Cors::new(&s).is_ok());
    }

    #[test]
    fn bad_origin_patterns_are_refused() {
        let cases = [
            ("app.example", NO_SCHEME),
            ("*.example.com", NO_SCHEME),
            ("://app.example", NO_SCHEME),
            ("", NO_SCHEME),
            ("null", NO_SCHEME),
            ("https://app.example/", HAS_PATH),
            ("https://app.example/api", HAS_PATH),
            ("https://app.example?x", HAS_PATH),
            ("https://user@app.example", HAS_USERINFO),
            ("https://a.*.example.com", WILDCARD_PLACE),
            ("https://*example.com", WILDCARD_PLACE),
            ("https://example.*", WILDCARD_PLACE),
            ("https://*.*.example.com", WILDCARD_PLACE),
            ("https://app.example:*", BAD_PORT),
            ("*://app.example", WILDCARD_PLACE),
            ("ht tp://app.example", BAD_SCHEME),
            ("1https://app.example", BAD_SCHEME),
            ("https://", BAD_HOST),
            ("https://app..example", BAD_HOST),
            ("https://app example", BAD_HOST),
            ("https://bücher.example", BAD_HOST),
            ("https://*.", BAD_HOST),
            ("https://app.example:", BAD_PORT),
            ("https://app.example:0", BAD_PORT),
            ("https://app.example:65536", BAD_PORT),
            ("https://app.example:080", BAD_PORT),
            ("https://[::1", BAD_HOST),
        ];
        for (origin, reason) in cases {
            let err = error(&settings(&[origin]));
            assert_eq!(
                err,
                CorsError::InvalidOrigin {
                    origin: origin.to_owned(),
                    reason
                },
                "{origin}"
            );
            assert_eq!(err.field(), "allow_origins");
            assert!(err.to_string().contains(&format!("{origin:?}")), "{err}");
        }
        // And the good ones.
        for origin in [
            "https://app.example",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "https://*.example.com",
            "https://*.example.com:8443",
            "https://*",
            "chrome-extension://abcdef",
            "*",
        ] {
            assert!(Cors::new(&settings(&[origin])).is_ok(), "{origin} refused");
        }
    }

    #[test]
    fn bad_methods_headers_and_max_age_are_refused() {
        let long = "X".repeat(65);
        for method in ["GE T", "", "GET,POST", "GÉT", long.as_str()] {
            let s = CorsSettings {
                allow_methods: vec!["GET".into(), method.to_owned()],
                ..CorsSettings::default()
            };
            let err = error(&s);
            assert_eq!(err, CorsError::InvalidMethod(method.to_owned()));
            assert_eq!(err.field(), "allow_methods");
            assert!(err.to_string().contains(&format!("{method:?}")), "{err}");
        }
        assert!(
            Cors::new(&CorsSettings {
                allow_methods: vec!["X".repeat(64), "PATCH".into(), "*".into()],
                ..CorsSettings::default()
            })
            .is_ok()
        );

        for name in ["x y", "", "x-a:b", "é"] {
            let err = error(&CorsSettings {
                allow_headers: vec![name.to_owned()],
                ..CorsSettings::default()
            });
            assert_eq!(
                err,
                CorsError::InvalidHeader {
                    field: "allow_headers",
                    name: name.to_owned()
                }
            );
            assert!(err.to_string().contains(&format!("{name:?}")), "{err}");
            let err = error(&CorsSettings {
                expose_headers: vec![name.to_owned()],
                ..CorsSettings::default()
            });
            assert_eq!(err.field(), "expose_headers");
        }

        let err = error(&CorsSettings {
            max_age: Some(MAX_AGE_LIMIT + 1),
            ..CorsSettings::default()
        });
        assert_eq!(err, CorsError::MaxAge(86_401));
        assert_eq!(err.field(), "max_age");
        assert!(err.to_string().contains("86401"), "{err}");
    }

    #[test]
    fn settings_deserialize_from_toml_and_refuse_unknown_keys() {
        let parsed: CorsSettings = toml::from_str(
            r#"
            allow_origins = ["https://app.example"]
            allow_methods = ["GET", "POST"]
            max_age = 300
            allow_credentials = true
            "#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            CorsSettings {
                allow_origins: vec!["https://app.example".into()],
                allow_methods: vec!["GET".into(), "POST".into()],
                max_age: Some(300),
                allow_credentials: true,
                ..CorsSettings::default()
            }
        );
        assert!(toml::from_str::<CorsSettings>("allow_origin = [\"*\"]").is_err());
    }
}
