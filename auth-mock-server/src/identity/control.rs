//! HTTP routes of the identity-pool side that are not `X-Amz-Target` operations: Cognito
//! Identity's OpenID discovery document and JWKS, and the test-control endpoints under
//! `/_mock/identity/`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Response, header};
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::{MAX_CREDENTIALS_SECONDS, ProviderToken};
use crate::Shared;
use crate::wire::CognitoError;
use crate::wire::{ControlJson, ok, result};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks_uri", get(jwks))
        .route("/_mock/identity/credentials-lifetime", post(post_lifetime))
        .route("/_mock/identity/provider-tokens", post(post_provider_token))
        .route("/_mock/identity/credentials/{access_key_id}", get(get_credentials))
}

async fn discovery(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response<Body> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    ok(json!({
        "issuer": super::flows::openid_issuer(&shared),
        "jwks_uri": format!("http://{host}/.well-known/jwks_uri"),
        "response_types_supported": ["code", "id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "aud", "amr", "iss", "exp", "iat"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response<Body> {
    let key = Arc::clone(&shared.identity.openid_key);
    match tokio::task::spawn_blocking(move || json!({ "keys": [key.get().jwk()] })).await {
        Ok(jwks) => ok(jwks),
        Err(_) => CognitoError::internal("Key generation failed.").into_response(),
    }
}

impl Shared {
    /// Sets the lifetime of credentials issued from now on.
    pub(crate) fn set_credentials_lifetime(&self, seconds: u64) -> Result<(), CognitoError> {
        if !(1..=MAX_CREDENTIALS_SECONDS).contains(&seconds) {
            return Err(CognitoError::invalid_parameter(
                "The credentials lifetime is between 1 second and 12 hours (43200 seconds).",
            ));
        }
        self.identity.state.write().credentials_seconds = seconds;
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Makes the identity pools accept an opaque provider token.
    pub(crate) fn register_provider_token(
        &self,
        provider: &str,
        token: &str,
        subject: &str,
        app_id: Option<&str>,
        lifetime_seconds: u64,
    ) -> Result<(), CognitoError> {
        if provider.is_empty() || token.is_empty() || subject.is_empty() {
            return Err(CognitoError::invalid_parameter(
                "provider, token and subject are required.",
            ));
        }
        if provider.len() > 2048 || token.len() > 50_000 || subject.len() > 1024 {
            return Err(CognitoError::invalid_parameter("provider, token or subject is too long."));
        }
        let expires_at = self.clock.now_secs().saturating_add(lifetime_seconds.min(315_360_000));
        let mut state = self.identity.state.write();
        if state.provider_tokens.len() >= 100_000 {
            return Err(CognitoError::limit_exceeded("At most 100000 provider tokens are kept."));
        }
        state.provider_tokens.insert(
            (provider.to_owned(), token.to_owned()),
            ProviderToken {
                subject: subject.to_owned(),
                app_id: app_id.map(str::to_owned),
                expires_at,
            },
        );
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LifetimeRequest {
    seconds: u64,
}

async fn post_lifetime(
    State(shared): State<Arc<Shared>>,
    ControlJson(request): ControlJson<LifetimeRequest>,
) -> Response<Body> {
    result(
        shared
            .set_credentials_lifetime(request.seconds)
            .map(|()| json!({ "seconds": request.seconds })),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderTokenRequest {
    provider: String,
    token: String,
    subject: String,
    app_id: Option<String>,
    expires_in_seconds: Option<u64>,
}

async fn post_provider_token(
    State(shared): State<Arc<Shared>>,
    ControlJson(request): ControlJson<ProviderTokenRequest>,
) -> Response<Body> {
    result(
        shared
            .register_provider_token(
                &request.provider,
                &request.token,
                &request.subject,
                request.app_id.as_deref(),
                request.expires_in_seconds.unwrap_or(3600),
            )
            .map(|()| json!({})),
    )
}

async fn get_credentials(
    State(shared): State<Arc<Shared>>,
    Path(access_key_id): Path<String>,
) -> Response<Body> {
    let state = shared.identity.state.read();
    match state.credentials.recent(&access_key_id) {
        Some(credentials) => ok(json!({
            "access_key_id": access_key_id,
            "identity_id": credentials.identity_id,
            "role_arn": credentials.role_arn,
            "expiration": credentials.expires_at,
            "expired": credentials.expires_at <= shared.clock.now_secs(),
        })),
        None => CognitoError::resource_not_found(format!(
            "No such credentials among the last {} issued.",
            super::credentials::RECENT_CREDENTIALS
        ))
        .with_status(404)
        .into_response(),
    }
}
