//! Trigger-driven CUSTOM_AUTH: rounds of DefineAuthChallenge, CreateAuthChallenge and
//! VerifyAuthChallengeResponse. (A user's custom-auth answer set through the test-control
//! API, without triggers, is handled by `next` and `respond`.)

use std::collections::HashMap;

use serde_json::{Value, json};

use super::next::next_step;
use super::{Next, challenge, finish, new_session, param};
use crate::cx::Cx;
use crate::sign_in::ChallengeName;
use crate::state::{AuthSession, ChallengeResult, Passed, Pending, SignInContext};
use crate::triggers::{self, Origin, Trigger};
use crate::wire::{CognitoError, OpResult};

/// A trigger-driven CUSTOM_AUTH sign-in waiting for DefineAuthChallenge.
pub(super) struct CustomStep {
    pub(super) pool_id: String,
    pub(super) client_id: String,
    pub(super) username: String,
    pub(super) ctx: SignInContext,
}

/// One round of a trigger-driven CUSTOM_AUTH: DefineAuthChallenge decides from the session
/// so far; tokens, failure, or CreateAuthChallenge makes the next CUSTOM_CHALLENGE.
pub(super) fn round(cx: &Cx<'_>, step: CustomStep) -> OpResult {
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
        ctx.pass(Passed::Custom);
        let next = {
            let mut state = cx.shared.state.write();
            next_step(cx, &mut state, &pool_id, &client_id, &username, ctx)?
        };
        return finish(cx, next);
    }
    let name = decision.get("challengeName").and_then(Value::as_str);
    if name != Some(ChallengeName::CustomChallenge.as_str()) {
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
            "challengeName": ChallengeName::CustomChallenge.as_str(),
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
    match challenge(ChallengeName::CustomChallenge, &session, Value::Object(params)) {
        Next::Challenge(value) => Ok(value),
        _ => Err(CognitoError::internal("a challenge was expected")),
    }
}

/// An answer to a trigger-made CUSTOM_CHALLENGE: VerifyAuthChallengeResponse judges it, and
/// the result joins the session for the next DefineAuthChallenge round.
pub(super) fn answer(
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
        name: ChallengeName::CustomChallenge.as_str(),
        result: correct,
        metadata,
    });
    round(
        cx,
        CustomStep {
            pool_id: session.pool_id,
            client_id: client_id.to_owned(),
            username: session.username,
            ctx,
        },
    )
}
