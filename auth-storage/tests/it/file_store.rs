//! The file store's own promises: permissions, damaged and foreign files, keys, versions,
//! locking and the generation rules.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use auth_core::testing::conformance::token_store::sample_session;
use auth_core::{Generation, StoreError, TokenStore, TokenStoreExt};
use auth_storage::{EncryptionKey, FileTokenStore, Namespace};

use crate::support::{
    assert_a_held_lock_blocks_only_writes, file_store, listing, namespace, temp_dir, test_key,
};

fn damaged_files(dir: &Path) -> Vec<PathBuf> {
    listing(dir)
        .into_iter()
        .filter(|name| name.contains(".damaged-"))
        .map(|name| dir.join(name))
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn load_of_a_missing_directory_is_new_and_creates_nothing() {
    let root = temp_dir();
    let dir = root.path().join("not-yet");
    let store = file_store(&dir, false);
    let snapshot = store.load().await.unwrap();
    assert_eq!((snapshot.generation, snapshot.session), (Generation::NEW, None));
    assert!(!dir.exists(), "a load must not create the directory");
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_private() {
    let root = temp_dir();
    let dir = root.path().join("a").join("store");
    let store = file_store(&dir, false);
    store.save(&sample_session("p")).await.unwrap();
    assert_eq!(mode(&dir), 0o700, "the store directory must be 0700");
    assert_eq!(mode(store.path()), 0o600, "the session file must be 0600");
    let lock = dir.join(format!("{}.lock", namespace().file_stem()));
    assert_eq!(mode(&lock), 0o600, "the lock file must be 0600");
    assert_eq!(
        listing(&dir),
        [
            format!("{}.lock", namespace().file_stem()),
            format!("{}.session", namespace().file_stem())
        ],
        "no temporary file may be left behind"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_file_others_can_write_is_refused_and_left_alone() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    let g1 = store.save(&sample_session("mine")).await.unwrap();
    let before = fs::read(store.path()).unwrap();
    for bad in [0o666, 0o620, 0o602] {
        set_mode(store.path(), bad);
        match store.load().await {
            Err(StoreError::Refused(message)) => assert!(message.contains("writable"), "{message}"),
            other => panic!("mode {bad:o}: expected Refused, got {other:?}"),
        }
        assert!(matches!(
            store.compare_and_swap(g1, Some(&sample_session("other"))).await,
            Err(StoreError::Refused(_))
        ));
        assert_eq!(fs::read(store.path()).unwrap(), before, "a refused file must not change");
        assert_eq!(mode(store.path()), bad, "a refused file's mode must not change");
    }
    set_mode(store.path(), 0o600);
    assert_eq!(store.load().await.unwrap().session, Some(sample_session("mine")));
}

#[cfg(unix)]
#[tokio::test]
async fn a_directory_others_can_write_is_refused() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    store.save(&sample_session("d")).await.unwrap();
    set_mode(dir.path(), 0o777);
    assert!(matches!(store.load().await, Err(StoreError::Refused(_))));
    assert!(matches!(store.save(&sample_session("e")).await, Err(StoreError::Refused(_))));
    set_mode(dir.path(), 0o755);
    assert_eq!(store.load().await.unwrap().session, Some(sample_session("d")));
}

#[cfg(unix)]
#[tokio::test]
async fn a_file_others_can_read_is_tightened() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    store.save(&sample_session("r")).await.unwrap();
    set_mode(store.path(), 0o644);
    assert_eq!(store.load().await.unwrap().session, Some(sample_session("r")));
    assert_eq!(mode(store.path()), 0o600);
}

#[cfg(unix)]
#[tokio::test]
async fn a_file_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    store.save(&sample_session("o")).await.unwrap();
    let me = fs::metadata(store.path()).unwrap().uid();
    if me != 0 {
        crate::support::skip_or_fail(
            "a_file_owned_by_another_user_is_refused",
            "only root can give a file to another user",
        );
        return;
    }
    std::os::unix::fs::chown(store.path(), Some(65534), Some(65534)).unwrap();
    match store.load().await {
        Err(StoreError::Refused(message)) => {
            assert!(message.contains("belongs to user"), "{message}")
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_symbolic_link_is_refused() {
    let dir = temp_dir();
    let elsewhere = temp_dir();
    let real = file_store(elsewhere.path(), false);
    real.save(&sample_session("planted")).await.unwrap();
    let store = file_store(dir.path(), false);
    std::os::unix::fs::symlink(real.path(), store.path()).unwrap();
    match store.load().await {
        Err(StoreError::Refused(message)) => {
            assert!(message.contains("symbolic link"), "{message}")
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

/// Damage of every kind is kept aside byte for byte, reported once, and the store then
/// reads as empty at a generation above every earlier one.
#[tokio::test]
async fn damaged_files_are_kept_aside_reported_once_then_empty() {
    type Damage = fn(&[u8]) -> Vec<u8>;
    let cases: [(&str, bool, Damage); 7] = [
        ("garbage", false, |_| b"\x00\x01 not json at all".to_vec()),
        ("empty file", false, |_| Vec::new()),
        ("truncated plain", false, |bytes| bytes[..bytes.len() / 2].to_vec()),
        ("truncated encrypted", true, |bytes| bytes[..bytes.len() - 10].to_vec()),
        ("foreign JSON", false, |_| br#"{"hello":"world"}"#.to_vec()),
        ("flipped ciphertext byte", true, |bytes| {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            let at = text.find("\"ciphertext\":\"").unwrap() + 20;
            let mut bytes = bytes.to_vec();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            bytes
        }),
        ("version zero", false, |bytes| {
            String::from_utf8(bytes.to_vec())
                .unwrap()
                .replace("\"version\":1", "\"version\":0")
                .into_bytes()
        }),
    ];
    for (name, encrypted, damage) in cases {
        let dir = temp_dir();
        let store = file_store(dir.path(), encrypted);
        let other_handle = file_store(dir.path(), encrypted);
        let g1 = store.save(&sample_session("good")).await.unwrap();
        let damaged = damage(&fs::read(store.path()).unwrap());
        fs::write(store.path(), &damaged).unwrap();

        let kept_at = match store.load().await {
            Err(StoreError::Damaged { kept_at, message }) => {
                assert!(
                    !message.contains("refresh-good"),
                    "{name}: the message leaks a token: {message}"
                );
                PathBuf::from(kept_at)
            }
            other => panic!("{name}: expected Damaged, got {other:?}"),
        };
        assert_eq!(damaged_files(dir.path()), std::slice::from_ref(&kept_at), "{name}");
        assert_eq!(
            fs::read(&kept_at).unwrap(),
            damaged,
            "{name}: the damaged bytes must be kept as they were"
        );

        let after =
            other_handle.load().await.unwrap_or_else(|e| panic!("{name}: second load: {e:?}"));
        assert_eq!(after.session, None, "{name}: after the report the store reads as empty");
        assert!(after.generation > g1, "{name}: the generation must stay above the lost record's");
        assert!(
            matches!(
                store.compare_and_swap(g1, Some(&sample_session("stale"))).await,
                Err(StoreError::Conflict { .. })
            ),
            "{name}: a writer from before the damage must conflict"
        );
        store.compare_and_swap(after.generation, Some(&sample_session("new"))).await.unwrap();
        assert_eq!(store.load().await.unwrap().session, Some(sample_session("new")), "{name}");
        assert_eq!(damaged_files(dir.path()).len(), 1, "{name}: reported once, kept once");
    }
}

#[tokio::test]
async fn a_write_over_a_damaged_file_reports_the_damage_and_writes_nothing() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    store.save(&sample_session("x")).await.unwrap();
    fs::write(store.path(), b"{").unwrap();
    match store.compare_and_swap(Generation::NEW, Some(&sample_session("y"))).await {
        Err(StoreError::Damaged { .. }) => {}
        other => panic!("expected Damaged, got {other:?}"),
    }
    assert_eq!(store.load().await.unwrap().session, None);
    assert_eq!(damaged_files(dir.path()).len(), 1);
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_the_file_left_in_place() {
    let dir = temp_dir();
    let store = file_store(dir.path(), true);
    let g1 = store.save(&sample_session("keyed")).await.unwrap();
    let before = fs::read(store.path()).unwrap();
    let wrong = FileTokenStore::builder(dir.path(), namespace())
        .encryption_key(EncryptionKey::generate())
        .build();
    match wrong.load().await {
        Err(StoreError::Refused(message)) => assert!(message.contains("another key"), "{message}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(matches!(
        wrong.compare_and_swap(g1, Some(&sample_session("overwrite"))).await,
        Err(StoreError::Refused(_))
    ));
    let keyless = file_store(dir.path(), false);
    match keyless.load().await {
        Err(StoreError::Refused(message)) => assert!(message.contains("no key"), "{message}"),
        other => panic!("expected Refused without a key, got {other:?}"),
    }
    assert_eq!(fs::read(store.path()).unwrap(), before, "the file must be untouched");
    assert!(damaged_files(dir.path()).is_empty(), "a wrong key is not damage");
    assert_eq!(store.load().await.unwrap().session, Some(sample_session("keyed")));
}

#[tokio::test]
async fn a_newer_format_version_is_refused_untouched() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    store.save(&sample_session("v")).await.unwrap();
    let newer = String::from_utf8(fs::read(store.path()).unwrap())
        .unwrap()
        .replace("\"version\":1", "\"version\":2")
        .replace("\"session\":", "\"session_v2\":");
    fs::write(store.path(), &newer).unwrap();
    for result in [store.load().await.map(|_| ()), store.clear().await.map(|_| ())] {
        match result {
            Err(StoreError::Refused(message)) => assert!(message.contains("newer"), "{message}"),
            other => panic!("expected Refused, got {other:?}"),
        }
    }
    assert_eq!(fs::read_to_string(store.path()).unwrap(), newer);
    assert!(damaged_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_file_copied_from_another_namespace_is_refused() {
    let dir = temp_dir();
    let other = FileTokenStore::new(dir.path(), Namespace::new("someone-else").unwrap());
    other.save(&sample_session("theirs")).await.unwrap();
    let store = file_store(dir.path(), false);
    fs::copy(other.path(), store.path()).unwrap();
    match store.load().await {
        Err(StoreError::Refused(message)) => assert!(message.contains("someone-else"), "{message}"),
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[tokio::test]
async fn turning_encryption_on_keeps_the_session_and_encrypts_it() {
    let dir = temp_dir();
    let plain = file_store(dir.path(), false);
    plain.save(&sample_session("migrate")).await.unwrap();
    assert!(fs::read_to_string(plain.path()).unwrap().contains("refresh-migrate"));

    let encrypted = file_store(dir.path(), true);
    // Not taken silently: a plain-text file could have been planted.
    match encrypted.load().await {
        Err(StoreError::Refused(message)) => assert!(message.contains("plain text"), "{message}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(
        encrypted.compare_and_swap(Generation::NEW, None).await.is_err(),
        "no write over it either"
    );
    assert!(encrypted.encrypt_plaintext().await.unwrap(), "the explicit migration step");
    assert!(!encrypted.encrypt_plaintext().await.unwrap(), "nothing left to do");
    let snapshot = encrypted.load().await.unwrap();
    assert_eq!(snapshot.session, Some(sample_session("migrate")), "the session is kept");
    let text = fs::read_to_string(encrypted.path()).unwrap();
    assert!(!text.contains("refresh-migrate") && text.contains("XChaCha20-Poly1305"), "{text}");
    assert_eq!(encrypted.load().await.unwrap().session, Some(sample_session("migrate")));
}

#[tokio::test]
async fn nothing_secret_reaches_the_encrypted_file_or_debug_output() {
    let dir = temp_dir();
    let store = file_store(dir.path(), true);
    store.save(&sample_session("hidden")).await.unwrap();
    let text = fs::read_to_string(store.path()).unwrap();
    for secret in ["hidden", "refresh-", "secret-", "session-", "device-"] {
        assert!(!text.contains(secret), "{secret} is readable in {text}");
    }
    let debug = format!("{store:?} {:?}", test_key());
    assert!(!debug.contains(&crate::support::TEST_KEY_HEX[..16]), "{debug}");
}

#[tokio::test]
async fn a_held_lock_makes_writes_unavailable_not_lost() {
    let dir = temp_dir();
    let store = FileTokenStore::builder(dir.path(), namespace())
        .lock_timeout(Duration::from_millis(200))
        .build();
    let lock = dir.path().join(format!("{}.lock", namespace().file_stem()));
    assert_a_held_lock_blocks_only_writes(&store, &lock).await;
}

#[tokio::test]
async fn a_disk_error_is_unavailable_and_changes_nothing() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    let g1 = store.save(&sample_session("safe")).await.unwrap();
    // A directory where the lock file belongs: opening it fails like a broken disk would.
    let lock = dir.path().join(format!("{}.lock", namespace().file_stem()));
    fs::remove_file(&lock).unwrap();
    fs::create_dir(&lock).unwrap();
    match store.compare_and_swap(g1, Some(&sample_session("lost?"))).await {
        Err(StoreError::Unavailable { .. }) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let snapshot = store.load().await.unwrap();
    assert_eq!((snapshot.generation, snapshot.session), (g1, Some(sample_session("safe"))));
}

#[tokio::test]
async fn a_deleted_file_restarts_above_old_generations() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    let g1 = store.save(&sample_session("a")).await.unwrap();
    fs::remove_file(store.path()).unwrap();
    assert_eq!(store.load().await.unwrap().generation, Generation::NEW);
    let g2 = store.compare_and_swap(Generation::NEW, Some(&sample_session("b"))).await.unwrap();
    assert!(g2 > g1, "{g2} must be above {g1}");
    assert!(matches!(store.compare_and_swap(g1, None).await, Err(StoreError::Conflict { .. })));
}

#[tokio::test]
async fn a_leftover_temporary_file_is_harmless() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    let temp = dir.path().join(format!(".{}.session.tmp", namespace().file_stem()));
    fs::write(&temp, b"half a write from a crashed process").unwrap();
    assert_eq!(store.load().await.unwrap().session, None);
    store.save(&sample_session("t")).await.unwrap();
    assert!(!temp.exists(), "the leftover must be cleaned up by the next write");
    assert_eq!(store.load().await.unwrap().session, Some(sample_session("t")));
}

#[tokio::test]
async fn namespaces_share_a_directory_without_sharing_sessions() {
    let dir = temp_dir();
    let a = FileTokenStore::new(dir.path(), Namespace::app_client("pool", "a").unwrap());
    let b = FileTokenStore::new(dir.path(), Namespace::app_client("pool", "b").unwrap());
    a.save(&sample_session("a")).await.unwrap();
    assert_eq!(b.load().await.unwrap().session, None);
    b.save(&sample_session("b")).await.unwrap();
    assert_eq!(a.load().await.unwrap().session, Some(sample_session("a")));
}

#[cfg(unix)]
#[tokio::test]
async fn a_symbolic_link_at_the_lock_file_is_refused() {
    let dir = temp_dir();
    let elsewhere = temp_dir();
    let target = elsewhere.path().join("victim");
    let store = file_store(dir.path(), false);
    std::os::unix::fs::symlink(&target, store.path().with_extension("lock")).unwrap();
    match store.save(&sample_session("a")).await {
        Err(StoreError::Refused(message)) => {
            assert!(message.contains("symbolic link"), "{message}")
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(!target.exists(), "nothing was created through the link");
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_planted_as_the_session_file_is_refused_without_blocking() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    let made = std::process::Command::new("mkfifo").arg(store.path()).status().unwrap();
    assert!(made.success());
    // A generous bound: without O_NONBLOCK the open waits for a writer forever.
    let loaded = tokio::time::timeout(Duration::from_secs(30), store.load()).await;
    match loaded.expect("the load returns instead of blocking on the FIFO") {
        Err(StoreError::Refused(message)) => {
            assert!(message.contains("not a regular file"), "{message}")
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_hard_linked_session_file_is_refused_and_the_other_name_left_alone() {
    let dir = temp_dir();
    let store = file_store(dir.path(), false);
    store.save(&sample_session("a")).await.unwrap();
    let other = dir.path().join("second-name");
    fs::hard_link(store.path(), &other).unwrap();
    set_mode(&other, 0o644);
    match store.load().await {
        Err(StoreError::Refused(message)) => assert!(message.contains("hard links"), "{message}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    assert_eq!(mode(&other), 0o644, "the other name's permissions were not changed");
}
