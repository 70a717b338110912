//! [`ClientCredentials`]: machine-to-machine access tokens (the `client_credentials` grant),
//! cached and fetched once for many callers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use auth_core::{AccessToken, Clock, SecretString, SystemClock};

use super::{ClientAuthentication, Grant, TokenEndpoint};
use crate::error::CognitoError;
use crate::http::{HttpOptions, check_endpoint};

/// An access token for a service (no user): what the token endpoint granted.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServiceToken {
    /// The access token, sent as `Authorization: Bearer <token>`.
    pub access_token: AccessToken,
    /// The scopes granted: as the endpoint listed them, else (RFC 6749 section 5.1) those
    /// asked for, else the access token's `scope` claim.
    pub scopes: Vec<String>,
    /// When the token expires (by the source's clock when it arrived).
    pub expires_at: SystemTime,
}

impl ServiceToken {
    /// The seconds left until expiry at `now` (zero once expired).
    pub fn expires_in(&self, now: SystemTime) -> Duration {
        self.expires_at.duration_since(now).unwrap_or_default()
    }

    /// The `Authorization` header value, `Bearer <token>`, kept secret.
    pub fn authorization(&self) -> SecretString {
        SecretString::from(format!("Bearer {}", self.access_token.secret()))
    }
}

/// A source of machine-to-machine access tokens for one app client (with a secret, and
/// `client_credentials` among its allowed OAuth flows): the user pool domain's
/// `/oauth2/token` with the `client_credentials` grant.
///
/// Tokens are cached and reused until `expiry_margin` before they expire; when a new one is
/// needed, one request is made however many callers ask at once (the others wait for its
/// answer), as `AuthClient::tokens` does for users. Clones share the cache.
///
/// ```no_run
/// # async fn example() -> Result<(), auth_cognito::CognitoError> {
/// use auth_cognito::oauth::ClientCredentials;
///
/// let tokens = ClientCredentials::builder(
///     "https://my-domain.auth.us-east-1.amazoncognito.com",
///     "client-id",
///     "client-secret",
/// )
/// .scopes(["orders/read"])
/// .build()?;
/// let request = reqwest::Client::new().get("https://api.example.com/orders");
/// let response = tokens.authorize(request).await?.send().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: TokenEndpoint,
    scopes: Vec<String>,
    expiry_margin: Duration,
    clock: Arc<dyn Clock>,
    cached: ArcSwapOption<ServiceToken>,
    /// Held by the one caller fetching a token; the others wait on it, then find the cache
    /// filled.
    fetching: tokio::sync::Mutex<()>,
    requests: AtomicU64,
}

crate::builder::debug_fields!(ClientCredentials(&self) {
    token_endpoint: crate::untrusted::redacted_url(&self.inner.endpoint.url),
    client_id: self.inner.endpoint.client_id,
    scopes: self.inner.scopes,
    ..
});

impl ClientCredentials {
    /// A builder for the app client `client_id` of the user pool whose domain (or local
    /// Cognito) is at `domain`, e.g. `https://<prefix>.auth.<region>.amazoncognito.com`;
    /// tokens come from `<domain>/oauth2/token`.
    pub fn builder(
        domain: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> ClientCredentialsBuilder {
        ClientCredentialsBuilder {
            domain: domain.into(),
            token_url: None,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: Vec::new(),
            authentication: ClientAuthentication::default(),
            expiry_margin: Duration::from_secs(60),
            http: HttpOptions::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// A valid token: the cached one, or a new one fetched once for every caller waiting.
    pub async fn token(&self) -> Result<ServiceToken, CognitoError> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _fetching = self.inner.fetching.lock().await;
        // Another caller may have fetched one while this one waited.
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        self.fetch().await
    }

    /// A new token even if the cached one is still valid (e.g. after an API answered 401).
    /// Callers arriving while it is fetched share it.
    pub async fn refresh(&self) -> Result<ServiceToken, CognitoError> {
        let before = self.inner.cached.load_full();
        let _fetching = self.inner.fetching.lock().await;
        let now = self.inner.cached.load_full();
        if let (Some(now), false) = (&now, same(&before, &now)) {
            return Ok(ServiceToken::clone(now));
        }
        self.fetch().await
    }

    /// Adds `Authorization: Bearer <token>` (marked sensitive) to a reqwest request.
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, CognitoError> {
        let token = self.token().await?;
        let mut value = reqwest::header::HeaderValue::from_str(token.authorization().secret())
            .map_err(|_| CognitoError::protocol("the access token is not a valid header value"))?;
        value.set_sensitive(true);
        Ok(request.header(reqwest::header::AUTHORIZATION, value))
    }

    /// How many token requests this source (and its clones) made: the cache at work.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Forgets the cached token.
    pub fn clear(&self) {
        self.inner.cached.store(None);
    }

    fn fresh(&self) -> Option<ServiceToken> {
        let cached = self.inner.cached.load_full()?;
        let deadline = self.inner.clock.now() + self.inner.expiry_margin;
        (cached.expires_at > deadline).then(|| ServiceToken::clone(&cached))
    }

    async fn fetch(&self) -> Result<ServiceToken, CognitoError> {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .inner
            .endpoint
            .exchange(&Grant::ClientCredentials { scopes: &self.inner.scopes })
            .await?;
        if !answer.token_type.is_empty() && !answer.token_type.eq_ignore_ascii_case("bearer") {
            return Err(CognitoError::protocol(format!(
                "the token endpoint issued a {:?} token, not a Bearer token",
                crate::untrusted::bounded(&answer.token_type)
            )));
        }
        let token = ServiceToken {
            access_token: AccessToken::from(answer.access_token.secret()),
            scopes: granted_scopes(
                answer.scope.as_deref(),
                &self.inner.scopes,
                answer.access_token.secret(),
            ),
            expires_at: self.inner.clock.now() + Duration::from_secs(answer.expires_in),
        };
        tracing::debug!(
            client_id = %self.inner.endpoint.client_id.escape_debug(),
            expires_in = answer.expires_in,
            "client_credentials token issued"
        );
        self.inner.cached.store(Some(Arc::new(token.clone())));
        Ok(token)
    }
}

/// The scopes a token answer granted: those it lists; without a list, as RFC 6749
/// (section 5.1) says, those requested; when none were requested (every scope the client
/// may have), the access token's `scope` claim. Cognito's token endpoint lists none, so
/// the last two are what it usually comes to.
fn granted_scopes(listed: Option<&str>, requested: &[String], access_token: &str) -> Vec<String> {
    let split = |scopes: &str| scopes.split_whitespace().map(str::to_owned).collect();
    match listed {
        Some(listed) => split(listed),
        None if !requested.is_empty() => requested.to_vec(),
        None => auth_core::jwt::UnverifiedClaims::decode(access_token)
            .ok()
            .and_then(|claims| claims.string("scope").map(split))
            .unwrap_or_default(),
    }
}

fn same(a: &Option<Arc<ServiceToken>>, b: &Option<Arc<ServiceToken>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Builds a [`ClientCredentials`].
#[must_use]
pub struct ClientCredentialsBuilder {
    domain: String,
    token_url: Option<String>,
    client_id: String,
    client_secret: SecretString,
    scopes: Vec<String>,
    authentication: ClientAuthentication,
    expiry_margin: Duration,
    http: HttpOptions,
    clock: Arc<dyn Clock>,
}

crate::builder::debug_fields!(ClientCredentialsBuilder(&self) {
    client_id: self.client_id,
    scopes: self.scopes,
    ..
});

impl ClientCredentialsBuilder {
    crate::builder::setters! {
        /// The scopes to ask for, e.g. `orders/read` (a resource server's custom scopes). None
        /// asks for every scope the app client is allowed.
        scopes(scopes: [impl Into<String>]) => scopes;

        /// How the client authenticates (default `client_secret_basic`).
        authentication(authentication: ClientAuthentication) => authentication;

        /// The full token endpoint URL, when it is not `<domain>/oauth2/token`.
        token_url(url: impl Into<String>) => token_url = Some(url.into());

        /// How long before expiry a token is replaced (default 60 s).
        expiry_margin(margin: Duration) => expiry_margin;
    }

    crate::http::http_setters!("the token requests", "", "Its redirect policy applies.");

    /// The clock expiry is judged by (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the URLs and builds the source.
    pub fn build(self) -> Result<ClientCredentials, CognitoError> {
        let url = match &self.token_url {
            Some(url) => check_endpoint(url)?,
            None => TokenEndpoint::url_under(&check_endpoint(&self.domain)?)?,
        };
        let retry = self.http.settings.retry;
        let http = self.http.client()?;
        Ok(ClientCredentials {
            inner: Arc::new(Inner {
                endpoint: TokenEndpoint {
                    http,
                    url,
                    client_id: self.client_id,
                    client_secret: Some(self.client_secret),
                    authentication: self.authentication,
                    retry,
                },
                scopes: self.scopes,
                expiry_margin: self.expiry_margin,
                clock: self.clock,
                cached: ArcSwapOption::empty(),
                fetching: tokio::sync::Mutex::new(()),
                requests: AtomicU64::new(0),
            }),
        })
    }
}
