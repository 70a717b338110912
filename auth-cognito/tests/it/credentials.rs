//! End to end against the in-process mock Cognito: identity-pool credentials for a user-pool
//! user (SRP sign-in), a guest and a Google-like federated user, used with the real
//! `aws-sdk-s3` through the aws-sdk bridge against the mock's SigV4-checking S3.
//!
//! The client-side clock is a `ManualClock` moved in step with the server's clock (the
//! SDK's identity cache reads it too), so "past the credentials' expiry" is the same moment
//! for the server, `AuthClient` and the SDK. Request counters of the mock prove how many
//! refreshes happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_cognito::aws_sdk::{AuthClientCredentialsProvider, ClockTimeSource, RequestSigner};
use auth_cognito::{
    CognitoError, CognitoIdentityPool, CognitoUserPool, LoginProvider, RetryPolicy,
};
use auth_core::machine::{Effect, Event, Wait};
use auth_core::{
    AuthClient, AuthError, Clock, DynTokenStore, IdentityProvider, ManualClock, MemoryTokenStore,
    ProviderError, ProviderToken, SignInFlow, SignInOutcome, SignInRequest, Transition, UserState,
};
use auth_mock_server::{
    ClientInfo, ClientOptions, IdTokenRequest, IdentityPoolOptions, MockServer, MockServerHandle,
};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::primitives::ByteStream;

const PASSWORD: &str = "Passw0rd!-Creds";
const GOOGLE_CLIENT: &str = "google-client-id.apps.example";
const BUCKET: &str = "uploads";
/// Past the default one-hour lifetime of the credentials (and of the user-pool tokens).
const PAST_EXPIRY: Duration = Duration::from_secs(3700);

struct World {
    server: MockServerHandle,
    pool_id: String,
    client: ClientInfo,
    identity_pool_id: String,
    clock: Arc<ManualClock>,
}

impl World {
    async fn start(allow_guests: bool) -> Self {
        let server = MockServer::builder().start().await.expect("the mock server starts");
        let pool_id = server.create_pool("credentials").await.unwrap();
        let client = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
        server
            .create_user(&pool_id, "alice", PASSWORD, &[("email", "a@example.com")])
            .await
            .unwrap();
        let options = IdentityPoolOptions::default()
            .allow_unauthenticated(allow_guests)
            .user_pool(&pool_id, &client.client_id)
            .login_provider(LoginProvider::google().key(), GOOGLE_CLIENT);
        let identity_pool_id = server.create_identity_pool("credentials", options).await.unwrap();
        server.s3_create_bucket(BUCKET).unwrap();
        let clock = Arc::new(ManualClock::new(server.now()));
        Self { server, pool_id, client, identity_pool_id, clock }
    }

    /// Moves the server's clock and the client's together.
    fn advance(&self, by: Duration) {
        self.server.advance_clock(by);
        self.clock.advance(by);
    }

    fn count(&self, operation: &str) -> u64 {
        self.server.request_count(operation)
    }

    fn user_pool(&self) -> CognitoUserPool {
        CognitoUserPool::builder(&self.pool_id, &self.client.client_id)
            .endpoint(self.server.url())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }

    fn identity_pool(&self) -> CognitoIdentityPool {
        CognitoIdentityPool::builder(&self.identity_pool_id)
            .endpoint(self.server.url())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }

    /// An `AuthClient` with the identity pool, on the shared clock; with the user pool
    /// unless it is for guests and federated users only.
    fn auth_client(&self, store: DynTokenStore, user_pool: bool, guests: bool) -> AuthClient {
        self.auth_client_builder(store, user_pool, guests).build()
    }

    /// An initialised client with an empty session store, with or without the user pool
    /// and guests as [`auth_client`](Self::auth_client) says.
    async fn fresh_client(&self, user_pool: bool, guests: bool) -> AuthClient {
        let client = self.auth_client(Arc::new(MemoryTokenStore::new()), user_pool, guests);
        client.initialize().await.unwrap();
        client
    }

    fn auth_client_builder(
        &self,
        store: DynTokenStore,
        user_pool: bool,
        guests: bool,
    ) -> auth_core::AuthClientBuilder {
        let mut builder = AuthClient::builder()
            .credentials_provider(Arc::new(self.identity_pool()))
            .token_store(store)
            .clock(self.clock.clone())
            .guest_access(guests)
            .sign_in_wait_timeout(Some(Duration::from_secs(10)));
        if user_pool {
            builder = builder.identity_provider(Arc::new(self.user_pool()));
        }
        builder
    }

    /// An S3 client of the mock's S3, with `client`'s credentials through the bridge.
    fn s3(&self, client: &AuthClient) -> aws_sdk_s3::Client {
        self.s3_with(client, |config| config)
    }

    /// [`s3`](Self::s3) with a change to its config.
    fn s3_with(
        &self,
        client: &AuthClient,
        change: impl FnOnce(aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder,
    ) -> aws_sdk_s3::Client {
        let config = change(aws_sdk_s3::Config::builder())
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(self.server.url())
            .force_path_style(true)
            .credentials_provider(AuthClientCredentialsProvider::new(client.clone()))
            .time_source(ClockTimeSource::new(self.clock.clone()))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    async fn google_token(&self, subject: &str, lifetime: Duration) -> String {
        self.server
            .mint_id_token(
                "google",
                IdTokenRequest::new(subject, GOOGLE_CLIENT).expires_in(lifetime),
            )
            .await
            .unwrap()
    }
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, data: &[u8]) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {key}: {:?}", e.into_service_error()));
}

async fn get(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    let output = s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject {key}: {:?}", e.into_service_error()));
    output.body.collect().await.unwrap().into_bytes().to_vec()
}

/// A GET of `key` in the mock's S3.
fn object_request(world: &World, key: &str) -> http::Request<Vec<u8>> {
    http::Request::get(format!("{}/{BUCKET}/{key}", world.server.url())).body(Vec::new()).unwrap()
}

/// Sends a GET of `key` signed by `RequestSigner` with `credentials` as of the test clock's
/// time; returns the status and body.
async fn signed_get(
    world: &World,
    client: &AuthClient,
    key: &str,
    credentials: &auth_core::AwsCredentials,
) -> (u16, String) {
    let mut request = object_request(world, key);
    RequestSigner::new(client.clone(), "us-east-1", "s3")
        .sign_with(&mut request, credentials, world.clock.now())
        .unwrap();
    send(request).await
}

/// Sends a signed `http::Request` with reqwest; returns the status and body.
async fn send(request: http::Request<Vec<u8>>) -> (u16, String) {
    let mut outgoing = reqwest::Client::new().get(request.uri().to_string());
    for (name, value) in request.headers() {
        outgoing = outgoing.header(name.as_str(), value.as_bytes());
    }
    let response = outgoing.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_user_pool_user_uses_s3_and_the_bridge_refreshes_once_after_expiry() {
    let world = World::start(false).await;
    let client = world.fresh_client(true, false).await;
    let request =
        SignInRequest::password("alice", PASSWORD).with_flow(SignInFlow::SecureRemotePassword);
    client.sign_in(request).await.unwrap();
    assert_eq!(world.count("InitiateAuth:USER_SRP_AUTH"), 1);

    let credentials = client.aws_credentials().await.unwrap();
    let identity = client.identity_id().await.unwrap();
    assert!(credentials.access_key_id.starts_with("ASIA"), "{}", credentials.access_key_id);
    let (owner, expires) = world.server.credentials_owner(&credentials.access_key_id).unwrap();
    assert_eq!(owner, identity.as_str(), "the server issued them to this identity");
    assert_eq!(credentials.expiration.unwrap(), expires);
    assert_eq!((world.count("GetId"), world.count("GetCredentialsForIdentity")), (1, 1));

    let s3 = world.s3(&client);
    let key = format!("private/{identity}/hello.txt");
    put(&s3, &key, b"hello from alice").await;
    assert_eq!(get(&s3, &key).await, b"hello from alice");
    assert_eq!(world.server.s3_object(BUCKET, &key).unwrap(), b"hello from alice");
    assert_eq!(world.count("GetCredentialsForIdentity"), 1, "the SDK used the cached credentials");

    world.advance(PAST_EXPIRY);
    // The old credentials are refused now: whatever succeeds next was refreshed.
    let (status, body) = signed_get(&world, &client, &key, &credentials).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("ExpiredToken"), "{body}");

    assert_eq!(get(&s3, &key).await, b"hello from alice");
    put(&s3, &format!("private/{identity}/second.txt"), b"after the refresh").await;
    assert_eq!(get(&s3, &format!("private/{identity}/second.txt")).await, b"after the refresh");
    assert_eq!(world.count("GetCredentialsForIdentity"), 2, "exactly one refresh");
    assert_eq!(
        world.count("InitiateAuth:REFRESH_TOKEN_AUTH"),
        1,
        "the ID token was refreshed first"
    );
    assert_eq!(world.count("GetId"), 1, "the identity was kept");
    let refreshed = client.aws_credentials().await.unwrap();
    assert_ne!(refreshed.access_key_id, credentials.access_key_id);
    assert_eq!(
        world.server.credentials_owner(&refreshed.access_key_id).unwrap().0,
        identity.as_str()
    );
    assert_eq!(client.current_user_state().state, UserState::SignedIn);

    // The signer signs with the client's current credentials (here the refreshed ones),
    // and the mock's S3 checks the signature; a signature made with the wrong secret fails.
    let signer = RequestSigner::new(client.clone(), "us-east-1", "s3").clock(world.clock.clone());
    let mut request = object_request(&world, &key);
    signer.sign(&mut request).await.unwrap();
    assert_eq!(send(request).await, (200, "hello from alice".to_owned()));
    assert_eq!(world.count("GetCredentialsForIdentity"), 2, "signing used the cached credentials");
    let mut forged = refreshed.clone();
    forged.secret_access_key = "not-the-secret-key".into();
    let (status, body) = signed_get(&world, &client, &key, &forged).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
}

#[tokio::test]
async fn a_guest_uses_s3_and_is_refreshed_for_the_same_identity() {
    let world = World::start(true).await;
    // Ten-minute credentials: shorter than the 15 minutes the SDK's identity cache assumes
    // for credentials without an expiry, so the S3 call after they expire succeeds only if
    // the bridge passed the expiry on.
    world.server.set_credentials_lifetime(Duration::from_secs(600)).unwrap();
    let store: DynTokenStore = Arc::new(MemoryTokenStore::new());
    let client = world.auth_client(store.clone(), false, true);
    assert_eq!(client.initialize().await.unwrap().state, UserState::Guest);
    let s3 = world.s3(&client);
    put(&s3, "public/guest.txt", b"from a guest").await;
    assert_eq!(get(&s3, "public/guest.txt").await, b"from a guest");
    let identity = client.identity_id().await.unwrap();
    assert_eq!((world.count("GetId"), world.count("GetCredentialsForIdentity")), (1, 1));

    world.advance(Duration::from_secs(660));
    assert_eq!(get(&s3, "public/guest.txt").await, b"from a guest");
    assert_eq!(world.count("GetCredentialsForIdentity"), 2, "exactly one refresh");
    assert_eq!(world.count("GetId"), 1);
    assert_eq!(client.identity_id().await.unwrap(), identity);
    assert_eq!(client.current_user_state().state, UserState::Guest);

    // The device stays the same guest across a restart, even once the credentials expired.
    world.advance(Duration::from_secs(660));
    let restarted = world.auth_client(store, false, true);
    assert_eq!(restarted.initialize().await.unwrap().state, UserState::Guest);
    restarted.aws_credentials().await.unwrap();
    assert_eq!(restarted.identity_id().await.unwrap(), identity);
    assert_eq!((world.count("GetId"), world.count("GetCredentialsForIdentity")), (1, 3));

    // A guest who signs in keeps the identity: Cognito merges it into the user's.
    let user_pool = AuthClient::builder()
        .identity_provider(Arc::new(world.user_pool()))
        .credentials_provider(Arc::new(world.identity_pool()))
        .guest_access(true)
        .clock(world.clock.clone())
        .build();
    user_pool.initialize().await.unwrap();
    user_pool.aws_credentials().await.unwrap();
    let guest = user_pool.identity_id().await.unwrap();
    let before = world.count("GetCredentialsForIdentity");
    user_pool.sign_in(SignInRequest::password("alice", PASSWORD)).await.unwrap();
    user_pool.aws_credentials().await.unwrap();
    assert_eq!(user_pool.identity_id().await.unwrap(), guest, "the guest identity was merged");
    assert_eq!(world.count("GetCredentialsForIdentity"), before + 1, "one call merges and issues");
    let s3 = world.s3(&user_pool);
    put(&s3, &format!("private/{guest}/merged.txt"), b"merged").await;
}

#[tokio::test]
async fn a_google_user_uses_s3_and_waits_for_a_new_token_when_theirs_expires() {
    let world = World::start(false).await;
    // Counts the credentials requests that had to wait for a new sign-in.
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&blocked);
    let client = world
        .auth_client_builder(Arc::new(MemoryTokenStore::new()), false, false)
        .transition_observer(Arc::new(move |transition: &Transition| {
            if matches!(transition.event, Event::CredentialsNeeded { .. })
                && transition.effects.contains(&Effect::Wait(Wait::ForSignIn))
            {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }))
        .build();
    client.initialize().await.unwrap();
    // The Google token lives 1.5 hours: it outlives the first credentials, not the second.
    let token = world.google_token("google-user-1", Duration::from_secs(5400)).await;
    let google = LoginProvider::google();
    let state = client
        .federated_sign_in(google.key(), ProviderToken::new(token.clone()), None)
        .await
        .unwrap();
    assert_eq!(state.state, UserState::SignedIn);
    assert_eq!(state.provider.as_deref(), Some("accounts.google.com"));
    let identity = client.identity_id().await.unwrap();
    let s3 = world.s3(&client);
    put(&s3, "federated/google.txt", b"from google").await;
    assert_eq!((world.count("GetId"), world.count("GetCredentialsForIdentity")), (1, 1));

    world.advance(PAST_EXPIRY);
    assert_eq!(get(&s3, "federated/google.txt").await, b"from google");
    assert_eq!(world.count("GetCredentialsForIdentity"), 2, "exactly one refresh");
    assert_eq!(client.identity_id().await.unwrap(), identity);

    // Past the Google token's expiry: no request is sent, the state says why, and requests
    // wait for a new token.
    world.advance(PAST_EXPIRY);
    let bridge = AuthClientCredentialsProvider::new(client.clone());
    let waiting = tokio::spawn(async move { bridge.credentials().await });
    wait_until(|| blocked.load(Ordering::SeqCst) >= 1).await;
    let state = client.current_user_state();
    assert_eq!(state.state, UserState::SignedOutFederatedTokensInvalid);
    assert_eq!(state.reason, Some(auth_core::InvalidReason::Expired));
    assert_eq!(client.release_sign_in_wait(), 1);
    let error = waiting.await.unwrap().unwrap_err();
    assert!(matches!(error, CredentialsError::CredentialsNotLoaded(_)), "{error:?}");
    assert_eq!(world.count("GetCredentialsForIdentity"), 2, "an expired token is not sent");

    // A new sign-in with a fresh token completes the requests that wait.
    let waiting = {
        let client = client.clone();
        tokio::spawn(async move { client.aws_credentials().await })
    };
    wait_until(|| blocked.load(Ordering::SeqCst) >= 2).await;
    assert!(!waiting.is_finished());
    let fresh = world.google_token("google-user-1", Duration::from_secs(3600)).await;
    client.federated_sign_in(google.key(), ProviderToken::new(fresh), None).await.unwrap();
    let credentials = waiting.await.unwrap().expect("the waiting request completes");
    assert_eq!(
        world.server.credentials_owner(&credentials.access_key_id).unwrap().0,
        identity.as_str()
    );
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert_eq!(get(&s3, "federated/google.txt").await, b"from google");
}

#[tokio::test]
async fn forged_and_expired_login_tokens_are_refused() {
    let world = World::start(false).await;
    let client = world.fresh_client(false, false).await;
    let google = LoginProvider::google();
    let genuine = world.google_token("google-user-2", Duration::from_secs(3600)).await;
    // A character well inside the signature (the last one may carry only padding bits).
    let mut forged_signature = genuine.clone().into_bytes();
    let inside = forged_signature.len() - 10;
    forged_signature[inside] = if forged_signature[inside] == b'A' { b'B' } else { b'A' };
    let forged_signature = String::from_utf8(forged_signature).unwrap();
    let foreign_issuer = world
        .server
        .mint_id_token(
            "google",
            IdTokenRequest::new("google-user-2", GOOGLE_CLIENT)
                .claim("iss", "https://evil.example.com"),
        )
        .await
        .unwrap();
    let wrong_audience = world
        .server
        .mint_id_token("google", IdTokenRequest::new("u", "another-app"))
        .await
        .unwrap();
    let expired = world.google_token("google-user-2", Duration::ZERO).await;
    for (what, token) in [
        ("a forged signature", forged_signature),
        ("a foreign issuer", foreign_issuer),
        ("another app's token", wrong_audience),
        ("an expired token", expired),
        ("not a token", "garbage".to_owned()),
    ] {
        let error = client
            .federated_sign_in(google.key(), ProviderToken::new(token.clone()), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, AuthError::Provider(ProviderError::Rejected(s)) if s.code() == "NotAuthorizedException"),
            "{what}: {error:?}"
        );
        assert_eq!(client.current_user_state().state, UserState::SignedOut, "{what}");
        // The provider alone says the same.
        let error = world.identity_pool().get_id(&google.logins(token)).await.unwrap_err();
        assert!(
            matches!(&error, CognitoError::Service(f) if f.name() == "NotAuthorizedException"),
            "{what}"
        );
    }
    client.federated_sign_in(google.key(), ProviderToken::new(genuine), None).await.unwrap();
    assert_eq!(client.current_user_state().state, UserState::SignedIn);

    // User-pool ID tokens are checked the same way: signature, token use, expiry.
    let outcome =
        IdentityProvider::sign_in(&world.user_pool(), &SignInRequest::password("alice", PASSWORD))
            .await
            .unwrap();
    let SignInOutcome::SignedIn(session) = outcome else { panic!("expected tokens") };
    let user_pool = LoginProvider::user_pool(&world.pool_id).unwrap();
    let id_token = session.tokens.id_token().secret().to_owned();
    let mut tampered = id_token.clone().into_bytes();
    let inside = tampered.len() - 10;
    tampered[inside] = if tampered[inside] == b'A' { b'B' } else { b'A' };
    let access_token = session.tokens.access_token().secret().to_owned();
    let identity_pool = world.identity_pool();
    for (what, token) in [
        ("a tampered ID token", String::from_utf8(tampered).unwrap()),
        ("an access token", access_token),
    ] {
        let error = identity_pool.get_id(&user_pool.logins(token)).await.unwrap_err();
        assert!(
            matches!(&error, CognitoError::Service(f) if f.name() == "NotAuthorizedException"),
            "{what}: {error:?}"
        );
    }
    identity_pool.get_id(&user_pool.logins(id_token.clone())).await.expect("the genuine ID token");
    world.advance(PAST_EXPIRY);
    let error = identity_pool.get_id(&user_pool.logins(id_token)).await.unwrap_err();
    assert!(
        matches!(&error, CognitoError::Service(f) if f.name() == "NotAuthorizedException"),
        "expired: {error:?}"
    );
}

/// Every kind of provider, by the key `LoginProvider` builds: an OIDC issuer registered by
/// its IAM ARN (the key is the issuer without its scheme), a Facebook access token (opaque:
/// its expiry is given at sign-in) and a SAML assertion under its provider ARN.
#[tokio::test]
async fn oidc_facebook_and_saml_logins_use_their_keys() {
    let world = World::start(false).await;
    let corp = world.server.oidc_issuer("corp").unwrap();
    let saml_arn = "arn:aws:iam::123456789012:saml-provider/CorpIdP";
    let options = IdentityPoolOptions::default()
        .oidc_provider(&corp.provider_arn)
        .login_provider(LoginProvider::facebook().key(), "facebook-app-id")
        .extra(serde_json::json!({ "SamlProviderARNs": [saml_arn] }));
    let identity_pool_id = world.server.create_identity_pool("providers", options).await.unwrap();
    let pool = CognitoIdentityPool::builder(&identity_pool_id)
        .endpoint(world.server.url())
        .build()
        .unwrap();

    let oidc = LoginProvider::oidc(&corp.issuer).unwrap();
    assert_eq!(oidc.key(), corp.login_key, "the key the mock trusts the issuer under");
    let token =
        world.server.mint_id_token("corp", IdTokenRequest::new("corp-user", "any-app")).await;
    let logins = oidc.logins(token.unwrap());
    let id = pool.get_id(&logins).await.unwrap();
    let issued = pool.get_credentials_for_identity(&id, &logins).await.unwrap();
    assert_eq!(issued.identity_id, id);
    assert!(issued.credentials.access_key_id.starts_with("ASIA"));

    let facebook = LoginProvider::facebook();
    world
        .server
        .register_provider_token_with(
            facebook.key(),
            "EAAGfacebookaccesstoken",
            "fb-user",
            Some("facebook-app-id"),
            Duration::from_secs(3600),
        )
        .unwrap();
    let client = AuthClient::builder()
        .credentials_provider(Arc::new(pool.clone()))
        .clock(world.clock.clone())
        .build();
    client.initialize().await.unwrap();
    let expires_at = world.clock.now() + Duration::from_secs(3600);
    client
        .federated_sign_in(
            facebook.key(),
            ProviderToken::new("EAAGfacebookaccesstoken"),
            Some(expires_at),
        )
        .await
        .unwrap();
    let facebook_identity = client.identity_id().await.unwrap();
    assert_ne!(facebook_identity, id);
    let error = client
        .federated_sign_in(
            facebook.key(),
            ProviderToken::new("EAAGnotregistered"),
            Some(expires_at),
        )
        .await
        .unwrap_err();
    assert!(matches!(&error, AuthError::Provider(ProviderError::Rejected(_))), "{error:?}");

    let saml = LoginProvider::saml(saml_arn).unwrap();
    world
        .server
        .register_provider_token(saml.key(), "PHNhbWxwOlJlc3BvbnNlPg==", "saml-user")
        .unwrap();
    let saml_id = pool.get_id(&saml.logins("PHNhbWxwOlJlc3BvbnNlPg==")).await.unwrap();
    assert!(![&id, &facebook_identity].contains(&&saml_id));
}

/// A second federated user on the same client never inherits the first user's identity.
/// (`AuthClient` offers only a guest's identity for merging; were another user's offered,
/// Cognito would refuse the merge and the provider would fall back to GetId, as the
/// scripted `identity_pool` tests show.)
#[tokio::test]
async fn another_federated_user_gets_their_own_identity() {
    let world = World::start(false).await;
    let client = world.fresh_client(false, false).await;
    let google = LoginProvider::google();
    let first = world.google_token("google-user-a", Duration::from_secs(3600)).await;
    client.federated_sign_in(google.key(), ProviderToken::new(first), None).await.unwrap();
    let identity_a = client.identity_id().await.unwrap();

    let second = world.google_token("google-user-b", Duration::from_secs(3600)).await;
    client.federated_sign_in(google.key(), ProviderToken::new(second.clone()), None).await.unwrap();
    let identity_b = client.identity_id().await.unwrap();
    assert_ne!(identity_b, identity_a, "user b must not inherit user a's identity");
    // AuthClient offers only a guest's identity for merging, so b starts with GetId.
    assert_eq!((world.count("GetId"), world.count("GetCredentialsForIdentity")), (2, 2));
    let credentials = client.aws_credentials().await.unwrap();
    assert_eq!(
        world.server.credentials_owner(&credentials.access_key_id).unwrap().0,
        identity_b.as_str()
    );
    // The same login always maps to the same identity.
    assert_eq!(world.identity_pool().get_id(&google.logins(second)).await.unwrap(), identity_b);
}

#[tokio::test]
async fn a_restart_resumes_the_identity_and_refreshes_it_in_one_call() {
    let world = World::start(true).await;
    let store: DynTokenStore = Arc::new(MemoryTokenStore::new());
    let first = world.auth_client(store.clone(), true, true);
    first.initialize().await.unwrap();
    first.sign_in(SignInRequest::password("alice", PASSWORD)).await.unwrap();
    let credentials = first.aws_credentials().await.unwrap();
    let identity = first.identity_id().await.unwrap();
    drop(first);
    let calls = (world.count("GetId"), world.count("GetCredentialsForIdentity"));

    let second = world.auth_client(store.clone(), true, true);
    assert_eq!(second.initialize().await.unwrap().state, UserState::SignedIn);
    assert_eq!(second.identity_id().await.unwrap(), identity);
    assert_eq!(second.aws_credentials().await.unwrap(), credentials, "stored credentials");
    assert_eq!((world.count("GetId"), world.count("GetCredentialsForIdentity")), calls);

    world.advance(PAST_EXPIRY);
    let third = world.auth_client(store, true, true);
    third.initialize().await.unwrap();
    let refreshed = third.aws_credentials().await.unwrap();
    assert_ne!(refreshed.access_key_id, credentials.access_key_id);
    assert_eq!(third.identity_id().await.unwrap(), identity);
    assert_eq!(world.count("GetId"), calls.0, "no new identity");
    assert_eq!(world.count("GetCredentialsForIdentity"), calls.1 + 1, "one call after a restart");
}

/// Waits (up to 5 s) until `condition` holds.
async fn wait_until(condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the condition never held");
}

/// A device clock two hours ahead: the identity pool's `Date` lets AuthClient judge the
/// one-hour credentials by the service's clock, so they are cached, not refetched on
/// every call (or, worse, in a loop).
#[tokio::test]
async fn a_device_clock_far_ahead_still_caches_guest_credentials() {
    let world = World::start(true).await;
    world.clock.advance(Duration::from_secs(2 * 3600));
    let client = world.fresh_client(false, true).await;
    let first = client.aws_credentials().await.unwrap();
    assert_eq!(client.aws_credentials().await.unwrap(), first);
    assert_eq!(world.count("GetCredentialsForIdentity"), 1);
    // When they do expire by the service's clock, one refresh.
    world.advance(PAST_EXPIRY);
    let second = client.aws_credentials().await.unwrap();
    assert_ne!(second.access_key_id, first.access_key_id);
    assert_eq!(world.count("GetCredentialsForIdentity"), 2);
}

/// The bridge waits too: an S3 call whose credentials expired while offline blocks (with
/// the announcement) for longer than the SDK's default 5-second credentials load timeout,
/// and completes by itself when the network returns.
#[tokio::test]
async fn an_s3_call_whose_credentials_expired_offline_waits_and_completes_when_back_online() {
    let world = World::start(false).await;
    let net = auth_core::ManualConnectivity::new(true);
    let client = world
        .auth_client_builder(Arc::new(MemoryTokenStore::new()), true, false)
        .connectivity(Arc::new(net.clone()))
        .sign_in_wait_timeout(Some(Duration::from_secs(120)))
        .build();
    client.initialize().await.unwrap();
    client.sign_in(SignInRequest::password("alice", PASSWORD)).await.unwrap();
    let s3 = world.s3_with(&client, |config| {
        config
            .identity_cache(auth_cognito::aws_sdk::offline_identity_cache(Duration::from_secs(120)))
    });
    let identity = client.identity_id().await.unwrap();
    let key = format!("private/{identity}/offline.txt");
    put(&s3, &key, b"written online").await;

    // The network goes (every connection to the mock is dropped) and the source says so;
    // the credentials and tokens expire meanwhile.
    world.server.add_fault(auth_mock_server::Fault::drop_connection("*"));
    net.set_online(false);
    world.advance(PAST_EXPIRY);
    let call = tokio::spawn({
        let (s3, key) = (s3.clone(), key.clone());
        async move { get(&s3, &key).await }
    });
    let started = tokio::time::Instant::now();
    while client.requests_waiting_for_sign_in() == 0 {
        assert!(!call.is_finished(), "the SDK call ended instead of waiting");
        assert!(started.elapsed() < Duration::from_secs(60), "the SDK call never blocked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(client.current_user_state().state, UserState::SignedOutUserPoolsTokensInvalid);
    // Past the SDK's default load timeout, it still waits.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(!call.is_finished(), "the SDK gave up waiting for credentials");

    world.server.clear_faults();
    net.set_online(true);
    let data = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the SDK call completes once online")
        .unwrap();
    assert_eq!(data, b"written online");
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
}

#[tokio::test]
async fn the_identity_pool_conforms() {
    use auth_core::testing::conformance::credentials_provider::{CredentialsFixture, run_all};
    let world = World::start(false).await;
    let google = LoginProvider::google();
    let login = |token: String| {
        auth_core::Logins::from([(google.key().to_owned(), ProviderToken::from(token))])
    };
    let unreachable = CognitoIdentityPool::builder(&world.identity_pool_id)
        .endpoint(crate::support::closed_port_url().await)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let fixture = CredentialsFixture {
        provider: Arc::new(world.identity_pool()),
        unreachable: Arc::new(unreachable),
        logins: login(world.google_token("conformance-1", Duration::from_secs(3600)).await),
        other_logins: login(world.google_token("conformance-2", Duration::from_secs(3600)).await),
        now: world.server.now(),
    };
    run_all(&fixture).await;
}
