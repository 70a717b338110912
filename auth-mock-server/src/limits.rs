//! Attempt limits as Cognito documents them: sign-in lockout after repeated password (or SRP)
//! failures, and per-code attempt limits for confirmation, reset, MFA, attribute and
//! software-token codes.
//!
//! Cognito's sign-in lockout: after five failed password proofs a user is locked out for one
//! second; each further failure doubles the lockout (2^(n-5) seconds for n failures), up to
//! about fifteen minutes. Attempts during a lockout are refused with `NotAuthorizedException`
//! "Password attempts exceeded" and do not count. A successful sign-in, or fifteen minutes
//! without a failure, starts over.
//!
//! Code limits: a wrong code is `CodeMismatchException` (or the operation's own mismatch
//! answer); once a code purpose has used up its attempts the next try is refused until a new
//! code is issued or the cool-down has passed on the server clock.
//!
//! Everything here lives in [`crate::state::State`], so `/_mock/reset` forgets it, and every
//! entry ends on the server clock, so moving the clock ends lockouts. Entries are keyed by
//! pool and internal username; [`Limits::sweep`] drops the ones that no longer restrict
//! anything, which keeps the table as small as the set of users currently failing.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;

use crate::Shared;
use crate::state::State;
use crate::wire::CognitoError;

/// Failed password proofs before the first lockout.
pub(crate) const FREE_PASSWORD_FAILURES: u32 = 5;
/// The longest lockout (Cognito: "about fifteen minutes").
pub(crate) const MAX_LOCKOUT_MILLIS: u64 = 15 * 60 * 1000;
/// Quiet time after which failures are forgotten.
pub(crate) const FORGET_AFTER_MILLIS: u64 = 15 * 60 * 1000;
/// How long a code purpose whose attempts are used up stays refused (unless a new code is
/// issued first).
pub(crate) const CODE_COOL_DOWN_MILLIS: u64 = 15 * 60 * 1000;

/// A user of a pool, by internal username (not by alias).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct UserKey {
    pool_id: String,
    username: String,
}

impl UserKey {
    /// The key of `username` (the internal name, as stored) in `pool_id`.
    pub(crate) fn new(pool_id: &str, username: &str) -> Self {
        Self { pool_id: pool_id.to_owned(), username: username.to_owned() }
    }

    /// The pool id.
    pub(crate) fn pool_id(&self) -> &str {
        &self.pool_id
    }

    /// The internal username.
    pub(crate) fn username(&self) -> &str {
        &self.username
    }
}

/// What a counted code is for. Each purpose has its own attempt budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CodeKind {
    /// ConfirmSignUp.
    SignUp,
    /// ConfirmForgotPassword.
    ForgotPassword,
    /// VerifyUserAttribute (all attributes share one budget).
    Attribute,
    /// An SMS or email MFA code, or a TOTP code, answering a sign-in challenge.
    Mfa,
    /// VerifySoftwareToken.
    SoftwareToken,
}

impl CodeKind {
    /// Wrong codes allowed before the purpose is refused. MFA codes follow the sign-in
    /// session: the third wrong code ends the session (as a one-time-code first factor does).
    fn budget(self) -> u32 {
        match self {
            Self::Mfa => 3,
            Self::SignUp | Self::ForgotPassword | Self::Attribute | Self::SoftwareToken => 5,
        }
    }

    /// The answer once the budget is used up.
    fn exhausted(self) -> CognitoError {
        match self {
            Self::SignUp | Self::ForgotPassword | Self::Attribute => {
                CognitoError::limit_exceeded("Attempt limit exceeded, please try after some time.")
            }
            Self::Mfa | Self::SoftwareToken => CognitoError::too_many_failed_attempts(
                "Too many failed attempts, please try after some time.",
            ),
        }
    }
}

/// What the caller should do after a wrong code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// The code (or the session holding it) may be tried again.
    Retry,
    /// That was the last allowed attempt: end the session, refuse further tries.
    Exhausted,
}

#[derive(Debug, Clone, Copy)]
struct Lockout {
    failures: u32,
    locked_until: u64,
    last_failure: u64,
}

#[derive(Debug, Clone, Copy)]
struct CodeAttempts {
    failures: u32,
    last_failure: u64,
    /// Which code the failures were counted against ([`code_tag`]): a newly issued code
    /// starts with a full budget without every issuing path having to reset the counter.
    tag: u64,
}

/// Identifies one issued code (or TOTP secret) for [`Limits::check_code`]: a hash of the code
/// and its expiry. MFA challenges pass 0 (their budget follows the session).
pub(crate) fn code_tag(code: &str, expires_at: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    code.hash(&mut hasher);
    expires_at.hash(&mut hasher);
    hasher.finish()
}

/// The attempt counters of one server (times in milliseconds on the server clock).
#[derive(Debug, Default)]
pub(crate) struct Limits {
    sign_in: HashMap<UserKey, Lockout>,
    codes: HashMap<(UserKey, CodeKind), CodeAttempts>,
}

impl Limits {
    /// Refuses a sign-in attempt while the user is locked out.
    pub(crate) fn check_sign_in(&self, user: &UserKey, now: u64) -> Result<(), CognitoError> {
        match self.sign_in.get(user) {
            Some(lockout) if now < lockout.locked_until => {
                Err(CognitoError::not_authorized("Password attempts exceeded"))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed password proof; from the fifth on, the user is locked out for
    /// 2^(n-5) seconds (at most [`MAX_LOCKOUT_MILLIS`]).
    pub(crate) fn password_failed(&mut self, user: &UserKey, now: u64) {
        let entry = self.sign_in.entry(user.clone()).or_insert(Lockout {
            failures: 0,
            locked_until: 0,
            last_failure: now,
        });
        if now.saturating_sub(entry.last_failure) >= FORGET_AFTER_MILLIS
            && now >= entry.locked_until
        {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures >= FREE_PASSWORD_FAILURES {
            let doublings = entry.failures - FREE_PASSWORD_FAILURES;
            // 2^20 s is far past the cap; stopping there keeps the shift in range.
            let seconds = 1u64 << doublings.min(20);
            entry.locked_until = now.saturating_add((seconds * 1000).min(MAX_LOCKOUT_MILLIS));
        }
    }

    /// A proven password starts the count over.
    pub(crate) fn sign_in_succeeded(&mut self, user: &UserKey) {
        self.sign_in.remove(user);
    }

    /// Refuses a code whose attempts are used up (until the cool-down has passed).
    pub(crate) fn check_code(
        &self,
        user: &UserKey,
        kind: CodeKind,
        tag: u64,
        now: u64,
    ) -> Result<(), CognitoError> {
        match self.codes.get(&(user.clone(), kind)) {
            Some(attempts)
                if attempts.tag == tag
                    && attempts.failures >= kind.budget()
                    && now.saturating_sub(attempts.last_failure) < CODE_COOL_DOWN_MILLIS =>
            {
                Err(kind.exhausted())
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong code. For [`CodeKind::Mfa`] an exhausted budget is forgotten at once:
    /// the session ends, and the next sign-in starts with a fresh budget.
    pub(crate) fn code_failed(
        &mut self,
        user: &UserKey,
        kind: CodeKind,
        tag: u64,
        now: u64,
    ) -> AfterFailure {
        let key = (user.clone(), kind);
        let entry = self.codes.entry(key.clone()).or_insert(CodeAttempts {
            failures: 0,
            last_failure: now,
            tag,
        });
        if entry.tag != tag || now.saturating_sub(entry.last_failure) >= CODE_COOL_DOWN_MILLIS {
            entry.failures = 0;
            entry.tag = tag;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures < kind.budget() {
            return AfterFailure::Retry;
        }
        if kind == CodeKind::Mfa {
            self.codes.remove(&key);
        }
        AfterFailure::Exhausted
    }

    /// A new code was issued, or the code was accepted: the budget starts over.
    pub(crate) fn code_reset(&mut self, user: &UserKey, kind: CodeKind) {
        self.codes.remove(&(user.clone(), kind));
    }

    /// Forgets every lockout and code counter (the `/_mock/attempt-limits` endpoint).
    pub(crate) fn clear(&mut self) {
        self.sign_in.clear();
        self.codes.clear();
    }

    /// Counters held (sign-in lockouts plus code counters), for `/_mock/stats`.
    pub(crate) fn len(&self) -> usize {
        self.sign_in.len() + self.codes.len()
    }

    /// Drops entries that no longer restrict anything at `now`.
    pub(crate) fn sweep(&mut self, now: u64) {
        self.sign_in.retain(|_, l| {
            now < l.locked_until || now.saturating_sub(l.last_failure) < FORGET_AFTER_MILLIS
        });
        self.codes.retain(|_, c| now.saturating_sub(c.last_failure) < CODE_COOL_DOWN_MILLIS);
    }
}

/// Pending challenges (sessions plus SRP exchanges) the server holds at most: beyond this a
/// new sign-in is refused with `LimitExceededException` until the sweep has made room, so no
/// caller can make the server hold an unbounded number of half-finished sign-ins.
pub(crate) const MAX_PENDING_CHALLENGES: usize = 100_000;

/// How often expired sessions, tokens and counters are swept (real time).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Makes room for one more pending challenge: sweeps expired ones when the table is full and
/// refuses when that does not help.
pub(crate) fn admit_pending(state: &mut State, now: u64) -> Result<(), CognitoError> {
    if state.sessions.len() + state.srp.len() < MAX_PENDING_CHALLENGES {
        return Ok(());
    }
    crate::ops::sweep(state, now);
    if state.sessions.len() + state.srp.len() < MAX_PENDING_CHALLENGES {
        Ok(())
    } else {
        Err(CognitoError::limit_exceeded(format!(
            "The server holds {MAX_PENDING_CHALLENGES} unfinished sign-ins; finish or abandon some first."
        )))
    }
}

/// Sweeps expired challenge sessions, SRP exchanges, token records and attempt counters
/// every few seconds, so that abandoned sign-ins do not accumulate between token issues.
pub(crate) async fn sweep_periodically(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => return,
        }
        let now = shared.clock.now_secs();
        crate::ops::sweep(&mut shared.state.write(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserKey {
        UserKey::new("us-east-1_x", "alice")
    }

    #[test]
    fn lockout_starts_at_the_fifth_failure_and_doubles() {
        let mut limits = Limits::default();
        let user = alice();
        for _ in 0..4 {
            limits.password_failed(&user, 0);
            assert!(limits.check_sign_in(&user, 0).is_ok());
        }
        limits.password_failed(&user, 0);
        let refused = limits.check_sign_in(&user, 999).unwrap_err();
        assert_eq!(refused.kind(), "NotAuthorizedException");
        assert_eq!(refused.message(), "Password attempts exceeded");
        assert!(limits.check_sign_in(&user, 1000).is_ok());
        limits.password_failed(&user, 1000);
        assert!(limits.check_sign_in(&user, 2999).is_err());
        assert!(limits.check_sign_in(&user, 3000).is_ok());
    }

    #[test]
    fn lockout_is_capped_and_success_or_quiet_time_starts_over() {
        let mut limits = Limits::default();
        let user = alice();
        for _ in 0..40 {
            limits.password_failed(&user, 0);
        }
        assert!(limits.check_sign_in(&user, MAX_LOCKOUT_MILLIS - 1).is_err());
        assert!(limits.check_sign_in(&user, MAX_LOCKOUT_MILLIS).is_ok());
        // Fifteen quiet minutes after the lockout: the next failure is the first again.
        limits.password_failed(&user, MAX_LOCKOUT_MILLIS + FORGET_AFTER_MILLIS);
        assert!(limits.check_sign_in(&user, MAX_LOCKOUT_MILLIS + FORGET_AFTER_MILLIS).is_ok());
        for _ in 0..10 {
            limits.password_failed(&user, 0);
        }
        limits.sign_in_succeeded(&user);
        assert!(limits.check_sign_in(&user, 0).is_ok());
    }

    #[test]
    fn code_budgets_end_and_reset() {
        let mut limits = Limits::default();
        let user = alice();
        for _ in 0..4 {
            assert_eq!(limits.code_failed(&user, CodeKind::SignUp, 7, 0), AfterFailure::Retry);
        }
        assert_eq!(limits.code_failed(&user, CodeKind::SignUp, 7, 0), AfterFailure::Exhausted);
        let refused = limits.check_code(&user, CodeKind::SignUp, 7, 0).unwrap_err();
        assert_eq!(refused.kind(), "LimitExceededException");
        // Other purposes keep their own budget.
        assert!(limits.check_code(&user, CodeKind::ForgotPassword, 7, 0).is_ok());
        assert!(limits.check_code(&user, CodeKind::SignUp, 7, CODE_COOL_DOWN_MILLIS).is_ok());
        // A new code has a new budget.
        assert!(limits.check_code(&user, CodeKind::SignUp, 8, 0).is_ok());
        limits.code_reset(&user, CodeKind::SignUp);
        assert!(limits.check_code(&user, CodeKind::SignUp, 7, 0).is_ok());
    }

    #[test]
    fn an_exhausted_mfa_budget_ends_the_session_and_starts_over() {
        let mut limits = Limits::default();
        let user = alice();
        assert_eq!(limits.code_failed(&user, CodeKind::Mfa, 0, 0), AfterFailure::Retry);
        assert_eq!(limits.code_failed(&user, CodeKind::Mfa, 0, 0), AfterFailure::Retry);
        assert_eq!(limits.code_failed(&user, CodeKind::Mfa, 0, 0), AfterFailure::Exhausted);
        assert_eq!(limits.code_failed(&user, CodeKind::Mfa, 0, 0), AfterFailure::Retry);
    }

    #[test]
    fn sweep_keeps_only_what_still_restricts() {
        let mut limits = Limits::default();
        let user = alice();
        limits.password_failed(&user, 0);
        limits.code_failed(&user, CodeKind::Attribute, 7, 0);
        limits.sweep(1);
        assert_eq!((limits.sign_in.len(), limits.codes.len()), (1, 1));
        limits.sweep(FORGET_AFTER_MILLIS.max(CODE_COOL_DOWN_MILLIS));
        assert_eq!((limits.sign_in.len(), limits.codes.len()), (0, 0));
    }
}
