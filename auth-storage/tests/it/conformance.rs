//! auth-core's token-store conformance suite against every store of this crate.

use std::sync::Arc;

use auth_core::testing::conformance::token_store::{self, FreshStore};
use auth_storage::MemoryTokenStore;

use crate::support::{Dirs, file_store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    token_store::run_all(&|| FreshStore { store: Arc::new(MemoryTokenStore::new()), reopen: None })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_file_store_conforms() {
    file_store_conforms(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_file_store_conforms() {
    file_store_conforms(true).await;
}

async fn file_store_conforms(encrypted: bool) {
    let dirs = Dirs::default();
    token_store::run_all(&|| {
        let dir = dirs.fresh();
        FreshStore {
            store: Arc::new(file_store(&dir, encrypted)),
            reopen: Some(Box::new(move || Arc::new(file_store(&dir, encrypted)))),
        }
    })
    .await;
}

#[cfg(feature = "keyring")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyring_store_conforms_with_the_mock_backend() {
    use crate::keyring_mock::mock_store;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let counter = AtomicUsize::new(0);
    token_store::run_all(&|| {
        let (store, reopen) =
            mock_store(&format!("conformance-{}", counter.fetch_add(1, Ordering::SeqCst)));
        FreshStore { store: Arc::new(store), reopen: Some(Box::new(move || Arc::new(reopen()))) }
    })
    .await;
}
