//! Two processes increment a counter kept in one store with compare-and-swap: if the lock
//! and the generation check work across processes, no increment is lost.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use auth_core::{Generation, IdentityId, Snapshot, StoreError, StoredSession};

use crate::support::{child_command, file_store, temp_dir};

const ROLE: &str = "AUTH_STORAGE_CONTENTION_CHILD";
const DIR: &str = "AUTH_STORAGE_CONTENTION_DIR";
/// Empty for the file store; the keyring service name for the keyring store.
const KEYRING_SERVICE: &str = "AUTH_STORAGE_CONTENTION_KEYRING_SERVICE";
const INCREMENTS: &str = "AUTH_STORAGE_CONTENTION_INCREMENTS";

type Load = Box<dyn Fn() -> Result<Snapshot, StoreError>>;
type Swap = Box<dyn Fn(Generation, &StoredSession) -> Result<Generation, StoreError>>;

/// The store a child works on: the encrypted file store in `dir`, or (feature `keyring`)
/// the keyring item of `service` with the lock file `dir/keyring.lock`.
fn open_store(dir: &Path, keyring_service: &str) -> (Load, Swap) {
    if keyring_service.is_empty() {
        let store = std::rc::Rc::new(file_store(dir, true));
        let other = std::rc::Rc::clone(&store);
        return (
            Box::new(move || store.load_blocking()),
            Box::new(move |generation, session| {
                other.compare_and_swap_blocking(generation, Some(session))
            }),
        );
    }
    #[cfg(feature = "keyring")]
    {
        let store = std::rc::Rc::new(
            auth_storage::KeyringTokenStore::new(keyring_service, crate::support::namespace())
                .unwrap()
                .lock_file(dir.join("keyring.lock")),
        );
        let other = std::rc::Rc::clone(&store);
        (
            Box::new(move || store.load_blocking()),
            Box::new(move |generation, session| {
                other.compare_and_swap_blocking(generation, Some(session))
            }),
        )
    }
    #[cfg(not(feature = "keyring"))]
    unreachable!("keyring contention needs the keyring feature")
}

fn counter_session(count: u64) -> StoredSession {
    let mut session = StoredSession::default();
    session.identity_id = Some(IdentityId::new(format!("count:{count}")));
    session
}

fn count_of(session: Option<&StoredSession>) -> u64 {
    session.and_then(|s| s.identity_id.as_ref()).map_or(0, |id| {
        id.as_str().strip_prefix("count:").expect("a counter session").parse().unwrap()
    })
}

/// The child's side: waits for the parent's go, then adds `INCREMENTS` to the counter,
/// retrying on conflicts, and reports how many conflicts it met.
#[test]
fn contention_child_incrementer() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let dir = std::env::var(DIR).unwrap();
    let increments: u64 = std::env::var(INCREMENTS).unwrap().parse().unwrap();
    let (load, swap) = open_store(Path::new(&dir), &std::env::var(KEYRING_SERVICE).unwrap());
    let mut out = std::io::stdout().lock();
    writeln!(out, "contention-child: ready").unwrap();
    out.flush().unwrap();
    let go = Path::new(&dir).join("go");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !go.exists() {
        assert!(Instant::now() < deadline, "the parent never said go");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut conflicts = 0;
    for _ in 0..increments {
        loop {
            let snapshot = load().expect("child load");
            let next = counter_session(count_of(snapshot.session.as_ref()) + 1);
            match swap(snapshot.generation, &next) {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) => conflicts += 1,
                Err(other) => panic!("child write failed: {other:?}"),
            }
        }
    }
    writeln!(out, "contention-child: conflicts {conflicts}").unwrap();
    out.flush().unwrap();
}

/// Runs two child processes adding `increments` each to a counter in the store, and
/// returns the final count and how many conflicts they retried.
fn race_two_processes(dir: &Path, keyring_service: &str, increments: u64) -> (u64, u64) {
    let mut children: Vec<_> = (0..2)
        .map(|_| {
            child_command("contention::contention_child_incrementer", ROLE)
                .env(DIR, dir)
                .env(KEYRING_SERVICE, keyring_service)
                .env(INCREMENTS, increments.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn a child")
        })
        .collect();
    let mut outputs: Vec<_> = children
        .iter_mut()
        .map(|child| BufReader::new(child.stdout.take().unwrap()).lines())
        .collect();
    for output in &mut outputs {
        let ready =
            output.find_map(|line| line.ok().filter(|l| l.starts_with("contention-child: ready")));
        assert!(ready.is_some(), "a child never became ready");
    }
    std::fs::write(dir.join("go"), b"").unwrap();
    let mut conflicts = 0u64;
    for (child, output) in children.iter_mut().zip(outputs) {
        for line in output {
            if let Some(count) = line.unwrap().strip_prefix("contention-child: conflicts ") {
                conflicts += count.parse::<u64>().unwrap();
            }
        }
        assert!(child.wait().unwrap().success(), "a child failed");
    }
    let (load, _) = open_store(dir, keyring_service);
    (count_of(load().unwrap().session.as_ref()), conflicts)
}

#[test]
fn two_processes_never_lose_an_update() {
    if std::env::var_os(ROLE).is_some() {
        return;
    }
    let dir = temp_dir();
    let (count, conflicts) = race_two_processes(dir.path(), "", 60);
    assert_eq!(count, 120, "an increment was lost: two processes overwrote each other");
    eprintln!(
        "contention test (file store): 120 increments by 2 processes, {conflicts} conflicts retried"
    );
}

/// The same race on one keyring item of a real Secret Service, with a shared lock file.
#[cfg(feature = "keyring")]
#[test]
fn two_processes_share_a_keyring_item_with_a_lock_file() {
    if std::env::var_os(ROLE).is_some() {
        return;
    }
    if let Err(reason) = crate::secret_service::secret_service() {
        crate::support::skip_or_fail(
            "two_processes_share_a_keyring_item_with_a_lock_file",
            &format!("no Secret Service available: {reason}"),
        );
        return;
    }
    let dir = temp_dir();
    let service = format!("auth-storage-it-contention-{}", std::process::id());
    let (count, conflicts) = race_two_processes(dir.path(), &service, 15);
    if let Ok(entry) = keyring::Entry::new(&service, crate::support::namespace().key()) {
        let _ = entry.delete_credential();
    }
    assert_eq!(count, 30, "an increment was lost: two processes overwrote each other");
    eprintln!(
        "contention test (keyring): 30 increments by 2 processes, {conflicts} conflicts retried"
    );
}
