//! Developer-authenticated identities: the app's own backend signs users in, calls
//! `GetOpenIdTokenForDeveloperIdentity` with its AWS credentials and hands the app an
//! identity id and an OpenID token; [`DeveloperIdentityCredentials`] turns them into AWS
//! credentials with `GetCredentialsForIdentity` and the login
//! `cognito-identity.amazonaws.com`, asking the app's [`DeveloperIdentitySource`] again
//! whenever the token has expired or Cognito refuses it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::{
    AwsCredentials, Clock, CredentialsProvider, IdentityId, Logins, NetworkError, ProviderError,
    ProviderToken, ServiceError, SystemClock,
};

use super::CognitoIdentityPool;
use crate::error::CognitoError;
use crate::untrusted::bounded;

/// The `Logins` key of the OpenID tokens of developer-authenticated identities.
pub const DEVELOPER_LOGINS_KEY: &str = "cognito-identity.amazonaws.com";

/// How long before its expiry a token is treated as expired, so that it does not run out
/// between the check and Cognito's.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// What the app's backend hands out: the identity it resolved for the user (with
/// `GetOpenIdTokenForDeveloperIdentity`) and the OpenID token proving it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeveloperIdentity {
    /// The identity-pool identity, `<region>:<uuid>`.
    pub identity_id: IdentityId,
    /// The OpenID token of `GetOpenIdTokenForDeveloperIdentity` (redacted in `Debug`).
    pub token: ProviderToken,
    /// When the token stops being accepted: from [`with_expires_at`](Self::with_expires_at),
    /// else the token's `exp` claim; `None` when neither says (it is then used until
    /// Cognito refuses it).
    pub expires_at: Option<SystemTime>,
}

impl DeveloperIdentity {
    /// An identity and its OpenID token. The expiry is read from the token's `exp` claim
    /// (the token is not verified: only Cognito's answer says whether it is good).
    pub fn new(identity_id: impl Into<String>, token: impl Into<String>) -> Self {
        let token = ProviderToken::new(token);
        let expires_at = auth_core::jwt::UnverifiedClaims::decode(token.secret())
            .ok()
            .and_then(|claims| claims.expires_at().ok());
        Self { identity_id: IdentityId::new(identity_id), token, expires_at }
    }

    /// Sets when the token expires, e.g. from the `TokenDuration` the backend asked for.
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    fn is_fresh_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|expiry| now + EXPIRY_MARGIN < expiry)
    }
}

/// Why a [`DeveloperIdentitySource`] could not hand out an identity. It reaches the app
/// as a [`ProviderError`]: [`Unreachable`](Self::Unreachable) as
/// [`ProviderError::Network`] (whose `source()` is this error), so `AuthClient`'s offline
/// rules apply; [`Refused`](Self::Refused) as [`ProviderError::Rejected`] with its code.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeveloperIdentityError {
    /// The backend could not be reached (network failure, timeout, 5xx): retry later.
    #[error("the developer identity backend is unreachable: {0}")]
    Unreachable(String),
    /// The backend answered no (e.g. the user is not signed in to it).
    #[error("the developer identity backend refused: {code}: {message}")]
    Refused {
        /// The backend's reason, as a code the app can match (e.g. `NotSignedIn`).
        code: String,
        /// What the backend said.
        message: String,
    },
}

impl DeveloperIdentityError {
    /// A refusal with the backend's code and message.
    pub fn refused(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Refused { code: code.into(), message: message.into() }
    }
}

/// The backend's words reach error messages, which apps log and show: they are bounded and
/// escaped like every other answer this crate does not control.
impl From<DeveloperIdentityError> for ProviderError {
    fn from(error: DeveloperIdentityError) -> Self {
        match &error {
            DeveloperIdentityError::Unreachable(_) => ProviderError::Network(
                NetworkError::with_source("the developer identity source failed", error),
            ),
            DeveloperIdentityError::Refused { code, message } => {
                ProviderError::Rejected(ServiceError::new(&bounded(code), bounded(message)))
            }
        }
    }
}

/// The app's way to get a developer-authenticated identity, usually a call to its own
/// backend. [`DeveloperIdentityCredentials`] calls it when it has no token yet, when the
/// token has expired and when Cognito refuses the token (then retries once); one call at a
/// time, however many requests wait. A closure works too: see [`developer_identity_fn`].
#[async_trait]
pub trait DeveloperIdentitySource: Send + Sync + 'static {
    /// An identity and a fresh token for the user. `logins` are the `AuthClient`'s logins
    /// (a user-pool sign-in's ID token, or empty with guest access), for a backend that
    /// wants them to decide who the user is.
    async fn developer_identity(
        &self,
        logins: &Logins,
    ) -> Result<DeveloperIdentity, DeveloperIdentityError>;
}

/// A [`DeveloperIdentitySource`] from an async closure, e.g.
/// `developer_identity_fn(|logins| async move { backend.identity(logins).await })`.
pub fn developer_identity_fn<F, Fut>(fetch: F) -> impl DeveloperIdentitySource
where
    F: Fn(Logins) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<DeveloperIdentity, DeveloperIdentityError>> + Send + 'static,
{
    FnSource(fetch)
}

struct FnSource<F>(F);

#[async_trait]
impl<F, Fut> DeveloperIdentitySource for FnSource<F>
where
    F: Fn(Logins) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<DeveloperIdentity, DeveloperIdentityError>> + Send + 'static,
{
    async fn developer_identity(
        &self,
        logins: &Logins,
    ) -> Result<DeveloperIdentity, DeveloperIdentityError> {
        (self.0)(logins.clone()).await
    }
}

/// The `CredentialsProvider` of developer-authenticated identities: plug it into
/// `AuthClient::builder().credentials_provider(..)` (with `guest_access(true)` when the
/// app has no user-pool sign-in) and `aws_credentials()` returns credentials, cached and
/// fetched once for many callers by the client. The identity and the token come from the
/// app's [`DeveloperIdentitySource`]; the token is kept until it expires or Cognito
/// refuses it.
///
/// Cheap to clone: clones share the cached token.
#[derive(Clone)]
pub struct DeveloperIdentityCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    pool: CognitoIdentityPool,
    source: Arc<dyn DeveloperIdentitySource>,
    clock: Arc<dyn Clock>,
    /// The last identity handed out, with the logins it was for. The async mutex makes the
    /// source's calls one at a time: whoever waits gets the identity the first fetched.
    current: tokio::sync::Mutex<Option<(Logins, DeveloperIdentity)>>,
}

crate::builder::debug_fields!(DeveloperIdentityCredentials(&self) {
    pool: self.inner.pool,
    ..
});

impl DeveloperIdentityCredentials {
    /// Credentials from `pool` for the identities `source` hands out.
    pub fn new(pool: CognitoIdentityPool, source: impl DeveloperIdentitySource) -> Self {
        Self::with_clock(pool, source, Arc::new(SystemClock))
    }

    /// The same, judging token expiry by `clock` (give it the `AuthClient`'s clock).
    pub fn with_clock(
        pool: CognitoIdentityPool,
        source: impl DeveloperIdentitySource,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                source: Arc::new(source),
                clock,
                current: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Forgets the cached token, so the next call asks the source again (e.g. after the
    /// user signed out of the app's backend).
    pub async fn clear(&self) {
        *self.inner.current.lock().await = None;
    }

    /// The identity for `logins`: the cached one while its token is fresh and was not
    /// `refused`, else the source's.
    async fn identity(
        &self,
        logins: &Logins,
        refused: Option<&ProviderToken>,
    ) -> Result<DeveloperIdentity, ProviderError> {
        let mut current = self.inner.current.lock().await;
        if let Some((for_logins, identity)) = current.as_ref() {
            let usable = for_logins == logins
                && identity.is_fresh_at(self.inner.clock.now())
                && refused.is_none_or(|token| token != &identity.token);
            if usable {
                return Ok(identity.clone());
            }
        }
        let identity = self.inner.source.developer_identity(logins).await.inspect_err(|error| {
            tracing::warn!(error = %bounded(&error.to_string()), "the developer identity source failed");
        })?;
        *current = Some((logins.clone(), identity.clone()));
        Ok(identity)
    }

    async fn credentials_with(
        &self,
        identity_id: &IdentityId,
        token: &ProviderToken,
    ) -> Result<AwsCredentials, CognitoError> {
        let logins = Logins::from([(DEVELOPER_LOGINS_KEY.to_owned(), token.clone())]);
        let answer = self.inner.pool.get_credentials_for_identity(identity_id, &logins).await?;
        Ok(answer.credentials)
    }
}

#[async_trait]
impl CredentialsProvider for DeveloperIdentityCredentials {
    /// The identity the source names (a developer identity is chosen by the app's
    /// backend, so `current` plays no part).
    async fn identity_id(
        &self,
        logins: &Logins,
        _current: Option<&IdentityId>,
    ) -> Result<IdentityId, ProviderError> {
        Ok(self.identity(logins, None).await?.identity_id)
    }

    /// GetCredentialsForIdentity for `identity_id` with the source's token. A refusal
    /// (`NotAuthorizedException`: the token expired or was revoked) asks the source for a
    /// new token and tries once more.
    async fn credentials(
        &self,
        identity_id: &IdentityId,
        logins: &Logins,
    ) -> Result<AwsCredentials, ProviderError> {
        let identity = self.identity(logins, None).await?;
        match self.credentials_with(identity_id, &identity.token).await {
            Err(CognitoError::Service(failure)) if failure.name() == "NotAuthorizedException" => {
                tracing::info!(
                    "Cognito refused the developer identity token; asking for a new one"
                );
                let fresh = self.identity(logins, Some(&identity.token)).await?;
                Ok(self.credentials_with(identity_id, &fresh.token).await?)
            }
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn the_expiry_comes_from_the_token_or_the_app() {
        let jwt = auth_core::testing::unsigned_jwt(&serde_json::json!({"exp": 1_700_000_600}));
        let identity = DeveloperIdentity::new("us-east-1:1", jwt);
        let expiry = UNIX_EPOCH + Duration::from_secs(1_700_000_600);
        assert_eq!(identity.expires_at, Some(expiry));
        assert!(identity.is_fresh_at(expiry - Duration::from_secs(60)));
        assert!(!identity.is_fresh_at(expiry - Duration::from_secs(10)), "within the margin");
        let opaque = DeveloperIdentity::new("us-east-1:1", "opaque");
        assert_eq!(opaque.expires_at, None, "used until Cognito refuses it");
        assert!(opaque.with_expires_at(expiry).is_fresh_at(expiry - Duration::from_secs(60)));
        assert!(!format!("{identity:?}").contains("eyJ"), "Debug never shows the token");
    }

    #[test]
    fn source_failures_map_to_network_or_refusal_with_escaped_words() {
        let network = ProviderError::from(DeveloperIdentityError::Unreachable("refused".into()));
        assert!(network.is_network() && network.is_transient());
        let refused =
            ProviderError::from(DeveloperIdentityError::refused("NotSignedIn", "line\nforged"));
        assert!(refused.is_rejected());
        assert_eq!(refused.code(), Some("NotSignedIn"));
        assert!(!refused.to_string().contains('\n'), "{refused}");
    }
}
