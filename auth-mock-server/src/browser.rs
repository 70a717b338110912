//! A headless Chromium driven through WebDriver, for tests that sign in on the hosted UI
//! (feature `browser`): this crate's own tests, auth-cognito's hosted-UI client tests, and
//! any app's.
//!
//! [`HeadlessBrowser::start`] finds `chromium` (or `chromium-browser`, `google-chrome`) and
//! `chromedriver` on `PATH`, starts chromedriver on an ephemeral loopback port and opens a
//! session. When a tool is missing it reports that loudly on standard error and returns
//! `None`, so the test can return early; with `AUTH_REQUIRE_ALL_TESTS=1` (as CI sets) it
//! panics instead, so nothing is skipped silently.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use fantoccini::{Client, Locator};

/// A WebDriver session with a headless Chromium; chromedriver is killed when it is dropped.
#[derive(Debug)]
#[non_exhaustive]
pub struct HeadlessBrowser {
    /// The WebDriver client (fantoccini).
    pub client: Client,
    driver: Child,
}

impl Drop for HeadlessBrowser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Reports loudly that `test` cannot run here and why (straight to stderr: libtest hides the
/// output of passing tests); panics instead when `AUTH_REQUIRE_ALL_TESTS=1`.
pub fn skip_or_fail(test: &str, reason: &str) {
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

impl HeadlessBrowser {
    /// Starts chromedriver and a headless Chromium session for `test`, or reports why it
    /// cannot (see the module docs) and returns `None`.
    pub async fn start(test: &str) -> Option<Self> {
        let Some(chromium) = on_path(&["chromium", "chromium-browser", "google-chrome"]) else {
            skip_or_fail(
                test,
                "chromium is not installed (apt-get install chromium chromium-driver)",
            );
            return None;
        };
        let Some(chromedriver) = on_path(&["chromedriver"]) else {
            skip_or_fail(test, "chromedriver is not installed (apt-get install chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
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
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session");
        Some(Self { client, driver })
    }

    /// Waits (15 s at most) until the browser's URL satisfies `done`; returns it.
    pub async fn wait_url(&self, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let url = self.client.current_url().await.expect("the browser answers").to_string();
            if done(&url) {
                return url;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "stuck at {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Navigates to `url`. A redirect to an address where nothing listens (an app's callback
    /// in a test without the app) fails the navigation in Chromium, but the browser's URL is
    /// still where the server sent it, which is what tests read: that failure is accepted.
    pub async fn goto(&self, url: &str) {
        if let Err(error) = self.client.goto(url).await {
            assert!(error.to_string().contains("ERR_CONNECTION_REFUSED"), "{url}: {error}");
        }
    }

    /// Types into the fields with these ids, presses the form's submit button and waits
    /// (15 s at most) until the browser has left the form's page.
    ///
    /// Without that wait the next step can act on the page being left: a page after it often
    /// has fields with the same ids (`username`, `password`), and typing into the old ones
    /// loses the input when the new page replaces them (seen as a timeout on a loaded
    /// machine).
    pub async fn fill(&self, fields: &[(&str, &str)]) {
        for (id, value) in fields {
            let field = self.client.wait().for_element(Locator::Id(id)).await.expect("the field");
            field.clear().await.expect("cleared");
            field.send_keys(value).await.expect("typed");
        }
        let page = self.client.find(Locator::Css("html")).await.expect("a page");
        self.client
            .find(Locator::Css("button[type=submit]"))
            .await
            .expect("a submit button")
            .click()
            .await
            .expect("clicked");
        let started = Instant::now();
        loop {
            match page.tag_name().await {
                // Stale: a new page replaced it. Any other error means the old page cannot be
                // read either: chromedriver reports a navigation that failed (a redirect to a
                // callback where nothing listens: "net::ERR_CONNECTION_REFUSED") on the next
                // command, and a browser that really failed fails the test's next step.
                Err(_) => return,
                Ok(_) => {
                    assert!(
                        started.elapsed() < Duration::from_secs(15),
                        "the form was submitted but its page stayed"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// The text of the element with this id.
    pub async fn text_of(&self, id: &str) -> String {
        self.client
            .wait()
            .for_element(Locator::Id(id))
            .await
            .expect("the element")
            .text()
            .await
            .expect("text")
    }
}
