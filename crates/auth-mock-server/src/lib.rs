//! A local Amazon Cognito (User Pools, Identity Pools, hosted UI) speaking the real wire protocol, in-process for tests or as a binary.
//!
//! This crate is being built; see the project issues for its scope.
