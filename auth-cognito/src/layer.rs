//! An offline-aware HTTP layer: a [`tower::Layer`] that authorises each request with
//! `AuthClient`'s current credentials, following its offline rules.
//!
//! [`AuthLayer`] wraps any tower HTTP client service (e.g. [`ReqwestService`], or hyper's
//! client) taking `http::Request<B>` with a body that can be cloned and read as bytes
//! (`Bytes`, `Vec<u8>`, `String`). For every request it:
//! - gets the credentials from the [`AuthClient`]: `Authorization: Bearer <access token>`
//!   (or the ID token), or (feature `aws-sdk`) a SigV4 signature with the identity pool's
//!   credentials. Valid ones come from the cache; expired ones are refreshed. While offline
//!   with invalid tokens the request **waits** (it is blocked, not failed) and proceeds with
//!   the refreshed credentials once the network returns;
//! - on a `401 Unauthorized` answer, refreshes the tokens now (however fresh they looked)
//!   and sends the request once more;
//! - gives up with [`AuthHttpError::DeadlineExceeded`] after the configured
//!   [`deadline`](AuthLayer::deadline), waiting included;
//! - never logs a token: the header value is marked sensitive, and nothing here prints it.
//!
//! ```no_run
//! use auth_cognito::layer::{AuthLayer, ReqwestService};
//! use tower::{Service as _, ServiceBuilder, ServiceExt as _};
//! # async fn run(client: auth_core::AuthClient) -> Result<(), Box<dyn std::error::Error>> {
//! let mut api = ServiceBuilder::new()
//!     .layer(AuthLayer::bearer_access_token(client).deadline(std::time::Duration::from_secs(30)))
//!     .service(ReqwestService::new(reqwest::Client::new()));
//! let request = http::Request::get("https://api.example.com/orders").body(bytes::Bytes::new())?;
//! let response = api.ready().await?.call(request).await?;
//! # drop(response); Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use auth_core::{AuthClient, AuthError};
use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderValue};
use tower::{Layer, Service, ServiceExt as _};

/// What an [`AuthLayer`] puts on requests.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Authorization {
    /// `Authorization: Bearer <access token>` (APIs that check scopes, API Gateway with a
    /// Cognito authoriser on access tokens).
    AccessToken,
    /// `Authorization: Bearer <ID token>` (API Gateway's default Cognito authoriser).
    IdToken,
    /// A SigV4 signature with the identity pool's credentials (API Gateway with IAM
    /// authorisation, AppSync, Lambda function URLs).
    #[cfg(feature = "aws-sdk")]
    SigV4(crate::aws_sdk::RequestSigner),
}

/// A [`tower::Layer`] that authorises requests with an [`AuthClient`] (see the module
/// docs).
#[derive(Clone)]
pub struct AuthLayer {
    client: AuthClient,
    authorization: Authorization,
    deadline: Option<Duration>,
}

crate::builder::debug_fields!(AuthLayer(&self) {
    authorization: self.authorization,
    deadline: self.deadline,
    ..
});

impl AuthLayer {
    /// Sends the user's access token as a bearer token.
    pub fn bearer_access_token(client: AuthClient) -> Self {
        Self { client, authorization: Authorization::AccessToken, deadline: None }
    }

    /// Sends the user's ID token as a bearer token.
    pub fn bearer_id_token(client: AuthClient) -> Self {
        Self { client, authorization: Authorization::IdToken, deadline: None }
    }

    /// Signs requests with SigV4 and the identity pool's credentials.
    #[cfg(feature = "aws-sdk")]
    pub fn sigv4(signer: crate::aws_sdk::RequestSigner) -> Self {
        let client = signer.client().clone();
        Self { client, authorization: Authorization::SigV4(signer), deadline: None }
    }

    /// The longest a request may take, waiting for credentials (e.g. offline) included;
    /// none by default (a blocked request then waits for as long as the client's own
    /// rules say).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Authorises `request`; with `forced`, with tokens refreshed now.
    async fn authorize<B: AsRef<[u8]>>(
        &self,
        mut request: http::Request<B>,
        forced: bool,
    ) -> Result<http::Request<B>, AuthHttpError<std::convert::Infallible>> {
        let tokens = |id: bool| async move {
            let tokens = if forced {
                match self.client.refresh_tokens().await {
                    // Offline a forced refresh is refused; waiting for the tokens is the
                    // offline rule for the retry too.
                    Err(AuthError::Offline) => self.client.tokens().await?,
                    other => other?,
                }
            } else {
                self.client.tokens().await?
            };
            let token =
                if id { tokens.id_token().secret() } else { tokens.access_token().secret() };
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                AuthHttpError::Signing("the token is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            Ok::<_, AuthHttpError<std::convert::Infallible>>(value)
        };
        match &self.authorization {
            Authorization::AccessToken => {
                let value = tokens(false).await?;
                request.headers_mut().insert(AUTHORIZATION, value);
            }
            Authorization::IdToken => {
                let value = tokens(true).await?;
                request.headers_mut().insert(AUTHORIZATION, value);
            }
            #[cfg(feature = "aws-sdk")]
            Authorization::SigV4(signer) => {
                if forced {
                    // The credentials are federated from the tokens: refresh those first.
                    tokens(true).await?;
                }
                signer.sign(&mut request).await.map_err(|error| match error {
                    crate::aws_sdk::SignError::Credentials(error) => AuthHttpError::Auth(error),
                    other => AuthHttpError::Signing(other.to_string()),
                })?;
            }
        }
        Ok(request)
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, layer: self.clone() }
    }
}

/// The service an [`AuthLayer`] makes of an HTTP client service.
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

/// Why an authorised request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthHttpError<E> {
    /// No credentials could be had: nobody signed in, a wait for re-sign-in released or
    /// timed out, a refresh that failed (see [`AuthError::is_transient`]).
    #[error("no credentials for the request: {0}")]
    Auth(#[from] AuthError),
    /// The request could not be authorised as it is (a header value, SigV4 signing).
    #[error("the request cannot be authorised: {0}")]
    Signing(String),
    /// The wrapped client failed to send it.
    #[error("the request failed: {0}")]
    Transport(E),
    /// The deadline passed (while waiting for credentials or for the answer).
    #[error("the request did not complete before its deadline")]
    DeadlineExceeded,
}

impl AuthHttpError<std::convert::Infallible> {
    fn widen<E>(self) -> AuthHttpError<E> {
        match self {
            AuthHttpError::Auth(error) => AuthHttpError::Auth(error),
            AuthHttpError::Signing(message) => AuthHttpError::Signing(message),
            AuthHttpError::DeadlineExceeded => AuthHttpError::DeadlineExceeded,
            AuthHttpError::Transport(never) => match never {},
        }
    }
}

impl<S, B, R> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: Clone + AsRef<[u8]> + Send + 'static,
    R: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = AuthHttpError<S::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(AuthHttpError::Transport)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was made ready is the one used first (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let run = async {
                let first = layer.authorize(request.clone(), false).await.map_err(|e| e.widen())?;
                let response = inner.call(first).await.map_err(AuthHttpError::Transport)?;
                if response.status() != http::StatusCode::UNAUTHORIZED {
                    return Ok(response);
                }
                tracing::info!("the service answered 401; refreshing and retrying once");
                let retry = layer.authorize(request, true).await.map_err(|e| e.widen())?;
                let ready = inner.ready().await.map_err(AuthHttpError::Transport)?;
                ready.call(retry).await.map_err(AuthHttpError::Transport)
            };
            match layer.deadline {
                Some(deadline) => tokio::time::timeout(deadline, run)
                    .await
                    .unwrap_or(Err(AuthHttpError::DeadlineExceeded)),
                None => run.await,
            }
        })
    }
}

/// A reqwest client as a tower service of `http::Request<Bytes>` to
/// `http::Response<Bytes>` (the whole body read), for [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct ReqwestService {
    client: reqwest::Client,
}

impl ReqwestService {
    /// Wraps `client`.
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

impl Service<http::Request<Bytes>> for ReqwestService {
    type Response = http::Response<Bytes>;
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Bytes>) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let mut builder = http::Response::builder().status(response.status());
            if let Some(headers) = builder.headers_mut() {
                headers.extend(response.headers().iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let body = response.bytes().await?;
            // Status and headers come from a parsed response: building cannot fail.
            Ok(builder.body(body).unwrap_or_default())
        })
    }
}
