//! Attempt limits through the official SDK: sign-in lockout after password and SRP failures,
//! lockouts that grow and end on the server clock, code attempt limits, and the control API
//! that clears them.

use std::time::Duration;

use crate::raw::request;
use crate::srp::srp_login;
use crate::support::{PASSWORD, Tokens as _, assert_code, assert_error, fixture};

const WRONG: &str = "Wrong-Passw0rd!";

#[tokio::test]
async fn password_failures_lock_the_user_out_and_the_lockout_grows() {
    let f = fixture().await;
    for _ in 0..5 {
        assert_error(
            f.password_auth("alice", WRONG).send().await,
            "NotAuthorizedException",
            "Incorrect username or password.",
        );
    }
    // Locked for one second: even the right password is refused, and the refusal does not
    // count as a failure.
    for _ in 0..3 {
        assert_error(
            f.password_auth("alice", PASSWORD).send().await,
            "NotAuthorizedException",
            "Password attempts exceeded",
        );
    }
    f.server.advance_clock(Duration::from_millis(1_100));
    // The sixth failure locks for two seconds.
    assert_code(f.password_auth("alice", WRONG).send().await, "NotAuthorizedException");
    f.server.advance_clock(Duration::from_millis(1_100));
    assert_error(
        f.password_auth("alice", PASSWORD).send().await,
        "NotAuthorizedException",
        "Password attempts exceeded",
    );
    f.server.advance_clock(Duration::from_millis(1_000));
    f.password_login("alice", PASSWORD).await;
    // A successful sign-in starts over: four failures do not lock.
    for _ in 0..4 {
        assert_code(f.password_auth("alice", WRONG).send().await, "NotAuthorizedException");
    }
    f.password_login("alice", PASSWORD).await;
}

#[tokio::test]
async fn srp_failures_count_toward_the_same_lockout() {
    let f = fixture().await;
    for _ in 0..3 {
        let wrong = srp_login(&f.sdk, &f.pool, &f.client.client_id, "alice", WRONG, None).await;
        assert_eq!(wrong.unwrap_err(), "NotAuthorizedException");
    }
    for _ in 0..2 {
        assert_code(f.password_auth("alice", WRONG).send().await, "NotAuthorizedException");
    }
    let locked = srp_login(&f.sdk, &f.pool, &f.client.client_id, "alice", PASSWORD, None).await;
    assert_eq!(locked.unwrap_err(), "NotAuthorizedException");
    assert_error(
        f.password_auth("alice", PASSWORD).send().await,
        "NotAuthorizedException",
        "Password attempts exceeded",
    );
    f.server.advance_clock(Duration::from_secs(2));
    srp_login(&f.sdk, &f.pool, &f.client.client_id, "alice", PASSWORD, None).await.unwrap();
}

#[tokio::test]
async fn the_control_api_and_reset_clear_lockouts() {
    let f = fixture().await;
    for _ in 0..12 {
        let _ = f.password_auth("alice", WRONG).send().await;
    }
    assert_error(
        f.password_auth("alice", PASSWORD).send().await,
        "NotAuthorizedException",
        "Password attempts exceeded",
    );
    let cleared = request(&f.server.url(), "DELETE", "/_mock/attempt-limits", &[], b"").await;
    assert_eq!(cleared.unwrap().status, 200);
    f.password_login("alice", PASSWORD).await;

    for _ in 0..5 {
        let _ = f.password_auth("alice", WRONG).send().await;
    }
    assert_code(f.password_auth("alice", PASSWORD).send().await, "NotAuthorizedException");
    f.server.clear_attempt_limits();
    f.password_login("alice", PASSWORD).await;
}

#[tokio::test]
async fn confirmation_codes_have_an_attempt_limit_and_a_new_code_a_new_budget() {
    let f = fixture().await;
    let sdk = &f.sdk;
    let client = &f.client.client_id;
    sdk.sign_up()
        .client_id(client)
        .username("frank")
        .password(PASSWORD)
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email")
                .value("frank@example.com")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let confirm = |code: String| {
        sdk.confirm_sign_up().client_id(client).username("frank").confirmation_code(code).send()
    };
    for _ in 0..5 {
        assert_code(confirm("000000x".into()).await, "CodeMismatchException");
    }
    let code = f.server.last_code(&f.pool, "frank").unwrap().code;
    assert_error(
        confirm(code).await,
        "LimitExceededException",
        "Attempt limit exceeded, please try after some time.",
    );
    sdk.resend_confirmation_code().client_id(client).username("frank").send().await.unwrap();
    let code = f.server.last_code(&f.pool, "frank").unwrap().code;
    confirm(code).await.unwrap();

    // Password reset codes have their own budget; the cool-down ends on the server clock.
    sdk.forgot_password().client_id(client).username("frank").send().await.unwrap();
    let reset = |code: String| {
        sdk.confirm_forgot_password()
            .client_id(client)
            .username("frank")
            .confirmation_code(code)
            .password("Fr4nk-Passw0rd!")
            .send()
    };
    for _ in 0..5 {
        assert_code(reset("000000x".into()).await, "CodeMismatchException");
    }
    let code = f.server.last_code(&f.pool, "frank").unwrap().code;
    assert_code(reset(code.clone()).await, "LimitExceededException");
    f.server.advance_clock(Duration::from_secs(15 * 60));
    reset(code).await.unwrap();
}

#[tokio::test]
async fn software_token_verification_has_an_attempt_limit() {
    let f = fixture().await;
    let (access, _, _) = f.password_login("alice", PASSWORD).await;
    let associated = f.sdk.associate_software_token().access_token(&access).send().await.unwrap();
    let secret = associated.secret_code().unwrap().to_owned();
    let verify =
        |code: String| f.sdk.verify_software_token().access_token(&access).user_code(code).send();
    let right = auth_mock_server::totp_code(&secret, f.server.now()).unwrap();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_code(verify(wrong.into()).await, "EnableSoftwareTokenMFAException");
    }
    assert_code(verify(right).await, "TooManyFailedAttemptsException");
    // A new secret is a new budget.
    let associated = f.sdk.associate_software_token().access_token(&access).send().await.unwrap();
    let right = auth_mock_server::totp_code(associated.secret_code().unwrap(), f.server.now());
    verify(right.unwrap()).await.unwrap();
}

#[tokio::test]
async fn the_third_wrong_mfa_code_ends_the_session() {
    use aws_sdk_cognitoidentityprovider::types::{
        ChallengeNameType, SmsMfaSettingsType, UserPoolMfaType,
    };
    let f = fixture().await;
    f.set_mfa(UserPoolMfaType::Optional).await;
    f.add_user("grace", &[("phone_number", "+15555550100")]).await;
    f.sdk
        .admin_set_user_mfa_preference()
        .user_pool_id(&f.pool)
        .username("grace")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).preferred_mfa(true).build())
        .send()
        .await
        .unwrap();
    let challenge = f.password_auth("grace", PASSWORD).send().await.unwrap();
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::SmsMfa));
    let answer = |code: String| {
        f.answer(ChallengeNameType::SmsMfa, challenge.session(), "grace")
            .challenge_responses("SMS_MFA_CODE", code)
            .send()
    };
    for _ in 0..3 {
        assert_code(answer("not-it".into()).await, "CodeMismatchException");
    }
    let sent = f.server.last_code(&f.pool, "grace").unwrap().code;
    assert_error(
        answer(sent).await,
        "NotAuthorizedException",
        "Invalid session for the user, session is expired.",
    );
    // A new sign-in has a new budget.
    let challenge = f.password_auth("grace", PASSWORD).send().await.unwrap();
    let sent = f.server.last_code(&f.pool, "grace").unwrap().code;
    f.respond(ChallengeNameType::SmsMfa, challenge.session(), "grace", &[("SMS_MFA_CODE", &sent)])
        .await
        .tokens();
}
