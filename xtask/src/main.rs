//! Project automation, run as `cargo xtask <task>`.
//!
//! Tasks are plain Rust so they work wherever the toolchain does; each one prints the
//! commands it runs.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports on the terminal"
)]

mod bench_server;
mod fuzz;
mod harness;
mod soak;

use std::process::ExitCode;

use xshell::{Shell, cmd};

/// The help text; a tidy test checks that it lists exactly the tasks `main` runs.
const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci      formatting, clippy (warnings are errors) and the whole test suite, as CI runs them
  test    the whole test suite (the README's test command)
  mock    the local Cognito (auth-mock-server); extra arguments are passed to it
  docs    API docs with warnings as errors, and the user guide's links (built too if mdbook is installed)
  bench-server [--seconds N] [--no-peers] [--only NAME]
          start-up time, req/s, p50/p99 and RSS of auth-mock-server (release build), side by
          side with moto, cognito-local and fakecloud when they are installed
  fuzz [--seconds N] [--seed S]
          a bounded HTTP fuzzer against the mock server; fails on any 5xx, hang, dropped
          connection or crash
  soak [--seconds N] [--concurrency C] [--sign-ins M] [--password-sign-ins] [--release]
          a long mixed workload against the mock server, printing ops/s, errors, resident
          memory and /_mock/stats; fails on any error, or when memory grew by more than
          20 MiB from 10,000 sign-ins to the end (run until M sign-ins with --sign-ins)
";

/// What a task returns: its first failure, if any.
type TaskResult = Result<(), Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("ci") => ci(),
        Some("test") => test(),
        Some("mock") => mock(std::env::args().skip(2).collect()),
        Some("docs") => docs(),
        Some("bench-server") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            bench_server::run(&workspace, &args).map_err(Into::into)
        }
        Some("fuzz") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            fuzz::run(&workspace, &args).map_err(Into::into)
        }
        Some("soak") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            soak::run(&workspace, &args).map_err(Into::into)
        }
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}

fn shell() -> xshell::Result<Shell> {
    let sh = Shell::new()?;
    // Tasks run from the workspace root whatever the caller's directory.
    sh.change_dir(env!("CARGO_MANIFEST_DIR"));
    sh.change_dir("..");
    Ok(sh)
}

fn ci() -> TaskResult {
    let sh = shell()?;
    cmd!(sh, "cargo fmt --all -- --check").run()?;
    cmd!(sh, "cargo clippy --workspace --all-targets --all-features -- -D warnings").run()?;
    test()
}

fn test() -> TaskResult {
    let sh = shell()?;
    cmd!(sh, "cargo test --workspace --all-features").run()?;
    Ok(())
}

fn mock(args: Vec<String>) -> TaskResult {
    let sh = shell()?;
    cmd!(sh, "cargo run --release -p auth-mock-server -- {args...}").run()?;
    Ok(())
}

fn docs() -> TaskResult {
    let sh = shell()?;
    let _rustdoc = sh.push_env("RUSTDOCFLAGS", "-D warnings");
    cmd!(sh, "cargo doc --workspace --all-features --no-deps").run()?;
    let missing = tidy::missing_summary_links(&sh.current_dir());
    if !missing.is_empty() {
        return Err(format!("docs/src/SUMMARY.md links to missing files: {missing:?}").into());
    }
    if cmd!(sh, "mdbook --version").quiet().ignore_stdout().run().is_ok() {
        cmd!(sh, "mdbook build docs").run()?;
    } else {
        println!("mdbook is not installed; the book's links were checked but it was not built");
    }
    Ok(())
}

mod tidy;
