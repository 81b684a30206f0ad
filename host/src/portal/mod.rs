//! The developer portal: the API's OpenAPI 3.1 document ([`openapi`]) at
//! `/openapi.json`, and a page rendering it with a working "try it" form at `/docs`
//! (Swagger UI, vendored into the binary at a pinned release by the
//! `utoipa-swagger-ui` crate's `vendored` feature: nothing is fetched at build or run
//! time).
//!
//! ```toml
//! [portal]
//! enabled = true          # off by default
//! path = "/docs"          # the page; the document is always /openapi.json
//! title = "Todo API"      # info.title (default "Portico API")
//! ```
//!
//! Both are routes of every stage (a stage's page documents that stage: its prefix as
//! the server, its throttles and API key setting), served by host-side integrations
//! ([`crate::gateway::Service`]) that are left out of the document. The document is
//! built from what is served at each request, so a deploy or a reload shows at once.

pub mod declared;
pub mod openapi;

use crate::exchange::{Response, ResponseBody};
use crate::gateway::service::{Service, ServiceFuture};
use crate::gateway::{RouteSpec, Served};
use crate::routing::RouteKey;
use crate::runtime::{HttpTrigger, Runtime};
use http::{HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// The default page path.
pub const DEFAULT_PATH: &str = "/docs";
/// The default `info.title`.
pub const DEFAULT_TITLE: &str = "Portico API";

/// `[portal]`, when enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalConfig {
    /// The page's path (`/docs`): one or more literal segments.
    pub path: String,
    /// `info.title`.
    pub title: String,
}

impl PortalConfig {
    /// The portal at `path` (checked: `/`, then literal segments, no trailing `/`).
    pub fn new(path: &str, title: String) -> Result<PortalConfig, String> {
        let valid = path.starts_with('/')
            && path.len() > 1
            && !path.ends_with('/')
            && path[1..].split('/').all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        if !valid {
            return Err(format!(
                "{path:?}: a path like \"/docs\" (literal segments of letters, digits, - _ .; no trailing /)"
            ));
        }
        if path == OPENAPI_PATH {
            return Err(format!("{path:?} is where the document is served"));
        }
        Ok(PortalConfig {
            path: path.to_string(),
            title,
        })
    }

    /// The routes the portal adds: the page, its files, and the document.
    pub fn routes(&self) -> Vec<(RouteKey, Arc<dyn Service>)> {
        let pages: Arc<dyn Service> = Arc::new(Pages::new(&self.path));
        let document: Arc<dyn Service> = Arc::new(Document {
            title: self.title.clone(),
        });
        let key = |text: String| text.parse::<RouteKey>();
        [
            (key(format!("GET {}", self.path)), Arc::clone(&pages)),
            (key(format!("GET {}/{{file+}}", self.path)), pages),
            (key(format!("GET {OPENAPI_PATH}")), document),
        ]
        .into_iter()
        // The path was checked above, so every key parses.
        .filter_map(|(key, service)| key.ok().map(|key| (key, service)))
        .collect()
    }
}

/// The document's `info.version`: a digest of the functions and versions served, so it
/// changes with every deploy.
pub fn served_version(functions: impl IntoIterator<Item = (String, String)>) -> String {
    let mut pairs: Vec<(String, String)> = functions.into_iter().collect();
    pairs.sort();
    let mut hash = Sha256::new();
    for (name, version) in &pairs {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(version.as_bytes());
        hash.update([0]);
    }
    crate::runtime::hex(&hash.finalize()[..6])
}

fn answer(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    Response {
        status,
        headers,
        body: ResponseBody::Full(body.into()),
    }
}

fn not_found() -> Response {
    answer(
        StatusCode::NOT_FOUND,
        "application/json",
        br#"{"message":"Not Found"}"#.to_vec(),
    )
}

/// `/openapi.json`.
#[derive(Debug)]
struct Document {
    title: String,
}

impl Service for Document {
    fn describe(&self) -> String {
        "the portal's OpenAPI document".into()
    }

    fn documented(&self) -> bool {
        false
    }

    fn reads_body(&self) -> bool {
        false
    }

    fn call<'a>(
        &'a self,
        trigger: &'a HttpTrigger,
        _body: &'a [u8],
        _runtime: &'a Runtime,
        served: &'a Served,
    ) -> ServiceFuture<'a> {
        Box::pin(async move {
            let Some(stage) = served
                .api
                .stages()
                .iter()
                .find(|s| s.name() == trigger.stage)
            else {
                return not_found();
            };
            let routes: Vec<RouteSpec> = stage
                .routes
                .routes()
                .iter()
                .map(|r| r.value.spec.clone())
                .collect();
            let info = openapi::DocumentInfo {
                title: self.title.clone(),
                version: served_version(served.functions.keys().filter_map(|name| {
                    let f = stage.function(served, name)?;
                    Some((name.clone(), f.version().to_string()))
                })),
            };
            // Each function's declaration, as this stage serves it (parsed per request:
            // a few KiB of JSON, and always what is live).
            let declared = served
                .functions
                .keys()
                .filter_map(|name| {
                    let section = stage.function(served, name)?.api_section()?;
                    match declared::Declared::parse(section) {
                        Ok(d) => Some((name.clone(), d)),
                        Err(e) => {
                            tracing::warn!(function = %name, "its API declaration is ignored: {e}");
                            None
                        }
                    }
                })
                .collect();
            let doc = openapi::render(
                &info,
                &routes,
                served.api.settings(),
                &stage.config,
                &declared,
            )
            .and_then(|doc| serde_json::to_string_pretty(&doc));
            match doc {
                Ok(json) => answer(StatusCode::OK, "application/json", json.into_bytes()),
                Err(e) => {
                    tracing::error!("the OpenAPI document does not serialize: {e}");
                    answer(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "application/json",
                        br#"{"message":"Internal Server Error"}"#.to_vec(),
                    )
                }
            }
        })
    }
}

/// The page and its files.
struct Pages {
    config: Arc<utoipa_swagger_ui::Config<'static>>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages").finish_non_exhaustive()
    }
}

impl Pages {
    fn new(path: &str) -> Pages {
        // Relative to the page (`/docs/`), so it works under a stage's prefix too.
        let depth = path.matches('/').count();
        let url = format!("{}{}", "../".repeat(depth), &OPENAPI_PATH[1..]);
        let config = utoipa_swagger_ui::Config::new([url])
            .try_it_out_enabled(true)
            .display_operation_id(true);
        Pages {
            config: Arc::new(config),
        }
    }
}

impl Service for Pages {
    fn describe(&self) -> String {
        "the portal's pages".into()
    }

    fn documented(&self) -> bool {
        false
    }

    fn reads_body(&self) -> bool {
        false
    }

    fn call<'a>(
        &'a self,
        trigger: &'a HttpTrigger,
        _body: &'a [u8],
        _runtime: &'a Runtime,
        _served: &'a Served,
    ) -> ServiceFuture<'a> {
        Box::pin(async move {
            let file = trigger
                .path_parameters
                .iter()
                .find(|(name, _)| name == "file")
                .map(|(_, value)| value.as_str());
            let Some(file) = file else {
                // `/docs` → `/docs/index.html`: the page's files are relative to it.
                let mut response = answer(StatusCode::FOUND, "text/plain", Vec::new());
                if let Ok(location) =
                    HeaderValue::from_str(&format!("{}/index.html", trigger.request.path))
                {
                    response.headers.insert(http::header::LOCATION, location);
                }
                return response;
            };
            match utoipa_swagger_ui::serve(file, Arc::clone(&self.config)) {
                Ok(Some(file)) => {
                    let mut response =
                        answer(StatusCode::OK, &file.content_type, file.bytes.into_owned());
                    response.headers.insert(
                        http::header::CACHE_CONTROL,
                        HeaderValue::from_static("no-cache"),
                    );
                    response
                }
                Ok(None) => not_found(),
                Err(e) => {
                    tracing::error!("the portal's page {file:?}: {e}");
                    not_found()
                }
            }
        })
    }
}
