//! Integration tests of auth-storage: one binary, one module per area.
//!
//! The crash and contention tests re-run this binary as their child processes (see
//! `support::child_command`); the child entry points are ordinary `#[test]`s that do
//! nothing unless the parent set their environment variable.
#![allow(
    clippy::print_stderr,
    reason = "tests say what they measured, and why they skip, on stderr"
)]

mod client;
mod conformance;
mod contention;
mod crash;
mod document_store;
mod file_store;
#[cfg(feature = "keyring")]
mod keyring_mock;
#[cfg(feature = "keyring")]
mod secret_service;
mod support;
