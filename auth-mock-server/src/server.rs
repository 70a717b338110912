//! The builder that starts a server and the handle that steers it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::control::{DeliveredCode, Fault, Stats};
use crate::seed::Seed;
use crate::state::{CustomAuth, Lifetimes};
use crate::wire::CognitoError;
use crate::{Config, Shared, SharedRef};

/// Entry point: `MockServer::builder()...start().await`.
#[derive(Debug)]
#[non_exhaustive]
pub struct MockServer;

impl MockServer {
    /// A builder with defaults: 127.0.0.1, an ephemeral port, region `us-east-1`, AWS-style
    /// issuers, SigV4 `Authorization` required on admin operations, in memory.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }
}

/// Configures and starts a server.
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    host: IpAddr,
    port: u16,
    issuer_base: Option<String>,
    region: String,
    require_signature: bool,
    seed: Option<Seed>,
    state_file: Option<PathBuf>,
    lambdas: Vec<(String, String)>,
    control_token: Option<String>,
    control_hosts: Vec<String>,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            issuer_base: None,
            region: "us-east-1".into(),
            require_signature: true,
            seed: None,
            state_file: None,
            lambdas: Vec::new(),
            control_token: None,
            control_hosts: Vec::new(),
        }
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A Lambda mapping (builder, seed) has an unusable URL.
    #[error("invalid Lambda mapping: {0}")]
    Lambda(String),
    /// The seed could not be applied.
    #[error("the seed is invalid: {0}")]
    Seed(String),
    /// The state file exists but could not be read.
    #[error("cannot load the state file {path}: {reason}")]
    StateFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl MockServerBuilder {
    /// The interface to bind (default 127.0.0.1).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// Requires `Authorization: Bearer <token>` on every request to the test-control API
    /// (`/_mock/*`) and the moto/LocalStack compatibility endpoints, except the hosted OIDC
    /// issuers' discovery documents and keys. An empty token is ignored. The handle's own
    /// methods are not affected.
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.control_token = (!token.is_empty()).then_some(token);
        self
    }

    /// Accepts `name` as a `Host` of test-control requests besides loopback names (for
    /// example the service name in a Docker network). Repeatable.
    pub fn control_host(mut self, name: impl Into<String>) -> Self {
        self.control_hosts.push(name.into().to_ascii_lowercase());
        self
    }

    /// The port (default 0: an ephemeral port; see [`MockServerHandle::url`]).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Issue tokens with `iss = <base>/<poolId>` instead of the AWS URL, so verifiers that
    /// fetch `<iss>/.well-known/jwks.json` reach this server. The value `self` means this
    /// server's own URL (`http://<bound address>`), handy with an ephemeral port.
    pub fn issuer_base(mut self, base: impl Into<String>) -> Self {
        self.issuer_base = Some(base.into());
        self
    }

    /// Sets or clears [`Self::issuer_base`].
    pub fn set_issuer_base(&mut self, base: Option<String>) -> &mut Self {
        self.issuer_base = base;
        self
    }

    /// The region of pools created without a signed region (default `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Whether admin/setup operations need an `Authorization: AWS4-HMAC-SHA256 ...` header
    /// (default true; the signature itself is not checked).
    pub fn require_signature(mut self, require: bool) -> Self {
        self.require_signature = require;
        self
    }

    /// Pools, clients, users and groups to create at start.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Persist state in this file: loaded at start if present, written atomically while
    /// running and at shutdown.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Runs the Lambda trigger named `arn` in a pool's `LambdaConfig` by POSTing its event
    /// to `url` (`http://host:port/path`); see [`MockServerHandle::map_lambda`].
    pub fn lambda(mut self, arn: impl Into<String>, url: impl Into<String>) -> Self {
        self.lambdas.push((arn.into(), url.into()));
        self
    }

    /// Binds, loads state and seed, and starts serving in the background.
    pub async fn start(self) -> Result<MockServerHandle, StartError> {
        let addr = SocketAddr::new(self.host, self.port);
        let listener =
            TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind { addr, source })?;
        let issuer_base = match self.issuer_base {
            Some(base) if base == "self" => Some(format!("http://{local}")),
            other => other,
        };
        let shared = Arc::new(Shared::new(Config {
            issuer_base,
            region: self.region,
            require_signature: self.require_signature,
            url: format!("http://{local}"),
            control: crate::guard::ControlAccess {
                token: self.control_token,
                hosts: self.control_hosts,
                bound: local.ip(),
            },
        }));
        let seed_lambdas = self.seed.iter().flat_map(|seed| seed.lambdas.iter());
        for (arn, url) in seed_lambdas.chain(self.lambdas.iter().map(|(a, u)| (a, u))) {
            shared
                .lambdas
                .set(arn, url)
                .map_err(|error| StartError::Lambda(format!("{arn}: {}", error.message())))?;
        }
        let mut loaded = false;
        if let Some(path) = &self.state_file {
            loaded = crate::persist::load(&shared, path)
                .map_err(|reason| StartError::StateFile { path: path.clone(), reason })?;
        }
        let mut seeded = None;
        if let Some(seed) = self.seed {
            // A restored state already holds the seeded objects.
            if !loaded {
                seeded = Some(seed.apply(&shared).map_err(StartError::Seed)?);
            }
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(crate::limits::sweep_periodically(Arc::clone(&shared), stop_rx.clone()));
        let task =
            tokio::spawn(crate::http::accept_loop(listener, Arc::clone(&shared), stop_rx.clone()));
        let saver = self.state_file.clone().map(|path| {
            tokio::spawn(crate::persist::save_periodically(Arc::clone(&shared), path, stop_rx))
        });
        Ok(MockServerHandle {
            shared,
            addr: local,
            stop: stop_tx,
            task: Some(task),
            saver,
            state_file: self.state_file,
            seeded,
        })
    }
}

/// Options for [`MockServerHandle::create_client`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Generate a client secret (then every call needs `SECRET_HASH`).
    pub generate_secret: bool,
    /// `ExplicitAuthFlows`; empty means every flow (`ALLOW_USER_SRP_AUTH`,
    /// `ALLOW_USER_PASSWORD_AUTH`, `ALLOW_REFRESH_TOKEN_AUTH`, `ALLOW_CUSTOM_AUTH`,
    /// `ALLOW_ADMIN_USER_PASSWORD_AUTH`, `ALLOW_USER_AUTH`).
    pub explicit_auth_flows: Vec<String>,
    /// Extra `CreateUserPoolClient` fields, e.g. `{"AccessTokenValidity": 5, ...}`.
    pub extra: Option<Value>,
}

impl ClientOptions {
    /// Options for a client with a secret.
    pub fn with_secret() -> Self {
        Self { generate_secret: true, ..Self::default() }
    }

    /// Sets `ExplicitAuthFlows`.
    pub fn explicit_auth_flows<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        flows: I,
    ) -> Self {
        self.explicit_auth_flows = flows.into_iter().map(Into::into).collect();
        self
    }

    /// Adds extra `CreateUserPoolClient` fields (a JSON object).
    pub fn extra(mut self, fields: Value) -> Self {
        self.extra = Some(fields);
        self
    }
}

/// A created app client.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientInfo {
    /// The client id.
    pub client_id: String,
    /// The client secret, if one was generated.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInfo")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A running server. Dropping it stops the server (without waiting); call
/// [`MockServerHandle::shutdown`] to stop gracefully and write the state file.
#[derive(Debug)]
pub struct MockServerHandle {
    pub(crate) shared: SharedRef,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    saver: Option<JoinHandle<()>>,
    state_file: Option<PathBuf>,
    seeded: Option<crate::seed::Seeded>,
}

impl Drop for MockServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn s(value: &Value, pointer: &str) -> String {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned()
}

impl MockServerHandle {
    /// `http://<ip>:<port>`: the endpoint URL to give SDKs.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the seed created (ids of pools, clients and users), if a seed was applied.
    pub fn seeded(&self) -> Option<&crate::seed::Seeded> {
        self.seeded.as_ref()
    }

    /// Runs blocking work (operations may call triggers, keys take time to generate) off the
    /// async threads; a panic in it is answered `InternalErrorException` with `panicked`.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        panicked: &'static str,
        work: impl FnOnce(&Shared) -> Result<T, CognitoError> + Send + 'static,
    ) -> Result<T, CognitoError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || work(&shared))
            .await
            .unwrap_or_else(|_| Err(CognitoError::internal(panicked)))
    }

    /// Runs any operation as an administrator would (signed), returning its JSON answer.
    pub async fn call(&self, operation: &str, body: Value) -> Result<Value, CognitoError> {
        let operation = operation.to_owned();
        self.blocking("the operation panicked", move |shared| shared.call(&operation, body)).await
    }

    /// Creates a pool with default settings; returns its id.
    pub async fn create_pool(&self, name: &str) -> Result<String, CognitoError> {
        self.create_pool_with(json!({ "PoolName": name })).await
    }

    /// Creates a pool from CreateUserPool fields; returns its id.
    pub async fn create_pool_with(&self, settings: Value) -> Result<String, CognitoError> {
        let out = self.call("CreateUserPool", settings).await?;
        Ok(s(&out, "/UserPool/Id"))
    }

    /// Creates an app client.
    pub async fn create_client(
        &self,
        pool_id: &str,
        name: &str,
        options: ClientOptions,
    ) -> Result<ClientInfo, CognitoError> {
        let flows = if options.explicit_auth_flows.is_empty() {
            vec![
                "ALLOW_USER_SRP_AUTH".to_owned(),
                "ALLOW_USER_PASSWORD_AUTH".into(),
                "ALLOW_REFRESH_TOKEN_AUTH".into(),
                "ALLOW_CUSTOM_AUTH".into(),
                "ALLOW_ADMIN_USER_PASSWORD_AUTH".into(),
                "ALLOW_USER_AUTH".into(),
            ]
        } else {
            options.explicit_auth_flows
        };
        let mut body = json!({
            "UserPoolId": pool_id,
            "ClientName": name,
            "GenerateSecret": options.generate_secret,
            "ExplicitAuthFlows": flows,
        });
        if let (Some(Value::Object(extra)), Some(map)) = (options.extra, body.as_object_mut()) {
            map.extend(extra);
        }
        let out = self.call("CreateUserPoolClient", body).await?;
        Ok(ClientInfo {
            client_id: s(&out, "/UserPoolClient/ClientId"),
            client_secret: out
                .pointer("/UserPoolClient/ClientSecret")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Creates a confirmed user with a permanent password and attributes; returns the
    /// internal username (a UUID in pools that sign in by email or phone).
    pub async fn create_user(
        &self,
        pool_id: &str,
        username: &str,
        password: &str,
        attributes: &[(&str, &str)],
    ) -> Result<String, CognitoError> {
        let attributes: Vec<Value> = attributes
            .iter()
            .map(|(name, value)| json!({ "Name": name, "Value": value }))
            .collect();
        let out = self
            .call(
                "AdminCreateUser",
                json!({
                    "UserPoolId": pool_id,
                    "Username": username,
                    "UserAttributes": attributes,
                    "MessageAction": "SUPPRESS",
                }),
            )
            .await?;
        let internal = s(&out, "/User/Username");
        self.call(
            "AdminSetUserPassword",
            json!({ "UserPoolId": pool_id, "Username": internal, "Password": password, "Permanent": true }),
        )
        .await?;
        Ok(internal)
    }

    /// The issuer of a pool's tokens.
    pub fn issuer(&self, pool_id: &str) -> Option<String> {
        let state = self.shared.state.read();
        state.pools.get(pool_id).map(|p| p.issuer(self.shared.config.issuer_base.as_deref()))
    }

    /// Moves the server clock (every expiry reads it).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
    }

    /// Sets the clock offset from real time (negative moves it back).
    pub fn set_clock_offset(&self, millis: i64) {
        self.shared.clock.set_offset(millis);
    }

    /// The server's current time.
    pub fn now(&self) -> std::time::SystemTime {
        self.shared.clock.now()
    }

    /// Forces token lifetimes on a client, all clients of a pool (`client_id = None`), or all
    /// clients (`pool_id = None`).
    pub fn set_lifetimes(
        &self,
        pool_id: Option<&str>,
        client_id: Option<&str>,
        lifetimes: Lifetimes,
    ) -> Result<usize, CognitoError> {
        self.shared.set_lifetimes(pool_id, client_id, lifetimes)
    }

    /// Injects a fault (error, latency or dropped connection) for an operation.
    pub fn add_fault(&self, fault: Fault) {
        self.shared.control.add_fault(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.control.clear_faults();
    }

    /// How many requests an operation (or `InitiateAuth:<FLOW>`) received.
    pub fn request_count(&self, key: &str) -> u64 {
        self.shared.control.counters().get(key).copied().unwrap_or(0)
    }

    /// All request counters.
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.shared.control.counters()
    }

    /// Resets the request counters.
    pub fn reset_request_counts(&self) {
        self.shared.control.reset_counters();
    }

    /// The last code delivered to a user (sign-up, forgot password, MFA, attribute
    /// verification, or a temporary password).
    pub fn last_code(&self, pool_id: &str, username: &str) -> Result<DeliveredCode, CognitoError> {
        self.shared.last_code(pool_id, username)
    }

    /// The current TOTP code of a user's software token: the verified one, else the secret
    /// of a sign-in's `MFA_SETUP` (AssociateSoftwareToken with a `Session`), else the one
    /// pending verification after AssociateSoftwareToken with an access token.
    pub fn totp_code(&self, pool_id: &str, username: &str) -> Option<String> {
        let state = self.shared.state.read();
        let pool = state.pools.get(pool_id)?;
        let user = pool.user(username)?;
        let now = self.shared.clock.now_secs();
        let user_key = pool.user_key(&user.username);
        // During MFA_SETUP the secret lives on the challenge, not on the user.
        let setup = state
            .sessions
            .values()
            .filter(|s| s.pool_id == pool_id && s.expires_at > now)
            .filter(|s| pool.user_key(&s.username) == user_key)
            .filter_map(|s| match &s.pending {
                crate::state::Pending::MfaSetup { secret: Some(secret), .. } => {
                    Some((s.expires_at, secret))
                }
                _ => None,
            })
            .max_by_key(|(expires_at, _)| *expires_at)
            .map(|(_, secret)| secret);
        let secret =
            user.mfa.totp_secret.as_ref().or(setup).or(user.mfa.pending_totp_secret.as_ref())?;
        crate::totp::current_code(secret, self.shared.clock.now())
    }

    /// Sets (or with `None` removes) a user's CUSTOM_CHALLENGE answer.
    pub fn set_custom_auth(
        &self,
        pool_id: &str,
        username: &str,
        answer: Option<&str>,
    ) -> Result<(), CognitoError> {
        let custom =
            answer.map(|a| CustomAuth { answer: a.to_owned(), parameters: Default::default() });
        self.shared.set_custom_auth(pool_id, username, custom)
    }

    /// Maps a Lambda function ARN used in a pool's `LambdaConfig` to the `http://` URL of a
    /// webhook that plays the function: the server POSTs each trigger event there and reads
    /// the answer as the function's result (`PUT /_mock/lambdas`).
    pub fn map_lambda(&self, arn: &str, url: &str) -> Result<(), CognitoError> {
        self.shared.lambdas.set(arn, url)
    }

    /// Removes a Lambda mapping; whether there was one.
    pub fn unmap_lambda(&self, arn: &str) -> bool {
        self.shared.lambdas.remove(arn)
    }

    /// The Lambda mappings (ARN → URL).
    pub fn lambdas(&self) -> std::collections::BTreeMap<String, String> {
        self.shared.lambdas.all()
    }

    /// Revokes every refresh token of a user (and their access tokens stay valid until they
    /// expire, as with a server-side revocation of refresh only).
    pub fn revoke_refresh_tokens(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<usize, CognitoError> {
        self.shared.end_refresh_tokens(pool_id, username, true)
    }

    /// Makes every refresh token of a user expired.
    pub fn expire_refresh_tokens(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<usize, CognitoError> {
        self.shared.end_refresh_tokens(pool_id, username, false)
    }

    /// Counts of what the server holds (`GET /_mock/stats`): a test or a soak run can check
    /// that memory stays flat.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Ends every sign-in lockout ("Password attempts exceeded") and forgets every code
    /// attempt counter, as `DELETE /_mock/attempt-limits` does. Moving the clock past a
    /// lockout ends it too.
    pub fn clear_attempt_limits(&self) {
        self.shared.state.write().limits.clear();
    }

    /// Forgets every pool, token, fault and counter and resets the clock.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops accepting connections, lets open ones finish (at most 5 s), writes the state
    /// file, and returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(saver) = self.saver.take() {
            let _ = saver.await;
        }
        if let Some(path) = &self.state_file {
            if let Err(error) = crate::persist::save(&self.shared, path) {
                tracing::error!(%error, path = %path.display(), "could not write the state file");
            }
        }
    }
}
