//! The one error type of this crate.

/// Why an SRP computation was refused.
///
/// Every variant is caused by the peer's input (or the caller's), never by the maths failing:
/// a server maps them to `NotAuthorizedException`/`InvalidParameterException`, a client to
/// "the server sent something unusable".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrpError {
    /// The peer's public value is 0 modulo N (an attack that would fix the session key).
    #[error("the SRP public value {which} is 0 modulo N")]
    ZeroPublicValue {
        /// `"A"` or `"B"`.
        which: &'static str,
    },
    /// The scrambling parameter u = H(A ‖ B) is 0, so the exchange must be aborted.
    #[error("the SRP scrambling parameter u is 0")]
    ZeroScrambler,
    /// A field that must be hexadecimal is not (or is empty).
    #[error("{field} is not a hexadecimal number")]
    InvalidHex {
        /// The name of the offending field, e.g. `"SRP_B"`.
        field: &'static str,
    },
    /// A field that must be base64 is not.
    #[error("{field} is not valid base64")]
    InvalidBase64 {
        /// The name of the offending field, e.g. `"SECRET_BLOCK"`.
        field: &'static str,
    },
    /// A `TIMESTAMP` that is not in Cognito's `Tue Mar 5 07:04:09 UTC 2024` format.
    #[error("TIMESTAMP is not in the format `Tue Mar 5 07:04:09 UTC 2024`")]
    InvalidTimestamp,
}
