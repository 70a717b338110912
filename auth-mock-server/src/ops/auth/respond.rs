//! RespondToAuthChallenge for the challenges held in a session (all but the SRP ones):
//! a new password, MFA codes, the MFA choice and setup, and custom challenges.

use std::collections::HashMap;

use serde_json::json;

use super::next::{issue_mfa_challenge, next_step};
use super::start::check_status_after_password;
use super::{Next, challenge, choice, custom, finish, new_session, param};
use crate::cx::Cx;
use crate::limits::{AfterFailure, CodeKind, UserKey};
use crate::ops::check_secret_hash;
use crate::password;
use crate::sign_in::ChallengeName;
use crate::state::{AuthSession, Passed, Pending, State, UserStatus};
use crate::wire::{CognitoError, OpResult};

/// Checks an answer's `SECRET_HASH` against every name the user is known by.
pub(super) fn check_challenge_secret_hash(
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
        names.extend(user.secret_hash_names());
    }
    check_secret_hash(client, &names, responses.get("SECRET_HASH").map(String::as_str))
}

/// Answers the challenge held in session `session_id`: every challenge but the SRP ones.
pub(super) fn answer(
    cx: &Cx<'_>,
    client_id: &str,
    name: ChallengeName,
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
    let expected = match &session.pending {
        // A PASSWORD / PASSWORD_SRP challenge of USER_AUTH is answered under its own name.
        Pending::SelectChallenge { options, .. } if options.contains(&name) => name,
        pending => pending.challenge(),
    };
    if expected != name {
        return Err(CognitoError::invalid_parameter(format!(
            "The session expects an answer to {expected}, not {name}."
        )));
    }
    state.sessions.remove(session_id);
    let answer = Answer { cx, client_id, session_id, session, responses };
    let next = match answer.session.pending.clone() {
        Pending::NewPassword => answer.new_password(&mut state)?,
        Pending::Code { challenge, code } => answer.mfa_code(&mut state, challenge, &code)?,
        Pending::Totp => answer.totp(&mut state)?,
        Pending::SelectMfa { options } => answer.select_mfa(&mut state, &options)?,
        Pending::MfaSetup { verified, .. } => answer.mfa_setup(&mut state, verified)?,
        Pending::Custom { attempts } => answer.custom(&mut state, attempts)?,
        Pending::CustomLambda { .. } => {
            if let Err(error) = param(responses, "ANSWER") {
                answer.retry(&mut state);
                return Err(error);
            }
            drop(state);
            return custom::answer(cx, client_id, answer.session, responses);
        }
        Pending::DeviceSrp { .. } => {
            return Err(CognitoError::invalid_parameter("DEVICE_SRP_AUTH is answered with SRP_A."));
        }
        Pending::SelectChallenge { .. } => {
            drop(state);
            return choice::answer(cx, client_id, name, session_id, answer.session, responses);
        }
        Pending::FirstFactorCode { challenge, code, attempts } => {
            answer.first_factor_code(&mut state, challenge, code, attempts)?
        }
    };
    drop(state);
    finish(cx, next)
}

/// An answer to the challenge of `session`, which was taken out of the state.
struct Answer<'a, 'c> {
    cx: &'a Cx<'c>,
    client_id: &'a str,
    session_id: &'a str,
    session: AuthSession,
    responses: &'a HashMap<String, String>,
}

impl Answer<'_, '_> {
    /// Puts the session back, usable for another try.
    fn retry(&self, state: &mut State) {
        self.retry_with(state, self.session.pending.clone());
    }

    /// Puts the session back holding `pending`.
    fn retry_with(&self, state: &mut State, pending: Pending) {
        let session = AuthSession { pending, ..self.session.clone() };
        state.sessions.insert(self.session_id.to_owned(), session);
    }

    fn param(&self, name: &str) -> OpResult<&str> {
        param(self.responses, name)
    }

    /// What follows once this challenge is passed.
    fn next(&self, state: &mut State, passed: Option<Passed>) -> OpResult<Next> {
        let mut ctx = self.session.ctx.clone();
        if let Some(step) = passed {
            ctx.pass(step);
        }
        let AuthSession { pool_id, username, .. } = &self.session;
        next_step(self.cx, state, pool_id, self.client_id, username, ctx)
    }

    /// NEW_PASSWORD_REQUIRED: the new password and the missing required attributes.
    fn new_password(&self, state: &mut State) -> OpResult<Next> {
        let (pool_id, username) = (&self.session.pool_id, &self.session.username);
        // A refused new password leaves the session usable for another try.
        let (new_password, updates) = match self.check_new_password(state) {
            Ok(ok) => ok,
            Err(error) => {
                self.retry(state);
                return Err(error);
            }
        };
        let pool = state.pool(pool_id)?;
        let record = password::record(pool, username, new_password, self.cx.now(), false);
        let pool = state.pool_mut(pool_id)?;
        let key = pool.user_key(username);
        let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
        user.attributes.extend(updates);
        user.password = Some(record);
        user.status = UserStatus::Confirmed;
        user.modified = self.cx.now_f64();
        let mut next = self.next(state, None)?;
        if let Next::Tokens(grant) = &mut next {
            grant.source = "TokenGeneration_NewPasswordChallenge";
        }
        Ok(next)
    }

    /// The new password and attribute updates of a NEW_PASSWORD_REQUIRED answer, checked.
    fn check_new_password(
        &self,
        state: &State,
    ) -> OpResult<(&str, std::collections::BTreeMap<String, String>)> {
        let new_password = self.param("NEW_PASSWORD")?;
        password::check_shape("NEW_PASSWORD", new_password)?;
        let pool = state.pool(&self.session.pool_id)?;
        password::Policy::of(pool).check(new_password)?;
        let mut updates = std::collections::BTreeMap::new();
        for (key, value) in self.responses {
            if let Some(attribute) = key.strip_prefix("userAttributes.") {
                updates.insert(attribute.to_owned(), value.clone());
            }
        }
        crate::ops::check_attribute_names(pool, &updates)?;
        let user = pool
            .users
            .get(&pool.user_key(&self.session.username))
            .ok_or_else(crate::state::user_not_found)?;
        for required in crate::ops::users::required_attributes(pool) {
            if user.attribute(&required).is_none() && !updates.contains_key(&required) {
                return Err(CognitoError::invalid_parameter(format!(
                    "Invalid attributes given, {required} is missing"
                )));
            }
        }
        Ok((new_password, updates))
    }

    /// A wrong MFA code: counted; the session stays for another try unless that was the
    /// last one.
    fn mfa_code_failed(&self, state: &mut State) {
        let limit_key = UserKey::new(&self.session.pool_id, &self.session.username);
        if state.limits.code_failed(&limit_key, CodeKind::Mfa, 0, self.cx.now_millis())
            == AfterFailure::Retry
        {
            self.retry(state);
        }
    }

    /// A right MFA code: the failures so far are forgotten.
    fn mfa_code_passed(&self, state: &mut State) -> OpResult<Next> {
        let limit_key = UserKey::new(&self.session.pool_id, &self.session.username);
        state.limits.code_reset(&limit_key, CodeKind::Mfa);
        self.next(state, Some(Passed::Mfa))
    }

    /// SMS_MFA or EMAIL_OTP (`challenge`) with the code that was sent.
    fn mfa_code(&self, state: &mut State, challenge: ChallengeName, code: &str) -> OpResult<Next> {
        let field =
            if challenge == ChallengeName::SmsMfa { "SMS_MFA_CODE" } else { "EMAIL_OTP_CODE" };
        if self.param(field)? != code {
            self.mfa_code_failed(state);
            return Err(CognitoError::code_mismatch("Invalid code or auth state for the user."));
        }
        self.mfa_code_passed(state)
    }

    /// SOFTWARE_TOKEN_MFA: a TOTP code of the user's secret.
    fn totp(&self, state: &mut State) -> OpResult<Next> {
        let given = self.param("SOFTWARE_TOKEN_MFA_CODE")?;
        let pool = state.pool(&self.session.pool_id)?;
        let secret = pool
            .users
            .get(&pool.user_key(&self.session.username))
            .and_then(|u| u.mfa.totp_secret.clone())
            .ok_or_else(|| {
                CognitoError::software_token_mfa_not_found("Software token MFA is not set up.")
            })?;
        if !crate::totp::verify(&secret, given, self.cx.shared.clock.now()) {
            self.mfa_code_failed(state);
            return Err(CognitoError::code_mismatch("Invalid code received for user"));
        }
        self.mfa_code_passed(state)
    }

    /// SELECT_MFA_TYPE: the chosen MFA's challenge follows.
    fn select_mfa(&self, state: &mut State, options: &[ChallengeName]) -> OpResult<Next> {
        let answer = self.param("ANSWER")?;
        // EMAIL_MFA is what clients call the EMAIL_OTP choice.
        let answer = if answer == "EMAIL_MFA" { ChallengeName::EmailOtp.as_str() } else { answer };
        let Some(choice) = options.iter().copied().find(|o| o.as_str() == answer) else {
            self.retry(state);
            return Err(CognitoError::invalid_parameter(format!("Invalid MFA type {answer}.")));
        };
        let AuthSession { pool_id, username, ctx, .. } = &self.session;
        issue_mfa_challenge(self.cx, state, pool_id, self.client_id, username, choice, ctx.clone())
    }

    /// MFA_SETUP: answered once VerifySoftwareToken accepted a code with this session.
    fn mfa_setup(&self, state: &mut State, verified: bool) -> OpResult<Next> {
        if !verified {
            self.retry(state);
            return Err(CognitoError::invalid_parameter(
                "MFA_SETUP is answered after AssociateSoftwareToken and VerifySoftwareToken with this session.",
            ));
        }
        self.next(state, Some(Passed::Mfa))
    }

    /// CUSTOM_CHALLENGE without triggers: the user's answer set through the test-control
    /// API, three tries.
    fn custom(&self, state: &mut State, attempts: u32) -> OpResult<Next> {
        let answer = self.param("ANSWER")?;
        let AuthSession { pool_id, username, ctx, .. } = &self.session;
        let pool = state.pool(pool_id)?;
        let expected = pool
            .users
            .get(&pool.user_key(username))
            .and_then(|u| u.custom_auth.as_ref())
            .map(|c| c.answer.clone());
        if expected.as_deref() == Some(answer) {
            self.next(state, Some(Passed::Custom))
        } else if attempts + 1 >= 3 {
            Err(CognitoError::bad_credentials())
        } else {
            let params = json!({ "USERNAME": username });
            let pending = Pending::Custom { attempts: attempts + 1 };
            let new = new_session(
                self.cx,
                state,
                pool_id,
                self.client_id,
                username,
                pending,
                ctx.clone(),
            );
            Ok(challenge(ChallengeName::CustomChallenge, &new, params))
        }
    }

    /// EMAIL_OTP or SMS_OTP (`challenge`) as `USER_AUTH`'s first factor; `code` is `None`
    /// for a simulated challenge.
    fn first_factor_code(
        &self,
        state: &mut State,
        challenge: ChallengeName,
        code: Option<String>,
        attempts: u32,
    ) -> OpResult<Next> {
        let field =
            if challenge == ChallengeName::SmsOtp { "SMS_OTP_CODE" } else { "EMAIL_OTP_CODE" };
        let given = match self.param(field) {
            Ok(given) => given,
            Err(error) => {
                self.retry(state);
                return Err(error);
            }
        };
        if code.as_deref() != Some(given) {
            // The last allowed wrong code ends the session.
            if attempts + 1 < choice::CODE_ATTEMPTS {
                let attempts = attempts + 1;
                self.retry_with(state, Pending::FirstFactorCode { challenge, code, attempts });
            }
            return Err(CognitoError::code_mismatch("Invalid code or auth state for the user."));
        }
        let AuthSession { pool_id, username, .. } = &self.session;
        let pool = state.pool(pool_id)?;
        let user =
            pool.users.get(&pool.user_key(username)).ok_or_else(crate::state::user_not_found)?;
        if !user.enabled {
            return Err(CognitoError::not_authorized("User is disabled."));
        }
        check_status_after_password(state, pool_id, username, self.cx.now())?;
        // The code proved a second channel: no MFA follows a one-time-code first factor.
        self.next(state, Some(Passed::Mfa))
    }
}
