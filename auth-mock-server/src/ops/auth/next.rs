//! What follows a proved factor or an answered challenge: a new password, a custom
//! challenge, device SRP, MFA (and the codes it sends), or tokens.

use serde_json::{Value, json};

use super::custom::CustomStep;
use super::{Next, challenge, new_session};
use crate::cx::Cx;
use crate::ops::tokens::{RefreshMode, TokenGrant};
use crate::ops::{deliver_code, mask, new_code};
use crate::sign_in::{AuthFlow, ChallengeName};
use crate::state::{ChallengeResult, Passed, Pending, SignInContext, State, UserStatus};
use crate::triggers::{self, Trigger};
use crate::wire::{CognitoError, OpResult};

/// Decides what follows a proven password (or a answered challenge): a new password,
/// a custom challenge, device SRP, MFA, or tokens.
pub(super) fn next_step(
    cx: &Cx<'_>,
    state: &mut State,
    pool_id: &str,
    client_id: &str,
    username: &str,
    ctx: SignInContext,
) -> OpResult<Next> {
    let pool = state.pool(pool_id)?;
    let user = pool.users.get(&pool.user_key(username)).ok_or_else(crate::state::user_not_found)?;
    let internal = user.username.clone();
    // Opens a session holding `pending` and asks its challenge.
    let ask = |state: &mut State, pending: Pending, ctx, params| {
        let name = pending.challenge();
        let session = new_session(cx, state, pool_id, client_id, &internal, pending, ctx);
        challenge(name, &session, params)
    };

    if user.status == UserStatus::ForceChangePassword {
        let mut attributes = serde_json::Map::new();
        for (name, value) in &user.attributes {
            if name != "sub" {
                attributes.insert(name.clone(), json!(value));
            }
        }
        let required: Vec<String> = crate::ops::users::required_attributes(pool)
            .into_iter()
            .filter(|name| user.attribute(name).is_none())
            .map(|name| format!("userAttributes.{name}"))
            .collect();
        let params = json!({
            "USER_ID_FOR_SRP": internal,
            "requiredAttributes": Value::from(required.clone()).to_string(),
            "userAttributes": Value::Object(attributes).to_string(),
        });
        return Ok(ask(state, Pending::NewPassword, ctx, params));
    }

    let custom = ctx.flow == AuthFlow::Custom;
    if custom && !ctx.has_passed(Passed::Custom) {
        if triggers::arn(pool, Trigger::DefineAuthChallenge).is_some() {
            let mut ctx = ctx;
            if ctx.srp() && ctx.custom_history.is_empty() {
                // CUSTOM_AUTH that began with SRP_A: the password was proved first.
                // (`SRP_A` names the first step in DefineAuthChallenge's session only.)
                for name in ["SRP_A", ChallengeName::PasswordVerifier.as_str()] {
                    ctx.custom_history.push(ChallengeResult { name, result: true, metadata: None });
                }
            }
            return Ok(Next::Custom(CustomStep {
                pool_id: pool_id.to_owned(),
                client_id: client_id.to_owned(),
                username: internal.clone(),
                ctx,
            }));
        }
        let Some(custom) = user.custom_auth.clone() else {
            return Err(CognitoError::invalid_parameter(
                "Custom auth lambda trigger is not configured for the user pool. (auth-mock-server: set a custom-auth answer for the user through the test-control API.)",
            ));
        };
        let mut params = serde_json::Map::new();
        for (k, v) in custom.parameters {
            params.insert(k, json!(v));
        }
        params.insert("USERNAME".into(), json!(internal));
        return Ok(ask(state, Pending::Custom { attempts: 0 }, ctx, Value::Object(params)));
    }

    let device = ctx.device_key.as_ref().and_then(|key| user.devices.get(key));
    let device_confirmed = device.is_some_and(|d| d.srp_verifier.is_some());
    let device_verified = ctx.has_passed(Passed::Device);
    if ctx.srp() && !ctx.admin() && device_confirmed && !device_verified {
        let device_key = ctx.device_key.clone().unwrap_or_default();
        let params = json!({ "USERNAME": internal });
        return Ok(ask(state, Pending::DeviceSrp { device_key }, ctx, params));
    }

    let remembered_device = device_verified
        && device.is_some_and(|d| {
            d.remembered || pool.device_tracking().is_some_and(|(_, on_prompt)| !on_prompt)
        });
    let mfa = pool.mfa_configuration().to_owned();
    if !ctx.has_passed(Passed::Mfa) && !custom && !remembered_device && mfa != "OFF" {
        let mut options: Vec<ChallengeName> = Vec::new();
        if user.mfa.sms && user.attribute("phone_number").is_some() {
            options.push(ChallengeName::SmsMfa);
        }
        if user.mfa.totp && user.mfa.totp_secret.is_some() {
            options.push(ChallengeName::SoftwareTokenMfa);
        }
        if user.mfa.email && user.attribute("email").is_some() {
            options.push(ChallengeName::EmailOtp);
        }
        let preferred = user
            .mfa
            .preferred
            .as_deref()
            .and_then(|p| options.iter().copied().find(|o| o.as_str() == p));
        if options.is_empty() && mfa == "ON" {
            let params = json!({
                "MFAS_CAN_SETUP": json!([ChallengeName::SoftwareTokenMfa.as_str()]).to_string(),
                "USER_ID_FOR_SRP": internal,
            });
            let pending = Pending::MfaSetup { secret: None, verified: false };
            return Ok(ask(state, pending, ctx, params));
        }
        if let Some(only) = preferred.or_else(|| (options.len() == 1).then(|| options[0])) {
            return issue_mfa_challenge(cx, state, pool_id, client_id, &internal, only, ctx);
        }
        if options.len() > 1 {
            let params = json!({
                "MFAS_CAN_CHOOSE": json!(names(&options)).to_string(),
                "USER_ID_FOR_SRP": internal,
            });
            return Ok(ask(state, Pending::SelectMfa { options }, ctx, params));
        }
    }

    let track_new_device =
        ctx.srp() && !ctx.admin() && ctx.device_key.is_none() && pool.device_tracking().is_some();
    if let Some(key) = &ctx.device_key {
        let now = cx.now_f64();
        if let Some(device) = state
            .pools
            .get_mut(pool_id)
            .and_then(|p| {
                let key_of_user = p.user_key(&internal);
                p.users.get_mut(&key_of_user)
            })
            .and_then(|u| u.devices.get_mut(key))
        {
            device.last_authenticated = now;
        }
    }
    Ok(Next::Tokens(TokenGrant {
        pool_id: pool_id.to_owned(),
        client_id: client_id.to_owned(),
        username: internal,
        auth_time: Some(ctx.started),
        device_key: ctx.device_key.clone(),
        new_device: track_new_device,
        refresh: RefreshMode::New,
        source: if device_verified {
            "TokenGeneration_AuthenticateDevice"
        } else {
            "TokenGeneration_Authentication"
        },
    }))
}

/// A sign-in code sent by SMS or email: what the challenge tells the client, and the code
/// the answer must match.
pub(super) struct SentCode {
    pub(super) code: String,
    /// `CODE_DELIVERY_DELIVERY_MEDIUM`: `SMS` or `EMAIL`.
    pub(super) medium: &'static str,
    /// `CODE_DELIVERY_DESTINATION`, masked.
    pub(super) destination: String,
    /// The user's internal username (`USER_ID_FOR_SRP`).
    pub(super) username: String,
    /// When the code stops being accepted.
    pub(super) expires_at: u64,
}

/// Ends a code challenge's session when its code expires, if that comes first: a longer
/// `AuthSessionValidity` must not stretch a code's lifetime.
pub(super) fn expire_with_code(state: &mut State, session: &str, code_expires_at: u64) {
    if let Some(pending) = state.sessions.get_mut(session) {
        pending.expires_at = pending.expires_at.min(code_expires_at);
    }
}

/// "Sends" a sign-in code for `purpose` (readable through the test-control API) to the
/// user's phone (`sms`) or email.
pub(super) fn send_sign_in_code(
    state: &mut State,
    pool_id: &str,
    username: &str,
    purpose: &str,
    expires_at: u64,
    sms: bool,
) -> OpResult<SentCode> {
    let pool = state.pool_mut(pool_id)?;
    let key = pool.user_key(username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    let (medium, attribute) = if sms { ("SMS", "phone_number") } else { ("EMAIL", "email") };
    let code = new_code();
    deliver_code(user, purpose, &code, expires_at, attribute);
    let destination = mask(user.attribute(attribute).unwrap_or_default());
    Ok(SentCode { code, medium, destination, username: user.username.clone(), expires_at })
}

/// Issues the MFA challenge `kind` (`SMS_MFA`, `EMAIL_OTP` or `SOFTWARE_TOKEN_MFA`),
/// sending its code.
pub(super) fn issue_mfa_challenge(
    cx: &Cx<'_>,
    state: &mut State,
    pool_id: &str,
    client_id: &str,
    username: &str,
    kind: ChallengeName,
    ctx: SignInContext,
) -> OpResult<Next> {
    let mut code_expires_at = None;
    let (pending, params) = match kind {
        ChallengeName::SmsMfa | ChallengeName::EmailOtp => {
            let expires_at = cx.now() + 180;
            let sms = kind == ChallengeName::SmsMfa;
            let sent = send_sign_in_code(state, pool_id, username, "mfa", expires_at, sms)?;
            code_expires_at = Some(sent.expires_at);
            (
                Pending::Code { challenge: kind, code: sent.code },
                code_parameters(sent.medium, &sent.destination, username),
            )
        }
        _ => (
            Pending::Totp,
            json!({ "USER_ID_FOR_SRP": username, "FRIENDLY_DEVICE_NAME": "TOTP device" }),
        ),
    };
    let session = new_session(cx, state, pool_id, client_id, username, pending, ctx);
    if let Some(expires_at) = code_expires_at {
        expire_with_code(state, &session, expires_at);
    }
    Ok(challenge(kind, &session, params))
}

/// The parameters of a challenge answered with a sent code: where it went, and whose it is.
pub(super) fn code_parameters(medium: &str, destination: &str, username: &str) -> Value {
    json!({
        "CODE_DELIVERY_DELIVERY_MEDIUM": medium,
        "CODE_DELIVERY_DESTINATION": destination,
        "USER_ID_FOR_SRP": username,
    })
}

/// The wire names of `challenges`.
pub(super) fn names(challenges: &[ChallengeName]) -> Vec<&'static str> {
    challenges.iter().map(|c| c.as_str()).collect()
}
