//! Verification of the JWTs a user pool issues, for servers that receive them.
//!
//! [`JwtVerifier`] checks, in order: the shape (three base64url parts, a JSON header with a
//! `kid`), the algorithm (`RS256` only: `none`, `HS*`, `PS*`, `ES*` are refused before any
//! key is touched, so no key confusion is possible), the RS256 signature against the key
//! with that `kid` in the pool's JWKS, then the claims: `token_use`, `iss`, `aud` (ID
//! tokens) or `client_id` (access tokens), `exp` / `nbf` / `iat` with a configurable leeway,
//! and optional groups (`cognito:groups`).
//!
//! Values a token or a JWKS chose (a `kid`, an issuer, an algorithm) appear in errors
//! escaped and cut to a bounded length, so they cannot flood or forge log lines.
//!
//! The JWKS is downloaded once and cached. A download may take at most
//! [`jwks_timeout`](JwtVerifierBuilder::jwks_timeout) in all (retries included, default
//! 10 s), its document at most [`MAX_JWKS_BYTES`], and it is never taken from another URL
//! than the configured one: an answer that arrived through a redirect is refused, also with
//! a caller's own [`reqwest::Client`] that follows redirects. A token signed with an unknown `kid` (Cognito
//! rotated its keys) triggers a new download, shared by all concurrent verifications. A
//! download that fails or does not contain the `kid` blocks further downloads for
//! [`min_refetch_interval`](JwtVerifierBuilder::min_refetch_interval): forged `kid`s cannot
//! make the verifier hammer Cognito.
//!
//! Signature checks use `jsonwebtoken` (ring) with keys built only from RSA JWKs, and the
//! algorithm passed to it is always RS256, whatever the token's header says.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use auth_core::jwt::Claims;
use auth_core::{Clock, SystemClock};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::error::CognitoError;
use crate::http::{
    HttpOptions, Idempotency, RetryPolicy, check_endpoint, error_answer, network_failure,
    parse_success, with_retries,
};
use crate::untrusted::{MAX_MESSAGE_CHARS, bounded, bounded_to, redacted_url};
use crate::user_pool::split_pool_id;

/// Tokens longer than this are refused unread: Cognito's are a few kilobytes.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The largest JWKS document accepted: Cognito's hold two keys in about 1 KiB, so this is
/// room for hundreds, and a hostile or broken endpoint cannot make the verifier buffer
/// more.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The default of [`JwtVerifierBuilder::jwks_timeout`].
const DEFAULT_JWKS_TIMEOUT: Duration = Duration::from_secs(10);

/// Which token a verification expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenUse {
    /// An ID token (`token_use: id`, audience in `aud`).
    Id,
    /// An access token (`token_use: access`, audience in `client_id`).
    Access,
}

impl TokenUse {
    fn claim(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.claim())
    }
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not a JWT: wrong number of parts, bad base64url, a header or payload that is not a
    /// JSON object, no `kid`, a `crit` header, or an over-long token.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not `RS256` (e.g. `none`, `HS256`); escaped and bounded.
    #[error("algorithm `{0}` is not accepted (only RS256)")]
    UnsupportedAlgorithm(String),
    /// No key with this `kid` (escaped and bounded) in the pool's JWKS, even after
    /// downloading it again (or a new download was not allowed yet).
    #[error("no key `{0}` in the user pool's JWKS")]
    UnknownKey(String),
    /// The signature does not match.
    #[error("invalid signature")]
    BadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("the token expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the user pool.
    #[error("wrong issuer `{found}` (expected `{expected}`)")]
    WrongIssuer {
        /// The issuer this verifier accepts.
        expected: String,
        /// The token's `iss`, escaped and bounded.
        found: String,
    },
    /// `aud` (ID token) or `client_id` (access token) is not one of the accepted app
    /// clients, or an ID token's `aud` also names other audiences (OpenID Connect Core
    /// §3.1.3.7: a token for several parties is not this client's alone).
    #[error("the token was issued to another app client")]
    WrongAudience,
    /// `token_use` is not the expected one (an access token where an ID token is wanted, or
    /// the reverse).
    #[error("expected an {expected} token, got token_use `{found}`")]
    WrongTokenUse {
        /// What the verification wanted.
        expected: TokenUse,
        /// What the token says (empty if missing), escaped and bounded.
        found: String,
    },
    /// A required claim (`iss`, `sub`, `exp`) is missing or has the wrong type.
    #[error("claim `{0}` is missing or invalid")]
    MissingClaim(&'static str),
    /// The user is not in the required groups.
    #[error("the user is not in the required groups")]
    GroupRequired,
    /// The JWKS could not be downloaded or read (unreachable, too slow, too large,
    /// redirected, unusable): a problem of the verifier's environment, not of the token
    /// (answer 503, not 401). The message is escaped and bounded.
    #[error("the user pool's JWKS is unavailable: {0}")]
    KeysUnavailable(String),
}

impl JwtError {
    /// True if the token itself is at fault (answer 401); false if the verifier could not
    /// check it (the JWKS is unavailable: answer 503 and let the client retry).
    pub fn is_token_rejected(&self) -> bool {
        !matches!(self, JwtError::KeysUnavailable(_))
    }
}

/// The claims of a token that passed every check; auth-core's [`Claims`]' readers
/// (`string`, `get`, `as_map`) apply.
#[derive(Clone, PartialEq)]
pub struct VerifiedClaims {
    token_use: TokenUse,
    claims: Claims,
}

impl std::ops::Deref for VerifiedClaims {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.claims
    }
}

// Claims are personal data; print who, not what.
crate::builder::debug_fields!(VerifiedClaims(&self) {
    token_use: self.token_use,
    sub: self.subject(),
    claims: self.claims.names(),
});

impl VerifiedClaims {
    /// Which token it was.
    pub fn token_use(&self) -> TokenUse {
        self.token_use
    }

    /// `sub`: the user's stable id.
    pub fn subject(&self) -> &str {
        self.string("sub").unwrap_or_default()
    }

    /// The username: `cognito:username` (ID token) or `username` (access token).
    pub fn username(&self) -> Option<&str> {
        self.string("cognito:username").or_else(|| self.string("username"))
    }

    /// The app client the token was issued to: `aud` (ID token) or `client_id` (access).
    pub fn client_id(&self) -> Option<&str> {
        match self.token_use {
            TokenUse::Id => audience(self.claims.as_map()).into_iter().next(),
            TokenUse::Access => self.string("client_id"),
        }
    }

    /// `cognito:groups` (empty if the user is in none).
    pub fn groups(&self) -> Vec<&str> {
        string_array(self.claims.as_map(), "cognito:groups")
    }

    /// True if the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups().contains(&group)
    }

    /// The access token's scopes (`scope`, space-separated).
    pub fn scopes(&self) -> Vec<&str> {
        self.string("scope").map(|s| s.split_ascii_whitespace().collect()).unwrap_or_default()
    }

    /// `exp`.
    pub fn expires_at(&self) -> SystemTime {
        time_claim(self.claims.as_map(), "exp").unwrap_or(UNIX_EPOCH)
    }
}

fn audience(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn string_array<'a>(claims: &'a Map<String, Value>, name: &str) -> Vec<&'a str> {
    match claims.get(name) {
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(value)) => vec![value.as_str()],
        _ => Vec::new(),
    }
}

fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Option<SystemTime> {
    claims.get(name)?.as_f64().and_then(auth_core::jwt::time_from_epoch_seconds)
}

#[derive(Clone, Debug)]
enum Groups {
    Any(Vec<String>),
    All(Vec<String>),
}

/// Verifies Cognito user-pool JWTs. Cheap to clone: clones share the JWKS cache.
///
/// ```no_run
/// # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// use auth_cognito::JwtVerifier;
///
/// let verifier = JwtVerifier::builder("eu-west-1_AbCdEf123")
///     .client_id("3n4b5urk1ft4fl3mg5e62d9ado")
///     .build()?;
/// let claims = verifier.verify_access_token(token).await?;
/// println!("request from {}", claims.subject());
/// # Ok(()) }
/// ```
///
/// With a local Cognito (`cargo run -p auth-mock-server`), give the same endpoint as to the
/// pool builders. Its tokens carry AWS's issuer,
/// `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123` here, which is the
/// default; only a server started with `--issuer-base URL` issues `URL/<pool_id>`, which
/// `.issuer(...)` must then name.
///
/// ```no_run
/// # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// use auth_cognito::JwtVerifier;
///
/// let verifier = JwtVerifier::builder("us-east-1_AbCdEf123")
///     .client_id("3n4b5urk1ft4fl3mg5e62d9ado")
///     .endpoint("http://127.0.0.1:9229") // keys from <endpoint>/<pool_id>/.well-known/jwks.json
///     .build()?;
/// assert_eq!(verifier.issuer(), "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123");
/// let claims = verifier.verify_id_token(token).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Verifier>,
}

struct Verifier {
    issuer: String,
    clients: Vec<String>,
    any_client: bool,
    leeway: Duration,
    groups: Option<Groups>,
    clock: Arc<dyn Clock>,
    jwks: Jwks,
}

crate::builder::debug_fields!(JwtVerifier(&self) {
    issuer: self.inner.issuer,
    clients: self.inner.clients,
    jwks_url: redacted_url(&self.inner.jwks.url),
    leeway: self.inner.leeway,
    ..
});

impl JwtVerifier {
    /// Starts configuring a verifier for tokens of user pool `pool_id` (`<region>_<id>`).
    /// The issuer is `https://cognito-idp.<region>.amazonaws.com/<pool_id>` unless
    /// [`issuer`](JwtVerifierBuilder::issuer) says otherwise.
    pub fn builder(pool_id: impl Into<String>) -> JwtVerifierBuilder {
        JwtVerifierBuilder {
            pool_id: pool_id.into(),
            issuer: None,
            jwks_url: None,
            endpoint: None,
            jwks_timeout: DEFAULT_JWKS_TIMEOUT,
            clients: Vec::new(),
            any_client: false,
            leeway: Duration::ZERO,
            groups: None,
            min_refetch_interval: Duration::from_secs(10),
            http: HttpOptions::default(),
            clock: None,
            jwks_json: None,
        }
    }

    /// The issuer tokens must name.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Verifies an ID token.
    pub async fn verify_id_token(&self, token: &str) -> Result<VerifiedClaims, JwtError> {
        self.verify(token, TokenUse::Id).await
    }

    /// Verifies an access token.
    pub async fn verify_access_token(&self, token: &str) -> Result<VerifiedClaims, JwtError> {
        self.verify(token, TokenUse::Access).await
    }

    /// Verifies a token of the given use.
    pub async fn verify(
        &self,
        token: &str,
        expected: TokenUse,
    ) -> Result<VerifiedClaims, JwtError> {
        let parsed = Parsed::new(token)?;
        let key = self.inner.jwks.key(&parsed.kid).await?;
        // Always RS256: the header's algorithm was only checked, never obeyed.
        match jsonwebtoken::crypto::verify(
            parsed.signature,
            parsed.message.as_bytes(),
            &key,
            Algorithm::RS256,
        ) {
            Ok(true) => {}
            Ok(false) | Err(_) => return Err(JwtError::BadSignature),
        }
        let claims = decode_object(parsed.payload).ok_or(JwtError::Malformed("payload"))?;
        self.check_claims(&claims, expected)?;
        Ok(VerifiedClaims { token_use: expected, claims: claims.into() })
    }

    /// Downloads the JWKS now (e.g. at start-up, so the first request does not wait for it).
    pub async fn refresh_keys(&self) -> Result<(), JwtError> {
        self.inner.jwks.fetch().await
    }

    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        expected: TokenUse,
    ) -> Result<(), JwtError> {
        let inner = &self.inner;
        let token_use = claims.get("token_use").and_then(Value::as_str).unwrap_or_default();
        if token_use != expected.claim() {
            return Err(JwtError::WrongTokenUse { expected, found: bounded(token_use) });
        }
        let issuer =
            claims.get("iss").and_then(Value::as_str).ok_or(JwtError::MissingClaim("iss"))?;
        if issuer != inner.issuer {
            return Err(JwtError::WrongIssuer {
                expected: inner.issuer.clone(),
                found: bounded(issuer),
            });
        }
        // Every Cognito token names its user; a token without one identifies nobody.
        if claims.get("sub").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(JwtError::MissingClaim("sub"));
        }
        if !inner.any_client {
            let accepted = |aud: &str| inner.clients.iter().any(|c| c == aud);
            let ok = match (expected, claims.get("aud")) {
                // Every audience must be one of ours: an ID token also meant for another
                // party is refused, as OpenID Connect asks.
                (TokenUse::Id, Some(Value::String(aud))) => accepted(aud),
                (TokenUse::Id, Some(Value::Array(audiences))) => {
                    !audiences.is_empty()
                        && audiences.iter().all(|aud| aud.as_str().is_some_and(accepted))
                }
                (TokenUse::Id, _) => false,
                (TokenUse::Access, _) => {
                    claims.get("client_id").and_then(Value::as_str).is_some_and(accepted)
                }
            };
            if !ok {
                return Err(JwtError::WrongAudience);
            }
        }
        let now = inner.clock.now();
        let expires = time_claim(claims, "exp").ok_or(JwtError::MissingClaim("exp"))?;
        if now.checked_sub(inner.leeway).is_some_and(|t| t >= expires) {
            return Err(JwtError::Expired);
        }
        let latest_start = now.checked_add(inner.leeway).unwrap_or(now);
        for name in ["nbf", "iat"] {
            if claims.contains_key(name) {
                let start = time_claim(claims, name).ok_or(JwtError::MissingClaim(name))?;
                if start > latest_start {
                    return Err(JwtError::NotYetValid);
                }
            }
        }
        if let Some(groups) = &inner.groups {
            let member = string_array(claims, "cognito:groups");
            let ok = match groups {
                Groups::Any(wanted) => wanted.iter().any(|g| member.contains(&g.as_str())),
                Groups::All(wanted) => wanted.iter().all(|g| member.contains(&g.as_str())),
            };
            if !ok {
                return Err(JwtError::GroupRequired);
            }
        }
        Ok(())
    }
}

/// A token split into its parts, with a checked header.
struct Parsed<'t> {
    kid: String,
    message: &'t str,
    payload: &'t str,
    signature: &'t str,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
}

impl<'t> Parsed<'t> {
    fn new(token: &'t str) -> Result<Parsed<'t>, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed("too long"));
        }
        let mut parts = token.splitn(4, '.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed("a JWT has three dot-separated parts"));
        };
        if header.is_empty() || payload.is_empty() || signature.is_empty() {
            return Err(JwtError::Malformed("empty part"));
        }
        let header_bytes =
            URL_SAFE_NO_PAD.decode(header).map_err(|_| JwtError::Malformed("header"))?;
        let parsed: Header =
            serde_json::from_slice(&header_bytes).map_err(|_| JwtError::Malformed("header"))?;
        match parsed.alg.as_deref() {
            Some("RS256") => {}
            Some(other) => return Err(JwtError::UnsupportedAlgorithm(bounded(other))),
            None => return Err(JwtError::UnsupportedAlgorithm(String::new())),
        }
        if parsed.crit.is_some() {
            return Err(JwtError::Malformed("critical header extensions are not supported"));
        }
        let kid = parsed.kid.ok_or(JwtError::Malformed("no kid in the header"))?;
        let message_len = header.len() + 1 + payload.len();
        Ok(Parsed { kid, message: &token[..message_len], payload, signature })
    }
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The cached JWKS of one pool.
struct Jwks {
    url: Url,
    http: reqwest::Client,
    retry: RetryPolicy,
    /// How long one download may take in all, retries included.
    timeout: Duration,
    keys: ArcSwap<HashMap<String, Arc<DecodingKey>>>,
    /// Set when a download did not produce the wanted key: since when, and why it failed
    /// if it did (the [`JwtError::KeysUnavailable`] message). No kid-triggered download happens within `min_refetch_interval` of it.
    penalty: Mutex<Option<(Instant, Option<String>)>>,
    /// One download at a time; waiters then look at its result.
    fetching: tokio::sync::Mutex<()>,
    min_refetch_interval: Duration,
}

impl Jwks {
    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, JwtError> {
        if let Some(key) = self.keys.load().get(kid) {
            return Ok(Arc::clone(key));
        }
        let _fetching = self.fetching.lock().await;
        // Another verification may have downloaded the keys while this one waited.
        if let Some(key) = self.keys.load().get(kid) {
            return Ok(Arc::clone(key));
        }
        let penalty = self.penalty.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((since, error)) = penalty {
            if since.elapsed() < self.min_refetch_interval {
                return Err(match error {
                    Some(message) => JwtError::KeysUnavailable(message),
                    None => JwtError::UnknownKey(bounded(kid)),
                });
            }
        }
        let result = self.fetch_locked().await;
        let found = self.keys.load().get(kid).cloned();
        // Only a download that did not help (it failed, or the kid is not in it) delays the
        // next one; a download that found the kid leaves later rotations free to fetch.
        let penalty = match (&result, &found) {
            (_, Some(_)) => None,
            (Err(message), None) => Some((Instant::now(), Some(message.clone()))),
            (Ok(()), None) => Some((Instant::now(), None)),
        };
        *self.penalty.lock().unwrap_or_else(PoisonError::into_inner) = penalty;
        result.map_err(JwtError::KeysUnavailable)?;
        found.ok_or_else(|| JwtError::UnknownKey(bounded(kid)))
    }

    async fn fetch(&self) -> Result<(), JwtError> {
        let _fetching = self.fetching.lock().await;
        self.fetch_locked().await.map_err(JwtError::KeysUnavailable)
    }

    /// Downloads and installs the keys; the error is the [`JwtError::KeysUnavailable`]
    /// message, kept bare so that a remembered failure is not prefixed twice.
    async fn fetch_locked(&self) -> Result<(), String> {
        let keys = match tokio::time::timeout(self.timeout, self.download()).await {
            Ok(Ok(keys)) => keys,
            Ok(Err(error)) => return Err(bounded_to(&error.to_string(), MAX_MESSAGE_CHARS)),
            Err(_) => {
                return Err(format!("GetJWKS: no answer within {:?}", self.timeout));
            }
        };
        tracing::debug!(keys = keys.len(), url = %redacted_url(&self.url), "JWKS downloaded");
        self.keys.store(Arc::new(keys));
        Ok(())
    }

    async fn download(&self) -> Result<HashMap<String, Arc<DecodingKey>>, CognitoError> {
        const OPERATION: &str = "GetJWKS";
        let body = with_retries(self.retry, OPERATION, Idempotency::Idempotent, || async {
            let mut response = self
                .http
                .get(self.url.clone())
                .send()
                .await
                .map_err(|error| network_failure(OPERATION, &error))?;
            // A caller's client may follow redirects; the keys must still come from the
            // configured URL, never from wherever a redirect pointed.
            if response.url() != &self.url {
                return Err(CognitoError::protocol(format!(
                    "{OPERATION}: the JWKS endpoint redirected to `{}`; redirects are refused",
                    bounded(&redacted_url(response.url()))
                )));
            }
            let status = response.status();
            let too_large = || {
                CognitoError::protocol(format!(
                    "{OPERATION}: the JWKS is larger than {MAX_JWKS_BYTES} bytes"
                ))
            };
            if response.content_length().is_some_and(|len| len > MAX_JWKS_BYTES as u64) {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) =
                response.chunk().await.map_err(|error| network_failure(OPERATION, &error))?
            {
                if body.len() + chunk.len() > MAX_JWKS_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            if status.is_success() {
                Ok(body)
            } else {
                Err(error_answer(OPERATION, status, None, &body, None))
            }
        })
        .await?;
        let document: JwkSet = parse_success(OPERATION, &body)?;
        let keys = parse_keys(document);
        if keys.is_empty() {
            return Err(CognitoError::protocol("the JWKS has no usable RS256 key"));
        }
        Ok(keys)
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The RS256 signing keys of a JWKS. Keys of other types or uses are skipped, so a JWKS
/// can never turn an RSA public key into anything else.
fn parse_keys(document: JwkSet) -> HashMap<String, Arc<DecodingKey>> {
    document
        .keys
        .into_iter()
        .filter(|jwk| jwk.kty.as_deref() == Some("RSA"))
        .filter(|jwk| jwk.alg.as_deref().is_none_or(|alg| alg == "RS256"))
        .filter(|jwk| jwk.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|jwk| {
            let key =
                DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?;
            Some((jwk.kid?, Arc::new(key)))
        })
        .collect()
}

/// Configures a [`JwtVerifier`].
#[must_use]
pub struct JwtVerifierBuilder {
    pool_id: String,
    issuer: Option<String>,
    jwks_url: Option<String>,
    endpoint: Option<String>,
    jwks_timeout: Duration,
    clients: Vec<String>,
    any_client: bool,
    leeway: Duration,
    groups: Option<Groups>,
    min_refetch_interval: Duration,
    http: HttpOptions,
    clock: Option<Arc<dyn Clock>>,
    jwks_json: Option<String>,
}

impl JwtVerifierBuilder {
    /// Accepts tokens of this app client (call again for more). Required unless
    /// [`any_client`](Self::any_client) is set.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.clients.push(client_id.into());
        self
    }

    /// Accepts tokens of every app client of the pool (the audience is not checked).
    pub fn any_client(mut self) -> Self {
        self.any_client = true;
        self
    }

    crate::builder::setters! {
        /// The expected `iss`, for servers that are not AWS (a local Cognito): e.g.
        /// `http://127.0.0.1:9229/us-east-1_abc`.
        issuer(issuer: impl Into<String>) => issuer = Some(issuer.into());

        /// Where the JWKS is (default: `<endpoint>/<pool_id>/.well-known/jwks.json` with an
        /// [`endpoint`](Self::endpoint), else `<issuer>/.well-known/jwks.json`).
        jwks_url(url: impl Into<String>) => jwks_url = Some(url.into());

        /// The user pool's service endpoint, as given to the pool builders: a local Cognito such
        /// as `http://127.0.0.1:9229`. The JWKS is then downloaded from
        /// `<endpoint>/<pool_id>/.well-known/jwks.json`. The expected issuer does not change:
        /// a local Cognito issues AWS's `https://cognito-idp.<region>.amazonaws.com/<pool_id>`
        /// unless it was started with an issuer base (`--issuer-base`), whose issuer
        /// [`issuer`](Self::issuer) then names.
        endpoint(endpoint: impl Into<String>) => endpoint = Some(endpoint.into());

        /// The longest a JWKS download may take, retries included (default 10 s): a
        /// verification that needs the keys waits at most this long for them, then fails with
        /// [`JwtError::KeysUnavailable`].
        jwks_timeout(timeout: Duration) => jwks_timeout;

        /// Tolerated clock skew for `exp`, `nbf` and `iat` (default none).
        leeway(leeway: Duration) => leeway;

        /// Accepts only users in at least one of `groups`.
        require_any_group(groups: [impl Into<String>]) => groups = Some(Groups::Any(groups));

        /// Accepts only users in every one of `groups`.
        require_all_groups(groups: [impl Into<String>]) => groups = Some(Groups::All(groups));
    }

    /// The shortest time between two JWKS downloads caused by unknown `kid`s (default 10 s).
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    crate::http::http_setters!(
        "JWKS downloads",
        "",
        "Redirects stay refused whatever the client's redirect policy: a JWKS that arrived",
        "from another URL than the configured one is not accepted",
        "([`JwtError::KeysUnavailable`](crate::JwtError::KeysUnavailable))."
    );

    crate::builder::setters! {
        /// The clock expiry is checked against (default: the system clock).
        clock(clock: Arc<dyn Clock>) => clock = Some(clock);

        /// Starts with these keys (a JWKS document) instead of downloading them first; unknown
        /// `kid`s still trigger a download.
        jwks_json(json: impl Into<String>) => jwks_json = Some(json.into());
    }

    /// Checks the configuration and builds the verifier. Nothing is downloaded yet.
    pub fn build(self) -> Result<JwtVerifier, CognitoError> {
        let (region, _) = split_pool_id(&self.pool_id)?;
        if self.clients.is_empty() && !self.any_client {
            return Err(CognitoError::invalid(
                "a JWT verifier needs the accepted app client ids (or any_client())",
            ));
        }
        let issuer = match self.issuer {
            Some(issuer) => issuer.trim_end_matches('/').to_owned(),
            None => {
                format!("https://{}", crate::identity_pool::user_pool_key(region, &self.pool_id))
            }
        };
        let url = match (&self.jwks_url, &self.endpoint) {
            (Some(url), _) => check_endpoint(url)?,
            (None, Some(endpoint)) => {
                let base = check_endpoint(endpoint)?;
                let base = base.as_str().trim_end_matches('/');
                check_endpoint(&format!("{base}/{}/.well-known/jwks.json", self.pool_id))?
            }
            (None, None) => check_endpoint(&format!("{issuer}/.well-known/jwks.json"))?,
        };
        let keys = match &self.jwks_json {
            Some(json) => {
                let document: JwkSet = serde_json::from_str(json)
                    .map_err(|e| CognitoError::invalid(format!("JWKS: {e}")))?;
                parse_keys(document)
            }
            None => HashMap::new(),
        };
        let retry = self.http.settings.retry;
        let http = self.http.client()?;
        Ok(JwtVerifier {
            inner: Arc::new(Verifier {
                issuer,
                clients: self.clients,
                any_client: self.any_client,
                leeway: self.leeway,
                groups: self.groups,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                jwks: Jwks {
                    url,
                    http,
                    retry,
                    timeout: self.jwks_timeout,
                    keys: ArcSwap::from_pointee(keys),
                    penalty: Mutex::new(None),
                    fetching: tokio::sync::Mutex::new(()),
                    min_refetch_interval: self.min_refetch_interval,
                },
            }),
        })
    }
}
