//! STS-like temporary credentials, issued by GetCredentialsForIdentity. Nothing is stored
//! per credential: the session token carries the access key id, the secret, the identity,
//! the role and the expiry, sealed under a key of this server ([`crate::seal`]), and the mock
//! S3 opens it to check SigV4 signatures. So the server's memory does not grow with the
//! credentials it issues (the soak run's million sign-ins grew it by about 700 bytes per
//! credential while they were stored), and expired credentials are told from unknown ones
//! for as long as they are shown. A bounded index of the most recent ones serves inspection
//! (`GET /_mock/identity/credentials/{key}`, `MockServer::credentials_owner`).

use std::collections::{HashMap, VecDeque};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::seal::{SEAL_NONCE_LEN, Sealer};

/// How real session tokens start; the sealed state follows it.
const SESSION_TOKEN_PREFIX: &str = "IQoJb3JpZ2luX2Vj";
/// The sealed state's length before encryption, so a session token is 416 characters:
/// the prefix, then base64 of the nonce, this and the 16-byte tag (300 bytes).
const SEALED_LEN: usize = 300 - SEAL_NONCE_LEN - 16;
/// Issued credentials the inspection index remembers; older ones drop out of it (S3 still
/// accepts them until they expire). Tests inspect credentials right after fetching them;
/// an index of 10,000 (a few MB of strings) was part of the 20.8 MiB the soak's million
/// sign-ins grew resident memory by after their first 10,000.
pub(crate) const RECENT_CREDENTIALS: usize = 4_096;

/// What a session token carries (short names: the token travels with every S3 request).
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// Access key id.
    k: String,
    /// Secret access key.
    s: String,
    /// Identity id.
    i: String,
    /// Role ARN.
    r: String,
    /// Expiry, epoch seconds on the server clock.
    e: u64,
}

/// Who credentials were issued to, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CredentialsInfo {
    pub(crate) identity_id: String,
    pub(crate) role_arn: String,
    /// Epoch seconds on the server clock.
    pub(crate) expires_at: u64,
}

/// Credentials a session token carries.
pub(crate) struct OpenedCredentials {
    pub(crate) secret_access_key: String,
    pub(crate) info: CredentialsInfo,
}

impl std::fmt::Debug for OpenedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedCredentials")
            .field("secret_access_key", &"[redacted]")
            .field("info", &self.info)
            .finish()
    }
}

/// Why a session token does not go with an access key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The token is this server's but was issued with another access key id.
    OtherKey,
    /// The token is not one this server issued (or was altered).
    Malformed,
}

/// The sealing key and the inspection index.
pub(crate) struct CredentialsBook {
    sealer: Sealer,
    recent: HashMap<String, CredentialsInfo>,
    /// Access key ids in the order they were issued, to drop the oldest from `recent`.
    order: VecDeque<String>,
}

impl std::fmt::Debug for CredentialsBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsBook")
            .field("recent", &self.recent.len())
            .finish_non_exhaustive()
    }
}

impl Default for CredentialsBook {
    fn default() -> Self {
        Self::with_sealer(Sealer::random())
    }
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[(rng.next_u32() as usize) % alphabet.len()] as char).collect()
}

impl CredentialsBook {
    fn with_sealer(sealer: Sealer) -> Self {
        Self { sealer, recent: HashMap::new(), order: VecDeque::new() }
    }

    /// Issues credentials for an identity; returns the `Credentials` shape.
    pub(crate) fn issue(&mut self, identity_id: &str, role_arn: &str, expires_at: u64) -> Value {
        // STS temporary keys: `ASIA` and 16 characters of upper-case base32; 40-character secrets.
        let access_key_id = format!("ASIA{}", random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        let secret =
            random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
        let sealed = Sealed {
            k: access_key_id.clone(),
            s: secret.clone(),
            i: identity_id.to_owned(),
            r: role_arn.to_owned(),
            e: expires_at,
        };
        let mut plain = serde_json::to_vec(&sealed).unwrap_or_default();
        // Padded (JSON allows trailing spaces) so tokens keep one length whatever the
        // identity and role: the 416 characters they had when they were random bytes.
        if plain.len() < SEALED_LEN {
            plain.resize(SEALED_LEN, b' ');
        }
        let (nonce, tag) = self.sealer.seal(SESSION_TOKEN_PREFIX.as_bytes(), &mut plain);
        let session_token = format!(
            "{SESSION_TOKEN_PREFIX}{}",
            STANDARD.encode([&nonce[..], &plain, &tag].concat())
        );
        self.remember(
            access_key_id.clone(),
            CredentialsInfo {
                identity_id: identity_id.to_owned(),
                role_arn: role_arn.to_owned(),
                expires_at,
            },
        );
        json!({
            "AccessKeyId": access_key_id,
            "SecretKey": secret,
            "SessionToken": session_token,
            "Expiration": expires_at,
        })
    }

    fn remember(&mut self, access_key_id: String, info: CredentialsInfo) {
        if self.recent.len() >= RECENT_CREDENTIALS {
            while let Some(oldest) = self.order.pop_front() {
                if self.recent.remove(&oldest).is_some() {
                    break;
                }
            }
        }
        self.order.push_back(access_key_id.clone());
        self.recent.insert(access_key_id, info);
    }

    /// The credentials `session_token` carries, if it was issued with `access_key_id`.
    pub(crate) fn open(
        &self,
        access_key_id: &str,
        session_token: &str,
    ) -> Result<OpenedCredentials, Refusal> {
        let encoded = session_token.strip_prefix(SESSION_TOKEN_PREFIX).ok_or(Refusal::Malformed)?;
        let mut bytes = STANDARD.decode(encoded).map_err(|_| Refusal::Malformed)?;
        if bytes.len() < SEAL_NONCE_LEN {
            return Err(Refusal::Malformed);
        }
        let mut sealed = bytes.split_off(SEAL_NONCE_LEN);
        let nonce: [u8; SEAL_NONCE_LEN] = bytes.try_into().map_err(|_| Refusal::Malformed)?;
        let plain = self
            .sealer
            .open(SESSION_TOKEN_PREFIX.as_bytes(), nonce, &mut sealed)
            .ok_or(Refusal::Malformed)?;
        let sealed: Sealed = serde_json::from_slice(plain).map_err(|_| Refusal::Malformed)?;
        if sealed.k != access_key_id {
            return Err(Refusal::OtherKey);
        }
        Ok(OpenedCredentials {
            secret_access_key: sealed.s,
            info: CredentialsInfo {
                identity_id: sealed.i,
                role_arn: sealed.r,
                expires_at: sealed.e,
            },
        })
    }

    /// Recently issued credentials, by access key id (inspection only).
    pub(crate) fn recent(&self, access_key_id: &str) -> Option<&CredentialsInfo> {
        self.recent.get(access_key_id)
    }

    /// The state file's part: the sealing key (base64url) and the unexpired index entries.
    pub(crate) fn snapshot(&self, now: u64) -> (String, Vec<(String, CredentialsInfo)>) {
        let recent = self
            .order
            .iter()
            .filter_map(|key| Some((key.clone(), self.recent.get(key)?.clone())))
            .filter(|(_, info)| info.expires_at > now)
            .collect();
        (self.sealer.export(), recent)
    }

    /// Restores a snapshot; a missing or unusable key (a state file from before sealed
    /// credentials) gets a fresh one, so earlier credentials are refused and clients fetch
    /// new ones.
    pub(crate) fn restore(key: Option<&str>, recent: Vec<(String, CredentialsInfo)>) -> Self {
        let mut book =
            Self::with_sealer(key.and_then(Sealer::import).unwrap_or_else(Sealer::random));
        for (access_key_id, info) in recent {
            book.remember(access_key_id, info);
        }
        book
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_token_opens_only_with_its_own_key_id() {
        let mut book = CredentialsBook::default();
        let issued = book.issue("us-east-1:id", "arn:aws:iam::0:role/r", 100);
        let key = issued["AccessKeyId"].as_str().unwrap();
        let token = issued["SessionToken"].as_str().unwrap();
        let opened = book.open(key, token).unwrap();
        assert_eq!(opened.secret_access_key, issued["SecretKey"].as_str().unwrap());
        assert_eq!(opened.info.identity_id, "us-east-1:id");
        assert_eq!(opened.info.expires_at, 100);
        assert_eq!(token.len(), 416);
        assert_eq!(book.open("ASIAOTHER", token).unwrap_err(), Refusal::OtherKey);
        assert_eq!(book.open(key, "IQoJb3JpZ2luX2Vjforged").unwrap_err(), Refusal::Malformed);
        assert_eq!(book.open(key, "nonsense").unwrap_err(), Refusal::Malformed);
        let mut altered = token.to_owned();
        altered.replace_range(40..41, if &token[40..41] == "A" { "B" } else { "A" });
        assert_eq!(book.open(key, &altered).unwrap_err(), Refusal::Malformed);
        assert!(CredentialsBook::default().open(key, token).is_err(), "another server's key");
        let (exported, recent) = book.snapshot(0);
        let restored = CredentialsBook::restore(Some(&exported), recent);
        assert!(restored.open(key, token).is_ok());
        assert_eq!(restored.recent(key).unwrap().identity_id, "us-east-1:id");
    }

    #[test]
    fn the_index_keeps_only_the_most_recent() {
        let mut book = CredentialsBook::default();
        let first = book.issue("a", "r", 100)["AccessKeyId"].as_str().unwrap().to_owned();
        for _ in 0..RECENT_CREDENTIALS {
            book.issue("b", "r", 100);
        }
        assert!(book.recent(&first).is_none());
        assert_eq!(book.recent.len(), RECENT_CREDENTIALS);
        assert!(book.order.len() <= RECENT_CREDENTIALS);
    }
}
