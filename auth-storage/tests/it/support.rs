//! Helpers shared by the test modules.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use auth_core::testing::conformance::token_store::sample_session;
use auth_core::{StoreError, TokenStore, TokenStoreExt};
use auth_storage::{EncryptionKey, FileTokenStore, Namespace};
use tempfile::TempDir;

/// The key the encrypted tests use (and pass to child processes).
pub(crate) const TEST_KEY_HEX: &str =
    "8f1c2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

pub(crate) fn test_key() -> EncryptionKey {
    EncryptionKey::from_hex(TEST_KEY_HEX).expect("valid test key")
}

pub(crate) fn namespace() -> Namespace {
    Namespace::app_client("us-east-1_Test123", "client0abc").expect("valid namespace")
}

/// A fresh private directory (`0700`, as `tempfile` creates them).
pub(crate) fn temp_dir() -> TempDir {
    tempfile::Builder::new().prefix("auth-storage-it-").tempdir().expect("temporary directory")
}

/// A store in `dir`, encrypted or not.
pub(crate) fn file_store(dir: &Path, encrypted: bool) -> FileTokenStore {
    let builder = FileTokenStore::builder(dir, namespace());
    if encrypted { builder.encryption_key(test_key()).build() } else { builder.build() }
}

/// Keeps temporary directories alive until the end of a test that hands out many.
#[derive(Default)]
pub(crate) struct Dirs(Mutex<Vec<TempDir>>);

impl Dirs {
    pub(crate) fn fresh(&self) -> std::path::PathBuf {
        let dir = temp_dir();
        let path = dir.path().to_owned();
        self.0.lock().unwrap().push(dir);
        path
    }
}

/// A command that re-runs this test binary as a child process executing only the test
/// `test_name` (which must be a no-op unless `role_var` is set).
pub(crate) fn child_command(test_name: &str, role_var: &str) -> Command {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut command = Command::new(exe);
    command
        .args([test_name, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(role_var, "1")
        .env_remove("RUST_LOG");
    command
}

/// Checks that while another process holds `lock_path` (the store's lock file), `store`
/// refuses writes as unavailable instead of losing them, still loads, and writes again once
/// the lock is free. `store` is given a session first, which also creates the lock file.
pub(crate) async fn assert_a_held_lock_blocks_only_writes(
    store: &dyn TokenStore,
    lock_path: &Path,
) {
    let g1 = store.save(&sample_session("held")).await.unwrap();
    let held = std::fs::OpenOptions::new().read(true).write(true).open(lock_path).unwrap();
    fs4::FileExt::lock(&held).unwrap();
    match store.compare_and_swap(g1, None).await {
        Err(StoreError::Unavailable { message, .. }) => {
            assert!(message.contains("locked"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(
        store.load().await.unwrap().session,
        Some(sample_session("held")),
        "loads need no lock"
    );
    drop(held);
    store.compare_and_swap(g1, None).await.unwrap();
}

/// Reports loudly that `test` cannot run here and why, straight to stderr (libtest hides
/// `eprintln!` output of passing tests); panics instead when `AUTH_REQUIRE_ALL_TESTS=1`.
pub(crate) fn skip_or_fail(test: &str, reason: &str) {
    use std::io::Write as _;
    assert!(
        std::env::var("AUTH_REQUIRE_ALL_TESTS").as_deref() != Ok("1"),
        "{test}: AUTH_REQUIRE_ALL_TESTS=1 but this test cannot run here: {reason}"
    );
    let _ = writeln!(std::io::stderr(), "\n!!! SKIPPED {test}: {reason}\n");
}

/// Every file in `dir`, by name.
pub(crate) fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
