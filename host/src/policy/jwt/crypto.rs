//! RSA and ECDSA signatures verified with ring, as `jsonwebtoken`'s process-wide
//! [`CryptoProvider`].
//!
//! Why: `jsonwebtoken` verifies with RustCrypto by default, and RustCrypto's RSA and
//! ECDSA verification is several times slower than ring's (BoringSSL's assembly):
//! measured in the same process (`cargo bench -p portico --bench hot_path -- "signature
//! check"`), RS256 95 µs → 26 µs, ES256 336 µs → 65 µs. Its Ed25519 is the faster one
//! (50 µs against ring's 59 µs), so EdDSA stays RustCrypto's, as do signing (only the
//! development issuer's tokens) and the JWK helpers. ring is already in the build (the
//! development issuer makes its key with it).
//!
//! [`install`] runs when the command line starts, and again before any token is checked
//! or minted: jsonwebtoken's first use would otherwise settle on RustCrypto for the
//! process. It installs this provider unless another is installed already (in which case
//! that one is used: still correct, only slower).

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use ring::signature::{
    self as ring_sig, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use std::sync::OnceLock;

/// The provider: ring's RSA and ECDSA verifiers; RustCrypto's Ed25519 verifier, signers
/// and key helpers.
fn provider() -> &'static CryptoProvider {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let rust = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
        CryptoProvider {
            signer_factory: rust.signer_factory,
            verifier_factory: verifier,
            key_utils: rust.key_utils.clone(),
        }
    })
}

/// Makes ring the verifier of this process's JWTs, unless a provider is installed
/// already.
pub fn install() {
    // `Err` means one is installed: ours from an earlier call, or someone else's.
    let _ = provider().install_default();
}

/// One verification: the algorithm ring runs and the key, checked to be of the
/// algorithm's family (an RSA key never verifies an ES256 token, and so on).
struct RingVerifier {
    algorithm: Algorithm,
    key: DecodingKey,
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm == Algorithm::EdDSA {
        return (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.verifier_factory)(
            algorithm, key,
        );
    }
    if key.family() != algorithm.family() {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    // HMAC is never a JWT authorizer's (keys.rs refuses `oct` keys); refuse it here too.
    if ring_algorithm(*algorithm).is_none() {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(RingVerifier {
        algorithm: *algorithm,
        key: key.clone(),
    }))
}

/// ring's verification algorithm for `algorithm` (RSA keys of 2048 to 8192 bits: ring
/// refuses shorter ones, which no issuer should still use).
fn ring_algorithm(algorithm: Algorithm) -> Option<&'static dyn RingAlgorithm> {
    Some(match algorithm {
        Algorithm::RS256 => &ring_sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &ring_sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &ring_sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &ring_sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &ring_sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &ring_sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &ring_sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &ring_sig::ECDSA_P384_SHA384_FIXED,
        // EdDSA (RustCrypto's, above), HMAC (never), and any algorithm a later
        // jsonwebtoken adds (the enum is non-exhaustive).
        _ => return None,
    })
}

/// A ring verification algorithm, and how to verify with RSA components (only RSA
/// parameters can).
trait RingAlgorithm: VerificationAlgorithm {
    fn verify_components(&self, n: &[u8], e: &[u8], msg: &[u8], sig: &[u8]) -> bool;
}

impl RingAlgorithm for ring_sig::RsaParameters {
    fn verify_components(&self, n: &[u8], e: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        // ring refuses a modulus with leading zero bytes, which some JWKS carry.
        let start = n.iter().position(|b| *b != 0).unwrap_or(n.len());
        RsaPublicKeyComponents { n: &n[start..], e }
            .verify(self, msg, sig)
            .is_ok()
    }
}

impl RingAlgorithm for ring_sig::EcdsaVerificationAlgorithm {
    fn verify_components(&self, _: &[u8], _: &[u8], _: &[u8], _: &[u8]) -> bool {
        false
    }
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let Some(algorithm) = ring_algorithm(self.algorithm) else {
            return Err(signature::Error::new());
        };
        let valid = match self.key.kind() {
            // An RSA public key in PKCS#1 DER or an uncompressed EC point: what ring's
            // `UnparsedPublicKey` takes for each.
            DecodingKeyKind::SecretOrDer(bytes) => UnparsedPublicKey::new(algorithm, bytes)
                .verify(msg, sig)
                .is_ok(),
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                algorithm.verify_components(n, e, msg, sig)
            }
        };
        if valid {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{EncodingKey, Header, Validation};

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/jwt")
            .join(name);
        std::fs::read(path).expect("key fixture")
    }

    /// A token signed (by RustCrypto) with `key`, and the decoding key of its JWK.
    fn signed(alg: Algorithm, key: &EncodingKey) -> (String, DecodingKey) {
        // Before any use of jsonwebtoken: its first use otherwise picks RustCrypto.
        install();
        let jwk = Jwk::from_encoding_key(key, alg).expect("jwk");
        (
            sign(alg, key),
            DecodingKey::from_jwk(&jwk).expect("decoding key"),
        )
    }

    fn sign(alg: Algorithm, key: &EncodingKey) -> String {
        install();
        let claims = serde_json::json!({"sub": "s", "exp": 4_000_000_000u64});
        jsonwebtoken::encode(&Header::new(alg), &claims, key).expect("sign")
    }

    fn verifies(token: &str, key: &DecodingKey, alg: Algorithm) -> bool {
        let mut validation = Validation::new(alg);
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(token, key, &validation).is_ok()
    }

    /// Flips one bit of the signature.
    fn tampered(token: &str) -> String {
        let mut bytes = token.as_bytes().to_vec();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ascii")
    }

    #[test]
    fn ring_verifies_what_rustcrypto_signs_and_nothing_else() {
        let rsa = EncodingKey::from_rsa_der(&fixture("rsa-1.der"));
        let ec = EncodingKey::from_ec_der(&fixture("ec-p256.der"));
        let mut cases: Vec<(Algorithm, String, DecodingKey)> = [
            (Algorithm::RS256, &rsa),
            (Algorithm::RS512, &rsa),
            (Algorithm::PS256, &rsa),
            (Algorithm::ES256, &ec),
        ]
        .into_iter()
        .map(|(alg, key)| {
            let (token, decoding) = signed(alg, key);
            (alg, token, decoding)
        })
        .collect();
        // Ed25519 (verified by RustCrypto) as the development issuer makes its key.
        use ring::signature::KeyPair as _;
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("key");
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair");
        cases.push((
            Algorithm::EdDSA,
            sign(Algorithm::EdDSA, &EncodingKey::from_ed_der(pkcs8.as_ref())),
            DecodingKey::from_ed_der(pair.public_key().as_ref()),
        ));
        for (alg, token, decoding) in &cases {
            assert!(verifies(token, decoding, *alg), "{alg:?}");
            assert!(
                !verifies(&tampered(token), decoding, *alg),
                "{alg:?} tampered"
            );
        }
        assert!(
            std::ptr::eq(
                CryptoProvider::try_get_default().expect("installed"),
                provider()
            ),
            "ring is the process's provider"
        );
    }

    #[test]
    fn a_key_of_another_family_verifies_nothing() {
        let rsa = EncodingKey::from_rsa_der(&fixture("rsa-1.der"));
        let (token, rsa_key) = signed(Algorithm::RS256, &rsa);
        let ec = EncodingKey::from_ec_der(&fixture("ec-p256.der"));
        let (_, ec_key) = signed(Algorithm::ES256, &ec);
        assert!(verifies(&token, &rsa_key, Algorithm::RS256));
        assert!(!verifies(&token, &ec_key, Algorithm::RS256));
        assert!(verifier(&Algorithm::ES256, &rsa_key).is_err());
        assert!(
            verifier(
                &Algorithm::HS256,
                &DecodingKey::from_secret(b"k").expect("key")
            )
            .is_err()
        );
    }
}
