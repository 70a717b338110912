//! The file store: one file per namespace in a directory the caller picks, replaced
//! atomically, locked against other processes, optionally encrypted.
//!
//! [`Inner`] does the file work for any record [`Kind`]: [`FileTokenStore`] uses it for
//! sessions, [`FileDocumentStore`](crate::FileDocumentStore) for documents.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
#[cfg(feature = "keyring")]
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::{Generation, Snapshot, StoreError, StoredSession, TokenStore};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ConfigError;
use crate::format::{self, DecodeError, Decoded, Kind};
use crate::key::{Cipher, EncryptionKey};
use crate::namespace::Namespace;

/// How long a write waits for another writer (another process, or another handle) to
/// release the lock before it reports [`StoreError::Unavailable`].
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Records larger than this are not sessions: they are treated as damaged (and kept).
const MAX_RECORD_LEN: u64 = 4 << 20;

/// A [`TokenStore`] that keeps one session per [`Namespace`] in a file.
///
/// In `dir`, the namespace `ns` uses `<stem>.session` (the record), `<stem>.lock` (the
/// lock, never deleted) and, briefly, `.<stem>.session.tmp`, where `<stem>` is
/// [`Namespace::file_stem`].
///
/// - **Atomic.** A write goes to the temporary file, which is flushed to disk, renamed over
///   the record, and the directory flushed: a crash leaves the old record or the new one.
/// - **Compare-and-swap across processes.** The generation lives in the record; writers
///   hold an exclusive lock on the lock file while they read, compare and replace it.
///   Readers take no lock (a rename is atomic), so a stuck writer never blocks a load.
/// - **Private.** On Unix the directory is created `0700` and the files `0600`; a record,
///   or a directory, that is owned by another user or writable by group or others is
///   refused ([`StoreError::Refused`]), since someone else could have planted a session.
///   A record readable by others is tightened to `0600` (and a warning logged). On other
///   platforms the directory's ACLs are relied on.
/// - **Encrypted, optionally.** With a key (see [`FileTokenStoreBuilder`]), the session is
///   encrypted with XChaCha20-Poly1305 under a fresh random nonce per write. A record
///   written in plain text is still read when a key is configured (the next write
///   encrypts it), so encryption can be switched on without signing anyone out.
/// - **Never loses a session.** A record that cannot be read, parsed or decrypted with the
///   right key is renamed to `<stem>.session.damaged-<seconds>-<random>` (never deleted),
///   reported once as [`StoreError::Damaged`], and the store reads as empty. A record
///   encrypted with *another* key, or written by a newer version of this library, is
///   left in place and refused: those are configuration problems, and moving the file
///   would lose a good session because of a typo in a key.
/// - **Unavailable is not empty.** Disk errors and a lock held past the timeout are
///   [`StoreError::Unavailable`]; nothing is cleared.
///
/// Generations are "one more than the last, or the current time in microseconds if that
/// is larger", so a record that was deleted or moved aside restarts above every
/// generation it handed out.
///
/// The trait methods run the file work on tokio's blocking pool; the `*_blocking` methods
/// do the same work on the calling thread.
#[derive(Debug)]
pub struct FileTokenStore {
    inner: Arc<Inner>,
}

/// One record file, its lock and its temporary file, of one [`Kind`].
#[derive(Debug)]
pub(crate) struct Inner {
    dir: PathBuf,
    record: PathBuf,
    lock: PathBuf,
    temp: PathBuf,
    stem: String,
    kind: Kind,
    namespace: Namespace,
    key: KeySource,
    lock_timeout: Duration,
}

/// Where the encryption key comes from.
#[derive(Debug)]
enum KeySource {
    None,
    Key(Arc<Cipher>),
    #[cfg(feature = "keyring")]
    Keyring {
        key: crate::keyring::KeyringKey,
        cipher: OnceLock<Arc<Cipher>>,
    },
}

impl KeySource {
    fn cipher(&self) -> Result<Option<Arc<Cipher>>, StoreError> {
        match self {
            KeySource::None => Ok(None),
            KeySource::Key(cipher) => Ok(Some(Arc::clone(cipher))),
            #[cfg(feature = "keyring")]
            KeySource::Keyring { key, cipher } => {
                if let Some(cipher) = cipher.get() {
                    return Ok(Some(Arc::clone(cipher)));
                }
                // Fetched on first use rather than when the store is built, so a locked
                // keyring is a retryable `Unavailable` from `load`, not a startup failure.
                let fetched = Arc::new(key.load_or_create()?.cipher());
                Ok(Some(Arc::clone(cipher.get_or_init(|| fetched))))
            }
        }
    }

    fn is_encrypted(&self) -> bool {
        !matches!(self, KeySource::None)
    }
}

/// The choices a file store builder collects, whatever the store holds.
#[derive(Debug)]
pub(crate) struct Options {
    dir: PathBuf,
    namespace: Namespace,
    key: KeySource,
    lock_timeout: Duration,
}

impl Options {
    pub(crate) fn new(dir: PathBuf, namespace: Namespace) -> Self {
        Self { dir, namespace, key: KeySource::None, lock_timeout: DEFAULT_LOCK_TIMEOUT }
    }

    pub(crate) fn set_encryption_key(&mut self, key: Option<EncryptionKey>) {
        self.key = match key {
            Some(key) => KeySource::Key(Arc::new(key.cipher())),
            None => KeySource::None,
        };
    }

    pub(crate) fn encryption_key_from_env(&mut self) -> Result<(), ConfigError> {
        if let Some(key) = EncryptionKey::from_env()? {
            self.set_encryption_key(Some(key));
        }
        Ok(())
    }

    #[cfg(feature = "keyring")]
    pub(crate) fn encryption_key_in_keyring(&mut self, key: crate::keyring::KeyringKey) {
        self.key = KeySource::Keyring { key, cipher: OnceLock::new() };
    }

    pub(crate) fn lock_timeout(&mut self, timeout: Duration) {
        self.lock_timeout = timeout;
    }

    /// The files of a store of `kind`. Sessions keep the names they always had
    /// (`<stem>.session`, `<stem>.lock`); a document of kind `k` uses `<stem>.k` and
    /// `<stem>.k.lock`, so it never waits for the session's writers.
    pub(crate) fn open(self, kind: Kind) -> Arc<Inner> {
        let stem = self.namespace.file_stem();
        let suffix = &kind.suffix;
        let lock = if kind == Kind::SESSION {
            format!("{stem}.lock")
        } else {
            format!("{stem}.{suffix}.lock")
        };
        let dir = self.dir;
        Arc::new(Inner {
            record: dir.join(format!("{stem}.{suffix}")),
            lock: dir.join(lock),
            temp: dir.join(format!(".{stem}.{suffix}.tmp")),
            dir,
            stem,
            kind,
            namespace: self.namespace,
            key: self.key,
            lock_timeout: self.lock_timeout,
        })
    }
}

/// Builds a [`FileTokenStore`]: where, which namespace, which key, how long to wait for the
/// lock.
#[must_use]
pub struct FileTokenStoreBuilder {
    options: Options,
}

/// The encryption and lock setters both file store builders share (each holds its
/// [`Options`] in a field named `options`): `[generics] Builder, "what the store keeps"`.
macro_rules! file_store_options {
    ([$($generic:ident),*] $builder:ty, $what:literal) => {
        impl<$($generic),*> $builder {
            #[doc = concat!("Encrypts the ", $what, " with `key`.")]
            pub fn encryption_key(mut self, key: $crate::key::EncryptionKey) -> Self {
                self.set_encryption_key(Some(key));
                self
            }

            #[doc = concat!("Encrypts the ", $what, " with `key`, or stores it in plain text (in a `0600` file) with `None`.")]
            pub fn set_encryption_key(
                &mut self,
                key: Option<$crate::key::EncryptionKey>,
            ) -> &mut Self {
                self.options.set_encryption_key(key);
                self
            }

            #[doc = concat!("Encrypts the ", $what, " with the key in `AUTH_STORE_KEY` (64 hex digits) if that variable is set and not empty; otherwise leaves the choice unchanged. Fails if the variable holds anything else.")]
            pub fn encryption_key_from_env(mut self) -> Result<Self, $crate::error::ConfigError> {
                self.options.encryption_key_from_env()?;
                Ok(self)
            }

            #[doc = concat!("Encrypts the ", $what, " with a key kept in the OS keyring, created on first use. The key is fetched by the first load or write; a locked keyring makes that call [`StoreError::Unavailable`](auth_core::StoreError::Unavailable).")]
            #[cfg(feature = "keyring")]
            pub fn encryption_key_in_keyring(mut self, key: $crate::keyring::KeyringKey) -> Self {
                self.options.encryption_key_in_keyring(key);
                self
            }

            /// How long a write waits for the lock before giving up with
            /// [`StoreError::Unavailable`](auth_core::StoreError::Unavailable); default
            /// [`DEFAULT_LOCK_TIMEOUT`](crate::DEFAULT_LOCK_TIMEOUT).
            pub fn lock_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.options.lock_timeout(timeout);
                self
            }
        }
    };
}
pub(crate) use file_store_options;

file_store_options!([] FileTokenStoreBuilder, "session");

impl FileTokenStoreBuilder {
    /// Builds the store. Nothing is touched on disk until the first load or write.
    pub fn build(self) -> FileTokenStore {
        FileTokenStore { inner: self.options.open(Kind::SESSION) }
    }
}

impl FileTokenStore {
    /// A store for `namespace` in `dir`, in plain text. Use [`FileTokenStore::builder`] for
    /// encryption.
    pub fn new(dir: impl Into<PathBuf>, namespace: Namespace) -> Self {
        Self::builder(dir, namespace).build()
    }

    /// Starts building a store for `namespace` in `dir` (created `0700` on first write if
    /// missing).
    pub fn builder(dir: impl Into<PathBuf>, namespace: Namespace) -> FileTokenStoreBuilder {
        FileTokenStoreBuilder { options: Options::new(dir.into(), namespace) }
    }

    /// The file that holds the session.
    pub fn path(&self) -> &Path {
        &self.inner.record
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The store's namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.inner.namespace
    }

    /// True if sessions are written encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.inner.key.is_encrypted()
    }

    /// [`TokenStore::load`] on the calling thread (it reads a file and, to move a damaged
    /// one aside, may wait for the lock).
    pub fn load_blocking(&self) -> Result<Snapshot, StoreError> {
        let (generation, session) = self.inner.load()?;
        Ok(Snapshot::new(generation, session))
    }

    /// [`TokenStore::compare_and_swap`] on the calling thread (it waits for the lock and
    /// flushes the file to disk).
    pub fn compare_and_swap_blocking(
        &self,
        expected: Generation,
        new: Option<&StoredSession>,
    ) -> Result<Generation, StoreError> {
        self.inner.compare_and_swap(expected, new)
    }

    /// The explicit migration to encryption. With a key configured, a session file written
    /// in plain text (before encryption was turned on) is refused by `load` and writes, so
    /// that a file planted in plain text is never taken silently; if the file is yours, this
    /// encrypts it in place (under the lock, keeping the session and its generation order).
    /// `Ok(true)` if a file was encrypted, `Ok(false)` if there was nothing to do.
    pub async fn encrypt_plaintext(&self) -> Result<bool, StoreError> {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || inner.encrypt_plaintext::<StoredSession>()).await
    }

    /// [`FileTokenStore::encrypt_plaintext`] on the calling thread.
    pub fn encrypt_plaintext_blocking(&self) -> Result<bool, StoreError> {
        self.inner.encrypt_plaintext::<StoredSession>()
    }
}

#[async_trait]
impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let inner = Arc::clone(&self.inner);
        let (generation, session) = run_blocking(move || inner.load()).await?;
        Ok(Snapshot::new(generation, session))
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

/// Runs file work on tokio's blocking pool, so a slow disk or a held lock never stalls the
/// async workers.
pub(crate) async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| Err(StoreError::unavailable("the store's worker failed", error)))
}

/// What the record file holds.
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived, one per call; boxing would cost an allocation on every load"
)]
enum Current<T> {
    Missing,
    Record(Decoded<T>),
    Damaged { message: String, generation: Option<Generation> },
}

impl Inner {
    /// The record file.
    pub(crate) fn path(&self) -> &Path {
        &self.record
    }

    /// The directory of the store.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's namespace.
    pub(crate) fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// True if records are written encrypted.
    pub(crate) fn is_encrypted(&self) -> bool {
        self.key.is_encrypted()
    }

    /// The record's generation and payload; a missing record is ([`Generation::NEW`],
    /// `None`). A damaged record is kept aside (under the lock) and reported.
    pub(crate) fn load<T: DeserializeOwned>(&self) -> Result<(Generation, Option<T>), StoreError> {
        let cipher = self.key.cipher()?;
        match self.read_current(cipher.as_deref(), false)? {
            Current::Missing => Ok((Generation::NEW, None)),
            Current::Record(decoded) => Ok(self.loaded(decoded)),
            Current::Damaged { .. } => {
                // Moving the record aside must not race a writer: re-read under the lock.
                let _lock = self.lock()?;
                match self.read_current(cipher.as_deref(), false)? {
                    Current::Missing => Ok((Generation::NEW, None)),
                    Current::Record(decoded) => Ok(self.loaded(decoded)),
                    Current::Damaged { message, generation } => {
                        Err(self.keep_aside(message, generation, cipher.as_deref()))
                    }
                }
            }
        }
    }

    /// Replaces the record with `new` (`None`: a tombstone) if its generation is
    /// `expected`; the new generation, or [`StoreError::Conflict`] with the current one.
    pub(crate) fn compare_and_swap<T: Serialize + DeserializeOwned>(
        &self,
        expected: Generation,
        new: Option<&T>,
    ) -> Result<Generation, StoreError> {
        let cipher = self.key.cipher()?;
        self.ensure_dir()?;
        let _lock = self.lock()?;
        let current = match self.read_current::<T>(cipher.as_deref(), false)? {
            Current::Missing => Generation::NEW,
            Current::Record(decoded) => decoded.generation,
            Current::Damaged { message, generation } => {
                return Err(self.keep_aside(message, generation, cipher.as_deref()));
            }
        };
        if current != expected {
            return Err(StoreError::Conflict { current });
        }
        let generation = format::write_generation(current)?;
        let bytes =
            format::encode(&self.kind, &self.namespace, generation, new, cipher.as_deref())?;
        self.write_atomically(&bytes)?;
        tracing::debug!(
            path = %self.record.display(),
            %generation,
            cleared = new.is_none(),
            "{} saved",
            self.kind.what
        );
        Ok(generation)
    }

    fn loaded<T>(&self, decoded: Decoded<T>) -> (Generation, Option<T>) {
        (decoded.generation, decoded.payload)
    }

    /// Encrypts a plain-text record with the configured key, under the lock and keeping its
    /// generation order; `Ok(true)` if a record was encrypted, `Ok(false)` if there was
    /// nothing to do (no key, no record, or already encrypted).
    pub(crate) fn encrypt_plaintext<T: Serialize + DeserializeOwned>(
        &self,
    ) -> Result<bool, StoreError> {
        let cipher = self.key.cipher()?;
        let Some(cipher) = cipher.as_deref() else { return Ok(false) };
        if matches!(self.read_current::<T>(Some(cipher), true)?, Current::Missing) {
            return Ok(false);
        }
        let _lock = self.lock()?;
        let decoded = match self.read_current::<T>(Some(cipher), true)? {
            Current::Record(decoded) if decoded.plaintext_with_key => decoded,
            Current::Damaged { message, generation } => {
                return Err(self.keep_aside(message, generation, Some(cipher)));
            }
            _ => return Ok(false),
        };
        let generation = format::write_generation(decoded.generation)?;
        let bytes = format::encode(
            &self.kind,
            &self.namespace,
            generation,
            decoded.payload.as_ref(),
            Some(cipher),
        )?;
        self.write_atomically(&bytes)?;
        tracing::info!(path = %self.record.display(), "the stored {} is now encrypted", self.kind.what);
        Ok(true)
    }

    /// Reads and decodes the record. `Refused` and `Unavailable` come back as errors;
    /// damage comes back as a value, for the caller to handle under the lock.
    fn read_current<T: DeserializeOwned>(
        &self,
        cipher: Option<&Cipher>,
        allow_plaintext: bool,
    ) -> Result<Current<T>, StoreError> {
        let what = &self.kind.what;
        match fs::symlink_metadata(&self.dir) {
            Ok(metadata) => check_private_dir(&self.dir, &metadata)?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Current::Missing),
            Err(error) => {
                return Err(io_error("cannot inspect the store directory", &self.dir, error));
            }
        }
        let mut file = match open_no_follow(&self.record) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Current::Missing),
            Err(error) if is_symlink_error(&error) => {
                return Err(StoreError::Refused(format!(
                    "{} is a symbolic link; the store only reads regular files",
                    self.record.display()
                )));
            }
            Err(error) => {
                return Err(io_error(&format!("cannot open the {what} file"), &self.record, error));
            }
        };
        let metadata = file.metadata().map_err(|error| {
            io_error(&format!("cannot inspect the {what} file"), &self.record, error)
        })?;
        check_private_file(&self.record, what, &file, &metadata)?;
        if metadata.len() > MAX_RECORD_LEN {
            return Ok(Current::Damaged {
                message: format!(
                    "the file is {} bytes long, too large for a {what}",
                    metadata.len()
                ),
                generation: None,
            });
        }
        let capacity = usize::try_from(metadata.len()).unwrap_or(0).saturating_add(1);
        let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(capacity));
        file.read_to_end(&mut bytes).map_err(|error| {
            io_error(&format!("cannot read the {what} file"), &self.record, error)
        })?;
        match format::decode(&bytes, &self.kind, &self.namespace, cipher) {
            // With a key configured, a plain-text record is not taken silently: whoever can
            // write the directory could otherwise plant a session the key never protected.
            // Encrypting it is an explicit step (`encrypt_plaintext`).
            Ok(decoded) if decoded.plaintext_with_key && !allow_plaintext => {
                Err(StoreError::Refused(format!(
                    "the {what} file {} is in plain text although an encryption key is \
                     configured; encrypt it with encrypt_plaintext() if it is yours",
                    self.record.display()
                )))
            }
            Ok(decoded) => Ok(Current::Record(decoded)),
            Err(DecodeError::Refused(message)) => {
                Err(StoreError::Refused(format!("{}: {message}", self.record.display())))
            }
            Err(DecodeError::Damaged { message, generation }) => {
                Ok(Current::Damaged { message, generation })
            }
        }
    }

    /// Moves a damaged record aside and leaves a tombstone above its generation, so the
    /// store reads as empty and stale writers still conflict. Call with the lock held.
    fn keep_aside(
        &self,
        message: String,
        generation: Option<Generation>,
        cipher: Option<&Cipher>,
    ) -> StoreError {
        let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let what = &self.kind.what;
        let aside = self.dir.join(format!(
            "{}.{}.damaged-{seconds}-{:04x}",
            self.stem,
            self.kind.suffix,
            rand::random::<u16>()
        ));
        if let Err(error) = fs::rename(&self.record, &aside) {
            return io_error(
                &format!("cannot move the damaged {what} file aside"),
                &self.record,
                error,
            );
        }
        tracing::error!(
            path = %self.record.display(),
            kept_at = %aside.display(),
            reason = %message,
            "the stored {what} was damaged; it has been kept aside and the store is now empty"
        );
        let tombstone = format::tombstone_generation(generation);
        let written = format::encode::<()>(&self.kind, &self.namespace, tombstone, None, cipher)
            .and_then(|bytes| self.write_atomically(&bytes));
        if let Err(error) = written {
            // The damaged file is aside already; without a tombstone the store reads as new,
            // and its first write still jumps to the clock.
            tracing::warn!(%error, "could not write a tombstone after keeping a damaged {what} aside");
            let _ = sync_dir(&self.dir);
        }
        StoreError::Damaged { message, kept_at: aside.display().to_string() }
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|error| io_error("cannot create the store directory", &self.dir, error))?;
        let metadata = fs::symlink_metadata(&self.dir)
            .map_err(|error| io_error("cannot inspect the store directory", &self.dir, error))?;
        check_private_dir(&self.dir, &metadata)
    }

    /// Takes the exclusive lock, waiting at most `lock_timeout`.
    fn lock(&self) -> Result<File, StoreError> {
        lock_exclusive(&self.lock, self.lock_timeout)
    }

    /// Replaces the record with `bytes`: temporary file, fsync, rename, fsync of the
    /// directory. Call with the lock held (the temporary file's name is fixed).
    fn write_atomically(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let result = self.try_write_atomically(bytes);
        if result.is_err() {
            let _ = fs::remove_file(&self.temp);
        }
        result
    }

    fn try_write_atomically(&self, bytes: &[u8]) -> Result<(), StoreError> {
        // A leftover from a writer that died mid-write: the lock says nobody owns it now.
        match fs::remove_file(&self.temp) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(io_error("cannot remove a stale temporary file", &self.temp, error));
            }
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&self.temp)
            .map_err(|error| io_error("cannot create the temporary file", &self.temp, error))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|error| io_error("cannot write the temporary file", &self.temp, error))?;
        drop(file);
        fs::rename(&self.temp, &self.record).map_err(|error| {
            io_error(&format!("cannot replace the {} file", self.kind.what), &self.record, error)
        })?;
        // The new record is in place and visible to every reader: reporting a failure now
        // would claim that nothing changed. Only its survival of a power cut is in doubt.
        if let Err(error) = sync_dir(&self.dir) {
            tracing::warn!(
                dir = %self.dir.display(),
                %error,
                "the {} was replaced but the directory could not be flushed to disk",
                self.kind.what
            );
        }
        Ok(())
    }
}

/// Takes an exclusive lock on the file at `path` (created `0600` if missing), waiting at
/// most `timeout`; [`StoreError::Unavailable`] if another holder keeps it longer. The lock
/// is released when the returned file is closed, also when the process dies. It excludes
/// other processes and other handles of this one alike (each opens the file anew).
pub(crate) fn lock_exclusive(path: &Path, timeout: Duration) -> Result<File, StoreError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
        // A symbolic link planted at the lock file must not make the store create or lock
        // (and, being opened for writing, possibly truncate a later version of) another
        // file; a FIFO there must not block the open.
        #[allow(
            clippy::cast_possible_wrap,
            reason = "O_NOFOLLOW and O_NONBLOCK are small positive flags on every Unix"
        )]
        options.custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32
        );
    }
    let file = options.open(path).map_err(|error| {
        if is_symlink_error(&error) {
            StoreError::Refused(format!(
                "the lock file {} is a symbolic link; the store only uses regular files",
                path.display()
            ))
        } else {
            io_error("cannot open the lock file", path, error)
        }
    })?;
    let metadata =
        file.metadata().map_err(|error| io_error("cannot inspect the lock file", path, error))?;
    if !metadata.is_file() {
        return Err(StoreError::Refused(format!(
            "the lock file {} is not a regular file",
            path.display()
        )));
    }
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        // Fully qualified: `File` has an inherent `try_lock` since Rust 1.89, with another
        // error type.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => return Ok(file),
            Err(fs4::TryLockError::WouldBlock) => {}
            Err(fs4::TryLockError::Error(error)) => {
                return Err(io_error("cannot lock", path, error));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::Unavailable {
                message: format!(
                    "{} has been locked by another writer for more than {timeout:?}",
                    path.display()
                ),
                source: None,
            });
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Flushes a directory's entries (the rename) to disk. Windows has no such call; NTFS
/// journals renames.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Opens `path` for reading without following a final symbolic link.
fn open_no_follow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_NONBLOCK: a FIFO planted as the record must be refused (it is not a regular
        // file), not block the open until some writer appears. Regular files ignore it.
        #[allow(
            clippy::cast_possible_wrap,
            reason = "O_NOFOLLOW and O_NONBLOCK are small positive flags on every Unix"
        )]
        options.custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32
        );
    }
    options.open(path)
}

fn is_symlink_error(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// Classifies an IO error: permission problems need the user's action (`Refused`); the
/// rest (disk full, IO error, read-only file system...) may pass (`Unavailable`). Neither
/// clears anything.
fn io_error(what: &str, path: &Path, error: io::Error) -> StoreError {
    let message = format!("{what} {}: {error}", path.display());
    if error.kind() == io::ErrorKind::PermissionDenied {
        StoreError::Refused(message)
    } else {
        StoreError::unavailable(message, error)
    }
}

#[cfg(unix)]
fn check_private_dir(dir: &Path, metadata: &fs::Metadata) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt as _;
    if !metadata.is_dir() {
        return Err(StoreError::Refused(format!("{} is not a directory", dir.display())));
    }
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me {
        return Err(StoreError::Refused(format!(
            "the store directory {} belongs to user {}, not to the current user {me}",
            dir.display(),
            metadata.uid()
        )));
    }
    if metadata.mode() & 0o022 != 0 {
        return Err(StoreError::Refused(format!(
            "the store directory {} is writable by other users (mode {:o}); run `chmod 700` on it",
            dir.display(),
            metadata.mode() & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_dir(dir: &Path, metadata: &fs::Metadata) -> Result<(), StoreError> {
    if metadata.is_dir() {
        Ok(())
    } else {
        Err(StoreError::Refused(format!("{} is not a directory", dir.display())))
    }
}

#[cfg(unix)]
fn check_private_file(
    path: &Path,
    what: &str,
    file: &File,
    metadata: &fs::Metadata,
) -> Result<(), StoreError> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    if !metadata.is_file() {
        return Err(StoreError::Refused(format!("{} is not a regular file", path.display())));
    }
    // A second name for the record is refused before anything is changed: tightening the
    // permissions below would change the other name's file too, and a link planted by
    // someone else could expose or replace what the store writes.
    if metadata.nlink() > 1 {
        return Err(StoreError::Refused(format!(
            "the {what} file {} has {} hard links; the store only uses files with one name",
            path.display(),
            metadata.nlink()
        )));
    }
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me {
        return Err(StoreError::Refused(format!(
            "the {what} file {} belongs to user {}, not to the current user {me}; it is not read",
            path.display(),
            metadata.uid()
        )));
    }
    let mode = metadata.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(StoreError::Refused(format!(
            "the {what} file {} is writable by other users (mode {mode:o}), so its content \
             cannot be trusted; it is not read",
            path.display()
        )));
    }
    if mode & 0o044 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{mode:o}"),
            "the {what} file was readable by other users; restricting it to 0600"
        );
        file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(|error| {
            io_error(&format!("cannot restrict the {what} file's permissions"), path, error)
        })?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_file(
    path: &Path,
    _what: &str,
    _file: &File,
    metadata: &fs::Metadata,
) -> Result<(), StoreError> {
    if metadata.is_file() {
        Ok(())
    } else {
        Err(StoreError::Refused(format!("{} is not a regular file", path.display())))
    }
}
