//! Token stores for auth-core: memory, atomic file (optionally encrypted) and OS keyring.
//!
//! This crate is being built; see the project issues for its scope.
