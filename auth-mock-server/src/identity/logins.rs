//! Checking the `Logins` map for real.
//!
//! - A user-pool ID token (`cognito-idp.<region>.amazonaws.com/<poolId>`) must carry a valid
//!   RS256 signature by that pool's ID-token key, the pool's issuer, `token_use: id`, an `exp`
//!   in the future on the server clock, and an `aud` among the identity pool's
//!   `CognitoIdentityProviders` client ids for that provider. With `ServerSideTokenCheck` the
//!   mock also refuses tokens of a user who signed out globally (or whose refresh token was
//!   revoked), was deleted or disabled, as Cognito does; without it such tokens pass until they
//!   expire, as in Cognito.
//! - Other OpenID Connect providers (`SupportedLoginProviders` keys such as
//!   `accounts.google.com`, or the hosts of `OpenIdConnectProviderARNs`) must be issuers the
//!   mock hosts itself under `/_mock/oidc/<name>`: the token must verify against that issuer's
//!   key, name it in `iss`, be unexpired, and have an `aud` equal to the app id configured in
//!   `SupportedLoginProviders` (for provider ARNs, one of the issuer's configured audiences).
//! - Opaque tokens (Facebook, Login with Amazon, SAML assertions) must have been registered
//!   through the test-control API.
//! - `cognito-identity.amazonaws.com` carries an OpenID token of this server (developer
//!   authenticated identities); it names its identity directly.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::{COGNITO_IDENTITY_PROVIDER, IdentityPool, check_string};
use crate::Shared;
use crate::wire::{CognitoError, OpResult, invalid_member};

/// Opaque-token providers: their tokens are access tokens, not JWTs.
pub(crate) const OPAQUE_PROVIDERS: &[&str] =
    &["graph.facebook.com", "www.amazon.com", "api.twitter.com", "www.digits.com"];

/// A login that passed its provider's checks.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedLogin {
    /// The `Logins` key.
    pub(crate) provider: String,
    /// The user at that provider (`sub`, or a registered token's subject).
    pub(crate) subject: String,
    /// The token's claims (empty for opaque tokens), for rules-based role mappings.
    pub(crate) claims: serde_json::Map<String, Value>,
    /// The `RoleMappings` key of this login (`<provider>:<clientId>` for user pools).
    pub(crate) mapping_key: String,
    /// Roles the token grants (`cognito:roles`: the roles of the user's groups), best first.
    pub(crate) token_roles: Vec<String>,
    /// The identity a `cognito-identity.amazonaws.com` token names.
    pub(crate) identity_id: Option<String>,
}

impl VerifiedLogin {
    /// The `amr` entry of this login in OpenID tokens.
    pub(crate) fn amr(&self) -> String {
        if self.provider.starts_with("cognito-idp.") {
            format!("{}:CognitoSignIn:{}", self.provider, self.subject)
        } else {
            format!("{}:{}", self.provider, self.subject)
        }
    }
}

fn refused(reason: impl std::fmt::Display) -> CognitoError {
    CognitoError::not_authorized(format!("Invalid login token. {reason}"))
}

fn unsupported() -> CognitoError {
    CognitoError::not_authorized("Token is not from a supported provider of this identity pool.")
}

/// Checks the shape of a `Logins` map (at most 10 entries, keys 1..128, tokens 1..50000).
pub(crate) fn check_shape(logins: &BTreeMap<String, String>) -> OpResult<()> {
    if logins.len() > 10 {
        return Err(invalid_member("Logins", "Member must have length less than or equal to 10"));
    }
    for (provider, token) in logins {
        check_string(provider, "Logins", 1, 128, ".+", |c| !c.is_control())?;
        check_string(token, "Logins", 1, 50_000, "[\\S]+", |c| !c.is_whitespace())?;
    }
    Ok(())
}

/// Verifies every login of a request against the identity pool's providers. The developer
/// provider's key is refused here: it is only accepted by GetOpenIdTokenForDeveloperIdentity.
pub(crate) fn verify_all(
    shared: &Shared,
    pool: &IdentityPool,
    logins: &BTreeMap<String, String>,
) -> OpResult<Vec<VerifiedLogin>> {
    check_shape(logins)?;
    logins.iter().map(|(provider, token)| verify(shared, pool, provider, token)).collect()
}

fn verify(
    shared: &Shared,
    pool: &IdentityPool,
    provider: &str,
    token: &str,
) -> OpResult<VerifiedLogin> {
    let now = shared.clock.now_secs();
    if provider == COGNITO_IDENTITY_PROVIDER {
        return verify_cognito_identity(shared, pool, token, now);
    }
    if pool.developer_provider_name() == Some(provider) {
        return Err(CognitoError::not_authorized(format!(
            "The developer provider {provider} can only be used with GetOpenIdTokenForDeveloperIdentity; \
             pass the token it returned under {COGNITO_IDENTITY_PROVIDER}."
        )));
    }
    if provider.starts_with("cognito-idp.") {
        return verify_user_pool(shared, pool, provider, token, now);
    }
    let supported = pool.supported_login_providers();
    if let Some(app_ids) = supported.get(provider) {
        if OPAQUE_PROVIDERS.contains(&provider) {
            return verify_opaque(shared, provider, token, Some(app_ids), now);
        }
        let audiences: Vec<String> = app_ids
            .split([',', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        return verify_oidc(shared, provider, token, Some(&audiences), now);
    }
    let oidc_arn = pool
        .string_list("OpenIdConnectProviderARNs")
        .into_iter()
        .any(|arn| arn.split_once(":oidc-provider/").is_some_and(|(_, host)| host == provider));
    if oidc_arn {
        return verify_oidc(shared, provider, token, None, now);
    }
    if pool.string_list("SamlProviderARNs").iter().any(|arn| arn == provider) {
        return verify_opaque(shared, provider, token, None, now);
    }
    Err(unsupported())
}

fn exp_check(claims: &serde_json::Map<String, Value>, now: u64) -> OpResult<()> {
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(|| refused("The token has no exp claim."))?;
    if exp <= now {
        return Err(refused(format!("Token expired: {exp} >= {now}")));
    }
    Ok(())
}

fn audience_matches(claims: &serde_json::Map<String, Value>, expected: &[String]) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => expected.iter().any(|e| e == aud),
        Some(Value::Array(auds)) => {
            auds.iter().filter_map(Value::as_str).any(|aud| expected.iter().any(|e| e == aud))
        }
        _ => false,
    }
}

fn subject(claims: &serde_json::Map<String, Value>) -> OpResult<String> {
    claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| refused("The token has no sub claim."))
}

fn verify_user_pool(
    shared: &Shared,
    pool: &IdentityPool,
    provider: &str,
    token: &str,
    now: u64,
) -> OpResult<VerifiedLogin> {
    let entries: Vec<super::UserPoolProvider> =
        pool.user_pool_providers().into_iter().filter(|p| p.provider_name == provider).collect();
    let user_pool_id = super::pools::user_pool_of_provider(provider);
    let (Some(user_pool_id), false) = (user_pool_id, entries.is_empty()) else {
        return Err(unsupported());
    };
    let (keys, issuer) = {
        let state = shared.state.read();
        let user_pool = state
            .pools
            .get(user_pool_id)
            .ok_or_else(|| refused(format!("The user pool {user_pool_id} does not exist.")))?;
        (Arc::clone(&user_pool.keys), user_pool.issuer(shared.config.issuer_base.as_deref()))
    };
    // Identity operations run on the async runtime: never wait there for a new pool's
    // keys, which cannot have signed this token anyway.
    let claims = match keys.id_key_if_ready().and_then(|key| key.verify_jwt(token)) {
        Some(Value::Object(claims)) => claims,
        _ => return Err(refused("Not a valid OpenId Connect identity token.")),
    };
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(refused("Issuer doesn't match providerName"));
    }
    if claims.get("token_use").and_then(Value::as_str) != Some("id") {
        return Err(refused("Not a valid OpenId Connect identity token."));
    }
    exp_check(&claims, now)?;
    let client_ids: Vec<String> = entries.iter().map(|e| e.client_id.clone()).collect();
    if !audience_matches(&claims, &client_ids) {
        return Err(refused("Incorrect token audience."));
    }
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default().to_owned();
    let subject = subject(&claims)?;
    let server_side_check = entries.iter().any(|e| e.client_id == aud && e.server_side_token_check);
    if server_side_check {
        let username = claims.get("cognito:username").and_then(Value::as_str).unwrap_or_default();
        let state = shared.state.read();
        let origin = claims.get("origin_jti").and_then(Value::as_str).unwrap_or_default();
        let jti = claims.get("jti").and_then(Value::as_str).unwrap_or_default();
        let issued = crate::token_book::jti_millis(jti);
        if state.tokens.revoked(user_pool_id, username, origin, issued) {
            return Err(refused("The token has been revoked (the user signed out)."));
        }
        let user = state.pools.get(user_pool_id).and_then(|p| p.users.get(&p.user_key(username)));
        match user {
            Some(user) if user.enabled && user.sub() == subject => {}
            Some(user) if !user.enabled => return Err(refused("The user is disabled.")),
            _ => return Err(refused("The user does not exist.")),
        }
    }
    // Token role mappings choose among the token's `cognito:roles`, by default its
    // `cognito:preferred_role`, as Cognito does: what the token says (a PreTokenGeneration
    // trigger may have changed it), not the user's groups now.
    let mut token_roles: Vec<String> = claims
        .get("cognito:roles")
        .and_then(Value::as_array)
        .map(|roles| roles.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(preferred) = claims.get("cognito:preferred_role").and_then(Value::as_str) {
        token_roles.retain(|role| role != preferred);
        token_roles.insert(0, preferred.to_owned());
    }
    Ok(VerifiedLogin {
        provider: provider.to_owned(),
        subject,
        mapping_key: format!("{provider}:{aud}"),
        claims,
        token_roles,
        identity_id: None,
    })
}

fn verify_oidc(
    shared: &Shared,
    provider: &str,
    token: &str,
    app_ids: Option<&[String]>,
    now: u64,
) -> OpResult<VerifiedLogin> {
    let issuer = shared.oidc.by_login_key(provider).ok_or_else(|| {
        refused(format!(
            "auth-mock-server trusts only the OpenID Connect issuers it hosts (/_mock/oidc/<name>); none has the issuer {provider}."
        ))
    })?;
    let claims = match issuer.verify(token) {
        Some(Value::Object(claims)) => claims,
        _ => return Err(refused("Not a valid OpenId Connect identity token.")),
    };
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.issuer()) {
        return Err(refused("Issuer doesn't match providerName"));
    }
    exp_check(&claims, now)?;
    let expected = match app_ids {
        Some(ids) => Some(ids.to_vec()),
        None => Some(issuer.audiences()).filter(|a| !a.is_empty()),
    };
    if let Some(expected) = expected {
        if !audience_matches(&claims, &expected) {
            return Err(refused("Incorrect token audience."));
        }
    }
    Ok(VerifiedLogin {
        provider: provider.to_owned(),
        subject: subject(&claims)?,
        claims,
        mapping_key: provider.to_owned(),
        token_roles: Vec::new(),
        identity_id: None,
    })
}

fn verify_opaque(
    shared: &Shared,
    provider: &str,
    token: &str,
    app_ids: Option<&String>,
    now: u64,
) -> OpResult<VerifiedLogin> {
    let state = shared.identity.state.read();
    let registered = state
        .provider_tokens
        .get(&(provider.to_owned(), token.to_owned()))
        .ok_or_else(|| {
            refused(format!(
                "The {provider} token is not one auth-mock-server was told to accept (POST /_mock/identity/provider-tokens)."
            ))
        })?;
    if registered.expires_at <= now {
        return Err(refused(format!("Token expired: {} >= {now}", registered.expires_at)));
    }
    if let (Some(expected), Some(app_id)) = (app_ids, &registered.app_id) {
        if !expected.split([',', ';']).any(|e| e.trim() == app_id) {
            return Err(refused("The token was issued to another app."));
        }
    }
    Ok(VerifiedLogin {
        provider: provider.to_owned(),
        subject: registered.subject.clone(),
        claims: serde_json::Map::new(),
        mapping_key: provider.to_owned(),
        token_roles: Vec::new(),
        identity_id: None,
    })
}

fn verify_cognito_identity(
    shared: &Shared,
    pool: &IdentityPool,
    token: &str,
    now: u64,
) -> OpResult<VerifiedLogin> {
    let claims = match shared.identity.openid_key.ready().and_then(|key| key.verify_jwt(token)) {
        Some(Value::Object(claims)) => claims,
        _ => return Err(refused("Not a valid OpenId Connect identity token.")),
    };
    if claims.get("iss").and_then(Value::as_str)
        != Some(super::flows::openid_issuer(shared).as_str())
    {
        return Err(refused("Issuer doesn't match providerName"));
    }
    exp_check(&claims, now)?;
    if claims.get("aud").and_then(Value::as_str) != Some(pool.id.as_str()) {
        return Err(refused("Incorrect token audience."));
    }
    let authenticated = claims
        .get("amr")
        .and_then(Value::as_array)
        .is_some_and(|amr| amr.iter().any(|v| v == "authenticated"));
    if !authenticated {
        return Err(refused("The token is not from an authenticated identity."));
    }
    let identity_id = subject(&claims)?;
    Ok(VerifiedLogin {
        provider: COGNITO_IDENTITY_PROVIDER.to_owned(),
        subject: identity_id.clone(),
        claims,
        mapping_key: COGNITO_IDENTITY_PROVIDER.to_owned(),
        token_roles: Vec::new(),
        identity_id: Some(identity_id),
    })
}
