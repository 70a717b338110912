//! The [`IdentityProvider`](crate::IdentityProvider) contract.

use crate::error::ProviderError;
use crate::provider::DynIdentityProvider;
use crate::secret::{Password, RefreshToken};
use crate::testing::BoxFuture;
use crate::types::{
    SignInFlow, SignInOutcome, SignInRequest, SignOutOptions, UserPoolSession, UserPoolTokens,
};

/// What the suite needs to exercise a provider.
#[allow(
    clippy::exhaustive_structs,
    reason = "built with a struct literal by every implementation's tests"
)]
pub struct ProviderFixture {
    /// The provider under test.
    pub provider: DynIdentityProvider,
    /// The same provider configured with an endpoint nothing listens on (e.g. a closed
    /// loopback port), to check that network failures are reported as such.
    pub unreachable: DynIdentityProvider,
    /// A confirmed user with no MFA.
    pub username: String,
    /// That user's password.
    pub password: Password,
    /// The sign-in flows the provider supports with a password.
    pub flows: Vec<SignInFlow>,
    /// Revokes every refresh token of the user on the service side (like a global
    /// sign-out from another device).
    pub revoke_user: Box<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>,
}

/// Runs every check of the suite.
pub async fn run_all(fixture: &ProviderFixture) {
    logins_key_is_set(fixture);
    signs_in_with_each_flow(fixture).await;
    wrong_password_is_rejected(fixture).await;
    unknown_user_is_rejected(fixture).await;
    refresh_gives_new_tokens(fixture).await;
    unknown_refresh_token_is_rejected(fixture).await;
    revoked_refresh_token_is_rejected(fixture).await;
    global_sign_out_revokes(fixture).await;
    token_revocation_revokes(fixture).await;
    network_failures_are_not_rejections(fixture).await;
}

async fn sign_in(fixture: &ProviderFixture, flow: SignInFlow) -> UserPoolSession {
    let request =
        SignInRequest::password(fixture.username.clone(), fixture.password.clone()).with_flow(flow);
    match fixture.provider.sign_in(&request).await {
        Ok(SignInOutcome::SignedIn(session)) => session,
        Ok(SignInOutcome::NextStep(step)) => {
            panic!("the fixture user must sign in without a challenge, got {}", step.challenge_name)
        }
        Err(error) => panic!("sign-in with {flow:?} failed: {error}"),
    }
}

fn assert_rejected(result: Result<impl std::fmt::Debug, ProviderError>, what: &str) {
    match result {
        Err(error) => assert!(error.is_rejected(), "{what} must be a rejection, got {error:?}"),
        Ok(value) => panic!("{what} must fail, got {value:?}"),
    }
}

/// The provider names its identity-pool logins key.
pub fn logins_key_is_set(fixture: &ProviderFixture) {
    assert!(!fixture.provider.logins_key().is_empty(), "logins_key must not be empty");
}

/// Each supported flow signs the user in with usable tokens.
pub async fn signs_in_with_each_flow(fixture: &ProviderFixture) {
    assert!(!fixture.flows.is_empty(), "the fixture must list at least one flow");
    for &flow in &fixture.flows {
        let session = sign_in(fixture, flow).await;
        assert!(!session.username.is_empty(), "{flow:?}: the session must name the user");
        assert!(
            session.tokens.refresh_token().is_some(),
            "{flow:?}: a sign-in must return a refresh token"
        );
        let claims = session.tokens.id_claims().expect("the ID token must be a JWT");
        let issued = claims.time_claim("iat").expect("the ID token must have iat");
        assert!(
            session.tokens.expires_at() > issued,
            "{flow:?}: tokens must expire after they were issued"
        );
    }
}

/// A wrong password is a rejection, not a network error.
pub async fn wrong_password_is_rejected(fixture: &ProviderFixture) {
    for &flow in &fixture.flows {
        let request =
            SignInRequest::password(fixture.username.clone(), "Wrong-Passw0rd!").with_flow(flow);
        assert_rejected(fixture.provider.sign_in(&request).await, "a wrong password");
        // Cognito locks a user out after five failed password proofs in a row; a successful
        // sign-in starts the count over, so the suite never trips the lockout.
        sign_in(fixture, flow).await;
    }
}

/// An unknown user is a rejection.
pub async fn unknown_user_is_rejected(fixture: &ProviderFixture) {
    let request = SignInRequest::password("no-such-user-3f9a", fixture.password.clone());
    assert_rejected(fixture.provider.sign_in(&request).await, "an unknown user");
}

/// A refresh returns new tokens for the same user; without rotation the client keeps the
/// old refresh token.
pub async fn refresh_gives_new_tokens(fixture: &ProviderFixture) {
    let session = sign_in(fixture, fixture.flows[0]).await;
    let refreshed: UserPoolTokens =
        fixture.provider.refresh(&session).await.expect("refresh with a fresh session");
    assert_ne!(
        refreshed.access_token(),
        session.tokens.access_token(),
        "a refresh must issue a new access token"
    );
    let subject = |tokens: &UserPoolTokens| {
        tokens.id_claims().ok().and_then(|c| c.string("sub").map(str::to_owned))
    };
    assert_eq!(subject(&refreshed), subject(&session.tokens), "a refresh must keep the user");
}

/// A refresh token the service never issued is a rejection.
pub async fn unknown_refresh_token_is_rejected(fixture: &ProviderFixture) {
    let mut session = sign_in(fixture, fixture.flows[0]).await;
    session.tokens = UserPoolTokens::new(
        session.tokens.id_token().clone(),
        session.tokens.access_token().clone(),
        Some(RefreshToken::new("not-a-refresh-token-issued-by-this-service")),
    )
    .expect("tokens");
    assert_rejected(fixture.provider.refresh(&session).await, "an unknown refresh token");
}

/// After the service revokes the user's tokens, a refresh is a rejection.
pub async fn revoked_refresh_token_is_rejected(fixture: &ProviderFixture) {
    let session = sign_in(fixture, fixture.flows[0]).await;
    (fixture.revoke_user)().await;
    assert_rejected(
        fixture.provider.refresh(&session).await,
        "a refresh after server-side revocation",
    );
}

/// A global sign-out revokes the session's refresh token.
pub async fn global_sign_out_revokes(fixture: &ProviderFixture) {
    let session = sign_in(fixture, fixture.flows[0]).await;
    fixture.provider.sign_out(&session, &SignOutOptions::global()).await.expect("global sign-out");
    assert_rejected(fixture.provider.refresh(&session).await, "a refresh after a global sign-out");
}

/// Revoking the session's tokens makes its refresh token useless.
pub async fn token_revocation_revokes(fixture: &ProviderFixture) {
    let session = sign_in(fixture, fixture.flows[0]).await;
    fixture
        .provider
        .sign_out(&session, &SignOutOptions::invalidate_tokens())
        .await
        .expect("token revocation");
    assert_rejected(fixture.provider.refresh(&session).await, "a refresh after revoking the token");
}

/// An unreachable service gives network errors, never rejections: the client's offline
/// rules depend on it.
pub async fn network_failures_are_not_rejections(fixture: &ProviderFixture) {
    let session = sign_in(fixture, fixture.flows[0]).await;
    let request = SignInRequest::password(fixture.username.clone(), fixture.password.clone());
    match fixture.unreachable.sign_in(&request).await {
        Err(error) => assert!(
            error.is_network(),
            "sign-in to an unreachable service must be a network error: {error:?}"
        ),
        Ok(_) => panic!("sign-in to an unreachable service must fail"),
    }
    match fixture.unreachable.refresh(&session).await {
        Err(error) => assert!(
            error.is_network(),
            "refresh at an unreachable service must be a network error: {error:?}"
        ),
        Ok(_) => panic!("refresh at an unreachable service must fail"),
    }
}
