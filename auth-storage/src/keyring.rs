//! The OS keyring store (macOS Keychain, Windows Credential Manager, Secret Service) and
//! encryption keys kept in the keyring, through the `keyring` crate.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::{Generation, Snapshot, StoreError, StoredSession, TokenStore};
use keyring::Entry;
use zeroize::Zeroizing;

use crate::error::ConfigError;
use crate::file::{lock_exclusive, run_blocking};
use crate::format::{self, DecodeError, Kind};
use crate::key::EncryptionKey;
use crate::namespace::Namespace;

/// Builds the keyring entry for a service and user name; see
/// [`KeyringTokenStore::with_entries`].
pub type EntryFactory = dyn Fn(&str, &str) -> keyring::Result<Arc<Entry>> + Send + Sync;

/// A [`TokenStore`] that keeps the session in one OS keyring item: service `service`,
/// user (account) the namespace key.
///
/// The item holds the same versioned record as [`FileTokenStore`](crate::FileTokenStore)
/// (plain, since the keyring encrypts at rest), so the generation lives with the session.
/// A locked or unreachable keyring is [`StoreError::Unavailable`]; nothing is cleared. A
/// damaged item is copied to a second item whose user name ends in
/// `.damaged-<seconds>-<random>`, reported once as [`StoreError::Damaged`], and replaced
/// by an empty record.
///
/// Compare-and-swap is atomic among the handles of one process (they share a lock per
/// service and user). OS keyrings offer no transaction, so for processes to exclude each
/// other too, give every one of them the same lock file with
/// [`lock_file`](KeyringTokenStore::lock_file); without it, two processes writing the
/// same item at the same moment can overwrite each other.
///
/// Size: Windows Credential Manager holds at most 2560 bytes per item, less than a typical
/// Cognito session (ID, access and refresh tokens are each 1 to 2 KB); there a write fails
/// with [`StoreError::Refused`]. Use a [`FileTokenStore`](crate::FileTokenStore)
/// encrypted with a [`KeyringKey`] on Windows. macOS Keychain and the Secret Service
/// have no such limit.
///
/// The keyring calls block; the trait methods run them on tokio's blocking pool.
pub struct KeyringTokenStore {
    inner: Arc<Inner>,
}

struct Inner {
    service: String,
    namespace: Namespace,
    entry: Arc<Entry>,
    entries: Arc<EntryFactory>,
    lock: Arc<Mutex<()>>,
    lock_file: Option<(PathBuf, Duration)>,
}

impl fmt::Debug for KeyringTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The entry is not printed: some credential types print their secret.
        f.debug_struct("KeyringTokenStore")
            .field("service", &self.inner.service)
            .field("namespace", &self.inner.namespace)
            .finish_non_exhaustive()
    }
}

/// The in-process locks of keyring items, by (service, user).
type ItemLocks = Mutex<HashMap<(String, String), Arc<Mutex<()>>>>;

/// One lock per (service, user) in this process, shared by every handle on that item.
fn item_lock(service: &str, user: &str) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<ItemLocks> = OnceLock::new();
    let mut locks =
        LOCKS.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(locks.entry((service.to_owned(), user.to_owned())).or_default())
}

impl KeyringTokenStore {
    /// A store in the platform's default keyring: the Keychain on macOS, the Credential
    /// Manager on Windows, the Secret Service's default collection on Linux and the BSDs.
    pub fn new(service: impl Into<String>, namespace: Namespace) -> Result<Self, ConfigError> {
        Self::with_entries(service, namespace, |service, user| {
            Entry::new(service, user).map(Arc::new)
        })
    }

    /// A store whose keyring items come from `entries(service, user)`: a specific
    /// collection or target, keyring's mock store in tests, or a credential store of your
    /// own. `entries` is called once for the session's item and once per damaged record
    /// kept aside.
    pub fn with_entries(
        service: impl Into<String>,
        namespace: Namespace,
        entries: impl Fn(&str, &str) -> keyring::Result<Arc<Entry>> + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        let service = service.into();
        let entry = entries(&service, namespace.key())
            .map_err(|error| ConfigError::InvalidKeyringEntry(error.to_string()))?;
        let lock = item_lock(&service, namespace.key());
        Ok(Self {
            inner: Arc::new(Inner {
                service,
                namespace,
                entry,
                entries: Arc::new(entries),
                lock,
                lock_file: None,
            }),
        })
    }

    /// Makes compare-and-swap atomic across processes: every read-compare-write (and the
    /// keeping aside of a damaged item) holds an exclusive lock on the file at `path`,
    /// created `0600` if missing (its directory must exist). Every process sharing the item
    /// must use the same path. Waits at most
    /// [`DEFAULT_LOCK_TIMEOUT`](crate::DEFAULT_LOCK_TIMEOUT) for the lock, then answers
    /// [`StoreError::Unavailable`].
    pub fn lock_file(self, path: impl Into<PathBuf>) -> Self {
        self.lock_file_with_timeout(path, crate::DEFAULT_LOCK_TIMEOUT)
    }

    /// [`lock_file`](Self::lock_file) with a chosen timeout.
    pub fn lock_file_with_timeout(self, path: impl Into<PathBuf>, timeout: Duration) -> Self {
        let inner = Inner {
            service: self.inner.service.clone(),
            namespace: self.inner.namespace.clone(),
            entry: Arc::clone(&self.inner.entry),
            entries: Arc::clone(&self.inner.entries),
            lock: Arc::clone(&self.inner.lock),
            lock_file: Some((path.into(), timeout)),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The keyring service name.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The store's namespace (the keyring user name).
    pub fn namespace(&self) -> &Namespace {
        &self.inner.namespace
    }

    /// [`TokenStore::load`] on the calling thread.
    pub fn load_blocking(&self) -> Result<Snapshot, StoreError> {
        self.inner.load()
    }

    /// [`TokenStore::compare_and_swap`] on the calling thread.
    pub fn compare_and_swap_blocking(
        &self,
        expected: Generation,
        new: Option<&StoredSession>,
    ) -> Result<Generation, StoreError> {
        self.inner.compare_and_swap(expected, new)
    }
}

#[async_trait]
impl TokenStore for KeyringTokenStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || inner.load()).await
    }

    async fn compare_and_swap(
        &self,
        expected: Generation,
        new: Option<&StoredSession>,
    ) -> Result<Generation, StoreError> {
        let inner = Arc::clone(&self.inner);
        let new = new.cloned();
        run_blocking(move || inner.compare_and_swap(expected, new.as_ref())).await
    }
}

enum Current {
    Missing,
    Record(Snapshot),
    Damaged { bytes: Zeroizing<Vec<u8>>, message: String, generation: Option<Generation> },
}

impl Inner {
    /// Takes this process's lock on the item, then the cross-process lock file, if any.
    fn exclusive(&self) -> Result<(MutexGuard<'_, ()>, Option<File>), StoreError> {
        let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let file = match &self.lock_file {
            Some((path, timeout)) => Some(lock_exclusive(path, *timeout)?),
            None => None,
        };
        Ok((guard, file))
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        // A keyring read is atomic, so loads take no lock (a stuck writer never blocks
        // them), except to keep a damaged record aside, which must not race a writer.
        match self.read_current()? {
            Current::Missing => return Ok(Snapshot::new(Generation::NEW, None)),
            Current::Record(snapshot) => return Ok(snapshot),
            Current::Damaged { .. } => {}
        }
        let _guard = self.exclusive()?;
        match self.read_current()? {
            Current::Missing => Ok(Snapshot::new(Generation::NEW, None)),
            Current::Record(snapshot) => Ok(snapshot),
            Current::Damaged { bytes, message, generation } => {
                Err(self.keep_aside(&bytes, message, generation))
            }
        }
    }

    fn compare_and_swap(
        &self,
        expected: Generation,
        new: Option<&StoredSession>,
    ) -> Result<Generation, StoreError> {
        let _guard = self.exclusive()?;
        let current = match self.read_current()? {
            Current::Missing => Generation::NEW,
            Current::Record(snapshot) => snapshot.generation,
            Current::Damaged { bytes, message, generation } => {
                return Err(self.keep_aside(&bytes, message, generation));
            }
        };
        if current != expected {
            return Err(StoreError::Conflict { current });
        }
        let generation = format::write_generation(current)?;
        let record = format::encode(&Kind::SESSION, &self.namespace, generation, new, None)?;
        self.entry.set_secret(&record).map_err(|error| self.keyring_error("write", error))?;
        tracing::debug!(service = %self.service, namespace = %self.namespace, %generation, "session saved");
        Ok(generation)
    }

    fn read_current(&self) -> Result<Current, StoreError> {
        let bytes = match self.entry.get_secret() {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(keyring::Error::NoEntry) => return Ok(Current::Missing),
            Err(error) => return Err(self.keyring_error("read", error)),
        };
        match format::decode(&bytes, &Kind::SESSION, &self.namespace, None) {
            Ok(decoded) => Ok(Current::Record(Snapshot::new(decoded.generation, decoded.payload))),
            Err(DecodeError::Refused(message)) => Err(StoreError::Refused(format!(
                "keyring item {}: {message}",
                self.describe(self.namespace.key())
            ))),
            Err(DecodeError::Damaged { message, generation }) => {
                Ok(Current::Damaged { bytes, message, generation })
            }
        }
    }

    /// Copies a damaged record to a new item, then replaces it with a tombstone above its
    /// generation. If the copy fails, nothing is changed.
    fn keep_aside(
        &self,
        bytes: &[u8],
        message: String,
        generation: Option<Generation>,
    ) -> StoreError {
        let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let user =
            format!("{}.damaged-{seconds}-{:04x}", self.namespace.key(), rand::random::<u16>());
        let kept = (self.entries)(&self.service, &user).and_then(|aside| aside.set_secret(bytes));
        if let Err(error) = kept {
            return self.keyring_error("keep a damaged session aside in", error);
        }
        let kept_at = self.describe(&user);
        tracing::error!(
            item = %self.describe(self.namespace.key()),
            %kept_at,
            reason = %message,
            "the stored session was damaged; it has been kept aside and the store is now empty"
        );
        let tombstone = format::tombstone_generation(generation);
        let written =
            format::encode::<StoredSession>(&Kind::SESSION, &self.namespace, tombstone, None, None)
                .and_then(|record| {
                    self.entry
                        .set_secret(&record)
                        .map_err(|error| self.keyring_error("write", error))
                });
        if let Err(error) = written {
            tracing::warn!(%error, "could not write a tombstone after keeping a damaged session aside");
        }
        StoreError::Damaged { message, kept_at }
    }

    fn describe(&self, user: &str) -> String {
        format!("service {:?}, user {user:?}", self.service)
    }

    fn keyring_error(&self, what: &str, error: keyring::Error) -> StoreError {
        map_keyring_error(
            &format!("cannot {what} the keyring item {}", self.describe(self.namespace.key())),
            error,
        )
    }
}

/// Classifies a keyring failure. A locked or unreachable keyring may come back
/// (`Unavailable`); a refused item name, an item too large for the platform or several
/// matching items need the developer or user (`Refused`).
fn map_keyring_error(context: &str, error: keyring::Error) -> StoreError {
    match error {
        keyring::Error::TooLong(attribute, limit) => StoreError::Refused(format!(
            "{context}: {attribute} is longer than this keyring's limit of {limit}; on Windows, \
             keep sessions in a FileTokenStore encrypted with a KeyringKey"
        )),
        keyring::Error::Invalid(attribute, reason) => {
            StoreError::Refused(format!("{context}: invalid {attribute}: {reason}"))
        }
        keyring::Error::Ambiguous(items) => StoreError::Refused(format!(
            "{context}: {} keyring items match; remove the duplicates",
            items.len()
        )),
        other => StoreError::unavailable(format!("{context}: {other}"), other),
    }
}

/// An [`EncryptionKey`] kept in the OS keyring, for a
/// [`FileTokenStore`](crate::FileTokenStore) that should not hold its key in an
/// environment variable. The key is stored as 64 hex digits and created on first use.
pub struct KeyringKey {
    service: String,
    user: String,
    entry: Entry,
}

impl fmt::Debug for KeyringKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringKey")
            .field("service", &self.service)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl KeyringKey {
    /// The key in the default keyring's item (`service`, `user`).
    pub fn new(service: impl Into<String>, user: impl Into<String>) -> Result<Self, ConfigError> {
        let (service, user) = (service.into(), user.into());
        let entry = Entry::new(&service, &user)
            .map_err(|error| ConfigError::InvalidKeyringEntry(error.to_string()))?;
        Ok(Self { service, user, entry })
    }

    /// The key in a caller-built keyring entry; `service` and `user` only name it in
    /// messages.
    pub fn from_entry(service: impl Into<String>, user: impl Into<String>, entry: Entry) -> Self {
        Self { service: service.into(), user: user.into(), entry }
    }

    /// Reads the key, creating and storing a random one if the item does not exist. Blocks
    /// on the keyring. A locked keyring is [`StoreError::Unavailable`]; an item holding
    /// something other than a key is [`StoreError::Refused`] (and left alone).
    pub fn load_or_create(&self) -> Result<EncryptionKey, StoreError> {
        let context =
            || format!("keyring key item service {:?}, user {:?}", self.service, self.user);
        match self.entry.get_password() {
            Ok(text) => {
                let text = Zeroizing::new(text);
                EncryptionKey::from_hex(&text)
                    .map_err(|error| StoreError::Refused(format!("{}: {error}", context())))
            }
            Err(keyring::Error::NoEntry) => {
                let key = EncryptionKey::generate();
                self.entry.set_password(&key.to_hex()).map_err(|error| {
                    map_keyring_error(&format!("cannot create {}", context()), error)
                })?;
                tracing::info!(service = %self.service, user = %self.user, "created a new session encryption key in the keyring");
                // Another process may have created one at the same moment: use whichever
                // the keyring kept.
                match self.entry.get_password() {
                    Ok(text) => EncryptionKey::from_hex(&Zeroizing::new(text))
                        .map_err(|error| StoreError::Refused(format!("{}: {error}", context()))),
                    Err(_) => Ok(key),
                }
            }
            Err(keyring::Error::BadEncoding(_)) => {
                Err(StoreError::Refused(format!("{}: the item does not hold a key", context())))
            }
            Err(error) => Err(map_keyring_error(&format!("cannot read {}", context()), error)),
        }
    }
}
