//! Building an [`AuthClient`] from its pieces.

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

use super::listeners::Listeners;
use super::{AuthClient, Core, DEFAULT_EXPIRY_MARGIN, Inner, TransitionObserver};
use crate::env::{AlwaysOnline, Clock, Connectivity, SystemClock};
use crate::machine::MachineState;
use crate::provider::{DynAccountProvider, DynCredentialsProvider, DynIdentityProvider};
use crate::store::{DynTokenStore, MemoryTokenStore};

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

impl std::fmt::Debug for AuthClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClientBuilder")
            .field("identity_provider", &self.identity_provider.is_some())
            .field("credentials_provider", &self.credentials_provider.is_some())
            .field("custom_store", &self.store.is_some())
            .field("custom_connectivity", &self.connectivity.is_some())
            .field("expiry_margin", &self.margin)
            .field("sign_in_wait_timeout", &self.sign_in_wait_timeout)
            .field("guest_access", &self.guest_access)
            .finish_non_exhaustive()
    }
}

impl AuthClientBuilder {
    pub(super) fn new() -> Self {
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

    /// Who offers sign-up, password reset and attributes, when it is not the identity
    /// provider itself. Not needed when the identity provider offers them (a Cognito user
    /// pool does, through [`IdentityProvider::account_provider`](crate::IdentityProvider::account_provider)): [`AuthClient::account`]
    /// then uses it.
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
    /// with [`AuthError::SignInWaitTimedOut`](crate::AuthError::SignInWaitTimedOut); `None` (the default) waits until a sign-in,
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
        let account_provider = self
            .account_provider
            .or_else(|| self.identity_provider.clone().and_then(|idp| idp.account_provider()));
        AuthClient {
            inner: Arc::new(Inner {
                identity_provider: self.identity_provider,
                account_provider,
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
                auto_sign_in: Mutex::new(None),
                shutdown,
            }),
        }
    }
}
