//! Cognito's SRP-6a variant and SECRET_HASH, shared by the Cognito client and the mock server.
//!
//! This crate is being built; see the project issues for its scope.
