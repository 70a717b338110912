//! Encryption keys for stores at rest: from the caller, from `AUTH_STORE_KEY`, or kept in the
//! OS keyring.

use std::fmt;
use std::sync::Arc;

use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::ConfigError;

/// The environment variable [`EncryptionKey::from_env`] reads: 32 bytes as 64 hex digits.
pub const KEY_ENV_VAR: &str = "AUTH_STORE_KEY";

/// A 256-bit key that encrypts stored sessions (XChaCha20-Poly1305).
///
/// `Debug` redacts it, and the bytes are zeroed when the last clone is dropped. The store
/// never uses it directly: it derives an encryption key and a public key identifier from
/// it (HKDF-SHA256), so a file records which key wrote it without revealing the key, and a
/// wrong key is told apart from a damaged file.
#[derive(Clone)]
pub struct EncryptionKey(Arc<Zeroizing<[u8; 32]>>);

impl EncryptionKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Arc::new(Zeroizing::new(bytes)))
    }

    /// A key from 64 hex digits (surrounding whitespace is ignored). The error never
    /// repeats the input.
    pub fn from_hex(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(ConfigError::InvalidKey(format!(
                "expected 64 hex digits (32 bytes), got {} characters",
                text.chars().count()
            )));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text, bytes.as_mut_slice())
            .map_err(|_| ConfigError::InvalidKey("not a hexadecimal string".into()))?;
        Ok(Self(Arc::new(bytes)))
    }

    /// The key in [`KEY_ENV_VAR`] (`AUTH_STORE_KEY`), if that variable is set; an error if
    /// it holds anything but 64 hex digits. An empty value is an error too, not "no
    /// encryption": a deployment that meant to set a key and set nothing must not store
    /// sessions in plain text without a word.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_env_var(KEY_ENV_VAR)
    }

    /// The key in the environment variable `name`, if set (see [`from_env`](Self::from_env)).
    pub fn from_env_var(name: &str) -> Result<Option<Self>, ConfigError> {
        Self::from_env_value(name, std::env::var(name))
    }

    fn from_env_value(
        name: &str,
        value: Result<String, std::env::VarError>,
    ) -> Result<Option<Self>, ConfigError> {
        match value {
            Ok(value) => {
                let value = Zeroizing::new(value);
                if value.trim().is_empty() {
                    return Err(ConfigError::InvalidKey(format!(
                        "{name} is set but empty; unset it to store without encryption, or \
                         give it 64 hex digits"
                    )));
                }
                Self::from_hex(&value)
                    .map(Some)
                    .map_err(|error| ConfigError::InvalidKey(format!("{name}: {error}")))
            }
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(ConfigError::InvalidKey(format!("{name} is not valid Unicode")))
            }
        }
    }

    /// A new random key from the operating system's generator (through `rand`'s
    /// thread-local CSPRNG, which it seeds).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut_slice());
        Self(Arc::new(bytes))
    }

    /// The key as 64 lowercase hex digits, e.g. to put it into `AUTH_STORE_KEY` or a
    /// keyring.
    ///
    /// # Security
    /// This is the secret itself: never log or print it.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_slice()))
    }

    /// The cipher and key identifier derived from this key.
    pub(crate) fn cipher(&self) -> Cipher {
        let hkdf = Hkdf::<Sha256>::new(Some(b"auth-storage"), self.0.as_slice());
        let mut aead_key = Zeroizing::new([0u8; 32]);
        let mut key_id = [0u8; 8];
        // Both lengths are far below HKDF-SHA256's limit of 8160 bytes.
        let expanded = hkdf
            .expand(b"session encryption v1 xchacha20poly1305", aead_key.as_mut_slice())
            .and_then(|()| hkdf.expand(b"session encryption v1 key id", &mut key_id));
        debug_assert!(expanded.is_ok(), "HKDF output lengths are valid");
        Cipher {
            aead: XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(aead_key.as_slice())),
            key_id: hex::encode(key_id),
        }
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

/// An AEAD instance (which zeroes its key on drop) and the public identifier of the key
/// it came from.
pub(crate) struct Cipher {
    pub(crate) aead: XChaCha20Poly1305,
    pub(crate) key_id: String,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn hex_round_trip_and_redaction() {
        let key = EncryptionKey::from_hex(HEX).unwrap();
        assert_eq!(key.to_hex().as_str(), HEX);
        assert_eq!(format!("{key:?}"), "EncryptionKey([redacted])");
        let upper = EncryptionKey::from_hex(&format!("  {}\n", HEX.to_uppercase())).unwrap();
        assert_eq!(upper.to_hex().as_str(), HEX);
    }

    #[test]
    fn bad_hex_is_rejected_without_echoing_it() {
        for bad in [&HEX[..62], "zz", &format!("{}zz", &HEX[..62]), ""] {
            let error = EncryptionKey::from_hex(bad).unwrap_err();
            if bad.len() > 4 {
                assert!(!error.to_string().contains(&bad[..8]), "{error}");
            }
        }
    }

    #[test]
    fn key_ids_differ_per_key_and_reveal_nothing_obvious() {
        let a = EncryptionKey::from_hex(HEX).unwrap().cipher();
        let b = EncryptionKey::generate().cipher();
        assert_eq!(a.key_id.len(), 16);
        assert_ne!(a.key_id, b.key_id);
        assert!(!HEX.contains(&a.key_id));
        assert_eq!(EncryptionKey::from_hex(HEX).unwrap().cipher().key_id, a.key_id);
    }

    #[test]
    fn env_var_is_optional_but_must_be_valid_and_not_empty() {
        use std::env::VarError;
        let parse = |value| EncryptionKey::from_env_value("AUTH_STORE_KEY", value);
        assert!(EncryptionKey::from_env_var("AUTH_STORAGE_TEST_KEY_UNSET").unwrap().is_none());
        assert!(parse(Err(VarError::NotPresent)).unwrap().is_none());
        for empty in ["", "  ", "\n"] {
            let error = parse(Ok(empty.into())).unwrap_err();
            assert!(error.to_string().contains("AUTH_STORE_KEY is set but empty"), "{error}");
        }
        let key = parse(Ok(HEX.into())).unwrap().unwrap();
        assert_eq!(key.to_hex().as_str(), HEX);
        let error = parse(Ok("0123".into())).unwrap_err();
        assert!(error.to_string().contains("AUTH_STORE_KEY"), "{error}");
        assert!(parse(Err(VarError::NotUnicode("x".into()))).is_err());
    }
}
