//! Keys of the identity-pool `Logins` map: which provider vouches for a token.

use std::fmt;

use auth_core::{Logins, ProviderToken};
use reqwest::Url;

use crate::error::CognitoError;
use crate::user_pool::split_pool_id;

/// The key of one entry of an identity pool's `Logins` map, naming the provider that issued
/// the token next to it.
///
/// Pass [`key`](Self::key) as the `provider` of `AuthClient::federated_sign_in`, or build a
/// whole map with [`logins`](Self::logins) to call [`CognitoIdentityPool`](crate::CognitoIdentityPool)
/// directly. Which token goes with which key:
///
/// | provider | key | token |
/// |---|---|---|
/// | [`google`](Self::google) | `accounts.google.com` | Google ID token |
/// | [`facebook`](Self::facebook) | `graph.facebook.com` | Facebook access token |
/// | [`apple`](Self::apple) | `appleid.apple.com` | Sign in with Apple ID token |
/// | [`amazon`](Self::amazon) | `www.amazon.com` | Login with Amazon access token |
/// | [`user_pool`](Self::user_pool) | `cognito-idp.<region>.amazonaws.com/<pool id>` | the user pool's ID token |
/// | [`oidc`](Self::oidc) | the issuer without `https://` | the issuer's ID token |
/// | [`saml`](Self::saml) | the SAML provider's IAM ARN | the base64 SAML assertion |
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LoginProvider(String);

impl LoginProvider {
    /// Google: the key `accounts.google.com`, with a Google ID token.
    pub fn google() -> Self {
        Self("accounts.google.com".into())
    }

    /// Facebook: the key `graph.facebook.com`, with a Facebook *access* token.
    pub fn facebook() -> Self {
        Self("graph.facebook.com".into())
    }

    /// Sign in with Apple: the key `appleid.apple.com`, with an Apple ID token.
    pub fn apple() -> Self {
        Self("appleid.apple.com".into())
    }

    /// Login with Amazon: the key `www.amazon.com`, with an Amazon *access* token.
    pub fn amazon() -> Self {
        Self("www.amazon.com".into())
    }

    /// A Cognito user pool, `<region>_<id>`: the key
    /// `cognito-idp.<region>.amazonaws.com/<pool id>` (`.amazonaws.com.cn` in China), with
    /// the pool's ID token. `CognitoUserPool` uses the same key when `AuthClient` federates
    /// its sessions.
    pub fn user_pool(pool_id: &str) -> Result<Self, CognitoError> {
        let (region, _) = split_pool_id(pool_id)?;
        Ok(Self(user_pool_key(region, pool_id)))
    }

    /// Any OpenID Connect provider registered in IAM, by its issuer: the key is the issuer
    /// URL without `https://` and without a trailing `/` (e.g. `login.example.com`, or
    /// `auth.example.com/realms/app` for an issuer with a path). `issuer` may be the URL
    /// or already the key; an `http://` issuer (a local test issuer) keeps its host and
    /// port the same way.
    pub fn oidc(issuer: &str) -> Result<Self, CognitoError> {
        let invalid =
            |why: &str| CognitoError::invalid(format!("`{issuer}` is not an OIDC issuer: {why}"));
        let trimmed = issuer.trim();
        if trimmed.is_empty() || trimmed.chars().any(char::is_whitespace) {
            return Err(invalid("empty or contains spaces"));
        }
        let with_scheme =
            if trimmed.contains("://") { trimmed.to_owned() } else { format!("https://{trimmed}") };
        let url = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid("the issuer is an https:// URL"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(invalid("an issuer has no query, fragment or user name"));
        }
        let host = url.host_str().ok_or_else(|| invalid("no host"))?;
        let mut key = host.to_owned();
        if let Some(port) = url.port() {
            key.push_str(&format!(":{port}"));
        }
        key.push_str(url.path().trim_end_matches('/'));
        Ok(Self(key))
    }

    /// A SAML provider, by its IAM ARN (`arn:aws:iam::<account>:saml-provider/<name>`),
    /// which is also the key; the token is the base64-encoded SAML assertion.
    pub fn saml(arn: &str) -> Result<Self, CognitoError> {
        let invalid = || {
            CognitoError::invalid(format!(
                "`{arn}` is not a SAML provider ARN (arn:aws:iam::<account>:saml-provider/<name>)"
            ))
        };
        let parts: Vec<&str> = arn.split(':').collect();
        let [prefix, partition, service, region, account, resource] = parts[..] else {
            return Err(invalid());
        };
        let name = resource.strip_prefix("saml-provider/").ok_or_else(invalid)?;
        let partition_ok = partition.starts_with("aws")
            && partition.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        let name_ok = (1..=128).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
        let arn_ok = prefix == "arn" && service == "iam" && region.is_empty();
        if arn_ok && partition_ok && account_ok && name_ok {
            Ok(Self(arn.to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The key, as the `Logins` map and `AuthClient::federated_sign_in` want it.
    pub fn key(&self) -> &str {
        &self.0
    }

    /// A `Logins` map of just this provider and `token`.
    pub fn logins(&self, token: impl Into<ProviderToken>) -> Logins {
        Logins::from([(self.0.clone(), token.into())])
    }
}

impl fmt::Display for LoginProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for LoginProvider {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<LoginProvider> for String {
    fn from(provider: LoginProvider) -> Self {
        provider.0
    }
}

/// The logins key of user pool `pool_id` in `region`.
pub(crate) fn user_pool_key(region: &str, pool_id: &str) -> String {
    format!("cognito-idp.{region}.{}/{pool_id}", crate::http::dns_suffix(region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_keys() {
        assert_eq!(LoginProvider::google().key(), "accounts.google.com");
        assert_eq!(LoginProvider::facebook().key(), "graph.facebook.com");
        assert_eq!(LoginProvider::apple().key(), "appleid.apple.com");
        assert_eq!(LoginProvider::amazon().key(), "www.amazon.com");
        assert_eq!(
            LoginProvider::user_pool("eu-west-1_AbC").unwrap().key(),
            "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
        );
        assert_eq!(
            LoginProvider::user_pool("cn-north-1_AbC").unwrap().key(),
            "cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_AbC"
        );
        assert!(LoginProvider::user_pool("not-a-pool").is_err());
    }

    #[test]
    fn oidc_issuers_lose_the_scheme_and_trailing_slash() {
        for (issuer, key) in [
            ("https://login.example.com", "login.example.com"),
            ("https://login.example.com/", "login.example.com"),
            ("login.example.com", "login.example.com"),
            ("https://Auth.Example.com/realms/app/", "auth.example.com/realms/app"),
            ("http://127.0.0.1:9229/_mock/oidc", "127.0.0.1:9229/_mock/oidc"),
            ("https://example.com:443/x", "example.com/x"),
        ] {
            assert_eq!(LoginProvider::oidc(issuer).unwrap().key(), key, "{issuer}");
        }
        for bad in [
            "",
            "ftp://example.com",
            "https://example.com/?a=b",
            "https://example.com/#x",
            "https://user@example.com",
            "https://exa mple.com",
        ] {
            assert!(LoginProvider::oidc(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn saml_arns_are_checked() {
        let arn = "arn:aws:iam::123456789012:saml-provider/Corp-IdP";
        assert_eq!(LoginProvider::saml(arn).unwrap().key(), arn);
        let cn = "arn:aws-cn:iam::123456789012:saml-provider/x";
        assert!(LoginProvider::saml(cn).is_ok());
        for bad in [
            "",
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:iam::12345:saml-provider/x",
            "arn:aws:iam:us-east-1:123456789012:saml-provider/x",
            "arn:aws:s3::123456789012:saml-provider/x",
            "arn:aws:iam::123456789012:saml-provider/",
            "arn:aws:iam::123456789012:saml-provider/a/b",
        ] {
            assert!(LoginProvider::saml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logins_map() {
        let logins = LoginProvider::google().logins("token-value");
        assert_eq!(logins.len(), 1);
        assert_eq!(logins["accounts.google.com"].secret(), "token-value");
        assert!(!format!("{logins:?}").contains("token-value"));
    }
}
