//! `POST /oauth2/token`, `GET/POST /oauth2/userInfo` and `POST /oauth2/revoke`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::admin::ClientOAuth;
use super::{AuthCode, HostTarget, OAuthFlow};
use crate::Shared;
use crate::cx::Cx;
use crate::ops::tokens::{OAuthClaims, RefreshMode, TokenGrant, issue, issue_oauth};
use crate::state::AppClient;
use crate::wire::{CognitoError, RequestMeta};

/// The OAuth 2.0 error codes Cognito answers with (RFC 6749 §5.2, RFC 7009 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OAuthErrorCode {
    /// Missing or malformed parameter.
    InvalidRequest,
    /// Unknown client or wrong secret.
    InvalidClient,
    /// Bad, used, expired or foreign code or refresh token; PKCE mismatch.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// Not one of the three grants.
    UnsupportedGrantType,
    /// A scope the client may not have.
    InvalidScope,
    /// Only refresh tokens can be revoked.
    UnsupportedTokenType,
}

impl OAuthErrorCode {
    /// The wire spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
        }
    }
}

/// An OAuth error answer: `{"error", "error_description"?}`, 401 for `invalid_client`
/// (with `WWW-Authenticate`, RFC 6749 §5.2), 400 otherwise.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) code: OAuthErrorCode,
    pub(crate) description: Option<String>,
}

impl OAuthError {
    /// An error with a description.
    pub(crate) fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self { code, description: Some(description.into()) }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code.as_str() });
        if let Some(description) = &self.description {
            body["error_description"] = json!(description);
        }
        let status = if self.code == OAuthErrorCode::InvalidClient {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        let mut response = (status, json_headers(), body.to_string()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cognito\""),
            );
        }
        response
    }
}

fn json_headers() -> [(header::HeaderName, HeaderValue); 3] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, max-age=0")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

use OAuthErrorCode::{
    InvalidClient, InvalidGrant, InvalidRequest, InvalidScope, UnauthorizedClient,
    UnsupportedGrantType,
};

/// The grants `/oauth2/token` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantType {
    /// Exchanges an authorization code.
    AuthorizationCode,
    /// Refreshes with a refresh token.
    RefreshToken,
    /// Machine-to-machine.
    ClientCredentials,
}

impl GrantType {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            _ => None,
        }
    }
}

/// The form of a token request.
#[derive(Debug, Default, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

/// Parses a form body; malformed bodies are `invalid_request`.
pub(crate) fn parse_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, OAuthError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::new(InvalidRequest, "The request body is not a valid form."))
}

/// Decodes an `application/x-www-form-urlencoded` value (RFC 6749 §2.3.1 encodes the Basic
/// credentials so).
fn form_decode(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(|v| v.into_owned())
}

/// The client credentials of a request: Basic first, then the form.
struct Credentials {
    client_id: String,
    /// Alternatives to try for the secret: the raw value, then its form-decoded form.
    secrets: Vec<String>,
}

fn credentials(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Credentials, OAuthError> {
    use base64::Engine as _;
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let basic = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                OAuthError::new(InvalidClient, "The Authorization header is not valid Basic.")
            })?;
        let (id, secret) = basic
            .split_once(':')
            .ok_or_else(|| OAuthError::new(InvalidClient, "Basic credentials need id:secret."))?;
        // Client ids and secrets are `[\w+]+`: decoding only matters for `+`/`%2B`. Cognito
        // itself takes the raw value; RFC 6749 clients send the encoded one.
        let client_id = form_decode(id).unwrap_or_else(|| id.to_owned());
        let mut secrets = vec![secret.to_owned()];
        if let Some(decoded) = form_decode(secret).filter(|d| d != secret) {
            secrets.push(decoded);
        }
        if form_id.is_some_and(|f| f != client_id) {
            return Err(OAuthError::new(InvalidClient, "client_id differs from the Basic one."));
        }
        return Ok(Credentials { client_id, secrets });
    }
    let client_id = form_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| OAuthError::new(InvalidClient, "client_id is required."))?;
    Ok(Credentials {
        client_id: client_id.to_owned(),
        secrets: form_secret.map(str::to_owned).into_iter().collect(),
    })
}

/// The authenticated client: `(pool id, client)`. A client with a secret must prove it.
fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<(String, AppClient), OAuthError> {
    let credentials = credentials(headers, form_id, form_secret)?;
    let state = shared.state.read();
    let unknown = || OAuthError::new(InvalidClient, "Client authentication failed.");
    let (pool, client) = state.client(&credentials.client_id).map_err(|_| unknown())?;
    check_host(&state, headers, &pool.id)?;
    if let Some(secret) = &client.secret {
        let expected = Sha256::digest(secret.as_bytes());
        // Compare digests so the comparison time does not depend on the secret.
        if !credentials.secrets.iter().any(|s| Sha256::digest(s.as_bytes()) == expected) {
            return Err(unknown());
        }
    }
    Ok((pool.id.clone(), client.clone()))
}

/// The pool must have a domain, and a request to a domain host must be for that domain's pool.
fn check_host(
    state: &crate::state::State,
    headers: &HeaderMap,
    pool_id: &str,
) -> Result<(), OAuthError> {
    let has_domain =
        state.oauth.pool(pool_id).is_some_and(|o| o.domain.is_some() || o.custom_domain.is_some());
    if !has_domain {
        return Err(OAuthError::new(InvalidRequest, "The user pool has no domain."));
    }
    match HostTarget::of(headers, &state.oauth) {
        HostTarget::Server => Ok(()),
        HostTarget::Pool(id) if id == pool_id => Ok(()),
        _ => Err(OAuthError::new(InvalidClient, "The client does not belong to this domain.")),
    }
}

/// A context for running token issuance (and its triggers) outside an AWS-JSON request.
pub(crate) fn with_cx<T>(shared: &Shared, run: impl FnOnce(&Cx<'_>) -> T) -> T {
    let meta = RequestMeta::internal();
    run(&Cx { shared, meta: &meta, body: b"{}" })
}

/// `POST /oauth2/token`.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Issuing may call a PreTokenGeneration webhook and sign with RSA: off the async workers.
    let outcome = tokio::task::spawn_blocking(move || token_blocking(&shared, &headers, &body))
        .await
        .unwrap_or_else(|_| Err(OAuthError::new(InvalidRequest, "The request failed.")));
    match outcome {
        Ok(body) => (StatusCode::OK, json_headers(), body.to_string()).into_response(),
        Err(error) => error.into_response(),
    }
}

fn token_blocking(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let form: TokenForm = parse_form(body)?;
    let grant = form
        .grant_type
        .as_deref()
        .ok_or_else(|| OAuthError::new(InvalidRequest, "grant_type is required."))?;
    let grant = GrantType::parse(grant)
        .ok_or_else(|| OAuthError::new(UnsupportedGrantType, "Unsupported grant type."))?;
    let (pool_id, client) =
        authenticate(shared, headers, form.client_id.as_deref(), form.client_secret.as_deref())?;
    shared.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match grant {
        GrantType::ClientCredentials => client_credentials(shared, &pool_id, &client, &form),
        GrantType::AuthorizationCode => authorization_code(shared, &client, &form),
        GrantType::RefreshToken => refresh(shared, &client, &form),
    }
}

/// Scopes asked for (space-separated), or all the client's allowed scopes when `None`;
/// `invalid_scope` for any the client may not have or no resource server defines any more.
pub(crate) fn grant_scopes(
    state: &crate::state::State,
    pool_id: &str,
    allowed: &[String],
    requested: Option<&str>,
) -> Result<Vec<String>, String> {
    let pool = state.oauth.pool(pool_id);
    let exists = |scope: &str| {
        pool.is_some_and(|p| p.scope_exists(scope)) || super::STANDARD_SCOPES.contains(&scope)
    };
    let mut scopes: Vec<String> = Vec::new();
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            // Scopes of a deleted resource server are inactive: left out, not refused.
            scopes.extend(allowed.iter().filter(|s| exists(s)).cloned());
        }
        Some(requested) => {
            for scope in requested.split(' ').filter(|s| !s.is_empty()) {
                if !allowed.iter().any(|a| a == scope) || !exists(scope) {
                    return Err(format!("Invalid scope requested: {scope}"));
                }
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            }
        }
    }
    Ok(scopes)
}

fn client_credentials(
    shared: &Shared,
    pool_id: &str,
    client: &AppClient,
    form: &TokenForm,
) -> Result<Value, OAuthError> {
    let oauth = ClientOAuth::of(&client.settings);
    if client.secret.is_none() || !oauth.allows(OAuthFlow::ClientCredentials) {
        return Err(OAuthError::new(
            UnauthorizedClient,
            "The client may not use client_credentials.",
        ));
    }
    let now = shared.clock.now_secs();
    let (keys, issuer, scopes) = {
        let state = shared.state.read();
        let scopes = grant_scopes(&state, pool_id, &oauth.scopes, form.scope.as_deref())
            .map_err(|message| OAuthError::new(InvalidScope, message))?;
        // Only custom scopes reach a machine token.
        if scopes.is_empty() || scopes.iter().any(|s| super::STANDARD_SCOPES.contains(&s.as_str()))
        {
            return Err(OAuthError::new(InvalidScope, "No custom scope to grant."));
        }
        let pool = state.pool(pool_id).map_err(|_| OAuthError::new(InvalidClient, "No pool."))?;
        (Arc::clone(&pool.keys), pool.issuer(shared.config.issuer_base.as_deref()), scopes)
    };
    let (access_ttl, _, _) = client.lifetimes();
    let claims = json!({
        "sub": client.id,
        "token_use": "access",
        "scope": scopes.join(" "),
        "auth_time": now,
        "iss": issuer,
        "exp": now.saturating_add(access_ttl),
        "iat": now,
        "version": 2,
        "jti": uuid::Uuid::new_v4().to_string(),
        "client_id": client.id,
    });
    let access_token = keys.access_key().sign_jwt(&claims);
    Ok(json!({ "access_token": access_token, "expires_in": access_ttl, "token_type": "Bearer" }))
}

/// `base64url(SHA-256(verifier))` without padding (RFC 7636 S256).
pub(crate) fn s256(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn authorization_code(
    shared: &Shared,
    client: &AppClient,
    form: &TokenForm,
) -> Result<Value, OAuthError> {
    let code =
        form.code.as_deref().ok_or_else(|| OAuthError::new(InvalidRequest, "code is required."))?;
    let redirect_uri = form
        .redirect_uri
        .as_deref()
        .ok_or_else(|| OAuthError::new(InvalidRequest, "redirect_uri is required."))?;
    let now = shared.clock.now_secs();
    // Single use: the code is gone whatever the outcome of this attempt.
    let grant: AuthCode =
        shared.state.write().oauth.codes.remove(code).filter(|g| g.expires_at > now).ok_or_else(
            || OAuthError::new(InvalidGrant, "The code is invalid, used or expired."),
        )?;
    if grant.client_id != client.id {
        return Err(OAuthError::new(InvalidGrant, "The code was issued to another client."));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::new(UnauthorizedClient, "invalid_redirect"));
    }
    if let Some(challenge) = &grant.code_challenge {
        let verifier = form
            .code_verifier
            .as_deref()
            .ok_or_else(|| OAuthError::new(InvalidRequest, "code_verifier is required."))?;
        let matches =
            Sha256::digest(s256(verifier).as_bytes()) == Sha256::digest(challenge.as_bytes());
        if !matches {
            return Err(OAuthError::new(InvalidGrant, "The code_verifier does not match."));
        }
    }
    let claims = OAuthClaims { scopes: grant.scopes.clone(), nonce: grant.nonce.clone() };
    let result = issue_user_tokens(
        shared,
        &grant.pool_id,
        &client.id,
        &grant.username,
        grant.auth_time,
        RefreshMode::New,
        &claims,
    )?;
    Ok(to_oauth(&result))
}

/// Issues hosted-UI tokens for a user (used by the code exchange and the implicit grant).
pub(crate) fn issue_user_tokens(
    shared: &Shared,
    pool_id: &str,
    client_id: &str,
    username: &str,
    auth_time: u64,
    refresh: RefreshMode,
    claims: &OAuthClaims,
) -> Result<Value, OAuthError> {
    let grant = TokenGrant {
        pool_id: pool_id.to_owned(),
        client_id: client_id.to_owned(),
        username: username.to_owned(),
        auth_time: Some(auth_time),
        device_key: None,
        new_device: false,
        refresh,
        source: "TokenGeneration_HostedAuth",
    };
    with_cx(shared, |cx| issue_oauth(cx, grant, claims)).map_err(grant_error)
}

fn grant_error(error: CognitoError) -> OAuthError {
    // A trigger's refusal or a vanished user: the grant cannot be honoured.
    tracing::info!(kind = error.kind(), "token issuance refused");
    OAuthError::new(InvalidGrant, error.message().to_owned())
}

/// `AuthenticationResult` members → the token endpoint's snake_case members.
pub(crate) fn to_oauth(result: &Value) -> Value {
    let mut out = json!({
        "access_token": result["AccessToken"],
        "expires_in": result["ExpiresIn"],
        "token_type": "Bearer",
    });
    if let Some(id) = result.get("IdToken") {
        out["id_token"] = id.clone();
    }
    if let Some(refresh) = result.get("RefreshToken") {
        out["refresh_token"] = refresh.clone();
    }
    out
}

fn refresh(shared: &Shared, client: &AppClient, form: &TokenForm) -> Result<Value, OAuthError> {
    let token = form
        .refresh_token
        .as_deref()
        .ok_or_else(|| OAuthError::new(InvalidRequest, "refresh_token is required."))?;
    let now = shared.clock.now_secs();
    let invalid = || OAuthError::new(InvalidGrant, "Invalid Refresh Token");
    let (record, scopes) = {
        let state = shared.state.read();
        let (record, _) = state.tokens.refresh_record(token).ok_or_else(invalid)?;
        if record.revoked || record.expires_at <= now || record.client_id != client.id {
            return Err(invalid());
        }
        let scopes = record.scopes.clone();
        (record, scopes)
    };
    {
        let state = shared.state.read();
        let pool = state.pool(&record.pool_id).map_err(|_| invalid())?;
        let user = pool.users.get(&pool.user_key(&record.username)).ok_or_else(invalid)?;
        if !user.enabled {
            return Err(OAuthError::new(InvalidGrant, "User is disabled."));
        }
    }
    let grant = TokenGrant {
        pool_id: record.pool_id.clone(),
        client_id: client.id.clone(),
        username: record.username.clone(),
        auth_time: Some(record.auth_time),
        device_key: record.device_key.clone(),
        new_device: false,
        refresh: RefreshMode::Keep { origin_jti: record.origin_jti.clone() },
        source: "TokenGeneration_RefreshTokens",
    };
    // A family from the hosted UI keeps its scopes; one from an API sign-in refreshes as the
    // API would.
    let result = with_cx(shared, |cx| match &scopes {
        Some(scopes) => {
            issue_oauth(cx, grant, &OAuthClaims { scopes: scopes.clone(), nonce: None })
        }
        None => issue(cx, grant),
    })
    .map_err(grant_error)?;
    Ok(to_oauth(&result))
}

/// The standard claims each OIDC scope releases at userInfo.
fn scope_claims(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
            "address",
        ],
        "email" => &["email", "email_verified"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

fn bearer_error(status: StatusCode, code: &str, description: &str) -> Response {
    let value = format!("Bearer error=\"{code}\", error_description=\"{description}\"");
    let mut response = (status, json_headers(), Body::empty()).into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// `GET/POST /oauth2/userInfo`: the user's attributes the token's scopes release.
pub(crate) async fn user_info(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return bearer_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Bad OAuth2 request at UserInfo Endpoint",
        );
    };
    let invalid = || {
        bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Access token is expired, disabled, or deleted, or the user has globally signed out.",
        )
    };
    let now = shared.clock.now_secs();
    let state = shared.state.read();
    let Some(record) = with_cx(&shared, |cx| crate::ops::access_record(cx, &state, token)) else {
        return invalid();
    };
    let scopes: Vec<&str> = record.scope.as_deref().unwrap_or_default().split(' ').collect();
    if record.expires_at <= now
        || state.tokens.revoked(
            &record.pool_id,
            &record.username,
            &record.origin_jti,
            record.issued_ms,
        )
        || !scopes.contains(&"openid")
    {
        return invalid();
    }
    let Some(pool) = state.pools.get(&record.pool_id) else { return invalid() };
    let Some(user) = pool.users.get(&pool.user_key(&record.username)).filter(|u| u.enabled) else {
        return invalid();
    };
    let readable = pool
        .clients
        .get(&record.client_id)
        .map(|c| c.string_list("ReadAttributes"))
        .unwrap_or_default();
    // `openid` alone releases every readable attribute; otherwise the scopes' claims.
    let only_openid = scopes.iter().all(|s| !matches!(*s, "profile" | "email" | "phone"));
    let mut out = serde_json::Map::new();
    for (name, value) in &user.attributes {
        let by_scope = only_openid
            || name.starts_with("custom:") && scopes.contains(&"profile")
            || scopes.iter().any(|s| scope_claims(s).contains(&name.as_str()));
        let by_client = readable.is_empty() || readable.contains(name) || name == "sub";
        if (by_scope && by_client) || name == "sub" {
            out.insert(name.clone(), json!(value));
        }
    }
    out.insert("username".into(), json!(user.username));
    (StatusCode::OK, json_headers(), Value::Object(out).to_string()).into_response()
}

/// The form of a revocation request.
#[derive(Debug, Deserialize)]
struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /oauth2/revoke`: revokes a refresh token and its family (RFC 7009).
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = tokio::task::spawn_blocking(move || {
        let form: RevokeForm = parse_form(&body)?;
        let token = form
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::new(InvalidRequest, "token is required."))?;
        let (_, client) = authenticate(
            &shared,
            &headers,
            form.client_id.as_deref(),
            form.client_secret.as_deref(),
        )?;
        // RevokeToken has exactly this endpoint's semantics; the client is authenticated.
        let mut request = json!({ "Token": token, "ClientId": client.id });
        if let Some(secret) = &client.secret {
            request["ClientSecret"] = json!(secret);
        }
        shared.call("RevokeToken", request).map(|_| ()).map_err(|error| match error.kind() {
            "UnsupportedTokenTypeException" => {
                OAuthError::new(OAuthErrorCode::UnsupportedTokenType, error.message().to_owned())
            }
            "UnauthorizedException" => OAuthError::new(InvalidClient, error.message().to_owned()),
            _ => OAuthError::new(InvalidRequest, error.message().to_owned()),
        })
    })
    .await
    .unwrap_or_else(|_| Err(OAuthError::new(InvalidRequest, "The request failed.")));
    match outcome {
        Ok(()) => (StatusCode::OK, json_headers(), Body::empty()).into_response(),
        Err(error) => error.into_response(),
    }
}
