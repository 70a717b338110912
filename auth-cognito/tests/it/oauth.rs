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

/// Cognito's token endpoint lists no `scope`: the granted scopes are then those asked for
/// (RFC 6749 section 5.1), or with none asked for, the access token's `scope` claim.
#[tokio::test]
async fn without_a_listed_scope_the_granted_scopes_are_the_requested_or_the_tokens() {
    let access = crate::support::fake_jwt(json!({"scope": "orders/read orders/write"}));
    let unlisted =
        || Action::ok(json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600}));
    let server = ScriptedServer::start(vec![unlisted(), unlisted()]).await;
    let requested = source(&server, "secret").scopes(["orders/read"]).build().unwrap();
    assert_eq!(requested.token().await.unwrap().scopes, ["orders/read"]);
    let all = source(&server, "secret").scopes(Vec::<String>::new()).build().unwrap();
    assert_eq!(all.token().await.unwrap().scopes, ["orders/read", "orders/write"]);
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

/// The hosted-UI sign-in with the test playing the browser and the authorization server:
/// the browser callback parses the authorization URL and sends the "browser" back to the
/// loopback redirect; the token endpoint is scripted with tokens signed for the nonce sent.
mod hosted_ui {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use auth_cognito::JwtVerifier;
    use auth_cognito::oauth::{Browser, HostedUi, HostedUiError};
    use auth_core::{
        AuthClient, AuthError, ProviderError, ServiceErrorKind, SignInRequest, SignInResult,
        SignOutOptions, UserState,
    };
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};
    use sha2::{Digest as _, Sha256};

    use crate::support::{Action, RsaKey, ScriptedServer};

    const POOL: &str = "us-east-1_Hosted";
    const CLIENT: &str = "hostedclient";
    const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Hosted";

    /// How the scripted user and authorization server behave.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Play {
        SignIn,
        WrongState,
        WrongNonce,
        Deny,
        Vanish,
    }

    fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    fn tokens(nonce: &str, refresh: bool) -> Action {
        let (key, _) = RsaKey::pair();
        let id = key.token(&json!({
            "sub": "sub-ada", "aud": CLIENT, "iss": ISSUER, "token_use": "id", "nonce": nonce,
            "cognito:username": "ada", "email": "ada@example.com",
            "exp": now() + 3600, "iat": now(), "auth_time": now(),
        }));
        let access = key.token(&json!({
            "sub": "sub-ada", "client_id": CLIENT, "iss": ISSUER, "token_use": "access",
            "scope": "openid email", "username": "ada", "exp": now() + 3600, "iat": now(),
        }));
        let mut body = json!({
            "access_token": access, "id_token": id, "token_type": "Bearer", "expires_in": 3600,
        });
        if refresh {
            body["refresh_token"] = json!("refresh-1");
        }
        Action::ok(body)
    }

    struct World {
        server: ScriptedServer,
        authorize: Arc<Mutex<Option<BTreeMap<String, String>>>>,
    }

    fn hosted(play: Play, timeout: Duration) -> (HostedUi, World) {
        let runtime = tokio::runtime::Handle::current();
        let server = runtime.block_on(ScriptedServer::start(vec![]));
        let authorize = Arc::new(Mutex::new(None));
        let (script, seen) = (server.clone(), Arc::clone(&authorize));
        let browser = Browser::Manual(Arc::new(move |url: &str| {
            let url = reqwest::Url::parse(url).unwrap();
            assert_eq!(url.path(), "/oauth2/authorize");
            let params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            *seen.lock().unwrap() = Some(params.clone());
            let nonce = if play == Play::WrongNonce { "another" } else { &params["nonce"] };
            script.push([tokens(nonce, true)]);
            let state = if play == Play::WrongState {
                "forged".to_owned()
            } else {
                params["state"].clone()
            };
            let back = match play {
                Play::Vanish => return,
                Play::Deny => format!(
                    "{}?error=access_denied&error_description=User+cancelled&state={state}",
                    params["redirect_uri"]
                ),
                _ => format!("{}?code=the-code&state={state}", params["redirect_uri"]),
            };
            tokio::spawn(async move {
                let page = reqwest::get(&back).await.unwrap();
                assert_eq!(page.status(), 200);
                assert!(page.text().await.unwrap().contains("close this tab"));
            });
        }));
        let (key, _) = RsaKey::pair();
        let verifier = JwtVerifier::builder(POOL)
            .client_id(CLIENT)
            .jwks_json(json!({"keys": [key.jwk()]}).to_string())
            .build()
            .unwrap();
        let ui = HostedUi::builder(&server.url, POOL, CLIENT)
            .client_secret("hosted-secret")
            .scopes(["openid", "email"])
            .identity_provider("Google")
            .browser(browser)
            .timeout(timeout)
            .verifier(verifier)
            .http_client(
                reqwest::Client::builder()
                    .user_agent("the-app's-own-client")
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        (ui, World { server, authorize })
    }

    fn form(body: &str) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pkce_sign_in_through_auth_client_then_refresh_and_sign_out() {
        let (ui, world) =
            tokio::task::block_in_place(|| hosted(Play::SignIn, Duration::from_secs(10)));
        let client = AuthClient::builder().identity_provider(Arc::new(ui)).build();
        client.initialize().await.unwrap();
        let result = client.sign_in(SignInRequest::browser()).await.unwrap();
        assert!(matches!(result, SignInResult::Done));
        assert_eq!(client.current_user_state().state, UserState::SignedIn);
        assert_eq!(client.username().as_deref(), Some("ada"));

        let authorize = world.authorize.lock().unwrap().clone().unwrap();
        assert_eq!(authorize["response_type"], "code");
        assert_eq!(authorize["client_id"], CLIENT);
        assert_eq!(authorize["scope"], "openid email");
        assert_eq!(authorize["code_challenge_method"], "S256");
        assert_eq!(authorize["identity_provider"], "Google");
        assert!(authorize["redirect_uri"].starts_with("http://localhost:"));
        assert!(authorize["redirect_uri"].ends_with("/callback"));
        let exchange = &world.server.requests()[0];
        assert_eq!(exchange.path, "/oauth2/token");
        let sent = form(&exchange.raw_body);
        assert_eq!(sent["grant_type"], "authorization_code");
        assert_eq!(sent["code"], "the-code");
        assert_eq!(sent["redirect_uri"], authorize["redirect_uri"]);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(sent["code_verifier"].as_bytes()));
        assert_eq!(challenge, authorize["code_challenge"], "the verifier matches the challenge");
        assert!(exchange.headers["authorization"].starts_with("Basic "));
        assert_eq!(
            exchange.headers["user-agent"], "the-app's-own-client",
            "the app's client sends"
        );

        // Refresh through the token endpoint; the refresh token is kept when none comes back.
        let nonce = authorize["nonce"].clone();
        world.server.push([tokens(&nonce, false)]);
        client.refresh_tokens().await.unwrap();
        let refresh = form(&world.server.requests()[1].raw_body);
        assert_eq!(refresh["grant_type"], "refresh_token");
        assert_eq!(refresh["refresh_token"], "refresh-1");

        // Sign-out revokes the refresh token.
        world.server.push([Action::ok(Value::Null)]);
        client.sign_out(SignOutOptions::invalidate_tokens()).await.unwrap();
        let revoke = &world.server.requests()[2];
        assert_eq!(revoke.path, "/oauth2/revoke");
        assert_eq!(form(&revoke.raw_body)["token"], "refresh-1");
        assert_eq!(client.current_user_state().state, UserState::SignedOut);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn state_and_nonce_mismatches_denial_and_timeout_are_typed() {
        for (play, expected) in [
            (Play::WrongState, "state"),
            (Play::WrongNonce, "nonce"),
            (Play::Deny, "access_denied"),
            (Play::Vanish, "timeout"),
        ] {
            let (ui, world) =
                tokio::task::block_in_place(|| hosted(play, Duration::from_millis(500)));
            let error = ui.authorize().await.unwrap_err();
            match (expected, &error) {
                ("state", HostedUiError::StateMismatch)
                | ("nonce", HostedUiError::NonceMismatch)
                | ("timeout", HostedUiError::TimedOut(_)) => {}
                ("access_denied", HostedUiError::AccessDenied(Some(description))) => {
                    assert_eq!(description, "User cancelled");
                }
                _ => panic!("{expected}: got {error:?}"),
            }
            if play == Play::WrongState || play == Play::Deny {
                assert!(world.server.requests().is_empty(), "no code exchange after {expected}");
            }
        }
        // Through AuthClient the refusal keeps its kind and nobody is signed in.
        let (ui, _world) =
            tokio::task::block_in_place(|| hosted(Play::Deny, Duration::from_secs(5)));
        let client = AuthClient::builder().identity_provider(Arc::new(ui)).build();
        client.initialize().await.unwrap();
        match client.sign_in(SignInRequest::browser()).await.unwrap_err() {
            AuthError::Provider(ProviderError::Rejected(service)) => {
                assert_eq!(service.kind(), &ServiceErrorKind::AccessDenied);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(client.current_user_state().state, UserState::SignedOut);
        // A password sign-in is not what a hosted UI does.
        let password = client.sign_in(SignInRequest::password("ada", "pw")).await.unwrap_err();
        assert!(
            matches!(password, AuthError::Provider(ProviderError::Unsupported(_))),
            "{password:?}"
        );
    }
}
