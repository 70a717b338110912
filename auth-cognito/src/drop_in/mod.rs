//! A drop-in sign-in for terminal apps (feature `drop-in`): the Rust counterpart of
//! AWSMobileClient's `showSignIn`.
//!
//! [`sign_in_interactively`] runs the whole user-pool flow through [`AuthClient`], asking the
//! user through a [`Prompter`]: sign-in, the choice of an MFA method or a first factor, SMS,
//! email and authenticator codes, authenticator set-up (the `otpauth://` URI and a QR code
//! drawn in the terminal), a new password, sign-up with its confirmation code, and a
//! forgotten password. Because it signs in through the client, it is also the app's answer
//! to [`UserState::SignedOutUserPoolsTokensInvalid`]: the requests waiting for a new
//! sign-in complete as soon as it succeeds.
//!
//! [`TerminalPrompter`] asks on the terminal (with `dialoguer` when standard input is a
//! terminal, line by line otherwise, so scripts and tests can pipe the answers); an app
//! with its own interface implements [`Prompter`] instead.
//!
//! ```no_run
//! # async fn example(client: auth_core::AuthClient) -> Result<(), Box<dyn std::error::Error>> {
//! use auth_cognito::drop_in::{DropInOptions, TerminalPrompter, sign_in_interactively};
//!
//! let outcome =
//!     sign_in_interactively(&client, &TerminalPrompter::new(), &DropInOptions::default()).await?;
//! println!("signed in as {}", outcome.username);
//! # Ok(()) }
//! ```

mod terminal;

use async_trait::async_trait;
use auth_core::{
    AuthClient, AuthError, ChallengeKind, ChallengeResponse, CodeDelivery, FirstFactor, MfaType,
    Password, ProviderError, SecretString, ServiceErrorKind, SignInNextStep, SignInRequest,
    SignInResult, SignUpRequest, UserState,
};

pub use terminal::TerminalPrompter;

/// How the drop-in asks the user: four questions any interface can answer. Implement it to
/// run the drop-in flow in a GUI or over a chat; [`TerminalPrompter`] is the terminal one.
#[async_trait]
pub trait Prompter: Send + Sync {
    /// Asks for a line of text (a username, a code, an attribute value).
    async fn ask(&self, prompt: &str) -> Result<String, PromptError>;
    /// Asks for a secret without echoing it (a password).
    async fn ask_secret(&self, prompt: &str) -> Result<Password, PromptError>;
    /// Lets the user pick one of `options`; returns its index.
    async fn choose(&self, prompt: &str, options: &[String]) -> Result<usize, PromptError>;
    /// Shows a message (where a code was sent, an error to correct, a QR code).
    async fn show(&self, message: &str) -> Result<(), PromptError>;
}

/// Why a [`Prompter`] gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// The user gave up (Escape, Ctrl-D, end of input).
    #[error("the user cancelled")]
    Cancelled,
    /// The interface failed (the terminal went away).
    #[error("the prompt failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Why [`sign_in_interactively`] ended without a signed-in user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DropInError {
    /// The user cancelled a prompt.
    #[error("sign-in cancelled")]
    Cancelled,
    /// The prompter failed.
    #[error(transparent)]
    Prompt(PromptError),
    /// The client or the provider failed in a way answering again cannot fix (the network,
    /// a misconfigured client, too many attempts).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The provider asked for a step this flow does not know how to ask for.
    #[error("the provider asked for a step the drop-in cannot answer: {0}")]
    UnsupportedStep(String),
}

impl From<PromptError> for DropInError {
    fn from(error: PromptError) -> Self {
        match error {
            PromptError::Cancelled => DropInError::Cancelled,
            other => DropInError::Prompt(other),
        }
    }
}

/// What the drop-in offers and how persistent it is.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DropInOptions {
    /// Offer "Create an account" (the pool must allow self sign-up).
    pub allow_sign_up: bool,
    /// Offer "Forgot your password?".
    pub allow_forgot_password: bool,
    /// The username to sign in with, when the app knows it (a re-sign-in); asked otherwise.
    pub username: Option<String>,
    /// Attributes asked for at sign-up, besides the username and password (e.g. `email`).
    pub sign_up_attributes: Vec<String>,
    /// How many refused answers (a wrong password or code) the user gets before the flow
    /// gives up with the provider's error.
    pub attempts: u32,
    /// Sign in with Cognito's choice-based flow (`USER_AUTH`): the user picks a first
    /// factor, e.g. a one-time code by email, instead of always typing a password.
    pub choice_based: bool,
    /// The issuer shown in authenticator apps for a new TOTP set-up.
    pub totp_issuer: String,
}

impl Default for DropInOptions {
    fn default() -> Self {
        Self {
            allow_sign_up: true,
            allow_forgot_password: true,
            username: None,
            sign_up_attributes: vec!["email".to_owned()],
            attempts: 3,
            choice_based: false,
            totp_issuer: "Cognito".to_owned(),
        }
    }
}

impl DropInOptions {
    crate::builder::setters! {
        /// Signs in as `username` without asking for it (a re-sign-in).
        username(username: impl Into<String>) => username = Some(username.into());

        /// Offers (or hides) sign-up.
        allow_sign_up(allow: bool) => allow_sign_up;

        /// Offers (or hides) the forgotten-password flow.
        allow_forgot_password(allow: bool) => allow_forgot_password;

        /// The attributes asked for at sign-up.
        sign_up_attributes(names: [impl Into<String>]) => sign_up_attributes;

        /// How many refused answers the user gets (at least one).
        attempts(attempts: u32) => attempts = attempts.max(1);

        /// Uses choice-based sign-in (`USER_AUTH`).
        choice_based(choice_based: bool) => choice_based;

        /// The issuer authenticator apps show for a new TOTP set-up.
        totp_issuer(issuer: impl Into<String>) => totp_issuer = issuer.into();
    }
}

/// A finished drop-in sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DropInOutcome {
    /// Who is signed in.
    pub username: String,
    /// The account was created during this run.
    pub signed_up: bool,
    /// The password was reset during this run.
    pub password_reset: bool,
}

/// The first screen's choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    SignIn,
    SignUp,
    ForgotPassword,
}

impl Start {
    fn label(self) -> &'static str {
        match self {
            Start::SignIn => "Sign in",
            Start::SignUp => "Create an account",
            Start::ForgotPassword => "Forgot your password?",
        }
    }
}

/// Runs the whole sign-in on `prompter` until the user is signed in to `client`, gives up
/// (cancels a prompt) or the provider fails in a way answering again cannot fix. Refused
/// answers (a wrong password, a wrong code) are shown and asked again, `options.attempts`
/// times.
pub async fn sign_in_interactively(
    client: &AuthClient,
    prompter: &dyn Prompter,
    options: &DropInOptions,
) -> Result<DropInOutcome, DropInError> {
    let mut flow = Flow { client, prompter, options, signed_up: false, password_reset: false };
    flow.run().await
}

struct Flow<'a> {
    client: &'a AuthClient,
    prompter: &'a dyn Prompter,
    options: &'a DropInOptions,
    signed_up: bool,
    password_reset: bool,
}

/// A refusal the user can correct by answering again (as opposed to the network or a
/// misconfiguration).
fn correctable(error: &AuthError) -> bool {
    matches!(
        error_kind(error),
        Some(
            ServiceErrorKind::NotAuthorized
                | ServiceErrorKind::UserNotFound
                | ServiceErrorKind::CodeMismatch
                | ServiceErrorKind::ExpiredCode
                | ServiceErrorKind::InvalidPassword
                | ServiceErrorKind::InvalidParameter
                | ServiceErrorKind::UsernameExists
        )
    )
}

/// The message to show for a refusal: the provider's words, which say what to correct.
fn refusal(error: &AuthError) -> String {
    match error {
        AuthError::Provider(ProviderError::Rejected(service)) => service.message().to_owned(),
        other => other.to_string(),
    }
}

fn delivered(what: &str, delivery: &CodeDelivery) -> String {
    match &delivery.destination {
        Some(destination) => format!("{what} was sent to {destination}."),
        None => format!("{what} was sent."),
    }
}

impl Flow<'_> {
    async fn run(&mut self) -> Result<DropInOutcome, DropInError> {
        if self.client.current_user_state().state == UserState::SignedIn {
            return Err(AuthError::AlreadySignedIn.into());
        }
        let mut starts = vec![Start::SignIn];
        if self.options.allow_sign_up {
            starts.push(Start::SignUp);
        }
        if self.options.allow_forgot_password {
            starts.push(Start::ForgotPassword);
        }
        let start = if starts.len() == 1 || self.options.username.is_some() {
            Start::SignIn
        } else {
            let labels: Vec<String> = starts.iter().map(|s| s.label().to_owned()).collect();
            starts[self.prompter.choose("What would you like to do?", &labels).await?]
        };
        let (username, password) = match start {
            Start::SignIn => (self.username().await?, None),
            Start::SignUp => {
                let (username, password) = self.sign_up().await?;
                (username, Some(password))
            }
            Start::ForgotPassword => {
                let username = self.username().await?;
                self.reset_password(&username).await?;
                (username, None)
            }
        };
        self.sign_in(username, password).await
    }

    async fn username(&self) -> Result<String, DropInError> {
        match &self.options.username {
            Some(username) => Ok(username.clone()),
            None => loop {
                let username = self.prompter.ask("Username").await?;
                if !username.trim().is_empty() {
                    break Ok(username.trim().to_owned());
                }
                self.prompter.show("Enter a username.").await?;
            },
        }
    }

    /// Asks for a new password twice until both agree.
    async fn new_password(&self, prompt: &str) -> Result<Password, DropInError> {
        loop {
            let first = self.prompter.ask_secret(prompt).await?;
            let second = self.prompter.ask_secret("Repeat the password").await?;
            if first == second {
                return Ok(first);
            }
            self.prompter.show("The passwords differ; try again.").await?;
        }
    }

    /// Runs `attempt` with fresh answers until it succeeds, fails in a way the user cannot
    /// correct, or the attempts are used up; each correctable refusal is shown first.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, DropInError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, DropInError>>,
    {
        let mut left = self.options.attempts.max(1);
        loop {
            match attempt().await {
                Err(DropInError::Auth(error)) if correctable(&error) && left > 1 => {
                    left -= 1;
                    self.prompter.show(&refusal(&error)).await?;
                }
                result => return result,
            }
        }
    }

    /// Creates the account (and confirms it with the code sent); returns the username and
    /// the chosen password, so the sign-in that follows does not ask for it again.
    async fn sign_up(&mut self) -> Result<(String, Password), DropInError> {
        let account = self.client.account()?;
        let (username, password, outcome) = self
            .retrying(|| async {
                let username = self.username().await?;
                let password = self.new_password("Choose a password").await?;
                let mut request = SignUpRequest::new(username.clone(), password.clone());
                for name in &self.options.sign_up_attributes {
                    let value = self.prompter.ask(name).await.map_err(DropInError::from)?;
                    request = request.with_attribute(name.clone(), value);
                }
                let outcome = account.sign_up(request).await?;
                Ok((username, password, outcome))
            })
            .await?;
        if !outcome.confirmed {
            let delivery = outcome.delivery.unwrap_or_default();
            self.prompter.show(&delivered("A confirmation code", &delivery)).await?;
            self.confirm_code(&username).await?;
        }
        self.signed_up = true;
        Ok((username, password))
    }

    /// Asks for the sign-up confirmation code until the provider accepts it.
    async fn confirm_code(&self, username: &str) -> Result<(), DropInError> {
        let account = self.client.account()?;
        self.retrying(|| async {
            let code = self.prompter.ask("Confirmation code").await.map_err(DropInError::from)?;
            account.confirm_sign_up(username, code.trim()).await?;
            Ok(())
        })
        .await
    }

    async fn reset_password(&mut self, username: &str) -> Result<(), DropInError> {
        let account = self.client.account()?;
        let delivery = account.forgot_password(username).await?;
        self.prompter.show(&delivered("A code to reset your password", &delivery)).await?;
        self.retrying(|| async {
            let code = self.prompter.ask("Code").await.map_err(DropInError::from)?;
            let password = self.new_password("New password").await?;
            Ok(account.confirm_forgot_password(username, code.trim(), password).await?)
        })
        .await?;
        self.password_reset = true;
        self.prompter.show("Your password was reset.").await?;
        Ok(())
    }

    /// Signs in as `username` (with `password` when it is already known, e.g. right after
    /// sign-up), answering every challenge.
    async fn sign_in(
        &mut self,
        username: String,
        mut password: Option<Password>,
    ) -> Result<DropInOutcome, DropInError> {
        let mut left = self.options.attempts.max(1);
        loop {
            let request = if self.options.choice_based {
                SignInRequest::choice_based(username.clone())
            } else {
                let password = match password.take() {
                    Some(password) => password,
                    None => self.prompter.ask_secret("Password").await?,
                };
                SignInRequest::password(username.clone(), password)
            };
            let error = match self.client.sign_in(request).await {
                Ok(SignInResult::Done) => return Ok(self.outcome(username)),
                Ok(SignInResult::NextStep(step)) => match self.answer_steps(step).await {
                    Ok(()) => return Ok(self.outcome(username)),
                    Err(Attempt::Stop(error)) => return Err(error),
                    Err(Attempt::Refused(error)) => error,
                },
                Ok(_) => return Err(unknown_result()),
                Err(error) => error,
            };
            match error_kind(&error) {
                Some(ServiceErrorKind::UserNotConfirmed) => {
                    let account = self.client.account()?;
                    let delivery = account.resend_sign_up_code(&username).await?;
                    self.prompter
                        .show(&format!(
                            "Your account is not confirmed yet. {}",
                            delivered("A confirmation code", &delivery)
                        ))
                        .await?;
                    self.confirm_code(&username).await?;
                }
                Some(ServiceErrorKind::PasswordResetRequired) => {
                    self.prompter.show(&refusal(&error)).await?;
                    self.reset_password(&username).await?;
                }
                _ if correctable(&error) => {
                    left -= 1;
                    if left == 0 {
                        return Err(error.into());
                    }
                    self.prompter.show(&refusal(&error)).await?;
                }
                _ => return Err(error.into()),
            }
        }
    }

    fn outcome(&self, username: String) -> DropInOutcome {
        DropInOutcome {
            username: self.client.username().unwrap_or(username),
            signed_up: self.signed_up,
            password_reset: self.password_reset,
        }
    }

    /// Answers challenges until the sign-in is done. A wrong code is asked again within
    /// the same step (Cognito keeps the session for a retry); other refusals end the
    /// attempt and go back to [`Flow::sign_in`].
    async fn answer_steps(&self, first: SignInNextStep) -> Result<(), Attempt> {
        let mut step = first;
        let mut wrong_codes = 1;
        loop {
            let response = self.response(&step).await.map_err(Attempt::Stop)?;
            match self.client.confirm_sign_in(response).await {
                Ok(SignInResult::Done) => return Ok(()),
                Ok(SignInResult::NextStep(next)) => step = next,
                Ok(_) => return Err(Attempt::Stop(unknown_result())),
                Err(error)
                    if matches!(
                        error_kind(&error),
                        Some(ServiceErrorKind::CodeMismatch | ServiceErrorKind::ExpiredCode)
                    ) && wrong_codes < self.options.attempts =>
                {
                    wrong_codes += 1;
                    self.prompter
                        .show(&refusal(&error))
                        .await
                        .map_err(|e| Attempt::Stop(e.into()))?;
                }
                Err(error) => return Err(Attempt::from(error)),
            }
        }
    }

    /// The answer to one challenge, asked from the user.
    async fn response(&self, step: &SignInNextStep) -> Result<ChallengeResponse, DropInError> {
        let prompter = self.prompter;
        Ok(match &step.kind {
            ChallengeKind::NewPasswordRequired { required_attributes } => {
                prompter.show("You must choose a new password.").await?;
                let password = self.new_password("New password").await?;
                let mut response = ChallengeResponse::answer(password);
                for name in required_attributes {
                    let value = prompter.ask(name).await?;
                    response.attributes.insert(name.clone(), value);
                }
                response
            }
            ChallengeKind::SmsMfa { destination }
            | ChallengeKind::SmsOtp { destination }
            | ChallengeKind::EmailOtp { destination } => {
                let via = match &step.kind {
                    ChallengeKind::EmailOtp { .. } => "by email",
                    _ => "by SMS",
                };
                let to = destination.as_deref().map(|d| format!(" to {d}")).unwrap_or_default();
                prompter.show(&format!("A sign-in code was sent {via}{to}.")).await?;
                ChallengeResponse::answer(prompter.ask("Code").await?.trim())
            }
            ChallengeKind::SoftwareTokenMfa => ChallengeResponse::answer(
                prompter.ask("Code from your authenticator app").await?.trim(),
            ),
            ChallengeKind::MfaSetup { secret, otpauth_uri } => {
                prompter.show(&totp_setup_message(secret, otpauth_uri)).await?;
                ChallengeResponse::answer(
                    prompter.ask("First code from your authenticator app").await?.trim(),
                )
            }
            ChallengeKind::SelectMfaType { options } => {
                let labels: Vec<String> = options.iter().map(|mfa| mfa_label(*mfa)).collect();
                let chosen =
                    prompter.choose("How do you want to confirm it's you?", &labels).await?;
                ChallengeResponse::mfa_type(options[chosen.min(options.len() - 1)])
            }
            ChallengeKind::SelectFirstFactor { options } => {
                let labels: Vec<String> = options.iter().map(|f| factor_label(*f)).collect();
                let chosen = prompter.choose("How do you want to sign in?", &labels).await?;
                let factor = options[chosen.min(options.len() - 1)];
                let response = ChallengeResponse::first_factor(factor);
                if factor.needs_password() {
                    response.with_password(prompter.ask_secret("Password").await?)
                } else {
                    response
                }
            }
            ChallengeKind::CustomChallenge => {
                let question =
                    step.parameters.get("question").cloned().unwrap_or_else(|| "Answer".to_owned());
                ChallengeResponse::answer(prompter.ask(&question).await?)
            }
            _ => return Err(DropInError::UnsupportedStep(step.challenge_name.clone())),
        })
    }
}

/// How a sign-in attempt ended without a signed-in user.
enum Attempt {
    /// The provider refused: [`Flow::sign_in`] decides whether to ask again.
    Refused(AuthError),
    /// Stop the flow with this error (a cancelled prompt, an unsupported step).
    Stop(DropInError),
}

impl From<AuthError> for Attempt {
    fn from(error: AuthError) -> Self {
        Attempt::Refused(error)
    }
}

/// A sign-in result newer than this flow (the enum is non-exhaustive).
fn unknown_result() -> DropInError {
    DropInError::UnsupportedStep("a sign-in result this version does not know".to_owned())
}

fn error_kind(error: &AuthError) -> Option<&ServiceErrorKind> {
    match error {
        AuthError::Provider(provider) if provider.is_rejected() => provider.kind(),
        _ => None,
    }
}

fn mfa_label(mfa: MfaType) -> String {
    match mfa {
        MfaType::Sms => "A code by SMS".to_owned(),
        MfaType::Totp => "A code from an authenticator app".to_owned(),
        MfaType::Email => "A code by email".to_owned(),
        other => other.to_string(),
    }
}

fn factor_label(factor: FirstFactor) -> String {
    match factor {
        FirstFactor::Password | FirstFactor::PasswordSrp => "My password".to_owned(),
        FirstFactor::EmailOtp => "A one-time code by email".to_owned(),
        FirstFactor::SmsOtp => "A one-time code by SMS".to_owned(),
        other => other.to_string(),
    }
}

/// What the user needs to add the account to an authenticator app: the QR code (drawn with
/// half-block characters, two modules per character row), the `otpauth://` URI and the
/// secret to type by hand.
fn totp_setup_message(secret: &SecretString, otpauth_uri: &SecretString) -> String {
    let qr = qrcode::QrCode::new(otpauth_uri.secret().as_bytes())
        .map(|code| {
            code.render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .dark_color(qrcode::render::unicode::Dense1x2::Light)
                .light_color(qrcode::render::unicode::Dense1x2::Dark)
                .build()
        })
        .unwrap_or_default();
    format!(
        "Set up an authenticator app: scan this code,\n{qr}\nor open {}\nor type the key {}",
        otpauth_uri.secret(),
        secret.secret()
    )
}
