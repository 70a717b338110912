//! Token stores for auth-core: where sessions live between runs.
//!
//! Every store implements auth-core's [`TokenStore`], with its compare-and-swap
//! [`Generation`](auth_core::Generation) guarantee, and passes its conformance suite:
//! - [`MemoryTokenStore`] (re-exported from auth-core): lost on exit; for tests and for
//!   apps that must not persist anything;
//! - [`FileTokenStore`]: one file per [`Namespace`] in a directory of the caller's
//!   choosing; atomic replacement, a lock shared with other processes, `0600` permissions,
//!   optional XChaCha20-Poly1305 encryption with an [`EncryptionKey`] from the caller,
//!   from `AUTH_STORE_KEY` or (feature `keyring`) from the OS keyring;
//! - `KeyringTokenStore` (feature `keyring`): one item in the macOS Keychain, the Windows
//!   Credential Manager or the Secret Service.
//!
//! [`FileDocumentStore`] puts the file store's machinery (atomic writes, the lock,
//! permission checks, encryption, damaged files kept aside) under any serialisable value
//! that must live next to a session without being one, such as the devices a user made
//! trusted (auth-cognito's `FileDeviceStore`, feature `file-device-store`). Each document
//! kind has its own file and format, so a session file is never read as a document or
//! the other way round.
//!
//! Two rules run through all of them, because losing a user's session is worse than any
//! error: a store that cannot be reached *right now* (locked keyring, lock held by a stuck
//! process, disk error) answers [`StoreError::Unavailable`] and clears nothing, and
//! `AuthClient::initialize` fails rather than starting signed out; a store whose content
//! is damaged keeps it aside (a file renamed, never deleted), reports
//! [`StoreError::Damaged`] once, and then reads as empty, so the client starts signed out
//! and says why. Configuration problems (a wrong key, a file others can write, a format
//! from a newer version) are [`StoreError::Refused`] and leave everything in place.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_core::AuthClient;
//! use auth_storage::{FileTokenStore, Namespace};
//!
//! let namespace = Namespace::app_client("us-east-1_AbC123", "1h2j3k4l5m6n7o8p9q0r")?;
//! let store = FileTokenStore::builder("/home/me/.local/state/my-app", namespace)
//!     .encryption_key_from_env()? // AUTH_STORE_KEY, if set
//!     .build();
//! let client = AuthClient::builder().token_store(Arc::new(store)).build();
//! client.initialize().await?;
//! # Ok(()) }
//! ```
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod document;
mod error;
mod file;
mod format;
mod key;
#[cfg(feature = "keyring")]
mod keyring;
mod namespace;

pub use auth_core::{MemoryTokenStore, StoreError, TokenStore, TokenStoreExt};
pub use document::{FileDocumentStore, FileDocumentStoreBuilder, MAX_DOCUMENT_KIND_LEN};
pub use error::ConfigError;
pub use file::{DEFAULT_LOCK_TIMEOUT, FileTokenStore, FileTokenStoreBuilder};
pub use key::{EncryptionKey, KEY_ENV_VAR};
#[cfg(feature = "keyring")]
pub use keyring::{EntryFactory, KeyringKey, KeyringTokenStore};
pub use namespace::{MAX_NAMESPACE_LEN, Namespace};

/// The version of the stored record format this library writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = format::VERSION;
