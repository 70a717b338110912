//! What a team switching to this server relies on: moto's and LocalStack's compatibility
//! endpoints, seeded identity pools, the banner's variables (and the guide's copy of them) and
//! the ready file.

use auth_mock_server::MockServer;
use auth_mock_server::seed::Seed;
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use serde_json::{Value, json};

use crate::raw::{get, request};
use crate::support::{PASSWORD, fixture, guest_credentials, identity_sdk, sdk, server};

async fn get_json(url: &str, path: &str) -> Value {
    let response = get(url, path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.body);
    response.json()
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder().name(name).value(value).build().unwrap()
}

/// The code at the end of a message ("... is 123456.").
fn code_in(text: &str) -> String {
    let digits: String = text
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect()
}

#[tokio::test]
async fn moto_reset_forgets_everything_like_the_control_api() {
    let f = fixture().await;
    assert_eq!(f.sdk.list_user_pools().max_results(10).send().await.unwrap().user_pools().len(), 1);
    let response = request(&f.server.url(), "POST", "/moto-api/reset", &[], b"").await.unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(f.sdk.list_user_pools().max_results(10).send().await.unwrap().user_pools().is_empty());
    // The control API's own reset is still there.
    let response = request(&f.server.url(), "POST", "/_mock/reset", &[], b"").await.unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn ses_lists_sign_up_and_reset_emails_with_their_codes() {
    let server = server().await;
    let sdk = sdk(&server);
    let pool = sdk
        .create_user_pool()
        .pool_name("mail")
        .auto_verified_attributes(
            aws_sdk_cognitoidentityprovider::types::VerifiedAttributeType::Email,
        )
        .send()
        .await
        .unwrap();
    let pool_id = pool.user_pool().unwrap().id().unwrap().to_owned();
    let client = server.create_client(&pool_id, "app", Default::default()).await.unwrap();
    for username in ["carol", "dave"] {
        sdk.sign_up()
            .client_id(&client.client_id)
            .username(username)
            .password(PASSWORD)
            .user_attributes(attribute("email", &format!("{username}@example.com")))
            .send()
            .await
            .unwrap();
    }

    let all = get_json(&server.url(), "/_aws/ses").await;
    assert_eq!(all["messages"].as_array().unwrap().len(), 2, "{all}");
    let carol = get_json(&server.url(), "/_aws/ses?email=carol@example.com").await;
    let messages = carol["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{carol}");
    let message = &messages[0];
    assert_eq!(message["Destination"]["ToAddresses"], json!(["carol@example.com"]));
    assert_eq!(message["Source"], "no-reply@verificationemail.com");
    assert_eq!(message["Subject"], "Your verification code");
    assert_eq!(message["Region"], "us-east-1");
    let code = code_in(message["Body"]["text_part"].as_str().unwrap());
    assert_eq!(code, server.last_code(&pool_id, "carol").unwrap().code);
    // The id filter finds the same message; the code confirms the account.
    let id = message["Id"].as_str().unwrap();
    let by_id = get_json(&server.url(), &format!("/_aws/ses?id={id}")).await;
    assert_eq!(by_id["messages"], json!([message]));
    sdk.confirm_sign_up()
        .client_id(&client.client_id)
        .username("carol")
        .confirmation_code(&code)
        .send()
        .await
        .unwrap();

    // LocalStack's filter is the sender: it lists every message from that address.
    let from = get_json(&server.url(), "/_aws/ses?email=no-reply@verificationemail.com").await;
    assert_eq!(from["messages"].as_array().unwrap().len(), 2, "{from}");

    // A password reset mails a new code, worded with the pool's own template.
    sdk.update_user_pool()
        .user_pool_id(&pool_id)
        .auto_verified_attributes(
            aws_sdk_cognitoidentityprovider::types::VerifiedAttributeType::Email,
        )
        .verification_message_template(
            aws_sdk_cognitoidentityprovider::types::VerificationMessageTemplateType::builder()
                .email_subject("Reset your Example password")
                .email_message("Hello {username}, your code is {####}")
                .build(),
        )
        .send()
        .await
        .unwrap();
    sdk.forgot_password().client_id(&client.client_id).username("carol").send().await.unwrap();
    let carol = get_json(&server.url(), "/_aws/ses?email=carol@example.com").await;
    let last = carol["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["Subject"], "Reset your Example password", "{carol}");
    let reset = server.last_code(&pool_id, "carol").unwrap();
    assert_eq!(reset.purpose, "forgot_password");
    assert_eq!(last["Body"]["text_part"], format!("Hello carol, your code is {}", reset.code));
    sdk.confirm_forgot_password()
        .client_id(&client.client_id)
        .username("carol")
        .confirmation_code(code_in(last["Body"]["text_part"].as_str().unwrap()))
        .password("An0ther-Passw0rd!")
        .send()
        .await
        .unwrap();

    // Nothing was texted, and moto's reset empties the outbox.
    let sms = get_json(&server.url(), "/_aws/sns/sms-messages").await;
    assert_eq!(sms["sms_messages"], json!({}), "{sms}");
    request(&server.url(), "POST", "/moto-api/reset", &[], b"").await.unwrap();
    assert_eq!(get_json(&server.url(), "/_aws/ses").await, json!({"messages": []}));
}

#[tokio::test]
async fn sns_lists_text_messages_by_phone_number_and_ses_the_invitations() {
    let f = fixture().await;
    for (name, phone) in [("erin", "+15550101"), ("frank", "+15550102")] {
        f.sdk
            .sign_up()
            .client_id(&f.client.client_id)
            .username(name)
            .password(PASSWORD)
            .user_attributes(attribute("phone_number", phone))
            .send()
            .await
            .unwrap();
    }
    let all = get_json(&f.server.url(), "/_aws/sns/sms-messages").await;
    let numbers = all["sms_messages"].as_object().unwrap();
    assert_eq!(numbers.keys().collect::<Vec<_>>(), ["+15550101", "+15550102"], "{all}");
    let erin = get_json(&f.server.url(), "/_aws/sns/sms-messages?phoneNumber=%2B15550101").await;
    let texts = erin["sms_messages"]["+15550101"].as_array().unwrap();
    assert_eq!(texts.len(), 1, "{erin}");
    assert_eq!(texts[0]["PhoneNumber"], "+15550101");
    let code = f.server.last_code(&f.pool, "erin").unwrap().code;
    assert_eq!(texts[0]["Message"], format!("Your verification code is {code}."));
    assert_eq!(erin["sms_messages"].as_object().unwrap().len(), 1, "{erin}");
    assert_eq!(get_json(&f.server.url(), "/_aws/ses").await["messages"], json!([]));

    // An administrator's invitation mails the temporary password.
    f.sdk
        .admin_create_user()
        .user_pool_id(&f.pool)
        .username("gina")
        .temporary_password("Temp-Passw0rd!")
        .user_attributes(attribute("email", "gina@example.com"))
        .send()
        .await
        .unwrap();
    let gina = get_json(&f.server.url(), "/_aws/ses?email=gina@example.com").await;
    assert_eq!(gina["messages"][0]["Subject"], "Your temporary password", "{gina}");
    assert_eq!(
        gina["messages"][0]["Body"]["text_part"],
        "Your username is gina and temporary password is Temp-Passw0rd!."
    );
}

#[tokio::test]
async fn seeds_declare_identity_pools_that_trust_their_user_pools() {
    let server = MockServer::builder().seed(Seed::demo()).start().await.unwrap();
    let seeded = server.seeded().unwrap();
    let identity_pool = &seeded.identity_pools[0];
    assert_eq!(identity_pool.id, "us-east-1:00000000-0000-4000-8000-000000000001");
    assert_eq!(
        identity_pool.authenticated_role_arn,
        "arn:aws:iam::000000000000:role/demo-identities-authenticated"
    );
    let identity = identity_sdk(&server);
    let described =
        identity.describe_identity_pool().identity_pool_id(&identity_pool.id).send().await.unwrap();
    assert!(described.allow_unauthenticated_identities());
    let provider = &described.cognito_identity_providers()[0];
    assert_eq!(
        provider.provider_name(),
        Some("cognito-idp.us-east-1.amazonaws.com/us-east-1_DemoPool1")
    );
    assert_eq!(provider.client_id(), Some("democlient0000000000000001"));
    let roles = identity
        .get_identity_pool_roles()
        .identity_pool_id(&identity_pool.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        roles.roles().unwrap().get("unauthenticated").map(String::as_str),
        Some(identity_pool.unauthenticated_role_arn.as_str())
    );
    // A guest gets credentials from the seeded pool.
    let guest = guest_credentials(&identity, &identity_pool.id).await;
    assert!(guest.access_key_id().unwrap().starts_with("ASIA"));

    // A reference to a user pool the seed does not have is a clear start-up error.
    let seed: Seed = serde_json::from_value(json!({
        "identity_pools": [{ "name": "orphan", "user_pools": [{ "pool": "nowhere", "client": "x" }] }]
    }))
    .unwrap();
    let error = MockServer::builder().seed(seed).start().await.unwrap_err().to_string();
    assert!(error.contains("user pool \"nowhere\" is not in the seed"), "{error}");
    let seed: Seed = serde_json::from_value(json!({
        "identity_pools": [{ "name": "bad", "id": "not-an-id" }]
    }))
    .unwrap();
    let error = MockServer::builder().seed(seed).start().await.unwrap_err().to_string();
    assert!(error.contains("is not of the form <region>:<uuid>"), "{error}");
}

/// The names of the `export NAME=...` lines of a text.
fn exported_names(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('=').map(|(name, _)| name))
        .collect()
}

#[tokio::test]
async fn the_banner_the_ready_file_and_the_guide_list_the_same_variables() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let running =
        crate::binary::start(&["--port", "0", "--ready-file", ready.to_str().unwrap()]).await;
    let banner = running.stdout.join("\n");
    assert!(banner.contains("export AWS_DEFAULT_REGION=us-east-1"), "{banner}");
    assert!(
        banner.contains(
            "identity pool us-east-1:00000000-0000-4000-8000-000000000001 (demo-identities)\n  \
             authenticated role arn:aws:iam::000000000000:role/demo-identities-authenticated\n  \
             unauthenticated role arn:aws:iam::000000000000:role/demo-identities-unauthenticated"
        ),
        "{banner}"
    );

    // The ready file is written before the banner, and says the same.
    let file: Value = serde_json::from_slice(&std::fs::read(&ready).unwrap()).unwrap();
    assert_eq!(file["url"], running.url.as_str());
    assert_eq!(file["seeded"]["pools"][0]["id"], "us-east-1_DemoPool1");
    let environment = file["environment"].as_object().unwrap();
    let mut from_file: Vec<&str> = environment.keys().map(String::as_str).collect();
    let mut from_banner = exported_names(&banner);
    from_file.sort_unstable();
    from_banner.sort_unstable();
    assert_eq!(from_file, from_banner);
    for line in banner.lines().filter_map(|l| l.strip_prefix("export ")) {
        let (name, value) = line.split_once('=').unwrap();
        let value = value.trim_matches('\'');
        assert_eq!(environment[name], value, "{name}");
    }

    // The guide shows the banner of the binary started without flags: same variables, in order.
    let guide = include_str!("../../../docs/src/mock-server.md");
    let shown = guide
        .split("```text\nauth-mock-server listening on")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the guide shows the banner in a ```text block");
    assert_eq!(exported_names(shown), exported_names(&banner), "docs/src/mock-server.md");
    assert!(running.interrupt().await.success());
}
