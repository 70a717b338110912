//! Bad input never crashes the server: random and malformed bodies to every operation (user
//! pools and identity pools) get a 200 or a Cognito-shaped 400, never a 5xx, never a dropped
//! connection.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::raw::{Api, RawResponse};

const MEMBERS: &[&str] = &[
    "ClientId",
    "UserPoolId",
    "Username",
    "Password",
    "AuthFlow",
    "AuthParameters",
    "ChallengeName",
    "ChallengeResponses",
    "Session",
    "AccessToken",
    "RefreshToken",
    "Token",
    "ConfirmationCode",
    "UserAttributes",
    "PoolName",
    "ClientName",
    "GroupName",
    "Filter",
    "Limit",
    "MaxResults",
    "DeviceKey",
    "UserCode",
    "ExplicitAuthFlows",
    "Policies",
    "Schema",
    "TemporaryPassword",
    "MessageAction",
    "Permanent",
    "SecretHash",
    "ProposedPassword",
    "PreviousPassword",
    "AttributeName",
    "Code",
    "DeviceSecretVerifierConfig",
    "PaginationToken",
    "USERNAME",
    "PASSWORD",
    "SRP_A",
    "SECRET_HASH",
    "REFRESH_TOKEN",
    "DEVICE_KEY",
    "PREFERRED_CHALLENGE",
    "ANSWER",
    "EMAIL_OTP_CODE",
    "SMS_OTP_CODE",
    "SignInPolicy",
    "AllowedFirstAuthFactors",
    "Name",
    "Value",
    "IdentityPoolId",
    "IdentityId",
    "IdentityPoolName",
    "AllowUnauthenticatedIdentities",
    "AllowClassicFlow",
    "Logins",
    "LoginsToRemove",
    "CustomRoleArn",
    "SupportedLoginProviders",
    "CognitoIdentityProviders",
    "ProviderName",
    "OpenIdConnectProviderARNs",
    "DeveloperProviderName",
    "DeveloperUserIdentifier",
    "SourceUserIdentifier",
    "DestinationUserIdentifier",
    "TokenDuration",
    "Roles",
    "RoleMappings",
    "Type",
    "AmbiguousRoleResolution",
    "RulesConfiguration",
    "Rules",
    "IdentityIdsToDelete",
    "NextToken",
    "accounts.google.com",
    "cognito-identity.amazonaws.com",
    "cognito-idp.us-east-1.amazonaws.com/us-east-1_Fuzz00001",
    "authenticated",
    "unauthenticated",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("alice"),
            Just("USER_SRP_AUTH"),
            Just("USER_PASSWORD_AUTH"),
            Just("REFRESH_TOKEN_AUTH"),
            Just("PASSWORD_VERIFIER"),
            Just("USER_AUTH"),
            Just("SELECT_CHALLENGE"),
            Just("PASSWORD_SRP"),
            Just("EMAIL_OTP"),
            Just("us-east-1_Fuzz00001"),
            Just("fuzzclient0000000000000001"),
            Just("00"),
            Just("ffffffffffffffffffff"),
            Just("Passw0rd!"),
            Just("email ^= \"a\""),
            Just("us-east-1:00000000-0000-0000-0000-000000000000"),
            Just("arn:aws:iam::000000000000:role/fuzz"),
            Just("Token"),
            Just("Rules"),
            Just("dev.fuzz"),
            Just("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
        // The seeded identity pool and one of its identities.
        prop_oneof![Just(env().identity_pool.clone()), Just(env().identity.clone())]
            .prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(MEMBERS), inner), 0..6).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
        json_value().prop_map(|v| {
            let mut bytes = v.to_string().into_bytes();
            bytes.truncate(bytes.len() / 2);
            bytes
        }),
    ]
}

fn check(operation: &str, response: &RawResponse) {
    assert!(
        // 413: a body over the limit.
        matches!(response.status, 200 | 400 | 413),
        "{operation}: status {} body {}",
        response.status,
        response.body
    );
    assert!(response.header("x-amzn-requestid").is_some(), "{operation}: no request id");
    if response.status == 400 {
        let body: Value = serde_json::from_str(&response.body)
            .unwrap_or_else(|_| panic!("{operation}: {}", response.body));
        let kind =
            body["__type"].as_str().unwrap_or_else(|| panic!("{operation}: no __type: {body}"));
        assert!(kind.ends_with("Exception"), "{operation}: {kind}");
        assert!(body["message"].is_string(), "{operation}: no message: {body}");
        assert_eq!(response.header("x-amzn-errortype"), Some(kind), "{operation}");
    }
}

struct Env {
    runtime: tokio::runtime::Runtime,
    url: String,
    identity_pool: String,
    identity: String,
    _server: auth_mock_server::MockServerHandle,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let runtime = crate::support::shared_runtime();
        let server = runtime.block_on(async {
            let seed: auth_mock_server::seed::Seed = serde_json::from_value(json!({
                "pools": [{
                    "name": "fuzz",
                    "id": "us-east-1_Fuzz00001",
                    "clients": [{ "name": "c", "id": "fuzzclient0000000000000001" }],
                    "users": [{ "username": "alice", "password": "Passw0rd!" }],
                }],
            }))
            .unwrap();
            let server = auth_mock_server::MockServer::builder().seed(seed).start().await.unwrap();
            let identity_pool = server
                .create_identity_pool(
                    "fuzz",
                    auth_mock_server::IdentityPoolOptions::default()
                        .allow_unauthenticated(true)
                        .user_pool("us-east-1_Fuzz00001", "fuzzclient0000000000000001")
                        .login_provider("accounts.google.com", "fuzz-google")
                        .developer_provider("dev.fuzz"),
                )
                .await
                .unwrap();
            let identity = server
                .identity_call("GetId", json!({ "IdentityPoolId": identity_pool }))
                .await
                .unwrap()["IdentityId"]
                .as_str()
                .unwrap()
                .to_owned();
            (server, identity_pool, identity)
        });
        let (server, identity_pool, identity) = server;
        Env { url: server.url(), identity_pool, identity, _server: server, runtime }
    })
}

#[test]
fn malformed_bodies_to_every_operation() {
    let env = env();
    let huge = vec![b'a'; 2 * 1024 * 1024];
    let fixed: [&[u8]; 12] = [
        b"",
        b"{",
        b"[]",
        b"null",
        b"\"str\"",
        b"{\"ClientId\": 5, \"UserPoolId\": [], \"Username\": {}}",
        b"{\"AuthParameters\": [1,2], \"ChallengeResponses\": \"x\", \"UserAttributes\": [{\"Name\": 1}]}",
        b"\xff\xfe\x00",
        // Choice-based sign-in: a bad preference, an answer without a session, a malformed
        // sign-in policy.
        b"{\"AuthFlow\": \"USER_AUTH\", \"ClientId\": \"fuzzclient0000000000000001\", \"UserPoolId\": \"us-east-1_Fuzz00001\", \"AuthParameters\": {\"USERNAME\": \"alice\", \"PREFERRED_CHALLENGE\": \"SMS_OTP\", \"SRP_A\": \"00\"}}",
        b"{\"ChallengeName\": \"SELECT_CHALLENGE\", \"ClientId\": \"fuzzclient0000000000000001\", \"UserPoolId\": \"us-east-1_Fuzz00001\", \"ChallengeResponses\": {\"USERNAME\": \"alice\", \"ANSWER\": \"EMAIL_OTP\"}}",
        b"{\"PoolName\": \"p\", \"UserPoolId\": \"us-east-1_Fuzz00001\", \"Policies\": {\"SignInPolicy\": {\"AllowedFirstAuthFactors\": [\"PASSWORD\", 7]}}}",
        &huge,
    ];
    env.runtime.block_on(async {
        let apis = [
            (Api::UserPools, auth_mock_server::OPERATIONS),
            (Api::IdentityPools, auth_mock_server::IDENTITY_OPERATIONS),
        ];
        for (api, operations) in apis {
            for operation in operations.iter().map(|op| op.name()) {
                for body in fixed {
                    for signed in [true, false] {
                        let response =
                            api.call(&env.url, operation, body, signed).await.expect("an answer");
                        check(operation, &response);
                    }
                }
            }
        }
        for target in [
            "",
            "AWSCognitoIdentityProviderService.NoSuchOperation",
            "AWSCognitoIdentityService.NoSuchOperation",
            "Other.InitiateAuth",
        ] {
            let response =
                crate::raw::request(&env.url, "POST", "/", &[("X-Amz-Target", target)], b"{}")
                    .await
                    .unwrap();
            check(target, &response);
            assert_eq!(response.status, 400);
        }
    });
}

/// One proptest case: `body` to the operation at `index` of `api`'s `operations`, on the
/// shared server.
fn random_case(
    api: Api,
    operations: &[auth_mock_server::Operation],
    index: usize,
    body: &[u8],
    signed: bool,
) {
    let env = env();
    let operation = operations[index].name();
    let response =
        env.runtime.block_on(api.call(&env.url, operation, body, signed)).expect("an answer");
    check(operation, &response);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bodies_never_get_a_5xx(index in 0..auth_mock_server::OPERATIONS.len(), body in body(), signed in any::<bool>()) {
        random_case(Api::UserPools, auth_mock_server::OPERATIONS, index, &body, signed);
    }

    #[test]
    fn random_identity_bodies_never_get_a_5xx(index in 0..auth_mock_server::IDENTITY_OPERATIONS.len(), body in body(), signed in any::<bool>()) {
        random_case(Api::IdentityPools, auth_mock_server::IDENTITY_OPERATIONS, index, &body, signed);
    }
}
