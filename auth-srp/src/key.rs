//! The session key (HKDF "Caldera Derived Key") and the `PASSWORD_CLAIM_SIGNATURE` over it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use hmac::{Hmac, Mac as _};
use num_bigint::BigUint;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::group::{hex_lower, pad_bytes};

const HKDF_INFO: &[u8] = b"Caldera Derived Key";

/// The 16-byte key both sides derive from the shared secret S and the scrambler u.
///
/// Its `Debug` output is redacted and it is zeroed on drop.
#[derive(Clone)]
pub struct SessionKey(Zeroizing<[u8; 16]>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

impl SessionKey {
    /// Derives the key: HKDF-SHA256 with IKM = padHex(S), salt = padHex(u), info =
    /// `"Caldera Derived Key"`, 16 bytes of output.
    pub fn derive(shared_secret: &BigUint, u: &BigUint) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(&pad_bytes(u)), &pad_bytes(shared_secret));
        let mut key = Zeroizing::new([0u8; 16]);
        hkdf.expand(HKDF_INFO, key.as_mut()).expect("16 bytes is a valid HKDF-SHA256 length");
        Self(key)
    }

    /// The raw key bytes.
    ///
    /// Security: this is the session secret; do not log or persist it.
    pub fn secret(&self) -> &[u8; 16] {
        &self.0
    }

    /// The key as lowercase hex (for test vectors).
    pub fn to_hex(&self) -> String {
        hex_lower(self.0.as_ref())
    }

    fn mac(
        &self,
        pool_name: &str,
        user_id: &str,
        secret_block: &[u8],
        timestamp: &str,
    ) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.as_ref()).expect("HMAC accepts any key length");
        mac.update(pool_name.as_bytes());
        mac.update(user_id.as_bytes());
        mac.update(secret_block);
        mac.update(timestamp.as_bytes());
        mac
    }

    /// `PASSWORD_CLAIM_SIGNATURE` = base64(HMAC-SHA256(key, poolName ‖ userId ‖ secretBlock ‖
    /// timestamp)), where `secret_block` is the *decoded* `SECRET_BLOCK`.
    pub fn sign(
        &self,
        pool_name: &str,
        user_id: &str,
        secret_block: &[u8],
        timestamp: &str,
    ) -> String {
        STANDARD
            .encode(self.mac(pool_name, user_id, secret_block, timestamp).finalize().into_bytes())
    }

    /// Checks a client's `PASSWORD_CLAIM_SIGNATURE` in constant time. A signature that is not
    /// valid base64 (in any of the alphabets clients use) is simply wrong.
    pub fn verify_signature(
        &self,
        pool_name: &str,
        user_id: &str,
        secret_block: &[u8],
        timestamp: &str,
        signature: &str,
    ) -> bool {
        let Ok(claimed) = crate::decode_base64_lenient("PASSWORD_CLAIM_SIGNATURE", signature)
        else {
            return false;
        };
        self.mac(pool_name, user_id, secret_block, timestamp).verify_slice(&claimed).is_ok()
    }
}
