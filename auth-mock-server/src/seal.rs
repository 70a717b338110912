//! AES-256-GCM sealing under a key of this server, for what issued tokens carry instead of
//! the server storing it: refresh tokens ([`crate::token_book`]) and identity-pool
//! credentials ([`crate::identity`]). The key is kept in the state file, so tokens issued
//! before a restart still open after it.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

/// The nonce of one sealed message.
pub(crate) type SealNonce = [u8; NONCE_LEN];

/// A sealing key.
pub(crate) struct Sealer {
    key_bytes: [u8; 32],
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// A sealer with a fresh random key.
    pub(crate) fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::with_key(key)
    }

    fn with_key(key_bytes: [u8; 32]) -> Self {
        // A 32-byte key is exactly what AES-256-GCM takes; the constructor cannot refuse it.
        let unbound = UnboundKey::new(&AES_256_GCM, &key_bytes)
            .unwrap_or_else(|_| unreachable!("AES_256_GCM takes a 32-byte key"));
        Self { key_bytes, key: LessSafeKey::new(unbound) }
    }

    /// The key, base64url, for the state file.
    pub(crate) fn export(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key_bytes)
    }

    /// The sealer of an exported key; `None` when it is not one.
    pub(crate) fn import(exported: &str) -> Option<Self> {
        let key: [u8; 32] = URL_SAFE_NO_PAD.decode(exported).ok()?.try_into().ok()?;
        Some(Self::with_key(key))
    }

    /// Seals `plain` (bound to `aad`) in place under a fresh nonce; returns the nonce and
    /// the tag, `plain` now holding the ciphertext.
    pub(crate) fn seal(&self, aad: &[u8], plain: &mut [u8]) -> (SealNonce, Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), plain)
            .unwrap_or_else(|_| unreachable!("AES-GCM seals any message under 64 GiB"));
        (nonce, tag.as_ref().to_vec())
    }

    /// Opens `sealed` (ciphertext followed by its tag) in place; `None` when it was not
    /// sealed by this key with this nonce and `aad`, or was altered.
    pub(crate) fn open<'a>(
        &self,
        aad: &[u8],
        nonce: SealNonce,
        sealed: &'a mut [u8],
    ) -> Option<&'a mut [u8]> {
        self.key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), sealed).ok()
    }
}

/// The length of a [`SealNonce`].
pub(crate) const SEAL_NONCE_LEN: usize = NONCE_LEN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_opens_only_unaltered_under_its_key_and_aad() {
        let sealer = Sealer::random();
        let mut message = b"state".to_vec();
        let (nonce, tag) = sealer.seal(b"aad", &mut message);
        assert_ne!(message, b"state");
        let mut sealed = [message.clone(), tag.clone()].concat();
        assert_eq!(
            sealer.open(b"aad", nonce, &mut sealed).map(|p| p.to_vec()),
            Some(b"state".to_vec())
        );
        let mut other_aad = [message.clone(), tag.clone()].concat();
        assert!(sealer.open(b"other", nonce, &mut other_aad).is_none());
        let mut altered = [message.clone(), tag.clone()].concat();
        altered[0] ^= 1;
        assert!(sealer.open(b"aad", nonce, &mut altered).is_none());
        let restored = Sealer::import(&sealer.export()).unwrap();
        let mut again = [message, tag].concat();
        assert!(restored.open(b"aad", nonce, &mut again).is_some());
        assert!(Sealer::random().open(b"aad", nonce, &mut [0u8; 40]).is_none());
        assert!(Sealer::import("short").is_none());
    }
}
