//! Route keys and the matcher.

use http::Method;
use portico::routing::{MethodMatch, RouteKey, Router, Segment};

/// Most routes (and requests) one input makes.
const MAX_LINES: usize = 48;

/// Each line of the input is tried as a route key and, once the router is built, as a
/// request `METHOD path` (and again with every `{param}` segment filled in, so that
/// requests reach the routes).
///
/// # Panics
/// When a route key does not print and parse back to itself, or when the router's answer
/// differs from a naive matcher's: the route it picks must match the request, it must
/// find a route whenever one matches, and it prefers routes without a greedy parameter.
pub fn router(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().take(MAX_LINES).collect();
    let mut router = Router::new();
    for line in &lines {
        let Ok(key) = line.parse::<RouteKey>() else {
            continue;
        };
        let printed = key.to_string();
        let again: RouteKey = printed
            .parse()
            .unwrap_or_else(|e| panic!("{line:?} printed as {printed:?}, which fails: {e}"));
        assert_eq!(again, key, "{line:?} printed as {printed:?}");
        // A conflict is an answer, not a failure.
        let _ = router.insert(key, ());
    }
    for line in &lines {
        let Some((method, path)) = line.split_once(' ') else {
            continue;
        };
        let Ok(method) = Method::from_bytes(method.as_bytes()) else {
            continue;
        };
        check(&router, &method, path);
        check(&router, &method, &fill_params(path));
    }
}

fn fill_params(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "v" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn check(router: &Router<()>, method: &Method, path: &str) {
    let segments = segments(path);
    let matching: Vec<&RouteKey> = router
        .routes()
        .iter()
        .map(|r| &r.key)
        .filter(|k| naive_match(k, method, &segments))
        .collect();
    let found = router.at(method, path);
    match found {
        Some(m) if m.route.key != RouteKey::Default => {
            assert!(
                naive_match(&m.route.key, method, &segments),
                "{method} {path:?} was routed to `{}`, which does not match it",
                m.route.text
            );
            if matching.iter().any(|k| !is_greedy(k)) {
                assert!(
                    !is_greedy(&m.route.key),
                    "{method} {path:?} went to greedy `{}` although a route without a greedy parameter matches",
                    m.route.text
                );
            }
            assert_eq!(
                m.params.len(),
                params(&m.route.key),
                "{method} {path:?} on `{}`: params {:?}",
                m.route.text,
                m.params
            );
        }
        _ => assert!(
            matching.is_empty(),
            "{method} {path:?} found no route, but {:?} match",
            matching.iter().map(ToString::to_string).collect::<Vec<_>>()
        ),
    }
}

/// The path as the router splits it: one leading and one trailing `/` dropped.
fn segments(path: &str) -> Vec<&str> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

/// API Gateway's rule, written the slow way: the method, then each segment; a literal
/// matches itself, a parameter any non-empty segment, a greedy parameter one or more
/// segments of whatever they hold.
fn naive_match(key: &RouteKey, method: &Method, path: &[&str]) -> bool {
    let RouteKey::Route {
        method: wanted,
        segments,
    } = key
    else {
        return false;
    };
    if let MethodMatch::Exact(m) = wanted
        && m != method
    {
        return false;
    }
    let prefix_matches = |route: &[Segment], path: &[&str]| {
        route.iter().zip(path).all(|(s, p)| match s {
            Segment::Literal(l) => l == p,
            Segment::Param(_) => !p.is_empty(),
            Segment::Greedy(_) => true,
        })
    };
    if is_greedy(key) {
        path.len() >= segments.len() && prefix_matches(segments, path)
    } else {
        path.len() == segments.len() && prefix_matches(segments, path)
    }
}

/// Whether the route ends in a greedy parameter (`{proxy+}`).
fn is_greedy(key: &RouteKey) -> bool {
    matches!(key, RouteKey::Route { segments, .. } if matches!(segments.last(), Some(Segment::Greedy(_))))
}

fn params(key: &RouteKey) -> usize {
    match key {
        RouteKey::Route { segments, .. } => segments
            .iter()
            .filter(|s| !matches!(s, Segment::Literal(_)))
            .count(),
        RouteKey::Default => 0,
    }
}
