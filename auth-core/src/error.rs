//! Typed errors for the traits and for `AuthClient`.
//!
//! The split that matters most: [`ProviderError::Network`] and
//! [`ProviderError::Unavailable`] mean "try again later, nothing is wrong with the
//! session"; [`ProviderError::Rejected`] means "the service said no". The offline rules
//! of `AuthClient` (never sign anyone out because the network is down) rest on it.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::store::Generation;

/// A shared, cloneable error source: one failure may be reported to many waiting callers.
pub type SharedSource = Arc<dyn StdError + Send + Sync + 'static>;

/// The service could not be reached: connect, DNS, TLS, timeout, connection reset.
#[derive(Clone, Debug)]
pub struct NetworkError {
    message: String,
    source: Option<SharedSource>,
}

impl NetworkError {
    /// A network failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), source: None }
    }

    /// A network failure caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self { message: message.into(), source: Some(Arc::new(source)) }
    }

    /// What failed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for NetworkError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

macro_rules! service_error_kinds {
    ($($(#[$meta:meta])* $variant:ident => $code:literal,)*) => {
        /// What the service said no (or "not now") with: the error codes a client acts on,
        /// and [`Other`](ServiceErrorKind::Other) for the rest. The names are Cognito's
        /// exception names, which OpenID-style providers can reuse for the same meaning.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ServiceErrorKind {
            $($(#[$meta])* $variant,)*
            /// Any other code, as the service sent it.
            Other(String),
        }

        impl ServiceErrorKind {
            /// The kind for the service's error code.
            pub fn from_code(code: &str) -> Self {
                match code {
                    $($code => ServiceErrorKind::$variant,)*
                    other => ServiceErrorKind::Other(other.to_owned()),
                }
            }

            /// The service's error code, e.g. `NotAuthorizedException`.
            pub fn code(&self) -> &str {
                match self {
                    $(ServiceErrorKind::$variant => $code,)*
                    ServiceErrorKind::Other(code) => code,
                }
            }
        }
    };
}

service_error_kinds! {
    /// Wrong credentials, a revoked or expired token, or an operation the user may not do.
    NotAuthorized => "NotAuthorizedException",
    /// No such user.
    UserNotFound => "UserNotFoundException",
    /// The user has not confirmed the account yet.
    UserNotConfirmed => "UserNotConfirmedException",
    /// The user must reset the password before signing in.
    PasswordResetRequired => "PasswordResetRequiredException",
    /// The code is wrong.
    CodeMismatch => "CodeMismatchException",
    /// The code has expired.
    ExpiredCode => "ExpiredCodeException",
    /// The username is taken.
    UsernameExists => "UsernameExistsException",
    /// The password does not meet the policy.
    InvalidPassword => "InvalidPasswordException",
    /// A parameter was invalid.
    InvalidParameter => "InvalidParameterException",
    /// A limit was exceeded (e.g. too many codes sent).
    LimitExceeded => "LimitExceededException",
    /// Too many failed attempts; wait before trying again.
    TooManyFailedAttempts => "TooManyFailedAttemptsException",
    /// Throttled: too many requests.
    TooManyRequests => "TooManyRequestsException",
    /// A pool, client or identity does not exist.
    ResourceNotFound => "ResourceNotFoundException",
    /// A rotated refresh token was used again.
    RefreshTokenReuse => "RefreshTokenReuseException",
    /// The service failed internally.
    InternalError => "InternalErrorException",
    /// OAuth 2.0: the user or the authorization server refused the sign-in (a cancelled
    /// hosted-UI sign-in, a provider that said no).
    AccessDenied => "access_denied",
    /// OAuth 2.0: the client's credentials are wrong, or the client is unknown.
    InvalidClient => "invalid_client",
    /// OAuth 2.0: the code, refresh token or verifier is invalid, expired or used.
    InvalidGrant => "invalid_grant",
    /// OAuth 2.0: a scope the client may not have, or that does not exist.
    InvalidScope => "invalid_scope",
    /// OAuth 2.0: the client may not use this grant or response type.
    UnauthorizedClient => "unauthorized_client",
}

impl fmt::Display for ServiceErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An answer from the service: what kind of refusal it is and the service's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    kind: ServiceErrorKind,
    message: String,
}

impl ServiceError {
    /// An error with the service's code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self::with_kind(ServiceErrorKind::from_code(code), message)
    }

    /// An error of a known kind.
    pub fn with_kind(kind: ServiceErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// What the service said.
    pub fn kind(&self) -> &ServiceErrorKind {
        &self.kind
    }

    /// The service's error code, e.g. `NotAuthorizedException` (for logs; match on
    /// [`kind`](Self::kind)).
    pub fn code(&self) -> &str {
        self.kind.code()
    }

    /// The service's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.code())
        } else {
            write!(f, "{}: {}", self.code(), self.message)
        }
    }
}

impl StdError for ServiceError {}

/// Why an identity or credentials provider call failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The service could not be reached. Nothing is known about the session; retry later.
    #[error("network failure: {0}")]
    Network(#[source] NetworkError),
    /// The service answered but is temporarily unable to (throttling, internal error,
    /// 5xx). Nothing is known about the session; retry later.
    #[error("service temporarily unavailable: {0}")]
    Unavailable(#[source] ServiceError),
    /// The service refused: wrong password, unknown user, revoked or expired refresh token,
    /// invalid parameter. Retrying the same request will fail the same way.
    #[error("rejected by the service: {0}")]
    Rejected(#[source] ServiceError),
    /// The provider does not offer this operation.
    #[error("not supported by this provider: {0}")]
    Unsupported(String),
    /// The request was invalid before it was sent (missing field, bad format).
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// The service's answer could not be understood.
    #[error("unexpected response from the service: {0}")]
    Protocol(String),
}

impl ProviderError {
    /// A rejection of the given kind, with the service's message.
    pub fn rejected(kind: ServiceErrorKind, message: impl Into<String>) -> Self {
        ProviderError::Rejected(ServiceError::with_kind(kind, message))
    }

    /// A network failure.
    pub fn network(message: impl Into<String>) -> Self {
        ProviderError::Network(NetworkError::new(message))
    }

    /// True if the failure says nothing about the session and a later retry may succeed
    /// (network failures and temporary unavailability).
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Network(_) | ProviderError::Unavailable(_))
    }

    /// True if the service could not be reached at all.
    pub fn is_network(&self) -> bool {
        matches!(self, ProviderError::Network(_))
    }

    /// True if the service refused the request.
    pub fn is_rejected(&self) -> bool {
        matches!(self, ProviderError::Rejected(_))
    }

    /// What the service said, if it answered.
    pub fn kind(&self) -> Option<&ServiceErrorKind> {
        match self {
            ProviderError::Rejected(e) | ProviderError::Unavailable(e) => Some(e.kind()),
            _ => None,
        }
    }

    /// The service's error code, if it answered (for logs; match on
    /// [`kind`](Self::kind)).
    pub fn code(&self) -> Option<&str> {
        self.kind().map(ServiceErrorKind::code)
    }
}

/// Why a token store operation failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A compare-and-swap found a newer generation than expected: somebody else wrote.
    /// Nothing was written.
    #[error("the store changed underneath (now at generation {current})")]
    Conflict {
        /// The store's current generation.
        current: Generation,
    },
    /// The store is temporarily unusable (keyring locked, file locked, disk error).
    /// Nothing was read or written; the session, if any, is intact. Retry later.
    #[error("token store unavailable: {message}")]
    Unavailable {
        /// What went wrong.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<SharedSource>,
    },
    /// The stored data could not be read, parsed or decrypted. The store has kept it aside
    /// (never deleted it) and now reads as empty.
    #[error("stored session is damaged ({message}); kept aside at {kept_at}")]
    Damaged {
        /// What was wrong with it.
        message: String,
        /// Where the damaged data was moved (a path, or a keyring entry name).
        kept_at: String,
    },
    /// The store refuses to work for a reason that needs the user's or developer's action
    /// (unsafe file permissions, a format version newer than this library, a missing key).
    #[error("token store refused: {0}")]
    Refused(String),
}

impl StoreError {
    /// A temporary failure caused by `source`.
    pub fn unavailable(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        StoreError::Unavailable { message: message.into(), source: Some(Arc::new(source)) }
    }
}

/// Why an `AuthClient` call failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// `initialize()` has not completed yet.
    #[error("the client is not initialised; call initialize() first")]
    NotInitialized,
    /// Nobody is signed in (or the signed-in user has no session of the requested kind,
    /// e.g. user-pool tokens for a federated user).
    #[error("no user is signed in")]
    NotSignedIn,
    /// A user is already signed in. To sign in as someone else (or again), call
    /// `sign_out` first; a federated user may call `federated_sign_in` again at any time.
    #[error("a user is already signed in; call sign_out() first to sign in again")]
    AlreadySignedIn,
    /// `confirm_sign_in` was called with no sign-in waiting for an answer (or
    /// `Account::auto_sign_in` with no sign-up that asked for it).
    #[error("no sign-in is waiting for a challenge response")]
    NoPendingSignIn,
    /// The request was waiting for the user to sign in again, and the app released it.
    #[error("the wait for re-sign-in was released by the app")]
    SignInWaitReleased,
    /// The request waited for re-sign-in longer than the configured deadline.
    #[error("timed out waiting for the user to sign in again")]
    SignInWaitTimedOut,
    /// The user signed out while the request was in progress.
    #[error("the user signed out")]
    SignedOut,
    /// The device is offline and the request needs the network (e.g. a guest's first
    /// credentials).
    #[error("offline")]
    Offline,
    /// The provider failed; see [`ProviderError::is_transient`] to tell a network problem
    /// from a refusal.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The token store failed. Nothing was cleared.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The client was built without what this call needs (e.g. no credentials provider).
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
}

impl AuthError {
    /// True if the failure is a network problem or temporary unavailability.
    pub fn is_transient(&self) -> bool {
        match self {
            AuthError::Offline => true,
            AuthError::Provider(e) => e.is_transient(),
            AuthError::Store(StoreError::Unavailable { .. }) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_error_kinds_round_trip_their_codes() {
        for code in ["NotAuthorizedException", "CodeMismatchException", "TooManyRequestsException"]
        {
            let kind = ServiceErrorKind::from_code(code);
            assert!(!matches!(kind, ServiceErrorKind::Other(_)), "{code} has a kind");
            assert_eq!(kind.code(), code);
        }
        let other = ServiceError::new("AliasExistsException", "taken");
        assert_eq!(other.kind(), &ServiceErrorKind::Other("AliasExistsException".into()));
        assert_eq!(other.to_string(), "AliasExistsException: taken");
        let rejected = ProviderError::rejected(ServiceErrorKind::ExpiredCode, "too late");
        assert_eq!(rejected.kind(), Some(&ServiceErrorKind::ExpiredCode));
        assert_eq!(rejected.code(), Some("ExpiredCodeException"));
    }

    #[test]
    fn already_signed_in_says_how_to_recover() {
        assert!(AuthError::AlreadySignedIn.to_string().contains("sign_out()"));
    }
}
