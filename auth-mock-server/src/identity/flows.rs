//! Identities: GetId, GetCredentialsForIdentity, GetOpenIdToken, the developer-authenticated
//! operations, UnlinkIdentity, ListIdentities, DescribeIdentity and DeleteIdentities.
//!
//! Linking rules. The same login (logins key and subject) always maps to the same identity.
//! A login that has no identity yet is linked to the identity that presents it, so a guest
//! identity that later presents a login keeps its id. A guest identity that presents a login
//! already linked elsewhere is merged into that identity (the guest id is deleted and the
//! answer carries the other id, which is why the responses have an `IdentityId`). Logins
//! linked to two different identities in one request are a `ResourceConflictException`; an
//! authenticated identity presented with none of its own logins (for example another user's
//! token) is a `NotAuthorizedException` ("Logins don't match").

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};

use super::logins::{VerifiedLogin, verify_all};
use super::{
    COGNITO_IDENTITY_PROVIDER, Identity, IdentityPool, IdentityState, check_id, check_string,
    identity_not_found, max_results, pool_not_found, required_id,
};
use crate::Shared;
use crate::cx::Cx;
use crate::wire::{CognitoError, OpResult, invalid_member};
use crate::wire::{empty, with_next_token};

/// Lifetime of GetOpenIdToken tokens.
const OPENID_TOKEN_SECONDS: u64 = 600;
/// Default lifetime of GetOpenIdTokenForDeveloperIdentity tokens.
const DEVELOPER_TOKEN_SECONDS: u64 = 900;

/// The `iss` of this server's OpenID tokens: Cognito Identity's, or the issuer base.
pub(crate) fn openid_issuer(shared: &Shared) -> String {
    match shared.config.issuer_base.as_deref() {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => format!("https://{COGNITO_IDENTITY_PROVIDER}"),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct IdentityRequest {
    #[allow(dead_code, reason = "accepted and ignored, as the account is implied")]
    account_id: Option<String>,
    identity_pool_id: Option<String>,
    identity_id: Option<String>,
    logins: Option<BTreeMap<String, String>>,
    custom_role_arn: Option<String>,
    logins_to_remove: Option<Vec<String>>,
    token_duration: Option<i64>,
    #[allow(dead_code, reason = "accepted; the mock's tokens carry no principal tags")]
    principal_tags: Option<BTreeMap<String, String>>,
    developer_user_identifier: Option<String>,
    developer_provider_name: Option<String>,
    source_user_identifier: Option<String>,
    destination_user_identifier: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[allow(dead_code, reason = "the mock never disables identities")]
    hide_disabled: Option<bool>,
    identity_ids_to_delete: Option<Vec<String>>,
}

fn logins_dont_match() -> CognitoError {
    CognitoError::not_authorized(
        "Logins don't match. Please include at least one valid login for this identity or identity pool.",
    )
}

fn conflict(message: impl Into<String>) -> CognitoError {
    CognitoError::new("ResourceConflictException", message)
}

fn unauthenticated_refused() -> CognitoError {
    CognitoError::not_authorized("Unauthenticated access is not supported for this identity pool.")
}

/// Links verified logins to an identity, following the rules in the module docs; returns the
/// identity that ends up holding them (another one when a guest was merged).
fn link(
    state: &mut IdentityState,
    identity_id: &str,
    logins: &[VerifiedLogin],
    now: f64,
) -> OpResult<String> {
    let identity = state.identity(identity_id)?.clone();
    let mut owners = BTreeSet::new();
    let mut own = false;
    for login in logins {
        let owner = match &login.identity_id {
            Some(named) => Some(named.clone()),
            None => state
                .links
                .get(&(identity.pool_id.clone(), login.provider.clone(), login.subject.clone()))
                .cloned(),
        };
        match owner {
            Some(owner) if owner == identity_id => own = true,
            Some(owner) => {
                owners.insert(owner);
            }
            None => {}
        }
    }
    if owners.len() > 1 || (own && !owners.is_empty()) {
        return Err(conflict("The logins belong to different identities."));
    }
    let target = match owners.into_iter().next() {
        None if !own && !identity.logins.is_empty() => return Err(logins_dont_match()),
        None => identity_id.to_owned(),
        Some(other) if identity.logins.is_empty() => {
            // A guest presenting a login that already has an identity: merge into it.
            if state.identities.get(&other).is_none_or(|o| o.pool_id != identity.pool_id) {
                return Err(logins_dont_match());
            }
            state.remove_identity(identity_id);
            other
        }
        // An authenticated identity shown only another identity's logins (an app that cached
        // one user's identity id while another user signed in).
        Some(_) => return Err(logins_dont_match()),
    };
    attach(state, &target, logins, now);
    Ok(target)
}

/// Links the logins that name no identity to `target`.
fn attach(state: &mut IdentityState, target: &str, logins: &[VerifiedLogin], now: f64) {
    let Some(identity) = state.identities.get_mut(target) else { return };
    let pool_id = identity.pool_id.clone();
    let mut new_links = Vec::new();
    for login in logins.iter().filter(|l| l.identity_id.is_none()) {
        if identity.logins.insert((login.provider.clone(), login.subject.clone())) {
            identity.modified = now;
            new_links.push((pool_id.clone(), login.provider.clone(), login.subject.clone()));
        }
    }
    for key in new_links {
        state.links.insert(key, target.to_owned());
    }
}

/// Finds (or creates) the identity of a non-empty set of verified logins.
fn identity_for_logins(
    state: &mut IdentityState,
    pool_id: &str,
    logins: &[VerifiedLogin],
    now: f64,
) -> OpResult<String> {
    let mut owners = BTreeSet::new();
    for login in logins {
        let owner = match &login.identity_id {
            Some(named) => Some(named.clone()),
            None => state
                .links
                .get(&(pool_id.to_owned(), login.provider.clone(), login.subject.clone()))
                .cloned(),
        };
        owners.extend(owner);
    }
    if owners.len() > 1 {
        return Err(conflict("The logins belong to different identities."));
    }
    match owners.into_iter().next() {
        Some(owner) => {
            if state.identities.get(&owner).is_none_or(|i| i.pool_id != pool_id) {
                return Err(identity_not_found(&owner));
            }
            attach(state, &owner, logins, now);
            Ok(owner)
        }
        None => state.new_identity(
            pool_id,
            logins
                .iter()
                .filter(|l| l.identity_id.is_none())
                .map(|l| (l.provider.clone(), l.subject.clone()))
                .collect(),
            now,
        ),
    }
}

pub(crate) fn get_id(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let pool_id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let logins = request.logins.unwrap_or_default();
    let pool = cx.shared.identity.state.read().pool(pool_id)?.clone();
    let verified = verify_all(cx.shared, &pool, &logins)?;
    let now = cx.now_f64();
    let mut state = cx.shared.identity.state.write();
    state.pool(pool_id)?;
    let identity_id = if verified.is_empty() {
        if !pool.allow_unauthenticated() {
            return Err(unauthenticated_refused());
        }
        state.new_identity(pool_id, BTreeSet::new(), now)?
    } else {
        identity_for_logins(&mut state, pool_id, &verified, now)?
    };
    Ok(json!({ "IdentityId": identity_id }))
}

/// An identity after its logins were checked and linked.
struct Authorized {
    identity_id: String,
    pool: IdentityPool,
    logins: Vec<VerifiedLogin>,
}

/// The common part of GetCredentialsForIdentity and GetOpenIdToken: the identity exists, the
/// logins verify and belong to it (or are linked to it now), or it is a guest of a pool that
/// allows guests. Leaves the identity lock held so the caller can issue under it.
fn authorize<'a>(
    cx: &'a Cx<'_>,
    identity_id: &str,
    logins: &BTreeMap<String, String>,
) -> OpResult<(Authorized, parking_lot::RwLockWriteGuard<'a, IdentityState>)> {
    let (identity, pool) = {
        let state = cx.shared.identity.state.read();
        let identity = state.identity(identity_id)?.clone();
        let pool = state.pool(&identity.pool_id)?.clone();
        (identity, pool)
    };
    let verified = verify_all(cx.shared, &pool, logins)?;
    let now = cx.now_f64();
    let mut state = cx.shared.identity.state.write();
    let effective = if verified.is_empty() {
        let current = state.identity(identity_id)?;
        if !current.logins.is_empty() {
            return Err(logins_dont_match());
        }
        if !pool.allow_unauthenticated() {
            return Err(unauthenticated_refused());
        }
        identity.id
    } else {
        link(&mut state, identity_id, &verified, now)?
    };
    Ok((Authorized { identity_id: effective, pool, logins: verified }, state))
}

fn claim_text(claims: &serde_json::Map<String, Value>, claim: &str) -> Option<String> {
    match claims.get(claim)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
        }
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn rule_matches(rule: &Value, claims: &serde_json::Map<String, Value>) -> bool {
    let field = |name: &str| rule.get(name).and_then(Value::as_str).unwrap_or_default();
    let Some(actual) = claim_text(claims, field("Claim")) else {
        return field("MatchType") == "NotEqual";
    };
    let expected = field("Value");
    match field("MatchType") {
        "Equals" => actual == expected,
        "Contains" => actual.contains(expected),
        "StartsWith" => actual.starts_with(expected),
        "NotEqual" => actual != expected,
        _ => false,
    }
}

fn missing_role() -> CognitoError {
    CognitoError::new(
        "InvalidIdentityPoolConfigurationException",
        "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
    )
}

/// The role the credentials are for: role mappings of the presented logins (Token: the
/// token's `cognito:roles`, `CustomRoleArn` choosing among them; Rules: the first matching
/// rule), else the pool's authenticated or unauthenticated role.
fn choose_role(authorized: &Authorized, custom_role_arn: Option<&str>) -> OpResult<String> {
    let pool = &authorized.pool;
    if authorized.logins.is_empty() {
        if custom_role_arn.is_some() {
            return Err(CognitoError::invalid_parameter(
                "CustomRoleArn can only be used with an authenticated identity.",
            ));
        }
        return pool.roles.get("unauthenticated").cloned().ok_or_else(missing_role);
    }
    let default = pool.roles.get("authenticated").cloned();
    for login in &authorized.logins {
        let Some(mapping) = pool.role_mappings.get(&login.mapping_key) else { continue };
        let chosen = match mapping.get("Type").and_then(Value::as_str) {
            Some("Token") => match custom_role_arn {
                Some(custom) if login.token_roles.iter().any(|r| r == custom) => {
                    Some(custom.to_owned())
                }
                Some(_) => {
                    return Err(CognitoError::not_authorized(
                        "The CustomRoleArn is not among the roles of the login's token (cognito:roles).",
                    ));
                }
                None => login.token_roles.first().cloned(),
            },
            Some("Rules") => mapping
                .pointer("/RulesConfiguration/Rules")
                .and_then(Value::as_array)
                .and_then(|rules| rules.iter().find(|rule| rule_matches(rule, &login.claims)))
                .and_then(|rule| rule.get("RoleARN").and_then(Value::as_str))
                .map(str::to_owned),
            _ => None,
        };
        if let Some(role) = chosen {
            return Ok(role);
        }
        return match mapping.get("AmbiguousRoleResolution").and_then(Value::as_str) {
            Some("Deny") => Err(CognitoError::not_authorized(
                "The role mapping of this login resolved no role and its AmbiguousRoleResolution is Deny.",
            )),
            _ => default.ok_or_else(missing_role),
        };
    }
    if custom_role_arn.is_some() {
        return Err(CognitoError::not_authorized(
            "CustomRoleArn needs a Token role mapping for the login's provider.",
        ));
    }
    default.ok_or_else(missing_role)
}

pub(crate) fn get_credentials_for_identity(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let identity_id = required_id(&request.identity_id, "IdentityId")?;
    if let Some(arn) = &request.custom_role_arn {
        check_string(arn, "CustomRoleArn", 20, 2048, "ARN", |c| !c.is_control())?;
    }
    let logins = request.logins.unwrap_or_default();
    let (authorized, mut state) = authorize(cx, identity_id, &logins)?;
    let role = choose_role(&authorized, request.custom_role_arn.as_deref())?;
    let expires_at = cx.now().saturating_add(state.credentials_seconds);
    let credentials = state.credentials.issue(&authorized.identity_id, &role, expires_at);
    Ok(json!({ "IdentityId": authorized.identity_id, "Credentials": credentials }))
}

/// Signs an OpenID token for an identity.
fn openid_token(
    shared: &Shared,
    pool_id: &str,
    identity_id: &str,
    amr: Vec<String>,
    lifetime: u64,
) -> String {
    let now = shared.clock.now_secs();
    let claims = json!({
        "sub": identity_id,
        "aud": pool_id,
        "amr": amr,
        "iss": openid_issuer(shared),
        "https://cognito-identity.amazonaws.com/identity-pool-arn":
            format!("arn:aws:cognito-identity:{}:000000000000:identitypool/{pool_id}",
                pool_id.split_once(':').map_or("us-east-1", |(r, _)| r)),
        "exp": now.saturating_add(lifetime),
        "iat": now,
    });
    shared.identity.openid_key.get().sign_jwt(&claims)
}

fn amr_of(logins: &[VerifiedLogin]) -> Vec<String> {
    if logins.is_empty() {
        return vec!["unauthenticated".to_owned()];
    }
    let mut amr = vec!["authenticated".to_owned()];
    for login in logins {
        amr.push(login.provider.clone());
        amr.push(login.amr());
    }
    amr
}

pub(crate) fn get_open_id_token(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let identity_id = required_id(&request.identity_id, "IdentityId")?;
    let logins = request.logins.unwrap_or_default();
    let (authorized, state) = authorize(cx, identity_id, &logins)?;
    drop(state);
    let token = openid_token(
        cx.shared,
        &authorized.pool.id,
        &authorized.identity_id,
        amr_of(&authorized.logins),
        OPENID_TOKEN_SECONDS,
    );
    Ok(json!({ "IdentityId": authorized.identity_id, "Token": token }))
}

fn developer_user(value: &str, member: &str) -> OpResult<()> {
    check_string(value, member, 1, 1024, "[\\w.@_-]+", |c| !c.is_control())
}

pub(crate) fn get_open_id_token_for_developer_identity(
    cx: &Cx<'_>,
    request: IdentityRequest,
) -> OpResult {
    let pool_id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    if let Some(id) = &request.identity_id {
        check_id(id, "IdentityId")?;
    }
    let lifetime = match request.token_duration {
        None => DEVELOPER_TOKEN_SECONDS,
        Some(seconds @ 1..=86_400) => seconds.unsigned_abs(),
        Some(_) => {
            return Err(invalid_member(
                "TokenDuration",
                "Member must have value between 1 and 86400",
            ));
        }
    };
    let mut logins = request.logins.ok_or_else(|| CognitoError::missing("Logins"))?;
    let pool = cx.shared.identity.state.read().pool(pool_id)?.clone();
    let developer = pool.developer_provider_name().map(str::to_owned).ok_or_else(|| {
        CognitoError::invalid_parameter("The identity pool has no DeveloperProviderName.")
    })?;
    let user = logins.remove(&developer).ok_or_else(|| {
        CognitoError::invalid_parameter(format!(
            "Logins must hold the developer provider {developer} and the developer user identifier."
        ))
    })?;
    developer_user(&user, "Logins")?;
    let mut verified = verify_all(cx.shared, &pool, &logins)?;
    verified.push(VerifiedLogin {
        provider: developer.clone(),
        subject: user.clone(),
        claims: serde_json::Map::new(),
        mapping_key: developer.clone(),
        token_roles: Vec::new(),
        identity_id: None,
    });
    let now = cx.now_f64();
    let identity_id = {
        let mut state = cx.shared.identity.state.write();
        state.pool(pool_id)?;
        match request.identity_id.as_deref() {
            Some(id) => {
                if state.identity(id)?.pool_id != pool_id {
                    return Err(identity_not_found(id));
                }
                // A signed call from the app's backend: the developer user (and any other
                // login without an identity) is linked to the identity it names.
                for login in &verified {
                    let key = (pool_id.to_owned(), login.provider.clone(), login.subject.clone());
                    let owner = login.identity_id.as_ref().or_else(|| state.links.get(&key));
                    if owner.is_some_and(|owner| owner != id) {
                        return Err(conflict(format!(
                            "The login {} is linked to another identity.",
                            login.provider
                        )));
                    }
                }
                attach(&mut state, id, &verified, now);
                id.to_owned()
            }
            None => identity_for_logins(&mut state, pool_id, &verified, now)?,
        }
    };
    let amr = vec![
        "authenticated".to_owned(),
        developer.clone(),
        format!("{developer}:{pool_id}:{user}"),
    ];
    let token = openid_token(cx.shared, pool_id, &identity_id, amr, lifetime);
    Ok(json!({ "IdentityId": identity_id, "Token": token }))
}

pub(crate) fn lookup_developer_identity(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let pool_id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let max = max_results(request.max_results)?;
    if let Some(id) = &request.identity_id {
        check_id(id, "IdentityId")?;
    }
    if let Some(user) = &request.developer_user_identifier {
        developer_user(user, "DeveloperUserIdentifier")?;
    }
    let state = cx.shared.identity.state.read();
    let pool = state.pool(pool_id)?;
    let developer = pool.developer_provider_name().unwrap_or_default().to_owned();
    let identity_id = match (&request.identity_id, &request.developer_user_identifier) {
        (_, Some(user)) => {
            let owner = state
                .links
                .get(&(pool_id.to_owned(), developer.clone(), user.clone()))
                .ok_or_else(|| {
                    CognitoError::resource_not_found(format!("Developer user {user} not found."))
                })?;
            if request.identity_id.as_ref().is_some_and(|id| id != owner) {
                return Err(CognitoError::resource_not_found(
                    "The developer user is not linked to that identity.",
                ));
            }
            owner.clone()
        }
        (Some(id), None) => id.clone(),
        (None, None) => {
            return Err(CognitoError::invalid_parameter(
                "Either IdentityId or DeveloperUserIdentifier is required.",
            ));
        }
    };
    let identity = state.identity(&identity_id)?;
    if identity.pool_id != pool_id {
        return Err(identity_not_found(&identity_id));
    }
    let users: Vec<String> = identity
        .logins
        .iter()
        .filter(|(provider, _)| *provider == developer)
        .map(|(_, user)| user.clone())
        .collect();
    let (page, next) = crate::wire::paginate(&users, None, request.next_token.as_deref(), max)?;
    with_next_token(
        json!({ "IdentityId": identity_id, "DeveloperUserIdentifierList": page }),
        "NextToken",
        next,
    )
}

/// The identity of a developer user, with the checks the developer operations share.
fn developer_identity(
    state: &IdentityState,
    pool_id: &str,
    provider: &str,
    user: &str,
) -> OpResult<String> {
    let pool = state.pool(pool_id)?;
    if pool.developer_provider_name() != Some(provider) {
        return Err(CognitoError::invalid_parameter(format!(
            "{provider} is not the developer provider of this identity pool."
        )));
    }
    state
        .links
        .get(&(pool_id.to_owned(), provider.to_owned(), user.to_owned()))
        .cloned()
        .ok_or_else(|| {
            CognitoError::resource_not_found(format!("Developer user {user} not found."))
        })
}

pub(crate) fn merge_developer_identities(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let pool_id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let provider =
        crate::wire::required(&request.developer_provider_name, "DeveloperProviderName")?;
    let source = crate::wire::required(&request.source_user_identifier, "SourceUserIdentifier")?;
    let destination =
        crate::wire::required(&request.destination_user_identifier, "DestinationUserIdentifier")?;
    let now = cx.now_f64();
    let mut state = cx.shared.identity.state.write();
    let from = developer_identity(&state, pool_id, provider, source)?;
    let to = developer_identity(&state, pool_id, provider, destination)?;
    if from != to {
        let moved = state.remove_identity(&from).map(|i| i.logins).unwrap_or_default();
        if let Some(target) = state.identities.get_mut(&to) {
            target.logins.extend(moved.iter().cloned());
            target.modified = now;
        }
        for (provider, subject) in moved {
            state.links.insert((pool_id.to_owned(), provider, subject), to.clone());
        }
    }
    Ok(json!({ "IdentityId": to }))
}

pub(crate) fn unlink_developer_identity(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let pool_id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let identity_id = required_id(&request.identity_id, "IdentityId")?;
    let provider =
        crate::wire::required(&request.developer_provider_name, "DeveloperProviderName")?;
    let user =
        crate::wire::required(&request.developer_user_identifier, "DeveloperUserIdentifier")?;
    let now = cx.now_f64();
    let mut state = cx.shared.identity.state.write();
    let owner = developer_identity(&state, pool_id, provider, user)?;
    if owner != identity_id {
        return Err(CognitoError::resource_not_found(
            "The developer user is not linked to that identity.",
        ));
    }
    state.links.remove(&(pool_id.to_owned(), provider.to_owned(), user.to_owned()));
    if let Some(identity) = state.identities.get_mut(identity_id) {
        identity.logins.remove(&(provider.to_owned(), user.to_owned()));
        identity.modified = now;
    }
    empty()
}

pub(crate) fn unlink_identity(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let identity_id = required_id(&request.identity_id, "IdentityId")?;
    let logins = request.logins.ok_or_else(|| CognitoError::missing("Logins"))?;
    let remove = request.logins_to_remove.ok_or_else(|| CognitoError::missing("LoginsToRemove"))?;
    if remove.len() > 10 {
        return Err(invalid_member(
            "LoginsToRemove",
            "Member must have length less than or equal to 10",
        ));
    }
    let (identity, pool) = {
        let state = cx.shared.identity.state.read();
        let identity = state.identity(identity_id)?.clone();
        let pool = state.pool(&identity.pool_id)?.clone();
        (identity, pool)
    };
    let verified = verify_all(cx.shared, &pool, &logins)?;
    let proves = verified.iter().any(|login| {
        login.identity_id.as_deref() == Some(identity_id)
            || identity.logins.contains(&(login.provider.clone(), login.subject.clone()))
    });
    if !proves {
        return Err(logins_dont_match());
    }
    let now = cx.now_f64();
    let mut state = cx.shared.identity.state.write();
    let Some(current) = state.identities.get_mut(identity_id) else {
        return Err(identity_not_found(identity_id));
    };
    let removed: Vec<(String, String)> =
        current.logins.iter().filter(|(p, _)| remove.contains(p)).cloned().collect();
    for login in &removed {
        current.logins.remove(login);
    }
    current.modified = now;
    for (provider, subject) in removed {
        state.links.remove(&(identity.pool_id.clone(), provider, subject));
    }
    empty()
}

fn description(identity: &Identity) -> Value {
    let providers: BTreeSet<&String> = identity.logins.iter().map(|(p, _)| p).collect();
    let mut out = json!({
        "IdentityId": identity.id,
        "CreationDate": identity.created,
        "LastModifiedDate": identity.modified,
    });
    if !providers.is_empty() {
        out["Logins"] = json!(providers);
    }
    out
}

pub(crate) fn describe_identity(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let identity_id = required_id(&request.identity_id, "IdentityId")?;
    let state = cx.shared.identity.state.read();
    Ok(description(state.identity(identity_id)?))
}

pub(crate) fn list_identities(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let pool_id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let max = max_results(request.max_results)?;
    let state = cx.shared.identity.state.read();
    if !state.pools.contains_key(pool_id) {
        return Err(pool_not_found(pool_id));
    }
    let mut identities: Vec<&Identity> =
        state.identities.values().filter(|i| i.pool_id == pool_id).collect();
    // Creation order, so pages stay stable while identities are added.
    identities.sort_by(|a, b| a.created.total_cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    let (page, next) =
        crate::wire::paginate(&identities, None, request.next_token.as_deref(), max)?;
    with_next_token(
        json!({
            "IdentityPoolId": pool_id,
            "Identities": page.iter().map(|i| description(i)).collect::<Vec<_>>(),
        }),
        "NextToken",
        next,
    )
}

pub(crate) fn delete_identities(cx: &Cx<'_>, request: IdentityRequest) -> OpResult {
    let ids = request
        .identity_ids_to_delete
        .ok_or_else(|| CognitoError::missing("IdentityIdsToDelete"))?;
    if ids.is_empty() || ids.len() > 60 {
        return Err(invalid_member(
            "IdentityIdsToDelete",
            "Member must have length between 1 and 60",
        ));
    }
    for id in &ids {
        check_id(id, "IdentityIdsToDelete")?;
    }
    let mut state = cx.shared.identity.state.write();
    for id in &ids {
        state.remove_identity(id);
    }
    Ok(json!({ "UnprocessedIdentityIds": [] }))
}
