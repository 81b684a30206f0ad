//! The admin API's bearer token.

use crate::deploy::Actor;
use crate::sockets::peer::PeerCredential;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

/// Environment variable holding the admin token; it wins over `[server] admin_token`.
pub const ADMIN_TOKEN_ENV: &str = "PORTICO_ADMIN_TOKEN";

/// The configured admin token, kept only as its SHA-256 and the peer credential
/// derived from it.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
    peer: PeerCredential,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token is configured: changes through the admin API are off (403).
    NotConfigured,
    /// No bearer token, or the wrong one (401).
    BadToken,
}

impl AdminToken {
    /// The token from `PORTICO_ADMIN_TOKEN` if set and not empty, else `configured` (the
    /// manifest's).
    pub fn resolve(configured: Option<&str>) -> Option<AdminToken> {
        // Trimmed, as the token in a request's header is: a token pasted with a newline
        // would otherwise never match.
        let from_env = std::env::var(ADMIN_TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty());
        let token = from_env.as_deref().or(configured).map(str::trim);
        token.map(|t| AdminToken {
            digest: Sha256::digest(t.as_bytes()).into(),
            peer: PeerCredential::derive(t),
        })
    }

    /// The credential hosts sharing this token present to each other's peer endpoint.
    pub fn peer_credential(&self) -> &PeerCredential {
        &self.peer
    }

    /// Checks `headers` for `token`'s peer credential.
    pub fn check_peer(token: Option<&AdminToken>, headers: &HeaderMap) -> Result<(), Denied> {
        let token = token.ok_or(Denied::NotConfigured)?;
        let given = bearer(headers).ok_or(Denied::BadToken)?;
        if token.peer.accepts(given) {
            Ok(())
        } else {
            Err(Denied::BadToken)
        }
    }

    /// Checks `headers` against `token`; the caller is named by its token's hash.
    pub fn check(token: Option<&AdminToken>, headers: &HeaderMap) -> Result<Actor, Denied> {
        let token = token.ok_or(Denied::NotConfigured)?;
        let given = bearer(headers).ok_or(Denied::BadToken)?;
        let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        // Compare digests without an early exit, so timing says nothing about the token.
        let diff = digest
            .iter()
            .zip(token.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 {
            Ok(Actor::for_token(given))
        } else {
            Err(Denied::BadToken)
        }
    }
}

/// The bearer token of `headers`, if there is one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(auth).expect("header"));
        h
    }

    #[test]
    fn tokens_are_checked() {
        let token = AdminToken {
            digest: Sha256::digest(b"s3cret").into(),
            peer: PeerCredential::derive("s3cret"),
        };
        assert_eq!(
            AdminToken::check(None, &headers("Bearer s3cret")).unwrap_err(),
            Denied::NotConfigured
        );
        assert!(AdminToken::check(Some(&token), &headers("Bearer s3cret")).is_ok());
        assert!(AdminToken::check(Some(&token), &headers("bearer s3cret")).is_ok());
        for bad in ["Bearer wrong", "Basic s3cret", "s3cret", "Bearer "] {
            assert_eq!(
                AdminToken::check(Some(&token), &headers(bad)).unwrap_err(),
                Denied::BadToken,
                "{bad}"
            );
        }
        assert_eq!(
            AdminToken::check(Some(&token), &HeaderMap::new()).unwrap_err(),
            Denied::BadToken
        );
    }

    #[test]
    fn the_peer_credential_is_not_the_admin_token_and_back() {
        let token = AdminToken {
            digest: Sha256::digest(b"s3cret").into(),
            peer: PeerCredential::derive("s3cret"),
        };
        let peer = PeerCredential::derive("s3cret");
        let presented = format!("Bearer {}", peer.as_bearer());
        assert!(AdminToken::check_peer(Some(&token), &headers(&presented)).is_ok());
        // Neither opens the other's door.
        assert_eq!(
            AdminToken::check_peer(Some(&token), &headers("Bearer s3cret")).unwrap_err(),
            Denied::BadToken
        );
        assert_eq!(
            AdminToken::check(Some(&token), &headers(&presented)).unwrap_err(),
            Denied::BadToken
        );
        assert_eq!(
            AdminToken::check_peer(None, &headers(&presented)).unwrap_err(),
            Denied::NotConfigured
        );
    }
}
