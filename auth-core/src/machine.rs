//! The user-state machine as a pure function.
//!
//! [`transition`] takes the current [`MachineState`] and an [`Event`] and returns the next
//! state plus the [`Effect`]s the shell (`AuthClient`) must perform. It does no IO and
//! reads no clock: everything it needs (is the device online? is the federated token
//! still valid?) arrives in the state or the event. That keeps the user-state rules in
//! one place, where they can be tested exhaustively and snapshotted as traces.
//!
//! The rules in brief:
//! - A token request that misses the cache starts one refresh (or joins the one in
//!   flight); offline, it marks the user-pool tokens invalid, announces it and blocks.
//! - A rejected refresh marks the tokens invalid and leaves requests waiting for a new
//!   sign-in; a refresh that failed for network reasons is not a rejection: requests get
//!   the error (online) or block until connectivity returns (offline).
//! - Nothing is cleared except by an explicit sign-out.

use serde::Serialize;

use crate::types::{UserState, UserStateDetails};

/// Which session the user has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum SessionKind {
    /// No user session (signed out, or a guest).
    #[default]
    None,
    /// A user-pool session (tokens that refresh).
    UserPool,
    /// A session from a third-party provider, federated into an identity pool.
    Federated {
        /// The provider's logins key.
        provider: String,
    },
}

pub use crate::types::InvalidReason;

/// Why a user-pool session's tokens are invalid: the subset of [`InvalidReason`] a
/// user-pool session can have (only federated tokens expire without a refresh).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum UserPoolInvalid {
    /// They expired while offline; they will be refreshed when connectivity returns.
    Offline,
    /// The service rejected the refresh token; only a new sign-in helps.
    Rejected,
}

impl From<UserPoolInvalid> for InvalidReason {
    fn from(reason: UserPoolInvalid) -> Self {
        match reason {
            UserPoolInvalid::Offline => InvalidReason::Offline,
            UserPoolInvalid::Rejected => InvalidReason::Rejected,
        }
    }
}

/// The session the machine tracks and whether it is usable. Each variant carries only
/// what can be true of it: a signed-in session has no invalid reason unless its tokens are
/// invalid, and only a user-pool session has a token refresh.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Phase {
    /// Before initialisation.
    Unknown,
    /// No user session: signed out, or a guest when guest access is configured.
    NoSession,
    /// A user-pool session (tokens that refresh).
    UserPool {
        /// Why its tokens are invalid (`SignedOutUserPoolsTokensInvalid`); `None` while
        /// signed in.
        invalid: Option<UserPoolInvalid>,
        /// A token refresh is in flight.
        refreshing: bool,
    },
    /// A third-party provider's session, federated into an identity pool.
    Federated {
        /// The provider's logins key.
        provider: String,
        /// Why its token is invalid (`SignedOutFederatedTokensInvalid`); `None` while
        /// signed in.
        invalid: Option<InvalidReason>,
    },
}

impl Phase {
    /// The phase a freshly signed-in (or loaded) session of `kind` starts in.
    fn signed_in(kind: &SessionKind) -> Self {
        match kind {
            SessionKind::None => Phase::NoSession,
            SessionKind::UserPool => Phase::UserPool { invalid: None, refreshing: false },
            SessionKind::Federated { provider } => {
                Phase::Federated { provider: provider.clone(), invalid: None }
            }
        }
    }
}

/// Everything the machine knows.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct MachineState {
    /// The session and its validity.
    pub phase: Phase,
    /// Whether guest (unauthenticated) access is configured.
    pub guest_allowed: bool,
    /// Whether the connectivity source says online.
    pub online: bool,
    /// An AWS-credentials refresh is in flight.
    pub credentials_refresh: bool,
}

impl MachineState {
    /// The state before initialisation.
    pub fn new(guest_allowed: bool, online: bool) -> Self {
        Self { phase: Phase::Unknown, guest_allowed, online, credentials_refresh: false }
    }

    /// The state the app sees.
    pub fn user_state(&self) -> UserState {
        match &self.phase {
            Phase::Unknown => UserState::Unknown,
            Phase::NoSession if self.guest_allowed => UserState::Guest,
            Phase::NoSession => UserState::SignedOut,
            Phase::UserPool { invalid: None, .. } | Phase::Federated { invalid: None, .. } => {
                UserState::SignedIn
            }
            Phase::UserPool { invalid: Some(_), .. } => UserState::SignedOutUserPoolsTokensInvalid,
            Phase::Federated { invalid: Some(_), .. } => UserState::SignedOutFederatedTokensInvalid,
        }
    }

    /// True while a user-pool token refresh is in flight.
    pub fn token_refresh(&self) -> bool {
        matches!(self.phase, Phase::UserPool { refreshing: true, .. })
    }

    /// The state with its details, as listeners see it.
    pub fn details(&self) -> UserStateDetails {
        let mut details = UserStateDetails::new(self.user_state());
        match &self.phase {
            Phase::UserPool { invalid, .. } => details.reason = invalid.map(InvalidReason::from),
            Phase::Federated { provider, invalid } => {
                details.provider = Some(provider.clone());
                details.reason = *invalid;
            }
            Phase::Unknown | Phase::NoSession => {}
        }
        details
    }
}

/// Whether a sign-in of `kind` may start in `state`: not before initialisation, and not
/// over a signed-in user (sign out first), except that a federated user may present a
/// fresh provider token at any time. Allowed when nobody is signed in, for a guest, and in
/// the `...TokensInvalid` states (a re-sign-in, which completes waiting requests).
pub fn check_sign_in(state: &MachineState, kind: &SessionKind) -> Result<(), Failure> {
    match (&state.phase, kind) {
        (Phase::Unknown, _) => Err(Failure::NotInitialized),
        (Phase::Federated { invalid: None, .. }, SessionKind::Federated { .. }) => Ok(()),
        (Phase::UserPool { invalid: None, .. } | Phase::Federated { invalid: None, .. }, _) => {
            Err(Failure::AlreadySignedIn)
        }
        _ => Ok(()),
    }
}

/// Something that happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Event {
    /// The store was loaded; `session` is what it held.
    Initialized {
        /// The stored session's kind.
        session: SessionKind,
    },
    /// A sign-in (user pool or federated) completed.
    SignedIn {
        /// The new session's kind.
        session: SessionKind,
    },
    /// The app signed the user out.
    SignedOut,
    /// A caller asked for user-pool tokens and the cache had no valid ones.
    TokensNeeded,
    /// The token refresh succeeded.
    TokenRefreshSucceeded,
    /// The service rejected the refresh token.
    TokenRefreshRejected,
    /// The token refresh failed without an answer (network, throttling, 5xx).
    TokenRefreshFailed,
    /// A caller asked for AWS credentials and the cache had no valid ones.
    CredentialsNeeded {
        /// For a federated session: whether the provider token is still valid.
        federated_token_valid: bool,
    },
    /// The credentials refresh succeeded.
    CredentialsRefreshSucceeded,
    /// The identity pool rejected the logins.
    CredentialsRefreshRejected,
    /// The credentials refresh failed without a rejection (network, throttling, or the
    /// tokens it needed could not be had).
    CredentialsRefreshFailed,
    /// The connectivity source changed.
    ConnectivityChanged {
        /// The new value.
        online: bool,
    },
    /// The app called `release_sign_in_wait()`.
    ReleaseRequested,
}

/// Requests waiting inside the client, as targets of [`Effect::FailWaiters`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Waiters {
    /// Requests for user-pool tokens waiting on a refresh.
    Tokens,
    /// Requests for AWS credentials waiting on a refresh.
    Credentials,
    /// Requests blocked until a sign-in or connectivity.
    Blocked,
    /// Every waiting request.
    All,
}

/// Why a request fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Failure {
    /// The client is not initialised.
    NotInitialized,
    /// No session of the kind the request needs.
    NotSignedIn,
    /// The app released the wait.
    Released,
    /// The user signed out.
    SignedOut,
    /// The refresh the request waited on failed; the shell reports that refresh's error.
    RefreshFailed,
    /// A user is signed in: a sign-in needs a sign-out first.
    AlreadySignedIn,
}

/// How the request that caused an event should wait, for [`Effect::Wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Wait {
    /// For the refresh in flight.
    ForRefresh,
    /// For the user to sign in again (or connectivity to return), until released or the
    /// deadline passes.
    ForSignIn,
    /// For connectivity to return, until released or the deadline passes.
    ForConnectivity,
}

/// Something the shell must do.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Effect {
    /// Tell listeners about the new state.
    Notify(UserStateDetails),
    /// Start refreshing user-pool tokens.
    StartTokenRefresh,
    /// Start refreshing AWS credentials.
    StartCredentialsRefresh,
    /// The requesting caller waits.
    Wait(Wait),
    /// The requesting caller fails.
    Fail(Failure),
    /// Waiting requests re-check what they wait for.
    ResumeWaiters,
    /// Waiting requests fail.
    FailWaiters(Waiters, Failure),
}

/// The next state and what to do about it.
///
/// The events that change the session (`SignedIn`, `SignedOut`, the refresh successes)
/// are fed after the shell has saved or cleared the store: a change is never visible
/// before it is durable, so persisting is not an effect of the transition.
pub fn transition(state: &MachineState, event: &Event) -> (MachineState, Vec<Effect>) {
    let mut next = state.clone();
    let mut effects = Vec::new();
    match event {
        Event::Initialized { session } => next.phase = Phase::signed_in(session),
        Event::SignedIn { session } => {
            // Refreshes of the previous session are discarded by the shell when they end.
            next.phase = Phase::signed_in(session);
            next.credentials_refresh = false;
            effects.push(Effect::ResumeWaiters);
        }
        Event::SignedOut => {
            next.phase = Phase::NoSession;
            next.credentials_refresh = false;
            effects.push(Effect::FailWaiters(Waiters::All, Failure::SignedOut));
        }
        Event::TokensNeeded => tokens_needed(state, &mut next, &mut effects),
        Event::TokenRefreshSucceeded => {
            if let Phase::UserPool { .. } = state.phase {
                next.phase = Phase::UserPool { invalid: None, refreshing: false };
                effects.push(Effect::ResumeWaiters);
            }
        }
        Event::TokenRefreshRejected => {
            if let Phase::UserPool { .. } = state.phase {
                next.phase =
                    Phase::UserPool { invalid: Some(UserPoolInvalid::Rejected), refreshing: false };
                effects.push(Effect::ResumeWaiters);
            }
        }
        Event::TokenRefreshFailed => {
            if let Phase::UserPool { invalid, .. } = state.phase {
                if state.online {
                    next.phase = Phase::UserPool { invalid, refreshing: false };
                    effects.push(Effect::FailWaiters(Waiters::Tokens, Failure::RefreshFailed));
                } else {
                    // Connectivity went away during the refresh: block, as an offline
                    // request would have.
                    next.phase = Phase::UserPool {
                        invalid: Some(UserPoolInvalid::Offline),
                        refreshing: false,
                    };
                    effects.push(Effect::ResumeWaiters);
                }
            }
        }
        Event::CredentialsNeeded { federated_token_valid } => {
            credentials_needed(state, *federated_token_valid, &mut next, &mut effects)
        }
        Event::CredentialsRefreshSucceeded => {
            next.credentials_refresh = false;
            if let Phase::Federated { provider, invalid: Some(_) } = &state.phase {
                next.phase = Phase::Federated { provider: provider.clone(), invalid: None };
            }
            effects.push(Effect::ResumeWaiters);
        }
        Event::CredentialsRefreshRejected => {
            next.credentials_refresh = false;
            if let Phase::Federated { provider, .. } = &state.phase {
                next.phase = Phase::Federated {
                    provider: provider.clone(),
                    invalid: Some(InvalidReason::Rejected),
                };
                effects.push(Effect::ResumeWaiters);
            } else {
                effects.push(Effect::FailWaiters(Waiters::Credentials, Failure::RefreshFailed));
            }
        }
        Event::CredentialsRefreshFailed => {
            next.credentials_refresh = false;
            if state.online {
                effects.push(Effect::FailWaiters(Waiters::Credentials, Failure::RefreshFailed));
            } else {
                effects.push(Effect::ResumeWaiters);
            }
        }
        Event::ConnectivityChanged { online } => {
            next.online = *online;
            if *online && !state.online {
                match &state.phase {
                    Phase::UserPool {
                        invalid: Some(UserPoolInvalid::Offline),
                        refreshing: false,
                    } => {
                        next.phase = Phase::UserPool {
                            invalid: Some(UserPoolInvalid::Offline),
                            refreshing: true,
                        };
                        effects.push(Effect::StartTokenRefresh);
                    }
                    Phase::Federated { invalid: Some(InvalidReason::Offline), .. }
                        if !state.credentials_refresh =>
                    {
                        next.credentials_refresh = true;
                        effects.push(Effect::StartCredentialsRefresh);
                    }
                    _ => {}
                }
                effects.push(Effect::ResumeWaiters);
            }
        }
        Event::ReleaseRequested => {
            effects.push(Effect::FailWaiters(Waiters::Blocked, Failure::Released));
        }
    }
    if next.user_state() != state.user_state() {
        effects.insert(0, Effect::Notify(next.details()));
    }
    (next, effects)
}

fn tokens_needed(state: &MachineState, next: &mut MachineState, effects: &mut Vec<Effect>) {
    match state.phase {
        Phase::Unknown => effects.push(Effect::Fail(Failure::NotInitialized)),
        Phase::UserPool { invalid: Some(UserPoolInvalid::Rejected), .. } => {
            effects.push(Effect::Wait(Wait::ForSignIn))
        }
        Phase::UserPool { refreshing: true, .. } => effects.push(Effect::Wait(Wait::ForRefresh)),
        Phase::UserPool { invalid, refreshing: false } => {
            if state.online {
                next.phase = Phase::UserPool { invalid, refreshing: true };
                effects.extend([Effect::StartTokenRefresh, Effect::Wait(Wait::ForRefresh)]);
            } else {
                next.phase =
                    Phase::UserPool { invalid: Some(UserPoolInvalid::Offline), refreshing: false };
                effects.push(Effect::Wait(Wait::ForSignIn));
            }
        }
        Phase::NoSession | Phase::Federated { .. } => {
            effects.push(Effect::Fail(Failure::NotSignedIn))
        }
    }
}

fn credentials_needed(
    state: &MachineState,
    federated_token_valid: bool,
    next: &mut MachineState,
    effects: &mut Vec<Effect>,
) {
    let start_or_join = |next: &mut MachineState, effects: &mut Vec<Effect>| {
        if !state.credentials_refresh {
            next.credentials_refresh = true;
            effects.push(Effect::StartCredentialsRefresh);
        }
        effects.push(Effect::Wait(Wait::ForRefresh));
    };
    let invalidate = |next: &mut MachineState, provider: &str, reason: InvalidReason| {
        next.phase = Phase::Federated { provider: provider.to_owned(), invalid: Some(reason) };
    };
    match &state.phase {
        Phase::Unknown => effects.push(Effect::Fail(Failure::NotInitialized)),
        Phase::NoSession if !state.guest_allowed => {
            effects.push(Effect::Fail(Failure::NotSignedIn))
        }
        Phase::UserPool { invalid: Some(invalid), .. }
            if *invalid == UserPoolInvalid::Rejected || !state.online =>
        {
            effects.push(Effect::Wait(Wait::ForSignIn))
        }
        Phase::Federated { provider, invalid } => {
            if !federated_token_valid {
                invalidate(next, provider, InvalidReason::Expired);
                effects.push(Effect::Wait(Wait::ForSignIn));
            } else if *invalid == Some(InvalidReason::Rejected) {
                effects.push(Effect::Wait(Wait::ForSignIn));
            } else if state.credentials_refresh {
                effects.push(Effect::Wait(Wait::ForRefresh));
            } else if state.online {
                start_or_join(next, effects);
            } else {
                invalidate(next, provider, InvalidReason::Offline);
                effects.push(Effect::Wait(Wait::ForSignIn));
            }
        }
        _ if state.credentials_refresh => effects.push(Effect::Wait(Wait::ForRefresh)),
        // A user-pool user's credentials expired offline: they cannot be had until the
        // tokens they are federated from are refreshed, which needs the network. Announce
        // it as an offline token request does, rather than blocking silently; connectivity
        // returning then refreshes the tokens, and the credentials after them.
        Phase::UserPool { invalid: None, refreshing: false } if !state.online => {
            next.phase =
                Phase::UserPool { invalid: Some(UserPoolInvalid::Offline), refreshing: false };
            effects.push(Effect::Wait(Wait::ForSignIn));
        }
        _ if !state.online => effects.push(Effect::Wait(Wait::ForConnectivity)),
        // A guest, a user-pool user (whose refresh fetches tokens first), or a user-pool
        // session whose tokens expired offline and can now be refreshed.
        _ => start_or_join(next, effects),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_in(online: bool) -> MachineState {
        let (state, _) = transition(
            &MachineState::new(false, online),
            &Event::Initialized { session: SessionKind::UserPool },
        );
        state
    }

    #[test]
    fn initialise_chooses_the_state_from_the_store() {
        let cases = [
            (SessionKind::None, false, UserState::SignedOut),
            (SessionKind::None, true, UserState::Guest),
            (SessionKind::UserPool, true, UserState::SignedIn),
            (
                SessionKind::Federated { provider: "accounts.google.com".into() },
                false,
                UserState::SignedIn,
            ),
        ];
        for (session, guest, expected) in cases {
            let (state, effects) =
                transition(&MachineState::new(guest, true), &Event::Initialized { session });
            assert_eq!(state.user_state(), expected);
            assert_eq!(effects, vec![Effect::Notify(state.details())]);
        }
    }

    #[test]
    fn concurrent_requests_share_one_refresh() {
        let state = signed_in(true);
        let (state, first) = transition(&state, &Event::TokensNeeded);
        assert_eq!(first, vec![Effect::StartTokenRefresh, Effect::Wait(Wait::ForRefresh)]);
        let (_, second) = transition(&state, &Event::TokensNeeded);
        assert_eq!(second, vec![Effect::Wait(Wait::ForRefresh)]);
    }

    #[test]
    fn offline_never_signs_out() {
        // Whatever happens while offline, no effect clears the session.
        let events = [
            Event::TokensNeeded,
            Event::TokenRefreshFailed,
            Event::CredentialsNeeded { federated_token_valid: true },
            Event::CredentialsRefreshFailed,
            Event::ReleaseRequested,
            Event::TokensNeeded,
        ];
        let mut state = signed_in(false);
        for event in &events {
            let (next, effects) = transition(&state, event);
            assert!(matches!(next.phase, Phase::UserPool { .. }), "{event:?} dropped the session");
            let signed_out = Effect::FailWaiters(Waiters::All, Failure::SignedOut);
            assert!(!effects.contains(&signed_out), "{event:?} signed the user out");
            assert_ne!(next.user_state(), UserState::SignedOut);
            state = next;
        }
        assert_eq!(state.user_state(), UserState::SignedOutUserPoolsTokensInvalid);
        assert_eq!(state.details().reason, Some(InvalidReason::Offline));
    }

    #[test]
    fn credentials_needed_offline_by_a_user_pool_user_are_announced() {
        let (state, effects) = transition(
            &signed_in(false),
            &Event::CredentialsNeeded { federated_token_valid: true },
        );
        assert_eq!(state.user_state(), UserState::SignedOutUserPoolsTokensInvalid);
        assert_eq!(state.details().reason, Some(InvalidReason::Offline));
        assert_eq!(effects, vec![Effect::Notify(state.details()), Effect::Wait(Wait::ForSignIn)]);
        // Connectivity returning refreshes the tokens first, and wakes the request.
        let (_, effects) = transition(&state, &Event::ConnectivityChanged { online: true });
        assert_eq!(effects, [Effect::StartTokenRefresh, Effect::ResumeWaiters]);
    }

    #[test]
    fn reconnecting_restarts_the_refresh_once() {
        let (state, _) = transition(&signed_in(false), &Event::TokensNeeded);
        let (state, effects) = transition(&state, &Event::ConnectivityChanged { online: true });
        assert_eq!(effects, vec![Effect::StartTokenRefresh, Effect::ResumeWaiters]);
        let (_, effects) = transition(&state, &Event::TokensNeeded);
        assert_eq!(effects, vec![Effect::Wait(Wait::ForRefresh)]);
    }

    #[test]
    fn a_rejected_refresh_waits_for_sign_in() {
        let (state, _) = transition(&signed_in(true), &Event::TokensNeeded);
        let (state, effects) = transition(&state, &Event::TokenRefreshRejected);
        assert_eq!(state.user_state(), UserState::SignedOutUserPoolsTokensInvalid);
        assert_eq!(effects, vec![Effect::Notify(state.details()), Effect::ResumeWaiters]);
        let (_, effects) = transition(&state, &Event::TokensNeeded);
        assert_eq!(effects, vec![Effect::Wait(Wait::ForSignIn)]);
        let (state, effects) =
            transition(&state, &Event::SignedIn { session: SessionKind::UserPool });
        assert_eq!(state.user_state(), UserState::SignedIn);
        assert_eq!(effects[1..], [Effect::ResumeWaiters]);
    }

    #[test]
    fn sign_in_is_refused_over_a_signed_in_user_only() {
        let google = SessionKind::Federated { provider: "accounts.google.com".into() };
        let fresh = MachineState::new(false, true);
        assert_eq!(check_sign_in(&fresh, &SessionKind::UserPool), Err(Failure::NotInitialized));
        let user_pool = signed_in(true);
        assert_eq!(
            check_sign_in(&user_pool, &SessionKind::UserPool),
            Err(Failure::AlreadySignedIn)
        );
        assert_eq!(check_sign_in(&user_pool, &google), Err(Failure::AlreadySignedIn));
        let (rejected, _) = transition(&user_pool, &Event::TokensNeeded);
        let (rejected, _) = transition(&rejected, &Event::TokenRefreshRejected);
        assert_eq!(check_sign_in(&rejected, &SessionKind::UserPool), Ok(()));
        let (federated, _) = transition(&fresh, &Event::Initialized { session: google.clone() });
        assert_eq!(check_sign_in(&federated, &google), Ok(()), "a fresh provider token");
        assert_eq!(
            check_sign_in(&federated, &SessionKind::UserPool),
            Err(Failure::AlreadySignedIn)
        );
        let (signed_out, _) = transition(&federated, &Event::SignedOut);
        assert_eq!(check_sign_in(&signed_out, &SessionKind::UserPool), Ok(()));
    }
}
