//! The identity-pool client against a scripted server: what it sends, how it merges a
//! guest identity, how it classifies and retries failures, and how `AuthClient` reacts to
//! a refused and to an unreachable identity pool.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_cognito::{CognitoError, CognitoIdentityPool, LoginProvider, RetryPolicy};
use auth_core::{
    AuthClient, AuthError, CredentialsProvider, IdentityId, Logins, ManualClock, ProviderError,
    ProviderToken, UserState,
};
use serde_json::{Value, json};

use crate::support::{Action, ScriptedServer, closed_port_url, fake_jwt, now_secs};

const POOL_ID: &str = "us-east-1:00000000-0000-4000-8000-000000000000";
const GUEST: &str = "us-east-1:11111111-1111-4111-8111-111111111111";
const USER: &str = "us-east-1:22222222-2222-4222-8222-222222222222";

fn pool(endpoint: &str) -> CognitoIdentityPool {
    CognitoIdentityPool::builder(POOL_ID)
        .endpoint(endpoint)
        .request_timeout(Duration::from_millis(600))
        .retry_policy(RetryPolicy::new(3, Duration::from_millis(5), Duration::from_millis(20)))
        .build()
        .unwrap()
}

fn identity(id: &str) -> Action {
    Action::ok(json!({ "IdentityId": id }))
}

/// A GetCredentialsForIdentity answer for `id`, valid for `seconds` from now.
fn answer(id: &str, seconds: u64) -> Action {
    Action::ok(json!({
        "IdentityId": id,
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLEKEY",
            "SecretKey": "secret-access-key-value",
            "SessionToken": "session-token-value",
            "Expiration": now_secs() + seconds,
        }
    }))
}

fn google_logins(token: &str) -> Logins {
    LoginProvider::google().logins(token)
}

fn body(server: &ScriptedServer, index: usize) -> Value {
    server.requests()[index].body.clone()
}

fn operations(server: &ScriptedServer) -> Vec<String> {
    server.requests().iter().map(|r| r.operation().to_owned()).collect()
}

#[tokio::test]
async fn a_guest_gets_an_identity_then_credentials() {
    let server = ScriptedServer::start(vec![identity(GUEST), answer(GUEST, 3600)]).await;
    let pool = pool(&server.url);
    let guest = pool.identity_id(&Logins::new(), None).await.unwrap();
    assert_eq!(guest.as_str(), GUEST);
    let credentials = pool.credentials(&guest, &Logins::new()).await.unwrap();
    assert_eq!(credentials.access_key_id, "ASIAEXAMPLEKEY");
    assert_eq!(credentials.secret_access_key.secret(), "secret-access-key-value");
    assert_eq!(credentials.session_token.as_ref().unwrap().secret(), "session-token-value");
    let expires = credentials.expiration.unwrap().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(expires >= now_secs() + 3590, "the expiry is the answer's: {expires}");

    let requests = server.requests();
    assert_eq!(operations(&server), ["GetId", "GetCredentialsForIdentity"]);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/");
        assert_eq!(request.headers["content-type"], "application/x-amz-json-1.1");
        assert!(request.headers["x-amz-target"].starts_with("AWSCognitoIdentityService."));
        assert!(!request.headers.contains_key("authorization"), "unauthenticated operations");
    }
    // A guest sends no Logins at all, and nothing it was not configured with.
    assert_eq!(requests[0].body, json!({ "IdentityPoolId": POOL_ID }));
    assert_eq!(requests[1].body, json!({ "IdentityId": GUEST }));
}

#[tokio::test]
async fn logins_account_and_custom_role_are_sent() {
    let server = ScriptedServer::start(vec![identity(USER), answer(USER, 3600)]).await;
    let role = "arn:aws:iam::123456789012:role/Uploader";
    let pool = CognitoIdentityPool::builder(POOL_ID)
        .endpoint(&server.url)
        .account_id("123456789012")
        .custom_role_arn(role)
        .build()
        .unwrap();
    let mut logins = google_logins("google-id-token");
    logins.insert(LoginProvider::facebook().key().to_owned(), ProviderToken::new("fb-access"));
    let id = pool.get_id(&logins).await.unwrap();
    pool.get_credentials_for_identity(&id, &logins).await.unwrap();
    assert_eq!(
        body(&server, 0),
        json!({
            "AccountId": "123456789012",
            "IdentityPoolId": POOL_ID,
            "Logins": {"accounts.google.com": "google-id-token", "graph.facebook.com": "fb-access"},
        })
    );
    assert_eq!(
        body(&server, 1),
        json!({
            "IdentityId": USER,
            "Logins": {"accounts.google.com": "google-id-token", "graph.facebook.com": "fb-access"},
            "CustomRoleArn": role,
        })
    );
}

#[tokio::test]
async fn a_guest_identity_is_merged_in_one_call_and_the_answered_id_wins() {
    // Cognito answers the merge with the user's existing identity.
    let server = ScriptedServer::start(vec![answer(USER, 3600)]).await;
    let pool = pool(&server.url);
    let logins = google_logins("google-id-token");
    let merged = pool.identity_id(&logins, Some(&IdentityId::new(GUEST))).await.unwrap();
    assert_eq!(merged.as_str(), USER);
    assert_eq!(operations(&server), ["GetCredentialsForIdentity"]);
    assert_eq!(
        body(&server, 0),
        json!({"IdentityId": GUEST, "Logins": {"accounts.google.com": "google-id-token"}})
    );

    // The credentials of the merge are handed to the call that follows: no second request.
    let credentials = pool.credentials(&merged, &logins).await.unwrap();
    assert_eq!(credentials.access_key_id, "ASIAEXAMPLEKEY");
    assert_eq!(server.requests().len(), 1);

    // Handed over once only; other logins never get them.
    server.push([answer(USER, 3600)]);
    pool.credentials(&merged, &logins).await.unwrap();
    assert_eq!(server.requests().len(), 2);
    server.push([answer(USER, 3600), answer(USER, 3600)]);
    pool.identity_id(&logins, Some(&merged)).await.unwrap();
    pool.credentials(&merged, &google_logins("another-token")).await.unwrap();
    assert_eq!(server.requests().len(), 4, "different logins: a call of their own");
}

#[tokio::test]
async fn a_stale_identity_is_replaced_through_get_id() {
    for refusal in
        ["ResourceNotFoundException", "NotAuthorizedException", "ResourceConflictException"]
    {
        let server = ScriptedServer::start(vec![
            Action::error(400, refusal, "the identity cannot be used"),
            identity(USER),
        ])
        .await;
        let pool = pool(&server.url);
        let logins = google_logins("google-id-token");
        let id = pool.identity_id(&logins, Some(&IdentityId::new(GUEST))).await.unwrap();
        assert_eq!(id.as_str(), USER, "{refusal}");
        assert_eq!(operations(&server), ["GetCredentialsForIdentity", "GetId"], "{refusal}");
    }

    // A forged token fails GetId as well: the refusal reaches the caller.
    let server = ScriptedServer::start(vec![
        Action::error(400, "NotAuthorizedException", "Invalid login token."),
        Action::error(400, "NotAuthorizedException", "Invalid login token."),
    ])
    .await;
    let error = pool(&server.url)
        .identity_id(&google_logins("forged"), Some(&IdentityId::new(GUEST)))
        .await
        .unwrap_err();
    assert!(matches!(&error, ProviderError::Rejected(s) if s.code() == "NotAuthorizedException"));
}

#[tokio::test]
async fn refusals_are_rejections_and_are_not_retried() {
    for name in [
        "NotAuthorizedException",
        "InvalidIdentityPoolConfigurationException",
        "ResourceNotFoundException",
        "InvalidParameterException",
        "LimitExceededException",
    ] {
        let server = ScriptedServer::start(vec![Action::error(400, name, "no")]).await;
        let error = pool(&server.url)
            .credentials(&IdentityId::new(USER), &google_logins("token"))
            .await
            .unwrap_err();
        let ProviderError::Rejected(service) = &error else { panic!("{name}: {error:?}") };
        assert_eq!(service.code(), name);
        assert_eq!(server.requests().len(), 1, "{name} is not retried");
    }
}

#[tokio::test]
async fn throttling_and_dropped_connections_are_retried() {
    let server = ScriptedServer::start(vec![
        Action::error(400, "TooManyRequestsException", "Rate exceeded"),
        Action::Reset,
        identity(GUEST),
        Action::Hang,
        answer(GUEST, 3600),
    ])
    .await;
    let pool = pool(&server.url);
    let id = pool.identity_id(&Logins::new(), None).await.expect("GetId is retried");
    pool.credentials(&id, &Logins::new()).await.expect("GetCredentialsForIdentity is retried");
    assert_eq!(
        operations(&server),
        ["GetId", "GetId", "GetId", "GetCredentialsForIdentity", "GetCredentialsForIdentity"]
    );

    // Exhausted retries: the last failure, classified.
    server.push([Action::Reset, Action::Reset, Action::Reset]);
    let error = pool.credentials(&id, &Logins::new()).await.unwrap_err();
    assert!(error.is_network(), "{error:?}");
    server.push(std::iter::repeat_n(Action::error(400, "TooManyRequestsException", "slow"), 3));
    let error = pool.credentials(&id, &Logins::new()).await.unwrap_err();
    assert!(matches!(error, ProviderError::Unavailable(_)), "{error:?}");

    let error = self::pool(&closed_port_url().await).get_id(&Logins::new()).await.unwrap_err();
    assert!(matches!(error, CognitoError::Network(_)), "{error:?}");
}

#[tokio::test]
async fn server_side_failures_are_unavailable_and_garbage_is_a_protocol_error() {
    let server = ScriptedServer::start(vec![]).await;
    let pool = pool(&server.url);
    let guest = IdentityId::new(GUEST);
    for action in [
        Action::error(500, "InternalErrorException", "oops"),
        Action::error(400, "ExternalServiceException", "Facebook did not answer"),
        Action::raw(503, &[], ""),
    ] {
        let before = server.requests().len();
        server.push([action.clone()]);
        let error = pool.credentials(&guest, &Logins::new()).await.unwrap_err();
        assert!(matches!(error, ProviderError::Unavailable(_)), "{action:?}: {error:?}");
        assert!(!error.is_rejected());
        assert_eq!(server.requests().len(), before + 1, "server errors are not retried");
    }
    for action in [
        Action::raw(200, &[], "<html>captive portal</html>"),
        Action::raw(403, &[("Content-Type", "text/html")], "<html>Forbidden</html>"),
        Action::ok(json!({"IdentityId": GUEST})),
        Action::ok(json!({"IdentityId": GUEST, "Credentials": {"AccessKeyId": "ASIA"}})),
        Action::ok(json!({"IdentityId": "not an id", "Credentials": {}})),
        Action::ok(json!({"IdentityId": GUEST, "Credentials": {
            "AccessKeyId": "ASIA", "SecretKey": "s", "SessionToken": "t", "Expiration": "soon"}})),
    ] {
        server.push([action.clone()]);
        let error = pool.credentials(&guest, &Logins::new()).await.unwrap_err();
        assert!(matches!(error, ProviderError::Protocol(_)), "{action:?}: {error:?}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
    server.push([Action::ok(json!({}))]);
    let error = pool.get_id(&Logins::new()).await.unwrap_err();
    assert!(matches!(error, CognitoError::Protocol(_)), "{error:?}");
}

/// `AuthClient` over a scripted identity pool: a federated user whose token the pool
/// refuses moves to SignedOutFederatedTokensInvalid and waits; one whose pool cannot be
/// reached stays signed in with nothing deleted.
#[tokio::test]
async fn auth_client_reacts_to_refused_and_unreachable_identity_pools() {
    let server = ScriptedServer::start(vec![]).await;
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let client = AuthClient::builder()
        .credentials_provider(Arc::new(pool(&server.url)))
        .clock(clock.clone())
        .sign_in_wait_timeout(Some(Duration::from_millis(300)))
        .build();
    client.initialize().await.unwrap();
    let token = fake_jwt(json!({"iss": "https://accounts.google.com", "sub": "g-1",
        "aud": "app", "iat": now_secs(), "exp": now_secs() + 7200}));

    // The credentials live 10 minutes; the provider token two hours.
    server.push([identity(USER), answer(USER, 600)]);
    let key = LoginProvider::google();
    client.federated_sign_in(key.key(), ProviderToken::new(token.clone()), None).await.unwrap();
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert_eq!(client.identity_id().await.unwrap().as_str(), USER);
    client.aws_credentials().await.expect("cached");
    assert_eq!(server.requests().len(), 2);

    // Past the credentials' expiry, the pool cannot be reached: a transient error, and the
    // user stays signed in with the identity kept.
    clock.advance(Duration::from_secs(600));
    server.push([Action::Reset, Action::Reset, Action::Reset]);
    let error = client.aws_credentials().await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert_eq!(client.identity_id().await.unwrap().as_str(), USER);
    let refresh = server.requests().last().unwrap().clone();
    assert_eq!(refresh.operation(), "GetCredentialsForIdentity");
    assert_eq!(refresh.body["Logins"]["accounts.google.com"], token.as_str());

    // The pool refuses the login: SignedOutFederatedTokensInvalid, and the request waits
    // (here until the client's deadline).
    server.push([Action::error(
        400,
        "NotAuthorizedException",
        "Token is not from a supported provider",
    )]);
    let error = client.aws_credentials().await.unwrap_err();
    assert!(matches!(error, AuthError::SignInWaitTimedOut), "{error:?}");
    let state = client.current_user_state();
    assert_eq!(state.state, UserState::SignedOutFederatedTokensInvalid);
    assert_eq!(state.reason, Some(auth_core::InvalidReason::Rejected));
    assert_eq!(state.provider.as_deref(), Some("accounts.google.com"));
    assert_eq!(client.identity_id().await.unwrap().as_str(), USER, "nothing was deleted");
}

/// A caller's reqwest client follows redirects by default; the answer of a redirected call
/// is still refused, not used.
#[tokio::test]
async fn a_redirected_call_is_refused_also_with_a_callers_client() {
    let elsewhere = ScriptedServer::start(vec![identity(GUEST)]).await;
    let location = format!("{}elsewhere", elsewhere.url);
    let server =
        ScriptedServer::start(vec![Action::raw(307, &[("Location", &location)], "")]).await;
    let pool = CognitoIdentityPool::builder(POOL_ID)
        .endpoint(&server.url)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let error = pool.identity_id(&Logins::new(), None).await.unwrap_err();
    assert!(error.to_string().contains("redirect"), "{error}");
}
