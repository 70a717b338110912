//! The keyring store and keyring-kept keys against keyring's mock credential store:
//! damaged items kept aside, a locked keyring, limits, foreign versions.

use std::sync::{Arc, Mutex};

use auth_core::testing::conformance::token_store::sample_session;
use auth_core::{Generation, StoreError, TokenStore, TokenStoreExt};
use auth_storage::{KeyringKey, KeyringTokenStore, Namespace};
use keyring::Entry;
use keyring::mock::MockCredential;

type Created = Arc<Mutex<Vec<(String, Arc<Entry>)>>>;

fn mock_entry() -> Arc<Entry> {
    Arc::new(Entry::new_with_credential(Box::new(MockCredential::default())))
}

fn mock(entry: &Entry) -> &MockCredential {
    entry.get_credential().downcast_ref().expect("a mock credential")
}

/// A store over one mock item, and a way to open another handle on the same item. Mock
/// items are independent objects, so both handles share the one `Entry`.
pub(crate) fn mock_store(
    key: &str,
) -> (KeyringTokenStore, impl Fn() -> KeyringTokenStore + Send + Sync + 'static) {
    let (store, entry, _) = mock_store_with_entry(key);
    let key = key.to_owned();
    let reopen = move || {
        let (entry, key) = (Arc::clone(&entry), key.clone());
        KeyringTokenStore::with_entries(
            "auth-storage-it",
            Namespace::new(key.clone()).unwrap(),
            move |_, user| Ok(if user == key { Arc::clone(&entry) } else { mock_entry() }),
        )
        .unwrap()
    };
    (store, reopen)
}

/// A store over a mock item; also returns the item and the items created for damaged
/// records.
fn mock_store_with_entry(key: &str) -> (KeyringTokenStore, Arc<Entry>, Created) {
    let entry = mock_entry();
    let created: Created = Arc::default();
    let (main, log, key_owned) = (Arc::clone(&entry), Arc::clone(&created), key.to_owned());
    let store = KeyringTokenStore::with_entries(
        "auth-storage-it",
        Namespace::new(key).unwrap(),
        move |_, user| {
            if user == key_owned {
                return Ok(Arc::clone(&main));
            }
            let aside = mock_entry();
            log.lock().unwrap().push((user.to_owned(), Arc::clone(&aside)));
            Ok(aside)
        },
    )
    .unwrap();
    (store, entry, created)
}

#[tokio::test]
async fn a_damaged_item_is_kept_aside_reported_once_then_empty() {
    let (store, entry, created) = mock_store_with_entry("damaged");
    let g1 = store.save(&sample_session("k")).await.unwrap();
    entry.set_secret(b"\xff\xfe definitely not a record").unwrap();
    let kept_at = match store.load().await {
        Err(StoreError::Damaged { kept_at, .. }) => kept_at,
        other => panic!("expected Damaged, got {other:?}"),
    };
    let (user, aside) = {
        let created = created.lock().unwrap();
        assert_eq!(created.len(), 1);
        created[0].clone()
    };
    assert!(
        user.starts_with("damaged.damaged-") && kept_at.contains(user.as_str()),
        "{user} / {kept_at}"
    );
    assert_eq!(aside.get_secret().unwrap(), b"\xff\xfe definitely not a record");
    let snapshot = store.load().await.unwrap();
    assert_eq!(snapshot.session, None);
    assert!(snapshot.generation > g1);
    assert!(matches!(store.compare_and_swap(g1, None).await, Err(StoreError::Conflict { .. })));
}

#[tokio::test]
async fn a_locked_keyring_is_unavailable_and_changes_nothing() {
    let (store, entry, _) = mock_store_with_entry("locked");
    let g1 = store.save(&sample_session("before")).await.unwrap();
    mock(&entry).set_error(keyring::Error::NoStorageAccess("collection is locked".into()));
    assert!(matches!(store.load().await, Err(StoreError::Unavailable { .. })));
    mock(&entry).set_error(keyring::Error::PlatformFailure("D-Bus went away".into()));
    assert!(matches!(store.compare_and_swap(g1, None).await, Err(StoreError::Unavailable { .. })));
    let snapshot = store.load().await.unwrap();
    assert_eq!((snapshot.generation, snapshot.session), (g1, Some(sample_session("before"))));
}

/// A credential that holds at most `limit` bytes, as Windows' Credential Manager does
/// (2560 bytes per item).
#[derive(Debug)]
struct LimitedCredential {
    limit: usize,
    secret: Mutex<Option<Vec<u8>>>,
}

impl keyring::credential::CredentialApi for LimitedCredential {
    fn set_secret(&self, secret: &[u8]) -> keyring::Result<()> {
        if secret.len() > self.limit {
            return Err(keyring::Error::TooLong(
                "secret".into(),
                u32::try_from(self.limit).unwrap(),
            ));
        }
        *self.secret.lock().unwrap() = Some(secret.to_vec());
        Ok(())
    }

    fn get_secret(&self) -> keyring::Result<Vec<u8>> {
        self.secret.lock().unwrap().clone().ok_or(keyring::Error::NoEntry)
    }

    fn delete_credential(&self) -> keyring::Result<()> {
        self.secret.lock().unwrap().take().map(drop).ok_or(keyring::Error::NoEntry)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[tokio::test]
async fn a_session_too_large_for_the_keyring_is_refused_and_changes_nothing() {
    let entry = Arc::new(Entry::new_with_credential(Box::new(LimitedCredential {
        limit: 2560,
        secret: Mutex::new(None),
    })));
    let store =
        KeyringTokenStore::with_entries("auth-storage-it", Namespace::new("limited").unwrap(), {
            let entry = Arc::clone(&entry);
            move |_, _| Ok(Arc::clone(&entry))
        })
        .unwrap();
    let g1 = store.clear().await.expect("a tombstone fits");
    let mut big = sample_session("big");
    big.user_pool.as_mut().unwrap().extras.insert("pad".into(), "x".repeat(3000).into());
    match store.compare_and_swap(g1, Some(&big)).await {
        Err(StoreError::Refused(message)) => assert!(message.contains("2560"), "{message}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    let snapshot = store.load().await.unwrap();
    assert_eq!((snapshot.generation, snapshot.session), (g1, None));
}

#[tokio::test]
async fn a_newer_version_in_the_keyring_is_refused_untouched() {
    let (store, entry, created) = mock_store_with_entry("newer");
    let newer =
        br#"{"format":"auth-storage/session","version":9,"namespace":"newer","generation":5}"#;
    entry.set_secret(newer).unwrap();
    assert!(matches!(store.load().await, Err(StoreError::Refused(_))));
    assert!(matches!(
        store.compare_and_swap(Generation(5), None).await,
        Err(StoreError::Refused(_))
    ));
    assert_eq!(entry.get_secret().unwrap(), newer);
    assert!(created.lock().unwrap().is_empty());
}

#[tokio::test]
async fn keyring_keys_are_created_once_and_checked() {
    let entry = Entry::new_with_credential(Box::new(MockCredential::default()));
    let key = KeyringKey::from_entry("svc", "user", entry);
    let first = key.load_or_create().unwrap();
    let second = key.load_or_create().unwrap();
    assert_eq!(first.to_hex(), second.to_hex(), "the created key is kept and reused");

    let junk = Entry::new_with_credential(Box::new(MockCredential::default()));
    junk.set_password("not a key").unwrap();
    let junk = KeyringKey::from_entry("svc", "junk", junk);
    assert!(matches!(junk.load_or_create(), Err(StoreError::Refused(_))));

    let locked = Entry::new_with_credential(Box::new(MockCredential::default()));
    mock(&locked).set_error(keyring::Error::NoStorageAccess("locked".into()));
    let locked = KeyringKey::from_entry("svc", "locked", locked);
    assert!(matches!(locked.load_or_create(), Err(StoreError::Unavailable { .. })));
}

#[tokio::test]
async fn a_held_lock_file_makes_keyring_writes_unavailable_not_lost() {
    let dir = crate::support::temp_dir();
    let lock_path = dir.path().join("keyring.lock");
    let (store, _, _) = mock_store_with_entry("lock-file");
    let store = store.lock_file_with_timeout(&lock_path, std::time::Duration::from_millis(100));
    crate::support::assert_a_held_lock_blocks_only_writes(&store, &lock_path).await;
}
