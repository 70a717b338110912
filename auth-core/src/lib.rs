//! `auth-core`: the traits, types and client of an authentication toolkit for Amazon
//! Cognito and OpenID-style providers.
//!
//! An app builds an [`AuthClient`] from pluggable pieces, each a trait defined here:
//! - [`IdentityProvider`] signs users in and refreshes their tokens
//!   (`auth-cognito` has the Cognito user-pool one), optionally with [`AccountProvider`]
//!   for sign-up, password reset and attributes;
//! - [`CredentialsProvider`] turns sign-ins into temporary AWS credentials
//!   (`auth-cognito` has the Cognito identity-pool one);
//! - [`TokenStore`] keeps the session between runs ([`MemoryTokenStore`] here; file and
//!   OS-keyring stores in `auth-storage`);
//! - [`Connectivity`] says whether the device is online ([`AlwaysOnline`],
//!   [`ManualConnectivity`]);
//! - [`Clock`] tells the time ([`SystemClock`], [`ManualClock`]).
//!
//! The user-state rules live in a pure function, [`machine::transition`]; `AuthClient`
//! performs the effects it returns. With the `testing` feature, [`testing`] provides
//! scriptable fakes and the conformance suites that every implementation of the traits
//! runs against itself.
//!
//! This crate has no HTTP dependency, by design: implementers depend only on it.
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod client;
mod env;
mod error;
pub mod jwt;
pub mod machine;
mod provider;
mod secret;
mod store;
mod types;

#[cfg(feature = "testing")]
pub mod testing;

pub use client::{
    Account, AuthClient, AuthClientBuilder, AuthSession, DEFAULT_EXPIRY_MARGIN, ListenerHandle,
    StateChanges, Transition, TransitionObserver,
};
pub use env::{
    AlwaysOnline, Clock, Connectivity, ManualClock, ManualConnectivity, SystemClock,
    TransportObserver, TransportOutcome,
};
pub use error::{
    AuthError, NetworkError, ProviderError, ServiceError, ServiceErrorKind, SharedSource,
    StoreError,
};
pub use provider::{
    AccountProvider, CredentialsProvider, DynAccountProvider, DynCredentialsProvider,
    DynIdentityProvider, IdentityProvider,
};
pub use secret::{
    AccessToken, ChallengeSession, ConfirmationCode, IdToken, Password, ProviderToken,
    RefreshToken, SecretAccessKey, SecretString, SessionToken,
};
pub use store::{DynTokenStore, Generation, MemoryTokenStore, Snapshot, TokenStore, TokenStoreExt};
pub use types::{
    AwsCredentials, ChallengeContext, ChallengeKind, ChallengeResponse, CodeDelivery,
    FederatedSession, FirstFactor, IdentityId, InvalidReason, Logins, MfaType, SignInFlow,
    SignInNextStep, SignInOutcome, SignInProvider, SignInRequest, SignInResult, SignOutOptions,
    SignUpOutcome, SignUpRequest, StoredSession, UserPoolSession, UserPoolTokens, UserState,
    UserStateDetails,
};
