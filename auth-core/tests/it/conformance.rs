//! The conformance suites run against auth-core's own implementations.

use std::sync::Arc;
use std::time::SystemTime;

use auth_core::testing::conformance::connectivity;
use auth_core::testing::conformance::identity_provider::{self, ProviderFixture};
use auth_core::testing::conformance::token_store::{self, FreshStore};
use auth_core::testing::{FakeIdentityProvider, FaultyTokenStore};
use auth_core::{
    FirstFactor, IdentityProvider, ManualClock, MemoryTokenStore, ProviderError, SignInFlow,
    SignInRequest,
};

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
        flows: vec![
            SignInFlow::ProviderDefault,
            SignInFlow::Password,
            SignInFlow::ChoiceBased(Some(FirstFactor::PasswordSrp)),
        ],
        revoke_user: Box::new(move || {
            let revoker = revoker.clone();
            Box::pin(async move { revoker.revoke_user("alice") })
        }),
    };
    identity_provider::run_all(&fixture).await;
}

/// The fake knows passwords only: choice-based sign-in with a password works as a password
/// sign-in, and passwordless sign-in is a typed "unsupported", not a wrong password.
#[tokio::test]
async fn fake_identity_provider_refuses_passwordless_sign_in_as_unsupported() {
    let provider = FakeIdentityProvider::new(Arc::new(ManualClock::new(SystemTime::now())));
    provider.add_user("alice", "Passw0rd!");
    let passwordless = [
        SignInRequest::choice_based("alice"),
        SignInRequest::choice_based("alice").with_preferred_first_factor(FirstFactor::EmailOtp),
        SignInRequest::choice_based_with_password("alice", "Passw0rd!")
            .with_preferred_first_factor(FirstFactor::SmsOtp),
    ];
    for request in passwordless {
        let error = provider.sign_in(&request).await.unwrap_err();
        assert!(matches!(error, ProviderError::Unsupported(_)), "{:?}: {error:?}", request.flow);
    }
    let wrong = SignInRequest::choice_based_with_password("alice", "wrong");
    assert!(provider.sign_in(&wrong).await.unwrap_err().is_rejected());
}

/// `ManualConnectivity` switched by the fixture.
struct ManualFixture(auth_core::ManualConnectivity);

#[async_trait::async_trait]
impl connectivity::ConnectivityFixture for ManualFixture {
    fn source(&self) -> Arc<dyn auth_core::Connectivity> {
        Arc::new(self.0.clone())
    }
    async fn go_offline(&self) {
        self.0.set_online(false);
    }
    async fn go_online(&self) {
        self.0.set_online(true);
    }
}

#[tokio::test]
async fn manual_connectivity_conforms() {
    connectivity::run_all(&ManualFixture(auth_core::ManualConnectivity::new(true))).await;
}

#[tokio::test]
async fn fake_credentials_provider_conforms() {
    use auth_core::testing::FakeCredentialsProvider;
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let provider = FakeCredentialsProvider::new(clock.clone());
    let unreachable = FakeCredentialsProvider::new(clock.clone());
    unreachable.set_network_available(false);
    let login = |token: &str| {
        auth_core::Logins::from([(
            "graph.facebook.com".to_owned(),
            auth_core::ProviderToken::from(token),
        )])
    };
    let fixture = auth_core::testing::conformance::credentials_provider::CredentialsFixture {
        provider: Arc::new(provider),
        unreachable: Arc::new(unreachable),
        logins: login("opaque-token-of-alice"),
        other_logins: login("opaque-token-of-bob"),
        now: auth_core::Clock::now(clock.as_ref()),
    };
    auth_core::testing::conformance::credentials_provider::run_all(&fixture).await;
}

#[tokio::test]
async fn fake_account_provider_conforms() {
    use auth_core::testing::conformance::account_provider::{AccountFixture, run_all};
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let provider = FakeIdentityProvider::new(clock.clone());
    provider.add_user("alice", "Passw0rd!");
    let outcome = provider.sign_in(&SignInRequest::password("alice", "Passw0rd!")).await.unwrap();
    let auth_core::SignInOutcome::SignedIn(session) = outcome else { panic!("signed in") };
    let unreachable_provider = FakeIdentityProvider::new(clock);
    unreachable_provider.add_user("alice", "Passw0rd!");
    unreachable_provider.set_network_available(false);
    let fixture = AccountFixture {
        provider: Arc::new(provider),
        unreachable: Arc::new(unreachable_provider),
        access_token: session.tokens.access_token().clone(),
    };
    run_all(&fixture).await;
}
