//! Every flow and challenge at the wire level, against a scripted server: what the client
//! sends (operation, fields, `SECRET_HASH`, `Session`, `USERNAME` = `USER_ID_FOR_SRP`) and
//! how it reads the answers. SRP proofs are checked with auth-srp's *server* side, so the
//! client's proofs are verified the way Cognito verifies them.

use std::collections::BTreeMap;
use std::sync::Arc;

use auth_cognito::{CognitoUserPool, DeviceStore, MemoryDeviceStore, MfaPreference, RetryPolicy};
use auth_core::{
    AccountProvider, ChallengeKind, ChallengeResponse, FirstFactor, IdentityProvider,
    ProviderError, SignInFlow, SignInRequest, SignOutOptions, SignUpRequest,
};
use auth_srp::{BigUint, ServerEphemeral, Verifier, parse_hex, secret_hash};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{Action, Recorded, ScriptedServer, auth_result, signed_in, step};

const POOL_ID: &str = "eu-west-1_WirePool9";
const POOL_NAME: &str = "WirePool9";
const CLIENT: &str = "wireclient";
const SECRET: &str = "wire-client-secret-0123456789";
/// The internal username of the user who signs in as `alice@example.com`.
const USER_ID: &str = "7d8e9f00-1111-4222-8333-944455556666";
const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "Corr3ct-Horse!";

fn pool(server: &ScriptedServer, devices: Arc<MemoryDeviceStore>) -> CognitoUserPool {
    CognitoUserPool::builder(POOL_ID, CLIENT)
        .client_secret(SECRET)
        .endpoint(&server.url)
        .device_store(devices)
        .device_name("test-laptop")
        .totp_issuer("WireApp")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn body_str<'a>(request: &'a Recorded, path: &[&str]) -> &'a str {
    let mut value = &request.body;
    for key in path {
        value = &value[*key];
    }
    value.as_str().unwrap_or_else(|| {
        panic!("{} has no string at {path:?}: {}", request.operation(), request.body)
    })
}

/// Asserts that `request` answers the challenge `name` in the sign-in session `session`.
#[track_caller]
fn assert_answers(request: &Recorded, name: &str, session: &str) {
    assert_eq!(body_str(request, &["ChallengeName"]), name);
    assert_eq!(body_str(request, &["Session"]), session);
}

fn challenge(name: &str, session: &str, params: Value) -> Action {
    Action::ok(json!({"ChallengeName": name, "Session": session, "ChallengeParameters": params}))
}

/// A server-side SRP exchange prepared before the client starts (B does not depend on A).
struct SrpServer {
    ephemeral: ServerEphemeral,
    salt_hex: String,
    block: String,
}

impl SrpServer {
    fn for_password(user_id: &str, password: &str) -> Self {
        let verifier = Verifier::with_salt_bytes(POOL_NAME, user_id, password, &[0x5a; 16]);
        Self {
            ephemeral: ServerEphemeral::new(verifier.verifier()),
            salt_hex: verifier.salt_hex(),
            block: STANDARD.encode([7u8; 48]),
        }
    }

    /// The PASSWORD_VERIFIER challenge of this exchange (its salt, B and secret block) in
    /// `session`, with the user parameters `user` (`USER_ID_FOR_SRP`, maybe `USERNAME`).
    fn password_verifier(&self, session: &str, user: Value) -> Action {
        let mut params = json!({
            "SALT": self.salt_hex, "SRP_B": self.ephemeral.public_hex(), "SECRET_BLOCK": self.block,
        });
        params.as_object_mut().unwrap().extend(user.as_object().unwrap().clone());
        challenge("PASSWORD_VERIFIER", session, params)
    }

    /// Checks a sign-in of `USER_ID` that presented the remembered device `device_key`:
    /// InitiateAuth (`requests[0]`) and the proof (`requests[1]`) name it, and the proof
    /// verifies.
    fn check_with_device(&self, requests: &[Recorded], device_key: &str) {
        assert_eq!(requests[0].body["AuthParameters"]["DEVICE_KEY"], device_key);
        assert_eq!(requests[1].body["ChallengeResponses"]["DEVICE_KEY"], device_key);
        let srp_a = requests[0].body["AuthParameters"]["SRP_A"].as_str().unwrap();
        self.check(srp_a, &requests[1], POOL_NAME, USER_ID);
    }

    /// Checks the client's proof: the key from the client's A, the signature over
    /// `pool_name ‖ user_id ‖ block ‖ TIMESTAMP`.
    fn check(&self, srp_a: &str, answer: &Recorded, pool_name: &str, user_id: &str) {
        let a = parse_hex("SRP_A", srp_a).unwrap();
        let key = self.ephemeral.session_key(&a).unwrap();
        let responses = &answer.body["ChallengeResponses"];
        let timestamp = responses["TIMESTAMP"].as_str().unwrap();
        auth_srp::parse_timestamp(timestamp).expect("TIMESTAMP in Cognito's format");
        assert_eq!(responses["PASSWORD_CLAIM_SECRET_BLOCK"], self.block.as_str());
        let block = STANDARD.decode(&self.block).unwrap();
        let signature = responses["PASSWORD_CLAIM_SIGNATURE"].as_str().unwrap();
        assert!(
            key.verify_signature(pool_name, user_id, &block, timestamp, signature),
            "the client's PASSWORD_CLAIM_SIGNATURE does not verify"
        );
    }
}

#[tokio::test]
async fn srp_sign_in_with_alias_secret_hash_and_verified_proof() {
    let srp = SrpServer::for_password(USER_ID, PASSWORD);
    let server = ScriptedServer::start(vec![
        srp.password_verifier("", json!({"USERNAME": USER_ID, "USER_ID_FOR_SRP": USER_ID})),
        Action::ok(auth_result(USER_ID, true)),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let request = SignInRequest::password(EMAIL, PASSWORD).with_metadata("app", "wire-test");
    let session = signed_in(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(session.username, USER_ID, "the session names the internal username");

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let initiate = &requests[0];
    assert_eq!((initiate.method.as_str(), initiate.path.as_str()), ("POST", "/"));
    assert_eq!(initiate.headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(initiate.headers["x-amz-target"], "AWSCognitoIdentityProviderService.InitiateAuth");
    assert_eq!(body_str(initiate, &["AuthFlow"]), "USER_SRP_AUTH");
    assert_eq!(body_str(initiate, &["ClientId"]), CLIENT);
    assert_eq!(body_str(initiate, &["ClientMetadata", "app"]), "wire-test");
    let params = &initiate.body["AuthParameters"];
    assert_eq!(params["USERNAME"], EMAIL);
    assert_eq!(params["SECRET_HASH"], secret_hash(EMAIL, CLIENT, SECRET));
    assert!(params.get("PASSWORD").is_none(), "SRP never sends the password");
    assert!(params.get("CHALLENGE_NAME").is_none());
    let srp_a = params["SRP_A"].as_str().unwrap();
    assert!(srp_a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));

    let answer = &requests[1];
    assert_eq!(answer.operation(), "RespondToAuthChallenge");
    assert_eq!(body_str(answer, &["ChallengeName"]), "PASSWORD_VERIFIER");
    let responses = &answer.body["ChallengeResponses"];
    assert_eq!(responses["USERNAME"], USER_ID, "USERNAME is USER_ID_FOR_SRP, not the alias");
    assert_eq!(responses["SECRET_HASH"], secret_hash(USER_ID, CLIENT, SECRET));
    assert!(!answer.body.to_string().contains(PASSWORD), "the password never leaves the client");
    srp.check(srp_a, answer, POOL_NAME, USER_ID);
}

#[tokio::test]
async fn wrong_password_gives_a_proof_that_does_not_verify() {
    let srp = SrpServer::for_password("alice", PASSWORD);
    let server = ScriptedServer::start(vec![
        srp.password_verifier("", json!({"USER_ID_FOR_SRP": "alice"})),
        Action::error(400, "NotAuthorizedException", "Incorrect username or password."),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let error = IdentityProvider::sign_in(&pool, &SignInRequest::password("alice", "Wr0ng!"))
        .await
        .unwrap_err();
    assert!(error.is_rejected());
    let requests = server.requests();
    let a =
        parse_hex("SRP_A", requests[0].body["AuthParameters"]["SRP_A"].as_str().unwrap()).unwrap();
    let key = srp.ephemeral.session_key(&a).unwrap();
    let responses = &requests[1].body["ChallengeResponses"];
    assert!(!key.verify_signature(
        POOL_NAME,
        "alice",
        &STANDARD.decode(&srp.block).unwrap(),
        responses["TIMESTAMP"].as_str().unwrap(),
        responses["PASSWORD_CLAIM_SIGNATURE"].as_str().unwrap(),
    ));
}

#[tokio::test]
async fn new_password_required_with_attributes() {
    let server = ScriptedServer::start(vec![
        challenge(
            "NEW_PASSWORD_REQUIRED",
            "session-1",
            json!({
                "USER_ID_FOR_SRP": USER_ID,
                "requiredAttributes": "[\"userAttributes.name\"]",
                "userAttributes": "{\"email\":\"alice@example.com\"}",
            }),
        ),
        Action::ok(auth_result(USER_ID, true)),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let request = SignInRequest::password(EMAIL, "Temp0rary!").with_flow(SignInFlow::Password);
    let step = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(step.challenge_name, "NEW_PASSWORD_REQUIRED");
    assert_eq!(
        step.kind,
        ChallengeKind::NewPasswordRequired { required_attributes: vec!["name".into()] }
    );
    assert_eq!(step.parameters["userAttributes"], "{\"email\":\"alice@example.com\"}");
    assert_eq!(step.context.username, USER_ID);
    let printed = format!("{step:?}");
    assert!(!printed.contains("session-1"), "the session is redacted in Debug: {printed}");

    let response = ChallengeResponse::answer("N3w-Passw0rd!").with_attribute("name", "Alice");
    signed_in(pool.respond_to_challenge(&step.context, &response).await.unwrap());
    let requests = server.requests();
    let initiate = &requests[0];
    assert_eq!(body_str(initiate, &["AuthFlow"]), "USER_PASSWORD_AUTH");
    assert_eq!(initiate.body["AuthParameters"]["PASSWORD"], "Temp0rary!");
    let answer = &requests[1];
    assert_answers(answer, "NEW_PASSWORD_REQUIRED", "session-1");
    assert_eq!(
        answer.body["ChallengeResponses"],
        json!({
            "USERNAME": USER_ID,
            "NEW_PASSWORD": "N3w-Passw0rd!",
            "userAttributes.name": "Alice",
            "SECRET_HASH": secret_hash(USER_ID, CLIENT, SECRET),
        })
    );
}

#[tokio::test]
async fn select_mfa_type_then_software_token_and_sms() {
    let server = ScriptedServer::start(vec![
        challenge(
            "SELECT_MFA_TYPE",
            "s1",
            json!({"USER_ID_FOR_SRP": "bob", "MFAS_CAN_CHOOSE": "[\"SMS_MFA\",\"SOFTWARE_TOKEN_MFA\"]"}),
        ),
        challenge("SOFTWARE_TOKEN_MFA", "s2", json!({"USER_ID_FOR_SRP": "bob", "FRIENDLY_DEVICE_NAME": "phone"})),
        Action::error(400, "CodeMismatchException", "Invalid code received for user"),
        Action::ok(auth_result("bob", true)),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let request = SignInRequest::password("bob", PASSWORD).with_flow(SignInFlow::Password);
    let select = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(
        select.kind,
        ChallengeKind::SelectMfaType {
            options: vec![auth_core::MfaType::Sms, auth_core::MfaType::Totp]
        }
    );
    let totp = step(
        pool.respond_to_challenge(
            &select.context,
            &ChallengeResponse::answer("SOFTWARE_TOKEN_MFA"),
        )
        .await
        .unwrap(),
    );
    assert_eq!(totp.kind, ChallengeKind::SoftwareTokenMfa);
    // A mistyped code is a rejection; the same context can be answered again.
    let error = pool
        .respond_to_challenge(&totp.context, &ChallengeResponse::answer("000000"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("CodeMismatchException"));
    signed_in(
        pool.respond_to_challenge(&totp.context, &ChallengeResponse::answer("123456"))
            .await
            .unwrap(),
    );

    let requests = server.requests();
    assert_eq!(requests[1].body["ChallengeResponses"]["ANSWER"], "SOFTWARE_TOKEN_MFA");
    assert_eq!(requests[1].body["Session"], "s1");
    assert_eq!(requests[3].body["ChallengeName"], "SOFTWARE_TOKEN_MFA");
    assert_eq!(requests[3].body["Session"], "s2");
    assert_eq!(
        requests[3].body["ChallengeResponses"],
        json!({
            "USERNAME": "bob",
            "SOFTWARE_TOKEN_MFA_CODE": "123456",
            "SECRET_HASH": secret_hash("bob", CLIENT, SECRET),
        })
    );

    // SMS and email codes go under their own keys, with the destination in the step.
    for (name, medium, key) in
        [("SMS_MFA", "SMS", "SMS_MFA_CODE"), ("EMAIL_OTP", "EMAIL", "EMAIL_OTP_CODE")]
    {
        server.push([
            challenge(
                name,
                "s3",
                json!({"USER_ID_FOR_SRP": "bob", "CODE_DELIVERY_DELIVERY_MEDIUM": medium,
                       "CODE_DELIVERY_DESTINATION": "+*******0000"}),
            ),
            Action::ok(auth_result("bob", true)),
        ]);
        let code = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
        let expected = if name == "SMS_MFA" {
            ChallengeKind::SmsMfa { destination: Some("+*******0000".into()) }
        } else {
            ChallengeKind::EmailOtp { destination: Some("+*******0000".into()) }
        };
        assert_eq!(code.kind, expected);
        signed_in(
            pool.respond_to_challenge(&code.context, &ChallengeResponse::answer("654321"))
                .await
                .unwrap(),
        );
        let last = server.requests().pop().unwrap();
        assert_eq!(last.body["ChallengeResponses"][key], "654321");
    }
}

#[tokio::test]
async fn mfa_setup_associates_verifies_and_answers() {
    let server = ScriptedServer::start(vec![
        challenge(
            "MFA_SETUP",
            "setup-1",
            json!({"USER_ID_FOR_SRP": "carol", "MFAS_CAN_SETUP": "[\"SOFTWARE_TOKEN_MFA\"]"}),
        ),
        Action::ok(json!({"SecretCode": "JBSWY3DPEHPK3PXPJBSWY3DP", "Session": "setup-2"})),
        Action::ok(json!({"Status": "SUCCESS", "Session": "setup-3"})),
        Action::ok(auth_result("carol", true)),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let request =
        SignInRequest::password("carol@example.com", PASSWORD).with_flow(SignInFlow::Password);
    let setup = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(setup.challenge_name, "MFA_SETUP");
    let ChallengeKind::MfaSetup { secret, otpauth_uri } = &setup.kind else {
        panic!("{:?}", setup.kind)
    };
    assert_eq!(secret.secret(), "JBSWY3DPEHPK3PXPJBSWY3DP");
    assert!(otpauth_uri.secret().starts_with("otpauth://totp/WireApp:carol%40example%2Ecom?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=WireApp"));
    let response =
        ChallengeResponse::answer("246810").with_attribute("friendly_device_name", "My phone");
    signed_in(pool.respond_to_challenge(&setup.context, &response).await.unwrap());

    let requests = server.requests();
    let operations: Vec<&str> = requests.iter().map(Recorded::operation).collect();
    assert_eq!(
        operations,
        ["InitiateAuth", "AssociateSoftwareToken", "VerifySoftwareToken", "RespondToAuthChallenge"]
    );
    assert_eq!(requests[1].body, json!({"Session": "setup-1"}));
    assert_eq!(
        requests[2].body,
        json!({"Session": "setup-2", "UserCode": "246810", "FriendlyDeviceName": "My phone"})
    );
    assert_eq!(requests[3].body["ChallengeName"], "MFA_SETUP");
    assert_eq!(requests[3].body["Session"], "setup-3");
    assert_eq!(requests[3].body["ChallengeResponses"]["USERNAME"], "carol");
}

#[tokio::test]
async fn custom_auth_with_and_without_srp() {
    let srp = SrpServer::for_password("dave", PASSWORD);
    let server = ScriptedServer::start(vec![
        challenge("CUSTOM_CHALLENGE", "c1", json!({"USERNAME": "dave", "question": "2+2?"})),
        Action::ok(auth_result("dave", true)),
        srp.password_verifier("c2", json!({"USER_ID_FOR_SRP": "dave"})),
        challenge("CUSTOM_CHALLENGE", "c3", json!({"USERNAME": "dave", "question": "captcha"})),
        Action::ok(auth_result("dave", true)),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let custom =
        step(IdentityProvider::sign_in(&pool, &SignInRequest::custom("dave")).await.unwrap());
    assert_eq!(custom.kind, ChallengeKind::CustomChallenge);
    assert_eq!(custom.parameters["question"], "2+2?");
    signed_in(
        pool.respond_to_challenge(&custom.context, &ChallengeResponse::answer("4")).await.unwrap(),
    );

    let request = SignInRequest::password("dave", PASSWORD).with_flow(SignInFlow::CustomWithSrp);
    let custom = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(custom.parameters["question"], "captcha");
    let answer = ChallengeResponse::answer("xyz").with_attribute("extra", "1");
    signed_in(pool.respond_to_challenge(&custom.context, &answer).await.unwrap());

    let requests = server.requests();
    assert_eq!(requests[0].body["AuthFlow"], "CUSTOM_AUTH");
    assert_eq!(
        requests[0].body["AuthParameters"],
        json!({
            "USERNAME": "dave", "SECRET_HASH": secret_hash("dave", CLIENT, SECRET)
        })
    );
    assert_eq!(requests[1].body["ChallengeResponses"]["ANSWER"], "4");
    let with_srp = &requests[2].body["AuthParameters"];
    assert_eq!(requests[2].body["AuthFlow"], "CUSTOM_AUTH");
    assert_eq!(with_srp["CHALLENGE_NAME"], "SRP_A");
    srp.check(with_srp["SRP_A"].as_str().unwrap(), &requests[3], POOL_NAME, "dave");
    assert_eq!(requests[4].body["ChallengeResponses"]["ANSWER"], "xyz");
    assert_eq!(requests[4].body["ChallengeResponses"]["extra"], "1");
    assert_eq!(requests[4].body["Session"], "c3");
}

#[tokio::test]
async fn remembered_device_is_confirmed_then_used_for_device_srp() {
    let srp = SrpServer::for_password(USER_ID, PASSWORD);
    let device_key = "eu-west-1_0a1b2c3d-0000-4000-8000-00000000abcd";
    let group = "-gRoUpKeY";
    let mut first = auth_result(USER_ID, true);
    first["AuthenticationResult"]["NewDeviceMetadata"] =
        json!({"DeviceKey": device_key, "DeviceGroupKey": group});
    let devices = Arc::new(MemoryDeviceStore::new());
    let server = ScriptedServer::start(vec![
        srp.password_verifier("", json!({"USER_ID_FOR_SRP": USER_ID})),
        Action::ok(first),
        Action::ok(json!({"UserConfirmationNecessary": false})),
        Action::ok(auth_result(USER_ID, false)),
    ])
    .await;
    let pool = pool(&server, devices.clone());
    let session = signed_in(
        IdentityProvider::sign_in(&pool, &SignInRequest::password(EMAIL, PASSWORD)).await.unwrap(),
    );
    assert_eq!(session.device_key().unwrap().secret(), device_key);
    let remembered = devices.get(EMAIL).await.unwrap().expect("the device is remembered");
    assert_eq!(remembered.device_key, device_key);
    assert_eq!(remembered.device_group_key, group);
    assert_eq!(devices.get(USER_ID).await.unwrap(), Some(remembered.clone()));

    let confirm = &server.requests()[2];
    assert_eq!(confirm.operation(), "ConfirmDevice");
    assert_eq!(confirm.body["DeviceKey"], device_key);
    assert_eq!(confirm.body["DeviceName"], "test-laptop");
    assert!(confirm.body["AccessToken"].is_string());
    let config = &confirm.body["DeviceSecretVerifierConfig"];
    let salt = STANDARD.decode(config["Salt"].as_str().unwrap()).unwrap();
    let verifier = BigUint::from_bytes_be(
        &STANDARD.decode(config["PasswordVerifier"].as_str().unwrap()).unwrap(),
    );
    // The verifier is the one for the secret the client kept.
    let expected =
        Verifier::with_salt_bytes(group, device_key, remembered.device_secret.secret(), &salt);
    assert_eq!(expected.verifier(), &verifier);

    // A refresh names the device.
    pool.refresh(&session).await.unwrap();
    let refresh = server.requests().pop().unwrap();
    assert_eq!(refresh.body["AuthFlow"], "REFRESH_TOKEN_AUTH");
    assert_eq!(
        refresh.body["AuthParameters"],
        json!({
            "REFRESH_TOKEN": "refresh-token-opaque",
            "SECRET_HASH": secret_hash(USER_ID, CLIENT, SECRET),
            "DEVICE_KEY": device_key,
        })
    );

    // The next sign-in presents the device; Cognito asks for its proof instead of MFA.
    let srp2 = SrpServer::for_password(USER_ID, PASSWORD);
    let device_server = ServerEphemeral::new(&verifier);
    let device_block = STANDARD.encode([9u8; 32]);
    let salt_hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    server.push([
        srp2.password_verifier("", json!({"USER_ID_FOR_SRP": USER_ID})),
        challenge("DEVICE_SRP_AUTH", "d1", json!({"USERNAME": USER_ID})),
        challenge(
            "DEVICE_PASSWORD_VERIFIER",
            "d2",
            json!({"SALT": salt_hex, "SRP_B": device_server.public_hex(),
                   "SECRET_BLOCK": device_block, "USERNAME": USER_ID}),
        ),
        Action::ok(auth_result(USER_ID, true)),
    ]);
    let before = server.requests().len();
    let session = signed_in(
        IdentityProvider::sign_in(&pool, &SignInRequest::password(EMAIL, PASSWORD)).await.unwrap(),
    );
    assert_eq!(session.device_key().unwrap().secret(), device_key);
    let requests = &server.requests()[before..];
    srp2.check_with_device(requests, device_key);
    let device_srp = &requests[2].body;
    assert_eq!(device_srp["ChallengeName"], "DEVICE_SRP_AUTH");
    assert_eq!(device_srp["Session"], "d1");
    assert_eq!(device_srp["ChallengeResponses"]["USERNAME"], USER_ID);
    assert_eq!(device_srp["ChallengeResponses"]["DEVICE_KEY"], device_key);
    let device_a =
        parse_hex("SRP_A", device_srp["ChallengeResponses"]["SRP_A"].as_str().unwrap()).unwrap();
    let proof = &requests[3].body;
    assert_eq!(proof["ChallengeName"], "DEVICE_PASSWORD_VERIFIER");
    assert_eq!(proof["Session"], "d2");
    let responses = &proof["ChallengeResponses"];
    assert_eq!(responses["DEVICE_KEY"], device_key);
    assert_eq!(responses["USERNAME"], USER_ID);
    assert_eq!(responses["SECRET_HASH"], secret_hash(USER_ID, CLIENT, SECRET));
    let key = device_server.session_key(&device_a).unwrap();
    assert!(
        key.verify_signature(
            group,
            device_key,
            &STANDARD.decode(&device_block).unwrap(),
            responses["TIMESTAMP"].as_str().unwrap(),
            responses["PASSWORD_CLAIM_SIGNATURE"].as_str().unwrap(),
        ),
        "the device proof must verify against the verifier registered at ConfirmDevice"
    );
}

#[tokio::test]
async fn a_device_cognito_forgot_is_dropped_and_the_sign_in_retried() {
    let devices = Arc::new(MemoryDeviceStore::new());
    devices
        .put("erin", &auth_cognito::RememberedDevice::new("eu-west-1_gone", "g", "s".into()))
        .await
        .unwrap();
    let server = ScriptedServer::start(vec![
        Action::error(400, "ResourceNotFoundException", "Device does not exist."),
        Action::ok(auth_result("erin", true)),
    ])
    .await;
    let pool = pool(&server, devices.clone());
    let request = SignInRequest::password("erin", PASSWORD).with_flow(SignInFlow::Password);
    let session = signed_in(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert!(session.device_key().is_none());
    let requests = server.requests();
    assert_eq!(requests[0].body["AuthParameters"]["DEVICE_KEY"], "eu-west-1_gone");
    assert!(requests[1].body["AuthParameters"].get("DEVICE_KEY").is_none());
    assert_eq!(devices.get("erin").await.unwrap(), None);
}

#[tokio::test]
async fn a_missing_app_client_does_not_cost_the_remembered_device() {
    // The same exception names a missing app client: the retry without the device fails
    // the same way, so the device is kept.
    let devices = Arc::new(MemoryDeviceStore::new());
    let device = auth_cognito::RememberedDevice::new("eu-west-1_kept", "g", "s".into());
    devices.put("erin", &device).await.unwrap();
    let missing =
        || Action::error(400, "ResourceNotFoundException", "User pool client abc does not exist.");
    let server = ScriptedServer::start(vec![missing(), missing()]).await;
    let pool = pool(&server, devices.clone());
    let request = SignInRequest::password("erin", PASSWORD).with_flow(SignInFlow::Password);
    match IdentityProvider::sign_in(&pool, &request).await {
        Err(ProviderError::Rejected(failure)) => {
            assert_eq!(failure.code(), "ResourceNotFoundException")
        }
        other => panic!("expected the missing client to be reported, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 2);
    assert_eq!(devices.get("erin").await.unwrap(), Some(device));
}

#[tokio::test]
async fn sign_out_calls() {
    let server = ScriptedServer::start(vec![]).await;
    let pool = pool(&server, Arc::default());
    server.push([Action::ok(auth_result("frank", true))]);
    let request = SignInRequest::password("frank", PASSWORD).with_flow(SignInFlow::Password);
    let session = signed_in(IdentityProvider::sign_in(&pool, &request).await.unwrap());

    server.push([Action::ok(json!({}))]);
    IdentityProvider::sign_out(&pool, &session, &SignOutOptions::invalidate_tokens())
        .await
        .unwrap();
    let revoke = server.requests().pop().unwrap();
    assert_eq!(revoke.operation(), "RevokeToken");
    assert_eq!(
        revoke.body,
        json!({"Token": "refresh-token-opaque", "ClientId": CLIENT, "ClientSecret": SECRET})
    );

    // An expired access token: refresh once, then sign out globally with the fresh one.
    server.push([
        Action::error(400, "NotAuthorizedException", "Access Token has expired"),
        Action::ok(auth_result("frank", false)),
        Action::ok(json!({})),
    ]);
    let before = server.requests().len();
    IdentityProvider::sign_out(&pool, &session, &SignOutOptions::global()).await.unwrap();
    let requests = &server.requests()[before..];
    let operations: Vec<&str> = requests.iter().map(Recorded::operation).collect();
    assert_eq!(operations, ["GlobalSignOut", "InitiateAuth", "GlobalSignOut"]);
    assert_ne!(requests[0].body["AccessToken"], requests[2].body["AccessToken"]);

    // The refresh for a global sign-out cannot reach Cognito: that is what the caller
    // hears (a transient failure), not the NotAuthorized that started it.
    server.push([
        Action::error(400, "NotAuthorizedException", "Access Token has expired"),
        Action::error(400, "TooManyRequestsException", "Rate exceeded"),
    ]);
    let error =
        IdentityProvider::sign_out(&pool, &session, &SignOutOptions::global()).await.unwrap_err();
    assert!(error.is_transient(), "{error}");

    // Local sign-out calls nothing.
    let before = server.requests().len();
    IdentityProvider::sign_out(&pool, &session, &SignOutOptions::local()).await.unwrap();
    assert_eq!(server.requests().len(), before);
}

#[tokio::test]
async fn account_operations() {
    let server = ScriptedServer::start(vec![
        Action::ok(json!({"UserConfirmed": false, "UserSub": "sub-1",
            "CodeDeliveryDetails": {"Destination": "g***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}})),
        Action::ok(json!({})),
        Action::ok(json!({"CodeDeliveryDetails": {"DeliveryMedium": "EMAIL"}})),
        Action::ok(json!({})),
        Action::ok(json!({"Username": USER_ID, "UserAttributes": [
            {"Name": "email", "Value": "g@example.com"}, {"Name": "sub", "Value": "sub-1"}],
            "PreferredMfaSetting": "SOFTWARE_TOKEN_MFA", "UserMFASettingList": ["SOFTWARE_TOKEN_MFA"]})),
        Action::ok(json!({"CodeDeliveryDetailsList": [{"DeliveryMedium": "EMAIL", "AttributeName": "email"}]})),
        Action::ok(json!({})),
        Action::ok(json!({"Devices": [{"DeviceKey": "eu-west-1_d1", "DeviceAttributes": [{"Name": "device_name", "Value": "laptop"}]}],
            "PaginationToken": "next-page"})),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let outcome = AccountProvider::sign_up(
        &pool,
        &SignUpRequest::new("grace", "Passw0rd!").with_attribute("email", "g@example.com"),
    )
    .await
    .unwrap();
    assert!(!outcome.confirmed);
    assert_eq!(outcome.user_sub, "sub-1");
    assert_eq!(outcome.delivery.unwrap().destination.as_deref(), Some("g***@e***"));
    AccountProvider::confirm_sign_up(&pool, "grace", &"123456".into()).await.unwrap();
    let delivery = AccountProvider::forgot_password(&pool, "grace").await.unwrap();
    assert_eq!(delivery.medium.as_deref(), Some("EMAIL"));
    AccountProvider::confirm_forgot_password(&pool, "grace", &"654321".into(), &"N3w-pass!".into())
        .await
        .unwrap();
    let access = auth_core::AccessToken::new("access-token-value");
    let profile = pool.get_user(&access).await.unwrap();
    assert_eq!(profile.attributes["email"], "g@example.com");
    assert_eq!(profile.preferred_mfa, Some(auth_core::MfaType::Totp));
    let deliveries = AccountProvider::update_user_attributes(
        &pool,
        &access,
        &BTreeMap::from([("email".to_owned(), "new@example.com".to_owned())]),
    )
    .await
    .unwrap();
    assert_eq!(deliveries[0].attribute.as_deref(), Some("email"));
    pool.set_mfa_preference(&access, MfaPreference::new().totp(true, true).sms(false, false))
        .await
        .unwrap();
    let page = pool.list_devices(&access, Some(100), None).await.unwrap();
    assert_eq!(page.devices[0].name(), Some("laptop"));
    assert_eq!(page.next.as_deref(), Some("next-page"));

    let requests = server.requests();
    let operations: Vec<&str> = requests.iter().map(Recorded::operation).collect();
    assert_eq!(
        operations,
        [
            "SignUp",
            "ConfirmSignUp",
            "ForgotPassword",
            "ConfirmForgotPassword",
            "GetUser",
            "UpdateUserAttributes",
            "SetUserMFAPreference",
            "ListDevices",
        ]
    );
    let hash = secret_hash("grace", CLIENT, SECRET);
    assert_eq!(
        requests[0].body,
        json!({
            "ClientId": CLIENT, "SecretHash": hash, "Username": "grace", "Password": "Passw0rd!",
            "UserAttributes": [{"Name": "email", "Value": "g@example.com"}],
        })
    );
    assert_eq!(
        requests[1].body,
        json!({
            "ClientId": CLIENT, "SecretHash": hash, "Username": "grace", "ConfirmationCode": "123456",
        })
    );
    assert_eq!(
        requests[2].body,
        json!({"ClientId": CLIENT, "SecretHash": hash, "Username": "grace"})
    );
    assert_eq!(
        requests[3].body,
        json!({
            "ClientId": CLIENT, "SecretHash": hash, "Username": "grace",
            "ConfirmationCode": "654321", "Password": "N3w-pass!",
        })
    );
    assert_eq!(requests[4].body, json!({"AccessToken": "access-token-value"}));
    assert_eq!(
        requests[6].body,
        json!({
            "SMSMfaSettings": {"Enabled": false, "PreferredMfa": false},
            "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true},
            "AccessToken": "access-token-value",
        })
    );
    assert_eq!(requests[7].body, json!({"AccessToken": "access-token-value", "Limit": 60}));
}

/// A `SELECT_CHALLENGE` answer of choice-based sign-in: `AvailableChallenges` is at the top
/// level of the response, not among the challenge parameters.
fn select_challenge(session: &str, available: &[&str]) -> Action {
    Action::ok(json!({
        "ChallengeName": "SELECT_CHALLENGE", "Session": session,
        "ChallengeParameters": {}, "AvailableChallenges": available,
    }))
}

#[tokio::test]
async fn user_auth_preferring_password_sends_it_with_initiate_auth() {
    let server = ScriptedServer::start(vec![Action::ok(auth_result(USER_ID, true))]).await;
    let pool = pool(&server, Arc::default());
    // Preferring a password factor without a password is refused before anything is sent.
    let no_password =
        SignInRequest::choice_based(EMAIL).with_preferred_first_factor(FirstFactor::Password);
    let error = IdentityProvider::sign_in(&pool, &no_password).await.unwrap_err();
    assert!(matches!(error, ProviderError::InvalidInput(_)), "{error:?}");
    assert!(server.requests().is_empty());

    let request = SignInRequest::choice_based_with_password(EMAIL, PASSWORD)
        .with_preferred_first_factor(FirstFactor::Password)
        .with_metadata("app", "wire-test");
    assert_eq!(request.flow, SignInFlow::ChoiceBased(Some(FirstFactor::Password)));
    let session = signed_in(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(session.username, USER_ID);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let initiate = &requests[0];
    assert_eq!(initiate.operation(), "InitiateAuth");
    assert_eq!(body_str(initiate, &["AuthFlow"]), "USER_AUTH");
    assert_eq!(body_str(initiate, &["ClientId"]), CLIENT);
    assert_eq!(body_str(initiate, &["ClientMetadata", "app"]), "wire-test");
    assert_eq!(
        initiate.body["AuthParameters"],
        json!({
            "USERNAME": EMAIL,
            "PREFERRED_CHALLENGE": "PASSWORD",
            "PASSWORD": PASSWORD,
            "SECRET_HASH": secret_hash(EMAIL, CLIENT, SECRET),
        })
    );
}

#[tokio::test]
async fn user_auth_preferring_password_srp_proves_the_password_and_remembers_the_device() {
    let srp = SrpServer::for_password(USER_ID, PASSWORD);
    let device_key = "eu-west-1_0a1b2c3d-0000-4000-8000-0000000userauth";
    let mut tokens = auth_result(USER_ID, true);
    tokens["AuthenticationResult"]["NewDeviceMetadata"] =
        json!({"DeviceKey": device_key, "DeviceGroupKey": "-gRoUp"});
    let devices = Arc::new(MemoryDeviceStore::new());
    let server = ScriptedServer::start(vec![
        srp.password_verifier("ua-1", json!({"USERNAME": USER_ID, "USER_ID_FOR_SRP": USER_ID})),
        Action::ok(tokens),
        Action::ok(json!({"UserConfirmationNecessary": false})),
    ])
    .await;
    let pool = pool(&server, devices.clone());
    let request = SignInRequest::choice_based_with_password(EMAIL, PASSWORD);
    assert_eq!(request.flow, SignInFlow::ChoiceBased(Some(FirstFactor::PasswordSrp)));
    let session = signed_in(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(session.username, USER_ID);
    assert_eq!(session.device_key().unwrap().secret(), device_key);
    assert!(devices.get(EMAIL).await.unwrap().is_some(), "the device is remembered");

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let initiate = &requests[0];
    assert_eq!(body_str(initiate, &["AuthFlow"]), "USER_AUTH");
    let params = &initiate.body["AuthParameters"];
    let srp_a = params["SRP_A"].as_str().unwrap();
    assert_eq!(
        params,
        &json!({
            "USERNAME": EMAIL,
            "PREFERRED_CHALLENGE": "PASSWORD_SRP",
            "SRP_A": srp_a,
            "SECRET_HASH": secret_hash(EMAIL, CLIENT, SECRET),
        })
    );
    let answer = &requests[1];
    assert_eq!(answer.operation(), "RespondToAuthChallenge");
    assert_answers(answer, "PASSWORD_VERIFIER", "ua-1");
    let responses = &answer.body["ChallengeResponses"];
    assert_eq!(responses["USERNAME"], USER_ID);
    assert_eq!(responses["SECRET_HASH"], secret_hash(USER_ID, CLIENT, SECRET));
    assert!(!answer.body.to_string().contains(PASSWORD), "the password never leaves the client");
    srp.check(srp_a, answer, POOL_NAME, USER_ID);
    assert_eq!(requests[2].operation(), "ConfirmDevice");

    // The next choice-based sign-in presents the remembered device, as USER_SRP_AUTH does.
    let srp2 = SrpServer::for_password(USER_ID, PASSWORD);
    server.push([
        srp2.password_verifier("ua-2", json!({"USER_ID_FOR_SRP": USER_ID})),
        Action::ok(auth_result(USER_ID, true)),
    ]);
    let session = signed_in(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(session.device_key().unwrap().secret(), device_key);
    let requests = &server.requests()[3..];
    srp2.check_with_device(requests, device_key);
}

#[tokio::test]
async fn user_auth_select_challenge_then_email_otp_code() {
    let server = ScriptedServer::start(vec![
        select_challenge("sel-1", &["PASSWORD_SRP", "WEB_AUTHN", "EMAIL_OTP", "PASSWORD"]),
        challenge(
            "EMAIL_OTP",
            "otp-1",
            json!({"CODE_DELIVERY_DELIVERY_MEDIUM": "EMAIL",
                   "CODE_DELIVERY_DESTINATION": "a***@e***", "USER_ID_FOR_SRP": USER_ID}),
        ),
        Action::error(400, "CodeMismatchException", "Invalid code received for user"),
        Action::ok(auth_result(USER_ID, true)),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let request = SignInRequest::choice_based(EMAIL);
    assert!(request.password.is_none());
    let select = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(select.challenge_name, "SELECT_CHALLENGE");
    assert_eq!(
        select.kind,
        ChallengeKind::SelectFirstFactor {
            options: vec![FirstFactor::PasswordSrp, FirstFactor::EmailOtp, FirstFactor::Password]
        },
        "the passkey is left out: this client cannot complete it"
    );
    assert_eq!(
        select.parameters["AvailableChallenges"],
        r#"["PASSWORD_SRP","WEB_AUTHN","EMAIL_OTP","PASSWORD"]"#
    );
    let initiate = &server.requests()[0];
    assert_eq!(body_str(initiate, &["AuthFlow"]), "USER_AUTH");
    assert_eq!(
        initiate.body["AuthParameters"],
        json!({"USERNAME": EMAIL, "SECRET_HASH": secret_hash(EMAIL, CLIENT, SECRET)}),
        "no preference: no PREFERRED_CHALLENGE"
    );

    // Answers the client refuses before sending anything.
    let no_password = ChallengeResponse::first_factor(FirstFactor::Password);
    let error = pool.respond_to_challenge(&select.context, &no_password).await.unwrap_err();
    assert!(matches!(error, ProviderError::InvalidInput(_)), "{error:?}");
    let passkey = ChallengeResponse::answer("WEB_AUTHN");
    let error = pool.respond_to_challenge(&select.context, &passkey).await.unwrap_err();
    assert!(matches!(error, ProviderError::Unsupported(_)), "{error:?}");
    let nonsense = ChallengeResponse::answer("hunter2");
    let error = pool.respond_to_challenge(&select.context, &nonsense).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::InvalidInput(m) if !m.contains("hunter2")),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 1);

    let code = step(
        pool.respond_to_challenge(
            &select.context,
            &ChallengeResponse::first_factor(FirstFactor::EmailOtp),
        )
        .await
        .unwrap(),
    );
    assert_eq!(code.challenge_name, "EMAIL_OTP");
    assert_eq!(code.kind, ChallengeKind::EmailOtp { destination: Some("a***@e***".into()) });
    assert_eq!(code.context.username, USER_ID);
    let chosen = &server.requests()[1];
    assert_answers(chosen, "SELECT_CHALLENGE", "sel-1");
    assert_eq!(
        chosen.body["ChallengeResponses"],
        json!({
            "USERNAME": EMAIL,
            "ANSWER": "EMAIL_OTP",
            "SECRET_HASH": secret_hash(EMAIL, CLIENT, SECRET),
        })
    );

    let error = pool
        .respond_to_challenge(&code.context, &ChallengeResponse::answer("00000000"))
        .await
        .unwrap_err();
    assert!(error.is_rejected());
    assert_eq!(error.code(), Some("CodeMismatchException"));
    let session = signed_in(
        pool.respond_to_challenge(&code.context, &ChallengeResponse::answer("12345678"))
            .await
            .unwrap(),
    );
    assert_eq!(session.username, USER_ID);
    let answer = server.requests().pop().unwrap();
    assert_eq!(body_str(&answer, &["ChallengeName"]), "EMAIL_OTP");
    assert_eq!(body_str(&answer, &["Session"]), "otp-1");
    assert_eq!(
        answer.body["ChallengeResponses"],
        json!({
            "USERNAME": USER_ID,
            "EMAIL_OTP_CODE": "12345678",
            "SECRET_HASH": secret_hash(USER_ID, CLIENT, SECRET),
        })
    );
}

#[tokio::test]
async fn user_auth_select_challenge_with_a_password_factor() {
    let srp = SrpServer::for_password(USER_ID, PASSWORD);
    let server = ScriptedServer::start(vec![
        select_challenge("sel-p", &["PASSWORD", "PASSWORD_SRP"]),
        Action::ok(auth_result(USER_ID, true)),
        select_challenge("sel-s", &["PASSWORD", "PASSWORD_SRP"]),
        srp.password_verifier("pv-1", json!({"USER_ID_FOR_SRP": USER_ID})),
        Action::ok(auth_result(USER_ID, true)),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let request = SignInRequest::choice_based(EMAIL);

    // PASSWORD: the password goes with the choice.
    let select = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    let choice = ChallengeResponse::first_factor(FirstFactor::Password).with_password(PASSWORD);
    signed_in(pool.respond_to_challenge(&select.context, &choice).await.unwrap());
    let chosen = &server.requests()[1];
    assert_eq!(body_str(chosen, &["Session"]), "sel-p");
    assert_eq!(
        chosen.body["ChallengeResponses"],
        json!({
            "USERNAME": EMAIL,
            "ANSWER": "PASSWORD",
            "PASSWORD": PASSWORD,
            "SECRET_HASH": secret_hash(EMAIL, CLIENT, SECRET),
        })
    );

    // PASSWORD_SRP: SRP_A goes with the choice, the proof follows.
    let select = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    let choice = ChallengeResponse::first_factor(FirstFactor::PasswordSrp).with_password(PASSWORD);
    signed_in(pool.respond_to_challenge(&select.context, &choice).await.unwrap());
    let requests = &server.requests()[2..];
    assert_eq!(requests.len(), 3);
    let chosen = &requests[1];
    assert_answers(chosen, "SELECT_CHALLENGE", "sel-s");
    let srp_a = body_str(chosen, &["ChallengeResponses", "SRP_A"]);
    assert_eq!(
        chosen.body["ChallengeResponses"],
        json!({
            "USERNAME": EMAIL,
            "ANSWER": "PASSWORD_SRP",
            "SRP_A": srp_a,
            "SECRET_HASH": secret_hash(EMAIL, CLIENT, SECRET),
        })
    );
    let proof = &requests[2];
    assert_answers(proof, "PASSWORD_VERIFIER", "pv-1");
    assert_eq!(proof.body["ChallengeResponses"]["USERNAME"], USER_ID);
    assert_eq!(
        proof.body["ChallengeResponses"]["SECRET_HASH"],
        secret_hash(USER_ID, CLIENT, SECRET)
    );
    assert!(!chosen.body.to_string().contains(PASSWORD));
    assert!(!proof.body.to_string().contains(PASSWORD));
    srp.check(srp_a, proof, POOL_NAME, USER_ID);
}

#[tokio::test]
async fn user_auth_sms_otp_first_factor() {
    const PHONE: &str = "+15555550100";
    let server = ScriptedServer::start(vec![
        challenge(
            "SMS_OTP",
            "sms-1",
            json!({"CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
                   "CODE_DELIVERY_DESTINATION": "+*******0100", "USER_ID_FOR_SRP": USER_ID}),
        ),
        Action::ok(auth_result(USER_ID, true)),
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let request =
        SignInRequest::choice_based(PHONE).with_preferred_first_factor(FirstFactor::SmsOtp);
    let code = step(IdentityProvider::sign_in(&pool, &request).await.unwrap());
    assert_eq!(code.challenge_name, "SMS_OTP");
    assert_eq!(code.kind, ChallengeKind::SmsOtp { destination: Some("+*******0100".into()) });
    signed_in(
        pool.respond_to_challenge(&code.context, &ChallengeResponse::answer("246810"))
            .await
            .unwrap(),
    );
    let requests = server.requests();
    assert_eq!(body_str(&requests[0], &["AuthFlow"]), "USER_AUTH");
    assert_eq!(
        requests[0].body["AuthParameters"],
        json!({
            "USERNAME": PHONE,
            "PREFERRED_CHALLENGE": "SMS_OTP",
            "SECRET_HASH": secret_hash(PHONE, CLIENT, SECRET),
        })
    );
    assert_eq!(body_str(&requests[1], &["ChallengeName"]), "SMS_OTP");
    assert_eq!(body_str(&requests[1], &["Session"]), "sms-1");
    assert_eq!(
        requests[1].body["ChallengeResponses"],
        json!({
            "USERNAME": USER_ID,
            "SMS_OTP_CODE": "246810",
            "SECRET_HASH": secret_hash(USER_ID, CLIENT, SECRET),
        })
    );
}

#[tokio::test]
async fn user_auth_offering_only_a_passkey_is_unsupported() {
    let server = ScriptedServer::start(vec![
        select_challenge("sel-w", &["WEB_AUTHN"]),
        challenge("WEB_AUTHN", "w-1", json!({"CREDENTIAL_REQUEST_OPTIONS": "{}"})),
        Action::error(400, "NotAuthorizedException", "Incorrect username or password."),
        Action::Reset,
    ])
    .await;
    let pool = pool(&server, Arc::default());
    let request = SignInRequest::choice_based(EMAIL);
    let error = IdentityProvider::sign_in(&pool, &request).await.unwrap_err();
    match &error {
        ProviderError::Unsupported(message) => assert!(message.contains("WEB_AUTHN"), "{message}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    // A WEB_AUTHN challenge (e.g. the user's preferred factor) is unsupported too.
    let error = IdentityProvider::sign_in(&pool, &request).await.unwrap_err();
    assert!(matches!(error, ProviderError::Unsupported(_)), "{error:?}");
    // Refusals and network failures are classified as for every other flow.
    let error = IdentityProvider::sign_in(&pool, &request).await.unwrap_err();
    assert!(error.is_rejected(), "{error:?}");
    let error = IdentityProvider::sign_in(&pool, &request).await.unwrap_err();
    assert!(error.is_network(), "{error:?}");
    assert_eq!(server.requests().len(), 4);
}
