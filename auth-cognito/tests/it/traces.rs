//! auth-core's snapshot traces of the canonical user-pool scenarios
//! (`auth_core::testing::trace::scenarios`), run over the real Cognito provider and the
//! in-process mock server. Token lifetimes are redacted (the mock's clock also runs in
//! real time); token values never appear in a trace. Apart from that, each snapshot must
//! read as auth-core's over the fakes: the client makes the same transitions whichever
//! provider is behind it.

use auth_core::testing::model::ModelWorld;
use auth_core::testing::trace::{Trace, scenarios};

use crate::model::MockWorld;

/// Runs a scenario over a fresh mock server and shuts it down.
async fn over_the_mock<F>(scenario: F) -> String
where
    F: AsyncFnOnce(&dyn ModelWorld, Trace) -> String,
{
    let world = MockWorld::start().await;
    let text = scenario(&world, Trace::new().redacting_times()).await;
    world.server.shutdown().await;
    text
}

#[tokio::test]
async fn sign_in_expiry_silent_refresh() {
    insta::assert_snapshot!(over_the_mock(scenarios::sign_in_expiry_silent_refresh).await);
}

#[tokio::test]
async fn refresh_token_expiry_then_re_sign_in_completes_the_waiting_request() {
    let scenario = scenarios::refresh_token_expiry_then_re_sign_in_completes_the_waiting_request;
    insta::assert_snapshot!(over_the_mock(scenario).await);
}

#[tokio::test]
async fn release_fails_the_waiting_request_then_sign_out() {
    let scenario = scenarios::release_fails_the_waiting_request_then_sign_out;
    insta::assert_snapshot!(over_the_mock(scenario).await);
}

#[tokio::test]
async fn offline_with_valid_tokens() {
    insta::assert_snapshot!(over_the_mock(scenarios::offline_with_valid_tokens).await);
}

#[tokio::test]
async fn offline_with_invalid_tokens_blocks_then_refreshes_when_online() {
    let scenario = scenarios::offline_with_invalid_tokens_blocks_then_refreshes_when_online;
    insta::assert_snapshot!(over_the_mock(scenario).await);
}

#[tokio::test]
async fn restart_resumes() {
    insta::assert_snapshot!(over_the_mock(scenarios::restart_resumes).await);
}
