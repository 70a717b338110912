//! Account operations through `AuthClient`, so an app does not juggle access tokens.
//!
//! The conventions are those of the rest of `AuthClient`: requests by value, names as
//! `&str`, secrets (passwords, codes) as `impl Into<...>` so a `&str` or a secret type
//! both work, collections as anything iterable.

use std::collections::BTreeMap;

use super::AuthClient;
use crate::error::AuthError;
use crate::provider::DynAccountProvider;
use crate::secret::{ConfirmationCode, Password};
use crate::types::{CodeDelivery, SignOutOptions, SignUpOutcome, SignUpRequest};

/// Sign-up, password reset and attribute management, from [`AuthClient::account`].
/// Operations on the signed-in user use its access token, refreshed first if needed (so
/// they wait, like `tokens()`, while the session cannot be refreshed).
#[derive(Clone, Debug)]
pub struct Account {
    client: AuthClient,
    provider: DynAccountProvider,
}

impl Account {
    pub(super) fn new(client: AuthClient, provider: DynAccountProvider) -> Self {
        Self { client, provider }
    }

    /// Creates an account.
    pub async fn sign_up(&self, request: SignUpRequest) -> Result<SignUpOutcome, AuthError> {
        Ok(self.provider.sign_up(&request).await?)
    }

    /// Confirms an account with the code sent at sign-up.
    pub async fn confirm_sign_up(
        &self,
        username: &str,
        code: impl Into<ConfirmationCode>,
    ) -> Result<(), AuthError> {
        Ok(self.provider.confirm_sign_up(username, &code.into()).await?)
    }

    /// Sends the sign-up confirmation code again.
    pub async fn resend_sign_up_code(&self, username: &str) -> Result<CodeDelivery, AuthError> {
        Ok(self.provider.resend_sign_up_code(username).await?)
    }

    /// Starts a password reset: sends a code.
    pub async fn forgot_password(&self, username: &str) -> Result<CodeDelivery, AuthError> {
        Ok(self.provider.forgot_password(username).await?)
    }

    /// Finishes a password reset.
    pub async fn confirm_forgot_password(
        &self,
        username: &str,
        code: impl Into<ConfirmationCode>,
        new_password: impl Into<Password>,
    ) -> Result<(), AuthError> {
        let (code, new_password) = (code.into(), new_password.into());
        Ok(self.provider.confirm_forgot_password(username, &code, &new_password).await?)
    }

    /// Changes the signed-in user's password.
    pub async fn change_password(
        &self,
        previous: impl Into<Password>,
        proposed: impl Into<Password>,
    ) -> Result<(), AuthError> {
        let (previous, proposed) = (previous.into(), proposed.into());
        let tokens = self.client.tokens().await?;
        Ok(self.provider.change_password(tokens.access_token(), &previous, &proposed).await?)
    }

    /// The signed-in user's attributes, fresh from the provider.
    pub async fn user_attributes(&self) -> Result<BTreeMap<String, String>, AuthError> {
        let tokens = self.client.tokens().await?;
        Ok(self.provider.user_attributes(tokens.access_token()).await?)
    }

    /// Updates attributes, e.g. `[("email", "a@example.com")]`; returns where
    /// verification codes went. The ID token carries attributes: call
    /// [`AuthClient::refresh_tokens`] to get one with the new values.
    pub async fn update_user_attributes<K, V>(
        &self,
        attributes: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Vec<CodeDelivery>, AuthError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let attributes: BTreeMap<String, String> =
            attributes.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let tokens = self.client.tokens().await?;
        Ok(self.provider.update_user_attributes(tokens.access_token(), &attributes).await?)
    }

    /// Sends (again) a code to verify `attribute`, e.g. `email`, with the current
    /// (refreshed if needed) access token.
    pub async fn send_attribute_verification_code(
        &self,
        attribute: &str,
    ) -> Result<CodeDelivery, AuthError> {
        let tokens = self.client.tokens().await?;
        Ok(self.provider.send_attribute_verification_code(tokens.access_token(), attribute).await?)
    }

    /// Verifies an attribute with the code that was sent.
    pub async fn verify_user_attribute(
        &self,
        attribute: &str,
        code: impl Into<ConfirmationCode>,
    ) -> Result<(), AuthError> {
        let code = code.into();
        let tokens = self.client.tokens().await?;
        Ok(self.provider.verify_user_attribute(tokens.access_token(), attribute, &code).await?)
    }

    /// Deletes attributes, e.g. `["custom:team"]`.
    pub async fn delete_user_attributes(
        &self,
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<(), AuthError> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        let tokens = self.client.tokens().await?;
        Ok(self.provider.delete_user_attributes(tokens.access_token(), &names).await?)
    }

    /// Deletes the signed-in user's account, then signs out locally.
    pub async fn delete_user(&self) -> Result<(), AuthError> {
        let tokens = self.client.tokens().await?;
        self.provider.delete_user(tokens.access_token()).await?;
        self.client.sign_out(SignOutOptions::local()).await
    }
}
