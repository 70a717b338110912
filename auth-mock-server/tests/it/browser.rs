//! The hosted UI in a real browser: headless Chromium through WebDriver (chromedriver, started
//! here on an ephemeral loopback port). Without chromium and chromedriver the test says so
//! loudly and passes, unless `AUTH_REQUIRE_ALL_TESTS=1`, where it fails (CI installs them in
//! `.ci/install-packages.sh`).

use auth_mock_server::browser::{HeadlessBrowser, Locator};

use crate::hosted::{CALLBACK, Hosted, LOGOUT, hosted, param};
use crate::support::{PASSWORD, claims};

/// The code a browser landed on the callback with, exchanged with PKCE.
async fn exchange(h: &Hosted, url: &str) -> serde_json::Value {
    let code = param(url, "code").expect("a code");
    let response = h.exchange(&code).await;
    assert!(response.status().is_success());
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// Types the code the server last sent `username` into the code page, and checks that the
/// browser lands on the callback with a code whose ID token is that user's.
async fn enter_code_and_land_as(browser: &HeadlessBrowser, h: &Hosted, username: &str) {
    browser.client.wait().for_element(Locator::Id("code")).await.unwrap();
    let code = h.f.server.last_code(&h.f.pool, username).unwrap().code;
    browser.fill(&[("code", &code)]).await;
    let url = browser.wait_url(|url| url.starts_with(CALLBACK)).await;
    assert_eq!(
        claims(exchange(h, &url).await["id_token"].as_str().unwrap())["cognito:username"],
        username
    );
}

/// Signs the browser out through `logout` (a path), then opens `authorize` for a fresh
/// sign-in.
async fn sign_out_and_authorize(
    browser: &HeadlessBrowser,
    h: &Hosted,
    logout: &str,
    authorize: &str,
) {
    browser.goto(&h.url(logout)).await;
    browser.wait_url(|url| url.starts_with(LOGOUT)).await;
    browser.goto(authorize).await;
}

#[tokio::test]
async fn the_hosted_ui_in_a_real_browser() {
    let Some(browser) = HeadlessBrowser::start("the_hosted_ui_in_a_real_browser").await else {
        return;
    };
    let h = hosted().await;
    let authorize = h.url(&format!("/oauth2/authorize?{}", h.authorize_query(&[])));
    let at_callback = |url: &str| url.starts_with(CALLBACK);

    // Error page: an unregistered redirect URI never redirects.
    let evil = h.authorize_query(&[("redirect_uri", "https://evil.example/cb")]);
    browser.goto(&h.url(&format!("/oauth2/authorize?{evil}"))).await;
    assert!(browser.text_of("error").await.contains("not registered"));
    assert!(browser.client.current_url().await.unwrap().as_str().starts_with(&h.f.server.url()));

    // Wrong password: the error is on the page.
    browser.goto(&authorize).await;
    browser.fill(&[("username", "alice"), ("password", "wrong-one")]).await;
    assert_eq!(browser.text_of("error").await, "Incorrect username or password.");

    // PKCE sign-in.
    browser.fill(&[("username", "alice"), ("password", PASSWORD)]).await;
    let url = browser.wait_url(at_callback).await;
    assert_eq!(param(&url, "state").as_deref(), Some("st-1"));
    let tokens = exchange(&h, &url).await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["cognito:username"], "alice");

    // The session cookie: straight back with a new code.
    browser.goto(&authorize).await;
    let again = browser.wait_url(at_callback).await;
    assert_ne!(param(&again, "code"), param(&url, "code"));

    // Logout clears it: the next authorize shows the form.
    let logout =
        format!("/logout?client_id={}&logout_uri=http%3A%2F%2Flocalhost%3A3000%2Fbye", h.web);
    sign_out_and_authorize(&browser, &h, &logout, &authorize).await;
    browser.client.wait().for_element(Locator::Id("password")).await.unwrap();

    // New password, then an SMS code, on the pages.
    h.create_bob_with_sms_mfa().await;
    browser.fill(&[("username", "bob"), ("password", "Temp0rary!")]).await;
    browser.fill(&[("password", "N3w-Passw0rd!"), ("confirm_password", "N3w-Passw0rd!")]).await;
    enter_code_and_land_as(&browser, &h, "bob").await;

    // Sign-up with a confirmation code.
    sign_out_and_authorize(&browser, &h, &logout, &authorize).await;
    browser.client.wait().for_element(Locator::Id("sign-up")).await.unwrap().click().await.unwrap();
    browser
        .fill(&[("username", "carol"), ("email", "carol@example.com"), ("password", PASSWORD)])
        .await;
    enter_code_and_land_as(&browser, &h, "carol").await;

    // Forgotten password.
    sign_out_and_authorize(&browser, &h, &logout, &authorize).await;
    browser
        .client
        .wait()
        .for_element(Locator::Id("forgot-password"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.fill(&[("username", "alice")]).await;
    browser.client.wait().for_element(Locator::Id("confirm_password")).await.unwrap();
    let code = h.f.server.last_code(&h.f.pool, "alice").unwrap().code;
    browser
        .fill(&[
            ("code", &code),
            ("password", "An0ther-Pass!"),
            ("confirm_password", "An0ther-Pass!"),
        ])
        .await;
    assert!(browser.text_of("notice").await.contains("reset"));
    browser.fill(&[("username", "alice"), ("password", "An0ther-Pass!")]).await;
    browser.wait_url(at_callback).await;

    // Ending the session is clean-up, not part of the test: on a loaded machine chromedriver
    // has been seen to fail the DELETE after every step above passed, and dropping the
    // browser kills chromedriver anyway.
    let _ = browser.client.clone().close().await;
}
