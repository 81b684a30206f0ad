//! The OpenAPI 3.1 document of an API, built from its routes as configured: each route's
//! method, path and path parameters, its security (the route's authorizer and API key),
//! CORS and throttling as `x-portico-` extensions, and a tag per function. Nothing runs to
//! build it, so `portico openapi` reads only the manifest, and the portal rebuilds it from
//! what is served at each request (deploys and reloads show at once).
//!
//! How API Gateway's notions map (a reader who knows them finds them here):
//!
//! | API Gateway | OpenAPI |
//! |---|---|
//! | `ANY /path` | every method, with `x-portico-any-method: true` |
//! | `{proxy+}` | a path parameter `proxy` (`x-portico-greedy: true`: one or more segments) |
//! | `$default` | not a path: `x-portico-default-route` on the document |
//! | JWT authorizer | an `http` `bearer` scheme (`bearerFormat: JWT`), the route's scopes |
//! | custom (request) authorizer | an `apiKey` scheme on its first identity source |
//! | `api_key_required` | the `apiKey` scheme `api_key` (header `x-api-key`), with the authorizer's |
//! | a stage | `servers: [{url: "/STAGE"}]` (`/` at the root) |

use crate::gateway::{ApiSettings, IntegrationSpec, RouteSpec, StageConfig};
use crate::policy::RouteAuth;
use crate::policy::identity::IdentitySource;
use crate::routing::{MethodMatch, RouteKey, Segment};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::openapi::extensions::{Extensions, ExtensionsBuilder};
use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    Components, Content, Info, OpenApi, Paths, Required, Response, Responses, Server, Tag,
};

/// The name of the API key's security scheme.
pub const API_KEY_SCHEME: &str = "api_key";

/// What the document says about the API as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
}

/// The methods `ANY` stands for in the document.
const ANY: [HttpMethod; 7] = [
    HttpMethod::Get,
    HttpMethod::Post,
    HttpMethod::Put,
    HttpMethod::Delete,
    HttpMethod::Patch,
    HttpMethod::Head,
    HttpMethod::Options,
];

fn http_method(method: &http::Method) -> Option<HttpMethod> {
    Some(match *method {
        http::Method::GET => HttpMethod::Get,
        http::Method::POST => HttpMethod::Post,
        http::Method::PUT => HttpMethod::Put,
        http::Method::DELETE => HttpMethod::Delete,
        http::Method::PATCH => HttpMethod::Patch,
        http::Method::HEAD => HttpMethod::Head,
        http::Method::OPTIONS => HttpMethod::Options,
        http::Method::TRACE => HttpMethod::Trace,
        _ => return None,
    })
}

/// `/todos/{id}` of the segments, and the path parameters (name, greedy).
fn template(segments: &[Segment]) -> (String, Vec<(String, bool)>) {
    let mut path = String::new();
    let mut params = Vec::new();
    for segment in segments {
        path.push('/');
        match segment {
            Segment::Literal(text) => path.push_str(text),
            Segment::Param(name) => {
                path.push_str(&format!("{{{name}}}"));
                params.push((name.clone(), false));
            }
            Segment::Greedy(name) => {
                path.push_str(&format!("{{{name}}}"));
                params.push((name.clone(), true));
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    (path, params)
}

/// A unique operation id: `post_todos_id` (method and path words), numbered on a clash.
fn operation_id(method: &str, path: &str, taken: &mut BTreeSet<String>) -> String {
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let base = if words.is_empty() {
        format!("{}_root", method.to_ascii_lowercase())
    } else {
        format!("{}_{}", method.to_ascii_lowercase(), words.join("_"))
    };
    let mut id = base.clone();
    let mut n = 2;
    while !taken.insert(id.clone()) {
        id = format!("{base}_{n}");
        n += 1;
    }
    id
}

/// The security scheme of a custom authorizer: an API key where its first identity
/// source is (a header or the query string), else a bearer token.
fn custom_scheme(sources: &[IdentitySource], function: &str) -> SecurityScheme {
    let description = format!(
        "A custom authorizer: function `{function}` decides from {}.",
        sources
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let value = |name: &str| ApiKeyValue::with_description(name, description.as_str());
    match sources.first() {
        Some(IdentitySource::Header(name)) if name == http::header::AUTHORIZATION => {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description.clone()))
                    .build(),
            )
        }
        Some(IdentitySource::Header(name)) => {
            SecurityScheme::ApiKey(ApiKey::Header(value(name.as_str())))
        }
        Some(IdentitySource::Query(name)) => SecurityScheme::ApiKey(ApiKey::Query(value(name))),
        _ => SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(description.clone()))
                .build(),
        ),
    }
}

fn response(description: &str) -> Response {
    Response::new(description)
}

/// Where route `spec` is in the document: its path template and methods (lower case,
/// as the document's keys); `None` for `$default` and methods OpenAPI cannot name.
pub fn place(spec: &RouteSpec) -> Option<(String, Vec<&'static str>)> {
    let RouteKey::Route { method, segments } = &spec.key else {
        return None;
    };
    let methods = match method {
        MethodMatch::Any => vec!["get", "post", "put", "delete", "patch", "head", "options"],
        MethodMatch::Exact(m) => {
            let name = match *m {
                http::Method::GET => "get",
                http::Method::POST => "post",
                http::Method::PUT => "put",
                http::Method::DELETE => "delete",
                http::Method::PATCH => "patch",
                http::Method::HEAD => "head",
                http::Method::OPTIONS => "options",
                http::Method::TRACE => "trace",
                _ => return None,
            };
            vec![name]
        }
    };
    Some((template(segments).0, methods))
}

/// The document as JSON: [`document`] with the functions' declarations (`declared`, by
/// function name) merged in ([`super::declared`]).
pub fn render(
    info: &DocumentInfo,
    routes: &[RouteSpec],
    settings: &ApiSettings,
    stage: &StageConfig,
    declared: &BTreeMap<String, super::declared::Declared>,
) -> Result<serde_json::Value, serde_json::Error> {
    let mut doc = serde_json::to_value(document(info, routes, settings, stage))?;
    super::declared::merge(&mut doc, routes, declared, place);
    Ok(doc)
}

/// The document of `routes` on `stage`, with the API-wide `settings` (and no
/// declarations: see [`render`]).
pub fn document(
    info: &DocumentInfo,
    routes: &[RouteSpec],
    settings: &ApiSettings,
    stage: &StageConfig,
) -> OpenApi {
    let mut paths = Paths::new();
    let mut schemes: BTreeMap<String, SecurityScheme> = BTreeMap::new();
    let mut tags: BTreeSet<String> = BTreeSet::new();
    let mut taken = BTreeSet::new();
    let mut extensions = ExtensionsBuilder::new();
    for spec in routes {
        if let IntegrationSpec::Service(service) = &spec.integration
            && !service.documented()
        {
            continue;
        }
        let (tag, integration) = match &spec.integration {
            IntegrationSpec::Function(name) => (name.clone(), format!("function {name}")),
            IntegrationSpec::Service(service) => ("services".to_string(), service.describe()),
        };
        let (method, segments) = match &spec.key {
            RouteKey::Default => {
                extensions = extensions.add("x-portico-default-route", integration);
                continue;
            }
            RouteKey::Route { method, segments } => (method, segments),
        };
        let methods = match method {
            MethodMatch::Any => ANY.to_vec(),
            MethodMatch::Exact(m) => match http_method(m) {
                Some(m) => vec![m],
                // A method OpenAPI has no field for: not documented.
                None => continue,
            },
        };
        let (path, params) = template(segments);
        tags.insert(tag.clone());
        let method_text = match method {
            MethodMatch::Any => "any".to_string(),
            MethodMatch::Exact(m) => m.to_string(),
        };
        let mut operation = Operation::new();
        operation.tags = Some(vec![tag]);
        operation.description = Some(format!("Served by {integration}."));
        operation.operation_id = Some(operation_id(&method_text, &path, &mut taken));
        operation.parameters = (!params.is_empty()).then(|| {
            params
                .into_iter()
                .map(|(name, greedy)| {
                    let mut parameter = Parameter::new(name);
                    parameter.parameter_in = ParameterIn::Path;
                    parameter.required = Required::True;
                    parameter.schema = Some(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::Type::String)
                            .into(),
                    );
                    if greedy {
                        parameter.description =
                            Some("One or more path segments (a greedy `{name+}`).".into());
                        let mut ext = Extensions::default();
                        ext.insert("x-portico-greedy".into(), json!(true));
                        parameter.extensions = Some(ext);
                    }
                    parameter.into()
                })
                .collect()
        });
        let takes_body = matches!(method, MethodMatch::Any)
            || matches!(method, MethodMatch::Exact(m) if [http::Method::POST, http::Method::PUT, http::Method::PATCH].contains(m));
        if takes_body {
            let mut body = RequestBody::new();
            body.content.insert(
                "application/json".into(),
                Content::new(Some(utoipa::openapi::ObjectBuilder::new().build())).into(),
            );
            operation.request_body = Some(body.into());
        }

        let mut responses = Responses::new();
        let mut security = Vec::new();
        let mut requirement = SecurityRequirement::default();
        let mut secured = false;
        match &spec.options.auth {
            Some(RouteAuth::Jwt(policy)) => {
                let name = policy.authorizer_name().to_string();
                if let Some(authorizer) = settings.authorizers.get(&name)
                    && let crate::policy::Authorizer::Jwt(jwt) = authorizer
                {
                    schemes.entry(name.clone()).or_insert_with(|| {
                        SecurityScheme::Http(
                            HttpBuilder::new()
                                .scheme(HttpAuthScheme::Bearer)
                                .bearer_format("JWT")
                                .description(Some(format!(
                                    "A JWT from issuer `{}` (JWT authorizer `{name}`).",
                                    jwt.issuer()
                                )))
                                .build(),
                        )
                    });
                }
                requirement = requirement.add(name, policy.scopes().to_vec());
                secured = true;
            }
            Some(RouteAuth::Custom(custom)) => {
                let name = custom.name().to_string();
                schemes
                    .entry(name.clone())
                    .or_insert_with(|| custom_scheme(custom.sources(), custom.function()));
                requirement = requirement.add(name, Vec::<String>::new());
                secured = true;
            }
            None => {}
        }
        if secured {
            responses.responses.insert(
                "401".into(),
                response("Unauthorized: no credentials, or invalid ones.").into(),
            );
            responses.responses.insert(
                "403".into(),
                response("Forbidden: the authorizer denied the request.").into(),
            );
        }
        if spec
            .options
            .api_key_required
            .unwrap_or(stage.api_key_required)
        {
            schemes.entry(API_KEY_SCHEME.into()).or_insert_with(|| {
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "x-api-key",
                    "An API key of a usage plan (`portico keys create`).",
                )))
            });
            requirement = requirement.add(API_KEY_SCHEME, Vec::<String>::new());
            responses.responses.insert(
                "403".into(),
                response("Forbidden: a missing or unknown API key, or an authorizer's denial.")
                    .into(),
            );
            secured = true;
        }
        if secured {
            security.push(requirement);
            operation.security = Some(security);
        }

        let mut ext = ExtensionsBuilder::new().add("x-portico-integration", integration);
        if let Some(cors) = spec.options.cors.resolve(settings.cors.as_ref()) {
            ext = ext.add("x-portico-cors", cors.0.describe());
        }
        let throttle = spec
            .options
            .throttle
            .as_ref()
            .or_else(|| stage.route_throttles.get(&spec.key));
        if let Some(throttle) = throttle {
            let s = throttle.settings();
            ext = ext.add(
                "x-portico-throttle",
                json!({ "rate": s.rate, "burst": s.burst }),
            );
        }
        if throttle.is_some() || settings.throttle.is_some() {
            responses.responses.insert(
                "429".into(),
                response("Too Many Requests: over the route's or the API's rate.").into(),
            );
        }
        if let Some(timeout) = spec.options.timeout {
            ext = ext.add(
                "x-portico-timeout-ms",
                json!(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
            );
        }
        operation.extensions = Some(ext.build());
        responses.responses.insert(
            "default".into(),
            response(&format!("The answer of {}.", operation_label(spec))).into(),
        );
        operation.responses = responses;
        paths.add_path_operation(&path, methods, operation);
    }

    let mut doc = OpenApi::new(Info::new(info.title.clone(), info.version.clone()), paths);
    doc.servers = Some(vec![Server::new(if stage.at_root {
        "/".to_string()
    } else {
        format!("/{}", stage.name)
    })]);
    doc.tags = Some(tags.into_iter().map(Tag::new).collect());
    if !schemes.is_empty() {
        let mut components = Components::new();
        for (name, scheme) in schemes {
            components.add_security_scheme(name, scheme);
        }
        doc.components = Some(components);
    }
    if let Some(throttle) = &settings.throttle {
        let s = throttle.settings();
        extensions = extensions.add(
            "x-portico-throttle",
            json!({ "rate": s.rate, "burst": s.burst }),
        );
    }
    extensions = extensions.add("x-portico-stage", stage.name.clone());
    doc.extensions = Some(extensions.build());
    doc
}

/// "function `todo`", or what the service does.
fn operation_label(spec: &RouteSpec) -> String {
    match &spec.integration {
        IntegrationSpec::Function(name) => format!("function `{name}`"),
        IntegrationSpec::Service(service) => service.describe(),
    }
}
