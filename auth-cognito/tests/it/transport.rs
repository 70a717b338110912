//! Error classification and retries, against servers that misbehave on purpose: a closed
//! port, a reset connection, a server that never answers, Cognito error answers, proxies'
//! non-Cognito answers, a plain-text server behind an https:// URL.

use std::sync::Arc;
use std::time::Duration;

use auth_cognito::{CognitoError, CognitoUserPool, NetworkErrorKind, RetryPolicy};
use auth_core::{
    IdentityProvider, ProviderError, SignInFlow, SignInOutcome, SignInRequest, UserPoolSession,
    UserState,
};
use serde_json::json;

use crate::support::{Action, ScriptedServer, auth_result, closed_port_url, waiting_auth_client};

fn pool(endpoint: &str) -> CognitoUserPool {
    CognitoUserPool::builder("us-east-1_Transport1", "client1")
        .endpoint(endpoint)
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_millis(600))
        .retry_policy(RetryPolicy::new(3, Duration::from_millis(5), Duration::from_millis(20)))
        .build()
        .unwrap()
}

fn password_request() -> SignInRequest {
    SignInRequest::password("alice", "Passw0rd!").with_flow(SignInFlow::Password)
}

/// A session as a sign-in against `server` would produce it.
async fn session(server: &ScriptedServer, pool: &CognitoUserPool) -> UserPoolSession {
    server.push([Action::ok(auth_result("alice", true))]);
    match IdentityProvider::sign_in(pool, &password_request()).await.unwrap() {
        SignInOutcome::SignedIn(session) => session,
        _ => panic!("expected tokens"),
    }
}

/// A scripted server, a pool that calls it and a session it signed in: where the tests of
/// refresh failures start.
async fn scripted_session() -> (ScriptedServer, CognitoUserPool, UserPoolSession) {
    let server = ScriptedServer::start(vec![]).await;
    let pool = pool(&server.url);
    let session = session(&server, &pool).await;
    (server, pool, session)
}

fn network_kind(error: &ProviderError) -> NetworkErrorKind {
    let ProviderError::Network(network) = error else { panic!("not a network error: {error:?}") };
    std::error::Error::source(network)
        .and_then(|source| source.downcast_ref::<auth_cognito::NetworkFailure>())
        .map(auth_cognito::NetworkFailure::kind)
        .expect("the network error carries its NetworkFailure")
}

#[tokio::test]
async fn closed_port_is_a_connect_failure_and_is_retried_even_for_sign_in() {
    let url = closed_port_url().await;
    let pool = pool(&url);
    let error = IdentityProvider::sign_in(&pool, &password_request()).await.unwrap_err();
    assert!(error.is_network(), "{error:?}");
    assert_eq!(network_kind(&error), NetworkErrorKind::Connect);
    let error = pool.forgot_password("alice").await.unwrap_err();
    let CognitoError::Network(failure) = &error else { panic!("{error:?}") };
    assert_eq!(failure.kind(), NetworkErrorKind::Connect);
    assert!(failure.request_not_sent());
    assert_eq!(failure.operation(), "ForgotPassword");
    assert!(error.is_transient());
}

#[tokio::test]
async fn reset_before_the_answer_is_network_and_retried_only_when_idempotent() {
    let (server, pool, session) = scripted_session().await;
    let before = server.requests().len();

    // A password sign-in may have counted as an attempt: not repeated.
    server.push([Action::Reset]);
    let error = IdentityProvider::sign_in(&pool, &password_request()).await.unwrap_err();
    assert!(error.is_network(), "{error:?}");
    assert_eq!(network_kind(&error), NetworkErrorKind::ConnectionClosed);
    assert_eq!(server.requests().len(), before + 1, "InitiateAuth with a password is not retried");

    // A refresh is idempotent: retried, and the third attempt succeeds.
    let before = server.requests().len();
    server.push([Action::Reset, Action::Reset, Action::ok(auth_result("alice", false))]);
    let tokens = pool.refresh(&session).await.expect("the refresh succeeds on the third attempt");
    assert!(tokens.refresh_token().is_none(), "no rotation: the client keeps the old one");
    assert_eq!(server.requests().len(), before + 3);
    assert!(server.requests()[before..].iter().all(|r| r.operation() == "InitiateAuth"));

    // Three resets exhaust the policy: a network error, never a rejection.
    let before = server.requests().len();
    server.push([Action::Reset, Action::Reset, Action::Reset]);
    let error = pool.refresh(&session).await.unwrap_err();
    assert!(error.is_network(), "a refresh that failed for network reasons is Network: {error:?}");
    assert_eq!(server.requests().len(), before + 3);
}

#[tokio::test]
async fn silence_is_a_timeout() {
    let (server, pool, session) = scripted_session().await;
    server.push([Action::Hang, Action::Hang, Action::Hang]);
    let before = server.requests().len();
    let error = pool.refresh(&session).await.unwrap_err();
    assert_eq!(network_kind(&error), NetworkErrorKind::Timeout);
    assert_eq!(server.requests().len(), before + 3, "idempotent: retried after timeouts");

    server.push([Action::Hang]);
    let before = server.requests().len();
    let error = pool.confirm_sign_up("alice", &"123456".into()).await.unwrap_err();
    let CognitoError::Network(failure) = &error else { panic!("{error:?}") };
    assert_eq!(failure.kind(), NetworkErrorKind::Timeout);
    assert!(!failure.request_not_sent());
    assert_eq!(server.requests().len(), before + 1, "a one-time code is not sent twice");
}

#[tokio::test]
async fn cognito_refusals_are_rejections_with_name_and_message() {
    let server = ScriptedServer::start(vec![Action::error(
        400,
        "NotAuthorizedException",
        "Incorrect username or password.",
    )])
    .await;
    let pool = pool(&server.url);
    let error = IdentityProvider::sign_in(&pool, &password_request()).await.unwrap_err();
    let ProviderError::Rejected(service) = &error else { panic!("{error:?}") };
    assert_eq!(service.code(), "NotAuthorizedException");
    assert_eq!(service.message(), "Incorrect username or password.");
    assert_eq!(server.requests().len(), 1, "a refusal is never retried");

    // The name may come from the header, and be decorated.
    server.push([Action::raw(
        400,
        &[("x-amzn-ErrorType", "UserNotFoundException:http://internal.amazon.com/coral/")],
        r#"{"Message":"User does not exist."}"#,
    )]);
    let error = pool.forgot_password("ghost").await.unwrap_err();
    let CognitoError::Service(failure) = &error else { panic!("{error:?}") };
    assert_eq!(failure.name(), "UserNotFoundException");
    assert_eq!(failure.message(), "User does not exist.");
    assert_eq!(failure.status(), 400);
    assert_eq!(failure.request_id(), Some("test-request"));
}

#[tokio::test]
async fn throttling_is_unavailable_and_retried_only_when_idempotent() {
    let (server, pool, session) = scripted_session().await;

    let before = server.requests().len();
    server.push([
        Action::error(400, "TooManyRequestsException", "Rate exceeded"),
        Action::ok(auth_result("alice", false)),
    ]);
    pool.refresh(&session).await.expect("a throttled refresh is retried");
    assert_eq!(server.requests().len(), before + 2);

    let before = server.requests().len();
    server.push([Action::error(400, "TooManyRequestsException", "Rate exceeded")]);
    let error = IdentityProvider::sign_in(&pool, &password_request()).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Unavailable(s) if s.code() == "TooManyRequestsException")
    );
    assert!(error.is_transient() && !error.is_rejected());
    assert_eq!(server.requests().len(), before + 1);

    let before = server.requests().len();
    server.push(std::iter::repeat_n(Action::error(400, "ThrottlingException", "slow down"), 3));
    let error = pool.refresh(&session).await.unwrap_err();
    assert!(matches!(&error, ProviderError::Unavailable(_)), "{error:?}");
    assert_eq!(server.requests().len(), before + 3);
}

#[tokio::test]
async fn server_errors_are_unavailable_and_not_retried() {
    let (server, pool, session) = scripted_session().await;
    for action in [
        Action::error(500, "InternalErrorException", "oops"),
        Action::raw(502, &[("Content-Type", "text/html")], "<html>Bad Gateway</html>"),
        Action::raw(503, &[], ""),
    ] {
        let before = server.requests().len();
        server.push([action]);
        let error = pool.refresh(&session).await.unwrap_err();
        assert!(matches!(error, ProviderError::Unavailable(_)), "{error:?}");
        assert_eq!(server.requests().len(), before + 1);
    }
}

#[tokio::test]
async fn answers_that_are_not_cognito_are_protocol_errors() {
    let (server, pool, session) = scripted_session().await;
    for action in [
        // A proxy's page: not Cognito refusing, so a refresh must not count as rejected.
        Action::raw(403, &[("Content-Type", "text/html")], "<html>Forbidden</html>"),
        Action::raw(404, &[], "not found"),
        Action::raw(302, &[("Location", "http://captive.portal/")], ""),
        // Success with a body that is not the documented JSON.
        Action::raw(200, &[], "<html>Welcome to the hotel wifi</html>"),
        Action::ok(json!({"AuthenticationResult": {"AccessToken": 5}})),
        Action::ok(json!({"AuthenticationResult": {"AccessToken": "not-a-jwt", "IdToken": "x"}})),
        Action::ok(json!({})),
    ] {
        server.push([action.clone()]);
        let error = pool.refresh(&session).await.unwrap_err();
        assert!(matches!(error, ProviderError::Protocol(_)), "{action:?}: {error:?}");
        assert!(!error.is_rejected());
    }
}

#[tokio::test]
async fn a_plain_server_behind_https_is_a_tls_failure() {
    // A server that answers plain HTTP to whatever it gets, e.g. a TLS ClientHello.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt as _;
            let _ =
                stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        }
    });
    let error = pool(&url).forgot_password("alice").await.unwrap_err();
    let CognitoError::Network(failure) = &error else { panic!("{error:?}") };
    assert_eq!(failure.kind(), NetworkErrorKind::Tls, "{failure}");
    assert!(failure.request_not_sent());
}

#[tokio::test]
async fn unresolvable_host_is_a_dns_failure() {
    // `.invalid` never resolves (RFC 6761). The connect timeout is long so that a machine
    // whose resolver is unreachable still ends with the resolver's error, not a timeout.
    let pool = CognitoUserPool::builder("us-east-1_Transport1", "client1")
        .endpoint("http://cognito-idp.does-not-exist.invalid/")
        .connect_timeout(Duration::from_secs(60))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = pool.forgot_password("a").await;
    let error = error.unwrap_err();
    let CognitoError::Network(failure) = &error else { panic!("{error:?}") };
    assert!(
        matches!(failure.kind(), NetworkErrorKind::Dns),
        "expected a DNS failure, got {:?}: {failure}",
        failure.kind()
    );
    assert!(failure.request_not_sent());
}

/// AuthClient's offline rules on top of the classification: a refresh Cognito rejects
/// moves the user to SignedOutUserPoolsTokensInvalid; a refresh that fails for network
/// reasons leaves them signed in and deletes nothing.
#[tokio::test]
async fn auth_client_reacts_to_rejected_and_failed_refreshes() {
    let server = ScriptedServer::start(vec![]).await;
    let pool = Arc::new(pool(&server.url));
    let clock = Arc::new(auth_core::ManualClock::new(std::time::SystemTime::now()));
    let client = waiting_auth_client(pool.clone(), clock.clone(), Duration::from_millis(300)).await;
    server.push([Action::ok(auth_result("alice", true))]);
    client.sign_in(password_request()).await.unwrap();
    assert!(client.is_signed_in());
    // Past expiry: the next request refreshes.
    clock.advance(Duration::from_secs(3600));

    server.push([Action::Reset, Action::Reset, Action::Reset]);
    let error = client.tokens().await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert_eq!(client.username().as_deref(), Some("alice"), "nothing was deleted");

    server.push([Action::error(400, "NotAuthorizedException", "Refresh Token has expired")]);
    let error = client.tokens().await.unwrap_err();
    assert_eq!(client.current_user_state().state, UserState::SignedOutUserPoolsTokensInvalid);
    assert!(matches!(error, auth_core::AuthError::SignInWaitTimedOut), "{error:?}");
}
