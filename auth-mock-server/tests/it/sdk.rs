//! Conformance: every implemented operation through the official `aws-sdk-cognitoidentityprovider`
//! crate with only the endpoint overridden.
//!
//! Each scenario is its own test; `every_operation_is_exercised` runs them all against one
//! server and uses the request counters to prove that every operation in
//! `auth_mock_server::OPERATIONS` was called.

use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, ChallengeNameType, DeviceRememberedStatusType,
    DeviceSecretVerifierConfigType, EmailMfaSettingsType, ExplicitAuthFlowsType, MessageActionType,
    SchemaAttributeType, SmsMfaSettingsType, SoftwareTokenMfaConfigType,
    SoftwareTokenMfaSettingsType, TimeUnitsType, TokenValidityUnitsType, UserPoolMfaType,
    UserStatusType,
};

use crate::srp::{DeviceCreds, srp_login};
use crate::support::{
    Fixture, PASSWORD, Tokens as _, assert_code, claims, code, fixture, scenario_tests,
};

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder().name(name).value(value).build().unwrap()
}

/// A custom string attribute for a pool's schema.
fn string_schema(name: &str) -> SchemaAttributeType {
    SchemaAttributeType::builder()
        .name(name)
        .attribute_data_type(aws_sdk_cognitoidentityprovider::types::AttributeDataType::String)
        .build()
}

async fn pools_and_clients(f: &Fixture) {
    let sdk = &f.sdk;
    let created = sdk
        .create_user_pool()
        .pool_name("conformance")
        .policies(
            aws_sdk_cognitoidentityprovider::types::UserPoolPolicyType::builder()
                .password_policy(
                    aws_sdk_cognitoidentityprovider::types::PasswordPolicyType::builder()
                        .minimum_length(10)
                        .require_symbols(false)
                        .build(),
                )
                .build(),
        )
        .auto_verified_attributes(
            aws_sdk_cognitoidentityprovider::types::VerifiedAttributeType::Email,
        )
        .alias_attributes(aws_sdk_cognitoidentityprovider::types::AliasAttributeType::Email)
        .mfa_configuration(UserPoolMfaType::Optional)
        .schema(string_schema("tier"))
        .send()
        .await
        .unwrap();
    let pool = created.user_pool().unwrap();
    let pool_id = pool.id().unwrap().to_owned();
    assert!(pool_id.starts_with("us-east-1_"), "region from the SigV4 scope: {pool_id}");
    assert_eq!(pool.name(), Some("conformance"));
    assert_eq!(pool.mfa_configuration(), Some(&UserPoolMfaType::Optional));
    assert_eq!(pool.policies().unwrap().password_policy().unwrap().minimum_length(), Some(10));
    assert!(pool.schema_attributes().iter().any(|a| a.name() == Some("custom:tier")));

    let described = sdk.describe_user_pool().user_pool_id(&pool_id).send().await.unwrap();
    assert_eq!(described.user_pool().unwrap().alias_attributes().len(), 1);

    let listed = sdk.list_user_pools().max_results(60).send().await.unwrap();
    assert!(listed.user_pools().iter().any(|p| p.id() == Some(pool_id.as_str())));

    sdk.update_user_pool()
        .user_pool_id(&pool_id)
        .mfa_configuration(UserPoolMfaType::Off)
        .send()
        .await
        .unwrap();
    let described = sdk.describe_user_pool().user_pool_id(&pool_id).send().await.unwrap();
    assert_eq!(described.user_pool().unwrap().mfa_configuration(), Some(&UserPoolMfaType::Off));

    sdk.add_custom_attributes()
        .user_pool_id(&pool_id)
        .custom_attributes(string_schema("plan"))
        .send()
        .await
        .unwrap();

    let mfa = sdk
        .set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .mfa_configuration(UserPoolMfaType::Optional)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(mfa.mfa_configuration(), Some(&UserPoolMfaType::Optional));
    let mfa = sdk.get_user_pool_mfa_config().user_pool_id(&pool_id).send().await.unwrap();
    assert_eq!(mfa.software_token_mfa_configuration().map(|c| c.enabled()), Some(true));

    let client = sdk
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .generate_secret(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .access_token_validity(30)
        .token_validity_units(
            TokenValidityUnitsType::builder().access_token(TimeUnitsType::Minutes).build(),
        )
        .callback_urls("http://localhost:3000/callback")
        .logout_urls("http://localhost:3000/")
        .allowed_o_auth_flows(aws_sdk_cognitoidentityprovider::types::OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_flows_user_pool_client(true)
        .send()
        .await
        .unwrap();
    let client = client.user_pool_client().unwrap();
    let client_id = client.client_id().unwrap().to_owned();
    assert!(client.client_secret().is_some_and(|s| s.len() >= 24));
    assert_eq!(client.access_token_validity(), Some(30));
    assert_eq!(client.explicit_auth_flows().len(), 2);

    let described = sdk
        .describe_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.user_pool_client().unwrap().callback_urls(),
        ["http://localhost:3000/callback"]
    );

    let updated = sdk
        .update_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .client_name("web2")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.user_pool_client().unwrap().client_name(), Some("web2"));

    let clients = sdk.list_user_pool_clients().user_pool_id(&pool_id).send().await.unwrap();
    assert_eq!(clients.user_pool_clients().len(), 1);

    assert_code(
        sdk.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("mixed")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::UserPasswordAuth)
            .send()
            .await,
        "InvalidParameterException",
    );

    sdk.delete_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .send()
        .await
        .unwrap();
    assert_code(
        sdk.describe_user_pool_client().user_pool_id(&pool_id).client_id(&client_id).send().await,
        "ResourceNotFoundException",
    );
    sdk.delete_user_pool().user_pool_id(&pool_id).send().await.unwrap();
    assert_code(
        sdk.describe_user_pool().user_pool_id(&pool_id).send().await,
        "ResourceNotFoundException",
    );
}

async fn admin_users(f: &Fixture) {
    let sdk = &f.sdk;
    let created = sdk
        .admin_create_user()
        .user_pool_id(&f.pool)
        .username("carol")
        .temporary_password("Temp-Passw0rd!")
        .user_attributes(attr("email", "carol@example.com"))
        .user_attributes(attr("name", "Carol"))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    let user = created.user().unwrap();
    assert_eq!(user.user_status(), Some(&UserStatusType::ForceChangePassword));
    assert!(user.enabled());

    assert_code(
        sdk.admin_create_user().user_pool_id(&f.pool).username("carol").send().await,
        "UsernameExistsException",
    );

    assert_code(
        sdk.admin_set_user_password()
            .user_pool_id(&f.pool)
            .username("carol")
            .password("short")
            .permanent(true)
            .send()
            .await,
        "InvalidPasswordException",
    );
    sdk.admin_set_user_password()
        .user_pool_id(&f.pool)
        .username("carol")
        .password("Carol-Passw0rd!")
        .permanent(true)
        .send()
        .await
        .unwrap();
    let got = sdk.admin_get_user().user_pool_id(&f.pool).username("carol").send().await.unwrap();
    assert_eq!(got.user_status(), Some(&UserStatusType::Confirmed));
    assert!(got.user_attributes().iter().any(|a| a.name() == "sub"));
    f.password_login("carol", "Carol-Passw0rd!").await;

    sdk.admin_update_user_attributes()
        .user_pool_id(&f.pool)
        .username("carol")
        .user_attributes(attr("family_name", "Danvers"))
        .send()
        .await
        .unwrap();
    sdk.admin_delete_user_attributes()
        .user_pool_id(&f.pool)
        .username("carol")
        .user_attribute_names("name")
        .send()
        .await
        .unwrap();
    let got = sdk.admin_get_user().user_pool_id(&f.pool).username("carol").send().await.unwrap();
    assert!(
        got.user_attributes()
            .iter()
            .any(|a| a.name() == "family_name" && a.value() == Some("Danvers"))
    );
    assert!(!got.user_attributes().iter().any(|a| a.name() == "name"));

    // Disabling revokes the user's tokens: enabling again does not revive the old session.
    let (before_access, _, before_refresh) = f.password_login("carol", "Carol-Passw0rd!").await;
    sdk.admin_disable_user().user_pool_id(&f.pool).username("carol").send().await.unwrap();
    assert_code(f.password_auth("carol", "Carol-Passw0rd!").send().await, "NotAuthorizedException");
    sdk.admin_enable_user().user_pool_id(&f.pool).username("carol").send().await.unwrap();
    assert_code(sdk.get_user().access_token(&before_access).send().await, "NotAuthorizedException");
    assert_code(f.refresh_auth(&before_refresh).send().await, "NotAuthorizedException");
    let (access, _, refresh) = f.password_login("carol", "Carol-Passw0rd!").await;

    sdk.admin_user_global_sign_out().user_pool_id(&f.pool).username("carol").send().await.unwrap();
    assert_code(sdk.get_user().access_token(&access).send().await, "NotAuthorizedException");
    assert_code(f.refresh_auth(&refresh).send().await, "NotAuthorizedException");

    sdk.admin_reset_user_password().user_pool_id(&f.pool).username("carol").send().await.unwrap();
    assert_code(
        f.password_auth("carol", "Carol-Passw0rd!").send().await,
        "PasswordResetRequiredException",
    );

    let listed =
        sdk.list_users().user_pool_id(&f.pool).filter("email ^= \"car\"").send().await.unwrap();
    assert_eq!(listed.users().len(), 1);
    assert_eq!(listed.users()[0].username(), Some("carol"));
    let listed = sdk
        .list_users()
        .user_pool_id(&f.pool)
        .filter("cognito:user_status = \"reset_required\"")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.users().len(), 1);
    let listed = sdk.list_users().user_pool_id(&f.pool).limit(1).send().await.unwrap();
    assert_eq!(listed.users().len(), 1);
    assert!(listed.pagination_token().is_some());
    assert_code(
        sdk.list_users().user_pool_id(&f.pool).filter("custom:tier = \"x\"").send().await,
        "InvalidParameterException",
    );

    sdk.admin_delete_user().user_pool_id(&f.pool).username("carol").send().await.unwrap();
    assert_code(
        sdk.admin_get_user().user_pool_id(&f.pool).username("carol").send().await,
        "UserNotFoundException",
    );

    // AdminConfirmSignUp on a signed-up user.
    sdk.sign_up()
        .client_id(&f.client.client_id)
        .username("dave")
        .password(PASSWORD)
        .user_attributes(attr("email", "dave@example.com"))
        .send()
        .await
        .unwrap();
    sdk.admin_confirm_sign_up().user_pool_id(&f.pool).username("dave").send().await.unwrap();
    let got = sdk.admin_get_user().user_pool_id(&f.pool).username("dave").send().await.unwrap();
    assert_eq!(got.user_status(), Some(&UserStatusType::Confirmed));
}

async fn groups(f: &Fixture) {
    let sdk = &f.sdk;
    let group = sdk
        .create_group()
        .user_pool_id(&f.pool)
        .group_name("admins")
        .description("Administrators")
        .precedence(1)
        .send()
        .await
        .unwrap();
    assert_eq!(group.group().unwrap().group_name(), Some("admins"));
    assert_code(
        sdk.create_group().user_pool_id(&f.pool).group_name("admins").send().await,
        "GroupExistsException",
    );
    sdk.create_group().user_pool_id(&f.pool).group_name("readers").send().await.unwrap();
    sdk.update_group()
        .user_pool_id(&f.pool)
        .group_name("readers")
        .description("Read only")
        .send()
        .await
        .unwrap();
    let got = sdk.get_group().user_pool_id(&f.pool).group_name("readers").send().await.unwrap();
    assert_eq!(got.group().unwrap().description(), Some("Read only"));
    let listed = sdk.list_groups().user_pool_id(&f.pool).send().await.unwrap();
    assert_eq!(listed.groups().len(), 2);

    sdk.admin_add_user_to_group()
        .user_pool_id(&f.pool)
        .username("alice")
        .group_name("admins")
        .send()
        .await
        .unwrap();
    sdk.admin_add_user_to_group()
        .user_pool_id(&f.pool)
        .username("alice")
        .group_name("readers")
        .send()
        .await
        .unwrap();
    let mine = sdk
        .admin_list_groups_for_user()
        .user_pool_id(&f.pool)
        .username("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.groups().len(), 2);
    let members =
        sdk.list_users_in_group().user_pool_id(&f.pool).group_name("admins").send().await.unwrap();
    assert_eq!(members.users().len(), 1);

    let (access, id, _) = f.password_login("alice", PASSWORD).await;
    assert_eq!(claims(&id)["cognito:groups"], serde_json::json!(["admins", "readers"]));
    assert_eq!(claims(&access)["cognito:groups"], serde_json::json!(["admins", "readers"]));

    sdk.admin_remove_user_from_group()
        .user_pool_id(&f.pool)
        .username("alice")
        .group_name("readers")
        .send()
        .await
        .unwrap();
    sdk.delete_group().user_pool_id(&f.pool).group_name("admins").send().await.unwrap();
    let mine = sdk
        .admin_list_groups_for_user()
        .user_pool_id(&f.pool)
        .username("alice")
        .send()
        .await
        .unwrap();
    assert!(mine.groups().is_empty());
    assert_code(
        sdk.get_group().user_pool_id(&f.pool).group_name("admins").send().await,
        "ResourceNotFoundException",
    );
}

async fn password_and_tokens(f: &Fixture) {
    let sdk = &f.sdk;
    assert_code(f.password_auth("alice", "nope").send().await, "NotAuthorizedException");
    assert_code(f.password_auth("nobody", PASSWORD).send().await, "UserNotFoundException");

    let (access, id, refresh) = f.password_login("alice", PASSWORD).await;
    let id_claims = claims(&id);
    assert_eq!(id_claims["token_use"], "id");
    assert_eq!(id_claims["aud"], f.client.client_id.as_str());
    assert_eq!(id_claims["email_verified"], true);
    assert_eq!(id_claims["iss"], format!("https://cognito-idp.us-east-1.amazonaws.com/{}", f.pool));
    let access_claims = claims(&access);
    assert_eq!(access_claims["token_use"], "access");
    assert_eq!(access_claims["scope"], "aws.cognito.signin.user.admin");
    assert_eq!(access_claims["client_id"], f.client.client_id.as_str());
    assert!(access_claims.get("aud").is_none());

    let me = sdk.get_user().access_token(&access).send().await.unwrap();
    assert_eq!(me.username(), "alice");

    let refreshed = f.refresh_auth(&refresh).send().await.unwrap();
    let result = refreshed.authentication_result().unwrap();
    assert!(result.refresh_token().is_none(), "no rotation: no new refresh token");
    let new_id = claims(result.id_token().unwrap());
    assert_eq!(new_id["auth_time"], id_claims["auth_time"]);

    sdk.change_password()
        .access_token(&access)
        .previous_password(PASSWORD)
        .proposed_password("N3w-Passw0rd!")
        .send()
        .await
        .unwrap();
    f.password_login("alice", "N3w-Passw0rd!").await;
    assert_code(
        sdk.change_password()
            .access_token(&access)
            .previous_password("not it")
            .proposed_password("Other-Passw0rd!")
            .send()
            .await,
        "NotAuthorizedException",
    );

    // RevokeToken revokes the refresh token and the access tokens issued from it.
    let (access2, _, refresh2) = f.password_login("alice", "N3w-Passw0rd!").await;
    sdk.revoke_token().token(&refresh2).client_id(&f.client.client_id).send().await.unwrap();
    assert_code(sdk.get_user().access_token(&access2).send().await, "NotAuthorizedException");
    assert_code(f.refresh_auth(&refresh2).send().await, "NotAuthorizedException");
    assert_code(
        sdk.revoke_token().token(&access).client_id(&f.client.client_id).send().await,
        "UnsupportedTokenTypeException",
    );

    // GlobalSignOut revokes everything the user holds.
    let (access3, _, refresh3) = f.password_login("alice", "N3w-Passw0rd!").await;
    sdk.global_sign_out().access_token(&access3).send().await.unwrap();
    assert_code(sdk.get_user().access_token(&access3).send().await, "NotAuthorizedException");
    assert_code(f.refresh_auth(&refresh3).send().await, "NotAuthorizedException");
    // A new sign-in right after works.
    f.password_login("alice", "N3w-Passw0rd!").await;

    // Expired access tokens are refused once the server clock passes exp.
    let (access4, _, _) = f.password_login("alice", "N3w-Passw0rd!").await;
    f.server.advance_clock(std::time::Duration::from_secs(3601));
    assert_code(sdk.get_user().access_token(&access4).send().await, "NotAuthorizedException");
    f.server.set_clock_offset(0);
    assert_code(
        sdk.get_user().access_token("eyJhbGciOiJIUzI1NiJ9.e30.x").send().await,
        "NotAuthorizedException",
    );
    f.server
        .call(
            "AdminSetUserPassword",
            serde_json::json!({ "UserPoolId": f.pool, "Username": "alice", "Password": PASSWORD, "Permanent": true }),
        )
        .await
        .unwrap();
}

async fn new_password_required(f: &Fixture) {
    let sdk = &f.sdk;
    sdk.admin_create_user()
        .user_pool_id(&f.pool)
        .username("erin")
        .temporary_password("Temp-Passw0rd!")
        .user_attributes(attr("email", "erin@example.com"))
        .send()
        .await
        .unwrap();
    let challenge = f.password_auth("erin", "Temp-Passw0rd!").send().await.unwrap();
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::NewPasswordRequired));
    let params = challenge.challenge_parameters().unwrap();
    let user_attributes: serde_json::Value =
        serde_json::from_str(&params["userAttributes"]).unwrap();
    assert_eq!(user_attributes["email"], "erin@example.com");
    assert_eq!(params["requiredAttributes"], "[]");
    assert_code(
        f.answer(ChallengeNameType::NewPasswordRequired, challenge.session(), "erin")
            .challenge_responses("NEW_PASSWORD", "weak")
            .send()
            .await,
        "InvalidPasswordException",
    );
    // The session survives a refused password: a second try is judged on the password again.
    assert_code(
        f.answer(ChallengeNameType::NewPasswordRequired, challenge.session(), "erin")
            .challenge_responses("NEW_PASSWORD", "still-weak")
            .send()
            .await,
        "InvalidPasswordException",
    );
    // The admin forms of the same flow, from a new sign-in.
    let challenge = sdk
        .admin_initiate_auth()
        .user_pool_id(&f.pool)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .client_id(&f.client.client_id)
        .auth_parameters("USERNAME", "erin")
        .auth_parameters("PASSWORD", "Temp-Passw0rd!")
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::NewPasswordRequired));
    let done = sdk
        .admin_respond_to_auth_challenge()
        .user_pool_id(&f.pool)
        .client_id(&f.client.client_id)
        .challenge_name(ChallengeNameType::NewPasswordRequired)
        .set_session(challenge.session().map(str::to_owned))
        .challenge_responses("USERNAME", "erin")
        .challenge_responses("NEW_PASSWORD", "Erin-Passw0rd!")
        .challenge_responses("userAttributes.name", "Erin")
        .send()
        .await
        .unwrap();
    assert!(done.authentication_result().and_then(|r| r.access_token()).is_some());
    let got = sdk.admin_get_user().user_pool_id(&f.pool).username("erin").send().await.unwrap();
    assert_eq!(got.user_status(), Some(&UserStatusType::Confirmed));
    assert!(got.user_attributes().iter().any(|a| a.name() == "name" && a.value() == Some("Erin")));
}

async fn sign_up_and_account(f: &Fixture) {
    let sdk = &f.sdk;
    let signed_up = sdk
        .sign_up()
        .client_id(&f.client.client_id)
        .username("frank")
        .password(PASSWORD)
        .user_attributes(attr("email", "frank@example.com"))
        .send()
        .await
        .unwrap();
    assert!(!signed_up.user_confirmed());
    assert_code(f.password_auth("frank", PASSWORD).send().await, "UserNotConfirmedException");
    sdk.resend_confirmation_code()
        .client_id(&f.client.client_id)
        .username("frank")
        .send()
        .await
        .unwrap();
    assert_code(
        sdk.confirm_sign_up()
            .client_id(&f.client.client_id)
            .username("frank")
            .confirmation_code("000000x")
            .send()
            .await,
        "CodeMismatchException",
    );
    let delivered = f.server.last_code(&f.pool, "frank").unwrap();
    assert_eq!(delivered.purpose, "signup");
    sdk.confirm_sign_up()
        .client_id(&f.client.client_id)
        .username("frank")
        .confirmation_code(&delivered.code)
        .send()
        .await
        .unwrap();
    let (access, _, _) = f.password_login("frank", PASSWORD).await;

    sdk.forgot_password().client_id(&f.client.client_id).username("frank").send().await.unwrap();
    let code_sent = f.server.last_code(&f.pool, "frank").unwrap();
    assert_eq!(code_sent.purpose, "forgot_password");
    sdk.confirm_forgot_password()
        .client_id(&f.client.client_id)
        .username("frank")
        .confirmation_code(&code_sent.code)
        .password("Fr4nk-Passw0rd!")
        .send()
        .await
        .unwrap();
    f.password_login("frank", "Fr4nk-Passw0rd!").await;

    let updated = sdk
        .update_user_attributes()
        .access_token(&access)
        .user_attributes(attr("given_name", "Frank"))
        .user_attributes(attr("custom:tier", "gold"))
        .send()
        .await
        .unwrap();
    assert!(updated.code_delivery_details_list().is_empty());
    sdk.delete_user_attributes()
        .access_token(&access)
        .user_attribute_names("given_name")
        .send()
        .await
        .unwrap();
    let sent = sdk
        .get_user_attribute_verification_code()
        .access_token(&access)
        .attribute_name("email")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.code_delivery_details().unwrap().attribute_name(), Some("email"));
    let verify = f.server.last_code(&f.pool, "frank").unwrap();
    sdk.verify_user_attribute()
        .access_token(&access)
        .attribute_name("email")
        .code(&verify.code)
        .send()
        .await
        .unwrap();
    let me = sdk.get_user().access_token(&access).send().await.unwrap();
    assert!(
        me.user_attributes()
            .iter()
            .any(|a| a.name() == "email_verified" && a.value() == Some("true"))
    );
    assert!(me.user_attributes().iter().any(|a| a.name() == "custom:tier"));

    sdk.delete_user().access_token(&access).send().await.unwrap();
    assert_code(
        sdk.admin_get_user().user_pool_id(&f.pool).username("frank").send().await,
        "UserNotFoundException",
    );
}

async fn mfa(f: &Fixture) {
    let sdk = &f.sdk;
    f.set_mfa(UserPoolMfaType::Optional).await;
    f.add_user("grace", &[("email", "grace@example.com"), ("phone_number", "+15555550100")]).await;
    let (access, _, _) = f.password_login("grace", PASSWORD).await;

    // TOTP: associate, verify with a real RFC 6238 code, enable.
    let associated = sdk.associate_software_token().access_token(&access).send().await.unwrap();
    let secret = associated.secret_code().unwrap().to_owned();
    let now = f.server.now();
    let totp = auth_mock_server::totp_code(&secret, now).unwrap();
    let bad = sdk.verify_software_token().access_token(&access).user_code("000000").send().await;
    if totp != "000000" {
        assert_eq!(code(&bad.unwrap_err()), "EnableSoftwareTokenMFAException");
    }
    let verified =
        sdk.verify_software_token().access_token(&access).user_code(&totp).send().await.unwrap();
    assert_eq!(
        verified.status(),
        Some(&aws_sdk_cognitoidentityprovider::types::VerifySoftwareTokenResponseType::Success)
    );
    sdk.set_user_mfa_preference()
        .access_token(&access)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder().enabled(true).preferred_mfa(true).build(),
        )
        .send()
        .await
        .unwrap();
    let me = sdk.get_user().access_token(&access).send().await.unwrap();
    assert_eq!(me.preferred_mfa_setting(), Some("SOFTWARE_TOKEN_MFA"));

    let challenge = f.password_auth("grace", PASSWORD).send().await.unwrap();
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::SoftwareTokenMfa));
    let code_now = f.server.totp_code(&f.pool, "grace").unwrap();
    f.respond(
        ChallengeNameType::SoftwareTokenMfa,
        challenge.session(),
        "grace",
        &[("SOFTWARE_TOKEN_MFA_CODE", &code_now)],
    )
    .await
    .tokens();

    // SMS and email as well, without a preference: SELECT_MFA_TYPE.
    sdk.admin_set_user_mfa_preference()
        .user_pool_id(&f.pool)
        .username("grace")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).preferred_mfa(false).build())
        .email_mfa_settings(EmailMfaSettingsType::builder().enabled(true).build())
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder().enabled(true).preferred_mfa(false).build(),
        )
        .send()
        .await
        .unwrap();
    let select = f.password_auth("grace", PASSWORD).send().await.unwrap();
    assert_eq!(select.challenge_name(), Some(&ChallengeNameType::SelectMfaType));
    let options: Vec<String> =
        serde_json::from_str(&select.challenge_parameters().unwrap()["MFAS_CAN_CHOOSE"]).unwrap();
    assert_eq!(options, ["SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP"]);
    let sms = f
        .respond(
            ChallengeNameType::SelectMfaType,
            select.session(),
            "grace",
            &[("ANSWER", "SMS_MFA")],
        )
        .await;
    assert_eq!(sms.challenge_name(), Some(&ChallengeNameType::SmsMfa));
    assert_eq!(sms.challenge_parameters().unwrap()["CODE_DELIVERY_DELIVERY_MEDIUM"], "SMS");
    assert_code(
        f.answer(ChallengeNameType::SmsMfa, sms.session(), "grace")
            .challenge_responses("SMS_MFA_CODE", "not-it")
            .send()
            .await,
        "CodeMismatchException",
    );
    let sent = f.server.last_code(&f.pool, "grace").unwrap();
    assert_eq!(sent.purpose, "mfa");
    f.respond(ChallengeNameType::SmsMfa, sms.session(), "grace", &[("SMS_MFA_CODE", &sent.code)])
        .await
        .tokens();

    // EMAIL_OTP as the preferred method.
    sdk.admin_set_user_mfa_preference()
        .user_pool_id(&f.pool)
        .username("grace")
        .email_mfa_settings(
            EmailMfaSettingsType::builder().enabled(true).preferred_mfa(true).build(),
        )
        .send()
        .await
        .unwrap();
    let email = f.password_auth("grace", PASSWORD).send().await.unwrap();
    assert_eq!(email.challenge_name(), Some(&ChallengeNameType::EmailOtp));
    let sent = f.server.last_code(&f.pool, "grace").unwrap();
    f.answer(ChallengeNameType::EmailOtp, email.session(), "grace")
        .challenge_responses("EMAIL_OTP_CODE", &sent.code)
        .send()
        .await
        .unwrap();

    // MFA required for everyone: a user without MFA must set it up during sign-in.
    f.set_mfa(UserPoolMfaType::On).await;
    f.add_user("heidi", &[]).await;
    let setup = f.password_auth("heidi", PASSWORD).send().await.unwrap();
    assert_eq!(setup.challenge_name(), Some(&ChallengeNameType::MfaSetup));
    let associated = sdk
        .associate_software_token()
        .set_session(setup.session().map(str::to_owned))
        .send()
        .await
        .unwrap();
    let totp =
        auth_mock_server::totp_code(associated.secret_code().unwrap(), f.server.now()).unwrap();
    assert_eq!(
        f.server.totp_code(&f.pool, "heidi").as_deref(),
        Some(totp.as_str()),
        "the handle knows the secret pending on the MFA_SETUP challenge"
    );
    let verified = sdk
        .verify_software_token()
        .set_session(associated.session().map(str::to_owned))
        .user_code(totp)
        .send()
        .await
        .unwrap();
    let done =
        f.answer(ChallengeNameType::MfaSetup, verified.session(), "heidi").send().await.unwrap();
    assert!(done.authentication_result().is_some());
    f.set_mfa(UserPoolMfaType::Off).await;
}

async fn custom_auth(f: &Fixture) {
    assert_code(f.custom_auth("alice").send().await, "InvalidParameterException");
    f.server.set_custom_auth(&f.pool, "alice", Some("42")).unwrap();
    let challenge = f.custom_auth("alice").send().await.unwrap();
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::CustomChallenge));
    let again = f
        .respond(
            ChallengeNameType::CustomChallenge,
            challenge.session(),
            "alice",
            &[("ANSWER", "41")],
        )
        .await;
    assert_eq!(again.challenge_name(), Some(&ChallengeNameType::CustomChallenge));
    f.respond(ChallengeNameType::CustomChallenge, again.session(), "alice", &[("ANSWER", "42")])
        .await
        .tokens();
}

async fn devices(f: &Fixture) {
    let sdk = &f.sdk;
    let pool = f
        .server
        .create_pool_with(serde_json::json!({
            "PoolName": "devices",
            "MfaConfiguration": "OPTIONAL",
            "DeviceConfiguration": { "ChallengeRequiredOnNewDevice": true, "DeviceOnlyRememberedOnUserPrompt": true },
        }))
        .await
        .unwrap();
    let client = f.server.create_client(&pool, "app", Default::default()).await.unwrap();
    f.server.create_user(&pool, "ivan", PASSWORD, &[("email", "ivan@example.com")]).await.unwrap();

    let first = srp_login(sdk, &pool, &client.client_id, "ivan", PASSWORD, None).await.unwrap();
    let result = first.authentication_result().unwrap();
    let metadata = result.new_device_metadata().expect("a new device on an SRP sign-in");
    let device_key = metadata.device_key().unwrap().to_owned();
    let group = metadata.device_group_key().unwrap().to_owned();
    let access = result.access_token().unwrap().to_owned();
    assert_eq!(claims(&access)["device_key"], device_key.as_str());

    let config = auth_srp::DeviceVerifierConfig::generate(&group, &device_key);
    let confirmed = sdk
        .confirm_device()
        .access_token(&access)
        .device_key(&device_key)
        .device_name("laptop")
        .device_secret_verifier_config(
            DeviceSecretVerifierConfigType::builder()
                .password_verifier(&config.password_verifier)
                .salt(&config.salt)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(confirmed.user_confirmation_necessary());
    sdk.update_device_status()
        .access_token(&access)
        .device_key(&device_key)
        .device_remembered_status(DeviceRememberedStatusType::Remembered)
        .send()
        .await
        .unwrap();
    let listed = sdk.list_devices().access_token(&access).send().await.unwrap();
    assert_eq!(listed.devices().len(), 1);
    let got = sdk.get_device().access_token(&access).device_key(&device_key).send().await.unwrap();
    assert!(
        got.device()
            .unwrap()
            .device_attributes()
            .iter()
            .any(|a| a.name() == "device_name" && a.value() == Some("laptop"))
    );

    // Next sign-in with the device: DEVICE_SRP_AUTH, then tokens for that device.
    let creds =
        DeviceCreds { key: device_key.clone(), group, secret: config.device_secret().to_owned() };
    let again =
        srp_login(sdk, &pool, &client.client_id, "ivan", PASSWORD, Some(&creds)).await.unwrap();
    let result = again.authentication_result().expect("tokens after device SRP");
    assert!(result.new_device_metadata().is_none());
    assert_eq!(claims(result.access_token().unwrap())["device_key"], device_key.as_str());
    let wrong_secret = DeviceCreds { secret: "not the secret".into(), ..creds };
    let refused =
        srp_login(sdk, &pool, &client.client_id, "ivan", PASSWORD, Some(&wrong_secret)).await;
    assert_eq!(refused.unwrap_err(), "NotAuthorizedException");

    let admin_list =
        sdk.admin_list_devices().user_pool_id(&pool).username("ivan").send().await.unwrap();
    assert_eq!(admin_list.devices().len(), 1);
    sdk.admin_get_device()
        .user_pool_id(&pool)
        .username("ivan")
        .device_key(&device_key)
        .send()
        .await
        .unwrap();
    sdk.admin_update_device_status()
        .user_pool_id(&pool)
        .username("ivan")
        .device_key(&device_key)
        .device_remembered_status(DeviceRememberedStatusType::NotRemembered)
        .send()
        .await
        .unwrap();
    sdk.admin_forget_device()
        .user_pool_id(&pool)
        .username("ivan")
        .device_key(&device_key)
        .send()
        .await
        .unwrap();
    let unknown =
        srp_login(sdk, &pool, &client.client_id, "ivan", PASSWORD, Some(&wrong_secret)).await;
    assert_eq!(
        unknown.unwrap_err(),
        "ResourceNotFoundException",
        "clients drop a forgotten device key on this"
    );

    // ForgetDevice with the user's own token.
    let fresh = srp_login(sdk, &pool, &client.client_id, "ivan", PASSWORD, None).await.unwrap();
    let result = fresh.authentication_result().unwrap();
    let key = result.new_device_metadata().unwrap().device_key().unwrap().to_owned();
    sdk.forget_device()
        .access_token(result.access_token().unwrap())
        .device_key(&key)
        .send()
        .await
        .unwrap();
}

async fn secret_hash_and_flows(f: &Fixture) {
    let sdk = &f.sdk;
    let secret_client = f
        .server
        .create_client(&f.pool, "confidential", auth_mock_server::ClientOptions::with_secret())
        .await
        .unwrap();
    let secret = secret_client.client_secret.clone().unwrap();
    let hash = |secret: &str| auth_srp::secret_hash("alice", &secret_client.client_id, secret);
    let login = || f.password_auth_via(&secret_client.client_id, "alice", PASSWORD);
    assert_code(login().send().await, "NotAuthorizedException");
    assert_code(
        login().auth_parameters("SECRET_HASH", hash("wrong")).send().await,
        "NotAuthorizedException",
    );
    let ok = login().auth_parameters("SECRET_HASH", hash(&secret)).send().await.unwrap();
    let refresh = ok.authentication_result().unwrap().refresh_token().unwrap().to_owned();
    f.initiate(AuthFlowType::RefreshTokenAuth, &secret_client.client_id)
        .auth_parameters("REFRESH_TOKEN", &refresh)
        .auth_parameters("SECRET_HASH", hash(&secret))
        .send()
        .await
        .unwrap();
    let signup = sdk
        .sign_up()
        .client_id(&secret_client.client_id)
        .username("judy")
        .password(PASSWORD)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&signup), "NotAuthorizedException");
    sdk.sign_up()
        .client_id(&secret_client.client_id)
        .secret_hash(auth_srp::secret_hash("judy", &secret_client.client_id, &secret))
        .username("judy")
        .password(PASSWORD)
        .send()
        .await
        .unwrap();
    sdk.revoke_token()
        .token(&refresh)
        .client_id(&secret_client.client_id)
        .client_secret(&secret)
        .send()
        .await
        .unwrap();

    // ExplicitAuthFlows are enforced; PreventUserExistenceErrors hides missing users.
    let srp_only = f
        .server
        .create_client(
            &f.pool,
            "srp-only",
            auth_mock_server::ClientOptions::default()
                .explicit_auth_flows(["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
                .extra(serde_json::json!({ "PreventUserExistenceErrors": "ENABLED" })),
        )
        .await
        .unwrap();
    let refused = f.password_auth_via(&srp_only.client_id, "alice", PASSWORD).send().await;
    assert_code(refused, "InvalidParameterException");
    let hidden = srp_login(sdk, &f.pool, &srp_only.client_id, "nobody", PASSWORD, None).await;
    assert_eq!(hidden.unwrap_err(), "NotAuthorizedException");
    let hidden = sdk
        .forgot_password()
        .client_id(&srp_only.client_id)
        .username("nobody")
        .send()
        .await
        .unwrap();
    assert!(hidden.code_delivery_details().is_some());
}

async fn refresh_rotation(f: &Fixture) {
    use aws_sdk_cognitoidentityprovider::types::{FeatureType, RefreshTokenRotationType};
    let sdk = &f.sdk;
    let client = sdk
        .create_user_pool_client()
        .user_pool_id(&f.pool)
        .client_name("rotating")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .refresh_token_rotation(
            RefreshTokenRotationType::builder()
                .feature(FeatureType::Enabled)
                .retry_grace_period_seconds(10)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let client_id = client.user_pool_client().unwrap().client_id().unwrap().to_owned();
    let login = f.password_auth_via(&client_id, "alice", PASSWORD).send().await.unwrap();
    let first = login.authentication_result().unwrap().refresh_token().unwrap().to_owned();
    let rotated = sdk
        .get_tokens_from_refresh_token()
        .client_id(&client_id)
        .refresh_token(&first)
        .send()
        .await
        .unwrap();
    let second = rotated
        .authentication_result()
        .unwrap()
        .refresh_token()
        .expect("rotation returns a new refresh token");
    assert_ne!(second, first);
    // Within the grace period the old token still works; after it, reuse is refused.
    sdk.get_tokens_from_refresh_token()
        .client_id(&client_id)
        .refresh_token(&first)
        .send()
        .await
        .unwrap();
    f.server.advance_clock(std::time::Duration::from_secs(11));
    assert_code(
        sdk.get_tokens_from_refresh_token()
            .client_id(&client_id)
            .refresh_token(&first)
            .send()
            .await,
        "RefreshTokenReuseException",
    );
    sdk.get_tokens_from_refresh_token()
        .client_id(&client_id)
        .refresh_token(second)
        .send()
        .await
        .unwrap();
    f.server.set_clock_offset(0);
}

#[tokio::test]
async fn required_schema_attributes_at_sign_up_and_first_sign_in() {
    let f = fixture().await;
    let pool = f
        .server
        .create_pool_with(serde_json::json!({
            "PoolName": "strict",
            "Schema": [{ "Name": "name", "AttributeDataType": "String", "Required": true }],
        }))
        .await
        .unwrap();
    let client = f.server.create_client(&pool, "app", Default::default()).await.unwrap();
    assert_code(
        f.sdk
            .sign_up()
            .client_id(&client.client_id)
            .username("kim")
            .password(PASSWORD)
            .send()
            .await,
        "InvalidParameterException",
    );
    f.sdk
        .sign_up()
        .client_id(&client.client_id)
        .username("kim")
        .password(PASSWORD)
        .user_attributes(attr("name", "Kim"))
        .send()
        .await
        .unwrap();
    // AdminCreateUser does not check; the user supplies the attribute at first sign-in.
    f.sdk
        .admin_create_user()
        .user_pool_id(&pool)
        .username("lee")
        .temporary_password("Temp-Passw0rd!")
        .send()
        .await
        .unwrap();
    let challenge =
        f.password_auth_via(&client.client_id, "lee", "Temp-Passw0rd!").send().await.unwrap();
    assert_eq!(
        challenge.challenge_parameters().unwrap()["requiredAttributes"],
        r#"["userAttributes.name"]"#
    );
    assert_code(
        f.answer_via(
            &client.client_id,
            ChallengeNameType::NewPasswordRequired,
            challenge.session(),
            "lee",
        )
        .challenge_responses("NEW_PASSWORD", "Lee-Passw0rd!")
        .send()
        .await,
        "InvalidParameterException",
    );
    let done = f
        .answer_via(
            &client.client_id,
            ChallengeNameType::NewPasswordRequired,
            challenge.session(),
            "lee",
        )
        .challenge_responses("NEW_PASSWORD", "Lee-Passw0rd!")
        .challenge_responses("userAttributes.name", "Lee")
        .send()
        .await
        .unwrap();
    assert!(done.authentication_result().is_some());
}

// Each scenario on a server of its own; `every_operation_is_exercised` runs them all on one.
scenario_tests! {
    pools_and_clients_conformance => pools_and_clients;
    admin_users_conformance => admin_users;
    groups_conformance => groups;
    password_refresh_revocation_conformance => password_and_tokens;
    new_password_required_conformance => new_password_required;
    sign_up_and_account_conformance => sign_up_and_account;
    mfa_conformance => mfa;
    custom_auth_conformance => custom_auth;
    devices_conformance => devices;
    refresh_token_rotation_conformance => refresh_rotation;
    secret_hash_flows_and_user_existence_conformance => secret_hash_and_flows;
}

#[tokio::test]
async fn every_operation_is_exercised() {
    let f = fixture().await;
    crate::oauth::domains(&f).await;
    crate::oauth::resource_servers(&f).await;
    crate::oauth::client_oauth_settings(&f).await;
    crate::oauth::identity_providers(&f).await;
    pools_and_clients(&f).await;
    admin_users(&f).await;
    groups(&f).await;
    password_and_tokens(&f).await;
    new_password_required(&f).await;
    sign_up_and_account(&f).await;
    mfa(&f).await;
    custom_auth(&f).await;
    devices(&f).await;
    secret_hash_and_flows(&f).await;
    refresh_rotation(&f).await;
    crate::support::assert_every_operation_called(&f.server, auth_mock_server::OPERATIONS);
}
