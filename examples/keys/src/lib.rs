//! Issues API keys for the `authorizer` example.
//!
//! `POST /keys` (behind the demo's JWT authorizer) creates a random key for the caller
//! (the token's `sub`) and answers 201 `{"key": "pk_...", "id": "...", "owner": "..."}`.
//! The key is shown this once: the table `api_keys` keeps only its SHA-256
//! (`key_hash`, the partition key), with the key's id, owner and creation time.

use portico_guest::data::{Table, attr};
use portico_guest::http::StatusCode;
use portico_guest::{Error, Request, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The table of issued keys.
const TABLE: &str = "api_keys";

/// An issued key, as stored.
#[derive(Serialize)]
struct StoredKey<'a> {
    key_hash: &'a str,
    id: &'a str,
    owner: &'a str,
    created: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn handle(req: Request) -> Result<Response, Error> {
    let Some(owner) = req.claim("sub") else {
        // The manifest puts this route behind a JWT authorizer; without one, refuse.
        return Response::new(StatusCode::FORBIDDEN)
            .json(&serde_json::json!({ "message": "Forbidden" }));
    };
    // 32 bytes from the host's secure random source (`wasi:random`).
    let key = format!("pk_{}", hex(&wasip2::random::random::get_random_bytes(32)));
    let key_hash = hex(&Sha256::digest(key.as_bytes()));
    let id = &key_hash[..12];
    Table::open(TABLE)?
        .put(&StoredKey {
            key_hash: &key_hash,
            id,
            owner,
            created: req.context().time_epoch,
        })
        .condition(attr("key_hash").not_exists())
        .send()?;
    portico_guest::log::info(format!("issued API key {id} to {owner}"));
    Response::new(StatusCode::CREATED).json(&serde_json::json!({
        "key": key,
        "id": id,
        "owner": owner,
    }))
}

portico_guest::export!(handle);
