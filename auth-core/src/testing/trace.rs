//! Snapshot traces of `AuthClient` scenarios: every API call, its outcome, the transitions
//! it caused (event, state change, effects), what listeners heard and what the store holds.
//!
//! A [`Trace`] writes the text; the test binary snapshots it (with insta). The canonical
//! user-pool scenarios are written once, in [`scenarios`], over any [`ModelWorld`], so the
//! same trace runs over the fakes (auth-core) and over the Cognito provider and the
//! in-process mock server (auth-cognito). Outcomes show token lifetimes relative to the
//! world's clock, or `[time]` with [`Trace::redacting_times`] for worlds whose service
//! clock also runs in real time. Token values never appear.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::client::{AuthClient, AuthClientBuilder, StateChanges, Transition};
use crate::error::AuthError;
use crate::machine::{Effect, Event};
use crate::testing::model::ModelWorld;
use crate::types::{StoredSession, UserPoolTokens};

/// How long [`Trace::record`] waits, at most, for a refresh in flight to end before it
/// writes what happened.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// Writes the trace of one scenario.
pub struct Trace {
    text: String,
    transitions: Arc<Mutex<Vec<Transition>>>,
    changes: Option<StateChanges>,
    redact_times: bool,
}

impl Default for Trace {
    fn default() -> Self {
        Self::new()
    }
}

impl Trace {
    /// An empty trace that prints token lifetimes.
    pub fn new() -> Self {
        Trace {
            text: String::new(),
            transitions: Arc::default(),
            changes: None,
            redact_times: false,
        }
    }

    /// Prints `[time]` instead of token lifetimes, for services whose clock runs in real
    /// time.
    pub fn redacting_times(mut self) -> Self {
        self.redact_times = true;
        self
    }

    /// The trace so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Builds a client from `builder` with this trace's transition observer, subscribes to
    /// its changes, initialises it and records that.
    pub async fn start(&mut self, builder: AuthClientBuilder, store: Store<'_>) -> AuthClient {
        let transitions = Arc::clone(&self.transitions);
        let client = builder
            .transition_observer(Arc::new(move |t: &Transition| {
                transitions.lock().unwrap_or_else(PoisonError::into_inner).push(t.clone())
            }))
            .build();
        self.changes = Some(client.state_changes());
        let result = client.initialize().await.map(|d| d.state);
        self.record("initialize()", format!("{result:?}"), store).await;
        client
    }

    /// Writes a comment line.
    pub fn note(&mut self, text: &str) {
        writeln!(self.text, "# {text}").unwrap_or(());
    }

    /// Writes a clock step.
    pub fn clock(&mut self, by: Duration) {
        writeln!(self.text, "- clock: +{}s", by.as_secs()).unwrap_or(());
    }

    /// Writes a connectivity change.
    pub fn connectivity(&mut self, online: bool) {
        let online = if online { "online" } else { "offline" };
        writeln!(self.text, "- connectivity: {online}").unwrap_or(());
    }

    /// Records a call and everything that followed from it, once the client has settled:
    /// no refresh in flight (or the settle limit passed).
    pub async fn record(&mut self, call: &str, outcome: String, store: Store<'_>) {
        self.settle().await;
        writeln!(self.text, "- call: {call}").unwrap_or(());
        writeln!(self.text, "  outcome: {outcome}").unwrap_or(());
        let transitions =
            std::mem::take(&mut *self.transitions.lock().unwrap_or_else(PoisonError::into_inner));
        for t in transitions {
            let effects: Vec<String> = t.effects.iter().map(effect).collect();
            writeln!(
                self.text,
                "  - {}: {} -> {} [{}]",
                event(&t.event),
                t.from.user_state(),
                t.to.user_state(),
                effects.join(", ")
            )
            .unwrap_or(());
        }
        if let Some(changes) = &mut self.changes {
            let heard: Vec<String> =
                std::iter::from_fn(|| changes.try_next()).map(|d| d.state.to_string()).collect();
            if !heard.is_empty() {
                writeln!(self.text, "  listeners: [{}]", heard.join(", ")).unwrap_or(());
            }
        }
        let store = describe_store(store.read().await);
        writeln!(self.text, "  store: {store}").unwrap_or(());
    }

    /// The outcome of a `tokens()` call: how long the tokens are valid from `now`, or the
    /// error.
    pub fn token_outcome(
        &self,
        result: Result<UserPoolTokens, AuthError>,
        now: SystemTime,
    ) -> String {
        match result {
            Ok(_) if self.redact_times => "tokens valid for [time]".to_owned(),
            Ok(tokens) => {
                let left = tokens.expires_at().duration_since(now).unwrap_or_default();
                format!("tokens valid for {}s", left.as_secs())
            }
            Err(error) => format!("error: {error}"),
        }
    }

    async fn settle(&self) {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        let started = tokio::time::Instant::now();
        while self.refresh_in_flight() && started.elapsed() < SETTLE_LIMIT {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn refresh_in_flight(&self) -> bool {
        let transitions = self.transitions.lock().unwrap_or_else(PoisonError::into_inner);
        transitions.last().is_some_and(|t| t.to.token_refresh() || t.to.credentials_refresh)
    }
}

/// Where a trace reads the stored session from.
#[non_exhaustive]
#[allow(clippy::large_enum_variant, reason = "one short-lived value per recorded call")]
pub enum Store<'a> {
    /// A session read already.
    Read(Option<StoredSession>),
    /// A world's store, read when the call is recorded.
    World(&'a dyn ModelWorld),
}

impl Store<'_> {
    async fn read(self) -> Option<StoredSession> {
        match self {
            Store::Read(session) => session,
            Store::World(world) => world.stored_session().await,
        }
    }
}

fn describe_store(session: Option<StoredSession>) -> String {
    let Some(s) = session else { return "empty".to_owned() };
    let mut parts = Vec::new();
    if let Some(up) = &s.user_pool {
        parts.push(format!("user pool session of {}", up.username));
    }
    if let Some(f) = &s.federated {
        parts.push(format!("federated session with {}", f.provider));
    }
    if s.identity_id.is_some() {
        parts.push("identity id".to_owned());
    }
    if s.aws_credentials.is_some() {
        parts.push("AWS credentials".to_owned());
    }
    parts.join(", ")
}

fn event(event: &Event) -> String {
    format!("{event:?}")
}

fn effect(effect: &Effect) -> String {
    match effect {
        Effect::Notify(details) => {
            let provider = details.provider.iter().map(|p| format!("provider={p}"));
            let reason = details.reason.iter().map(|r| format!("reason={r}"));
            let extra: Vec<String> = provider.chain(reason).collect();
            if extra.is_empty() {
                format!("Notify({})", details.state)
            } else {
                format!("Notify({} {})", details.state, extra.join(" "))
            }
        }
        other => format!("{other:?}"),
    }
}

/// The canonical user-pool scenarios, over any [`ModelWorld`]; each returns its trace.
pub mod scenarios {
    use std::time::Duration;

    use super::{Store, Trace};
    use crate::client::AuthClient;
    use crate::testing::model::ModelWorld;
    use crate::types::{SignInRequest, SignInResult, SignOutOptions, UserState};

    /// A `tokens()` call running on its own task.
    type PendingTokens =
        tokio::task::JoinHandle<Result<crate::types::UserPoolTokens, crate::AuthError>>;

    /// Runs one scenario: a trace and the world it records from.
    struct Run<'a> {
        t: Trace,
        world: &'a dyn ModelWorld,
    }

    impl<'a> Run<'a> {
        fn new(world: &'a dyn ModelWorld, t: Trace) -> Self {
            Run { t, world }
        }

        async fn start(&mut self) -> AuthClient {
            self.t.start(self.world.builder(), Store::World(self.world)).await
        }

        /// A run whose client has started and signed in (the set-up every scenario that
        /// is about a session begins with).
        async fn start_signed_in(world: &'a dyn ModelWorld, t: Trace) -> (Self, AuthClient) {
            let mut run = Self::new(world, t);
            let client = run.start().await;
            run.signed_in(&client).await;
            (run, client)
        }

        async fn record(&mut self, call: &str, outcome: String) {
            self.t.record(call, outcome, Store::World(self.world)).await;
        }

        /// Signs in and records the result as it is.
        async fn sign_in(&mut self, client: &AuthClient) {
            let config = self.world.config();
            let request = SignInRequest::password(&config.username, config.password.as_str());
            let result = client.sign_in(request).await;
            let call = format!("sign_in({})", config.username);
            self.record(&call, format!("{result:?}")).await;
        }

        /// Signs in as the scenario's set-up, which must succeed.
        async fn signed_in(&mut self, client: &AuthClient) {
            let config = self.world.config();
            let request = SignInRequest::password(&config.username, config.password.as_str());
            let result = client.sign_in(request).await;
            assert!(matches!(result, Ok(SignInResult::Done)), "the set-up sign-in: {result:?}");
            let call = format!("sign_in({})", config.username);
            self.record(&call, "Done".into()).await;
        }

        async fn tokens(&mut self, client: &AuthClient, call: &str) {
            let result = client.tokens().await;
            let outcome = self.t.token_outcome(result, self.world.now());
            self.record(call, outcome).await;
        }

        async fn advance(&mut self, by: Duration) {
            self.world.advance(by).await;
            self.t.clock(by);
        }

        async fn set_online(&mut self, online: bool) {
            self.t.connectivity(online);
            self.world.set_reachable(online).await;
            self.world.set_connectivity(online).await;
        }

        /// Advances the clock to a second past the point where the tokens count as expired.
        async fn advance_past_expiry(&mut self) {
            let config = self.world.config();
            self.advance(config.token_lifetime - config.margin + Duration::from_secs(1)).await;
        }

        /// Starts a `tokens()` call that is expected not to finish yet, and records it as
        /// `outcome` (`waiting`, `blocked`); [`waited`](Self::waited) records how it ends.
        async fn spawn_tokens(&mut self, client: &AuthClient, outcome: &str) -> PendingTokens {
            let client = client.clone();
            let pending = tokio::spawn(async move { client.tokens().await });
            self.record("tokens() [spawned]", outcome.to_owned()).await;
            pending
        }

        async fn waited(&mut self, call: &str, waiting: PendingTokens) {
            let result = waiting.await.unwrap_or(Err(crate::AuthError::NotSignedIn));
            let outcome = self.t.token_outcome(result, self.world.now());
            self.record(call, outcome).await;
        }

        fn finish(self) -> String {
            self.t.text
        }
    }

    /// Sign in, use the tokens, let them expire: one silent refresh serves the next calls.
    pub async fn sign_in_expiry_silent_refresh(world: &dyn ModelWorld, t: Trace) -> String {
        let mut run = Run::new(world, t);
        let client = run.start().await;
        run.sign_in(&client).await;
        run.tokens(&client, "tokens()").await;
        run.advance_past_expiry().await;
        run.tokens(&client, "tokens()").await;
        run.tokens(&client, "tokens()").await;
        run.finish()
    }

    /// The refresh token expires: a request waits, and a new sign-in completes it.
    pub async fn refresh_token_expiry_then_re_sign_in_completes_the_waiting_request(
        world: &dyn ModelWorld,
        t: Trace,
    ) -> String {
        let (mut run, client) = Run::start_signed_in(world, t).await;
        let refresh_lifetime = world.config().refresh_lifetime;
        run.advance(refresh_lifetime).await;
        let waiting = run.spawn_tokens(&client, "waiting").await;
        run.sign_in(&client).await;
        run.waited("tokens() [the waiting request]", waiting).await;
        run.finish()
    }

    /// The server revokes the refresh token: the app releases the waiting request, then
    /// signs out.
    pub async fn release_fails_the_waiting_request_then_sign_out(
        world: &dyn ModelWorld,
        t: Trace,
    ) -> String {
        let (mut run, client) = Run::start_signed_in(world, t).await;
        world.revoke_refresh_tokens().await;
        run.t.note(&format!("the server revokes {}'s refresh tokens", world.config().username));
        run.advance_past_expiry().await;
        let waiting = run.spawn_tokens(&client, "waiting").await;
        let released = client.release_sign_in_wait();
        run.record("release_sign_in_wait()", format!("released {released}")).await;
        run.waited("tokens() [the waiting request]", waiting).await;
        let result = client.sign_out(SignOutOptions::local()).await;
        run.record("sign_out(local)", format!("{result:?}")).await;
        run.finish()
    }

    /// Offline with valid tokens: they are served from the cache.
    pub async fn offline_with_valid_tokens(world: &dyn ModelWorld, t: Trace) -> String {
        let (mut run, client) = Run::start_signed_in(world, t).await;
        run.set_online(false).await;
        run.advance(Duration::from_secs(120)).await;
        run.tokens(&client, "tokens()").await;
        run.finish()
    }

    /// Offline with expired tokens: the request blocks, and the refresh runs when the
    /// device is online again.
    pub async fn offline_with_invalid_tokens_blocks_then_refreshes_when_online(
        world: &dyn ModelWorld,
        t: Trace,
    ) -> String {
        let (mut run, client) = Run::start_signed_in(world, t).await;
        run.set_online(false).await;
        run.advance_past_expiry().await;
        let blocked = run.spawn_tokens(&client, "blocked").await;
        run.set_online(true).await;
        run.waited("tokens() [the blocked request]", blocked).await;
        run.finish()
    }

    /// A restarted app resumes the stored session.
    pub async fn restart_resumes(world: &dyn ModelWorld, t: Trace) -> String {
        let (mut run, client) = Run::start_signed_in(world, t).await;
        drop(client);
        run.t.note("the app restarts: a new client over the same store");
        let client = run.start().await;
        assert_eq!(client.current_user_state().state, UserState::SignedIn);
        run.tokens(&client, "tokens()").await;
        run.finish()
    }
}
