//! A client wired to fakes, shared by the tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::testing::{FakeCredentialsProvider, FakeIdentityProvider, FaultyTokenStore};
use tokio::task::JoinHandle;

use async_trait::async_trait;
use auth_core::testing::model::{ModelConfig, ModelWorld};
use auth_core::{
    AuthClient, AuthClientBuilder, AuthError, AwsCredentials, ManualClock, ManualConnectivity,
    ProviderError, ServiceError, ServiceErrorKind, SignInRequest, StoredSession, Transition,
    UserPoolTokens, UserStateDetails,
};

pub(crate) const USER: &str = "alice";
pub(crate) const PASSWORD: &str = "Passw0rd!";
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(600);
pub(crate) const REFRESH_LIFETIME: Duration = Duration::from_secs(3000);
pub(crate) const MARGIN: Duration = Duration::from_secs(60);

/// Everything a test needs to drive and observe a client.
pub(crate) struct Harness {
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) net: ManualConnectivity,
    pub(crate) idp: FakeIdentityProvider,
    pub(crate) pool: FakeCredentialsProvider,
    pub(crate) store: Arc<FaultyTokenStore>,
    pub(crate) guest: bool,
    pub(crate) transitions: Arc<Mutex<Vec<Transition>>>,
}

impl Harness {
    pub(crate) fn new() -> Self {
        let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000)));
        let idp = FakeIdentityProvider::new(clock.clone());
        idp.add_user(USER, PASSWORD);
        idp.set_token_lifetime(TOKEN_LIFETIME);
        idp.set_refresh_token_lifetime(REFRESH_LIFETIME);
        let pool = FakeCredentialsProvider::new(clock.clone());
        Self {
            clock,
            net: ManualConnectivity::new(true),
            idp,
            pool,
            store: Arc::new(FaultyTokenStore::new()),
            guest: false,
            transitions: Arc::default(),
        }
    }

    pub(crate) fn with_guest(mut self) -> Self {
        self.guest = true;
        self
    }

    pub(crate) fn builder(&self) -> AuthClientBuilder {
        let transitions = self.transitions.clone();
        AuthClient::builder()
            .identity_provider(Arc::new(self.idp.clone()))
            .credentials_provider(Arc::new(self.pool.clone()))
            .token_store(self.store.clone())
            .connectivity(Arc::new(self.net.clone()))
            .clock(self.clock.clone())
            .expiry_margin(MARGIN)
            .guest_access(self.guest)
            .transition_observer(Arc::new(move |t: &Transition| {
                transitions.lock().unwrap().push(t.clone())
            }))
    }

    /// A new, initialised client (a restart, when called again).
    pub(crate) async fn client(&self) -> AuthClient {
        let client = self.builder().build();
        client.initialize().await.expect("initialize");
        client
    }

    pub(crate) async fn signed_in_client(&self) -> AuthClient {
        let client = self.client().await;
        client.sign_in(SignInRequest::password(USER, PASSWORD)).await.expect("sign in");
        client
    }

    /// Sets connectivity for the client and the fakes together.
    pub(crate) fn set_online(&self, online: bool) {
        self.idp.set_network_available(online);
        self.pool.set_network_available(online);
        self.net.set_online(online);
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub(crate) fn now(&self) -> SystemTime {
        use auth_core::Clock as _;
        self.clock.now()
    }
}

/// Lets spawned tasks (refreshes, listeners) run until they wait on something.
pub(crate) async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Drains the changes a stream has queued.
pub(crate) fn drain(changes: &mut auth_core::StateChanges) -> Vec<UserStateDetails> {
    std::iter::from_fn(|| changes.try_next()).collect()
}

/// Starts a `tokens()` request in a task of its own.
pub(crate) fn spawn_tokens(client: &AuthClient) -> JoinHandle<Result<UserPoolTokens, AuthError>> {
    let client = client.clone();
    tokio::spawn(async move { client.tokens().await })
}

/// Starts an `aws_credentials()` request in a task of its own.
pub(crate) fn spawn_credentials(
    client: &AuthClient,
) -> JoinHandle<Result<AwsCredentials, AuthError>> {
    let client = client.clone();
    tokio::spawn(async move { client.aws_credentials().await })
}

/// The fakes as a [`ModelWorld`], for the model test and the shared trace scenarios.
pub(crate) struct FakeWorld {
    pub(crate) h: Harness,
    config: ModelConfig,
}

impl FakeWorld {
    pub(crate) fn new() -> Self {
        FakeWorld {
            h: Harness::new(),
            config: ModelConfig::new(USER, PASSWORD, TOKEN_LIFETIME, REFRESH_LIFETIME, MARGIN),
        }
    }
}

#[async_trait]
impl ModelWorld for FakeWorld {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn builder(&self) -> AuthClientBuilder {
        self.h.builder()
    }

    fn now(&self) -> SystemTime {
        self.h.now()
    }

    async fn advance(&self, by: Duration) {
        self.h.advance(by);
    }

    async fn set_connectivity(&self, online: bool) {
        self.h.net.set_online(online);
    }

    async fn set_reachable(&self, reachable: bool) {
        self.h.idp.set_network_available(reachable);
    }

    async fn revoke_refresh_tokens(&self) {
        self.h.idp.revoke_user(USER);
    }

    async fn fail_next_request(&self) {
        let busy = ServiceError::with_kind(ServiceErrorKind::TooManyRequests, "Rate exceeded");
        self.h.idp.fail_next(ProviderError::Unavailable(busy));
    }

    async fn refresh_requests(&self) -> usize {
        self.h.idp.calls().refresh_served
    }

    async fn stored_session(&self) -> Option<StoredSession> {
        self.h.store.peek()
    }
}
