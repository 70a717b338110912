//! New tokens for a refresh token: InitiateAuth's REFRESH_TOKEN_AUTH (and its legacy name
//! REFRESH_TOKEN), and GetTokensFromRefreshToken with the client's refresh-token rotation.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;

use super::param;
use crate::cx::Cx;
use crate::ops::check_secret_hash;
use crate::ops::tokens::{RefreshMode, TokenGrant, issue, tokens_response};
use crate::wire::required;
use crate::wire::{CognitoError, OpResult};

/// REFRESH_TOKEN_AUTH: new ID and access tokens; the refresh token stays.
pub(super) fn refresh(cx: &Cx<'_>, client_id: &str, params: &HashMap<String, String>) -> OpResult {
    let token = param(params, "REFRESH_TOKEN")?;
    let secret = ClientProof::SecretHash {
        username: params.get("USERNAME").map(String::as_str),
        hash: params.get("SECRET_HASH").map(String::as_str),
    };
    let grant = refresh_grant(cx, client_id, token, secret, false)?;
    Ok(tokens_response(issue(cx, grant)?))
}

/// How a refresh call proves it knows the client secret.
enum ClientProof<'a> {
    /// `SECRET_HASH` (InitiateAuth REFRESH_TOKEN_AUTH).
    SecretHash { username: Option<&'a str>, hash: Option<&'a str> },
    /// `ClientSecret` itself (GetTokensFromRefreshToken).
    Secret(Option<&'a str>),
}

/// Checks a refresh token and decides the grant; `rotate` applies the client's
/// refresh-token rotation (GetTokensFromRefreshToken).
fn refresh_grant(
    cx: &Cx<'_>,
    client_id: &str,
    token: &str,
    proof: ClientProof<'_>,
    rotate: bool,
) -> OpResult<TokenGrant> {
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let invalid = || CognitoError::not_authorized("Invalid Refresh Token");
    let (record, claims) = state.refresh_record(token).ok_or_else(invalid)?;
    if record.client_id != client_id {
        return Err(invalid());
    }
    if record.revoked {
        return Err(CognitoError::not_authorized("Refresh Token has been revoked"));
    }
    if record.expires_at <= now {
        return Err(CognitoError::not_authorized("Refresh Token has expired"));
    }
    let pool = state.pool(&record.pool_id)?;
    let client = pool.clients.get(client_id).ok_or_else(invalid)?;
    let user = pool
        .users
        .get(&pool.user_key(&record.username))
        .ok_or_else(crate::state::user_not_found)?;
    match proof {
        ClientProof::SecretHash { username, hash } => {
            let mut names = user.secret_hash_names();
            names.extend(username);
            check_secret_hash(client, &names, hash)?;
        }
        ClientProof::Secret(given) => {
            if let Some(secret) = &client.secret {
                use sha2::Digest as _;
                let matches = given.is_some_and(|g| {
                    sha2::Sha256::digest(g.as_bytes()) == sha2::Sha256::digest(secret.as_bytes())
                });
                if !matches {
                    return Err(CognitoError::not_authorized(format!(
                        "Client {client_id} is configured with a secret and ClientSecret is missing or wrong"
                    )));
                }
            }
        }
    }
    if !user.enabled {
        return Err(CognitoError::not_authorized("User is disabled."));
    }
    let rotation = if rotate { client.rotation_grace_seconds() } else { None };
    let refresh = match rotation {
        None => RefreshMode::Keep { origin_jti: record.origin_jti.clone() },
        Some(grace) => {
            if record.rotated_at.is_some_and(|at| now > at.saturating_add(grace)) {
                return Err(CognitoError::new(
                    "RefreshTokenReuseException",
                    "The refresh token has already been exchanged for a new one.",
                ));
            }
            state.tokens.mark_rotated(&claims, now);
            RefreshMode::New
        }
    };
    Ok(TokenGrant {
        pool_id: record.pool_id.clone(),
        client_id: client_id.to_owned(),
        username: record.username.clone(),
        auth_time: Some(record.auth_time),
        device_key: record.device_key.clone(),
        new_device: false,
        refresh,
        source: "TokenGeneration_RefreshTokens",
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetTokensRequest {
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    #[allow(dead_code, reason = "the device is taken from the refresh token")]
    device_key: Option<String>,
    #[allow(
        dead_code,
        reason = "parsed to check its type; triggers read it through `Cx::client_metadata`"
    )]
    client_metadata: Option<HashMap<String, String>>,
}

/// GetTokensFromRefreshToken: like REFRESH_TOKEN_AUTH, with refresh-token rotation when the
/// client enables it (a new refresh token; the old one works for the grace period).
pub(crate) fn get_tokens_from_refresh_token(cx: &Cx<'_>, request: GetTokensRequest) -> OpResult {
    let token = required(&request.refresh_token, "RefreshToken")?;
    let client_id = required(&request.client_id, "ClientId")?;
    cx.shared.state.read().client(client_id)?;
    let grant = refresh_grant(
        cx,
        client_id,
        token,
        ClientProof::Secret(request.client_secret.as_deref()),
        true,
    )?;
    Ok(json!({ "AuthenticationResult": issue(cx, grant)? }))
}
