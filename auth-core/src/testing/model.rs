//! Model-based testing of `AuthClient` over any identity provider.
//!
//! A [`ModelWorld`] wires a real `AuthClient` to some identity provider (the fakes, or a
//! real Cognito provider over the in-process mock server) and lets the test steer the
//! world: clocks, connectivity, reachability, server-side revocation, server faults. The
//! [`operations`] strategy generates random sequences of [`Op`]s; [`check_sequence`] runs
//! one against the real client and a small reference model side by side, and after every
//! operation checks that they agree on the user state and its reason, the listener
//! notifications, whether the store holds a session and how many refreshes reached the
//! service, and that no returned token was expired. Those are the client's invariants (ARCHITECTURE.md and the user guide): no
//! sign-out while offline (only `SignOut` clears), never an expired token, at most one
//! refresh per expiry, listeners see the model's sequence, restart resumes.
//!
//! The rules the world must follow (the model assumes them):
//! - a request that cannot reach the service fails with a network error and consumes no
//!   injected fault; a request that reaches it consumes one pending fault, if any, and then
//!   fails as throttled;
//! - sign-in, refresh and token revocation are one request each as far as faults go (an
//!   SRP sign-in's first request takes the fault);
//! - the provider does not retry.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use proptest::prelude::*;

use std::sync::{Arc, Mutex, PoisonError};

use crate::client::{AuthClient, AuthClientBuilder, StateChanges, Transition};
use crate::error::AuthError;
use crate::machine::Event;
use crate::testing::epoch_seconds;
use crate::types::{SignInRequest, SignOutOptions, StoredSession, UserState, UserStateDetails};

/// The lifetimes and credentials a world is set up with.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ModelConfig {
    /// The user the operations sign in.
    pub username: String,
    /// That user's password.
    pub password: String,
    /// Lifetime of ID and access tokens.
    pub token_lifetime: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_lifetime: Duration,
    /// The client's expiry margin.
    pub margin: Duration,
}

impl ModelConfig {
    /// A configuration; lifetimes are whole seconds.
    pub fn new(
        username: impl Into<String>,
        password: impl Into<String>,
        token_lifetime: Duration,
        refresh_lifetime: Duration,
        margin: Duration,
    ) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            token_lifetime,
            refresh_lifetime,
            margin,
        }
    }
}

/// A world the model steers: an identity provider (fake or real), a store, and the
/// client's connectivity source and clock.
#[async_trait]
pub trait ModelWorld: Send + Sync {
    /// The world's configuration.
    fn config(&self) -> &ModelConfig;

    /// A client builder wired to the world's provider, store, connectivity and clock, with
    /// the configured margin; the runner builds (and rebuilds, for restarts) clients from it.
    fn builder(&self) -> AuthClientBuilder;

    /// The service's current time (the client's clock shows the same).
    fn now(&self) -> SystemTime;

    /// Moves the service's clock and the client's together.
    async fn advance(&self, by: Duration);

    /// What the client's connectivity source says.
    async fn set_connectivity(&self, online: bool);

    /// Whether the provider's requests reach the service.
    async fn set_reachable(&self, reachable: bool);

    /// Revokes the user's refresh tokens on the service (a sign-out elsewhere).
    async fn revoke_refresh_tokens(&self);

    /// Makes the next request that reaches the service fail as throttled.
    async fn fail_next_request(&self);

    /// How many refresh requests reached the service.
    async fn refresh_requests(&self) -> usize;

    /// The session the client's store holds.
    async fn stored_session(&self) -> Option<StoredSession>;

    /// Whether the client's store holds a session.
    async fn store_holds_session(&self) -> bool {
        self.stored_session().await.is_some()
    }
}

/// One step of a generated sequence.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Op {
    /// Sign in with the right password.
    SignIn,
    /// Sign in with a wrong password.
    SignInWrongPassword,
    /// Sign out locally.
    SignOutLocal,
    /// Sign out, revoking the session's refresh token.
    SignOutRevoking,
    /// Move both clocks forward by this many seconds.
    Advance(u64),
    /// Connectivity lost (and requests fail).
    Offline,
    /// Connectivity back.
    Online,
    /// Requests fail (or work again) although connectivity says online.
    Flaky(bool),
    /// The service revokes the user's refresh tokens.
    ServerRevoke,
    /// The next request that reaches the service is throttled.
    ServerFault,
    /// `callers` concurrent `tokens()` calls; blocked ones are released if `release`.
    Tokens {
        /// How many concurrent calls.
        callers: usize,
        /// Whether to release calls that block.
        release: bool,
    },
    /// A new client over the same store.
    Restart,
    /// `release_sign_in_wait()` with nothing waiting.
    Release,
}

/// Random sequences of 2 to 60 operations, starting signed in (most behaviour needs a
/// session).
pub fn operations() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => Just(Op::SignIn),
        1 => Just(Op::SignInWrongPassword),
        1 => Just(Op::SignOutLocal),
        1 => Just(Op::SignOutRevoking),
        4 => prop_oneof![1u64..120, 500u64..700, 2500u64..3500].prop_map(Op::Advance),
        2 => Just(Op::Offline),
        2 => Just(Op::Online),
        1 => any::<bool>().prop_map(Op::Flaky),
        1 => Just(Op::ServerRevoke),
        1 => Just(Op::ServerFault),
        6 => (1usize..=8, any::<bool>()).prop_map(|(callers, release)| Op::Tokens { callers, release }),
        1 => Just(Op::Restart),
        1 => Just(Op::Release),
    ];
    prop::collection::vec(op, 1..60)
        .prop_map(|ops| std::iter::once(Op::SignIn).chain(ops).collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Offline,
    Rejected,
}

enum Refresh {
    Succeeds,
    Rejected,
    Fails,
}

/// The reference model: what the client should do, in a few dozen lines.
#[derive(Debug)]
struct Model {
    config: ModelConfig,
    user: UserState,
    reason: Option<Reason>,
    has_session: bool,
    tokens_exp: u64,
    refresh_exp: u64,
    revoked: bool,
    online: bool,
    flaky: bool,
    faults: usize,
    now: u64,
    notified: Vec<UserState>,
    refreshes: usize,
}

impl Model {
    fn set_user(&mut self, user: UserState, reason: Option<Reason>) {
        if user != self.user {
            self.notified.push(user);
        }
        self.user = user;
        self.reason = reason;
    }

    /// A request: `Err(())` if it fails without an answer (unreachable, or throttled).
    fn request(&mut self) -> Result<(), ()> {
        if !self.online || self.flaky {
            return Err(());
        }
        if self.faults > 0 {
            self.faults -= 1;
            return Err(());
        }
        Ok(())
    }

    fn refresh(&mut self) -> Refresh {
        if !self.online || self.flaky {
            // The request never reaches the service.
            return Refresh::Fails;
        }
        self.refreshes += 1;
        if self.request().is_err() {
            return Refresh::Fails;
        }
        if self.revoked || self.now >= self.refresh_exp {
            return Refresh::Rejected;
        }
        self.tokens_exp = self.now + self.config.token_lifetime.as_secs();
        Refresh::Succeeds
    }

    fn tokens_valid(&self) -> bool {
        let margin = self.config.margin.min(self.config.token_lifetime / 2).as_secs();
        self.has_session && self.now + margin < self.tokens_exp
    }
}

/// What every call of a batch of `tokens()` calls should end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Ok,
    NotSignedIn,
    Transient,
    Blocked,
}

/// How long the runner waits for the client to reach what the model predicts. Under a
/// paused Tokio clock this costs nothing; with real time it bounds a failing run.
const PATIENCE: Duration = Duration::from_secs(10);

/// What the runner sees of the client's transitions: whether a refresh is in flight, and
/// how many connectivity changes it has taken in. Background work (a refresh started
/// because connectivity returned) must finish before the next operation, or the world
/// would change under it.
#[derive(Debug, Default)]
struct Probe {
    refreshing: bool,
    connectivity_changes: usize,
}

fn probed(world: &dyn ModelWorld, probe: &Arc<Mutex<Probe>>) -> AuthClient {
    let probe = Arc::clone(probe);
    world
        .builder()
        .transition_observer(Arc::new(move |transition: &Transition| {
            let mut probe = probe.lock().unwrap_or_else(PoisonError::into_inner);
            probe.refreshing = transition.to.token_refresh() || transition.to.credentials_refresh;
            if matches!(transition.event, Event::ConnectivityChanged { .. }) {
                probe.connectivity_changes += 1;
            }
        }))
        .build()
}

struct Run<'w> {
    world: &'w dyn ModelWorld,
    probe: Arc<Mutex<Probe>>,
    /// Connectivity changes the client should have taken in.
    connectivity_changes: usize,
    client: AuthClient,
    changes: StateChanges,
    heard: Vec<UserStateDetails>,
    model: Model,
}

/// Runs `ops` against a fresh client of `world` and the reference model; panics with the
/// first disagreement.
pub async fn check_sequence(world: &dyn ModelWorld, ops: &[Op]) {
    let config = world.config().clone();
    let probe = Arc::default();
    let client = probed(world, &probe);
    let changes = client.state_changes();
    client.initialize().await.expect("initialize");
    let now = epoch_seconds(world.now());
    let model = Model {
        config,
        user: UserState::SignedOut,
        reason: None,
        has_session: false,
        tokens_exp: 0,
        refresh_exp: 0,
        revoked: false,
        online: true,
        flaky: false,
        faults: 0,
        now,
        notified: vec![UserState::SignedOut],
        refreshes: 0,
    };
    let mut run =
        Run { world, probe, connectivity_changes: 0, client, changes, heard: Vec::new(), model };
    run.check("initialize").await;
    for op in ops {
        run.apply(op).await;
        run.check(&format!("{op:?}")).await;
    }
}

impl Run<'_> {
    async fn apply(&mut self, op: &Op) {
        let username = self.model.config.username.clone();
        match op {
            Op::SignIn | Op::SignInWrongPassword => {
                let right = matches!(op, Op::SignIn);
                let password = if right {
                    self.model.config.password.clone()
                } else {
                    "Wr0ng-passw0rd!".into()
                };
                let result = self.client.sign_in(SignInRequest::password(username, password)).await;
                let m = &mut self.model;
                if m.user == UserState::SignedIn {
                    assert!(
                        matches!(result, Err(AuthError::AlreadySignedIn)),
                        "{op:?}: {result:?}"
                    );
                } else if m.request().is_err() {
                    assert!(
                        result.as_ref().is_err_and(AuthError::is_transient),
                        "{op:?}: {result:?}"
                    );
                } else if !right {
                    assert!(
                        matches!(&result, Err(AuthError::Provider(e)) if e.is_rejected()),
                        "{op:?}: {result:?}"
                    );
                } else {
                    result.expect("sign-in");
                    m.has_session = true;
                    m.tokens_exp = m.now + m.config.token_lifetime.as_secs();
                    m.refresh_exp = m.now + m.config.refresh_lifetime.as_secs();
                    m.revoked = false;
                    m.set_user(UserState::SignedIn, None);
                }
            }
            Op::SignOutLocal | Op::SignOutRevoking => {
                let revoking = matches!(op, Op::SignOutRevoking);
                let options = if revoking {
                    SignOutOptions::invalidate_tokens()
                } else {
                    SignOutOptions::local()
                };
                let result = self.client.sign_out(options).await;
                let m = &mut self.model;
                let remote = revoking && m.has_session;
                if remote && m.request().is_err() {
                    assert!(
                        result.as_ref().is_err_and(AuthError::is_transient),
                        "{op:?}: {result:?}"
                    );
                } else {
                    result.expect("sign-out");
                    if remote {
                        m.revoked = true;
                    }
                    m.has_session = false;
                    m.set_user(UserState::SignedOut, None);
                }
            }
            Op::Advance(seconds) => {
                self.world.advance(Duration::from_secs(*seconds)).await;
                self.model.now += seconds;
            }
            Op::Offline => {
                if self.model.online {
                    self.connectivity_changes += 1;
                }
                self.model.online = false;
                self.world.set_reachable(false).await;
                self.world.set_connectivity(false).await;
            }
            Op::Online => {
                if !self.model.online {
                    self.connectivity_changes += 1;
                }
                let m = &mut self.model;
                let was_online = m.online;
                m.online = true;
                let reachable = !m.flaky;
                let resumes = !was_online
                    && m.user == UserState::SignedOutUserPoolsTokensInvalid
                    && m.reason == Some(Reason::Offline);
                if resumes {
                    // Connectivity returning restarts the refresh by itself.
                    match m.refresh() {
                        Refresh::Succeeds => m.set_user(UserState::SignedIn, None),
                        Refresh::Rejected => m.reason = Some(Reason::Rejected),
                        Refresh::Fails => {}
                    }
                }
                self.world.set_reachable(reachable).await;
                self.world.set_connectivity(true).await;
            }
            Op::Flaky(flaky) => {
                self.model.flaky = *flaky;
                let reachable = self.model.online && !flaky;
                self.world.set_reachable(reachable).await;
            }
            Op::ServerRevoke => {
                if self.model.has_session {
                    self.world.revoke_refresh_tokens().await;
                    self.model.revoked = true;
                }
            }
            Op::ServerFault => {
                self.world.fail_next_request().await;
                self.model.faults += 1;
            }
            Op::Tokens { callers, release } => self.tokens(*callers, *release).await,
            Op::Restart => {
                let client = probed(self.world, &self.probe);
                self.changes = client.state_changes();
                self.heard.clear();
                client.initialize().await.expect("initialize after restart");
                self.client = client;
                let m = &mut self.model;
                m.user = if m.has_session { UserState::SignedIn } else { UserState::SignedOut };
                m.reason = None;
                m.notified = vec![m.user];
            }
            Op::Release => {
                assert_eq!(
                    self.client.release_sign_in_wait(),
                    0,
                    "nothing is waiting between operations"
                )
            }
        }
    }

    fn expect_tokens(&mut self) -> Expect {
        let m = &mut self.model;
        if m.user == UserState::SignedOut {
            Expect::NotSignedIn
        } else if m.user == UserState::SignedIn && m.tokens_valid() {
            Expect::Ok
        } else if m.reason == Some(Reason::Rejected) {
            Expect::Blocked
        } else if m.online {
            match m.refresh() {
                Refresh::Succeeds => {
                    m.set_user(UserState::SignedIn, None);
                    Expect::Ok
                }
                Refresh::Rejected => {
                    m.set_user(UserState::SignedOutUserPoolsTokensInvalid, Some(Reason::Rejected));
                    Expect::Blocked
                }
                Refresh::Fails => Expect::Transient,
            }
        } else {
            m.set_user(UserState::SignedOutUserPoolsTokensInvalid, Some(Reason::Offline));
            Expect::Blocked
        }
    }

    async fn tokens(&mut self, callers: usize, release: bool) {
        let expect = self.expect_tokens();
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let client = self.client.clone();
                tokio::spawn(async move { client.tokens().await })
            })
            .collect();
        if expect == Expect::Blocked {
            let started = tokio::time::Instant::now();
            while self.client.requests_waiting_for_sign_in() < callers {
                assert!(started.elapsed() < PATIENCE, "expected {callers} blocked requests");
                assert!(
                    !tasks.iter().any(|t| t.is_finished()),
                    "a request that should block ended"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if release {
                assert_eq!(
                    self.client.release_sign_in_wait(),
                    callers,
                    "release reports the waiting requests"
                );
            }
        }
        let now = self.world.now();
        for task in tasks {
            if expect == Expect::Blocked && !release {
                task.abort();
                let _ = task.await;
                continue;
            }
            let result = tokio::time::timeout(PATIENCE, task)
                .await
                .unwrap_or_else(|_| panic!("a tokens() call expected to end with {expect:?} hung"))
                .expect("tokens task");
            match (expect, result) {
                (Expect::Ok, Ok(tokens)) => {
                    assert!(tokens.expires_at() > now, "an expired token was returned")
                }
                (Expect::NotSignedIn, Err(AuthError::NotSignedIn)) => {}
                (Expect::Transient, Err(error)) if error.is_transient() => {}
                (Expect::Blocked, Err(AuthError::SignInWaitReleased)) => {}
                (expect, other) => panic!("expected {expect:?}, got {other:?}"),
            }
        }
        // Aborted requests leave the waiting count once their tasks are gone.
        let started = tokio::time::Instant::now();
        while self.client.requests_waiting_for_sign_in() > 0 {
            assert!(started.elapsed() < PATIENCE, "aborted requests still count as waiting");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Waits until the client agrees with the model (effects such as a refresh started by
    /// connectivity returning run in their own tasks), then asserts the agreement.
    async fn check(&mut self, after: &str) {
        let started = tokio::time::Instant::now();
        loop {
            let settled = {
                let probe = self.probe.lock().unwrap_or_else(PoisonError::into_inner);
                !probe.refreshing && probe.connectivity_changes >= self.connectivity_changes
            };
            if !settled {
                assert!(started.elapsed() < PATIENCE, "the client did not settle after {after}");
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            self.heard.extend(std::iter::from_fn(|| self.changes.try_next()));
            let observed = self.observe().await;
            let expected = self.expected();
            if observed == expected {
                self.heard.clear();
                self.model.notified.clear();
                return;
            }
            if started.elapsed() >= PATIENCE {
                assert_eq!(observed, expected, "the client disagrees with the model after {after}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn observe(&self) -> Observation {
        let details = self.client.current_user_state();
        Observation {
            state: details.state,
            reason: details.reason.map(|reason| reason.to_string()),
            store_holds_session: self.world.store_holds_session().await,
            refreshes: self.world.refresh_requests().await,
            notified: self.heard.iter().map(|d| d.state).collect(),
        }
    }

    fn expected(&self) -> Observation {
        let m = &self.model;
        Observation {
            state: m.user,
            reason: m.reason.map(|r| match r {
                Reason::Offline => "offline".to_owned(),
                Reason::Rejected => "rejected".to_owned(),
            }),
            store_holds_session: m.has_session,
            refreshes: m.refreshes,
            notified: m.notified.clone(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Observation {
    state: UserState,
    reason: Option<String>,
    store_holds_session: bool,
    refreshes: usize,
    notified: Vec<UserState>,
}
