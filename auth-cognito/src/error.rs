//! The typed error of every Cognito call, and how it maps onto auth-core's
//! [`ProviderError`].
//!
//! The split that matters: [`CognitoError::Network`] ("the network failed": connect, DNS,
//! TLS, timeout, a connection closed before the answer) versus [`CognitoError::Service`]
//! ("Cognito answered with an error", with the exception name and message). Among service
//! errors, throttling and server-side failures are *transient*
//! ([`ProviderError::Unavailable`]); every other exception is a refusal
//! ([`ProviderError::Rejected`]). `AuthClient` signs a user out of a session only on a
//! rejected refresh, so a mistake here would sign users out because of a flaky network.

use std::error::Error as StdError;
use std::fmt;

use auth_core::{NetworkError, ProviderError, ServiceError};

/// What kind of network failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkErrorKind {
    /// The host name could not be resolved.
    Dns,
    /// The TCP connection could not be made (refused, unreachable).
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// No answer within the configured timeout.
    Timeout,
    /// The connection was closed or reset before a complete answer arrived.
    ConnectionClosed,
    /// Another transport failure.
    Other,
}

impl NetworkErrorKind {
    fn describe(self) -> &'static str {
        match self {
            NetworkErrorKind::Dns => "DNS resolution failed",
            NetworkErrorKind::Connect => "could not connect",
            NetworkErrorKind::Tls => "TLS handshake failed",
            NetworkErrorKind::Timeout => "timed out",
            NetworkErrorKind::ConnectionClosed => "connection closed before the answer",
            NetworkErrorKind::Other => "transport failure",
        }
    }
}

/// A transport failure: Cognito could not be reached or did not answer.
#[derive(Debug)]
pub struct NetworkFailure {
    kind: NetworkErrorKind,
    operation: &'static str,
    not_sent: bool,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl NetworkFailure {
    pub(crate) fn new(
        kind: NetworkErrorKind,
        operation: &'static str,
        not_sent: bool,
        source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Self { kind, operation, not_sent, source }
    }

    /// What kind of failure it was.
    pub fn kind(&self) -> NetworkErrorKind {
        self.kind
    }

    /// True if the request certainly never reached the server (it failed while
    /// connecting: DNS, refused, TLS handshake, connect timeout), so even an operation with
    /// side effects can be sent again safely.
    pub fn request_not_sent(&self) -> bool {
        self.not_sent
    }

    /// The Cognito operation (or `jwks` for a key fetch) that failed.
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

impl fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.kind.describe())?;
        // The source chain of a reqwest error names the host and the OS error, never a body.
        let mut source = self.source.as_deref().map(|s| s as &(dyn StdError + 'static));
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

impl StdError for NetworkFailure {}

/// An error answer from Cognito: the exception name, its message and the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFailure {
    name: String,
    message: String,
    status: u16,
    request_id: Option<String>,
}

impl ServiceFailure {
    pub(crate) fn new(
        name: impl Into<String>,
        message: impl Into<String>,
        status: u16,
        request_id: Option<String>,
    ) -> Self {
        Self { name: name.into(), message: message.into(), status, request_id }
    }

    /// The exception name, e.g. `NotAuthorizedException`. For an error answer that named no
    /// exception it is `HttpStatus<code>`, e.g. `HttpStatus502`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Cognito's message (may be empty). Meant for people; match on [`name`](Self::name).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `x-amzn-RequestId` of the answer, for AWS support cases.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// True for throttling: `TooManyRequestsException`, `ThrottlingException` and the
    /// generic AWS throttling names, or HTTP 429. These are retried on operations that are
    /// safe to retry.
    pub fn is_throttling(&self) -> bool {
        self.status == 429
            || matches!(
                self.name.as_str(),
                "TooManyRequestsException"
                    | "ThrottlingException"
                    | "Throttling"
                    | "ThrottledException"
                    | "RequestLimitExceeded"
                    | "RequestThrottledException"
                    | "SlowDown"
            )
    }

    /// True if the failure says nothing about the request's validity and a later retry may
    /// succeed: throttling, `InternalErrorException`, the identity pools'
    /// `ExternalServiceException` (a provider Cognito asked did not answer), the generic AWS
    /// server-side failures, and any HTTP 5xx.
    ///
    /// `LimitExceededException` is deliberately *not* transient: Cognito uses it for
    /// per-user limits (too many codes requested, too many attempts), which a retry makes
    /// worse and which the user must be told about. It is a [`ProviderError::Rejected`].
    pub fn is_transient(&self) -> bool {
        self.is_throttling()
            || self.status >= 500
            || matches!(
                self.name.as_str(),
                "InternalErrorException"
                    // Identity pools: the external provider (Facebook, Google...) that
                    // Cognito asked to check a token did not answer.
                    | "ExternalServiceException"
                    | "InternalFailure"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "ServiceUnavailableException"
            )
    }
}

impl fmt::Display for ServiceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{} (HTTP {})", self.name, self.status)
        } else {
            write!(f, "{}: {} (HTTP {})", self.name, self.message, self.status)
        }
    }
}

impl StdError for ServiceFailure {}

/// Why a Cognito call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CognitoError {
    /// The network failed: connect, DNS, TLS, timeout, or a connection closed before the
    /// answer. Nothing is known about the request's outcome unless
    /// [`NetworkFailure::request_not_sent`] says so.
    #[error("network failure: {0}")]
    Network(#[source] NetworkFailure),
    /// Cognito answered with an error.
    #[error("Cognito error: {0}")]
    Service(#[source] ServiceFailure),
    /// Cognito's answer (or an emulator's) could not be understood: a body that is not the
    /// documented JSON, a challenge without its parameters, a token that is not a JWT.
    #[error("unexpected answer from Cognito: {0}")]
    Protocol(String),
    /// The request was invalid before anything was sent (a missing password, a malformed
    /// user pool id, an unusable endpoint URL).
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// The device store (remembered devices) failed.
    #[error("device store: {0}")]
    DeviceStore(String),
    /// Cognito asked for something this client cannot do, e.g. a passkey (`WEB_AUTHN`)
    /// as the only first factor a choice-based sign-in offers.
    #[error("not supported by this client: {0}")]
    Unsupported(String),
}

impl CognitoError {
    /// The exception name if Cognito answered with an error.
    pub fn exception_name(&self) -> Option<&str> {
        match self {
            CognitoError::Service(failure) => Some(failure.name()),
            _ => None,
        }
    }

    /// True if the network failed or Cognito is temporarily unavailable (throttling, 5xx):
    /// nothing is wrong with the request or the session; try again later.
    pub fn is_transient(&self) -> bool {
        match self {
            CognitoError::Network(_) => true,
            CognitoError::Service(failure) => failure.is_transient(),
            _ => false,
        }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        CognitoError::Protocol(message.into())
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        CognitoError::InvalidInput(message.into())
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        CognitoError::Unsupported(message.into())
    }
}

impl From<CognitoError> for ProviderError {
    fn from(error: CognitoError) -> Self {
        match error {
            CognitoError::Network(failure) => {
                let message = failure.to_string();
                ProviderError::Network(NetworkError::with_source(message, failure))
            }
            CognitoError::Service(failure) => {
                let service = ServiceError::new(failure.name(), failure.message());
                if failure.is_transient() {
                    ProviderError::Unavailable(service)
                } else {
                    ProviderError::Rejected(service)
                }
            }
            CognitoError::Protocol(message) => ProviderError::Protocol(message),
            CognitoError::InvalidInput(message) => ProviderError::InvalidInput(message),
            CognitoError::Unsupported(message) => ProviderError::Unsupported(message),
            // The device store is local: its failure is neither a network nor a service
            // answer, and must not look like a rejection of the session.
            CognitoError::DeviceStore(message) => {
                ProviderError::Protocol(format!("device store: {message}"))
            }
        }
    }
}

/// Extracts the exception name from an error answer, following the rules AWS's JSON
/// clients use: the `x-amzn-ErrorType` header first, then the body's `code`, then
/// `__type`; cut at the first `:` or `,`; keep what follows a `#`.
pub(crate) fn error_name(header: Option<&str>, body: &serde_json::Value) -> Option<String> {
    let candidates = [
        header,
        body.get("code").and_then(serde_json::Value::as_str),
        body.get("__type").and_then(serde_json::Value::as_str),
    ];
    candidates.into_iter().flatten().find_map(|raw| {
        let cut = raw.split([':', ',']).next().unwrap_or(raw);
        let name = cut.rsplit('#').next().unwrap_or(cut).trim();
        (!name.is_empty()).then(|| crate::untrusted::bounded(name))
    })
}

/// The message of an error answer: `message`, else `Message`.
pub(crate) fn error_message(body: &serde_json::Value) -> String {
    ["message", "Message"]
        .iter()
        .find_map(|key| body.get(*key).and_then(serde_json::Value::as_str))
        .map(crate::untrusted::bounded)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn error_name_follows_the_aws_rules() {
        let body = json!({"__type": "NotAuthorizedException", "message": "Incorrect"});
        assert_eq!(error_name(None, &body).as_deref(), Some("NotAuthorizedException"));
        assert_eq!(
            error_name(Some("UserNotFoundException:http://internal.amazon.com/"), &body).as_deref(),
            Some("UserNotFoundException"),
            "the header wins and is cut at ':'"
        );
        let body = json!({"code": "aws.foo#CodeMismatchException,extra", "__type": "X"});
        assert_eq!(error_name(None, &body).as_deref(), Some("CodeMismatchException"));
        let body = json!({"__type": "com.amazon#ExpiredCodeException"});
        assert_eq!(error_name(None, &body).as_deref(), Some("ExpiredCodeException"));
        assert_eq!(error_name(Some(""), &json!({})), None);
        assert_eq!(error_name(None, &json!({"__type": 5})), None);
    }

    #[test]
    fn message_falls_back_to_capitalised_key() {
        assert_eq!(error_message(&json!({"message": "a"})), "a");
        assert_eq!(error_message(&json!({"Message": "b"})), "b");
        assert_eq!(error_message(&json!({})), "");
    }

    #[test]
    fn classification_into_provider_errors() {
        let service = |name: &str, status| {
            ProviderError::from(CognitoError::Service(ServiceFailure::new(name, "m", status, None)))
        };
        assert!(service("NotAuthorizedException", 400).is_rejected());
        assert!(service("UserNotFoundException", 400).is_rejected());
        assert!(service("LimitExceededException", 400).is_rejected());
        assert!(service("CodeMismatchException", 400).is_rejected());
        for transient in [
            ("TooManyRequestsException", 400),
            ("ThrottlingException", 400),
            ("InternalErrorException", 500),
            ("ExternalServiceException", 400),
            ("ServiceUnavailable", 503),
            ("HttpStatus502", 502),
            ("Anything", 429),
        ] {
            let error = service(transient.0, transient.1);
            assert!(matches!(error, ProviderError::Unavailable(_)), "{transient:?}: {error:?}");
            assert_eq!(error.code(), Some(transient.0));
        }
        let network = ProviderError::from(CognitoError::Network(NetworkFailure::new(
            NetworkErrorKind::Timeout,
            "InitiateAuth",
            false,
            None,
        )));
        assert!(network.is_network());
        let failure = StdError::source(&network)
            .and_then(|s| s.downcast_ref::<NetworkError>())
            .and_then(StdError::source)
            .and_then(|s| s.downcast_ref::<NetworkFailure>())
            .expect("the network failure is reachable through the source chain");
        assert_eq!(failure.kind(), NetworkErrorKind::Timeout);
        assert!(matches!(
            ProviderError::from(CognitoError::protocol("x")),
            ProviderError::Protocol(_)
        ));
    }
}
