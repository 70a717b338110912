//! Offline with no wiring: `CognitoAuth`'s default connectivity against the mock Cognito
//! made unreachable with its `*` drop-connection fault. No test code touches connectivity:
//! the providers' transport reports and the probes decide.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_cognito::CognitoAuth;
use auth_cognito::connectivity::Backoff;
use auth_core::{
    IdentityProvider, MemoryTokenStore, ProviderError, SignInOutcome, SignInRequest, StateChanges,
    TokenStore, TransportObserver, TransportOutcome, UserState,
};
use auth_mock_server::Fault;

use crate::support::{MockPool, probe_quickly};

const PASSWORD: &str = MockPool::PASSWORD;
/// Generous: the machine is shared and noisy.
const DEADLINE: Duration = Duration::from_secs(60);

/// Waits until `state` is announced, adding every state announced meanwhile to `seen`.
async fn announced(states: &mut StateChanges, seen: &mut Vec<UserState>, state: UserState) {
    tokio::time::timeout(DEADLINE, async {
        while let Some(details) = states.next().await {
            seen.push(details.state);
            if details.state == state {
                return;
            }
        }
        panic!("the client was dropped before {state:?} was announced");
    })
    .await
    .unwrap_or_else(|_| panic!("{state:?} is announced in time"));
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
    let env = MockPool::start("offline").await;
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
    let env = MockPool::start("offline").await;
    env.expire_tokens_after(2);
    let store = Arc::new(MemoryTokenStore::new());
    let client = CognitoAuth::builder(env.user_pool())
        .token_store(store.clone())
        .expiry_margin(Duration::ZERO)
        .tune_connectivity(probe_quickly)
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
    announced(&mut states, &mut seen, UserState::SignedOutUserPoolsTokensInvalid).await;
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
    announced(&mut states, &mut seen, UserState::SignedIn).await;
    assert!(!seen.contains(&UserState::SignedOut), "never signed out: {seen:?}");
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
}

#[tokio::test]
async fn a_refresh_that_meets_the_outage_blocks_its_callers_instead_of_failing_them() {
    let env = MockPool::start("offline").await;
    env.expire_tokens_after(2);
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
