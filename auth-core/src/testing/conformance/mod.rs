//! Conformance suites: the contracts of `auth-core`'s traits as public async functions.
//!
//! Every implementation runs the suite for its trait from its own tests (the object_store
//! pattern), so memory, file and keyring stores, and the fake and Cognito identity
//! providers, are all held to the same rules. Each function panics with a message naming
//! the broken rule.

pub mod account_provider;
pub mod connectivity;
pub mod credentials_provider;
pub mod identity_provider;
pub mod token_store;
