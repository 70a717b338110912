//! Crash safety: a child process saves sessions in a loop and is killed with SIGKILL at
//! random moments; every load afterwards must give the previous or the new session, never
//! garbage, never an error.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use auth_core::testing::conformance::token_store::sample_session;
use auth_core::{Generation, SecretString, StoredSession};
use rand::Rng as _;

use crate::support::{child_command, file_store, temp_dir};

const ROLE: &str = "AUTH_STORAGE_CRASH_CHILD";
const DIR: &str = "AUTH_STORAGE_CRASH_DIR";
const ENCRYPTED: &str = "AUTH_STORAGE_CRASH_ENCRYPTED";
const START: &str = "AUTH_STORAGE_CRASH_START";

/// The session written at step `i`: big enough (8 to 24 KB) that the write takes a while,
/// with a size that changes from step to step so a torn write cannot look whole.
fn session(i: u64) -> StoredSession {
    let mut session = sample_session(&i.to_string());
    let pad_len = 8192 + usize::try_from(i % 5).unwrap() * 4096;
    if let Some(user_pool) = session.user_pool.as_mut() {
        user_pool.extras.insert("pad".into(), SecretString::new("p".repeat(pad_len)));
    }
    session
}

/// The step a stored session was written at (sample sessions carry it in the identity id).
fn step_of(session: &StoredSession) -> u64 {
    let id = session.identity_id.as_ref().expect("sample sessions have an identity id");
    id.as_str().rsplit(':').next().unwrap().parse().expect("a step number")
}

/// The child's side: saves `session(start)`, `session(start + 1)`, ... until killed,
/// announcing each step before and after it.
#[test]
fn crash_child_writer() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let dir = std::env::var(DIR).unwrap();
    let encrypted = std::env::var(ENCRYPTED).unwrap() == "1";
    let start: u64 = std::env::var(START).unwrap().parse().unwrap();
    let store = file_store(Path::new(&dir), encrypted);
    let mut out = std::io::stdout().lock();
    let mut generation = store.load_blocking().expect("child load").generation;
    writeln!(out, "crash-child: ready").unwrap();
    out.flush().unwrap();
    // Bounded, in case the parent dies without killing us.
    for step in start..start + 100_000 {
        writeln!(out, "crash-child: start {step}").unwrap();
        out.flush().unwrap();
        generation =
            store.compare_and_swap_blocking(generation, Some(&session(step))).expect("child write");
        writeln!(out, "crash-child: done {step}").unwrap();
        out.flush().unwrap();
    }
}

#[derive(Default)]
struct Progress {
    ready: bool,
    last_start: Option<u64>,
    last_done: Option<u64>,
}

fn kills() -> usize {
    std::env::var("AUTH_STORAGE_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(240)
}

#[test]
fn sigkill_during_saves_never_leaves_garbage() {
    if std::env::var_os(ROLE).is_some() {
        return;
    }
    let started = Instant::now();
    let dirs = [temp_dir(), temp_dir()];
    // Per store (plain, encrypted): the step of the stored session and its generation.
    let mut stored: [(Option<u64>, Generation); 2] = [(None, Generation::NEW); 2];
    let mut rng = rand::rng();
    let (mut mid_write, mut landed, mut steps_written) = (0usize, 0usize, 0u64);
    let kills = kills();
    for round in 0..kills {
        let which = round % 2;
        let encrypted = which == 1;
        let dir = dirs[which].path();
        let (previous_step, previous_generation) = stored[which];
        let start = previous_step.map_or(0, |step| step + 1);
        let mut child = child_command("crash::crash_child_writer", ROLE)
            .env(DIR, dir)
            .env(ENCRYPTED, if encrypted { "1" } else { "0" })
            .env(START, start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child writer");
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(event) = line.strip_prefix("crash-child: ") {
                    if lines_tx.send(event.to_owned()).is_err() {
                        break;
                    }
                }
            }
        });
        let mut progress = Progress::default();
        let record = |progress: &mut Progress, event: String| {
            if event == "ready" {
                progress.ready = true;
            } else if let Some(step) = event.strip_prefix("start ") {
                progress.last_start = Some(step.parse().unwrap());
            } else if let Some(step) = event.strip_prefix("done ") {
                progress.last_done = Some(step.parse().unwrap());
            }
        };
        // Wait until the child is writing, then kill it at a random moment.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !progress.ready {
            let event = lines_rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("round {round}: the child never became ready"));
            record(&mut progress, event);
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..12_000)));
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        reader.join().unwrap();
        for event in lines_rx.try_iter() {
            record(&mut progress, event);
        }

        let snapshot = file_store(dir, encrypted)
            .load_blocking()
            .unwrap_or_else(|error| panic!("round {round}: load after SIGKILL failed: {error:?}"));
        let session = snapshot.session.as_ref().map(step_of);
        let committed = progress.last_done.or(previous_step);
        let in_flight = progress.last_start.filter(|&step| Some(step) != progress.last_done);
        assert!(
            session == committed || (session.is_some() && session == in_flight),
            "round {round}: loaded step {session:?}, expected the committed step {committed:?} or \
             the one being written {in_flight:?}"
        );
        if let Some(step) = session {
            assert_eq!(
                snapshot.session,
                Some(self::session(step)),
                "round {round}: step {step} is not intact"
            );
        }
        assert!(
            snapshot.generation >= previous_generation,
            "round {round}: the generation went back"
        );
        if in_flight.is_some() {
            mid_write += 1;
            landed += usize::from(session == in_flight);
        }
        steps_written += session.map_or(0, |step| step + 1 - start);
        stored[which] = (session.or(previous_step), snapshot.generation);
    }
    for dir in &dirs {
        let damaged = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|entry| {
                entry.as_ref().unwrap().file_name().to_string_lossy().contains("damaged")
            })
            .count();
        assert_eq!(damaged, 0, "no load may ever have found a damaged file");
    }
    eprintln!(
        "crash test: {kills} SIGKILLs, {mid_write} while a save was in flight ({landed} of those \
         saves had landed, the rest left the previous session), {steps_written} sessions \
         committed, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(mid_write > 0, "no kill landed during a save; the test proved nothing");
}
