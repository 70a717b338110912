//! The keyring store against a real Secret Service (gnome-keyring in CI, started by
//! `.ci/setup-secret-service.sh`). Where no session bus or Secret Service is available the
//! tests say so loudly and pass, unless `AUTH_REQUIRE_ALL_TESTS=1`, where they fail.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use auth_core::testing::conformance::token_store::{self, FreshStore, sample_session};
use auth_core::{StoreError, TokenStore, TokenStoreExt};
use auth_storage::{FileTokenStore, KeyringKey, KeyringTokenStore, Namespace};
use keyring::Entry;

use crate::support::{skip_or_fail, temp_dir};

/// Ok if a Secret Service answers on the session bus; otherwise why not. Probed once per
/// process: the tests run in parallel, and concurrent probes of one item would race.
pub(crate) fn secret_service() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE.get_or_init(probe).clone()
}

fn probe() -> Result<(), String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return Err("DBUS_SESSION_BUS_ADDRESS is not set: there is no D-Bus session bus \
                    (CI starts one with .ci/setup-secret-service.sh)"
            .into());
    }
    let probe = Entry::new("auth-storage-it-probe", &format!("probe-{}", std::process::id()))
        .map_err(|error| format!("cannot build a keyring entry: {error}"))?;
    probe
        .set_password("probe")
        .map_err(|error| format!("the Secret Service did not accept a write: {error}"))?;
    let read = probe
        .get_password()
        .map_err(|error| format!("the Secret Service did not read back: {error}"))?;
    let _ = probe.delete_credential();
    if read != "probe" {
        return Err(format!("the Secret Service read back {read:?} instead of what was written"));
    }
    Ok(())
}

/// The cleanup of a test that can run; `None` (after saying why) if it must be skipped.
/// Panics when `AUTH_REQUIRE_ALL_TESTS=1` and the service is missing.
fn available(test: &str) -> Option<Cleanup> {
    match secret_service() {
        Ok(()) => Some(Cleanup::default()),
        Err(reason) => {
            skip_or_fail(test, &format!("no Secret Service available: {reason}"));
            None
        }
    }
}

/// Items the tests create, deleted at the end.
#[derive(Default)]
struct Cleanup(Mutex<Vec<(String, String)>>);

impl Cleanup {
    fn add(&self, service: &str, user: &str) {
        self.0.lock().unwrap().push((service.to_owned(), user.to_owned()));
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (service, user) in self.0.lock().unwrap().drain(..) {
            if let Ok(entry) = Entry::new(&service, &user) {
                let _ = entry.delete_credential();
            }
        }
    }
}

fn unique_service(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "auth-storage-it-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyring_store_conforms_on_a_real_secret_service() {
    let Some(cleanup) = available("keyring_store_conforms_on_a_real_secret_service") else {
        return;
    };
    token_store::run_all(&|| {
        let service = unique_service("conformance");
        let namespace = Namespace::app_client("us-east-1_Real", "client").unwrap();
        cleanup.add(&service, namespace.key());
        let store = KeyringTokenStore::new(service.clone(), namespace.clone()).unwrap();
        FreshStore {
            store: Arc::new(store),
            reopen: Some(Box::new(move || {
                Arc::new(KeyringTokenStore::new(service.clone(), namespace.clone()).unwrap())
            })),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_item_is_kept_aside_on_a_real_secret_service() {
    let Some(cleanup) = available("a_damaged_item_is_kept_aside_on_a_real_secret_service") else {
        return;
    };
    let service = unique_service("damaged");
    let namespace = Namespace::new("damaged").unwrap();
    cleanup.add(&service, namespace.key());
    let store = KeyringTokenStore::new(service.clone(), namespace.clone()).unwrap();
    let g1 = store.save(&sample_session("real")).await.unwrap();
    Entry::new(&service, namespace.key()).unwrap().set_password("{\"format\": truncated").unwrap();
    let kept_at = match store.load().await {
        Err(StoreError::Damaged { kept_at, .. }) => kept_at,
        other => panic!("expected Damaged, got {other:?}"),
    };
    let aside_user = kept_at.rsplit("user \"").next().unwrap().trim_end_matches('"').to_owned();
    cleanup.add(&service, &aside_user);
    let aside = Entry::new(&service, &aside_user).unwrap();
    assert_eq!(aside.get_password().unwrap(), "{\"format\": truncated", "kept aside as it was");
    let snapshot = store.load().await.unwrap();
    assert_eq!(snapshot.session, None);
    assert!(snapshot.generation > g1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_key_kept_in_a_real_secret_service() {
    let Some(cleanup) = available("a_file_store_key_kept_in_a_real_secret_service") else { return };
    let service = unique_service("key");
    cleanup.add(&service, "file-key");
    let dir = temp_dir();
    let open = || {
        FileTokenStore::builder(dir.path(), Namespace::new("with-keyring-key").unwrap())
            .encryption_key_in_keyring(KeyringKey::new(service.clone(), "file-key").unwrap())
            .build()
    };
    open().save(&sample_session("kk")).await.unwrap();
    let text = std::fs::read_to_string(open().path()).unwrap();
    assert!(text.contains("XChaCha20-Poly1305") && !text.contains("refresh-kk"));
    assert_eq!(
        open().load().await.unwrap().session,
        Some(sample_session("kk")),
        "the key was kept"
    );
}
