//! Integration tests of auth-mock-server: the official AWS SDK for Rust against the server,
//! SRP sign-in with an independent client computation, the test-control API, response-shape
//! snapshots, malformed-input fuzzing and the binary's flags.

mod adoption;
mod binary;
mod control;
mod fuzz;
mod identity;
mod identity_snapshots;
mod limits;
mod memory;
mod raw;
mod robustness;
mod s3;
mod sdk;
mod snapshots;
mod srp;
mod support;
mod triggers;
mod user_auth;
