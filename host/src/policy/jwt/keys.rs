//! An authorizer's signing keys: the issuer's JWKS, fetched (or read) when the authorizer
//! starts serving (or on first use, if that fetch is still under way or failed) and
//! again when a token names a key the set does not hold.
//!
//! Rules, as API Gateway applies them to JWKS endpoints, plus a guard against floods:
//!
//! - a lookup of a key the set holds never waits and never allocates;
//! - a token naming an unknown `kid` refreshes the set, at most once per
//!   [`MIN_REFRESH`] per authorizer: requests arriving while a refresh is under way wait
//!   for it (one fetch, however many wait); once it is done, a `kid` still unknown is
//!   refused until the interval has passed, so a flood of made-up `kid`s costs the
//!   issuer one request per interval;
//! - a set older than [`MAX_AGE`] is renewed in the background by the next request that
//!   uses it (one renewal at a time, within the same once-per-interval rule), so a key
//!   the issuer withdraws stops being trusted within about an hour even when no token
//!   names an unknown `kid`;
//! - a failed refresh keeps the keys already held;
//! - only signing keys of the RSA, EC (P-256, P-384) and OKP (Ed25519) types are kept,
//!   each with the algorithms it may verify (its `alg` alone, when the JWK names one);
//!   symmetric (`oct`) keys and encryption keys are skipped, so a token cannot make a
//!   public key serve as an HMAC secret.

use super::fetch::{self, FetchError};
use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shortest time between two refreshes of one key set.
pub const MIN_REFRESH: Duration = Duration::from_secs(10);

/// How old a key set may get before a request that uses it renews it in the background.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// `loaded_ms` of a set never loaded.
const NEVER: u64 = u64::MAX;

/// One verification key.
pub struct Key {
    /// The key.
    pub decoding: DecodingKey,
    /// The algorithms it verifies.
    pub algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Where the keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A JWKS URL (`jwks_url`).
    Url(String),
    /// The issuer's OpenID configuration, whose `jwks_uri` names the JWKS (only
    /// `issuer` given).
    Discovery {
        /// The issuer, as configured.
        issuer: String,
    },
    /// A JWKS file (`jwks_file`), read again on a refresh.
    File(PathBuf),
    /// The development issuer's key, kept in this data directory ([`super::dev`]).
    Dev(PathBuf),
}

/// Why a key set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// Fetching a document failed.
    #[error("{url}: {error}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// Why it failed.
        error: FetchError,
    },
    /// Reading the file failed.
    #[error("{}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The document is not what it should be.
    #[error("{0}")]
    Invalid(String),
}

/// The keys by `kid`.
type Keys = HashMap<String, Arc<Key>>;

/// An authorizer's key set. See the [module docs](self).
pub struct KeySet {
    source: KeySource,
    keys: ArcSwap<Keys>,
    /// When the set was last refreshed (or tried to be); held while refreshing.
    refreshed: tokio::sync::Mutex<Option<Instant>>,
    /// When the set held was loaded, in ms since `born` ([`NEVER`] before the first).
    loaded_ms: AtomicU64,
    born: Instant,
    max_age: Duration,
    /// A background renewal is under way.
    renewing: AtomicBool,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("source", &self.source)
            .field("keys", &self.keys.load().len())
            .finish()
    }
}

impl KeySet {
    /// An empty set, loaded from `source` on first use.
    pub fn new(source: KeySource) -> KeySet {
        KeySet {
            source,
            keys: ArcSwap::from_pointee(Keys::new()),
            refreshed: tokio::sync::Mutex::new(None),
            loaded_ms: AtomicU64::new(NEVER),
            born: Instant::now(),
            max_age: MAX_AGE,
            renewing: AtomicBool::new(false),
        }
    }

    /// Whether the set held is older than [`MAX_AGE`] and no renewal is under way; a
    /// `true` answer claims the renewal, which the caller runs with [`KeySet::renew`].
    /// Cheap: an atomic load and a clock read.
    pub fn claim_renewal(&self) -> bool {
        self.is_stale()
            && self
                .renewing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    fn is_stale(&self) -> bool {
        let loaded = self.loaded_ms.load(Ordering::Relaxed);
        loaded != NEVER
            && millis(self.born.elapsed()).saturating_sub(loaded) >= millis(self.max_age)
    }

    /// Renews a stale set, within the once-per-interval rule; ends the renewal claimed
    /// by [`KeySet::claim_renewal`].
    pub async fn renew(&self) {
        {
            let mut refreshed = self.refreshed.lock().await;
            if self.is_stale() && !refreshed.is_some_and(|at| at.elapsed() < MIN_REFRESH) {
                *refreshed = Some(Instant::now());
                self.refresh().await;
            }
        }
        self.end_renewal();
    }

    /// Ends a renewal claimed by [`KeySet::claim_renewal`] without running it.
    pub fn end_renewal(&self) {
        self.renewing.store(false, Ordering::Release);
    }

    /// Where the keys come from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The key `kid`, if the set holds it now.
    pub fn get(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys.load().get(kid).cloned()
    }

    /// Loads the set if it was never loaded (a served authorizer's keys are fetched at
    /// start, not by its first request).
    pub async fn warm(&self) {
        let mut refreshed = self.refreshed.lock().await;
        if refreshed.is_none() {
            *refreshed = Some(Instant::now());
            self.refresh().await;
        }
    }

    /// The key `kid`, refreshing the set first if it does not hold it and the rules
    /// allow a refresh now.
    pub async fn get_or_refresh(&self, kid: &str) -> Option<Arc<Key>> {
        if let Some(key) = self.get(kid) {
            return Some(key);
        }
        let mut refreshed = self.refreshed.lock().await;
        // Whoever held the lock may have brought the key.
        if let Some(key) = self.get(kid) {
            return Some(key);
        }
        if refreshed.is_some_and(|at| at.elapsed() < MIN_REFRESH) {
            return None;
        }
        *refreshed = Some(Instant::now());
        self.refresh().await;
        self.get(kid)
    }

    /// Loads the set and replaces the one held; on failure keeps it. Called with
    /// `refreshed` locked.
    async fn refresh(&self) {
        match self.load().await {
            Ok(keys) => {
                tracing::debug!(source = ?self.source, keys = keys.len(), "JWKS loaded");
                self.keys.store(Arc::new(keys));
                self.loaded_ms
                    .store(millis(self.born.elapsed()), Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(
                "JWKS not loaded, keeping the {} keys held: {e}",
                self.keys.load().len()
            ),
        }
    }

    async fn load(&self) -> Result<Keys, KeysError> {
        let text = match &self.source {
            KeySource::Url(url) => fetch_text(url).await?,
            KeySource::Discovery { issuer } => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let config: serde_json::Value = serde_json::from_slice(&fetch_text(&url).await?)
                    .map_err(|e| KeysError::Invalid(format!("{url}: not JSON: {e}")))?;
                if config.get("issuer").and_then(|i| i.as_str()) != Some(issuer.as_str()) {
                    return Err(KeysError::Invalid(format!(
                        "{url}: its `issuer` is not {issuer:?}"
                    )));
                }
                let jwks = config
                    .get("jwks_uri")
                    .and_then(|u| u.as_str())
                    .ok_or_else(|| KeysError::Invalid(format!("{url}: no `jwks_uri`")))?;
                fetch_text(jwks).await?
            }
            KeySource::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    std::fs::read(&path).map_err(|error| KeysError::Read { path, error })
                })
                .await
                .map_err(|e| KeysError::Invalid(e.to_string()))??
                .into()
            }
            KeySource::Dev(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || super::dev::DevIssuer::load_or_create(&dir))
                    .await
                    .map_err(|e| KeysError::Invalid(e.to_string()))?
                    .map_err(|e| KeysError::Invalid(e.to_string()))?
                    .jwks()
                    .into()
            }
        };
        parse_jwks(&text)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX - 1)
}

async fn fetch_text(url: &str) -> Result<bytes::Bytes, KeysError> {
    fetch::get(url).await.map_err(|error| KeysError::Fetch {
        url: url.to_string(),
        error,
    })
}

/// The usable keys of a JWKS document. A key that cannot be used (no `kid`, an
/// unsupported type, bad parameters) is skipped; a document that is not a JWKS is an
/// error.
pub fn parse_jwks(text: &[u8]) -> Result<Keys, KeysError> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(text)
        .map_err(|e| KeysError::Invalid(format!("not a JWKS (`{{\"keys\": [...]}}`): {e}")))?;
    let mut keys = Keys::new();
    for value in document.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if let Some((kid, key)) = usable(&jwk) {
            keys.insert(kid, Arc::new(key));
        }
    }
    Ok(keys)
}

/// The key of `jwk` with the algorithms it may verify, if it is a signing key Portico
/// uses.
fn usable(jwk: &Jwk) -> Option<(String, Key)> {
    let kid = jwk.common.key_id.clone()?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    use Algorithm::*;
    let family: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![ES256],
            EllipticCurve::P384 => vec![ES384],
            _ => return None,
        },
        // jsonwebtoken's EdDSA verifier slices the key's first 32 bytes: a shorter `x`
        // would panic there, so it is checked here.
        AlgorithmParameters::OctetKeyPair(okp)
            if okp.curve == EllipticCurve::Ed25519
                && URL_SAFE_NO_PAD.decode(&okp.x).is_ok_and(|x| x.len() == 32) =>
        {
            vec![EdDSA]
        }
        _ => return None,
    };
    let algorithms = match jwk.common.key_algorithm {
        None => family,
        Some(named) => {
            let named = Algorithm::try_from(named).ok()?;
            if !family.contains(&named) {
                return None;
            }
            vec![named]
        }
    };
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    Some((
        kid,
        Key {
            decoding,
            algorithms,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    fn rsa(extra: serde_json::Value) -> serde_json::Value {
        let mut key = json!({"kty": "RSA", "n": N, "e": "AQAB"});
        if let serde_json::Value::Object(extra) = extra {
            for (k, v) in extra {
                key[k] = v;
            }
        }
        key
    }

    #[test]
    fn signing_keys_are_kept_with_their_algorithms() {
        let doc = json!({"keys": [
            rsa(json!({"kid": "a"})),
            rsa(json!({"kid": "b", "alg": "RS384", "use": "sig"})),
            rsa(json!({"kid": "enc", "use": "enc"})),
            rsa(json!({})),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "broken", "n": 5},
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"},
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).expect("a JWKS");
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort();
        assert_eq!(kids, ["a", "b", "ed"]);
        assert_eq!(keys["a"].algorithms.len(), 6);
        assert_eq!(keys["b"].algorithms, [Algorithm::RS384]);
        assert_eq!(keys["ed"].algorithms, [Algorithm::EdDSA]);
        // An RSA key naming an HMAC algorithm is not used at all.
        let doc = json!({"keys": [rsa(json!({"kid": "x", "alg": "HS256"}))]});
        assert!(
            parse_jwks(doc.to_string().as_bytes())
                .expect("a JWKS")
                .is_empty()
        );
    }

    #[test]
    fn what_is_not_a_jwks_is_an_error() {
        for bad in [&b"<html>"[..], br#"{"keys": 1}"#, br#"[]"#] {
            assert!(matches!(parse_jwks(bad), Err(KeysError::Invalid(_))));
        }
    }

    #[tokio::test]
    async fn an_unknown_kid_refreshes_at_most_once_per_interval() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jwks.json");
        let write = |kids: &[&str]| {
            let keys: Vec<_> = kids.iter().map(|k| rsa(json!({"kid": k}))).collect();
            std::fs::write(&path, json!({ "keys": keys }).to_string()).expect("write");
        };
        write(&["one"]);
        let set = KeySet::new(KeySource::File(path.clone()));
        assert!(
            set.get("one").is_none(),
            "nothing is loaded before first use"
        );
        assert!(set.get_or_refresh("one").await.is_some());
        // Rotated: the new key is not fetched again within the interval...
        write(&["two"]);
        assert!(set.get_or_refresh("two").await.is_none());
        // ...and the keys held stay usable.
        assert!(set.get("one").is_some());
        // Once the interval has passed, it is.
        *set.refreshed.lock().await = Some(Instant::now() - MIN_REFRESH);
        assert!(set.get_or_refresh("two").await.is_some());
        assert!(set.get("one").is_none(), "a refresh replaces the set");
    }

    #[tokio::test]
    async fn an_old_set_is_renewed_by_the_next_use_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jwks.json");
        let write = |kid: &str| {
            std::fs::write(
                &path,
                json!({ "keys": [rsa(json!({"kid": kid}))] }).to_string(),
            )
            .expect("write");
        };
        write("one");
        let mut set = KeySet::new(KeySource::File(path.clone()));
        set.max_age = Duration::ZERO;
        assert!(
            !set.claim_renewal(),
            "a set never loaded is not renewed, but warmed"
        );
        set.warm().await;
        write("two");
        assert!(set.claim_renewal());
        assert!(!set.claim_renewal(), "one renewal at a time");
        // Within the refresh interval the renewal does nothing, and ends.
        set.renew().await;
        assert!(set.get("one").is_some());
        *set.refreshed.lock().await = Some(Instant::now() - MIN_REFRESH);
        assert!(set.claim_renewal());
        set.renew().await;
        assert!(set.get("two").is_some() && set.get("one").is_none());
    }
}
