//! Identity pool administration: Create/Describe/Update/Delete/ListIdentityPools and
//! Set/GetIdentityPoolRoles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{IdentityPool, check_string, max_results, pool_not_found, required_id};
use crate::cx::Cx;
use crate::state::Object;
use crate::wire::{CognitoError, OpResult, invalid_member};
use crate::wire::{empty, with_next_token};

/// The fields of CreateIdentityPool and UpdateIdentityPool (the `IdentityPool` shape).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PoolRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_pool_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_pool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_unauthenticated_identities: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_classic_flow: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supported_login_providers: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    developer_provider_name: Option<String>,
    #[serde(rename = "OpenIdConnectProviderARNs", skip_serializing_if = "Option::is_none")]
    open_id_connect_provider_arns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cognito_identity_providers: Option<Vec<CognitoProvider>>,
    #[serde(rename = "SamlProviderARNs", skip_serializing_if = "Option::is_none")]
    saml_provider_arns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_pool_tags: Option<BTreeMap<String, String>>,
}

/// A `CognitoIdentityProvider`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CognitoProvider {
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_side_token_check: Option<bool>,
}

fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn check_arns(arns: &[String], member: &str) -> OpResult<()> {
    for arn in arns {
        check_string(arn, member, 20, 2048, "ARN", |c| !c.is_control())?;
        if !arn.starts_with("arn:") {
            return Err(invalid_member(
                member,
                "Member must be an ARN (arn:aws:iam::<account>:...)",
            ));
        }
    }
    Ok(())
}

/// Validates the pool fields and returns the settings to store (without the id).
fn validated_settings(request: &PoolRequest) -> OpResult<Object> {
    let name = request
        .identity_pool_name
        .as_deref()
        .ok_or_else(|| CognitoError::missing("IdentityPoolName"))?;
    check_string(name, "IdentityPoolName", 1, 128, "[\\w\\s+=,.@-]+", |c| {
        word(c) || c.is_whitespace() || "+=,.@-".contains(c)
    })?;
    if request.allow_unauthenticated_identities.is_none() {
        return Err(CognitoError::missing("AllowUnauthenticatedIdentities"));
    }
    if let Some(providers) = &request.supported_login_providers {
        if providers.len() > 10 {
            return Err(invalid_member(
                "SupportedLoginProviders",
                "Member must have length less than or equal to 10",
            ));
        }
        for (provider, app_id) in providers {
            check_string(provider, "SupportedLoginProviders", 1, 128, ".+", |c| !c.is_control())?;
            check_string(app_id, "SupportedLoginProviders", 1, 128, "[\\w.;_/-]+", |c| {
                word(c) || ".;_/-".contains(c)
            })?;
            if provider.starts_with("cognito-idp.") || provider == super::COGNITO_IDENTITY_PROVIDER
            {
                return Err(CognitoError::invalid_parameter(format!(
                    "{provider} cannot be a supported login provider; use CognitoIdentityProviders."
                )));
            }
        }
    }
    if let Some(name) = &request.developer_provider_name {
        check_string(name, "DeveloperProviderName", 1, 128, "[\\w._-]+", |c| {
            word(c) || "._-".contains(c)
        })?;
    }
    if let Some(arns) = &request.open_id_connect_provider_arns {
        check_arns(arns, "OpenIdConnectProviderARNs")?;
    }
    if let Some(arns) = &request.saml_provider_arns {
        check_arns(arns, "SamlProviderARNs")?;
    }
    for provider in request.cognito_identity_providers.iter().flatten() {
        let name = provider
            .provider_name
            .as_deref()
            .ok_or_else(|| CognitoError::missing("ProviderName"))?;
        check_string(name, "ProviderName", 1, 128, "[\\w._:/-]+", |c| {
            word(c) || "._:/-".contains(c)
        })?;
        let client_id =
            provider.client_id.as_deref().ok_or_else(|| CognitoError::missing("ClientId"))?;
        check_string(client_id, "ClientId", 1, 128, "[\\w_]+", word)?;
        if user_pool_of_provider(name).is_none() {
            return Err(CognitoError::invalid_parameter(format!(
                "Invalid Cognito Identity Provider name {name}: expected cognito-idp.<region>.amazonaws.com/<userPoolId>."
            )));
        }
    }
    if let Some(tags) = &request.identity_pool_tags {
        if tags.len() > 50 {
            return Err(invalid_member(
                "IdentityPoolTags",
                "Member must have length less than or equal to 50",
            ));
        }
    }
    let mut fields = request.clone();
    fields.identity_pool_id = None;
    // Cognito fills in defaults for omitted parameters.
    fields.allow_classic_flow = Some(fields.allow_classic_flow.unwrap_or(false));
    match serde_json::to_value(fields) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(CognitoError::internal("could not store the identity pool settings")),
    }
}

/// The user pool id named by a `cognito-idp.<region>.amazonaws.com/<poolId>` provider name.
pub(crate) fn user_pool_of_provider(provider: &str) -> Option<&str> {
    let rest = provider.strip_prefix("cognito-idp.")?;
    let (host, pool_id) = rest.split_once('/')?;
    let region = host.strip_suffix(".amazonaws.com")?;
    let (pool_region, suffix) = pool_id.split_once('_')?;
    (!region.is_empty() && region == pool_region && !suffix.is_empty() && !suffix.contains('/'))
        .then_some(pool_id)
}

/// The `IdentityPool` shape of a pool.
fn pool_shape(pool: &IdentityPool) -> Value {
    let mut shape = pool.settings.clone();
    shape.insert("IdentityPoolId".into(), json!(pool.id));
    Value::Object(shape)
}

pub(crate) fn create_identity_pool(cx: &Cx<'_>, request: PoolRequest) -> OpResult {
    let settings = validated_settings(&request)?;
    let region = cx.meta.signed_region.clone().unwrap_or_else(|| cx.shared.config.region.clone());
    let id = format!("{region}:{}", uuid::Uuid::new_v4());
    let pool = IdentityPool {
        id: id.clone(),
        settings,
        roles: BTreeMap::new(),
        role_mappings: Object::new(),
    };
    let shape = pool_shape(&pool);
    cx.shared.identity.state.write().pools.insert(id, pool);
    // GetOpenIdToken will need the issuer key; make it while the test sets up.
    cx.shared.identity.openid_key.prepare_in_background();
    Ok(shape)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PoolRef {
    identity_pool_id: Option<String>,
}

pub(crate) fn describe_identity_pool(cx: &Cx<'_>, request: PoolRef) -> OpResult {
    let id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let state = cx.shared.identity.state.read();
    Ok(pool_shape(state.pool(id)?))
}

pub(crate) fn update_identity_pool(cx: &Cx<'_>, request: PoolRequest) -> OpResult {
    let id = required_id(&request.identity_pool_id, "IdentityPoolId")?.to_owned();
    let settings = validated_settings(&request)?;
    let mut state = cx.shared.identity.state.write();
    let pool = state.pools.get_mut(&id).ok_or_else(|| pool_not_found(&id))?;
    if let Some(existing) = pool.developer_provider_name() {
        if request.developer_provider_name.as_deref() != Some(existing) {
            return Err(CognitoError::invalid_parameter(
                "The developer provider name cannot be changed once it is set.",
            ));
        }
    }
    pool.settings = settings;
    Ok(pool_shape(pool))
}

pub(crate) fn delete_identity_pool(cx: &Cx<'_>, request: PoolRef) -> OpResult {
    let id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let mut state = cx.shared.identity.state.write();
    state.pools.remove(id).ok_or_else(|| pool_not_found(id))?;
    let identities: Vec<String> =
        state.identities.values().filter(|i| i.pool_id == id).map(|i| i.id.clone()).collect();
    for identity in identities {
        state.remove_identity(&identity);
    }
    empty()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListRequest {
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(crate) fn list_identity_pools(cx: &Cx<'_>, request: ListRequest) -> OpResult {
    let max = max_results(request.max_results)?;
    let state = cx.shared.identity.state.read();
    let pools: Vec<Value> = state
        .pools
        .values()
        .map(|p| json!({ "IdentityPoolId": p.id, "IdentityPoolName": p.name() }))
        .collect();
    let (page, next) = crate::wire::paginate(&pools, None, request.next_token.as_deref(), max)?;
    with_next_token(json!({ "IdentityPools": page }), "NextToken", next)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RolesRequest {
    identity_pool_id: Option<String>,
    roles: Option<BTreeMap<String, String>>,
    role_mappings: Option<BTreeMap<String, RoleMapping>>,
}

/// A `RoleMapping`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RoleMapping {
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ambiguous_role_resolution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules_configuration: Option<RulesConfiguration>,
}

/// A `RulesConfigurationType`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RulesConfiguration {
    rules: Option<Vec<MappingRule>>,
}

/// A `MappingRule`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MappingRule {
    claim: Option<String>,
    match_type: Option<String>,
    value: Option<String>,
    #[serde(rename = "RoleARN")]
    role_arn: Option<String>,
}

/// The role-mapping keys a pool accepts: `<ProviderName>:<ClientId>` for user pools, the
/// other providers by their logins key.
fn role_mapping_keys(pool: &IdentityPool) -> Vec<String> {
    let mut keys: Vec<String> = pool
        .user_pool_providers()
        .into_iter()
        .map(|p| format!("{}:{}", p.provider_name, p.client_id))
        .collect();
    keys.extend(pool.supported_login_providers().into_keys());
    keys.extend(
        pool.string_list("OpenIdConnectProviderARNs")
            .iter()
            .filter_map(|arn| arn.split_once(":oidc-provider/").map(|(_, host)| host.to_owned())),
    );
    keys.extend(pool.string_list("SamlProviderARNs"));
    keys
}

fn check_role_mapping(key: &str, mapping: &RoleMapping) -> OpResult<()> {
    match mapping.kind.as_deref() {
        Some("Token" | "Rules") => {}
        Some(other) => {
            return Err(CognitoError::invalid_parameter(format!(
                "Invalid role mapping type {other} for {key}: expected Token or Rules."
            )));
        }
        None => return Err(CognitoError::missing("Type")),
    }
    match mapping.ambiguous_role_resolution.as_deref() {
        Some("AuthenticatedRole" | "Deny") => {}
        Some(other) => {
            return Err(CognitoError::invalid_parameter(format!(
                "Invalid AmbiguousRoleResolution {other}: expected AuthenticatedRole or Deny."
            )));
        }
        None => {
            return Err(CognitoError::invalid_parameter(format!(
                "AmbiguousRoleResolution is required for the role mapping of {key}."
            )));
        }
    }
    if mapping.kind.as_deref() == Some("Rules") {
        let rules =
            mapping.rules_configuration.as_ref().and_then(|c| c.rules.as_ref()).ok_or_else(
                || {
                    CognitoError::invalid_parameter(format!(
                        "RulesConfiguration is required for the Rules role mapping of {key}."
                    ))
                },
            )?;
        if rules.is_empty() || rules.len() > 25 {
            return Err(invalid_member("Rules", "Member must have between 1 and 25 rules"));
        }
        for rule in rules {
            let claim = rule.claim.as_deref().ok_or_else(|| CognitoError::missing("Claim"))?;
            check_string(claim, "Claim", 1, 64, "[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+", |c| {
                !c.is_whitespace() && !c.is_control()
            })?;
            match rule.match_type.as_deref() {
                Some("Equals" | "Contains" | "StartsWith" | "NotEqual") => {}
                Some(_) => {
                    return Err(invalid_member(
                        "MatchType",
                        "Member must satisfy enum value set: [Equals, Contains, StartsWith, NotEqual]",
                    ));
                }
                None => return Err(CognitoError::missing("MatchType")),
            }
            let value = rule.value.as_deref().ok_or_else(|| CognitoError::missing("Value"))?;
            check_string(value, "Value", 1, 128, ".+", |_| true)?;
            let arn = rule.role_arn.as_deref().ok_or_else(|| CognitoError::missing("RoleARN"))?;
            check_arns(std::slice::from_ref(&arn.to_owned()), "RoleARN")?;
        }
    }
    Ok(())
}

pub(crate) fn set_identity_pool_roles(cx: &Cx<'_>, request: RolesRequest) -> OpResult {
    let id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let roles = request.roles.ok_or_else(|| CognitoError::missing("Roles"))?;
    if roles.len() > 2 {
        return Err(invalid_member("Roles", "Member must have length less than or equal to 2"));
    }
    for (kind, arn) in &roles {
        if kind != "authenticated" && kind != "unauthenticated" {
            return Err(CognitoError::invalid_parameter(format!(
                "Invalid role type {kind}: expected authenticated or unauthenticated."
            )));
        }
        check_arns(std::slice::from_ref(arn), "Roles")?;
    }
    let mappings = request.role_mappings.unwrap_or_default();
    if mappings.len() > 10 {
        return Err(invalid_member(
            "RoleMappings",
            "Member must have length less than or equal to 10",
        ));
    }
    let mut state = cx.shared.identity.state.write();
    let pool = state.pools.get_mut(id).ok_or_else(|| pool_not_found(id))?;
    let known = role_mapping_keys(pool);
    for (key, mapping) in &mappings {
        if !known.contains(key) {
            return Err(CognitoError::invalid_parameter(format!(
                "The role mapping key {key} is not a provider of this identity pool (user pools are keyed <ProviderName>:<ClientId>)."
            )));
        }
        check_role_mapping(key, mapping)?;
    }
    pool.roles = roles;
    pool.role_mappings = match serde_json::to_value(&mappings) {
        Ok(Value::Object(map)) => map,
        _ => Object::new(),
    };
    empty()
}

pub(crate) fn get_identity_pool_roles(cx: &Cx<'_>, request: PoolRef) -> OpResult {
    let id = required_id(&request.identity_pool_id, "IdentityPoolId")?;
    let state = cx.shared.identity.state.read();
    let pool = state.pool(id)?;
    let mut out = json!({ "IdentityPoolId": pool.id, "Roles": pool.roles });
    if !pool.role_mappings.is_empty() {
        out["RoleMappings"] = Value::Object(pool.role_mappings.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::user_pool_of_provider;

    #[test]
    fn provider_names_name_a_user_pool() {
        assert_eq!(
            user_pool_of_provider("cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc"),
            Some("eu-west-1_Abc")
        );
        assert_eq!(
            user_pool_of_provider("cognito-idp.eu-west-1.amazonaws.com/us-east-1_Abc"),
            None
        );
        assert_eq!(user_pool_of_provider("accounts.google.com"), None);
        assert_eq!(user_pool_of_provider("cognito-idp.x.amazonaws.com/x_"), None);
    }
}
