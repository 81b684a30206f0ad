//! `portico token`: mints a JWT from the development issuer (`portico-dev`), for calling
//! JWT-protected routes without an identity provider.

use crate::manifest::Manifest;
use crate::policy::jwt::dev::{self, DevIssuer};
use anyhow::Context as _;
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to put in the token.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The `sub` claim.
    #[arg(long, default_value = "dev-user")]
    pub sub: String,
    /// A scope to grant (repeat it, or give several separated by spaces).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// The `aud` claim (default: the first audience of the manifest's `portico-dev`
    /// authorizer).
    #[arg(long)]
    pub aud: Option<String>,
    /// Another claim, `NAME=VALUE`; VALUE is JSON if it parses as JSON, else a string
    /// (`--claim 'cognito:groups=["admin"]'`, `--claim email=ann@example.com`).
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    pub claims: Vec<String>,
    /// How long the token is valid.
    #[arg(long, default_value = "1h")]
    pub ttl: humantime::Duration,
}

/// Mints the token and prints it as the last line of stdout.
pub fn run(manifest: &Manifest, args: TokenArgs) -> anyhow::Result<()> {
    let aud = match args.aud {
        Some(aud) => aud,
        None => manifest
            .api
            .authorizers
            .values()
            .filter_map(|a| a.jwt())
            .find(|a| a.issuer() == dev::ISSUER)
            .and_then(|a| a.audiences().first().cloned())
            .with_context(|| {
                format!(
                    "{} has no authorizer with issuer = \"{}\" to take the audience from: add one, or give --aud",
                    manifest.path.display(),
                    dev::ISSUER
                )
            })?,
    };
    let claims = claims(
        &args.sub,
        &aud,
        &args.scopes,
        &args.claims,
        args.ttl.into(),
        now(),
    )?;
    let issuer = DevIssuer::load_or_create(&manifest.data.dir)?;
    let token = issuer.mint(&claims)?;
    eprintln!(
        "a {} token for sub {:?}, aud {:?}, valid for {}:",
        dev::ISSUER,
        args.sub,
        aud,
        args.ttl
    );
    println!("{token}");
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The token's claims.
fn claims(
    sub: &str,
    aud: &str,
    scopes: &[String],
    extra: &[String],
    ttl: Duration,
    now: u64,
) -> anyhow::Result<Map<String, Value>> {
    let mut claims = Map::new();
    claims.insert("iss".into(), dev::ISSUER.into());
    claims.insert("sub".into(), sub.into());
    claims.insert("aud".into(), aud.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), now.saturating_add(ttl.as_secs()).into());
    let scopes: Vec<&str> = scopes.iter().flat_map(|s| s.split_whitespace()).collect();
    if !scopes.is_empty() {
        claims.insert("scope".into(), scopes.join(" ").into());
    }
    for pair in extra {
        let (name, value) = pair
            .split_once('=')
            .filter(|(name, _)| !name.is_empty())
            .with_context(|| format!("--claim {pair:?}: expected NAME=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        claims.insert(name.to_string(), value);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_have_the_defaults_and_the_extras() {
        let c = claims(
            "ann",
            "app",
            &["read write".into(), "admin".into()],
            &[
                "n=3".into(),
                "g=[\"a\"]".into(),
                "email=ann@example.com".into(),
            ],
            Duration::from_secs(60),
            1000,
        )
        .expect("claims");
        assert_eq!(c["iss"], "portico-dev");
        assert_eq!(c["sub"], "ann");
        assert_eq!(c["aud"], "app");
        assert_eq!(c["exp"], 1060);
        assert_eq!(c["scope"], "read write admin");
        assert_eq!(c["n"], 3);
        assert_eq!(c["g"], serde_json::json!(["a"]));
        assert_eq!(c["email"], "ann@example.com");
        assert!(claims("a", "b", &[], &["=x".into()], Duration::ZERO, 0).is_err());
        assert!(claims("a", "b", &[], &["x".into()], Duration::ZERO, 0).is_err());
    }
}
