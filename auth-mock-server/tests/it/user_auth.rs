//! Choice-based sign-in (`AuthFlow: USER_AUTH`) through the official SDK: a preferred first
//! factor, `SELECT_CHALLENGE` and its `AvailableChallenges`, one-time codes by email and
//! SMS read back through the test-control API, SRP, MFA after a password, and the rules
//! (`ALLOW_USER_AUTH`, `AllowedFirstAuthFactors`, wrong codes, sessions, missing users).

use std::time::Duration;

use auth_mock_server::ClientOptions;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::builders::InitiateAuthFluentBuilder;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFactorType, AuthFlowType, ChallengeNameType, SignInPolicyType, UserPoolMfaType,
    UserPoolPolicyType,
};

use crate::support::{Fixture, PASSWORD, Tokens as _, assert_code, assert_error, fixture};

/// The fixture with a pool that allows every first factor the mock supports, and a user
/// `sam` with a verified phone number (alice has a verified email and no phone).
async fn choice_fixture() -> Fixture {
    let f = fixture().await;
    f.sdk
        .update_user_pool()
        .user_pool_id(&f.pool)
        .policies(policies(&[
            AuthFactorType::Password,
            AuthFactorType::EmailOtp,
            AuthFactorType::SmsOtp,
        ]))
        .send()
        .await
        .unwrap();
    f.add_user("sam", &[("phone_number", "+15555550100"), ("phone_number_verified", "true")]).await;
    f
}

fn policies(factors: &[AuthFactorType]) -> UserPoolPolicyType {
    let mut sign_in = SignInPolicyType::builder();
    for factor in factors {
        sign_in = sign_in.allowed_first_auth_factors(factor.clone());
    }
    UserPoolPolicyType::builder().sign_in_policy(sign_in.build()).build()
}

impl Fixture {
    /// USER_AUTH preferring PASSWORD_SRP for `username`, answered with an SRP proof of
    /// `password`: the PASSWORD_VERIFIER challenge and the answer's outcome.
    async fn user_auth_srp(
        &self,
        username: &str,
        password: &str,
    ) -> (InitiateAuthOutput, Result<RespondToAuthChallengeOutput, String>) {
        let ephemeral = auth_srp::ClientEphemeral::new();
        let challenge = self
            .preferring(username, "PASSWORD_SRP")
            .auth_parameters("SRP_A", ephemeral.public_hex())
            .send()
            .await
            .unwrap();
        let params = challenge.challenge_parameters().unwrap();
        let user_id = &params["USER_ID_FOR_SRP"];
        let timestamp = auth_srp::format_timestamp(std::time::SystemTime::now());
        let data = auth_srp::PasswordChallenge::new(
            auth_srp::pool_name(&self.pool),
            user_id,
            &params["SALT"],
            &params["SRP_B"],
            &params["SECRET_BLOCK"],
        );
        let signature = ephemeral.password_claim_signature(&data, password, &timestamp).unwrap();
        let outcome = self
            .answer(ChallengeNameType::PasswordVerifier, challenge.session(), user_id)
            .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &params["SECRET_BLOCK"])
            .challenge_responses("PASSWORD_CLAIM_SIGNATURE", signature)
            .challenge_responses("TIMESTAMP", &timestamp)
            .send()
            .await
            .map_err(|error| crate::support::code(&error));
        (challenge, outcome)
    }

    /// InitiateAuth with USER_AUTH for `username`, ready to get more parameters.
    fn user_auth(&self, username: &str) -> InitiateAuthFluentBuilder {
        self.user_auth_via(&self.client.client_id, username)
    }

    /// [`Fixture::user_auth`] preferring the first factor `factor`, ready to send (or to be
    /// given the factor's input, `PASSWORD` or `SRP_A`).
    fn preferring(&self, username: &str, factor: &str) -> InitiateAuthFluentBuilder {
        self.user_auth(username).auth_parameters("PREFERRED_CHALLENGE", factor)
    }

    /// USER_AUTH preferring EMAIL_OTP for `username`: the challenge, and the code the server
    /// sent (read back through the test-control API).
    async fn email_otp(&self, username: &str) -> (InitiateAuthOutput, String) {
        let otp = self.preferring(username, "EMAIL_OTP").send().await.unwrap();
        let code = self.server.last_code(&self.pool, username).unwrap().code;
        (otp, code)
    }

    /// [`Fixture::user_auth`] through `client_id`.
    fn user_auth_via(&self, client_id: &str, username: &str) -> InitiateAuthFluentBuilder {
        self.initiate(AuthFlowType::UserAuth, client_id).auth_parameters("USERNAME", username)
    }
}

#[tokio::test]
async fn user_auth_preferred_password_signs_in_and_refuses_a_wrong_one() {
    let f = fixture().await;
    let out = f
        .preferring("alice", "PASSWORD")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    let tokens = out.authentication_result().expect("tokens at once");
    assert!(tokens.access_token().is_some() && tokens.refresh_token().is_some());
    assert_eq!(f.server.request_count("InitiateAuth:USER_AUTH"), 1);

    let wrong = f
        .preferring("alice", "PASSWORD")
        .auth_parameters("PASSWORD", "Wr0ng-password")
        .send()
        .await;
    assert_code(wrong, "NotAuthorizedException");
}

#[tokio::test]
async fn user_auth_preferred_password_srp_completes_srp() {
    let f = fixture().await;
    // The SRP answer is single-use: a wrong proof ends that exchange.
    let (challenge, wrong) = f.user_auth_srp("alice", "Wr0ng-password").await;
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::PasswordVerifier));
    assert_eq!(wrong.unwrap_err(), "NotAuthorizedException");

    let (_, done) = f.user_auth_srp("alice", PASSWORD).await;
    assert!(done.unwrap().authentication_result().and_then(|r| r.id_token()).is_some());
}

#[tokio::test]
async fn user_auth_select_challenge_lists_factors_then_email_otp_signs_in() {
    let f = choice_fixture().await;
    let select = f.user_auth("alice").send().await.unwrap();
    assert_eq!(select.challenge_name(), Some(&ChallengeNameType::SelectChallenge));
    assert!(select.session().is_some_and(|s| s.len() >= 20));
    assert_eq!(
        select.available_challenges(),
        [ChallengeNameType::Password, ChallengeNameType::PasswordSrp, ChallengeNameType::EmailOtp],
        "alice has a verified email and no phone"
    );
    let sam = f.user_auth("sam").send().await.unwrap();
    assert_eq!(
        sam.available_challenges(),
        [ChallengeNameType::Password, ChallengeNameType::PasswordSrp, ChallengeNameType::SmsOtp]
    );

    // A factor that is not on offer is refused and the session stays usable.
    let refused = f
        .answer(ChallengeNameType::SelectChallenge, select.session(), "alice")
        .challenge_responses("ANSWER", "SMS_OTP")
        .send()
        .await;
    assert_code(refused, "InvalidParameterException");

    let otp = f
        .respond(
            ChallengeNameType::SelectChallenge,
            select.session(),
            "alice",
            &[("ANSWER", "EMAIL_OTP")],
        )
        .await;
    assert_eq!(otp.challenge_name(), Some(&ChallengeNameType::EmailOtp));
    let params = otp.challenge_parameters().unwrap();
    assert_eq!(params["CODE_DELIVERY_DELIVERY_MEDIUM"], "EMAIL");
    assert_eq!(params["CODE_DELIVERY_DESTINATION"], "a***@e***");
    let delivered = f.server.last_code(&f.pool, "alice").unwrap();
    assert_eq!(delivered.purpose, "otp");
    assert_eq!(delivered.code.len(), 6);

    let done = f
        .respond(
            ChallengeNameType::EmailOtp,
            otp.session(),
            "alice",
            &[("EMAIL_OTP_CODE", &delivered.code)],
        )
        .await;
    let tokens = done.tokens();
    let claims = crate::support::claims(tokens.id_token().unwrap());
    assert_eq!(claims["cognito:username"], "alice");
    assert!(tokens.new_device_metadata().is_none(), "devices are tracked only after SRP");
}

#[tokio::test]
async fn user_auth_select_challenge_password_answer_and_admin_form() {
    let f = choice_fixture().await;
    let select = f.user_auth("alice").send().await.unwrap();
    let missing = f
        .answer(ChallengeNameType::SelectChallenge, select.session(), "alice")
        .challenge_responses("ANSWER", "PASSWORD")
        .send()
        .await;
    assert_code(missing, "InvalidParameterException");
    f.respond(
        ChallengeNameType::SelectChallenge,
        select.session(),
        "alice",
        &[("ANSWER", "PASSWORD"), ("PASSWORD", PASSWORD)],
    )
    .await
    .tokens();

    let admin = f
        .sdk
        .admin_initiate_auth()
        .user_pool_id(&f.pool)
        .client_id(&f.client.client_id)
        .auth_flow(AuthFlowType::UserAuth)
        .auth_parameters("USERNAME", "sam")
        .auth_parameters("PREFERRED_CHALLENGE", "SMS_OTP")
        .send()
        .await
        .unwrap();
    assert_eq!(admin.challenge_name(), Some(&ChallengeNameType::SmsOtp));
    let code = f.server.last_code(&f.pool, "sam").unwrap().code;
    let done = f
        .sdk
        .admin_respond_to_auth_challenge()
        .user_pool_id(&f.pool)
        .client_id(&f.client.client_id)
        .challenge_name(ChallengeNameType::SmsOtp)
        .set_session(admin.session().map(str::to_owned))
        .challenge_responses("USERNAME", "sam")
        .challenge_responses("SMS_OTP_CODE", code)
        .send()
        .await
        .unwrap();
    assert!(done.authentication_result().is_some());
    assert_eq!(f.server.request_count("AdminInitiateAuth:USER_AUTH"), 1);
}

#[tokio::test]
async fn user_auth_sms_otp_signs_in_without_mfa() {
    let f = choice_fixture().await;
    // MFA is required for everyone, yet a one-time-code first factor is not followed by it.
    f.set_mfa_with_totp(UserPoolMfaType::On).await;
    let otp = f.preferring("sam", "SMS_OTP").send().await.unwrap();
    assert_eq!(otp.challenge_name(), Some(&ChallengeNameType::SmsOtp));
    let params = otp.challenge_parameters().unwrap();
    assert_eq!(params["CODE_DELIVERY_DELIVERY_MEDIUM"], "SMS");
    assert_eq!(params["CODE_DELIVERY_DESTINATION"], "+*******0100");
    let code = f.server.last_code(&f.pool, "sam").unwrap().code;
    f.respond(ChallengeNameType::SmsOtp, otp.session(), "sam", &[("SMS_OTP_CODE", &code)])
        .await
        .tokens();

    // The password factor in the same pool asks for MFA (here: set it up).
    let password =
        f.preferring("sam", "PASSWORD").auth_parameters("PASSWORD", PASSWORD).send().await.unwrap();
    assert_eq!(password.challenge_name(), Some(&ChallengeNameType::MfaSetup));
}

#[tokio::test]
async fn user_auth_wrong_codes_are_refused_and_the_third_ends_the_session() {
    let f = choice_fixture().await;
    let otp = f.preferring("alice", "EMAIL_OTP").send().await.unwrap();
    assert_eq!(otp.challenge_name(), Some(&ChallengeNameType::EmailOtp));
    let code = f.server.last_code(&f.pool, "alice").unwrap().code;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let answer = |given: &str| {
        f.answer(ChallengeNameType::EmailOtp, otp.session(), "alice")
            .challenge_responses("EMAIL_OTP_CODE", given)
            .send()
    };
    assert_code(answer(wrong).await, "CodeMismatchException");
    assert_code(answer(wrong).await, "CodeMismatchException");
    assert_code(answer(wrong).await, "CodeMismatchException");
    assert_code(answer(&code).await, "NotAuthorizedException");

    // Two wrong codes leave the right one usable.
    let (otp, code) = f.email_otp("alice").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        let refused = f
            .answer(ChallengeNameType::EmailOtp, otp.session(), "alice")
            .challenge_responses("EMAIL_OTP_CODE", wrong)
            .send()
            .await;
        assert_code(refused, "CodeMismatchException");
    }
    f.respond(ChallengeNameType::EmailOtp, otp.session(), "alice", &[("EMAIL_OTP_CODE", &code)])
        .await
        .tokens();
}

#[tokio::test]
async fn user_auth_sessions_expire() {
    let f = choice_fixture().await;
    // The session (and its code) lasts the client's AuthSessionValidity, 3 minutes.
    let answer_after = |wait: u64| {
        let f = &f;
        async move {
            let (otp, code) = f.email_otp("alice").await;
            f.server.advance_clock(Duration::from_secs(wait));
            f.answer(ChallengeNameType::EmailOtp, otp.session(), "alice")
                .challenge_responses("EMAIL_OTP_CODE", code)
                .send()
                .await
        }
    };
    assert!(answer_after(179).await.unwrap().authentication_result().is_some());
    assert_error(
        answer_after(181).await,
        "NotAuthorizedException",
        "Invalid session for the user, session is expired.",
    );

    // A longer AuthSessionValidity does not stretch the code's 3 minutes.
    let patient = f
        .server
        .create_client(
            &f.pool,
            "patient",
            ClientOptions::default().extra(serde_json::json!({ "AuthSessionValidity": 15 })),
        )
        .await
        .unwrap();
    let otp = f
        .user_auth_via(&patient.client_id, "alice")
        .auth_parameters("PREFERRED_CHALLENGE", "EMAIL_OTP")
        .send()
        .await
        .unwrap();
    let code = f.server.last_code(&f.pool, "alice").unwrap().code;
    f.server.advance_clock(Duration::from_secs(181));
    let late = f
        .answer_via(&patient.client_id, ChallengeNameType::EmailOtp, otp.session(), "alice")
        .challenge_responses("EMAIL_OTP_CODE", code)
        .send()
        .await;
    assert_error(
        late,
        "NotAuthorizedException",
        "Invalid session for the user, session is expired.",
    );
}

#[tokio::test]
async fn user_auth_needs_allow_user_auth_and_does_not_cover_custom_auth() {
    let f = fixture().await;
    let client = f
        .server
        .create_client(
            &f.pool,
            "choice-only",
            ClientOptions::default()
                .explicit_auth_flows(["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]),
        )
        .await
        .unwrap();
    // With an answer configured, only the client's flows can refuse CUSTOM_AUTH.
    f.server.set_custom_auth(&f.pool, "alice", Some("42")).unwrap();
    let custom = f
        .initiate(AuthFlowType::CustomAuth, &client.client_id)
        .auth_parameters("USERNAME", "alice")
        .send()
        .await;
    assert_error(
        custom,
        "InvalidParameterException",
        "CUSTOM_AUTH flow not enabled for this client",
    );
    // Inside USER_AUTH, the password works without ALLOW_USER_PASSWORD_AUTH.
    let ok = f
        .user_auth_via(&client.client_id, "alice")
        .auth_parameters("PREFERRED_CHALLENGE", "PASSWORD")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    assert!(ok.authentication_result().is_some());

    let without = f
        .server
        .create_client(
            &f.pool,
            "no-choice",
            ClientOptions::default()
                .explicit_auth_flows(["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH"]),
        )
        .await
        .unwrap();
    let refused = f.user_auth_via(&without.client_id, "alice").send().await;
    assert_error(
        refused,
        "InvalidParameterException",
        "USER_AUTH flow not enabled for this client",
    );
}

#[tokio::test]
async fn allowed_first_auth_factors_are_echoed_and_checked() {
    let f = fixture().await;
    let described = f.sdk.describe_user_pool().user_pool_id(&f.pool).send().await.unwrap();
    let factors = |pool: &aws_sdk_cognitoidentityprovider::types::UserPoolType| {
        pool.policies()
            .and_then(|p| p.sign_in_policy())
            .map(|s| s.allowed_first_auth_factors().to_vec())
            .unwrap_or_default()
    };
    assert_eq!(factors(described.user_pool().unwrap()), [AuthFactorType::Password]);

    let created = f
        .sdk
        .create_user_pool()
        .pool_name("passwordless")
        .policies(policies(&[AuthFactorType::Password, AuthFactorType::EmailOtp]))
        .send()
        .await
        .unwrap();
    let pool = created.user_pool().unwrap();
    assert_eq!(factors(pool), [AuthFactorType::Password, AuthFactorType::EmailOtp]);
    let id = pool.id().unwrap();
    let described = f.sdk.describe_user_pool().user_pool_id(id).send().await.unwrap();
    assert_eq!(
        factors(described.user_pool().unwrap()),
        [AuthFactorType::Password, AuthFactorType::EmailOtp]
    );

    f.sdk
        .update_user_pool()
        .user_pool_id(id)
        .policies(policies(&[AuthFactorType::SmsOtp, AuthFactorType::WebAuthn]))
        .send()
        .await
        .unwrap();
    let described = f.sdk.describe_user_pool().user_pool_id(id).send().await.unwrap();
    assert_eq!(
        factors(described.user_pool().unwrap()),
        [AuthFactorType::SmsOtp, AuthFactorType::WebAuthn]
    );

    for bad in [
        policies(&[AuthFactorType::from("SOFTWARE_TOKEN_MFA")]),
        policies(&[AuthFactorType::Password, AuthFactorType::Password]),
        UserPoolPolicyType::builder()
            .sign_in_policy(
                SignInPolicyType::builder()
                    .set_allowed_first_auth_factors(Some(Vec::new()))
                    .build(),
            )
            .build(),
    ] {
        let refused = f.sdk.update_user_pool().user_pool_id(id).policies(bad).send().await;
        assert_code(refused, "InvalidParameterException");
    }
}

#[tokio::test]
async fn user_auth_password_first_factor_is_followed_by_totp_mfa() {
    let f = choice_fixture().await;
    f.set_mfa_with_totp(UserPoolMfaType::Optional).await;
    let (access, _, _) = f.password_login("alice", PASSWORD).await;
    f.enable_totp(&access).await;

    let select = f.user_auth("alice").send().await.unwrap();
    let mfa = f
        .respond(
            ChallengeNameType::SelectChallenge,
            select.session(),
            "alice",
            &[("ANSWER", "PASSWORD"), ("PASSWORD", PASSWORD)],
        )
        .await;
    assert_eq!(mfa.challenge_name(), Some(&ChallengeNameType::SoftwareTokenMfa));
    let code = f.server.totp_code(&f.pool, "alice").unwrap();
    f.respond(
        ChallengeNameType::SoftwareTokenMfa,
        mfa.session(),
        "alice",
        &[("SOFTWARE_TOKEN_MFA_CODE", &code)],
    )
    .await
    .tokens();

    // The email code instead of the password: no MFA.
    let (otp, code) = f.email_otp("alice").await;
    f.respond(ChallengeNameType::EmailOtp, otp.session(), "alice", &[("EMAIL_OTP_CODE", &code)])
        .await
        .tokens();
}

#[tokio::test]
async fn user_auth_unusable_preferences_and_web_authn() {
    let f = fixture().await;
    // The default pool allows only PASSWORD: an email code preference falls back to a choice.
    let select = f.preferring("alice", "EMAIL_OTP").send().await.unwrap();
    assert_eq!(select.challenge_name(), Some(&ChallengeNameType::SelectChallenge));
    assert_eq!(
        select.available_challenges(),
        [ChallengeNameType::Password, ChallengeNameType::PasswordSrp]
    );
    let web = f.preferring("alice", "WEB_AUTHN").send().await;
    assert_code(web, "InvalidParameterException");
    let web = f
        .answer(ChallengeNameType::SelectChallenge, select.session(), "alice")
        .challenge_responses("ANSWER", "WEB_AUTHN")
        .send()
        .await;
    assert_code(web, "InvalidParameterException");
    let bogus = f.preferring("alice", "TOTP").send().await;
    assert_code(bogus, "InvalidParameterException");

    // PASSWORD preferred without the password: a PASSWORD challenge answered under its name.
    let challenge = f.preferring("alice", "PASSWORD").send().await.unwrap();
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::Password));
    f.respond(ChallengeNameType::Password, challenge.session(), "alice", &[("PASSWORD", PASSWORD)])
        .await
        .tokens();
}

#[tokio::test]
async fn user_auth_missing_disabled_and_unconfirmed_users() {
    let f = choice_fixture().await;
    assert_code(f.user_auth("nobody").send().await, "UserNotFoundException");

    f.sdk.admin_disable_user().user_pool_id(&f.pool).username("sam").send().await.unwrap();
    assert_code(f.user_auth("sam").send().await, "NotAuthorizedException");

    // An unconfirmed user is told so after proving the password, as in the other flows.
    f.sdk
        .sign_up()
        .client_id(&f.client.client_id)
        .username("una")
        .password(PASSWORD)
        .send()
        .await
        .unwrap();
    let unconfirmed =
        f.preferring("una", "PASSWORD").auth_parameters("PASSWORD", PASSWORD).send().await;
    assert_code(unconfirmed, "UserNotConfirmedException");

    let hidden = f
        .server
        .create_client(
            &f.pool,
            "hidden",
            ClientOptions::default()
                .extra(serde_json::json!({ "PreventUserExistenceErrors": "ENABLED" })),
        )
        .await
        .unwrap();
    // A missing user gets a choice and a code challenge that no code passes.
    let select = f.user_auth_via(&hidden.client_id, "nobody@example.com").send().await.unwrap();
    assert_eq!(
        select.available_challenges(),
        [
            ChallengeNameType::Password,
            ChallengeNameType::PasswordSrp,
            ChallengeNameType::EmailOtp,
            ChallengeNameType::SmsOtp
        ]
    );
    let otp = f
        .answer_via(
            &hidden.client_id,
            ChallengeNameType::SelectChallenge,
            select.session(),
            "nobody@example.com",
        )
        .challenge_responses("ANSWER", "EMAIL_OTP")
        .send()
        .await
        .unwrap();
    assert_eq!(otp.challenge_name(), Some(&ChallengeNameType::EmailOtp));
    assert_eq!(otp.challenge_parameters().unwrap()["CODE_DELIVERY_DESTINATION"], "n***@e***");
    let refused = f
        .answer_via(
            &hidden.client_id,
            ChallengeNameType::EmailOtp,
            otp.session(),
            "nobody@example.com",
        )
        .challenge_responses("EMAIL_OTP_CODE", "123456")
        .send()
        .await;
    assert_code(refused, "CodeMismatchException");
    let password = f
        .user_auth_via(&hidden.client_id, "nobody@example.com")
        .auth_parameters("PREFERRED_CHALLENGE", "PASSWORD")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await;
    assert_code(password, "NotAuthorizedException");

    // The simulated sign-in cannot be switched to a real user at the next step.
    let select = f.user_auth_via(&hidden.client_id, "nobody@example.com").send().await.unwrap();
    let switched = f
        .answer_via(
            &hidden.client_id,
            ChallengeNameType::SelectChallenge,
            select.session(),
            "alice",
        )
        .challenge_responses("ANSWER", "PASSWORD_SRP")
        .challenge_responses("SRP_A", auth_srp::ClientEphemeral::new().public_hex())
        .send()
        .await;
    assert_error(switched, "NotAuthorizedException", "Invalid session for the user.");
}

#[tokio::test]
async fn user_auth_tracks_devices_only_after_password_srp() {
    let f = fixture().await;
    f.sdk
        .update_user_pool()
        .user_pool_id(&f.pool)
        .device_configuration(
            aws_sdk_cognitoidentityprovider::types::DeviceConfigurationType::builder()
                .challenge_required_on_new_device(false)
                .device_only_remembered_on_user_prompt(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let password = f
        .preferring("alice", "PASSWORD")
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    assert!(password.authentication_result().unwrap().new_device_metadata().is_none());

    let (_, done) = f.user_auth_srp("alice", PASSWORD).await;
    let done = done.unwrap();
    let device = done.authentication_result().unwrap().new_device_metadata().expect("a new device");
    assert!(device.device_key().is_some_and(|k| k.starts_with("us-east-1_")));

    // A device key the server does not know is refused, as in the other flows.
    let unknown = f
        .user_auth("alice")
        .auth_parameters("DEVICE_KEY", "us-east-1_00000000-0000-0000-0000-000000000000")
        .send()
        .await;
    assert_code(unknown, "ResourceNotFoundException");
}

/// An app client with a secret needs `SECRET_HASH` at every step of USER_AUTH: the
/// InitiateAuth, the `SELECT_CHALLENGE` answer and the code.
#[tokio::test]
async fn user_auth_with_a_client_secret_needs_the_secret_hash_at_every_step() {
    let f = choice_fixture().await;
    let client =
        f.server.create_client(&f.pool, "confidential", ClientOptions::with_secret()).await;
    let client = client.unwrap();
    let secret = client.client_secret.clone().unwrap();
    let hash = |secret: &str| auth_srp::secret_hash("alice", &client.client_id, secret);
    let start = || f.user_auth_via(&client.client_id, "alice");
    assert_code(start().send().await, "NotAuthorizedException");
    assert_code(
        start().auth_parameters("SECRET_HASH", hash("wrong")).send().await,
        "NotAuthorizedException",
    );
    let select = start().auth_parameters("SECRET_HASH", hash(&secret)).send().await.unwrap();
    assert_eq!(select.challenge_name(), Some(&ChallengeNameType::SelectChallenge));

    let choose = || {
        f.answer_via(
            &client.client_id,
            ChallengeNameType::SelectChallenge,
            select.session(),
            "alice",
        )
        .challenge_responses("ANSWER", "EMAIL_OTP")
    };
    assert_code(choose().send().await, "NotAuthorizedException");
    let otp = choose().challenge_responses("SECRET_HASH", hash(&secret)).send().await.unwrap();
    assert_eq!(otp.challenge_name(), Some(&ChallengeNameType::EmailOtp));
    let code = f.server.last_code(&f.pool, "alice").unwrap().code;

    let answer = || {
        f.answer_via(&client.client_id, ChallengeNameType::EmailOtp, otp.session(), "alice")
            .challenge_responses("EMAIL_OTP_CODE", &code)
    };
    assert_code(answer().send().await, "NotAuthorizedException");
    let done = answer().challenge_responses("SECRET_HASH", hash(&secret)).send().await.unwrap();
    assert!(done.authentication_result().is_some_and(|t| t.access_token().is_some()));
}
