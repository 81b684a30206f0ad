//! The claim rules of API Gateway's JWT authorizers, applied to a token whose signature
//! has been verified. Pure functions over the claims and a clock, so every rule is
//! tested without keys.
//!
//! | claim | rule |
//! |---|---|
//! | `iss` | equals the authorizer's `issuer`, exactly |
//! | `aud` | one of its values is one of the `audiences` |
//! | `client_id` | checked instead of `aud` only when the token has no `aud` (Cognito access tokens) |
//! | `exp` | required; after now |
//! | `nbf` | if present, before now |
//! | `iat` | if present, before now |
//! | `scope` / `scp` | for a route with scopes: at least one of them is in the token |
//!
//! Times are compared with the authorizer's `leeway` in the token's favour.

use super::Denial;
use serde_json::{Map, Value};

/// The authorizer-wide rules (the route's scopes are checked apart, per route).
#[derive(Debug, Clone)]
pub struct Rules {
    /// The expected `iss`.
    pub issuer: String,
    /// The accepted `aud` (or `client_id`) values; never empty.
    pub audiences: Vec<String>,
    /// Clock skew allowed in the token's favour, in seconds.
    pub leeway: i64,
}

/// The times of a token that passed [`Rules::check`], checked again on every later use
/// of the same token (its other claims cannot change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// `exp`, seconds since the epoch.
    pub expires: i64,
    /// `nbf` or `iat`, whichever is later, if either is present.
    pub not_before: Option<i64>,
}

impl Lifetime {
    /// Whether the token may be used at `now` (seconds since the epoch).
    pub fn check(&self, now: i64, leeway: i64) -> Result<(), Denial> {
        if now >= self.expires.saturating_add(leeway) {
            return Err(Denial::Expired);
        }
        if self
            .not_before
            .is_some_and(|t| t > now.saturating_add(leeway))
        {
            return Err(Denial::NotYetValid);
        }
        Ok(())
    }
}

impl Rules {
    /// Applies every rule but the route's scopes to `claims` at `now`.
    pub fn check(&self, claims: &Map<String, Value>, now: i64) -> Result<Lifetime, Denial> {
        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == self.issuer => {}
            _ => return Err(Denial::Issuer),
        }
        match claims.get("aud") {
            Some(aud) => {
                let matches = match aud {
                    Value::String(one) => self.audiences.contains(one),
                    Value::Array(many) => many.iter().any(|a| {
                        a.as_str()
                            .is_some_and(|a| self.audiences.iter().any(|x| x == a))
                    }),
                    _ => false,
                };
                if !matches {
                    return Err(Denial::Audience);
                }
            }
            None => match claims.get("client_id") {
                Some(Value::String(id)) if self.audiences.contains(id) => {}
                _ => return Err(Denial::Audience),
            },
        }
        let expires = time(claims, "exp")?.ok_or(Denial::NoExpiry)?;
        let nbf = time(claims, "nbf")?;
        let iat = time(claims, "iat")?;
        if nbf.is_some_and(|t| t > now.saturating_add(self.leeway)) {
            return Err(Denial::NotYetValid);
        }
        if iat.is_some_and(|t| t > now.saturating_add(self.leeway)) {
            return Err(Denial::IssuedInTheFuture);
        }
        let lifetime = Lifetime {
            expires,
            not_before: nbf.max(iat),
        };
        if now >= expires.saturating_add(self.leeway) {
            return Err(Denial::Expired);
        }
        Ok(lifetime)
    }
}

/// A NumericDate claim (seconds since the epoch, possibly fractional), if present.
fn time(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, Denial> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            // Fractional seconds: the whole second (floor) is what the rules compare.
            (None, Some(f)) if f.is_finite() => Ok(Some(f.floor() as i64)),
            _ => Err(Denial::BadClaim(name)),
        },
        Some(_) => Err(Denial::BadClaim(name)),
    }
}

/// The token's scopes: `scope` (space-separated, OAuth 2.0 and Cognito), else `scp`
/// (an array, or a space-separated string, as some issuers send it).
pub fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let split = |s: &str| s.split_whitespace().map(str::to_string).collect();
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => split(s),
        (_, Some(Value::String(s))) => split(s),
        (_, Some(Value::Array(a))) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a token with `granted` scopes may call a route requiring `required` (any
/// one of them; a route with none requires none).
pub fn allows(required: &[String], granted: &[String]) -> bool {
    required.is_empty() || required.iter().any(|r| granted.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn rules() -> Rules {
        Rules {
            issuer: "https://issuer.example".into(),
            audiences: vec!["app".into(), "other".into()],
            leeway: 0,
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test claims are objects"),
        }
    }

    fn good() -> Value {
        json!({"iss": "https://issuer.example", "aud": "app", "exp": NOW + 60, "iat": NOW - 5})
    }

    fn with(field: &str, value: Value) -> Map<String, Value> {
        let mut c = claims(good());
        c.insert(field.into(), value);
        c
    }

    fn without(field: &str) -> Map<String, Value> {
        let mut c = claims(good());
        c.remove(field);
        c
    }

    #[test]
    fn a_good_token_passes_with_its_lifetime() {
        let lifetime = rules().check(&claims(good()), NOW).expect("passes");
        assert_eq!(
            lifetime,
            Lifetime {
                expires: NOW + 60,
                not_before: Some(NOW - 5)
            }
        );
        assert_eq!(lifetime.check(NOW + 59, 0), Ok(()));
        assert_eq!(lifetime.check(NOW + 60, 0), Err(Denial::Expired));
    }

    #[test]
    fn the_issuer_must_match_exactly() {
        let r = rules();
        for bad in [
            json!("https://issuer.example/"),
            json!("https://ISSUER.example"),
            json!(1),
        ] {
            assert_eq!(r.check(&with("iss", bad), NOW), Err(Denial::Issuer));
        }
        assert_eq!(r.check(&without("iss"), NOW), Err(Denial::Issuer));
    }

    #[test]
    fn the_audience_must_be_configured_and_client_id_counts_only_without_aud() {
        let r = rules();
        assert!(r.check(&with("aud", json!(["x", "other"])), NOW).is_ok());
        assert_eq!(
            r.check(&with("aud", json!("x")), NOW),
            Err(Denial::Audience)
        );
        assert_eq!(r.check(&with("aud", json!([])), NOW), Err(Denial::Audience));
        // No aud: client_id is checked instead (a Cognito access token).
        let mut c = without("aud");
        assert_eq!(r.check(&c, NOW), Err(Denial::Audience));
        c.insert("client_id".into(), json!("app"));
        assert!(r.check(&c, NOW).is_ok());
        // With aud, client_id is not looked at.
        let mut c = with("aud", json!("x"));
        c.insert("client_id".into(), json!("app"));
        assert_eq!(r.check(&c, NOW), Err(Denial::Audience));
    }

    #[test]
    fn times_are_checked_with_the_leeway() {
        let mut r = rules();
        assert_eq!(r.check(&without("exp"), NOW), Err(Denial::NoExpiry));
        assert_eq!(r.check(&with("exp", json!(NOW)), NOW), Err(Denial::Expired));
        assert_eq!(
            r.check(&with("exp", json!("soon")), NOW),
            Err(Denial::BadClaim("exp"))
        );
        assert_eq!(
            r.check(&with("nbf", json!(NOW + 1)), NOW),
            Err(Denial::NotYetValid)
        );
        assert_eq!(
            r.check(&with("iat", json!(NOW + 1)), NOW),
            Err(Denial::IssuedInTheFuture)
        );
        assert!(r.check(&with("nbf", json!(NOW)), NOW).is_ok());
        assert!(
            r.check(&with("exp", json!((NOW + 1) as f64 + 0.5)), NOW)
                .is_ok()
        );
        r.leeway = 30;
        assert!(r.check(&with("exp", json!(NOW - 29)), NOW).is_ok());
        assert!(r.check(&with("nbf", json!(NOW + 30)), NOW).is_ok());
        assert_eq!(
            r.check(&with("exp", json!(NOW - 30)), NOW),
            Err(Denial::Expired)
        );
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        assert_eq!(scopes(&with("scope", json!("a  b"))), ["a", "b"]);
        assert_eq!(scopes(&with("scp", json!(["a", 1, "c"]))), ["a", "c"]);
        assert_eq!(scopes(&with("scp", json!("d e"))), ["d", "e"]);
        assert!(scopes(&claims(good())).is_empty());
        let granted = ["read".to_string(), "write".to_string()];
        assert!(allows(&[], &[]));
        assert!(allows(&["admin".into(), "write".into()], &granted));
        assert!(!allows(&["admin".into()], &granted));
    }
}
