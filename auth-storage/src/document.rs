//! The document store: [`FileTokenStore`](crate::FileTokenStore)'s file machinery for any
//! serialisable value, under a format of its own.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_core::{Generation, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ConfigError;
use crate::file::{Inner, Options, file_store_options, run_blocking};
use crate::format::Kind;
use crate::namespace::Namespace;

/// The longest document kind accepted, in bytes.
pub const MAX_DOCUMENT_KIND_LEN: usize = 32;

/// Kinds a document may not take: `session` is the token store's record and `lock` would
/// name the token store's lock file.
const RESERVED_KINDS: [&str; 2] = ["session", "lock"];

/// One value of type `T` per [`Namespace`] and *kind* in a file, with the guarantees of
/// [`FileTokenStore`](crate::FileTokenStore): atomic replacement, a compare-and-swap
/// [`Generation`] shared with other processes through a lock file, `0700`/`0600`
/// permissions checked on every read, symbolic links refused, optional XChaCha20-Poly1305
/// encryption, damaged records kept aside and never deleted.
///
/// It is for state that belongs next to a session but must not share its life: the
/// session is cleared at sign-out, while (for example) the devices a user made trusted
/// must survive it. The kind names the document:
/// - the record is `<stem>.<kind>` (`<stem>` is [`Namespace::file_stem`]), its lock
///   `<stem>.<kind>.lock`, and a damaged record is kept at
///   `<stem>.<kind>.damaged-<seconds>-<random>`;
/// - the record's `format` is `auth-storage/<kind>` and its payload is under `document`
///   (see [`FORMAT_VERSION`](crate::FORMAT_VERSION) for the envelope). The format is
///   checked on every read and bound into the encryption's associated data, so a session
///   file, or a document of another kind, put in its place is refused
///   ([`StoreError::Refused`]) and left where it is, never read as this kind.
///
/// `T` is written as JSON (inside the ciphertext when encrypted). The store zeroes the
/// bytes it reads and writes; zeroing the decoded value is `T`'s business (hold secrets in
/// types that zeroize on drop, such as auth-core's `SecretString`).
///
/// There is no "update" primitive: read with [`load`](Self::load), change the value, write
/// it back with [`compare_and_swap`](Self::compare_and_swap) and, on
/// [`StoreError::Conflict`], start again from a fresh load. The async methods run the file
/// work on tokio's blocking pool; the `*_blocking` methods do it on the calling thread.
pub struct FileDocumentStore<T> {
    inner: Arc<Inner>,
    payload: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for FileDocumentStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDocumentStore").field("inner", &self.inner).finish()
    }
}

impl<T> Clone for FileDocumentStore<T> {
    /// Another handle on the same store (its warnings are shared too).
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner), payload: PhantomData }
    }
}

/// Builds a [`FileDocumentStore`]: where, which namespace and kind, which key, how long to
/// wait for the lock.
#[must_use]
pub struct FileDocumentStoreBuilder<T> {
    options: Options,
    kind: Kind,
    payload: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for FileDocumentStoreBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDocumentStoreBuilder")
            .field("options", &self.options)
            .field("kind", &self.kind)
            .finish()
    }
}

file_store_options!([T] FileDocumentStoreBuilder<T>, "document");

impl<T> FileDocumentStoreBuilder<T> {
    /// Builds the store. Nothing is touched on disk until the first load or write.
    pub fn build(self) -> FileDocumentStore<T> {
        FileDocumentStore { inner: self.options.open(self.kind), payload: PhantomData }
    }
}

impl<T> FileDocumentStore<T> {
    /// A store for documents of `kind` in `namespace` in `dir`, in plain text. Use
    /// [`FileDocumentStore::builder`] for encryption.
    pub fn new(
        dir: impl Into<PathBuf>,
        namespace: Namespace,
        kind: &str,
    ) -> Result<Self, ConfigError> {
        Ok(Self::builder(dir, namespace, kind)?.build())
    }

    /// Starts building a store for documents of `kind` in `namespace` in `dir` (created
    /// `0700` on first write if missing). `kind` is 1 to [`MAX_DOCUMENT_KIND_LEN`]
    /// lowercase ASCII letters, digits and `-`, starting with a letter, and neither
    /// `session` nor `lock`; it becomes the file's extension and part of its format.
    pub fn builder(
        dir: impl Into<PathBuf>,
        namespace: Namespace,
        kind: &str,
    ) -> Result<FileDocumentStoreBuilder<T>, ConfigError> {
        validate_kind(kind)?;
        Ok(FileDocumentStoreBuilder {
            options: Options::new(dir.into(), namespace),
            kind: Kind::document(kind),
            payload: PhantomData,
        })
    }

    /// The file that holds the document.
    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        self.inner.dir()
    }

    /// The store's namespace.
    pub fn namespace(&self) -> &Namespace {
        self.inner.namespace()
    }

    /// True if documents are written encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.inner.is_encrypted()
    }
}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> FileDocumentStore<T> {
    /// The stored document and its generation: ([`Generation::NEW`], `None`) if nothing
    /// was ever written, (generation, `None`) after a removal.
    ///
    /// Errors: [`StoreError::Unavailable`] (a disk error, or a lock held too long while a
    /// damaged record was being moved aside), [`StoreError::Refused`] (wrong key, unsafe
    /// permissions, a newer format, a record of another kind or namespace; nothing is
    /// touched), [`StoreError::Damaged`] (the record was unreadable and has been kept
    /// aside; the next load reads an empty store).
    pub async fn load(&self) -> Result<(Generation, Option<T>), StoreError> {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || inner.load()).await
    }

    /// Replaces the document with `new` (`None` removes it) if the stored generation is
    /// still `expected`, and returns the new generation; otherwise
    /// [`StoreError::Conflict`] with the current generation, and nothing is written.
    pub async fn compare_and_swap(
        &self,
        expected: Generation,
        new: Option<&T>,
    ) -> Result<Generation, StoreError> {
        let inner = Arc::clone(&self.inner);
        let new = new.cloned();
        run_blocking(move || inner.compare_and_swap(expected, new.as_ref())).await
    }
}

impl<T: Serialize + DeserializeOwned> FileDocumentStore<T> {
    /// [`load`](Self::load) on the calling thread (it reads a file and, to move a damaged
    /// one aside, may wait for the lock).
    pub fn load_blocking(&self) -> Result<(Generation, Option<T>), StoreError> {
        self.inner.load()
    }

    /// [`compare_and_swap`](Self::compare_and_swap) on the calling thread (it waits for
    /// the lock and flushes the file to disk).
    pub fn compare_and_swap_blocking(
        &self,
        expected: Generation,
        new: Option<&T>,
    ) -> Result<Generation, StoreError> {
        self.inner.compare_and_swap(expected, new)
    }

    /// The explicit migration to encryption: with a key configured a plain-text document is
    /// refused; if it is yours, this encrypts it in place (see
    /// [`FileTokenStore::encrypt_plaintext`](crate::FileTokenStore::encrypt_plaintext)).
    /// `Ok(true)` if a document was encrypted.
    pub fn encrypt_plaintext_blocking(&self) -> Result<bool, StoreError> {
        self.inner.encrypt_plaintext::<T>()
    }
}

fn validate_kind(kind: &str) -> Result<(), ConfigError> {
    let invalid = |why: &str| Err(ConfigError::InvalidDocumentKind(format!("{kind:?} {why}")));
    if kind.is_empty() || kind.len() > MAX_DOCUMENT_KIND_LEN {
        return invalid(&format!("is not 1 to {MAX_DOCUMENT_KIND_LEN} bytes long"));
    }
    if !kind.starts_with(|c: char| c.is_ascii_lowercase()) {
        return invalid("does not start with a lowercase ASCII letter");
    }
    if !kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return invalid("holds characters other than lowercase ASCII letters, digits and '-'");
    }
    if RESERVED_KINDS.contains(&kind) {
        return invalid("is reserved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_checked() {
        for good in ["devices", "a", "x-1", &"k".repeat(MAX_DOCUMENT_KIND_LEN)] {
            assert_eq!(validate_kind(good), Ok(()), "{good}");
        }
        let too_long = "k".repeat(MAX_DOCUMENT_KIND_LEN + 1);
        for bad in ["", "session", "lock", "Devices", "1st", "-x", "a.b", "a/b", "é", &too_long] {
            assert!(
                matches!(validate_kind(bad), Err(ConfigError::InvalidDocumentKind(_))),
                "{bad:?} must be refused"
            );
        }
    }
}
