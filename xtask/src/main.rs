//! Project automation, run as `cargo xtask <task>`.
//!
//! Tasks are plain Rust so they work wherever the toolchain does; each one prints the
//! commands it runs.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports on the terminal"
)]

use std::process::ExitCode;

use xshell::{Shell, cmd};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci      formatting, clippy (warnings are errors) and the whole test suite, as CI runs them
  test    the whole test suite (the README's test command)
";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("ci") => ci(),
        Some("test") => test(),
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

fn ci() -> xshell::Result<()> {
    let sh = shell()?;
    cmd!(sh, "cargo fmt --all -- --check").run()?;
    cmd!(sh, "cargo clippy --workspace --all-targets --all-features -- -D warnings").run()?;
    test()
}

fn test() -> xshell::Result<()> {
    let sh = shell()?;
    cmd!(sh, "cargo test --workspace --all-features").run()
}
