//! Model-based property test: random operation sequences run against the real
//! `AuthClient` (over the fakes) and a small reference model side by side.
//!
//! After every operation the client must agree with the model on the user state, the
//! listener notifications, whether the store holds a session and how many refreshes were
//! made; no returned token may be expired. The invariants of DESIGN.md follow: no sign-out
//! while offline (only `SignOut` clears), never an expired token, at most one refresh per
//! expiry, listeners see the model's sequence, restart resumes.

use std::time::Duration;

use auth_core::{
    AuthClient, AuthError, ProviderError, ServiceError, SignInRequest, SignOutOptions, UserState,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use crate::support::{Harness, MARGIN, PASSWORD, REFRESH_LIFETIME, TOKEN_LIFETIME, USER, drain};

#[derive(Clone, Copy, Debug)]
enum SignOutKind {
    Local,
    Global,
    Revoke,
}

#[derive(Clone, Debug)]
enum Op {
    SignIn,
    SignInWrongPassword,
    SignOut(SignOutKind),
    Advance(u64),
    Offline,
    Online,
    /// The network fails even though connectivity says online (or recovers).
    Flaky(bool),
    ServerRevoke,
    ServerFault,
    Tokens {
        callers: usize,
        release: bool,
    },
    Restart,
    Release,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::SignIn),
        1 => Just(Op::SignInWrongPassword),
        1 => prop_oneof![Just(SignOutKind::Local), Just(SignOutKind::Global), Just(SignOutKind::Revoke)]
            .prop_map(Op::SignOut),
        4 => prop_oneof![1u64..120, 500u64..700, 2500u64..3500].prop_map(Op::Advance),
        2 => Just(Op::Offline),
        2 => Just(Op::Online),
        1 => any::<bool>().prop_map(Op::Flaky),
        1 => Just(Op::ServerRevoke),
        1 => Just(Op::ServerFault),
        6 => (1usize..=8, any::<bool>()).prop_map(|(callers, release)| Op::Tokens { callers, release }),
        1 => Just(Op::Restart),
        1 => Just(Op::Release),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Offline,
    Rejected,
}

/// What a refresh does, as the model predicts it.
enum Refresh {
    Succeeds,
    Rejected,
    Fails,
}

#[derive(Debug)]
struct Model {
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
    fn new(now: u64) -> Self {
        Model {
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
        }
    }

    fn set_user(&mut self, user: UserState, reason: Option<Reason>) {
        if user != self.user {
            self.notified.push(user);
        }
        self.user = user;
        self.reason = reason;
    }

    /// A provider call: `Err(())` if it fails without an answer.
    fn call_provider(&mut self) -> Result<(), ()> {
        if self.faults > 0 {
            self.faults -= 1;
            return Err(());
        }
        if !self.online || self.flaky { Err(()) } else { Ok(()) }
    }

    fn refresh(&mut self) -> Refresh {
        self.refreshes += 1;
        if self.call_provider().is_err() {
            return Refresh::Fails;
        }
        if self.revoked || self.now >= self.refresh_exp {
            return Refresh::Rejected;
        }
        self.tokens_exp = self.now + TOKEN_LIFETIME.as_secs();
        Refresh::Succeeds
    }

    fn tokens_valid(&self) -> bool {
        self.has_session && self.now + MARGIN.as_secs() < self.tokens_exp
    }
}

/// What the model expects every call of a batch of `tokens()` calls to end with.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Ok,
    NotSignedIn,
    Transient,
    Blocked,
}

struct Run {
    h: Harness,
    client: AuthClient,
    changes: auth_core::StateChanges,
    model: Model,
}

impl Run {
    async fn new() -> Self {
        let h = Harness::new();
        let client = h.builder().build();
        let changes = client.state_changes();
        client.initialize().await.unwrap();
        let model = Model::new(auth_core::testing::epoch_seconds(h.now()));
        Run { h, client, changes, model }
    }

    fn sync_network(h: &Harness, m: &Model) {
        h.idp.set_network_available(m.online && !m.flaky);
    }

    async fn apply(&mut self, op: &Op) {
        let m = &mut self.model;
        match op {
            Op::SignIn | Op::SignInWrongPassword => {
                let password = if matches!(op, Op::SignIn) { PASSWORD } else { "wrong" };
                let result = self.client.sign_in(SignInRequest::password(USER, password)).await;
                if m.user == UserState::SignedIn {
                    assert!(matches!(result, Err(AuthError::AlreadySignedIn)), "{result:?}");
                } else if m.call_provider().is_err() {
                    assert!(result.as_ref().is_err_and(AuthError::is_transient), "{result:?}");
                } else if matches!(op, Op::SignInWrongPassword) {
                    assert!(
                        matches!(&result, Err(AuthError::Provider(e)) if e.is_rejected()),
                        "{result:?}"
                    );
                } else {
                    result.expect("sign-in");
                    m.has_session = true;
                    m.tokens_exp = m.now + TOKEN_LIFETIME.as_secs();
                    m.refresh_exp = m.now + REFRESH_LIFETIME.as_secs();
                    m.revoked = false;
                    m.set_user(UserState::SignedIn, None);
                }
            }
            Op::SignOut(kind) => {
                let options = match kind {
                    SignOutKind::Local => SignOutOptions::local(),
                    SignOutKind::Global => SignOutOptions::global(),
                    SignOutKind::Revoke => SignOutOptions::invalidate_tokens(),
                };
                let result = self.client.sign_out(options).await;
                let remote = !matches!(kind, SignOutKind::Local) && m.has_session;
                if remote && m.call_provider().is_err() {
                    assert!(result.as_ref().is_err_and(AuthError::is_transient), "{result:?}");
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
                self.h.advance(Duration::from_secs(*seconds));
                m.now += seconds;
            }
            Op::Offline => {
                m.online = false;
                self.h.net.set_online(false);
                Self::sync_network(&self.h, m);
            }
            Op::Online => {
                let was_online = m.online;
                m.online = true;
                Self::sync_network(&self.h, m);
                self.h.net.set_online(true);
                if !was_online
                    && m.user == UserState::SignedOutUserPoolsTokensInvalid
                    && m.reason == Some(Reason::Offline)
                {
                    // Connectivity returning restarts the refresh by itself.
                    match m.refresh() {
                        Refresh::Succeeds => m.set_user(UserState::SignedIn, None),
                        Refresh::Rejected => m.reason = Some(Reason::Rejected),
                        Refresh::Fails => {}
                    }
                }
            }
            Op::Flaky(flaky) => {
                m.flaky = *flaky;
                Self::sync_network(&self.h, m);
            }
            Op::ServerRevoke => {
                self.h.idp.revoke_user(USER);
                m.revoked = true;
            }
            Op::ServerFault => {
                let busy = ServiceError::new("TooManyRequestsException", "Rate exceeded");
                self.h.idp.fail_next(ProviderError::Unavailable(busy));
                m.faults += 1;
            }
            Op::Tokens { callers, release } => self.tokens(*callers, *release).await,
            Op::Restart => {
                let client = self.h.builder().build();
                self.changes = client.state_changes();
                client.initialize().await.expect("initialize after restart");
                self.client = client;
                m.user = if m.has_session { UserState::SignedIn } else { UserState::SignedOut };
                m.reason = None;
                m.notified.push(m.user);
            }
            Op::Release => assert_eq!(
                self.client.release_sign_in_wait(),
                0,
                "nothing is waiting between operations"
            ),
        }
        settle().await;
    }

    async fn tokens(&mut self, callers: usize, release: bool) {
        let m = &mut self.model;
        let expect = if m.user == UserState::SignedOut {
            Expect::NotSignedIn
        } else if m.tokens_valid() && m.user == UserState::SignedIn {
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
        };
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let client = self.client.clone();
                tokio::spawn(async move {
                    tokio::time::timeout(Duration::from_secs(3600), client.tokens()).await
                })
            })
            .collect();
        settle().await;
        let released = if release { self.client.release_sign_in_wait() } else { 0 };
        if expect == Expect::Blocked {
            assert_eq!(
                released,
                if release { callers } else { 0 },
                "release reports the waiting requests"
            );
        }
        let now = self.h.now();
        for task in tasks {
            let result = task.await.expect("tokens task");
            match (&expect, result) {
                (Expect::Ok, Ok(Ok(tokens))) => {
                    assert!(tokens.expires_at() > now, "an expired token was returned");
                }
                (Expect::NotSignedIn, Ok(Err(AuthError::NotSignedIn))) => {}
                (Expect::Transient, Ok(Err(error))) if error.is_transient() => {}
                (Expect::Blocked, Ok(Err(AuthError::SignInWaitReleased))) if release => {}
                (Expect::Blocked, Err(_elapsed)) if !release => {}
                (expect, other) => panic!("expected {expect:?}, got {other:?}"),
            }
        }
    }

    fn check(&mut self, op: &Op) {
        let m = &self.model;
        let details = self.client.current_user_state();
        assert_eq!(details.state, m.user, "state after {op:?}");
        let reason = details.details.get("reason").map(String::as_str);
        let expected_reason = m.reason.map(|r| match r {
            Reason::Offline => "offline",
            Reason::Rejected => "rejected",
        });
        assert_eq!(reason, expected_reason, "reason after {op:?}");
        assert_eq!(self.h.store.peek().is_some(), m.has_session, "store contents after {op:?}");
        assert_eq!(self.h.idp.calls().refresh, m.refreshes, "refresh count after {op:?}");
        let notified: Vec<_> = drain(&mut self.changes).into_iter().map(|d| d.state).collect();
        let expected = std::mem::take(&mut self.model.notified);
        assert_eq!(notified, expected, "notifications after {op:?}");
    }
}

/// Lets spawned tasks run until everything waits; with paused time this never sleeps.
async fn settle() {
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn run(ops: Vec<Op>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut run = Run::new().await;
        run.check(&Op::Restart);
        for op in &ops {
            run.apply(op).await;
            run.check(op);
        }
    });
}

proptest! {
    #![proptest_config(Config {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    })]

    #[test]
    fn client_matches_the_model(ops in prop::collection::vec(op(), 1..60)) {
        // Most interesting behaviour needs a session: start every case signed in.
        run([Op::SignIn].into_iter().chain(ops).collect());
    }
}
