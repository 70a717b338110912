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

/// A test per canonical scenario of `auth_core::testing::trace::scenarios`, named after it
/// as auth-core's is: the scenario over a fresh mock, compared with its snapshot.
macro_rules! scenario_tests {
    ($($scenario:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                insta::assert_snapshot!(over_the_mock(scenarios::$scenario).await);
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
