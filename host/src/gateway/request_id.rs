//! Request ids: 16 URL-safe characters (96 random bits), like API Gateway's.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A new random request id.
pub fn new_request_id() -> String {
    let mut bytes = [0u8; 12];
    fastrand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_16_chars_and_distinct() {
        let a = super::new_request_id();
        let b = super::new_request_id();
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
    }
}
