//! The provider traits: who signs users in ([`IdentityProvider`]), what else they can do
//! with their account ([`AccountProvider`]), and who turns sign-ins into AWS credentials
//! ([`CredentialsProvider`]).
//!
//! Account operations live in a second trait rather than as defaulted methods on
//! [`IdentityProvider`]: a provider either offers sign-up, password reset and attribute
//! management or it does not, and the type system should say which, instead of every
//! OpenID provider pretending with "unsupported" at run time.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::secret::{AccessToken, ConfirmationCode, Password};
use crate::types::{
    AwsCredentials, ChallengeContext, ChallengeResponse, CodeDelivery, IdentityId, Logins,
    SignInOutcome, SignInRequest, SignOutOptions, SignUpOutcome, SignUpRequest, UserPoolSession,
    UserPoolTokens,
};

/// Signs users in and keeps their tokens fresh: a Cognito user pool, or any OpenID-style
/// provider.
#[async_trait]
pub trait IdentityProvider: fmt::Debug + Send + Sync + 'static {
    /// The key under which this provider's ID tokens federate into an identity pool, e.g.
    /// `cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC`.
    fn logins_key(&self) -> String;

    /// The same provider as an [`AccountProvider`], if it offers account operations (a
    /// Cognito user pool does). `AuthClient::account` uses it when the builder was given
    /// no separate account provider.
    fn account_provider(self: Arc<Self>) -> Option<DynAccountProvider> {
        None
    }

    /// Starts a sign-in.
    async fn sign_in(&self, request: &SignInRequest) -> Result<SignInOutcome, ProviderError>;

    /// Answers the challenge of a sign-in in progress.
    async fn respond_to_challenge(
        &self,
        context: &ChallengeContext,
        response: &ChallengeResponse,
    ) -> Result<SignInOutcome, ProviderError>;

    /// Gets new tokens with the session's refresh token. A refresh token the service no
    /// longer accepts is [`ProviderError::Rejected`]; a network failure must be
    /// [`ProviderError::Network`], never a rejection. Providers that do not rotate refresh
    /// tokens may return tokens without one; the client keeps the old one.
    async fn refresh(&self, session: &UserPoolSession) -> Result<UserPoolTokens, ProviderError>;

    /// The remote part of a sign-out: a global sign-out and/or revoking the session's
    /// refresh token, as `options` ask. A local sign-out needs no call and does nothing.
    async fn sign_out(
        &self,
        session: &UserPoolSession,
        options: &SignOutOptions,
    ) -> Result<(), ProviderError>;
}

/// A shared identity provider.
pub type DynIdentityProvider = Arc<dyn IdentityProvider>;

/// Account management for providers that offer it (Cognito user pools do).
#[async_trait]
pub trait AccountProvider: fmt::Debug + Send + Sync + 'static {
    /// Creates an account.
    async fn sign_up(&self, request: &SignUpRequest) -> Result<SignUpOutcome, ProviderError>;

    /// Confirms an account with the code sent at sign-up.
    async fn confirm_sign_up(
        &self,
        username: &str,
        code: &ConfirmationCode,
    ) -> Result<(), ProviderError>;

    /// Sends the sign-up confirmation code again.
    async fn resend_sign_up_code(&self, username: &str) -> Result<CodeDelivery, ProviderError>;

    /// Starts a password reset: sends a code.
    async fn forgot_password(&self, username: &str) -> Result<CodeDelivery, ProviderError>;

    /// Finishes a password reset with the code and the new password.
    async fn confirm_forgot_password(
        &self,
        username: &str,
        code: &ConfirmationCode,
        new_password: &Password,
    ) -> Result<(), ProviderError>;

    /// Changes the signed-in user's password.
    async fn change_password(
        &self,
        access_token: &AccessToken,
        previous: &Password,
        proposed: &Password,
    ) -> Result<(), ProviderError>;

    /// Reads the signed-in user's attributes.
    async fn user_attributes(
        &self,
        access_token: &AccessToken,
    ) -> Result<BTreeMap<String, String>, ProviderError>;

    /// Updates attributes; returns where verification codes went for attributes that need
    /// verifying (email, phone).
    async fn update_user_attributes(
        &self,
        access_token: &AccessToken,
        attributes: &BTreeMap<String, String>,
    ) -> Result<Vec<CodeDelivery>, ProviderError>;

    /// Sends a code to verify `attribute` (e.g. `email` after it changed, or one whose
    /// first code was lost). Providers that cannot do it answer
    /// [`ProviderError::Unsupported`] (the default).
    async fn send_attribute_verification_code(
        &self,
        access_token: &AccessToken,
        attribute: &str,
    ) -> Result<CodeDelivery, ProviderError> {
        let _ = (access_token, attribute);
        Err(ProviderError::Unsupported("attribute verification codes".into()))
    }

    /// Verifies an attribute with the code that was sent.
    async fn verify_user_attribute(
        &self,
        access_token: &AccessToken,
        attribute: &str,
        code: &ConfirmationCode,
    ) -> Result<(), ProviderError>;

    /// Deletes attributes.
    async fn delete_user_attributes(
        &self,
        access_token: &AccessToken,
        names: &[String],
    ) -> Result<(), ProviderError>;

    /// Deletes the signed-in user's account.
    async fn delete_user(&self, access_token: &AccessToken) -> Result<(), ProviderError>;
}

/// A shared account provider.
pub type DynAccountProvider = Arc<dyn AccountProvider>;

/// Turns sign-ins (or nothing, for guests) into temporary AWS credentials: a Cognito
/// identity pool.
#[async_trait]
pub trait CredentialsProvider: fmt::Debug + Send + Sync + 'static {
    /// The identity for `logins` (empty for a guest). `current` is the identity the client
    /// already has, if any, so a provider can merge a guest identity into the signed-in one.
    async fn identity_id(
        &self,
        logins: &Logins,
        current: Option<&IdentityId>,
    ) -> Result<IdentityId, ProviderError>;

    /// Credentials for `identity_id`, proving it with `logins` (empty for a guest).
    async fn credentials(
        &self,
        identity_id: &IdentityId,
        logins: &Logins,
    ) -> Result<AwsCredentials, ProviderError>;
}

/// A shared credentials provider.
pub type DynCredentialsProvider = Arc<dyn CredentialsProvider>;
