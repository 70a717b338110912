//! `AuthClient`: the imperative shell around the pure state machine.
//!
//! The client caches tokens and AWS credentials, refreshes them (one refresh for any
//! number of concurrent callers), persists the session, tells listeners about every state
//! change and makes requests wait for a re-sign-in when the session cannot be refreshed.
//! Every decision about states is taken by the [`machine`](crate::machine) module; this
//! module only performs the effects it returns.
//!
//! Concurrency design:
//! - The hot path (`tokens()` / `aws_credentials()` with a valid cache) reads an
//!   [`ArcSwapOption`] and the clock: no lock, no await, no allocation.
//! - Everything else goes through one `std::sync::Mutex` that is never held across an
//!   await. Transitions, listener queues and waiter bookkeeping change together under it,
//!   so listeners see changes in transition order.
//!
//! By concern: `builder` assembles the client, `waiting` makes requests wait for fresh
//! values, `refresh` runs the refreshes, `persistence` saves and adopts sessions,
//! `account` and `listeners` are the account operations and the state listeners.

mod account;
mod builder;
mod listeners;
mod persistence;
mod refresh;
mod waiting;

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use serde::Serialize;
use tokio::sync::watch;

pub use self::account::Account;
pub use self::builder::AuthClientBuilder;
pub use self::listeners::{ListenerHandle, StateChanges};
use self::listeners::{Listeners, spawn_callback};
use self::persistence::session_kind;
use self::waiting::{Applied, Disposition, RefreshTrack, failure_error};
use crate::env::{Clock, Connectivity};
use crate::error::{AuthError, StoreError};
use crate::machine::{self, Effect, Event, Failure, MachineState, SessionKind, Waiters};
use crate::provider::{DynAccountProvider, DynCredentialsProvider, DynIdentityProvider};
use crate::secret::{ProviderToken, SecretString};
use crate::store::{DynTokenStore, Generation};
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

/// What [`AuthClient::fetch_session`] returns: each part the session has, valid (or as
/// fresh as the service makes it) when returned.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthSession {
    /// The user-pool tokens, for a user-pool session.
    pub tokens: Option<UserPoolTokens>,
    /// The user's `sub` (from the ID token), for a user-pool session.
    pub user_sub: Option<String>,
    /// The identity-pool identity, with a credentials provider.
    pub identity_id: Option<IdentityId>,
    /// Temporary AWS credentials, with a credentials provider.
    pub credentials: Option<AwsCredentials>,
}

/// A hook that sees every transition, for diagnostics and tests. It runs under the
/// client's lock: keep it quick and never call the client from it.
pub type TransitionObserver = Arc<dyn Fn(&Transition) + Send + Sync>;

/// The authentication client: sign-in, cached and refreshed tokens and AWS credentials,
/// user-state listeners, and the wait-for-re-sign-in rule. Cheap to clone; clones share
/// everything.
///
/// The semantics are those of the user guide's User states chapter: tokens are served from the cache while valid;
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
            .field("state", &self.inner.lock().machine.user_state())
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
    /// The credentials of a sign-up that asked to be signed in once confirmed
    /// (`SignUpRequest::auto_sign_in`): the username and the password, which zeroizes when
    /// it is used, replaced or dropped with the client.
    auto_sign_in: Mutex<Option<(String, crate::secret::Password)>>,
    /// Dropped with the client, which stops the connectivity task.
    shutdown: watch::Sender<()>,
}

/// The machine's details of the state, plus what only the session knows: for a user-pool
/// session, who authenticated the user (read from its ID token).
fn details_of(machine: &MachineState, session: &StoredSession) -> UserStateDetails {
    with_sign_in_provider(machine.details(), machine, session)
}

/// `details` (of `machine`'s state) with the session's sign-in provider.
fn with_sign_in_provider(
    mut details: UserStateDetails,
    machine: &MachineState,
    session: &StoredSession,
) -> UserStateDetails {
    if let (machine::Phase::UserPool { .. }, Some(user_pool)) = (&machine.phase, &session.user_pool)
    {
        details.sign_in_provider = Some(crate::types::SignInProvider::of_tokens(&user_pool.tokens));
    }
    details
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
    /// The refreshes of user-pool tokens and of AWS credentials.
    tokens: RefreshTrack,
    credentials: RefreshTrack,
    /// How many times blocked requests were released, and sessions signed out: a waiting
    /// request compares them with what it saw when it started waiting.
    released: u64,
    signed_out: u64,
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
            tokens: RefreshTrack::default(),
            credentials: RefreshTrack::default(),
            released: 0,
            signed_out: 0,
            blocked: 0,
        }
    }
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
    /// returned details' [`store_damage`](UserStateDetails::store_damage). Calling it
    /// again returns the current state.
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
        let mut details = details_of(&core.machine, &core.session);
        drop(core);
        Inner::watch_connectivity(inner, connectivity);
        details.store_damage = damage;
        Ok(details)
    }

    /// Starts a user-pool sign-in. Allowed when nobody is signed in, for a guest, and in
    /// the `...TokensInvalid` states (a re-sign-in, which completes waiting requests).
    /// The session is saved before the state changes; if it cannot be saved the sign-in
    /// fails with [`AuthError::Store`] and nothing changes.
    pub async fn sign_in(&self, request: SignInRequest) -> Result<SignInResult, AuthError> {
        let provider = self.identity_provider()?;
        self.check_sign_in(&SessionKind::UserPool)?;
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
        token: impl Into<ProviderToken>,
        expires_at: Option<SystemTime>,
    ) -> Result<UserStateDetails, AuthError> {
        let token = token.into();
        let credentials_provider = self
            .inner
            .credentials_provider
            .clone()
            .ok_or(AuthError::NotConfigured("a credentials provider"))?;
        let kind = SessionKind::Federated { provider: provider.to_owned() };
        self.check_sign_in(&kind)?;
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
        inner.clear_session().await
    }

    /// The user-pool tokens: from the cache while valid (no network, no lock), else
    /// refreshed (one refresh shared by all concurrent callers). If the session cannot be
    /// refreshed the call waits for a re-sign-in, a release or the configured deadline.
    pub async fn tokens(&self) -> Result<UserPoolTokens, AuthError> {
        if let Some(tokens) = self.inner.valid::<UserPoolTokens>() {
            return Ok(tokens);
        }
        self.inner.wait_fresh::<UserPoolTokens>(false).await
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
        self.inner.wait_fresh::<UserPoolTokens>(true).await
    }

    /// AWS credentials from the identity pool: cached while valid, else refreshed (single
    /// flight) by federating the user's (refreshed) ID token, the federated provider's
    /// token, or nothing for a guest.
    pub async fn aws_credentials(&self) -> Result<AwsCredentials, AuthError> {
        if let Some(credentials) = self.inner.valid::<AwsCredentials>() {
            return Ok(credentials);
        }
        self.inner.wait_fresh::<AwsCredentials>(false).await
    }

    /// Everything about the current session at once, like Amplify's `fetchAuthSession`:
    /// the user-pool tokens (for a user-pool session), the user's `sub`, and, with a
    /// credentials provider, the identity id and AWS credentials (for a signed-in user or,
    /// with guest access, a guest). Each part is had as its own call would have it: from
    /// the cache while valid, else refreshed, and by the offline rules (offline with
    /// invalid tokens, it waits). Nobody signed in and no guest access:
    /// [`AuthError::NotSignedIn`].
    pub async fn fetch_session(&self) -> Result<AuthSession, AuthError> {
        let (initialized, user_pool, federated) = {
            let core = self.inner.lock();
            (core.initialized, core.session.user_pool.is_some(), core.session.federated.is_some())
        };
        if !initialized {
            return Err(AuthError::NotInitialized);
        }
        let guest = !user_pool && !federated && self.inner.lock().machine.guest_allowed;
        if !user_pool && !federated && !guest {
            return Err(AuthError::NotSignedIn);
        }
        let tokens = if user_pool { Some(self.tokens().await?) } else { None };
        let user_sub = tokens
            .as_ref()
            .and_then(|tokens| tokens.id_claims().ok())
            .and_then(|claims| claims.string("sub").map(str::to_owned));
        let credentials = match &self.inner.credentials_provider {
            Some(_) => Some(self.aws_credentials().await?),
            None => None,
        };
        let identity_id = match credentials {
            Some(_) => self.inner.lock().session.identity_id.clone(),
            None => None,
        };
        Ok(AuthSession { tokens, user_sub, identity_id, credentials })
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

    /// Account operations (sign-up, password reset, attributes, account deletion), from
    /// the builder's account provider or, without one, the identity provider when it
    /// offers them (a Cognito user pool does). Fails with [`AuthError::NotConfigured`]
    /// when neither does.
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
        let core = self.inner.lock();
        details_of(&core.machine, &core.session)
    }

    /// The current time by the token issuer's clock: the client's clock corrected by the
    /// drift estimated from fresh tokens and credentials (zero until a few seconds of drift
    /// are seen). Anything dated for the service, such as a SigV4 signature, should use it.
    pub fn service_time(&self) -> SystemTime {
        self.inner.now()
    }

    /// True in the `SignedIn` state.
    pub fn is_signed_in(&self) -> bool {
        self.inner.lock().machine.user_state() == UserState::SignedIn
    }

    /// The signed-in user-pool username, if any.
    pub fn username(&self) -> Option<String> {
        self.inner.lock().session.user_pool.as_ref().map(|session| session.username.clone())
    }

    /// The pending auto sign-in of a sign-up (see `Account::auto_sign_in`).
    fn auto_sign_in_slot(&self) -> MutexGuard<'_, Option<(String, crate::secret::Password)>> {
        self.inner.auto_sign_in.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The device key of the signed-in session, if its provider tracks devices (a Cognito
    /// user pool with device tracking records the key of the device it confirmed): what an
    /// app names when it asks the provider to remember this device.
    pub fn device_key(&self) -> Option<SecretString> {
        self.inner
            .lock()
            .session
            .user_pool
            .as_ref()
            .and_then(|session| session.device_key().cloned())
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

    /// Asks the machine whether a sign-in of `kind` may start now.
    fn check_sign_in(&self, kind: &SessionKind) -> Result<(), AuthError> {
        let core = self.inner.lock();
        machine::check_sign_in(&core.machine, kind).map_err(|failure| failure_error(failure, None))
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

    fn refresh_caches(&self, core: &Core) {
        self.tokens.store(core.session.user_pool.as_ref().map(|s| Arc::new(s.tokens.clone())));
        self.credentials.store(core.session.aws_credentials.clone().map(Arc::new));
    }

    /// Runs one transition and performs its synchronous effects under the lock.
    fn apply(self: &Arc<Self>, core: &mut Core, event: Event) -> Applied {
        let (next, effects) = machine::transition(&core.machine, &event);
        tracing::debug!(?event, from = ?core.machine.user_state(), to = ?next.user_state(), ?effects, "auth transition");
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
                Effect::Notify(details) => {
                    // The machine knows the state; the session knows who signed in.
                    let details = with_sign_in_provider(details, &core.machine, &core.session);
                    lock(&self.listeners).notify(&details);
                }
                Effect::StartTokenRefresh => self.spawn_token_refresh(core),
                Effect::StartCredentialsRefresh => self.spawn_credentials_refresh(core),
                Effect::Wait(wait) => applied.disposition = Some(Disposition::Wait(wait)),
                Effect::Fail(failure) => applied.disposition = Some(Disposition::Fail(failure)),
                Effect::ResumeWaiters => wake = true,
                Effect::FailWaiters(waiters, failure) => {
                    wake = true;
                    match (waiters, failure) {
                        (_, Failure::SignedOut) => core.signed_out += 1,
                        (_, Failure::Released) => core.released += 1,
                        (Waiters::Tokens, _) => core.tokens.failed += 1,
                        (Waiters::Credentials, _) => core.credentials.failed += 1,
                        (Waiters::Blocked | Waiters::All, _) => {
                            core.tokens.failed += 1;
                            core.credentials.failed += 1;
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

    /// Feeds the machine the connectivity source's current value if the watch task has not
    /// yet. A refresh that failed for network reasons may itself have told the source
    /// (a transport report marks it offline at once): judged with the stale value, the
    /// waiting requests would fail instead of blocking.
    fn sync_connectivity(self: &Arc<Self>, core: &mut Core) {
        let online = self.connectivity.is_online();
        if online != core.machine.online {
            self.apply(core, Event::ConnectivityChanged { online });
        }
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
