//! Federated sign-in through the user pool: `HostedUi` with `identity_provider` set, against
//! the mock's hosted UI whose Google provider is the mock's own OIDC issuer. The test plays
//! the browser with plain HTTP (one hop at a time, auto-approving at the provider), the
//! session reaches `AuthClient`, whose details name the provider, and the identity pool
//! gives the federated user credentials.

use std::sync::Arc;
use std::time::Duration;

use auth_cognito::oauth::{Browser, HostedUi};
use auth_cognito::{CognitoIdentityPool, CognitoUserPool};
use auth_core::{
    AuthClient, DynTokenStore, MemoryTokenStore, SignInProvider, SignInRequest, UserState,
};
use auth_mock_server::{ClientOptions, IdentityPoolOptions, MockServer};
use serde_json::json;
use tokio::sync::mpsc;

use crate::support::{create_domain, desktop_client};

/// Follows one redirect: the `Location` of a 302 answer to `url`.
async fn hop(http: &reqwest::Client, url: &str) -> String {
    let answer = http.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302, "{url}: {}", answer.text().await.unwrap_or_default());
    answer.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_google_through_the_user_pool_then_identity_pool_credentials() {
    let server = MockServer::builder().start().await.unwrap();
    let pool = server.create_pool("federated").await.unwrap();
    create_domain(&server, &pool, "fed-test").await;
    server
        .call(
            "CreateIdentityProvider",
            json!({
                "UserPoolId": pool, "ProviderName": "Google", "ProviderType": "Google",
                "ProviderDetails": {
                    "client_id": "google-client", "client_secret": "unused",
                    "authorize_scopes": "openid email",
                },
                "AttributeMapping": {"email": "email"},
            }),
        )
        .await
        .unwrap();
    let scopes = ["openid", "email", "aws.cognito.signin.user.admin"];
    let (client_id, port) = desktop_client(&server, &pool, &scopes, &["COGNITO", "Google"]).await;
    let identity_pool_id = server
        .create_identity_pool(
            "federated-ids",
            IdentityPoolOptions::default().user_pool(&pool, &client_id),
        )
        .await
        .unwrap();

    let (urls, mut received) = mpsc::unbounded_channel();
    let hosted = HostedUi::builder(server.url(), &pool, &client_id)
        .redirect_port(port)
        .scopes(["openid", "email", "aws.cognito.signin.user.admin"])
        .identity_provider("Google")
        .browser(Browser::Manual(Arc::new(move |url: &str| {
            let _ = urls.send(url.to_owned());
        })))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let identity_pool =
        CognitoIdentityPool::builder(&identity_pool_id).endpoint(server.url()).build().unwrap();
    let store: DynTokenStore = Arc::new(MemoryTokenStore::new());
    let client = AuthClient::builder()
        .identity_provider(Arc::new(hosted))
        .credentials_provider(Arc::new(identity_pool))
        .token_store(Arc::clone(&store))
        .build();
    client.initialize().await.unwrap();
    let signing_in = tokio::spawn({
        let client = client.clone();
        async move { client.sign_in(SignInRequest::browser()).await }
    });

    // The "browser": the user pool sends it to the provider, the provider (auto-approving
    // the chosen user) back to the pool, the pool to the app's loopback listener.
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let authorize = received.recv().await.expect("the authorization URL");
    assert!(authorize.contains("identity_provider=Google"), "{authorize}");
    let provider = hop(&http, &authorize).await;
    assert!(provider.contains("/_mock/oidc/google/authorize?"), "{provider}");
    let idp_response = hop(&http, &format!("{provider}&sub=g-77&email=gia%40example.com")).await;
    let callback = hop(&http, &idp_response).await;
    assert!(callback.starts_with(&format!("http://localhost:{port}/callback?")), "{callback}");
    let page = http.get(&callback).send().await.unwrap();
    assert!(page.status().is_success());

    signing_in.await.unwrap().expect("signed in through Google");
    let details = client.current_user_state();
    assert_eq!(details.state, UserState::SignedIn);
    assert_eq!(details.sign_in_provider, Some(SignInProvider::Federated("Google".into())));
    assert_eq!(client.username().as_deref(), Some("Google_g-77"));

    let credentials = client.aws_credentials().await.expect("identity-pool credentials");
    assert!(credentials.access_key_id.starts_with("ASIA"), "{}", credentials.access_key_id);
    assert!(!credentials.secret_access_key.secret().is_empty());
    let identity = client.identity_id().await.expect("an identity id");
    assert!(identity.as_str().starts_with("us-east-1:"), "{}", identity.as_str());

    // A restart from the stored session still names the provider (read from the ID token).
    let restored = AuthClient::builder().token_store(store).build();
    let details = restored.initialize().await.unwrap();
    assert_eq!(details.state, UserState::SignedIn);
    assert_eq!(details.sign_in_provider, Some(SignInProvider::Federated("Google".into())));
}

#[tokio::test]
async fn an_srp_sign_in_names_cognito() {
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server.create_pool("local").await.unwrap();
    let app = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
    server.create_user(&pool_id, "lou", "Passw0rd!-Local", &[]).await.unwrap();
    let pool =
        CognitoUserPool::builder(&pool_id, &app.client_id).endpoint(server.url()).build().unwrap();
    let client = AuthClient::builder().identity_provider(Arc::new(pool)).build();
    client.initialize().await.unwrap();
    let mut changes = client.state_changes();
    // The provider default for Cognito is SRP.
    client.sign_in(SignInRequest::password("lou", "Passw0rd!-Local")).await.unwrap();
    let heard = changes.next().await.expect("a state change");
    assert_eq!(heard.state, UserState::SignedIn);
    assert_eq!(heard.sign_in_provider, Some(SignInProvider::Cognito));
    assert_eq!(heard.sign_in_provider.unwrap().name(), "COGNITO");
}
