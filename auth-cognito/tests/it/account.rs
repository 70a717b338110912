//! Account operations through `AuthClient` over the mock: each uses the current access
//! token, refreshed first if needed.

use std::time::Duration;

use auth_cognito::{CognitoAuth, CognitoUserPool};
use auth_core::{AlwaysOnline, SignInRequest};
use auth_mock_server::{ClientOptions, MockServer};
use serde_json::json;

use crate::support::{MockPool, prefer_sms_mfa, remembering_devices};

const PASSWORD: &str = MockPool::PASSWORD;

#[tokio::test]
async fn attribute_verification_codes_are_sent_and_verified_through_the_client() {
    let attributes = [("email", "bob@example.com")];
    let MockPool { server, pool_id, client_id } =
        MockPool::with_user(json!({"PoolName": "account"}), "bob", &attributes).await;
    let pool = CognitoUserPool::builder(&pool_id, &client_id)
        .endpoint(server.url())
        .request_timeout(Duration::from_secs(5));
    let auth = CognitoAuth::builder(pool)
        .connectivity(std::sync::Arc::new(AlwaysOnline::new()))
        .build()
        .unwrap();
    auth.initialize().await.unwrap();
    auth.sign_in(SignInRequest::password("bob", PASSWORD)).await.unwrap();
    let account = auth.account().unwrap();

    let delivery = account.send_attribute_verification_code("email").await.unwrap();
    assert_eq!(delivery.attribute.as_deref(), Some("email"), "{delivery:?}");
    let code = server.last_code(&pool_id, "bob").expect("a code was sent");
    assert_eq!(code.purpose, "attribute:email");
    let wrong = account.verify_user_attribute("email", "000000").await;
    assert!(wrong.is_err() || code.code == "000000", "a wrong code is refused");
    account.verify_user_attribute("email", code.code.as_str()).await.unwrap();
    assert_eq!(account.user_attributes().await.unwrap()["email_verified"], "true");

    // Deleting the user deletes it at Cognito and signs out locally.
    account.delete_user().await.unwrap();
    assert_eq!(auth.current_user_state().state, auth_core::UserState::SignedOut);
    let gone = server.call("AdminGetUser", json!({"UserPoolId": pool_id, "Username": "bob"})).await;
    assert!(gone.is_err(), "{gone:?}");
}

#[tokio::test]
async fn totp_mfa_preferences_and_devices_go_through_the_client() {
    let pool = json!({"PoolName": "account-mfa", "MfaConfiguration": "OPTIONAL"});
    let MockPool { server, pool_id, client_id } = MockPool::with_user(pool, "cat", &[]).await;
    let pool =
        CognitoUserPool::builder(&pool_id, &client_id).endpoint(server.url()).build().unwrap();
    let auth = auth_core::AuthClient::builder()
        .identity_provider(std::sync::Arc::new(pool.clone()))
        .build();
    auth.initialize().await.unwrap();
    auth.sign_in(SignInRequest::password("cat", PASSWORD)).await.unwrap();
    let account = auth_cognito::CognitoAccount::new(auth.clone(), pool);

    let setup = account.set_up_totp().await.unwrap();
    assert!(!setup.secret.secret().is_empty());
    let code = server.totp_code(&pool_id, "cat").expect("a pending software token");
    account.verify_software_token(code.as_str(), Some("phone")).await.unwrap();
    account.set_mfa_preference(auth_cognito::MfaPreference::new().totp(true, true)).await.unwrap();
    let user = server
        .call("AdminGetUser", json!({"UserPoolId": pool_id, "Username": "cat"}))
        .await
        .unwrap();
    assert_eq!(user["PreferredMfaSetting"], "SOFTWARE_TOKEN_MFA", "{user}");

    let page = account.list_devices(Some(10), None).await.unwrap();
    for device in &page.devices {
        account.device(&device.key).await.unwrap();
    }
    // An unknown device is Cognito's refusal, not a network failure.
    let unknown = account.forget_device("us-east-1_00000000-0000-0000-0000-000000000000").await;
    assert!(
        matches!(unknown, Err(auth_core::AuthError::Provider(ref e)) if e.is_rejected()),
        "{unknown:?}"
    );

    // Signed out: nothing to act for.
    auth.sign_out(auth_core::SignOutOptions::local()).await.unwrap();
    assert!(matches!(
        account.list_devices(None, None).await,
        Err(auth_core::AuthError::NotSignedIn)
    ));
}

#[tokio::test]
async fn the_user_pool_conforms_as_an_account_provider() {
    use auth_core::testing::conformance::account_provider::{AccountFixture, run_all};
    let MockPool { server, pool_id, client_id } =
        MockPool::with_user(json!({"PoolName": "account-conf"}), "dan", &[]).await;
    let pool =
        CognitoUserPool::builder(&pool_id, &client_id).endpoint(server.url()).build().unwrap();
    let unreachable = CognitoUserPool::builder(&pool_id, &client_id)
        .endpoint(crate::support::closed_port_url().await)
        .retry_policy(auth_cognito::RetryPolicy::none())
        .build()
        .unwrap();
    let outcome =
        auth_core::IdentityProvider::sign_in(&pool, &SignInRequest::password("dan", PASSWORD))
            .await
            .unwrap();
    let session = crate::support::signed_in(outcome);
    let fixture = AccountFixture {
        provider: std::sync::Arc::new(pool),
        unreachable: std::sync::Arc::new(unreachable),
        access_token: session.tokens.access_token().clone(),
    };
    run_all(&fixture).await;
}

/// A pool that remembers devices only when the user says so: the first SRP sign-in asks
/// for MFA and tracks the device unremembered; `remember_current_device` remembers it, the
/// listing says so, and the next sign-in on it skips MFA (DEVICE_SRP_AUTH instead).
#[tokio::test]
async fn remembering_the_current_device_skips_mfa_at_the_next_sign_in() {
    use auth_core::{ChallengeResponse, SignInFlow, SignInResult};
    let pool = remembering_devices("account-remember", true);
    let attributes = [("phone_number", "+15555550177")];
    let MockPool { server, pool_id, client_id } =
        MockPool::with_user(pool, "eve", &attributes).await;
    prefer_sms_mfa(&server, &pool_id, "eve").await;
    let pool = CognitoUserPool::builder(&pool_id, &client_id)
        .endpoint(server.url())
        .device_store(std::sync::Arc::new(auth_cognito::MemoryDeviceStore::new()))
        .build()
        .unwrap();
    let auth = auth_core::AuthClient::builder()
        .identity_provider(std::sync::Arc::new(pool.clone()))
        .build();
    auth.initialize().await.unwrap();
    let account = auth_cognito::CognitoAccount::new(auth.clone(), pool);
    let srp =
        || SignInRequest::password("eve", PASSWORD).with_flow(SignInFlow::SecureRemotePassword);

    // First sign-in on this device: MFA, and the device is tracked but not remembered.
    let SignInResult::NextStep(step) = auth.sign_in(srp()).await.unwrap() else {
        panic!("a new device asks for MFA")
    };
    assert_eq!(step.challenge_name, "SMS_MFA");
    let code = server.last_code(&pool_id, "eve").unwrap().code;
    let done = auth.confirm_sign_in(ChallengeResponse::answer(code.as_str())).await.unwrap();
    assert!(matches!(done, SignInResult::Done), "{done:?}");
    let key = account.current_device_key().unwrap();
    assert_eq!(account.device(&key).await.unwrap().is_remembered(), Some(false));

    let remembered = account.remember_current_device().await.unwrap();
    assert_eq!(remembered, key);
    let page = account.list_devices(None, None).await.unwrap();
    let listed = page.devices.iter().find(|d| d.key == key).expect("the device is listed");
    assert_eq!(listed.is_remembered(), Some(true), "{listed:?}");

    // Next sign-in on the remembered device: no MFA.
    auth.sign_out(auth_core::SignOutOptions::local()).await.unwrap();
    assert!(matches!(account.current_device_key(), Err(auth_core::AuthError::NotSignedIn)));
    server.reset_request_counts();
    let done = auth.sign_in(srp()).await.unwrap();
    assert!(matches!(done, SignInResult::Done), "no MFA on a remembered device: {done:?}");
    assert_eq!(
        server.request_count("RespondToAuthChallenge"),
        3,
        "PASSWORD_VERIFIER, DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER"
    );
    assert_eq!(account.current_device_key().unwrap(), key);

    // Not remembered again: MFA again, through the explicit-key form.
    account.set_device_not_remembered(&key).await.unwrap();
    account.remember_device(&key).await.unwrap();
    assert_eq!(account.device(&key).await.unwrap().is_remembered(), Some(true));
    account.set_device_not_remembered(&key).await.unwrap();
    auth.sign_out(auth_core::SignOutOptions::local()).await.unwrap();
    let again = auth.sign_in(srp()).await.unwrap();
    assert!(
        matches!(again, SignInResult::NextStep(ref s) if s.challenge_name == "SMS_MFA"),
        "{again:?}"
    );
}

/// `SignUpRequest::auto_sign_in`: confirming the account signs the user in (listeners
/// hear `SignedIn`, tokens work); without the opt-in confirming signs nobody in.
#[tokio::test]
async fn a_sign_up_with_auto_sign_in_is_signed_in_once_confirmed() {
    use auth_core::{SignInResult, SignUpRequest, UserState};
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server
        .create_pool_with(json!({"PoolName": "account-auto", "AutoVerifiedAttributes": ["email"]}))
        .await
        .unwrap();
    let client = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
    let pool = CognitoUserPool::builder(&pool_id, &client.client_id)
        .endpoint(server.url())
        .build()
        .unwrap();
    let auth =
        auth_core::AuthClient::builder().identity_provider(std::sync::Arc::new(pool)).build();
    auth.initialize().await.unwrap();
    let account = auth.account().unwrap();

    // Without the opt-in: confirmed, nobody signed in.
    let outcome = account
        .sign_up(SignUpRequest::new("fay", PASSWORD).with_attribute("email", "fay@example.com"))
        .await
        .unwrap();
    assert!(!outcome.confirmed);
    let code = server.last_code(&pool_id, "fay").expect("a sign-up code").code;
    assert!(account.confirm_sign_up("fay", code.as_str()).await.unwrap().is_none());
    assert!(!auth.is_signed_in());
    assert!(matches!(account.auto_sign_in().await, Err(auth_core::AuthError::NoPendingSignIn)));

    // With it: the confirmation signs the user in.
    let mut changes = auth.state_changes();
    account
        .sign_up(
            SignUpRequest::new("gus", PASSWORD)
                .with_attribute("email", "gus@example.com")
                .auto_sign_in(true),
        )
        .await
        .unwrap();
    assert!(!auth.is_signed_in(), "signed in only once confirmed");
    let code = server.last_code(&pool_id, "gus").expect("a sign-up code").code;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let wrong = account.confirm_sign_up("gus", wrong).await;
    assert!(
        matches!(wrong, Err(auth_core::AuthError::Provider(ref e)) if e.is_rejected()),
        "{wrong:?}"
    );
    assert!(!auth.is_signed_in());
    let signed_in = account.confirm_sign_up("gus", code.as_str()).await.unwrap();
    assert!(matches!(signed_in, Some(SignInResult::Done)), "{signed_in:?}");
    assert!(auth.is_signed_in());
    assert_eq!(auth.username().as_deref(), Some("gus"));
    let heard =
        tokio::time::timeout(Duration::from_secs(5), changes.next()).await.unwrap().unwrap();
    assert_eq!(heard.state, UserState::SignedIn);
    let tokens = auth.tokens().await.unwrap();
    assert_eq!(tokens.id_claims().unwrap().string("email"), Some("gus@example.com"));
    assert_eq!(account.user_attributes().await.unwrap()["email_verified"], "true");
    assert!(
        matches!(account.auto_sign_in().await, Err(auth_core::AuthError::NoPendingSignIn)),
        "the kept password is used once"
    );
}
