//! A local Amazon Cognito (User Pools and Identity Pools) speaking the real wire protocol,
//! with a small S3 that checks SigV4, in-process for tests or as the `auth-mock-server` binary.
//!
//! The official AWS SDKs and Cognito client libraries work against it with only the endpoint
//! overridden: `POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>` or
//! `AWSCognitoIdentityService.<Operation>`, AWS JSON 1.1 bodies, Cognito-shaped errors, real
//! SRP (`USER_SRP_AUTH` proofs are verified with [`auth_srp`]), RS256 JWTs with per-pool keys,
//! JWKS and OpenID discovery documents.
//!
//! # Identity pools, federated logins and S3
//! Identity pools ([`IDENTITY_OPERATIONS`]) turn a user-pool ID token, a token of another
//! provider, or nothing (guests) into STS-like temporary credentials (`ASIA…` key id, secret,
//! session token, one-hour expiry on the server clock). Logins are verified for real: user-pool
//! ID tokens against the pool's key, issuer, expiry and the identity pool's client ids; OpenID
//! Connect tokens against issuers this server hosts under `/_mock/oidc/<name>` (a `google`
//! issuer signs tokens with `iss = https://accounts.google.com`, trusted under the logins key
//! `accounts.google.com`); opaque tokens (Facebook, Login with Amazon, SAML) against a
//! registry filled by the test. The same login always maps to the same identity, and a guest
//! that presents a login keeps its identity id.
//!
//! Requests signed for the `s3` service go to a minimal path-style S3 (buckets, PutObject,
//! GetObject, HeadObject, ListObjectsV2, DeleteObject, CopyObject, presigned URLs) that accepts
//! only SigV4 signatures made with unexpired identity-pool credentials, so a test can prove the
//! credentials work with `aws-sdk-s3` (`force_path_style(true)`, endpoint = [`MockServerHandle::url`]):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_mock_server::{IdTokenRequest, IdentityPoolOptions, MockServer};
//!
//! let server = MockServer::builder().start().await?;
//! let user_pool = server.create_pool("users").await?;
//! let client = server.create_client(&user_pool, "app", Default::default()).await?;
//! let identity_pool = server
//!     .create_identity_pool(
//!         "app",
//!         IdentityPoolOptions::default()
//!             .allow_unauthenticated(true)
//!             .user_pool(&user_pool, &client.client_id)
//!             .login_provider("accounts.google.com", "my-google-client-id"),
//!     )
//!     .await?;
//! // A Google-like ID token for the logins key "accounts.google.com":
//! let google = server
//!     .mint_id_token("google", IdTokenRequest::new("google-user-1", "my-google-client-id"))
//!     .await?;
//! server.set_credentials_lifetime(std::time::Duration::from_secs(900))?;
//! server.s3_create_bucket("uploads")?;
//! // ... GetId / GetCredentialsForIdentity with the SDK or the client under test, then S3 ...
//! assert!(server.s3_object("uploads", "photo.jpg").is_none());
//! # let _ = (identity_pool, google);
//! # Ok(()) }
//! ```
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
//! HTTP endpoint under [`CONTROL_PREFIX`] (`/_mock`), for tests written in other languages.
//! The endpoints, their bodies and the matching methods are listed once, in the user guide's
//! chapter "The local Cognito" (`docs/src/mock-server.md`, section "Test-control API");
//! the methods' own documentation here says what each does.
//!
//! Identity-pool operations are counted and faulted by name like user-pool ones (`GetId`,
//! `GetCredentialsForIdentity`); S3 requests as `s3:<Operation>` (`s3:PutObject`), and an
//! S3 fault's error is answered in S3's XML shape. Cognito Identity's OpenID tokens
//! (GetOpenIdToken) verify against `GET /.well-known/jwks_uri`.
//!
//! Request counters count every request by operation name, and `InitiateAuth`/
//! `AdminInitiateAuth` additionally by flow (`InitiateAuth:REFRESH_TOKEN_AUTH`), so a test can
//! prove a client refreshed exactly once. Faults match an operation name or `*`.
//!
//! Lambda triggers named in a pool's `LambdaConfig` (PreSignUp, PostConfirmation,
//! Pre/PostAuthentication, PreTokenGeneration V1/V2, Define/Create/VerifyAuthChallenge) run
//! as HTTP webhooks: the server POSTs Cognito's trigger event to the URL mapped to the ARN
//! and reads the answered event back, as a Lambda function returns it.
//!
//! Every expiry (tokens, sessions, codes, TOTP) reads the server's clock, which the
//! test-control API can move; SRP `TIMESTAMP`s are parsed but not compared with it, so a
//! client with a real clock can still sign in after the server clock was advanced.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use parking_lot::RwLock;

mod api;
#[cfg(feature = "browser")]
pub mod browser;
mod clock;
mod compat;
mod control;
mod cx;
mod guard;
mod http;
mod identity;
mod keys;
mod limits;
mod oauth;
mod oidc;
mod ops;
mod password;
mod persist;
mod s3;
mod seal;
pub mod seed;
mod server;
mod sign_in;
mod state;
mod token_book;
mod totp;
mod triggers;
mod wire;

pub use control::{CONTROL_PREFIX, DeliveredCode, Fault, FaultError, Stats};
pub use identity::{IDENTITY_OPERATIONS, IdentityPoolOptions, user_pool_login_key};
pub use oidc::{IdTokenRequest, OidcIssuerInfo, OidcIssuerOptions};
pub use ops::OPERATIONS;
pub use s3::{MAX_OBJECT_BYTES, MAX_TOTAL_BYTES, S3_OPERATIONS};
pub use server::{
    ClientInfo, ClientOptions, MockServer, MockServerBuilder, MockServerHandle, StartError,
};
pub use state::{CustomAuth, Lifetimes};
pub use totp::current_code as totp_code;
pub use wire::{Access, Auth, CognitoError, Operation};

/// Settings fixed at start-up.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `None`: `https://cognito-idp.<region>.amazonaws.com/<poolId>`; otherwise `<base>/<poolId>`.
    pub(crate) issuer_base: Option<String>,
    /// Region of pools created by unsigned requests.
    pub(crate) region: String,
    /// Refuse unsigned calls to SigV4 operations (admin and setup operations).
    pub(crate) require_signature: bool,
    /// This server's own URL (`http://<bound address>`).
    pub(crate) url: String,
    /// Who may use the test-control API.
    pub(crate) control: guard::ControlAccess,
}

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) clock: clock::Clock,
    pub(crate) state: RwLock<state::State>,
    pub(crate) control: control::Control,
    pub(crate) identity: identity::IdentityService,
    pub(crate) oidc: oidc::Issuers,
    pub(crate) s3: s3::Store,
    /// Lambda ARN → webhook URL.
    pub(crate) lambdas: triggers::Lambdas,
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
            identity: identity::IdentityService::default(),
            oidc: oidc::Issuers::default(),
            s3: s3::Store::default(),
            lambdas: triggers::Lambdas::default(),
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
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = body.to_string();
        cx::run(
            &ops::USER_POOL_API,
            self,
            operation,
            &wire::RequestMeta::internal(),
            body.as_bytes(),
        )
    }
}

/// Keeps `Arc` in the public signature list used by the handle.
pub(crate) type SharedRef = Arc<Shared>;
