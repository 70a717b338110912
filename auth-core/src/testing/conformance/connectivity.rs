//! The `Connectivity` contract: `is_online` agrees with the watched value, every change of
//! the network the source can see reaches subscribers (old and new), and going back online
//! is seen as promptly as going offline.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::env::Connectivity;

/// How long a source may take to see a change: generous, because real sources probe.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A connectivity source under test and a way to change what it observes.
#[async_trait]
pub trait ConnectivityFixture: Send + Sync {
    /// The source under test.
    fn source(&self) -> Arc<dyn Connectivity>;
    /// Makes the network unreachable as the source observes it (switch it off for a
    /// manual source, an outage of the probed server for a probing one).
    async fn go_offline(&self);
    /// Ends what [`go_offline`](Self::go_offline) began.
    async fn go_online(&self);
}

async fn until(receiver: &mut watch::Receiver<bool>, online: bool, rule: &str) {
    let seen = tokio::time::timeout(DEADLINE, receiver.wait_for(|now| *now == online)).await;
    assert!(matches!(seen, Ok(Ok(_))), "{rule}: never saw online={online} within {DEADLINE:?}");
}

/// Runs every rule against `fixture`, which must start online.
pub async fn run_all(fixture: &dyn ConnectivityFixture) {
    let source = fixture.source();
    let mut early = source.subscribe();
    until(&mut early, true, "the fixture starts online").await;
    assert!(source.is_online(), "is_online agrees with the watched value");

    fixture.go_offline().await;
    until(&mut early, false, "going offline reaches an existing subscriber").await;
    assert!(!source.is_online(), "is_online says offline once subscribers were told");
    let mut late = source.subscribe();
    assert!(!*late.borrow_and_update(), "a new subscriber starts with the current value");

    fixture.go_online().await;
    until(&mut early, true, "coming back online reaches an existing subscriber").await;
    until(&mut late, true, "coming back online reaches a later subscriber").await;
    assert!(source.is_online(), "is_online says online again");
}
