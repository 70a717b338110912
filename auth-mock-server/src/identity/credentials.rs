//! STS-like temporary credentials: issued by GetCredentialsForIdentity, recorded so the mock S3
//! can check the SigV4 signatures made with them.

use rand::RngCore as _;
use serde_json::{Value, json};

use super::IdentityState;
use crate::wire::{CognitoError, OpResult};

/// Credentials kept this long past their expiry (so S3 answers `ExpiredToken`, not
/// `InvalidAccessKeyId`), then swept.
const KEEP_EXPIRED_SECONDS: u64 = 86_400;
/// Most credential records kept at once.
const MAX_CREDENTIALS: usize = 500_000;

/// A set of credentials the identity pool issued.
#[derive(Clone)]
pub(crate) struct IssuedCredentials {
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    /// Epoch seconds on the server clock.
    pub(crate) expires_at: u64,
    pub(crate) identity_id: String,
    pub(crate) role_arn: String,
}

impl std::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("secret_access_key", &"[redacted]")
            .field("session_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("identity_id", &self.identity_id)
            .field("role_arn", &self.role_arn)
            .finish()
    }
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[(rng.next_u32() as usize) % alphabet.len()] as char).collect()
}

/// Issues credentials for an identity and records them; returns the `Credentials` shape.
pub(crate) fn issue(
    state: &mut IdentityState,
    identity_id: &str,
    role_arn: &str,
    now: u64,
) -> OpResult<Value> {
    state.credentials_since_sweep += 1;
    if state.credentials_since_sweep >= 1024 || state.credentials.len() >= MAX_CREDENTIALS {
        state.credentials_since_sweep = 0;
        state.credentials.retain(|_, c| c.expires_at.saturating_add(KEEP_EXPIRED_SECONDS) > now);
    }
    if state.credentials.len() >= MAX_CREDENTIALS {
        return Err(CognitoError::new(
            "TooManyRequestsException",
            "auth-mock-server keeps at most 500000 live credentials; reset the server.",
        ));
    }
    // STS temporary keys: `ASIA` and 16 characters of upper-case base32; 40-character secrets.
    let access_key_id = format!("ASIA{}", random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let secret =
        random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
    let session_token = {
        use base64::Engine as _;
        let mut bytes = vec![0u8; 300];
        rand::rng().fill_bytes(&mut bytes);
        // Real session tokens are base64 and start like this one.
        format!("IQoJb3JpZ2luX2Vj{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    };
    let expires_at = now.saturating_add(state.credentials_seconds);
    state.credentials.insert(
        access_key_id.clone(),
        IssuedCredentials {
            secret_access_key: secret.clone(),
            session_token: session_token.clone(),
            expires_at,
            identity_id: identity_id.to_owned(),
            role_arn: role_arn.to_owned(),
        },
    );
    Ok(json!({
        "AccessKeyId": access_key_id,
        "SecretKey": secret,
        "SessionToken": session_token,
        "Expiration": expires_at,
    }))
}
