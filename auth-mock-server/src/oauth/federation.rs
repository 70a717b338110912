//! Federated sign-in through the hosted UI.
//!
//! `/oauth2/authorize` with `identity_provider` (or `idp_identifier`) sends the browser to the
//! provider's authorization endpoint with a `state` the server keeps, bound to the original
//! request. `/oauth2/idpresponse` takes the provider's answer: it redeems the code, verifies
//! the ID token as Cognito does (signature, `iss`, `aud` = the provider's client id, expiry,
//! nonce), makes or updates the federated user `<Provider>_<sub>` with the provider's
//! attribute mapping (or finds the local user an AdminLinkProviderForUser link names), and
//! finishes as a local sign-in does.
//!
//! The providers it can reach are the OpenID Connect issuers this server hosts
//! (`/_mock/oidc/<name>`): the mock makes no outbound HTTP requests, so a provider pointed
//! anywhere else gets an error page saying so.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::authorize::{AuthRequest, check, redirect, redirect_error, signed_in};
use super::{LinkedIdentity, PoolOAuth, Provider, ProviderType, pages};
use crate::Shared;
use crate::state::{MfaSettings, User, UserStatus};

/// How long a sign-in may stay at the provider.
const FEDERATION_LIFETIME_SECS: u64 = 600;

/// Most sign-ins waiting at providers at once.
const MAX_FEDERATIONS: usize = 4096;

/// A sign-in sent to an external provider, found again by the `state` it carries.
#[derive(Debug, Clone)]
pub(crate) struct PendingFederation {
    pub(crate) pool_id: String,
    /// The user pool's name of the provider (`Google`, `MyOidc`).
    provider: String,
    /// The hosted issuer playing it.
    issuer: String,
    /// The provider's `client_id` (the ID token's expected `aud`).
    client_id: String,
    /// The `/oauth2/idpresponse` URL the code was requested for.
    redirect_uri: String,
    /// Sent to the provider, expected back in its ID token.
    nonce: String,
    /// The app's authorize request (client, redirect URI, scopes, state, nonce, PKCE).
    query: String,
    pub(crate) expires_at: u64,
}

/// The provider whose `IdpIdentifiers` has `identifier`; an email address is also matched
/// by its domain.
pub(super) fn by_identifier(oauth: &PoolOAuth, identifier: &str) -> Option<String> {
    let find = |wanted: &str, fold: bool| {
        oauth
            .providers
            .values()
            .find(|p| {
                p.idp_identifiers
                    .iter()
                    .any(|i| if fold { i.eq_ignore_ascii_case(wanted) } else { i == wanted })
            })
            .map(|p| p.name.clone())
    };
    find(identifier, false)
        .or_else(|| identifier.rsplit_once('@').and_then(|(_, domain)| find(domain, true)))
}

/// The name of the hosted issuer under `/_mock/oidc/` that `url` (an issuer, or an endpoint
/// ending in `suffix`) names, if any.
fn mock_path_name(url: &str, suffix: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let rest = url.path().strip_prefix("/_mock/oidc/")?;
    let name = rest.strip_suffix(suffix).unwrap_or(rest).trim_end_matches('/');
    (!name.is_empty() && !name.contains('/')).then(|| name.to_owned())
}

/// The hosted issuer a provider's details point at: `authorize_url` or `oidc_issuer` under
/// `/_mock/oidc/<name>`, `oidc_issuer` `mock:<name>`, the `iss` of a hosted issuer, or (for
/// Google and Sign in with Apple without either) the hosted `google` / `apple` issuers,
/// whose `iss` are the real ones. `None`: the provider is elsewhere.
fn hosted_issuer_name(shared: &Shared, provider: &Provider) -> Option<String> {
    let details = &provider.details;
    if let Some(url) = details.get("authorize_url") {
        return mock_path_name(url, "/authorize");
    }
    let well_known = |key: &str| match key {
        "accounts.google.com" => Some("google".to_owned()),
        "appleid.apple.com" => Some("apple".to_owned()),
        _ => None,
    };
    match details.get("oidc_issuer") {
        Some(issuer) => {
            if let Some(name) = issuer.strip_prefix("mock:") {
                return Some(name.to_owned());
            }
            let key = crate::oidc::login_key(issuer);
            mock_path_name(issuer, "")
                .or_else(|| shared.oidc.by_login_key(&key).map(|i| i.name().to_owned()))
                .or_else(|| well_known(&key))
        }
        None => match provider.kind {
            ProviderType::Google => Some("google".to_owned()),
            ProviderType::SignInWithApple => Some("apple".to_owned()),
            _ => None,
        },
    }
}

/// This server's base URL as the browser addressed it (so the session cookie set at
/// `/oauth2/idpresponse` lands on the host of the hosted UI).
fn own_base(shared: &Shared, headers: &HeaderMap) -> String {
    let scheme = shared.config.url.split_once("://").map_or("http", |(scheme, _)| scheme);
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| !h.is_empty()) {
        Some(host) => format!("{scheme}://{host}"),
        None => shared.config.url.trim_end_matches('/').to_owned(),
    }
}

/// Sends an authorize request naming `provider_name` to the provider.
pub(super) fn start(
    shared: &Shared,
    headers: &HeaderMap,
    request: &AuthRequest,
    provider_name: &str,
) -> Response {
    let provider = {
        let state = shared.state.read();
        state.oauth.pool(&request.pool_id).and_then(|o| o.providers.get(provider_name)).cloned()
    };
    let Some(provider) = provider else {
        return redirect_error(
            request,
            "unauthorized_client",
            &format!("{provider_name} is not a supported identity provider of this client"),
        )
        .into_response();
    };
    let Some(issuer_name) = hosted_issuer_name(shared, &provider) else {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!(
                "The identity provider {provider_name} is not one of this server's OpenID Connect issuers: auth-mock-server emulates federated sign-in only through /_mock/oidc/<name> issuers (ProviderDetails oidc_issuer \"mock:<name>\")."
            ),
        );
    };
    if let Err(error) = shared.oidc.get_or_create(&issuer_name, &shared.config.url) {
        return pages::error_page(StatusCode::BAD_REQUEST, "invalid_request", error.message());
    }
    let Some(client_id) = provider.details.get("client_id").filter(|c| !c.is_empty()).cloned()
    else {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("The identity provider {provider_name} has no client_id."),
        );
    };
    let scopes = provider
        .details
        .get("authorize_scopes")
        .map(|s| s.replace(',', " "))
        .unwrap_or_else(|| "openid".to_owned());
    let redirect_uri = format!("{}/oauth2/idpresponse", own_base(shared, headers));
    let state_value = crate::ops::random_token(32);
    let nonce = crate::ops::random_token(16);
    let now = shared.clock.now_secs();
    {
        let mut state = shared.state.write();
        state.oauth.sweep(now);
        if state.oauth.federations.len() >= MAX_FEDERATIONS {
            return pages::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Too many sign-ins are waiting at identity providers; try again later.",
            );
        }
        state.oauth.federations.insert(
            state_value.clone(),
            PendingFederation {
                pool_id: request.pool_id.clone(),
                provider: provider_name.to_owned(),
                issuer: issuer_name.clone(),
                client_id: client_id.clone(),
                redirect_uri: redirect_uri.clone(),
                nonce: nonce.clone(),
                query: request.query.clone(),
                expires_at: now + FEDERATION_LIFETIME_SECS,
            },
        );
    }
    let mut target = url::form_urlencoded::Serializer::new(String::new());
    target.append_pair("client_id", &client_id);
    target.append_pair("redirect_uri", &redirect_uri);
    target.append_pair("response_type", "code");
    target.append_pair("scope", &scopes);
    target.append_pair("state", &state_value);
    target.append_pair("nonce", &nonce);
    let endpoint =
        format!("{}/_mock/oidc/{issuer_name}/authorize", shared.config.url.trim_end_matches('/'));
    redirect(&format!("{endpoint}?{}", target.finish()))
}

/// The query of `/oauth2/idpresponse`.
#[derive(Debug, Default, Deserialize)]
struct IdpAnswer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /oauth2/idpresponse`: the provider's answer.
pub(super) fn idp_response(shared: &Shared, headers: &HeaderMap, query: &str) -> Response {
    let Ok(answer) = serde_urlencoded::from_str::<IdpAnswer>(query) else {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The query string is malformed.",
        );
    };
    let now = shared.clock.now_secs();
    let pending = {
        let mut state = shared.state.write();
        state.oauth.sweep(now);
        answer.state.as_deref().and_then(|s| state.oauth.federations.remove(s))
    };
    let Some(pending) = pending else {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "The sign-in state is unknown or has expired. Start the sign-in again.",
        );
    };
    let request = match check(shared, headers, &pending.query) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    if request.provider.as_deref() != Some(pending.provider.as_str()) {
        return redirect_error(
            &request,
            "unauthorized_client",
            "The identity provider is no longer supported by this client",
        )
        .into_response();
    }
    if let Some(error) = answer.error.as_deref() {
        // Only an OAuth error code passes through; anything else is the provider's fault.
        let code = if !error.is_empty()
            && error.len() <= 64
            && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            error
        } else {
            "server_error"
        };
        let description = answer.error_description.unwrap_or_else(|| {
            format!("The identity provider {} refused the sign-in", pending.provider)
        });
        tracing::info!(provider = %pending.provider.escape_debug(), error = %code, "federated sign-in refused by the provider");
        return redirect_error(&request, code, &description).into_response();
    }
    let Some(code) = answer.code else {
        return redirect_error(&request, "invalid_request", "The identity provider sent no code")
            .into_response();
    };
    let tokens = match shared.oidc_redeem_code(
        &pending.issuer,
        &code,
        &pending.client_id,
        &pending.redirect_uri,
    ) {
        Ok(tokens) => tokens,
        Err(refusal) => {
            return redirect_error(
                &request,
                "invalid_request",
                &format!("The identity provider refused the code: {}", refusal.description),
            )
            .into_response();
        }
    };
    let claims = match verify_id_token(shared, &pending, &tokens.id_token, now) {
        Ok(claims) => claims,
        Err(message) => {
            return redirect_error(&request, "invalid_request", &message).into_response();
        }
    };
    match federated_user(shared, &request, &pending.provider, &claims) {
        Ok(username) => signed_in(shared, &request, &username, now),
        Err(message) => redirect_error(&request, "invalid_request", &message).into_response(),
    }
}

/// Checks the provider's ID token as Cognito does: the issuer's signature, `iss`, `aud` (the
/// provider's client id), expiry and the nonce sent; returns its claims.
fn verify_id_token(
    shared: &Shared,
    pending: &PendingFederation,
    token: &str,
    now: u64,
) -> Result<serde_json::Map<String, Value>, String> {
    let issuer = shared
        .oidc
        .named(&pending.issuer)
        .ok_or_else(|| "The identity provider's issuer is gone".to_owned())?;
    let Some(Value::Object(claims)) = issuer.verify(token) else {
        return Err("The identity provider's ID token is not signed by its keys".to_owned());
    };
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.issuer()) {
        return Err("The identity provider's ID token has another issuer".to_owned());
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == pending.client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&pending.client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err("The identity provider's ID token is for another client".to_owned());
    }
    if claims.get("exp").and_then(Value::as_u64).is_none_or(|exp| exp <= now) {
        return Err("The identity provider's ID token has expired".to_owned());
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(pending.nonce.as_str()) {
        return Err("The identity provider's ID token has the wrong nonce".to_owned());
    }
    if claims.get("sub").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err("The identity provider's ID token has no subject".to_owned());
    }
    Ok(claims)
}

/// A claim as attribute text (booleans and numbers as Cognito writes them).
fn claim_text(claims: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The user a federated sign-in signs in as: the local user linked to the identity, else
/// the federated user `<Provider>_<id>`, made or updated with the attribute mapping.
fn federated_user(
    shared: &Shared,
    request: &AuthRequest,
    provider_name: &str,
    claims: &serde_json::Map<String, Value>,
) -> Result<String, String> {
    let now = shared.clock.now_f64();
    let now_ms = shared.clock.now_millis();
    let subject = claim_text(claims, "sub").unwrap_or_default();
    let mut state = shared.state.write();
    let oauth = state.oauth.pool(&request.pool_id).ok_or("The user pool has no providers")?;
    let provider = oauth
        .providers
        .get(provider_name)
        .cloned()
        .ok_or_else(|| format!("The identity provider {provider_name} is gone"))?;
    let link = LinkedIdentity { provider: provider_name.to_owned(), subject: subject.clone() };
    if let Some(local) = oauth.links.get(&link).cloned() {
        let pool = state.pool(&request.pool_id).map_err(|e| e.message().to_owned())?;
        let user = pool.user(&local).ok_or("The linked user is gone")?;
        if !user.enabled {
            return Err("User is disabled.".to_owned());
        }
        tracing::info!(provider = %provider_name.escape_debug(), user = %user.username.escape_debug(), "federated sign-in as a linked user");
        return Ok(user.username.clone());
    }
    let user_id = provider
        .attribute_mapping
        .get("username")
        .and_then(|claim| claim_text(claims, claim))
        .filter(|id| !id.is_empty())
        .unwrap_or(subject);
    let mapped: BTreeMap<String, String> = provider
        .attribute_mapping
        .iter()
        // The pool's own keys are not the provider's to set.
        .filter(|(attribute, _)| !matches!(attribute.as_str(), "username" | "sub" | "identities"))
        .filter_map(|(attribute, claim)| claim_text(claims, claim).map(|v| (attribute.clone(), v)))
        .collect();
    let username = format!("{provider_name}_{user_id}");
    // The user is made or updated: the state file must follow.
    shared.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pool = state.pool_mut(&request.pool_id).map_err(|e| e.message().to_owned())?;
    let key = pool.user_key(&username);
    if let Some(user) = pool.users.get_mut(&key) {
        if !user.enabled {
            return Err("User is disabled.".to_owned());
        }
        user.attributes.extend(mapped);
        user.modified = now;
        return Ok(user.username.clone());
    }
    let identities = json!([{
        "userId": user_id,
        "providerName": provider_name,
        "providerType": provider.kind.as_str(),
        "issuer": Value::Null,
        "primary": "true",
        "dateCreated": now_ms.to_string(),
    }]);
    let mut attributes = mapped;
    attributes.insert("sub".into(), uuid::Uuid::new_v4().to_string());
    attributes.insert("identities".into(), identities.to_string());
    pool.users.insert(
        key,
        User {
            username: username.clone(),
            attributes,
            status: UserStatus::Confirmed,
            enabled: true,
            created: now,
            modified: now,
            password: None,
            groups: std::collections::BTreeSet::new(),
            mfa: MfaSettings::default(),
            devices: BTreeMap::new(),
            codes: BTreeMap::new(),
            last_code: None,
            custom_auth: None,
            federated: true,
        },
    );
    tracing::info!(provider = %provider_name.escape_debug(), user = %username.escape_debug(), "federated user created");
    Ok(username)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_issuer_urls_name_their_issuer() {
        assert_eq!(
            mock_path_name("http://127.0.0.1:9229/_mock/oidc/corp/authorize", "/authorize"),
            Some("corp".to_owned())
        );
        assert_eq!(mock_path_name("http://localhost:1/_mock/oidc/corp", ""), Some("corp".into()));
        assert_eq!(mock_path_name("https://accounts.google.com", ""), None);
        assert_eq!(mock_path_name("ftp://x/_mock/oidc/corp", ""), None);
    }

    #[test]
    fn identifiers_match_exactly_or_by_email_domain() {
        let mut oauth = PoolOAuth::default();
        oauth.providers.insert(
            "Corp".into(),
            Provider {
                name: "Corp".into(),
                kind: ProviderType::Oidc,
                details: BTreeMap::new(),
                attribute_mapping: BTreeMap::new(),
                idp_identifiers: vec!["corp.example".into()],
                created: 0.0,
                modified: 0.0,
            },
        );
        assert_eq!(by_identifier(&oauth, "corp.example"), Some("Corp".into()));
        assert_eq!(by_identifier(&oauth, "jane@Corp.Example"), Some("Corp".into()));
        assert_eq!(by_identifier(&oauth, "other.example"), None);
    }
}
