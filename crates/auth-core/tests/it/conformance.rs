//! The conformance suites run against auth-core's own implementations.

use std::sync::Arc;
use std::time::SystemTime;

use auth_core::testing::conformance::identity_provider::{self, ProviderFixture};
use auth_core::testing::conformance::token_store::{self, FreshStore};
use auth_core::testing::{FakeIdentityProvider, FaultyTokenStore};
use auth_core::{ManualClock, MemoryTokenStore, SignInFlow};

#[tokio::test]
async fn memory_store_conforms() {
    token_store::run_all(&|| FreshStore { store: Arc::new(MemoryTokenStore::new()), reopen: None })
        .await;
}

#[tokio::test]
async fn faulty_store_conforms_when_healthy() {
    token_store::run_all(&|| FreshStore { store: Arc::new(FaultyTokenStore::new()), reopen: None })
        .await;
}

#[tokio::test]
async fn fake_identity_provider_conforms() {
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let provider = FakeIdentityProvider::new(clock.clone());
    provider.add_user("alice", "Passw0rd!");
    let unreachable = FakeIdentityProvider::new(clock);
    unreachable.add_user("alice", "Passw0rd!");
    unreachable.set_network_available(false);
    let revoker = provider.clone();
    let fixture = ProviderFixture {
        provider: Arc::new(provider),
        unreachable: Arc::new(unreachable),
        username: "alice".into(),
        password: "Passw0rd!".into(),
        flows: vec![SignInFlow::ProviderDefault, SignInFlow::Password],
        revoke_user: Box::new(move || {
            let revoker = revoker.clone();
            Box::pin(async move { revoker.revoke_user("alice") })
        }),
    };
    identity_provider::run_all(&fixture).await;
}
