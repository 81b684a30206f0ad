//! Route keys as API Gateway HTTP APIs write them: `GET /pets/{id}`, `ANY /{proxy+}`,
//! `$default`.

use http::Method;
use std::fmt;
use std::str::FromStr;

/// The methods a route key may name (besides `ANY`).
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// Which request methods a route accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MethodMatch {
    /// Every method (`ANY`).
    Any,
    /// Exactly this method.
    Exact(Method),
}

/// One segment of a route path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Matches itself, byte for byte.
    Literal(String),
    /// `{name}`: matches any one non-empty segment.
    Param(String),
    /// `{name+}`: matches one or more segments; always the last segment.
    Greedy(String),
}

/// A parsed route key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteKey {
    /// `$default`: catches requests no other route matches.
    Default,
    /// `METHOD /path`.
    Route {
        /// The method part.
        method: MethodMatch,
        /// The path, split on `/` (empty for `/`).
        segments: Vec<Segment>,
    },
}

/// Why a route key could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid route key {key:?}: {reason}")]
pub struct RouteKeyError {
    key: String,
    reason: String,
}

impl FromStr for RouteKey {
    type Err = RouteKeyError;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| RouteKeyError {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        if key == "$default" {
            return Ok(RouteKey::Default);
        }
        let (method, path) = key
            .split_once(' ')
            .ok_or_else(|| fail("expected `METHOD /path` or `$default`"))?;
        let method = match method {
            "ANY" => MethodMatch::Any,
            m if METHODS.contains(&m) => MethodMatch::Exact(
                Method::from_bytes(m.as_bytes()).map_err(|_| fail("invalid method"))?,
            ),
            _ => {
                return Err(fail(
                    "method must be one of ANY, GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS",
                ));
            }
        };
        let rest = path
            .strip_prefix('/')
            .ok_or_else(|| fail("the path must start with `/`"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut segments = Vec::new();
        let mut names: Vec<String> = Vec::new();
        if !rest.is_empty() {
            let parts: Vec<&str> = rest.split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let segment = parse_segment(part, i + 1 == parts.len()).map_err(|r| fail(&r))?;
                if let Segment::Param(n) | Segment::Greedy(n) = &segment {
                    if names.contains(n) {
                        return Err(fail(&format!("path parameter `{n}` appears twice")));
                    }
                    names.push(n.clone());
                }
                segments.push(segment);
            }
        }
        Ok(RouteKey::Route { method, segments })
    }
}

fn parse_segment(part: &str, last: bool) -> Result<Segment, String> {
    if part.is_empty() {
        return Err("empty path segment (`//`)".into());
    }
    if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(n) => (n, true),
            None => (inner, false),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(format!(
                "path parameter `{part}` must be `{{name}}` or `{{name+}}` with a name of letters, digits, `_`, `-` or `.`"
            ));
        }
        if greedy && !last {
            return Err(format!(
                "greedy parameter `{part}` must be the last segment"
            ));
        }
        return Ok(if greedy {
            Segment::Greedy(name.to_string())
        } else {
            Segment::Param(name.to_string())
        });
    }
    if part.contains(['{', '}']) {
        return Err(format!(
            "segment `{part}` mixes text and a parameter; a parameter must be a whole segment"
        ));
    }
    Ok(Segment::Literal(part.to_string()))
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteKey::Default => f.write_str("$default"),
            RouteKey::Route { method, segments } => {
                match method {
                    MethodMatch::Any => f.write_str("ANY ")?,
                    MethodMatch::Exact(m) => write!(f, "{m} ")?,
                }
                if segments.is_empty() {
                    return f.write_str("/");
                }
                for s in segments {
                    match s {
                        Segment::Literal(l) => write!(f, "/{l}")?,
                        Segment::Param(n) => write!(f, "/{{{n}}}")?,
                        Segment::Greedy(n) => write!(f, "/{{{n}+}}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_round_trip() {
        for key in [
            "$default",
            "GET /",
            "ANY /{proxy+}",
            "GET /pets/{id}",
            "POST /a/b/{rest+}",
        ] {
            let parsed: RouteKey = key.parse().expect(key);
            assert_eq!(parsed.to_string(), key);
        }
        let trailing: RouteKey = "GET /pets/".parse().expect("trailing slash");
        assert_eq!(trailing.to_string(), "GET /pets");
    }

    #[test]
    fn rejects_bad_keys_with_a_reason() {
        for (key, why) in [
            ("GET", "METHOD /path"),
            ("FETCH /x", "method must be"),
            ("GET x", "start with `/`"),
            ("GET /{a+}/b", "last segment"),
            ("GET /a{b}", "whole segment"),
            ("GET /{}", "path parameter"),
            ("GET /{a}/{a}", "appears twice"),
            ("GET /a//b", "empty path segment"),
            ("get /a", "method must be"),
        ] {
            let err = key.parse::<RouteKey>().expect_err(key).to_string();
            assert!(err.contains(why), "{key}: {err}");
        }
    }
}
