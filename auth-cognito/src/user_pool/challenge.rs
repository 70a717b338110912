//! Cognito's challenges as auth-core's typed next steps, and the `ChallengeResponses` that
//! answer them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use auth_core::{ChallengeKind, ChallengeResponse, MfaType, SecretString};

use super::wire::Params;
use crate::error::CognitoError;

/// The challenge names Cognito sends, as they appear in `SignInNextStep::challenge_name`.
pub mod challenge_names {
    /// Choose a new password (and fill in required attributes).
    pub const NEW_PASSWORD_REQUIRED: &str = "NEW_PASSWORD_REQUIRED";
    /// A code sent by SMS.
    pub const SMS_MFA: &str = "SMS_MFA";
    /// A one-time code sent by SMS (choice-based sign-in).
    pub const SMS_OTP: &str = "SMS_OTP";
    /// A code sent by email.
    pub const EMAIL_OTP: &str = "EMAIL_OTP";
    /// A code from an authenticator app.
    pub const SOFTWARE_TOKEN_MFA: &str = "SOFTWARE_TOKEN_MFA";
    /// Set up an MFA method.
    pub const MFA_SETUP: &str = "MFA_SETUP";
    /// Choose an MFA method.
    pub const SELECT_MFA_TYPE: &str = "SELECT_MFA_TYPE";
    /// A challenge defined by the pool's Lambda triggers.
    pub const CUSTOM_CHALLENGE: &str = "CUSTOM_CHALLENGE";
    /// Choose a first factor (choice-based sign-in).
    pub const SELECT_CHALLENGE: &str = "SELECT_CHALLENGE";
    /// A passkey (choice-based sign-in); not supported by this client.
    pub const WEB_AUTHN: &str = "WEB_AUTHN";
    /// The SRP proof of the password (answered by the client itself).
    pub const PASSWORD_VERIFIER: &str = "PASSWORD_VERIFIER";
    /// Start of a remembered device's SRP proof (answered by the client itself).
    pub const DEVICE_SRP_AUTH: &str = "DEVICE_SRP_AUTH";
    /// The SRP proof of a remembered device (answered by the client itself).
    pub const DEVICE_PASSWORD_VERIFIER: &str = "DEVICE_PASSWORD_VERIFIER";
}

use challenge_names::*;

/// The top-level response field of `SELECT_CHALLENGE`, also the parameter key under which
/// the step reports it.
pub(crate) const AVAILABLE_CHALLENGES: &str = "AvailableChallenges";

/// Parses a challenge parameter that Cognito encodes as a JSON array inside a string, e.g.
/// `MFAS_CAN_CHOOSE` = `"[\"SMS_MFA\",\"SOFTWARE_TOKEN_MFA\"]"`.
pub(crate) fn string_list(
    params: &BTreeMap<String, String>,
    challenge: &str,
    name: &str,
) -> Result<Vec<String>, CognitoError> {
    let Some(raw) = params.get(name) else { return Ok(Vec::new()) };
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str::<Vec<String>>(raw).map_err(|_| {
        CognitoError::protocol(format!("{challenge}: {name} is not a JSON array of strings"))
    })
}

/// The typed kind of a challenge the user must answer. `MFA_SETUP` with an authenticator
/// app is built elsewhere (it needs AssociateSoftwareToken first).
pub(crate) fn kind(
    name: &str,
    params: &BTreeMap<String, String>,
) -> Result<ChallengeKind, CognitoError> {
    let destination = || params.get("CODE_DELIVERY_DESTINATION").cloned();
    Ok(match name {
        NEW_PASSWORD_REQUIRED => {
            let required_attributes = string_list(params, name, "requiredAttributes")?
                .into_iter()
                .map(|a| a.strip_prefix("userAttributes.").map(str::to_owned).unwrap_or(a))
                .collect();
            ChallengeKind::NewPasswordRequired { required_attributes }
        }
        SMS_MFA => ChallengeKind::SmsMfa { destination: destination() },
        SMS_OTP => ChallengeKind::SmsOtp { destination: destination() },
        EMAIL_OTP => ChallengeKind::EmailOtp { destination: destination() },
        SOFTWARE_TOKEN_MFA => ChallengeKind::SoftwareTokenMfa,
        SELECT_MFA_TYPE => {
            // Types this client does not know are left out; the parameters keep them all.
            let options = string_list(params, name, "MFAS_CAN_CHOOSE")?
                .iter()
                .filter_map(|option| MfaType::from_name(option))
                .collect();
            ChallengeKind::SelectMfaType { options }
        }
        CUSTOM_CHALLENGE => ChallengeKind::CustomChallenge,
        _ => ChallengeKind::Other,
    })
}

/// The `ChallengeResponses` for the user's answer to challenge `name` (without `USERNAME`,
/// `SECRET_HASH` and `DEVICE_KEY`, which the caller adds).
///
/// - `NEW_PASSWORD_REQUIRED`: the answer is the new password; each attribute `a` of the
///   response is sent as `userAttributes.a`.
/// - code challenges: the answer is the code, under the challenge's own key.
/// - `SELECT_MFA_TYPE`, `SELECT_CHALLENGE`, `CUSTOM_CHALLENGE` and challenges this crate
///   does not know: the answer goes in `ANSWER`, and the response's attributes are sent as
///   further `ChallengeResponses` entries as they are (a custom challenge may want more
///   than one value).
pub(crate) fn answer<'a>(name: &str, response: &'a ChallengeResponse) -> Params<'a> {
    let answer = Cow::Borrowed(response.answer.secret());
    let mut params = Params::new();
    match name {
        NEW_PASSWORD_REQUIRED => {
            params.insert(Cow::Borrowed("NEW_PASSWORD"), answer);
            for (attribute, value) in &response.attributes {
                let key = if attribute.starts_with("userAttributes.") {
                    Cow::Borrowed(attribute.as_str())
                } else {
                    Cow::Owned(format!("userAttributes.{attribute}"))
                };
                params.insert(key, Cow::Borrowed(value.as_str()));
            }
            return params;
        }
        SMS_MFA => params.insert(Cow::Borrowed("SMS_MFA_CODE"), answer),
        SMS_OTP => params.insert(Cow::Borrowed("SMS_OTP_CODE"), answer),
        EMAIL_OTP => params.insert(Cow::Borrowed("EMAIL_OTP_CODE"), answer),
        SOFTWARE_TOKEN_MFA => params.insert(Cow::Borrowed("SOFTWARE_TOKEN_MFA_CODE"), answer),
        _ => params.insert(Cow::Borrowed("ANSWER"), answer),
    };
    for (key, value) in &response.attributes {
        params.entry(Cow::Borrowed(key.as_str())).or_insert(Cow::Borrowed(value.as_str()));
    }
    params
}

/// `otpauth://totp/<issuer>:<account>?secret=<secret>&issuer=<issuer>`, the URI
/// authenticator apps read from a QR code (Google's Key Uri Format).
pub(crate) fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> SecretString {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let issuer = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
    let account = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
    let secret = utf8_percent_encode(secret, NON_ALPHANUMERIC);
    SecretString::new(format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period=30"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn kinds() {
        let p = params(&[
            ("requiredAttributes", r#"["userAttributes.name","userAttributes.email"]"#),
            ("userAttributes", r#"{"email":"a@b"}"#),
        ]);
        assert_eq!(
            kind(NEW_PASSWORD_REQUIRED, &p).unwrap(),
            ChallengeKind::NewPasswordRequired {
                required_attributes: vec!["name".into(), "email".into()]
            }
        );
        let p = params(&[("requiredAttributes", "[]")]);
        assert_eq!(
            kind(NEW_PASSWORD_REQUIRED, &p).unwrap(),
            ChallengeKind::NewPasswordRequired { required_attributes: vec![] }
        );
        let p = params(&[("CODE_DELIVERY_DESTINATION", "+*******1234")]);
        assert_eq!(
            kind(SMS_MFA, &p).unwrap(),
            ChallengeKind::SmsMfa { destination: Some("+*******1234".into()) }
        );
        assert_eq!(
            kind(SMS_OTP, &p).unwrap(),
            ChallengeKind::SmsOtp { destination: Some("+*******1234".into()) }
        );
        assert_eq!(
            kind(EMAIL_OTP, &BTreeMap::new()).unwrap(),
            ChallengeKind::EmailOtp { destination: None }
        );
        let p = params(&[("MFAS_CAN_CHOOSE", r#"["SMS_MFA","WEB_AUTHN","SOFTWARE_TOKEN_MFA"]"#)]);
        assert_eq!(
            kind(SELECT_MFA_TYPE, &p).unwrap(),
            ChallengeKind::SelectMfaType { options: vec![MfaType::Sms, MfaType::Totp] }
        );
        assert_eq!(kind("WEB_AUTHN", &BTreeMap::new()).unwrap(), ChallengeKind::Other);
        let bad = params(&[("MFAS_CAN_CHOOSE", "SMS_MFA")]);
        assert!(matches!(kind(SELECT_MFA_TYPE, &bad), Err(CognitoError::Protocol(_))));
    }

    #[test]
    fn answers() {
        let response = ChallengeResponse::answer("N3w-Passw0rd!")
            .with_attribute("name", "Alice")
            .with_attribute("userAttributes.family_name", "Liddell");
        let answer = answer(NEW_PASSWORD_REQUIRED, &response);
        let pairs: Vec<(&str, &str)> =
            answer.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(
            pairs,
            [
                ("NEW_PASSWORD", "N3w-Passw0rd!"),
                ("userAttributes.family_name", "Liddell"),
                ("userAttributes.name", "Alice"),
            ]
        );
        let code = ChallengeResponse::answer("123456");
        assert_eq!(super::answer(SOFTWARE_TOKEN_MFA, &code)["SOFTWARE_TOKEN_MFA_CODE"], "123456");
        assert_eq!(super::answer(SMS_MFA, &code)["SMS_MFA_CODE"], "123456");
        assert_eq!(super::answer(EMAIL_OTP, &code)["EMAIL_OTP_CODE"], "123456");
        assert_eq!(super::answer(SMS_OTP, &code)["SMS_OTP_CODE"], "123456");
        let custom = ChallengeResponse::answer("42").with_attribute("EXTRA", "x");
        let answer = super::answer(CUSTOM_CHALLENGE, &custom);
        assert_eq!(answer["ANSWER"], "42");
        assert_eq!(answer["EXTRA"], "x");
        // An attribute cannot overwrite the answer itself.
        let sneaky = ChallengeResponse::answer("real").with_attribute("ANSWER", "fake");
        assert_eq!(super::answer(CUSTOM_CHALLENGE, &sneaky)["ANSWER"], "real");
    }

    #[test]
    fn otpauth_uri_is_encoded() {
        let uri = otpauth_uri("My App", "alice@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri.secret(),
            "otpauth://totp/My%20App:alice%40example%2Ecom?secret=JBSWY3DPEHPK3PXP&issuer=My%20App&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{uri:?}"), "SecretString([redacted])");
    }
}
