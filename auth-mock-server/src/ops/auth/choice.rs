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

use super::{
    Next, expire_with_code, finish, known_device, new_session, param, password_auth, resolve_user,
    send_sign_in_code, srp_start,
};
use crate::cx::Cx;
use crate::ops::mask;
use crate::state::{AuthSession, Pending, Pool, SignInContext, State, User};
use crate::wire::{CognitoError, OpResult};

/// The values `PREFERRED_CHALLENGE` and the `SELECT_CHALLENGE` `ANSWER` take.
const CHOICES: &[&str] = &["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"];

/// Wrong answers a first-factor code challenge takes; the last one ends the session.
pub(super) const CODE_ATTEMPTS: u32 = 3;

/// Seconds a first-factor code stays valid (like MFA codes; the session usually ends first).
const CODE_LIFETIME: u64 = 180;

fn choice(value: &str) -> OpResult<&'static str> {
    CHOICES.iter().copied().find(|c| *c == value).ok_or_else(|| {
        CognitoError::invalid_parameter(format!(
            "Invalid challenge {value}: expected one of PASSWORD, PASSWORD_SRP, EMAIL_OTP, SMS_OTP, WEB_AUTHN."
        ))
    })
}

fn web_authn_unsupported() -> CognitoError {
    CognitoError::invalid_parameter(
        "WEB_AUTHN (passkey) sign-in is not supported by auth-mock-server.",
    )
}

/// The first factors open to a user: what the pool allows and the user can receive.
/// A missing user (`None`, PreventUserExistenceErrors) is offered everything the pool
/// allows, so the answer does not reveal that it does not exist.
fn available(pool: &Pool, user: Option<&User>) -> Vec<&'static str> {
    let allowed = pool.first_auth_factors();
    let allows = |factor: &str| allowed.iter().any(|a| a == factor);
    let verified = |attribute: &str| {
        user.is_none_or(|u| {
            u.attribute(attribute).is_some()
                && u.attribute_is_true(&format!("{attribute}_verified"))
        })
    };
    let mut options = Vec::new();
    if allows("PASSWORD") && user.is_none_or(|u| u.password.is_some()) {
        options.extend(["PASSWORD", "PASSWORD_SRP"]);
    }
    if allows("EMAIL_OTP") && verified("email") {
        options.push("EMAIL_OTP");
    }
    if allows("SMS_OTP") && verified("phone_number") {
        options.push("SMS_OTP");
    }
    options
}

/// InitiateAuth / AdminInitiateAuth with `USER_AUTH`.
pub(super) fn start(
    cx: &Cx<'_>,
    pool_id: &str,
    client_id: &str,
    params: &HashMap<String, String>,
    ctx: SignInContext,
) -> OpResult {
    let login = param(params, "USERNAME")?;
    let preferred = match params.get("PREFERRED_CHALLENGE").filter(|v| !v.is_empty()) {
        Some(value) => Some(choice(value)?),
        None => None,
    };
    if preferred == Some("WEB_AUTHN") {
        return Err(web_authn_unsupported());
    }
    let (username, options, device_key) = {
        let state = cx.shared.state.read();
        let username = resolve_user(
            &state,
            pool_id,
            client_id,
            login,
            params.get("SECRET_HASH").map(String::as_str),
        )?;
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
        return begin(cx, pool_id, client_id, params, username.as_deref(), login, preferred, ctx);
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
        "ChallengeName": "SELECT_CHALLENGE",
        "Session": session,
        "ChallengeParameters": {},
        "AvailableChallenges": options,
    }))
}

/// Starts the first factor `factor` (known to be open to the user). `params` holds the
/// factor's inputs: `PASSWORD` or `SRP_A`, with `USERNAME`, `SECRET_HASH` and `DEVICE_KEY`.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site per entry point; a struct adds nothing"
)]
fn begin(
    cx: &Cx<'_>,
    pool_id: &str,
    client_id: &str,
    params: &HashMap<String, String>,
    username: Option<&str>,
    login: &str,
    factor: &'static str,
    ctx: SignInContext,
) -> OpResult {
    match factor {
        // Without the password (or SRP_A) the factor itself is the challenge, answered by
        // RespondToAuthChallenge with that challenge name.
        "PASSWORD" | "PASSWORD_SRP"
            if !params.contains_key(if factor == "PASSWORD" { "PASSWORD" } else { "SRP_A" }) =>
        {
            let internal = username.unwrap_or(login);
            let pending =
                Pending::SelectChallenge { options: vec![factor], simulated: username.is_none() };
            let session = {
                let mut state = cx.shared.state.write();
                new_session(cx, &mut state, pool_id, client_id, internal, pending, ctx)
            };
            Ok(json!({
                "ChallengeName": factor,
                "Session": session,
                "ChallengeParameters": {},
            }))
        }
        "PASSWORD" => password_auth(cx, pool_id, client_id, params, ctx),
        "PASSWORD_SRP" => {
            srp_start(cx, pool_id, client_id, params, SignInContext { srp: true, ..ctx })
        }
        _ => {
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
    kind: &'static str,
    ctx: SignInContext,
) -> OpResult<Next> {
    let expires_at = cx.now() + CODE_LIFETIME;
    let sent = send_sign_in_code(state, pool_id, username, "otp", expires_at, kind == "SMS_OTP")?;
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
    kind: &'static str,
    ctx: SignInContext,
) -> Next {
    let medium = if kind == "SMS_OTP" { "SMS" } else { "EMAIL" };
    let destination = match (medium, login.contains('@'), login.starts_with('+')) {
        ("EMAIL", true, _) | ("SMS", _, true) => mask(login),
        ("EMAIL", _, _) => "a***@e***".to_owned(),
        _ => "+*******0000".to_owned(),
    };
    let pending = Pending::FirstFactorCode { challenge: kind, code: None, attempts: 0 };
    let session = new_session(cx, state, pool_id, client_id, login, pending, ctx);
    code_challenge(kind, &session, medium, &destination, login)
}

fn code_challenge(kind: &str, session: &str, medium: &str, destination: &str, user: &str) -> Next {
    Next::Challenge(json!({
        "ChallengeName": kind,
        "Session": session,
        "ChallengeParameters": {
            "CODE_DELIVERY_DELIVERY_MEDIUM": medium,
            "CODE_DELIVERY_DESTINATION": destination,
            "USER_ID_FOR_SRP": user,
        },
    }))
}

/// Answers `SELECT_CHALLENGE` (`ANSWER` names the factor) or a `PASSWORD` / `PASSWORD_SRP`
/// challenge (the name is the factor). The session was taken out of the state and checked
/// (client, expiry, user); it goes back for another try when the answer is malformed.
pub(super) fn answer(
    cx: &Cx<'_>,
    client_id: &str,
    name: &str,
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
    let factor = if name == "SELECT_CHALLENGE" {
        match param(responses, "ANSWER").and_then(choice) {
            Ok(factor) => factor,
            Err(error) => return retry(error),
        }
    } else {
        match choice(name) {
            Ok(factor) => factor,
            Err(error) => return retry(error),
        }
    };
    if factor == "WEB_AUTHN" {
        return retry(web_authn_unsupported());
    }
    if !options.contains(&factor) {
        return retry(CognitoError::invalid_parameter(format!(
            "The challenge {factor} is not available: expected one of {}.",
            options.join(", ")
        )));
    }
    let needed = match factor {
        "PASSWORD" => Some("PASSWORD"),
        "PASSWORD_SRP" => Some("SRP_A"),
        _ => None,
    };
    if let Some(needed) = needed {
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
    if simulated && factor == "PASSWORD" {
        return Err(CognitoError::bad_credentials());
    }
    let username = (!simulated).then_some(session.username.as_str());
    begin(
        cx,
        &session.pool_id,
        client_id,
        &params,
        username,
        &session.username,
        factor,
        session.ctx.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::choice;

    #[test]
    fn only_the_five_first_factors_are_choices() {
        assert_eq!(choice("EMAIL_OTP").ok(), Some("EMAIL_OTP"));
        assert!(choice("SOFTWARE_TOKEN_MFA").is_err());
        assert!(choice("password").is_err());
    }
}
