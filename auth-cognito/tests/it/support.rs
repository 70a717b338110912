//! Test servers and token helpers shared by the modules of this test binary.
//!
//! - [`ScriptedServer`]: a raw HTTP/1.1 server on 127.0.0.1:0 that answers each request with
//!   the next scripted [`Action`] (an answer, a reset, silence) and records what it got.
//! - [`RsaKey`]: an RSA key pair made for the tests, to sign JWTs and publish a JWKS.
//! - [`MockPool`]: the mock Cognito with one pool, an app client and a user, for the tests
//!   of offline behaviour.
//! - [`create_domain`], [`free_port`] and [`create_code_flow_client`]: a pool made ready for
//!   the hosted UI.
//! - [`prefer_sms_mfa`]: a user whose sign-ins ask for an SMS code.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use auth_cognito::connectivity::{Backoff, NetworkConnectivityBuilder};
use auth_cognito::{CognitoUserPool, CognitoUserPoolBuilder, RetryPolicy};
use auth_core::{
    AuthClient, Clock, DynIdentityProvider, SignInNextStep, SignInOutcome, UserPoolSession,
};
use auth_mock_server::{ClientOptions, Lifetimes, MockServer, MockServerHandle};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What the scripted server does with one request.
#[derive(Clone, Debug)]
pub(crate) enum Action {
    /// Answer with this status, headers and body.
    Respond { status: u16, headers: Vec<(String, String)>, body: String },
    /// Read the request, then close the connection with a TCP reset and no answer.
    Reset,
    /// Read the request and never answer (until the client gives up).
    Hang,
}

impl Action {
    /// A 200 answer with a JSON body.
    pub(crate) fn ok(body: Value) -> Self {
        Action::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body: body.to_string(),
        }
    }

    /// A Cognito error answer: `{"__type": name, "message": message}`.
    pub(crate) fn error(status: u16, name: &str, message: &str) -> Self {
        Action::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body: json!({"__type": name, "message": message}).to_string(),
        }
    }

    /// Any answer.
    pub(crate) fn raw(status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        Action::Respond {
            status,
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            body: body.to_owned(),
        }
    }
}

/// A request the scripted server received.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path: String,
    /// Header names in lower case.
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Value,
    /// The body as text (form bodies are not JSON).
    pub(crate) raw_body: String,
}

impl Recorded {
    /// The operation named by `X-Amz-Target`, without the service prefix.
    pub(crate) fn operation(&self) -> &str {
        let target = self.headers.get("x-amz-target").map(String::as_str).unwrap_or_default();
        target.rsplit('.').next().unwrap_or_default()
    }
}

/// A raw HTTP server that follows a script.
#[derive(Clone)]
pub(crate) struct ScriptedServer {
    pub(crate) url: String,
    script: Arc<Mutex<VecDeque<Action>>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl ScriptedServer {
    /// Starts a server that plays `script`, one action per request; once the script is
    /// exhausted it answers 500.
    pub(crate) async fn start(script: Vec<Action>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let server = ScriptedServer {
            url,
            script: Arc::new(Mutex::new(script.into())),
            requests: Arc::new(Mutex::new(Vec::new())),
        };
        let handle = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { break };
                let handle = handle.clone();
                tokio::spawn(async move { handle.serve(stream).await });
            }
        });
        server
    }

    /// Everything received so far.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Adds actions to the end of the script.
    pub(crate) fn push(&self, actions: impl IntoIterator<Item = Action>) {
        self.script.lock().unwrap().extend(actions);
    }

    async fn serve(&self, mut stream: TcpStream) {
        // One request per connection: every answer says `Connection: close`.
        let Some(request) = read_request(&mut stream).await else { return };
        self.requests.lock().unwrap().push(request);
        let action = self.script.lock().unwrap().pop_front();
        match action {
            Some(Action::Respond { status, headers, body }) => {
                let mut head = format!("HTTP/1.1 {status} Status\r\n");
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str(&format!(
                    "Content-Length: {}\r\nConnection: close\r\nx-amzn-RequestId: test-request\r\n\r\n",
                    body.len()
                ));
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            Some(Action::Reset) => {
                let _ = stream.set_zero_linger();
                drop(stream);
            }
            Some(Action::Hang) => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            None => {
                let body = r#"{"__type":"InternalErrorException","message":"script exhausted"}"#;
                let head = format!(
                    "HTTP/1.1 500 Error\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buffer.len() < header_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let raw = &buffer[header_end..header_end + length];
    let body = serde_json::from_slice(raw).unwrap_or(Value::Null);
    let raw_body = String::from_utf8_lossy(raw).into_owned();
    Some(Recorded { method, path, headers, body, raw_body })
}

/// A loopback port nothing listens on.
pub(crate) async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/")
}

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> u64 {
    auth_core::testing::epoch_seconds(SystemTime::now())
}

/// The challenge of a sign-in step that must ask for more.
pub(crate) fn step(outcome: SignInOutcome) -> SignInNextStep {
    match outcome {
        SignInOutcome::NextStep(step) => step,
        SignInOutcome::SignedIn(_) => panic!("expected a challenge, got tokens"),
        _ => panic!("unexpected outcome"),
    }
}

/// The session of a sign-in step that must complete the sign-in.
pub(crate) fn signed_in(outcome: SignInOutcome) -> UserPoolSession {
    match outcome {
        SignInOutcome::SignedIn(session) => session,
        SignInOutcome::NextStep(step) => panic!("expected tokens, got {}", step.challenge_name),
        _ => panic!("unexpected outcome"),
    }
}

/// An unsigned JWT-shaped token with `claims` (for client-side tests: the client never
/// verifies tokens, it only reads `exp`).
pub(crate) fn fake_jwt(claims: Value) -> String {
    auth_core::testing::unsigned_jwt(&claims)
}

/// An `AuthenticationResult` with unsigned tokens for `username`, valid for an hour.
pub(crate) fn auth_result(username: &str, with_refresh: bool) -> Value {
    let now = now_secs();
    let id = fake_jwt(json!({
        "sub": format!("sub-{username}"), "cognito:username": username, "token_use": "id",
        "iat": now, "exp": now + 3600,
    }));
    let access = fake_jwt(json!({
        "sub": format!("sub-{username}"), "username": username, "token_use": "access",
        "iat": now, "exp": now + 3600, "jti": format!("{now}-{}", rand_suffix()),
    }));
    let mut result = json!({
        "AccessToken": access, "IdToken": id, "ExpiresIn": 3600, "TokenType": "Bearer",
    });
    if with_refresh {
        result["RefreshToken"] = json!("refresh-token-opaque");
    }
    json!({ "AuthenticationResult": result, "ChallengeParameters": {} })
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// An RSA-2048 key made for the tests, with a `kid`.
pub(crate) struct RsaKey {
    pub(crate) kid: String,
    pair: RsaKeyPair,
}

impl RsaKey {
    fn generate(kid: &str) -> Self {
        Self { kid: kid.to_owned(), pair: RsaKeyPair::generate(KeySize::Rsa2048).unwrap() }
    }

    /// Two keys, made once per test binary (generation takes a moment).
    pub(crate) fn pair() -> &'static (RsaKey, RsaKey) {
        static KEYS: OnceLock<(RsaKey, RsaKey)> = OnceLock::new();
        KEYS.get_or_init(|| (RsaKey::generate("key-1"), RsaKey::generate("key-2")))
    }

    /// The public key as a JWK.
    pub(crate) fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kid": self.kid,
            "alg": "RS256",
            "kty": "RSA",
            "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// The public key's DER bytes (what a key-confusion attack would use as an HMAC secret).
    pub(crate) fn public_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs `header.claims` with RS256.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message.as_bytes(), &mut signature)
            .unwrap();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// An RS256 token with this key's `kid`.
    pub(crate) fn token(&self, claims: &Value) -> String {
        self.sign(&json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"}), claims)
    }
}

/// The mock Cognito with one pool, an app client without a secret and one user (`alice`
/// unless said otherwise; password [`MockPool::PASSWORD`]).
pub(crate) struct MockPool {
    pub(crate) server: MockServerHandle,
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
}

impl MockPool {
    pub(crate) const PASSWORD: &str = "Passw0rd!-Mock";

    pub(crate) async fn start(pool_name: &str) -> Self {
        Self::with_user(json!({"PoolName": pool_name}), "alice", &[]).await
    }

    /// The mock with the pool CreateUserPool's request `pool` describes, a secretless app
    /// client and the user `username` with `attributes` (password [`MockPool::PASSWORD`]).
    pub(crate) async fn with_user(
        pool: Value,
        username: &str,
        attributes: &[(&str, &str)],
    ) -> Self {
        let server = MockServer::builder().start().await.unwrap();
        let pool_id = server.create_pool_with(pool).await.unwrap();
        let client = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
        server.create_user(&pool_id, username, Self::PASSWORD, attributes).await.unwrap();
        Self { server, pool_id, client_id: client.client_id }
    }

    /// Makes the pool's access and ID tokens expire `seconds` after they are issued, so that
    /// a test sees them expire.
    pub(crate) fn expire_tokens_after(&self, seconds: u64) {
        let lifetimes = Lifetimes {
            access_token_seconds: Some(seconds),
            id_token_seconds: Some(seconds),
            ..Lifetimes::default()
        };
        self.server.set_lifetimes(Some(&self.pool_id), None, lifetimes).unwrap();
    }

    /// A builder for the pool's client with short timeouts and quick retries: an outage
    /// shows within seconds (with [`probe_quickly`]'s connectivity, at once).
    pub(crate) fn user_pool(&self) -> CognitoUserPoolBuilder {
        CognitoUserPool::builder(&self.pool_id, &self.client_id)
            .endpoint(self.server.url())
            .connect_timeout(Duration::from_secs(2))
            .request_timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::new(2, Duration::from_millis(5), Duration::from_millis(20)))
    }
}

/// An initialised `AuthClient` over the user pool `provider`, judging expiry by `clock`,
/// whose requests wait at most `wait` for a re-sign-in.
pub(crate) async fn waiting_auth_client(
    provider: DynIdentityProvider,
    clock: Arc<dyn Clock>,
    wait: Duration,
) -> AuthClient {
    let client = AuthClient::builder()
        .identity_provider(provider)
        .clock(clock)
        .sign_in_wait_timeout(Some(wait))
        .build();
    client.initialize().await.unwrap();
    client
}

/// Tunes `CognitoAuth`'s default connectivity to probe every 100 ms while online and to
/// retry within 300 ms while offline, so that a test sees an outage end promptly.
pub(crate) fn probe_quickly(
    connectivity: NetworkConnectivityBuilder,
) -> NetworkConnectivityBuilder {
    connectivity
        .backoff(Backoff::new(Duration::from_millis(50), Duration::from_millis(300)))
        .online_interval(Duration::from_millis(100))
}

/// CreateUserPool's request for a pool `name` with optional MFA that challenges new devices
/// and remembers a confirmed one (when the user is asked, with `on_user_prompt`): a
/// remembered device then signs in without MFA.
pub(crate) fn remembering_devices(name: &str, on_user_prompt: bool) -> Value {
    json!({"PoolName": name, "MfaConfiguration": "OPTIONAL",
           "DeviceConfiguration": {"ChallengeRequiredOnNewDevice": true,
                                   "DeviceOnlyRememberedOnUserPrompt": on_user_prompt}})
}

/// Gives `pool` the user-pool domain `domain` (the hosted UI and the OAuth endpoints).
pub(crate) async fn create_domain(server: &MockServerHandle, pool: &str, domain: &str) {
    server
        .call("CreateUserPoolDomain", json!({"UserPoolId": pool, "Domain": domain}))
        .await
        .unwrap();
}

/// A loopback port free now, for a redirect URI `http://localhost:<port>/callback`.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Creates an app client of `pool` for the hosted UI's code flow with the callback
/// `http://localhost:<port>/callback`; `settings` adds the rest (`ClientName`, the scopes,
/// the identity providers, `GenerateSecret`). Returns its id and its secret (empty when it
/// has none).
pub(crate) async fn create_code_flow_client(
    server: &MockServerHandle,
    pool: &str,
    port: u16,
    mut settings: Value,
) -> (String, String) {
    let request = settings.as_object_mut().expect("the settings are a JSON object");
    request.insert("UserPoolId".into(), json!(pool));
    request.insert("AllowedOAuthFlowsUserPoolClient".into(), json!(true));
    request.insert("AllowedOAuthFlows".into(), json!(["code"]));
    request.insert("CallbackURLs".into(), json!([format!("http://localhost:{port}/callback")]));
    let created = server.call("CreateUserPoolClient", settings).await.unwrap();
    let client = &created["UserPoolClient"];
    (
        client["ClientId"].as_str().unwrap().to_owned(),
        client["ClientSecret"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A secretless `desktop` app client of `pool` for the hosted UI's code flow, on a free
/// loopback port, with the OAuth `scopes` and the identity `providers`: its id and the port.
pub(crate) async fn desktop_client(
    server: &MockServerHandle,
    pool: &str,
    scopes: &[&str],
    providers: &[&str],
) -> (String, u16) {
    let port = free_port();
    let settings = json!({"ClientName": "desktop", "AllowedOAuthScopes": scopes,
                          "SupportedIdentityProviders": providers});
    let (client_id, _) = create_code_flow_client(server, pool, port, settings).await;
    (client_id, port)
}

/// Creates `username` with `password`, the email `<username>@example.com` and the phone
/// number `phone` (where SMS codes go).
pub(crate) async fn create_user_with_phone(
    server: &MockServerHandle,
    pool: &str,
    username: &str,
    password: &str,
    phone: &str,
) {
    let email = format!("{username}@example.com");
    let attributes = [("email", email.as_str()), ("phone_number", phone)];
    server.create_user(pool, username, password, &attributes).await.unwrap();
}

/// Makes SMS the preferred (so required) MFA of `username`: its sign-ins then ask for a
/// code, which the mock keeps for the test to read.
pub(crate) async fn prefer_sms_mfa(server: &MockServerHandle, pool: &str, username: &str) {
    server
        .call(
            "AdminSetUserMFAPreference",
            json!({"UserPoolId": pool, "Username": username,
                   "SMSMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
        )
        .await
        .unwrap();
}
