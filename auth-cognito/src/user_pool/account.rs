//! Account operations: auth-core's [`AccountProvider`] (sign-up, confirmation, passwords,
//! attributes, deletion) and Cognito's extras (user profile, devices, MFA settings).

use std::collections::BTreeMap;

use async_trait::async_trait;
use auth_core::{
    AccessToken, AccountProvider, CodeDelivery, ConfirmationCode, MfaType, Password, ProviderError,
    SecretString, SignUpOutcome, SignUpRequest,
};

use super::CognitoUserPool;
use super::challenge::otpauth_uri;
use super::devices::{Device, DevicePage};
use super::sign_in::check_verified;
use super::wire::{
    AccessTokenInput, AssociateSoftwareTokenInput, AssociateSoftwareTokenOutput, AttributeIn,
    AttributeNameInput, ChangePasswordInput, CodeDeliveryOutput, DeleteUserAttributesInput,
    DeviceKeyInput, Empty, GetDeviceOutput, GetUserOutput, ListDevicesInput, ListDevicesOutput,
    MfaSettings, SetUserMfaPreferenceInput, SignUpInput, SignUpOutput, UpdateUserAttributesInput,
    UpdateUserAttributesOutput, UserCodeInput, VerifySoftwareTokenInput, VerifySoftwareTokenOutput,
    VerifyUserAttributeInput,
};
use crate::error::CognitoError;
use crate::http::Idempotency;

/// The signed-in user as GetUser reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserProfile {
    /// The internal username.
    pub username: String,
    /// The user's attributes (`sub`, `email`, `email_verified`, `custom:*`, ...).
    pub attributes: BTreeMap<String, String>,
    /// The preferred MFA method, if any.
    pub preferred_mfa: Option<MfaType>,
    /// The MFA methods the user has enabled (methods this client does not know are left
    /// out).
    pub mfa_methods: Vec<MfaType>,
}

/// An authenticator-app secret to show the user, as AssociateSoftwareToken returns it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TotpSetup {
    /// The base32 secret, for typing into an authenticator app.
    pub secret: SecretString,
    /// The `otpauth://totp/...` URI, for a QR code.
    pub otpauth_uri: SecretString,
}

/// Changes to the user's MFA settings (SetUserMFAPreference). Methods left unset keep
/// their current settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MfaPreference {
    sms: Option<(bool, bool)>,
    totp: Option<(bool, bool)>,
    email: Option<(bool, bool)>,
}

impl MfaPreference {
    /// No changes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Enables or disables SMS codes, and makes them the preferred method or not.
    pub fn sms(mut self, enabled: bool, preferred: bool) -> Self {
        self.sms = Some((enabled, preferred));
        self
    }

    /// Enables or disables authenticator-app codes, and makes them preferred or not.
    pub fn totp(mut self, enabled: bool, preferred: bool) -> Self {
        self.totp = Some((enabled, preferred));
        self
    }

    /// Enables or disables email codes, and makes them preferred or not.
    pub fn email(mut self, enabled: bool, preferred: bool) -> Self {
        self.email = Some((enabled, preferred));
        self
    }
}

fn settings(setting: Option<(bool, bool)>) -> Option<MfaSettings> {
    setting.map(|(enabled, preferred)| MfaSettings { enabled, preferred })
}

fn attributes_in(attributes: &BTreeMap<String, String>) -> Vec<AttributeIn<'_>> {
    attributes.iter().map(|(name, value)| AttributeIn { name, value }).collect()
}

impl CognitoUserPool {
    /// Calls one of the operations that identify a user by name (and SECRET_HASH).
    async fn user_code_call<O: serde::de::DeserializeOwned + Send>(
        &self,
        operation: &'static str,
        username: &str,
        confirmation_code: Option<&str>,
        password: Option<&str>,
    ) -> Result<O, CognitoError> {
        let hash = self.secret_hash(username);
        let input = UserCodeInput {
            client_id: &self.inner.client_id,
            secret_hash: hash.as_deref(),
            username,
            confirmation_code,
            password,
        };
        // Each of them sends a code, consumes one or sets a password: never repeated.
        self.inner.api.call(operation, &input, Idempotency::SideEffects).await
    }

    /// SignUp.
    pub async fn sign_up(&self, request: &SignUpRequest) -> Result<SignUpOutcome, CognitoError> {
        let hash = self.secret_hash(&request.username);
        let input = SignUpInput {
            client_id: &self.inner.client_id,
            secret_hash: hash.as_deref(),
            username: &request.username,
            password: request.password.secret(),
            user_attributes: attributes_in(&request.attributes),
        };
        let output: SignUpOutput =
            self.inner.api.call("SignUp", &input, Idempotency::SideEffects).await?;
        Ok(SignUpOutcome::new(
            output.user_confirmed,
            output.user_sub,
            output.code_delivery_details.map(CodeDelivery::from),
        ))
    }

    /// ConfirmSignUp.
    pub async fn confirm_sign_up(
        &self,
        username: &str,
        code: &ConfirmationCode,
    ) -> Result<(), CognitoError> {
        let _: Empty =
            self.user_code_call("ConfirmSignUp", username, Some(code.secret()), None).await?;
        Ok(())
    }

    /// ResendConfirmationCode.
    pub async fn resend_sign_up_code(&self, username: &str) -> Result<CodeDelivery, CognitoError> {
        let output: CodeDeliveryOutput =
            self.user_code_call("ResendConfirmationCode", username, None, None).await?;
        Ok(output.code_delivery_details.map(CodeDelivery::from).unwrap_or_default())
    }

    /// ForgotPassword.
    pub async fn forgot_password(&self, username: &str) -> Result<CodeDelivery, CognitoError> {
        let output: CodeDeliveryOutput =
            self.user_code_call("ForgotPassword", username, None, None).await?;
        Ok(output.code_delivery_details.map(CodeDelivery::from).unwrap_or_default())
    }

    /// ConfirmForgotPassword.
    pub async fn confirm_forgot_password(
        &self,
        username: &str,
        code: &ConfirmationCode,
        new_password: &Password,
    ) -> Result<(), CognitoError> {
        let _: Empty = self
            .user_code_call(
                "ConfirmForgotPassword",
                username,
                Some(code.secret()),
                Some(new_password.secret()),
            )
            .await?;
        Ok(())
    }

    /// ChangePassword.
    pub async fn change_password(
        &self,
        access_token: &AccessToken,
        previous: &Password,
        proposed: &Password,
    ) -> Result<(), CognitoError> {
        let input = ChangePasswordInput {
            previous_password: previous.secret(),
            proposed_password: proposed.secret(),
            access_token: access_token.secret(),
        };
        let _: Empty =
            self.inner.api.call("ChangePassword", &input, Idempotency::SideEffects).await?;
        Ok(())
    }

    /// GetUser: the user's name, attributes and MFA settings.
    pub async fn get_user(&self, access_token: &AccessToken) -> Result<UserProfile, CognitoError> {
        let input = AccessTokenInput { access_token: access_token.secret() };
        let output: GetUserOutput =
            self.inner.api.call("GetUser", &input, Idempotency::Idempotent).await?;
        Ok(UserProfile {
            username: output.username,
            attributes: output
                .user_attributes
                .into_iter()
                .map(|a| (a.name, a.value.unwrap_or_default()))
                .collect(),
            preferred_mfa: output.preferred_mfa_setting.as_deref().and_then(MfaType::from_name),
            mfa_methods: output
                .user_mfa_setting_list
                .unwrap_or_default()
                .iter()
                .filter_map(|name| MfaType::from_name(name))
                .collect(),
        })
    }

    /// UpdateUserAttributes; returns where verification codes went.
    pub async fn update_user_attributes(
        &self,
        access_token: &AccessToken,
        attributes: &BTreeMap<String, String>,
    ) -> Result<Vec<CodeDelivery>, CognitoError> {
        let input = UpdateUserAttributesInput {
            user_attributes: attributes_in(attributes),
            access_token: access_token.secret(),
        };
        // A changed email or phone number gets a verification code: not repeated.
        let output: UpdateUserAttributesOutput =
            self.inner.api.call("UpdateUserAttributes", &input, Idempotency::SideEffects).await?;
        Ok(output.code_delivery_details_list.into_iter().map(CodeDelivery::from).collect())
    }

    /// GetUserAttributeVerificationCode: sends a code to verify `attribute` (e.g. `email`).
    pub async fn get_user_attribute_verification_code(
        &self,
        access_token: &AccessToken,
        attribute: &str,
    ) -> Result<CodeDelivery, CognitoError> {
        let input =
            AttributeNameInput { access_token: access_token.secret(), attribute_name: attribute };
        let output: CodeDeliveryOutput = self
            .inner
            .api
            .call("GetUserAttributeVerificationCode", &input, Idempotency::SideEffects)
            .await?;
        Ok(output.code_delivery_details.map(CodeDelivery::from).unwrap_or_default())
    }

    /// VerifyUserAttribute.
    pub async fn verify_user_attribute(
        &self,
        access_token: &AccessToken,
        attribute: &str,
        code: &ConfirmationCode,
    ) -> Result<(), CognitoError> {
        let input = VerifyUserAttributeInput {
            access_token: access_token.secret(),
            attribute_name: attribute,
            code: code.secret(),
        };
        let _: Empty =
            self.inner.api.call("VerifyUserAttribute", &input, Idempotency::SideEffects).await?;
        Ok(())
    }

    /// DeleteUserAttributes.
    pub async fn delete_user_attributes(
        &self,
        access_token: &AccessToken,
        names: &[String],
    ) -> Result<(), CognitoError> {
        let input = DeleteUserAttributesInput {
            user_attribute_names: names,
            access_token: access_token.secret(),
        };
        let _: Empty =
            self.inner.api.call("DeleteUserAttributes", &input, Idempotency::Idempotent).await?;
        Ok(())
    }

    /// DeleteUser. The app should then sign out locally.
    pub async fn delete_user(&self, access_token: &AccessToken) -> Result<(), CognitoError> {
        let input = AccessTokenInput { access_token: access_token.secret() };
        // A repeat after a lost answer would fail with NotAuthorized (the user is gone).
        let _: Empty = self.inner.api.call("DeleteUser", &input, Idempotency::SideEffects).await?;
        Ok(())
    }

    /// ListDevices: one page of the user's devices (`limit` at most 60).
    pub async fn list_devices(
        &self,
        access_token: &AccessToken,
        limit: Option<u32>,
        pagination_token: Option<&str>,
    ) -> Result<DevicePage, CognitoError> {
        let input = ListDevicesInput {
            access_token: access_token.secret(),
            limit: limit.map(|l| l.min(60)),
            pagination_token,
        };
        let output: ListDevicesOutput =
            self.inner.api.call("ListDevices", &input, Idempotency::Idempotent).await?;
        Ok(DevicePage {
            devices: output.devices.into_iter().map(Device::from).collect(),
            next: output.pagination_token.filter(|t| !t.is_empty()),
        })
    }

    /// GetDevice.
    pub async fn get_device(
        &self,
        access_token: &AccessToken,
        device_key: &str,
    ) -> Result<Device, CognitoError> {
        let input = DeviceKeyInput { access_token: access_token.secret(), device_key };
        let output: GetDeviceOutput =
            self.inner.api.call("GetDevice", &input, Idempotency::Idempotent).await?;
        output
            .device
            .map(Device::from)
            .ok_or_else(|| CognitoError::protocol("GetDevice answered without Device"))
    }

    /// ForgetDevice. If it is the device this client remembers for `username`, it is
    /// forgotten locally too.
    pub async fn forget_device(
        &self,
        access_token: &AccessToken,
        device_key: &str,
        username: &str,
    ) -> Result<(), CognitoError> {
        let input = DeviceKeyInput { access_token: access_token.secret(), device_key };
        let _: Empty =
            self.inner.api.call("ForgetDevice", &input, Idempotency::SideEffects).await?;
        if let Ok(Some(device)) = self.inner.devices.get(username).await {
            if device.device_key == device_key {
                self.inner.devices.remove(username).await.map_err(CognitoError::DeviceStore)?;
            }
        }
        Ok(())
    }

    /// Marks the session's device remembered (for pools that remember devices "on user
    /// prompt"), so later sign-ins on it skip MFA.
    pub async fn remember_device(
        &self,
        session: &auth_core::UserPoolSession,
    ) -> Result<(), CognitoError> {
        let device_key = session
            .device_key()
            .ok_or_else(|| CognitoError::invalid("the session has no tracked device"))?;
        self.update_device_status(session.tokens.access_token(), device_key.secret(), true).await
    }

    /// Marks a device remembered (UpdateDeviceStatus `remembered`), so later sign-ins on it
    /// skip MFA: the counterpart of
    /// [`set_device_not_remembered`](Self::set_device_not_remembered).
    pub async fn set_device_remembered(
        &self,
        access_token: &AccessToken,
        device_key: &str,
    ) -> Result<(), CognitoError> {
        self.update_device_status(access_token, device_key, true).await
    }

    /// Marks a device not remembered: it still signs in, but with MFA.
    pub async fn set_device_not_remembered(
        &self,
        access_token: &AccessToken,
        device_key: &str,
    ) -> Result<(), CognitoError> {
        self.update_device_status(access_token, device_key, false).await
    }

    /// SetUserMFAPreference.
    pub async fn set_mfa_preference(
        &self,
        access_token: &AccessToken,
        preference: MfaPreference,
    ) -> Result<(), CognitoError> {
        let input = SetUserMfaPreferenceInput {
            sms: settings(preference.sms),
            software_token: settings(preference.totp),
            email: settings(preference.email),
            access_token: access_token.secret(),
        };
        let _: Empty =
            self.inner.api.call("SetUserMFAPreference", &input, Idempotency::Idempotent).await?;
        Ok(())
    }

    /// AssociateSoftwareToken for a signed-in user: a new authenticator secret to show.
    /// Confirm it with [`verify_software_token`](Self::verify_software_token), then enable it
    /// with [`set_mfa_preference`](Self::set_mfa_preference).
    pub async fn associate_software_token(
        &self,
        access_token: &AccessToken,
    ) -> Result<TotpSetup, CognitoError> {
        let input = AssociateSoftwareTokenInput {
            access_token: Some(access_token.secret()),
            session: None,
        };
        let output: AssociateSoftwareTokenOutput =
            self.inner.api.call("AssociateSoftwareToken", &input, Idempotency::SideEffects).await?;
        let secret = output
            .secret_code
            .ok_or_else(|| CognitoError::protocol("AssociateSoftwareToken without SecretCode"))?;
        let account = super::sign_in::access_claim(access_token, "username")
            .unwrap_or_else(|| "user".to_owned());
        let otpauth_uri = otpauth_uri(&self.inner.totp_issuer, &account, secret.secret());
        Ok(TotpSetup { secret, otpauth_uri })
    }

    /// VerifySoftwareToken for a signed-in user, with the first code of the authenticator.
    pub async fn verify_software_token(
        &self,
        access_token: &AccessToken,
        code: &ConfirmationCode,
        friendly_device_name: Option<&str>,
    ) -> Result<(), CognitoError> {
        let input = VerifySoftwareTokenInput {
            access_token: Some(access_token.secret()),
            session: None,
            user_code: code.secret(),
            friendly_device_name,
        };
        let output: VerifySoftwareTokenOutput =
            self.inner.api.call("VerifySoftwareToken", &input, Idempotency::SideEffects).await?;
        check_verified(output.status.as_deref())
    }
}

#[async_trait]
impl AccountProvider for CognitoUserPool {
    async fn sign_up(&self, request: &SignUpRequest) -> Result<SignUpOutcome, ProviderError> {
        Ok(CognitoUserPool::sign_up(self, request).await?)
    }

    async fn confirm_sign_up(
        &self,
        username: &str,
        code: &ConfirmationCode,
    ) -> Result<(), ProviderError> {
        Ok(CognitoUserPool::confirm_sign_up(self, username, code).await?)
    }

    async fn resend_sign_up_code(&self, username: &str) -> Result<CodeDelivery, ProviderError> {
        Ok(CognitoUserPool::resend_sign_up_code(self, username).await?)
    }

    async fn forgot_password(&self, username: &str) -> Result<CodeDelivery, ProviderError> {
        Ok(CognitoUserPool::forgot_password(self, username).await?)
    }

    async fn confirm_forgot_password(
        &self,
        username: &str,
        code: &ConfirmationCode,
        new_password: &Password,
    ) -> Result<(), ProviderError> {
        Ok(CognitoUserPool::confirm_forgot_password(self, username, code, new_password).await?)
    }

    async fn change_password(
        &self,
        access_token: &AccessToken,
        previous: &Password,
        proposed: &Password,
    ) -> Result<(), ProviderError> {
        Ok(CognitoUserPool::change_password(self, access_token, previous, proposed).await?)
    }

    async fn user_attributes(
        &self,
        access_token: &AccessToken,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        Ok(self.get_user(access_token).await?.attributes)
    }

    async fn update_user_attributes(
        &self,
        access_token: &AccessToken,
        attributes: &BTreeMap<String, String>,
    ) -> Result<Vec<CodeDelivery>, ProviderError> {
        Ok(CognitoUserPool::update_user_attributes(self, access_token, attributes).await?)
    }

    async fn send_attribute_verification_code(
        &self,
        access_token: &AccessToken,
        attribute: &str,
    ) -> Result<CodeDelivery, ProviderError> {
        Ok(self.get_user_attribute_verification_code(access_token, attribute).await?)
    }

    async fn verify_user_attribute(
        &self,
        access_token: &AccessToken,
        attribute: &str,
        code: &ConfirmationCode,
    ) -> Result<(), ProviderError> {
        Ok(CognitoUserPool::verify_user_attribute(self, access_token, attribute, code).await?)
    }

    async fn delete_user_attributes(
        &self,
        access_token: &AccessToken,
        names: &[String],
    ) -> Result<(), ProviderError> {
        Ok(CognitoUserPool::delete_user_attributes(self, access_token, names).await?)
    }

    async fn delete_user(&self, access_token: &AccessToken) -> Result<(), ProviderError> {
        Ok(CognitoUserPool::delete_user(self, access_token).await?)
    }
}
