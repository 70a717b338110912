//! InitiateAuth, RespondToAuthChallenge and their admin forms: every flow and challenge.
//!
//! Expensive work (Argon2, SRP exponentiations, RSA signing) runs outside the state lock:
//! handlers read what they need, release the lock, compute, then lock again to record.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::tokens::{RefreshMode, TokenGrant, issue, tokens_response};
use super::{check_secret_hash, deliver_code, mask, new_code, random_token};
use crate::cx::Cx;
use crate::limits::{AfterFailure, CodeKind, UserKey};
use crate::password;
use crate::state::{
    AuthSession, ChallengeResult, Pending, SignInContext, SrpPending, State, UserStatus,
};
use crate::triggers::{self, Origin, Trigger};
use crate::wire::required;
use crate::wire::{CognitoError, OpResult};

mod choice;

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
    Custom(CustomStep),
}

/// A trigger-driven CUSTOM_AUTH sign-in waiting for DefineAuthChallenge.
struct CustomStep {
    pool_id: String,
    client_id: String,
    username: String,
    ctx: SignInContext,
}

fn finish(cx: &Cx<'_>, next: Next) -> OpResult {
    match next {
        Next::Tokens(grant) => {
            post_authentication(cx, &grant)?;
            Ok(tokens_response(issue(cx, grant)?))
        }
        Next::Challenge(challenge) => Ok(challenge),
        Next::Custom(step) => custom_round(cx, step),
    }
}

/// Runs the pool's PreAuthentication trigger, if any, before the first factor is checked
/// but after the client is authenticated: a wrong `SECRET_HASH` or a disabled user is
/// refused without calling it. An unknown user skips it (the flow then fails as without a
/// trigger).
fn pre_authentication(
    cx: &Cx<'_>,
    pool_id: &str,
    client_id: &str,
    params: &HashMap<String, String>,
) -> OpResult<()> {
    let Some(login) = params.get("USERNAME").filter(|l| !l.is_empty()) else { return Ok(()) };
    let (arn, event) = {
        let state = cx.shared.state.read();
        let pool = state.pool(pool_id)?;
        let Some(arn) = triggers::arn(pool, Trigger::PreAuthentication) else { return Ok(()) };
        let Some(user) = pool.user(login) else { return Ok(()) };
        let secret_hash = params.get("SECRET_HASH").map(String::as_str);
        if resolve_user(&state, pool_id, client_id, login, secret_hash)?.is_none() {
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
fn post_authentication(cx: &Cx<'_>, grant: &TokenGrant) -> OpResult<()> {
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

/// One round of a trigger-driven CUSTOM_AUTH: DefineAuthChallenge decides from the session
/// so far; tokens, failure, or CreateAuthChallenge makes the next CUSTOM_CHALLENGE.
fn custom_round(cx: &Cx<'_>, step: CustomStep) -> OpResult {
    let CustomStep { pool_id, client_id, username, mut ctx } = step;
    let session: Vec<Value> = ctx
        .custom_history
        .iter()
        .map(|c| {
            json!({
                "challengeName": c.name,
                "challengeResult": c.result,
                "challengeMetadata": c.metadata,
            })
        })
        .collect();
    let metadata = cx.client_metadata();
    let (define, create, origin, attributes) = {
        let state = cx.shared.state.read();
        let pool = state.pool(&pool_id)?;
        let user = pool.user(&username).ok_or_else(crate::state::user_not_found)?;
        (
            triggers::arn(pool, Trigger::DefineAuthChallenge),
            triggers::arn(pool, Trigger::CreateAuthChallenge),
            Origin::new(pool, &user.username, Some(&client_id)),
            triggers::user_attributes(user),
        )
    };
    let define = define.ok_or_else(|| {
        CognitoError::invalid_parameter(
            "Custom auth lambda trigger is not configured for the user pool.",
        )
    })?;
    let event = origin.event(
        "1",
        "DefineAuthChallenge_Authentication",
        json!({
            "userAttributes": attributes,
            "session": session,
            "clientMetadata": metadata,
            "userNotFound": false,
        }),
        json!({ "challengeName": null, "issueTokens": false, "failAuthentication": false }),
    );
    let decision = triggers::invoke(cx.shared, Trigger::DefineAuthChallenge, &define, &event)?;
    let flag = |name: &str| decision.get(name).and_then(Value::as_bool).unwrap_or(false);
    if flag("failAuthentication") {
        return Err(CognitoError::bad_credentials());
    }
    if flag("issueTokens") {
        ctx.custom_done = true;
        let next = {
            let mut state = cx.shared.state.write();
            next_step(cx, &mut state, &pool_id, &client_id, &username, ctx)?
        };
        return finish(cx, next);
    }
    let name = decision.get("challengeName").and_then(Value::as_str);
    if name != Some("CUSTOM_CHALLENGE") {
        return Err(CognitoError::new(
            "InvalidLambdaResponseException",
            format!(
                "Unrecognizable lambda output (DefineAuthChallenge: neither issueTokens, failAuthentication nor challengeName CUSTOM_CHALLENGE; got challengeName {}).",
                name.unwrap_or("null")
            ),
        ));
    }
    let create = create.ok_or_else(|| {
        CognitoError::new(
            "UnexpectedLambdaException",
            "DefineAuthChallenge asked for CUSTOM_CHALLENGE but the pool has no CreateAuthChallenge trigger.",
        )
    })?;
    let event = origin.event(
        "1",
        "CreateAuthChallenge_Authentication",
        json!({
            "userAttributes": attributes,
            "challengeName": "CUSTOM_CHALLENGE",
            "session": session,
            "clientMetadata": metadata,
            "userNotFound": false,
        }),
        json!({
            "publicChallengeParameters": null,
            "privateChallengeParameters": null,
            "challengeMetadata": null,
        }),
    );
    let created = triggers::invoke(cx.shared, Trigger::CreateAuthChallenge, &create, &event)?;
    let mut params = serde_json::Map::new();
    if let Some(public) = created.get("publicChallengeParameters").and_then(Value::as_object) {
        for (key, value) in public {
            // Challenge parameters are strings on the wire.
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            params.insert(key.clone(), json!(text));
        }
    }
    params.insert("USERNAME".into(), json!(username));
    let pending = Pending::CustomLambda {
        private: created.get("privateChallengeParameters").cloned().unwrap_or(Value::Null),
        metadata: created.get("challengeMetadata").and_then(Value::as_str).map(str::to_owned),
    };
    let mut state = cx.shared.state.write();
    let session = new_session(cx, &mut state, &pool_id, &client_id, &username, pending, ctx);
    drop(state);
    match challenge("CUSTOM_CHALLENGE", &session, Value::Object(params)) {
        Next::Challenge(value) => Ok(value),
        _ => Err(CognitoError::internal("a challenge was expected")),
    }
}

/// An answer to a trigger-made CUSTOM_CHALLENGE: VerifyAuthChallengeResponse judges it, and
/// the result joins the session for the next DefineAuthChallenge round.
fn custom_answer(
    cx: &Cx<'_>,
    client_id: &str,
    session: AuthSession,
    responses: &HashMap<String, String>,
) -> OpResult {
    let answer = param(responses, "ANSWER")?;
    let Pending::CustomLambda { private, metadata } = session.pending else {
        return Err(CognitoError::internal("not a trigger-driven custom challenge"));
    };
    let (verify, event) = {
        let state = cx.shared.state.read();
        let pool = state.pool(&session.pool_id)?;
        let user = pool.user(&session.username).ok_or_else(crate::state::user_not_found)?;
        let verify =
            triggers::arn(pool, Trigger::VerifyAuthChallengeResponse).ok_or_else(|| {
                CognitoError::new(
                    "UnexpectedLambdaException",
                    "The pool has no VerifyAuthChallengeResponse trigger to check the answer.",
                )
            })?;
        let event = Origin::new(pool, &user.username, Some(client_id)).event(
            "1",
            "VerifyAuthChallengeResponse_Authentication",
            json!({
                "userAttributes": triggers::user_attributes(user),
                "privateChallengeParameters": private,
                "challengeAnswer": answer,
                "clientMetadata": cx.client_metadata(),
                "userNotFound": false,
            }),
            json!({ "answerCorrect": null }),
        );
        (verify, event)
    };
    let verdict =
        triggers::invoke(cx.shared, Trigger::VerifyAuthChallengeResponse, &verify, &event)?;
    let correct = verdict.get("answerCorrect").and_then(Value::as_bool).unwrap_or(false);
    let mut ctx = session.ctx;
    ctx.custom_history.push(ChallengeResult {
        name: "CUSTOM_CHALLENGE",
        result: correct,
        metadata,
    });
    custom_round(
        cx,
        CustomStep {
            pool_id: session.pool_id,
            client_id: client_id.to_owned(),
            username: session.username,
            ctx,
        },
    )
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> OpResult<&'a str> {
    params.get(name).map(String::as_str).filter(|v| !v.is_empty()).ok_or_else(|| {
        CognitoError::invalid_parameter(format!("Missing required parameter {name}"))
    })
}

pub(crate) fn initiate_auth(cx: &Cx<'_>, request: InitiateAuthRequest) -> OpResult {
    initiate(cx, request, false)
}

pub(crate) fn admin_initiate_auth(cx: &Cx<'_>, request: InitiateAuthRequest) -> OpResult {
    required(&request.user_pool_id, "UserPoolId")?;
    initiate(cx, request, true)
}

const FLOWS: &[&str] = &[
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
];

fn initiate(cx: &Cx<'_>, request: InitiateAuthRequest, admin: bool) -> OpResult {
    let flow = required(&request.auth_flow, "AuthFlow")?;
    let client_id = required(&request.client_id, "ClientId")?;
    if !FLOWS.contains(&flow) {
        return Err(CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value '{flow}' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH, REFRESH_TOKEN, CUSTOM_AUTH, ADMIN_NO_SRP_AUTH, USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, USER_AUTH]"
        )));
    }
    cx.shared
        .control
        .count(&format!("{}:{flow}", if admin { "AdminInitiateAuth" } else { "InitiateAuth" }));
    let admin_flow = matches!(flow, "ADMIN_NO_SRP_AUTH" | "ADMIN_USER_PASSWORD_AUTH");
    if admin_flow && !admin {
        return Err(CognitoError::invalid_parameter("Initiate Auth method not supported."));
    }
    if admin && flow == "USER_PASSWORD_AUTH" {
        return Err(CognitoError::invalid_parameter("Initiate Auth method not supported."));
    }
    let params = request.auth_parameters.unwrap_or_default();
    let pool_id = {
        let state = cx.shared.state.read();
        let (pool, client) = state.client(client_id)?;
        if admin && request.user_pool_id.as_deref() != Some(pool.id.as_str()) {
            return Err(CognitoError::resource_not_found(format!(
                "User pool client {client_id} does not exist."
            )));
        }
        let flow_name = if flow == "REFRESH_TOKEN" { "REFRESH_TOKEN_AUTH" } else { flow };
        if !client.allows(flow) {
            return Err(CognitoError::invalid_parameter(format!(
                "{flow_name} flow not enabled for this client"
            )));
        }
        pool.id.clone()
    };
    if !matches!(flow, "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN") {
        crate::limits::admit_pending(&mut cx.shared.state.write(), cx.now())?;
        pre_authentication(cx, &pool_id, client_id, &params)?;
    }
    let ctx = SignInContext { admin, started: cx.now(), ..SignInContext::default() };
    match flow {
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => refresh(cx, client_id, &params),
        "USER_PASSWORD_AUTH" | "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => {
            password_auth(cx, &pool_id, client_id, &params, ctx)
        }
        "USER_SRP_AUTH" => {
            srp_start(cx, &pool_id, client_id, &params, SignInContext { srp: true, ..ctx })
        }
        "CUSTOM_AUTH" => {
            let ctx = SignInContext { custom: true, ..ctx };
            if params.get("CHALLENGE_NAME").map(String::as_str) == Some("SRP_A")
                || params.contains_key("SRP_A")
            {
                srp_start(cx, &pool_id, client_id, &params, SignInContext { srp: true, ..ctx })
            } else {
                custom_start(cx, &pool_id, client_id, &params, ctx)
            }
        }
        "USER_AUTH" => choice::start(cx, &pool_id, client_id, &params, ctx),
        _ => Err(CognitoError::invalid_parameter("Initiate Auth method not supported.")),
    }
}

/// Resolves a login name and checks SECRET_HASH; `Ok(None)` for a missing user whose
/// existence must not be revealed.
fn resolve_user(
    state: &State,
    pool_id: &str,
    client_id: &str,
    login: &str,
    secret_hash: Option<&str>,
) -> OpResult<Option<String>> {
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
    let mut names = vec![login, user.username.as_str(), user.sub()];
    for attr in ["email", "phone_number", "preferred_username"] {
        if let Some(value) = user.attribute(attr) {
            names.push(value);
        }
    }
    check_secret_hash(client, &names, secret_hash)?;
    if !user.enabled {
        return Err(CognitoError::not_authorized("User is disabled."));
    }
    Ok(Some(user.username.clone()))
}

fn check_status_after_password(
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

fn password_auth(
    cx: &Cx<'_>,
    pool_id: &str,
    client_id: &str,
    params: &HashMap<String, String>,
    ctx: SignInContext,
) -> OpResult {
    let login = param(params, "USERNAME")?;
    let given = param(params, "PASSWORD")?;
    let (username, record) = {
        let state = cx.shared.state.read();
        let Some(username) = resolve_user(
            &state,
            pool_id,
            client_id,
            login,
            params.get("SECRET_HASH").map(String::as_str),
        )?
        else {
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
fn known_device(
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

fn srp_start(
    cx: &Cx<'_>,
    pool_id: &str,
    client_id: &str,
    params: &HashMap<String, String>,
    ctx: SignInContext,
) -> OpResult {
    let login = param(params, "USERNAME")?;
    let srp_a = param(params, "SRP_A")?;
    let a_public = auth_srp::parse_hex("SRP_A", srp_a)
        .map_err(|_| CognitoError::invalid_parameter("SRP_A is not a hexadecimal number."))?;
    if &a_public % auth_srp::n() == auth_srp::BigUint::default() {
        return Err(CognitoError::not_authorized("SRP_A is invalid."));
    }
    let (username, verifier, validity) = {
        let state = cx.shared.state.read();
        let resolved = resolve_user(
            &state,
            pool_id,
            client_id,
            login,
            params.get("SECRET_HASH").map(String::as_str),
        )?;
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
    let server = auth_srp::ServerEphemeral::new(verifier.verifier());
    let secret_block = super::random_secret_block(256);
    let internal = username.clone().unwrap_or_else(|| login.to_owned());
    let challenge = json!({
        "ChallengeName": "PASSWORD_VERIFIER",
        // Clients may echo it or not; the answer is matched by its SECRET_BLOCK either way.
        "Session": format!("AYABe{}", random_token(180)),
        "ChallengeParameters": {
            "SALT": verifier.salt_hex(),
            "SECRET_BLOCK": secret_block,
            "SRP_B": server.public_hex(),
            "USERNAME": internal,
            "USER_ID_FOR_SRP": internal,
        },
    });
    let pending = SrpPending {
        pool_id: pool_id.to_owned(),
        client_id: client_id.to_owned(),
        username: internal,
        expires_at: cx.now() + validity,
        a_public,
        server,
        device: None,
        simulated,
        ctx: SignInContext { device_key, ..ctx },
    };
    cx.shared.state.write().srp.insert(secret_block, pending);
    Ok(challenge)
}

fn custom_start(
    cx: &Cx<'_>,
    pool_id: &str,
    client_id: &str,
    params: &HashMap<String, String>,
    ctx: SignInContext,
) -> OpResult {
    let login = param(params, "USERNAME")?;
    let mut state = cx.shared.state.write();
    let Some(username) = resolve_user(
        &state,
        pool_id,
        client_id,
        login,
        params.get("SECRET_HASH").map(String::as_str),
    )?
    else {
        return Err(CognitoError::bad_credentials());
    };
    let next = next_step(cx, &mut state, pool_id, client_id, &username, ctx)?;
    drop(state);
    finish(cx, next)
}

fn refresh(cx: &Cx<'_>, client_id: &str, params: &HashMap<String, String>) -> OpResult {
    let token = param(params, "REFRESH_TOKEN")?;
    let secret = ClientProof::SecretHash {
        username: params.get("USERNAME").map(String::as_str),
        hash: params.get("SECRET_HASH").map(String::as_str),
    };
    let grant = refresh_grant(cx, client_id, token, secret, false)?;
    Ok(tokens_response(issue(cx, grant)?))
}

/// How a refresh call proves it knows the client secret.
enum ClientProof<'a> {
    /// `SECRET_HASH` (InitiateAuth REFRESH_TOKEN_AUTH).
    SecretHash { username: Option<&'a str>, hash: Option<&'a str> },
    /// `ClientSecret` itself (GetTokensFromRefreshToken).
    Secret(Option<&'a str>),
}

/// Checks a refresh token and decides the grant; `rotate` applies the client's
/// refresh-token rotation (GetTokensFromRefreshToken).
fn refresh_grant(
    cx: &Cx<'_>,
    client_id: &str,
    token: &str,
    proof: ClientProof<'_>,
    rotate: bool,
) -> OpResult<TokenGrant> {
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let invalid = || CognitoError::not_authorized("Invalid Refresh Token");
    let (record, claims) = state.refresh_record(token).ok_or_else(invalid)?;
    if record.client_id != client_id {
        return Err(invalid());
    }
    if record.revoked {
        return Err(CognitoError::not_authorized("Refresh Token has been revoked"));
    }
    if record.expires_at <= now {
        return Err(CognitoError::not_authorized("Refresh Token has expired"));
    }
    let pool = state.pool(&record.pool_id)?;
    let client = pool.clients.get(client_id).ok_or_else(invalid)?;
    let user = pool
        .users
        .get(&pool.user_key(&record.username))
        .ok_or_else(crate::state::user_not_found)?;
    match proof {
        ClientProof::SecretHash { username, hash } => {
            let mut names = vec![user.username.as_str(), user.sub()];
            names.extend(username);
            for attr in ["email", "phone_number", "preferred_username"] {
                if let Some(value) = user.attribute(attr) {
                    names.push(value);
                }
            }
            check_secret_hash(client, &names, hash)?;
        }
        ClientProof::Secret(given) => {
            if let Some(secret) = &client.secret {
                use sha2::Digest as _;
                let matches = given.is_some_and(|g| {
                    sha2::Sha256::digest(g.as_bytes()) == sha2::Sha256::digest(secret.as_bytes())
                });
                if !matches {
                    return Err(CognitoError::not_authorized(format!(
                        "Client {client_id} is configured with a secret and ClientSecret is missing or wrong"
                    )));
                }
            }
        }
    }
    if !user.enabled {
        return Err(CognitoError::not_authorized("User is disabled."));
    }
    let rotation = if rotate { client.rotation_grace_seconds() } else { None };
    let refresh = match rotation {
        None => RefreshMode::Keep { origin_jti: record.origin_jti.clone() },
        Some(grace) => {
            if record.rotated_at.is_some_and(|at| now > at.saturating_add(grace)) {
                return Err(CognitoError::new(
                    "RefreshTokenReuseException",
                    "The refresh token has already been exchanged for a new one.",
                ));
            }
            state.tokens.mark_rotated(&claims, now);
            RefreshMode::New
        }
    };
    Ok(TokenGrant {
        pool_id: record.pool_id.clone(),
        client_id: client_id.to_owned(),
        username: record.username.clone(),
        auth_time: Some(record.auth_time),
        device_key: record.device_key.clone(),
        new_device: false,
        refresh,
        source: "TokenGeneration_RefreshTokens",
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetTokensRequest {
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    #[allow(dead_code, reason = "the device is taken from the refresh token")]
    device_key: Option<String>,
    #[allow(
        dead_code,
        reason = "parsed to check its type; triggers read it through `Cx::client_metadata`"
    )]
    client_metadata: Option<HashMap<String, String>>,
}

/// GetTokensFromRefreshToken: like REFRESH_TOKEN_AUTH, with refresh-token rotation when the
/// client enables it (a new refresh token; the old one works for the grace period).
pub(crate) fn get_tokens_from_refresh_token(cx: &Cx<'_>, request: GetTokensRequest) -> OpResult {
    let token = required(&request.refresh_token, "RefreshToken")?;
    let client_id = required(&request.client_id, "ClientId")?;
    cx.shared.state.read().client(client_id)?;
    let grant = refresh_grant(
        cx,
        client_id,
        token,
        ClientProof::Secret(request.client_secret.as_deref()),
        true,
    )?;
    Ok(json!({ "AuthenticationResult": issue(cx, grant)? }))
}

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

fn challenge(name: &str, session: &str, parameters: Value) -> Next {
    Next::Challenge(json!({
        "ChallengeName": name,
        "Session": session,
        "ChallengeParameters": parameters,
    }))
}

/// Decides what follows a proven password (or a answered challenge): a new password,
/// a custom challenge, device SRP, MFA, or tokens.
fn next_step(
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

    if user.status == UserStatus::ForceChangePassword {
        let mut attributes = serde_json::Map::new();
        for (name, value) in &user.attributes {
            if name != "sub" {
                attributes.insert(name.clone(), json!(value));
            }
        }
        let required: Vec<String> = super::users::required_attributes(pool)
            .into_iter()
            .filter(|name| user.attribute(name).is_none())
            .map(|name| format!("userAttributes.{name}"))
            .collect();
        let params = json!({
            "USER_ID_FOR_SRP": internal,
            "requiredAttributes": Value::from(required.clone()).to_string(),
            "userAttributes": Value::Object(attributes).to_string(),
        });
        let session =
            new_session(cx, state, pool_id, client_id, &internal, Pending::NewPassword, ctx);
        return Ok(challenge("NEW_PASSWORD_REQUIRED", &session, params));
    }

    if ctx.custom && !ctx.custom_done {
        if triggers::arn(pool, Trigger::DefineAuthChallenge).is_some() {
            let mut ctx = ctx;
            if ctx.srp && ctx.custom_history.is_empty() {
                // CUSTOM_AUTH that began with SRP_A: the password was proved first.
                for name in ["SRP_A", "PASSWORD_VERIFIER"] {
                    ctx.custom_history.push(ChallengeResult { name, result: true, metadata: None });
                }
            }
            return Ok(Next::Custom(CustomStep {
                pool_id: pool_id.to_owned(),
                client_id: client_id.to_owned(),
                username: internal,
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
        let session = new_session(
            cx,
            state,
            pool_id,
            client_id,
            &internal,
            Pending::Custom { attempts: 0 },
            ctx,
        );
        return Ok(challenge("CUSTOM_CHALLENGE", &session, Value::Object(params)));
    }

    let device = ctx.device_key.as_ref().and_then(|key| user.devices.get(key));
    let device_confirmed = device.is_some_and(|d| d.srp_verifier.is_some());
    if ctx.srp && !ctx.admin && device_confirmed && !ctx.device_verified {
        let device_key = ctx.device_key.clone().unwrap_or_default();
        let params = json!({ "USERNAME": internal });
        let session = new_session(
            cx,
            state,
            pool_id,
            client_id,
            &internal,
            Pending::DeviceSrp { device_key },
            ctx,
        );
        return Ok(challenge("DEVICE_SRP_AUTH", &session, params));
    }

    let remembered_device = ctx.device_verified
        && device.is_some_and(|d| {
            d.remembered || pool.device_tracking().is_some_and(|(_, on_prompt)| !on_prompt)
        });
    let mfa = pool.mfa_configuration().to_owned();
    if !ctx.mfa_done && !ctx.custom && !remembered_device && mfa != "OFF" {
        let mut options: Vec<&'static str> = Vec::new();
        if user.mfa.sms && user.attribute("phone_number").is_some() {
            options.push("SMS_MFA");
        }
        if user.mfa.totp && user.mfa.totp_secret.is_some() {
            options.push("SOFTWARE_TOKEN_MFA");
        }
        if user.mfa.email && user.attribute("email").is_some() {
            options.push("EMAIL_OTP");
        }
        let preferred =
            user.mfa.preferred.as_deref().and_then(|p| options.iter().copied().find(|o| *o == p));
        if options.is_empty() && mfa == "ON" {
            let params = json!({
                "MFAS_CAN_SETUP": "[\"SOFTWARE_TOKEN_MFA\"]",
                "USER_ID_FOR_SRP": internal,
            });
            let pending = Pending::MfaSetup { secret: None, verified: false };
            let session = new_session(cx, state, pool_id, client_id, &internal, pending, ctx);
            return Ok(challenge("MFA_SETUP", &session, params));
        }
        if let Some(only) = preferred.or_else(|| (options.len() == 1).then(|| options[0])) {
            return issue_mfa_challenge(cx, state, pool_id, client_id, &internal, only, ctx);
        }
        if options.len() > 1 {
            let params = json!({
                "MFAS_CAN_CHOOSE": Value::from(options.clone()).to_string(),
                "USER_ID_FOR_SRP": internal,
            });
            let session = new_session(
                cx,
                state,
                pool_id,
                client_id,
                &internal,
                Pending::SelectMfa { options },
                ctx,
            );
            return Ok(challenge("SELECT_MFA_TYPE", &session, params));
        }
    }

    let track_new_device =
        ctx.srp && !ctx.admin && ctx.device_key.is_none() && pool.device_tracking().is_some();
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
        source: if ctx.device_verified {
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

fn issue_mfa_challenge(
    cx: &Cx<'_>,
    state: &mut State,
    pool_id: &str,
    client_id: &str,
    username: &str,
    kind: &'static str,
    ctx: SignInContext,
) -> OpResult<Next> {
    let mut code_expires_at = None;
    let (pending, params) = match kind {
        "SMS_MFA" | "EMAIL_OTP" => {
            let expires_at = cx.now() + 180;
            let sent =
                send_sign_in_code(state, pool_id, username, "mfa", expires_at, kind == "SMS_MFA")?;
            code_expires_at = Some(sent.expires_at);
            (
                Pending::Code { challenge: kind, code: sent.code },
                json!({
                    "CODE_DELIVERY_DELIVERY_MEDIUM": sent.medium,
                    "CODE_DELIVERY_DESTINATION": sent.destination,
                    "USER_ID_FOR_SRP": username,
                }),
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

pub(crate) fn respond_to_auth_challenge(cx: &Cx<'_>, request: RespondRequest) -> OpResult {
    respond(cx, request, false)
}

pub(crate) fn admin_respond_to_auth_challenge(cx: &Cx<'_>, request: RespondRequest) -> OpResult {
    required(&request.user_pool_id, "UserPoolId")?;
    respond(cx, request, true)
}

const CHALLENGES: &[&str] = &[
    "SMS_MFA",
    "EMAIL_OTP",
    "SOFTWARE_TOKEN_MFA",
    "SELECT_MFA_TYPE",
    "MFA_SETUP",
    "PASSWORD_VERIFIER",
    "CUSTOM_CHALLENGE",
    "SELECT_CHALLENGE",
    "DEVICE_SRP_AUTH",
    "DEVICE_PASSWORD_VERIFIER",
    "ADMIN_NO_SRP_AUTH",
    "NEW_PASSWORD_REQUIRED",
    "SMS_OTP",
    "PASSWORD",
    "WEB_AUTHN",
    "PASSWORD_SRP",
];

fn respond(cx: &Cx<'_>, request: RespondRequest, admin: bool) -> OpResult {
    let client_id = required(&request.client_id, "ClientId")?;
    let name = required(&request.challenge_name, "ChallengeName")?;
    if !CHALLENGES.contains(&name) {
        return Err(CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value '{name}' at 'challengeName' failed to satisfy constraint: Member must satisfy enum value set"
        )));
    }
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
        "PASSWORD_VERIFIER" | "DEVICE_PASSWORD_VERIFIER" => {
            srp_verify(cx, client_id, name, &responses)
        }
        "DEVICE_SRP_AUTH" => {
            device_srp_start(cx, client_id, request.session.as_deref(), &responses)
        }
        _ => {
            let session =
                request.session.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
                    CognitoError::invalid_parameter("Missing required parameter Session")
                })?;
            session_challenge(cx, client_id, name, session, &responses)
        }
    }
}

fn check_challenge_secret_hash(
    state: &State,
    pool_id: &str,
    client_id: &str,
    username: &str,
    responses: &HashMap<String, String>,
) -> OpResult<()> {
    let pool = state.pool(pool_id)?;
    let Some(client) = pool.clients.get(client_id) else { return Ok(()) };
    let user = pool.users.get(&pool.user_key(username));
    let mut names = vec![username];
    if let Some(given) = responses.get("USERNAME") {
        names.push(given);
    }
    if let Some(user) = user {
        names.push(user.sub());
        for attr in ["email", "phone_number", "preferred_username"] {
            if let Some(value) = user.attribute(attr) {
                names.push(value);
            }
        }
    }
    check_secret_hash(client, &names, responses.get("SECRET_HASH").map(String::as_str))
}

fn srp_verify(
    cx: &Cx<'_>,
    client_id: &str,
    name: &str,
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
        if pending.client_id != client_id
            || pending.device.is_some() != (name == "DEVICE_PASSWORD_VERIFIER")
        {
            return Err(CognitoError::not_authorized("Invalid session for the user."));
        }
        if pending.expires_at <= cx.now() {
            return Err(CognitoError::not_authorized(
                "Invalid session for the user, session is expired.",
            ));
        }
        if !pending.simulated {
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
            if pending.device.is_none() {
                state.limits.check_sign_in(&pending.limit_key(), cx.now_millis())?;
            }
        }
        pending
    };
    if pending.simulated {
        return Err(CognitoError::bad_credentials());
    }
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
    let (realm, user_id) = match &pending.device {
        Some((group_key, device_key)) => (group_key.clone(), device_key.clone()),
        None => (auth_srp::pool_name(&pending.pool_id).to_owned(), pending.username.clone()),
    };
    if !key.verify_signature(&realm, &user_id, &secret_block, timestamp, signature) {
        if pending.device.is_none() {
            cx.shared.state.write().limits.password_failed(&pending.limit_key(), cx.now_millis());
        }
        return Err(CognitoError::bad_credentials());
    }
    let next = {
        let mut state = cx.shared.state.write();
        if pending.device.is_none() {
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
        if pending.device.is_some() {
            ctx.device_verified = true;
        } else {
            check_status_after_password(&state, &pending.pool_id, &pending.username, cx.now())?;
        }
        next_step(cx, &mut state, &pending.pool_id, client_id, &pending.username, ctx)?
    };
    finish(cx, next)
}

fn device_srp_start(
    cx: &Cx<'_>,
    client_id: &str,
    session: Option<&str>,
    responses: &HashMap<String, String>,
) -> OpResult {
    let login = param(responses, "USERNAME")?;
    let device_key = param(responses, "DEVICE_KEY")?;
    let srp_a = param(responses, "SRP_A")?;
    let a_public = auth_srp::parse_hex("SRP_A", srp_a)
        .map_err(|_| CognitoError::invalid_parameter("SRP_A is not a hexadecimal number."))?;
    if &a_public % auth_srp::n() == auth_srp::BigUint::default() {
        return Err(CognitoError::not_authorized("SRP_A is invalid."));
    }
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
    let server = auth_srp::ServerEphemeral::new(stored.verifier());
    let secret_block = super::random_secret_block(256);
    let challenge = json!({
        "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
        "Session": format!("AYABe{}", random_token(180)),
        "ChallengeParameters": {
            "SALT": stored.salt_hex(),
            "SECRET_BLOCK": secret_block,
            "SRP_B": server.public_hex(),
            "USERNAME": pending.username,
            "USER_ID_FOR_SRP": pending.username,
        },
    });
    let srp = SrpPending {
        pool_id: pending.pool_id.clone(),
        client_id: client_id.to_owned(),
        username: pending.username.clone(),
        expires_at: cx.now() + validity,
        a_public,
        server,
        device: Some((group_key, device_key.to_owned())),
        simulated: false,
        ctx: pending.ctx,
    };
    cx.shared.state.write().srp.insert(secret_block, srp);
    Ok(challenge)
}

fn session_challenge(
    cx: &Cx<'_>,
    client_id: &str,
    name: &str,
    session_id: &str,
    responses: &HashMap<String, String>,
) -> OpResult {
    let now = cx.now();
    let mut state = cx.shared.state.write();
    // The session is only looked at until the request proves to be an answer to it (client,
    // SECRET_HASH, user, challenge name): a malformed request must not end a sign-in.
    let session = state.sessions.get(session_id).cloned().ok_or_else(|| {
        CognitoError::not_authorized("Invalid session for the user, session is expired.")
    })?;
    if session.expires_at <= now {
        state.sessions.remove(session_id);
        return Err(CognitoError::not_authorized(
            "Invalid session for the user, session is expired.",
        ));
    }
    if session.client_id != client_id {
        return Err(CognitoError::not_authorized("Invalid session for the user."));
    }
    check_challenge_secret_hash(&state, &session.pool_id, client_id, &session.username, responses)?;
    let login = param(responses, "USERNAME")?;
    // A simulated USER_AUTH challenge (missing user, PreventUserExistenceErrors) has no user
    // to compare with: the answer must name the same login the sign-in started with, and
    // then fails later the way a wrong answer would.
    let simulated = matches!(
        &session.pending,
        Pending::SelectChallenge { simulated: true, .. }
            | Pending::FirstFactorCode { code: None, .. }
    );
    let same_user = if simulated {
        login == session.username
    } else {
        state
            .pools
            .get(&session.pool_id)
            .and_then(|p| p.user(login))
            .is_some_and(|u| u.username == session.username)
    };
    if !same_user {
        return Err(CognitoError::not_authorized("Invalid session for the user."));
    }
    let pool_id = session.pool_id.clone();
    let username = session.username.clone();
    let mut ctx = session.ctx.clone();
    let expected = match &session.pending {
        Pending::NewPassword => "NEW_PASSWORD_REQUIRED",
        Pending::Code { challenge, .. } => challenge,
        Pending::Totp => "SOFTWARE_TOKEN_MFA",
        Pending::SelectMfa { .. } => "SELECT_MFA_TYPE",
        Pending::MfaSetup { .. } => "MFA_SETUP",
        Pending::Custom { .. } | Pending::CustomLambda { .. } => "CUSTOM_CHALLENGE",
        Pending::DeviceSrp { .. } => "DEVICE_SRP_AUTH",
        Pending::FirstFactorCode { challenge, .. } => challenge,
        // A PASSWORD / PASSWORD_SRP challenge of USER_AUTH is answered under its own name.
        Pending::SelectChallenge { options, .. } if options.contains(&name) => name,
        Pending::SelectChallenge { .. } => "SELECT_CHALLENGE",
    };
    if expected != name {
        return Err(CognitoError::invalid_parameter(format!(
            "The session expects an answer to {expected}, not {name}."
        )));
    }
    state.sessions.remove(session_id);
    // A wrong code keeps the session usable for another try.
    let retry = |state: &mut State, session: AuthSession| {
        state.sessions.insert(session_id.to_owned(), session);
    };
    let next = match session.pending.clone() {
        Pending::NewPassword => {
            // A refused new password leaves the session usable for another try.
            let checked = (|| {
                let new_password = param(responses, "NEW_PASSWORD")?;
                password::check_shape("NEW_PASSWORD", new_password)?;
                let pool = state.pool(&pool_id)?;
                password::Policy::of(pool).check(new_password)?;
                let mut updates = std::collections::BTreeMap::new();
                for (key, value) in responses {
                    if let Some(attribute) = key.strip_prefix("userAttributes.") {
                        updates.insert(attribute.to_owned(), value.clone());
                    }
                }
                super::check_attribute_names(pool, &updates)?;
                let user = pool
                    .users
                    .get(&pool.user_key(&username))
                    .ok_or_else(crate::state::user_not_found)?;
                for required in super::users::required_attributes(pool) {
                    if user.attribute(&required).is_none() && !updates.contains_key(&required) {
                        return Err(CognitoError::invalid_parameter(format!(
                            "Invalid attributes given, {required} is missing"
                        )));
                    }
                }
                Ok((new_password, updates))
            })();
            let (new_password, updates) = match checked {
                Ok(ok) => ok,
                Err(error) => {
                    retry(&mut state, session);
                    return Err(error);
                }
            };
            let pool = state.pool(&pool_id)?;
            let record = password::record(pool, &username, new_password, now, false);
            let pool = state.pool_mut(&pool_id)?;
            let key = pool.user_key(&username);
            let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
            user.attributes.extend(updates);
            user.password = Some(record);
            user.status = UserStatus::Confirmed;
            user.modified = cx.now_f64();
            let mut next = next_step(cx, &mut state, &pool_id, client_id, &username, ctx)?;
            if let Next::Tokens(grant) = &mut next {
                grant.source = "TokenGeneration_NewPasswordChallenge";
            }
            next
        }
        Pending::Code { challenge, code } => {
            let field = if challenge == "SMS_MFA" { "SMS_MFA_CODE" } else { "EMAIL_OTP_CODE" };
            let given = param(responses, field)?;
            let limit_key = UserKey::new(&pool_id, &username);
            if given != code {
                if state.limits.code_failed(&limit_key, CodeKind::Mfa, 0, cx.now_millis())
                    == AfterFailure::Retry
                {
                    retry(&mut state, session);
                }
                return Err(CognitoError::code_mismatch(
                    "Invalid code or auth state for the user.",
                ));
            }
            state.limits.code_reset(&limit_key, CodeKind::Mfa);
            ctx.mfa_done = true;
            next_step(cx, &mut state, &pool_id, client_id, &username, ctx)?
        }
        Pending::Totp => {
            let given = param(responses, "SOFTWARE_TOKEN_MFA_CODE")?;
            let pool = state.pool(&pool_id)?;
            let secret = pool
                .users
                .get(&pool.user_key(&username))
                .and_then(|u| u.mfa.totp_secret.clone())
                .ok_or_else(|| {
                    CognitoError::software_token_mfa_not_found("Software token MFA is not set up.")
                })?;
            let limit_key = UserKey::new(&pool_id, &username);
            if !crate::totp::verify(&secret, given, cx.shared.clock.now()) {
                if state.limits.code_failed(&limit_key, CodeKind::Mfa, 0, cx.now_millis())
                    == AfterFailure::Retry
                {
                    retry(&mut state, session);
                }
                return Err(CognitoError::code_mismatch("Invalid code received for user"));
            }
            state.limits.code_reset(&limit_key, CodeKind::Mfa);
            ctx.mfa_done = true;
            next_step(cx, &mut state, &pool_id, client_id, &username, ctx)?
        }
        Pending::SelectMfa { options } => {
            let answer = param(responses, "ANSWER")?;
            let answer = if answer == "EMAIL_MFA" { "EMAIL_OTP" } else { answer };
            let Some(choice) = options.iter().copied().find(|o| *o == answer) else {
                retry(&mut state, session);
                return Err(CognitoError::invalid_parameter(format!("Invalid MFA type {answer}.")));
            };
            issue_mfa_challenge(cx, &mut state, &pool_id, client_id, &username, choice, ctx)?
        }
        Pending::MfaSetup { verified, .. } => {
            if !verified {
                retry(&mut state, session);
                return Err(CognitoError::invalid_parameter(
                    "MFA_SETUP is answered after AssociateSoftwareToken and VerifySoftwareToken with this session.",
                ));
            }
            ctx.mfa_done = true;
            next_step(cx, &mut state, &pool_id, client_id, &username, ctx)?
        }
        Pending::Custom { attempts } => {
            let answer = param(responses, "ANSWER")?;
            let pool = state.pool(&pool_id)?;
            let expected = pool
                .users
                .get(&pool.user_key(&username))
                .and_then(|u| u.custom_auth.as_ref())
                .map(|c| c.answer.clone());
            if expected.as_deref() == Some(answer) {
                ctx.custom_done = true;
                next_step(cx, &mut state, &pool_id, client_id, &username, ctx)?
            } else if attempts + 1 >= 3 {
                return Err(CognitoError::bad_credentials());
            } else {
                let params = json!({ "USERNAME": username });
                let pending = Pending::Custom { attempts: attempts + 1 };
                let new = new_session(cx, &mut state, &pool_id, client_id, &username, pending, ctx);
                challenge("CUSTOM_CHALLENGE", &new, params)
            }
        }
        Pending::CustomLambda { .. } => {
            if let Err(error) = param(responses, "ANSWER") {
                retry(&mut state, session);
                return Err(error);
            }
            drop(state);
            return custom_answer(cx, client_id, session, responses);
        }
        Pending::DeviceSrp { .. } => {
            return Err(CognitoError::invalid_parameter("DEVICE_SRP_AUTH is answered with SRP_A."));
        }
        Pending::SelectChallenge { .. } => {
            drop(state);
            return choice::answer(cx, client_id, name, session_id, session, responses);
        }
        Pending::FirstFactorCode { challenge, code, attempts } => {
            let field = if challenge == "SMS_OTP" { "SMS_OTP_CODE" } else { "EMAIL_OTP_CODE" };
            let given = match param(responses, field) {
                Ok(given) => given,
                Err(error) => {
                    retry(&mut state, session);
                    return Err(error);
                }
            };
            if code.as_deref() != Some(given) {
                // The last allowed wrong code ends the session.
                if attempts + 1 < choice::CODE_ATTEMPTS {
                    let pending =
                        Pending::FirstFactorCode { challenge, code, attempts: attempts + 1 };
                    retry(&mut state, AuthSession { pending, ..session });
                }
                return Err(CognitoError::code_mismatch(
                    "Invalid code or auth state for the user.",
                ));
            }
            {
                let pool = state.pool(&pool_id)?;
                let user = pool
                    .users
                    .get(&pool.user_key(&username))
                    .ok_or_else(crate::state::user_not_found)?;
                if !user.enabled {
                    return Err(CognitoError::not_authorized("User is disabled."));
                }
            }
            check_status_after_password(&state, &pool_id, &username, now)?;
            // The code proved a second channel: no MFA follows a one-time-code first factor.
            ctx.mfa_done = true;
            next_step(cx, &mut state, &pool_id, client_id, &username, ctx)?
        }
    };
    drop(state);
    finish(cx, next)
}
