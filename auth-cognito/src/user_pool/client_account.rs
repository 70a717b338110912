//! [`CognitoAccount`]: the Cognito-only account operations (devices, TOTP, MFA settings)
//! through an `AuthClient`, so they follow its refresh and offline rules.

use auth_core::{AuthClient, AuthError, ConfirmationCode, ProviderError};

use super::CognitoUserPool;
use crate::error::CognitoError;
use crate::user_pool::{Device, DevicePage, MfaPreference, TotpSetup};

/// The signed-in user's devices, software token and MFA settings, each operation with
/// the `AuthClient`'s current access token: from the cache while valid, else refreshed
/// (one refresh however many callers ask), and offline with invalid tokens it waits, as
/// every `AuthClient` request does. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CognitoAccount {
    client: AuthClient,
    pool: CognitoUserPool,
}

fn provider_error(error: CognitoError) -> AuthError {
    AuthError::Provider(ProviderError::from(error))
}

impl CognitoAccount {
    /// Operations on `client`'s signed-in user, in `pool` (the user pool `client` signs
    /// in with).
    pub fn new(client: AuthClient, pool: CognitoUserPool) -> Self {
        Self { client, pool }
    }

    async fn access_token(&self) -> Result<auth_core::AccessToken, AuthError> {
        Ok(self.client.tokens().await?.access_token().clone())
    }

    /// ListDevices: one page of the user's tracked devices.
    pub async fn list_devices(
        &self,
        limit: Option<u32>,
        pagination_token: Option<&str>,
    ) -> Result<DevicePage, AuthError> {
        let token = self.access_token().await?;
        self.pool.list_devices(&token, limit, pagination_token).await.map_err(provider_error)
    }

    /// GetDevice: one device and its status.
    pub async fn device(&self, device_key: &str) -> Result<Device, AuthError> {
        let token = self.access_token().await?;
        self.pool.get_device(&token, device_key).await.map_err(provider_error)
    }

    /// ForgetDevice: the device is no longer tracked (and forgotten locally).
    pub async fn forget_device(&self, device_key: &str) -> Result<(), AuthError> {
        let token = self.access_token().await?;
        let username = self.client.username().ok_or(AuthError::NotSignedIn)?;
        self.pool.forget_device(&token, device_key, &username).await.map_err(provider_error)
    }

    /// UpdateDeviceStatus to remembered: later sign-ins on the device skip MFA (in pools
    /// that remember devices "on user prompt"; pools that always remember do it at sign-in).
    pub async fn remember_device(&self, device_key: &str) -> Result<(), AuthError> {
        let token = self.access_token().await?;
        self.pool.set_device_remembered(&token, device_key).await.map_err(provider_error)
    }

    /// Remembers the device the current session signed in on, and returns its key. A
    /// session without a tracked device (device tracking off in the pool or the client,
    /// or a sign-in that was not SRP) is [`ProviderError::InvalidInput`].
    pub async fn remember_current_device(&self) -> Result<String, AuthError> {
        let token = self.access_token().await?;
        let device_key = self.current_device_key()?;
        self.pool.set_device_remembered(&token, &device_key).await.map_err(provider_error)?;
        Ok(device_key)
    }

    /// The key of the device the current session signed in on, if the pool tracks it.
    pub fn current_device_key(&self) -> Result<String, AuthError> {
        if self.client.username().is_none() {
            return Err(AuthError::NotSignedIn);
        }
        self.client.device_key().map(|key| key.secret().to_owned()).ok_or_else(|| {
            AuthError::Provider(ProviderError::InvalidInput(
                "the session has no tracked device".into(),
            ))
        })
    }

    /// UpdateDeviceStatus to not remembered: the device stays tracked but no longer skips
    /// MFA.
    pub async fn set_device_not_remembered(&self, device_key: &str) -> Result<(), AuthError> {
        let token = self.access_token().await?;
        self.pool.set_device_not_remembered(&token, device_key).await.map_err(provider_error)
    }

    /// SetUserMFAPreference.
    pub async fn set_mfa_preference(&self, preference: MfaPreference) -> Result<(), AuthError> {
        let token = self.access_token().await?;
        self.pool.set_mfa_preference(&token, preference).await.map_err(provider_error)
    }

    /// AssociateSoftwareToken: a TOTP secret (and `otpauth://` URI) for an authenticator
    /// app; confirm it with [`verify_software_token`](Self::verify_software_token).
    pub async fn set_up_totp(&self) -> Result<TotpSetup, AuthError> {
        let token = self.access_token().await?;
        self.pool.associate_software_token(&token).await.map_err(provider_error)
    }

    /// VerifySoftwareToken: confirms the TOTP set up with a code from the app.
    pub async fn verify_software_token(
        &self,
        code: impl Into<ConfirmationCode>,
        friendly_device_name: Option<&str>,
    ) -> Result<(), AuthError> {
        let token = self.access_token().await?;
        let code = code.into();
        self.pool
            .verify_software_token(&token, &code, friendly_device_name)
            .await
            .map_err(provider_error)
    }
}
