//! The user-pool operations (`AWSCognitoIdentityProviderService.*`), one function each.

use std::collections::BTreeMap;

use rand::RngCore as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::cx::{Cx, Handler};
use crate::oauth;
use crate::state::{AccessRecord, AppClient, State, User};
use crate::wire::{
    CognitoError, OpResult, Operation, Table, TextRule, check_text, operation_table, required,
};

mod account;
mod auth;
mod devices;
pub(crate) mod discovery;
mod mfa;
mod pools;
pub(crate) mod tokens;
mod users;

pub(crate) use tokens::sweep;

/// The `X-Amz-Target` prefix of the user-pool API.
pub(crate) const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// The user-pool API: every operation, declared once.
pub(crate) const USER_POOL_API: Table<Handler> = operation_table! {
    prefix: TARGET_PREFIX,
    handler: Handler,
    operations: {
        AddCustomAttributes: Signed, Write => pools::add_custom_attributes;
        AdminAddUserToGroup: Signed, Write => users::admin_add_user_to_group;
        AdminConfirmSignUp: Signed, Write => users::admin_confirm_sign_up;
        AdminCreateUser: Signed, Write => users::admin_create_user;
        AdminDeleteUser: Signed, Write => users::admin_delete_user;
        AdminDeleteUserAttributes: Signed, Write => users::admin_delete_user_attributes;
        AdminDisableProviderForUser: Signed, Write => oauth::admin::admin_disable_provider_for_user;
        AdminDisableUser: Signed, Write => users::admin_disable_user;
        AdminEnableUser: Signed, Write => users::admin_enable_user;
        AdminForgetDevice: Signed, Write => devices::admin_forget_device;
        AdminGetDevice: Signed, Read => devices::admin_get_device;
        AdminGetUser: Signed, Read => users::admin_get_user;
        AdminInitiateAuth: Signed, Write => auth::admin_initiate_auth;
        AdminLinkProviderForUser: Signed, Write => oauth::admin::admin_link_provider_for_user;
        AdminListDevices: Signed, Read => devices::admin_list_devices;
        AdminListGroupsForUser: Signed, Read => users::admin_list_groups_for_user;
        AdminRemoveUserFromGroup: Signed, Write => users::admin_remove_user_from_group;
        AdminResetUserPassword: Signed, Write => users::admin_reset_user_password;
        AdminRespondToAuthChallenge: Signed, Write => auth::admin_respond_to_auth_challenge;
        AdminSetUserMFAPreference: Signed, Write => mfa::admin_set_user_mfa_preference;
        AdminSetUserPassword: Signed, Write => users::admin_set_user_password;
        AdminUpdateDeviceStatus: Signed, Write => devices::admin_update_device_status;
        AdminUpdateUserAttributes: Signed, Write => users::admin_update_user_attributes;
        AdminUserGlobalSignOut: Signed, Write => users::admin_user_global_sign_out;
        AssociateSoftwareToken: Public, Write => mfa::associate_software_token;
        ChangePassword: Public, Write => account::change_password;
        ConfirmDevice: Public, Write => devices::confirm_device;
        ConfirmForgotPassword: Public, Write => account::confirm_forgot_password;
        ConfirmSignUp: Public, Write => account::confirm_sign_up;
        CreateGroup: Signed, Write => pools::create_group;
        CreateIdentityProvider: Signed, Write => oauth::admin::create_identity_provider;
        CreateResourceServer: Signed, Write => oauth::admin::create_resource_server;
        CreateUserPool: Signed, Write => pools::create_user_pool;
        CreateUserPoolClient: Signed, Write => pools::create_user_pool_client;
        CreateUserPoolDomain: Signed, Write => oauth::admin::create_user_pool_domain;
        DeleteGroup: Signed, Write => pools::delete_group;
        DeleteIdentityProvider: Signed, Write => oauth::admin::delete_identity_provider;
        DeleteResourceServer: Signed, Write => oauth::admin::delete_resource_server;
        DeleteUser: Public, Write => account::delete_user;
        DeleteUserAttributes: Public, Write => account::delete_user_attributes;
        DeleteUserPool: Signed, Write => pools::delete_user_pool;
        DeleteUserPoolClient: Signed, Write => pools::delete_user_pool_client;
        DeleteUserPoolDomain: Signed, Write => oauth::admin::delete_user_pool_domain;
        DescribeIdentityProvider: Signed, Read => oauth::admin::describe_identity_provider;
        DescribeResourceServer: Signed, Read => oauth::admin::describe_resource_server;
        DescribeUserPool: Signed, Read => pools::describe_user_pool;
        DescribeUserPoolClient: Signed, Read => pools::describe_user_pool_client;
        DescribeUserPoolDomain: Signed, Read => oauth::admin::describe_user_pool_domain;
        ForgetDevice: Public, Write => devices::forget_device;
        ForgotPassword: Public, Write => account::forgot_password;
        GetDevice: Public, Read => devices::get_device;
        GetGroup: Signed, Read => pools::get_group;
        GetIdentityProviderByIdentifier: Signed, Read => oauth::admin::get_identity_provider_by_identifier;
        GetTokensFromRefreshToken: Public, Write => auth::get_tokens_from_refresh_token;
        GetUser: Public, Read => account::get_user;
        GetUserAttributeVerificationCode: Public, Write => account::get_user_attribute_verification_code;
        GetUserPoolMfaConfig: Signed, Read => mfa::get_user_pool_mfa_config;
        GlobalSignOut: Public, Write => account::global_sign_out;
        InitiateAuth: Public, Write => auth::initiate_auth;
        ListDevices: Public, Read => devices::list_devices;
        ListGroups: Signed, Read => pools::list_groups;
        ListIdentityProviders: Signed, Read => oauth::admin::list_identity_providers;
        ListResourceServers: Signed, Read => oauth::admin::list_resource_servers;
        ListUserPoolClients: Signed, Read => pools::list_user_pool_clients;
        ListUserPools: Signed, Read => pools::list_user_pools;
        ListUsers: Signed, Read => users::list_users;
        ListUsersInGroup: Signed, Read => users::list_users_in_group;
        ResendConfirmationCode: Public, Write => account::resend_confirmation_code;
        RespondToAuthChallenge: Public, Write => auth::respond_to_auth_challenge;
        RevokeToken: Public, Write => account::revoke_token;
        SetUserMFAPreference: Public, Write => mfa::set_user_mfa_preference;
        SetUserPoolMfaConfig: Signed, Write => mfa::set_user_pool_mfa_config;
        SignUp: Public, Write => account::sign_up;
        UpdateDeviceStatus: Public, Write => devices::update_device_status;
        UpdateGroup: Signed, Write => pools::update_group;
        UpdateIdentityProvider: Signed, Write => oauth::admin::update_identity_provider;
        UpdateResourceServer: Signed, Write => oauth::admin::update_resource_server;
        UpdateUserAttributes: Public, Write => account::update_user_attributes;
        UpdateUserPool: Signed, Write => pools::update_user_pool;
        UpdateUserPoolClient: Signed, Write => pools::update_user_pool_client;
        UpdateUserPoolDomain: Signed, Write => oauth::admin::update_user_pool_domain;
        VerifySoftwareToken: Public, Write => mfa::verify_software_token;
        VerifyUserAttribute: Public, Write => account::verify_user_attribute;
    }
};

/// Every user-pool operation the server implements, with how it is authorised and whether it
/// changes state.
pub const OPERATIONS: &[Operation] = USER_POOL_API.operations;

/// A username as sent: 1..=128 printable characters without separators, control or
/// bidirectional-format characters (`[\p{L}\p{M}\p{S}\p{N}\p{P}]+`).
pub(crate) fn username_member<'a>(value: &'a Option<String>, member: &str) -> OpResult<&'a str> {
    let username = required(value, member)?;
    check_text(member, username, TextRule::Name { max: 128 })?;
    Ok(username)
}

/// `AttributeType`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AttributeType {
    pub(crate) name: Option<String>,
    pub(crate) value: Option<String>,
}

/// [`attribute_map`] of a `UserAttributes` member the operation requires.
pub(crate) fn required_attribute_map(
    list: Option<&[AttributeType]>,
) -> OpResult<BTreeMap<String, String>> {
    attribute_map(Some(list.ok_or_else(|| CognitoError::missing("UserAttributes"))?))
}

/// Converts an attribute list into name → value, checking names.
pub(crate) fn attribute_map(list: Option<&[AttributeType]>) -> OpResult<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for attribute in list.unwrap_or_default() {
        let name = required(&attribute.name, "Name")?;
        if name.chars().count() > 32 + "custom:".len() {
            return Err(CognitoError::invalid_parameter(format!("Invalid attribute name {name}.")));
        }
        check_text("Name", name, TextRule::Name { max: 32 + "custom:".len() })?;
        let value = attribute.value.clone().unwrap_or_default();
        check_text("Value", &value, TextRule::Value { max: 2048 })?;
        map.insert(name.to_owned(), value);
    }
    Ok(map)
}

/// Standard attributes a user pool knows without a schema entry.
pub(crate) const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "sub",
    "updated_at",
    "website",
    "zoneinfo",
];

/// Refuses unknown attribute names (standard, or `custom:` declared in the schema, or any
/// `custom:` when the pool declared none — seeds and quick setups often skip the schema).
pub(crate) fn check_attribute_names(
    pool: &crate::state::Pool,
    attributes: &BTreeMap<String, String>,
) -> OpResult<()> {
    let schema: Vec<String> = pool
        .settings
        .get("Schema")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("Name").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let declared_custom: Vec<&String> =
        schema.iter().filter(|n| n.starts_with("custom:")).collect();
    for name in attributes.keys() {
        if name == "sub" {
            return Err(CognitoError::invalid_parameter(
                "Cannot modify the non-mutable attribute sub",
            ));
        }
        let known = STANDARD_ATTRIBUTES.contains(&name.as_str())
            || schema.iter().any(|n| n == name || format!("custom:{n}") == *name)
            || (name.starts_with("custom:") && declared_custom.is_empty());
        if !known {
            return Err(CognitoError::invalid_parameter(format!(
                "Attribute does not exist in the schema: {name}"
            )));
        }
    }
    Ok(())
}

/// A fresh 6-digit code.
pub(crate) fn new_code() -> String {
    format!("{:06}", rand::rng().next_u32() % 1_000_000)
}

/// Random URL-safe text for ids and opaque values.
pub(crate) fn random_token(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Random bytes in standard, padded base64 (what `SECRET_BLOCK` looks like: clients decode it
/// with strict standard base64).
pub(crate) fn random_secret_block(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// Random alphanumeric text (ids like the part of a pool id after `_`).
pub(crate) fn random_alnum(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| CHARS[(rng.next_u32() as usize) % CHARS.len()] as char).collect()
}

/// Masks a destination the way Cognito shows it: `a***@e***`, `+*******1234`.
pub(crate) fn mask(value: &str) -> String {
    if let Some((local, domain)) = value.split_once('@') {
        let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
        format!("{}***@{}***", first(local), first(domain))
    } else {
        let digits: Vec<char> = value.chars().collect();
        let keep = digits.len().min(4);
        let masked: String = digits[..digits.len() - keep]
            .iter()
            .map(|c| if c.is_ascii_digit() { '*' } else { *c })
            .collect();
        format!("{masked}{}", digits[digits.len() - keep..].iter().collect::<String>())
    }
}

/// Records a code "delivered" to a user and describes the delivery.
pub(crate) fn deliver_code(
    user: &mut User,
    purpose: &str,
    code: &str,
    expires_at: u64,
    prefer: &str,
) -> Value {
    user.codes.insert(purpose.to_owned(), crate::state::Code { code: code.to_owned(), expires_at });
    user.last_code = Some((purpose.to_owned(), code.to_owned()));
    delivery_details(user, prefer)
}

/// `CodeDeliveryDetails` for the user's email (or phone).
pub(crate) fn delivery_details(user: &User, prefer: &str) -> Value {
    let email = user.attribute("email");
    let phone = user.attribute("phone_number");
    let (medium, attribute, destination) = match (prefer, email, phone) {
        ("phone_number", _, Some(phone)) | (_, None, Some(phone)) => ("SMS", "phone_number", phone),
        (_, Some(email), _) => ("EMAIL", "email", email),
        _ => ("EMAIL", "email", ""),
    };
    json!({
        "AttributeName": attribute,
        "DeliveryMedium": medium,
        "Destination": mask(destination),
    })
}

/// Checks `SECRET_HASH` for a client with a secret, accepting any of the user's names.
pub(crate) fn check_secret_hash(
    client: &AppClient,
    names: &[&str],
    provided: Option<&str>,
) -> OpResult<()> {
    let Some(secret) = &client.secret else { return Ok(()) };
    let Some(provided) = provided.filter(|p| !p.is_empty()) else {
        return Err(CognitoError::not_authorized(format!(
            "Client {} is configured for secret but secret was not received",
            client.id
        )));
    };
    let matches = names.iter().any(|name| {
        let expected = auth_srp::secret_hash(name, &client.id, secret);
        // Compare digests so the comparison time does not depend on the secret.
        Sha256::digest(expected.as_bytes()) == Sha256::digest(provided.as_bytes())
    });
    if matches {
        Ok(())
    } else {
        Err(CognitoError::not_authorized(format!(
            "Unable to verify secret hash for client {}",
            client.id
        )))
    }
}

/// Whom an access token belongs to, after checking it for real: issued by this server, not
/// expired, not revoked (RevokeToken, GlobalSignOut), user still present and enabled.
#[derive(Debug, Clone)]
pub(crate) struct TokenOwner {
    pub(crate) pool_id: String,
    pub(crate) username: String,
}

pub(crate) fn token_owner(
    cx: &Cx<'_>,
    state: &State,
    access_token: Option<&str>,
) -> OpResult<TokenOwner> {
    let token = access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CognitoError::missing("AccessToken"))?;
    let invalid = || CognitoError::not_authorized("Invalid Access Token");
    let record = access_record(cx, state, token).ok_or_else(invalid)?;
    if record.expires_at <= cx.now() {
        return Err(CognitoError::not_authorized("Access Token has expired"));
    }
    if state.tokens.revoked(&record.pool_id, &record.username, &record.origin_jti, record.issued_ms)
    {
        return Err(CognitoError::not_authorized("Access Token has been revoked"));
    }
    // Hosted-UI tokens reach the JSON API only with the sign-in scope.
    if record.scope.as_ref().is_some_and(|s| !s.split(' ').any(|s| s == oauth::SIGNIN_SCOPE)) {
        return Err(CognitoError::not_authorized("Access Token does not have required scopes"));
    }
    let pool = state.pools.get(&record.pool_id).ok_or_else(invalid)?;
    let user = pool
        .users
        .get(&pool.user_key(&record.username))
        .filter(|u| u.sub() == record.sub)
        .ok_or_else(|| CognitoError::user_not_found("User does not exist."))?;
    if !user.enabled {
        return Err(CognitoError::not_authorized("User is disabled."));
    }
    Ok(TokenOwner { pool_id: record.pool_id.clone(), username: record.username.clone() })
}

/// What an access token this server issued says (from the bounded cache, else checked by
/// its signature); `None` for anything else. Expiry and revocation are the caller's to check.
pub(crate) fn access_record(cx: &Cx<'_>, state: &State, token: &str) -> Option<AccessRecord> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Some(record) = state.tokens.cached_access(&digest) {
        return Some(record);
    }
    let record = verify_access_token(cx, state, token)?;
    state.tokens.remember_access(digest, record.clone());
    Some(record)
}

/// Checks an access token this server has not seen (or no longer caches) by its signature
/// and claims: signed by its pool's access-token key, issued by that pool, `token_use`
/// `access`. Expiry and revocation are checked by the caller, as for cached tokens.
fn verify_access_token(cx: &Cx<'_>, state: &State, token: &str) -> Option<AccessRecord> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let unverified: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?,
    )
    .ok()?;
    let pool_id = unverified.get("iss")?.as_str()?.rsplit('/').next()?;
    let pool = state.pools.get(pool_id)?;
    let claims = pool.keys.access_key().verify_jwt(token)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    if text("iss")? != pool.issuer(cx.shared.config.issuer_base.as_deref())
        || text("token_use")? != "access"
    {
        return None;
    }
    let number = |name: &str| claims.get(name).and_then(Value::as_u64);
    Some(AccessRecord {
        pool_id: pool.id.clone(),
        username: text("username")?,
        sub: text("sub")?,
        issued_ms: crate::token_book::jti_millis(&text("jti")?),
        client_id: text("client_id")?,
        issued_at: number("iat")?,
        expires_at: number("exp")?,
        id_expires_at: 0,
        origin_jti: text("origin_jti")?,
        device_key: text("device_key"),
        scope: text("scope"),
    })
}

/// A `UserType` / AdminGetUser-style description of a user.
pub(crate) fn user_type(user: &User, only: Option<&[String]>) -> Value {
    json!({
        "Username": user.username,
        "Attributes": user.attribute_list(only),
        "UserCreateDate": user.created,
        "UserLastModifiedDate": user.modified,
        "Enabled": user.enabled,
        "UserStatus": user.status_name(),
    })
}

/// Adds a user's MFA settings to a GetUser or AdminGetUser answer: `MFAOptions` (the legacy
/// SMS MFA description), `UserMFASettingList` and `PreferredMfaSetting`, each when there is
/// something to say.
pub(crate) fn add_mfa_settings(out: &mut Value, user: &User) {
    if user.mfa.sms {
        out["MFAOptions"] = json!([{ "DeliveryMedium": "SMS", "AttributeName": "phone_number" }]);
    }
    let list = user.mfa_setting_list();
    if !list.is_empty() {
        out["UserMFASettingList"] = json!(list);
    }
    if let Some(preferred) = &user.mfa.preferred {
        out["PreferredMfaSetting"] = json!(preferred);
    }
}

/// Builds a pool for a seed, with the checks CreateUserPool applies.
pub(crate) fn seed_pool(
    region: &str,
    settings: crate::state::Object,
    now: f64,
) -> Result<crate::state::Pool, String> {
    pools::check_seed_pool(&settings).map_err(|e| e.message().to_owned())?;
    Ok(pools::new_pool(region, settings, now, None))
}

/// Builds a client for a seed, with the checks CreateUserPoolClient applies.
pub(crate) fn seed_client(
    settings: crate::state::Object,
    now: f64,
    id: Option<String>,
    secret: Option<String>,
) -> Result<AppClient, String> {
    pools::check_seed_client(&settings).map_err(|e| e.message().to_owned())?;
    Ok(pools::new_client(settings, now, id, secret))
}

/// Builds a user for a seed, with the checks AdminCreateUser applies.
pub(crate) fn seed_user(
    pool: &crate::state::Pool,
    username: &str,
    attributes: BTreeMap<String, String>,
    now: f64,
    status: crate::state::UserStatus,
) -> Result<User, String> {
    users::new_user(pool, username, attributes, now, status)
        .map_err(|e| format!("user {username}: {}", e.message()))
}
