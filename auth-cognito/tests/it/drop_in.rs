//! The drop-in sign-in (`auth_cognito::drop_in`, feature `drop-in`) against the in-process
//! mock Cognito, with a scripted prompter playing the user: every branch of the flow
//! (wrong password, MFA choice, SMS, email and authenticator codes, authenticator set-up,
//! new password, sign-up, unconfirmed account, forgotten password, cancellation) and the
//! re-sign-in that completes requests waiting in `SignedOutUserPoolsTokensInvalid`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use auth_cognito::drop_in::{
    DropInError, DropInOptions, PromptError, Prompter, sign_in_interactively,
};
use auth_cognito::{CognitoUserPool, MfaPreference};
use auth_core::{AuthClient, Password, SignInFlow, SignInRequest, SignInResult, UserState};
use auth_mock_server::{ClientOptions, MockServer, MockServerHandle};
use serde_json::{Value, json};

const PASSWORD: &str = "Passw0rd!-DropIn";
const NEW_PASSWORD: &str = "New-Passw0rd!-DropIn";

/// What the scripted user expects to be asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ask,
    Secret,
    Choose,
}

/// How the scripted user answers, computed when asked (codes exist only by then).
type Answer = Box<dyn Fn(&World) -> String + Send + Sync>;

struct Line {
    kind: Kind,
    prompt: &'static str,
    answer: Answer,
}

/// A user following a script: each question must match the next line (its kind and a part
/// of its prompt); every message shown is kept in the transcript.
struct ScriptedUser {
    world: World,
    script: Mutex<VecDeque<Line>>,
    transcript: Arc<Mutex<Vec<String>>>,
}

/// What the scripted user can look at: the server (delivered codes) and what was shown.
#[derive(Clone)]
struct World {
    server: Arc<MockServerHandle>,
    pool_id: String,
    transcript: Arc<Mutex<Vec<String>>>,
}

impl World {
    fn code(&self, username: &str) -> String {
        self.server.last_code(&self.pool_id, username).expect("a code was delivered").code
    }

    fn totp(&self, username: &str) -> String {
        self.server.totp_code(&self.pool_id, username).expect("a software token")
    }

    /// The code of the authenticator secret shown during set-up (`... type the key <key>`).
    fn totp_from_shown_key(&self) -> String {
        let transcript = self.transcript.lock().unwrap();
        let shown = transcript.iter().rev().find(|m| m.contains("type the key")).expect("set-up");
        let key = shown.rsplit("type the key ").next().unwrap().trim();
        auth_mock_server::totp_code(key, self.server.now()).unwrap()
    }
}

fn fixed(text: &'static str) -> Answer {
    Box::new(move |_| text.to_owned())
}

fn line(kind: Kind, prompt: &'static str, answer: Answer) -> Line {
    Line { kind, prompt, answer }
}

impl ScriptedUser {
    fn new(world: &World, script: Vec<Line>) -> Self {
        Self {
            world: world.clone(),
            script: Mutex::new(script.into()),
            transcript: Arc::clone(&world.transcript),
        }
    }

    fn next(&self, kind: Kind, prompt: &str) -> Result<String, PromptError> {
        self.transcript.lock().unwrap().push(format!("{kind:?}: {prompt}"));
        let Some(line) = self.script.lock().unwrap().pop_front() else {
            return Err(PromptError::Cancelled);
        };
        assert_eq!(line.kind, kind, "asked {prompt:?}");
        assert!(
            prompt.contains(line.prompt),
            "expected a prompt with {:?}, got {prompt:?}",
            line.prompt
        );
        Ok((line.answer)(&self.world))
    }

    fn finished(&self) {
        let left: Vec<_> = self.script.lock().unwrap().iter().map(|l| l.prompt).collect();
        assert!(left.is_empty(), "the flow never asked {left:?}; transcript {:?}", self.shown());
    }

    fn shown(&self) -> Vec<String> {
        self.transcript.lock().unwrap().clone()
    }
}

#[async_trait]
impl Prompter for ScriptedUser {
    async fn ask(&self, prompt: &str) -> Result<String, PromptError> {
        self.next(Kind::Ask, prompt)
    }

    async fn ask_secret(&self, prompt: &str) -> Result<Password, PromptError> {
        self.next(Kind::Secret, prompt).map(Password::from)
    }

    async fn choose(&self, prompt: &str, options: &[String]) -> Result<usize, PromptError> {
        let wanted = self.next(Kind::Choose, prompt)?;
        Ok(options
            .iter()
            .position(|option| option.contains(&wanted))
            .unwrap_or_else(|| panic!("no option with {wanted:?} in {options:?}")))
    }

    async fn show(&self, message: &str) -> Result<(), PromptError> {
        self.transcript.lock().unwrap().push(message.to_owned());
        Ok(())
    }
}

struct Env {
    world: World,
    client: AuthClient,
    provider: Arc<CognitoUserPool>,
}

impl Env {
    async fn start(pool: Value) -> Self {
        let server = MockServer::builder().start().await.expect("the mock server starts");
        let pool_id = server.create_pool_with(pool).await.unwrap();
        let app = server.create_client(&pool_id, "app", ClientOptions::default()).await.unwrap();
        let provider = Arc::new(
            CognitoUserPool::builder(&pool_id, &app.client_id)
                .endpoint(server.url())
                .totp_issuer("DropIn")
                .build()
                .unwrap(),
        );
        let client = AuthClient::builder()
            .identity_provider(provider.clone())
            .sign_in_wait_timeout(Some(Duration::from_secs(20)))
            .build();
        client.initialize().await.unwrap();
        let world = World { server: Arc::new(server), pool_id, transcript: Arc::default() };
        Self { world, client, provider }
    }

    async fn user(&self, name: &str, attributes: &[(&str, &str)]) {
        self.world
            .server
            .create_user(&self.world.pool_id, name, PASSWORD, attributes)
            .await
            .unwrap();
    }

    async fn run(
        &self,
        options: &DropInOptions,
        script: Vec<Line>,
    ) -> (Result<auth_cognito::drop_in::DropInOutcome, DropInError>, ScriptedUser) {
        let user = ScriptedUser::new(&self.world, script);
        let outcome = sign_in_interactively(&self.client, &user, options).await;
        (outcome, user)
    }

    /// Sets the user's MFA preferences through a signed-in session of their own.
    async fn mfa(&self, username: &str, preference: MfaPreference, verify_totp: bool) {
        use auth_core::IdentityProvider as _;
        let request = SignInRequest::password(username, PASSWORD).with_flow(SignInFlow::Password);
        let auth_core::SignInOutcome::SignedIn(session) =
            self.provider.sign_in(&request).await.unwrap()
        else {
            panic!("no MFA yet")
        };
        let access = session.tokens.access_token();
        if verify_totp {
            self.provider.associate_software_token(access).await.unwrap();
            let code = self.world.totp(username);
            self.provider.verify_software_token(access, &code.into(), None).await.unwrap();
        }
        self.provider.set_mfa_preference(access, preference).await.unwrap();
    }
}

fn sign_in_only() -> DropInOptions {
    DropInOptions::default().allow_sign_up(false).allow_forgot_password(false)
}

#[tokio::test]
async fn a_wrong_password_is_shown_and_asked_again() {
    let env = Env::start(json!({"PoolName": "plain"})).await;
    env.user("ann", &[]).await;
    let (outcome, user) = env
        .run(
            &sign_in_only(),
            vec![
                line(Kind::Ask, "Username", fixed("ann")),
                line(Kind::Secret, "Password", fixed("Wrong-Passw0rd!")),
                line(Kind::Secret, "Password", fixed(PASSWORD)),
            ],
        )
        .await;
    let outcome = outcome.unwrap();
    user.finished();
    assert_eq!(outcome.username, "ann");
    assert!(!outcome.signed_up && !outcome.password_reset);
    assert!(env.client.is_signed_in());
    assert!(
        user.shown().iter().any(|m| m.contains("Incorrect username or password")),
        "{:?}",
        user.shown()
    );
}

#[tokio::test]
async fn too_many_wrong_passwords_end_with_the_providers_error() {
    let env = Env::start(json!({"PoolName": "plain"})).await;
    env.user("ann", &[]).await;
    let wrong = || line(Kind::Secret, "Password", fixed("Wrong-Passw0rd!"));
    let (outcome, user) =
        env.run(&sign_in_only().username("ann").attempts(2), vec![wrong(), wrong()]).await;
    user.finished();
    match outcome {
        Err(DropInError::Auth(error)) => assert!(
            error.to_string().contains("NotAuthorized")
                || format!("{error:?}").contains("NotAuthorized"),
            "{error:?}"
        ),
        other => panic!("expected the provider's refusal, got {other:?}"),
    }
    assert_eq!(env.client.current_user_state().state, UserState::SignedOut);
}

#[tokio::test]
async fn sms_code_with_a_wrong_code_first() {
    let env = Env::start(json!({"PoolName": "sms", "MfaConfiguration": "OPTIONAL"})).await;
    env.user("sam", &[("phone_number", "+15555550100")]).await;
    env.mfa("sam", MfaPreference::new().sms(true, true), false).await;
    let (outcome, user) = env
        .run(
            &sign_in_only().username("sam"),
            vec![
                line(Kind::Secret, "Password", fixed(PASSWORD)),
                line(Kind::Ask, "Code", fixed("000000")),
                line(Kind::Ask, "Code", Box::new(|world| world.code("sam"))),
            ],
        )
        .await;
    outcome.unwrap();
    user.finished();
    let shown = user.shown();
    assert!(shown.iter().any(|m| m.contains("sent by SMS to +")), "{shown:?}");
    assert!(env.client.is_signed_in());
}

#[tokio::test]
async fn mfa_choice_then_the_authenticator_code() {
    let env = Env::start(json!({"PoolName": "choice", "MfaConfiguration": "OPTIONAL"})).await;
    env.user("cy", &[("phone_number", "+15555550101")]).await;
    env.mfa("cy", MfaPreference::new().sms(true, false).totp(true, false), true).await;
    let (outcome, user) = env
        .run(
            &sign_in_only().username("cy"),
            vec![
                line(Kind::Secret, "Password", fixed(PASSWORD)),
                line(Kind::Choose, "confirm it's you", fixed("authenticator")),
                line(Kind::Ask, "authenticator", Box::new(|world| world.totp("cy"))),
            ],
        )
        .await;
    outcome.unwrap();
    user.finished();
    assert!(env.client.is_signed_in());
}

#[tokio::test]
async fn email_code() {
    let env = Env::start(json!({"PoolName": "email", "MfaConfiguration": "OPTIONAL"})).await;
    env.user("em", &[("email", "em@example.com")]).await;
    env.mfa("em", MfaPreference::new().email(true, true), false).await;
    let (outcome, user) = env
        .run(
            &sign_in_only().username("em"),
            vec![
                line(Kind::Secret, "Password", fixed(PASSWORD)),
                line(Kind::Ask, "Code", Box::new(|world| world.code("em"))),
            ],
        )
        .await;
    outcome.unwrap();
    user.finished();
    assert!(user.shown().iter().any(|m| m.contains("by email")), "{:?}", user.shown());
}

#[tokio::test]
async fn authenticator_set_up_shows_a_qr_code_and_the_uri() {
    let env = Env::start(json!({"PoolName": "mfa-on", "MfaConfiguration": "ON"})).await;
    env.user("tia", &[]).await;
    let (outcome, user) = env
        .run(
            &sign_in_only().username("tia"),
            vec![
                line(Kind::Secret, "Password", fixed(PASSWORD)),
                line(Kind::Ask, "First code", Box::new(World::totp_from_shown_key)),
            ],
        )
        .await;
    outcome.unwrap();
    user.finished();
    let shown = user.shown();
    let setup = shown
        .iter()
        .find(|m| m.contains("otpauth://totp/DropIn:tia?secret="))
        .unwrap_or_else(|| panic!("the URI in {shown:?}"));
    assert!(
        setup.contains('█') || setup.contains('▀') || setup.contains('▄'),
        "a QR code: {setup}"
    );
    assert!(env.client.is_signed_in());
}

#[tokio::test]
async fn new_password_with_a_required_attribute() {
    let env = Env::start(json!({"PoolName": "new-password", "Schema": [
        {"Name": "name", "AttributeDataType": "String", "Required": true, "Mutable": true}]}))
    .await;
    env.world
        .server
        .call(
            "AdminCreateUser",
            json!({"UserPoolId": env.world.pool_id, "Username": "newbie",
                   "TemporaryPassword": "Temp-Passw0rd!", "MessageAction": "SUPPRESS"}),
        )
        .await
        .unwrap();
    let (outcome, user) = env
        .run(
            &sign_in_only().username("newbie"),
            vec![
                line(Kind::Secret, "Password", fixed("Temp-Passw0rd!")),
                line(Kind::Secret, "New password", fixed(NEW_PASSWORD)),
                line(Kind::Secret, "Repeat", fixed("Typo-Passw0rd!")),
                line(Kind::Secret, "New password", fixed(NEW_PASSWORD)),
                line(Kind::Secret, "Repeat", fixed(NEW_PASSWORD)),
                line(Kind::Ask, "name", fixed("New Bie")),
            ],
        )
        .await;
    outcome.unwrap();
    user.finished();
    assert!(user.shown().iter().any(|m| m.contains("passwords differ")));
    env.client.sign_out(auth_core::SignOutOptions::local()).await.unwrap();
    let again = env.client.sign_in(SignInRequest::password("newbie", NEW_PASSWORD)).await.unwrap();
    assert!(matches!(again, SignInResult::Done), "the new password is the password now");
}

#[tokio::test]
async fn sign_up_with_its_confirmation_code_then_signed_in() {
    let env = Env::start(json!({"PoolName": "sign-up", "AutoVerifiedAttributes": ["email"]})).await;
    let (outcome, user) = env
        .run(
            &DropInOptions::default(),
            vec![
                line(Kind::Choose, "What would you like to do", fixed("Create an account")),
                line(Kind::Ask, "Username", fixed("una")),
                line(Kind::Secret, "Choose a password", fixed(PASSWORD)),
                line(Kind::Secret, "Repeat", fixed(PASSWORD)),
                line(Kind::Ask, "email", fixed("una@example.com")),
                line(Kind::Ask, "Confirmation code", fixed("000000")),
                line(Kind::Ask, "Confirmation code", Box::new(|world| world.code("una"))),
            ],
        )
        .await;
    let outcome = outcome.unwrap();
    user.finished();
    assert!(outcome.signed_up);
    assert!(env.client.is_signed_in(), "signed in with the chosen password, not asked again");
}

#[tokio::test]
async fn an_unconfirmed_account_is_confirmed_on_the_way() {
    let env =
        Env::start(json!({"PoolName": "unconfirmed", "AutoVerifiedAttributes": ["email"]})).await;
    let account = env.client.account().unwrap();
    account
        .sign_up(
            auth_core::SignUpRequest::new("uli", PASSWORD).with_attribute("email", "u@example.com"),
        )
        .await
        .unwrap();
    let (outcome, user) = env
        .run(
            &sign_in_only().username("uli"),
            vec![
                line(Kind::Secret, "Password", fixed(PASSWORD)),
                line(Kind::Ask, "Confirmation code", Box::new(|world| world.code("uli"))),
                line(Kind::Secret, "Password", fixed(PASSWORD)),
            ],
        )
        .await;
    outcome.unwrap();
    user.finished();
    assert!(user.shown().iter().any(|m| m.contains("not confirmed yet")));
}

#[tokio::test]
async fn forgot_password_then_signed_in_with_the_new_one() {
    let env = Env::start(json!({"PoolName": "forgot"})).await;
    env.user("fay", &[("email", "fay@example.com"), ("email_verified", "true")]).await;
    let (outcome, user) = env
        .run(
            &DropInOptions::default(),
            vec![
                line(Kind::Choose, "What would you like to do", fixed("Forgot")),
                line(Kind::Ask, "Username", fixed("fay")),
                line(Kind::Ask, "Code", Box::new(|world| world.code("fay"))),
                line(Kind::Secret, "New password", fixed(NEW_PASSWORD)),
                line(Kind::Secret, "Repeat", fixed(NEW_PASSWORD)),
                line(Kind::Secret, "Password", fixed(NEW_PASSWORD)),
            ],
        )
        .await;
    let outcome = outcome.unwrap();
    user.finished();
    assert!(outcome.password_reset);
    assert!(env.client.is_signed_in());
}

#[tokio::test]
async fn a_cancelled_prompt_ends_the_flow() {
    let env = Env::start(json!({"PoolName": "cancel"})).await;
    let (outcome, _user) = env.run(&sign_in_only(), vec![]).await;
    assert!(matches!(outcome, Err(DropInError::Cancelled)), "{outcome:?}");
    assert_eq!(env.client.current_user_state().state, UserState::SignedOut);
}

/// The app's answer to `SignedOutUserPoolsTokensInvalid`: the drop-in signs the user in
/// again and the request that was waiting completes with the new tokens.
#[tokio::test]
async fn re_sign_in_completes_the_waiting_requests() {
    let env = Env::start(json!({"PoolName": "again"})).await;
    env.user("rae", &[]).await;
    env.client.sign_in(SignInRequest::password("rae", PASSWORD)).await.unwrap();
    env.world.server.revoke_refresh_tokens(&env.world.pool_id, "rae").unwrap();
    // A forced refresh is refused: the request waits for a new sign-in.
    let waiting = tokio::spawn({
        let client = env.client.clone();
        async move { client.refresh_tokens().await }
    });
    tokio::time::timeout(Duration::from_secs(10), async {
        while env.client.current_user_state().state != UserState::SignedOutUserPoolsTokensInvalid {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the refused refresh leads to SignedOutUserPoolsTokensInvalid");
    let username = env.client.username().expect("the username stays known");
    let (outcome, user) = env
        .run(
            &sign_in_only().username(username),
            vec![line(Kind::Secret, "Password", fixed(PASSWORD))],
        )
        .await;
    outcome.unwrap();
    user.finished();
    let tokens = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting request completes")
        .unwrap()
        .expect("with the new tokens");
    assert_eq!(
        tokens.access_token().secret(),
        env.client.tokens().await.unwrap().access_token().secret()
    );
}
