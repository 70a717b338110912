//! Test support: scriptable fakes for every trait, and the conformance suites that every
//! implementation of `auth-core`'s traits runs against itself.
//!
//! Enabled by the `testing` feature. These are tools for tests, not stable API: they
//! change when the contracts they check change.

pub mod conformance;
mod fake_credentials;
mod fake_identity;
mod faulty_store;
pub mod model;
pub mod trace;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use fake_credentials::{FakeCredentialsCalls, FakeCredentialsProvider};
pub use fake_identity::{FakeIdentityCalls, FakeIdentityProvider};
pub use faulty_store::FaultyTokenStore;

/// A boxed, sendable future, for the callbacks of fixtures.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Builds an *unsigned* JWT-shaped string with `claims` as its payload. The fakes use it;
/// tests use it to make tokens with chosen expiries. Nothing may trust such a token.
pub fn unsigned_jwt(claims: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.unsigned")
}

/// Seconds since the epoch, for JWT claims.
pub fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
