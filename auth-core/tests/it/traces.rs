//! Snapshot traces of the canonical scenarios over the fakes (the recorder and the
//! user-pool scenarios are `auth_core::testing::trace`; auth-cognito runs the same
//! scenarios over the Cognito provider and the in-process mock server). Times are
//! relative to the test clock.

use std::time::Duration;

use auth_core::ProviderToken;
use auth_core::testing::trace::{Store, Trace, scenarios};

use crate::support::{FakeWorld, Harness, PASSWORD, USER, spawn_credentials};

/// A test per canonical scenario of `auth_core::testing::trace::scenarios`, named after it:
/// the scenario over fresh fakes, compared with its snapshot.
macro_rules! scenario_tests {
    ($($scenario:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                let text = scenarios::$scenario(&FakeWorld::new(), Trace::new()).await;
                insta::assert_snapshot!(text);
            }
        )+
    };
}

scenario_tests!(
    sign_in_expiry_silent_refresh,
    refresh_token_expiry_then_re_sign_in_completes_the_waiting_request,
    release_fails_the_waiting_request_then_sign_out,
    offline_with_valid_tokens,
    offline_with_invalid_tokens_blocks_then_refreshes_when_online,
    restart_resumes,
);

#[tokio::test]
async fn guest_then_sign_in() {
    let h = Harness::new().with_guest();
    let mut t = Trace::new();
    let store = |h: &Harness| Store::Read(h.store.peek());
    let client = t.start(h.builder(), store(&h)).await;
    let result = client.aws_credentials().await.map(|c| c.access_key_id);
    t.record("aws_credentials()", format!("{result:?}"), store(&h)).await;
    let result = client.sign_in(auth_core::SignInRequest::password(USER, PASSWORD)).await;
    t.record("sign_in(alice)", format!("{result:?}"), store(&h)).await;
    let result = client.aws_credentials().await.map(|c| c.access_key_id);
    t.record("aws_credentials()", format!("{result:?}"), store(&h)).await;
    let result = client.sign_out(auth_core::SignOutOptions::local()).await;
    t.record("sign_out(local)", format!("{result:?}"), store(&h)).await;
    insta::assert_snapshot!(t.text());
}

#[tokio::test]
async fn federated_token_expiry() {
    let h = Harness::new();
    h.pool.set_lifetime(Duration::from_secs(900));
    let mut t = Trace::new();
    let store = |h: &Harness| Store::Read(h.store.peek());
    let client = t.start(h.builder(), store(&h)).await;
    let token = |h: &Harness| {
        let exp = auth_core::testing::epoch_seconds(h.now() + Duration::from_secs(1200));
        ProviderToken::new(auth_core::testing::unsigned_jwt(
            &serde_json::json!({"sub": "g-1", "exp": exp}),
        ))
    };
    let result =
        client.federated_sign_in("accounts.google.com", token(&h), None).await.map(|d| d.state);
    t.record("federated_sign_in(accounts.google.com)", format!("{result:?}"), store(&h)).await;
    h.advance(Duration::from_secs(1200));
    t.clock(Duration::from_secs(1200));
    t.note("both the credentials and the Google token have expired");
    let waiting = spawn_credentials(&client);
    t.record("aws_credentials() [spawned]", "waiting".into(), store(&h)).await;
    let result =
        client.federated_sign_in("accounts.google.com", token(&h), None).await.map(|d| d.state);
    let call = "federated_sign_in(accounts.google.com) [fresh token]";
    t.record(call, format!("{result:?}"), store(&h)).await;
    let outcome = waiting.await.unwrap().map(|c| c.access_key_id);
    t.record("aws_credentials() [the waiting request]", format!("{outcome:?}"), store(&h)).await;
    insta::assert_snapshot!(t.text());
}
