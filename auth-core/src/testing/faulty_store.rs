use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::error::StoreError;
use crate::store::{Generation, MemoryTokenStore, Snapshot, TokenStore};
use crate::types::StoredSession;

/// An in-memory store whose failures a test controls: unavailable (like a locked keyring)
/// for a while or for the next few calls, or damaged at the next load (like a file store
/// that moved a corrupt file aside). It counts loads and successful writes.
#[derive(Debug, Default)]
pub struct FaultyTokenStore {
    inner: MemoryTokenStore,
    unavailable: AtomicBool,
    fail_next: AtomicUsize,
    /// Where the next load says the damaged record was kept, once.
    damaged_next_load: Mutex<Option<String>>,
    loads: AtomicUsize,
    writes: AtomicUsize,
}

impl FaultyTokenStore {
    /// A working, empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every call fail with [`StoreError::Unavailable`] until switched back.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Makes the next `calls` calls fail with [`StoreError::Unavailable`].
    pub fn fail_next(&self, calls: usize) {
        self.fail_next.store(calls, Ordering::SeqCst);
    }

    /// Makes the next load report [`StoreError::Damaged`], the record kept aside at
    /// `kept_at`; the load after it finds the store as it is.
    pub fn damage_next_load(&self, kept_at: impl Into<String>) {
        *self.damaged_next_load.lock().unwrap_or_else(|e| e.into_inner()) = Some(kept_at.into());
    }

    /// How many loads were attempted.
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// How many writes succeeded.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// The stored session, read directly (no fault injection), for assertions.
    pub fn peek(&self) -> Option<StoredSession> {
        futures_lite_block_on(self.inner.load()).ok().and_then(|snapshot| snapshot.session)
    }

    fn check(&self) -> Result<(), StoreError> {
        let scripted = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if scripted || self.unavailable.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                message: "injected fault: store unavailable".into(),
                source: None,
            });
        }
        Ok(())
    }
}

/// `MemoryTokenStore` never awaits, so its futures complete on the first poll.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("MemoryTokenStore futures never wait"),
    }
}

#[async_trait]
impl TokenStore for FaultyTokenStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        let damaged = self.damaged_next_load.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(kept_at) = damaged {
            return Err(StoreError::Damaged {
                message: "injected fault: a damaged record".into(),
                kept_at,
            });
        }
        self.inner.load().await
    }

    async fn compare_and_swap(
        &self,
        expected: Generation,
        new: Option<&StoredSession>,
    ) -> Result<Generation, StoreError> {
        self.check()?;
        let generation = self.inner.compare_and_swap(expected, new).await?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(generation)
    }
}
