//! The start of a sign-in: the user behind a login name, the password flows, CUSTOM_AUTH
//! without SRP, and the Pre/PostAuthentication triggers around them.

use std::collections::HashMap;

use serde_json::json;

use super::next::next_step;
use super::{Start, finish, param};
use crate::cx::Cx;
use crate::limits::UserKey;
use crate::ops::check_secret_hash;
use crate::ops::tokens::TokenGrant;
use crate::password;
use crate::state::{SignInContext, State, UserStatus};
use crate::triggers::{self, Origin, Trigger};
use crate::wire::{CognitoError, OpResult};

/// Runs the pool's PreAuthentication trigger, if any, before the first factor is checked
/// but after the client is authenticated: a wrong `SECRET_HASH` or a disabled user is
/// refused without calling it. An unknown user skips it (the flow then fails as without a
/// trigger).
pub(super) fn pre_authentication(start: Start<'_, '_>) -> OpResult<()> {
    let Start { cx, pool_id, client_id, params } = start;
    let Some(login) = params.get("USERNAME").filter(|l| !l.is_empty()) else { return Ok(()) };
    let (arn, event) = {
        let state = cx.shared.state.read();
        let pool = state.pool(pool_id)?;
        let Some(arn) = triggers::arn(pool, Trigger::PreAuthentication) else { return Ok(()) };
        let Some(user) = pool.user(login) else { return Ok(()) };
        if resolve_user(&state, pool_id, client_id, login, params)?.is_none() {
            return Ok(());
        }
        let metadata = cx.client_metadata();
        let event = Origin::new(pool, &user.username, Some(client_id)).event(
            "1",
            "PreAuthentication_Authentication",
            json!({
                "userAttributes": triggers::user_attributes(user),
                "validationData": metadata,
                "userNotFound": false,
            }),
            json!({}),
        );
        (arn, event)
    };
    triggers::invoke(cx.shared, Trigger::PreAuthentication, &arn, &event)?;
    Ok(())
}

/// Runs the pool's PostAuthentication trigger, if any, once a sign-in succeeded and just
/// before its tokens are issued.
pub(super) fn post_authentication(cx: &Cx<'_>, grant: &TokenGrant) -> OpResult<()> {
    let (arn, event) = {
        let state = cx.shared.state.read();
        let pool = state.pool(&grant.pool_id)?;
        let Some(arn) = triggers::arn(pool, Trigger::PostAuthentication) else { return Ok(()) };
        let user = pool
            .users
            .get(&pool.user_key(&grant.username))
            .ok_or_else(crate::state::user_not_found)?;
        let event = Origin::new(pool, &user.username, Some(&grant.client_id)).event(
            "1",
            "PostAuthentication_Authentication",
            json!({
                "userAttributes": triggers::user_attributes(user),
                "newDeviceUsed": grant.new_device,
                "clientMetadata": cx.client_metadata(),
            }),
            json!({}),
        );
        (arn, event)
    };
    triggers::invoke(cx.shared, Trigger::PostAuthentication, &arn, &event)?;
    Ok(())
}

/// Resolves a login name and checks the `SECRET_HASH` of `params`; `Ok(None)` for a missing
/// user whose existence must not be revealed.
pub(super) fn resolve_user(
    state: &State,
    pool_id: &str,
    client_id: &str,
    login: &str,
    params: &HashMap<String, String>,
) -> OpResult<Option<String>> {
    let secret_hash = params.get("SECRET_HASH").map(String::as_str);
    let pool = state.pool(pool_id)?;
    let client = pool
        .clients
        .get(client_id)
        .ok_or_else(|| CognitoError::resource_not_found("User pool client does not exist."))?;
    let Some(user) = pool.user(login) else {
        check_secret_hash(client, &[login], secret_hash)?;
        if client.prevent_user_existence_errors() {
            return Ok(None);
        }
        return Err(crate::state::user_not_found());
    };
    let mut names = vec![login];
    names.extend(user.secret_hash_names());
    check_secret_hash(client, &names, secret_hash)?;
    if !user.enabled {
        return Err(CognitoError::not_authorized("User is disabled."));
    }
    Ok(Some(user.username.clone()))
}

/// Refuses a sign-in whose password is proved but whose user may not sign in yet
/// (unconfirmed, reset required, expired temporary password).
pub(super) fn check_status_after_password(
    state: &State,
    pool_id: &str,
    username: &str,
    now: u64,
) -> OpResult<()> {
    let pool = state.pool(pool_id)?;
    let user = pool.users.get(&pool.user_key(username)).ok_or_else(crate::state::user_not_found)?;
    match user.status {
        UserStatus::Unconfirmed => Err(CognitoError::user_not_confirmed("User is not confirmed.")),
        UserStatus::ResetRequired => {
            Err(CognitoError::password_reset_required("Password reset required for the user"))
        }
        UserStatus::ForceChangePassword => {
            let days = password::Policy::of(pool).temporary_validity_days;
            let expired = user.password.as_ref().is_some_and(|p| {
                p.temporary && p.set_at.saturating_add(days.saturating_mul(86_400)) < now
            });
            if expired {
                Err(CognitoError::not_authorized(
                    "Temporary password has expired and must be reset by an administrator.",
                ))
            } else {
                Ok(())
            }
        }
        UserStatus::Confirmed => Ok(()),
    }
}

/// USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH (ADMIN_NO_SRP_AUTH) and `USER_AUTH`'s
/// `PASSWORD`: the password is sent as is.
pub(super) fn password(start: Start<'_, '_>, ctx: SignInContext) -> OpResult {
    let Start { cx, pool_id, client_id, params } = start;
    let login = param(params, "USERNAME")?;
    let given = param(params, "PASSWORD")?;
    let (username, record) = {
        let state = cx.shared.state.read();
        let Some(username) = resolve_user(&state, pool_id, client_id, login, params)? else {
            return Err(CognitoError::bad_credentials());
        };
        let pool = state.pool(pool_id)?;
        let record = pool.users.get(&pool.user_key(&username)).and_then(|u| u.password.clone());
        state.limits.check_sign_in(&UserKey::new(pool_id, &username), cx.now_millis())?;
        (username, record)
    };
    let Some(record) = record else { return Err(CognitoError::bad_credentials()) };
    let limit_key = UserKey::new(pool_id, &username);
    if !password::verify(&record, given) {
        cx.shared.state.write().limits.password_failed(&limit_key, cx.now_millis());
        return Err(CognitoError::bad_credentials());
    }
    let device_key = params.get("DEVICE_KEY").cloned();
    let next = {
        let mut state = cx.shared.state.write();
        state.limits.sign_in_succeeded(&limit_key);
        check_status_after_password(&state, pool_id, &username, cx.now())?;
        let ctx = SignInContext {
            device_key: known_device(&state, pool_id, &username, device_key)?,
            ..ctx
        };
        next_step(cx, &mut state, pool_id, client_id, &username, ctx)?
    };
    finish(cx, next)
}

/// A `DEVICE_KEY` the client presented: unknown keys are refused so clients drop them.
pub(super) fn known_device(
    state: &State,
    pool_id: &str,
    username: &str,
    device_key: Option<String>,
) -> OpResult<Option<String>> {
    let Some(key) = device_key.filter(|k| !k.is_empty()) else { return Ok(None) };
    let pool = state.pool(pool_id)?;
    let user = pool.users.get(&pool.user_key(username)).ok_or_else(crate::state::user_not_found)?;
    if user.devices.contains_key(&key) {
        Ok(Some(key))
    } else {
        Err(CognitoError::resource_not_found("Device does not exist."))
    }
}

/// CUSTOM_AUTH without SRP: the custom challenge is the first factor.
pub(super) fn custom(start: Start<'_, '_>, ctx: SignInContext) -> OpResult {
    let Start { cx, pool_id, client_id, params } = start;
    let login = param(params, "USERNAME")?;
    let mut state = cx.shared.state.write();
    let Some(username) = resolve_user(&state, pool_id, client_id, login, params)? else {
        return Err(CognitoError::bad_credentials());
    };
    let next = next_step(cx, &mut state, pool_id, client_id, &username, ctx)?;
    drop(state);
    finish(cx, next)
}
