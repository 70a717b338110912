//! TOTP association and MFA preferences.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{token_owner, username_member};
use crate::cx::Cx;
use crate::limits::{CodeKind, UserKey, code_tag};
use crate::sign_in::ChallengeName;
use crate::state::{Pending, User};
use crate::wire::{CognitoError, OpResult};
use crate::wire::{empty, required};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MfaRequest {
    access_token: Option<String>,
    session: Option<String>,
    user_code: Option<String>,
    #[allow(dead_code, reason = "accepted; the mock names every TOTP device alike")]
    friendly_device_name: Option<String>,
    #[serde(rename = "SMSMfaSettings")]
    sms_mfa_settings: Option<MfaSetting>,
    software_token_mfa_settings: Option<MfaSetting>,
    email_mfa_settings: Option<MfaSetting>,
    user_pool_id: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MfaSetting {
    enabled: Option<bool>,
    preferred_mfa: Option<bool>,
}

fn session_user<'a>(
    state: &'a mut crate::state::State,
    session_id: &str,
    now: u64,
) -> OpResult<(crate::state::AuthSession, &'a mut User)> {
    let session = state
        .sessions
        .get(session_id)
        .filter(|s| s.expires_at > now && matches!(s.pending, Pending::MfaSetup { .. }))
        .cloned()
        .ok_or_else(|| {
            CognitoError::not_authorized("Invalid session for the user, session is expired.")
        })?;
    let pool = state.pool_mut(&session.pool_id)?;
    let key = pool.user_key(&session.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    Ok((session, user))
}

pub(crate) fn associate_software_token(cx: &Cx<'_>, request: MfaRequest) -> OpResult {
    let secret = crate::totp::new_secret();
    let now = cx.now();
    let mut state = cx.shared.state.write();
    if let Some(session_id) = request.session.as_deref().filter(|s| !s.is_empty()) {
        let (mut session, _) = session_user(&mut state, session_id, now)?;
        state.sessions.remove(session_id);
        session.pending = Pending::MfaSetup { secret: Some(secret.clone()), verified: false };
        let new_id = format!("AYABe{}", super::random_token(180));
        state.sessions.insert(new_id.clone(), session);
        return Ok(json!({ "SecretCode": secret, "Session": new_id }));
    }
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    let pool = state.pool_mut(&owner.pool_id)?;
    let key = pool.user_key(&owner.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    user.mfa.pending_totp_secret = Some(secret.clone());
    Ok(json!({ "SecretCode": secret }))
}

pub(crate) fn verify_software_token(cx: &Cx<'_>, request: MfaRequest) -> OpResult {
    let code = required(&request.user_code, "UserCode")?;
    let clock = cx.shared.clock.now();
    let now = cx.now();
    let mut state = cx.shared.state.write();
    if let Some(session_id) = request.session.as_deref().filter(|s| !s.is_empty()) {
        // A used-up budget is refused before the session's user is borrowed for the update.
        if let Some(session) = state.sessions.get(session_id) {
            if let Pending::MfaSetup { secret: Some(secret), .. } = &session.pending {
                let limit_key = UserKey::new(&session.pool_id, &session.username);
                let tag = code_tag(secret, 0);
                state.limits.check_code(
                    &limit_key,
                    CodeKind::SoftwareToken,
                    tag,
                    cx.now_millis(),
                )?;
            }
        }
        let (mut session, user) = session_user(&mut state, session_id, now)?;
        let Pending::MfaSetup { secret: Some(secret), .. } = session.pending.clone() else {
            return Err(CognitoError::invalid_parameter(
                "Call AssociateSoftwareToken with this session first.",
            ));
        };
        if !crate::totp::verify(&secret, code, clock) {
            // Counted per user (the secret is the code); the session stays usable until the
            // budget is used up.
            let limit_key = UserKey::new(&session.pool_id, &session.username);
            let tag = code_tag(&secret, 0);
            return Err(software_token_mismatch(&mut state, &limit_key, tag, cx.now_millis()));
        }
        user.mfa.totp_secret = Some(secret.clone());
        user.mfa.pending_totp_secret = None;
        user.mfa.totp = true;
        user.mfa.preferred = Some(ChallengeName::SoftwareTokenMfa.as_str().into());
        state.sessions.remove(session_id);
        session.pending = Pending::MfaSetup { secret: Some(secret), verified: true };
        let new_id = format!("AYABe{}", super::random_token(180));
        state.sessions.insert(new_id.clone(), session);
        return Ok(json!({ "Status": "SUCCESS", "Session": new_id }));
    }
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    let pool = state.pool_mut(&owner.pool_id)?;
    let key = pool.user_key(&owner.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    let Some(secret) = user.mfa.pending_totp_secret.clone() else {
        return Err(CognitoError::invalid_parameter("Call AssociateSoftwareToken first."));
    };
    let limit_key = UserKey::new(&owner.pool_id, &owner.username);
    let tag = code_tag(&secret, 0);
    state.limits.check_code(&limit_key, CodeKind::SoftwareToken, tag, cx.now_millis())?;
    if !crate::totp::verify(&secret, code, clock) {
        return Err(software_token_mismatch(&mut state, &limit_key, tag, cx.now_millis()));
    }
    state.limits.code_reset(&limit_key, CodeKind::SoftwareToken);
    let pool = state.pool_mut(&owner.pool_id)?;
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    user.mfa.totp_secret = Some(secret);
    user.mfa.pending_totp_secret = None;
    Ok(json!({ "Status": "SUCCESS" }))
}

/// Counts a wrong VerifySoftwareToken code; the answer is Cognito's mismatch error.
fn software_token_mismatch(
    state: &mut crate::state::State,
    user: &UserKey,
    tag: u64,
    now_millis: u64,
) -> CognitoError {
    state.limits.code_failed(user, CodeKind::SoftwareToken, tag, now_millis);
    CognitoError::enable_software_token_mfa("Code mismatch")
}

fn apply_preferences(user: &mut User, request: &MfaRequest) -> OpResult<()> {
    let settings = [
        (ChallengeName::SmsMfa, request.sms_mfa_settings),
        (ChallengeName::SoftwareTokenMfa, request.software_token_mfa_settings),
        (ChallengeName::EmailOtp, request.email_mfa_settings),
    ];
    // A settings object that is present specifies the method completely: SDKs leave out
    // members that are false, so a missing `Enabled`/`PreferredMfa` means false.
    for (kind, setting) in settings {
        let Some(setting) = setting else { continue };
        let enabled = setting.enabled.unwrap_or(false);
        match kind {
            ChallengeName::SmsMfa => {
                if enabled && user.attribute("phone_number").is_none() {
                    return Err(CognitoError::invalid_parameter(
                        "User does not have a phone number.",
                    ));
                }
                user.mfa.sms = enabled;
            }
            ChallengeName::SoftwareTokenMfa => {
                if enabled && user.mfa.totp_secret.is_none() {
                    return Err(CognitoError::invalid_parameter(
                        "User has not verified software token mfa",
                    ));
                }
                user.mfa.totp = enabled;
            }
            _ => {
                // EMAIL_OTP
                if enabled && user.attribute("email").is_none() {
                    return Err(CognitoError::invalid_parameter(
                        "User does not have an email address.",
                    ));
                }
                user.mfa.email = enabled;
            }
        }
        if enabled && setting.preferred_mfa == Some(true) {
            user.mfa.preferred = Some(kind.as_str().to_owned());
        } else if user.mfa.preferred.as_deref() == Some(kind.as_str()) {
            user.mfa.preferred = None;
        }
    }
    Ok(())
}

pub(crate) fn set_user_mfa_preference(cx: &Cx<'_>, request: MfaRequest) -> OpResult {
    let mut state = cx.shared.state.write();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    let pool = state.pool_mut(&owner.pool_id)?;
    let key = pool.user_key(&owner.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    apply_preferences(user, &request)?;
    empty()
}

pub(crate) fn admin_set_user_mfa_preference(cx: &Cx<'_>, request: MfaRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let login = username_member(&request.username, "Username")?;
    let mut state = cx.shared.state.write();
    let user = state.pool_mut(pool_id)?.user_mut(login).ok_or_else(crate::state::user_not_found)?;
    apply_preferences(user, &request)?;
    empty()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PoolMfaRequest {
    user_pool_id: Option<String>,
    mfa_configuration: Option<String>,
    sms_mfa_configuration: Option<Value>,
    software_token_mfa_configuration: Option<Value>,
    email_mfa_configuration: Option<Value>,
}

fn pool_mfa_config(pool: &crate::state::Pool) -> Value {
    let mut out = json!({
        "MfaConfiguration": pool.mfa_configuration(),
        "SoftwareTokenMfaConfiguration": pool
            .settings
            .get("SoftwareTokenMfaConfiguration")
            .cloned()
            .unwrap_or_else(|| json!({ "Enabled": pool.mfa_configuration() != "OFF" })),
    });
    for field in ["SmsMfaConfiguration", "EmailMfaConfiguration"] {
        if let Some(value) = pool.settings.get(field) {
            out[field] = value.clone();
        }
    }
    out
}

pub(crate) fn get_user_pool_mfa_config(cx: &Cx<'_>, request: PoolMfaRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let state = cx.shared.state.read();
    Ok(pool_mfa_config(state.pool(pool_id)?))
}

pub(crate) fn set_user_pool_mfa_config(cx: &Cx<'_>, request: PoolMfaRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    if let Some(mode) = request.mfa_configuration.as_deref() {
        if !["OFF", "ON", "OPTIONAL"].contains(&mode) {
            return Err(CognitoError::invalid_parameter(
                "MfaConfiguration must be OFF, ON or OPTIONAL.",
            ));
        }
    }
    let mut state = cx.shared.state.write();
    let pool = state.pool_mut(pool_id)?;
    if let Some(mode) = request.mfa_configuration {
        pool.settings.insert("MfaConfiguration".into(), json!(mode));
    }
    for (field, value) in [
        ("SmsMfaConfiguration", request.sms_mfa_configuration),
        ("SoftwareTokenMfaConfiguration", request.software_token_mfa_configuration),
        ("EmailMfaConfiguration", request.email_mfa_configuration),
    ] {
        if let Some(value) = value {
            if !value.is_object() {
                return Err(CognitoError::serialization(format!("{field} must be an object.")));
            }
            pool.settings.insert(field.into(), value);
        }
    }
    Ok(pool_mfa_config(pool))
}
