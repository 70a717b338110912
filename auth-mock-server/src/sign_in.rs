//! The names of Cognito's sign-in flows (`AuthFlow`) and challenges (`ChallengeName`): each
//! wire name is written once, here; the sign-in code matches on the enums.

use std::fmt;

/// Declares a wire-named enum: the variants, their wire names, `as_str` and `parse`.
macro_rules! wire_names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order Cognito's API reference lists them.
            pub(crate) const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name on the wire.
            pub(crate) const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The value with wire name `name` (exact, case-sensitive), if there is one.
            pub(crate) fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_names! {
    /// InitiateAuth's `AuthFlow`.
    AuthFlow {
        /// Password proved with SRP.
        UserSrp = "USER_SRP_AUTH",
        /// A refresh token for new ID and access tokens.
        RefreshTokenAuth = "REFRESH_TOKEN_AUTH",
        /// The legacy name of `REFRESH_TOKEN_AUTH`.
        RefreshToken = "REFRESH_TOKEN",
        /// Custom challenges (triggers, or the mock's per-user answer), optionally after SRP.
        Custom = "CUSTOM_AUTH",
        /// The legacy name of `ADMIN_USER_PASSWORD_AUTH`.
        AdminNoSrp = "ADMIN_NO_SRP_AUTH",
        /// Password sent as is.
        UserPassword = "USER_PASSWORD_AUTH",
        /// Password sent as is, by an admin operation.
        AdminUserPassword = "ADMIN_USER_PASSWORD_AUTH",
        /// Choice-based sign-in: the first factor is chosen up front or from a list.
        UserAuth = "USER_AUTH",
    }
}

impl AuthFlow {
    /// Refreshes tokens rather than signing in.
    pub(crate) fn is_refresh(self) -> bool {
        matches!(self, Self::RefreshTokenAuth | Self::RefreshToken)
    }

    /// Only AdminInitiateAuth takes it.
    pub(crate) fn is_admin_only(self) -> bool {
        matches!(self, Self::AdminNoSrp | Self::AdminUserPassword)
    }
}

wire_names! {
    /// RespondToAuthChallenge's `ChallengeName` (and the challenges the server issues).
    ChallengeName {
        /// A code sent by SMS as the second factor.
        SmsMfa = "SMS_MFA",
        /// A code sent by email: the second factor, or a first factor of `USER_AUTH`.
        EmailOtp = "EMAIL_OTP",
        /// A TOTP code as the second factor.
        SoftwareTokenMfa = "SOFTWARE_TOKEN_MFA",
        /// The user picks one of several second factors.
        SelectMfaType = "SELECT_MFA_TYPE",
        /// MFA is required and the user has none: set up TOTP.
        MfaSetup = "MFA_SETUP",
        /// The SRP password proof.
        PasswordVerifier = "PASSWORD_VERIFIER",
        /// A custom challenge.
        CustomChallenge = "CUSTOM_CHALLENGE",
        /// Choice-based sign-in: the user picks the first factor.
        SelectChallenge = "SELECT_CHALLENGE",
        /// A remembered device starts device SRP.
        DeviceSrpAuth = "DEVICE_SRP_AUTH",
        /// The device SRP proof.
        DevicePasswordVerifier = "DEVICE_PASSWORD_VERIFIER",
        /// Accepted as a name, never issued.
        AdminNoSrpAuth = "ADMIN_NO_SRP_AUTH",
        /// The user's password is temporary: choose a new one.
        NewPasswordRequired = "NEW_PASSWORD_REQUIRED",
        /// A code sent by SMS as a first factor of `USER_AUTH`.
        SmsOtp = "SMS_OTP",
        /// The password as a first factor of `USER_AUTH`.
        Password = "PASSWORD",
        /// A passkey as a first factor of `USER_AUTH` (refused: not supported).
        WebAuthn = "WEB_AUTHN",
        /// SRP as a first factor of `USER_AUTH`.
        PasswordSrp = "PASSWORD_SRP",
    }
}

#[cfg(test)]
mod tests {
    use super::{AuthFlow, ChallengeName};

    #[test]
    fn wire_names_round_trip() {
        for flow in AuthFlow::ALL {
            assert_eq!(AuthFlow::parse(flow.as_str()), Some(*flow));
        }
        for name in ChallengeName::ALL {
            assert_eq!(ChallengeName::parse(name.as_str()), Some(*name));
        }
        assert_eq!(AuthFlow::parse("user_srp_auth"), None);
        assert_eq!(ChallengeName::parse("SRP_A"), None);
    }
}
