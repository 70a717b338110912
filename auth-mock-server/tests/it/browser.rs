//! The hosted UI in a real browser: headless Chromium through WebDriver (chromedriver, started
//! here on an ephemeral loopback port). Without chromium and chromedriver the test says so
//! loudly and passes, unless `AUTH_REQUIRE_ALL_TESTS=1`, where it fails (CI installs them in
//! `.ci/install-packages.sh`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::types::{SmsMfaSettingsType, UserPoolMfaType};
use fantoccini::{Client, ClientBuilder, Locator};

use crate::hosted::{CALLBACK, Hosted, LOGOUT, hosted, param};
use crate::support::{PASSWORD, claims};

/// Reports loudly that `test` cannot run here and why, straight to stderr (libtest hides
/// `eprintln!` output of passing tests); panics instead when `AUTH_REQUIRE_ALL_TESTS=1`.
fn skip_or_fail(test: &str, reason: &str) {
    use std::io::Write as _;
    assert!(
        std::env::var("AUTH_REQUIRE_ALL_TESTS").as_deref() != Ok("1"),
        "{test}: AUTH_REQUIRE_ALL_TESTS=1 but this test cannot run here: {reason}"
    );
    let _ = writeln!(std::io::stderr(), "\n!!! SKIPPED {test}: {reason}\n");
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// chromedriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver and a headless Chromium session, or `None` (after reporting) when the
/// tools are missing.
async fn browser(test: &str) -> Option<(Driver, Client)> {
    let Some(chromium) = on_path(&["chromium", "chromium-browser", "google-chrome"]) else {
        skip_or_fail(test, "chromium is not installed (apt-get install chromium chromium-driver)");
        return None;
    };
    let Some(chromedriver) = on_path(&["chromedriver"]) else {
        skip_or_fail(test, "chromedriver is not installed (apt-get install chromium-driver)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    Some((driver, client))
}

/// Waits until the browser's URL satisfies `done`; returns it.
async fn wait_url(browser: &Client, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let url = browser.current_url().await.unwrap().to_string();
        if done(&url) {
            return url;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "stuck at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Navigates to `url`. Redirects to the app's callback or logout URL end on a port where
/// nothing listens (there is no app): Chromium then reports the navigation as failed, but the
/// browser's URL is still the one the server redirected to, which is what the tests read.
async fn goto(browser: &Client, url: &str) {
    if let Err(error) = browser.goto(url).await {
        assert!(error.to_string().contains("ERR_CONNECTION_REFUSED"), "{url}: {error}");
    }
}

/// Types into the fields named in `fields` and presses the form's button.
async fn fill(browser: &Client, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let field = browser.wait().for_element(Locator::Id(name)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }
    browser.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
}

async fn text_of(browser: &Client, id: &str) -> String {
    browser.wait().for_element(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

/// The code a browser landed on the callback with, exchanged with PKCE.
async fn exchange(h: &Hosted, url: &str) -> serde_json::Value {
    let code = param(url, "code").expect("a code");
    let response = h.exchange(&code).await;
    assert!(response.status().is_success());
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn the_hosted_ui_in_a_real_browser() {
    let Some((_driver, browser)) = browser("the_hosted_ui_in_a_real_browser").await else {
        return;
    };
    let h = hosted().await;
    let authorize = h.url(&format!("/oauth2/authorize?{}", h.authorize_query(&[])));
    let at_callback = |url: &str| url.starts_with(CALLBACK);

    // Error page: an unregistered redirect URI never redirects.
    let evil = h.authorize_query(&[("redirect_uri", "https://evil.example/cb")]);
    goto(&browser, &h.url(&format!("/oauth2/authorize?{evil}"))).await;
    assert!(text_of(&browser, "error").await.contains("not registered"));
    assert!(browser.current_url().await.unwrap().as_str().starts_with(&h.f.server.url()));

    // Wrong password: the error is on the page.
    goto(&browser, &authorize).await;
    fill(&browser, &[("username", "alice"), ("password", "wrong-one")]).await;
    assert_eq!(text_of(&browser, "error").await, "Incorrect username or password.");

    // PKCE sign-in.
    fill(&browser, &[("username", "alice"), ("password", PASSWORD)]).await;
    let url = wait_url(&browser, at_callback).await;
    assert_eq!(param(&url, "state").as_deref(), Some("st-1"));
    let tokens = exchange(&h, &url).await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["cognito:username"], "alice");

    // The session cookie: straight back with a new code.
    goto(&browser, &authorize).await;
    let again = wait_url(&browser, at_callback).await;
    assert_ne!(param(&again, "code"), param(&url, "code"));

    // Logout clears it: the next authorize shows the form.
    let logout =
        format!("/logout?client_id={}&logout_uri=http%3A%2F%2Flocalhost%3A3000%2Fbye", h.web);
    goto(&browser, &h.url(&logout)).await;
    wait_url(&browser, |url| url.starts_with(LOGOUT)).await;
    goto(&browser, &authorize).await;
    browser.wait().for_element(Locator::Id("password")).await.unwrap();

    // New password, then an SMS code, on the pages.
    let sdk = &h.f.sdk;
    sdk.admin_create_user()
        .user_pool_id(&h.f.pool)
        .username("bob")
        .temporary_password("Temp0rary!")
        .user_attributes(crate::sdk_attr("phone_number", "+15555550100"))
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    sdk.update_user_pool()
        .user_pool_id(&h.f.pool)
        .mfa_configuration(UserPoolMfaType::Optional)
        .send()
        .await
        .unwrap();
    sdk.admin_set_user_mfa_preference()
        .user_pool_id(&h.f.pool)
        .username("bob")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).preferred_mfa(true).build())
        .send()
        .await
        .unwrap();
    fill(&browser, &[("username", "bob"), ("password", "Temp0rary!")]).await;
    fill(&browser, &[("password", "N3w-Passw0rd!"), ("confirm_password", "N3w-Passw0rd!")]).await;
    browser.wait().for_element(Locator::Id("code")).await.unwrap();
    let code = h.f.server.last_code(&h.f.pool, "bob").unwrap().code;
    fill(&browser, &[("code", &code)]).await;
    let url = wait_url(&browser, at_callback).await;
    assert_eq!(
        claims(exchange(&h, &url).await["id_token"].as_str().unwrap())["cognito:username"],
        "bob"
    );

    // Sign-up with a confirmation code.
    goto(&browser, &h.url(&logout)).await;
    wait_url(&browser, |url| url.starts_with(LOGOUT)).await;
    goto(&browser, &authorize).await;
    browser.wait().for_element(Locator::Id("sign-up")).await.unwrap().click().await.unwrap();
    fill(
        &browser,
        &[("username", "carol"), ("email", "carol@example.com"), ("password", PASSWORD)],
    )
    .await;
    browser.wait().for_element(Locator::Id("code")).await.unwrap();
    let code = h.f.server.last_code(&h.f.pool, "carol").unwrap().code;
    fill(&browser, &[("code", &code)]).await;
    let url = wait_url(&browser, at_callback).await;
    assert_eq!(
        claims(exchange(&h, &url).await["id_token"].as_str().unwrap())["cognito:username"],
        "carol"
    );

    // Forgotten password.
    goto(&browser, &h.url(&logout)).await;
    wait_url(&browser, |url| url.starts_with(LOGOUT)).await;
    goto(&browser, &authorize).await;
    browser
        .wait()
        .for_element(Locator::Id("forgot-password"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&browser, &[("username", "alice")]).await;
    browser.wait().for_element(Locator::Id("confirm_password")).await.unwrap();
    let code = h.f.server.last_code(&h.f.pool, "alice").unwrap().code;
    fill(
        &browser,
        &[("code", &code), ("password", "An0ther-Pass!"), ("confirm_password", "An0ther-Pass!")],
    )
    .await;
    assert!(text_of(&browser, "notice").await.contains("reset"));
    fill(&browser, &[("username", "alice"), ("password", "An0ther-Pass!")]).await;
    wait_url(&browser, at_callback).await;

    browser.close().await.unwrap();
}
