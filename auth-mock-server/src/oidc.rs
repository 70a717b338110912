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
//!   ID token

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Response;
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

/// One hosted issuer.
#[derive(Debug)]
pub(crate) struct Issuer {
    name: String,
    issuer: String,
    audiences: Vec<String>,
    key: Arc<LazyKey>,
}

impl Issuer {
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

fn login_key(issuer: &str) -> String {
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

    /// Forgets every issuer.
    pub(crate) fn reset(&self) {
        self.issuers.lock().clear();
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
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_mock/oidc/{name}", get(get_issuer).post(post_issuer))
        .route("/_mock/oidc/{name}/token", post(post_token))
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
    ControlJson(request): ControlJson<IdTokenRequest>,
) -> Response<Body> {
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
        "token_endpoint": format!("{base}/_mock/oidc/{name}/token"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "claims_supported": ["aud", "azp", "email", "email_verified", "exp", "iat", "iss", "sub"],
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
