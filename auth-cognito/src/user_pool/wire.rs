//! The JSON shapes of the user-pool operations this crate calls (API 2016-04-18).
//!
//! Requests borrow their values (`Cow`) so that passwords and tokens are not copied more
//! than serialisation needs. Responses deserialise tokens straight into auth-core's secret
//! newtypes, so they are never held in a plain `String`. Unknown response fields are
//! ignored and every response field is optional, as emulators differ in what they send.
//! Neither requests nor responses implement `Debug`: they carry secrets.

use std::borrow::Cow;
use std::collections::BTreeMap;

use auth_core::{AccessToken, ChallengeSession, IdToken, RefreshToken, SecretString};
use serde::{Deserialize, Serialize};

/// `AuthParameters` / `ChallengeResponses`.
pub(crate) type Params<'a> = BTreeMap<Cow<'a, str>, Cow<'a, str>>;

/// `ClientMetadata`.
pub(crate) type Metadata = BTreeMap<String, String>;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InitiateAuthInput<'a> {
    pub(crate) auth_flow: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) auth_parameters: Params<'a>,
    #[serde(skip_serializing_if = "is_empty")]
    pub(crate) client_metadata: &'a Metadata,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RespondToAuthChallengeInput<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) challenge_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<&'a str>,
    pub(crate) challenge_responses: Params<'a>,
    #[serde(skip_serializing_if = "is_empty")]
    pub(crate) client_metadata: &'a Metadata,
}

fn is_empty(map: &&Metadata) -> bool {
    map.is_empty()
}

/// The answer of InitiateAuth and RespondToAuthChallenge.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct AuthOutput {
    pub(crate) challenge_name: Option<String>,
    pub(crate) session: Option<ChallengeSession>,
    pub(crate) challenge_parameters: Option<BTreeMap<String, String>>,
    pub(crate) authentication_result: Option<AuthenticationResult>,
    pub(crate) available_challenges: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct AuthenticationResult {
    pub(crate) access_token: Option<AccessToken>,
    pub(crate) id_token: Option<IdToken>,
    pub(crate) refresh_token: Option<RefreshToken>,
    pub(crate) expires_in: Option<f64>,
    pub(crate) new_device_metadata: Option<NewDeviceMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NewDeviceMetadata {
    pub(crate) device_key: String,
    pub(crate) device_group_key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetTokensFromRefreshTokenInput<'a> {
    pub(crate) refresh_token: &'a str,
    pub(crate) client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) device_key: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccessTokenInput<'a> {
    pub(crate) access_token: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RevokeTokenInput<'a> {
    pub(crate) token: &'a str,
    pub(crate) client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<&'a str>,
}

/// An operation whose answer is `{}` (or whose answer this crate ignores).
#[derive(Deserialize, Default)]
pub(crate) struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ConfirmDeviceInput<'a> {
    pub(crate) access_token: &'a str,
    pub(crate) device_key: &'a str,
    pub(crate) device_secret_verifier_config: DeviceSecretVerifierConfig<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) device_name: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeviceSecretVerifierConfig<'a> {
    pub(crate) password_verifier: &'a str,
    pub(crate) salt: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ConfirmDeviceOutput {
    pub(crate) user_confirmation_necessary: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateDeviceStatusInput<'a> {
    pub(crate) access_token: &'a str,
    pub(crate) device_key: &'a str,
    pub(crate) device_remembered_status: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeviceKeyInput<'a> {
    pub(crate) access_token: &'a str,
    pub(crate) device_key: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListDevicesInput<'a> {
    pub(crate) access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pagination_token: Option<&'a str>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct ListDevicesOutput {
    pub(crate) devices: Vec<DeviceType>,
    pub(crate) pagination_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct GetDeviceOutput {
    pub(crate) device: Option<DeviceType>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct DeviceType {
    pub(crate) device_key: Option<String>,
    pub(crate) device_attributes: Vec<AttributeOut>,
    pub(crate) device_create_date: Option<f64>,
    pub(crate) device_last_modified_date: Option<f64>,
    pub(crate) device_last_authenticated_date: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AttributeIn<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct AttributeOut {
    pub(crate) name: String,
    pub(crate) value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CodeDeliveryDetails {
    pub(crate) destination: Option<String>,
    pub(crate) delivery_medium: Option<String>,
    pub(crate) attribute_name: Option<String>,
}

impl From<CodeDeliveryDetails> for auth_core::CodeDelivery {
    fn from(details: CodeDeliveryDetails) -> Self {
        let mut delivery = auth_core::CodeDelivery::default();
        delivery.destination = details.destination;
        delivery.medium = details.delivery_medium;
        delivery.attribute = details.attribute_name;
        delivery
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SignUpInput<'a> {
    pub(crate) client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secret_hash: Option<&'a str>,
    pub(crate) username: &'a str,
    pub(crate) password: &'a str,
    pub(crate) user_attributes: Vec<AttributeIn<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct SignUpOutput {
    pub(crate) user_confirmed: bool,
    pub(crate) user_sub: String,
    pub(crate) code_delivery_details: Option<CodeDeliveryDetails>,
}

/// ConfirmSignUp, ResendConfirmationCode, ForgotPassword and ConfirmForgotPassword share
/// their identifying fields.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserCodeInput<'a> {
    pub(crate) client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secret_hash: Option<&'a str>,
    pub(crate) username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) confirmation_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) password: Option<&'a str>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CodeDeliveryOutput {
    pub(crate) code_delivery_details: Option<CodeDeliveryDetails>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChangePasswordInput<'a> {
    pub(crate) previous_password: &'a str,
    pub(crate) proposed_password: &'a str,
    pub(crate) access_token: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct GetUserOutput {
    pub(crate) username: String,
    pub(crate) user_attributes: Vec<AttributeOut>,
    pub(crate) preferred_mfa_setting: Option<String>,
    #[serde(rename = "UserMFASettingList")]
    pub(crate) user_mfa_setting_list: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateUserAttributesInput<'a> {
    pub(crate) user_attributes: Vec<AttributeIn<'a>>,
    pub(crate) access_token: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct UpdateUserAttributesOutput {
    pub(crate) code_delivery_details_list: Vec<CodeDeliveryDetails>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct VerifyUserAttributeInput<'a> {
    pub(crate) access_token: &'a str,
    pub(crate) attribute_name: &'a str,
    pub(crate) code: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AttributeNameInput<'a> {
    pub(crate) access_token: &'a str,
    pub(crate) attribute_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeleteUserAttributesInput<'a> {
    pub(crate) user_attribute_names: &'a [String],
    pub(crate) access_token: &'a str,
}

/// AssociateSoftwareToken: with an access token (signed in) or a sign-in session
/// (`MFA_SETUP`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AssociateSoftwareTokenInput<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) access_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<&'a str>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct AssociateSoftwareTokenOutput {
    pub(crate) secret_code: Option<SecretString>,
    pub(crate) session: Option<ChallengeSession>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct VerifySoftwareTokenInput<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) access_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<&'a str>,
    pub(crate) user_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) friendly_device_name: Option<&'a str>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct VerifySoftwareTokenOutput {
    pub(crate) status: Option<String>,
    pub(crate) session: Option<ChallengeSession>,
}

#[derive(Serialize)]
pub(crate) struct MfaSettings {
    #[serde(rename = "Enabled")]
    pub(crate) enabled: bool,
    #[serde(rename = "PreferredMfa")]
    pub(crate) preferred: bool,
}

#[derive(Serialize)]
pub(crate) struct SetUserMfaPreferenceInput<'a> {
    #[serde(rename = "SMSMfaSettings", skip_serializing_if = "Option::is_none")]
    pub(crate) sms: Option<MfaSettings>,
    #[serde(rename = "SoftwareTokenMfaSettings", skip_serializing_if = "Option::is_none")]
    pub(crate) software_token: Option<MfaSettings>,
    #[serde(rename = "EmailMfaSettings", skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<MfaSettings>,
    #[serde(rename = "AccessToken")]
    pub(crate) access_token: &'a str,
}
