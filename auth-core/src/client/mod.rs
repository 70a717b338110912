//! `AuthClient`: the imperative shell around the pure state machine.
//!
//! The client caches tokens and AWS credentials, refreshes them (one refresh for any
//! number of concurrent callers), persists the session, tells listeners about every state
//! change and makes requests wait for a re-sign-in when the session cannot be refreshed.
//! Every decision about states is taken by [`machine::transition`]; this module only
//! performs the effects it returns.
//!
//! Concurrency design:
//! - The hot path (`tokens()` / `aws_credentials()` with a valid cache) reads an
//!   [`ArcSwapOption`] and the clock: no lock, no await, no allocation.
//! - Everything else goes through one `std::sync::Mutex` that is never held across an
//!   await. Transitions, listener queues and waiter bookkeeping change together under it,
//!   so listeners see changes in transition order.
//! - Waiting requests sleep on a `watch` channel that is bumped whenever they should look
//!   again; what they look at (counters of releases, sign-outs and failed refreshes) tells
//!   each waiter whether its wait ended and how.
//! - Refreshes run in their own tasks, so a caller that gives up (drops its future) does
//!   not cancel the refresh others are waiting for.

mod account;
mod listeners;

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

pub use self::account::Account;
pub use self::listeners::{ListenerHandle, StateChanges};
use self::listeners::{Listeners, spawn_callback};
use crate::env::{AlwaysOnline, Clock, Connectivity, SystemClock};
use crate::error::{AuthError, ProviderError, StoreError};
use crate::machine::{self, Effect, Event, Failure, MachineState, SessionKind, Wait, Waiters};
use crate::provider::{DynAccountProvider, DynCredentialsProvider, DynIdentityProvider};
use crate::secret::ProviderToken;
use crate::store::{DynTokenStore, Generation, MemoryTokenStore, overwrite_from};
use crate::types::{
    AwsCredentials, ChallengeResponse, FederatedSession, IdentityId, Logins, SignInOutcome,
    SignInRequest, SignInResult, SignOutOptions, StoredSession, UserPoolTokens, UserState,
    UserStateDetails,
};

/// The default margin before expiry at which tokens and credentials count as expired.
pub const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// One step of the state machine, as seen by a [`TransitionObserver`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Transition {
    /// What happened.
    pub event: Event,
    /// The state before.
    pub from: MachineState,
    /// The state after.
    pub to: MachineState,
    /// What the client did about it.
    pub effects: Vec<Effect>,
}

/// A hook that sees every transition, for diagnostics and tests. It runs under the
/// client's lock: keep it quick and never call the client from it.
pub type TransitionObserver = Arc<dyn Fn(&Transition) + Send + Sync>;

/// Builds an [`AuthClient`].
///
/// Only the pieces a flow needs are required: an identity provider for user-pool sign-in,
/// a credentials provider for AWS credentials. The defaults are an in-memory store, an
/// always-online connectivity source, the system clock, a 5-minute expiry margin, no guest
/// access, and no deadline on waits for re-sign-in.
#[must_use]
pub struct AuthClientBuilder {
    identity_provider: Option<DynIdentityProvider>,
    account_provider: Option<DynAccountProvider>,
    credentials_provider: Option<DynCredentialsProvider>,
    store: Option<DynTokenStore>,
    connectivity: Option<Arc<dyn Connectivity>>,
    clock: Option<Arc<dyn Clock>>,
    margin: Duration,
    guest_access: bool,
    sign_in_wait_timeout: Option<Duration>,
    observer: Option<TransitionObserver>,
}

impl AuthClientBuilder {
    fn new() -> Self {
        Self {
            identity_provider: None,
            account_provider: None,
            credentials_provider: None,
            store: None,
            connectivity: None,
            clock: None,
            margin: DEFAULT_EXPIRY_MARGIN,
            guest_access: false,
            sign_in_wait_timeout: None,
            observer: None,
        }
    }

    /// Who signs users in (a Cognito user pool, an OpenID provider, a fake).
    pub fn identity_provider(mut self, provider: DynIdentityProvider) -> Self {
        self.identity_provider = Some(provider);
        self
    }

    /// Who offers sign-up, password reset and attributes (usually the identity provider
    /// again, e.g. the same Cognito user pool); enables [`AuthClient::account`].
    pub fn account_provider(mut self, provider: DynAccountProvider) -> Self {
        self.account_provider = Some(provider);
        self
    }

    /// Who turns sign-ins into AWS credentials (a Cognito identity pool).
    pub fn credentials_provider(mut self, provider: DynCredentialsProvider) -> Self {
        self.credentials_provider = Some(provider);
        self
    }

    /// Where the session lives between runs.
    pub fn token_store(mut self, store: DynTokenStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Where the client learns whether the device is online.
    pub fn connectivity(mut self, connectivity: Arc<dyn Connectivity>) -> Self {
        self.connectivity = Some(connectivity);
        self
    }

    /// The clock that expiry is compared with.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How long before expiry tokens and credentials count as expired (default 5 minutes).
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Whether guests (nobody signed in) get unauthenticated AWS credentials.
    pub fn guest_access(mut self, enabled: bool) -> Self {
        self.guest_access = enabled;
        self
    }

    /// How long a request may wait for a re-sign-in (or for connectivity) before failing
    /// with [`AuthError::SignInWaitTimedOut`]; `None` (the default) waits until a sign-in,
    /// a sign-out or [`AuthClient::release_sign_in_wait`].
    pub fn sign_in_wait_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.sign_in_wait_timeout = timeout;
        self
    }

    /// Sees every state-machine transition (diagnostics, traces in tests).
    pub fn transition_observer(mut self, observer: TransitionObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Builds the client. Call [`AuthClient::initialize`] before using it.
    pub fn build(self) -> AuthClient {
        let connectivity = self.connectivity.unwrap_or_else(|| Arc::new(AlwaysOnline::new()));
        let machine = MachineState::new(self.guest_access, connectivity.is_online());
        let (shutdown, _) = watch::channel(());
        AuthClient {
            inner: Arc::new(Inner {
                identity_provider: self.identity_provider,
                account_provider: self.account_provider,
                credentials_provider: self.credentials_provider,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
                connectivity,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                margin: self.margin,
                sign_in_wait_timeout: self.sign_in_wait_timeout,
                observer: self.observer,
                tokens: ArcSwapOption::empty(),
                credentials: ArcSwapOption::empty(),
                core: Mutex::new(Core::new(machine)),
                listeners: Arc::new(Mutex::new(Listeners::default())),
                wake: watch::Sender::new(0),
                persist_lock: tokio::sync::Mutex::new(()),
                clock_drift_ms: AtomicI64::new(0),
                shutdown,
            }),
        }
    }
}

/// The authentication client: sign-in, cached and refreshed tokens and AWS credentials,
/// user-state listeners, and the wait-for-re-sign-in rule. Cheap to clone; clones share
/// everything.
///
/// The semantics are those of DESIGN.md: tokens are served from the cache while valid;
/// expired tokens are refreshed once for all concurrent callers; a refresh the service
/// rejects leads to `SignedOutUserPoolsTokensInvalid` and requests wait for a new
/// sign-in (or [`release_sign_in_wait`](Self::release_sign_in_wait)); the network being
/// down never signs anyone out or clears the store.
#[derive(Clone)]
pub struct AuthClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthClient")
            .field("state", &self.inner.lock().machine.user)
            .finish_non_exhaustive()
    }
}

struct Inner {
    identity_provider: Option<DynIdentityProvider>,
    account_provider: Option<DynAccountProvider>,
    credentials_provider: Option<DynCredentialsProvider>,
    store: DynTokenStore,
    connectivity: Arc<dyn Connectivity>,
    clock: Arc<dyn Clock>,
    margin: Duration,
    sign_in_wait_timeout: Option<Duration>,
    observer: Option<TransitionObserver>,
    /// The hot-path caches. They only ever hold values of the current session.
    tokens: ArcSwapOption<UserPoolTokens>,
    credentials: ArcSwapOption<AwsCredentials>,
    core: Mutex<Core>,
    listeners: Arc<Mutex<Listeners>>,
    /// Bumped whenever waiting requests should look again.
    wake: watch::Sender<u64>,
    /// Serialises store writes, so the last write always carries the latest session.
    persist_lock: tokio::sync::Mutex<()>,
    /// How far the issuer's clock is ahead of ours, in milliseconds (negative: behind),
    /// estimated from the `iat` of tokens as they arrive. Expiry is judged by the issuer's
    /// clock: a device whose clock is off would otherwise refresh forever (tokens that look
    /// expired the moment they arrive) or use expired tokens.
    clock_drift_ms: AtomicI64,
    /// Dropped with the client, which stops the connectivity task.
    shutdown: watch::Sender<()>,
}

/// Counters that tell a waiting request whether (and why) its wait ended.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    released: u64,
    signed_out: u64,
    tokens_failed: u64,
    credentials_failed: u64,
    tokens_refreshed: u64,
    credentials_refreshed: u64,
}

struct Core {
    machine: MachineState,
    initialized: bool,
    /// The in-memory copy of the stored session.
    session: StoredSession,
    /// The store generation `session` was last read or written at.
    generation: Generation,
    /// Bumped by every sign-in, sign-out or adopted change: results of work started in an
    /// earlier epoch are discarded.
    epoch: u64,
    pending_challenge: Option<crate::types::ChallengeContext>,
    /// The logins key the identity id was last resolved with (`""` for a guest).
    identity_logins: Option<String>,
    counters: Counters,
    tokens_error: Option<AuthError>,
    credentials_error: Option<AuthError>,
    /// Requests currently blocked until a sign-in or connectivity.
    blocked: usize,
}

impl Core {
    fn new(machine: MachineState) -> Self {
        Self {
            machine,
            initialized: false,
            session: StoredSession::default(),
            generation: Generation::NEW,
            epoch: 0,
            pending_challenge: None,
            identity_logins: None,
            counters: Counters::default(),
            tokens_error: None,
            credentials_error: None,
            blocked: 0,
        }
    }
}

/// What [`Inner::apply`] decided for the request that fed the event.
#[derive(Default)]
struct Applied {
    disposition: Option<Disposition>,
}

#[derive(Clone, Copy)]
enum Disposition {
    Wait(Wait),
    Fail(Failure),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Tokens,
    Credentials,
}

/// A value `AuthClient` caches and refreshes: user-pool tokens or AWS credentials.
trait Cached: Clone + Send + Sync + 'static {
    /// What it is, for logs.
    const WHAT: &'static str;
    /// The client's cache of it.
    fn cache(inner: &Inner) -> &ArcSwapOption<Self>;
    /// Whether it is still valid at `now`, `margin` before its expiry.
    fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool;
}

impl Cached for UserPoolTokens {
    const WHAT: &'static str = "tokens";
    fn cache(inner: &Inner) -> &ArcSwapOption<Self> {
        &inner.tokens
    }
    fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool {
        UserPoolTokens::is_valid_at(self, now, margin)
    }
}

impl Cached for AwsCredentials {
    const WHAT: &'static str = "AWS credentials";
    fn cache(inner: &Inner) -> &ArcSwapOption<Self> {
        &inner.credentials
    }
    fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool {
        AwsCredentials::is_valid_at(self, now, margin)
    }
}

/// Why a wait ended well.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ready {
    /// The cache is valid.
    Valid,
    /// A refresh for this request completed: use its result as it is.
    JustRefreshed,
}

impl AuthClient {
    /// Starts building a client.
    pub fn builder() -> AuthClientBuilder {
        AuthClientBuilder::new()
    }

    /// Loads the store and sets the initial state: `SignedIn` if a user-pool or federated
    /// session is stored (even an expired one: validity is checked when tokens are asked
    /// for), else `Guest` if guest access is configured, else `SignedOut`.
    ///
    /// A store that is temporarily unavailable is an error and leaves the client
    /// uninitialised (call again later). A damaged store has already been kept aside by
    /// the store: the client starts with no session and reports the damage in the
    /// returned details under the `store` key. Calling it again returns the current state.
    pub async fn initialize(&self) -> Result<UserStateDetails, AuthError> {
        let inner = &self.inner;
        if inner.lock().initialized {
            return Ok(self.current_user_state());
        }
        let mut damage = None;
        let snapshot = match inner.store.load().await {
            Ok(snapshot) => snapshot,
            Err(error @ StoreError::Damaged { .. }) => {
                tracing::error!(%error, "the stored session was damaged and has been kept aside; starting without it");
                damage = Some(error.to_string());
                inner.store.load().await?
            }
            Err(error) => return Err(error.into()),
        };
        // Subscribe before reading, so no change between the two is lost.
        let connectivity = inner.connectivity.subscribe();
        let mut core = inner.lock();
        if core.initialized {
            drop(core);
            return Ok(self.current_user_state());
        }
        core.initialized = true;
        core.machine.online = *connectivity.borrow();
        core.generation = snapshot.generation;
        core.session = snapshot.session.unwrap_or_default();
        inner.refresh_caches(&core);
        let session = session_kind(&core.session);
        inner.apply(&mut core, Event::Initialized { session });
        let mut details = core.machine.details();
        drop(core);
        Inner::watch_connectivity(inner, connectivity);
        if let Some(damage) = damage {
            details = details.with("store", damage);
        }
        Ok(details)
    }

    /// Starts a user-pool sign-in. Allowed when nobody is signed in, for a guest, and in
    /// the `...TokensInvalid` states (a re-sign-in, which completes waiting requests).
    /// The session is saved before the state changes; if it cannot be saved the sign-in
    /// fails with [`AuthError::Store`] and nothing changes.
    pub async fn sign_in(&self, request: SignInRequest) -> Result<SignInResult, AuthError> {
        let provider = self.identity_provider()?;
        self.check_can_sign_in(false)?;
        let outcome = provider.sign_in(&request).await?;
        self.handle_sign_in_outcome(outcome).await
    }

    /// Answers the challenge of the sign-in in progress. On a provider error the sign-in
    /// stays pending, so a mistyped code can be retried.
    pub async fn confirm_sign_in(
        &self,
        response: ChallengeResponse,
    ) -> Result<SignInResult, AuthError> {
        let provider = self.identity_provider()?;
        let context =
            self.inner.lock().pending_challenge.clone().ok_or(AuthError::NoPendingSignIn)?;
        let outcome = provider.respond_to_challenge(&context, &response).await?;
        self.handle_sign_in_outcome(outcome).await
    }

    /// Signs in with a third-party provider's token (Google, Facebook, Apple, any OIDC
    /// issuer), federated into the identity pool: the identity pool checks the token now
    /// and issues credentials. `provider` is the logins key (e.g. `accounts.google.com`);
    /// `expires_at` is needed only for tokens that are not JWTs. Calling it again with a
    /// fresh token (e.g. in `SignedOutFederatedTokensInvalid`) completes waiting requests.
    pub async fn federated_sign_in(
        &self,
        provider: &str,
        token: ProviderToken,
        expires_at: Option<SystemTime>,
    ) -> Result<UserStateDetails, AuthError> {
        let credentials_provider = self
            .inner
            .credentials_provider
            .clone()
            .ok_or(AuthError::NotConfigured("a credentials provider"))?;
        self.check_can_sign_in(true)?;
        let federated = FederatedSession::new(provider, token, expires_at);
        let logins = Logins::from([(provider.to_owned(), federated.token.clone())]);
        // Only a guest's identity is offered for merging: another user's identity must
        // never be handed to the next user.
        let current = {
            let core = self.inner.lock();
            let session = &core.session;
            let guest = session.user_pool.is_none() && session.federated.is_none();
            if guest { session.identity_id.clone() } else { None }
        };
        let identity = credentials_provider.identity_id(&logins, current.as_ref()).await?;
        let credentials = credentials_provider.credentials(&identity, &logins).await?;
        let session = StoredSession {
            user_pool: None,
            federated: Some(federated),
            identity_id: Some(identity),
            aws_credentials: Some(credentials),
        };
        let kind = SessionKind::Federated { provider: provider.to_owned() };
        self.inner.complete_sign_in(session, kind, Some(provider.to_owned())).await?;
        Ok(self.current_user_state())
    }

    /// Signs the user out. With `global` or `invalidate_tokens` the provider is called
    /// first; if that call fails, nothing is cleared and the error is returned (retry, or
    /// sign out locally). Then the store and caches are cleared, waiting requests fail with
    /// [`AuthError::SignedOut`], and the state becomes `SignedOut` (or `Guest`).
    pub async fn sign_out(&self, options: SignOutOptions) -> Result<(), AuthError> {
        let inner = &self.inner;
        let session = {
            let core = inner.lock();
            if !core.initialized {
                return Err(AuthError::NotInitialized);
            }
            core.session.user_pool.clone()
        };
        if options.global || options.invalidate_tokens {
            if let (Some(provider), Some(session)) = (&inner.identity_provider, &session) {
                provider.sign_out(session, &options).await?;
            }
        }
        let _serial = inner.persist_lock.lock().await;
        let expected = inner.lock().generation;
        let generation = overwrite_from(&*inner.store, expected, None).await?;
        let mut core = inner.lock();
        core.generation = generation;
        core.session = StoredSession::default();
        core.identity_logins = None;
        core.pending_challenge = None;
        core.epoch += 1;
        inner.refresh_caches(&core);
        inner.apply(&mut core, Event::SignedOut);
        Ok(())
    }

    /// The user-pool tokens: from the cache while valid (no network, no lock), else
    /// refreshed (one refresh shared by all concurrent callers). If the session cannot be
    /// refreshed the call waits for a re-sign-in, a release or the configured deadline.
    pub async fn tokens(&self) -> Result<UserPoolTokens, AuthError> {
        if let Some(tokens) = self.inner.valid::<UserPoolTokens>() {
            return Ok(tokens);
        }
        self.inner.tokens_slow(false).await
    }

    /// Refreshes the user-pool tokens now, whatever their expiry, and returns the new ones
    /// (e.g. after changing attributes that the ID token carries). A refresh already in
    /// flight may have been sent before that change, so the call waits for it and then
    /// for one more. Offline it fails with [`AuthError::Offline`] and changes nothing.
    pub async fn refresh_tokens(&self) -> Result<UserPoolTokens, AuthError> {
        if !self.inner.connectivity.is_online() {
            let initialized = self.inner.lock().initialized;
            return Err(if initialized { AuthError::Offline } else { AuthError::NotInitialized });
        }
        self.inner.tokens_slow(true).await
    }

    /// AWS credentials from the identity pool: cached while valid, else refreshed (single
    /// flight) by federating the user's (refreshed) ID token, the federated provider's
    /// token, or nothing for a guest.
    pub async fn aws_credentials(&self) -> Result<AwsCredentials, AuthError> {
        if let Some(credentials) = self.inner.valid::<AwsCredentials>() {
            return Ok(credentials);
        }
        self.inner.wait_fresh(Want::Credentials, false).await
    }

    /// The identity-pool identity: the stored one, or resolved (with credentials) if none
    /// is known yet.
    pub async fn identity_id(&self) -> Result<IdentityId, AuthError> {
        if let Some(identity) = self.inner.lock().session.identity_id.clone() {
            return Ok(identity);
        }
        self.aws_credentials().await?;
        self.inner.lock().session.identity_id.clone().ok_or(AuthError::NotSignedIn)
    }

    /// Account operations (sign-up, password reset, attributes, account deletion); needs
    /// an account provider in the builder.
    pub fn account(&self) -> Result<Account, AuthError> {
        let provider = self
            .inner
            .account_provider
            .clone()
            .ok_or(AuthError::NotConfigured("an account provider"))?;
        Ok(Account::new(self.clone(), provider))
    }

    /// The current state and its details.
    pub fn current_user_state(&self) -> UserStateDetails {
        self.inner.lock().machine.details()
    }

    /// The current time by the token issuer's clock: the client's clock corrected by the
    /// drift estimated from fresh tokens and credentials (zero until a few seconds of drift
    /// are seen). Anything dated for the service, such as a SigV4 signature, should use it.
    pub fn service_time(&self) -> SystemTime {
        self.inner.now()
    }

    /// True in the `SignedIn` state.
    pub fn is_signed_in(&self) -> bool {
        self.inner.lock().machine.user == UserState::SignedIn
    }

    /// The signed-in user-pool username, if any.
    pub fn username(&self) -> Option<String> {
        self.inner.lock().session.user_pool.as_ref().map(|session| session.username.clone())
    }

    /// Fails every request that is blocked waiting for a re-sign-in (or for connectivity)
    /// with [`AuthError::SignInWaitReleased`], so the app can e.g. offer `sign_out()`.
    /// Returns how many requests were released. With none waiting it does nothing and
    /// returns 0; requests that start waiting later are not affected.
    pub fn release_sign_in_wait(&self) -> usize {
        let mut core = self.inner.lock();
        let released = core.blocked;
        self.inner.apply(&mut core, Event::ReleaseRequested);
        released
    }

    /// How many requests are blocked right now, waiting for a re-sign-in (or for
    /// connectivity): e.g. to decide whether to show a sign-in prompt.
    pub fn requests_waiting_for_sign_in(&self) -> usize {
        self.inner.lock().blocked
    }

    /// Calls `callback` with every state change, in order, from a task of its own: a slow
    /// or panicking callback delays only itself. Must be called inside a Tokio runtime.
    pub fn add_listener<F>(&self, callback: F) -> ListenerHandle
    where
        F: Fn(UserStateDetails) + Send + Sync + 'static,
    {
        let (id, receiver) = lock(&self.inner.listeners).add();
        spawn_callback(receiver, callback);
        ListenerHandle { id, listeners: Arc::downgrade(&self.inner.listeners) }
    }

    /// A stream of every state change from now on, in order.
    pub fn state_changes(&self) -> StateChanges {
        let (_, receiver) = lock(&self.inner.listeners).add();
        StateChanges { receiver }
    }

    fn identity_provider(&self) -> Result<DynIdentityProvider, AuthError> {
        self.inner.identity_provider.clone().ok_or(AuthError::NotConfigured("an identity provider"))
    }

    fn check_can_sign_in(&self, federated: bool) -> Result<(), AuthError> {
        let core = self.inner.lock();
        match (core.machine.user, &core.machine.session) {
            (UserState::Unknown, _) => Err(AuthError::NotInitialized),
            // A federated user may present a fresh provider token at any time.
            (UserState::SignedIn, SessionKind::Federated { .. }) if federated => Ok(()),
            (UserState::SignedIn, _) => Err(AuthError::AlreadySignedIn),
            _ => Ok(()),
        }
    }

    async fn handle_sign_in_outcome(
        &self,
        outcome: SignInOutcome,
    ) -> Result<SignInResult, AuthError> {
        match outcome {
            SignInOutcome::NextStep(step) => {
                self.inner.lock().pending_challenge = Some(step.context.clone());
                Ok(SignInResult::NextStep(step))
            }
            SignInOutcome::SignedIn(user_pool) => {
                let identity_id = {
                    let core = self.inner.lock();
                    // A guest's identity is kept so the identity pool merges it into the
                    // user's; another user's identity is not.
                    let previous = &core.session;
                    let keep = match (&previous.user_pool, &previous.federated) {
                        (None, None) => true,
                        (Some(old), None) => old.username == user_pool.username,
                        _ => false,
                    };
                    if keep { previous.identity_id.clone() } else { None }
                };
                let session = StoredSession {
                    user_pool: Some(user_pool),
                    federated: None,
                    identity_id,
                    aws_credentials: None,
                };
                self.inner.complete_sign_in(session, SessionKind::UserPool, None).await?;
                Ok(SignInResult::Done)
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    /// The current time by the issuers' clock: ours corrected by the estimated drift.
    fn now(&self) -> SystemTime {
        let now = self.clock.now();
        let drift = self.clock_drift_ms.load(Ordering::Relaxed);
        let by = Duration::from_millis(drift.unsigned_abs());
        let corrected = if drift >= 0 { now.checked_add(by) } else { now.checked_sub(by) };
        corrected.unwrap_or(now)
    }

    /// Re-estimates the clock drift from something the issuer stamped with its clock just
    /// now (the `iat` of fresh tokens, the `Date` of fresh credentials).
    fn note_clock_drift(&self, issued: Option<SystemTime>) {
        let Some(issued) = issued else { return };
        let local = self.clock.now();
        let drift_ms = match issued.duration_since(local) {
            Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
            Err(behind) => i64::try_from(behind.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        };
        // `iat` has whole seconds and the tokens took a moment to arrive: a few seconds of
        // difference is noise, not drift.
        let drift_ms = if drift_ms.abs() < 5_000 { 0 } else { drift_ms };
        if drift_ms != 0 {
            tracing::info!(
                drift_ms,
                "the device clock differs from the token issuer's; correcting expiry checks"
            );
        }
        self.clock_drift_ms.store(drift_ms, Ordering::Relaxed);
    }

    /// The cached `T`, if it is valid for at least the margin (the hot path: no lock).
    fn valid<T: Cached>(&self) -> Option<T> {
        let guard = T::cache(self).load();
        let value = guard.as_deref()?;
        value.is_valid_at(self.now(), self.margin).then(|| value.clone())
    }

    fn refresh_caches(&self, core: &Core) {
        self.tokens.store(core.session.user_pool.as_ref().map(|s| Arc::new(s.tokens.clone())));
        self.credentials.store(core.session.aws_credentials.clone().map(Arc::new));
    }

    /// Runs one transition and performs its synchronous effects under the lock.
    fn apply(self: &Arc<Self>, core: &mut Core, event: Event) -> Applied {
        let (next, effects) = machine::transition(&core.machine, &event);
        tracing::debug!(?event, from = ?core.machine.user, to = ?next.user, ?effects, "auth transition");
        if let Some(observer) = &self.observer {
            observer(&Transition {
                event,
                from: core.machine.clone(),
                to: next.clone(),
                effects: effects.clone(),
            });
        }
        core.machine = next;
        let mut applied = Applied::default();
        let mut wake = false;
        for effect in effects {
            match effect {
                Effect::Notify(details) => lock(&self.listeners).notify(&details),
                Effect::StartTokenRefresh => self.spawn_token_refresh(core),
                Effect::StartCredentialsRefresh => self.spawn_credentials_refresh(core),
                // The shell saves (or clears) the store before it feeds the event that
                // asks for it, so that a change is never visible before it is durable.
                Effect::PersistSession | Effect::ClearSession => {}
                Effect::Wait(wait) => applied.disposition = Some(Disposition::Wait(wait)),
                Effect::Fail(failure) => applied.disposition = Some(Disposition::Fail(failure)),
                Effect::ResumeWaiters => wake = true,
                Effect::FailWaiters(waiters, failure) => {
                    wake = true;
                    let counters = &mut core.counters;
                    match (waiters, failure) {
                        (_, Failure::SignedOut) => counters.signed_out += 1,
                        (_, Failure::Released) => counters.released += 1,
                        (Waiters::Tokens, _) => counters.tokens_failed += 1,
                        (Waiters::Credentials, _) => counters.credentials_failed += 1,
                        (Waiters::Blocked | Waiters::All, _) => {
                            counters.tokens_failed += 1;
                            counters.credentials_failed += 1;
                        }
                    }
                }
            }
        }
        if wake {
            self.wake.send_modify(|n| *n = n.wrapping_add(1));
        }
        applied
    }

    async fn tokens_slow(self: &Arc<Self>, forced: bool) -> Result<UserPoolTokens, AuthError> {
        self.wait_fresh(Want::Tokens, forced).await
    }

    /// Waits for `want`'s cache to be valid ([`Inner::wait_for`]) and returns its value. A
    /// value a refresh has just delivered is returned even if this device's clock already
    /// finds it expired; otherwise, if the clock moved past expiry since the wait ended,
    /// it waits again.
    async fn wait_fresh<T: Cached>(
        self: &Arc<Self>,
        want: Want,
        forced: bool,
    ) -> Result<T, AuthError> {
        loop {
            let ready = Inner::wait_for(self, want, forced).await?;
            let guard = T::cache(self).load();
            let Some(value) = guard.as_deref() else { return Err(AuthError::NotSignedIn) };
            let valid = value.is_valid_at(self.now(), Duration::ZERO);
            if ready == Ready::JustRefreshed && !valid {
                tracing::warn!(
                    what = T::WHAT,
                    "fresh values look expired by this device's clock; using them anyway"
                );
            }
            if valid || ready == Ready::JustRefreshed {
                return Ok(value.clone());
            }
        }
    }

    /// Waits until the cache for `want` is valid, driving the machine as needed.
    /// With `forced`, the cache counts only once a refresh has completed after the call
    /// began (a refresh already in flight is joined).
    async fn wait_for(self: &Arc<Self>, want: Want, forced: bool) -> Result<Ready, AuthError> {
        let mut deadline: Option<Instant> = None;
        // A forced wait needs a refresh that started after the call: one already in flight
        // may have been sent before whatever made the caller ask (e.g. an attribute
        // change), so it must complete and one more must follow.
        let (started, needed) = {
            let core = self.lock();
            let in_flight = match want {
                Want::Tokens => core.machine.token_refresh,
                Want::Credentials => core.machine.credentials_refresh,
            };
            (core.counters, if forced && in_flight { 2 } else { 1 })
        };
        let enough = |core: &Core| {
            let done = match want {
                Want::Tokens => core.counters.tokens_refreshed - started.tokens_refreshed,
                Want::Credentials => {
                    core.counters.credentials_refreshed - started.credentials_refreshed
                }
            };
            done >= needed
        };
        loop {
            let (mut wake, ticket) = {
                let mut core = self.lock();
                let cached = match want {
                    Want::Tokens => self.valid::<UserPoolTokens>().is_some(),
                    Want::Credentials => self.valid::<AwsCredentials>().is_some(),
                };
                let refreshed_since_start = enough(&core);
                if cached && (!forced || refreshed_since_start) {
                    return Ok(Ready::Valid);
                }
                if forced && refreshed_since_start {
                    return Ok(Ready::JustRefreshed);
                }
                let event = match want {
                    Want::Tokens => Event::TokensNeeded,
                    Want::Credentials => {
                        let now = self.now();
                        let federated_token_valid = core
                            .session
                            .federated
                            .as_ref()
                            .is_none_or(|f| f.is_valid_at(now, self.margin));
                        Event::CredentialsNeeded { federated_token_valid }
                    }
                };
                let wait = match self.apply(&mut core, event).disposition {
                    Some(Disposition::Wait(wait)) => wait,
                    Some(Disposition::Fail(failure)) => return Err(failure_error(failure, None)),
                    None => return Err(AuthError::NotSignedIn),
                };
                // Subscribe under the lock: any change after this point wakes us.
                (self.wake.subscribe(), Ticket::new(self, &mut core, wait))
            };
            if ticket.blocked() && deadline.is_none() {
                deadline = self.sign_in_wait_timeout.map(|timeout| Instant::now() + timeout);
            }
            let woke = match deadline.filter(|_| ticket.blocked()) {
                Some(deadline) => tokio::time::timeout_at(deadline, wake.changed()).await.ok(),
                None => Some(wake.changed().await),
            };
            let core = self.lock();
            if woke.is_none() {
                return Err(AuthError::SignInWaitTimedOut);
            }
            if let Some(error) = ticket.ended(&core, want) {
                return Err(error);
            }
            if ticket.refreshed(&core, want) && (!forced || enough(&core)) {
                // A refresh completed for this request. What it got may look expired or
                // nearly so (a lifetime shorter than the margin, or a device clock far off
                // with no drift estimate yet): it is as fresh as the service makes it, so
                // it is used rather than refreshed again, which would never end.
                return Ok(Ready::JustRefreshed);
            }
            // Otherwise look again: the cache may be valid now, or the state has changed.
        }
    }

    fn spawn_token_refresh(self: &Arc<Self>, core: &Core) {
        let inner = Arc::clone(self);
        let session = core.session.user_pool.clone();
        let epoch = core.epoch;
        tokio::spawn(async move {
            let result = match (&inner.identity_provider, session) {
                (Some(provider), Some(session)) if session.tokens.refresh_token().is_some() => {
                    let provider = Arc::clone(provider);
                    // The provider runs in a task of its own so that a panic in it becomes
                    // an error here instead of a refresh that never ends.
                    let refreshed = tokio::spawn(async move {
                        let result = provider.refresh(&session).await;
                        result.map(|tokens| tokens.or_refresh_token(session.tokens.refresh_token()))
                    })
                    .await;
                    refreshed.unwrap_or_else(|_| {
                        Err(ProviderError::Protocol("the identity provider panicked".into()))
                    })
                }
                (Some(_), Some(_)) => Err(ProviderError::rejected(
                    "NoRefreshToken",
                    "the session has no refresh token",
                )),
                _ => Err(ProviderError::Unsupported("refresh without an identity provider".into())),
            };
            match result {
                Ok(tokens) => {
                    let change = |session: &mut StoredSession| {
                        if let Some(user_pool) = session.user_pool.as_mut() {
                            user_pool.tokens = tokens.clone();
                        }
                    };
                    inner
                        .commit(epoch, change, |inner, core| {
                            if let Some(user_pool) = &core.session.user_pool {
                                inner.note_clock_drift(user_pool.tokens.issued_at());
                            }
                            core.counters.tokens_refreshed += 1;
                            inner.apply(core, Event::TokenRefreshSucceeded);
                        })
                        .await;
                }
                Err(error) => {
                    let mut core = inner.lock();
                    if core.epoch != epoch {
                        // A sign-in or sign-out happened meanwhile; this result belongs to
                        // a session that no longer exists.
                        return;
                    }
                    if error.is_rejected() {
                        tracing::info!(%error, "the refresh token was rejected; waiting for a new sign-in");
                        inner.apply(&mut core, Event::TokenRefreshRejected);
                    } else {
                        tracing::warn!(%error, "token refresh failed; the session is kept");
                        core.tokens_error = Some(error.into());
                        inner.apply(&mut core, Event::TokenRefreshFailed);
                    }
                }
            }
        });
    }

    fn spawn_credentials_refresh(self: &Arc<Self>, core: &Core) {
        let inner = Arc::clone(self);
        let epoch = core.epoch;
        tokio::spawn(async move {
            match inner.fetch_credentials().await {
                Ok((identity, credentials, logins_key)) => {
                    let change = |session: &mut StoredSession| {
                        session.identity_id = Some(identity.clone());
                        session.aws_credentials = Some(credentials.clone());
                    };
                    inner
                        .commit(epoch, change, |inner, core| {
                            if let Some(credentials) = &core.session.aws_credentials {
                                inner.note_clock_drift(credentials.issued_at);
                            }
                            core.identity_logins = Some(logins_key);
                            core.counters.credentials_refreshed += 1;
                            inner.apply(core, Event::CredentialsRefreshSucceeded);
                        })
                        .await;
                }
                Err(error) => {
                    let mut core = inner.lock();
                    if core.epoch != epoch {
                        return;
                    }
                    let rejected = matches!(&error, AuthError::Provider(e) if e.is_rejected());
                    tracing::warn!(%error, "AWS credentials refresh failed");
                    core.credentials_error = Some(error);
                    let event = if rejected {
                        Event::CredentialsRefreshRejected
                    } else {
                        Event::CredentialsRefreshFailed
                    };
                    inner.apply(&mut core, event);
                }
            }
        });
    }

    async fn fetch_credentials(
        self: &Arc<Self>,
    ) -> Result<(IdentityId, AwsCredentials, String), AuthError> {
        let provider = self
            .credentials_provider
            .clone()
            .ok_or(AuthError::NotConfigured("a credentials provider"))?;
        let (kind, federated, identity, identity_logins) = {
            let core = self.lock();
            (
                core.machine.session.clone(),
                core.session.federated.clone(),
                core.session.identity_id.clone(),
                core.identity_logins.clone(),
            )
        };
        let logins: Logins = match (&kind, federated) {
            (SessionKind::UserPool, _) => {
                let idp = self
                    .identity_provider
                    .as_ref()
                    .ok_or(AuthError::NotConfigured("an identity provider"))?;
                let tokens = match self.valid::<UserPoolTokens>() {
                    Some(tokens) => tokens,
                    None => self.tokens_slow(false).await?,
                };
                Logins::from([(idp.logins_key(), ProviderToken::new(tokens.id_token().secret()))])
            }
            (SessionKind::Federated { .. }, Some(federated)) => {
                Logins::from([(federated.provider, federated.token)])
            }
            _ => Logins::new(),
        };
        let logins_key = logins.keys().next().cloned().unwrap_or_default();
        let identity = match identity {
            Some(identity) if identity_logins.as_deref() == Some(logins_key.as_str()) => identity,
            current => {
                spawn_provider(provider.clone(), {
                    let logins = logins.clone();
                    move |p| async move { p.identity_id(&logins, current.as_ref()).await }
                })
                .await?
            }
        };
        let credentials = spawn_provider(provider, {
            let identity = identity.clone();
            move |p| async move { p.credentials(&identity, &logins).await }
        })
        .await?;
        Ok((identity, credentials, logins_key))
    }

    /// Makes `session` the current one: saved first (a sign-in that cannot be saved
    /// changes nothing), then made visible.
    async fn complete_sign_in(
        self: &Arc<Self>,
        session: StoredSession,
        kind: SessionKind,
        identity_logins: Option<String>,
    ) -> Result<(), AuthError> {
        let _serial = self.persist_lock.lock().await;
        let expected = self.lock().generation;
        let generation = overwrite_from(&*self.store, expected, Some(&session)).await?;
        let mut core = self.lock();
        core.generation = generation;
        core.session = session;
        core.identity_logins = identity_logins;
        core.pending_challenge = None;
        core.epoch += 1;
        if let Some(user_pool) = &core.session.user_pool {
            self.note_clock_drift(user_pool.tokens.issued_at());
        } else if let Some(credentials) = &core.session.aws_credentials {
            self.note_clock_drift(credentials.issued_at);
        }
        self.refresh_caches(&core);
        self.apply(&mut core, Event::SignedIn { session: kind });
        Ok(())
    }

    /// Makes a refresh result current. The changed session is saved first, so a caller
    /// that receives the new tokens may exit at once without losing them; then it becomes
    /// the in-memory session and `finish` runs under the same lock. If someone else wrote
    /// the store since we last read or wrote it: for the same sign-in, the result is
    /// applied to their session and saved again; for another one (a sign-out, another
    /// user), their session is adopted and this result dropped. A store that cannot be
    /// written is logged; the result is kept in memory.
    async fn commit(
        self: &Arc<Self>,
        epoch: u64,
        change: impl Fn(&mut StoredSession),
        finish: impl FnOnce(&Arc<Self>, &mut Core),
    ) {
        let _serial = self.persist_lock.lock().await;
        let mut saved = None;
        let mut session = StoredSession::default();
        for _ in 0..8 {
            let expected = {
                let core = self.lock();
                if core.epoch != epoch {
                    // A sign-in, a sign-out or an adopted session replaced the session
                    // this result belongs to.
                    return;
                }
                session = core.session.clone();
                core.generation
            };
            change(&mut session);
            match self.store.compare_and_swap(expected, Some(&session)).await {
                Ok(generation) => {
                    saved = Some(generation);
                    break;
                }
                Err(StoreError::Conflict { current }) => {
                    let snapshot = match self.store.load().await {
                        Ok(snapshot) => snapshot,
                        Err(error) => {
                            tracing::warn!(%error, "could not read the store; keeping the refreshed session in memory");
                            break;
                        }
                    };
                    let stored = snapshot.session.clone().unwrap_or_default();
                    let mut core = self.lock();
                    if core.epoch != epoch {
                        return;
                    }
                    if same_sign_in(&core.session, &stored) {
                        // Another process saved something for this same sign-in (its own
                        // refresh, new credentials): build on its session, so neither
                        // result is lost.
                        tracing::info!(%current, "the store was written by someone else for this session; merging");
                        core.generation = snapshot.generation;
                        core.session = stored;
                    } else {
                        tracing::info!(%current, "the store holds another session; adopting it");
                        self.adopt(&mut core, snapshot.generation, stored);
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not save the refreshed session; it is kept in memory");
                    break;
                }
            }
        }
        let mut core = self.lock();
        if core.epoch != epoch {
            return;
        }
        if let Some(generation) = saved {
            core.generation = generation;
        }
        core.session = session;
        self.refresh_caches(&core);
        finish(self, &mut core);
    }

    /// Takes the store's session (read at `generation`) as the truth after another writer
    /// replaced the session with a different one.
    fn adopt(self: &Arc<Self>, core: &mut Core, generation: Generation, stored: StoredSession) {
        core.generation = generation;
        if stored == core.session {
            return;
        }
        core.session = stored;
        core.identity_logins = None;
        core.epoch += 1;
        self.refresh_caches(core);
        let event = match session_kind(&core.session) {
            SessionKind::None => Event::SignedOut,
            session => Event::SignedIn { session },
        };
        self.apply(core, event);
    }

    fn watch_connectivity(self: &Arc<Self>, mut connectivity: watch::Receiver<bool>) {
        let weak = Arc::downgrade(self);
        let mut shutdown = self.shutdown.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = connectivity.changed() => if changed.is_err() { break },
                    _ = shutdown.changed() => break,
                }
                let online = *connectivity.borrow_and_update();
                let Some(inner) = weak.upgrade() else { break };
                let mut core = inner.lock();
                inner.apply(&mut core, Event::ConnectivityChanged { online });
            }
        });
    }
}

/// Whether two sessions belong to the same sign-in: the same user-pool user, the same
/// federated provider, or the same guest identity. A refresh result computed for one may
/// be applied to the other.
fn same_sign_in(a: &StoredSession, b: &StoredSession) -> bool {
    match (&a.user_pool, &b.user_pool, &a.federated, &b.federated) {
        (Some(a), Some(b), _, _) => a.username == b.username,
        (None, None, Some(a), Some(b)) => a.provider == b.provider,
        (None, None, None, None) => a.identity_id.is_some() && a.identity_id == b.identity_id,
        _ => false,
    }
}

/// What a waiting request saw when it started waiting.
struct Ticket {
    wait: Wait,
    counters: Counters,
    inner: Arc<Inner>,
}

impl Ticket {
    fn new(inner: &Arc<Inner>, core: &mut Core, wait: Wait) -> Self {
        let ticket = Ticket { wait, counters: core.counters, inner: Arc::clone(inner) };
        if ticket.blocked() {
            core.blocked += 1;
        }
        ticket
    }

    fn blocked(&self) -> bool {
        matches!(self.wait, Wait::ForSignIn | Wait::ForConnectivity)
    }

    /// True if a refresh of what the request wants succeeded since it started waiting.
    fn refreshed(&self, core: &Core, want: Want) -> bool {
        match want {
            Want::Tokens => core.counters.tokens_refreshed != self.counters.tokens_refreshed,
            Want::Credentials => {
                core.counters.credentials_refreshed != self.counters.credentials_refreshed
            }
        }
    }

    /// The error that ended this wait, if one did.
    fn ended(&self, core: &Core, want: Want) -> Option<AuthError> {
        let now = core.counters;
        if now.signed_out != self.counters.signed_out {
            return Some(AuthError::SignedOut);
        }
        if self.blocked() && now.released != self.counters.released {
            return Some(AuthError::SignInWaitReleased);
        }
        let failed = match want {
            Want::Tokens => {
                (now.tokens_failed != self.counters.tokens_failed).then_some(&core.tokens_error)
            }
            Want::Credentials => (now.credentials_failed != self.counters.credentials_failed)
                .then_some(&core.credentials_error),
        };
        failed.map(|error| failure_error(Failure::RefreshFailed, error.clone()))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.blocked() {
            self.inner.lock().blocked -= 1;
        }
    }
}

fn failure_error(failure: Failure, refresh_error: Option<AuthError>) -> AuthError {
    match failure {
        Failure::NotInitialized => AuthError::NotInitialized,
        Failure::NotSignedIn => AuthError::NotSignedIn,
        Failure::Released => AuthError::SignInWaitReleased,
        Failure::SignedOut => AuthError::SignedOut,
        Failure::RefreshFailed => refresh_error.unwrap_or(AuthError::NotSignedIn),
        // `Failure` is non-exhaustive only for users of the machine; this crate knows all.
        #[allow(unreachable_patterns, reason = "Failure is non_exhaustive for other crates only")]
        _ => AuthError::NotSignedIn,
    }
}

fn session_kind(session: &StoredSession) -> SessionKind {
    match (&session.user_pool, &session.federated) {
        (Some(_), _) => SessionKind::UserPool,
        (None, Some(federated)) => SessionKind::Federated { provider: federated.provider.clone() },
        (None, None) => SessionKind::None,
    }
}

/// Runs a provider call in a task of its own, turning a panic into an error.
async fn spawn_provider<P, F, Fut, T>(provider: P, call: F) -> Result<T, AuthError>
where
    P: Send + 'static,
    F: FnOnce(P) -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>> + Send + 'static,
    T: Send + 'static,
{
    match tokio::spawn(call(provider)).await {
        Ok(result) => result.map_err(AuthError::from),
        Err(_) => Err(ProviderError::Protocol("the credentials provider panicked".into()).into()),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave `Core` half-updated in a way that is
    // worse than stopping: every mutation is a plain assignment. Keep serving.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_client_is_send_sync_and_its_futures_are_send() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        fn assert_send<T: Send>(_: T) {}
        let client = AuthClient::builder().build();
        assert_send_sync(&client);
        assert_send(client.tokens());
        assert_send(client.aws_credentials());
        assert_send(client.sign_in(SignInRequest::password("u", "p")));
        assert_send(client.sign_out(SignOutOptions::local()));
        assert_send(client.initialize());
    }
}
