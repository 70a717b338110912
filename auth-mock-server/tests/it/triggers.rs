//! Lambda triggers run as HTTP webhooks: a small axum server in the test plays the Lambda
//! functions, records every event it receives and answers as the test tells it to.

use std::collections::HashMap;
use std::sync::Arc;

use auth_mock_server::{ClientOptions, MockServerHandle};
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, ChallengeNameType, UserStatusType};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::raw::{get, request};
use crate::support::{PASSWORD, assert_code, claims, code, sdk, server};

/// Answers an event: the HTTP status and the body (normally the event with `response`).
type Handler = Arc<dyn Fn(&Value) -> (StatusCode, Value) + Send + Sync>;

/// The functions a webhook server plays, by name (the URL path), and what they received.
#[derive(Clone, Default)]
struct Hooks {
    handlers: Arc<Mutex<HashMap<String, Handler>>>,
    events: Arc<Mutex<Vec<(String, Value)>>>,
}

/// A running webhook server.
struct Webhooks {
    url: String,
    hooks: Hooks,
}

impl Webhooks {
    async fn start() -> Self {
        let hooks = Hooks::default();
        let router = Router::new().route("/{name}", post(serve_hook)).with_state(hooks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        });
        Self { url, hooks }
    }

    /// Plays the function `name` with `handler`; returns its URL.
    fn on(
        &self,
        name: &str,
        handler: impl Fn(&Value) -> (StatusCode, Value) + Send + Sync + 'static,
    ) -> String {
        self.hooks.handlers.lock().insert(name.to_owned(), Arc::new(handler));
        format!("{}/{name}", self.url)
    }

    /// Plays `name` by filling `response` with `fields` (what most functions do).
    fn answer(&self, name: &str, fields: Value) -> String {
        self.on(name, move |event| (StatusCode::OK, respond(event, &fields)))
    }

    /// The events `name` received, oldest first.
    fn events(&self, name: &str) -> Vec<Value> {
        self.hooks.events.lock().iter().filter(|(n, _)| n == name).map(|(_, e)| e.clone()).collect()
    }
}

async fn serve_hook(
    State(hooks): State<Hooks>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> (StatusCode, String) {
    let event: Value = serde_json::from_slice(&body).expect("the event is JSON");
    hooks.events.lock().push((name.clone(), event.clone()));
    let handler = hooks.handlers.lock().get(&name).cloned();
    match handler {
        Some(handler) => {
            let (status, body) = handler(&event);
            (status, body.to_string())
        }
        None => (StatusCode::NOT_FOUND, format!("no hook {name}")),
    }
}

/// The event with `fields` merged into its `response`, as a Lambda function returns it.
fn respond(event: &Value, fields: &Value) -> Value {
    let mut answer = event.clone();
    if !answer["response"].is_object() {
        answer["response"] = json!({});
    }
    if let (Some(response), Some(fields)) = (answer["response"].as_object_mut(), fields.as_object())
    {
        response.extend(fields.clone());
    }
    answer
}

/// A Lambda function's error, as the Lambda runtime reports it.
fn lambda_error(message: &str) -> (StatusCode, Value) {
    (StatusCode::OK, json!({ "errorType": "Error", "errorMessage": message }))
}

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// A server, a pool with `lambda_config` (ARNs `<ARN><name>`), each ARN mapped to the
/// webhook of the same name, a public client allowing every flow and an SDK client.
struct Setup {
    server: MockServerHandle,
    sdk: aws_sdk_cognitoidentityprovider::Client,
    pool: String,
    client: String,
}

async fn setup(lambda_config: Value, hooks: &Webhooks) -> Setup {
    let server = server().await;
    if let Some(config) = lambda_config.as_object() {
        for value in config.values() {
            let arn = value.as_str().or_else(|| value["LambdaArn"].as_str()).unwrap();
            if let Some(name) = arn.strip_prefix(ARN) {
                server.map_lambda(arn, &format!("{}/{name}", hooks.url)).unwrap();
            }
        }
    }
    let pool = server
        .create_pool_with(json!({
            "PoolName": "triggers",
            "AutoVerifiedAttributes": ["email"],
            "LambdaConfig": lambda_config,
        }))
        .await
        .unwrap();
    let client = server.create_client(&pool, "app", ClientOptions::default()).await.unwrap();
    Setup { sdk: sdk(&server), server, pool, client: client.client_id }
}

fn arn(name: &str) -> String {
    format!("{ARN}{name}")
}

fn email(value: &str) -> AttributeType {
    AttributeType::builder().name("email").value(value).build().unwrap()
}

impl Setup {
    /// Replaces the pool's LambdaConfig with a PreSignUp trigger at `target` (an ARN or an
    /// `http://` URL).
    async fn set_pre_sign_up(&self, target: impl Into<String>) {
        self.sdk
            .update_user_pool()
            .user_pool_id(&self.pool)
            .lambda_config(
                aws_sdk_cognitoidentityprovider::types::LambdaConfigType::builder()
                    .pre_sign_up(target)
                    .build(),
            )
            .send()
            .await
            .expect("LambdaConfig updated");
    }

    async fn sign_up(&self, username: &str) -> Result<bool, String> {
        self.sdk
            .sign_up()
            .client_id(&self.client)
            .username(username)
            .password(PASSWORD)
            .user_attributes(email(&format!("{username}@example.com")))
            .client_metadata("source", "test")
            .send()
            .await
            .map(|out| out.user_confirmed())
            .map_err(|e| format!("{}: {}", code(&e), e.message().unwrap_or_default()))
    }

    /// Creates the confirmed user `username` with [`PASSWORD`] and `attributes`.
    async fn add_user(&self, username: &str, attributes: &[(&str, &str)]) {
        self.server.create_user(&self.pool, username, PASSWORD, attributes).await.unwrap();
    }

    /// AdminConfirmSignUp, which must succeed (it runs the PostConfirmation trigger too).
    async fn admin_confirm(&self, username: &str) {
        self.sdk
            .admin_confirm_sign_up()
            .user_pool_id(&self.pool)
            .username(username)
            .send()
            .await
            .expect("AdminConfirmSignUp");
    }

    async fn user(&self, username: &str) -> AdminGetUserOutput {
        self.sdk.admin_get_user().user_pool_id(&self.pool).username(username).send().await.unwrap()
    }

    async fn status(&self, username: &str) -> UserStatusType {
        self.user(username).await.user_status().unwrap().clone()
    }

    async fn attribute(&self, username: &str, name: &str) -> Option<String> {
        let user = self.user(username).await;
        user.user_attributes()
            .iter()
            .find(|a| a.name() == name)
            .and_then(|a| a.value())
            .map(str::to_owned)
    }

    /// USER_PASSWORD_AUTH; (access, id, refresh) or "<code>: <message>".
    async fn login(&self, username: &str) -> Result<(String, String, String), String> {
        self.sdk
            .initiate_auth()
            .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
            .client_id(&self.client)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", PASSWORD)
            .client_metadata("app", "tests")
            .send()
            .await
            .map(|out| {
                let tokens = out.authentication_result().expect("tokens");
                (
                    tokens.access_token().unwrap().to_owned(),
                    tokens.id_token().unwrap().to_owned(),
                    tokens.refresh_token().unwrap().to_owned(),
                )
            })
            .map_err(|e| format!("{}: {}", code(&e), e.message().unwrap_or_default()))
    }

    async fn refresh(&self, refresh_token: &str) -> (String, String) {
        let out = self
            .sdk
            .initiate_auth()
            .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::RefreshTokenAuth)
            .client_id(&self.client)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .expect("refresh");
        let tokens = out.authentication_result().unwrap();
        (tokens.access_token().unwrap().to_owned(), tokens.id_token().unwrap().to_owned())
    }
}

#[tokio::test]
async fn pre_sign_up_auto_confirms_and_auto_verifies_and_the_user_can_sign_in() {
    let hooks = Webhooks::start().await;
    hooks.answer("pre", json!({ "autoConfirmUser": true, "autoVerifyEmail": true }));
    let setup = setup(json!({ "PreSignUp": arn("pre") }), &hooks).await;

    assert_eq!(setup.sign_up("carol").await, Ok(true), "UserConfirmed");
    assert_eq!(setup.status("carol").await, UserStatusType::Confirmed);
    assert_eq!(setup.attribute("carol", "email_verified").await.as_deref(), Some("true"));
    assert!(setup.server.last_code(&setup.pool, "carol").is_err(), "no confirmation code");
    setup.login("carol").await.expect("an auto-confirmed user signs in");

    let events = hooks.events("pre");
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["triggerSource"], "PreSignUp_SignUp");
    assert_eq!(event["userName"], "carol");
    assert_eq!(event["userPoolId"], setup.pool.as_str());
    assert_eq!(event["callerContext"]["clientId"], setup.client.as_str());
    assert_eq!(event["request"]["userAttributes"]["email"], "carol@example.com");
    assert_eq!(event["request"]["clientMetadata"], json!({ "source": "test" }));
    assert_eq!(event["response"]["autoConfirmUser"], false, "the server asks with defaults");

    // Admin-created users run PreSignUp_AdminCreateUser (auto-verification applies).
    setup.add_user("dave", &[("email", "dave@example.com")]).await;
    let events = hooks.events("pre");
    assert_eq!(events[1]["triggerSource"], "PreSignUp_AdminCreateUser");
    assert_eq!(events[1]["callerContext"]["clientId"], "CLIENT_ID_NOT_APPLICABLE");
    assert_eq!(setup.attribute("dave", "email_verified").await.as_deref(), Some("true"));

    // A request that fails validation never reaches the trigger.
    let weak = setup
        .sdk
        .admin_create_user()
        .user_pool_id(&setup.pool)
        .username("erin")
        .temporary_password("short")
        .send()
        .await;
    assert_code(weak, "InvalidPasswordException");
    assert_eq!(hooks.events("pre").len(), 2);
}

#[tokio::test]
async fn pre_sign_up_rejection_is_a_user_lambda_validation_exception_and_creates_no_user() {
    let hooks = Webhooks::start().await;
    hooks.on("pre", |event| {
        if event["userName"] == "mallory" {
            lambda_error("no bots allowed")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, json!({ "message": "boom" }))
        }
    });
    let setup = setup(json!({ "PreSignUp": arn("pre") }), &hooks).await;

    assert_eq!(
        setup.sign_up("mallory").await,
        Err("UserLambdaValidationException: PreSignUp failed with error no bots allowed.".into())
    );
    let missing = setup.sdk.admin_get_user().user_pool_id(&setup.pool).username("mallory").send();
    assert_eq!(code(&missing.await.unwrap_err()), "UserNotFoundException");
    // A non-2xx answer without errorMessage is the function's error too.
    let error = setup.sign_up("trent").await.unwrap_err();
    assert!(
        error.starts_with("UserLambdaValidationException: PreSignUp failed with error "),
        "{error}"
    );
    assert!(error.contains("boom"), "{error}");
}

#[tokio::test]
async fn post_confirmation_runs_after_confirm_sign_up_and_admin_confirm_sign_up() {
    let hooks = Webhooks::start().await;
    hooks.answer("post", json!({}));
    let setup = setup(json!({ "PostConfirmation": arn("post") }), &hooks).await;

    assert_eq!(setup.sign_up("erin").await, Ok(false));
    assert!(hooks.events("post").is_empty(), "not before confirmation");
    let code = setup.server.last_code(&setup.pool, "erin").unwrap().code;
    setup
        .sdk
        .confirm_sign_up()
        .client_id(&setup.client)
        .username("erin")
        .confirmation_code(code)
        .client_metadata("step", "confirm")
        .send()
        .await
        .unwrap();
    let events = hooks.events("post");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["triggerSource"], "PostConfirmation_ConfirmSignUp");
    assert_eq!(events[0]["userName"], "erin");
    assert_eq!(events[0]["request"]["userAttributes"]["email_verified"], "true");
    assert!(events[0]["request"]["userAttributes"]["sub"].is_string());
    assert_eq!(events[0]["request"]["clientMetadata"], json!({ "step": "confirm" }));

    assert_eq!(setup.sign_up("frank").await, Ok(false));
    setup.admin_confirm("frank").await;
    let events = hooks.events("post");
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["userName"], "frank");
    assert_eq!(setup.status("frank").await, UserStatusType::Confirmed);

    // A password reset confirms too.
    setup.sdk.forgot_password().client_id(&setup.client).username("erin").send().await.unwrap();
    let code = setup.server.last_code(&setup.pool, "erin").unwrap().code;
    setup
        .sdk
        .confirm_forgot_password()
        .client_id(&setup.client)
        .username("erin")
        .confirmation_code(code)
        .password("N3w-Passw0rd!")
        .send()
        .await
        .unwrap();
    let events = hooks.events("post");
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["triggerSource"], "PostConfirmation_ConfirmForgotPassword");
}

#[tokio::test]
async fn lambda_mappings_come_from_the_builder_and_the_seed() {
    let seed: auth_mock_server::seed::Seed = toml::from_str(
        r#"
        [lambdas]
        "arn:aws:lambda:us-east-1:1:function:a" = "http://127.0.0.1:9/a"
        "#,
    )
    .unwrap();
    let server = auth_mock_server::MockServer::builder()
        .seed(seed)
        .lambda("arn:aws:lambda:us-east-1:1:function:b", "http://127.0.0.1:9/b")
        .start()
        .await
        .unwrap();
    let lambdas = server.lambdas();
    assert_eq!(lambdas.len(), 2, "{lambdas:?}");
    assert_eq!(lambdas["arn:aws:lambda:us-east-1:1:function:a"], "http://127.0.0.1:9/a");
    assert!(server.unmap_lambda("arn:aws:lambda:us-east-1:1:function:b"));
    let refused = auth_mock_server::MockServer::builder()
        .lambda("arn:aws:lambda:us-east-1:1:function:c", "https://example.com/")
        .start()
        .await;
    assert!(matches!(refused, Err(auth_mock_server::StartError::Lambda(_))));
}

#[tokio::test]
async fn pre_authentication_can_refuse_a_sign_in_and_post_authentication_sees_the_success() {
    let hooks = Webhooks::start().await;
    hooks.on("preauth", |event| {
        if event["request"]["userAttributes"]["custom:blocked"] == "yes" {
            lambda_error("account blocked")
        } else {
            (StatusCode::OK, respond(event, &json!({})))
        }
    });
    hooks.answer("postauth", json!({}));
    let setup = setup(
        json!({ "PreAuthentication": arn("preauth"), "PostAuthentication": arn("postauth") }),
        &hooks,
    )
    .await;
    setup.add_user("gina", &[]).await;
    setup.add_user("hank", &[("custom:blocked", "yes")]).await;

    assert_eq!(
        setup.login("hank").await.unwrap_err(),
        "UserLambdaValidationException: PreAuthentication failed with error account blocked."
    );
    assert!(hooks.events("postauth").is_empty());
    setup.login("gina").await.expect("gina signs in");

    let pre = hooks.events("preauth");
    assert_eq!(pre.len(), 2);
    assert_eq!(pre[1]["triggerSource"], "PreAuthentication_Authentication");
    assert_eq!(pre[1]["request"]["validationData"], json!({ "app": "tests" }));
    let post = hooks.events("postauth");
    assert_eq!(post.len(), 1);
    assert_eq!(post[0]["triggerSource"], "PostAuthentication_Authentication");
    assert_eq!(post[0]["userName"], "gina");
    assert_eq!(post[0]["request"]["newDeviceUsed"], false);

    // The client and the account are checked before the trigger: a disabled user is
    // refused without calling it.
    setup.sdk.admin_disable_user().user_pool_id(&setup.pool).username("gina").send().await.unwrap();
    assert_eq!(setup.login("gina").await.unwrap_err(), "NotAuthorizedException: User is disabled.");
    assert_eq!(hooks.events("preauth").len(), 2, "not called for a disabled user");
}

#[tokio::test]
async fn pre_token_generation_v1_adds_and_suppresses_id_token_claims_also_on_refresh() {
    let hooks = Webhooks::start().await;
    hooks.answer(
        "tokens",
        json!({
            "claimsOverrideDetails": {
                "claimsToAddOrOverride": { "tenant": "acme", "email": "hidden@example.com", "sub": "forged" },
                "claimsToSuppress": ["email_verified"],
                "groupOverrideDetails": { "groupsToOverride": ["admins"], "iamRolesToOverride": [], "preferredRole": null },
            }
        }),
    );
    let setup = setup(json!({ "PreTokenGeneration": arn("tokens") }), &hooks).await;
    setup.add_user("ivan", &[("email", "ivan@example.com"), ("email_verified", "true")]).await;

    let (access, id, refresh) = setup.login("ivan").await.unwrap();
    let id_claims = claims(&id);
    assert_eq!(id_claims["tenant"], "acme");
    assert_eq!(id_claims["email"], "hidden@example.com");
    assert!(id_claims.get("email_verified").is_none(), "suppressed: {id_claims}");
    assert_ne!(id_claims["sub"], "forged", "sub cannot be overridden");
    assert_eq!(id_claims["cognito:groups"], json!(["admins"]));
    let access_claims = claims(&access);
    assert!(access_claims.get("tenant").is_none(), "V1 leaves the access token's claims alone");
    assert_eq!(access_claims["cognito:groups"], json!(["admins"]), "groups apply to both");

    let (_, id) = setup.refresh(&refresh).await;
    assert_eq!(claims(&id)["tenant"], "acme");
    let events = hooks.events("tokens");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["version"], "1");
    assert_eq!(events[0]["triggerSource"], "TokenGeneration_Authentication");
    assert_eq!(events[0]["request"]["userAttributes"]["email"], "ivan@example.com");
    assert_eq!(events[0]["request"]["groupConfiguration"]["groupsToOverride"], json!([]));
    assert_eq!(events[1]["triggerSource"], "TokenGeneration_RefreshTokens");
}

#[tokio::test]
async fn pre_token_generation_v2_changes_access_token_claims_and_scopes() {
    let hooks = Webhooks::start().await;
    hooks.answer(
        "tokens",
        json!({
            "claimsAndScopeOverrideDetails": {
                "idTokenGeneration": {
                    "claimsToAddOrOverride": { "plan": "gold" },
                    "scopesToAdd": ["ignored/for-id-tokens"],
                },
                "accessTokenGeneration": {
                    "claimsToAddOrOverride": { "tenant": "acme", "roles": ["reader", "writer"] },
                    "claimsToSuppress": ["username"],
                    "scopesToAdd": ["orders/read"],
                },
            }
        }),
    );
    let config = json!({
        "PreTokenGenerationConfig": { "LambdaArn": arn("tokens"), "LambdaVersion": "V2_0" }
    });
    let setup = setup(config, &hooks).await;
    setup.add_user("judy", &[]).await;

    let (access, id, _) = setup.login("judy").await.unwrap();
    let access_claims = claims(&access);
    assert_eq!(access_claims["tenant"], "acme");
    assert_eq!(access_claims["roles"], json!(["reader", "writer"]));
    assert_eq!(access_claims["username"], "judy", "username is protected");
    assert_eq!(access_claims["scope"], "aws.cognito.signin.user.admin orders/read");
    assert_eq!(claims(&id)["plan"], "gold");
    assert!(claims(&id).get("tenant").is_none());
    assert!(claims(&id).get("scope").is_none(), "the ID token carries no scope");
    // The access token still works with the server.
    setup.sdk.get_user().access_token(&access).send().await.expect("GetUser");

    let event = &hooks.events("tokens")[0];
    assert_eq!(event["version"], "2");
    assert_eq!(event["request"]["scopes"], json!(["aws.cognito.signin.user.admin"]));
    assert!(event["response"].get("claimsAndScopeOverrideDetails").is_some());
}

/// Define: a first CUSTOM_CHALLENGE, a second after a correct answer, tokens after two
/// correct answers, failure after any wrong one. Create: the answer is "<round>-secret".
fn custom_auth_hooks(hooks: &Webhooks) {
    hooks.on("define", |event| {
        let session = event["request"]["session"].as_array().cloned().unwrap_or_default();
        let response = if session.iter().any(|c| c["challengeResult"] == false) {
            json!({ "issueTokens": false, "failAuthentication": true })
        } else if session.len() >= 2 {
            json!({ "issueTokens": true, "failAuthentication": false })
        } else {
            json!({ "challengeName": "CUSTOM_CHALLENGE", "issueTokens": false, "failAuthentication": false })
        };
        (StatusCode::OK, respond(event, &response))
    });
    hooks.on("create", |event| {
        let round = event["request"]["session"].as_array().map_or(0, Vec::len) + 1;
        let response = json!({
            "publicChallengeParameters": { "question": format!("round {round}") },
            "privateChallengeParameters": { "answer": format!("{round}-secret") },
            "challengeMetadata": format!("ROUND_{round}"),
        });
        (StatusCode::OK, respond(event, &response))
    });
    hooks.on("verify", |event| {
        let correct = event["request"]["challengeAnswer"]
            == event["request"]["privateChallengeParameters"]["answer"];
        (StatusCode::OK, respond(event, &json!({ "answerCorrect": correct })))
    });
}

#[tokio::test]
async fn custom_auth_is_driven_by_define_create_and_verify_auth_challenge() {
    let hooks = Webhooks::start().await;
    custom_auth_hooks(&hooks);
    let config = json!({
        "DefineAuthChallenge": arn("define"),
        "CreateAuthChallenge": arn("create"),
        "VerifyAuthChallengeResponse": arn("verify"),
    });
    let setup = setup(config, &hooks).await;
    setup.add_user("kate", &[]).await;
    let start = || {
        setup
            .sdk
            .initiate_auth()
            .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::CustomAuth)
            .client_id(&setup.client)
            .auth_parameters("USERNAME", "kate")
            .client_metadata("flow", "custom")
    };
    let answer = |session: Option<&str>, answer: &str| {
        setup
            .sdk
            .respond_to_auth_challenge()
            .client_id(&setup.client)
            .challenge_name(ChallengeNameType::CustomChallenge)
            .set_session(session.map(str::to_owned))
            .challenge_responses("USERNAME", "kate")
            .challenge_responses("ANSWER", answer)
    };

    let first = start().send().await.unwrap();
    assert_eq!(first.challenge_name(), Some(&ChallengeNameType::CustomChallenge));
    // An answer without ANSWER is refused and keeps the challenge open.
    let no_answer = setup
        .sdk
        .respond_to_auth_challenge()
        .client_id(&setup.client)
        .challenge_name(ChallengeNameType::CustomChallenge)
        .set_session(first.session().map(str::to_owned))
        .challenge_responses("USERNAME", "kate")
        .send()
        .await;
    assert_eq!(code(&no_answer.unwrap_err()), "InvalidParameterException");
    let params = first.challenge_parameters().unwrap();
    assert_eq!(params.get("question").map(String::as_str), Some("round 1"));
    assert_eq!(params.get("USERNAME").map(String::as_str), Some("kate"));
    let second = answer(first.session(), "1-secret").send().await.unwrap();
    assert_eq!(second.challenge_name(), Some(&ChallengeNameType::CustomChallenge));
    assert_eq!(
        second.challenge_parameters().unwrap().get("question").map(String::as_str),
        Some("round 2")
    );
    let done = answer(second.session(), "2-secret").send().await.unwrap();
    let tokens = done.authentication_result().expect("tokens after two correct answers");
    assert_eq!(claims(tokens.id_token().unwrap())["cognito:username"], "kate");

    let defines = hooks.events("define");
    assert_eq!(defines.len(), 3);
    assert_eq!(defines[0]["triggerSource"], "DefineAuthChallenge_Authentication");
    assert_eq!(defines[0]["request"]["session"], json!([]));
    assert_eq!(defines[0]["request"]["clientMetadata"], json!({ "flow": "custom" }));
    assert_eq!(
        defines[2]["request"]["session"],
        json!([
            { "challengeName": "CUSTOM_CHALLENGE", "challengeResult": true, "challengeMetadata": "ROUND_1" },
            { "challengeName": "CUSTOM_CHALLENGE", "challengeResult": true, "challengeMetadata": "ROUND_2" },
        ])
    );
    let verifies = hooks.events("verify");
    assert_eq!(
        verifies[0]["request"]["privateChallengeParameters"],
        json!({ "answer": "1-secret" })
    );
    assert_eq!(verifies[0]["request"]["challengeAnswer"], "1-secret");

    // A wrong answer: Define fails the authentication.
    let first = start().send().await.unwrap();
    let wrong = answer(first.session(), "guess").send().await;
    let error = wrong.unwrap_err();
    assert_eq!(code(&error), "NotAuthorizedException");
    assert_eq!(error.message(), Some("Incorrect username or password."));
}

#[tokio::test]
async fn an_unmapped_arn_or_an_unreachable_webhook_is_an_unexpected_lambda_exception() {
    let hooks = Webhooks::start().await;
    let setup = setup(json!({}), &hooks).await;
    setup.set_pre_sign_up("arn:aws:lambda:us-east-1:123456789012:function:unmapped").await;
    let error = setup.sign_up("lena").await.unwrap_err();
    assert!(error.starts_with("UnexpectedLambdaException: "), "{error}");
    assert!(error.contains("PUT /_mock/lambdas"), "says how to map it: {error}");

    // A port nobody listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    setup
        .server
        .map_lambda("arn:aws:lambda:us-east-1:123456789012:function:unmapped", &dead)
        .unwrap();
    let error = setup.sign_up("lena").await.unwrap_err();
    assert!(error.starts_with("UnexpectedLambdaException: PreSignUp invocation failed"), "{error}");
    let missing = setup.sdk.admin_get_user().user_pool_id(&setup.pool).username("lena").send();
    assert_eq!(code(&missing.await.unwrap_err()), "UserNotFoundException");

    // An http:// URL in LambdaConfig is its own mapping.
    let url = hooks.answer("direct", json!({ "autoConfirmUser": true }));
    setup.set_pre_sign_up(url).await;
    assert_eq!(setup.sign_up("lena").await, Ok(true));
}

#[tokio::test]
async fn lambda_config_arns_are_validated() {
    let server = server().await;
    let error = sdk(&server)
        .create_user_pool()
        .pool_name("bad")
        .lambda_config(
            aws_sdk_cognitoidentityprovider::types::LambdaConfigType::builder()
                .pre_sign_up("not-an-arn")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "InvalidParameterException");
    assert!(error.message().unwrap_or_default().contains("lambdaConfig.preSignUp"));
}

#[tokio::test]
async fn lambda_mappings_through_the_control_api() {
    let server = server().await;
    let arn = "arn:aws:lambda:us-east-1:1:function:f";
    let put = |body: Value| {
        let url = server.url();
        async move {
            request(&url, "PUT", "/_mock/lambdas", &[], body.to_string().as_bytes()).await.unwrap()
        }
    };
    let response = put(json!({ "arn": arn, "url": "http://127.0.0.1:9/hook" })).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(server.lambdas().get(arn).map(String::as_str), Some("http://127.0.0.1:9/hook"));
    let listed = get(&server.url(), "/_mock/lambdas").await;
    assert_eq!(listed.json()["lambdas"][arn], "http://127.0.0.1:9/hook");
    let refused = put(json!({ "arn": arn, "url": "https://example.com/" })).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["__type"], "InvalidParameterException");
    let removed = put(json!({ "arn": arn, "url": null })).await;
    assert_eq!(removed.json()["removed"], true);
    server.map_lambda(arn, "http://127.0.0.1:9/other").unwrap();
    let cleared = request(&server.url(), "DELETE", "/_mock/lambdas", &[], b"").await.unwrap();
    assert_eq!(cleared.status, 200);
    assert!(server.lambdas().is_empty());
}

/// Replaces volatile values (ids, the sub) by placeholders.
fn redact(event: &mut Value) {
    for pointer in ["/userPoolId", "/callerContext/clientId", "/request/userAttributes/sub"] {
        if let Some(value) = event.pointer_mut(pointer) {
            *value = json!("[redacted]");
        }
    }
}

#[tokio::test]
async fn trigger_event_shapes() {
    let hooks = Webhooks::start().await;
    hooks.answer("pre", json!({}));
    hooks.answer("post", json!({}));
    hooks.answer("tokens", json!({}));
    let config = json!({
        "PreSignUp": arn("pre"),
        "PostConfirmation": arn("post"),
        "PreTokenGenerationConfig": { "LambdaArn": arn("tokens"), "LambdaVersion": "V2_0" },
    });
    let setup = setup(config, &hooks).await;
    setup.sign_up("mike").await.unwrap();
    setup.admin_confirm("mike").await;
    setup.login("mike").await.unwrap();
    let mut events = json!({
        "PreSignUp": hooks.events("pre")[0],
        "PostConfirmation": hooks.events("post")[0],
        "PreTokenGeneration": hooks.events("tokens")[0],
    });
    for event in events.as_object_mut().unwrap().values_mut() {
        redact(event);
    }
    insta::assert_yaml_snapshot!(events);
}

#[tokio::test]
async fn hosted_sign_in_runs_the_authentication_and_token_triggers() {
    use reqwest::header::{CONTENT_TYPE, LOCATION};
    let hooks = Webhooks::start().await;
    hooks.answer("pre_auth", json!({}));
    hooks.answer("post_auth", json!({}));
    hooks.answer("pre_token", json!({}));
    let s = setup(
        json!({
            "PreAuthentication": arn("pre_auth"),
            "PostAuthentication": arn("post_auth"),
            "PreTokenGeneration": arn("pre_token"),
        }),
        &hooks,
    )
    .await;
    s.add_user("alice", &[("email", "alice@example.com")]).await;
    s.sdk.create_user_pool_domain().user_pool_id(&s.pool).domain("hooks").send().await.unwrap();
    let web = s
        .sdk
        .create_user_pool_client()
        .user_pool_id(&s.pool)
        .client_name("web")
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(aws_sdk_cognitoidentityprovider::types::OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .callback_urls(crate::hosted::CALLBACK)
        .send()
        .await
        .unwrap();
    let web = web.user_pool_client().unwrap().client_id().unwrap().to_owned();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", web.as_str()),
        ("redirect_uri", crate::hosted::CALLBACK),
    ])
    .unwrap();
    let login = |password: &'static str| {
        http.post(format!("{}/login?{query}", s.server.url()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("username=alice&password={}", password.replace('!', "%21")))
            .send()
    };
    let signed_in = login(PASSWORD).await.unwrap();
    let location = signed_in.headers()[LOCATION].to_str().unwrap().to_owned();
    let code = crate::hosted::param(&location, "code").unwrap();
    let tokens = http
        .post(format!("{}/oauth2/token", s.server.url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("grant_type", "authorization_code"),
                ("client_id", web.as_str()),
                ("code", code.as_str()),
                ("redirect_uri", crate::hosted::CALLBACK),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(tokens.status().is_success());
    assert_eq!(hooks.events("pre_auth")[0]["triggerSource"], "PreAuthentication_Authentication");
    assert_eq!(hooks.events("post_auth")[0]["triggerSource"], "PostAuthentication_Authentication");
    assert_eq!(hooks.events("pre_token")[0]["triggerSource"], "TokenGeneration_HostedAuth");

    hooks.on("pre_auth", |_| lambda_error("sign-in blocked by policy"));
    let refused = login(PASSWORD).await.unwrap();
    assert!(refused.headers().get(LOCATION).is_none());
    assert!(refused.text().await.unwrap().contains("sign-in blocked by policy"));
}
