//! Account operations through `AuthClient` over the mock: each uses the current access
//! token, refreshed first if needed.

use std::time::Duration;

use auth_cognito::{CognitoAuth, CognitoUserPool};
use auth_core::{AlwaysOnline, SignInRequest};
use auth_mock_server::{ClientOptions, MockServer};
use serde_json::json;

const PASSWORD: &str = "Passw0rd!-Mock";

#[tokio::test]
async fn attribute_verification_codes_are_sent_and_verified_through_the_client() {
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server.create_pool_with(json!({"PoolName": "account"})).await.unwrap();
    let client = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
    server.create_user(&pool_id, "bob", PASSWORD, &[("email", "bob@example.com")]).await.unwrap();
    let pool = CognitoUserPool::builder(&pool_id, &client.client_id)
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
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server
        .create_pool_with(json!({"PoolName": "account-mfa", "MfaConfiguration": "OPTIONAL"}))
        .await
        .unwrap();
    let client = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
    server.create_user(&pool_id, "cat", PASSWORD, &[]).await.unwrap();
    let pool = CognitoUserPool::builder(&pool_id, &client.client_id)
        .endpoint(server.url())
        .build()
        .unwrap();
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
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server.create_pool_with(json!({"PoolName": "account-conf"})).await.unwrap();
    let client = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
    server.create_user(&pool_id, "dan", PASSWORD, &[]).await.unwrap();
    let pool = CognitoUserPool::builder(&pool_id, &client.client_id)
        .endpoint(server.url())
        .build()
        .unwrap();
    let unreachable = CognitoUserPool::builder(&pool_id, &client.client_id)
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
