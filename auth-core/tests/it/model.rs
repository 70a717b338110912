//! The model-based property test (`auth_core::testing::model`) over the fakes: 256 random
//! operation sequences against the real `AuthClient`. auth-cognito runs the same model over
//! the in-process mock Cognito.

use auth_core::testing::model::{check_sequence, operations};
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::support::FakeWorld;

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    #[test]
    fn client_matches_the_model(ops in operations()) {
        // Paused time: waits inside the client and the runner cost nothing.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let world = FakeWorld::new();
            check_sequence(&world, &ops).await;
        });
    }
}
