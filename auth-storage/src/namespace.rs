//! Which session a store location holds: one per app client, or one per caller-chosen key.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::ConfigError;

/// The longest namespace key accepted, in bytes (Cognito allows 55-byte pool ids and
/// 128-byte client ids).
pub const MAX_NAMESPACE_LEN: usize = 256;

/// File stems longer than this are shortened (see [`Namespace::file_stem`]): file names
/// are limited to 255 bytes on common file systems, and the store adds suffixes.
const MAX_STEM_LEN: usize = 160;

/// The name of one stored session: a user pool and app client, or any key the caller
/// chooses (for example one per user profile of a desktop app).
///
/// The key becomes part of a file name (escaped, see [`Namespace::file_stem`]) or a
/// keyring entry name, and is bound into every record, so a file copied from another
/// namespace is refused rather than read.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    key: String,
}

impl Namespace {
    /// A namespace with a caller-chosen key: 1 to [`MAX_NAMESPACE_LEN`] bytes, no control
    /// characters.
    pub fn new(key: impl Into<String>) -> Result<Self, ConfigError> {
        let key = key.into();
        if key.is_empty() {
            return Err(ConfigError::InvalidNamespace("the namespace key is empty".into()));
        }
        if key.len() > MAX_NAMESPACE_LEN {
            return Err(ConfigError::InvalidNamespace(format!(
                "the namespace key is {} bytes long; the limit is {MAX_NAMESPACE_LEN}",
                key.len()
            )));
        }
        if key.chars().any(char::is_control) {
            return Err(ConfigError::InvalidNamespace(
                "the namespace key contains a control character".into(),
            ));
        }
        Ok(Self { key })
    }

    /// The namespace of one app client of one user pool: the usual choice for Cognito,
    /// so that two apps (or two pools) on one machine never share a session.
    pub fn app_client(user_pool_id: &str, client_id: &str) -> Result<Self, ConfigError> {
        if user_pool_id.is_empty() || client_id.is_empty() {
            return Err(ConfigError::InvalidNamespace(
                "the user pool id and the client id must not be empty".into(),
            ));
        }
        Self::new(format!("{user_pool_id}.{client_id}"))
    }

    /// The key, as given (or `"{user_pool_id}.{client_id}"`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key as a portable file-name stem: ASCII letters, digits, `-`, `_` and `.` stay
    /// as they are (a leading `.` excepted, so files are never hidden), every other byte
    /// becomes `%XX`. The mapping is one-to-one, so two namespaces never share a file
    /// (on case-sensitive file systems; on case-insensitive ones, keys that differ only
    /// in case do share one). A stem longer than 160 bytes is cut to 120 bytes followed by
    /// `~` and 32 hex digits of the key's SHA-256; should two keys ever share a file, the
    /// key bound into the record makes the store refuse the other's session.
    pub fn file_stem(&self) -> String {
        let mut stem = String::with_capacity(self.key.len());
        for (index, byte) in self.key.bytes().enumerate() {
            let keep = byte.is_ascii_alphanumeric()
                || byte == b'-'
                || byte == b'_'
                || (byte == b'.' && index > 0);
            if keep {
                stem.push(char::from(byte));
            } else {
                stem.push_str(&format!("%{byte:02X}"));
            }
        }
        if stem.len() > MAX_STEM_LEN {
            let digest = Sha256::digest(self.key.as_bytes());
            // The stem is ASCII, so any byte index is a character boundary.
            stem.truncate(120);
            stem.push('~');
            stem.push_str(&hex::encode(&digest[..16]));
        }
        stem
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Namespace").field(&self.key).finish()
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_client_keys_are_readable_file_stems() {
        let ns = Namespace::app_client("us-east-1_AbC123", "1h2j3k4l5m6n7o8p9q0r").unwrap();
        assert_eq!(ns.key(), "us-east-1_AbC123.1h2j3k4l5m6n7o8p9q0r");
        assert_eq!(ns.file_stem(), "us-east-1_AbC123.1h2j3k4l5m6n7o8p9q0r");
    }

    #[test]
    fn unsafe_characters_are_escaped_one_to_one() {
        let stem = |key: &str| Namespace::new(key).unwrap().file_stem();
        assert_eq!(stem("../etc/passwd"), "%2E.%2Fetc%2Fpasswd");
        assert_eq!(stem("a b"), "a%20b");
        assert_eq!(stem("a%20b"), "a%2520b");
        assert_eq!(stem("é"), "%C3%A9");
        assert_eq!(stem(".hidden"), "%2Ehidden");
        assert_ne!(stem("a/b"), stem("a%2Fb"));
    }

    #[test]
    fn bad_keys_are_rejected() {
        assert!(Namespace::new("").is_err());
        assert!(Namespace::new("a\nb").is_err());
        assert!(Namespace::new("x".repeat(MAX_NAMESPACE_LEN + 1)).is_err());
        assert!(Namespace::new("x".repeat(MAX_NAMESPACE_LEN)).is_ok());
        assert!(Namespace::app_client("", "client").is_err());
    }

    #[test]
    fn long_stems_are_shortened_with_a_digest() {
        let long = Namespace::new("é".repeat(100)).unwrap();
        let stem = long.file_stem();
        assert_eq!(stem.len(), 120 + 1 + 32, "{stem}");
        assert!(stem.starts_with("%C3%A9"));
        let other = Namespace::new(format!("{}x", "é".repeat(100))).unwrap();
        assert_ne!(other.file_stem(), stem);
        let short = Namespace::new("x".repeat(MAX_STEM_LEN)).unwrap();
        assert_eq!(short.file_stem(), "x".repeat(MAX_STEM_LEN));
    }
}
