//! A local Amazon Cognito User Pools server speaking the real wire protocol, in-process for
//! tests or as the `auth-mock-server` binary.
//!
//! The official AWS SDKs and Cognito client libraries work against it with only the endpoint
//! overridden: `POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`,
//! AWS JSON 1.1 bodies, Cognito-shaped errors, real SRP (`USER_SRP_AUTH` proofs are verified
//! with [`auth_srp`]), RS256 JWTs with per-pool keys, JWKS and OpenID discovery documents.
//!
//! # In-process use
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_mock_server::MockServer;
//!
//! let server = MockServer::builder().start().await?;
//! let pool = server.create_pool("my-pool").await?;
//! let client = server.create_client(&pool, "app", Default::default()).await?;
//! server.create_user(&pool, "alice", "Passw0rd!", &[("email", "alice@example.com")]).await?;
//! // Point the SDK or client under test at `server.url()`.
//! println!("{} {}", server.url(), client.client_id);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Test-control API
//! Everything a test needs to steer the server is a method of [`MockServerHandle`] and an
//! HTTP endpoint under [`CONTROL_PREFIX`] (`/_mock`), for tests written in other languages:
//!
//! | endpoint | body / answer | handle method |
//! |---|---|---|
//! | `GET /_mock/health` | `{"ok":true}` | — |
//! | `GET /_mock/clock`, `POST /_mock/clock` | `{"advance_seconds": 3600}` or `{"offset_seconds": 0}` | [`MockServerHandle::advance_clock`], [`MockServerHandle::set_clock_offset`] |
//! | `POST /_mock/lifetimes` | `{"user_pool_id"?, "client_id"?, "access_token_seconds"?, "id_token_seconds"?, "refresh_token_seconds"?}` (1 s to 10 years) | [`MockServerHandle::set_lifetimes`] |
//! | `POST /_mock/faults`, `GET`, `DELETE` | a [`Fault`]: `{"operation": "InitiateAuth" or "*", "error": {"type", "message", "status"?}?, "latency_ms"?, "drop_connection"?, "times"?}` | [`MockServerHandle::add_fault`], [`MockServerHandle::clear_faults`] |
//! | `GET /_mock/requests`, `DELETE` | `{"requests": {"InitiateAuth": 2, "InitiateAuth:REFRESH_TOKEN_AUTH": 1, ...}}` | [`MockServerHandle::request_count`] |
//! | `GET /_mock/codes/{pool_id}/{username}` | `{"code": "123456", "purpose": "signup"}` | [`MockServerHandle::last_code`] |
//! | `POST /_mock/custom-auth` | `{"user_pool_id", "username", "answer" (null removes), "parameters"?}` | [`MockServerHandle::set_custom_auth`] |
//! | `POST /_mock/refresh-tokens/revoke` | `{"user_pool_id", "username"}` | [`MockServerHandle::revoke_refresh_tokens`] |
//! | `POST /_mock/refresh-tokens/expire` | `{"user_pool_id", "username"}` | [`MockServerHandle::expire_refresh_tokens`] |
//! | `POST /_mock/reset` | forget everything | [`MockServerHandle::reset`] |
//!
//! Request counters count every request by operation name, and `InitiateAuth`/
//! `AdminInitiateAuth` additionally by flow (`InitiateAuth:REFRESH_TOKEN_AUTH`), so a test can
//! prove a client refreshed exactly once. Faults match an operation name or `*`.
//!
//! Every expiry (tokens, sessions, codes, TOTP) reads the server's clock, which the
//! test-control API can move; SRP `TIMESTAMP`s are parsed but not compared with it, so a
//! client with a real clock can still sign in after the server clock was advanced.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use parking_lot::RwLock;

mod clock;
mod control;
mod error;
mod http;
mod keys;
mod ops;
mod password;
mod persist;
pub mod seed;
mod server;
mod state;
mod totp;

pub use control::{CONTROL_PREFIX, DeliveredCode, Fault, FaultError};
pub use error::CognitoError;
pub use ops::{Auth, OPERATIONS};
pub use server::{
    ClientInfo, ClientOptions, MockServer, MockServerBuilder, MockServerHandle, StartError,
};
pub use state::{CustomAuth, Lifetimes};
pub use totp::current_code as totp_code;

/// Settings fixed at start-up.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `None`: `https://cognito-idp.<region>.amazonaws.com/<poolId>`; otherwise `<base>/<poolId>`.
    pub(crate) issuer_base: Option<String>,
    /// Region of pools created by unsigned requests.
    pub(crate) region: String,
    /// Refuse unsigned calls to SigV4 operations (admin and setup operations).
    pub(crate) require_signature: bool,
}

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) clock: clock::Clock,
    pub(crate) state: RwLock<state::State>,
    pub(crate) control: control::Control,
    pub(crate) config: Config,
    /// Bumped by every request that may change state (drives state-file writes).
    pub(crate) generation: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            clock: clock::Clock::default(),
            state: RwLock::new(state::State::default()),
            control: control::Control::default(),
            config,
            generation: AtomicU64::new(0),
        }
    }

    /// Runs an operation as a signed (administrator) request, for the handle's helpers and
    /// seeding.
    pub(crate) fn call(
        &self,
        operation: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, CognitoError> {
        let meta = http::RequestMeta { signed_region: None, signed: true };
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ops::dispatch(self, operation, &meta, body.to_string().as_bytes())
    }
}

/// Keeps `Arc` in the public signature list used by the handle.
pub(crate) type SharedRef = Arc<Shared>;
