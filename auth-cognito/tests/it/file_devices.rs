//! `FileDeviceStore` (feature `file-device-store`): remembered devices in a file that
//! survives restarts, merged per username across processes. The end-to-end restart over the
//! mock server is `mock::a_remembered_device_survives_a_restart_with_the_file_store`.

use std::path::Path;
use std::sync::Arc;

use auth_cognito::{DeviceStore, FileDeviceStore, RememberedDevice};
use auth_core::testing::conformance::token_store::sample_session;
use auth_core::{SecretString, TokenStoreExt};
use auth_storage::{EncryptionKey, FileTokenStore, Namespace};

const SECRET: &str = "device-secret-xyzzy";

fn namespace() -> Namespace {
    Namespace::app_client("us-east-1_Dev1ce", "client0devices").unwrap()
}

fn device(n: u32) -> RememberedDevice {
    RememberedDevice::new(
        format!("us-east-1_0000000{n}-aaaa-4bbb-8ccc-dddddddddddd"),
        "-grp",
        SecretString::new(format!("{SECRET}-{n}")),
    )
}

fn key() -> EncryptionKey {
    EncryptionKey::from_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
        .unwrap()
}

fn encrypted(dir: &Path, key: EncryptionKey) -> FileDeviceStore {
    FileDeviceStore::builder(dir, namespace()).encryption_key(key).build()
}

fn damaged_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".damaged-"))
        .collect()
}

#[tokio::test]
async fn round_trip_survives_a_new_instance_and_never_prints_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileDeviceStore::new(dir.path(), namespace());
    assert!(!store.is_encrypted());
    assert_eq!(store.get("alice").await.unwrap(), None, "nothing before the first write");
    store.put("alice", &device(1)).await.unwrap();
    store.put("bob", &device(2)).await.unwrap();
    store.put("alice", &device(3)).await.unwrap();

    let restarted = FileDeviceStore::new(dir.path(), namespace());
    assert_eq!(restarted.get("alice").await.unwrap(), Some(device(3)), "replaced");
    assert_eq!(restarted.get("bob").await.unwrap(), Some(device(2)));
    assert_eq!(restarted.get("carol").await.unwrap(), None);
    restarted.remove("alice").await.unwrap();
    restarted.remove("nobody").await.unwrap();
    assert_eq!(store.get("alice").await.unwrap(), None);
    assert_eq!(store.get("bob").await.unwrap(), Some(device(2)), "other users are kept");

    let stem = namespace().file_stem();
    assert_eq!(store.path(), dir.path().join(format!("{stem}.devices")));
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert!(text.starts_with(r#"{"format":"auth-storage/devices","#), "{text}");
    let (_, document) = store.document_store().load().await.unwrap();
    let printed = format!("{store:?} {document:?}");
    assert!(printed.contains("us-east-1_00000002"), "{printed}");
    assert!(!printed.contains(SECRET), "no device secret in Debug output: {printed}");
}

#[tokio::test]
async fn encrypted_round_trip_and_a_wrong_key_is_an_error_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = encrypted(dir.path(), key());
    assert!(store.is_encrypted());
    store.put("alice", &device(1)).await.unwrap();
    let bytes = std::fs::read(store.path()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(SECRET) && !text.contains("alice"), "encrypted: {text}");
    assert_eq!(encrypted(dir.path(), key()).get("alice").await.unwrap(), Some(device(1)));

    let wrong = encrypted(dir.path(), EncryptionKey::generate());
    let error = wrong.get("alice").await.unwrap_err();
    assert!(error.contains("another key"), "{error}");
    let error = wrong.put("bob", &device(2)).await.unwrap_err();
    assert!(error.contains("another key"), "{error}");
    assert!(FileDeviceStore::new(dir.path(), namespace()).get("alice").await.is_err(), "no key");
    assert_eq!(std::fs::read(store.path()).unwrap(), bytes, "the file is left untouched");
    assert!(damaged_files(dir.path()).is_empty(), "a wrong key is not damage");
}

#[tokio::test]
async fn two_instances_putting_for_different_users_keep_both() {
    let dir = tempfile::tempdir().unwrap();
    let first = Arc::new(encrypted(dir.path(), key()));
    let second = Arc::new(encrypted(dir.path(), key()));
    // Interleaved read-modify-write cycles from two handles (as from two processes: each
    // takes the file lock anew): without the compare-and-swap retry, one would overwrite
    // the other's entries.
    let mut tasks = Vec::new();
    for n in 0..10 {
        let store = if n % 2 == 0 { first.clone() } else { second.clone() };
        tasks.push(tokio::spawn(async move { store.put(&format!("user{n}"), &device(n)).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for n in 0..10 {
        assert_eq!(first.get(&format!("user{n}")).await.unwrap(), Some(device(n)), "user{n}");
    }
}

#[tokio::test]
async fn a_session_file_is_not_accepted_as_a_device_file() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = FileTokenStore::builder(dir.path(), namespace()).encryption_key(key()).build();
    sessions.save(&sample_session("s")).await.unwrap();
    let devices = encrypted(dir.path(), key());
    // Side by side in one directory under one key, the files are separate.
    devices.put("alice", &device(1)).await.unwrap();
    assert_eq!(devices.get("alice").await.unwrap(), Some(device(1)));

    let session_bytes = std::fs::read(sessions.path()).unwrap();
    std::fs::write(devices.path(), &session_bytes).unwrap();
    let error = devices.get("alice").await.unwrap_err();
    assert!(error.contains("auth-storage/session"), "{error}");
    let error = devices.put("alice", &device(2)).await.unwrap_err();
    assert!(error.contains("left untouched"), "{error}");
    assert_eq!(std::fs::read(devices.path()).unwrap(), session_bytes, "left in place");
    assert!(damaged_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_damaged_device_file_is_kept_aside_and_the_store_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileDeviceStore::new(dir.path(), namespace());
    store.put("alice", &device(1)).await.unwrap();
    std::fs::write(store.path(), b"{\"format\":\"auth-storage/devices\",\"vers").unwrap();

    let error = store.get("alice").await.unwrap_err();
    assert!(error.contains("kept aside at"), "{error}");
    let kept = damaged_files(dir.path());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].starts_with(&format!("{}.devices.damaged-", namespace().file_stem())));
    assert_eq!(store.get("alice").await.unwrap(), None, "then empty");
    store.put("bob", &device(2)).await.unwrap();
    assert_eq!(store.get("bob").await.unwrap(), Some(device(2)));

    // A put over a freshly damaged file keeps it aside too, then writes.
    std::fs::write(store.path(), b"not json").unwrap();
    store.put("carol", &device(3)).await.unwrap();
    assert_eq!(store.get("carol").await.unwrap(), Some(device(3)));
    assert_eq!(damaged_files(dir.path()).len(), 2);
}

/// With the `keyring` feature the devices file can take its key from the OS keyring: the
/// file is encrypted with exactly the key the keyring item holds, and a keyring that
/// refuses access fails the call without touching the file.
#[cfg(feature = "keyring")]
#[tokio::test]
async fn the_key_can_live_in_the_keyring() {
    use auth_storage::KeyringKey;
    use keyring::Entry;
    use keyring::mock::MockCredential;

    let dir = tempfile::tempdir().unwrap();
    let entry = Entry::new_with_credential(Box::new(MockCredential::default()));
    entry.set_password(&key().to_hex()).unwrap();
    let store = FileDeviceStore::builder(dir.path(), namespace())
        .encryption_key_in_keyring(KeyringKey::from_entry("test", "devices-key", entry))
        .build();
    assert!(store.is_encrypted());
    store.put("alice", &device(1)).await.unwrap();
    let on_disk = std::fs::read_to_string(store.path()).unwrap();
    assert!(!on_disk.contains(SECRET), "the device secret is encrypted at rest");
    assert_eq!(encrypted(dir.path(), key()).get("alice").await.unwrap(), Some(device(1)));

    let locked = Entry::new_with_credential(Box::new(MockCredential::default()));
    let mock: &MockCredential = locked.get_credential().downcast_ref().unwrap();
    mock.set_error(keyring::Error::NoStorageAccess("the collection is locked".into()));
    let store = FileDeviceStore::builder(dir.path(), namespace())
        .encryption_key_in_keyring(KeyringKey::from_entry("test", "devices-key", locked))
        .build();
    let error = store.put("bob", &device(2)).await.unwrap_err();
    assert!(error.contains("keyring"), "{error}");
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), on_disk, "nothing written");
}
