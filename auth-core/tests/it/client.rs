//! AuthClient behaviour over the fakes: the rules of the user guide's User states
//! chapter, one test each.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::testing::conformance::token_store::sample_session;
use auth_core::{
    AuthClient, AuthError, ChallengeKind, ChallengeResponse, InvalidReason, ProviderError,
    ProviderToken, ServiceErrorKind, SignInRequest, SignInResult, SignOutOptions, StoreError,
    TokenStoreExt, UserState,
};

use crate::support::{
    Harness, MARGIN, PASSWORD, REFRESH_LIFETIME, TOKEN_LIFETIME, USER, drain, settle,
    spawn_credentials, spawn_tokens,
};

const PAST_EXPIRY: Duration = Duration::from_secs(TOKEN_LIFETIME.as_secs() - MARGIN.as_secs() + 1);

/// Asserts that the only announcements since `changes` was taken are the tokens going
/// invalid and the user being signed in again: a wait that ended well.
#[track_caller]
fn assert_invalid_then_signed_in(changes: &mut auth_core::StateChanges) {
    let states: Vec<_> = drain(changes).into_iter().map(|d| d.state).collect();
    assert_eq!(states, [UserState::SignedOutUserPoolsTokensInvalid, UserState::SignedIn]);
}

#[tokio::test]
async fn initialize_picks_the_state_from_the_store() {
    let h = Harness::new();
    assert_eq!(h.client().await.current_user_state().state, UserState::SignedOut);
    assert_eq!(
        Harness::new().with_guest().client().await.current_user_state().state,
        UserState::Guest
    );

    // A stored session is SignedIn even when long expired: validity is checked on use.
    h.signed_in_client().await;
    h.advance(REFRESH_LIFETIME * 10);
    let restarted = h.client().await;
    assert_eq!(restarted.current_user_state().state, UserState::SignedIn);
    assert_eq!(restarted.username().as_deref(), Some(USER));
}

#[tokio::test]
async fn calls_before_initialize_fail_clearly() {
    let h = Harness::new();
    let client = h.builder().build();
    assert_eq!(client.current_user_state().state, UserState::Unknown);
    assert!(matches!(client.tokens().await, Err(AuthError::NotInitialized)));
    assert!(matches!(
        client.sign_in(SignInRequest::password(USER, PASSWORD)).await,
        Err(AuthError::NotInitialized)
    ));
    assert!(matches!(
        client.sign_out(SignOutOptions::local()).await,
        Err(AuthError::NotInitialized)
    ));
}

#[tokio::test]
async fn valid_tokens_come_from_the_cache_without_the_network() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    let first = client.tokens().await.unwrap();
    h.set_online(false);
    for _ in 0..100 {
        assert_eq!(client.tokens().await.unwrap(), first);
    }
    assert_eq!(h.idp.calls().refresh, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_refresh() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    let before = client.tokens().await.unwrap();
    h.idp.set_refresh_delay(Duration::from_millis(50));
    h.advance(PAST_EXPIRY);
    let calls: Vec<_> = (0..64).map(|_| spawn_tokens(&client)).collect();
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap().expect("tokens after refresh"));
    }
    assert_eq!(h.idp.calls().refresh, 1, "64 concurrent callers must share one refresh");
    assert!(results.iter().all(|t| t == &results[0]));
    assert_ne!(results[0].access_token(), before.access_token());
    assert!(results[0].expires_at() > h.now() + MARGIN);
    // The refresh response had no refresh token; the old one is kept.
    assert_eq!(results[0].refresh_token(), before.refresh_token());
    // And the refreshed session was saved.
    settle().await;
    let stored = h.store.peek().unwrap().user_pool.unwrap();
    assert_eq!(stored.tokens, results[0]);
}

#[tokio::test]
async fn a_rejected_refresh_waits_for_re_sign_in_which_completes_the_request() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    let mut changes = client.state_changes();
    h.idp.revoke_user(USER);
    h.advance(PAST_EXPIRY);
    let waiting = spawn_tokens(&client);
    settle().await;
    assert_eq!(client.current_user_state().state, UserState::SignedOutUserPoolsTokensInvalid);
    assert_eq!(client.current_user_state().reason, Some(InvalidReason::Rejected));
    assert!(!waiting.is_finished(), "the request must wait for a new sign-in");
    assert!(h.store.peek().is_some(), "nothing is deleted while waiting");

    // A second request also waits, without another refresh.
    let second = spawn_tokens(&client);
    settle().await;
    assert_eq!(h.idp.calls().refresh, 1);

    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    let tokens = waiting.await.unwrap().expect("the waiting request completes after re-sign-in");
    assert!(tokens.expires_at() > h.now());
    second.await.unwrap().unwrap();
    assert_invalid_then_signed_in(&mut changes);
}

#[tokio::test]
async fn release_fails_waiting_requests_and_is_harmless_when_nobody_waits() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    assert_eq!(client.release_sign_in_wait(), 0, "nothing waits yet");
    h.idp.revoke_user(USER);
    h.advance(PAST_EXPIRY);
    let waiting: Vec<_> = (0..3).map(|_| spawn_tokens(&client)).collect();
    settle().await;
    assert_eq!(client.release_sign_in_wait(), 3);
    for request in waiting {
        assert!(matches!(request.await.unwrap(), Err(AuthError::SignInWaitReleased)));
    }
    assert_eq!(client.release_sign_in_wait(), 0);
    // A release does not pre-release later requests: they wait again.
    let later = spawn_tokens(&client);
    settle().await;
    assert!(!later.is_finished());
    // The app may now sign out; the later request fails with SignedOut.
    client.sign_out(SignOutOptions::local()).await.unwrap();
    assert!(matches!(later.await.unwrap(), Err(AuthError::SignedOut)));
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
    assert!(h.store.peek().is_none());
}

#[tokio::test(start_paused = true)]
async fn the_wait_for_re_sign_in_can_have_a_deadline() {
    let h = Harness::new();
    let client = h.builder().sign_in_wait_timeout(Some(Duration::from_secs(30))).build();
    client.initialize().await.unwrap();
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    h.idp.revoke_user(USER);
    h.advance(PAST_EXPIRY);
    let started = tokio::time::Instant::now();
    assert!(matches!(client.tokens().await, Err(AuthError::SignInWaitTimedOut)));
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert_eq!(client.current_user_state().state, UserState::SignedOutUserPoolsTokensInvalid);
}

#[tokio::test]
async fn offline_with_valid_tokens_returns_them() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    h.set_online(false);
    h.advance(Duration::from_secs(60));
    assert!(client.tokens().await.is_ok());
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
}

#[tokio::test]
async fn offline_with_invalid_tokens_blocks_then_resumes_when_online() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    let mut changes = client.state_changes();
    let stored_before = h.store.peek();
    h.set_online(false);
    h.advance(PAST_EXPIRY);
    let blocked = spawn_tokens(&client);
    settle().await;
    assert!(!blocked.is_finished(), "offline with expired tokens, the request blocks");
    let details = client.current_user_state();
    assert_eq!(details.state, UserState::SignedOutUserPoolsTokensInvalid);
    assert_eq!(details.reason, Some(InvalidReason::Offline));
    assert_eq!(h.store.peek(), stored_before, "nothing is deleted or changed while offline");
    assert_eq!(h.idp.calls().refresh, 0, "no refresh is attempted offline");

    h.set_online(true);
    let tokens = blocked.await.unwrap().expect("the blocked request completes once online");
    assert!(tokens.expires_at() > h.now() + MARGIN);
    assert_eq!(h.idp.calls().refresh, 1);
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert_invalid_then_signed_in(&mut changes);
}

#[tokio::test]
async fn offline_credentials_that_expired_block_with_the_announcement_then_resume() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    // Credentials shorter-lived than the tokens: only they expire offline.
    let lifetime = Duration::from_secs(MARGIN.as_secs() + 60);
    h.pool.set_lifetime(lifetime);
    client.aws_credentials().await.unwrap();
    let mut changes = client.state_changes();
    let stored_before = h.store.peek();
    h.set_online(false);
    h.advance(lifetime - MARGIN + Duration::from_secs(1));
    assert!(client.tokens().await.is_ok(), "the tokens are still valid");
    let blocked = spawn_credentials(&client);
    settle().await;
    assert!(!blocked.is_finished(), "offline with expired credentials, the request blocks");
    let details = client.current_user_state();
    assert_eq!(details.state, UserState::SignedOutUserPoolsTokensInvalid, "announced");
    assert_eq!(details.reason, Some(InvalidReason::Offline));
    assert_eq!(client.requests_waiting_for_sign_in(), 1);
    assert_eq!(h.store.peek(), stored_before, "nothing is deleted or changed while offline");

    h.set_online(true);
    let credentials = blocked.await.unwrap().expect("the blocked request completes once online");
    assert!(credentials.is_valid_at(h.now(), MARGIN));
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert_invalid_then_signed_in(&mut changes);
}

#[tokio::test]
async fn a_network_failure_is_not_a_rejection() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    h.advance(PAST_EXPIRY);
    // Connectivity says online, but the request fails on the way: the caller gets the
    // error; nothing changes.
    h.idp.set_network_available(false);
    let error = client.tokens().await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert!(h.store.peek().is_some());
    // The same for a throttled refresh.
    h.idp.set_network_available(true);
    h.idp.fail_next(ProviderError::Unavailable(auth_core::ServiceError::new(
        "TooManyRequestsException",
        "slow down",
    )));
    assert!(client.tokens().await.unwrap_err().is_transient());
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    // The next request refreshes.
    assert!(client.tokens().await.is_ok());
    assert_eq!(h.idp.calls().refresh, 3);
}

#[tokio::test]
async fn global_sign_out_that_fails_clears_nothing() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    h.set_online(false);
    let error = client.sign_out(SignOutOptions::global()).await.unwrap_err();
    assert!(error.is_transient());
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert!(h.store.peek().is_some());
    // A local sign-out works offline.
    client.sign_out(SignOutOptions::local()).await.unwrap();
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
    assert!(h.store.peek().is_none());
}

#[tokio::test]
async fn global_sign_out_and_revocation_reach_the_provider() {
    for options in [SignOutOptions::global(), SignOutOptions::invalidate_tokens()] {
        let h = Harness::new();
        let client = h.signed_in_client().await;
        let session = h.store.peek().unwrap().user_pool.unwrap();
        client.sign_out(options).await.unwrap();
        assert_eq!(h.idp.calls().sign_out, 1);
        use auth_core::IdentityProvider as _;
        assert!(
            h.idp.refresh(&session).await.unwrap_err().is_rejected(),
            "{options:?} revokes the refresh token"
        );
    }
}

#[tokio::test]
async fn restart_resumes_the_same_session_and_identity() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    let tokens = client.tokens().await.unwrap();
    let identity = client.identity_id().await.unwrap();
    drop(client);
    let restarted = h.client().await;
    assert_eq!(restarted.current_user_state().state, UserState::SignedIn);
    assert_eq!(restarted.tokens().await.unwrap(), tokens);
    assert_eq!(restarted.identity_id().await.unwrap(), identity);
    assert_eq!(h.idp.calls().sign_in, 1);
}

#[tokio::test]
async fn a_late_refresh_never_brings_a_signed_out_session_back() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    h.idp.set_refresh_delay(Duration::from_millis(30));
    h.advance(PAST_EXPIRY);
    let request = spawn_tokens(&client);
    settle().await;
    client.sign_out(SignOutOptions::local()).await.unwrap();
    assert!(matches!(request.await.unwrap(), Err(AuthError::SignedOut)));
    tokio::time::sleep(Duration::from_millis(60)).await;
    settle().await;
    assert_eq!(h.idp.calls().refresh, 1, "the refresh did run");
    assert!(h.store.peek().is_none(), "its result must not be written back");
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
    assert!(matches!(client.tokens().await, Err(AuthError::NotSignedIn)));
}

#[tokio::test]
async fn listeners_get_every_change_in_order_and_survive_panics() {
    let h = Harness::new();
    let client = h.client().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let panics = Arc::new(AtomicUsize::new(0));
    let _panicky = client.add_listener({
        let panics = panics.clone();
        move |_| {
            panics.fetch_add(1, Ordering::SeqCst);
            panic!("listener bug");
        }
    });
    let handle = client.add_listener({
        let seen = seen.clone();
        move |details| seen.lock().unwrap().push(details.state)
    });
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    h.idp.revoke_user(USER);
    h.advance(PAST_EXPIRY);
    let waiting = spawn_tokens(&client);
    settle().await;
    client.sign_out(SignOutOptions::local()).await.unwrap();
    waiting.await.unwrap().unwrap_err();
    settle().await;
    let expected =
        [UserState::SignedIn, UserState::SignedOutUserPoolsTokensInvalid, UserState::SignedOut];
    assert_eq!(*seen.lock().unwrap(), expected);
    assert_eq!(panics.load(Ordering::SeqCst), 3, "the panicking listener kept being called");
    assert!(handle.remove());
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    settle().await;
    assert_eq!(seen.lock().unwrap().len(), 3, "a removed listener hears nothing more");
}

#[tokio::test]
async fn an_unavailable_store_is_not_signed_out() {
    let h = Harness::new();
    h.signed_in_client().await;
    h.store.set_unavailable(true);
    let client = h.builder().build();
    assert!(matches!(
        client.initialize().await,
        Err(AuthError::Store(StoreError::Unavailable { .. }))
    ));
    assert_eq!(client.current_user_state().state, UserState::Unknown);
    h.store.set_unavailable(false);
    assert_eq!(client.initialize().await.unwrap().state, UserState::SignedIn);

    // A refresh whose result cannot be saved still serves the fresh tokens.
    h.advance(PAST_EXPIRY);
    h.store.set_unavailable(true);
    assert!(client.tokens().await.is_ok());
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    // A sign-out that cannot clear the store changes nothing.
    assert!(matches!(client.sign_out(SignOutOptions::local()).await, Err(AuthError::Store(_))));
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    h.store.set_unavailable(false);
    assert!(h.store.peek().is_some());
}

#[tokio::test]
async fn a_sign_in_that_cannot_be_saved_changes_nothing() {
    let h = Harness::new();
    let client = h.client().await;
    h.store.set_unavailable(true);
    let error = client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap_err();
    assert!(matches!(error, AuthError::Store(StoreError::Unavailable { .. })));
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
}

#[tokio::test]
async fn a_damaged_store_starts_signed_out_and_says_so() {
    let h = Harness::new();
    h.store.damage_next_load("/tmp/x.damaged");
    let client = h.builder().build();
    let details = client.initialize().await.expect("damage is reported, not fatal");
    assert_eq!(details.state, UserState::SignedOut);
    assert!(details.store_damage.unwrap().contains("kept aside at /tmp/x.damaged"));
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
}

#[tokio::test]
async fn another_writer_wins_over_a_late_refresh() {
    let h = Harness::new();
    h.idp.add_user("bob", "B0b-passw0rd");
    let alice = h.signed_in_client().await;
    // Another process on the same store signs out and signs bob in, behind alice's client.
    let other = h.client().await;
    other.sign_out(SignOutOptions::local()).await.unwrap();
    other.sign_in(SignInRequest::password("bob", "B0b-passw0rd")).await.unwrap();
    h.advance(PAST_EXPIRY);
    let tokens = alice.tokens().await.unwrap();
    settle().await;
    // Alice's refresh could not be written over bob's session; the client adopted bob's
    // session and, its tokens being expired too, refreshed them for the waiting caller.
    assert_eq!(h.store.peek().unwrap().user_pool.unwrap().username, "bob");
    assert_eq!(alice.username().as_deref(), Some("bob"));
    assert_eq!(tokens.id_claims().unwrap().string("cognito:username"), Some("bob"));
    assert_eq!(h.idp.calls().refresh, 2);
    assert!(tokens.expires_at() > h.now());
    // Unconditional writes (tools, explicit actions) still work.
    h.store.save(&sample_session("tool")).await.unwrap();
}

#[tokio::test]
async fn a_late_refresh_for_the_same_user_builds_on_the_other_writers_save() {
    let h = Harness::new();
    let alice = h.signed_in_client().await;
    // Another process with the same session refreshes the tokens and fetches AWS
    // credentials, behind alice's client.
    let other = h.client().await;
    h.advance(PAST_EXPIRY);
    other.aws_credentials().await.unwrap();
    let others_tokens = other.tokens().await.unwrap();
    // Alice's own refresh conflicts with that save; it is applied on top of it, so
    // neither result is lost.
    let tokens = alice.tokens().await.unwrap();
    settle().await;
    assert_ne!(tokens, others_tokens, "alice's refresh result is the one she gets");
    let stored = h.store.peek().unwrap();
    assert_eq!(stored.user_pool.unwrap().tokens, tokens, "and the one the store keeps");
    assert!(stored.aws_credentials.is_some(), "the other process's credentials are kept");
    assert_eq!(alice.username().as_deref(), Some(USER));
    assert_eq!(h.idp.calls().refresh, 2);
}

#[tokio::test]
async fn sign_in_with_mfa_and_a_retried_code() {
    let h = Harness::new();
    h.idp.require_mfa(USER, "123456");
    let client = h.client().await;
    let SignInResult::NextStep(step) =
        client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap()
    else {
        panic!("MFA expected");
    };
    assert_eq!(step.kind, ChallengeKind::SoftwareTokenMfa);
    let wrong = client.confirm_sign_in(ChallengeResponse::answer("000000")).await.unwrap_err();
    assert!(matches!(&wrong, AuthError::Provider(e) if e.code() == Some("CodeMismatchException")));
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
    assert!(matches!(
        client.confirm_sign_in(ChallengeResponse::answer("123456")).await,
        Ok(SignInResult::Done)
    ));
    assert!(client.is_signed_in());
    assert!(matches!(
        client.confirm_sign_in(ChallengeResponse::answer("123456")).await,
        Err(AuthError::NoPendingSignIn)
    ));
    assert!(matches!(
        client.sign_in(SignInRequest::password(USER, PASSWORD)).await,
        Err(AuthError::AlreadySignedIn)
    ));
}

#[tokio::test]
async fn wrong_password_is_a_typed_rejection() {
    let h = Harness::new();
    let client = h.client().await;
    let error = client.sign_in(SignInRequest::password(USER, "nope")).await.unwrap_err();
    assert!(
        matches!(&error, AuthError::Provider(e) if e.is_rejected() && e.code() == Some("NotAuthorizedException"))
    );
    h.set_online(false);
    let error = client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap_err();
    assert!(error.is_transient());
}

#[tokio::test]
async fn guests_get_credentials_that_refresh_and_keep_their_identity_on_sign_in() {
    let h = Harness::new().with_guest();
    h.pool.set_lifetime(Duration::from_secs(900));
    let client = h.client().await;
    let first = client.aws_credentials().await.unwrap();
    let guest_id = client.identity_id().await.unwrap();
    assert_eq!(client.aws_credentials().await.unwrap(), first, "cached while valid");
    h.advance(Duration::from_secs(900 - MARGIN.as_secs() + 1));
    let second = client.aws_credentials().await.unwrap();
    assert_ne!(second.access_key_id, first.access_key_id, "refreshed automatically");
    assert_eq!(h.pool.calls().credentials, 2);
    assert_eq!(client.current_user_state().state, UserState::Guest);

    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    let signed_in = client.aws_credentials().await.unwrap();
    assert_ne!(
        signed_in.access_key_id, second.access_key_id,
        "new credentials for the signed-in user"
    );
    assert_eq!(
        client.identity_id().await.unwrap(),
        guest_id,
        "the guest identity is merged, not lost"
    );

    client.sign_out(SignOutOptions::local()).await.unwrap();
    assert_eq!(client.current_user_state().state, UserState::Guest);
    assert_ne!(client.identity_id().await.unwrap(), guest_id, "a new guest after sign-out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_credentials_refresh_tokens_first_and_share_one_call() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    h.advance(PAST_EXPIRY);
    let calls: Vec<_> = (0..16).map(|_| spawn_credentials(&client)).collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(h.idp.calls().refresh, 1, "the ID token was refreshed once");
    assert_eq!(h.pool.calls().credentials, 1, "credentials were fetched once");
}

#[tokio::test]
async fn credentials_need_a_configured_provider_and_a_session() {
    let h = Harness::new();
    let client = h.client().await;
    assert!(matches!(client.aws_credentials().await, Err(AuthError::NotSignedIn)));
    let bare = AuthClient::builder().build();
    bare.initialize().await.unwrap();
    assert!(matches!(
        bare.sign_in(SignInRequest::password(USER, PASSWORD)).await,
        Err(AuthError::NotConfigured(_))
    ));
}

fn google_token(h: &Harness, lifetime: Duration) -> ProviderToken {
    let exp = auth_core::testing::epoch_seconds(h.now() + lifetime);
    ProviderToken::new(auth_core::testing::unsigned_jwt(
        &serde_json::json!({"sub": "g-1", "exp": exp}),
    ))
}

#[tokio::test]
async fn federated_token_expiry_waits_for_a_new_federated_sign_in() {
    let h = Harness::new();
    h.pool.set_lifetime(Duration::from_secs(900));
    let client = h.client().await;
    let details = client
        .federated_sign_in("accounts.google.com", google_token(&h, Duration::from_secs(1200)), None)
        .await
        .unwrap();
    assert_eq!(details.state, UserState::SignedIn);
    assert_eq!(details.provider.as_deref(), Some("accounts.google.com"));
    let identity = client.identity_id().await.unwrap();
    assert!(
        matches!(client.tokens().await, Err(AuthError::NotSignedIn)),
        "no user-pool tokens for a federated user"
    );

    // Credentials expire, the Google token still valid: refreshed silently.
    h.advance(Duration::from_secs(900));
    client.aws_credentials().await.unwrap();
    // Now the Google token expires too: the request waits for a new one.
    h.advance(Duration::from_secs(900));
    let waiting = spawn_credentials(&client);
    settle().await;
    assert_eq!(client.current_user_state().state, UserState::SignedOutFederatedTokensInvalid);
    assert!(!waiting.is_finished());
    assert!(h.store.peek().is_some());
    client
        .federated_sign_in("accounts.google.com", google_token(&h, Duration::from_secs(1200)), None)
        .await
        .unwrap();
    waiting.await.unwrap().expect("the waiting request completes after the new federated sign-in");
    assert_eq!(client.identity_id().await.unwrap(), identity, "same login, same identity");
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
}

#[tokio::test]
async fn a_rejected_federated_token_fails_the_sign_in() {
    let h = Harness::new();
    let client = h.client().await;
    let token = google_token(&h, Duration::from_secs(600));
    h.pool.revoke_token(token.secret());
    let error = client.federated_sign_in("accounts.google.com", token, None).await.unwrap_err();
    assert!(matches!(&error, AuthError::Provider(e) if e.is_rejected()));
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
}

#[tokio::test]
async fn refreshed_tokens_are_saved_before_the_caller_gets_them() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    h.advance(PAST_EXPIRY);
    let tokens = client.tokens().await.unwrap();
    // No settling: the store must already hold what the caller received.
    assert_eq!(h.store.peek().unwrap().user_pool.unwrap().tokens, tokens);
    let credentials = client.aws_credentials().await.unwrap();
    assert_eq!(h.store.peek().unwrap().aws_credentials, Some(credentials));
}

/// A client whose clock is `skew` ahead of (or, negative, behind) the provider's.
async fn skewed_client(skew_seconds: i64) -> (Harness, Arc<auth_core::ManualClock>, AuthClient) {
    let h = Harness::new();
    let provider_now = h.now();
    let local = if skew_seconds >= 0 {
        provider_now + Duration::from_secs(skew_seconds.unsigned_abs())
    } else {
        provider_now - Duration::from_secs(skew_seconds.unsigned_abs())
    };
    let local_clock = Arc::new(auth_core::ManualClock::new(local));
    let client = h.builder().clock(local_clock.clone()).build();
    client.initialize().await.unwrap();
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    (h, local_clock, client)
}

#[tokio::test]
async fn a_device_clock_ahead_of_the_issuer_does_not_refresh_forever() {
    let (h, local, client) = skewed_client(2 * 3600).await;
    // By the device's clock the fresh tokens expired an hour ago; by the issuer's they
    // have ten minutes left. No refresh is needed.
    client.tokens().await.unwrap();
    assert_eq!(h.idp.calls().refresh, 0);
    // When they do expire (both clocks move on), exactly one refresh.
    h.advance(PAST_EXPIRY);
    local.advance(PAST_EXPIRY);
    let tokens = client.tokens().await.unwrap();
    assert_eq!(h.idp.calls().refresh, 1);
    client.tokens().await.unwrap();
    assert_eq!(h.idp.calls().refresh, 1);
    assert!(tokens.expires_at() > h.now());
}

#[tokio::test]
async fn a_device_clock_behind_the_issuer_still_sees_expiry() {
    let (h, local, client) = skewed_client(-2 * 3600).await;
    h.advance(PAST_EXPIRY);
    local.advance(PAST_EXPIRY);
    // By the device's clock the tokens look valid for hours; they are not.
    let tokens = client.tokens().await.unwrap();
    assert_eq!(h.idp.calls().refresh, 1);
    assert!(tokens.expires_at() > h.now() + MARGIN);
    // The service's time, for signatures, is the issuer's, within the estimate's seconds.
    let service = client.service_time();
    let off = service.duration_since(h.now()).unwrap_or_else(|e| e.duration());
    assert!(off < Duration::from_secs(5), "service time off by {off:?}");
}

#[tokio::test]
async fn a_forced_refresh_does_not_settle_for_one_already_in_flight() {
    // The refresh in flight may have been sent before the caller changed what the tokens
    // carry (an attribute update): the forced one waits for it and then for its own.
    let h = Harness::new();
    let client = h.signed_in_client().await;
    h.advance(PAST_EXPIRY);
    h.idp.set_refresh_delay(Duration::from_millis(50));
    let background = tokio::spawn({
        let client = client.clone();
        async move { client.tokens().await }
    });
    tokio::time::timeout(Duration::from_secs(5), async {
        while h.idp.calls().refresh == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the background refresh starts");
    let forced = client.refresh_tokens().await.unwrap();
    let first = background.await.unwrap().unwrap();
    assert_eq!(h.idp.calls().refresh, 2);
    assert_ne!(forced.access_token(), first.access_token());
    assert_eq!(client.tokens().await.unwrap(), forced);
}

#[tokio::test]
async fn refresh_tokens_refreshes_now_and_is_refused_offline() {
    let h = Harness::new();
    let client = h.signed_in_client().await;
    let before = client.tokens().await.unwrap();
    let after = client.refresh_tokens().await.unwrap();
    assert_ne!(after.access_token(), before.access_token());
    assert_eq!(h.idp.calls().refresh, 1);
    assert_eq!(client.tokens().await.unwrap(), after, "the refreshed tokens are cached");
    assert_eq!(h.store.peek().unwrap().user_pool.unwrap().tokens, after, "and saved");
    h.set_online(false);
    assert!(matches!(client.refresh_tokens().await, Err(AuthError::Offline)));
    assert_eq!(
        client.current_user_state().state,
        UserState::SignedIn,
        "a refused forced refresh changes nothing"
    );
    assert_eq!(h.idp.calls().refresh, 1);
    let signed_out = h.client().await;
    signed_out.sign_out(SignOutOptions::local()).await.unwrap();
    h.set_online(true);
    assert!(matches!(signed_out.refresh_tokens().await, Err(AuthError::NotSignedIn)));
}

#[tokio::test]
async fn account_operations_use_the_current_access_token() {
    let h = Harness::new();
    // No `.account_provider(...)`: the identity provider offers account operations itself.
    let client = h.builder().build();
    client.initialize().await.unwrap();
    let account = client.account().unwrap();

    let outcome = account
        .sign_up(
            auth_core::SignUpRequest::new("carol", "C4rol-pass")
                .with_attribute("email", "c@example.com"),
        )
        .await
        .unwrap();
    assert!(!outcome.confirmed);
    let code = h.idp.last_code("carol").unwrap();
    match account.confirm_sign_up("carol", "000000").await {
        Err(AuthError::Provider(error)) => {
            assert_eq!(error.kind(), Some(&ServiceErrorKind::CodeMismatch), "{error}");
            assert_eq!(error.code(), Some("CodeMismatchException"), "{error}")
        }
        other => panic!("a wrong code must be a CodeMismatchException, got {other:?}"),
    }
    account.confirm_sign_up("carol", code).await.unwrap();
    client.sign_in(SignInRequest::password("carol", "C4rol-pass")).await.unwrap();

    // Attribute calls after the tokens expired refresh them first.
    h.advance(PAST_EXPIRY);
    assert_eq!(account.user_attributes().await.unwrap()["email"], "c@example.com");
    assert_eq!(h.idp.calls().refresh, 1);
    account.change_password("C4rol-pass", "N3w-pass").await.unwrap();
    let deliveries = account.update_user_attributes([("email", "new@example.com")]).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    let code = h.idp.last_code("carol").unwrap();
    account.verify_user_attribute("email", code).await.unwrap();
    assert_eq!(account.user_attributes().await.unwrap()["email_verified"], "true");
    account.delete_user().await.unwrap();
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
    assert!(h.store.peek().is_none());

    // Password reset needs no session.
    let outcome = account.forgot_password(USER).await.unwrap();
    assert_eq!(outcome.medium.as_deref(), Some("EMAIL"));
    let code = h.idp.last_code(USER).unwrap();
    account.confirm_forgot_password(USER, code, "R3set-pass").await.unwrap();
    client.sign_in(SignInRequest::password(USER, "R3set-pass")).await.unwrap();

    let explicit = h.builder().account_provider(Arc::new(h.idp.clone())).build();
    assert!(explicit.account().is_ok(), "an explicit account provider still works");
    let bare = AuthClient::builder().build();
    assert!(matches!(bare.account(), Err(AuthError::NotConfigured(_))));
}

/// Auto sign-in over the fakes: a sign-in that fails for a transient reason keeps the
/// sign-up's credentials for `auto_sign_in()`, and a challenge goes back to the app.
#[tokio::test]
async fn auto_sign_in_survives_a_transient_failure_and_hands_back_a_challenge() {
    let h = Harness::new();
    // Sign-up and confirmation at one fake, sign-in at another, so that the sign-in alone
    // can fail.
    let accounts = auth_core::testing::FakeIdentityProvider::new(h.clock.clone());
    let client = h.builder().account_provider(Arc::new(accounts.clone())).build();
    client.initialize().await.unwrap();
    let account = client.account().unwrap();
    let request = auth_core::SignUpRequest::new("dora", "D0ra-pass").auto_sign_in(true);
    account.sign_up(request).await.unwrap();
    h.idp.add_user("dora", "D0ra-pass").require_mfa("dora", "424242");

    h.idp.set_network_available(false);
    let code = accounts.last_code("dora").unwrap();
    let offline = account.confirm_sign_up("dora", code).await;
    assert!(matches!(offline, Err(ref e) if e.is_transient()), "{offline:?}");
    assert!(!client.is_signed_in());

    h.idp.set_network_available(true);
    let step = account.auto_sign_in().await.unwrap();
    assert!(matches!(step, SignInResult::NextStep(_)), "MFA goes back to the app: {step:?}");
    client.confirm_sign_in(ChallengeResponse::answer("424242")).await.unwrap();
    assert!(client.is_signed_in());
    assert_eq!(client.username().as_deref(), Some("dora"));
    assert!(
        matches!(account.auto_sign_in().await, Err(AuthError::NoPendingSignIn)),
        "the kept password is gone once used"
    );
}

#[tokio::test]
async fn only_a_guest_identity_is_offered_for_merging() {
    let h = Harness::new().with_guest();
    let client = h.client().await;
    let guest = client.identity_id().await.unwrap();
    client
        .federated_sign_in("accounts.google.com", google_token(&h, Duration::from_secs(3600)), None)
        .await
        .unwrap();
    assert_eq!(client.identity_id().await.unwrap(), guest, "the guest identity was merged");
    // A second user of the same provider signs in on this device.
    let exp = auth_core::testing::epoch_seconds(h.now() + Duration::from_secs(3600));
    let other = ProviderToken::new(auth_core::testing::unsigned_jwt(
        &serde_json::json!({"sub": "g-2", "exp": exp}),
    ));
    client.federated_sign_in("accounts.google.com", other, None).await.unwrap();
    assert_ne!(client.identity_id().await.unwrap(), guest);
    assert_eq!(
        h.pool.offered_for_merge(),
        [None, Some(guest), None],
        "the first user's identity is never offered"
    );
}

/// A guest client whose clock is two hours ahead of the identity pool's.
async fn skewed_guest(stamp_issue_time: bool) -> (Harness, AuthClient) {
    let h = Harness::new().with_guest();
    h.pool.set_stamp_issue_time(stamp_issue_time);
    let local = Arc::new(auth_core::ManualClock::new(h.now() + Duration::from_secs(2 * 3600)));
    let client = h.builder().clock(local).build();
    client.initialize().await.unwrap();
    (h, client)
}

#[tokio::test]
async fn guest_credentials_with_a_clock_far_ahead_are_not_refreshed_in_a_loop() {
    // The pool says when it issued them: the drift is corrected, the cache works.
    let (h, client) = skewed_guest(true).await;
    let first = client.aws_credentials().await.unwrap();
    assert_eq!(client.aws_credentials().await.unwrap(), first);
    assert_eq!(h.pool.calls().credentials, 1);

    // Without an issue time the fresh credentials look expired on arrival: each call is
    // served by one refresh, never a storm of them.
    let (h, client) = skewed_guest(false).await;
    client.aws_credentials().await.unwrap();
    assert_eq!(h.pool.calls().credentials, 1);
    client.aws_credentials().await.unwrap();
    assert_eq!(h.pool.calls().credentials, 2);
}

#[tokio::test]
async fn fetch_session_returns_every_part_refreshed_by_the_usual_rules() {
    let h = Harness::new();
    let client = h.client().await;
    assert!(matches!(client.fetch_session().await, Err(AuthError::NotSignedIn)));
    client.sign_in(auth_core::SignInRequest::password(USER, PASSWORD)).await.unwrap();
    let session = client.fetch_session().await.unwrap();
    let tokens = session.tokens.expect("a user-pool session has tokens");
    assert_eq!(session.user_sub.as_deref(), Some("sub-alice"));
    let identity = session.identity_id.expect("with a credentials provider, an identity");
    assert_eq!(identity, client.identity_id().await.unwrap());
    let credentials = session.credentials.expect("and credentials");
    assert_eq!(credentials, client.aws_credentials().await.unwrap(), "the cached ones");

    // Expired parts are refreshed, as their own calls would have them.
    h.advance(PAST_EXPIRY);
    let refreshed = client.fetch_session().await.unwrap();
    assert!(refreshed.tokens.unwrap().expires_at() > tokens.expires_at());
    assert_eq!(h.idp.calls().refresh, 1);
}
