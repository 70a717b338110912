//! The user-state machine as a pure function.
//!
//! [`transition`] takes the current [`MachineState`] and an [`Event`] and returns the next
//! state plus the [`Effect`]s the shell (`AuthClient`) must perform. It does no IO and
//! reads no clock: everything it needs (is the device online? is the federated token
//! still valid?) arrives in the state or the event. That keeps the rules of DESIGN.md in
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

/// Why a session's tokens are invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum InvalidReason {
    /// They expired while offline; they will be refreshed when connectivity returns.
    Offline,
    /// The service rejected them (revoked or expired refresh token, rejected federated
    /// token); only a new sign-in helps.
    Rejected,
    /// The federated provider's token expired; only a new federated sign-in helps.
    Expired,
}

impl InvalidReason {
    fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Offline => "offline",
            InvalidReason::Rejected => "rejected",
            InvalidReason::Expired => "expired",
        }
    }
}

/// Everything the machine knows.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct MachineState {
    /// The state the app sees.
    pub user: UserState,
    /// The kind of session behind it.
    pub session: SessionKind,
    /// Whether guest (unauthenticated) access is configured.
    pub guest_allowed: bool,
    /// Whether the connectivity source says online.
    pub online: bool,
    /// Why the tokens are invalid, in the `...TokensInvalid` states.
    pub invalid_reason: Option<InvalidReason>,
    /// A user-pool token refresh is in flight.
    pub token_refresh: bool,
    /// An AWS-credentials refresh is in flight.
    pub credentials_refresh: bool,
}

impl MachineState {
    /// The state before initialisation.
    pub fn new(guest_allowed: bool, online: bool) -> Self {
        Self {
            user: UserState::Unknown,
            session: SessionKind::None,
            guest_allowed,
            online,
            invalid_reason: None,
            token_refresh: false,
            credentials_refresh: false,
        }
    }

    /// The state with its details, as listeners see it.
    pub fn details(&self) -> UserStateDetails {
        let mut details = UserStateDetails::new(self.user);
        if let SessionKind::Federated { provider } = &self.session {
            details = details.with("provider", provider.clone());
        }
        if let Some(reason) = self.invalid_reason {
            details = details.with("reason", reason.as_str());
        }
        details
    }

    fn signed_out_state(&self) -> UserState {
        if self.guest_allowed { UserState::Guest } else { UserState::SignedOut }
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
    /// The new session must be durable: the shell saves it before it makes the
    /// transition visible (a caller that got fresh tokens may exit at once).
    PersistSession,
    /// The store and caches must be cleared: the shell clears them before it makes the
    /// transition visible.
    ClearSession,
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
pub fn transition(state: &MachineState, event: &Event) -> (MachineState, Vec<Effect>) {
    let mut next = state.clone();
    let mut effects = Vec::new();
    match event {
        Event::Initialized { session } => {
            next.session = session.clone();
            next.user = match session {
                SessionKind::None => state.signed_out_state(),
                SessionKind::UserPool | SessionKind::Federated { .. } => UserState::SignedIn,
            };
            next.invalid_reason = None;
        }
        Event::SignedIn { session } => {
            next.user = UserState::SignedIn;
            next.session = session.clone();
            next.invalid_reason = None;
            // Refreshes of the previous session are discarded by the shell when they end.
            next.token_refresh = false;
            next.credentials_refresh = false;
            effects.extend([Effect::PersistSession, Effect::ResumeWaiters]);
        }
        Event::SignedOut => {
            next.user = state.signed_out_state();
            next.session = SessionKind::None;
            next.invalid_reason = None;
            next.token_refresh = false;
            next.credentials_refresh = false;
            effects.extend([
                Effect::ClearSession,
                Effect::FailWaiters(Waiters::All, Failure::SignedOut),
            ]);
        }
        Event::TokensNeeded => tokens_needed(state, &mut next, &mut effects),
        Event::TokenRefreshSucceeded => {
            next.token_refresh = false;
            if state.session == SessionKind::UserPool {
                if state.user == UserState::SignedOutUserPoolsTokensInvalid {
                    next.user = UserState::SignedIn;
                    next.invalid_reason = None;
                }
                effects.extend([Effect::PersistSession, Effect::ResumeWaiters]);
            }
        }
        Event::TokenRefreshRejected => {
            next.token_refresh = false;
            if state.session == SessionKind::UserPool {
                next.user = UserState::SignedOutUserPoolsTokensInvalid;
                next.invalid_reason = Some(InvalidReason::Rejected);
                effects.push(Effect::ResumeWaiters);
            }
        }
        Event::TokenRefreshFailed => {
            next.token_refresh = false;
            if state.session == SessionKind::UserPool {
                if state.online {
                    effects.push(Effect::FailWaiters(Waiters::Tokens, Failure::RefreshFailed));
                } else {
                    // Connectivity went away during the refresh: block, as an offline
                    // request would have.
                    next.user = UserState::SignedOutUserPoolsTokensInvalid;
                    next.invalid_reason = Some(InvalidReason::Offline);
                    effects.push(Effect::ResumeWaiters);
                }
            }
        }
        Event::CredentialsNeeded { federated_token_valid } => {
            credentials_needed(state, *federated_token_valid, &mut next, &mut effects)
        }
        Event::CredentialsRefreshSucceeded => {
            next.credentials_refresh = false;
            if state.user == UserState::SignedOutFederatedTokensInvalid {
                next.user = UserState::SignedIn;
                next.invalid_reason = None;
            }
            effects.extend([Effect::PersistSession, Effect::ResumeWaiters]);
        }
        Event::CredentialsRefreshRejected => {
            next.credentials_refresh = false;
            if matches!(state.session, SessionKind::Federated { .. }) {
                next.user = UserState::SignedOutFederatedTokensInvalid;
                next.invalid_reason = Some(InvalidReason::Rejected);
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
                let invalid_offline = state.invalid_reason == Some(InvalidReason::Offline);
                if state.user == UserState::SignedOutUserPoolsTokensInvalid
                    && invalid_offline
                    && !state.token_refresh
                {
                    next.token_refresh = true;
                    effects.push(Effect::StartTokenRefresh);
                }
                if state.user == UserState::SignedOutFederatedTokensInvalid
                    && invalid_offline
                    && !state.credentials_refresh
                {
                    next.credentials_refresh = true;
                    effects.push(Effect::StartCredentialsRefresh);
                }
                effects.push(Effect::ResumeWaiters);
            }
        }
        Event::ReleaseRequested => {
            effects.push(Effect::FailWaiters(Waiters::Blocked, Failure::Released));
        }
    }
    if next.user != state.user {
        effects.insert(0, Effect::Notify(next.details()));
    }
    (next, effects)
}

fn tokens_needed(state: &MachineState, next: &mut MachineState, effects: &mut Vec<Effect>) {
    match (state.user, &state.session) {
        (UserState::Unknown, _) => effects.push(Effect::Fail(Failure::NotInitialized)),
        (
            UserState::SignedIn | UserState::SignedOutUserPoolsTokensInvalid,
            SessionKind::UserPool,
        ) => {
            let rejected = state.invalid_reason == Some(InvalidReason::Rejected);
            if rejected {
                effects.push(Effect::Wait(Wait::ForSignIn));
            } else if state.token_refresh {
                effects.push(Effect::Wait(Wait::ForRefresh));
            } else if state.online {
                next.token_refresh = true;
                effects.extend([Effect::StartTokenRefresh, Effect::Wait(Wait::ForRefresh)]);
            } else {
                next.user = UserState::SignedOutUserPoolsTokensInvalid;
                next.invalid_reason = Some(InvalidReason::Offline);
                effects.push(Effect::Wait(Wait::ForSignIn));
            }
        }
        _ => effects.push(Effect::Fail(Failure::NotSignedIn)),
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
    match (state.user, &state.session) {
        (UserState::Unknown, _) => effects.push(Effect::Fail(Failure::NotInitialized)),
        (UserState::SignedOut, _) => effects.push(Effect::Fail(Failure::NotSignedIn)),
        (UserState::SignedOutUserPoolsTokensInvalid, _)
            if state.invalid_reason == Some(InvalidReason::Rejected) || !state.online =>
        {
            effects.push(Effect::Wait(Wait::ForSignIn))
        }
        (
            UserState::SignedIn | UserState::SignedOutFederatedTokensInvalid,
            SessionKind::Federated { .. },
        ) => {
            if !federated_token_valid {
                next.user = UserState::SignedOutFederatedTokensInvalid;
                next.invalid_reason = Some(InvalidReason::Expired);
                effects.push(Effect::Wait(Wait::ForSignIn));
            } else if state.invalid_reason == Some(InvalidReason::Rejected) {
                effects.push(Effect::Wait(Wait::ForSignIn));
            } else if state.credentials_refresh {
                effects.push(Effect::Wait(Wait::ForRefresh));
            } else if state.online {
                start_or_join(next, effects);
            } else {
                next.user = UserState::SignedOutFederatedTokensInvalid;
                next.invalid_reason = Some(InvalidReason::Offline);
                effects.push(Effect::Wait(Wait::ForSignIn));
            }
        }
        _ if state.credentials_refresh => effects.push(Effect::Wait(Wait::ForRefresh)),
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
            assert_eq!(state.user, expected);
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
            assert!(!effects.contains(&Effect::ClearSession), "{event:?} cleared the session");
            assert_ne!(next.user, UserState::SignedOut);
            state = next;
        }
        assert_eq!(state.user, UserState::SignedOutUserPoolsTokensInvalid);
        assert_eq!(state.invalid_reason, Some(InvalidReason::Offline));
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
        assert_eq!(state.user, UserState::SignedOutUserPoolsTokensInvalid);
        assert_eq!(effects, vec![Effect::Notify(state.details()), Effect::ResumeWaiters]);
        let (_, effects) = transition(&state, &Event::TokensNeeded);
        assert_eq!(effects, vec![Effect::Wait(Wait::ForSignIn)]);
        let (state, effects) =
            transition(&state, &Event::SignedIn { session: SessionKind::UserPool });
        assert_eq!(state.user, UserState::SignedIn);
        assert_eq!(effects[1..], [Effect::PersistSession, Effect::ResumeWaiters]);
    }
}
