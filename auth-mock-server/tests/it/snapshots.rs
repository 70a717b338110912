//! insta snapshots of response shapes, with tokens, ids and times redacted.

use serde_json::{Value, json};

use crate::raw::call;
use crate::support::{PASSWORD, claims, fixture};

const REDACT: &[&str] = &[
    "AccessToken",
    "IdToken",
    "RefreshToken",
    "Session",
    "SRP_B",
    "SALT",
    "SECRET_BLOCK",
    "Id",
    "ClientId",
    "ClientSecret",
    "CreationDate",
    "LastModifiedDate",
    "UserCreateDate",
    "UserLastModifiedDate",
    "UserPoolId",
    "Arn",
    "sub",
    "jti",
    "origin_jti",
    "event_id",
    "iat",
    "exp",
    "auth_time",
    "aud",
    "client_id",
    "iss",
    "USER_ID_FOR_SRP",
    "UserSub",
];

/// Replaces the values of volatile members (and the `Value` of a `sub` attribute) by "[redacted]".
fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_sub_attribute = map.get("Name").and_then(Value::as_str) == Some("sub");
            for (key, inner) in map.iter_mut() {
                if key == "TokenValidityUnits" {
                    continue;
                }
                if REDACT.contains(&key.as_str()) || (is_sub_attribute && key == "Value") {
                    *inner = json!("[redacted]");
                } else {
                    redact(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

async fn op(url: &str, operation: &str, body: Value) -> Value {
    let response = call(url, operation, body.to_string().as_bytes(), true).await.unwrap();
    let mut json = response.json();
    json["_status"] = json!(response.status);
    json["_errorType"] = json!(response.header("x-amzn-errortype"));
    redact(&mut json);
    json
}

/// InitiateAuth with USER_PASSWORD_AUTH through `client`, redacted as [`op`] does.
async fn password_auth(url: &str, client: &str, username: &str, password: &str) -> Value {
    let parameters = json!({ "USERNAME": username, "PASSWORD": password });
    let body = json!({
        "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client, "AuthParameters": parameters,
    });
    op(url, "InitiateAuth", body).await
}

#[tokio::test]
async fn response_shapes() {
    let f = fixture().await;
    let url = f.server.url();
    let client = &f.client.client_id;

    let tokens = password_auth(&url, client, "alice", PASSWORD).await;
    insta::assert_yaml_snapshot!("initiate_auth_tokens", tokens);

    let (access, id, _) = f.password_login("alice", PASSWORD).await;
    let mut id_claims = claims(&id);
    let mut access_claims = claims(&access);
    redact(&mut id_claims);
    redact(&mut access_claims);
    insta::assert_yaml_snapshot!("id_token_claims", id_claims);
    insta::assert_yaml_snapshot!("access_token_claims", access_claims);

    let ephemeral = auth_srp::ClientEphemeral::new();
    let challenge = op(
        &url,
        "InitiateAuth",
        json!({
            "AuthFlow": "USER_SRP_AUTH", "ClientId": client,
            "AuthParameters": { "USERNAME": "alice", "SRP_A": ephemeral.public_hex() },
        }),
    )
    .await;
    insta::assert_yaml_snapshot!("initiate_auth_password_verifier", challenge);

    let error = password_auth(&url, client, "alice", "wrong").await;
    insta::assert_yaml_snapshot!("error_not_authorized", error);

    let user = op(&url, "AdminGetUser", json!({ "UserPoolId": f.pool, "Username": "alice" })).await;
    insta::assert_yaml_snapshot!("admin_get_user", user);

    let pool = op(&url, "DescribeUserPool", json!({ "UserPoolId": f.pool })).await;
    insta::assert_yaml_snapshot!("describe_user_pool", pool);

    let created = op(
        &url,
        "CreateUserPoolClient",
        json!({
            "UserPoolId": f.pool, "ClientName": "snap", "GenerateSecret": true,
        }),
    )
    .await;
    insta::assert_yaml_snapshot!("create_user_pool_client", created);

    f.server
        .call(
            "AdminCreateUser",
            json!({ "UserPoolId": f.pool, "Username": "temp", "TemporaryPassword": "Temp-Passw0rd!",
            "UserAttributes": [{ "Name": "email", "Value": "temp@example.com" }] }),
        )
        .await
        .unwrap();
    let new_password = password_auth(&url, client, "temp", "Temp-Passw0rd!").await;
    insta::assert_yaml_snapshot!("initiate_auth_new_password_required", new_password);

    let malformed = op(&url, "InitiateAuth", json!("not an object")).await;
    insta::assert_yaml_snapshot!("error_malformed", malformed);
}
