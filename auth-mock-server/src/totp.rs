//! RFC 6238 TOTP (SHA-1, 30-second steps, 6 digits), the parameters authenticator apps use.
//!
//! Written here because it is a dozen lines over the `hmac`/`sha1` crates; the dynamic
//! truncation follows RFC 4226 §5.3.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha1::Sha1;

const STEP: u64 = 30;

/// A new random secret: 20 bytes, base32 without padding (32 characters).
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    data_encoding::BASE32_NOPAD.encode(&bytes)
}

fn decode(secret: &str) -> Option<Vec<u8>> {
    let cleaned: String = secret.chars().filter(|c| !c.is_whitespace() && *c != '=').collect();
    data_encoding::BASE32_NOPAD.decode(cleaned.to_uppercase().as_bytes()).ok()
}

/// The code for a time-step counter.
pub(crate) fn code_at(secret: &[u8], counter: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

/// The current code of a base32 secret (for tests and the handle).
pub fn current_code(secret: &str, now: SystemTime) -> Option<String> {
    let key = decode(secret)?;
    let counter = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) / STEP;
    Some(code_at(&key, counter))
}

/// Checks a 6-digit code, allowing one step of skew either way (±30 s).
pub(crate) fn verify(secret: &str, code: &str, now: SystemTime) -> bool {
    let Some(key) = decode(secret) else { return false };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let counter = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) / STEP;
    [counter.saturating_sub(1), counter, counter + 1].iter().any(|&c| code_at(&key, c) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 Appendix B, SHA-1 seed "12345678901234567890", last 6 of the 8 digits.
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(seed, time / STEP), expected, "t={time}");
        }
    }

    #[test]
    fn verify_allows_one_step_of_skew() {
        let secret = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_111_111_109);
        assert!(verify(&secret, "081804", at));
        assert!(verify(&secret, "081804", at + std::time::Duration::from_secs(30)));
        assert!(!verify(&secret, "081804", at + std::time::Duration::from_secs(90)));
        assert!(!verify(&secret, "12345", at));
        assert_eq!(current_code(&secret, at).as_deref(), Some("081804"));
    }
}
