//! The public account operations: sign-up, confirmation, password recovery and changes,
//! the signed-in user's own attributes, sign-out and token revocation.

use serde::Deserialize;
use serde_json::{Value, json};

use super::users::{
    apply_attribute_updates, check_alias_unique, delete_attributes, new_user, revoke_user_tokens,
};
use super::{
    AttributeType, add_mfa_settings, attribute_map, check_secret_hash, deliver_code,
    delivery_details, new_code, required_attribute_map, token_owner, username_member,
};
use crate::cx::Cx;
use crate::limits::{CodeKind, UserKey, code_tag};
use crate::password;
use crate::state::{State, UserStatus};
use crate::wire::{CognitoError, OpResult};
use crate::wire::{empty, required};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccountRequest {
    client_id: Option<String>,
    secret_hash: Option<String>,
    username: Option<String>,
    password: Option<String>,
    user_attributes: Option<Vec<AttributeType>>,
    validation_data: Option<Vec<AttributeType>>,
    confirmation_code: Option<String>,
    #[allow(
        dead_code,
        reason = "parsed to check its type; triggers read it through `Cx::client_metadata`"
    )]
    client_metadata: Option<std::collections::HashMap<String, String>>,
    access_token: Option<String>,
    previous_password: Option<String>,
    proposed_password: Option<String>,
    attribute_name: Option<String>,
    code: Option<String>,
    user_attribute_names: Option<Vec<String>>,
    token: Option<String>,
    client_secret: Option<String>,
}

/// The pool id and internal username behind a public call, after the client and secret
/// hash checks. `Ok(None)` when the user is missing and the client hides that.
fn public_user(
    state: &State,
    request: &AccountRequest,
) -> OpResult<(String, Option<String>, bool)> {
    let client_id = required(&request.client_id, "ClientId")?;
    let login = username_member(&request.username, "Username")?;
    let (pool, client) = state.client(client_id)?;
    let user = pool.user(login);
    let mut names = vec![login];
    if let Some(user) = user {
        names.push(&user.username);
        names.push(user.sub());
        if let Some(email) = user.attribute("email") {
            names.push(email);
        }
    }
    check_secret_hash(client, &names, request.secret_hash.as_deref())?;
    Ok((pool.id.clone(), user.map(|u| u.username.clone()), client.prevent_user_existence_errors()))
}

/// Checks a SignUp request against the pool and builds the new user (without password or
/// code). Run twice when a PreSignUp trigger is configured: before the webhook (under a read
/// lock) and again after it, under the write lock that inserts the user.
fn prepare_sign_up(
    cx: &Cx<'_>,
    state: &State,
    request: &AccountRequest,
) -> OpResult<(String, crate::state::User)> {
    let client_id = required(&request.client_id, "ClientId")?;
    let given = username_member(&request.username, "Username")?;
    let new_password = required(&request.password, "Password")?;
    password::check_shape("Password", new_password)?;
    let attributes = attribute_map(request.user_attributes.as_deref())?;
    let (pool, client) = state.client(client_id)?;
    check_secret_hash(client, &[given], request.secret_hash.as_deref())?;
    let allow_admin_only = pool
        .settings
        .get("AdminCreateUserConfig")
        .and_then(|c| c.get("AllowAdminCreateUserOnly"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if allow_admin_only {
        return Err(CognitoError::not_authorized("SignUp is not permitted for this user pool"));
    }
    password::Policy::of(pool).check(new_password)?;
    let user =
        new_user(pool, given, attributes, cx.now_f64(), UserStatus::Unconfirmed).map_err(|e| {
            if e.kind() == "UsernameExistsException" {
                CognitoError::username_exists("User already exists")
            } else {
                e
            }
        })?;
    check_alias_unique(pool, &user.username, &user.attributes)?;
    super::users::check_required_attributes(pool, &user.attributes)?;
    Ok((pool.id.clone(), user))
}

/// What a PreSignUp trigger decided.
#[derive(Debug, Default)]
pub(crate) struct PreSignUp {
    pub(crate) auto_confirm: bool,
    pub(crate) auto_verify_email: bool,
    pub(crate) auto_verify_phone: bool,
}

/// The pool's PreSignUp trigger and event, if it has one, for a user about to be created.
fn pre_sign_up_event(
    cx: &Cx<'_>,
    pool: &crate::state::Pool,
    user: &crate::state::User,
    source: &str,
    client_id: Option<&str>,
    validation_data: Option<&[AttributeType]>,
) -> OpResult<Option<(String, Value)>> {
    use crate::triggers::{Origin, Trigger, arn};
    let Some(arn) = arn(pool, Trigger::PreSignUp) else { return Ok(None) };
    let validation = attribute_map(validation_data)?;
    let mut attributes = crate::triggers::user_attributes(user);
    if let Some(map) = attributes.as_object_mut() {
        // The user has no sub nor status until Cognito creates it.
        map.remove("sub");
        map.remove("cognito:user_status");
    }
    let event = Origin::new(pool, &user.username, client_id).event(
        "1",
        source,
        json!({
            "userAttributes": attributes,
            "validationData": if validation.is_empty() { Value::Null } else { json!(validation) },
            "clientMetadata": cx.client_metadata(),
        }),
        json!({ "autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false }),
    );
    Ok(Some((arn, event)))
}

/// Runs the pool's PreSignUp trigger, if any, for a user about to be created: `prepare`
/// builds the user (and names its pool) under the read lock, as the event shows it; the
/// trigger runs without the lock. Returns the decision and, when the trigger ran, the
/// username its event named (see [`keep_event_username`]).
pub(crate) fn pre_sign_up(
    cx: &Cx<'_>,
    source: &str,
    client_id: Option<&str>,
    validation_data: Option<&[AttributeType]>,
    prepare: impl FnOnce(&State) -> OpResult<(String, crate::state::User)>,
) -> OpResult<(PreSignUp, Option<String>)> {
    let hook = {
        let state = cx.shared.state.read();
        let (pool_id, user) = prepare(&state)?;
        pre_sign_up_event(cx, state.pool(&pool_id)?, &user, source, client_id, validation_data)?
            .map(|(arn, event)| (arn, event, user.username))
    };
    let Some((arn, event, username)) = hook else { return Ok((PreSignUp::default(), None)) };
    let answer =
        crate::triggers::invoke(cx.shared, crate::triggers::Trigger::PreSignUp, &arn, &event)?;
    Ok((pre_sign_up_answer(&answer), Some(username)))
}

/// A pool that signs in by email or phone gives each new user a random UUID username (its
/// sub): the user created after a PreSignUp trigger keeps the one the trigger saw.
pub(crate) fn keep_event_username(user: &mut crate::state::User, event_username: Option<String>) {
    if let Some(username) = event_username.filter(|_| user.username == user.sub()) {
        user.attributes.insert("sub".into(), username.clone());
        user.username = username;
    }
}

/// Reads a PreSignUp answer.
fn pre_sign_up_answer(response: &Value) -> PreSignUp {
    let flag = |name: &str| response.get(name).and_then(Value::as_bool).unwrap_or(false);
    PreSignUp {
        auto_confirm: flag("autoConfirmUser"),
        auto_verify_email: flag("autoVerifyEmail"),
        auto_verify_phone: flag("autoVerifyPhone"),
    }
}

/// Applies PreSignUp's auto-verification to a new user's attributes.
pub(crate) fn apply_auto_verify(user: &mut crate::state::User, decision: &PreSignUp) {
    if decision.auto_verify_email && user.attribute("email").is_some() {
        user.attributes.insert("email_verified".into(), "true".into());
    }
    if decision.auto_verify_phone && user.attribute("phone_number").is_some() {
        user.attributes.insert("phone_number_verified".into(), "true".into());
    }
}

pub(crate) fn sign_up(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let new_password = required(&request.password, "Password")?;
    let now = cx.now();
    let (decision, event_username) = pre_sign_up(
        cx,
        "PreSignUp_SignUp",
        request.client_id.as_deref(),
        request.validation_data.as_deref(),
        |state| prepare_sign_up(cx, state, &request),
    )?;
    let mut state = cx.shared.state.write();
    let (pool_id, mut user) = prepare_sign_up(cx, &state, &request)?;
    keep_event_username(&mut user, event_username);
    let pool = state.pool(&pool_id)?;
    user.password = Some(password::record(pool, &user.username, new_password, now, false));
    apply_auto_verify(&mut user, &decision);
    let auto_verified = pool.string_list("AutoVerifiedAttributes");
    let prefer = if auto_verified.iter().any(|a| a == "email") { "email" } else { "phone_number" };
    let delivery = if decision.auto_confirm {
        user.status = UserStatus::Confirmed;
        None
    } else {
        let code = new_code();
        Some(deliver_code(&mut user, "signup", &code, now + 86_400, prefer))
    };
    let sub = user.sub().to_owned();
    let pool = state.pool_mut(&pool_id)?;
    let key = pool.user_key(&user.username);
    pool.users.insert(key, user);
    let mut out = json!({ "UserConfirmed": decision.auto_confirm, "UserSub": sub });
    if let Some(delivery) = delivery.filter(|_| !auto_verified.is_empty()) {
        out["CodeDeliveryDetails"] = delivery;
    }
    Ok(out)
}

/// The answer to a wrong (or missing) verification code.
fn wrong_code() -> CognitoError {
    CognitoError::code_mismatch("Invalid verification code provided, please try again.")
}

/// The pool and username a confirmation code is checked for (ConfirmSignUp,
/// ConfirmForgotPassword). An unknown user of a client that hides user existence gets the
/// wrong-code answer instead of `UserNotFoundException`.
fn confirming_user(state: &State, request: &AccountRequest) -> OpResult<(String, String)> {
    match public_user(state, request)? {
        (pool_id, Some(username), _) => Ok((pool_id, username)),
        (_, None, true) => Err(wrong_code()),
        (_, None, false) => Err(crate::state::user_not_found()),
    }
}

/// Checks a one-time code of `purpose` against the user's pending code, under the code
/// attempt limits (`crate::limits`): a used-up budget is refused before the code is looked at,
/// and every wrong code counts.
#[expect(clippy::too_many_arguments, reason = "one call shape shared by three operations")]
fn check_code(
    state: &mut State,
    pool_id: &str,
    username: &str,
    purpose: &str,
    kind: CodeKind,
    given: &str,
    now: u64,
    now_millis: u64,
) -> OpResult<()> {
    let limit_key = UserKey::new(pool_id, username);
    let pool = state.pool(pool_id)?;
    let user = pool.users.get(&pool.user_key(username)).ok_or_else(crate::state::user_not_found)?;
    let Some(code) = user.codes.get(purpose).cloned() else {
        return Err(wrong_code());
    };
    let tag = code_tag(&code.code, code.expires_at);
    state.limits.check_code(&limit_key, kind, tag, now_millis)?;
    if code.expires_at <= now {
        return Err(CognitoError::expired_code(
            "Invalid code provided, please request a code again.",
        ));
    }
    if code.code != given {
        state.limits.code_failed(&limit_key, kind, tag, now_millis);
        return Err(wrong_code());
    }
    state.limits.code_reset(&limit_key, kind);
    Ok(())
}

pub(crate) fn confirm_sign_up(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let given = required(&request.confirmation_code, "ConfirmationCode")?;
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let (pool_id, username) = confirming_user(&state, &request)?;
    let modified = cx.now_f64();
    let pool = state.pool(&pool_id)?;
    let status =
        pool.users.get(&pool.user_key(&username)).ok_or_else(crate::state::user_not_found)?.status;
    if status != UserStatus::Unconfirmed {
        return Err(CognitoError::not_authorized(format!(
            "User cannot be confirmed. Current status is {}",
            status.as_str()
        )));
    }
    let counted = CodeKind::SignUp;
    check_code(&mut state, &pool_id, &username, "signup", counted, given, now, cx.now_millis())?;
    let pool = state.pool_mut(&pool_id)?;
    let key = pool.user_key(&username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    user.codes.remove("signup");
    user.status = UserStatus::Confirmed;
    let verified =
        if user.attribute("email").is_some() { "email_verified" } else { "phone_number_verified" };
    user.attributes.insert(verified.into(), "true".into());
    user.modified = modified;
    drop(state);
    run_post_confirmation(
        cx,
        &pool_id,
        &username,
        "PostConfirmation_ConfirmSignUp",
        request.client_id.as_deref(),
    )?;
    empty()
}

/// Runs the pool's PostConfirmation trigger, if any, for a user just confirmed (the state
/// lock must not be held). The confirmation stands even if the trigger fails, as in Cognito,
/// but the caller gets the trigger's error.
pub(crate) fn run_post_confirmation(
    cx: &Cx<'_>,
    pool_id: &str,
    username: &str,
    source: &str,
    client_id: Option<&str>,
) -> OpResult<()> {
    use crate::triggers::{Origin, Trigger, arn, invoke, user_attributes};
    let hook = {
        let state = cx.shared.state.read();
        let pool = state.pool(pool_id)?;
        let Some(arn) = arn(pool, Trigger::PostConfirmation) else { return Ok(()) };
        let user = pool.user(username).ok_or_else(crate::state::user_not_found)?;
        let event = Origin::new(pool, &user.username, client_id).event(
            "1",
            source,
            json!({ "userAttributes": user_attributes(user), "clientMetadata": cx.client_metadata() }),
            json!({}),
        );
        (arn, event)
    };
    invoke(cx.shared, Trigger::PostConfirmation, &hook.0, &hook.1)?;
    Ok(())
}

/// The user a code is sent to (ResendConfirmationCode, ForgotPassword). `None` for an
/// unknown user of a client that hides user existence: the caller then answers with a
/// simulated delivery instead of `UserNotFoundException`.
fn code_recipient<'s>(
    state: &'s mut State,
    request: &AccountRequest,
) -> OpResult<Option<&'s mut crate::state::User>> {
    let (pool_id, username, prevent) = public_user(state, request)?;
    let Some(username) = username else {
        return if prevent { Ok(None) } else { Err(crate::state::user_not_found()) };
    };
    let pool = state.pool_mut(&pool_id)?;
    let key = pool.user_key(&username);
    pool.users.get_mut(&key).map(Some).ok_or_else(crate::state::user_not_found)
}

pub(crate) fn resend_confirmation_code(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let Some(user) = code_recipient(&mut state, &request)? else {
        return Ok(
            json!({ "CodeDeliveryDetails": simulated_delivery(request.username.as_deref()) }),
        );
    };
    if user.status != UserStatus::Unconfirmed {
        return Err(CognitoError::invalid_parameter("User is already confirmed."));
    }
    let code = new_code();
    let details = deliver_code(user, "signup", &code, now + 86_400, "email");
    Ok(json!({ "CodeDeliveryDetails": details }))
}

fn simulated_delivery(login: Option<&str>) -> Value {
    let login = login.unwrap_or_default();
    let (medium, attribute) =
        if login.starts_with('+') { ("SMS", "phone_number") } else { ("EMAIL", "email") };
    json!({
        "AttributeName": attribute,
        "DeliveryMedium": medium,
        "Destination": super::mask(if login.contains('@') || login.starts_with('+') { login } else { "x@x" }),
    })
}

pub(crate) fn forgot_password(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let Some(user) = code_recipient(&mut state, &request)? else {
        return Ok(
            json!({ "CodeDeliveryDetails": simulated_delivery(request.username.as_deref()) }),
        );
    };
    if !user.enabled {
        return Err(CognitoError::not_authorized("User is disabled."));
    }
    if user.attribute("email").is_none() && user.attribute("phone_number").is_none() {
        return Err(CognitoError::invalid_parameter(
            "Cannot reset password for the user as there is no registered/verified email or phone_number",
        ));
    }
    let code = new_code();
    let details = deliver_code(user, "forgot_password", &code, now + 3600, "email");
    Ok(json!({ "CodeDeliveryDetails": details }))
}

pub(crate) fn confirm_forgot_password(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let given = required(&request.confirmation_code, "ConfirmationCode")?;
    let new_password = required(&request.password, "Password")?;
    password::check_shape("Password", new_password)?;
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let (pool_id, username) = confirming_user(&state, &request)?;
    let modified = cx.now_f64();
    let counted = CodeKind::ForgotPassword;
    let purpose = "forgot_password";
    check_code(&mut state, &pool_id, &username, purpose, counted, given, now, cx.now_millis())?;
    let pool = state.pool_mut(&pool_id)?;
    let key = pool.user_key(&username);
    password::Policy::of(pool).check(new_password)?;
    let record = password::record(pool, &username, new_password, now, false);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    user.codes.remove("forgot_password");
    user.password = Some(record);
    if user.status != UserStatus::Unconfirmed {
        user.status = UserStatus::Confirmed;
    }
    user.modified = modified;
    drop(state);
    run_post_confirmation(
        cx,
        &pool_id,
        &username,
        "PostConfirmation_ConfirmForgotPassword",
        request.client_id.as_deref(),
    )?;
    empty()
}

pub(crate) fn change_password(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let proposed = required(&request.proposed_password, "ProposedPassword")?;
    password::check_shape("ProposedPassword", proposed)?;
    let (owner, record) = {
        let state = cx.shared.state.read();
        let owner = token_owner(cx, &state, request.access_token.as_deref())?;
        let pool = state.pool(&owner.pool_id)?;
        let user = pool
            .users
            .get(&pool.user_key(&owner.username))
            .ok_or_else(crate::state::user_not_found)?;
        password::Policy::of(pool).check(proposed)?;
        (owner, user.password.clone())
    };
    let previous = required(&request.previous_password, "PreviousPassword")?;
    if !record.is_some_and(|r| password::verify(&r, previous)) {
        return Err(CognitoError::bad_credentials());
    }
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(&owner.pool_id)?;
    let record = password::record(pool, &owner.username, proposed, now, false);
    let key = pool.user_key(&owner.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    user.password = Some(record);
    user.modified = cx.now_f64();
    empty()
}

pub(crate) fn get_user(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let state = cx.shared.state.read();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    let pool = state.pool(&owner.pool_id)?;
    let user =
        pool.users.get(&pool.user_key(&owner.username)).ok_or_else(crate::state::user_not_found)?;
    let mut out = json!({
        "Username": user.username,
        "UserAttributes": user.attribute_list(None),
    });
    add_mfa_settings(&mut out, user);
    Ok(out)
}

pub(crate) fn update_user_attributes(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let updates = required_attribute_map(request.user_attributes.as_deref())?;
    let mut state = cx.shared.state.write();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    for name in updates.keys() {
        if name.ends_with("_verified") {
            return Err(CognitoError::invalid_parameter(format!(
                "Cannot modify {name}: verified flags change only through verification."
            )));
        }
    }
    let pool = state.pool_mut(&owner.pool_id)?;
    let key = pool.user_key(&owner.username);
    let deliveries = apply_attribute_updates(pool, &key, updates, cx.now(), cx.now_f64())?;
    let mut out = json!({});
    if !deliveries.is_empty() {
        out["CodeDeliveryDetailsList"] = json!(deliveries);
    }
    Ok(out)
}

pub(crate) fn delete_user_attributes(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let names = request
        .user_attribute_names
        .clone()
        .ok_or_else(|| CognitoError::missing("UserAttributeNames"))?;
    let mut state = cx.shared.state.write();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    let modified = cx.now_f64();
    let pool = state.pool_mut(&owner.pool_id)?;
    let key = pool.user_key(&owner.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    delete_attributes(user, names, modified)
}

pub(crate) fn get_user_attribute_verification_code(
    cx: &Cx<'_>,
    request: AccountRequest,
) -> OpResult {
    let attribute = required(&request.attribute_name, "AttributeName")?;
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    let pool = state.pool_mut(&owner.pool_id)?;
    let key = pool.user_key(&owner.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    if !["email", "phone_number"].contains(&attribute) || user.attribute(attribute).is_none() {
        return Err(CognitoError::invalid_parameter(format!(
            "The user has no {attribute} to verify."
        )));
    }
    let code = new_code();
    deliver_code(user, &format!("attribute:{attribute}"), &code, now + 86_400, attribute);
    Ok(json!({ "CodeDeliveryDetails": delivery_details(user, attribute) }))
}

pub(crate) fn verify_user_attribute(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let attribute = required(&request.attribute_name, "AttributeName")?;
    let given = required(&request.code, "Code")?;
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    let modified = cx.now_f64();
    let purpose = format!("attribute:{attribute}");
    let (pool_id, username) = (owner.pool_id.clone(), owner.username.clone());
    let counted = CodeKind::Attribute;
    check_code(&mut state, &pool_id, &username, &purpose, counted, given, now, cx.now_millis())?;
    let pool = state.pool_mut(&owner.pool_id)?;
    let key = pool.user_key(&owner.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    user.codes.remove(&purpose);
    user.attributes.insert(format!("{attribute}_verified"), "true".into());
    user.modified = modified;
    empty()
}

pub(crate) fn delete_user(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let mut state = cx.shared.state.write();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    super::users::delete_user_from(&mut state, &owner.pool_id, &owner.username)?;
    empty()
}

pub(crate) fn global_sign_out(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let mut state = cx.shared.state.write();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    revoke_user_tokens(&mut state, &owner.pool_id, &owner.username, cx.now_millis());
    empty()
}

pub(crate) fn revoke_token(cx: &Cx<'_>, request: AccountRequest) -> OpResult {
    let token = required(&request.token, "Token")?;
    let client_id = required(&request.client_id, "ClientId")?;
    let mut state = cx.shared.state.write();
    let (_, client) = state.client(client_id)?;
    if let Some(secret) = &client.secret {
        if request.client_secret.as_deref() != Some(secret.as_str()) {
            return Err(CognitoError::unauthorized("Invalid client secret."));
        }
    }
    if !client.token_revocation_enabled() {
        return Err(CognitoError::unsupported_operation(
            "Token revocation is not enabled for this client.",
        ));
    }
    if token.split('.').count() == 3 {
        return Err(CognitoError::unsupported_token_type("Only refresh tokens can be revoked."));
    }
    let (access_ttl, id_ttl, _) = client.lifetimes();
    // Unknown or already revoked tokens succeed, as at /oauth2/revoke.
    let Some(claims) = state.tokens.open_refresh(token) else { return empty() };
    if claims.client_id != client_id {
        return Err(CognitoError::unauthorized("The token was not issued to this client."));
    }
    // Remembered while the refresh token, or an access or ID token issued from it, could
    // still be shown.
    let keep_until = claims.expires_at.max(cx.now().saturating_add(access_ttl.max(id_ttl)));
    state.tokens.revoke_family(&claims.origin_jti, keep_until);
    empty()
}
