//! End to end against the in-process mock Cognito (`auth-mock-server`): auth-core's
//! identity-provider conformance suite, every flow and challenge, remembered devices,
//! account operations, fault injection, `AuthClient` integration, and the JWT verifier
//! against the tokens the server signs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use auth_cognito::{
    CognitoUserPool, DeviceStore, DeviceTracking, JwtError, JwtVerifier, MemoryDeviceStore,
    MfaPreference, RetryPolicy, TokenUse,
};
use auth_core::testing::conformance::identity_provider::{self, ProviderFixture};
use auth_core::{
    AccountProvider, AuthClient, ChallengeKind, ChallengeResponse, FirstFactor, IdentityProvider,
    ManualClock, ProviderError, SignInFlow, SignInNextStep, SignInOutcome, SignInRequest,
    SignInResult, SignOutOptions, SignUpRequest, UserPoolSession, UserState,
};
use auth_mock_server::{ClientInfo, ClientOptions, Fault, MockServer, MockServerHandle};
use serde_json::{Value, json};

use crate::support::{closed_port_url, remembering_devices, signed_in, step, waiting_auth_client};

const PASSWORD: &str = "Passw0rd!-Mock";

struct Env {
    server: MockServerHandle,
    pool_id: String,
    client: ClientInfo,
}

impl Env {
    async fn start(pool: Value, client: ClientOptions) -> Self {
        let server = MockServer::builder().start().await.expect("the mock server starts");
        let pool_id = server.create_pool_with(pool).await.unwrap();
        let client = server.create_client(&pool_id, "app", client).await.unwrap();
        Self { server, pool_id, client }
    }

    async fn simple() -> Self {
        Self::start(json!({"PoolName": "simple"}), ClientOptions::default()).await
    }

    fn builder(&self) -> auth_cognito::CognitoUserPoolBuilder {
        let mut builder = CognitoUserPool::builder(&self.pool_id, &self.client.client_id)
            .endpoint(self.server.url())
            .request_timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::new(3, Duration::from_millis(5), Duration::from_millis(20)));
        if let Some(secret) = &self.client.client_secret {
            builder = builder.client_secret(secret.as_str());
        }
        builder
    }

    fn provider(&self) -> CognitoUserPool {
        self.builder().build().unwrap()
    }

    async fn user(&self, name: &str, attributes: &[(&str, &str)]) -> String {
        self.server.create_user(&self.pool_id, name, PASSWORD, attributes).await.unwrap()
    }

    async fn admin(&self, operation: &str, body: Value) -> Value {
        self.server.call(operation, body).await.unwrap_or_else(|e| panic!("{operation}: {e:?}"))
    }

    fn totp(&self, username: &str) -> String {
        self.server.totp_code(&self.pool_id, username).expect("the user has a software token")
    }

    fn code(&self, username: &str) -> String {
        self.server.last_code(&self.pool_id, username).expect("a code was delivered").code
    }
}

/// Answers the challenge of `step` with `text` (a code, a choice, a custom answer).
async fn answer(
    provider: &CognitoUserPool,
    step: &SignInNextStep,
    text: &str,
) -> Result<SignInOutcome, ProviderError> {
    provider.respond_to_challenge(&step.context, &ChallengeResponse::answer(text)).await
}

async fn sign_in(provider: &CognitoUserPool, username: &str, flow: SignInFlow) -> SignInOutcome {
    let request = SignInRequest::password(username, PASSWORD).with_flow(flow);
    IdentityProvider::sign_in(provider, &request).await.unwrap()
}

async fn conformance(options: ClientOptions) {
    let env = Env::start(json!({"PoolName": "conformance"}), options).await;
    env.user("conformer", &[("email", "c@example.com")]).await;
    let unreachable = env.builder().endpoint(closed_port_url().await).build().unwrap();
    let provider = env.provider();
    let server = Arc::new(env.server);
    let revoker = Arc::clone(&server);
    let pool_id = env.pool_id.clone();
    let fixture = ProviderFixture {
        provider: Arc::new(provider),
        unreachable: Arc::new(unreachable),
        username: "conformer".into(),
        password: PASSWORD.into(),
        flows: vec![
            SignInFlow::ProviderDefault,
            SignInFlow::SecureRemotePassword,
            SignInFlow::Password,
            SignInFlow::ChoiceBased(Some(FirstFactor::PasswordSrp)),
            SignInFlow::ChoiceBased(Some(FirstFactor::Password)),
        ],
        revoke_user: Box::new(move || {
            let revoker = Arc::clone(&revoker);
            let pool_id = pool_id.clone();
            Box::pin(async move {
                revoker.revoke_refresh_tokens(&pool_id, "conformer").expect("revoke");
            })
        }),
    };
    identity_provider::run_all(&fixture).await;
}

#[tokio::test]
async fn conforms_to_the_identity_provider_contract() {
    conformance(ClientOptions::default()).await;
}

#[tokio::test]
async fn conforms_with_a_client_secret() {
    conformance(ClientOptions::with_secret()).await;
}

#[tokio::test]
async fn sign_in_by_email_alias_uses_the_internal_username() {
    let env = Env::start(
        json!({"PoolName": "by-email", "UsernameAttributes": ["email"]}),
        ClientOptions::with_secret(),
    )
    .await;
    let internal = env.user("zoe@example.com", &[("email", "zoe@example.com")]).await;
    assert_ne!(internal, "zoe@example.com");
    let provider = env.provider();
    for flow in [SignInFlow::SecureRemotePassword, SignInFlow::Password] {
        let session = signed_in(sign_in(&provider, "zoe@example.com", flow).await);
        assert_eq!(session.username, internal);
        // A refresh's SECRET_HASH uses the internal name.
        provider.refresh(&session).await.expect("refresh with SECRET_HASH of the internal name");
    }
}

#[tokio::test]
async fn new_password_required_with_a_required_attribute() {
    let env = Env::start(
        json!({"PoolName": "new-password", "Schema": [
            {"Name": "name", "AttributeDataType": "String", "Required": true, "Mutable": true}]}),
        ClientOptions::default(),
    )
    .await;
    env.admin(
        "AdminCreateUser",
        json!({"UserPoolId": env.pool_id, "Username": "newbie", "TemporaryPassword": "Temp-Passw0rd!",
               "MessageAction": "SUPPRESS", "UserAttributes": [{"Name": "email", "Value": "n@example.com"}]}),
    )
    .await;
    let provider = env.provider();
    let request = SignInRequest::password("newbie", "Temp-Passw0rd!");
    let step = step(IdentityProvider::sign_in(&provider, &request).await.unwrap());
    assert_eq!(
        step.kind,
        ChallengeKind::NewPasswordRequired { required_attributes: vec!["name".into()] }
    );
    let response = ChallengeResponse::answer(PASSWORD).with_attribute("name", "New Bie");
    signed_in(provider.respond_to_challenge(&step.context, &response).await.unwrap());
    // The new password is the password now, with SRP too.
    signed_in(sign_in(&provider, "newbie", SignInFlow::SecureRemotePassword).await);
}

#[tokio::test]
async fn sms_email_and_authenticator_codes_and_mfa_choice() {
    let env = Env::start(
        json!({"PoolName": "mfa", "MfaConfiguration": "OPTIONAL"}),
        ClientOptions::default(),
    )
    .await;
    env.user("sam", &[("phone_number", "+15555550100"), ("email", "sam@example.com")]).await;
    let provider = env.provider();
    let session = signed_in(sign_in(&provider, "sam", SignInFlow::Password).await);
    let access = session.tokens.access_token();

    // SMS only.
    provider.set_mfa_preference(access, MfaPreference::new().sms(true, true)).await.unwrap();
    let sms = step(sign_in(&provider, "sam", SignInFlow::SecureRemotePassword).await);
    assert!(matches!(&sms.kind, ChallengeKind::SmsMfa { destination: Some(_) }), "{:?}", sms.kind);
    let wrong = answer(&provider, &sms, "000000").await;
    assert_eq!(wrong.unwrap_err().code(), Some("CodeMismatchException"));
    let code = env.code("sam");
    signed_in(answer(&provider, &sms, &code).await.unwrap());

    // An authenticator app, set up while signed in.
    let setup = provider.associate_software_token(access).await.unwrap();
    assert!(setup.otpauth_uri.secret().starts_with("otpauth://totp/"));
    provider.verify_software_token(access, &env.totp("sam").into(), Some("phone")).await.unwrap();
    provider
        .set_mfa_preference(access, MfaPreference::new().sms(true, false).totp(true, true))
        .await
        .unwrap();
    let profile = provider.get_user(access).await.unwrap();
    assert_eq!(profile.preferred_mfa, Some(auth_core::MfaType::Totp));
    let totp = step(sign_in(&provider, "sam", SignInFlow::SecureRemotePassword).await);
    assert_eq!(totp.kind, ChallengeKind::SoftwareTokenMfa);
    signed_in(answer(&provider, &totp, &env.totp("sam")).await.unwrap());

    // Both enabled, none preferred: the user chooses.
    provider
        .set_mfa_preference(access, MfaPreference::new().sms(true, false).totp(true, false))
        .await
        .unwrap();
    let select = step(sign_in(&provider, "sam", SignInFlow::Password).await);
    let ChallengeKind::SelectMfaType { options } = &select.kind else {
        panic!("{:?}", select.kind)
    };
    assert!(
        options.contains(&auth_core::MfaType::Sms) && options.contains(&auth_core::MfaType::Totp)
    );
    let totp = step(answer(&provider, &select, "SOFTWARE_TOKEN_MFA").await.unwrap());
    assert_eq!(totp.kind, ChallengeKind::SoftwareTokenMfa);
    signed_in(answer(&provider, &totp, &env.totp("sam")).await.unwrap());

    // Email codes.
    provider
        .set_mfa_preference(
            access,
            MfaPreference::new().sms(false, false).totp(false, false).email(true, true),
        )
        .await
        .unwrap();
    let email = step(sign_in(&provider, "sam", SignInFlow::SecureRemotePassword).await);
    assert!(matches!(&email.kind, ChallengeKind::EmailOtp { .. }), "{:?}", email.kind);
    signed_in(answer(&provider, &email, &env.code("sam")).await.unwrap());
}

#[tokio::test]
async fn mfa_setup_during_sign_in() {
    let env = Env::start(
        json!({"PoolName": "mfa-on", "MfaConfiguration": "ON"}),
        ClientOptions::with_secret(),
    )
    .await;
    env.user("tia", &[]).await;
    let provider = env.builder().totp_issuer("Mock App").build().unwrap();
    let setup = step(sign_in(&provider, "tia", SignInFlow::SecureRemotePassword).await);
    let ChallengeKind::MfaSetup { secret, otpauth_uri } = &setup.kind else {
        panic!("{:?}", setup.kind)
    };
    assert!(secret.secret().len() >= 16);
    assert!(otpauth_uri.secret().starts_with("otpauth://totp/Mock%20App:tia?secret="));
    let wrong = answer(&provider, &setup, "000000").await;
    assert!(wrong.unwrap_err().is_rejected(), "a wrong first code is refused");
    // The secret associated through the sign-in session is not on the user yet, so the
    // handle's `totp_code` cannot see it: compute the code from the secret shown.
    let code = auth_mock_server::totp_code(secret.secret(), env.server.now()).unwrap();
    signed_in(answer(&provider, &setup, &code).await.unwrap());
    // From now on the authenticator is asked for.
    let totp = step(sign_in(&provider, "tia", SignInFlow::Password).await);
    assert_eq!(totp.kind, ChallengeKind::SoftwareTokenMfa);
}

#[tokio::test]
async fn custom_auth_with_and_without_srp() {
    let env = Env::simple().await;
    env.user("cus", &[]).await;
    env.server.set_custom_auth(&env.pool_id, "cus", Some("forty-two")).unwrap();
    let provider = env.provider();
    let custom =
        step(IdentityProvider::sign_in(&provider, &SignInRequest::custom("cus")).await.unwrap());
    assert_eq!(custom.kind, ChallengeKind::CustomChallenge);
    // A wrong answer gets another round of the challenge (three attempts in all).
    let again = step(answer(&provider, &custom, "41").await.unwrap());
    assert_eq!(again.kind, ChallengeKind::CustomChallenge);
    signed_in(answer(&provider, &again, "forty-two").await.unwrap());

    let custom = step(sign_in(&provider, "cus", SignInFlow::CustomWithSrp).await);
    assert_eq!(custom.challenge_name, "CUSTOM_CHALLENGE");
    signed_in(answer(&provider, &custom, "forty-two").await.unwrap());
    let wrong_password =
        SignInRequest::password("cus", "Wrong-Passw0rd!").with_flow(SignInFlow::CustomWithSrp);
    assert!(IdentityProvider::sign_in(&provider, &wrong_password).await.unwrap_err().is_rejected());
}

#[tokio::test]
async fn a_remembered_device_skips_mfa() {
    let env = Env::start(remembering_devices("devices", false), ClientOptions::with_secret()).await;
    env.user("dee", &[("phone_number", "+15555550111")]).await;
    let devices = Arc::new(MemoryDeviceStore::new());
    let provider =
        env.builder().device_store(devices.clone()).device_name("ci-runner").build().unwrap();

    // Enable SMS MFA with a session that tracks no device.
    let plain = env.builder().device_tracking(DeviceTracking::Off).build().unwrap();
    let session = signed_in(sign_in(&plain, "dee", SignInFlow::Password).await);
    plain
        .set_mfa_preference(session.tokens.access_token(), MfaPreference::new().sms(true, true))
        .await
        .unwrap();
    assert!(devices.get("dee").await.unwrap().is_none());

    // First SRP sign-in on this device: MFA, then the device is confirmed and remembered.
    let sms = step(sign_in(&provider, "dee", SignInFlow::SecureRemotePassword).await);
    let session = signed_in(answer(&provider, &sms, &env.code("dee")).await.unwrap());
    let device = devices.get("dee").await.unwrap().expect("the device is remembered after sign-in");
    assert_eq!(session.device_key().unwrap().secret(), device.device_key);
    let listed = provider.list_devices(session.tokens.access_token(), None, None).await.unwrap();
    assert!(
        listed.devices.iter().any(|d| d.key == device.device_key && d.name() == Some("ci-runner")),
        "{listed:?}"
    );

    // The refresh names the device.
    provider.refresh(&session).await.expect("refresh with DEVICE_KEY");

    // Next sign-in: DEVICE_SRP_AUTH instead of MFA.
    env.server.reset_request_counts();
    let session = signed_in(sign_in(&provider, "dee", SignInFlow::SecureRemotePassword).await);
    assert_eq!(session.device_key().unwrap().secret(), device.device_key);
    assert_eq!(
        env.server.request_count("RespondToAuthChallenge"),
        3,
        "PASSWORD_VERIFIER, DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER"
    );

    // Forgotten on the server: the next sign-in falls back to MFA and forgets it locally.
    provider
        .forget_device(session.tokens.access_token(), &device.device_key, "other-user")
        .await
        .unwrap();
    assert!(devices.get("dee").await.unwrap().is_some(), "another user's entry is not touched");
    let outcome = sign_in(&provider, "dee", SignInFlow::SecureRemotePassword).await;
    assert!(
        matches!(outcome, SignInOutcome::NextStep(ref s) if s.challenge_name == "SMS_MFA"),
        "MFA again after the device was forgotten"
    );
}

/// The case device tracking exists for: the device is remembered by one process, and a
/// later process (a new `CognitoUserPool` over a new `FileDeviceStore` on the same
/// directory, as after a restart) signs in with DEVICE_SRP_AUTH instead of MFA.
#[cfg(feature = "file-device-store")]
#[tokio::test]
async fn a_remembered_device_survives_a_restart_with_the_file_store() {
    use auth_cognito::FileDeviceStore;
    use auth_storage::{EncryptionKey, Namespace};

    let env = Env::start(remembering_devices("restart", false), ClientOptions::default()).await;
    env.user("rey", &[("phone_number", "+15555550112")]).await;
    let plain = env.builder().device_tracking(DeviceTracking::Off).build().unwrap();
    let session = signed_in(sign_in(&plain, "rey", SignInFlow::Password).await);
    plain
        .set_mfa_preference(session.tokens.access_token(), MfaPreference::new().sms(true, true))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::generate();
    let namespace = Namespace::app_client(&env.pool_id, &env.client.client_id).unwrap();
    let file_store = || {
        Arc::new(
            FileDeviceStore::builder(dir.path(), namespace.clone())
                .encryption_key(key.clone())
                .build(),
        )
    };

    // First run: MFA, then the device is confirmed and written to the file.
    let device_key = {
        let provider = env.builder().device_store(file_store()).build().unwrap();
        let sms = step(sign_in(&provider, "rey", SignInFlow::SecureRemotePassword).await);
        let session = signed_in(answer(&provider, &sms, &env.code("rey")).await.unwrap());
        provider.sign_out(&session, &SignOutOptions::default()).await.unwrap();
        session.device_key().unwrap().secret().to_owned()
    };
    let text = std::fs::read_to_string(file_store().path()).unwrap();
    assert!(!text.contains(&device_key), "the file is encrypted: {text}");

    // "Restart": nothing shared with the first run but the directory and the key.
    let devices = file_store();
    let remembered = devices.get("rey").await.unwrap().expect("the device was kept in the file");
    assert_eq!(remembered.device_key, device_key);
    let provider = env.builder().device_store(devices).build().unwrap();
    env.server.reset_request_counts();
    let session = signed_in(sign_in(&provider, "rey", SignInFlow::SecureRemotePassword).await);
    assert_eq!(session.device_key().unwrap().secret(), device_key);
    assert_eq!(
        env.server.request_count("RespondToAuthChallenge"),
        3,
        "PASSWORD_VERIFIER, DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER: no MFA"
    );
    assert_eq!(env.server.request_count("ConfirmDevice"), 0, "the same device, not a new one");
}

#[tokio::test]
async fn account_operations_end_to_end() {
    let env = Env::start(
        json!({"PoolName": "accounts", "AutoVerifiedAttributes": ["email"]}),
        ClientOptions::with_secret(),
    )
    .await;
    let provider = env.provider();
    let outcome = AccountProvider::sign_up(
        &provider,
        &SignUpRequest::new("una", PASSWORD).with_attribute("email", "una@example.com"),
    )
    .await
    .unwrap();
    assert!(!outcome.confirmed);
    let error = IdentityProvider::sign_in(&provider, &SignInRequest::password("una", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("UserNotConfirmedException"));
    AccountProvider::resend_sign_up_code(&provider, "una").await.unwrap();
    let wrong =
        AccountProvider::confirm_sign_up(&provider, "una", &"000000".into()).await.unwrap_err();
    assert_eq!(wrong.kind(), Some(&auth_core::ServiceErrorKind::CodeMismatch));
    AccountProvider::confirm_sign_up(&provider, "una", &env.code("una").into()).await.unwrap();
    let session = signed_in(sign_in(&provider, "una", SignInFlow::SecureRemotePassword).await);
    let access = session.tokens.access_token().clone();

    let attributes = AccountProvider::user_attributes(&provider, &access).await.unwrap();
    assert_eq!(attributes["email"], "una@example.com");
    AccountProvider::update_user_attributes(
        &provider,
        &access,
        &BTreeMap::from([
            ("email".to_owned(), "una2@example.com".to_owned()),
            ("name".to_owned(), "Una".to_owned()),
        ]),
    )
    .await
    .unwrap();
    let code = env.code("una");
    AccountProvider::verify_user_attribute(&provider, &access, "email", &code.into())
        .await
        .unwrap();
    let attributes = AccountProvider::user_attributes(&provider, &access).await.unwrap();
    assert_eq!(attributes["email"], "una2@example.com");
    assert_eq!(attributes["email_verified"], "true");
    AccountProvider::delete_user_attributes(&provider, &access, &["name".to_owned()])
        .await
        .unwrap();
    assert!(
        !AccountProvider::user_attributes(&provider, &access).await.unwrap().contains_key("name")
    );

    let new_password = "N3w-Passw0rd!-Mock";
    AccountProvider::change_password(&provider, &access, &PASSWORD.into(), &new_password.into())
        .await
        .unwrap();
    let request = SignInRequest::password("una", new_password);
    signed_in(IdentityProvider::sign_in(&provider, &request).await.unwrap());

    AccountProvider::forgot_password(&provider, "una").await.unwrap();
    AccountProvider::confirm_forgot_password(
        &provider,
        "una",
        &env.code("una").into(),
        &PASSWORD.into(),
    )
    .await
    .unwrap();
    let session = signed_in(sign_in(&provider, "una", SignInFlow::Password).await);

    AccountProvider::delete_user(&provider, session.tokens.access_token()).await.unwrap();
    let error = IdentityProvider::sign_in(&provider, &SignInRequest::password("una", PASSWORD))
        .await
        .unwrap_err();
    assert!(error.is_rejected(), "{error:?}");
}

#[tokio::test]
async fn injected_faults_are_classified_and_retried_only_when_safe() {
    let env = Env::simple().await;
    env.user("flo", &[]).await;
    let provider = env.provider();
    let session = signed_in(sign_in(&provider, "flo", SignInFlow::Password).await);

    env.server.reset_request_counts();
    env.server.add_fault(
        Fault::error("InitiateAuth", "TooManyRequestsException", "Rate exceeded").times(2),
    );
    provider.refresh(&session).await.expect("a throttled refresh is retried");
    assert_eq!(env.server.request_count("InitiateAuth"), 3);

    env.server.reset_request_counts();
    env.server.add_fault(
        Fault::error("InitiateAuth", "TooManyRequestsException", "Rate exceeded").times(1),
    );
    let error = IdentityProvider::sign_in(
        &provider,
        &SignInRequest::password("flo", PASSWORD).with_flow(SignInFlow::Password),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, auth_core::ProviderError::Unavailable(_)), "{error:?}");
    assert_eq!(env.server.request_count("InitiateAuth"), 1, "a password sign-in is not repeated");

    env.server.add_fault(
        Fault::error("InitiateAuth", "InternalErrorException", "boom").status(500).times(1),
    );
    let error = provider.refresh(&session).await.unwrap_err();
    assert!(matches!(error, auth_core::ProviderError::Unavailable(_)), "{error:?}");

    env.server.add_fault(Fault::drop_connection("InitiateAuth").times(3));
    let error = provider.refresh(&session).await.unwrap_err();
    assert!(error.is_network(), "a dropped connection is a network failure: {error:?}");

    env.server.reset_request_counts();
    env.server.add_fault(Fault::drop_connection("InitiateAuth").times(1));
    provider.refresh(&session).await.expect("one dropped connection is retried");
    assert_eq!(env.server.request_count("InitiateAuth"), 2);

    let slow = env
        .builder()
        .request_timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    env.server.add_fault(Fault::latency("GetUser", 1_000).times(1));
    let error = slow.get_user(session.tokens.access_token()).await.unwrap_err();
    let auth_cognito::CognitoError::Network(failure) = &error else { panic!("{error:?}") };
    assert_eq!(failure.kind(), auth_cognito::NetworkErrorKind::Timeout);
    env.server.clear_faults();

    env.server.revoke_refresh_tokens(&env.pool_id, "flo").unwrap();
    let error = provider.refresh(&session).await.unwrap_err();
    assert!(error.is_rejected(), "a revoked refresh token is rejected: {error:?}");
    assert_eq!(error.code(), Some("NotAuthorizedException"));
}

#[tokio::test]
async fn auth_client_with_the_cognito_provider() {
    let env = Env::simple().await;
    env.user("ava", &[("email", "ava@example.com")]).await;
    let provider = Arc::new(env.provider());
    let clock = Arc::new(ManualClock::new(std::time::SystemTime::now()));
    let client =
        waiting_auth_client(provider.clone(), clock.clone(), Duration::from_secs(10)).await;
    let mut changes = client.state_changes();
    assert!(matches!(
        client.sign_in(SignInRequest::password("ava", PASSWORD)).await.unwrap(),
        SignInResult::Done
    ));
    assert_eq!(client.username().as_deref(), Some("ava"));
    let first = client.tokens().await.unwrap();
    // The user pool offers account operations itself: no `.account_provider(...)` needed.
    let account = client.account().expect("the user pool is the account provider");
    assert_eq!(account.user_attributes().await.unwrap()["email"], "ava@example.com");
    let again = client.sign_in(SignInRequest::password("ava", PASSWORD)).await.unwrap_err();
    assert!(matches!(again, auth_core::AuthError::AlreadySignedIn), "{again:?}");

    // Expired: concurrent requests share one refresh. (Both clocks move: a client clock
    // ahead of the server by more than the token lifetime would see every new token as
    // expired already.)
    env.server.reset_request_counts();
    clock.advance(Duration::from_secs(3600));
    env.server.advance_clock(Duration::from_secs(3600));
    let requests: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.tokens().await })
        })
        .collect();
    for request in requests {
        let tokens = request.await.unwrap().unwrap();
        assert_ne!(tokens.access_token(), first.access_token());
    }
    assert_eq!(env.server.request_count("InitiateAuth:REFRESH_TOKEN_AUTH"), 1, "single flight");

    // The network fails during a refresh: still signed in, nothing deleted.
    clock.advance(Duration::from_secs(3600));
    env.server.advance_clock(Duration::from_secs(3600));
    env.server.add_fault(Fault::drop_connection("InitiateAuth").times(3));
    assert!(client.tokens().await.unwrap_err().is_transient());
    assert_eq!(client.current_user_state().state, UserState::SignedIn);

    // Revoked on the server: the refresh is rejected, requests wait for a new sign-in.
    env.server.clear_faults();
    env.server.revoke_refresh_tokens(&env.pool_id, "ava").unwrap();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.tokens().await }
    });
    tokio::time::timeout(Duration::from_secs(10), async {
        while client.current_user_state().state != UserState::SignedOutUserPoolsTokensInvalid {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the rejected refresh leads to SignedOutUserPoolsTokensInvalid");
    assert!(matches!(
        client.sign_in(SignInRequest::password("ava", PASSWORD)).await.unwrap(),
        SignInResult::Done
    ));
    let tokens =
        waiting.await.unwrap().expect("the waiting request completes after the new sign-in");
    assert!(tokens.is_valid_at(auth_core::Clock::now(&*clock), Duration::ZERO));

    // Global sign-out revokes on the server, then clears locally.
    let session_refresh = client.tokens().await.unwrap();
    client.sign_out(SignOutOptions::global()).await.unwrap();
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
    let stale = UserPoolSession::new("ava", session_refresh);
    assert!(provider.refresh(&stale).await.unwrap_err().is_rejected());

    let mut seen = Vec::new();
    while let Ok(Some(change)) =
        tokio::time::timeout(Duration::from_millis(200), changes.next()).await
    {
        seen.push(change.state);
    }
    assert_eq!(
        seen,
        [
            UserState::SignedIn,
            UserState::SignedOutUserPoolsTokensInvalid,
            UserState::SignedIn,
            UserState::SignedOut,
        ]
    );
}

#[tokio::test]
async fn jwt_verifier_accepts_the_servers_tokens() {
    let env = Env::simple().await;
    env.user("vic", &[("email", "vic@example.com")]).await;
    env.admin("CreateGroup", json!({"UserPoolId": env.pool_id, "GroupName": "editors"})).await;
    env.admin(
        "AdminAddUserToGroup",
        json!({"UserPoolId": env.pool_id, "Username": "vic", "GroupName": "editors"}),
    )
    .await;
    let session = signed_in(sign_in(&env.provider(), "vic", SignInFlow::Password).await);
    let issuer = env.server.issuer(&env.pool_id).unwrap();
    let verifier = JwtVerifier::builder(&env.pool_id)
        .client_id(&env.client.client_id)
        .issuer(&issuer)
        .jwks_url(format!("{}/{}/.well-known/jwks.json", env.server.url(), env.pool_id))
        .require_any_group(["editors"])
        .build()
        .unwrap();
    let id = verifier.verify_id_token(session.tokens.id_token().secret()).await.unwrap();
    assert_eq!(id.username(), Some("vic"));
    assert_eq!(id.string("email"), Some("vic@example.com"));
    let access =
        verifier.verify_access_token(session.tokens.access_token().secret()).await.unwrap();
    assert_eq!(access.subject(), id.subject());
    assert!(access.scopes().contains(&"aws.cognito.signin.user.admin"));
    assert!(matches!(
        verifier.verify_id_token(session.tokens.access_token().secret()).await,
        Err(JwtError::WrongTokenUse { expected: TokenUse::Id, .. })
    ));
}

#[tokio::test]
async fn refresh_token_rotation() {
    let env = Env::start(
        json!({"PoolName": "rotation"}),
        ClientOptions::with_secret().extra(json!({
            "RefreshTokenRotation": {"Feature": "ENABLED", "RetryGracePeriodSeconds": 30}
        })),
    )
    .await;
    env.user("rot", &[]).await;
    let provider = env.builder().refresh_token_rotation(true).build().unwrap();
    let session = signed_in(sign_in(&provider, "rot", SignInFlow::SecureRemotePassword).await);
    let rotated = provider.refresh(&session).await.unwrap();
    let new_refresh = rotated.refresh_token().expect("rotation returns a new refresh token");
    assert_ne!(Some(new_refresh), session.tokens.refresh_token());
    assert_eq!(env.server.request_count("GetTokensFromRefreshToken"), 1);
    // The old token still works within the grace period, then it is refused.
    provider.refresh(&session).await.expect("within the grace period");
    env.server.advance_clock(Duration::from_secs(31));
    let error = provider.refresh(&session).await.unwrap_err();
    assert_eq!(error.code(), Some("RefreshTokenReuseException"));
    assert!(error.is_rejected());
    let mut newer = session.clone();
    newer.tokens = rotated;
    provider.refresh(&newer).await.expect("the rotated token works");
}

/// A pool whose choice-based sign-in allows passwords and one-time codes by email and SMS;
/// `olga` has a verified email, `sam` a verified phone number.
async fn choice_env() -> Env {
    let pool = json!({
        "PoolName": "choice",
        "Policies": {"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]}},
    });
    let env = Env::start(pool, ClientOptions::default()).await;
    env.user("olga", &[("email", "olga@example.com"), ("email_verified", "true")]).await;
    env.user("sam", &[("phone_number", "+15555550100"), ("phone_number_verified", "true")]).await;
    env
}

fn next_step(result: SignInResult) -> SignInNextStep {
    match result {
        SignInResult::NextStep(step) => step,
        SignInResult::Done => panic!("expected a challenge, the sign-in is done"),
        _ => panic!("unexpected result"),
    }
}

#[tokio::test]
async fn user_auth_passwordless_email_code_through_auth_client() {
    let env = choice_env().await;
    let client = AuthClient::builder().identity_provider(Arc::new(env.provider())).build();
    client.initialize().await.unwrap();

    let select = next_step(client.sign_in(SignInRequest::choice_based("olga")).await.unwrap());
    assert_eq!(select.challenge_name, "SELECT_CHALLENGE");
    assert_eq!(
        select.kind,
        ChallengeKind::SelectFirstFactor {
            options: vec![FirstFactor::Password, FirstFactor::PasswordSrp, FirstFactor::EmailOtp]
        }
    );
    assert_eq!(client.current_user_state().state, UserState::SignedOut);
    let code_step = next_step(
        client
            .confirm_sign_in(ChallengeResponse::first_factor(FirstFactor::EmailOtp))
            .await
            .unwrap(),
    );
    assert_eq!(code_step.challenge_name, "EMAIL_OTP");
    assert!(matches!(code_step.kind, ChallengeKind::EmailOtp { destination: Some(_) }));
    let delivered = env.server.last_code(&env.pool_id, "olga").unwrap();
    assert_eq!(delivered.purpose, "otp");

    // A wrong code is refused and leaves the challenge open.
    let wrong = if delivered.code == "00000000" { "11111111" } else { "00000000" };
    let error = client.confirm_sign_in(ChallengeResponse::answer(wrong)).await.unwrap_err();
    assert!(matches!(error, auth_core::AuthError::Provider(ref e) if e.is_rejected()), "{error:?}");
    assert!(matches!(
        client.confirm_sign_in(ChallengeResponse::answer(delivered.code)).await.unwrap(),
        SignInResult::Done
    ));
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    assert_eq!(client.username().as_deref(), Some("olga"));
    assert!(client.tokens().await.unwrap().refresh_token().is_some());
    assert_eq!(env.server.request_count("InitiateAuth:USER_AUTH"), 1);

    // Preferring the email code skips the choice.
    let provider = env.provider();
    let request =
        SignInRequest::choice_based("olga").with_preferred_first_factor(FirstFactor::EmailOtp);
    let code_step = step(IdentityProvider::sign_in(&provider, &request).await.unwrap());
    assert_eq!(code_step.challenge_name, "EMAIL_OTP");
    signed_in(answer(&provider, &code_step, &env.code("olga")).await.unwrap());

    // And the SMS code, for a user with a phone number.
    let request =
        SignInRequest::choice_based("sam").with_preferred_first_factor(FirstFactor::SmsOtp);
    let code_step = step(IdentityProvider::sign_in(&provider, &request).await.unwrap());
    assert_eq!(code_step.challenge_name, "SMS_OTP");
    assert!(matches!(code_step.kind, ChallengeKind::SmsOtp { destination: Some(_) }));
    signed_in(answer(&provider, &code_step, &env.code("sam")).await.unwrap());
}

#[tokio::test]
async fn user_auth_password_srp_preferred_and_chosen() {
    let env = choice_env().await;
    let provider = env.provider();
    let session = signed_in(
        IdentityProvider::sign_in(
            &provider,
            &SignInRequest::choice_based_with_password("olga", PASSWORD),
        )
        .await
        .unwrap(),
    );
    assert_eq!(session.username, "olga");
    provider.refresh(&session).await.unwrap();

    let wrong = SignInRequest::choice_based_with_password("olga", "Wr0ng-password!");
    assert!(IdentityProvider::sign_in(&provider, &wrong).await.unwrap_err().is_rejected());

    // Chosen at SELECT_CHALLENGE, the password coming with the choice.
    for factor in [FirstFactor::PasswordSrp, FirstFactor::Password] {
        let select = step(
            IdentityProvider::sign_in(&provider, &SignInRequest::choice_based("olga"))
                .await
                .unwrap(),
        );
        let choice = ChallengeResponse::first_factor(factor).with_password(PASSWORD);
        signed_in(provider.respond_to_challenge(&select.context, &choice).await.unwrap());
    }
    assert_eq!(env.server.request_count("InitiateAuth:USER_AUTH"), 4);
}
