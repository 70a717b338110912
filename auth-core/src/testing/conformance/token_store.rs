//! The [`TokenStore`] contract.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use crate::error::StoreError;
use crate::store::{DynTokenStore, Generation, TokenStore, TokenStoreExt};
use crate::testing::unsigned_jwt;
use crate::types::{
    AwsCredentials, FederatedSession, IdentityId, StoredSession, UserPoolSession, UserPoolTokens,
};
use crate::{
    AccessToken, IdToken, ProviderToken, RefreshToken, SecretAccessKey, SecretString, SessionToken,
};

/// A store under test, and optionally a way to open the same location again.
#[allow(
    clippy::exhaustive_structs,
    reason = "built with a struct literal by every implementation's tests"
)]
pub struct FreshStore {
    /// An empty store at a location nobody else uses.
    pub store: DynTokenStore,
    /// Opens another handle on the same location (durable stores); `None` for stores that
    /// live only in memory.
    pub reopen: Option<Box<dyn Fn() -> DynTokenStore + Send + Sync>>,
}

/// Makes fresh stores for the suite.
pub trait StoreFactory: Send + Sync {
    /// A new store at a fresh location.
    fn fresh(&self) -> FreshStore;
}

impl<F: Fn() -> FreshStore + Send + Sync> StoreFactory for F {
    fn fresh(&self) -> FreshStore {
        self()
    }
}

/// Runs every check of the suite.
pub async fn run_all(factory: &dyn StoreFactory) {
    empty_store_is_new(factory).await;
    save_and_load_round_trip(factory).await;
    stale_writes_conflict(factory).await;
    clearing_keeps_the_counter(factory).await;
    one_winner_among_concurrent_writers(factory).await;
    durable_stores_survive_reopening(factory).await;
}

/// A session with every field filled, including secrets and provider extras.
pub fn sample_session(tag: &str) -> StoredSession {
    let claims = |use_: &str| json!({"sub": format!("sub-{tag}"), "token_use": use_, "iat": 1_700_000_000u64, "exp": 1_700_003_600u64});
    let tokens = UserPoolTokens::new(
        IdToken::new(unsigned_jwt(&claims("id"))),
        AccessToken::new(unsigned_jwt(&claims("access"))),
        Some(RefreshToken::new(format!("refresh-{tag}-é✓"))),
    )
    .unwrap_or_else(|error| unreachable!("sample tokens are well-formed: {error}"));
    let mut user_pool = UserPoolSession::new(format!("user-{tag}"), tokens);
    user_pool.extras =
        BTreeMap::from([("device_key".to_owned(), SecretString::new(format!("device-{tag}")))]);
    StoredSession {
        user_pool: Some(user_pool),
        federated: Some(FederatedSession::new(
            "accounts.google.com",
            ProviderToken::new(format!("google-{tag}")),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_001_000)),
        )),
        identity_id: Some(IdentityId::new(format!("us-east-1:{tag}"))),
        aws_credentials: Some(AwsCredentials::new(
            format!("ASIA{tag}"),
            SecretAccessKey::new(format!("secret-{tag}")),
            Some(SessionToken::new(format!("session-{tag}"))),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_002_000)),
        )),
    }
}

/// A new store is empty, at [`Generation::NEW`].
pub async fn empty_store_is_new(factory: &dyn StoreFactory) {
    let store = factory.fresh().store;
    let snapshot = store.load().await.expect("load of a new store");
    assert_eq!(snapshot.generation, Generation::NEW, "a new store must be at Generation::NEW");
    assert_eq!(snapshot.session, None, "a new store must be empty");
}

/// What is saved is loaded back exactly, and each write raises the generation.
pub async fn save_and_load_round_trip(factory: &dyn StoreFactory) {
    let store = factory.fresh().store;
    let first = sample_session("one");
    let g1 = store.compare_and_swap(Generation::NEW, Some(&first)).await.expect("first write");
    assert!(g1 > Generation::NEW, "a write must raise the generation");
    let snapshot = store.load().await.expect("load after write");
    assert_eq!(snapshot.generation, g1, "load must report the generation of the last write");
    assert_eq!(snapshot.session.as_ref(), Some(&first), "load must return exactly what was saved");

    let second = sample_session("two");
    let g2 = store.compare_and_swap(g1, Some(&second)).await.expect("second write");
    assert!(g2 > g1, "every write must raise the generation");
    assert_eq!(
        store.load().await.expect("load").session,
        Some(second),
        "the second write must replace the first"
    );
}

/// A write naming an old generation fails with `Conflict` and changes nothing.
pub async fn stale_writes_conflict(factory: &dyn StoreFactory) {
    let store = factory.fresh().store;
    let g1 =
        store.compare_and_swap(Generation::NEW, Some(&sample_session("new"))).await.expect("write");
    match store.compare_and_swap(Generation::NEW, Some(&sample_session("late"))).await {
        Err(StoreError::Conflict { current }) => {
            assert_eq!(current, g1, "Conflict must report the current generation")
        }
        other => panic!("a stale write must fail with Conflict, got {other:?}"),
    }
    match store.compare_and_swap(Generation::NEW, None).await {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("a stale clear must fail with Conflict, got {other:?}"),
    }
    let snapshot = store.load().await.expect("load");
    assert_eq!(snapshot.generation, g1, "a failed write must not change the generation");
    assert_eq!(
        snapshot.session,
        Some(sample_session("new")),
        "a failed write must not change the session"
    );
}

/// Clearing empties the store but keeps the counter, so a writer from before the clear
/// cannot bring the old session back.
pub async fn clearing_keeps_the_counter(factory: &dyn StoreFactory) {
    let store = factory.fresh().store;
    let g1 =
        store.compare_and_swap(Generation::NEW, Some(&sample_session("a"))).await.expect("write");
    let g2 = store.compare_and_swap(g1, None).await.expect("clear");
    assert!(g2 > g1, "a clear must raise the generation");
    let snapshot = store.load().await.expect("load after clear");
    assert_eq!(snapshot.session, None, "a cleared store must be empty");
    assert_eq!(snapshot.generation, g2, "a cleared store must keep its generation");
    for stale in [Generation::NEW, g1] {
        assert!(
            matches!(
                store.compare_and_swap(stale, Some(&sample_session("late"))).await,
                Err(StoreError::Conflict { .. })
            ),
            "a write from before the clear (generation {stale}) must conflict"
        );
    }
    let g3 = store.save(&sample_session("b")).await.expect("unconditional save");
    assert!(g3 > g2);
    let g4 = store.clear().await.expect("unconditional clear");
    assert!(g4 > g3);
}

/// Of many writers naming the same generation, exactly one wins.
pub async fn one_winner_among_concurrent_writers(factory: &dyn StoreFactory) {
    let store: Arc<dyn TokenStore> = factory.fresh().store;
    let base = store
        .compare_and_swap(Generation::NEW, Some(&sample_session("base")))
        .await
        .expect("write");
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store.compare_and_swap(base, Some(&sample_session(&format!("w{i}")))).await
            })
        })
        .collect();
    let mut winners = 0;
    for writer in writers {
        match writer.await.expect("writer task") {
            Ok(_) => winners += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(other) => panic!("a concurrent writer failed with {other:?} instead of Conflict"),
        }
    }
    assert_eq!(winners, 1, "exactly one of the concurrent compare-and-swaps must win");
}

/// A durable store reopened at the same location sees the same session and generation,
/// and compare-and-swap works across the two handles.
pub async fn durable_stores_survive_reopening(factory: &dyn StoreFactory) {
    let FreshStore { store, reopen } = factory.fresh();
    let Some(reopen) = reopen else { return };
    let g1 = store
        .compare_and_swap(Generation::NEW, Some(&sample_session("durable")))
        .await
        .expect("write");
    let other = reopen();
    let snapshot = other.load().await.expect("load through a second handle");
    assert_eq!(snapshot.generation, g1, "a reopened store must report the same generation");
    assert_eq!(
        snapshot.session,
        Some(sample_session("durable")),
        "a reopened store must return the saved session"
    );
    let g2 = other.compare_and_swap(g1, None).await.expect("clear through the second handle");
    assert!(
        matches!(
            store.compare_and_swap(g1, Some(&sample_session("late"))).await,
            Err(StoreError::Conflict { .. })
        ),
        "the first handle must see the second handle's write"
    );
    assert_eq!(store.load().await.expect("load").generation, g2);
}
