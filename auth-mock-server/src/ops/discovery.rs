//! Each user pool's discovery documents: `/<poolId>/.well-known/jwks.json` and
//! `/<poolId>/.well-known/openid-configuration`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Response, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::Shared;
use crate::wire::{CognitoError, ok};

/// The discovery routes.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{pool_id}/.well-known/jwks.json", get(jwks))
        .route("/{pool_id}/.well-known/openid-configuration", get(openid_configuration))
}

async fn jwks(State(shared): State<Arc<Shared>>, Path(pool_id): Path<String>) -> Response<Body> {
    let keys = shared.state.read().pools.get(&pool_id).map(|pool| Arc::clone(&pool.keys));
    match keys {
        // Key generation may still be running; wait for it off the async workers.
        Some(keys) => match tokio::task::spawn_blocking(move || keys.jwks()).await {
            Ok(jwks) => ok(jwks),
            Err(_) => CognitoError::internal("Key generation failed.").into_response(),
        },
        None => crate::state::pool_not_found(&pool_id).with_status(404).into_response(),
    }
}

async fn openid_configuration(
    State(shared): State<Arc<Shared>>,
    Path(pool_id): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let state = shared.state.read();
    let Some(pool) = state.pools.get(&pool_id) else {
        return crate::state::pool_not_found(&pool_id).with_status(404).into_response();
    };
    let issuer = pool.issuer(shared.config.issuer_base.as_deref());
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let own_base = format!("http://{host}");
    let jwks_uri = format!("{own_base}/{pool_id}/.well-known/jwks.json");
    let mut document = serde_json::json!({
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["code", "token"],
        "subject_types_supported": ["public"],
    });
    // The OAuth endpoints are served only for a pool with a domain: advertise exactly those.
    if let Some(endpoints) = crate::oauth::discovery_members(&state, &pool_id, &own_base) {
        if let (Some(document), Some(endpoints)) = (document.as_object_mut(), endpoints.as_object())
        {
            document.extend(endpoints.clone());
        }
    }
    ok(document)
}
