//! Reading JWT claims without verifying them.
//!
//! The client only needs a token's expiry and a few identifying claims to decide whether
//! to refresh; trust decisions belong to the party that *receives* a token, and signature
//! verification lives in `auth-cognito`'s verifier. Nothing here must ever be used to
//! authorise anything.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Why a token's claims could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The token does not have three dot-separated parts.
    #[error("not a JWT: expected three dot-separated parts")]
    NotAJwt,
    /// The payload is not base64url.
    #[error("JWT payload is not base64url")]
    BadEncoding,
    /// The payload is not a JSON object.
    #[error("JWT payload is not a JSON object")]
    BadJson,
    /// A required claim is missing or has the wrong type.
    #[error("JWT claim `{0}` is missing or not of the expected type")]
    BadClaim(&'static str),
}

/// A JSON numeric date (seconds since the Unix epoch, possibly fractional, as in JWT
/// claims and AWS JSON timestamps) as a point in time; `None` if negative, not finite or
/// out of range.
pub fn time_from_epoch_seconds(seconds: f64) -> Option<SystemTime> {
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|since_epoch| UNIX_EPOCH.checked_add(since_epoch))
}

/// A JWT's claims, read by name: what [`UnverifiedClaims`] and a verifier's checked claims
/// (auth-cognito's `VerifiedClaims`) both hold, and offer through `Deref`.
#[derive(Clone, Default, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// A string claim such as `sub`, `iss`, `token_use` or `cognito:username`.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// Any claim, as JSON.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// All claims, as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The claims' names, without their values.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

impl From<Map<String, Value>> for Claims {
    fn from(claims: Map<String, Value>) -> Self {
        Self(claims)
    }
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Claims are personal data (email, phone), not secrets; still, print only names.
        f.debug_struct("Claims").field("names", &self.names()).finish()
    }
}

/// The decoded (unverified) claims of a JWT; [`Claims`]' readers apply.
#[derive(Clone, PartialEq)]
pub struct UnverifiedClaims {
    claims: Claims,
}

impl std::ops::Deref for UnverifiedClaims {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.claims
    }
}

impl std::fmt::Debug for UnverifiedClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedClaims").field("names", &self.claims.names()).finish()
    }
}

impl UnverifiedClaims {
    /// Decodes the payload of `jwt` without checking its signature.
    pub fn decode(jwt: &str) -> Result<Self, ClaimsError> {
        let mut parts = jwt.split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ClaimsError::NotAJwt);
        };
        // Some issuers pad base64url; the JWS spec says they must not, but be lenient.
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| ClaimsError::BadEncoding)?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(claims)) => Ok(Self { claims: Claims(claims) }),
            _ => Err(ClaimsError::BadJson),
        }
    }

    /// The `exp` claim as a point in time.
    pub fn expires_at(&self) -> Result<SystemTime, ClaimsError> {
        self.time_claim("exp")
    }

    /// A numeric-date claim (`exp`, `iat`, `auth_time`, `nbf`) as a point in time.
    pub fn time_claim(&self, name: &'static str) -> Result<SystemTime, ClaimsError> {
        self.claims
            .get(name)
            .and_then(Value::as_f64)
            .and_then(time_from_epoch_seconds)
            .ok_or(ClaimsError::BadClaim(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn reads_exp_and_strings() {
        let claims = UnverifiedClaims::decode(&jwt(r#"{"exp":1700000000,"sub":"abc"}"#)).unwrap();
        assert_eq!(claims.expires_at().unwrap(), UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_eq!(claims.string("sub"), Some("abc"));
        assert_eq!(claims.string("nope"), None);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert_eq!(UnverifiedClaims::decode("abc"), Err(ClaimsError::NotAJwt));
        assert_eq!(UnverifiedClaims::decode("a.b.c.d"), Err(ClaimsError::NotAJwt));
        assert_eq!(UnverifiedClaims::decode("a.!!!.c"), Err(ClaimsError::BadEncoding));
        assert_eq!(UnverifiedClaims::decode(&jwt("[1]")), Err(ClaimsError::BadJson));
        let claims = UnverifiedClaims::decode(&jwt(r#"{"exp":"soon"}"#)).unwrap();
        assert_eq!(claims.expires_at(), Err(ClaimsError::BadClaim("exp")));
        let claims = UnverifiedClaims::decode(&jwt(r#"{"exp":-5}"#)).unwrap();
        assert_eq!(claims.expires_at(), Err(ClaimsError::BadClaim("exp")));
        let claims = UnverifiedClaims::decode(&jwt(r#"{"exp":1e300}"#)).unwrap();
        assert_eq!(claims.expires_at(), Err(ClaimsError::BadClaim("exp")));
    }
}
