//! Amazon Cognito for auth-core: a user-pool identity provider and an identity-pool
//! credentials provider speaking Cognito's real wire protocol, a verifier for the JWTs user
//! pools issue, and (feature `aws-sdk`) a bridge to aws-sdk-rust.
//!
//! - [`CognitoUserPool`] implements auth-core's [`IdentityProvider`](auth_core::IdentityProvider)
//!   and [`AccountProvider`](auth_core::AccountProvider): sign-in with SRP (the default),
//!   a password, a custom flow, or choice-based `USER_AUTH` (passwordless email and SMS
//!   codes, or a password, as the first factor the user picks); every challenge as a typed next step (new password,
//!   SMS / email / authenticator codes, MFA set-up with an `otpauth://` URI, MFA choice,
//!   custom challenges); `SECRET_HASH` for app clients with a secret; remembered devices
//!   (ConfirmDevice, then DEVICE_SRP_AUTH so a remembered device skips MFA), kept in a
//!   [`DeviceStore`]: in memory, or (feature `file-device-store`) in a file that survives
//!   restarts, `FileDeviceStore`; refresh,
//!   global sign-out and token revocation; sign-up, passwords, attributes, devices and MFA
//!   settings. Plug it into `auth_core::AuthClient` for cached, refreshed, persisted
//!   sessions.
//! - [`CognitoIdentityPool`] implements auth-core's
//!   [`CredentialsProvider`](auth_core::CredentialsProvider): temporary AWS credentials
//!   (GetId, then GetCredentialsForIdentity) for guests, user-pool users and federated
//!   users (Google, Facebook, Sign in with Apple, Login with Amazon, any OIDC issuer, SAML;
//!   [`LoginProvider`] builds their logins keys), with an optional custom role, and the
//!   merge of a guest identity into the signed-in user's.
//! - With the `aws-sdk` feature, module [`aws_sdk`]: `AuthClient` as the credentials
//!   provider of any aws-sdk-rust client ([`aws_sdk::AuthClientCredentialsProvider`]) and a
//!   SigV4 signer for any HTTP request ([`aws_sdk::RequestSigner`]), e.g. API Gateway with
//!   IAM authorisation.
//! - [`CognitoAuth`] assembles an `AuthClient` with these providers, a token store and
//!   auth-connectivity's `NetworkConnectivity`, which the providers report every call's
//!   transport outcome to: offline handling with no wiring.
//! - Module [`layer`]: a `tower::Layer` for HTTP clients that authorises requests with
//!   the client's tokens (or SigV4), waits by its offline rules and retries once after a
//!   refresh on a 401.
//! - [`JwtVerifier`] (module [`jwt`]) checks Cognito ID and access tokens for servers that receive them:
//!   RS256 signature against the pool's cached JWKS, issuer, `token_use`, audience or
//!   client id, expiry with leeway, optional groups.
//!
//! It works against real Cognito (the default endpoints are
//! `https://cognito-idp.<region>.amazonaws.com/` and
//! `https://cognito-identity.<region>.amazonaws.com/`) and against any server that speaks
//! the same protocol (set [`CognitoUserPoolBuilder::endpoint`] and
//! [`CognitoIdentityPoolBuilder::endpoint`]).
//!
//! # Errors
//! Every call returns a [`CognitoError`] that tells "the network failed"
//! ([`CognitoError::Network`], with a [`NetworkErrorKind`]) from "Cognito refused"
//! ([`CognitoError::Service`], with the exception name and message). Through the
//! auth-core traits it becomes a `ProviderError`: `Network`; `Unavailable` for throttling
//! and server errors; `Rejected` for every other Cognito exception; `Protocol` for answers
//! that cannot be understood. `AuthClient` signs a session out only on `Rejected`.
//!
//! # Retries
//! A call is retried (with exponential backoff and full jitter, see [`RetryPolicy`]) only
//! when sending it again cannot do harm:
//! - when connecting failed (DNS, refused, TLS handshake, connect timeout), for every
//!   operation: the request never left;
//! - after a timeout or a reset connection, or on throttling, only for the operations that
//!   are idempotent: InitiateAuth with `REFRESH_TOKEN_AUTH` or `USER_SRP_AUTH` (the first
//!   SRP step only creates a server-side session), GetUser, GetDevice, ListDevices,
//!   UpdateDeviceStatus, SetUserMFAPreference, DeleteUserAttributes, GlobalSignOut,
//!   RevokeToken, JWKS downloads, and the identity-pool operations GetId and
//!   GetCredentialsForIdentity.
//!
//! Never after the request may have arrived: InitiateAuth with a password or a custom flow
//! (failed attempts count, codes are sent), GetTokensFromRefreshToken (with rotation the old
//! refresh token dies after a grace period), RespondToAuthChallenge (one-time codes and
//! proofs), SignUp, ConfirmSignUp, ResendConfirmationCode, ForgotPassword,
//! ConfirmForgotPassword, ChangePassword, UpdateUserAttributes,
//! GetUserAttributeVerificationCode, VerifyUserAttribute, DeleteUser, ConfirmDevice,
//! ForgetDevice, AssociateSoftwareToken and VerifySoftwareToken. Server errors (5xx) are
//! reported, not retried.
//!
//! # Secrets
//! Passwords, tokens, sessions, device secrets, TOTP secrets and the client secret stay in
//! auth-core's redacting newtypes; no request or response body is logged, and error
//! messages never quote a body.
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod app;
#[cfg(feature = "aws-sdk")]
pub mod aws_sdk;
mod builder;
#[cfg(feature = "drop-in")]
pub mod drop_in;
mod error;
mod http;
mod identity_pool;
pub mod jwt;
pub mod layer;
pub mod oauth;
mod untrusted;
mod user_pool;

pub use app::{CognitoAuth, CognitoAuthBuilder};
/// auth-connectivity, the default connectivity [`CognitoAuth`] builds: re-exported so its
/// settings (e.g. [`Backoff`](auth_connectivity::Backoff)) need no dependency of the app's own.
pub use auth_connectivity as connectivity;
pub use error::{CognitoError, NetworkErrorKind, NetworkFailure, ServiceFailure};
pub use http::{HttpSettings, RetryPolicy};
pub use identity_pool::{
    CognitoIdentityPool, CognitoIdentityPoolBuilder, DEVELOPER_LOGINS_KEY, DeveloperIdentity,
    DeveloperIdentityCredentials, DeveloperIdentityError, DeveloperIdentitySource,
    IdentityCredentials, LoginProvider, developer_identity_fn,
};
pub use jwt::{JwtError, JwtVerifier, JwtVerifierBuilder, TokenUse, VerifiedClaims};
pub use user_pool::{
    CognitoAccount, CognitoUserPool, CognitoUserPoolBuilder, Device, DevicePage, DeviceStore,
    DeviceTracking, MemoryDeviceStore, MfaPreference, RememberedDevice, TotpSetup, UserProfile,
    challenge_names,
};
#[cfg(feature = "file-device-store")]
pub use user_pool::{
    DEVICES_DOCUMENT_KIND, DeviceDocument, FileDeviceStore, FileDeviceStoreBuilder,
};

/// The Rust snippets of the README and of the user guide (`docs/src`), compiled as doctests so
/// that they cannot drift from the API (`cargo test -p auth-cognito --doc --all-features`; a
/// chapter whose snippets need a feature is skipped without it). Only rustdoc sets `doctest`,
/// so the published crate, which does not ship these files, never reads them.
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../README.md")]
    struct Readme;
    #[doc = include_str!("../../docs/src/user-states.md")]
    struct UserStates;
    // Its remembered-devices and drop-in snippets need those features.
    #[cfg(all(feature = "file-device-store", feature = "drop-in"))]
    #[doc = include_str!("../../docs/src/cognito.md")]
    struct Cognito;
    // Its keyring snippet needs the `keyring` feature (auth-storage's `keyring`).
    #[cfg(feature = "keyring")]
    #[doc = include_str!("../../docs/src/storage.md")]
    struct Storage;
    #[doc = include_str!("../../docs/src/browser-and-services.md")]
    struct HostedUi;
    #[doc = include_str!("../../docs/src/mock-server.md")]
    struct MockServer;
    #[doc = include_str!("../../docs/src/using-in-ci.md")]
    struct UsingInCi;
    #[doc = include_str!("../../docs/src/switching.md")]
    struct Switching;
    // Its snippets use the bridge to aws-sdk-rust, so it needs the `aws-sdk` feature.
    #[cfg(feature = "aws-sdk")]
    #[doc = include_str!("../../docs/src/aws-credentials.md")]
    struct AwsCredentials;
}
