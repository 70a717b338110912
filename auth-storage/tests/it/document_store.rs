//! The document store: the file store's machinery under another payload and format. The
//! machinery itself (atomicity, locking, crash safety) is tested through the token store in
//! the other modules; these tests check what a document store adds or must keep apart.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use auth_core::testing::conformance::token_store::sample_session;
use auth_core::{Generation, StoreError, TokenStore, TokenStoreExt};
use auth_storage::{ConfigError, EncryptionKey, FileDocumentStore, Namespace};

use crate::support::{file_store, listing, namespace, temp_dir, test_key};

type Scores = BTreeMap<String, u32>;

fn scores(dir: &Path) -> FileDocumentStore<Scores> {
    FileDocumentStore::new(dir, namespace(), "scores").unwrap()
}

fn encrypted_scores(dir: &Path, key: EncryptionKey) -> FileDocumentStore<Scores> {
    FileDocumentStore::builder(dir, namespace(), "scores").unwrap().encryption_key(key).build()
}

fn one(name: &str, score: u32) -> Scores {
    BTreeMap::from([(name.to_owned(), score)])
}

#[tokio::test]
async fn round_trip_compare_and_swap_and_removal() {
    let dir = temp_dir();
    let store = scores(dir.path());
    assert_eq!(store.load().await.unwrap(), (Generation::NEW, None));

    let g1 = store.compare_and_swap(Generation::NEW, Some(&one("ann", 3))).await.unwrap();
    assert_eq!(store.load().await.unwrap(), (g1, Some(one("ann", 3))));
    match store.compare_and_swap(Generation::NEW, Some(&one("bob", 4))).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, g1),
        other => panic!("a stale write must conflict, got {other:?}"),
    }
    let g2 = store.compare_and_swap_blocking(g1, None).unwrap();
    assert!(g2 > g1);
    assert_eq!(store.load_blocking().unwrap(), (g2, None), "a removal keeps its generation");

    let stem = namespace().file_stem();
    assert_eq!(store.path(), dir.path().join(format!("{stem}.scores")));
    assert_eq!(listing(dir.path()), [format!("{stem}.scores"), format!("{stem}.scores.lock")]);
    let text = fs::read_to_string(store.path()).unwrap();
    assert!(text.starts_with(r#"{"format":"auth-storage/scores","version":1,"#), "{text}");
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = temp_dir();
    let dir = root.path().join("new");
    let store = scores(&dir);
    store.compare_and_swap(Generation::NEW, Some(&one("p", 1))).await.unwrap();
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(store.path()), 0o600);
    fs::set_permissions(store.path(), fs::Permissions::from_mode(0o622)).unwrap();
    match store.load().await {
        Err(StoreError::Refused(message)) => {
            assert!(message.contains("scores document file"), "{message}");
            assert!(message.contains("writable by other users"), "{message}");
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[tokio::test]
async fn encrypted_round_trip_and_a_wrong_key_is_refused_and_changes_nothing() {
    let dir = temp_dir();
    let store = encrypted_scores(dir.path(), test_key());
    assert!(store.is_encrypted());
    let g1 = store.compare_and_swap(Generation::NEW, Some(&one("hidden-name", 7))).await.unwrap();
    let bytes = fs::read(store.path()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("ciphertext") && !text.contains("hidden-name"), "{text}");
    assert_eq!(store.load().await.unwrap(), (g1, Some(one("hidden-name", 7))));

    let wrong = encrypted_scores(dir.path(), EncryptionKey::generate());
    match wrong.load().await {
        Err(StoreError::Refused(message)) => {
            assert!(message.contains("another key"), "{message}")
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(matches!(
        wrong.compare_and_swap(g1, Some(&one("x", 1))).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(scores(dir.path()).load().await, Err(StoreError::Refused(_))), "no key");
    assert_eq!(fs::read(store.path()).unwrap(), bytes, "the file is left untouched");
    assert!(!listing(dir.path()).iter().any(|name| name.contains("damaged")));
}

#[tokio::test]
async fn a_session_file_is_not_a_document_and_a_document_is_not_a_session() {
    let dir = temp_dir();
    let sessions = file_store(dir.path(), false);
    let documents = scores(dir.path());
    sessions.save(&sample_session("s")).await.unwrap();
    documents.compare_and_swap(Generation::NEW, Some(&one("d", 1))).await.unwrap();
    // Side by side, each reads its own file.
    assert_eq!(sessions.load().await.unwrap().session, Some(sample_session("s")));
    assert_eq!(documents.load().await.unwrap().1, Some(one("d", 1)));

    let session_bytes = fs::read(sessions.path()).unwrap();
    let document_bytes = fs::read(documents.path()).unwrap();
    fs::write(sessions.path(), &document_bytes).unwrap();
    fs::write(documents.path(), &session_bytes).unwrap();
    for result in [sessions.load().await.map(|_| ()), documents.load().await.map(|_| ())] {
        match result {
            Err(StoreError::Refused(message)) => {
                assert!(message.contains("left untouched"), "{message}")
            }
            other => panic!("a record of another kind must be refused, got {other:?}"),
        }
    }
    assert_eq!(fs::read(sessions.path()).unwrap(), document_bytes, "left in place");
    assert_eq!(fs::read(documents.path()).unwrap(), session_bytes, "left in place");

    // Two document kinds are as separate as a session and a document.
    let other: FileDocumentStore<Scores> =
        FileDocumentStore::new(dir.path(), namespace(), "other").unwrap();
    fs::write(dir.path().join(format!("{}.other", namespace().file_stem())), &session_bytes)
        .unwrap();
    assert!(matches!(other.load().await, Err(StoreError::Refused(_))));
}

#[tokio::test]
async fn a_damaged_document_is_kept_aside_reported_once_then_empty() {
    let dir = temp_dir();
    let store = encrypted_scores(dir.path(), test_key());
    let g1 = store.compare_and_swap(Generation::NEW, Some(&one("a", 1))).await.unwrap();
    let mut damaged = fs::read_to_string(store.path()).unwrap();
    // Flip one character of the ciphertext: it no longer authenticates.
    let at = damaged.find("\"ciphertext\":\"").unwrap() + 20;
    let flipped = if damaged.as_bytes()[at] == b'A' { "B" } else { "A" };
    damaged.replace_range(at..=at, flipped);
    fs::write(store.path(), &damaged).unwrap();

    let kept_at = match store.load().await {
        Err(StoreError::Damaged { kept_at, message }) => {
            assert!(message.contains("failed authentication"), "{message}");
            kept_at
        }
        other => panic!("expected Damaged, got {other:?}"),
    };
    let stem = namespace().file_stem();
    assert!(
        Path::new(&kept_at)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&format!("{stem}.scores.damaged-")),
        "{kept_at}"
    );
    assert_eq!(fs::read_to_string(&kept_at).unwrap(), damaged, "kept as it was");
    let (generation, value) = store.load().await.unwrap();
    assert_eq!(value, None, "then empty");
    assert!(generation > g1, "above the damaged record's generation, so stale writers conflict");
    assert!(matches!(
        store.compare_and_swap(g1, Some(&one("stale", 1))).await,
        Err(StoreError::Conflict { .. })
    ));
    store.compare_and_swap(generation, Some(&one("b", 2))).await.unwrap();
    assert_eq!(store.load().await.unwrap().1, Some(one("b", 2)));
}

#[tokio::test]
async fn concurrent_read_modify_write_loops_from_two_handles_keep_every_change() {
    let dir = temp_dir();
    let (first, second) = (scores(dir.path()), scores(dir.path()));
    // Each handle adds its own entries from its own thread, retrying on conflict: the
    // pattern a caller uses to keep a map in one document.
    let add = |store: FileDocumentStore<Scores>, prefix: &'static str| {
        std::thread::spawn(move || {
            let mut conflicts = 0;
            for i in 0..20 {
                loop {
                    let (generation, value) = store.load_blocking().unwrap();
                    let mut value = value.unwrap_or_default();
                    value.insert(format!("{prefix}{i}"), i);
                    match store.compare_and_swap_blocking(generation, Some(&value)) {
                        Ok(_) => break,
                        Err(StoreError::Conflict { .. }) => conflicts += 1,
                        Err(error) => panic!("{error}"),
                    }
                }
            }
            conflicts
        })
    };
    let (a, b) = (add(first.clone(), "a"), add(second, "b"));
    let conflicts = a.join().unwrap() + b.join().unwrap();
    let value = first.load().await.unwrap().1.unwrap();
    assert_eq!(value.len(), 40, "every entry of both writers is kept ({conflicts} conflicts)");
}

#[test]
fn kinds_that_would_collide_with_the_token_store_are_refused() {
    let dir = temp_dir();
    for kind in ["session", "lock", "", "Devices", "a.b", "../x"] {
        let result = FileDocumentStore::<Scores>::new(dir.path(), namespace(), kind);
        assert!(
            matches!(result, Err(ConfigError::InvalidDocumentKind(_))),
            "{kind:?} must be refused"
        );
    }
    let namespace = Namespace::new("n").unwrap();
    assert!(FileDocumentStore::<Scores>::new(dir.path(), namespace, "devices").is_ok());
}
