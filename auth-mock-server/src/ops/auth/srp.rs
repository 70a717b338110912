//! SRP: the password proved with `USER_SRP_AUTH` (or CUSTOM_AUTH / `USER_AUTH`'s
//! `PASSWORD_SRP`) and a remembered device proved with device SRP. An exchange is kept
//! under its `SECRET_BLOCK` between the challenge and the claim.

use std::collections::HashMap;

use serde_json::json;

use super::next::next_step;
use super::respond::check_challenge_secret_hash;
use super::start::{check_status_after_password, known_device, resolve_user};
use super::{Start, finish, param};
use crate::cx::Cx;
use crate::ops::{random_secret_block, random_token};
use crate::password;
use crate::sign_in::ChallengeName;
use crate::state::{Passed, Pending, SignInContext, SrpPending, SrpProof};
use crate::wire::{CognitoError, OpResult};

/// The client's `SRP_A`, refused (as every SRP-6a server must) when it is 0 modulo N.
fn client_public(params: &HashMap<String, String>) -> OpResult<auth_srp::BigUint> {
    let a_public = auth_srp::parse_hex("SRP_A", param(params, "SRP_A")?)
        .map_err(|_| CognitoError::invalid_parameter("SRP_A is not a hexadecimal number."))?;
    auth_srp::check_public("A", &a_public)
        .map_err(|_| CognitoError::not_authorized("SRP_A is invalid."))?;
    Ok(a_public)
}

/// Keeps `pending` under a new `SECRET_BLOCK` and answers with its challenge `name`
/// (`PASSWORD_VERIFIER` or `DEVICE_PASSWORD_VERIFIER`): the salt and B.
fn open_exchange(
    cx: &Cx<'_>,
    name: ChallengeName,
    salt_hex: String,
    pending: SrpPending,
) -> OpResult {
    let secret_block = random_secret_block(256);
    let challenge = json!({
        "ChallengeName": name.as_str(),
        // Clients may echo it or not; the answer is matched by its SECRET_BLOCK either way.
        "Session": format!("AYABe{}", random_token(180)),
        "ChallengeParameters": {
            "SALT": salt_hex,
            "SECRET_BLOCK": secret_block,
            "SRP_B": pending.server.public_hex(),
            "USERNAME": pending.username,
            "USER_ID_FOR_SRP": pending.username,
        },
    });
    cx.shared.state.write().srp.insert(secret_block, pending);
    Ok(challenge)
}

/// Starts an SRP sign-in: `PASSWORD_VERIFIER` with the user's salt and B.
pub(super) fn start(start: Start<'_, '_>, ctx: SignInContext) -> OpResult {
    let Start { cx, pool_id, client_id, params } = start;
    let login = param(params, "USERNAME")?;
    let a_public = client_public(params)?;
    let (username, verifier, validity) = {
        let state = cx.shared.state.read();
        let resolved = resolve_user(&state, pool_id, client_id, login, params)?;
        let pool = state.pool(pool_id)?;
        let validity = pool.clients.get(client_id).map_or(180, |c| c.session_validity_secs());
        match resolved {
            Some(username) => {
                let user = pool
                    .users
                    .get(&pool.user_key(&username))
                    .ok_or_else(crate::state::user_not_found)?;
                let verifier = user.password.as_ref().and_then(password::srp_verifier);
                (Some(username), verifier, validity)
            }
            None => (None, None, validity),
        }
    };
    let device_key = match &username {
        Some(username) => {
            let state = cx.shared.state.read();
            known_device(&state, pool_id, username, params.get("DEVICE_KEY").cloned())?
        }
        None => None,
    };
    // A missing user (PreventUserExistenceErrors) or a user without a password gets a
    // simulated challenge that can never be answered correctly.
    let simulated = verifier.is_none();
    let verifier = verifier.unwrap_or_else(|| {
        auth_srp::Verifier::generate(auth_srp::pool_name(pool_id), login, &random_token(24))
    });
    let pending = SrpPending {
        pool_id: pool_id.to_owned(),
        client_id: client_id.to_owned(),
        username: username.unwrap_or_else(|| login.to_owned()),
        expires_at: cx.now() + validity,
        a_public,
        server: auth_srp::ServerEphemeral::new(verifier.verifier()),
        proves: if simulated { SrpProof::Simulated } else { SrpProof::Password },
        ctx: SignInContext { device_key, ..ctx },
    };
    open_exchange(cx, ChallengeName::PasswordVerifier, verifier.salt_hex(), pending)
}

/// Checks the claim of an SRP exchange (`PASSWORD_VERIFIER` or `DEVICE_PASSWORD_VERIFIER`,
/// `name`), then decides what follows.
pub(super) fn verify(
    cx: &Cx<'_>,
    client_id: &str,
    name: ChallengeName,
    responses: &HashMap<String, String>,
) -> OpResult {
    let block = param(responses, "PASSWORD_CLAIM_SECRET_BLOCK")?;
    let signature = param(responses, "PASSWORD_CLAIM_SIGNATURE")?;
    let timestamp = param(responses, "TIMESTAMP")?;
    let login = param(responses, "USERNAME")?;
    let pending = {
        let mut state = cx.shared.state.write();
        let pending = state.srp.remove(block).ok_or_else(|| {
            CognitoError::not_authorized("Invalid session for the user, session is expired.")
        })?;
        let device = matches!(pending.proves, SrpProof::Device { .. });
        if pending.client_id != client_id
            || device != (name == ChallengeName::DevicePasswordVerifier)
        {
            return Err(CognitoError::not_authorized("Invalid session for the user."));
        }
        if pending.expires_at <= cx.now() {
            return Err(CognitoError::not_authorized(
                "Invalid session for the user, session is expired.",
            ));
        }
        if pending.proves != SrpProof::Simulated {
            check_challenge_secret_hash(
                &state,
                &pending.pool_id,
                client_id,
                &pending.username,
                responses,
            )?;
            let pool = state.pool(&pending.pool_id)?;
            let same_user = pool.user(login).is_some_and(|u| u.username == pending.username);
            if !same_user {
                return Err(CognitoError::bad_credentials());
            }
            if pending.proves == SrpProof::Password {
                state.limits.check_sign_in(&pending.limit_key(), cx.now_millis())?;
            }
        }
        pending
    };
    if pending.proves == SrpProof::Simulated {
        return Err(CognitoError::bad_credentials());
    }
    let device = matches!(pending.proves, SrpProof::Device { .. });
    auth_srp::parse_timestamp(timestamp).map_err(|_| {
        CognitoError::invalid_parameter(
            "TIMESTAMP is not in the format `Tue Mar 5 07:04:09 UTC 2024`.",
        )
    })?;
    let secret_block = auth_srp::decode_base64_lenient("SECRET_BLOCK", block)
        .map_err(|_| CognitoError::not_authorized("Invalid PASSWORD_CLAIM_SECRET_BLOCK."))?;
    let key = pending
        .server
        .session_key(&pending.a_public)
        .map_err(|_| CognitoError::bad_credentials())?;
    let (realm, user_id) = match &pending.proves {
        SrpProof::Device { group_key, device_key } => (group_key.as_str(), device_key.as_str()),
        SrpProof::Password | SrpProof::Simulated => {
            (auth_srp::pool_name(&pending.pool_id), pending.username.as_str())
        }
    };
    if !key.verify_signature(realm, user_id, &secret_block, timestamp, signature) {
        if pending.proves == SrpProof::Password {
            cx.shared.state.write().limits.password_failed(&pending.limit_key(), cx.now_millis());
        }
        return Err(CognitoError::bad_credentials());
    }
    let next = {
        let mut state = cx.shared.state.write();
        if pending.proves == SrpProof::Password {
            state.limits.sign_in_succeeded(&pending.limit_key());
        }
        {
            let pool = state.pool(&pending.pool_id)?;
            let user = pool
                .users
                .get(&pool.user_key(&pending.username))
                .ok_or_else(crate::state::user_not_found)?;
            if !user.enabled {
                return Err(CognitoError::not_authorized("User is disabled."));
            }
        }
        let mut ctx = pending.ctx.clone();
        if device {
            ctx.pass(Passed::Device);
        } else {
            check_status_after_password(&state, &pending.pool_id, &pending.username, cx.now())?;
        }
        next_step(cx, &mut state, &pending.pool_id, client_id, &pending.username, ctx)?
    };
    finish(cx, next)
}

/// Answers `DEVICE_SRP_AUTH`: `DEVICE_PASSWORD_VERIFIER` with the device's salt and B.
pub(super) fn device_start(
    cx: &Cx<'_>,
    client_id: &str,
    session: Option<&str>,
    responses: &HashMap<String, String>,
) -> OpResult {
    let login = param(responses, "USERNAME")?;
    let device_key = param(responses, "DEVICE_KEY")?;
    let a_public = client_public(responses)?;
    let mut state = cx.shared.state.write();
    // Clients answer DEVICE_SRP_AUTH with or without the Session; find the pending challenge
    // either way.
    let session_id = match session.filter(|s| !s.is_empty()) {
        Some(id) => Some(id.to_owned()),
        None => state
            .sessions
            .iter()
            .find(|(_, s)| {
                s.client_id == client_id
                    && matches!(&s.pending, Pending::DeviceSrp { device_key: k } if k == device_key)
                    && state
                        .pools
                        .get(&s.pool_id)
                        .and_then(|p| p.user(login))
                        .is_some_and(|u| u.username == s.username)
            })
            .map(|(id, _)| id.clone()),
    };
    let pending = session_id
        .and_then(|id| state.sessions.remove(&id))
        .filter(|s| s.client_id == client_id && s.expires_at > cx.now())
        .ok_or_else(|| {
            CognitoError::not_authorized("Invalid session for the user, session is expired.")
        })?;
    if !matches!(&pending.pending, Pending::DeviceSrp { device_key: k } if k == device_key) {
        return Err(CognitoError::not_authorized("Invalid session for the user."));
    }
    check_challenge_secret_hash(&state, &pending.pool_id, client_id, &pending.username, responses)?;
    let pool = state.pool(&pending.pool_id)?;
    let user = pool
        .users
        .get(&pool.user_key(&pending.username))
        .ok_or_else(crate::state::user_not_found)?;
    let device = user
        .devices
        .get(device_key)
        .ok_or_else(|| CognitoError::resource_not_found("Device does not exist."))?;
    let (Some(salt), Some(verifier)) = (device.srp_salt.as_deref(), device.srp_verifier.as_deref())
    else {
        return Err(CognitoError::resource_not_found("Device does not exist."));
    };
    let salt_bytes = password::hex_to_bytes(salt).unwrap_or_default();
    let verifier = auth_srp::BigUint::parse_bytes(verifier.as_bytes(), 16).unwrap_or_default();
    let group_key = device.group_key.clone();
    let validity = pool.clients.get(client_id).map_or(180, |c| c.session_validity_secs());
    drop(state);

    let stored = auth_srp::Verifier::from_parts(salt_bytes, verifier);
    let srp = SrpPending {
        pool_id: pending.pool_id,
        client_id: client_id.to_owned(),
        username: pending.username,
        expires_at: cx.now() + validity,
        a_public,
        server: auth_srp::ServerEphemeral::new(stored.verifier()),
        proves: SrpProof::Device { group_key, device_key: device_key.to_owned() },
        ctx: pending.ctx,
    };
    open_exchange(cx, ChallengeName::DevicePasswordVerifier, stored.salt_hex(), srp)
}
