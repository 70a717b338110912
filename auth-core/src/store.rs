//! Where sessions live: the [`TokenStore`] trait and the in-memory reference store.
//!
//! A store holds one [`StoredSession`] (or nothing) plus a [`Generation`] that grows with
//! every write. Writes are compare-and-swap: the writer names the generation it read, and
//! the write fails with [`StoreError::Conflict`] if anyone wrote since. That is what lets a
//! refresh that started before a sign-out (or before another process signed in) finish
//! late without overwriting or deleting the newer session.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::types::StoredSession;

/// A store's write counter. Every successful write returns a strictly greater value, and
/// values are never reused for the lifetime of the store's location (clearing keeps the
/// counter), so a stale writer is always detected.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain counter; stores build it from their own records"
)]
pub struct Generation(pub u64);

impl Generation {
    /// The generation of a store that has never been written.
    pub const NEW: Generation = Generation(0);

    /// The generation after this one.
    pub fn next(self) -> Generation {
        Generation(self.0.saturating_add(1))
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a load returns: the session (if any) and the generation it was read at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The generation to pass to the next compare-and-swap.
    pub generation: Generation,
    /// The stored session; `None` if the store is empty or was cleared.
    pub session: Option<StoredSession>,
}

impl Snapshot {
    /// A snapshot of `session` at `generation`.
    pub fn new(generation: Generation, session: Option<StoredSession>) -> Self {
        Self { generation, session }
    }
}

/// A place to keep one session between runs: memory, a file, the OS keyring...
///
/// Implementations must be safe to share between tasks and, where the medium allows it,
/// between processes. Contract (checked by `testing::conformance::token_store`):
/// - `load` of a new store is `Snapshot { generation: Generation::NEW, session: None }`;
/// - `compare_and_swap(expected, new)` writes `new` (or clears, for `None`) only if the
///   current generation equals `expected`, and returns the new, strictly greater
///   generation; otherwise it writes nothing and returns [`StoreError::Conflict`];
/// - a temporary failure is [`StoreError::Unavailable`] and changes nothing;
/// - damaged data is kept aside, reported once as [`StoreError::Damaged`], and the store
///   then reads as empty.
#[async_trait]
pub trait TokenStore: fmt::Debug + Send + Sync + 'static {
    /// Reads the session and its generation.
    async fn load(&self) -> Result<Snapshot, StoreError>;

    /// Replaces the session (or clears it, with `None`) if the store is still at
    /// `expected`; returns the new generation.
    async fn compare_and_swap(
        &self,
        expected: Generation,
        new: Option<&StoredSession>,
    ) -> Result<Generation, StoreError>;
}

/// A shared token store.
pub type DynTokenStore = Arc<dyn TokenStore>;

#[async_trait]
impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        (**self).load().await
    }

    async fn compare_and_swap(
        &self,
        expected: Generation,
        new: Option<&StoredSession>,
    ) -> Result<Generation, StoreError> {
        (**self).compare_and_swap(expected, new).await
    }
}

/// Unconditional writes built on compare-and-swap, for callers that do not care who wrote
/// last (tools, tests, explicit user actions such as sign-in).
#[async_trait]
pub trait TokenStoreExt: TokenStore {
    /// Writes `session` whatever the store holds; returns the new generation.
    async fn save(&self, session: &StoredSession) -> Result<Generation, StoreError> {
        overwrite(self, Some(session)).await
    }

    /// Clears the store whatever it holds; returns the new generation.
    async fn clear(&self) -> Result<Generation, StoreError> {
        overwrite(self, None).await
    }
}

impl<T: TokenStore + ?Sized> TokenStoreExt for T {}

async fn overwrite<T: TokenStore + ?Sized>(
    store: &T,
    session: Option<&StoredSession>,
) -> Result<Generation, StoreError> {
    let expected = store.load().await?.generation;
    overwrite_from(store, expected, session).await
}

/// Writes `session` whatever the store holds, starting from the generation the caller
/// believes it is at.
pub(crate) async fn overwrite_from<T: TokenStore + ?Sized>(
    store: &T,
    mut expected: Generation,
    session: Option<&StoredSession>,
) -> Result<Generation, StoreError> {
    // Another writer can only win a bounded number of times in practice; the bound keeps a
    // pathological store (one that always conflicts) from spinning forever.
    for _ in 0..64 {
        match store.compare_and_swap(expected, session).await {
            Err(StoreError::Conflict { current }) => expected = current,
            other => return other,
        }
    }
    Err(StoreError::Unavailable {
        message: "gave up after 64 write conflicts".into(),
        source: None,
    })
}

/// A store that keeps the session in memory: lost on exit. The reference implementation of
/// the [`TokenStore`] contract; `auth-storage` re-exports it beside its durable stores.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    inner: Mutex<Snapshot>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        Ok(self.inner.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }

    async fn compare_and_swap(
        &self,
        expected: Generation,
        new: Option<&StoredSession>,
    ) -> Result<Generation, StoreError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.generation != expected {
            return Err(StoreError::Conflict { current: inner.generation });
        }
        inner.generation = inner.generation.next();
        inner.session = new.cloned();
        Ok(inner.generation)
    }
}
