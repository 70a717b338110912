//! Choice-based sign-in (`AuthFlow: USER_AUTH`): the first factor is the password (sent as
//! is, or proved with SRP) or a one-time code sent by email or SMS. The client names it up
//! front with `PREFERRED_CHALLENGE`, or picks one of the `AvailableChallenges` of a
//! `SELECT_CHALLENGE`.
//!
//! After a password the user's MFA follows as in the other flows; a one-time code is itself
//! proof of a second channel, so no MFA follows it. Devices are tracked only after
//! `PASSWORD_SRP`, as devices are remembered only through SRP sign-in.

use std::collections::HashMap;

use serde_json::json;

use super::next::{code_parameters, expire_with_code, names, send_sign_in_code};
use super::start::{known_device, resolve_user};
use super::{Next, Start, challenge, finish, new_session, param, srp, start};
use crate::cx::Cx;
use crate::ops::mask;
use crate::sign_in::ChallengeName;
use crate::state::{AuthSession, FirstFactor, Pending, Pool, SignInContext, State, User};
use crate::wire::{CognitoError, OpResult};

/// The values `PREFERRED_CHALLENGE` and the `SELECT_CHALLENGE` `ANSWER` take.
const CHOICES: &[ChallengeName] = &[
    ChallengeName::Password,
    ChallengeName::PasswordSrp,
    ChallengeName::EmailOtp,
    ChallengeName::SmsOtp,
    ChallengeName::WebAuthn,
];

/// Wrong answers a first-factor code challenge takes; the last one ends the session.
pub(super) const CODE_ATTEMPTS: u32 = 3;

/// Seconds a first-factor code stays valid (like MFA codes; the session usually ends first).
const CODE_LIFETIME: u64 = 180;

fn choice(value: &str) -> OpResult<ChallengeName> {
    CHOICES.iter().copied().find(|c| c.as_str() == value).ok_or_else(|| {
        CognitoError::invalid_parameter(format!(
            "Invalid challenge {value}: expected one of PASSWORD, PASSWORD_SRP, EMAIL_OTP, SMS_OTP, WEB_AUTHN."
        ))
    })
}

/// The parameter that carries a password factor's proof: `PASSWORD` or `SRP_A`.
fn input_of(factor: ChallengeName) -> Option<&'static str> {
    match factor {
        ChallengeName::Password => Some("PASSWORD"),
        ChallengeName::PasswordSrp => Some("SRP_A"),
        _ => None,
    }
}

fn web_authn_unsupported() -> CognitoError {
    CognitoError::invalid_parameter(
        "WEB_AUTHN (passkey) sign-in is not supported by auth-mock-server.",
    )
}

/// The first factors open to a user: what the pool allows and the user can receive.
/// A missing user (`None`, PreventUserExistenceErrors) is offered everything the pool
/// allows, so the answer does not reveal that it does not exist.
fn available(pool: &Pool, user: Option<&User>) -> Vec<ChallengeName> {
    let allowed = pool.first_auth_factors();
    let allows = |factor: ChallengeName| allowed.iter().any(|a| a == factor.as_str());
    let verified = |attribute: &str| {
        user.is_none_or(|u| {
            u.attribute(attribute).is_some()
                && u.attribute_is_true(&format!("{attribute}_verified"))
        })
    };
    let mut options = Vec::new();
    if allows(ChallengeName::Password) && user.is_none_or(|u| u.password.is_some()) {
        options.extend([ChallengeName::Password, ChallengeName::PasswordSrp]);
    }
    if allows(ChallengeName::EmailOtp) && verified("email") {
        options.push(ChallengeName::EmailOtp);
    }
    if allows(ChallengeName::SmsOtp) && verified("phone_number") {
        options.push(ChallengeName::SmsOtp);
    }
    options
}

/// InitiateAuth / AdminInitiateAuth with `USER_AUTH`.
pub(super) fn start(start: Start<'_, '_>, ctx: SignInContext) -> OpResult {
    let Start { cx, pool_id, client_id, params } = start;
    let login = param(params, "USERNAME")?;
    let preferred = match params.get("PREFERRED_CHALLENGE").filter(|v| !v.is_empty()) {
        Some(value) => Some(choice(value)?),
        None => None,
    };
    if preferred == Some(ChallengeName::WebAuthn) {
        return Err(web_authn_unsupported());
    }
    let (username, options, device_key) = {
        let state = cx.shared.state.read();
        let username = resolve_user(&state, pool_id, client_id, login, params)?;
        let device_key = match &username {
            Some(name) => known_device(&state, pool_id, name, params.get("DEVICE_KEY").cloned())?,
            None => None,
        };
        let pool = state.pool(pool_id)?;
        let user = username.as_ref().and_then(|name| pool.users.get(&pool.user_key(name)));
        (username, available(pool, user), device_key)
    };
    let ctx = SignInContext { device_key, ..ctx };
    if let Some(preferred) = preferred.filter(|p| options.contains(p)) {
        return begin(start, username.as_deref(), login, preferred, ctx);
    }
    if options.is_empty() {
        return Err(CognitoError::not_authorized(
            "The user has no sign-in method that the user pool allows as a first factor.",
        ));
    }
    // No preference, or one this user cannot use: let the client choose.
    let simulated = username.is_none();
    let internal = username.unwrap_or_else(|| login.to_owned());
    let pending = Pending::SelectChallenge { options: options.clone(), simulated };
    let session = {
        let mut state = cx.shared.state.write();
        new_session(cx, &mut state, pool_id, client_id, &internal, pending, ctx)
    };
    Ok(json!({
        "ChallengeName": ChallengeName::SelectChallenge.as_str(),
        "Session": session,
        "ChallengeParameters": {},
        "AvailableChallenges": names(&options),
    }))
}

/// Starts the first factor `factor` (known to be open to the user). `params` holds the
/// factor's inputs: `PASSWORD` or `SRP_A`, with `USERNAME`, `SECRET_HASH` and `DEVICE_KEY`.
fn begin(
    start: Start<'_, '_>,
    username: Option<&str>,
    login: &str,
    factor: ChallengeName,
    ctx: SignInContext,
) -> OpResult {
    let Start { cx, pool_id, client_id, params } = start;
    match factor {
        // Without the password (or SRP_A) the factor itself is the challenge, answered by
        // RespondToAuthChallenge with that challenge name.
        ChallengeName::Password | ChallengeName::PasswordSrp
            if !params.contains_key(input_of(factor).unwrap_or_default()) =>
        {
            let internal = username.unwrap_or(login);
            let pending =
                Pending::SelectChallenge { options: vec![factor], simulated: username.is_none() };
            let session = {
                let mut state = cx.shared.state.write();
                new_session(cx, &mut state, pool_id, client_id, internal, pending, ctx)
            };
            Ok(json!({
                "ChallengeName": factor.as_str(),
                "Session": session,
                "ChallengeParameters": {},
            }))
        }
        ChallengeName::Password => start::password(start, ctx.proved_by(FirstFactor::Password)),
        ChallengeName::PasswordSrp => srp::start(start, ctx.proved_by(FirstFactor::Srp)),
        _ => {
            let ctx = ctx.proved_by(FirstFactor::Code);
            let next = {
                let mut state = cx.shared.state.write();
                match username {
                    Some(username) => {
                        send_code(cx, &mut state, pool_id, client_id, username, factor, ctx)?
                    }
                    None => simulated_code(cx, &mut state, pool_id, client_id, login, factor, ctx),
                }
            };
            finish(cx, next)
        }
    }
}

/// Sends a first-factor code (`EMAIL_OTP` or `SMS_OTP`) and issues its challenge.
fn send_code(
    cx: &Cx<'_>,
    state: &mut State,
    pool_id: &str,
    client_id: &str,
    username: &str,
    kind: ChallengeName,
    ctx: SignInContext,
) -> OpResult<Next> {
    let expires_at = cx.now() + CODE_LIFETIME;
    let sms = kind == ChallengeName::SmsOtp;
    let sent = send_sign_in_code(state, pool_id, username, "otp", expires_at, sms)?;
    let pending = Pending::FirstFactorCode { challenge: kind, code: Some(sent.code), attempts: 0 };
    let session = new_session(cx, state, pool_id, client_id, &sent.username, pending, ctx);
    expire_with_code(state, &session, sent.expires_at);
    Ok(code_challenge(kind, &session, sent.medium, &sent.destination, &sent.username))
}

/// A code challenge for a user that does not exist: nothing is sent and no answer passes.
fn simulated_code(
    cx: &Cx<'_>,
    state: &mut State,
    pool_id: &str,
    client_id: &str,
    login: &str,
    kind: ChallengeName,
    ctx: SignInContext,
) -> Next {
    let medium = if kind == ChallengeName::SmsOtp { "SMS" } else { "EMAIL" };
    let destination = match (medium, login.contains('@'), login.starts_with('+')) {
        ("EMAIL", true, _) | ("SMS", _, true) => mask(login),
        ("EMAIL", _, _) => "a***@e***".to_owned(),
        _ => "+*******0000".to_owned(),
    };
    let pending = Pending::FirstFactorCode { challenge: kind, code: None, attempts: 0 };
    let session = new_session(cx, state, pool_id, client_id, login, pending, ctx);
    code_challenge(kind, &session, medium, &destination, login)
}

fn code_challenge(
    kind: ChallengeName,
    session: &str,
    medium: &str,
    destination: &str,
    user: &str,
) -> Next {
    challenge(kind, session, code_parameters(medium, destination, user))
}

/// Answers `SELECT_CHALLENGE` (`ANSWER` names the factor) or a `PASSWORD` / `PASSWORD_SRP`
/// challenge (the name is the factor). The session was taken out of the state and checked
/// (client, expiry, user); it goes back for another try when the answer is malformed.
pub(super) fn answer(
    cx: &Cx<'_>,
    client_id: &str,
    name: ChallengeName,
    session_id: &str,
    session: AuthSession,
    responses: &HashMap<String, String>,
) -> OpResult {
    let Pending::SelectChallenge { options, simulated } = session.pending.clone() else {
        return Err(CognitoError::invalid_parameter("The session does not expect a first factor."));
    };
    let retry = |error: CognitoError| {
        cx.shared.state.write().sessions.insert(session_id.to_owned(), session.clone());
        Err(error)
    };
    let factor = if name == ChallengeName::SelectChallenge {
        match param(responses, "ANSWER").and_then(choice) {
            Ok(factor) => factor,
            Err(error) => return retry(error),
        }
    } else {
        match choice(name.as_str()) {
            Ok(factor) => factor,
            Err(error) => return retry(error),
        }
    };
    if factor == ChallengeName::WebAuthn {
        return retry(web_authn_unsupported());
    }
    if !options.contains(&factor) {
        return retry(CognitoError::invalid_parameter(format!(
            "The challenge {factor} is not available: expected one of {}.",
            names(&options).join(", ")
        )));
    }
    if let Some(needed) = input_of(factor) {
        if let Err(error) = param(responses, needed) {
            return retry(error);
        }
    }
    let mut params = responses.clone();
    params.remove("ANSWER");
    // The chosen factor continues the sign-in of the session's user, whatever name the
    // answer gave.
    params.insert("USERNAME".to_owned(), session.username.clone());
    if let Some(device_key) = &session.ctx.device_key {
        params.entry("DEVICE_KEY".to_owned()).or_insert_with(|| device_key.clone());
    }
    if simulated && factor == ChallengeName::Password {
        return Err(CognitoError::bad_credentials());
    }
    let username = (!simulated).then_some(session.username.as_str());
    let start = Start { cx, pool_id: &session.pool_id, client_id, params: &params };
    begin(start, username, &session.username, factor, session.ctx.clone())
}

#[cfg(test)]
mod tests {
    use super::choice;
    use crate::sign_in::ChallengeName;

    #[test]
    fn only_the_five_first_factors_are_choices() {
        assert_eq!(choice("EMAIL_OTP").ok(), Some(ChallengeName::EmailOtp));
        assert!(choice("SOFTWARE_TOKEN_MFA").is_err());
        assert!(choice("password").is_err());
    }
}
