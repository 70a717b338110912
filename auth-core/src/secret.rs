//! Newtypes for secret strings: passwords, tokens, keys.
//!
//! Every secret in this workspace is one of these types, so that a `{:?}`, a panic
//! message or a `tracing` field can never print one by accident: `Debug` prints
//! `Name([redacted])`, `Display` prints `[redacted]`, and the memory is zeroed on drop.
//! The value comes out only through [`secret`](Password::secret), whose name makes every
//! use visible in review.
//!
//! Secrets are cheap to clone (they share one zeroizing allocation), which keeps the
//! cached-token path of `AuthClient` free of copies.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        ///
        /// `Debug` and `Display` redact the value; the memory is zeroed when the last clone
        /// is dropped; equality is constant-time.
        #[derive(Clone)]
        pub struct $name(Arc<Zeroizing<String>>);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Arc::new(Zeroizing::new(value.into())))
            }

            /// The secret value.
            ///
            /// # Security
            /// Do not log, print or persist the result unless that is the point of the call
            /// (sending it to the service that issued it, or writing it to a token store).
            pub fn secret(&self) -> &str {
                self.0.as_str()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.secret().as_bytes().ct_eq(other.secret().as_bytes()).into()
            }
        }

        impl Eq for $name {}

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        /// Serialises the plain value: token stores need it. Serialise secrets only into
        /// storage meant for them, never into logs.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.secret())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // Deserialising into `Zeroizing` directly keeps the value out of a plain
                // `String` that would be dropped without being zeroed.
                let value = Zeroizing::new(String::deserialize(deserializer)?);
                Ok(Self(Arc::new(value)))
            }
        }
    };
}

secret_type!(
    /// A user's password, or any other knowledge factor typed by the user (a new password,
    /// an MFA code, a custom-challenge answer).
    Password
);
secret_type!(
    /// A one-time code: sent to the user (sign-up confirmation, password reset, attribute
    /// verification) or shown by an authenticator app. A code is not a password: the type
    /// keeps the two from being swapped in calls that take both.
    ConfirmationCode
);
secret_type!(
    /// An OpenID Connect ID token (a JWT) issued by a user pool or another identity provider.
    IdToken
);
secret_type!(
    /// An OAuth2 access token (a JWT for Cognito) that authorises calls on the user's behalf.
    AccessToken
);
secret_type!(
    /// A long-lived, opaque refresh token that obtains new ID and access tokens.
    RefreshToken
);
secret_type!(
    /// A token issued by a third-party identity provider (Google ID token, Facebook access
    /// token, Sign in with Apple ID token, a SAML assertion...), used for federation.
    ProviderToken
);
secret_type!(
    /// An opaque session handle that ties the steps of a multi-step sign-in together
    /// (Cognito's `Session`).
    ChallengeSession
);
secret_type!(
    /// The secret half of AWS credentials.
    SecretAccessKey
);
secret_type!(
    /// The session token of temporary AWS credentials.
    SessionToken
);
secret_type!(
    /// Any other secret string: app-client secrets, device secrets, encryption keys in text
    /// form.
    SecretString
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let password = Password::new("hunter2-correct-horse");
        assert_eq!(format!("{password:?}"), "Password([redacted])");
        assert_eq!(format!("{password}"), "[redacted]");
        assert_eq!(format!("{password:#?}"), "Password([redacted])");
        let nested = Some(vec![RefreshToken::new("rt-123456")]);
        let printed = format!("{nested:?}");
        assert!(!printed.contains("rt-123456"), "{printed}");
        assert_eq!(printed, "Some([RefreshToken([redacted])])");
    }

    #[test]
    fn secret_is_reachable_and_compares_by_value() {
        let a = AccessToken::new("abc");
        let b = AccessToken::from("abc".to_string());
        assert_eq!(a.secret(), "abc");
        assert_eq!(a, b);
        assert_ne!(a, AccessToken::new("abd"));
        assert_ne!(a, AccessToken::new("abcd"));
    }

    #[test]
    fn serde_round_trip_keeps_value() {
        let token = IdToken::new("x.y.z");
        let json = serde_json::to_string(&token).unwrap();
        assert_eq!(json, "\"x.y.z\"");
        let back: IdToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back, token);
    }
}
