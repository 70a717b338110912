//! Offline with no wiring: `CognitoAuth`'s default connectivity against the mock Cognito
//! made unreachable with its `*` drop-connection fault. No test code touches connectivity:
//! the providers' transport reports and the probes decide.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_cognito::connectivity::Backoff;
use auth_cognito::{CognitoAuth, CognitoUserPool, RetryPolicy};
use auth_core::{
    IdentityProvider, MemoryTokenStore, ProviderError, SignInOutcome, SignInRequest, TokenStore,
    TransportObserver, TransportOutcome, UserState,
};
use auth_mock_server::{ClientOptions, Fault, Lifetimes, MockServer, MockServerHandle};
use serde_json::json;

const PASSWORD: &str = "Passw0rd!-Mock";
/// Generous: the machine is shared and noisy.
const DEADLINE: Duration = Duration::from_secs(60);

struct Env {
    server: MockServerHandle,
    pool_id: String,
    client_id: String,
}

impl Env {
    async fn start() -> Self {
        let server = MockServer::builder().start().await.unwrap();
        let pool_id = server.create_pool_with(json!({"PoolName": "offline"})).await.unwrap();
        let client = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
        server.create_user(&pool_id, "alice", PASSWORD, &[]).await.unwrap();
        Self { server, pool_id, client_id: client.client_id }
    }

    fn user_pool(&self) -> auth_cognito::CognitoUserPoolBuilder {
        CognitoUserPool::builder(&self.pool_id, &self.client_id)
            .endpoint(self.server.url())
            .connect_timeout(Duration::from_secs(2))
            .request_timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::new(2, Duration::from_millis(5), Duration::from_millis(20)))
    }
}

/// Records what providers report.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<TransportOutcome>>);

impl TransportObserver for Recorder {
    fn report(&self, outcome: TransportOutcome) {
        self.0.lock().unwrap().push(outcome);
    }
}

#[tokio::test]
async fn the_user_pool_reports_answers_and_network_failures() {
    let env = Env::start().await;
    let recorder = Arc::new(Recorder::default());
    let pool = env.user_pool().transport_observer(recorder.clone()).build().unwrap();
    let SignInOutcome::SignedIn(session) =
        pool.sign_in(&SignInRequest::password("alice", PASSWORD)).await.unwrap()
    else {
        panic!("no challenge expected");
    };
    assert!(recorder.0.lock().unwrap().iter().all(|o| *o == TransportOutcome::Answered));
    assert!(!recorder.0.lock().unwrap().is_empty());

    env.server.add_fault(Fault::drop_connection("*"));
    let error = pool.refresh(&session).await.unwrap_err();
    assert!(matches!(error, ProviderError::Network { .. }), "{error:?}");
    assert_eq!(recorder.0.lock().unwrap().last(), Some(&TransportOutcome::NetworkFailed));

    // A refusal is an answer: the network works.
    env.server.clear_faults();
    env.server.add_fault(Fault::error("*", "NotAuthorizedException", "no").times(1));
    pool.refresh(&session).await.unwrap_err();
    assert_eq!(recorder.0.lock().unwrap().last(), Some(&TransportOutcome::Answered));
}

#[tokio::test]
async fn tokens_that_expire_during_an_outage_block_announce_and_refresh_when_it_ends() {
    let env = Env::start().await;
    let lifetimes = Lifetimes {
        access_token_seconds: Some(2),
        id_token_seconds: Some(2),
        ..Lifetimes::default()
    };
    env.server.set_lifetimes(Some(&env.pool_id), None, lifetimes).unwrap();
    let store = Arc::new(MemoryTokenStore::new());
    let client = CognitoAuth::builder(env.user_pool())
        .token_store(store.clone())
        .expiry_margin(Duration::ZERO)
        .tune_connectivity(|c| {
            c.backoff(Backoff::new(Duration::from_millis(50), Duration::from_millis(300)))
                .online_interval(Duration::from_millis(100))
        })
        .build()
        .unwrap();
    client.initialize().await.unwrap();
    let mut states = client.state_changes();
    client.sign_in(SignInRequest::password("alice", PASSWORD)).await.unwrap();
    let first = client.tokens().await.unwrap();

    // The outage begins; the tokens expire during it.
    env.server.add_fault(Fault::drop_connection("*"));
    let until_expired =
        first.expires_at().duration_since(std::time::SystemTime::now()).unwrap_or_default();
    tokio::time::sleep(until_expired + Duration::from_millis(500)).await;

    let call = tokio::spawn({
        let client = client.clone();
        async move { client.tokens().await }
    });
    let mut seen = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        while let Some(details) = states.next().await {
            seen.push(details.state);
            if details.state == UserState::SignedOutUserPoolsTokensInvalid {
                break;
            }
        }
    })
    .await
    .expect("the expired tokens are announced");
    assert!(!call.is_finished(), "the call blocks instead of failing");
    assert_eq!(client.requests_waiting_for_sign_in(), 1);
    // Nothing was deleted: the session is still stored and still the user's.
    assert_eq!(client.username().as_deref(), Some("alice"));
    let stored = store.load().await.unwrap().session.expect("the session is kept");
    assert!(stored.user_pool.is_some());

    // The outage ends: the blocked call completes by itself with refreshed tokens.
    env.server.clear_faults();
    let fresh = tokio::time::timeout(DEADLINE, call)
        .await
        .expect("the blocked call completes once the network is back")
        .unwrap()
        .unwrap();
    assert_ne!(fresh.access_token().secret(), first.access_token().secret());
    tokio::time::timeout(DEADLINE, async {
        while let Some(details) = states.next().await {
            seen.push(details.state);
            if details.state == UserState::SignedIn {
                break;
            }
        }
    })
    .await
    .expect("signed in again");
    assert!(!seen.contains(&UserState::SignedOut), "never signed out: {seen:?}");
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
}

#[tokio::test]
async fn a_refresh_that_meets_the_outage_blocks_its_callers_instead_of_failing_them() {
    let env = Env::start().await;
    let lifetimes = Lifetimes {
        access_token_seconds: Some(2),
        id_token_seconds: Some(2),
        ..Lifetimes::default()
    };
    env.server.set_lifetimes(Some(&env.pool_id), None, lifetimes).unwrap();
    // Scheduled probes an hour apart: only the refresh's own network failure can tell.
    let client = CognitoAuth::builder(env.user_pool())
        .expiry_margin(Duration::ZERO)
        .tune_connectivity(|c| {
            c.backoff(Backoff::new(Duration::from_millis(50), Duration::from_millis(300)))
                .online_interval(Duration::from_secs(3600))
                .watch_interfaces(false)
        })
        .build()
        .unwrap();
    client.initialize().await.unwrap();
    client.sign_in(SignInRequest::password("alice", PASSWORD)).await.unwrap();
    let first = client.tokens().await.unwrap();
    let until_expired =
        first.expires_at().duration_since(std::time::SystemTime::now()).unwrap_or_default();
    tokio::time::sleep(until_expired + Duration::from_millis(500)).await;

    env.server.add_fault(Fault::drop_connection("*"));
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.tokens().await }
    });
    let started = tokio::time::Instant::now();
    while client.requests_waiting_for_sign_in() == 0 {
        assert!(!call.is_finished(), "the call failed instead of blocking: {:?}", call.await);
        assert!(started.elapsed() < DEADLINE, "the call never blocked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(client.current_user_state().state, UserState::SignedOutUserPoolsTokensInvalid);
    env.server.clear_faults();
    let fresh = tokio::time::timeout(DEADLINE, call).await.unwrap().unwrap().unwrap();
    assert_ne!(fresh.access_token().secret(), first.access_token().secret());
}
