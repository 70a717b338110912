//! The user-pool operations (`AWSCognitoIdentityProviderService.*`), one function each.

use std::collections::BTreeMap;

use rand::RngCore as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::Shared;
use crate::error::{CognitoError, OpResult, invalid_member};
use crate::http::RequestMeta;
use crate::state::{AppClient, State, User};

mod account;
mod auth;
mod devices;
mod mfa;
mod pools;
mod tokens;
mod users;

/// Every operation the server implements, with whether it needs a SigV4-signed request.
pub const OPERATIONS: &[(&str, Auth)] = &[
    ("AddCustomAttributes", Auth::Signed),
    ("AdminAddUserToGroup", Auth::Signed),
    ("AdminConfirmSignUp", Auth::Signed),
    ("AdminCreateUser", Auth::Signed),
    ("AdminDeleteUser", Auth::Signed),
    ("AdminDeleteUserAttributes", Auth::Signed),
    ("AdminDisableUser", Auth::Signed),
    ("AdminEnableUser", Auth::Signed),
    ("AdminForgetDevice", Auth::Signed),
    ("AdminGetDevice", Auth::Signed),
    ("AdminGetUser", Auth::Signed),
    ("AdminInitiateAuth", Auth::Signed),
    ("AdminListDevices", Auth::Signed),
    ("AdminListGroupsForUser", Auth::Signed),
    ("AdminRemoveUserFromGroup", Auth::Signed),
    ("AdminResetUserPassword", Auth::Signed),
    ("AdminRespondToAuthChallenge", Auth::Signed),
    ("AdminSetUserMFAPreference", Auth::Signed),
    ("AdminSetUserPassword", Auth::Signed),
    ("AdminUpdateDeviceStatus", Auth::Signed),
    ("AdminUpdateUserAttributes", Auth::Signed),
    ("AdminUserGlobalSignOut", Auth::Signed),
    ("AssociateSoftwareToken", Auth::Public),
    ("ChangePassword", Auth::Public),
    ("ConfirmDevice", Auth::Public),
    ("ConfirmForgotPassword", Auth::Public),
    ("ConfirmSignUp", Auth::Public),
    ("CreateGroup", Auth::Signed),
    ("CreateUserPool", Auth::Signed),
    ("CreateUserPoolClient", Auth::Signed),
    ("DeleteGroup", Auth::Signed),
    ("DeleteUser", Auth::Public),
    ("DeleteUserAttributes", Auth::Public),
    ("DeleteUserPool", Auth::Signed),
    ("DeleteUserPoolClient", Auth::Signed),
    ("DescribeUserPool", Auth::Signed),
    ("DescribeUserPoolClient", Auth::Signed),
    ("ForgetDevice", Auth::Public),
    ("ForgotPassword", Auth::Public),
    ("GetDevice", Auth::Public),
    ("GetGroup", Auth::Signed),
    ("GetTokensFromRefreshToken", Auth::Public),
    ("GetUser", Auth::Public),
    ("GetUserAttributeVerificationCode", Auth::Public),
    ("GetUserPoolMfaConfig", Auth::Signed),
    ("GlobalSignOut", Auth::Public),
    ("InitiateAuth", Auth::Public),
    ("ListDevices", Auth::Public),
    ("ListGroups", Auth::Signed),
    ("ListUserPoolClients", Auth::Signed),
    ("ListUserPools", Auth::Signed),
    ("ListUsers", Auth::Signed),
    ("ListUsersInGroup", Auth::Signed),
    ("ResendConfirmationCode", Auth::Public),
    ("RespondToAuthChallenge", Auth::Public),
    ("RevokeToken", Auth::Public),
    ("SetUserMFAPreference", Auth::Public),
    ("SetUserPoolMfaConfig", Auth::Signed),
    ("SignUp", Auth::Public),
    ("UpdateDeviceStatus", Auth::Public),
    ("UpdateGroup", Auth::Signed),
    ("UpdateUserAttributes", Auth::Public),
    ("UpdateUserPool", Auth::Signed),
    ("UpdateUserPoolClient", Auth::Signed),
    ("VerifySoftwareToken", Auth::Public),
    ("VerifyUserAttribute", Auth::Public),
];

/// How an operation is authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Sent without SigV4 (`authtype: none`); authorised by fields in the body.
    Public,
    /// SigV4-signed with IAM credentials.
    Signed,
}

/// Checks that `operation` is one of `operations` (a service's list) and, if it must be
/// signed, that the request was (unless the server was told not to require signatures).
pub(crate) fn check_operation(
    shared: &Shared,
    operations: &[(&str, Auth)],
    operation: &str,
    meta: &RequestMeta,
) -> OpResult<()> {
    let Some((_, auth)) = operations.iter().find(|(name, _)| *name == operation) else {
        return Err(CognitoError::unknown_operation(format!(
            "The operation {operation} is not supported by auth-mock-server."
        )));
    };
    if *auth == Auth::Signed && shared.config.require_signature && !meta.signed {
        return Err(CognitoError::new(
            "MissingAuthenticationTokenException",
            format!("{operation} must be signed with AWS Signature Version 4 (IAM credentials)."),
        ));
    }
    Ok(())
}

/// Runs one operation.
pub(crate) fn dispatch(
    shared: &Shared,
    operation: &str,
    meta: &RequestMeta,
    body: &[u8],
) -> OpResult {
    check_operation(shared, OPERATIONS, operation, meta)?;
    let cx = Cx { shared, meta, body };
    match operation {
        "AddCustomAttributes" => pools::add_custom_attributes(&cx, parse(body)?),
        "AdminAddUserToGroup" => users::admin_add_user_to_group(&cx, parse(body)?),
        "AdminConfirmSignUp" => users::admin_confirm_sign_up(&cx, parse(body)?),
        "AdminCreateUser" => users::admin_create_user(&cx, parse(body)?),
        "AdminDeleteUser" => users::admin_delete_user(&cx, parse(body)?),
        "AdminDeleteUserAttributes" => users::admin_delete_user_attributes(&cx, parse(body)?),
        "AdminDisableUser" => users::admin_set_enabled(&cx, parse(body)?, false),
        "AdminEnableUser" => users::admin_set_enabled(&cx, parse(body)?, true),
        "AdminForgetDevice" => devices::admin_forget_device(&cx, parse(body)?),
        "AdminGetDevice" => devices::admin_get_device(&cx, parse(body)?),
        "AdminGetUser" => users::admin_get_user(&cx, parse(body)?),
        "AdminInitiateAuth" => auth::admin_initiate_auth(&cx, parse(body)?),
        "AdminListDevices" => devices::admin_list_devices(&cx, parse(body)?),
        "AdminListGroupsForUser" => users::admin_list_groups_for_user(&cx, parse(body)?),
        "AdminRemoveUserFromGroup" => users::admin_remove_user_from_group(&cx, parse(body)?),
        "AdminResetUserPassword" => users::admin_reset_user_password(&cx, parse(body)?),
        "AdminRespondToAuthChallenge" => auth::admin_respond_to_auth_challenge(&cx, parse(body)?),
        "AdminSetUserMFAPreference" => mfa::admin_set_user_mfa_preference(&cx, parse(body)?),
        "AdminSetUserPassword" => users::admin_set_user_password(&cx, parse(body)?),
        "AdminUpdateDeviceStatus" => devices::admin_update_device_status(&cx, parse(body)?),
        "AdminUpdateUserAttributes" => users::admin_update_user_attributes(&cx, parse(body)?),
        "AdminUserGlobalSignOut" => users::admin_user_global_sign_out(&cx, parse(body)?),
        "AssociateSoftwareToken" => mfa::associate_software_token(&cx, parse(body)?),
        "ChangePassword" => account::change_password(&cx, parse(body)?),
        "ConfirmDevice" => devices::confirm_device(&cx, parse(body)?),
        "ConfirmForgotPassword" => account::confirm_forgot_password(&cx, parse(body)?),
        "ConfirmSignUp" => account::confirm_sign_up(&cx, parse(body)?),
        "CreateGroup" => pools::create_group(&cx, parse(body)?),
        "CreateUserPool" => pools::create_user_pool(&cx, parse(body)?),
        "CreateUserPoolClient" => pools::create_user_pool_client(&cx, parse(body)?),
        "DeleteGroup" => pools::delete_group(&cx, parse(body)?),
        "DeleteUser" => account::delete_user(&cx, parse(body)?),
        "DeleteUserAttributes" => account::delete_user_attributes(&cx, parse(body)?),
        "DeleteUserPool" => pools::delete_user_pool(&cx, parse(body)?),
        "DeleteUserPoolClient" => pools::delete_user_pool_client(&cx, parse(body)?),
        "DescribeUserPool" => pools::describe_user_pool(&cx, parse(body)?),
        "DescribeUserPoolClient" => pools::describe_user_pool_client(&cx, parse(body)?),
        "ForgetDevice" => devices::forget_device(&cx, parse(body)?),
        "ForgotPassword" => account::forgot_password(&cx, parse(body)?),
        "GetDevice" => devices::get_device(&cx, parse(body)?),
        "GetGroup" => pools::get_group(&cx, parse(body)?),
        "GetTokensFromRefreshToken" => auth::get_tokens_from_refresh_token(&cx, parse(body)?),
        "GetUser" => account::get_user(&cx, parse(body)?),
        "GetUserAttributeVerificationCode" => {
            account::get_user_attribute_verification_code(&cx, parse(body)?)
        }
        "GetUserPoolMfaConfig" => mfa::get_user_pool_mfa_config(&cx, parse(body)?),
        "GlobalSignOut" => account::global_sign_out(&cx, parse(body)?),
        "InitiateAuth" => auth::initiate_auth(&cx, parse(body)?),
        "ListDevices" => devices::list_devices(&cx, parse(body)?),
        "ListGroups" => pools::list_groups(&cx, parse(body)?),
        "ListUserPoolClients" => pools::list_user_pool_clients(&cx, parse(body)?),
        "ListUserPools" => pools::list_user_pools(&cx, parse(body)?),
        "ListUsers" => users::list_users(&cx, parse(body)?),
        "ListUsersInGroup" => users::list_users_in_group(&cx, parse(body)?),
        "ResendConfirmationCode" => account::resend_confirmation_code(&cx, parse(body)?),
        "RespondToAuthChallenge" => auth::respond_to_auth_challenge(&cx, parse(body)?),
        "RevokeToken" => account::revoke_token(&cx, parse(body)?),
        "SetUserMFAPreference" => mfa::set_user_mfa_preference(&cx, parse(body)?),
        "SetUserPoolMfaConfig" => mfa::set_user_pool_mfa_config(&cx, parse(body)?),
        "SignUp" => account::sign_up(&cx, parse(body)?),
        "UpdateDeviceStatus" => devices::update_device_status(&cx, parse(body)?),
        "UpdateGroup" => pools::update_group(&cx, parse(body)?),
        "UpdateUserAttributes" => account::update_user_attributes(&cx, parse(body)?),
        "UpdateUserPool" => pools::update_user_pool(&cx, parse(body)?),
        "UpdateUserPoolClient" => pools::update_user_pool_client(&cx, parse(body)?),
        "VerifySoftwareToken" => mfa::verify_software_token(&cx, parse(body)?),
        "VerifyUserAttribute" => account::verify_user_attribute(&cx, parse(body)?),
        other => Err(CognitoError::internal(format!("operation {other} is listed but not routed"))),
    }
}

/// What every handler gets.
pub(crate) struct Cx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) meta: &'a RequestMeta,
    /// The request body, for the few members read by more than one step (`ClientMetadata`).
    pub(crate) body: &'a [u8],
}

impl Cx<'_> {
    pub(crate) fn now(&self) -> u64 {
        self.shared.clock.now_secs()
    }

    pub(crate) fn now_f64(&self) -> f64 {
        self.shared.clock.now_f64()
    }

    /// The request's `ClientMetadata`, as Lambda triggers receive it (`request.clientMetadata`);
    /// `{}` when absent. Read lazily: only requests that run a trigger need it.
    pub(crate) fn client_metadata(&self) -> Value {
        #[derive(Deserialize)]
        struct WithMetadata {
            #[serde(rename = "ClientMetadata")]
            client_metadata: Option<BTreeMap<String, String>>,
        }
        serde_json::from_slice::<WithMetadata>(self.body)
            .ok()
            .and_then(|m| m.client_metadata)
            .map_or_else(|| json!({}), |m| json!(m))
    }
}

/// Parses a request body. Invalid JSON and wrong member types are `SerializationException`s,
/// as in AWS JSON services; an empty body counts as `{}`.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> OpResult<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|error| {
        // serde names our Rust request types; say "a JSON object" instead.
        let mut detail = error.to_string();
        if let Some(start) = detail.find("expected struct ") {
            let end = detail[start..].find(" at line").map_or(detail.len(), |e| start + e);
            detail.replace_range(start..end, "expected a JSON object");
        }
        match error.classify() {
            serde_json::error::Category::Data => {
                CognitoError::serialization(format!("Invalid request: {detail}"))
            }
            _ => {
                CognitoError::serialization(format!("The request body is not valid JSON: {detail}"))
            }
        }
    })
}

/// A required string member.
pub(crate) fn required<'a>(value: &'a Option<String>, member: &str) -> OpResult<&'a str> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => {
            Err(invalid_member(member, "Member must have length greater than or equal to 1"))
        }
        None => Err(CognitoError::missing(member)),
    }
}

/// A username as sent: 1..=128 characters, no whitespace-only.
pub(crate) fn username_member<'a>(value: &'a Option<String>, member: &str) -> OpResult<&'a str> {
    let username = required(value, member)?;
    if username.chars().count() > 128 || username.chars().any(|c| c.is_control()) {
        return Err(invalid_member(
            member,
            "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+",
        ));
    }
    Ok(username)
}

/// `AttributeType`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AttributeType {
    pub(crate) name: Option<String>,
    pub(crate) value: Option<String>,
}

/// Converts an attribute list into name → value, checking names.
pub(crate) fn attribute_map(list: Option<&[AttributeType]>) -> OpResult<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for attribute in list.unwrap_or_default() {
        let name = required(&attribute.name, "Name")?;
        if name.chars().count() > 32 + "custom:".len() {
            return Err(CognitoError::invalid_parameter(format!("Invalid attribute name {name}.")));
        }
        map.insert(name.to_owned(), attribute.value.clone().unwrap_or_default());
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
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let record = state.access_tokens.get(&digest).ok_or_else(invalid)?;
    if record.expires_at <= cx.now() {
        return Err(CognitoError::not_authorized("Access Token has expired"));
    }
    if state.revoked_origins.contains(&record.origin_jti) {
        return Err(CognitoError::not_authorized("Access Token has been revoked"));
    }
    let pool = state.pools.get(&record.pool_id).ok_or_else(invalid)?;
    let user = pool
        .users
        .get(&pool.user_key(&record.username))
        .ok_or_else(|| CognitoError::user_not_found("User does not exist."))?;
    if !user.enabled {
        return Err(CognitoError::not_authorized("User is disabled."));
    }
    Ok(TokenOwner { pool_id: record.pool_id.clone(), username: record.username.clone() })
}

/// `{}`.
pub(crate) fn empty() -> OpResult {
    Ok(json!({}))
}

/// A `UserType` / AdminGetUser-style description of a user.
pub(crate) fn user_type(user: &User, only: Option<&[String]>) -> Value {
    json!({
        "Username": user.username,
        "Attributes": user.attribute_list(only),
        "UserCreateDate": user.created,
        "UserLastModifiedDate": user.modified,
        "Enabled": user.enabled,
        "UserStatus": user.status.as_str(),
    })
}

/// The `MFAOptions` list (legacy SMS MFA description).
pub(crate) fn mfa_options(user: &User) -> Option<Value> {
    user.mfa.sms.then(|| json!([{ "DeliveryMedium": "SMS", "AttributeName": "phone_number" }]))
}

/// Pagination over a sorted list: `(page, next token)`.
pub(crate) fn paginate<T: Clone>(
    items: &[T],
    limit: Option<i64>,
    token: Option<&str>,
    max: usize,
) -> OpResult<(Vec<T>, Option<String>)> {
    let start = match token {
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= items.len())
            .ok_or_else(|| CognitoError::invalid_parameter("Invalid pagination token."))?,
        None => 0,
    };
    let limit = match limit {
        Some(n) if n < 0 => return Err(CognitoError::invalid_parameter("Limit must be positive.")),
        Some(0) | None => max,
        Some(n) => usize::try_from(n).unwrap_or(max).min(max),
    };
    let end = (start + limit).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}

/// A list operation's answer: `out`, plus the token of the next page under `member`
/// (`NextToken` or `PaginationToken`) when there is one.
pub(crate) fn with_next_token(mut out: Value, member: &str, next: Option<String>) -> OpResult {
    if let Some(next) = next {
        out[member] = json!(next);
    }
    Ok(out)
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
