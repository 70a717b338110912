use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::json;

use super::{epoch_seconds, unsigned_jwt};
use crate::env::Clock;
use crate::error::ProviderError;
use crate::provider::IdentityProvider;
use crate::secret::{AccessToken, ChallengeSession, IdToken, RefreshToken};
use crate::types::{
    ChallengeContext, ChallengeKind, ChallengeResponse, SignInNextStep, SignInOutcome,
    SignInRequest, SignOutOptions, UserPoolSession, UserPoolTokens,
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

#[derive(Debug)]
struct User {
    password: String,
    mfa_code: Option<String>,
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
                sign_out: AtomicUsize::new(0),
            }),
        }
    }

    /// Adds (or replaces) a user.
    pub fn add_user(&self, username: &str, password: &str) -> &Self {
        self.state()
            .users
            .insert(username.to_owned(), User { password: password.to_owned(), mfa_code: None });
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

    /// The call counters.
    pub fn calls(&self) -> FakeIdentityCalls {
        FakeIdentityCalls {
            sign_in: self.inner.sign_in.load(Ordering::SeqCst),
            respond: self.inner.respond.load(Ordering::SeqCst),
            refresh: self.inner.refresh.load(Ordering::SeqCst),
            sign_out: self.inner.sign_out.load(Ordering::SeqCst),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_network(&self) -> Result<(), ProviderError> {
        let mut state = self.state();
        if let Some(error) = state.scripted.pop_front() {
            return Err(error);
        }
        if state.network_down {
            return Err(ProviderError::network("fake provider: network unavailable"));
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
    ProviderError::rejected("NotAuthorizedException", message)
}

#[async_trait]
impl IdentityProvider for FakeIdentityProvider {
    fn logins_key(&self) -> String {
        "fake-idp.example/pool".to_owned()
    }

    async fn sign_in(&self, request: &SignInRequest) -> Result<SignInOutcome, ProviderError> {
        self.inner.sign_in.fetch_add(1, Ordering::SeqCst);
        self.check_network()?;
        let mut state = self.state();
        let Some(user) = state.users.get(&request.username) else {
            return Err(ProviderError::rejected("UserNotFoundException", "User does not exist."));
        };
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
                "CodeMismatchException",
                "Invalid code received for user",
            ));
        }
        state.challenges.remove(&session);
        let tokens = self.issue(&mut state, &username, true);
        Ok(SignInOutcome::SignedIn(UserPoolSession::new(username, tokens)))
    }

    async fn refresh(&self, session: &UserPoolSession) -> Result<UserPoolTokens, ProviderError> {
        self.inner.refresh.fetch_add(1, Ordering::SeqCst);
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
