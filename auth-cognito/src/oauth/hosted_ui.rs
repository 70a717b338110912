//! [`HostedUi`]: sign-in through a user pool's hosted UI (managed login) in the system
//! browser, as a native app does it (RFC 8252): PKCE, a loopback redirect, the code
//! exchanged at the token endpoint, the ID token verified.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{
    AccessToken, ChallengeContext, ChallengeResponse, IdToken, IdentityProvider, ProviderError,
    RefreshToken, SecretString, ServiceError, ServiceErrorKind, SignInFlow, SignInOutcome,
    SignInRequest, SignOutOptions, UserPoolSession, UserPoolTokens,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use reqwest::Url;
use sha2::{Digest as _, Sha256};

use super::loopback::Loopback;
use super::{ClientAuthentication, Grant, TokenEndpoint};
use crate::error::CognitoError;
use crate::http::{HttpOptions, check_endpoint};
use crate::jwt::{JwtError, JwtVerifier};

/// How the authorization URL reaches the user.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Browser {
    /// Opens the system's default browser.
    #[default]
    System,
    /// Hands the URL to the app (print it, show it, drive a browser in a test).
    Manual(Arc<dyn Fn(&str) + Send + Sync>),
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Browser::System => "System",
            Browser::Manual(_) => "Manual",
        })
    }
}

/// Why a hosted-UI sign-in did not give a session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostedUiError {
    /// The user cancelled, or the hosted UI or the social provider refused
    /// (`error=access_denied` on the redirect).
    #[error("access denied{}", describe(.0))]
    AccessDenied(Option<String>),
    /// The redirect carried another OAuth error (`invalid_request`, `invalid_scope`,
    /// `unauthorized_client`, `server_error`, ...).
    #[error("the sign-in failed: {error}{}", describe(.description))]
    Redirect {
        /// The `error` parameter.
        error: String,
        /// The `error_description` parameter.
        description: Option<String>,
    },
    /// The redirect's `state` is not the one this sign-in sent: a forged or stale redirect.
    #[error("the redirect's state does not match this sign-in (a forged or stale redirect)")]
    StateMismatch,
    /// The ID token's `nonce` is not the one this sign-in sent: a replayed token.
    #[error("the ID token's nonce does not match this sign-in (a replayed token)")]
    NonceMismatch,
    /// Nobody came back within the time allowed (the browser was closed, the user left).
    #[error("the browser did not come back within {0:?}")]
    TimedOut(Duration),
    /// The loopback listener could not start (the port is taken).
    #[error("cannot listen for the redirect on {port}: {source}")]
    Listener {
        /// The configured port.
        port: u16,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The system browser could not be opened.
    #[error("cannot open the browser: {0}")]
    Browser(String),
    /// The token endpoint failed or refused the code.
    #[error(transparent)]
    Token(#[from] CognitoError),
    /// The ID token did not verify.
    #[error("the ID token did not verify: {0}")]
    Verification(#[from] JwtError),
}

fn describe(text: &Option<String>) -> String {
    text.as_deref().map(|d| format!(": {}", crate::untrusted::bounded(d))).unwrap_or_default()
}

impl From<HostedUiError> for ProviderError {
    fn from(error: HostedUiError) -> Self {
        match error {
            HostedUiError::AccessDenied(description) => ProviderError::rejected(
                ServiceErrorKind::AccessDenied,
                description.unwrap_or_default(),
            ),
            HostedUiError::Redirect { error, description } => {
                let service = ServiceError::new(&error, description.unwrap_or_default());
                if matches!(error.as_str(), "server_error" | "temporarily_unavailable") {
                    ProviderError::Unavailable(service)
                } else {
                    ProviderError::Rejected(service)
                }
            }
            HostedUiError::Token(error) => error.into(),
            HostedUiError::TimedOut(_) => ProviderError::Rejected(ServiceError::new(
                "HostedUiTimedOut",
                "the browser did not come back in time",
            )),
            other @ (HostedUiError::StateMismatch
            | HostedUiError::NonceMismatch
            | HostedUiError::Verification(_)) => ProviderError::Protocol(other.to_string()),
            other => ProviderError::InvalidInput(other.to_string()),
        }
    }
}

/// Sign-in through a user pool's hosted UI in the browser, with PKCE (S256), `state` and
/// `nonce`, the redirect caught on `http://localhost:<port>/<path>` (register exactly that
/// URL among the app client's callback URLs; Cognito allows `http` only for `localhost`).
///
/// It is an [`IdentityProvider`]: give it to `AuthClient::builder().identity_provider(..)`
/// and sign in with [`SignInRequest::browser`], and the session is a user-pool session like
/// any other: refreshed through the token endpoint's `refresh_token` grant, stored,
/// announced, federated into an identity pool. [`HostedUi::authorize`] runs the browser
/// part alone, with typed errors.
#[derive(Clone)]
pub struct HostedUi {
    inner: Arc<Inner>,
}

struct Inner {
    domain: Url,
    token: TokenEndpoint,
    client_id: String,
    pool_id: String,
    redirect_port: u16,
    redirect_path: String,
    scopes: Vec<String>,
    identity_provider: Option<String>,
    idp_identifier: Option<String>,
    browser: Browser,
    timeout: Duration,
    verifier: JwtVerifier,
    logout_in_browser: Option<String>,
}

crate::builder::debug_fields!(HostedUi(&self) {
    domain: crate::untrusted::redacted_url(&self.inner.domain),
    client_id: self.inner.client_id,
    redirect_port: self.inner.redirect_port,
    scopes: self.inner.scopes,
    ..
});

/// 32 random bytes, base64url: a PKCE verifier (43 characters), a `state`, a `nonce`.
fn random_value() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl HostedUi {
    /// A builder for the app client `client_id` of user pool `pool_id`, whose hosted UI is
    /// at `domain` (`https://<prefix>.auth.<region>.amazoncognito.com`, a custom domain, or
    /// a local Cognito's address).
    pub fn builder(
        domain: impl Into<String>,
        pool_id: impl Into<String>,
        client_id: impl Into<String>,
    ) -> HostedUiBuilder {
        HostedUiBuilder {
            domain: domain.into(),
            pool_id: pool_id.into(),
            client_id: client_id.into(),
            client_secret: None,
            authentication: ClientAuthentication::default(),
            redirect_port: 0,
            redirect_path: "/callback".to_owned(),
            scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            identity_provider: None,
            idp_identifier: None,
            browser: Browser::System,
            timeout: Duration::from_secs(300),
            jwks_endpoint: None,
            verifier: None,
            http: HttpOptions::default(),
            logout_in_browser: None,
        }
    }

    /// The authorization URL for one sign-in.
    fn authorize_url(&self, redirect_uri: &str, state: &str, nonce: &str, challenge: &str) -> Url {
        let inner = &self.inner;
        let mut url = inner.domain.clone();
        url.path_segments_mut()
            .expect("checked at build: a base URL")
            .pop_if_empty()
            .extend(["oauth2", "authorize"]);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &inner.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &inner.scopes.join(" "))
                .append_pair("state", state)
                .append_pair("nonce", nonce)
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(provider) = &inner.identity_provider {
                query.append_pair("identity_provider", provider);
            }
            if let Some(identifier) = &inner.idp_identifier {
                query.append_pair("idp_identifier", identifier);
            }
        }
        url
    }

    /// Runs the browser part of a sign-in: opens the authorization URL, waits for the
    /// redirect, checks `state`, exchanges the code with the PKCE verifier and verifies the
    /// ID token (issuer, audience, expiry, `nonce`).
    pub async fn authorize(&self) -> Result<UserPoolSession, HostedUiError> {
        let inner = &self.inner;
        let verifier = random_value();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let (state, nonce) = (random_value(), random_value());
        let loopback = Loopback::bind(inner.redirect_port, &inner.redirect_path)
            .await
            .map_err(|source| HostedUiError::Listener { port: inner.redirect_port, source })?;
        let redirect_uri = loopback.redirect_uri().to_owned();
        let url = self.authorize_url(&redirect_uri, &state, &nonce, &challenge);
        match &inner.browser {
            Browser::System => webbrowser::open(url.as_str())
                .map_err(|error| HostedUiError::Browser(error.to_string()))?,
            Browser::Manual(open) => open(url.as_str()),
        }
        let redirect = tokio::time::timeout(inner.timeout, loopback.wait())
            .await
            .ok()
            .flatten()
            .ok_or(HostedUiError::TimedOut(inner.timeout))?;
        let params = redirect.params;
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").cloned();
            return Err(if error == "access_denied" {
                HostedUiError::AccessDenied(description)
            } else {
                HostedUiError::Redirect { error: crate::untrusted::bounded(error), description }
            });
        }
        if params.get("state").map(String::as_bytes) != Some(state.as_bytes()) {
            return Err(HostedUiError::StateMismatch);
        }
        let code = params.get("code").ok_or_else(|| HostedUiError::Redirect {
            error: "invalid_request".to_owned(),
            description: Some("the redirect carries no code".to_owned()),
        })?;
        let answer = inner
            .token
            .exchange(&Grant::AuthorizationCode {
                code: SecretString::from(code.as_str()),
                redirect_uri: &redirect_uri,
                verifier: SecretString::from(verifier),
            })
            .await?;
        let tokens = self.tokens(answer, None).await?;
        let claims = inner.verifier.verify_id_token(tokens.id_token().secret()).await?;
        if claims.string("nonce").map(str::as_bytes) != Some(nonce.as_bytes()) {
            return Err(HostedUiError::NonceMismatch);
        }
        let username = claims.username().unwrap_or(claims.subject()).to_owned();
        tracing::debug!(username = %username.escape_debug(), "hosted-UI sign-in complete");
        Ok(UserPoolSession::new(username, tokens))
    }

    /// The token set of a token-endpoint answer; `previous_refresh` is kept when the answer
    /// has none (a refresh).
    async fn tokens(
        &self,
        answer: super::TokenAnswer,
        previous_refresh: Option<&RefreshToken>,
    ) -> Result<UserPoolTokens, CognitoError> {
        let id = answer.id_token.ok_or_else(|| {
            CognitoError::protocol("the token endpoint issued no ID token (is `openid` a scope?)")
        })?;
        let refresh = answer
            .refresh_token
            .map(|token| RefreshToken::from(token.secret()))
            .or_else(|| previous_refresh.cloned());
        UserPoolTokens::new(
            IdToken::from(id.secret()),
            AccessToken::from(answer.access_token.secret()),
            refresh,
        )
        .map_err(|error| CognitoError::protocol(format!("the issued tokens: {error}")))
    }

    /// The hosted UI's logout URL for this client (`/logout?client_id=..&logout_uri=..`).
    pub fn logout_url(&self, logout_uri: &str) -> Url {
        let mut url = self.inner.domain.clone();
        url.path_segments_mut()
            .expect("checked at build: a base URL")
            .pop_if_empty()
            .push("logout");
        url.query_pairs_mut()
            .append_pair("client_id", &self.inner.client_id)
            .append_pair("logout_uri", logout_uri);
        url
    }
}

#[async_trait]
impl IdentityProvider for HostedUi {
    fn logins_key(&self) -> String {
        let region = self.inner.pool_id.split('_').next().unwrap_or_default();
        format!("cognito-idp.{region}.amazonaws.com/{}", self.inner.pool_id)
    }

    async fn sign_in(&self, request: &SignInRequest) -> Result<SignInOutcome, ProviderError> {
        if request.flow != SignInFlow::Browser {
            return Err(ProviderError::Unsupported(format!(
                "the hosted UI signs in only through the browser (SignInRequest::browser()), not {:?}",
                request.flow
            )));
        }
        Ok(SignInOutcome::SignedIn(self.authorize().await?))
    }

    async fn respond_to_challenge(
        &self,
        _context: &ChallengeContext,
        _response: &ChallengeResponse,
    ) -> Result<SignInOutcome, ProviderError> {
        Err(ProviderError::Unsupported(
            "the hosted UI asks its challenges in the browser".to_owned(),
        ))
    }

    async fn refresh(&self, session: &UserPoolSession) -> Result<UserPoolTokens, ProviderError> {
        let refresh = session.tokens.refresh_token().ok_or_else(|| {
            ProviderError::InvalidInput("the session has no refresh token".into())
        })?;
        let answer = self
            .inner
            .token
            .exchange(&Grant::RefreshToken { token: SecretString::from(refresh.secret()) })
            .await?;
        Ok(self.tokens(answer, Some(refresh)).await?)
    }

    async fn sign_out(
        &self,
        session: &UserPoolSession,
        options: &SignOutOptions,
    ) -> Result<(), ProviderError> {
        if options.global || options.invalidate_tokens {
            if let Some(refresh) = session.tokens.refresh_token() {
                self.inner.token.revoke(refresh).await?;
            }
        }
        if let Some(logout_uri) = &self.inner.logout_in_browser {
            let url = self.logout_url(logout_uri);
            match &self.inner.browser {
                Browser::System => {
                    if let Err(error) = webbrowser::open(url.as_str()) {
                        tracing::warn!(%error, "could not open the hosted UI's logout page");
                    }
                }
                Browser::Manual(open) => open(url.as_str()),
            }
        }
        Ok(())
    }
}

/// Builds a [`HostedUi`].
#[must_use]
pub struct HostedUiBuilder {
    domain: String,
    pool_id: String,
    client_id: String,
    client_secret: Option<SecretString>,
    authentication: ClientAuthentication,
    redirect_port: u16,
    redirect_path: String,
    scopes: Vec<String>,
    identity_provider: Option<String>,
    idp_identifier: Option<String>,
    browser: Browser,
    timeout: Duration,
    jwks_endpoint: Option<String>,
    verifier: Option<JwtVerifier>,
    http: HttpOptions,
    logout_in_browser: Option<String>,
}

crate::builder::debug_fields!(HostedUiBuilder(&self) {
    client_id: self.client_id,
    redirect_port: self.redirect_port,
    ..
});

impl HostedUiBuilder {
    crate::builder::setters! {
        /// The app client's secret, for clients that have one.
        client_secret(secret: impl Into<SecretString>) => client_secret = Some(secret.into());

        /// How a client with a secret authenticates at the token endpoint (default Basic).
        authentication(authentication: ClientAuthentication) => authentication;

        /// The loopback port of the redirect URI (0, the default, takes a free one; Cognito
        /// matches callback URLs exactly, so a real app registers a fixed port).
        redirect_port(port: u16) => redirect_port;

        /// The redirect URI's path (default `/callback`).
        redirect_path(path: impl Into<String>) => redirect_path = path.into();

        /// The scopes to ask for (default `openid email profile`; `openid` is required, and
        /// `aws.cognito.signin.user.admin` lets the tokens call the user-pool API).
        scopes(scopes: [impl Into<String>]) => scopes;

        /// Goes straight to this identity provider of the user pool (`Google`, `Facebook`,
        /// `SignInWithApple`, `LoginWithAmazon`, an OIDC or SAML provider's name).
        identity_provider(name: impl Into<String>) => identity_provider = Some(name.into());

        /// Goes to the provider registered with this identifier (e.g. an email domain).
        idp_identifier(identifier: impl Into<String>) => idp_identifier = Some(identifier.into());

        /// How the authorization URL is opened (default: the system browser).
        browser(browser: Browser) => browser;

        /// How long to wait for the browser to come back (default 5 minutes).
        timeout(timeout: Duration) => timeout;

        /// Where the user pool's keys are, when not at AWS: a local Cognito's address (see
        /// [`JwtVerifierBuilder::endpoint`](crate::JwtVerifierBuilder::endpoint)). Defaults to
        /// the domain when it is a loopback address, else AWS.
        jwks_endpoint(endpoint: impl Into<String>) => jwks_endpoint = Some(endpoint.into());

        /// Verifies ID tokens with this verifier instead of one for the pool (a custom issuer,
        /// keys given in advance).
        verifier(verifier: JwtVerifier) => verifier = Some(verifier);
    }

    crate::http::http_setters!("the token-endpoint calls", "", "Its redirect policy applies.");

    /// Also opens the hosted UI's `/logout` in the browser at sign-out, returning to
    /// `logout_uri` (registered among the client's sign-out URLs), which ends the hosted
    /// UI's own session cookie.
    pub fn logout_in_browser(mut self, logout_uri: impl Into<String>) -> Self {
        self.logout_in_browser = Some(logout_uri.into());
        self
    }

    /// Checks the settings and builds the sign-in.
    pub fn build(self) -> Result<HostedUi, CognitoError> {
        let domain = check_endpoint(&self.domain)?;
        if domain.cannot_be_a_base() {
            return Err(CognitoError::invalid("the hosted UI domain cannot be a base URL"));
        }
        if !self.scopes.iter().any(|scope| scope == "openid") {
            return Err(CognitoError::invalid(
                "the hosted UI sign-in needs the `openid` scope (the ID token names the user)",
            ));
        }
        let verifier = match self.verifier {
            Some(verifier) => verifier,
            None => {
                let local = matches!(domain.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                let builder = JwtVerifier::builder(&self.pool_id).client_id(&self.client_id);
                match (&self.jwks_endpoint, local) {
                    (Some(endpoint), _) => builder.endpoint(endpoint),
                    (None, true) => builder.endpoint(domain.as_str()),
                    (None, false) => builder,
                }
                .build()?
            }
        };
        let retry = self.http.settings.retry;
        let http = self.http.client()?;
        Ok(HostedUi {
            inner: Arc::new(Inner {
                token: TokenEndpoint {
                    http,
                    url: TokenEndpoint::url_under(&domain)?,
                    client_id: self.client_id.clone(),
                    client_secret: self.client_secret,
                    authentication: self.authentication,
                    retry,
                },
                domain,
                client_id: self.client_id,
                pool_id: self.pool_id,
                redirect_port: self.redirect_port,
                redirect_path: self.redirect_path,
                scopes: self.scopes,
                identity_provider: self.identity_provider,
                idp_identifier: self.idp_identifier,
                browser: self.browser,
                timeout: self.timeout,
                verifier,
                logout_in_browser: self.logout_in_browser,
            }),
        })
    }
}
