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
use crate::types::{
    CodeDelivery, SignInRequest, SignInResult, SignOutOptions, SignUpOutcome, SignUpRequest,
};

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

    /// Creates an account. With [`SignUpRequest::auto_sign_in`] the username and password
    /// are kept in memory (the password zeroized once used or replaced) until
    /// [`confirm_sign_up`](Self::confirm_sign_up) or [`auto_sign_in`](Self::auto_sign_in)
    /// signs the user in with them.
    pub async fn sign_up(&self, request: SignUpRequest) -> Result<SignUpOutcome, AuthError> {
        let outcome = self.provider.sign_up(&request).await?;
        if request.auto_sign_in {
            let pending = (request.username.clone(), request.password.clone());
            *self.client.auto_sign_in_slot() = Some(pending);
        }
        Ok(outcome)
    }

    /// Confirms an account with the code sent at sign-up. When that sign-up asked for
    /// [`auto_sign_in`](SignUpRequest::auto_sign_in), it then signs the user in (listeners
    /// hear `SignedIn`) and returns the sign-in's result (`Done`, or a challenge such as
    /// MFA to answer with `AuthClient::confirm_sign_in`); otherwise `None`.
    ///
    /// Cognito can also sign a confirmed user in with the `Session` of ConfirmSignUp
    /// (`USER_AUTH`); this signs in with the password instead, so it works with every
    /// account provider and sign-in flow.
    pub async fn confirm_sign_up(
        &self,
        username: &str,
        code: impl Into<ConfirmationCode>,
    ) -> Result<Option<SignInResult>, AuthError> {
        self.provider.confirm_sign_up(username, &code.into()).await?;
        let pending = self.client.auto_sign_in_slot().as_ref().is_some_and(|(u, _)| u == username);
        if !pending {
            return Ok(None);
        }
        self.auto_sign_in().await.map(Some)
    }

    /// Signs in the user of the last sign-up that asked for
    /// [`auto_sign_in`](SignUpRequest::auto_sign_in): for accounts confirmed at sign-up
    /// (`SignUpOutcome::confirmed`), or to retry after the automatic sign-in of
    /// [`confirm_sign_up`](Self::confirm_sign_up) failed for a transient reason (the
    /// credentials are kept for that; after any other outcome they are gone).
    /// [`AuthError::NoPendingSignIn`] when there is nothing to sign in with.
    pub async fn auto_sign_in(&self) -> Result<SignInResult, AuthError> {
        let (username, password) =
            self.client.auto_sign_in_slot().take().ok_or(AuthError::NoPendingSignIn)?;
        let request = SignInRequest::password(username.clone(), password.clone());
        let result = self.client.sign_in(request).await;
        if let Err(error) = &result {
            if error.is_transient() {
                let mut slot = self.client.auto_sign_in_slot();
                if slot.is_none() {
                    *slot = Some((username, password));
                }
            }
        }
        result
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
