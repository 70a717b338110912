//! Developer-authenticated identities over the in-process mock: the test plays the app's
//! backend (GetOpenIdTokenForDeveloperIdentity, signed, as the backend would call it) behind
//! a `DeveloperIdentitySource`, and `DeveloperIdentityCredentials` turns its tokens into AWS
//! credentials through `AuthClient`. The client's `ManualClock` moves in step with the
//! server's clock, so "past the token's lifetime" is the same moment for both.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_cognito::{
    CognitoIdentityPool, DeveloperIdentity, DeveloperIdentityCredentials, DeveloperIdentityError,
    DeveloperIdentitySource, RetryPolicy,
};
use auth_core::{
    AuthClient, AuthError, CredentialsProvider, Logins, ManualClock, ProviderError, ProviderToken,
};
use auth_mock_server::{IdentityPoolOptions, MockServer, MockServerHandle};
use serde_json::json;

const DEVELOPER: &str = "login.example.app";
/// The lifetime the backend asks for its tokens, shorter than the credentials' hour.
const TOKEN_SECONDS: u64 = 600;

/// What the test's backend does when asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Answer,
    Refuse,
    Unreachable,
}

/// The app's backend: the user is the token of the logins' first entry ("anonymous" with
/// none), its identity comes from GetOpenIdTokenForDeveloperIdentity.
struct Backend {
    server: Arc<MockServerHandle>,
    identity_pool_id: String,
    calls: AtomicUsize,
    mode: Mutex<Mode>,
}

impl Backend {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

/// The backend as the app reaches it.
struct Source(Arc<Backend>);

#[async_trait]
impl DeveloperIdentitySource for Source {
    async fn developer_identity(
        &self,
        logins: &Logins,
    ) -> Result<DeveloperIdentity, DeveloperIdentityError> {
        self.0.answer(logins).await
    }
}

impl Backend {
    async fn answer(&self, logins: &Logins) -> Result<DeveloperIdentity, DeveloperIdentityError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        // Slow enough that concurrent callers really overlap.
        tokio::time::sleep(Duration::from_millis(20)).await;
        match *self.mode.lock().unwrap() {
            Mode::Answer => {}
            Mode::Refuse => {
                return Err(DeveloperIdentityError::refused("NotSignedIn", "sign in to the app"));
            }
            Mode::Unreachable => {
                return Err(DeveloperIdentityError::Unreachable("connection refused".into()));
            }
        }
        let user = logins.values().next().map_or("anonymous", ProviderToken::secret);
        let answer = self
            .server
            .identity_call(
                "GetOpenIdTokenForDeveloperIdentity",
                json!({"IdentityPoolId": self.identity_pool_id, "Logins": {DEVELOPER: user},
                       "TokenDuration": TOKEN_SECONDS}),
            )
            .await
            .map_err(|e| DeveloperIdentityError::refused("BackendFailed", format!("{e:?}")))?;
        let id = answer["IdentityId"].as_str().unwrap_or_default();
        Ok(DeveloperIdentity::new(id, answer["Token"].as_str().unwrap_or_default()))
    }
}

struct World {
    server: Arc<MockServerHandle>,
    backend: Arc<Backend>,
    identity_pool_id: String,
    clock: Arc<ManualClock>,
}

impl World {
    async fn start() -> Self {
        let server = Arc::new(MockServer::builder().start().await.unwrap());
        let identity_pool_id = server
            .create_identity_pool(
                "developer",
                IdentityPoolOptions::default().developer_provider(DEVELOPER),
            )
            .await
            .unwrap();
        let backend = Arc::new(Backend {
            server: Arc::clone(&server),
            identity_pool_id: identity_pool_id.clone(),
            calls: AtomicUsize::new(0),
            mode: Mutex::new(Mode::Answer),
        });
        let clock = Arc::new(ManualClock::new(server.now()));
        Self { server, backend, identity_pool_id, clock }
    }

    fn pool(&self, endpoint: &str) -> CognitoIdentityPool {
        CognitoIdentityPool::builder(&self.identity_pool_id)
            .endpoint(endpoint)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }

    fn provider(&self) -> DeveloperIdentityCredentials {
        DeveloperIdentityCredentials::with_clock(
            self.pool(&self.server.url()),
            Source(Arc::clone(&self.backend)),
            self.clock.clone(),
        )
    }

    fn client(&self) -> AuthClient {
        AuthClient::builder()
            .credentials_provider(Arc::new(self.provider()))
            .guest_access(true)
            .clock(self.clock.clone())
            .build()
    }

    /// Moves the server's clock and the client's together.
    fn advance(&self, by: Duration) {
        self.server.advance_clock(by);
        self.clock.advance(by);
    }
}

fn logins(user: &str) -> Logins {
    Logins::from([("app.example".to_owned(), ProviderToken::new(user))])
}

#[tokio::test]
async fn developer_identity_credentials_conform() {
    use auth_core::testing::conformance::credentials_provider::{CredentialsFixture, run_all};
    let world = World::start().await;
    let unreachable_backend = Arc::new(Backend {
        server: Arc::clone(&world.server),
        identity_pool_id: world.identity_pool_id.clone(),
        calls: AtomicUsize::new(0),
        mode: Mutex::new(Mode::Unreachable),
    });
    let unreachable = DeveloperIdentityCredentials::new(
        world.pool(&crate::support::closed_port_url().await),
        Source(unreachable_backend),
    );
    let fixture = CredentialsFixture {
        provider: Arc::new(world.provider()),
        unreachable: Arc::new(unreachable),
        logins: logins("alice"),
        other_logins: logins("bob"),
        now: world.server.now(),
    };
    run_all(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_is_asked_once_for_many_callers_and_again_once_the_token_expired() {
    let world = World::start().await;
    let client = world.client();
    client.initialize().await.unwrap();

    let callers: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.aws_credentials().await })
        })
        .collect();
    let mut keys = Vec::new();
    for caller in callers {
        keys.push(caller.await.unwrap().unwrap().access_key_id);
    }
    assert!(keys.windows(2).all(|pair| pair[0] == pair[1]), "one set of credentials: {keys:?}");
    assert_eq!(world.backend.calls(), 1, "one call of the source for sixteen callers");
    assert_eq!(world.server.request_count("GetCredentialsForIdentity"), 1);
    let identity = client.identity_id().await.unwrap();
    assert!(identity.as_str().starts_with("us-east-1:"), "{identity}");

    // Cached: no call at all.
    client.aws_credentials().await.unwrap();
    assert_eq!(world.backend.calls(), 1);

    // Past the token's lifetime and the credentials' hour: the client fetches credentials
    // again, and the provider asks the source for a new token first.
    world.advance(Duration::from_secs(3700));
    let renewed = client.aws_credentials().await.unwrap();
    assert_ne!(renewed.access_key_id, keys[0]);
    assert_eq!(world.backend.calls(), 2, "an expired token is renewed before it is used");
    assert_eq!(world.server.request_count("GetCredentialsForIdentity"), 2, "never sent expired");
    assert_eq!(client.identity_id().await.unwrap(), identity, "the same developer identity");
}

/// A token Cognito refuses although the client thinks it fresh (the server's clock went past
/// its lifetime, or the backend revoked it): one new token from the source, one retry.
#[tokio::test]
async fn a_refused_token_is_replaced_once_and_retried() {
    let world = World::start().await;
    let provider = world.provider();
    let user = logins("carol");
    let identity = provider.identity_id(&user, None).await.unwrap();
    provider.credentials(&identity, &user).await.unwrap();
    assert_eq!(world.backend.calls(), 1);

    world.server.advance_clock(Duration::from_secs(TOKEN_SECONDS + 60));
    world.server.reset_request_counts();
    provider.credentials(&identity, &user).await.expect("a new token, then credentials");
    assert_eq!(world.backend.calls(), 2);
    assert_eq!(
        world.server.request_count("GetCredentialsForIdentity"),
        2,
        "refused with the old token, then answered with the new one"
    );

    // A source that keeps handing out refused tokens is asked once more, not forever.
    let asked = Arc::new(AtomicUsize::new(0));
    let stale = DeveloperIdentityCredentials::new(
        world.pool(&world.server.url()),
        auth_cognito::developer_identity_fn({
            let (identity, asked) = (identity.clone(), Arc::clone(&asked));
            move |_| {
                asked.fetch_add(1, Ordering::SeqCst);
                let identity = identity.clone();
                async move { Ok(DeveloperIdentity::new(identity.as_str(), "not-a-token")) }
            }
        }),
    );
    let refused = stale.credentials(&identity, &user).await.unwrap_err();
    assert!(refused.is_rejected(), "{refused:?}");
    assert_eq!(asked.load(Ordering::SeqCst), 2, "the first token and one replacement");
    assert_eq!(refused.code(), Some("NotAuthorizedException"));
}

#[tokio::test]
async fn the_source_failures_reach_the_app_typed() {
    let world = World::start().await;
    let client = world.client();
    client.initialize().await.unwrap();

    world.backend.set_mode(Mode::Refuse);
    match client.aws_credentials().await {
        Err(AuthError::Provider(error @ ProviderError::Rejected(_))) => {
            assert_eq!(error.code(), Some("NotSignedIn"), "{error}");
        }
        other => panic!("a refusal of the backend is a refusal: {other:?}"),
    }

    world.backend.set_mode(Mode::Unreachable);
    match client.aws_credentials().await {
        Err(AuthError::Provider(error @ ProviderError::Network(_))) => {
            let source = std::error::Error::source(&error)
                .and_then(|network| network.source())
                .and_then(|source| source.downcast_ref::<DeveloperIdentityError>());
            assert!(
                matches!(source, Some(DeveloperIdentityError::Unreachable(_))),
                "the source's error is kept: {error:?}"
            );
        }
        other => panic!("an unreachable backend is a network failure: {other:?}"),
    }
    assert_eq!(world.server.request_count("GetCredentialsForIdentity"), 0);

    world.backend.set_mode(Mode::Answer);
    let credentials = client.aws_credentials().await.unwrap();
    assert!(credentials.expiration.is_some_and(|at| at > SystemTime::UNIX_EPOCH));
}
