//! The development issuer, `portico-dev`: a signing key of Portico's own, so that
//! JWT-protected routes can be called offline. `portico token` mints tokens with it;
//! an authorizer with `issuer = "portico-dev"` verifies them with its public half, and
//! `portico up` publishes that half as a JWKS on the admin listener
//! (`/.well-known/jwks.json`) for other tools.
//!
//! The key is an Ed25519 key made on first use and kept in the data directory
//! (`dev-issuer.json`, readable by its owner only). It is for development: anyone who
//! can read the data directory can mint tokens, and the key never leaves the machine.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::KeyPair as _;
use sha2::Digest as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The `issuer` that selects the development key.
pub const ISSUER: &str = "portico-dev";

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "dev-issuer.json";

/// Why the development key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DevKeyError {
    /// Reading or writing the key file failed.
    #[error("development key {}: {error}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The key file holds something else.
    #[error("development key {}: {reason} (delete it to make a new key; tokens minted with the old one stop working)", path.display())]
    Invalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Signing failed.
    #[error("cannot sign with the development key: {0}")]
    Sign(String),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct KeyFile {
    /// The key as PKCS#8 (v2, with its public key), base64.
    ed25519_pkcs8: String,
}

/// The development issuer's key.
pub struct DevIssuer {
    kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// The key kept in `data_dir`, made there first if there is none. Two processes
    /// making it at once end with the same key: the first one written wins.
    pub fn load_or_create(data_dir: &Path) -> Result<DevIssuer, DevKeyError> {
        let path = data_dir.join(KEY_FILE);
        let io = |error| DevKeyError::Io {
            path: path.clone(),
            error,
        };
        match std::fs::read(&path) {
            Ok(bytes) => return Self::parse(&path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| DevKeyError::Sign("the system's random number generator failed".into()))?;
        let file = KeyFile {
            ed25519_pkcs8: STANDARD.encode(pkcs8.as_ref()),
        };
        let text =
            serde_json::to_vec_pretty(&file).map_err(|e| DevKeyError::Sign(e.to_string()))?;
        // Written whole beside the target, then linked into place: linking fails if
        // another process got there first, and its key is the one read back.
        let temp = data_dir.join(format!(".{KEY_FILE}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&temp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            match std::fs::hard_link(&temp, &path) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
                _ => crate::fs_atomic::sync_dir(data_dir),
            }
        })();
        let _ = std::fs::remove_file(&temp);
        written.map_err(io)?;
        let bytes = std::fs::read(&path).map_err(io)?;
        Self::parse(&path, &bytes)
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<DevIssuer, DevKeyError> {
        let invalid = |reason: String| DevKeyError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let file: KeyFile = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        let pkcs8 = STANDARD
            .decode(file.ed25519_pkcs8.as_bytes())
            .map_err(|e| invalid(format!("`ed25519_pkcs8`: {e}")))?;
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| invalid(format!("`ed25519_pkcs8`: not an Ed25519 key: {e}")))?;
        let public = pair.public_key().as_ref().to_vec();
        let digest = sha2::Sha256::digest(&public);
        let kid = format!("portico-dev-{}", hex(&digest[..8]));
        Ok(DevIssuer { kid, pkcs8, public })
    }

    /// The key's id, as tokens name it in `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWKS document.
    pub fn jwks(&self) -> String {
        serde_json::json!({"keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "use": "sig",
            "alg": "EdDSA",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.public),
        }]})
        .to_string()
    }

    /// A token carrying `claims`, signed with the key.
    pub fn mint(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, DevKeyError> {
        super::crypto::install();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))
            .map_err(|e| DevKeyError::Sign(e.to_string()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = DevIssuer::load_or_create(dir.path()).expect("made");
        let again = DevIssuer::load_or_create(dir.path()).expect("read back");
        assert_eq!(first.kid(), again.kid());
        assert_eq!(first.jwks(), again.jwks());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key file is its owner's only");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_damaged_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(KEY_FILE), "{}").expect("write");
        let e = DevIssuer::load_or_create(dir.path()).expect_err("damaged");
        assert!(e.to_string().contains(KEY_FILE), "{e}");
    }
}
