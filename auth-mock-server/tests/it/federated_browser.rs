//! Federated sign-in in a real browser (headless Chromium, as `browser.rs`): the hosted
//! login page's "Sign in with Google", the mock provider's page, back at the app with a code.

use auth_mock_server::browser::{HeadlessBrowser, Locator};

use crate::federated::fed;
use crate::hosted::{CALLBACK, param};
use crate::support::claims;

#[tokio::test]
async fn sign_in_with_google_in_a_real_browser() {
    let Some(browser) = HeadlessBrowser::start("sign_in_with_google_in_a_real_browser").await
    else {
        return;
    };
    let f = fed().await;
    browser.goto(&f.h.url(&format!("/oauth2/authorize?{}", f.query(&[])))).await;
    let link = browser.client.wait().for_element(Locator::Id("provider-Google")).await.unwrap();
    link.click().await.unwrap();
    // The provider's page: choose the external user.
    browser.fill(&[("sub", "b-42"), ("email", "bea@example.com")]).await;
    let url = browser.wait_url(|url| url.starts_with(CALLBACK)).await;
    assert_eq!(param(&url, "state").as_deref(), Some("st-1"));
    let tokens = f.redeem(&param(&url, "code").expect("a code")).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["cognito:username"], "Google_b-42");
    assert_eq!(id["email"], "bea@example.com");
    assert_eq!(id["identities"][0]["providerName"], "Google");
}
