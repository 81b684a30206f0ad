//! JWT authorizers, as API Gateway's HTTP APIs run them (Cognito user pools included):
//! a route with `auth = "NAME"` admits only requests carrying a valid token from the
//! authorizer's issuer, before any guest runs.
//!
//! ```toml
//! [authorizers.users]
//! type = "jwt"
//! issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"
//! audiences = ["3n4b5urk1ft4fl3mg5e62d9ado"]   # app client ids
//! # jwks_url = "...", or jwks_file = "keys.json"; neither: OpenID discovery on `issuer`
//! # identity_source = "$request.header.Authorization"  (the default)
//! # leeway = "0s"                                      (the default)
//!
//! [routes]
//! "GET /me" = { function = "me", auth = "users", scopes = ["profile"] }
//! ```
//!
//! A request is admitted when its token, with or without `Bearer `, is a JWS whose
//! header names a `kid` of the issuer's key set ([`keys`]) and an algorithm that key
//! may verify (RS256/384/512, PS256/384/512, ES256, ES384, EdDSA; never `none` or an
//! HMAC), whose signature verifies, whose claims pass [`claims`]' rules, and which
//! carries one of the route's scopes, if it has any. Otherwise the answer is API
//! Gateway's: 401 `{"message":"Unauthorized"}` with a `www-authenticate` header saying
//! why, or 403 `{"message":"Forbidden"}` for a missing scope. The reason goes into the
//! access log's `refused` field; the token never does.
//!
//! A token that passed is remembered (by its text, up to [`VERIFIED_BYTES`] of tokens,
//! for at most [`VERIFIED_TTL`]): its signature is not checked again, its times are.
//! A key removed from the issuer's set therefore stops admitting its tokens within
//! [`VERIFIED_TTL`].

pub mod claims;
mod crypto;
pub mod dev;
mod fetch;
pub mod keys;

pub use crypto::install as install_crypto;

use super::identity::IdentitySource;
use super::{Admission, Context, Decision, Policy, Refusal};
use crate::exchange::Authorization;
use crate::runtime::HttpTrigger;
use claims::{Lifetime, Rules};
use http::{HeaderValue, StatusCode};
use jsonwebtoken::{Header, Validation};
use keys::{Key, KeySet, KeySource};
use serde::Deserialize;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a verified token is remembered.
pub const VERIFIED_TTL: Duration = Duration::from_secs(300);
/// How many bytes of verified tokens are remembered, per authorizer.
pub const VERIFIED_BYTES: u64 = 8 << 20;
/// The largest `leeway`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// `[authorizers.NAME]` with `type = "jwt"`, as written in the manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    /// The exact `iss` of accepted tokens; `portico-dev` for the development issuer.
    pub issuer: String,
    /// Accepted `aud` values (`client_id` for tokens without `aud`).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The issuer's JWKS.
    pub jwks_url: Option<String>,
    /// A JWKS file, relative to the manifest.
    pub jwks_file: Option<PathBuf>,
    /// Where the token is: `$request.header.NAME` or `$request.querystring.NAME`.
    pub identity_source: Option<String>,
    /// Clock skew allowed in the token's favour (`"30s"`), at most [`MAX_LEEWAY`].
    pub leeway: Option<String>,
}

/// A setting of a JWT authorizer that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct JwtConfigError {
    /// The key at fault (`issuer`, `audiences`, ...).
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

fn config_error(field: &'static str, reason: impl Into<String>) -> JwtConfigError {
    JwtConfigError {
        field,
        reason: reason.into(),
    }
}

/// The token `trigger` carries where `source` says, without `Bearer `; `None` if
/// missing or empty.
fn token<'t>(source: &IdentitySource, trigger: &'t HttpTrigger) -> Option<Cow<'t, str>> {
    let token = match source.value(trigger)? {
        Cow::Borrowed(value) => Cow::Borrowed(strip_bearer(value)),
        Cow::Owned(value) => Cow::Owned(strip_bearer(&value).to_string()),
    };
    (!token.is_empty()).then_some(token)
}

/// `text` without surrounding blanks and without a leading `Bearer ` (any case).
fn strip_bearer(text: &str) -> &str {
    let text = text.trim();
    match text.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => text[7..].trim(),
        _ => text,
    }
}

/// Why a token was not accepted. Its text is the `error_description` the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// No token where the identity source says.
    #[error("no token in the request")]
    Missing,
    /// Not a JWS, or its parts do not decode.
    #[error("the token is malformed")]
    Malformed,
    /// The header names no `kid`.
    #[error("the token's header has no kid")]
    NoKid,
    /// The issuer's key set has no such `kid`.
    #[error("the token's kid is not one of the issuer's keys")]
    UnknownKey,
    /// The header's `alg` is not one the key verifies.
    #[error("the token's alg is not allowed for its key")]
    Algorithm,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    Signature,
    /// `iss` is not the issuer.
    #[error("the token does not have a valid issuer")]
    Issuer,
    /// Neither `aud` nor (without `aud`) `client_id` is an accepted audience.
    #[error("the token does not have a valid audience")]
    Audience,
    /// No `exp`.
    #[error("the token has no expiry")]
    NoExpiry,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is still ahead.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is ahead.
    #[error("the token was issued in the future")]
    IssuedInTheFuture,
    /// A time claim is not a number.
    #[error("the token's {0} claim is not a number")]
    BadClaim(&'static str),
}

/// A token that passed, as remembered.
#[derive(Debug)]
struct Verified {
    lifetime: Lifetime,
    authorization: Arc<Authorization>,
}

/// A JWT authorizer: its rules, its key set, and the tokens it verified lately.
pub struct JwtAuthorizer {
    name: String,
    source: IdentitySource,
    rules: Rules,
    keys: KeySet,
    verified: moka::sync::Cache<Arc<str>, Arc<Verified>>,
}

impl std::fmt::Debug for JwtAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthorizer")
            .field("name", &self.name)
            .field("issuer", &self.rules.issuer)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl JwtAuthorizer {
    /// The authorizer `name` configured by `settings`, with relative paths resolved
    /// against `dir` and the development key kept in `data_dir`. A `jwks_file` is read
    /// and checked now; keys from elsewhere are fetched by [`JwtAuthorizer::warm`] or on
    /// first use.
    pub fn new(
        name: &str,
        settings: &JwtSettings,
        dir: &Path,
        data_dir: &Path,
    ) -> Result<JwtAuthorizer, JwtConfigError> {
        crypto::install();
        let issuer = settings.issuer.trim();
        if issuer.is_empty() {
            return Err(config_error("issuer", "must not be empty"));
        }
        if settings.audiences.is_empty() || settings.audiences.iter().any(|a| a.is_empty()) {
            return Err(config_error(
                "audiences",
                "at least one non-empty audience is required: the `aud` (or, for tokens without `aud`, `client_id`) values accepted, such as a Cognito app client id",
            ));
        }
        let source = match (&settings.jwks_url, &settings.jwks_file) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "jwks_file",
                    "give `jwks_url` or `jwks_file`, not both",
                ));
            }
            _ if issuer == dev::ISSUER => {
                if settings.jwks_url.is_some() || settings.jwks_file.is_some() {
                    return Err(config_error(
                        "issuer",
                        "`portico-dev` uses Portico's development key: leave out `jwks_url` and `jwks_file`",
                    ));
                }
                KeySource::Dev(data_dir.to_path_buf())
            }
            (Some(url), None) => {
                check_url(url).map_err(|reason| config_error("jwks_url", reason))?;
                KeySource::Url(url.clone())
            }
            (None, Some(file)) => {
                let path = dir.join(file);
                let text = std::fs::read(&path).map_err(|e| {
                    config_error("jwks_file", format!("cannot read {}: {e}", path.display()))
                })?;
                let keys = keys::parse_jwks(&text)
                    .map_err(|e| config_error("jwks_file", format!("{}: {e}", path.display())))?;
                if keys.is_empty() {
                    return Err(config_error(
                        "jwks_file",
                        format!(
                            "{}: no signing key Portico can use (RSA, EC P-256/P-384 or Ed25519, each with a `kid`)",
                            path.display()
                        ),
                    ));
                }
                KeySource::File(path)
            }
            (None, None) => {
                check_url(issuer).map_err(|reason| {
                    config_error(
                        "issuer",
                        format!("without `jwks_url` or `jwks_file` the issuer's keys are found by OpenID discovery, so it must be a URL: {reason}"),
                    )
                })?;
                KeySource::Discovery {
                    issuer: issuer.to_string(),
                }
            }
        };
        let identity = settings
            .identity_source
            .as_deref()
            .unwrap_or("$request.header.Authorization");
        let source_of_token = IdentitySource::parse(identity)
            .and_then(|source| {
                if source.is_request() {
                    Ok(source)
                } else {
                    Err(format!(
                        "a JWT authorizer reads its token from `$request.header.NAME` or `$request.querystring.NAME`, not {identity:?}"
                    ))
                }
            })
            .map_err(|reason| config_error("identity_source", reason))?;
        let leeway = match &settings.leeway {
            None => Duration::ZERO,
            Some(text) => humantime::parse_duration(text)
                .map_err(|e| config_error("leeway", format!("{text:?}: {e}")))?,
        };
        if leeway > MAX_LEEWAY {
            return Err(config_error(
                "leeway",
                format!("at most {}", humantime::format_duration(MAX_LEEWAY)),
            ));
        }
        Ok(JwtAuthorizer {
            name: name.to_string(),
            source: source_of_token,
            rules: Rules {
                issuer: issuer.to_string(),
                audiences: settings.audiences.clone(),
                leeway: leeway.as_secs() as i64,
            },
            keys: KeySet::new(source),
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_BYTES)
                .weigher(|token: &Arc<str>, _| u32::try_from(token.len()).unwrap_or(u32::MAX))
                .time_to_live(VERIFIED_TTL)
                .build(),
        })
    }

    /// The authorizer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The issuer it accepts.
    pub fn issuer(&self) -> &str {
        &self.rules.issuer
    }

    /// The audiences it accepts.
    pub fn audiences(&self) -> &[String] {
        &self.rules.audiences
    }

    /// Where its keys come from.
    pub fn key_source(&self) -> &KeySource {
        self.keys.source()
    }

    /// Starts loading the key set in the background if it was never loaded, so that
    /// the first request does not wait for the issuer. Outside a tokio runtime it does
    /// nothing (the first request loads it).
    pub fn warm(self: &Arc<Self>) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let authorizer = Arc::clone(self);
            runtime.spawn(async move { authorizer.keys.warm().await });
        }
    }

    /// Checks `token` as far as it can without waiting: `Err(header)` when the token
    /// names a key the set does not hold yet.
    fn check_now(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Result<Arc<Verified>, Denial>, Box<Header>> {
        if let Some(verified) = self.verified.get(token) {
            return Ok(verified
                .lifetime
                .check(now, self.rules.leeway)
                .map(|()| verified));
        }
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(Err(Denial::Malformed));
        };
        let Some(kid) = header.kid.as_deref() else {
            return Ok(Err(Denial::NoKid));
        };
        match self.keys.get(kid) {
            Some(key) => Ok(self.verify(token, &header, &key, now)),
            None => Err(Box::new(header)),
        }
    }

    /// Checks `token`, whose header is `header`, once the key set has been refreshed.
    async fn check_later(&self, token: &str, header: Box<Header>) -> Result<Arc<Verified>, Denial> {
        let kid = header.kid.as_deref().unwrap_or_default();
        match self.keys.get_or_refresh(kid).await {
            Some(key) => self.verify(token, &header, &key, unix_now()),
            None => Err(Denial::UnknownKey),
        }
    }

    fn verify(
        &self,
        token: &str,
        header: &Header,
        key: &Key,
        now: i64,
    ) -> Result<Arc<Verified>, Denial> {
        if !key.algorithms.contains(&header.alg) {
            return Err(Denial::Algorithm);
        }
        // The signature only: the claim rules are Portico's own, to answer as API
        // Gateway does.
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key.decoding,
            &validation,
        )
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Denial::Signature,
            _ => Denial::Malformed,
        })?;
        let lifetime = self.rules.check(&data.claims, now)?;
        let scopes = claims::scopes(&data.claims);
        let verified = Arc::new(Verified {
            lifetime,
            authorization: Arc::new(Authorization::from_jwt(&data.claims, scopes)),
        });
        self.verified
            .insert(Arc::from(token), Arc::clone(&verified));
        Ok(verified)
    }
}

fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url:?}: {e}"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(()),
        _ => Err(format!("{url:?} is not an http:// or https:// URL")),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A route's JWT check: its authorizer and the scopes the route requires.
#[derive(Debug, Clone)]
pub struct JwtPolicy {
    authorizer: Arc<JwtAuthorizer>,
    scopes: Arc<[String]>,
}

impl JwtPolicy {
    /// Requests must carry a token `authorizer` accepts, with one of `scopes` (if any).
    pub fn new(authorizer: Arc<JwtAuthorizer>, scopes: Vec<String>) -> JwtPolicy {
        JwtPolicy {
            authorizer,
            scopes: scopes.into(),
        }
    }

    /// The authorizer's name.
    pub fn authorizer_name(&self) -> &str {
        &self.authorizer.name
    }

    /// The scopes a token needs one of (none: any token the authorizer accepts).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    fn decide(&self, checked: Result<Arc<Verified>, Denial>) -> Decision {
        let verified = checked.map_err(|denial| self.unauthorized(denial))?;
        if !claims::allows(&self.scopes, &verified.authorization.jwt_scopes) {
            return Err(self.forbidden());
        }
        Ok(Some(Arc::clone(&verified.authorization)))
    }

    fn unauthorized(&self, denial: Denial) -> Box<Refusal> {
        let challenge = match denial {
            // RFC 6750 §3.1: no error code when the request carried no token.
            Denial::Missing => "Bearer".to_string(),
            other => format!(r#"Bearer error="invalid_token" error_description="{other}""#),
        };
        self.refusal(
            StatusCode::UNAUTHORIZED,
            r#"{"message":"Unauthorized"}"#,
            &challenge,
            &denial.to_string(),
        )
    }

    fn forbidden(&self) -> Box<Refusal> {
        let scopes = self.scopes.join(" ");
        self.refusal(
            StatusCode::FORBIDDEN,
            r#"{"message":"Forbidden"}"#,
            &format!(
                r#"Bearer scope="{scopes}" error="insufficient_scope" error_description="the token has none of the route's scopes""#
            ),
            &format!("the token has none of the scopes {scopes}"),
        )
    }

    fn refusal(
        &self,
        status: StatusCode,
        body: &'static str,
        challenge: &str,
        reason: &str,
    ) -> Box<Refusal> {
        let mut refusal = super::refusal(
            status,
            body,
            format!("jwt authorizer {}: {reason}", self.authorizer.name),
        );
        if let Ok(value) = HeaderValue::from_str(challenge) {
            refusal
                .response
                .headers
                .insert(http::header::WWW_AUTHENTICATE, value);
        }
        refusal
    }
}

impl Policy for JwtPolicy {
    fn name(&self) -> &'static str {
        "jwt"
    }

    fn responds(&self) -> bool {
        false
    }

    fn admit<'a>(&'a self, trigger: &'a HttpTrigger, _cx: Context<'a>) -> Admission<'a> {
        // An event `portico invoke` read carries its authorizer's output already.
        if trigger.request.carries_authorizer_output() {
            return Admission::Now(Ok(None));
        }
        if self.authorizer.keys.claim_renewal() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let authorizer = Arc::clone(&self.authorizer);
                    runtime.spawn(async move { authorizer.keys.renew().await });
                }
                Err(_) => self.authorizer.keys.end_renewal(),
            }
        }
        let Some(token) = token(&self.authorizer.source, trigger) else {
            return Admission::Now(Err(self.unauthorized(Denial::Missing)));
        };
        match self.authorizer.check_now(&token, unix_now()) {
            Ok(checked) => Admission::Now(self.decide(checked)),
            Err(header) => Admission::Later(Box::pin(async move {
                let checked = self.authorizer.check_later(&token, header).await;
                self.decide(checked)
            })),
        }
    }
}
