//! Remembered devices in a file (feature `file-device-store`), so that a device stays
//! trusted across restarts: the case device tracking exists for is a user who signs out
//! and back in days later.
//!
//! The file machinery (atomic replacement, the lock shared with other processes,
//! permission checks, encryption, damaged files kept aside) is auth-storage's
//! [`FileDocumentStore`]; this module only decides what the document holds and how two
//! writers merge.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use auth_storage::{
    ConfigError, EncryptionKey, FileDocumentStore, FileDocumentStoreBuilder, Namespace, StoreError,
};
use serde::{Deserialize, Serialize};

use super::devices::{DeviceStore, RememberedDevice};

/// The document kind of the devices file: the file is `<stem>.devices` and its format
/// `auth-storage/devices`.
pub const DEVICES_DOCUMENT_KIND: &str = "devices";

/// How many times a write starts again after another writer changed the file between its
/// read and its write. Each conflict means another write succeeded, so running out takes
/// that many concurrent writers, not bad luck.
const MAX_ATTEMPTS: usize = 16;

/// The content of the devices file: the remembered device of every username that has one.
/// Its `Debug` output shows device keys but never device secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceDocument {
    /// The remembered device per username.
    #[serde(default)]
    pub devices: BTreeMap<String, RememberedDevice>,
}

/// A [`DeviceStore`] in a file: every remembered device of one user pool app client, by
/// username, in one [`FileDocumentStore`] record (`<stem>.devices` in the directory, next
/// to a [`FileTokenStore`](auth_storage::FileTokenStore)'s `<stem>.session`).
///
/// A put or remove reads the file, changes one user's entry and writes it back with
/// compare-and-swap, starting again if another writer (another process, or another handle
/// on the same directory) got in between; two processes remembering devices for different
/// users therefore both keep theirs. Encrypt the file (see [`FileDeviceStoreBuilder`]) to
/// keep device secrets unreadable at rest; with the same key and directory as the session
/// store, one key protects both.
///
/// ```no_run
/// # fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use auth_cognito::{CognitoUserPool, FileDeviceStore};
/// use auth_storage::Namespace;
///
/// let (pool_id, client_id) = ("us-east-1_AbC123", "1h2j3k4l5m6n7o8p9q0r");
/// let namespace = Namespace::app_client(pool_id, client_id)?;
/// let devices = FileDeviceStore::builder("/home/me/.local/state/my-app", namespace)
///     .encryption_key_from_env()? // AUTH_STORE_KEY, if set
///     .build();
/// let pool = CognitoUserPool::builder(pool_id, client_id).device_store(Arc::new(devices)).build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct FileDeviceStore {
    store: FileDocumentStore<DeviceDocument>,
}

/// Builds a [`FileDeviceStore`]: where, which key, how long to wait for the lock.
#[derive(Debug)]
#[must_use]
pub struct FileDeviceStoreBuilder {
    inner: FileDocumentStoreBuilder<DeviceDocument>,
}

impl FileDeviceStoreBuilder {
    /// Encrypts the file with `key`.
    pub fn encryption_key(mut self, key: EncryptionKey) -> Self {
        self.inner.set_encryption_key(Some(key));
        self
    }

    /// Encrypts the file with `key`, or writes it in plain text (a `0600` file) with `None`.
    pub fn set_encryption_key(&mut self, key: Option<EncryptionKey>) -> &mut Self {
        self.inner.set_encryption_key(key);
        self
    }

    /// Encrypts the file with the key in `AUTH_STORE_KEY` (64 hex digits) if that variable
    /// is set and not empty; otherwise leaves the choice unchanged.
    pub fn encryption_key_from_env(self) -> Result<Self, ConfigError> {
        Ok(Self { inner: self.inner.encryption_key_from_env()? })
    }

    /// Encrypts the file with a key kept in the OS keyring (created on first use), e.g.
    /// the same [`KeyringKey`](auth_storage::KeyringKey) item as the session store's. The
    /// key is fetched by the first read or write; a locked keyring makes that call fail
    /// (and the sign-in goes on without the device).
    #[cfg(feature = "keyring")]
    pub fn encryption_key_in_keyring(self, key: auth_storage::KeyringKey) -> Self {
        Self { inner: self.inner.encryption_key_in_keyring(key) }
    }

    /// How long a write waits for another writer's lock; default
    /// [`auth_storage::DEFAULT_LOCK_TIMEOUT`].
    pub fn lock_timeout(self, timeout: Duration) -> Self {
        Self { inner: self.inner.lock_timeout(timeout) }
    }

    /// Any other setting of the underlying document store builder.
    pub fn configure(
        self,
        configure: impl FnOnce(
            FileDocumentStoreBuilder<DeviceDocument>,
        ) -> FileDocumentStoreBuilder<DeviceDocument>,
    ) -> Self {
        Self { inner: configure(self.inner) }
    }

    /// Builds the store. Nothing is touched on disk until the first call.
    pub fn build(self) -> FileDeviceStore {
        FileDeviceStore { store: self.inner.build() }
    }
}

impl FileDeviceStore {
    /// A store in `dir` for `namespace` (usually [`Namespace::app_client`]), in plain text.
    pub fn new(dir: impl Into<PathBuf>, namespace: Namespace) -> Self {
        Self::builder(dir, namespace).build()
    }

    /// Starts building a store in `dir` (created `0700` on first write) for `namespace`.
    pub fn builder(dir: impl Into<PathBuf>, namespace: Namespace) -> FileDeviceStoreBuilder {
        let inner = FileDocumentStore::builder(dir, namespace, DEVICES_DOCUMENT_KIND)
            .expect("\"devices\" is a valid document kind");
        FileDeviceStoreBuilder { inner }
    }

    /// The file that holds the devices.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// True if the file is written encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.store.is_encrypted()
    }

    /// The underlying document store, e.g. to list every remembered device at once.
    pub fn document_store(&self) -> &FileDocumentStore<DeviceDocument> {
        &self.store
    }

    /// Applies `change` to the stored devices and writes them back, starting again from a
    /// fresh read when another writer got in first. `change` says whether it changed
    /// anything; if not, nothing is written.
    async fn update(
        &self,
        change: impl Fn(&mut BTreeMap<String, RememberedDevice>) -> bool + Send + Sync,
    ) -> Result<(), String> {
        for _ in 0..MAX_ATTEMPTS {
            let (generation, document) = match self.store.load().await {
                Ok(loaded) => loaded,
                // auth-storage moved the damaged file aside (and logged where): the next
                // read finds an empty store, which this write then fills.
                Err(StoreError::Damaged { .. }) => continue,
                Err(error) => return Err(describe(&error)),
            };
            let mut document = document.unwrap_or_default();
            if !change(&mut document.devices) {
                return Ok(());
            }
            match self.store.compare_and_swap(generation, Some(&document)).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. } | StoreError::Damaged { .. }) => {}
                Err(error) => return Err(describe(&error)),
            }
        }
        Err(format!(
            "{}: gave up after {MAX_ATTEMPTS} writes that conflicted with other writers",
            self.path().display()
        ))
    }
}

impl From<FileDocumentStore<DeviceDocument>> for FileDeviceStore {
    /// Uses a document store built elsewhere (its kind should be [`DEVICES_DOCUMENT_KIND`]).
    fn from(store: FileDocumentStore<DeviceDocument>) -> Self {
        Self { store }
    }
}

fn describe(error: &StoreError) -> String {
    format!("remembered devices: {error}")
}

#[async_trait]
impl DeviceStore for FileDeviceStore {
    async fn get(&self, username: &str) -> Result<Option<RememberedDevice>, String> {
        let (_, document) = self.store.load().await.map_err(|error| describe(&error))?;
        Ok(document.and_then(|mut document| document.devices.remove(username)))
    }

    async fn put(&self, username: &str, device: &RememberedDevice) -> Result<(), String> {
        self.update(|devices| {
            if devices.get(username) == Some(device) {
                return false;
            }
            devices.insert(username.to_owned(), device.clone());
            true
        })
        .await
    }

    async fn remove(&self, username: &str) -> Result<(), String> {
        self.update(|devices| devices.remove(username).is_some()).await
    }
}
