//! auth-core's model-based property test with the real Cognito provider over the
//! in-process mock Cognito: random sequences of sign-in, sign-out, clock advance, offline
//! and online, unreachable service, server-side revocation, throttling, concurrent
//! `tokens()` calls and restarts, checked after every step against the reference model.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_cognito::{CognitoUserPool, RetryPolicy};
use auth_core::testing::FaultyTokenStore;
use auth_core::testing::model::{ModelConfig, ModelWorld, check_sequence, operations};
use auth_core::{
    AuthClient, AuthClientBuilder, ChallengeContext, ChallengeResponse, IdentityProvider,
    ManualClock, ManualConnectivity, ProviderError, SignInOutcome, SignInRequest, SignOutOptions,
    StoredSession, UserPoolSession, UserPoolTokens,
};
use auth_mock_server::{ClientOptions, Fault, Lifetimes, MockServer, MockServerHandle};
use proptest::prelude::*;
use proptest::test_runner::Config;

const USER: &str = "alice";
const PASSWORD: &str = "Passw0rd!";

/// The Cognito provider behind a switch: while "unreachable", requests fail as a dropped
/// network would, before anything reaches the server (the transport's own classification
/// of real network failures is tested in `transport`).
#[derive(Debug)]
struct Switchable {
    pool: CognitoUserPool,
    reachable: AtomicBool,
    /// Refreshes that went out to the server. Counted here because the server counts a
    /// refresh by its flow only when no injected fault answered it first.
    refreshes_sent: AtomicUsize,
}

impl Switchable {
    fn check(&self) -> Result<(), ProviderError> {
        if self.reachable.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ProviderError::network("test: the network is down"))
        }
    }
}

#[async_trait]
impl IdentityProvider for Switchable {
    fn logins_key(&self) -> String {
        self.pool.logins_key()
    }

    async fn sign_in(&self, request: &SignInRequest) -> Result<SignInOutcome, ProviderError> {
        self.check()?;
        self.pool.sign_in(request).await
    }

    async fn respond_to_challenge(
        &self,
        context: &ChallengeContext,
        response: &ChallengeResponse,
    ) -> Result<SignInOutcome, ProviderError> {
        self.check()?;
        self.pool.respond_to_challenge(context, response).await
    }

    async fn refresh(&self, session: &UserPoolSession) -> Result<UserPoolTokens, ProviderError> {
        self.check()?;
        self.refreshes_sent.fetch_add(1, Ordering::SeqCst);
        self.pool.refresh(session).await
    }

    async fn sign_out(
        &self,
        session: &UserPoolSession,
        options: &SignOutOptions,
    ) -> Result<(), ProviderError> {
        self.check()?;
        self.pool.sign_out(session, options).await
    }
}

/// The Cognito provider over the in-process mock server, as a [`ModelWorld`]: for the
/// model test here and the shared trace scenarios (`traces`).
pub(crate) struct MockWorld {
    pub(crate) server: MockServerHandle,
    pool_id: String,
    provider: Arc<Switchable>,
    store: Arc<FaultyTokenStore>,
    net: ManualConnectivity,
    clock: Arc<ManualClock>,
    config: ModelConfig,
}

impl MockWorld {
    pub(crate) async fn start() -> Self {
        let config = ModelConfig::new(
            USER,
            PASSWORD,
            Duration::from_secs(600),
            Duration::from_secs(3000),
            Duration::from_secs(60),
        );
        let server = MockServer::builder().start().await.expect("the mock server starts");
        let pool_id = server.create_pool("model").await.unwrap();
        let client = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
        server.create_user(&pool_id, USER, PASSWORD, &[]).await.unwrap();
        let lifetimes = Lifetimes {
            access_token_seconds: Some(config.token_lifetime.as_secs()),
            id_token_seconds: Some(config.token_lifetime.as_secs()),
            refresh_token_seconds: Some(config.refresh_lifetime.as_secs()),
        };
        server.set_lifetimes(Some(&pool_id), None, lifetimes).unwrap();
        let pool = CognitoUserPool::builder(&pool_id, &client.client_id)
            .endpoint(server.url())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let clock = Arc::new(ManualClock::new(server.now()));
        MockWorld {
            pool_id,
            provider: Arc::new(Switchable {
                pool,
                reachable: AtomicBool::new(true),
                refreshes_sent: AtomicUsize::new(0),
            }),
            store: Arc::new(FaultyTokenStore::new()),
            net: ManualConnectivity::new(true),
            clock,
            config,
            server,
        }
    }
}

#[async_trait]
impl ModelWorld for MockWorld {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn builder(&self) -> AuthClientBuilder {
        AuthClient::builder()
            .identity_provider(self.provider.clone())
            .token_store(self.store.clone())
            .connectivity(Arc::new(self.net.clone()))
            .clock(self.clock.clone())
            .expiry_margin(self.config.margin)
    }

    fn now(&self) -> SystemTime {
        self.server.now()
    }

    async fn advance(&self, by: Duration) {
        self.server.advance_clock(by);
        self.clock.advance(by);
    }

    async fn set_connectivity(&self, online: bool) {
        self.net.set_online(online);
    }

    async fn set_reachable(&self, reachable: bool) {
        self.provider.reachable.store(reachable, Ordering::SeqCst);
    }

    async fn revoke_refresh_tokens(&self) {
        self.server.revoke_refresh_tokens(&self.pool_id, USER).unwrap();
    }

    async fn fail_next_request(&self) {
        self.server
            .add_fault(Fault::error("*", "TooManyRequestsException", "Rate exceeded").times(1));
    }

    async fn refresh_requests(&self) -> usize {
        self.provider.refreshes_sent.load(Ordering::SeqCst)
    }

    async fn stored_session(&self) -> Option<StoredSession> {
        self.store.peek()
    }
}

proptest! {
    // Each case starts a server and makes real requests; 48 cases keep the test near ten
    // seconds on two cores. The same model runs 256 cases over the fakes in auth-core.
    #![proptest_config(Config { cases: 48, ..Config::default() })]

    #[test]
    fn auth_client_over_the_mock_cognito_matches_the_model(ops in operations()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let world = MockWorld::start().await;
            check_sequence(&world, &ops).await;
            world.server.shutdown().await;
        });
    }
}
