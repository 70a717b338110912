//! Admin user management, group membership and ListUsers.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AttributeType, add_mfa_settings, attribute_map, check_attribute_names, deliver_code, new_code,
    required_attribute_map, user_type, username_member,
};
use crate::cx::Cx;
use crate::password;
use crate::state::{MfaSettings, Pool, State, User, UserStatus};
use crate::wire::{CognitoError, OpResult, invalid_member};
use crate::wire::{empty, paginate, required, with_next_token};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserRequest {
    user_pool_id: Option<String>,
    username: Option<String>,
    user_attributes: Option<Vec<AttributeType>>,
    user_attribute_names: Option<Vec<String>>,
    temporary_password: Option<String>,
    password: Option<String>,
    permanent: Option<bool>,
    message_action: Option<String>,
    desired_delivery_mediums: Option<Vec<String>>,
    group_name: Option<String>,
    limit: Option<i64>,
    next_token: Option<String>,
    validation_data: Option<Vec<AttributeType>>,
    #[allow(
        dead_code,
        reason = "parsed to check its type; triggers read it through `Cx::client_metadata`"
    )]
    client_metadata: Option<std::collections::HashMap<String, String>>,
}

/// Validates attributes for a new user and works out the internal username.
///
/// In pools with `UsernameAttributes` (email/phone as username) the internal username is a
/// UUID (the `sub`) and the given name becomes the email or phone attribute.
pub(crate) fn new_user(
    pool: &Pool,
    given: &str,
    mut attributes: BTreeMap<String, String>,
    now: f64,
    status: UserStatus,
) -> OpResult<User> {
    check_attribute_names(pool, &attributes)?;
    let sub = uuid::Uuid::new_v4().to_string();
    let username_attributes = pool.username_attributes();
    let username = if username_attributes.is_empty() {
        if given.contains('@') && pool.alias_attributes().iter().any(|a| a == "email") {
            return Err(CognitoError::invalid_parameter(
                "Username cannot be of email format, since user pool is configured for email alias.",
            ));
        }
        given.to_owned()
    } else {
        let as_email = given.contains('@');
        let attr = if as_email { "email" } else { "phone_number" };
        if !username_attributes.iter().any(|a| a == attr) {
            return Err(CognitoError::invalid_parameter(format!(
                "Username should be {} .",
                username_attributes.join(" or ")
            )));
        }
        if attr == "phone_number" && !given.starts_with('+') {
            return Err(CognitoError::invalid_parameter("Invalid phone number format."));
        }
        attributes.entry(attr.to_owned()).or_insert_with(|| given.to_owned());
        sub.clone()
    };
    if pool.find_user_key(given).is_some() || pool.users.contains_key(&pool.user_key(&username)) {
        return Err(CognitoError::username_exists(if username_attributes.is_empty() {
            "User account already exists".to_owned()
        } else {
            "An account with the given email already exists.".to_owned()
        }));
    }
    if let Some(email) = attributes.get("email") {
        if !email.contains('@') {
            return Err(CognitoError::invalid_parameter("Invalid email address format."));
        }
    }
    attributes.insert("sub".into(), sub);
    Ok(User {
        username,
        attributes,
        status,
        enabled: true,
        created: now,
        modified: now,
        password: None,
        groups: BTreeSet::new(),
        mfa: MfaSettings::default(),
        devices: BTreeMap::new(),
        codes: BTreeMap::new(),
        last_code: None,
        custom_auth: None,
        federated: false,
    })
}

/// Attributes the pool's schema marks `Required` (custom ones with their `custom:` prefix).
pub(crate) fn required_attributes(pool: &Pool) -> Vec<String> {
    pool.settings
        .get("Schema")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("Required").and_then(Value::as_bool) == Some(true))
        .filter_map(|a| a.get("Name").and_then(Value::as_str))
        .map(|name| {
            if super::STANDARD_ATTRIBUTES.contains(&name) || name.starts_with("custom:") {
                name.to_owned()
            } else {
                format!("custom:{name}")
            }
        })
        .collect()
}

/// Refuses a sign-up without the attributes the schema requires. (AdminCreateUser does not
/// check: the user supplies them with NEW_PASSWORD_REQUIRED's `requiredAttributes`.)
pub(crate) fn check_required_attributes(
    pool: &Pool,
    attributes: &BTreeMap<String, String>,
) -> OpResult<()> {
    for required in required_attributes(pool) {
        if !attributes.contains_key(&required) {
            return Err(CognitoError::invalid_parameter(format!(
                "Attributes did not conform to the schema: {required}: The attribute {required} is required"
            )));
        }
    }
    Ok(())
}

/// Refuses a verified alias value already used by another user.
pub(crate) fn check_alias_unique(
    pool: &Pool,
    username: &str,
    attributes: &BTreeMap<String, String>,
) -> OpResult<()> {
    for alias in pool.alias_attributes().iter().chain(pool.username_attributes().iter()) {
        let Some(value) = attributes.get(alias) else { continue };
        let taken = pool.users.values().any(|other| {
            other.username != username
                && other.attribute(alias) == Some(value.as_str())
                && (pool.username_attributes().contains(alias)
                    || alias == "preferred_username"
                    || other.attribute_is_true(&format!("{alias}_verified")))
        });
        if taken {
            return Err(CognitoError::alias_exists(
                "An account with the given email already exists.",
            ));
        }
    }
    Ok(())
}

fn lookup<'a>(state: &'a mut State, request: &UserRequest) -> OpResult<&'a mut User> {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let login = username_member(&request.username, "Username")?;
    state.pool_mut(pool_id)?.user_mut(login).ok_or_else(crate::state::user_not_found)
}

pub(crate) fn admin_create_user(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let given = username_member(&request.username, "Username")?;
    let attributes = attribute_map(request.user_attributes.as_deref())?;
    let now = cx.now();
    // The request is checked before the PreSignUp trigger runs: a Lambda must not see a
    // request that then fails validation.
    let resend = match request.message_action.as_deref() {
        None | Some("SUPPRESS") => false,
        Some("RESEND") => true,
        Some(other) => {
            return Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '{other}' at 'messageAction' failed to satisfy constraint: Member must satisfy enum value set: [RESEND, SUPPRESS]"
            )));
        }
    };
    for medium in request.desired_delivery_mediums.iter().flatten() {
        if medium != "EMAIL" && medium != "SMS" {
            return Err(CognitoError::invalid_parameter(format!(
                "Invalid delivery medium {medium}."
            )));
        }
    }
    if let Some(temporary) = &request.temporary_password {
        password::check_shape("TemporaryPassword", temporary)?;
        password::Policy::of(cx.shared.state.read().pool(pool_id)?).check(temporary)?;
    }
    if resend {
        let mut state = cx.shared.state.write();
        let user =
            state.pool_mut(pool_id)?.user_mut(given).ok_or_else(crate::state::user_not_found)?;
        if user.status != UserStatus::ForceChangePassword {
            return Err(CognitoError::unsupported_user_state(
                "Resend not possible. The user is not in FORCE_CHANGE_PASSWORD status.",
            ));
        }
        return Ok(json!({ "User": user_type(user, None) }));
    }
    let (decision, event_username) = super::account::pre_sign_up(
        cx,
        "PreSignUp_AdminCreateUser",
        None,
        request.validation_data.as_deref(),
        |state| {
            let pool = state.pool(pool_id)?;
            let user =
                new_user(pool, given, attributes.clone(), cx.now_f64(), UserStatus::Unconfirmed)?;
            Ok((pool.id.clone(), user))
        },
    )?;
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(pool_id)?;
    let temporary =
        request.temporary_password.clone().unwrap_or_else(|| password::Policy::of(pool).generate());
    let mut user =
        new_user(pool, given, attributes, cx.now_f64(), UserStatus::ForceChangePassword)?;
    super::account::keep_event_username(&mut user, event_username);
    super::account::apply_auto_verify(&mut user, &decision);
    check_alias_unique(pool, &user.username, &user.attributes)?;
    user.password = Some(password::record(pool, &user.username, &temporary, now, true));
    if request.message_action.as_deref() != Some("SUPPRESS") {
        user.last_code = Some(("temporary_password".into(), temporary));
    }
    let out = user_type(&user, None);
    let key = pool.user_key(&user.username);
    pool.users.insert(key, user);
    Ok(json!({ "User": out }))
}

pub(crate) fn admin_set_user_password(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let new_password = required(&request.password, "Password")?;
    password::check_shape("Password", new_password)?;
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let login = username_member(&request.username, "Username")?;
    let permanent = request.permanent.unwrap_or(false);
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(pool_id)?;
    password::Policy::of(pool).check(new_password)?;
    let key = pool.find_user_key(login).ok_or_else(crate::state::user_not_found)?;
    let username = pool.users[&key].username.clone();
    let record = password::record(pool, &username, new_password, now, !permanent);
    let modified = cx.now_f64();
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    user.password = Some(record);
    user.status = if permanent { UserStatus::Confirmed } else { UserStatus::ForceChangePassword };
    user.modified = modified;
    empty()
}

pub(crate) fn admin_confirm_sign_up(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let user = lookup(&mut state, &request)?;
    if user.status != UserStatus::Unconfirmed {
        return Err(CognitoError::not_authorized(format!(
            "User cannot be confirmed. Current status is {}",
            user.status.as_str()
        )));
    }
    user.status = UserStatus::Confirmed;
    user.codes.remove("signup");
    user.modified = now;
    let username = user.username.clone();
    drop(state);
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    super::account::run_post_confirmation(
        cx,
        pool_id,
        &username,
        "PostConfirmation_ConfirmSignUp",
        None,
    )?;
    empty()
}

/// The AdminGetUser / GetUser description with MFA details.
pub(crate) fn describe_user(user: &User) -> Value {
    let mut out = json!({
        "Username": user.username,
        "UserAttributes": user.attribute_list(None),
        "UserCreateDate": user.created,
        "UserLastModifiedDate": user.modified,
        "Enabled": user.enabled,
        "UserStatus": user.status_name(),
    });
    add_mfa_settings(&mut out, user);
    out
}

pub(crate) fn admin_get_user(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let login = username_member(&request.username, "Username")?;
    let state = cx.shared.state.read();
    let user = state.pool(pool_id)?.user(login).ok_or_else(crate::state::user_not_found)?;
    Ok(describe_user(user))
}

/// Revokes every token of a user issued until `now_ms` (GlobalSignOut,
/// AdminUserGlobalSignOut, AdminDisableUser).
pub(crate) fn revoke_user_tokens(state: &mut State, pool_id: &str, username: &str, now_ms: u64) {
    state.tokens.revoke_user(pool_id, username, now_ms);
}

pub(crate) fn admin_delete_user(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let login = username_member(&request.username, "Username")?;
    let mut state = cx.shared.state.write();
    delete_user_from(&mut state, pool_id, login)?;
    empty()
}

pub(crate) fn delete_user_from(state: &mut State, pool_id: &str, login: &str) -> OpResult<()> {
    let pool = state.pool_mut(pool_id)?;
    let key = pool.find_user_key(login).ok_or_else(crate::state::user_not_found)?;
    // The user's tokens die with it: every token check compares the token's `sub` with
    // the user's, and a user created again under the same name has a new `sub`.
    pool.users.remove(&key).ok_or_else(crate::state::user_not_found)?;
    Ok(())
}

pub(crate) fn admin_delete_user_attributes(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let names = request
        .user_attribute_names
        .clone()
        .ok_or_else(|| CognitoError::missing("UserAttributeNames"))?;
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    delete_attributes(lookup(&mut state, &request)?, names, now)
}

/// Removes the named attributes (DeleteUserAttributes, AdminDeleteUserAttributes); `sub`
/// cannot be removed.
pub(crate) fn delete_attributes(user: &mut User, names: Vec<String>, now: f64) -> OpResult {
    for name in names {
        if name == "sub" {
            return Err(CognitoError::invalid_parameter(
                "Cannot delete the non-mutable attribute sub",
            ));
        }
        user.attributes.remove(&name);
    }
    user.modified = now;
    empty()
}

/// AdminDisableUser.
pub(crate) fn admin_disable_user(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    admin_set_enabled(cx, request, false)
}

/// AdminEnableUser.
pub(crate) fn admin_enable_user(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    admin_set_enabled(cx, request, true)
}

fn admin_set_enabled(cx: &Cx<'_>, request: UserRequest, enabled: bool) -> OpResult {
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let user = lookup(&mut state, &request)?;
    user.enabled = enabled;
    user.modified = now;
    if !enabled {
        // Cognito revokes a disabled user's tokens, so enabling the user again does not
        // bring the old sessions back: they must sign in anew.
        let username = user.username.clone();
        let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
        revoke_user_tokens(&mut state, &pool_id, &username, cx.now_millis());
    }
    empty()
}

/// Applies attribute updates; a changed email/phone loses its verified flag unless given,
/// and gets a verification code when the pool auto-verifies it. Returns delivery details.
pub(crate) fn apply_attribute_updates(
    pool: &mut Pool,
    key: &str,
    updates: BTreeMap<String, String>,
    now: u64,
    now_f64: f64,
) -> OpResult<Vec<Value>> {
    check_attribute_names(pool, &updates)?;
    let username =
        pool.users.get(key).map(|u| u.username.clone()).ok_or_else(crate::state::user_not_found)?;
    check_alias_unique(pool, &username, &updates)?;
    let auto_verified = pool.string_list("AutoVerifiedAttributes");
    let user = pool.users.get_mut(key).ok_or_else(crate::state::user_not_found)?;
    let mut deliveries = Vec::new();
    for attr in ["email", "phone_number"] {
        let verified = format!("{attr}_verified");
        if let Some(value) = updates.get(attr) {
            if user.attribute(attr) != Some(value.as_str()) && !updates.contains_key(&verified) {
                user.attributes.insert(verified.clone(), "false".into());
                if auto_verified.iter().any(|a| a == attr) {
                    user.attributes.insert(attr.to_owned(), value.clone());
                    let code = new_code();
                    deliveries.push(deliver_code(
                        user,
                        &format!("attribute:{attr}"),
                        &code,
                        now + 86_400,
                        attr,
                    ));
                }
            }
        }
    }
    user.attributes.extend(updates);
    user.modified = now_f64;
    Ok(deliveries)
}

pub(crate) fn admin_update_user_attributes(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let login = username_member(&request.username, "Username")?;
    let updates = required_attribute_map(request.user_attributes.as_deref())?;
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(pool_id)?;
    let key = pool.find_user_key(login).ok_or_else(crate::state::user_not_found)?;
    apply_attribute_updates(pool, &key, updates, cx.now(), cx.now_f64())?;
    empty()
}

pub(crate) fn admin_reset_user_password(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let user = lookup(&mut state, &request)?;
    if user.status == UserStatus::Unconfirmed && user.password.is_none() {
        return Err(CognitoError::not_authorized(
            "User password cannot be reset in the current state.",
        ));
    }
    user.status = UserStatus::ResetRequired;
    let code = new_code();
    deliver_code(user, "forgot_password", &code, now + 3600, "email");
    empty()
}

pub(crate) fn admin_user_global_sign_out(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let mut state = cx.shared.state.write();
    let username = lookup(&mut state, &request)?.username.clone();
    revoke_user_tokens(&mut state, &pool_id, &username, cx.now_millis());
    empty()
}

fn group_not_found() -> CognitoError {
    CognitoError::resource_not_found("Group not found.")
}

pub(crate) fn admin_add_user_to_group(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    set_membership(cx, &request, true)
}

pub(crate) fn admin_remove_user_from_group(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    set_membership(cx, &request, false)
}

/// Adds the user to (`member`) or removes them from an existing group.
fn set_membership(cx: &Cx<'_>, request: &UserRequest, member: bool) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let group = required(&request.group_name, "GroupName")?.to_owned();
    let login = username_member(&request.username, "Username")?;
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(pool_id)?;
    if !pool.groups.contains_key(&group) {
        return Err(group_not_found());
    }
    let groups = &mut pool.user_mut(login).ok_or_else(crate::state::user_not_found)?.groups;
    if member {
        groups.insert(group);
    } else {
        groups.remove(&group);
    }
    empty()
}

pub(crate) fn admin_list_groups_for_user(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let login = username_member(&request.username, "Username")?;
    let state = cx.shared.state.read();
    let pool = state.pool(pool_id)?;
    let user = pool.user(login).ok_or_else(crate::state::user_not_found)?;
    let groups: Vec<Value> = user
        .groups
        .iter()
        .filter_map(|name| pool.groups.get(name))
        .map(|g| super::pools::group_type(pool_id, g))
        .collect();
    let (page, next) = paginate(&groups, request.limit, request.next_token.as_deref(), 60)?;
    with_next_token(json!({ "Groups": page }), "NextToken", next)
}

pub(crate) fn list_users_in_group(cx: &Cx<'_>, request: UserRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let group = required(&request.group_name, "GroupName")?;
    let state = cx.shared.state.read();
    let pool = state.pool(pool_id)?;
    if !pool.groups.contains_key(group) {
        return Err(group_not_found());
    }
    let users: Vec<Value> = pool
        .users
        .values()
        .filter(|u| u.groups.contains(group))
        .map(|u| user_type(u, None))
        .collect();
    let (page, next) = paginate(&users, request.limit, request.next_token.as_deref(), 60)?;
    with_next_token(json!({ "Users": page }), "NextToken", next)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListUsersRequest {
    user_pool_id: Option<String>,
    attributes_to_get: Option<Vec<String>>,
    limit: Option<i64>,
    pagination_token: Option<String>,
    filter: Option<String>,
}

/// A parsed ListUsers filter: `attribute = "value"` or `attribute ^= "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) attribute: String,
    pub(crate) prefix: bool,
    pub(crate) value: String,
}

const SEARCHABLE: &[&str] = &[
    "username",
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "cognito:user_status",
    "status",
    "sub",
];

/// Parses Cognito's filter syntax. Hand-written: the grammar is one comparison.
pub(crate) fn parse_filter(filter: &str) -> OpResult<Option<Filter>> {
    let invalid = || CognitoError::invalid_parameter("Error while parsing filter.");
    let trimmed = filter.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let op_start = trimmed.find(['=', '^']).ok_or_else(invalid)?;
    let attribute = trimmed[..op_start].trim();
    let rest = &trimmed[op_start..];
    let (prefix, rest) = if let Some(r) = rest.strip_prefix("^=") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (false, r)
    } else {
        return Err(invalid());
    };
    let rest = rest.trim();
    let inner = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or_else(invalid)?;
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push(chars.next().ok_or_else(invalid)?),
            '"' => return Err(invalid()),
            other => value.push(other),
        }
    }
    if attribute.is_empty() || attribute.contains(char::is_whitespace) {
        return Err(invalid());
    }
    if !SEARCHABLE.contains(&attribute) {
        return Err(CognitoError::invalid_parameter(format!(
            "Invalid search attribute: {attribute}. Custom attributes and this attribute are not searchable."
        )));
    }
    Ok(Some(Filter { attribute: attribute.to_owned(), prefix, value }))
}

fn matches(filter: &Filter, user: &User) -> bool {
    let (actual, case_insensitive): (Option<String>, bool) = match filter.attribute.as_str() {
        "username" => (Some(user.username.clone()), false),
        "cognito:user_status" => (Some(user.status_name().to_owned()), true),
        "status" => (Some(if user.enabled { "Enabled" } else { "Disabled" }.to_owned()), false),
        other => (user.attribute(other).map(str::to_owned), other == "email"),
    };
    let Some(actual) = actual else { return false };
    let (actual, wanted) = if case_insensitive {
        (actual.to_lowercase(), filter.value.to_lowercase())
    } else {
        (actual, filter.value.clone())
    };
    if filter.prefix { actual.starts_with(&wanted) } else { actual == wanted }
}

pub(crate) fn list_users(cx: &Cx<'_>, request: ListUsersRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    if request.limit.is_some_and(|l| !(0..=60).contains(&l)) {
        return Err(invalid_member("Limit", "Member must have value less than or equal to 60"));
    }
    if request.filter.as_deref().is_some_and(|f| f.chars().count() > 256) {
        return Err(CognitoError::invalid_parameter("Filter must be at most 256 characters."));
    }
    let filter = parse_filter(request.filter.as_deref().unwrap_or(""))?;
    let state = cx.shared.state.read();
    let pool = state.pool(pool_id)?;
    let users: Vec<Value> = pool
        .users
        .values()
        .filter(|u| filter.as_ref().is_none_or(|f| matches(f, u)))
        .map(|u| user_type(u, request.attributes_to_get.as_deref()))
        .collect();
    let (page, next) = paginate(&users, request.limit, request.pagination_token.as_deref(), 60)?;
    with_next_token(json!({ "Users": page }), "PaginationToken", next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_syntax() {
        let f = parse_filter(r#"email ^= "ali""#).unwrap().unwrap();
        assert_eq!(f, Filter { attribute: "email".into(), prefix: true, value: "ali".into() });
        let f = parse_filter(r#"username="a\"b""#).unwrap().unwrap();
        assert_eq!(f.value, "a\"b");
        assert!(!f.prefix);
        assert_eq!(parse_filter("  ").unwrap(), None);
        for bad in [
            "email",
            "email = ali",
            r#"custom:x = "1""#,
            r#"email =~ "a""#,
            r#"= "a""#,
            r#"email = "a"b""#,
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }
}
