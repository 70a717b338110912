//! auth-core's `AuthClient` over the file store: restarts resume the session, an
//! unavailable store fails `initialize` without clearing anything, a damaged file starts
//! signed out with the damage reported.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::testing::FakeIdentityProvider;
use auth_core::{
    AuthClient, AuthError, ManualClock, SignInRequest, StoreError, TokenStore, UserState,
};
use auth_storage::FileTokenStore;

use crate::support::{namespace, temp_dir, test_key};

struct World {
    clock: Arc<ManualClock>,
    provider: FakeIdentityProvider,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let provider = FakeIdentityProvider::new(clock.clone());
        provider.add_user("alice", "Passw0rd!");
        Self { clock, provider }
    }

    /// A new client (as after a process restart) over a new store handle on `dir`.
    fn client(&self, store: FileTokenStore) -> AuthClient {
        AuthClient::builder()
            .identity_provider(Arc::new(self.provider.clone()))
            .token_store(Arc::new(store))
            .clock(self.clock.clone())
            .build()
    }

    /// A process that signs `alice` in over `store` and exits, leaving her session stored.
    async fn sign_in_and_exit(&self, store: FileTokenStore) {
        let client = self.client(store);
        client.initialize().await.unwrap();
        client.sign_in(SignInRequest::password("alice", "Passw0rd!")).await.unwrap();
    }
}

fn encrypted_store(dir: &Path) -> FileTokenStore {
    FileTokenStore::builder(dir, namespace()).encryption_key(test_key()).build()
}

#[tokio::test]
async fn a_restarted_client_resumes_the_session() {
    let dir = temp_dir();
    let world = World::new();

    let first = world.client(encrypted_store(dir.path()));
    assert_eq!(first.initialize().await.unwrap().state, UserState::SignedOut);
    first.sign_in(SignInRequest::password("alice", "Passw0rd!")).await.unwrap();
    let tokens = first.tokens().await.unwrap();
    drop(first);

    let second = world.client(encrypted_store(dir.path()));
    assert_eq!(second.initialize().await.unwrap().state, UserState::SignedIn);
    assert_eq!(second.username().as_deref(), Some("alice"));
    assert_eq!(second.tokens().await.unwrap(), tokens, "the stored tokens are served as they were");
    assert_eq!(world.provider.calls().refresh, 0, "valid stored tokens need no refresh");

    // Tokens refreshed after the restart are saved too: a third start sees them.
    world.clock.advance(Duration::from_secs(2 * 3600));
    let refreshed = second.tokens().await.unwrap();
    assert_ne!(refreshed, tokens);
    assert_eq!(world.provider.calls().refresh, 1);
    // `AuthClient` saves refreshed tokens in the background after handing them out; an
    // app exiting at once could lose them, so wait for the write as a later start would.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stored = encrypted_store(dir.path()).load().await.unwrap().session;
        if stored.and_then(|s| s.user_pool).map(|u| u.tokens) == Some(refreshed.clone()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the refreshed tokens were never saved");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(second);
    let third = world.client(encrypted_store(dir.path()));
    assert_eq!(third.initialize().await.unwrap().state, UserState::SignedIn);
    assert_eq!(third.tokens().await.unwrap(), refreshed);
    assert_eq!(world.provider.calls().refresh, 1);
}

#[tokio::test]
async fn a_damaged_file_starts_signed_out_with_the_damage_reported() {
    let dir = temp_dir();
    let world = World::new();
    world.sign_in_and_exit(encrypted_store(dir.path())).await;
    let path = encrypted_store(dir.path()).path().to_owned();
    let mut bytes = fs::read(&path).unwrap();
    bytes.truncate(bytes.len() / 3);
    fs::write(&path, &bytes).unwrap();

    let second = world.client(encrypted_store(dir.path()));
    let details = second.initialize().await.expect("damage must not fail initialisation");
    assert_eq!(details.state, UserState::SignedOut);
    let report = details.store_damage.as_deref().expect("the damage is reported");
    assert!(report.contains("damaged") && report.contains("kept aside"), "{report}");
    let kept: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(fs::read(&kept[0]).unwrap(), bytes, "the damaged file is kept, not deleted");

    second.sign_in(SignInRequest::password("alice", "Passw0rd!")).await.unwrap();
    assert!(second.is_signed_in());
}

/// A damaged file cannot be moved aside while another process holds the lock: the store is
/// unavailable, `initialize` fails, and nothing is moved or cleared until the lock is free.
#[tokio::test]
async fn an_unavailable_store_fails_initialize_and_clears_nothing() {
    let dir = temp_dir();
    let world = World::new();
    let store = |dir: &Path| {
        FileTokenStore::builder(dir, namespace()).lock_timeout(Duration::from_millis(100)).build()
    };
    let path = store(dir.path()).path().to_owned();
    fs::create_dir_all(dir.path()).unwrap();
    fs::write(&path, b"{\"format\":\"auth-storage/session\",\"version\":1,\"gen").unwrap();
    let before = fs::read(&path).unwrap();
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.path().join(format!("{}.lock", namespace().file_stem())))
        .unwrap();
    fs4::FileExt::lock(&lock).unwrap();

    let client = world.client(store(dir.path()));
    match client.initialize().await {
        Err(AuthError::Store(StoreError::Unavailable { .. })) => {}
        other => panic!("expected an unavailable store, got {other:?}"),
    }
    assert_eq!(
        client.current_user_state().state,
        UserState::Unknown,
        "not initialised, not signed out"
    );
    assert_eq!(fs::read(&path).unwrap(), before, "nothing moved or cleared while unavailable");

    drop(lock);
    let details = client.initialize().await.expect("works once the lock is free");
    assert_eq!(details.state, UserState::SignedOut);
    assert!(details.store_damage.is_some());
}

/// The key of an encrypted file store lives in a locked keyring: `initialize` fails, the
/// session stays, and once the keyring answers the user is still signed in.
#[cfg(feature = "keyring")]
#[tokio::test]
async fn a_locked_keyring_key_fails_initialize_and_keeps_the_session() {
    use auth_storage::KeyringKey;
    use keyring::Entry;
    use keyring::mock::MockCredential;

    let dir = temp_dir();
    let world = World::new();
    world.sign_in_and_exit(encrypted_store(dir.path())).await;
    let before = fs::read(encrypted_store(dir.path()).path()).unwrap();

    let entry = Entry::new_with_credential(Box::new(MockCredential::default()));
    entry.set_password(crate::support::TEST_KEY_HEX).unwrap();
    let mock: &MockCredential = entry.get_credential().downcast_ref().unwrap();
    mock.set_error(keyring::Error::NoStorageAccess("the collection is locked".into()));
    let store = FileTokenStore::builder(dir.path(), namespace())
        .encryption_key_in_keyring(KeyringKey::from_entry("test", "key", entry))
        .build();
    let client = world.client(store);
    match client.initialize().await {
        Err(AuthError::Store(StoreError::Unavailable { message, .. })) => {
            assert!(message.contains("keyring"), "{message}")
        }
        other => panic!("expected an unavailable store, got {other:?}"),
    }
    assert_eq!(fs::read(encrypted_store(dir.path()).path()).unwrap(), before);
    assert_eq!(client.initialize().await.unwrap().state, UserState::SignedIn);
    assert_eq!(client.username().as_deref(), Some("alice"));
}
