//! Pools, app clients and groups.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::random_alnum;
use crate::cx::Cx;
use crate::keys::PoolKeys;
use crate::state::{AppClient, Group, Lifetimes, Object, Pool};
use crate::wire::{CognitoError, OpResult, TextRule, check_text, invalid_member};
use crate::wire::{empty, paginate, required, with_next_token};

/// Reads an optional string member, refusing other JSON types.
pub(crate) fn str_field<'a>(obj: &'a Object, name: &str) -> OpResult<Option<&'a str>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(CognitoError::serialization(format!("{name} must be a string."))),
    }
}

fn required_str<'a>(obj: &'a Object, name: &str) -> OpResult<&'a str> {
    required(&str_field(obj, name)?.map(str::to_owned), name)?;
    Ok(str_field(obj, name)?.unwrap_or_default())
}

fn check_types(obj: &Object, fields: &[(&str, &str)]) -> OpResult<()> {
    for (name, kind) in fields {
        let Some(value) = obj.get(*name) else { continue };
        let ok = match *kind {
            "string" => value.is_string(),
            "bool" => value.is_boolean(),
            "int" => value.is_i64() || value.is_u64(),
            "list" => value.as_array().is_some(),
            "strings" => value.as_array().is_some_and(|items| items.iter().all(Value::is_string)),
            "object" => value.is_object(),
            _ => true,
        };
        if !ok && !value.is_null() {
            return Err(CognitoError::serialization(format!("{name} must be of type {kind}.")));
        }
    }
    Ok(())
}

const POOL_FIELDS: &[(&str, &str)] = &[
    ("PoolName", "string"),
    ("Policies", "object"),
    ("LambdaConfig", "object"),
    ("AutoVerifiedAttributes", "strings"),
    ("AliasAttributes", "strings"),
    ("UsernameAttributes", "strings"),
    ("MfaConfiguration", "string"),
    ("DeviceConfiguration", "object"),
    ("AdminCreateUserConfig", "object"),
    ("Schema", "list"),
    ("UsernameConfiguration", "object"),
    ("UserPoolTags", "object"),
    ("DeletionProtection", "string"),
    ("AccountRecoverySetting", "object"),
];

fn check_pool_settings(settings: &Object) -> OpResult<()> {
    check_types(settings, POOL_FIELDS)?;
    crate::triggers::check_lambda_config(settings.get("LambdaConfig"))?;
    if let Some(mfa) = str_field(settings, "MfaConfiguration")? {
        if !["OFF", "ON", "OPTIONAL"].contains(&mfa) {
            return Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '{mfa}' at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]"
            )));
        }
    }
    let aliases = crate::state::string_list(settings, "AliasAttributes");
    let usernames = crate::state::string_list(settings, "UsernameAttributes");
    if !aliases.is_empty() && !usernames.is_empty() {
        return Err(CognitoError::invalid_parameter(
            "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.",
        ));
    }
    for alias in &aliases {
        if !["email", "phone_number", "preferred_username"].contains(&alias.as_str()) {
            return Err(CognitoError::invalid_parameter(format!(
                "Invalid alias attribute {alias}."
            )));
        }
    }
    for name in &usernames {
        if !["email", "phone_number"].contains(&name.as_str()) {
            return Err(CognitoError::invalid_parameter(format!(
                "Invalid username attribute {name}."
            )));
        }
    }
    if let Some(Value::Object(policies)) = settings.get("Policies") {
        if let Some(Value::Object(policy)) = policies.get("PasswordPolicy") {
            if let Some(min) = policy.get("MinimumLength") {
                if !min.as_u64().is_some_and(|m| (6..=99).contains(&m)) {
                    return Err(CognitoError::invalid_parameter(
                        "PasswordPolicy.MinimumLength must be between 6 and 99.",
                    ));
                }
            }
        }
        check_sign_in_policy(policies.get("SignInPolicy"))?;
    }
    Ok(())
}

/// First factors `Policies.SignInPolicy.AllowedFirstAuthFactors` may list.
const FIRST_AUTH_FACTORS: &[&str] = &["PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"];

/// `SignInPolicy{AllowedFirstAuthFactors}`: 1 to 4 distinct known factors.
fn check_sign_in_policy(policy: Option<&Value>) -> OpResult<()> {
    let policy = match policy {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(policy)) => policy,
        Some(_) => return Err(CognitoError::serialization("SignInPolicy must be an object.")),
    };
    let factors = match policy.get("AllowedFirstAuthFactors") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(CognitoError::serialization(
                "AllowedFirstAuthFactors must be a list of strings.",
            ));
        }
    };
    if factors.is_empty() || factors.len() > FIRST_AUTH_FACTORS.len() {
        return Err(CognitoError::invalid_parameter(
            "1 validation error detected: Value at 'policies.signInPolicy.allowedFirstAuthFactors' failed to satisfy constraint: Member must have length less than or equal to 4 and greater than or equal to 1",
        ));
    }
    let mut seen = Vec::new();
    for factor in factors {
        let Some(factor) = factor.as_str() else {
            return Err(CognitoError::serialization(
                "AllowedFirstAuthFactors must be a list of strings.",
            ));
        };
        if !FIRST_AUTH_FACTORS.contains(&factor) {
            return Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '[{factor}]' at 'policies.signInPolicy.allowedFirstAuthFactors' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [PASSWORD, EMAIL_OTP, SMS_OTP, WEB_AUTHN]]"
            )));
        }
        if seen.contains(&factor) {
            return Err(CognitoError::invalid_parameter(format!(
                "AllowedFirstAuthFactors lists {factor} more than once."
            )));
        }
        seen.push(factor);
    }
    Ok(())
}

/// Creates a pool from its settings; used by CreateUserPool and seeding.
pub(crate) fn new_pool(
    region: &str,
    mut settings: Object,
    now: f64,
    keys: Option<std::sync::Arc<PoolKeys>>,
) -> Pool {
    let name = settings.get("PoolName").and_then(Value::as_str).unwrap_or("pool").to_owned();
    let id = format!("{region}_{}", random_alnum(9));
    settings.remove("PoolName");
    Pool {
        id,
        name,
        created: now,
        modified: now,
        settings,
        clients: BTreeMap::new(),
        users: BTreeMap::new(),
        groups: BTreeMap::new(),
        keys: keys.unwrap_or_else(PoolKeys::generate_in_background),
    }
}

pub(crate) fn create_user_pool(cx: &Cx<'_>, request: Object) -> OpResult {
    let name = required_str(&request, "PoolName")?;
    check_text("PoolName", name, TextRule::Label { max: 128 })?;
    check_pool_settings(&request)?;
    let region = cx.meta.signed_region.clone().unwrap_or_else(|| cx.shared.config.region.clone());
    let pool = new_pool(&region, request, cx.now_f64(), None);
    let described = describe_pool(&pool);
    cx.shared.state.write().pools.insert(pool.id.clone(), pool);
    Ok(json!({ "UserPool": described }))
}

fn standard_schema() -> Value {
    let string_attr = |name: &str, mutable: bool, required: bool| {
        json!({
            "Name": name,
            "AttributeDataType": "String",
            "DeveloperOnlyAttribute": false,
            "Mutable": mutable,
            "Required": required,
            "StringAttributeConstraints": { "MinLength": "0", "MaxLength": "2048" },
        })
    };
    let bool_attr = |name: &str| {
        json!({
            "Name": name,
            "AttributeDataType": "Boolean",
            "DeveloperOnlyAttribute": false,
            "Mutable": true,
            "Required": false,
        })
    };
    let mut schema = vec![json!({
        "Name": "sub",
        "AttributeDataType": "String",
        "DeveloperOnlyAttribute": false,
        "Mutable": false,
        "Required": true,
        "StringAttributeConstraints": { "MinLength": "1", "MaxLength": "2048" },
    })];
    for name in [
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "email",
    ] {
        schema.push(string_attr(name, true, false));
    }
    schema.push(bool_attr("email_verified"));
    for name in ["gender", "birthdate", "zoneinfo", "locale", "phone_number"] {
        schema.push(string_attr(name, true, false));
    }
    schema.push(bool_attr("phone_number_verified"));
    schema.push(string_attr("address", true, false));
    schema.push(json!({
        "Name": "updated_at",
        "AttributeDataType": "Number",
        "DeveloperOnlyAttribute": false,
        "Mutable": true,
        "Required": false,
        "NumberAttributeConstraints": { "MinValue": "0" },
    }));
    Value::Array(schema)
}

fn schema_attributes(pool: &Pool) -> Value {
    let Value::Array(mut schema) = standard_schema() else { return json!([]) };
    if let Some(Value::Array(declared)) = pool.settings.get("Schema") {
        for attribute in declared {
            let Some(name) = attribute.get("Name").and_then(Value::as_str) else { continue };
            let standard =
                schema.iter().position(|s| s.get("Name").and_then(Value::as_str) == Some(name));
            let mut entry = attribute.clone();
            if let Some(index) = standard {
                // A declared standard attribute (e.g. email Required) overrides the default.
                if let (Some(base), Some(overrides)) =
                    (schema[index].as_object_mut(), entry.as_object())
                {
                    for (k, v) in overrides {
                        base.insert(k.clone(), v.clone());
                    }
                }
                continue;
            }
            if let Some(obj) = entry.as_object_mut() {
                obj.insert(
                    "Name".into(),
                    json!(format!("custom:{}", name.trim_start_matches("custom:"))),
                );
                obj.entry("DeveloperOnlyAttribute").or_insert(json!(false));
                obj.entry("Mutable").or_insert(json!(true));
                obj.entry("Required").or_insert(json!(false));
                obj.entry("AttributeDataType").or_insert(json!("String"));
            }
            schema.push(entry);
        }
    }
    Value::Array(schema)
}

/// The `UserPoolType` of DescribeUserPool.
pub(crate) fn describe_pool(pool: &Pool) -> Value {
    let mut out = pool.settings.clone();
    out.remove("Schema");
    out.insert("Id".into(), json!(pool.id));
    out.insert("Name".into(), json!(pool.name));
    out.insert("Arn".into(), json!(pool.arn()));
    out.insert("CreationDate".into(), json!(pool.created));
    out.insert("LastModifiedDate".into(), json!(pool.modified));
    out.insert("EstimatedNumberOfUsers".into(), json!(pool.users.len()));
    out.insert("SchemaAttributes".into(), schema_attributes(pool));
    out.insert("MfaConfiguration".into(), json!(pool.mfa_configuration()));
    out.entry("DeletionProtection").or_insert(json!("INACTIVE"));
    out.entry("UserPoolTier").or_insert(json!("ESSENTIALS"));
    out.entry("LambdaConfig").or_insert(json!({}));
    out.entry("AutoVerifiedAttributes").or_insert(json!([]));
    out.entry("VerificationMessageTemplate")
        .or_insert(json!({ "DefaultEmailOption": "CONFIRM_WITH_CODE" }));
    out.entry("AdminCreateUserConfig")
        .or_insert(json!({ "AllowAdminCreateUserOnly": false, "UnusedAccountValidityDays": 7 }));
    out.entry("UsernameConfiguration").or_insert(json!({ "CaseSensitive": pool.case_sensitive() }));
    out.entry("UserPoolTags").or_insert(json!({}));
    out.entry("EmailConfiguration").or_insert(json!({ "EmailSendingAccount": "COGNITO_DEFAULT" }));
    let mut policies = out.get("Policies").cloned().unwrap_or_else(|| json!({}));
    if let Some(policies) = policies.as_object_mut() {
        let mut password = policies.get("PasswordPolicy").cloned().unwrap_or_else(|| json!({}));
        if let Some(password) = password.as_object_mut() {
            password.entry("MinimumLength").or_insert(json!(8));
            for flag in ["RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols"]
            {
                password.entry(flag).or_insert(json!(true));
            }
            password.entry("TemporaryPasswordValidityDays").or_insert(json!(7));
        }
        policies.insert("PasswordPolicy".into(), password);
        policies
            .entry("SignInPolicy")
            .or_insert(json!({ "AllowedFirstAuthFactors": ["PASSWORD"] }));
    }
    out.insert("Policies".into(), policies);
    Value::Object(out)
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PoolRef {
    user_pool_id: Option<String>,
}

pub(crate) fn describe_user_pool(cx: &Cx<'_>, request: PoolRef) -> OpResult {
    let id = required(&request.user_pool_id, "UserPoolId")?;
    let state = cx.shared.state.read();
    let mut described = describe_pool(state.pool(id)?);
    crate::oauth::admin::describe_pool_domains(&state, id, &mut described);
    Ok(json!({ "UserPool": described }))
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListRequest {
    max_results: Option<i64>,
    next_token: Option<String>,
    user_pool_id: Option<String>,
}

pub(crate) fn list_user_pools(cx: &Cx<'_>, request: ListRequest) -> OpResult {
    let max = request.max_results.ok_or_else(|| CognitoError::missing("MaxResults"))?;
    if !(1..=60).contains(&max) {
        return Err(invalid_member("MaxResults", "Member must have value between 1 and 60"));
    }
    let state = cx.shared.state.read();
    let pools: Vec<Value> = state
        .pools
        .values()
        .map(|pool| {
            json!({
                "Id": pool.id,
                "Name": pool.name,
                "LambdaConfig": pool.settings.get("LambdaConfig").cloned().unwrap_or_else(|| json!({})),
                "CreationDate": pool.created,
                "LastModifiedDate": pool.modified,
            })
        })
        .collect();
    let (page, next) = paginate(&pools, Some(max), request.next_token.as_deref(), 60)?;
    with_next_token(json!({ "UserPools": page }), "NextToken", next)
}

pub(crate) fn delete_user_pool(cx: &Cx<'_>, request: PoolRef) -> OpResult {
    let id = required(&request.user_pool_id, "UserPoolId")?;
    let mut state = cx.shared.state.write();
    let pool = state.pool(id)?;
    if pool.settings.get("DeletionProtection").and_then(Value::as_str) == Some("ACTIVE") {
        return Err(CognitoError::invalid_parameter(
            "The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first.",
        ));
    }
    let Some(pool) = state.pools.remove(id) else { return Err(crate::state::pool_not_found(id)) };
    for client in pool.clients.keys() {
        state.client_index.remove(client);
    }
    state.sessions.retain(|_, s| s.pool_id != id);
    state.oauth.forget_pool(id);
    empty()
}

/// Fields UpdateUserPool cannot change (kept from creation).
const IMMUTABLE_POOL_FIELDS: &[&str] =
    &["Schema", "UsernameAttributes", "AliasAttributes", "UsernameConfiguration"];

pub(crate) fn update_user_pool(cx: &Cx<'_>, mut request: Object) -> OpResult {
    let id = required_str(&request, "UserPoolId")?.to_owned();
    check_pool_settings(&request)?;
    for field in IMMUTABLE_POOL_FIELDS {
        if request.contains_key(*field) {
            return Err(CognitoError::invalid_parameter(format!("{field} cannot be updated.")));
        }
    }
    request.remove("UserPoolId");
    request.remove("PoolName");
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(&id)?;
    // As in Cognito, settings left out of UpdateUserPool return to their defaults.
    for field in IMMUTABLE_POOL_FIELDS {
        if let Some(value) = pool.settings.get(*field) {
            request.insert((*field).to_owned(), value.clone());
        }
    }
    pool.settings = request;
    pool.modified = now;
    empty()
}

pub(crate) fn add_custom_attributes(cx: &Cx<'_>, request: Object) -> OpResult {
    let id = required_str(&request, "UserPoolId")?.to_owned();
    let Some(Value::Array(attributes)) = request.get("CustomAttributes").cloned() else {
        return Err(CognitoError::missing("CustomAttributes"));
    };
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(&id)?;
    let schema = pool.settings.entry("Schema").or_insert_with(|| json!([]));
    if let Some(schema) = schema.as_array_mut() {
        for attribute in attributes {
            let Some(name) = attribute.get("Name").and_then(Value::as_str) else {
                return Err(CognitoError::missing("Name"));
            };
            let name = name.trim_start_matches("custom:");
            if schema.iter().any(|s| s.get("Name").and_then(Value::as_str) == Some(name)) {
                return Err(CognitoError::invalid_parameter(format!(
                    "custom:{name}: Existing attribute already has name custom:{name}."
                )));
            }
            schema.push(attribute);
        }
    }
    empty()
}

const CLIENT_FIELDS: &[(&str, &str)] = &[
    ("ClientName", "string"),
    ("GenerateSecret", "bool"),
    ("RefreshTokenValidity", "int"),
    ("AccessTokenValidity", "int"),
    ("IdTokenValidity", "int"),
    ("TokenValidityUnits", "object"),
    ("ReadAttributes", "strings"),
    ("WriteAttributes", "strings"),
    ("ExplicitAuthFlows", "strings"),
    ("SupportedIdentityProviders", "strings"),
    ("CallbackURLs", "strings"),
    ("LogoutURLs", "strings"),
    ("DefaultRedirectURI", "string"),
    ("AllowedOAuthFlows", "strings"),
    ("AllowedOAuthScopes", "strings"),
    ("AllowedOAuthFlowsUserPoolClient", "bool"),
    ("PreventUserExistenceErrors", "string"),
    ("EnableTokenRevocation", "bool"),
    ("EnablePropagateAdditionalUserContextData", "bool"),
    ("AuthSessionValidity", "int"),
    ("RefreshTokenRotation", "object"),
];

const FLOWS: &[&str] = &[
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_AUTH",
];
const LEGACY_FLOWS: &[&str] = &["ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH"];

fn check_client_settings(settings: &Object) -> OpResult<()> {
    check_types(settings, CLIENT_FIELDS)?;
    let flows = crate::state::string_list(settings, "ExplicitAuthFlows");
    for flow in &flows {
        if !FLOWS.contains(&flow.as_str()) && !LEGACY_FLOWS.contains(&flow.as_str()) {
            return Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '[{flow}]' at 'explicitAuthFlows' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ADMIN_NO_SRP_AUTH, ALLOW_ADMIN_USER_PASSWORD_AUTH, USER_PASSWORD_AUTH, ALLOW_CUSTOM_AUTH, ALLOW_USER_PASSWORD_AUTH, ALLOW_USER_SRP_AUTH, CUSTOM_AUTH_FLOW_ONLY, ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_AUTH]]"
            )));
        }
    }
    let legacy = flows.iter().any(|f| LEGACY_FLOWS.contains(&f.as_str()));
    let modern = flows.iter().any(|f| FLOWS.contains(&f.as_str()));
    if legacy && modern {
        return Err(CognitoError::invalid_parameter(
            "The combination of ExplicitAuthFlows is invalid: legacy values cannot be mixed with ALLOW_ values.",
        ));
    }
    if let Some(prevent) = str_field(settings, "PreventUserExistenceErrors")? {
        if !["LEGACY", "ENABLED"].contains(&prevent) {
            return Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '{prevent}' at 'preventUserExistenceErrors' failed to satisfy constraint: Member must satisfy enum value set: [LEGACY, ENABLED]"
            )));
        }
    }
    if let Some(validity) = settings.get("AuthSessionValidity").and_then(Value::as_i64) {
        if !(3..=15).contains(&validity) {
            return Err(CognitoError::invalid_parameter(
                "AuthSessionValidity must be between 3 and 15 minutes.",
            ));
        }
    }
    let probe = AppClient {
        id: String::new(),
        secret: None,
        created: 0.0,
        modified: 0.0,
        settings: settings.clone(),
        lifetime_override: Lifetimes::default(),
    };
    let (access, id, refresh) = probe.lifetimes();
    if !(300..=86_400).contains(&access) {
        return Err(CognitoError::invalid_parameter(
            "Access token validity must be between 5 minutes and 1 day.",
        ));
    }
    if !(300..=86_400).contains(&id) {
        return Err(CognitoError::invalid_parameter(
            "ID token validity must be between 5 minutes and 1 day.",
        ));
    }
    if !(3_600..=315_360_000).contains(&refresh) {
        return Err(CognitoError::invalid_parameter(
            "Refresh token validity must be between 60 minutes and 10 years.",
        ));
    }
    if refresh <= access.max(id) {
        return Err(CognitoError::invalid_parameter(
            "Refresh token validity must be greater than the access and ID token validity.",
        ));
    }
    Ok(())
}

/// Creates a client; used by CreateUserPoolClient and seeding.
pub(crate) fn new_client(
    mut settings: Object,
    now: f64,
    client_id: Option<String>,
    secret: Option<String>,
) -> AppClient {
    let generate = settings.get("GenerateSecret").and_then(Value::as_bool).unwrap_or(false);
    settings.remove("GenerateSecret");
    settings.remove("UserPoolId");
    settings.remove("ClientId");
    settings.remove("ClientSecret");
    let secret = secret.or_else(|| generate.then(|| random_alnum(51).to_lowercase()));
    AppClient {
        id: client_id.unwrap_or_else(|| random_alnum(26).to_lowercase()),
        secret,
        created: now,
        modified: now,
        settings,
        lifetime_override: Lifetimes::default(),
    }
}

pub(crate) fn create_user_pool_client(cx: &Cx<'_>, request: Object) -> OpResult {
    let pool_id = required_str(&request, "UserPoolId")?.to_owned();
    let name = required_str(&request, "ClientName")?;
    check_text("ClientName", name, TextRule::Label { max: 128 })?;
    check_client_settings(&request)?;
    let provided_secret = str_field(&request, "ClientSecret")?.map(str::to_owned);
    if let Some(secret) = &provided_secret {
        if !(24..=64).contains(&secret.len()) {
            return Err(CognitoError::invalid_parameter(
                "ClientSecret must be 24 to 64 characters long.",
            ));
        }
    }
    let client = new_client(request, cx.now_f64(), None, provided_secret);
    let mut state = cx.shared.state.write();
    crate::oauth::admin::check_client_oauth(
        &state,
        &pool_id,
        &client.settings,
        client.secret.is_some(),
    )?;
    let pool = state.pool_mut(&pool_id)?;
    let described = describe_client(&pool_id, &client);
    pool.clients.insert(client.id.clone(), client.clone());
    state.client_index.insert(client.id, pool_id);
    Ok(json!({ "UserPoolClient": described }))
}

/// The `UserPoolClientType` of DescribeUserPoolClient.
pub(crate) fn describe_client(pool_id: &str, client: &AppClient) -> Value {
    let mut out = client.settings.clone();
    out.insert("UserPoolId".into(), json!(pool_id));
    out.insert("ClientId".into(), json!(client.id));
    if let Some(secret) = &client.secret {
        out.insert("ClientSecret".into(), json!(secret));
    }
    out.insert("CreationDate".into(), json!(client.created));
    out.insert("LastModifiedDate".into(), json!(client.modified));
    out.insert("ExplicitAuthFlows".into(), json!(client.explicit_auth_flows()));
    out.entry("RefreshTokenValidity").or_insert(json!(30));
    out.entry("TokenValidityUnits").or_insert(json!({
        "AccessToken": "hours",
        "IdToken": "hours",
        "RefreshToken": "days",
    }));
    out.entry("AllowedOAuthFlowsUserPoolClient").or_insert(json!(false));
    out.entry("EnableTokenRevocation").or_insert(json!(true));
    out.entry("EnablePropagateAdditionalUserContextData").or_insert(json!(false));
    out.entry("PreventUserExistenceErrors").or_insert(json!("LEGACY"));
    out.entry("AuthSessionValidity").or_insert(json!(3));
    Value::Object(out)
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ClientRef {
    user_pool_id: Option<String>,
    client_id: Option<String>,
}

fn client_not_found(client_id: &str) -> CognitoError {
    CognitoError::resource_not_found(format!("User pool client {client_id} does not exist."))
}

pub(crate) fn describe_user_pool_client(cx: &Cx<'_>, request: ClientRef) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let client_id = required(&request.client_id, "ClientId")?;
    let state = cx.shared.state.read();
    let client =
        state.pool(pool_id)?.clients.get(client_id).ok_or_else(|| client_not_found(client_id))?;
    Ok(json!({ "UserPoolClient": describe_client(pool_id, client) }))
}

pub(crate) fn update_user_pool_client(cx: &Cx<'_>, mut request: Object) -> OpResult {
    let pool_id = required_str(&request, "UserPoolId")?.to_owned();
    let client_id = required_str(&request, "ClientId")?.to_owned();
    check_client_settings(&request)?;
    request.remove("UserPoolId");
    request.remove("ClientId");
    request.remove("GenerateSecret");
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let has_secret = state
        .pool(&pool_id)?
        .clients
        .get(&client_id)
        .ok_or_else(|| client_not_found(&client_id))?
        .secret
        .is_some();
    crate::oauth::admin::check_client_oauth(&state, &pool_id, &request, has_secret)?;
    let pool = state.pool_mut(&pool_id)?;
    let client = pool.clients.get_mut(&client_id).ok_or_else(|| client_not_found(&client_id))?;
    if !request.contains_key("ClientName") {
        if let Some(name) = client.settings.get("ClientName") {
            request.insert("ClientName".into(), name.clone());
        }
    }
    // As in Cognito, settings left out of UpdateUserPoolClient return to their defaults.
    client.settings = request;
    client.modified = now;
    Ok(json!({ "UserPoolClient": describe_client(&pool_id, client) }))
}

pub(crate) fn delete_user_pool_client(cx: &Cx<'_>, request: ClientRef) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let client_id = required(&request.client_id, "ClientId")?;
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(pool_id)?;
    pool.clients.remove(client_id).ok_or_else(|| client_not_found(client_id))?;
    state.client_index.remove(client_id);
    empty()
}

pub(crate) fn list_user_pool_clients(cx: &Cx<'_>, request: ListRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let state = cx.shared.state.read();
    let pool = state.pool(pool_id)?;
    let clients: Vec<Value> = pool
        .clients
        .values()
        .map(|c| {
            json!({
                "ClientId": c.id,
                "UserPoolId": pool_id,
                "ClientName": c.settings.get("ClientName").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    let (page, next) = paginate(&clients, request.max_results, request.next_token.as_deref(), 60)?;
    with_next_token(json!({ "UserPoolClients": page }), "NextToken", next)
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GroupRequest {
    group_name: Option<String>,
    user_pool_id: Option<String>,
    description: Option<String>,
    role_arn: Option<String>,
    precedence: Option<i64>,
    limit: Option<i64>,
    next_token: Option<String>,
}

pub(crate) fn group_type(pool_id: &str, group: &Group) -> Value {
    let mut out = json!({
        "GroupName": group.name,
        "UserPoolId": pool_id,
        "CreationDate": group.created,
        "LastModifiedDate": group.modified,
    });
    if let Some(d) = &group.description {
        out["Description"] = json!(d);
    }
    if let Some(r) = &group.role_arn {
        out["RoleArn"] = json!(r);
    }
    if let Some(p) = group.precedence {
        out["Precedence"] = json!(p);
    }
    out
}

pub(crate) fn create_group(cx: &Cx<'_>, request: GroupRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let name = required(&request.group_name, "GroupName")?;
    check_text("GroupName", name, TextRule::Name { max: 128 })?;
    if request.precedence.is_some_and(|p| p < 0) {
        return Err(CognitoError::invalid_parameter("Precedence must be 0 or greater."));
    }
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(pool_id)?;
    if pool.groups.contains_key(name) {
        return Err(CognitoError::group_exists(format!(
            "A group with the name {name} already exists."
        )));
    }
    let group = Group {
        name: name.to_owned(),
        description: request.description,
        precedence: request.precedence,
        role_arn: request.role_arn,
        created: now,
        modified: now,
    };
    let out = group_type(pool_id, &group);
    pool.groups.insert(name.to_owned(), group);
    Ok(json!({ "Group": out }))
}

fn group_not_found() -> CognitoError {
    CognitoError::resource_not_found("Group not found.")
}

pub(crate) fn get_group(cx: &Cx<'_>, request: GroupRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let name = required(&request.group_name, "GroupName")?;
    let state = cx.shared.state.read();
    let group = state.pool(pool_id)?.groups.get(name).ok_or_else(group_not_found)?;
    Ok(json!({ "Group": group_type(pool_id, group) }))
}

pub(crate) fn update_group(cx: &Cx<'_>, request: GroupRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let name = required(&request.group_name, "GroupName")?;
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let group = state.pool_mut(pool_id)?.groups.get_mut(name).ok_or_else(group_not_found)?;
    if request.description.is_some() {
        group.description = request.description;
    }
    if request.role_arn.is_some() {
        group.role_arn = request.role_arn;
    }
    if request.precedence.is_some() {
        group.precedence = request.precedence;
    }
    group.modified = now;
    Ok(json!({ "Group": group_type(pool_id, group) }))
}

pub(crate) fn delete_group(cx: &Cx<'_>, request: GroupRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let name = required(&request.group_name, "GroupName")?;
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(pool_id)?;
    pool.groups.remove(name).ok_or_else(group_not_found)?;
    for user in pool.users.values_mut() {
        user.groups.remove(name);
    }
    empty()
}

pub(crate) fn list_groups(cx: &Cx<'_>, request: GroupRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let state = cx.shared.state.read();
    let groups: Vec<Value> =
        state.pool(pool_id)?.groups.values().map(|g| group_type(pool_id, g)).collect();
    let (page, next) = paginate(&groups, request.limit, request.next_token.as_deref(), 60)?;
    with_next_token(json!({ "Groups": page }), "NextToken", next)
}

pub(crate) fn check_seed_pool(settings: &Object) -> OpResult<()> {
    check_pool_settings(settings)
}

pub(crate) fn check_seed_client(settings: &Object) -> OpResult<()> {
    check_client_settings(settings)
}
