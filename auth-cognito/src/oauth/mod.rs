//! A user pool's OAuth 2.0 token endpoint (`<domain>/oauth2/token`), shared by the
//! machine-to-machine token source ([`ClientCredentials`]) and the grants that follow a
//! hosted-UI sign-in (authorization code, refresh token).
//!
//! Cognito's token endpoint speaks RFC 6749: a form-encoded POST, the app client
//! authenticated with HTTP Basic (`client_secret_basic`) or in the body
//! (`client_secret_post`), and `{"error": ..., "error_description": ...}` answers whose
//! `error` becomes the [`ServiceFailure`] name (`invalid_client`,
//! `invalid_grant`, `invalid_scope`, `unauthorized_client`, `unsupported_grant_type`).

mod client_credentials;
mod hosted_ui;
mod loopback;

use auth_core::{RefreshToken, SecretString};
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

pub use client_credentials::{ClientCredentials, ClientCredentialsBuilder, ServiceToken};
pub use hosted_ui::{Browser, HostedUi, HostedUiBuilder, HostedUiError};

use crate::error::{CognitoError, ServiceFailure};
use crate::http::{Idempotency, RetryPolicy, network_failure, with_retries};

/// How the app client proves who it is at the token endpoint (RFC 6749 section 2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthentication {
    /// `client_secret_basic`: an `Authorization: Basic` header (Cognito's documented way).
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
}

/// A grant sent to the token endpoint.
#[derive(Debug)]
pub(crate) enum Grant<'a> {
    /// `client_credentials`, with the scopes to ask for (none: every scope the client may
    /// have).
    ClientCredentials { scopes: &'a [String] },
    /// `authorization_code`, with the redirect URI it was issued for and the PKCE verifier.
    AuthorizationCode { code: SecretString, redirect_uri: &'a str, verifier: SecretString },
    /// `refresh_token`.
    RefreshToken { token: SecretString },
}

impl Grant<'_> {
    fn name(&self) -> &'static str {
        match self {
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::RefreshToken { .. } => "refresh_token",
        }
    }

    /// The grant's own form fields.
    fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Grant::ClientCredentials { scopes: [] } => Vec::new(),
            Grant::ClientCredentials { scopes } => vec![("scope", scopes.join(" "))],
            Grant::AuthorizationCode { code, redirect_uri, verifier } => vec![
                ("code", code.secret().to_owned()),
                ("redirect_uri", (*redirect_uri).to_owned()),
                ("code_verifier", verifier.secret().to_owned()),
            ],
            Grant::RefreshToken { token } => vec![("refresh_token", token.secret().to_owned())],
        }
    }
}

/// A successful token-endpoint answer (RFC 6749 section 5.1).
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: SecretString,
    #[serde(default)]
    pub(crate) id_token: Option<SecretString>,
    #[serde(default)]
    pub(crate) refresh_token: Option<SecretString>,
    #[serde(default)]
    pub(crate) token_type: String,
    pub(crate) expires_in: u64,
    #[serde(default)]
    pub(crate) scope: Option<String>,
}

/// An error answer (RFC 6749 section 5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The token endpoint of one app client.
pub(crate) struct TokenEndpoint {
    pub(crate) http: reqwest::Client,
    pub(crate) url: Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<SecretString>,
    pub(crate) authentication: ClientAuthentication,
    pub(crate) retry: RetryPolicy,
}

/// `application/x-www-form-urlencoded` keeps only the unreserved characters as they are.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, FORM).to_string()
}

impl TokenEndpoint {
    /// The token endpoint under `base`: `<base>/oauth2/token`.
    pub(crate) fn url_under(base: &Url) -> Result<Url, CognitoError> {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| CognitoError::invalid("the OAuth endpoint cannot be a base URL"))?
            .pop_if_empty()
            .extend(["oauth2", "token"]);
        Ok(url)
    }

    /// Sends `grant`; retries only what is safe to retry (a request that was not sent, a
    /// throttled or unavailable endpoint), since a code can be used once.
    pub(crate) async fn exchange(&self, grant: &Grant<'_>) -> Result<TokenAnswer, CognitoError> {
        let mut fields = vec![("grant_type", grant.name().to_owned())];
        fields.extend(grant.fields());
        let idempotency = match grant {
            Grant::AuthorizationCode { .. } => Idempotency::SideEffects,
            Grant::ClientCredentials { .. } | Grant::RefreshToken { .. } => Idempotency::Idempotent,
        };
        let body = self.post(&self.url, "oauth2/token", fields, idempotency).await?;
        serde_json::from_slice::<TokenAnswer>(&body).map_err(|error| {
            CognitoError::protocol(format!(
                "oauth2/token: the answer is not a token response ({:?} error at line {}, column {})",
                error.classify(),
                error.line(),
                error.column()
            ))
        })
    }

    /// Revokes a refresh token and the access tokens issued with it (`/oauth2/revoke`).
    pub(crate) async fn revoke(&self, token: &RefreshToken) -> Result<(), CognitoError> {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map_err(|()| CognitoError::invalid("the OAuth endpoint cannot be a base URL"))?
            .pop()
            .push("revoke");
        let fields = vec![("token", token.secret().to_owned())];
        self.post(&url, "oauth2/revoke", fields, Idempotency::Idempotent).await.map(drop)
    }

    /// POSTs a form with the client's authentication; a 2xx answer's body, or the error.
    async fn post(
        &self,
        url: &Url,
        operation: &'static str,
        mut fields: Vec<(&'static str, String)>,
        idempotency: Idempotency,
    ) -> Result<bytes::Bytes, CognitoError> {
        let mut basic = None;
        match (self.authentication, &self.client_secret) {
            (ClientAuthentication::Basic, Some(secret)) => {
                // RFC 6749 2.3.1: the id and the secret are form-encoded before Base64.
                let pair =
                    format!("{}:{}", form_encode(&self.client_id), form_encode(secret.secret()));
                basic = Some(SecretString::from(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )));
            }
            (ClientAuthentication::Post, Some(secret)) => {
                fields.push(("client_id", self.client_id.clone()));
                fields.push(("client_secret", secret.secret().to_owned()));
            }
            (_, None) => fields.push(("client_id", self.client_id.clone())),
        }
        let body = SecretString::from(
            fields
                .iter()
                .map(|(name, value)| format!("{name}={}", form_encode(value)))
                .collect::<Vec<_>>()
                .join("&"),
        );
        with_retries(self.retry, operation, idempotency, || async {
            let mut request = self
                .http
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(reqwest::header::ACCEPT, "application/json")
                .body(body.secret().to_owned());
            if let Some(basic) = &basic {
                let mut value = reqwest::header::HeaderValue::from_str(basic.secret())
                    .map_err(|_| CognitoError::invalid("the client id or secret is not ASCII"))?;
                value.set_sensitive(true);
                request = request.header(reqwest::header::AUTHORIZATION, value);
            }
            let response = request.send().await.map_err(|e| network_failure(operation, &e))?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| network_failure(operation, &e))?;
            tracing::debug!(operation, status = status.as_u16(), "the OAuth endpoint answered");
            if status.is_success() {
                Ok(bytes)
            } else {
                Err(error_answer(operation, status, &bytes))
            }
        })
        .await
    }
}

/// An OAuth error answer as a [`ServiceFailure`] named by its `error` code; a bare 5xx or
/// 429 is the endpoint being unavailable; anything else is not an OAuth answer at all.
fn error_answer(operation: &str, status: StatusCode, body: &[u8]) -> CognitoError {
    let code = status.as_u16();
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(answer) => CognitoError::Service(ServiceFailure::new(
            crate::untrusted::bounded(&answer.error),
            crate::untrusted::bounded(answer.error_description.as_deref().unwrap_or_default()),
            code,
            None,
        )),
        Err(_) if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            CognitoError::Service(ServiceFailure::new(
                format!("HttpStatus{code}"),
                String::new(),
                code,
                None,
            ))
        }
        Err(_) => CognitoError::protocol(format!(
            "{operation}: HTTP {code} without an OAuth error in the answer"
        )),
    }
}
