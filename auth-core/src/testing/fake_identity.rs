use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::json;

use super::{epoch_seconds, unsigned_jwt};
use crate::env::Clock;
use crate::error::{ProviderError, ServiceErrorKind};
use crate::jwt::UnverifiedClaims;
use crate::provider::{AccountProvider, DynAccountProvider, IdentityProvider};
use crate::secret::{
    AccessToken, ChallengeSession, ConfirmationCode, IdToken, Password, RefreshToken,
};
use crate::types::{
    ChallengeContext, ChallengeKind, ChallengeResponse, CodeDelivery, SignInFlow, SignInNextStep,
    SignInOutcome, SignInRequest, SignOutOptions, SignUpOutcome, SignUpRequest, UserPoolSession,
    UserPoolTokens,
};

/// How many times each method of a fake identity provider was called (including calls
/// that failed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeIdentityCalls {
    /// `sign_in` calls.
    pub sign_in: usize,
    /// `respond_to_challenge` calls.
    pub respond: usize,
    /// `refresh` calls.
    pub refresh: usize,
    /// `refresh` calls that reached the (fake) service: the network was up.
    pub refresh_served: usize,
    /// `sign_out` calls.
    pub sign_out: usize,
}

/// A scriptable in-memory identity provider: users with passwords (and optionally a fixed
/// MFA code), unsigned JWTs whose lifetimes follow the given clock, refresh tokens that can
/// expire or be revoked server-side, network failures on demand, and call counters.
/// Clones share state.
#[derive(Clone, Debug)]
pub struct FakeIdentityProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    sign_in: AtomicUsize,
    respond: AtomicUsize,
    refresh: AtomicUsize,
    refresh_served: AtomicUsize,
    sign_out: AtomicUsize,
}

#[derive(Debug)]
struct State {
    users: BTreeMap<String, User>,
    token_lifetime: Duration,
    refresh_lifetime: Duration,
    refresh_tokens: HashMap<String, RefreshRecord>,
    challenges: HashMap<String, String>,
    network_down: bool,
    scripted: VecDeque<ProviderError>,
    refresh_delay: Duration,
    serial: u64,
}

#[derive(Debug, Default)]
struct User {
    password: String,
    mfa_code: Option<String>,
    confirmed: bool,
    attributes: BTreeMap<String, String>,
    pending_code: Option<String>,
}

#[derive(Debug)]
struct RefreshRecord {
    username: String,
    expires_at: SystemTime,
    revoked: bool,
}

impl FakeIdentityProvider {
    /// A provider with no users, 1-hour tokens and 30-day refresh tokens.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                state: Mutex::new(State {
                    users: BTreeMap::new(),
                    token_lifetime: Duration::from_secs(3600),
                    refresh_lifetime: Duration::from_secs(30 * 24 * 3600),
                    refresh_tokens: HashMap::new(),
                    challenges: HashMap::new(),
                    network_down: false,
                    scripted: VecDeque::new(),
                    refresh_delay: Duration::ZERO,
                    serial: 0,
                }),
                sign_in: AtomicUsize::new(0),
                respond: AtomicUsize::new(0),
                refresh: AtomicUsize::new(0),
                refresh_served: AtomicUsize::new(0),
                sign_out: AtomicUsize::new(0),
            }),
        }
    }

    /// Adds (or replaces) a user.
    pub fn add_user(&self, username: &str, password: &str) -> &Self {
        let user = User { password: password.to_owned(), confirmed: true, ..User::default() };
        self.state().users.insert(username.to_owned(), user);
        self
    }

    /// Makes a user's sign-in require a TOTP step answered with `code`.
    pub fn require_mfa(&self, username: &str, code: &str) -> &Self {
        if let Some(user) = self.state().users.get_mut(username) {
            user.mfa_code = Some(code.to_owned());
        }
        self
    }

    /// Sets the lifetime of ID and access tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state().token_lifetime = lifetime;
    }

    /// Sets the lifetime of refresh tokens issued from now on.
    pub fn set_refresh_token_lifetime(&self, lifetime: Duration) {
        self.state().refresh_lifetime = lifetime;
    }

    /// Revokes every refresh token of `username`, as a global sign-out elsewhere would.
    pub fn revoke_user(&self, username: &str) {
        for record in self.state().refresh_tokens.values_mut() {
            if record.username == username {
                record.revoked = true;
            }
        }
    }

    /// While `false`, every call fails with a network error.
    pub fn set_network_available(&self, available: bool) {
        self.state().network_down = !available;
    }

    /// Makes the next call fail with `error`.
    pub fn fail_next(&self, error: ProviderError) {
        self.state().scripted.push_back(error);
    }

    /// Makes every refresh take `delay` (for concurrency tests).
    pub fn set_refresh_delay(&self, delay: Duration) {
        self.state().refresh_delay = delay;
    }

    /// The last confirmation or reset code sent to `username` (the fake "delivers" codes
    /// here instead of by email or SMS).
    pub fn last_code(&self, username: &str) -> Option<String> {
        self.state().users.get(username).and_then(|user| user.pending_code.clone())
    }

    /// The call counters.
    pub fn calls(&self) -> FakeIdentityCalls {
        FakeIdentityCalls {
            sign_in: self.inner.sign_in.load(Ordering::SeqCst),
            respond: self.inner.respond.load(Ordering::SeqCst),
            refresh: self.inner.refresh.load(Ordering::SeqCst),
            refresh_served: self.inner.refresh_served.load(Ordering::SeqCst),
            sign_out: self.inner.sign_out.load(Ordering::SeqCst),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request: it fails if the network is down (and then reaches nothing, so a scripted
    /// failure waits for the next request that does), else takes the next scripted failure.
    fn check_network(&self) -> Result<(), ProviderError> {
        let mut state = self.state();
        if state.network_down {
            return Err(ProviderError::network("fake provider: network unavailable"));
        }
        if let Some(error) = state.scripted.pop_front() {
            return Err(error);
        }
        Ok(())
    }

    fn issue(&self, state: &mut State, username: &str, with_refresh: bool) -> UserPoolTokens {
        state.serial += 1;
        let now = self.inner.clock.now();
        let exp = epoch_seconds(now + state.token_lifetime);
        let iat = epoch_seconds(now);
        let serial = state.serial;
        let id = unsigned_jwt(&json!({
            "sub": format!("sub-{username}"), "token_use": "id", "cognito:username": username,
            "iat": iat, "exp": exp, "jti": format!("id-{serial}"),
        }));
        let access = unsigned_jwt(&json!({
            "sub": format!("sub-{username}"), "token_use": "access", "username": username,
            "iat": iat, "exp": exp, "jti": format!("access-{serial}"),
        }));
        let refresh = with_refresh.then(|| {
            let token = format!("refresh-{username}-{serial}");
            let expires_at = now + state.refresh_lifetime;
            state.refresh_tokens.insert(
                token.clone(),
                RefreshRecord { username: username.to_owned(), expires_at, revoked: false },
            );
            RefreshToken::new(token)
        });
        // The tokens were just built with numeric `exp` claims, so reading them back
        // cannot fail.
        UserPoolTokens::new(IdToken::new(id), AccessToken::new(access), refresh)
            .unwrap_or_else(|error| unreachable!("fake tokens are well-formed: {error}"))
    }
}

fn not_authorized(message: &str) -> ProviderError {
    ProviderError::rejected(ServiceErrorKind::NotAuthorized, message)
}

#[async_trait]
impl IdentityProvider for FakeIdentityProvider {
    fn logins_key(&self) -> String {
        "fake-idp.example/pool".to_owned()
    }

    fn account_provider(self: Arc<Self>) -> Option<DynAccountProvider> {
        Some(self)
    }

    async fn sign_in(&self, request: &SignInRequest) -> Result<SignInOutcome, ProviderError> {
        self.inner.sign_in.fetch_add(1, Ordering::SeqCst);
        self.check_network()?;
        let mut state = self.state();
        let Some(user) = state.users.get(&request.username) else {
            return Err(ProviderError::rejected(
                ServiceErrorKind::UserNotFound,
                "User does not exist.",
            ));
        };
        if !user.confirmed {
            return Err(ProviderError::rejected(
                ServiceErrorKind::UserNotConfirmed,
                "User is not confirmed.",
            ));
        }
        // The fake knows passwords only: a choice-based sign-in without a password (or
        // preferring a one-time code) is a feature it does not have, not a wrong password.
        if let SignInFlow::ChoiceBased(preferred) = request.flow {
            if request.password.is_none() || preferred.is_some_and(|f| !f.needs_password()) {
                return Err(ProviderError::Unsupported(
                    "the fake identity provider has no passwordless sign-in".into(),
                ));
            }
        }
        if request.password.as_ref().map(|p| p.secret()) != Some(user.password.as_str()) {
            return Err(not_authorized("Incorrect username or password."));
        }
        if user.mfa_code.is_some() {
            state.serial += 1;
            let session = format!("challenge-{}", state.serial);
            state.challenges.insert(session.clone(), request.username.clone());
            return Ok(SignInOutcome::NextStep(SignInNextStep {
                kind: ChallengeKind::SoftwareTokenMfa,
                challenge_name: "SOFTWARE_TOKEN_MFA".into(),
                parameters: BTreeMap::new(),
                context: ChallengeContext::new(
                    request.username.clone(),
                    Some(ChallengeSession::new(session)),
                ),
            }));
        }
        let tokens = self.issue(&mut state, &request.username, true);
        Ok(SignInOutcome::SignedIn(UserPoolSession::new(request.username.clone(), tokens)))
    }

    async fn respond_to_challenge(
        &self,
        context: &ChallengeContext,
        response: &ChallengeResponse,
    ) -> Result<SignInOutcome, ProviderError> {
        self.inner.respond.fetch_add(1, Ordering::SeqCst);
        self.check_network()?;
        let mut state = self.state();
        let session = context.session.as_ref().map(|s| s.secret().to_owned()).unwrap_or_default();
        let Some(username) = state.challenges.get(&session).cloned() else {
            return Err(not_authorized("Invalid session for the user."));
        };
        let expected = state.users.get(&username).and_then(|u| u.mfa_code.clone());
        if expected.as_deref() != Some(response.answer.secret()) {
            return Err(ProviderError::rejected(
                ServiceErrorKind::CodeMismatch,
                "Invalid code received for user",
            ));
        }
        state.challenges.remove(&session);
        let tokens = self.issue(&mut state, &username, true);
        Ok(SignInOutcome::SignedIn(UserPoolSession::new(username, tokens)))
    }

    async fn refresh(&self, session: &UserPoolSession) -> Result<UserPoolTokens, ProviderError> {
        self.inner.refresh.fetch_add(1, Ordering::SeqCst);
        if !self.state().network_down {
            self.inner.refresh_served.fetch_add(1, Ordering::SeqCst);
        }
        self.check_network()?;
        let delay = self.state().refresh_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
            // The network may have gone away while the request was in flight.
            self.check_network()?;
        }
        let now = self.inner.clock.now();
        let mut state = self.state();
        let token =
            session.tokens.refresh_token().map(|t| t.secret().to_owned()).unwrap_or_default();
        let username = match state.refresh_tokens.get(&token) {
            None => return Err(not_authorized("Invalid Refresh Token")),
            Some(record) if record.revoked => {
                return Err(not_authorized("Refresh Token has been revoked"));
            }
            Some(record) if record.expires_at <= now => {
                return Err(not_authorized("Refresh Token has expired"));
            }
            Some(record) => record.username.clone(),
        };
        // Like Cognito without rotation: new ID and access tokens, no new refresh token.
        Ok(self.issue(&mut state, &username, false))
    }

    async fn sign_out(
        &self,
        session: &UserPoolSession,
        options: &SignOutOptions,
    ) -> Result<(), ProviderError> {
        self.inner.sign_out.fetch_add(1, Ordering::SeqCst);
        self.check_network()?;
        if options.global {
            self.revoke_user(&session.username);
        } else if options.invalidate_tokens {
            let token =
                session.tokens.refresh_token().map(|t| t.secret().to_owned()).unwrap_or_default();
            if let Some(record) = self.state().refresh_tokens.get_mut(&token) {
                record.revoked = true;
            }
        }
        Ok(())
    }
}

fn delivery(username: &str) -> CodeDelivery {
    CodeDelivery {
        destination: Some(format!("{}***@e***", username.chars().next().unwrap_or('u'))),
        medium: Some("EMAIL".to_owned()),
        attribute: Some("email".to_owned()),
    }
}

impl FakeIdentityProvider {
    /// The user an access token belongs to, if the token is one of ours and unexpired.
    fn user_of(&self, access_token: &AccessToken) -> Result<String, ProviderError> {
        let now = self.inner.clock.now();
        let claims = UnverifiedClaims::decode(access_token.secret())
            .map_err(|_| not_authorized("Invalid Access Token"))?;
        if claims.expires_at().map_or(true, |exp| exp <= now) {
            return Err(not_authorized("Access Token has expired"));
        }
        let username =
            claims.string("username").ok_or_else(|| not_authorized("Invalid Access Token"))?;
        if !self.state().users.contains_key(username) {
            return Err(ProviderError::rejected(
                ServiceErrorKind::UserNotFound,
                "User does not exist.",
            ));
        }
        Ok(username.to_owned())
    }

    fn send_code(&self, username: &str) -> Result<CodeDelivery, ProviderError> {
        let mut state = self.state();
        state.serial += 1;
        let code = format!("{:06}", 100_000 + state.serial);
        let user = state.users.get_mut(username).ok_or_else(|| {
            ProviderError::rejected(ServiceErrorKind::UserNotFound, "User does not exist.")
        })?;
        user.pending_code = Some(code);
        Ok(delivery(username))
    }

    fn take_code(&self, username: &str, code: &ConfirmationCode) -> Result<(), ProviderError> {
        let mut state = self.state();
        let user = state.users.get_mut(username).ok_or_else(|| {
            ProviderError::rejected(ServiceErrorKind::UserNotFound, "User does not exist.")
        })?;
        if user.pending_code.as_deref() != Some(code.secret()) {
            return Err(ProviderError::rejected(
                ServiceErrorKind::CodeMismatch,
                "Invalid verification code provided.",
            ));
        }
        user.pending_code = None;
        Ok(())
    }
}

#[async_trait]
impl AccountProvider for FakeIdentityProvider {
    async fn sign_up(&self, request: &SignUpRequest) -> Result<SignUpOutcome, ProviderError> {
        self.check_network()?;
        {
            let mut state = self.state();
            if state.users.contains_key(&request.username) {
                return Err(ProviderError::rejected(
                    ServiceErrorKind::UsernameExists,
                    "User already exists",
                ));
            }
            let user = User {
                password: request.password.secret().to_owned(),
                attributes: request.attributes.clone(),
                ..User::default()
            };
            state.users.insert(request.username.clone(), user);
        }
        let delivery = self.send_code(&request.username)?;
        Ok(SignUpOutcome::new(false, format!("sub-{}", request.username), Some(delivery)))
    }

    async fn confirm_sign_up(
        &self,
        username: &str,
        code: &ConfirmationCode,
    ) -> Result<(), ProviderError> {
        self.check_network()?;
        self.take_code(username, code)?;
        if let Some(user) = self.state().users.get_mut(username) {
            user.confirmed = true;
        }
        Ok(())
    }

    async fn resend_sign_up_code(&self, username: &str) -> Result<CodeDelivery, ProviderError> {
        self.check_network()?;
        self.send_code(username)
    }

    async fn forgot_password(&self, username: &str) -> Result<CodeDelivery, ProviderError> {
        self.check_network()?;
        self.send_code(username)
    }

    async fn confirm_forgot_password(
        &self,
        username: &str,
        code: &ConfirmationCode,
        new_password: &Password,
    ) -> Result<(), ProviderError> {
        self.check_network()?;
        self.take_code(username, code)?;
        if let Some(user) = self.state().users.get_mut(username) {
            user.password = new_password.secret().to_owned();
        }
        Ok(())
    }

    async fn change_password(
        &self,
        access_token: &AccessToken,
        previous: &Password,
        proposed: &Password,
    ) -> Result<(), ProviderError> {
        self.check_network()?;
        let username = self.user_of(access_token)?;
        let mut state = self.state();
        let user =
            state.users.get_mut(&username).ok_or_else(|| not_authorized("Invalid Access Token"))?;
        if user.password != previous.secret() {
            return Err(not_authorized("Incorrect username or password."));
        }
        user.password = proposed.secret().to_owned();
        Ok(())
    }

    async fn user_attributes(
        &self,
        access_token: &AccessToken,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        self.check_network()?;
        let username = self.user_of(access_token)?;
        let mut attributes =
            self.state().users.get(&username).map(|u| u.attributes.clone()).unwrap_or_default();
        attributes.insert("sub".to_owned(), format!("sub-{username}"));
        Ok(attributes)
    }

    async fn update_user_attributes(
        &self,
        access_token: &AccessToken,
        attributes: &BTreeMap<String, String>,
    ) -> Result<Vec<CodeDelivery>, ProviderError> {
        self.check_network()?;
        let username = self.user_of(access_token)?;
        if let Some(user) = self.state().users.get_mut(&username) {
            user.attributes.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if attributes.contains_key("email") {
            return Ok(vec![self.send_code(&username)?]);
        }
        Ok(Vec::new())
    }

    async fn verify_user_attribute(
        &self,
        access_token: &AccessToken,
        attribute: &str,
        code: &ConfirmationCode,
    ) -> Result<(), ProviderError> {
        self.check_network()?;
        let username = self.user_of(access_token)?;
        self.take_code(&username, code)?;
        if let Some(user) = self.state().users.get_mut(&username) {
            user.attributes.insert(format!("{attribute}_verified"), "true".to_owned());
        }
        Ok(())
    }

    async fn delete_user_attributes(
        &self,
        access_token: &AccessToken,
        names: &[String],
    ) -> Result<(), ProviderError> {
        self.check_network()?;
        let username = self.user_of(access_token)?;
        if let Some(user) = self.state().users.get_mut(&username) {
            for name in names {
                user.attributes.remove(name);
            }
        }
        Ok(())
    }

    async fn delete_user(&self, access_token: &AccessToken) -> Result<(), ProviderError> {
        self.check_network()?;
        let username = self.user_of(access_token)?;
        self.state().users.remove(&username);
        self.revoke_user(&username);
        Ok(())
    }
}
