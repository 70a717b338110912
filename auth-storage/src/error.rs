//! Errors of setting a store up. Errors of using one are auth-core's
//! [`StoreError`](auth_core::StoreError).

/// A store or key could not be set up as asked. Nothing was read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The namespace key is empty, too long or contains control characters.
    #[error("invalid namespace: {0}")]
    InvalidNamespace(String),
    /// An encryption key is not 32 bytes written as 64 hex digits. The message never
    /// contains the key.
    #[error("invalid encryption key: {0}")]
    InvalidKey(String),
    /// The OS keyring refused the entry's name (empty or too long for the platform).
    #[error("invalid keyring entry: {0}")]
    InvalidKeyringEntry(String),
    /// A document kind is not 1 to 32 lowercase ASCII letters, digits and `-` starting
    /// with a letter, or is one of the reserved names (`session`, `lock`).
    #[error("invalid document kind: {0}")]
    InvalidDocumentKind(String),
}
