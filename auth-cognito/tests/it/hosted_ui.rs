//! `HostedUi` against the mock's hosted UI in headless Chromium: the test plays the user on
//! the mock's pages while the client's loopback listener catches the redirect. PKCE sign-in
//! through `AuthClient`, refresh through the token endpoint, identity-pool credentials for
//! the signed-in user, an SMS code on the page, and sign-out that revokes the refresh token.
//! Without chromium and chromedriver the tests say so loudly (and fail under
//! `AUTH_REQUIRE_ALL_TESTS=1`).

use std::sync::Arc;
use std::time::Duration;

use auth_cognito::oauth::{Browser, HostedUi};
use auth_cognito::{CognitoIdentityPool, CognitoUserPool};
use auth_core::{AuthClient, SignInRequest, SignOutOptions, UserState};
use auth_mock_server::browser::HeadlessBrowser;
use auth_mock_server::{IdentityPoolOptions, MockServer, MockServerHandle};
use serde_json::json;
use tokio::sync::mpsc;

use crate::support::{create_domain, create_user_with_phone, desktop_client, prefer_sms_mfa};

const PASSWORD: &str = "Passw0rd!-Hosted";

struct Setup {
    server: MockServerHandle,
    pool: String,
    client: String,
    port: u16,
}

/// A pool with a domain and an app client whose callback is `http://localhost:<port>/callback`.
async fn setup() -> Setup {
    let server = MockServer::builder().start().await.unwrap();
    let pool = server
        .create_pool_with(json!({"PoolName": "hosted", "MfaConfiguration": "OPTIONAL"}))
        .await
        .unwrap();
    create_domain(&server, &pool, "client-test").await;
    let scopes = ["openid", "email", "profile", "aws.cognito.signin.user.admin"];
    let (client, port) = desktop_client(&server, &pool, &scopes, &["COGNITO"]).await;
    create_user_with_phone(&server, &pool, "hana", PASSWORD, "+15555550142").await;
    Setup { server, pool, client, port }
}

impl Setup {
    /// The hosted-UI provider, handing the authorization URL to the test's "browser".
    fn hosted(&self) -> (HostedUi, mpsc::UnboundedReceiver<String>) {
        let (urls, received) = mpsc::unbounded_channel();
        let hosted = HostedUi::builder(self.server.url(), &self.pool, &self.client)
            .redirect_port(self.port)
            .scopes(["openid", "email", "aws.cognito.signin.user.admin"])
            .browser(Browser::Manual(Arc::new(move |url: &str| {
                let _ = urls.send(url.to_owned());
            })))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        (hosted, received)
    }
}

/// Waits for the loopback listener's page: the browser came back to the app.
async fn wait_until_back(browser: &HeadlessBrowser, port: u16) {
    let back = format!("http://localhost:{port}/callback");
    browser.wait_url(|url| url.starts_with(&back)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_ui_sign_in_in_a_real_browser_then_refresh_credentials_and_sign_out() {
    let Some(browser) = HeadlessBrowser::start("hosted_ui_sign_in_in_a_real_browser").await else {
        return;
    };
    let s = setup().await;
    let identity_pool_id = s
        .server
        .create_identity_pool(
            "hosted-ids",
            IdentityPoolOptions::default().user_pool(&s.pool, &s.client),
        )
        .await
        .unwrap();
    let identity_pool =
        CognitoIdentityPool::builder(&identity_pool_id).endpoint(s.server.url()).build().unwrap();
    let (hosted, mut urls) = s.hosted();
    let client = AuthClient::builder()
        .identity_provider(Arc::new(hosted))
        .credentials_provider(Arc::new(identity_pool))
        .build();
    client.initialize().await.unwrap();

    let signing_in = tokio::spawn({
        let client = client.clone();
        async move { client.sign_in(SignInRequest::browser()).await }
    });
    let authorize = urls.recv().await.expect("the authorization URL");
    assert!(authorize.contains("code_challenge_method=S256"), "{authorize}");
    browser.goto(&authorize).await;
    browser.fill(&[("username", "hana"), ("password", PASSWORD)]).await;
    wait_until_back(&browser, s.port).await;
    assert!(browser.client.source().await.unwrap().contains("close this tab"));
    signing_in.await.unwrap().expect("signed in through the hosted UI");
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert_eq!(client.username().as_deref(), Some("hana"));

    // The token endpoint's refresh_token grant.
    let before = client.tokens().await.unwrap();
    s.server.reset_request_counts();
    let after = client.refresh_tokens().await.unwrap();
    assert_ne!(after.access_token().secret(), before.access_token().secret());
    // The hosted-UI access token carries the sign-in scope: the user-pool API accepts it.
    let pool =
        CognitoUserPool::builder(&s.pool, &s.client).endpoint(s.server.url()).build().unwrap();
    let profile = pool.get_user(after.access_token()).await.expect("GetUser with the token");
    assert_eq!(profile.username, "hana");
    // Identity-pool credentials for the hosted-UI user.
    let credentials = client.aws_credentials().await.expect("AWS credentials for the user");
    assert!(!credentials.access_key_id.is_empty());

    // Sign-out revokes the refresh token at /oauth2/revoke.
    let refresh = after.refresh_token().or(before.refresh_token()).unwrap().secret().to_owned();
    client.sign_out(SignOutOptions::invalidate_tokens()).await.unwrap();
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
    let answer = reqwest::Client::new()
        .post(format!("{}/oauth2/token", s.server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=refresh_token&client_id={}&refresh_token={refresh}", s.client))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400, "the revoked refresh token is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_code_on_the_hosted_page() {
    let Some(browser) = HeadlessBrowser::start("an_sms_code_on_the_hosted_page").await else {
        return;
    };
    let s = setup().await;
    prefer_sms_mfa(&s.server, &s.pool, "hana").await;
    let (hosted, mut urls) = s.hosted();
    let signing_in = tokio::spawn(async move { hosted.authorize().await });
    browser.goto(&urls.recv().await.unwrap()).await;
    browser.fill(&[("username", "hana"), ("password", PASSWORD)]).await;
    browser
        .client
        .wait()
        .for_element(auth_mock_server::browser::Locator::Id("code"))
        .await
        .unwrap();
    let code = s.server.last_code(&s.pool, "hana").unwrap().code;
    browser.fill(&[("code", &code)]).await;
    wait_until_back(&browser, s.port).await;
    let session = signing_in.await.unwrap().expect("signed in after the SMS code");
    assert_eq!(session.username, "hana");
}
