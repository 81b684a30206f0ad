//! A custom authorizer (API Gateway's Lambda authorizer, simple responses): admits a
//! request whose API key — the authorizer's one identity source, `x-api-key` in the demo
//! manifest — is one the `keys` example issued.
//!
//! Keys are stored by their SHA-256 only (table `api_keys`, partition key `key_hash`),
//! so the table never holds a usable key. A found key admits the request with the
//! context `{"owner": ..., "keyId": ...}`, which the route's function reads as
//! `requestContext.authorizer.lambda`; an unknown key is denied (403). The host caches
//! each decision for the authorizer's `result_ttl`, so the table is read once per key
//! per TTL, not once per request.

use portico_guest::authorizer::{AuthorizerRequest, Decision};
use portico_guest::data::{Table, key};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The table of issued keys.
const TABLE: &str = "api_keys";

/// An issued key, as the `keys` example stores it.
#[derive(Deserialize)]
struct StoredKey {
    id: String,
    owner: String,
}

/// Lower-case hex SHA-256 of `key`: the table's partition key.
fn key_hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn authorize(req: AuthorizerRequest) -> Result<Decision, portico_guest::Error> {
    // The host refuses requests without the identity source (401) before asking.
    let Some(presented) = req.identity_source().first() else {
        return Ok(Decision::deny());
    };
    let stored: Option<StoredKey> = Table::open(TABLE)?
        .get(key("key_hash", key_hash(presented)))
        .send_as()?;
    Ok(match stored {
        Some(stored) => Decision::allow()
            .with("owner", stored.owner)
            .with("keyId", stored.id),
        None => {
            portico_guest::log::info(format!("unknown API key on {}", req.route_key()));
            Decision::deny()
        }
    })
}

portico_guest::export_authorizer!(authorize);
