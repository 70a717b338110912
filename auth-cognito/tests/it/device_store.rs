//! The `DeviceStore` contract, run by every store: a device put is the one got, per user;
//! a second put replaces the first; removing forgets it (and removing nothing is fine).
//! The trait lives in auth-cognito, so its suite lives here rather than in auth-core's
//! `testing` feature.

use auth_cognito::{DeviceStore, MemoryDeviceStore, RememberedDevice};

fn device(n: u32) -> RememberedDevice {
    RememberedDevice::new(
        format!("us-east-1_device-{n}"),
        format!("-group{n}"),
        format!("secret-{n}").into(),
    )
}

/// Runs every rule against an empty `store`.
pub(crate) async fn run_all(store: &dyn DeviceStore) {
    assert_eq!(store.get("alice").await.unwrap(), None, "an empty store has no device");
    store.remove("alice").await.expect("removing what is not there is fine");
    store.put("alice", &device(1)).await.unwrap();
    assert_eq!(store.get("alice").await.unwrap(), Some(device(1)), "a device put is got");
    assert_eq!(store.get("bob").await.unwrap(), None, "devices are per user");
    store.put("bob", &device(2)).await.unwrap();
    store.put("alice", &device(3)).await.unwrap();
    assert_eq!(store.get("alice").await.unwrap(), Some(device(3)), "a second put replaces");
    assert_eq!(store.get("bob").await.unwrap(), Some(device(2)), "another user's is kept");
    store.remove("alice").await.unwrap();
    assert_eq!(store.get("alice").await.unwrap(), None, "removed");
    assert_eq!(store.get("bob").await.unwrap(), Some(device(2)), "only that user's");
}

#[tokio::test]
async fn the_memory_device_store_conforms() {
    run_all(&MemoryDeviceStore::new()).await;
}

#[cfg(feature = "file-device-store")]
#[tokio::test]
async fn the_file_device_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let namespace =
        auth_storage::Namespace::app_client("us-east-1_Conform", "client0conform").unwrap();
    run_all(&auth_cognito::FileDeviceStore::new(dir.path(), namespace)).await;
}
