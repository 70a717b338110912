//! Issuing ID, access and refresh tokens.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::Shared;
use crate::cx::Cx;
use crate::state::{AccessRecord, Device, State};
use crate::token_book::RefreshClaims;
use crate::wire::{CognitoError, Escaped, OpResult};

/// What to do about the refresh token when issuing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshMode {
    /// A sign-in: a new refresh token (a new token family).
    New,
    /// A refresh without rotation: no new refresh token; tokens join this family.
    Keep { origin_jti: String },
}

/// A decision to issue tokens, made under the state lock and carried out after it.
#[derive(Debug, Clone)]
pub(crate) struct TokenGrant {
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    /// The original authentication time (kept across refreshes); `None` = now.
    pub(crate) auth_time: Option<u64>,
    pub(crate) device_key: Option<String>,
    /// Register a new device and return `NewDeviceMetadata`.
    pub(crate) new_device: bool,
    pub(crate) refresh: RefreshMode,
    /// The PreTokenGeneration `triggerSource` (`TokenGeneration_Authentication`, ...).
    pub(crate) source: &'static str,
}

/// Wraps an `AuthenticationResult` in an InitiateAuth/RespondToAuthChallenge response.
pub(crate) fn tokens_response(result: Value) -> Value {
    json!({ "AuthenticationResult": result, "ChallengeParameters": {} })
}

/// What a sign-in through the hosted UI / OAuth endpoints adds to its tokens: the granted
/// scopes (instead of the API's `aws.cognito.signin.user.admin`) and the client's `nonce`.
#[derive(Debug, Clone, Default)]
pub(crate) struct OAuthClaims {
    pub(crate) scopes: Vec<String>,
    pub(crate) nonce: Option<String>,
}

impl OAuthClaims {
    /// An ID token is issued only when `openid` was granted.
    fn id_token(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }
}

/// Issues tokens: claims are built under the lock, RSA signing happens outside it, and the
/// access token is then registered so GetUser & co. can check it without an RSA verify.
pub(crate) fn issue(cx: &Cx<'_>, grant: TokenGrant) -> OpResult<Value> {
    issue_with(cx, grant, None)
}

/// [`issue`] for the OAuth endpoints: the access token carries the granted scopes, the ID
/// token (only with `openid`) the nonce and `at_hash`, and the token family remembers its
/// scopes for refreshes.
pub(crate) fn issue_oauth(cx: &Cx<'_>, grant: TokenGrant, oauth: &OAuthClaims) -> OpResult<Value> {
    issue_with(cx, grant, Some(oauth))
}

fn issue_with(cx: &Cx<'_>, grant: TokenGrant, oauth: Option<&OAuthClaims>) -> OpResult<Value> {
    let shared = cx.shared;
    let now = shared.clock.now_secs();
    // The trigger runs before anything is recorded, so its failure leaves no token behind.
    let overrides = pre_token_generation(cx, &grant)?;
    let (keys, mut id_claims, mut access_claims, refresh, expires_in, access_record, new_device) = {
        let mut state = shared.state.write();
        prepare(&mut state, shared, &grant, now, oauth)?
    };
    if let Some(overrides) = overrides {
        overrides.apply(&mut id_claims, &mut access_claims);
    }
    // Key generation normally finished long ago; if not, wait for it off the lock.
    let access_token = keys.access_key().sign_jwt(&access_claims);
    let with_id_token = oauth.is_none_or(OAuthClaims::id_token);
    if oauth.is_some() {
        // OIDC Core 3.1.3.6: the left half of the access token's SHA-256, base64url.
        use base64::Engine as _;
        let digest = Sha256::digest(access_token.as_bytes());
        let at_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
        id_claims["at_hash"] = json!(at_hash);
    }
    let id_token = with_id_token.then(|| keys.id_key().sign_jwt(&id_claims));
    let digest: [u8; 32] = Sha256::digest(access_token.as_bytes()).into();
    shared.state.write().tokens.remember_access(digest, access_record);
    let mut result = json!({
        "AccessToken": access_token,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
    });
    if let Some(id_token) = id_token {
        result["IdToken"] = json!(id_token);
    }
    if let Some(refresh) = refresh {
        result["RefreshToken"] = json!(refresh);
    }
    if let Some((key, group)) = new_device {
        result["NewDeviceMetadata"] = json!({ "DeviceKey": key, "DeviceGroupKey": group });
    }
    Ok(result)
}

/// Runs the pool's PreTokenGeneration trigger, if any (V1 or V2 event), without the lock.
fn pre_token_generation(cx: &Cx<'_>, grant: &TokenGrant) -> OpResult<Option<Overrides>> {
    use crate::triggers::{Origin, Trigger, invoke, token_generation, user_attributes};
    let (arn, version, event) = {
        let state = cx.shared.state.read();
        let pool = state.pool(&grant.pool_id)?;
        let Some((arn, version)) = token_generation(pool) else { return Ok(None) };
        let user = pool
            .users
            .get(&pool.user_key(&grant.username))
            .ok_or_else(crate::state::user_not_found)?;
        let groups: Vec<&String> = user.groups.iter().collect();
        let roles: Vec<&String> = user
            .groups
            .iter()
            .filter_map(|name| pool.groups.get(name).and_then(|g| g.role_arn.as_ref()))
            .collect();
        let mut request = json!({
            "userAttributes": user_attributes(user),
            "groupConfiguration": {
                "groupsToOverride": groups,
                "iamRolesToOverride": roles,
                "preferredRole": null,
            },
            "clientMetadata": cx.client_metadata(),
        });
        let response = if version == "1" {
            json!({ "claimsOverrideDetails": null })
        } else {
            request["scopes"] = json!([SIGNIN_SCOPE]);
            json!({ "claimsAndScopeOverrideDetails": null })
        };
        let origin = Origin::new(pool, &user.username, Some(&grant.client_id));
        (arn, version, origin.event(version, grant.source, request, response))
    };
    let response = invoke(cx.shared, Trigger::PreTokenGeneration, &arn, &event)?;
    Ok(Some(Overrides::read(version, &response)))
}

/// The scope of every access token from a user-pool (API) sign-in.
use crate::oauth::SIGNIN_SCOPE;

/// Claims a PreTokenGeneration trigger may not add, change or suppress: Cognito keeps them
/// as it issued them (groups change only through `groupOverrideDetails`, scopes only through
/// `scopesToAdd`/`scopesToSuppress`).
const PROTECTED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "azp",
    "client_id",
    "cognito:groups",
    "cognito:preferred_role",
    "cognito:roles",
    "cognito:username",
    "device_key",
    "event_id",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "scope",
    "sub",
    "token_use",
    "username",
];

/// Changes to one token asked for by PreTokenGeneration.
#[derive(Debug, Default)]
struct ClaimChanges {
    add: Map<String, Value>,
    suppress: Vec<String>,
    scopes_add: Vec<String>,
    scopes_suppress: Vec<String>,
}

impl ClaimChanges {
    /// Reads one token's changes; `scopes` only for the access token (the ID token carries
    /// no scope, whatever the answer says).
    fn read(details: Option<&Value>, scopes: bool) -> Self {
        let strings = |name: &str| -> Vec<String> {
            if name.starts_with("scopes") && !scopes {
                return Vec::new();
            }
            details
                .and_then(|d| d.get(name))
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        Self {
            add: details
                .and_then(|d| d.get("claimsToAddOrOverride"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            suppress: strings("claimsToSuppress"),
            scopes_add: strings("scopesToAdd"),
            scopes_suppress: strings("scopesToSuppress"),
        }
    }

    fn apply(&self, claims: &mut Value) {
        let Some(claims) = claims.as_object_mut() else { return };
        for (name, value) in &self.add {
            if PROTECTED_CLAIMS.contains(&name.as_str()) {
                tracing::warn!(claim = %Escaped(name), "PreTokenGeneration may not change this claim; ignored");
            } else {
                claims.insert(name.clone(), value.clone());
            }
        }
        for name in &self.suppress {
            if PROTECTED_CLAIMS.contains(&name.as_str()) {
                tracing::warn!(claim = %Escaped(name), "PreTokenGeneration may not suppress this claim; ignored");
            } else {
                claims.remove(name);
            }
        }
        if self.scopes_add.is_empty() && self.scopes_suppress.is_empty() {
            return;
        }
        let current = claims.get("scope").and_then(Value::as_str).unwrap_or_default();
        let mut scopes: Vec<String> = current.split_whitespace().map(str::to_owned).collect();
        for scope in &self.scopes_add {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        scopes.retain(|s| !self.scopes_suppress.contains(s));
        claims.insert("scope".into(), json!(scopes.join(" ")));
    }
}

/// What a PreTokenGeneration answer changes.
#[derive(Debug, Default)]
struct Overrides {
    id: ClaimChanges,
    access: ClaimChanges,
    groups: Option<Value>,
}

impl Overrides {
    /// V1 answers `claimsOverrideDetails` (ID token and groups); V2 and V3
    /// `claimsAndScopeOverrideDetails` (ID and access tokens, scopes, groups).
    fn read(version: &str, response: &Value) -> Self {
        if version == "1" {
            let details = response.get("claimsOverrideDetails").filter(|d| d.is_object());
            Self {
                id: ClaimChanges::read(details, false),
                access: ClaimChanges::default(),
                groups: details.and_then(|d| d.get("groupOverrideDetails")).cloned(),
            }
        } else {
            let details = response.get("claimsAndScopeOverrideDetails").filter(|d| d.is_object());
            Self {
                id: ClaimChanges::read(details.and_then(|d| d.get("idTokenGeneration")), false),
                access: ClaimChanges::read(
                    details.and_then(|d| d.get("accessTokenGeneration")),
                    true,
                ),
                groups: details.and_then(|d| d.get("groupOverrideDetails")).cloned(),
            }
        }
    }

    fn apply(&self, id: &mut Value, access: &mut Value) {
        self.id.apply(id);
        self.access.apply(access);
        let Some(groups) = self.groups.as_ref().filter(|g| g.is_object()) else { return };
        if let Some(list) = groups.get("groupsToOverride").filter(|l| l.is_array()) {
            for claims in [&mut *id, &mut *access] {
                if let Some(claims) = claims.as_object_mut() {
                    if list.as_array().is_some_and(Vec::is_empty) {
                        claims.remove("cognito:groups");
                    } else {
                        claims.insert("cognito:groups".into(), list.clone());
                    }
                }
            }
        }
        if let Some(claims) = id.as_object_mut() {
            if let Some(roles) = groups.get("iamRolesToOverride").and_then(Value::as_array) {
                if roles.is_empty() {
                    claims.remove("cognito:roles");
                } else {
                    claims.insert("cognito:roles".into(), json!(roles));
                }
            }
            if let Some(role) = groups.get("preferredRole").and_then(Value::as_str) {
                claims.insert("cognito:preferred_role".into(), json!(role));
            }
        }
    }
}

/// Drops expired sessions, revocations and counters so a long-running server does not grow.
pub(crate) fn sweep(state: &mut State, now: u64) {
    state.sessions.retain(|_, s| s.expires_at > now);
    state.srp.retain(|_, s| s.expires_at > now);
    state.limits.sweep(now.saturating_mul(1000));
    state.tokens.sweep(now);
    let pools = &state.pools;
    state.tokens.retain_users(|user| {
        pools
            .get(user.pool_id())
            .is_some_and(|pool| pool.users.contains_key(&pool.user_key(user.username())))
    });
}

type Prepared = (
    Arc<crate::keys::PoolKeys>,
    Value,
    Value,
    Option<String>,
    u64,
    AccessRecord,
    Option<(String, String)>,
);

fn prepare(
    state: &mut State,
    shared: &Shared,
    grant: &TokenGrant,
    now: u64,
    oauth: Option<&OAuthClaims>,
) -> OpResult<Prepared> {
    let issuer_base = shared.config.issuer_base.as_deref();
    // UUIDv7 `jti`s carry the issue time to the millisecond (sign-out cut-offs); a token
    // issued in the millisecond of a cut-off counts as issued after it. The cut-offs are
    // kept under the stored username, which differs from the grant's only in case.
    let stored_name = state
        .pools
        .get(&grant.pool_id)
        .and_then(|pool| pool.users.get(&pool.user_key(&grant.username)))
        .map_or_else(|| grant.username.clone(), |user| user.username.clone());
    let now_ms = state.tokens.issue_millis(&grant.pool_id, &stored_name, shared.clock.now_millis());
    let pool = state.pool_mut(&grant.pool_id)?;
    let issuer = pool.issuer(issuer_base);
    let region = pool.region().to_owned();
    let keys = Arc::clone(&pool.keys);
    let client = pool
        .clients
        .get(&grant.client_id)
        .ok_or_else(|| CognitoError::resource_not_found("User pool client does not exist."))?;
    let (access_ttl, id_ttl, refresh_ttl) = client.lifetimes();
    let user_key = pool.user_key(&grant.username);
    let user = pool.users.get_mut(&user_key).ok_or_else(crate::state::user_not_found)?;

    let mut device_key = grant.device_key.clone();
    let mut new_device = None;
    if grant.new_device {
        let key = format!("{region}_{}", uuid::Uuid::new_v4());
        let group = format!("-{}", super::random_alnum(9));
        let created = shared.clock.now_f64();
        user.devices.insert(
            key.clone(),
            Device {
                key: key.clone(),
                group_key: group.clone(),
                name: None,
                srp_salt: None,
                srp_verifier: None,
                remembered: false,
                created,
                modified: created,
                last_authenticated: created,
            },
        );
        device_key = Some(key.clone());
        new_device = Some((key, group));
    }

    let auth_time = grant.auth_time.unwrap_or(now);
    let origin_jti = match &grant.refresh {
        RefreshMode::New => uuid::Uuid::new_v4().to_string(),
        RefreshMode::Keep { origin_jti } => origin_jti.clone(),
    };
    let event_id = uuid::Uuid::new_v4().to_string();

    let groups: Vec<&String> = user.groups.iter().collect();

    let mut id = Map::new();
    id.insert("sub".into(), json!(user.sub()));
    if !groups.is_empty() {
        id.insert("cognito:groups".into(), json!(groups));
    }
    // The IAM roles of the user's groups, best (lowest precedence) first: identity pools
    // with Token role mappings choose among them.
    let mut roles: Vec<(i64, &String)> = user
        .groups
        .iter()
        .filter_map(|name| pool.groups.get(name))
        .filter_map(|g| g.role_arn.as_ref().map(|arn| (g.precedence.unwrap_or(i64::MAX), arn)))
        .collect();
    roles.sort();
    if let Some((_, preferred)) = roles.first() {
        id.insert("cognito:preferred_role".into(), json!(preferred));
        let roles: Vec<&String> = roles.iter().map(|(_, arn)| *arn).collect();
        id.insert("cognito:roles".into(), json!(roles));
    }
    for (name, value) in &user.attributes {
        if name == "sub" {
            continue;
        }
        let claim = if name.ends_with("_verified") {
            json!(value == "true")
        } else if name == "identities" {
            // Stored as JSON text (as AdminGetUser shows it), a JSON array in the ID token.
            serde_json::from_str::<Value>(value).unwrap_or_else(|_| json!(value))
        } else {
            json!(value)
        };
        id.insert(name.clone(), claim);
    }
    id.insert("iss".into(), json!(issuer));
    id.insert("cognito:username".into(), json!(user.username));
    id.insert("origin_jti".into(), json!(origin_jti));
    id.insert("aud".into(), json!(grant.client_id));
    id.insert("event_id".into(), json!(event_id));
    id.insert("token_use".into(), json!("id"));
    id.insert("auth_time".into(), json!(auth_time));
    id.insert("exp".into(), json!(now.saturating_add(id_ttl)));
    id.insert("iat".into(), json!(now));
    id.insert("jti".into(), json!(crate::token_book::new_jti(now_ms)));

    let mut access = Map::new();
    access.insert("sub".into(), json!(user.sub()));
    if !groups.is_empty() {
        access.insert("cognito:groups".into(), json!(groups));
    }
    if let Some(device) = &device_key {
        access.insert("device_key".into(), json!(device));
    }
    access.insert("iss".into(), json!(issuer));
    access.insert("client_id".into(), json!(grant.client_id));
    access.insert("origin_jti".into(), json!(origin_jti));
    access.insert("event_id".into(), json!(event_id));
    access.insert("token_use".into(), json!("access"));
    let scope = oauth.map(|o| o.scopes.join(" "));
    access.insert("scope".into(), json!(scope.as_deref().unwrap_or(SIGNIN_SCOPE)));
    if let Some(nonce) = oauth.and_then(|o| o.nonce.as_ref()) {
        id.insert("nonce".into(), json!(nonce));
    }
    access.insert("auth_time".into(), json!(auth_time));
    access.insert("exp".into(), json!(now.saturating_add(access_ttl)));
    access.insert("iat".into(), json!(now));
    access.insert("jti".into(), json!(crate::token_book::new_jti(now_ms)));
    access.insert("username".into(), json!(user.username));

    let record = AccessRecord {
        pool_id: grant.pool_id.clone(),
        username: user.username.clone(),
        sub: user.sub().to_owned(),
        issued_ms: now_ms,
        client_id: grant.client_id.clone(),
        issued_at: now,
        expires_at: now.saturating_add(access_ttl),
        id_expires_at: now.saturating_add(id_ttl),
        origin_jti: origin_jti.clone(),
        device_key: device_key.clone(),
        scope,
    };
    let claims = RefreshClaims {
        pool_id: grant.pool_id.clone(),
        username: user.username.clone(),
        sub: user.sub().to_owned(),
        client_id: grant.client_id.clone(),
        issued_ms: now_ms,
        expires_at: now.saturating_add(refresh_ttl),
        auth_time,
        origin_jti,
        device_key,
        jti: crate::token_book::new_jti(now_ms),
        scopes: oauth.map(|o| o.scopes.clone()),
    };
    let refresh = match &grant.refresh {
        // Nothing is stored: the token carries its state, sealed (see `token_book`).
        RefreshMode::New => Some(state.tokens.seal_refresh(&claims)),
        RefreshMode::Keep { .. } => None,
    };
    Ok((keys, Value::Object(id), Value::Object(access), refresh, access_ttl, record, new_device))
}
