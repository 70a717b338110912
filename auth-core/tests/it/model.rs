//! The model-based property test (`auth_core::testing::model`) over the fakes: 256 random
//! operation sequences against the real `AuthClient`. auth-cognito runs the same model over
//! the in-process mock Cognito.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::testing::model::{ModelConfig, ModelWorld, check_sequence, operations};
use auth_core::{AuthClientBuilder, ProviderError, ServiceError};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use crate::support::{Harness, MARGIN, PASSWORD, REFRESH_LIFETIME, TOKEN_LIFETIME, USER};

struct FakeWorld {
    h: Harness,
    config: ModelConfig,
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
        let busy = ServiceError::new("TooManyRequestsException", "Rate exceeded");
        self.h.idp.fail_next(ProviderError::Unavailable(busy));
    }

    async fn refresh_requests(&self) -> usize {
        self.h.idp.calls().refresh_served
    }

    async fn store_holds_session(&self) -> bool {
        self.h.store.peek().is_some()
    }
}

proptest! {
    #![proptest_config(Config {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    })]

    #[test]
    fn client_matches_the_model(ops in operations()) {
        // Paused time: waits inside the client and the runner cost nothing.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let world = FakeWorld {
                h: Harness::new(),
                config: ModelConfig::new(USER, PASSWORD, TOKEN_LIFETIME, REFRESH_LIFETIME, MARGIN),
            };
            check_sequence(&world, &ops).await;
        });
    }
}
