//! Shared helpers: a server per test, an SDK client pointed at it, error codes.

use auth_mock_server::{ClientInfo, ClientOptions, MockServer, MockServerHandle};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::builders::InitiateAuthFluentBuilder;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::builders::RespondToAuthChallengeFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType, SoftwareTokenMfaConfigType,
    SoftwareTokenMfaSettingsType, UserPoolMfaType,
};

pub(crate) const PASSWORD: &str = "Passw0rd!";

pub(crate) async fn server() -> MockServerHandle {
    MockServer::builder().start().await.expect("server starts")
}

/// The official SDK, static test credentials, endpoint overridden, no retries (so faults and
/// errors surface on the first attempt).
pub(crate) fn sdk(server: &MockServerHandle) -> Client {
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "test-secret", None, None, "static"))
        .endpoint_url(server.url())
        .retry_config(aws_sdk_cognitoidentityprovider::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// The exception name of an SDK error.
pub(crate) fn code<E: ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or("<no code>").to_owned()
}

/// Asserts that an SDK call failed with the exception `expected`.
#[track_caller]
pub(crate) fn assert_code<T, E>(result: Result<T, E>, expected: &str)
where
    T: std::fmt::Debug,
    E: ProvideErrorMetadata,
{
    match result {
        Ok(output) => panic!("expected {expected}, the call succeeded: {output:?}"),
        Err(error) => assert_eq!(code(&error), expected),
    }
}

/// Asserts that an SDK call failed with the exception `expected` and exactly `message`.
#[track_caller]
pub(crate) fn assert_error<T, E>(result: Result<T, E>, expected: &str, message: &str)
where
    T: std::fmt::Debug,
    E: ProvideErrorMetadata,
{
    match result {
        Ok(output) => panic!("expected {expected}, the call succeeded: {output:?}"),
        Err(error) => {
            assert_eq!(code(&error), expected);
            assert_eq!(error.message(), Some(message));
        }
    }
}

/// A pool, a public client allowing every flow, and a confirmed user `alice`.
pub(crate) struct Fixture {
    pub(crate) server: MockServerHandle,
    pub(crate) sdk: Client,
    pub(crate) pool: String,
    pub(crate) client: ClientInfo,
}

pub(crate) async fn fixture() -> Fixture {
    let server = server().await;
    let pool = server.create_pool("test-pool").await.unwrap();
    let client = server.create_client(&pool, "app", ClientOptions::default()).await.unwrap();
    let sdk = sdk(&server);
    let fixture = Fixture { server, sdk, pool, client };
    fixture.add_user("alice", &[("email", "alice@example.com"), ("email_verified", "true")]).await;
    fixture
}

impl Fixture {
    /// Creates the confirmed user `username` with [`PASSWORD`] and `attributes` in the
    /// fixture's pool.
    pub(crate) async fn add_user(&self, username: &str, attributes: &[(&str, &str)]) {
        self.server.create_user(&self.pool, username, PASSWORD, attributes).await.unwrap();
    }

    /// InitiateAuth with USER_PASSWORD_AUTH through the fixture's client, ready to send.
    pub(crate) fn password_auth(
        &self,
        username: &str,
        password: &str,
    ) -> InitiateAuthFluentBuilder {
        self.password_auth_via(&self.client.client_id, username, password)
    }

    /// InitiateAuth with USER_PASSWORD_AUTH through `client_id`, ready to send (or to be given
    /// more parameters, such as SECRET_HASH).
    pub(crate) fn password_auth_via(
        &self,
        client_id: &str,
        username: &str,
        password: &str,
    ) -> InitiateAuthFluentBuilder {
        self.initiate(AuthFlowType::UserPasswordAuth, client_id)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
    }

    /// InitiateAuth with REFRESH_TOKEN_AUTH through the fixture's client, ready to send.
    pub(crate) fn refresh_auth(&self, refresh_token: &str) -> InitiateAuthFluentBuilder {
        self.initiate(AuthFlowType::RefreshTokenAuth, &self.client.client_id)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
    }

    /// InitiateAuth with CUSTOM_AUTH through the fixture's client, ready to send.
    pub(crate) fn custom_auth(&self, username: &str) -> InitiateAuthFluentBuilder {
        self.initiate(AuthFlowType::CustomAuth, &self.client.client_id)
            .auth_parameters("USERNAME", username)
    }

    /// InitiateAuth with `flow` through `client_id`, ready to be given the flow's parameters.
    pub(crate) fn initiate(
        &self,
        flow: AuthFlowType,
        client_id: &str,
    ) -> InitiateAuthFluentBuilder {
        self.sdk.initiate_auth().auth_flow(flow).client_id(client_id)
    }

    /// RespondToAuthChallenge through the fixture's client for `username` in `session`; the
    /// caller adds the answer's responses and sends.
    pub(crate) fn answer(
        &self,
        challenge: ChallengeNameType,
        session: Option<&str>,
        username: &str,
    ) -> RespondToAuthChallengeFluentBuilder {
        self.answer_via(&self.client.client_id, challenge, session, username)
    }

    /// [`Fixture::answer`] through `client_id`.
    pub(crate) fn answer_via(
        &self,
        client_id: &str,
        challenge: ChallengeNameType,
        session: Option<&str>,
        username: &str,
    ) -> RespondToAuthChallengeFluentBuilder {
        self.sdk
            .respond_to_auth_challenge()
            .client_id(client_id)
            .challenge_name(challenge)
            .set_session(session.map(str::to_owned))
            .challenge_responses("USERNAME", username)
    }

    /// Answers `challenge` in `session` for `username` with `responses`, which must be
    /// accepted.
    pub(crate) async fn respond(
        &self,
        challenge: ChallengeNameType,
        session: Option<&str>,
        username: &str,
        responses: &[(&str, &str)],
    ) -> RespondToAuthChallengeOutput {
        let mut answer = self.answer(challenge.clone(), session, username);
        for (name, value) in responses {
            answer = answer.challenge_responses(*name, *value);
        }
        match answer.send().await {
            Ok(output) => output,
            Err(error) => panic!("the answer to {challenge:?} was refused: {error:?}"),
        }
    }

    /// Sets the pool's MFA to `mode` (SMS and email need no switch of their own).
    pub(crate) async fn set_mfa(&self, mode: UserPoolMfaType) {
        self.configure_mfa(mode, false).await;
    }

    /// Sets the pool's MFA to `mode`, with authenticator apps (TOTP) enabled.
    pub(crate) async fn set_mfa_with_totp(&self, mode: UserPoolMfaType) {
        self.configure_mfa(mode, true).await;
    }

    /// SetUserPoolMfaConfig; the two setters above differ only in switching TOTP on.
    async fn configure_mfa(&self, mode: UserPoolMfaType, totp: bool) {
        let totp = totp.then(|| SoftwareTokenMfaConfigType::builder().enabled(true).build());
        self.sdk
            .set_user_pool_mfa_config()
            .user_pool_id(&self.pool)
            .mfa_configuration(mode)
            .set_software_token_mfa_configuration(totp)
            .send()
            .await
            .expect("MFA configured");
    }

    /// Sets up an authenticator app for the user signed in with `access` (associate, verify
    /// a current code) and makes it the preferred MFA.
    pub(crate) async fn enable_totp(&self, access: &str) {
        let associated =
            self.sdk.associate_software_token().access_token(access).send().await.unwrap();
        let secret = associated.secret_code().expect("a TOTP secret");
        let code = auth_mock_server::totp_code(secret, self.server.now()).unwrap();
        self.sdk.verify_software_token().access_token(access).user_code(code).send().await.unwrap();
        self.sdk
            .set_user_mfa_preference()
            .access_token(access)
            .software_token_mfa_settings(
                SoftwareTokenMfaSettingsType::builder().enabled(true).preferred_mfa(true).build(),
            )
            .send()
            .await
            .expect("TOTP preferred");
    }

    /// Signs `username` in with USER_PASSWORD_AUTH; returns (access, id, refresh).
    pub(crate) async fn password_login(
        &self,
        username: &str,
        password: &str,
    ) -> (String, String, String) {
        let out = self.password_auth(username, password).send().await.expect("password sign-in");
        let result = out.authentication_result().expect("tokens");
        (
            result.access_token().unwrap().to_owned(),
            result.id_token().unwrap().to_owned(),
            result.refresh_token().unwrap_or_default().to_owned(),
        )
    }
}

/// The tokens that end a sign-in, read from the answer that ended it.
pub(crate) trait Tokens {
    /// The tokens; panics, showing the output, when the answer led to another challenge.
    fn tokens(&self) -> &AuthenticationResultType;
}

impl Tokens for RespondToAuthChallengeOutput {
    #[track_caller]
    fn tokens(&self) -> &AuthenticationResultType {
        match self.authentication_result() {
            Some(tokens) => tokens,
            None => panic!("the answer was accepted but issued no tokens: {self:?}"),
        }
    }
}

/// Declares one `#[tokio::test]` per `test => scenario` pair that runs the scenario on a
/// fresh [`fixture`]. The scenarios themselves take a `&Fixture` so that one test can also run
/// them all on a single server.
macro_rules! scenario_tests {
    ($($test:ident => $scenario:path;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                $scenario(&$crate::support::fixture().await).await;
            }
        )*
    };
}
pub(crate) use scenario_tests;

/// Asserts that the server counted at least one request to each of `operations`: the
/// scenarios that ran reached every operation through the SDK.
#[track_caller]
pub(crate) fn assert_every_operation_called(
    server: &MockServerHandle,
    operations: &[auth_mock_server::Operation],
) {
    let counts = server.request_counts();
    let missing: Vec<&str> = operations
        .iter()
        .map(|op| op.name())
        .filter(|name| counts.get(*name).copied().unwrap_or(0) == 0)
        .collect();
    assert!(missing.is_empty(), "operations never called through the SDK: {missing:?}");
}

/// Decodes a JWT's payload without checking it.
pub(crate) fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("three parts");
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The official identity-pool SDK pointed at the server, with static test credentials (the
/// admin operations are signed with them) and no retries.
pub(crate) fn identity_sdk(server: &MockServerHandle) -> aws_sdk_cognitoidentity::Client {
    let config = aws_sdk_cognitoidentity::Config::builder()
        .behavior_version(aws_sdk_cognitoidentity::config::BehaviorVersion::latest())
        .region(aws_sdk_cognitoidentity::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cognitoidentity::config::Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "static",
        ))
        .endpoint_url(server.url())
        .retry_config(aws_sdk_cognitoidentity::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_cognitoidentity::Client::from_conf(config)
}

/// A new guest identity in the identity pool `pool` (GetId without logins) and its
/// credentials.
pub(crate) async fn guest_credentials(
    ids: &aws_sdk_cognitoidentity::Client,
    pool: &str,
) -> aws_sdk_cognitoidentity::types::Credentials {
    let id = ids.get_id().identity_pool_id(pool).send().await.unwrap();
    let identity_id = id.identity_id().expect("an identity id");
    let out = ids.get_credentials_for_identity().identity_id(identity_id).send().await.unwrap();
    out.credentials().expect("credentials").clone()
}

/// `aws-sdk-s3` with path-style addressing against the server, signing with `credentials`.
pub(crate) fn s3_sdk(
    server: &MockServerHandle,
    credentials: aws_sdk_s3::config::Credentials,
) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(server.url())
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Credentials from GetCredentialsForIdentity, as the S3 SDK takes them.
pub(crate) fn s3_credentials(
    credentials: &aws_sdk_cognitoidentity::types::Credentials,
) -> aws_sdk_s3::config::Credentials {
    aws_sdk_s3::config::Credentials::new(
        credentials.access_key_id().expect("an access key id"),
        credentials.secret_key().expect("a secret key"),
        credentials.session_token().map(str::to_owned),
        None,
        "identity-pool",
    )
}

/// A runtime for tests that share one server across proptest cases (which run outside any
/// runtime): two workers, IO and timers.
pub(crate) fn shared_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
