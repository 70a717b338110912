//! The offline-aware HTTP layer over the mock Cognito: bearer tokens, the retry after a
//! forced refresh on a 401, blocking while offline with invalid tokens, the deadline.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_cognito::layer::{AuthHttpError, AuthLayer};
use auth_cognito::{CognitoAuth, JwtVerifier, TokenUse};
use auth_core::{AuthClient, SignInRequest, UserState};
use auth_mock_server::Fault;
use bytes::Bytes;
use tower::{Service as _, ServiceBuilder, ServiceExt as _};

use crate::support::{MockPool, probe_quickly};

const PASSWORD: &str = MockPool::PASSWORD;
const DEADLINE: Duration = Duration::from_secs(60);

/// An `AuthClient` signed in as `alice`, with the default connectivity probing quickly.
async fn signed_in_client(env: &MockPool) -> AuthClient {
    let client = CognitoAuth::builder(env.user_pool())
        .expiry_margin(Duration::ZERO)
        .tune_connectivity(probe_quickly)
        .build()
        .unwrap();
    client.initialize().await.unwrap();
    client.sign_in(SignInRequest::password("alice", PASSWORD)).await.unwrap();
    client
}

fn verifier(env: &MockPool) -> JwtVerifier {
    JwtVerifier::builder(&env.pool_id)
        .issuer(env.server.issuer(&env.pool_id).unwrap())
        .jwks_url(format!("{}/{}/.well-known/jwks.json", env.server.url(), env.pool_id))
        .client_id(&env.client_id)
        .build()
        .unwrap()
}

/// What the protected API saw: the verdict on each request's bearer token.
type Seen = Arc<Mutex<Vec<bool>>>;

/// A protected API as API Gateway would run it: the access token is verified; the first
/// `reject_first` requests are answered 401 whatever they carry.
fn api(
    verifier: JwtVerifier,
    reject_first: usize,
) -> (
    Seen,
    impl Clone
    + tower::Service<
        http::Request<Bytes>,
        Response = http::Response<Bytes>,
        Error = Infallible,
        Future = impl Send,
    > + Send
    + 'static,
) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let service = tower::service_fn(move |request: http::Request<Bytes>| {
        let verifier = verifier.clone();
        let log = Arc::clone(&log);
        async move {
            let token = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned);
            let valid = match token {
                Some(token) => verifier.verify(&token, TokenUse::Access).await.is_ok(),
                None => false,
            };
            let count = {
                let mut log = log.lock().unwrap();
                log.push(valid);
                log.len()
            };
            let status = if valid && count > reject_first { 200 } else { 401 };
            Ok::<_, Infallible>(
                http::Response::builder().status(status).body(Bytes::new()).unwrap(),
            )
        }
    });
    (seen, service)
}

fn get() -> http::Request<Bytes> {
    http::Request::get("http://api.invalid/orders").body(Bytes::new()).unwrap()
}

#[tokio::test]
async fn requests_carry_a_valid_access_token_and_a_401_is_retried_once_after_a_refresh() {
    let env = MockPool::start("layer").await;
    let client = signed_in_client(&env).await;
    let (seen, service) = api(verifier(&env), 0);
    let mut http = ServiceBuilder::new()
        .layer(AuthLayer::bearer_access_token(client.clone()))
        .service(service);
    let response = http.ready().await.unwrap().call(get()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(*seen.lock().unwrap(), [true]);

    let refreshes = env.server.request_count("InitiateAuth:REFRESH_TOKEN_AUTH");
    let (seen, service) = api(verifier(&env), 1);
    let mut http = ServiceBuilder::new()
        .layer(AuthLayer::bearer_access_token(client.clone()))
        .service(service);
    let response = http.ready().await.unwrap().call(get()).await.unwrap();
    assert_eq!(response.status(), 200, "the retry with refreshed tokens succeeds");
    assert_eq!(*seen.lock().unwrap(), [true, true], "one retry, both with valid tokens");
    assert_eq!(env.server.request_count("InitiateAuth:REFRESH_TOKEN_AUTH"), refreshes + 1);

    // A service that keeps answering 401 gets exactly one retry.
    let (seen, service) = api(verifier(&env), usize::MAX);
    let mut http =
        ServiceBuilder::new().layer(AuthLayer::bearer_access_token(client)).service(service);
    let response = http.ready().await.unwrap().call(get()).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn offline_with_expired_tokens_a_request_blocks_then_completes_and_the_deadline_holds() {
    let env = MockPool::start("layer").await;
    env.expire_tokens_after(2);
    let client = signed_in_client(&env).await;
    let expires_at = client.tokens().await.unwrap().expires_at();
    env.server.add_fault(Fault::drop_connection("*"));
    let wait = expires_at.duration_since(std::time::SystemTime::now()).unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(500)).await;

    // With a deadline: it gives up waiting.
    let (_, service) = api(verifier(&env), 0);
    let mut hasty = ServiceBuilder::new()
        .layer(AuthLayer::bearer_access_token(client.clone()).deadline(Duration::from_millis(500)))
        .service(service);
    let error = hasty.ready().await.unwrap().call(get()).await.unwrap_err();
    assert!(matches!(error, AuthHttpError::DeadlineExceeded), "{error:?}");

    // Without: it blocks, announced, and completes by itself once the outage ends.
    let (seen, service) = api(verifier(&env), 0);
    let mut http = ServiceBuilder::new()
        .layer(AuthLayer::bearer_access_token(client.clone()))
        .service(service);
    let call = tokio::spawn(async move { http.ready().await.unwrap().call(get()).await });
    let started = tokio::time::Instant::now();
    while client.requests_waiting_for_sign_in() == 0 {
        assert!(started.elapsed() < DEADLINE, "the request never blocked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(client.current_user_state().state, UserState::SignedOutUserPoolsTokensInvalid);
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent with expired tokens");
    env.server.clear_faults();
    let response = tokio::time::timeout(DEADLINE, call).await.unwrap().unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(*seen.lock().unwrap(), [true], "sent once, with refreshed tokens");
}
