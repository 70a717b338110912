//! The machine-to-machine token source (`auth_cognito::oauth::ClientCredentials`) against a
//! scripted token endpoint: the form and the client authentication it sends (RFC 6749
//! section 2.3.1), the cache, one request for many callers, a forced refresh, and how
//! OAuth errors, outages and garbage are classified.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_cognito::oauth::{ClientAuthentication, ClientCredentials};
use auth_cognito::{CognitoError, HttpSettings, RetryPolicy};
use auth_core::ManualClock;
use base64::Engine as _;
use serde_json::json;

use crate::support::{Action, ScriptedServer, closed_port_url};

fn token(access: &str, expires_in: u64) -> Action {
    Action::ok(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": expires_in,
        "scope": "orders/read orders/write"
    }))
}

fn settings() -> HttpSettings {
    let mut settings = HttpSettings::default();
    settings.retry = RetryPolicy::new(3, Duration::from_millis(5), Duration::from_millis(20));
    settings
}

fn source(server: &ScriptedServer, secret: &str) -> auth_cognito::oauth::ClientCredentialsBuilder {
    ClientCredentials::builder(&server.url, "client id+1", secret)
        .scopes(["orders/read", "orders/write"])
        .http_settings(settings())
}

#[tokio::test]
async fn basic_authentication_form_encodes_the_id_and_secret_and_the_token_is_cached() {
    let server = ScriptedServer::start(vec![token("first-token", 3600)]).await;
    let tokens = source(&server, "s3cr:t/=").build().unwrap();
    let first = tokens.token().await.unwrap();
    assert_eq!(first.access_token.secret(), "first-token");
    assert_eq!(first.scopes, ["orders/read", "orders/write"]);
    assert!(first.expires_in(SystemTime::now()) > Duration::from_secs(3500));
    let again = tokens.token().await.unwrap();
    assert_eq!(again.access_token.secret(), "first-token");
    assert_eq!(tokens.requests(), 1, "the second token came from the cache");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/oauth2/token"));
    assert_eq!(request.headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(
        request.raw_body,
        "grant_type=client_credentials&scope=orders%2Fread%20orders%2Fwrite"
    );
    let basic = request.headers["authorization"].strip_prefix("Basic ").expect("Basic");
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "client%20id%2B1:s3cr%3At%2F%3D");
    assert!(!format!("{tokens:?}").contains("s3cr"), "Debug never shows the secret");
}

#[tokio::test]
async fn post_authentication_sends_the_client_in_the_body() {
    let server = ScriptedServer::start(vec![token("t", 3600)]).await;
    let tokens = source(&server, "secret")
        .authentication(ClientAuthentication::Post)
        .scopes(Vec::<String>::new())
        .build()
        .unwrap();
    tokens.token().await.unwrap();
    let request = &server.requests()[0];
    assert!(!request.headers.contains_key("authorization"));
    assert_eq!(
        request.raw_body,
        "grant_type=client_credentials&client_id=client%20id%2B1&client_secret=secret",
        "no scope asks for all the client's scopes"
    );
}

#[tokio::test]
async fn many_callers_share_one_request_and_expiry_fetches_again() {
    let server = ScriptedServer::start(vec![token("one", 3600), token("two", 3600)]).await;
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let tokens = source(&server, "secret").clock(clock.clone()).build().unwrap();
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(
                async move { tokens.token().await.map(|t| t.access_token.secret().to_owned()) },
            )
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), "one");
    }
    assert_eq!(tokens.requests(), 1, "one request for sixteen callers");
    // Within the margin (60 s) of expiry the token is replaced.
    clock.advance(Duration::from_secs(3600 - 30));
    assert_eq!(tokens.token().await.unwrap().access_token.secret(), "two");
    assert_eq!(tokens.requests(), 2);
}

#[tokio::test]
async fn a_forced_refresh_fetches_once_and_authorize_adds_the_bearer_header() {
    let server = ScriptedServer::start(vec![token("one", 3600), token("two", 3600)]).await;
    let tokens = source(&server, "secret").build().unwrap();
    tokens.token().await.unwrap();
    let (a, b) = tokio::join!(tokens.refresh(), tokens.refresh());
    assert_eq!(a.unwrap().access_token.secret(), "two");
    assert_eq!(b.unwrap().access_token.secret(), "two", "the second caller shares the refresh");
    assert_eq!(tokens.requests(), 2);
    let request =
        tokens.authorize(reqwest::Client::new().get("http://127.0.0.1:1/")).await.unwrap();
    let request = request.build().unwrap();
    let header = &request.headers()[reqwest::header::AUTHORIZATION];
    assert_eq!(header.to_str().unwrap(), "Bearer two");
    assert!(header.is_sensitive());
}

#[tokio::test]
async fn refusals_outages_and_garbage_are_told_apart() {
    let server = ScriptedServer::start(vec![
        Action::raw(400, &[("Content-Type", "application/json")], r#"{"error":"invalid_scope"}"#),
        Action::raw(
            401,
            &[("Content-Type", "application/json")],
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        ),
        Action::raw(503, &[], "down"),
        Action::raw(403, &[("Content-Type", "text/html")], "<html>proxy</html>"),
        Action::ok(json!({"token_type": "Bearer"})),
        Action::ok(json!({"access_token": "t", "token_type": "mac", "expires_in": 60})),
    ])
    .await;
    let tokens = source(&server, "secret").build().unwrap();
    let service = |error: CognitoError| match error {
        CognitoError::Service(failure) => (failure.name().to_owned(), failure.status()),
        other => panic!("expected an answer from the endpoint, got {other:?}"),
    };
    assert_eq!(service(tokens.token().await.unwrap_err()), ("invalid_scope".into(), 400));
    let refused = tokens.token().await.unwrap_err();
    assert!(!refused.is_transient(), "a refusal is not worth retrying");
    assert_eq!(service(refused), ("invalid_client".into(), 401));
    let down = tokens.token().await.unwrap_err();
    assert!(down.is_transient(), "503 is the endpoint being unavailable: {down:?}");
    assert!(
        matches!(tokens.token().await.unwrap_err(), CognitoError::Protocol(_)),
        "a proxy's page"
    );
    assert!(matches!(tokens.token().await.unwrap_err(), CognitoError::Protocol(_)), "no token");
    assert!(matches!(tokens.token().await.unwrap_err(), CognitoError::Protocol(_)), "not Bearer");

    let unreachable = ClientCredentials::builder(closed_port_url().await, "c", "s")
        .http_settings(settings())
        .build()
        .unwrap();
    assert!(matches!(unreachable.token().await.unwrap_err(), CognitoError::Network(_)));
    assert!(ClientCredentials::builder("not a url", "c", "s").build().is_err());
}
