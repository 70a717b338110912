//! USER_SRP_AUTH and device SRP through the official SDK, with the client maths done by
//! `auth_srp::ClientEphemeral` (checked against pycognito's vectors in auth-srp).

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};

use crate::support::{PASSWORD, code, fixture};

/// A remembered device: key, group key, secret.
pub(crate) struct DeviceCreds {
    pub(crate) key: String,
    pub(crate) group: String,
    pub(crate) secret: String,
}

/// The server's answer to PASSWORD_VERIFIER (tokens or the next challenge), or the error code.
pub(crate) async fn srp_login(
    sdk: &Client,
    pool_id: &str,
    client_id: &str,
    username: &str,
    password: &str,
    device: Option<&DeviceCreds>,
) -> Result<RespondToAuthChallengeOutput, String> {
    let ephemeral = auth_srp::ClientEphemeral::new();
    let mut init = sdk
        .initiate_auth()
        .auth_flow(AuthFlowType::UserSrpAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("SRP_A", ephemeral.public_hex());
    if let Some(device) = device {
        init = init.auth_parameters("DEVICE_KEY", &device.key);
    }
    let challenge = init.send().await.map_err(|e| code(&e))?;
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::PasswordVerifier));
    let params = challenge.challenge_parameters().expect("challenge parameters");
    let user_id = &params["USER_ID_FOR_SRP"];
    let timestamp = auth_srp::format_timestamp(std::time::SystemTime::now());
    let pool_name = auth_srp::pool_name(pool_id);
    let challenge_data = auth_srp::PasswordChallenge::new(
        pool_name,
        user_id,
        &params["SALT"],
        &params["SRP_B"],
        &params["SECRET_BLOCK"],
    );
    let signature = ephemeral
        .password_claim_signature(&challenge_data, password, &timestamp)
        .expect("signature");
    let mut respond = sdk
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", user_id)
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &params["SECRET_BLOCK"])
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", signature)
        .challenge_responses("TIMESTAMP", &timestamp);
    if let Some(device) = device {
        respond = respond.challenge_responses("DEVICE_KEY", &device.key);
    }
    let answer = respond.send().await.map_err(|e| code(&e))?;
    let Some(device) = device else { return Ok(answer) };
    if answer.challenge_name() != Some(&ChallengeNameType::DeviceSrpAuth) {
        return Ok(answer);
    }
    // Device SRP: same maths with the device group key and device key.
    let device_ephemeral = auth_srp::ClientEphemeral::new();
    let start = sdk
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::DeviceSrpAuth)
        .set_session(answer.session().map(str::to_owned))
        .challenge_responses("USERNAME", user_id)
        .challenge_responses("DEVICE_KEY", &device.key)
        .challenge_responses("SRP_A", device_ephemeral.public_hex())
        .send()
        .await
        .map_err(|e| code(&e))?;
    assert_eq!(start.challenge_name(), Some(&ChallengeNameType::DevicePasswordVerifier));
    let params = start.challenge_parameters().expect("device challenge parameters");
    let challenge_data = auth_srp::PasswordChallenge::new(
        &device.group,
        &device.key,
        &params["SALT"],
        &params["SRP_B"],
        &params["SECRET_BLOCK"],
    );
    let signature = device_ephemeral
        .password_claim_signature(&challenge_data, &device.secret, &timestamp)
        .expect("signature");
    sdk.respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::DevicePasswordVerifier)
        .challenge_responses("USERNAME", user_id)
        .challenge_responses("DEVICE_KEY", &device.key)
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &params["SECRET_BLOCK"])
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", signature)
        .challenge_responses("TIMESTAMP", &timestamp)
        .send()
        .await
        .map_err(|e| code(&e))
}

#[tokio::test]
async fn srp_right_password_gets_tokens_wrong_password_is_refused() {
    let f = fixture().await;
    let ok =
        srp_login(&f.sdk, &f.pool, &f.client.client_id, "alice", PASSWORD, None).await.unwrap();
    let result = ok.authentication_result().expect("tokens");
    assert!(
        result.access_token().is_some()
            && result.id_token().is_some()
            && result.refresh_token().is_some()
    );
    assert_eq!(result.token_type(), Some("Bearer"));
    assert_eq!(result.expires_in(), 3600);

    let wrong =
        srp_login(&f.sdk, &f.pool, &f.client.client_id, "alice", "Wrong-Passw0rd!", None).await;
    assert_eq!(wrong.unwrap_err(), "NotAuthorizedException");
}

#[tokio::test]
async fn srp_by_email_alias_uses_user_id_for_srp() {
    let server = crate::support::server().await;
    let pool = server
        .create_pool_with(
            serde_json::json!({ "PoolName": "by-email", "UsernameAttributes": ["email"] }),
        )
        .await
        .unwrap();
    let client = server.create_client(&pool, "app", Default::default()).await.unwrap();
    let internal = server.create_user(&pool, "bob@example.com", PASSWORD, &[]).await.unwrap();
    assert_ne!(internal, "bob@example.com", "email-as-username pools use a UUID internally");
    let sdk = crate::support::sdk(&server);
    let out =
        srp_login(&sdk, &pool, &client.client_id, "bob@example.com", PASSWORD, None).await.unwrap();
    let id = crate::support::claims(out.authentication_result().unwrap().id_token().unwrap());
    assert_eq!(id["cognito:username"], internal.as_str());
    assert_eq!(id["email"], "bob@example.com");
}

#[tokio::test]
async fn srp_answer_to_an_unknown_secret_block_is_refused() {
    let f = fixture().await;
    let err = f
        .sdk
        .respond_to_auth_challenge()
        .client_id(&f.client.client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", "alice")
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", "AAAA")
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", "AAAA")
        .challenge_responses("TIMESTAMP", "Tue Mar 5 07:04:09 UTC 2024")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NotAuthorizedException");
}

#[tokio::test]
async fn srp_with_the_pycognito_client_when_python_is_available() {
    // An independent client implementation end to end, when pycognito is installed.
    let f = fixture().await;
    let script = format!(
        r#"
import boto3
from pycognito.aws_srp import AWSSRP
c = boto3.client("cognito-idp", endpoint_url="{url}", region_name="us-east-1",
                 aws_access_key_id="t", aws_secret_access_key="t")
ok = AWSSRP("alice", "{password}", "{pool}", "{client}", client=c).authenticate_user()
assert "AccessToken" in ok["AuthenticationResult"]
try:
    AWSSRP("alice", "Wrong-Passw0rd!", "{pool}", "{client}", client=c).authenticate_user()
    raise SystemExit("wrong password accepted")
except c.exceptions.NotAuthorizedException:
    pass
print("pycognito-ok")
"#,
        url = f.server.url(),
        password = PASSWORD,
        pool = f.pool,
        client = f.client.client_id
    );
    let mut python = tokio::process::Command::new("python3");
    python.arg("-c").arg(&script);
    run_independent_client(python, "pycognito", "pycognito-ok", "No module named").await;
}

#[tokio::test]
async fn srp_with_amazon_cognito_identity_js_when_node_is_available() {
    // The JavaScript library behind Amplify's older releases and many web apps, unchanged:
    // SRP sign-in, a refresh, an authenticated call, and a refused wrong password.
    let f = fixture().await;
    let script = format!(
        r#"
const {{ CognitoUserPool, CognitoUser, AuthenticationDetails }} = require("amazon-cognito-identity-js");
const pool = new CognitoUserPool({{ UserPoolId: "{pool}", ClientId: "{client}", endpoint: "{url}" }});
const signIn = (password) => new Promise((resolve, reject) => {{
  const user = new CognitoUser({{ Username: "alice", Pool: pool }});
  const details = new AuthenticationDetails({{ Username: "alice", Password: password }});
  user.authenticateUser(details, {{ onSuccess: (s) => resolve([user, s]), onFailure: reject }});
}});
(async () => {{
  const [user, session] = await signIn("{password}");
  if (session.getIdToken().payload["cognito:username"] !== "alice") throw new Error("wrong user");
  await new Promise((ok, fail) => user.refreshSession(session.getRefreshToken(), (e, s) => e ? fail(e) : ok(s)));
  const attributes = await new Promise((ok, fail) => user.getUserAttributes((e, a) => e ? fail(e) : ok(a)));
  if (!attributes.some((a) => a.getName() === "sub")) throw new Error("no sub attribute");
  try {{
    await signIn("Wrong-Passw0rd!");
    throw new Error("wrong password accepted");
  }} catch (e) {{
    if (e.code !== "NotAuthorizedException") throw e;
  }}
  console.log("js-ok");
}})().catch((e) => {{ console.error("failed:", e.code || "", e.message); process.exit(1); }});
"#,
        url = f.server.url(),
        password = PASSWORD,
        pool = f.pool,
        client = f.client.client_id
    );
    // Global npm packages are not on node's module path unless NODE_PATH says so.
    let global_modules =
        match tokio::process::Command::new("npm").args(["root", "-g"]).output().await {
            Ok(out) if out.status.success() => {
                String::from_utf8_lossy(&out.stdout).trim().to_owned()
            }
            Ok(out) => {
                return missing_tool(&format!(
                    "npm root -g failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Err(error) => return missing_tool(&format!("npm is not available: {error}")),
        };
    let mut node = tokio::process::Command::new("node");
    node.arg("-e").arg(&script).env("NODE_PATH", global_modules);
    run_independent_client(node, "amazon-cognito-identity-js", "js-ok", "Cannot find module").await;
}

/// Runs another project's client script: it passes by printing `ok_marker`; a missing
/// interpreter or library (`missing_marker` in its errors) is a loud skip, anything else a
/// failure with the script's errors.
async fn run_independent_client(
    mut command: tokio::process::Command,
    library: &str,
    ok_marker: &str,
    missing_marker: &str,
) {
    let program = command.as_std().get_program().to_string_lossy().into_owned();
    match command.output().await {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains(ok_marker) => {}
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains(missing_marker) {
                missing_tool(&format!("{library} is not installed: {stderr}"));
            } else {
                panic!("{library} sign-in failed: {stderr}");
            }
        }
        Err(error) => missing_tool(&format!("{program} is not available: {error}")),
    }
}

/// Reports a test that cannot run; fails when `AUTH_REQUIRE_ALL_TESTS=1` (CI).
pub(crate) fn missing_tool(reason: &str) {
    #[allow(clippy::print_stderr, reason = "a skipped test must say so loudly")]
    {
        eprintln!("SKIPPED: {reason}");
    }
    if std::env::var("AUTH_REQUIRE_ALL_TESTS").is_ok_and(|v| v == "1") {
        panic!("AUTH_REQUIRE_ALL_TESTS=1 and a required tool is missing: {reason}");
    }
}
