//! Small OpenID Connect issuers hosted under the test-control prefix, so tests can sign users
//! in "with Google" (or any OIDC provider) without the internet.
//!
//! Each issuer has a name (a path segment), an `iss` value, optional audiences (the client id
//! list of an IAM OIDC provider) and its own RSA key, made on first use. Issuers named `google`
//! and `apple` use the real issuers (`https://accounts.google.com`,
//! `https://appleid.apple.com`), so identity pools trust them under the `Logins` keys
//! `accounts.google.com` and `appleid.apple.com`; any other name gets
//! `http://<server>/_mock/oidc/<name>`, trusted through `OpenIdConnectProviderARNs`
//! (`arn:aws:iam::000000000000:oidc-provider/<server>/_mock/oidc/<name>`).
//!
//! - `GET /_mock/oidc/{name}/.well-known/openid-configuration` and `.../jwks.json`
//! - `GET /_mock/oidc/{name}`, `POST /_mock/oidc/{name}` `{"issuer"?, "audiences"?}`: describe
//!   or configure an issuer
//! - `POST /_mock/oidc/{name}/token` `{"sub", "aud", "expires_in_seconds"?, "claims"?}`: mint an
//!   ID token; the same path with a form body `grant_type=authorization_code` redeems a code
//!   of the authorization endpoint (a relying party's token request)
//! - `GET /_mock/oidc/{name}/authorize`: the external provider's sign-in page, where the
//!   "external user" is chosen (`sub`, `email`, extra claims as a JSON object); its form posts
//!   back to the same path, which redirects to `redirect_uri` with `code` and `state`. Tests
//!   skip the page with `sub=...` (and optional `email=...`, `claims={...}`) in the query, which
//!   approves at once, or `error=access_denied`, which refuses at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::keys::LazyKey;
use crate::wire::CognitoError;
use crate::wire::{ControlJson, ok};

/// Most issuers a server hosts.
const MAX_ISSUERS: usize = 64;
/// Longest ID token lifetime a test can ask for (ten years).
const MAX_LIFETIME_SECONDS: u64 = 315_360_000;
/// How long a code of an issuer's authorization endpoint stays redeemable.
const CODE_LIFETIME_SECONDS: u64 = 300;
/// Most unredeemed codes kept at once (reloading a page must not grow memory without bound).
const MAX_CODES: usize = 1024;
/// Lifetime of the tokens a code is redeemed for.
const CODE_TOKEN_LIFETIME_SECONDS: u64 = 3600;

/// One hosted issuer.
#[derive(Debug)]
pub(crate) struct Issuer {
    name: String,
    issuer: String,
    audiences: Vec<String>,
    key: Arc<LazyKey>,
}

impl Issuer {
    /// Its name (the path segment under `/_mock/oidc/`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The `iss` of its tokens.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Audiences it was configured with (empty: any).
    pub(crate) fn audiences(&self) -> Vec<String> {
        self.audiences.clone()
    }

    /// The `Logins` key (and IAM OIDC provider name) of this issuer: `iss` without the scheme.
    pub(crate) fn login_key(&self) -> String {
        login_key(&self.issuer)
    }

    /// Checks a token's signature against this issuer's key; returns the claims.
    pub(crate) fn verify(&self, token: &str) -> Option<Value> {
        self.key.ready()?.verify_jwt(token)
    }

    fn describe(&self, base_url: &str) -> OidcIssuerInfo {
        OidcIssuerInfo {
            name: self.name.clone(),
            issuer: self.issuer.clone(),
            login_key: self.login_key(),
            provider_arn: format!("arn:aws:iam::000000000000:oidc-provider/{}", self.login_key()),
            jwks_uri: format!("{base_url}/_mock/oidc/{}/.well-known/jwks.json", self.name),
            audiences: self.audiences.clone(),
        }
    }
}

/// `issuer` without its scheme or a trailing `/`.
pub(crate) fn login_key(issuer: &str) -> String {
    let without_scheme = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))
        .unwrap_or(issuer);
    without_scheme.trim_end_matches('/').to_owned()
}

/// What a test needs to know about a hosted issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OidcIssuerInfo {
    /// The issuer's name (its path segment under `/_mock/oidc/`).
    pub name: String,
    /// The `iss` of its tokens.
    pub issuer: String,
    /// The `Logins` key identity pools trust it under: `iss` without `https://`.
    pub login_key: String,
    /// An IAM OIDC provider ARN naming it, for `OpenIdConnectProviderARNs`.
    pub provider_arn: String,
    /// Where its public keys are served.
    pub jwks_uri: String,
    /// Accepted audiences for logins through `OpenIdConnectProviderARNs` (empty: any).
    pub audiences: Vec<String>,
}

/// Settings of a hosted issuer, for [`crate::MockServerHandle::configure_oidc_issuer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OidcIssuerOptions {
    /// The `iss` value, e.g. `https://login.example.com`; `None` keeps the default.
    pub issuer: Option<String>,
    /// The client ids an IAM OIDC provider would list; logins through
    /// `OpenIdConnectProviderARNs` must have one of them as `aud` (empty: any audience).
    pub audiences: Vec<String>,
}

impl OidcIssuerOptions {
    /// Sets the `iss` value.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds an accepted audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }
}

/// An ID token to mint with a hosted issuer (see [`crate::MockServerHandle::mint_id_token`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IdTokenRequest {
    /// The user (`sub`).
    pub sub: String,
    /// The client the token is for (`aud`, also `azp`).
    pub aud: String,
    /// Lifetime on the server clock (default one hour; 0 mints an already expired token).
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
    /// Extra claims (`email`, `nonce`, ...); they may also override the standard ones (e.g. a
    /// foreign `iss`, to forge a token).
    #[serde(default)]
    pub claims: Map<String, Value>,
}

impl IdTokenRequest {
    /// A token for user `sub` and client `aud`, valid for an hour.
    pub fn new(sub: impl Into<String>, aud: impl Into<String>) -> Self {
        Self { sub: sub.into(), aud: aud.into(), expires_in_seconds: None, claims: Map::new() }
    }

    /// Sets the lifetime (whole seconds).
    pub fn expires_in(mut self, lifetime: std::time::Duration) -> Self {
        self.expires_in_seconds = Some(lifetime.as_secs());
        self
    }

    /// Adds (or overrides) a claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

/// The hosted issuers.
#[derive(Debug, Default)]
pub(crate) struct Issuers {
    issuers: Mutex<BTreeMap<String, Arc<Issuer>>>,
    /// Unredeemed authorization codes (not persisted: they live minutes).
    codes: Mutex<HashMap<String, IssuedCode>>,
}

/// An authorization code an issuer's sign-in page gave out: who signed in, for whom.
#[derive(Debug, Clone)]
struct IssuedCode {
    issuer: String,
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    scope: Option<String>,
    /// The chosen user's claims (`sub`, `email`, extras).
    claims: Map<String, Value>,
    expires_at: u64,
}

/// What redeeming a code yields.
#[derive(Debug, Clone)]
pub(crate) struct CodeTokens {
    pub(crate) id_token: String,
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
}

/// Why a code cannot be redeemed, as an OAuth 2.0 token-endpoint error.
#[derive(Debug, Clone)]
pub(crate) struct CodeRefusal {
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl CodeRefusal {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self { error, description: description.into() }
    }
}

fn check_name(name: &str) -> Result<(), CognitoError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(CognitoError::invalid_parameter(
            "An OIDC issuer name is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.",
        ))
    }
}

fn default_issuer(name: &str, base_url: &str) -> String {
    match name {
        "google" => "https://accounts.google.com".to_owned(),
        "apple" => "https://appleid.apple.com".to_owned(),
        _ => format!("{base_url}/_mock/oidc/{name}"),
    }
}

impl Issuers {
    /// The issuer called `name`, created with default settings if needed.
    pub(crate) fn get_or_create(
        &self,
        name: &str,
        base_url: &str,
    ) -> Result<Arc<Issuer>, CognitoError> {
        check_name(name)?;
        let mut issuers = self.issuers.lock();
        if let Some(issuer) = issuers.get(name) {
            return Ok(Arc::clone(issuer));
        }
        if issuers.len() >= MAX_ISSUERS {
            return Err(CognitoError::limit_exceeded(
                "auth-mock-server hosts at most 64 OIDC issuers.",
            ));
        }
        let issuer = Arc::new(Issuer {
            name: name.to_owned(),
            issuer: default_issuer(name, base_url),
            audiences: Vec::new(),
            key: Arc::new(LazyKey::default()),
        });
        issuer.key.prepare_in_background();
        issuers.insert(name.to_owned(), Arc::clone(&issuer));
        Ok(issuer)
    }

    /// Creates or reconfigures an issuer (keeping its key).
    pub(crate) fn configure(
        &self,
        name: &str,
        options: OidcIssuerOptions,
        base_url: &str,
    ) -> Result<Arc<Issuer>, CognitoError> {
        let existing = self.get_or_create(name, base_url)?;
        let issuer = options.issuer.unwrap_or_else(|| existing.issuer.clone());
        if !(issuer.starts_with("https://") || issuer.starts_with("http://"))
            || issuer.len() > 255
            || issuer.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(CognitoError::invalid_parameter(
                "An OIDC issuer is an http(s) URL of at most 255 characters.",
            ));
        }
        let mut issuers = self.issuers.lock();
        if issuers
            .values()
            .any(|other| other.name != name && login_key(&other.issuer) == login_key(&issuer))
        {
            return Err(CognitoError::invalid_parameter(format!(
                "Another hosted OIDC issuer already uses the issuer {issuer}."
            )));
        }
        let updated = Arc::new(Issuer {
            name: name.to_owned(),
            issuer,
            audiences: options.audiences,
            key: Arc::clone(&existing.key),
        });
        issuers.insert(name.to_owned(), Arc::clone(&updated));
        Ok(updated)
    }

    /// The hosted issuer whose `iss` (without scheme) is this `Logins` key.
    pub(crate) fn by_login_key(&self, key: &str) -> Option<Arc<Issuer>> {
        self.issuers.lock().values().find(|issuer| issuer.login_key() == key).cloned()
    }

    /// The hosted issuer called `name`, if it exists.
    fn get(&self, name: &str) -> Option<Arc<Issuer>> {
        self.issuers.lock().get(name).cloned()
    }

    /// The hosted issuer called `name`, if it exists.
    pub(crate) fn named(&self, name: &str) -> Option<Arc<Issuer>> {
        self.get(name)
    }

    /// Forgets every issuer.
    pub(crate) fn reset(&self) {
        self.issuers.lock().clear();
        self.codes.lock().clear();
    }
}

/// A hosted issuer in the state file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct IssuerSnapshot {
    name: String,
    issuer: String,
    audiences: Vec<String>,
    /// PKCS#8 DER, base64; absent when the key was never made.
    key: Option<String>,
}

impl Issuers {
    /// The issuers for the state file.
    pub(crate) fn snapshot(&self) -> Vec<IssuerSnapshot> {
        use base64::Engine as _;
        self.issuers
            .lock()
            .values()
            .map(|i| IssuerSnapshot {
                name: i.name.clone(),
                issuer: i.issuer.clone(),
                audiences: i.audiences.clone(),
                key: i.key.pkcs8().map(|der| base64::engine::general_purpose::STANDARD.encode(der)),
            })
            .collect()
    }

    /// Restores issuers from the state file.
    pub(crate) fn restore(&self, snapshots: Vec<IssuerSnapshot>) -> Result<(), String> {
        use base64::Engine as _;
        let mut issuers = self.issuers.lock();
        for snapshot in snapshots.into_iter().take(MAX_ISSUERS) {
            check_name(&snapshot.name).map_err(|e| e.message().to_owned())?;
            let key = match snapshot.key {
                Some(b64) => {
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| format!("OIDC issuer {}: bad key: {e}", snapshot.name))?;
                    LazyKey::from_pkcs8(&der)
                        .ok_or_else(|| format!("OIDC issuer {}: unusable key", snapshot.name))?
                }
                None => LazyKey::default(),
            };
            issuers.insert(
                snapshot.name.clone(),
                Arc::new(Issuer {
                    name: snapshot.name,
                    issuer: snapshot.issuer,
                    audiences: snapshot.audiences,
                    key: Arc::new(key),
                }),
            );
        }
        Ok(())
    }
}

impl Shared {
    /// Describes (creating if needed) a hosted issuer.
    pub(crate) fn oidc_issuer(&self, name: &str) -> Result<OidcIssuerInfo, CognitoError> {
        Ok(self.oidc.get_or_create(name, &self.config.url)?.describe(&self.config.url))
    }

    /// Configures a hosted issuer.
    pub(crate) fn configure_oidc_issuer(
        &self,
        name: &str,
        options: OidcIssuerOptions,
    ) -> Result<OidcIssuerInfo, CognitoError> {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.oidc.configure(name, options, &self.config.url)?.describe(&self.config.url))
    }

    /// Mints an ID token (may wait for the issuer's key: call off the async workers).
    pub(crate) fn mint_id_token(
        &self,
        name: &str,
        request: &IdTokenRequest,
    ) -> Result<(String, u64), CognitoError> {
        let issuer = self.oidc.get_or_create(name, &self.config.url)?;
        let lifetime = request.expires_in_seconds.unwrap_or(3600);
        if lifetime > MAX_LIFETIME_SECONDS {
            return Err(CognitoError::invalid_parameter(
                "expires_in_seconds is at most 315360000 (ten years).",
            ));
        }
        if request.sub.is_empty() || request.aud.is_empty() {
            return Err(CognitoError::invalid_parameter("sub and aud must not be empty."));
        }
        let now = self.clock.now_secs();
        let exp = now.saturating_add(lifetime);
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(issuer.issuer));
        claims.insert("azp".into(), json!(request.aud));
        claims.insert("aud".into(), json!(request.aud));
        claims.insert("sub".into(), json!(request.sub));
        claims.insert("iat".into(), json!(now));
        claims.insert("auth_time".into(), json!(now));
        claims.insert("exp".into(), json!(exp));
        claims.extend(request.claims.clone());
        // The issuer and its key must reach the state file.
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok((issuer.key.get().sign_jwt(&Value::Object(claims)), exp))
    }

    /// Gives out an authorization code of issuer `name` for the user with `claims`.
    fn oidc_issue_code(&self, mut code: IssuedCode) -> Result<String, CognitoError> {
        self.oidc.get_or_create(&code.issuer, &self.config.url)?;
        let now = self.clock.now_secs();
        code.expires_at = now.saturating_add(CODE_LIFETIME_SECONDS);
        let value = crate::ops::random_token(32);
        let mut codes = self.oidc.codes.lock();
        codes.retain(|_, c| c.expires_at > now);
        if codes.len() >= MAX_CODES {
            return Err(CognitoError::limit_exceeded(
                "Too many unredeemed authorization codes; redeem or let them expire.",
            ));
        }
        codes.insert(value.clone(), code);
        Ok(value)
    }

    /// Redeems a code of issuer `name` (once): an ID token for `client_id` with the chosen
    /// user's claims and the request's nonce, and an access token. May wait for the issuer's
    /// key: call off the async workers.
    pub(crate) fn oidc_redeem_code(
        &self,
        name: &str,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<CodeTokens, CodeRefusal> {
        let now = self.clock.now_secs();
        let issued = self.oidc.codes.lock().remove(code);
        let Some(issued) = issued.filter(|c| c.expires_at > now && c.issuer == name) else {
            return Err(CodeRefusal::new("invalid_grant", "The code is unknown, used or expired."));
        };
        if issued.client_id != client_id {
            return Err(CodeRefusal::new(
                "invalid_grant",
                "The code was issued to another client.",
            ));
        }
        if issued.redirect_uri != redirect_uri {
            return Err(CodeRefusal::new("invalid_grant", "redirect_uri does not match."));
        }
        let sub = issued.claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut request = IdTokenRequest::new(sub.clone(), client_id)
            .expires_in(std::time::Duration::from_secs(CODE_TOKEN_LIFETIME_SECONDS));
        request.claims = issued.claims;
        if let Some(nonce) = issued.nonce {
            request.claims.insert("nonce".into(), json!(nonce));
        }
        let (id_token, _) = self
            .mint_id_token(name, &request)
            .map_err(|e| CodeRefusal::new("invalid_request", e.message().to_owned()))?;
        let issuer = self
            .oidc
            .get(name)
            .ok_or_else(|| CodeRefusal::new("invalid_grant", "The issuer is gone."))?;
        let access_token = issuer.key.get().sign_jwt(&json!({
            "iss": issuer.issuer,
            "sub": sub,
            "aud": client_id,
            "client_id": client_id,
            "scope": issued.scope.unwrap_or_default(),
            "token_use": "access",
            "iat": now,
            "exp": now.saturating_add(CODE_TOKEN_LIFETIME_SECONDS),
        }));
        Ok(CodeTokens { id_token, access_token, expires_in: CODE_TOKEN_LIFETIME_SECONDS })
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_mock/oidc/{name}", get(get_issuer).post(post_issuer))
        .route("/_mock/oidc/{name}/token", post(post_token))
        .route("/_mock/oidc/{name}/authorize", get(authorize_page).post(authorize_submit))
        .route("/_mock/oidc/{name}/.well-known/openid-configuration", get(discovery))
        .route("/_mock/oidc/{name}/.well-known/jwks.json", get(jwks))
}

fn not_found(name: &str) -> Response<Body> {
    CognitoError::resource_not_found(format!(
        "No OIDC issuer {name} is hosted (mint a token or POST /_mock/oidc/{name} first)."
    ))
    .with_status(404)
    .into_response()
}

async fn get_issuer(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response<Body> {
    match shared.oidc_issuer(&name) {
        Ok(info) => ok(json!(info)),
        Err(error) => error.into_response(),
    }
}

async fn post_issuer(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    ControlJson(options): ControlJson<OidcIssuerOptions>,
) -> Response<Body> {
    match shared.configure_oidc_issuer(&name, options) {
        Ok(info) => ok(json!(info)),
        Err(error) => error.into_response(),
    }
}

async fn post_token(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        return code_grant(shared, name, &headers, &body).await;
    }
    let request = match ControlJson::<IdTokenRequest>::parse(&body) {
        Ok(ControlJson(request)) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let minted = tokio::task::spawn_blocking(move || {
        let (token, exp) = shared.mint_id_token(&name, &request)?;
        let info = shared.oidc_issuer(&name)?;
        Ok::<_, CognitoError>(json!({
            "id_token": token,
            "expires_at": exp,
            "issuer": info.issuer,
            "login_key": info.login_key,
        }))
    })
    .await;
    match minted {
        Ok(Ok(value)) => ok(value),
        Ok(Err(error)) => error.into_response(),
        Err(_) => CognitoError::internal("Key generation failed.").into_response(),
    }
}

async fn discovery(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response<Body> {
    let Some(issuer) = shared.oidc.get(&name) else { return not_found(&name) };
    let base = &shared.config.url;
    ok(json!({
        "issuer": issuer.issuer,
        "jwks_uri": format!("{base}/_mock/oidc/{name}/.well-known/jwks.json"),
        "authorization_endpoint": format!("{base}/_mock/oidc/{name}/authorize"),
        "token_endpoint": format!("{base}/_mock/oidc/{name}/token"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token"],
        "grant_types_supported": ["authorization_code"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "subject_types_supported": ["public"],
        "claims_supported": ["aud", "azp", "email", "email_verified", "exp", "iat", "iss", "nonce", "sub"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response<Body> {
    let Some(issuer) = shared.oidc.get(&name) else { return not_found(&name) };
    let key = Arc::clone(&issuer.key);
    match tokio::task::spawn_blocking(move || json!({ "keys": [key.get().jwk()] })).await {
        Ok(jwks) => ok(jwks),
        Err(_) => CognitoError::internal("Key generation failed.").into_response(),
    }
}

/// The form of a token request with `grant_type=authorization_code`.
#[derive(Debug, Default, Deserialize)]
struct CodeGrantForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
}

/// The client id of an HTTP Basic `Authorization` header (the secret is not checked: the
/// hosted issuers know no client registry).
fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let encoded = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let id = text.split_once(':').map_or(text.as_str(), |(id, _)| id);
    let spaced = id.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(|v| v.into_owned())
}

fn oauth_error(error: &str, description: &str) -> Response<Body> {
    let mut response = (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /_mock/oidc/{name}/token` with a form: redeems an authorization code.
async fn code_grant(
    shared: Arc<Shared>,
    name: String,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Body> {
    let Ok(form) = serde_urlencoded::from_bytes::<CodeGrantForm>(body) else {
        return oauth_error("invalid_request", "The request body is not a valid form.");
    };
    if form.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(
            "unsupported_grant_type",
            "The hosted issuers support grant_type=authorization_code.",
        );
    }
    let Some(client_id) = basic_client_id(headers).or(form.client_id) else {
        return oauth_error("invalid_client", "client_id is required.");
    };
    let (Some(code), Some(redirect_uri)) = (form.code, form.redirect_uri) else {
        return oauth_error("invalid_request", "code and redirect_uri are required.");
    };
    let redeemed = tokio::task::spawn_blocking(move || {
        shared.oidc_redeem_code(&name, &code, &client_id, &redirect_uri)
    })
    .await;
    match redeemed {
        Ok(Ok(tokens)) => {
            let mut response = ok(json!({
                "access_token": tokens.access_token,
                "id_token": tokens.id_token,
                "token_type": "Bearer",
                "expires_in": tokens.expires_in,
            }));
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(Err(refusal)) => oauth_error(refusal.error, &refusal.description),
        Err(_) => CognitoError::internal("Key generation failed.").into_response(),
    }
}

/// The query of the authorization endpoint (also kept by its form's action).
#[derive(Debug, Default, Deserialize)]
struct ProviderAuthorize {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    login_hint: Option<String>,
    /// Auto-approve as this user (skips the page).
    sub: Option<String>,
    email: Option<String>,
    /// Extra claims, a JSON object.
    claims: Option<String>,
    /// Auto-refuse with this error (e.g. `access_denied`).
    error: Option<String>,
}

/// The sign-in page's fields.
#[derive(Debug, Default, Deserialize)]
struct ProviderForm {
    sub: Option<String>,
    email: Option<String>,
    claims: Option<String>,
    /// Set by the page's "Deny" button.
    deny: Option<String>,
}

/// A checked authorization request.
struct ProviderRequest {
    client_id: String,
    redirect: url::Url,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
}

impl ProviderRequest {
    fn redirect_with(&self, pairs: &[(&str, &str)]) -> Response<Body> {
        let mut target = self.redirect.clone();
        {
            let mut query = target.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        let mut response = StatusCode::FOUND.into_response();
        if let Ok(value) = HeaderValue::from_str(target.as_str()) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    }
}

fn bad_page(description: &str) -> Response<Body> {
    crate::oauth::pages::error_page(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Checks an authorization request; `Err` is the text of the error page (the redirect URI
/// is not usable).
fn check_provider_request(
    name: &str,
    params: &ProviderAuthorize,
) -> Result<ProviderRequest, String> {
    check_name(name).map_err(|e| e.message().to_owned())?;
    let client_id = params
        .client_id
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| "client_id is required.".to_owned())?;
    let redirect = params
        .redirect_uri
        .as_deref()
        .and_then(|uri| url::Url::parse(uri).ok())
        .filter(|uri| matches!(uri.scheme(), "http" | "https") && uri.fragment().is_none())
        .ok_or_else(|| "redirect_uri must be an absolute http(s) URL.".to_owned())?;
    Ok(ProviderRequest {
        client_id,
        redirect,
        scope: params.scope.clone(),
        state: params.state.clone(),
        nonce: params.nonce.clone(),
    })
}

/// Issues a code for the chosen user and sends the browser back to the relying party.
fn approve(
    shared: &Shared,
    name: &str,
    request: &ProviderRequest,
    sub: &str,
    email: Option<&str>,
    extra: Option<&str>,
) -> Response<Body> {
    let sub = sub.trim();
    if sub.is_empty() || sub.len() > 255 {
        return bad_page("sub must be 1 to 255 characters.");
    }
    let mut claims = Map::new();
    if let Some(extra) = extra.map(str::trim).filter(|e| !e.is_empty()) {
        match serde_json::from_str::<Value>(extra) {
            Ok(Value::Object(extra)) => claims.extend(extra),
            _ => return bad_page("claims must be a JSON object."),
        }
    }
    if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) {
        claims.insert("email".into(), json!(email));
        claims.entry("email_verified").or_insert(json!(true));
    }
    // The chosen subject wins over one in the extras; the issuer's own claims are not
    // the user's to choose.
    claims.insert("sub".into(), json!(sub));
    for reserved in ["iss", "aud", "azp", "exp", "iat", "nonce"] {
        claims.remove(reserved);
    }
    let code = IssuedCode {
        issuer: name.to_owned(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect.to_string(),
        nonce: request.nonce.clone(),
        scope: request.scope.clone(),
        claims,
        expires_at: 0,
    };
    match shared.oidc_issue_code(code) {
        Ok(code) => request.redirect_with(&[("code", &code)]),
        Err(error) => bad_page(error.message()),
    }
}

/// `GET /_mock/oidc/{name}/authorize`: the provider's sign-in page, or an immediate answer
/// when the query chooses the user (`sub`) or the refusal (`error`).
async fn authorize_page(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response<Body> {
    let query = query.unwrap_or_default();
    let Ok(params) = serde_urlencoded::from_str::<ProviderAuthorize>(&query) else {
        return bad_page("The query string is malformed.");
    };
    let request = match check_provider_request(&name, &params) {
        Ok(request) => request,
        Err(problem) => return bad_page(&problem),
    };
    if params.response_type.as_deref() != Some("code") {
        return request.redirect_with(&[
            ("error", "unsupported_response_type"),
            ("error_description", "The hosted issuers support response_type=code."),
        ]);
    }
    if let Some(error) = params.error.as_deref() {
        let error =
            if error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && !error.is_empty() {
                error
            } else {
                "access_denied"
            };
        return request.redirect_with(&[("error", error)]);
    }
    if let Some(sub) = params.sub.as_deref() {
        return approve(
            &shared,
            &name,
            &request,
            sub,
            params.email.as_deref(),
            params.claims.as_deref(),
        );
    }
    let hint = params.login_hint.as_deref().unwrap_or_default();
    let (sub, email) = if hint.contains('@') { ("", hint) } else { (hint, "") };
    provider_page(&name, &query, sub, email)
}

/// The provider's sign-in form.
fn provider_page(name: &str, query: &str, sub: &str, email: &str) -> Response<Body> {
    use crate::oauth::pages::escape;
    let body = format!(
        "<p class=\"note\" id=\"intro\">auth-mock-server plays the identity provider \
<b>{issuer}</b>: choose the external user to sign in as.</p>\
<form method=\"post\" action=\"/_mock/oidc/{issuer}/authorize?{query}\">\
<label for=\"sub\">Subject (sub)<input id=\"sub\" name=\"sub\" type=\"text\" required value=\"{sub}\"></label>\
<label for=\"email\">Email<input id=\"email\" name=\"email\" type=\"email\" value=\"{email}\"></label>\
<label for=\"claims\">Extra claims (JSON object)<input id=\"claims\" name=\"claims\" type=\"text\" \
placeholder=\"{{&quot;name&quot;: &quot;Jane&quot;}}\"></label>\
<button type=\"submit\" id=\"approve\" name=\"approve\" value=\"1\">Sign in</button>\
<button type=\"submit\" id=\"deny\" name=\"deny\" value=\"access_denied\" formnovalidate>Deny</button>\
</form>",
        issuer = escape(name),
        query = escape(query),
        sub = escape(sub),
        email = escape(email),
    );
    crate::oauth::pages::page(StatusCode::OK, "Sign in with a test identity provider", &body)
}

/// `POST /_mock/oidc/{name}/authorize`: the page's answer.
async fn authorize_submit(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response<Body> {
    let query = query.unwrap_or_default();
    let Ok(params) = serde_urlencoded::from_str::<ProviderAuthorize>(&query) else {
        return bad_page("The query string is malformed.");
    };
    let Ok(form) = serde_urlencoded::from_bytes::<ProviderForm>(&body) else {
        return bad_page("The form is malformed.");
    };
    let request = match check_provider_request(&name, &params) {
        Ok(request) => request,
        Err(problem) => return bad_page(&problem),
    };
    if form.deny.is_some() {
        return request.redirect_with(&[("error", "access_denied")]);
    }
    tokio::task::spawn_blocking(move || {
        approve(
            &shared,
            &name,
            &request,
            form.sub.as_deref().unwrap_or_default(),
            form.email.as_deref(),
            form.claims.as_deref(),
        )
    })
    .await
    .unwrap_or_else(|_| bad_page("The request failed."))
}
