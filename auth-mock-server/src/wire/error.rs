//! Cognito-shaped errors: `{"__type": "...", "message": "..."}` with `x-amzn-ErrorType`.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error as Cognito reports it. Status 400 for every modeled exception except
/// `InternalErrorException` (500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoError {
    kind: Cow<'static, str>,
    message: String,
    status: u16,
}

macro_rules! constructors {
    ($($fn_name:ident => $name:literal),* $(,)?) => {
        $(
            #[doc = concat!("`", $name, "` with the given message.")]
            pub fn $fn_name(message: impl Into<String>) -> Self {
                Self::new($name, message)
            }
        )*
    };
}

impl CognitoError {
    /// An error with the given exception name (status 400, or 500 for
    /// `InternalErrorException`).
    pub fn new(kind: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        let kind = kind.into();
        let status = if kind == "InternalErrorException" { 500 } else { 400 };
        Self { kind, message: message.into(), status }
    }

    /// An error with an explicit HTTP status (fault injection may ask for 429s or 503s).
    pub fn with_status(mut self, status: u16) -> Self {
        if (400..=599).contains(&status) {
            self.status = status;
        }
        self
    }

    /// The exception name, e.g. `NotAuthorizedException`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The message text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    constructors! {
        alias_exists => "AliasExistsException",
        code_mismatch => "CodeMismatchException",
        concurrent_modification => "ConcurrentModificationException",
        enable_software_token_mfa => "EnableSoftwareTokenMFAException",
        expired_code => "ExpiredCodeException",
        group_exists => "GroupExistsException",
        internal => "InternalErrorException",
        invalid_parameter => "InvalidParameterException",
        invalid_password => "InvalidPasswordException",
        invalid_user_pool_configuration => "InvalidUserPoolConfigurationException",
        limit_exceeded => "LimitExceededException",
        mfa_method_not_found => "MFAMethodNotFoundException",
        not_authorized => "NotAuthorizedException",
        password_reset_required => "PasswordResetRequiredException",
        resource_not_found => "ResourceNotFoundException",
        serialization => "SerializationException",
        software_token_mfa_not_found => "SoftwareTokenMFANotFoundException",
        too_many_failed_attempts => "TooManyFailedAttemptsException",
        unauthorized => "UnauthorizedException",
        unknown_operation => "UnknownOperationException",
        unsupported_operation => "UnsupportedOperationException",
        unsupported_token_type => "UnsupportedTokenTypeException",
        unsupported_user_state => "UnsupportedUserStateException",
        user_not_confirmed => "UserNotConfirmedException",
        user_not_found => "UserNotFoundException",
        username_exists => "UsernameExistsException",
    }

    /// AWS's message for a missing required member.
    pub fn missing(member: &str) -> Self {
        Self::invalid_parameter(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(member)
        ))
    }

    /// "Incorrect username or password.", the answer to every failed password proof.
    pub fn bad_credentials() -> Self {
        Self::not_authorized("Incorrect username or password.")
    }
}

/// AWS's validation message for a member that breaks `constraint` (e.g. "Member must have
/// length greater than or equal to 1").
pub(crate) fn invalid_member(member: &str, constraint: &str) -> CognitoError {
    CognitoError::invalid_parameter(format!(
        "1 validation error detected: Value at '{}' failed to satisfy constraint: {constraint}",
        lower_first(member)
    ))
}

/// A member name as AWS's validation messages spell it: `UserPoolId` → `userPoolId`.
pub(crate) fn lower_first(member: &str) -> String {
    let mut chars = member.chars();
    chars.next().map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

impl std::fmt::Display for CognitoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CognitoError {}

impl IntoResponse for CognitoError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "__type": self.kind, "message": self.message }).to_string();
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(super::AMZ_JSON));
        if let Ok(value) = HeaderValue::from_str(&self.kind) {
            headers.insert("x-amzn-errortype", value);
        }
        response
    }
}

/// The result of an operation handler.
pub(crate) type OpResult<T = serde_json::Value> = Result<T, CognitoError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_name_the_member_in_camel_case() {
        let error =
            invalid_member("UserPoolId", "Member must have length greater than or equal to 1");
        assert_eq!(error.kind(), "InvalidParameterException");
        assert_eq!(
            error.message(),
            "1 validation error detected: Value at 'userPoolId' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        assert_eq!(
            CognitoError::missing("Username").message(),
            "1 validation error detected: Value null at 'username' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(lower_first(""), "");
    }
}
