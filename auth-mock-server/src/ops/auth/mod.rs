//! InitiateAuth, RespondToAuthChallenge and their admin forms: the requests, and the
//! dispatch of every flow and challenge to the module that handles it.
//!
//! - `start`: password and custom starts, user resolution, the Pre/PostAuthentication
//!   triggers;
//! - `srp`: SRP and device SRP;
//! - `custom`: custom-auth rounds driven by the Define/Create/VerifyAuthChallenge triggers;
//! - `respond`: answers to the challenges held in a session;
//! - `next`: what follows a proved factor (new password, custom challenge, device SRP, MFA,
//!   tokens), and the sign-in codes;
//! - `refresh`: REFRESH_TOKEN(_AUTH) and GetTokensFromRefreshToken;
//! - `choice`: choice-based `USER_AUTH`.
//!
//! Expensive work (Argon2, SRP exponentiations, RSA signing) runs outside the state lock:
//! handlers read what they need, release the lock, compute, then lock again to record.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::random_token;
use super::tokens::{TokenGrant, issue, tokens_response};
use crate::cx::Cx;
use crate::sign_in::{AuthFlow, ChallengeName};
use crate::state::{AuthSession, Caller, FirstFactor, Pending, SignInContext, State};
use crate::wire::required;
use crate::wire::{CognitoError, OpResult};

mod choice;
mod custom;
mod next;
mod refresh;
mod respond;
mod srp;
mod start;

pub(crate) use refresh::get_tokens_from_refresh_token;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InitiateAuthRequest {
    auth_flow: Option<String>,
    client_id: Option<String>,
    user_pool_id: Option<String>,
    auth_parameters: Option<HashMap<String, String>>,
    #[allow(
        dead_code,
        reason = "parsed to check its type; triggers read it through `Cx::client_metadata`"
    )]
    client_metadata: Option<HashMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RespondRequest {
    client_id: Option<String>,
    user_pool_id: Option<String>,
    challenge_name: Option<String>,
    session: Option<String>,
    challenge_responses: Option<HashMap<String, String>>,
    #[allow(
        dead_code,
        reason = "parsed to check its type; triggers read it through `Cx::client_metadata`"
    )]
    client_metadata: Option<HashMap<String, String>>,
}

/// What the next answer is: tokens to sign, a challenge, or a round of the custom-auth
/// triggers (which run after the state lock is released).
enum Next {
    Tokens(TokenGrant),
    Challenge(Value),
    Custom(custom::CustomStep),
}

/// Turns the decision into the answer: runs PostAuthentication and signs tokens, or runs a
/// custom-auth round; a challenge is answered as it is.
fn finish(cx: &Cx<'_>, next: Next) -> OpResult {
    match next {
        Next::Tokens(grant) => {
            start::post_authentication(cx, &grant)?;
            Ok(tokens_response(issue(cx, grant)?))
        }
        Next::Challenge(challenge) => Ok(challenge),
        Next::Custom(step) => custom::round(cx, step),
    }
}

/// A sign-in being started: the call, the pool and client it names, and its
/// `AuthParameters` (what every flow's start reads).
#[derive(Clone, Copy)]
struct Start<'a, 'c> {
    cx: &'a Cx<'c>,
    pool_id: &'a str,
    client_id: &'a str,
    params: &'a HashMap<String, String>,
}

/// A required, non-empty entry of `AuthParameters` or `ChallengeResponses`.
fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> OpResult<&'a str> {
    params.get(name).map(String::as_str).filter(|v| !v.is_empty()).ok_or_else(|| {
        CognitoError::invalid_parameter(format!("Missing required parameter {name}"))
    })
}

pub(crate) fn initiate_auth(cx: &Cx<'_>, request: InitiateAuthRequest) -> OpResult {
    initiate(cx, request, Caller::Client)
}

pub(crate) fn admin_initiate_auth(cx: &Cx<'_>, request: InitiateAuthRequest) -> OpResult {
    required(&request.user_pool_id, "UserPoolId")?;
    initiate(cx, request, Caller::Admin)
}

/// Parses `AuthFlow`, refusing an unknown one the way Cognito's input validation does.
fn auth_flow(name: &str) -> OpResult<AuthFlow> {
    AuthFlow::parse(name).ok_or_else(|| {
        CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value '{name}' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH, REFRESH_TOKEN, CUSTOM_AUTH, ADMIN_NO_SRP_AUTH, USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, USER_AUTH]"
        ))
    })
}

fn initiate(cx: &Cx<'_>, request: InitiateAuthRequest, caller: Caller) -> OpResult {
    let flow = required(&request.auth_flow, "AuthFlow")?;
    let client_id = required(&request.client_id, "ClientId")?;
    let flow = auth_flow(flow)?;
    let operation = match caller {
        Caller::Client => "InitiateAuth",
        Caller::Admin => "AdminInitiateAuth",
    };
    cx.shared.control.count(&format!("{operation}:{flow}"));
    let supported = match caller {
        Caller::Client => !flow.is_admin_only(),
        Caller::Admin => flow != AuthFlow::UserPassword,
    };
    if !supported {
        return Err(CognitoError::invalid_parameter("Initiate Auth method not supported."));
    }
    let params = request.auth_parameters.unwrap_or_default();
    let pool_id = {
        let state = cx.shared.state.read();
        let (pool, client) = state.client(client_id)?;
        if caller == Caller::Admin && request.user_pool_id.as_deref() != Some(pool.id.as_str()) {
            return Err(CognitoError::resource_not_found(format!(
                "User pool client {client_id} does not exist."
            )));
        }
        if !client.allows(flow) {
            let flow_name =
                if flow == AuthFlow::RefreshToken { AuthFlow::RefreshTokenAuth } else { flow };
            return Err(CognitoError::invalid_parameter(format!(
                "{flow_name} flow not enabled for this client"
            )));
        }
        pool.id.clone()
    };
    if flow.is_refresh() {
        return refresh::refresh(cx, client_id, &params);
    }
    let start = Start { cx, pool_id: &pool_id, client_id, params: &params };
    crate::limits::admit_pending(&mut cx.shared.state.write(), cx.now())?;
    start::pre_authentication(start)?;
    let ctx = SignInContext::new(flow, caller, cx.now());
    match flow {
        AuthFlow::UserPassword | AuthFlow::AdminUserPassword | AuthFlow::AdminNoSrp => {
            start::password(start, ctx.proved_by(FirstFactor::Password))
        }
        AuthFlow::UserSrp => srp::start(start, ctx.proved_by(FirstFactor::Srp)),
        // CUSTOM_AUTH may prove the password with SRP first.
        AuthFlow::Custom
            if params.get("CHALLENGE_NAME").map(String::as_str) == Some("SRP_A")
                || params.contains_key("SRP_A") =>
        {
            srp::start(start, ctx.proved_by(FirstFactor::Srp))
        }
        AuthFlow::Custom => start::custom(start, ctx),
        AuthFlow::UserAuth => choice::start(start, ctx),
        AuthFlow::RefreshTokenAuth | AuthFlow::RefreshToken => {
            refresh::refresh(cx, client_id, &params)
        }
    }
}

/// Opens a session holding the challenge `pending` of `username`'s sign-in; returns its
/// `Session` value.
fn new_session(
    cx: &Cx<'_>,
    state: &mut State,
    pool_id: &str,
    client_id: &str,
    username: &str,
    pending: Pending,
    ctx: SignInContext,
) -> String {
    let validity = state
        .pools
        .get(pool_id)
        .and_then(|p| p.clients.get(client_id))
        .map_or(180, |c| c.session_validity_secs());
    let session = format!("AYABe{}", random_token(180));
    state.sessions.insert(
        session.clone(),
        AuthSession {
            pool_id: pool_id.to_owned(),
            client_id: client_id.to_owned(),
            username: username.to_owned(),
            expires_at: cx.now() + validity,
            pending,
            ctx,
        },
    );
    session
}

/// A challenge answer: its name, session and parameters.
fn challenge(name: ChallengeName, session: &str, parameters: Value) -> Next {
    Next::Challenge(json!({
        "ChallengeName": name.as_str(),
        "Session": session,
        "ChallengeParameters": parameters,
    }))
}

pub(crate) fn respond_to_auth_challenge(cx: &Cx<'_>, request: RespondRequest) -> OpResult {
    respond(cx, request, false)
}

pub(crate) fn admin_respond_to_auth_challenge(cx: &Cx<'_>, request: RespondRequest) -> OpResult {
    required(&request.user_pool_id, "UserPoolId")?;
    respond(cx, request, true)
}

fn respond(cx: &Cx<'_>, request: RespondRequest, admin: bool) -> OpResult {
    let client_id = required(&request.client_id, "ClientId")?;
    let given = required(&request.challenge_name, "ChallengeName")?;
    let name = ChallengeName::parse(given).ok_or_else(|| {
        CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value '{given}' at 'challengeName' failed to satisfy constraint: Member must satisfy enum value set"
        ))
    })?;
    let responses = request.challenge_responses.unwrap_or_default();
    {
        let state = cx.shared.state.read();
        let (pool, _) = state.client(client_id)?;
        if admin && request.user_pool_id.as_deref() != Some(pool.id.as_str()) {
            return Err(CognitoError::resource_not_found(format!(
                "User pool client {client_id} does not exist."
            )));
        }
    }
    match name {
        ChallengeName::PasswordVerifier | ChallengeName::DevicePasswordVerifier => {
            srp::verify(cx, client_id, name, &responses)
        }
        ChallengeName::DeviceSrpAuth => {
            srp::device_start(cx, client_id, request.session.as_deref(), &responses)
        }
        _ => {
            let session =
                request.session.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
                    CognitoError::invalid_parameter("Missing required parameter Session")
                })?;
            respond::answer(cx, client_id, name, session, &responses)
        }
    }
}
