//! The JSON shapes of the identity-pool operations this crate calls (API 2014-06-30).
//!
//! Requests borrow the caller's logins (tokens are serialised straight from their secret
//! newtypes); responses deserialise the secret key and session token straight into
//! auth-core's secret newtypes. Every response field is optional, as emulators differ in
//! what they send; the caller decides which ones it needs. Nothing here implements `Debug`:
//! the shapes carry secrets.

use auth_core::{Logins, SecretAccessKey, SessionToken};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetIdInput<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) account_id: Option<&'a str>,
    pub(crate) identity_pool_id: &'a str,
    #[serde(skip_serializing_if = "Logins::is_empty")]
    pub(crate) logins: &'a Logins,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct GetIdOutput {
    pub(crate) identity_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetCredentialsForIdentityInput<'a> {
    pub(crate) identity_id: &'a str,
    #[serde(skip_serializing_if = "Logins::is_empty")]
    pub(crate) logins: &'a Logins,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) custom_role_arn: Option<&'a str>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct GetCredentialsForIdentityOutput {
    pub(crate) identity_id: Option<String>,
    pub(crate) credentials: Option<Credentials>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: Option<String>,
    pub(crate) secret_key: Option<SecretAccessKey>,
    pub(crate) session_token: Option<SessionToken>,
    /// Epoch seconds, possibly with a fraction (AWS JSON 1.1 timestamps).
    pub(crate) expiration: Option<f64>,
}
