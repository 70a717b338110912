//! Two processes increment a counter kept in one store with compare-and-swap: if the lock
//! and the generation check work across processes, no increment is lost.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use auth_core::{IdentityId, StoreError, StoredSession};

use crate::support::{child_command, file_store, temp_dir};

const ROLE: &str = "AUTH_STORAGE_CONTENTION_CHILD";
const DIR: &str = "AUTH_STORAGE_CONTENTION_DIR";
const INCREMENTS: u64 = 60;

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
    let store = file_store(Path::new(&dir), true);
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
    for _ in 0..INCREMENTS {
        loop {
            let snapshot = store.load_blocking().expect("child load");
            let next = counter_session(count_of(snapshot.session.as_ref()) + 1);
            match store.compare_and_swap_blocking(snapshot.generation, Some(&next)) {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) => conflicts += 1,
                Err(other) => panic!("child write failed: {other:?}"),
            }
        }
    }
    writeln!(out, "contention-child: conflicts {conflicts}").unwrap();
    out.flush().unwrap();
}

#[test]
fn two_processes_never_lose_an_update() {
    if std::env::var_os(ROLE).is_some() {
        return;
    }
    let dir = temp_dir();
    let mut children: Vec<_> = (0..2)
        .map(|_| {
            child_command("contention::contention_child_incrementer", ROLE)
                .env(DIR, dir.path())
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
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let mut conflicts = 0u64;
    for (child, output) in children.iter_mut().zip(outputs) {
        for line in output {
            if let Some(count) = line.unwrap().strip_prefix("contention-child: conflicts ") {
                conflicts += count.parse::<u64>().unwrap();
            }
        }
        assert!(child.wait().unwrap().success(), "a child failed");
    }
    let snapshot = file_store(dir.path(), true).load_blocking().unwrap();
    assert_eq!(
        count_of(snapshot.session.as_ref()),
        2 * INCREMENTS,
        "an increment was lost: two processes overwrote each other"
    );
    eprintln!(
        "contention test: {} increments by 2 processes, {conflicts} conflicts retried",
        2 * INCREMENTS
    );
}
