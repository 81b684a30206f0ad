//! Route matching with API Gateway HTTP API priorities, on a segment trie.
//!
//! Priorities, most specific first:
//! 1. routes without a greedy parameter, searched depth-first with literal segments tried
//!    before `{param}` segments at every level (so `GET /a/b/{y}` beats `GET /a/{x}/c` for
//!    `/a/b/c`, and `GET /pets/dog/1` beats `GET /pets/dog/{id}`);
//! 2. routes ending in `{proxy+}` (one or more segments), the deepest first;
//! 3. `$default`.
//!
//! At one path, a route naming the request's method beats `ANY`. A trailing slash on the
//! request path is ignored. Lookup cost grows with the path's depth, not the route count.

use super::route_key::{MethodMatch, RouteKey, Segment};
use http::Method;
use percent_encoding::percent_decode_str;
use std::collections::HashMap;

/// A route and the value it leads to (for Portico, the function).
#[derive(Debug, Clone)]
pub struct Route<T> {
    /// The route key.
    pub key: RouteKey,
    /// The route key as text (`GET /pets/{id}`), formatted once for the request path.
    pub text: String,
    /// What the route leads to.
    pub value: T,
}

/// The outcome of a successful lookup.
#[derive(Debug)]
pub struct Match<'r, T> {
    /// The route that matched.
    pub route: &'r Route<T>,
    /// Path parameters (`{name}`, `{name+}`), percent-decoded, in path order.
    pub params: Vec<(String, String)>,
}

/// Two routes that can never both be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route `{new}` conflicts with route `{existing}`: they match the same requests")]
pub struct RouteConflict {
    /// The route already registered.
    pub existing: String,
    /// The route being added.
    pub new: String,
}

/// Route indices registered at one trie position, by method.
#[derive(Debug, Default, Clone)]
struct Endpoints {
    exact: Vec<(Method, usize)>,
    any: Option<usize>,
}

impl Endpoints {
    fn pick(&self, method: &Method) -> Option<usize> {
        self.exact
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, i)| *i)
            .or(self.any)
    }

    fn slot(&mut self, method: &MethodMatch) -> Option<usize> {
        match method {
            MethodMatch::Any => self.any,
            MethodMatch::Exact(m) => self.exact.iter().find(|(x, _)| x == m).map(|(_, i)| *i),
        }
    }

    fn insert(&mut self, method: &MethodMatch, index: usize) {
        match method {
            MethodMatch::Any => self.any = Some(index),
            MethodMatch::Exact(m) => self.exact.push((m.clone(), index)),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Node {
    literal: HashMap<String, Node>,
    param: Option<Box<Node>>,
    /// Routes ending in a greedy parameter at this depth.
    greedy: Endpoints,
    /// Routes ending exactly here.
    here: Endpoints,
}

/// What a parameter captured from the request path.
#[derive(Clone, Copy)]
enum Capture<'p> {
    One(&'p str),
    /// The segments from this index to the end.
    Rest(usize),
}

/// A set of routes, matched by method and path.
#[derive(Debug, Clone)]
pub struct Router<T> {
    routes: Vec<Route<T>>,
    root: Node,
    default: Option<usize>,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Router {
            routes: Vec::new(),
            root: Node::default(),
            default: None,
        }
    }
}

impl<T> Router<T> {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// All routes, in the order they were added.
    pub fn routes(&self) -> &[Route<T>] {
        &self.routes
    }

    /// Adds a route. Fails when an equivalent route (same method, same shape of path,
    /// whatever the parameter names) is already present.
    pub fn insert(&mut self, key: RouteKey, value: T) -> Result<(), RouteConflict> {
        let index = self.routes.len();
        let conflict = |existing: usize, routes: &[Route<T>]| RouteConflict {
            existing: routes[existing].text.clone(),
            new: key.to_string(),
        };
        match &key {
            RouteKey::Default => {
                if let Some(existing) = self.default {
                    return Err(conflict(existing, &self.routes));
                }
                self.default = Some(index);
            }
            RouteKey::Route { method, segments } => {
                let mut node = &mut self.root;
                let mut greedy = false;
                for segment in segments {
                    node = match segment {
                        Segment::Literal(l) => node.literal.entry(l.clone()).or_default(),
                        Segment::Param(_) => node.param.get_or_insert_with(Default::default),
                        Segment::Greedy(_) => {
                            greedy = true;
                            break;
                        }
                    };
                }
                let endpoints = if greedy {
                    &mut node.greedy
                } else {
                    &mut node.here
                };
                if let Some(existing) = endpoints.slot(method) {
                    return Err(conflict(existing, &self.routes));
                }
                endpoints.insert(method, index);
            }
        }
        let text = key.to_string();
        self.routes.push(Route { key, text, value });
        Ok(())
    }

    /// The same routes leading to other values; fails with the first error of `f`.
    pub fn map_values<U, E>(&self, mut f: impl FnMut(&T) -> Result<U, E>) -> Result<Router<U>, E> {
        let routes = self
            .routes
            .iter()
            .map(|r| {
                Ok(Route {
                    key: r.key.clone(),
                    text: r.text.clone(),
                    value: f(&r.value)?,
                })
            })
            .collect::<Result<_, E>>()?;
        Ok(Router {
            routes,
            root: self.root.clone(),
            default: self.default,
        })
    }

    /// Finds the route for `method` and `path` (the path without its query string, as
    /// received, percent-encoding intact).
    pub fn at(&self, method: &Method, path: &str) -> Option<Match<'_, T>> {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let segments: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        let mut captures = Vec::new();
        let found = walk(&self.root, &segments, 0, method, false, &mut captures).or_else(|| {
            captures.clear();
            walk(&self.root, &segments, 0, method, true, &mut captures)
        });
        match found {
            Some(index) => {
                let route = &self.routes[index];
                Some(Match {
                    route,
                    params: name_captures(&route.key, &captures, &segments),
                })
            }
            None => self.default.map(|index| Match {
                route: &self.routes[index],
                params: Vec::new(),
            }),
        }
    }
}

/// Depth-first search: literal child, then parameter child, then (when allowed) a greedy
/// route at this node. Returns the route index and leaves its captures in `captures`.
fn walk<'p>(
    node: &Node,
    segments: &[&'p str],
    depth: usize,
    method: &Method,
    allow_greedy: bool,
    captures: &mut Vec<Capture<'p>>,
) -> Option<usize> {
    let Some(segment) = segments.get(depth) else {
        return node.here.pick(method);
    };
    if let Some(child) = node.literal.get(*segment)
        && let Some(found) = walk(child, segments, depth + 1, method, allow_greedy, captures)
    {
        return Some(found);
    }
    if let Some(child) = &node.param
        && !segment.is_empty()
    {
        captures.push(Capture::One(segment));
        if let Some(found) = walk(child, segments, depth + 1, method, allow_greedy, captures) {
            return Some(found);
        }
        captures.pop();
    }
    if allow_greedy && let Some(found) = node.greedy.pick(method) {
        captures.push(Capture::Rest(depth));
        return Some(found);
    }
    None
}

/// Pairs the captured values with the route's parameter names, decoding them.
fn name_captures(
    key: &RouteKey,
    captures: &[Capture<'_>],
    segments: &[&str],
) -> Vec<(String, String)> {
    let RouteKey::Route {
        segments: route_segments,
        ..
    } = key
    else {
        return Vec::new();
    };
    let names = route_segments.iter().filter_map(|s| match s {
        Segment::Param(n) | Segment::Greedy(n) => Some(n),
        Segment::Literal(_) => None,
    });
    names
        .zip(captures)
        .map(|(name, capture)| {
            let raw = match *capture {
                Capture::One(s) => decode(s),
                Capture::Rest(from) => decode(&segments[from..].join("/")),
            };
            (name.clone(), raw)
        })
        .collect()
}

fn decode(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(keys: &[&str]) -> Router<String> {
        let mut r = Router::new();
        for k in keys {
            r.insert(k.parse().expect(k), k.to_string()).expect(k);
        }
        r
    }

    fn route(r: &Router<String>, method: &str, path: &str) -> Option<String> {
        let m = Method::from_bytes(method.as_bytes()).expect("method");
        r.at(&m, path).map(|m| m.route.value.clone())
    }

    #[test]
    fn api_gateway_docs_example() {
        let r = router(&[
            "GET /pets/dog/1",
            "GET /pets/dog/{id}",
            "GET /pets/{proxy+}",
            "ANY /{proxy+}",
            "$default",
        ]);
        assert_eq!(
            route(&r, "GET", "/pets/dog/1").as_deref(),
            Some("GET /pets/dog/1")
        );
        assert_eq!(
            route(&r, "GET", "/pets/dog/2").as_deref(),
            Some("GET /pets/dog/{id}")
        );
        assert_eq!(
            route(&r, "GET", "/pets/cat/1").as_deref(),
            Some("GET /pets/{proxy+}")
        );
        assert_eq!(
            route(&r, "POST", "/test/5").as_deref(),
            Some("ANY /{proxy+}")
        );
        assert_eq!(route(&r, "GET", "/").as_deref(), Some("$default"));
    }

    #[test]
    fn first_differing_literal_segment_wins() {
        let r = router(&["GET /a/{x}/c", "GET /a/b/{y}"]);
        assert_eq!(route(&r, "GET", "/a/b/c").as_deref(), Some("GET /a/b/{y}"));
        assert_eq!(route(&r, "GET", "/a/z/c").as_deref(), Some("GET /a/{x}/c"));
        assert_eq!(route(&r, "GET", "/a/z/d"), None);
    }

    #[test]
    fn backtracks_when_the_literal_branch_dead_ends() {
        let r = router(&["GET /a/b/c", "GET /a/{x}/d"]);
        assert_eq!(route(&r, "GET", "/a/b/d").as_deref(), Some("GET /a/{x}/d"));
    }

    #[test]
    fn parameterised_beats_greedy_even_when_greedy_is_more_literal() {
        let r = router(&["GET /a/{x}/c", "GET /a/b/{rest+}"]);
        assert_eq!(route(&r, "GET", "/a/b/c").as_deref(), Some("GET /a/{x}/c"));
        assert_eq!(
            route(&r, "GET", "/a/b/c/d").as_deref(),
            Some("GET /a/b/{rest+}")
        );
    }

    #[test]
    fn method_beats_any_and_wrong_method_falls_through() {
        let r = router(&["GET /items", "ANY /items", "POST /only-post"]);
        assert_eq!(route(&r, "GET", "/items").as_deref(), Some("GET /items"));
        assert_eq!(route(&r, "DELETE", "/items").as_deref(), Some("ANY /items"));
        assert_eq!(route(&r, "GET", "/only-post"), None);
    }

    #[test]
    fn greedy_needs_a_segment_and_trailing_slash_is_ignored() {
        let r = router(&["ANY /{proxy+}", "GET /hello"]);
        assert_eq!(route(&r, "GET", "/"), None);
        assert_eq!(route(&r, "GET", "/hello/").as_deref(), Some("GET /hello"));
        let root = router(&["GET /"]);
        assert_eq!(route(&root, "GET", "/").as_deref(), Some("GET /"));
    }

    #[test]
    fn params_are_named_and_decoded() {
        let r = router(&["GET /u/{user}/files/{path+}"]);
        let m = r
            .at(&Method::GET, "/u/j%C3%BCrgen/files/a%2Fb/c%20d.txt")
            .expect("match");
        assert_eq!(
            m.params,
            vec![
                ("user".to_string(), "jürgen".to_string()),
                ("path".to_string(), "a/b/c d.txt".to_string()),
            ]
        );
    }

    #[test]
    fn encoded_slash_stays_inside_one_segment() {
        let r = router(&["GET /f/{name}"]);
        let m = r.at(&Method::GET, "/f/a%2Fb").expect("match");
        assert_eq!(m.params, vec![("name".to_string(), "a/b".to_string())]);
    }

    #[test]
    fn conflicting_routes_are_refused() {
        let mut r = router(&["GET /a/{x}"]);
        let err = r
            .insert("GET /a/{y}".parse().expect("key"), String::new())
            .expect_err("conflict");
        assert_eq!(err.existing, "GET /a/{x}");
        assert!(
            r.insert("POST /a/{y}".parse().expect("key"), String::new())
                .is_ok()
        );
        assert!(
            r.insert("$default".parse().expect("key"), String::new())
                .is_ok()
        );
        assert!(
            r.insert("$default".parse().expect("key"), String::new())
                .is_err()
        );
    }
}
