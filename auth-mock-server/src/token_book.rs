//! Issued-token bookkeeping that does not grow with the number of sign-ins.
//!
//! - A refresh token carries its own state (pool, user, `sub`, client, times, token family,
//!   device), sealed with AES-256-GCM under a key of this server (kept in the state file), in
//!   the five-part shape of Cognito's JWE refresh tokens. Nothing is stored per refresh token.
//! - An access or ID token is a JWT this server signed; it is checked by its signature and
//!   claims. A bounded cache ([`ACCESS_CACHE_ENTRIES`]) of recently seen access tokens saves
//!   the RSA verification on hot paths (GetUser & co.) and is simply cleared when full.
//! - What is stored is what a token cannot say about itself: revoked token families
//!   (RevokeToken), rotated refresh tokens (GetTokensFromRefreshToken with rotation), and per
//!   user the times before which tokens were revoked (global sign-out) or refresh tokens
//!   ended (test-control API). Revocations and rotations are kept only as long as a token
//!   they concern could still be presented, and are swept afterwards; per-user entries are
//!   bounded by the number of users.
//!
//! Token issue times are compared in milliseconds: the `jti` of every JWT is a UUIDv7 whose
//! first 48 bits are its issue time, so a sign-out and a new sign-in within the same second
//! are told apart.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::limits::UserKey;
use crate::seal::{SEAL_NONCE_LEN, Sealer};
use crate::state::{AccessRecord, RefreshRecord};

/// Access tokens remembered after a first check; beyond this the cache starts over. 14,336
/// is 7/8 of 16,384, the most a hash table of 16,384 buckets holds before it doubles: at
/// 16,384 entries the table doubled to 32,768 buckets, 16,384 more buckets of a 32-byte key
/// and a 200-byte record (3.8 MB, kept after `clear`) for 2,048 more entries. The soak's
/// million sign-ins grew resident memory by 20.8 MiB after its first 10,000, this included.
pub(crate) const ACCESS_CACHE_ENTRIES: usize = 14_336;

/// The protected header of a sealed refresh token (`{"cty":"JWT","enc":"A256GCM","alg":"dir"}`).
const REFRESH_HEADER: &str = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0";

/// What a refresh token carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshClaims {
    pub(crate) pool_id: String,
    pub(crate) username: String,
    /// The user's `sub`: a user deleted and created again under the same name is another
    /// user, whose tokens these are not.
    pub(crate) sub: String,
    pub(crate) client_id: String,
    pub(crate) issued_ms: u64,
    pub(crate) expires_at: u64,
    pub(crate) auth_time: u64,
    pub(crate) origin_jti: String,
    pub(crate) device_key: Option<String>,
    /// Identifies this refresh token among its family (rotation).
    pub(crate) jti: String,
    /// The scopes of a family the OAuth endpoints started (kept for their refresh grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scopes: Option<Vec<String>>,
}

/// Per-user cut-off times (milliseconds on the server clock): tokens issued at or before
/// them are no longer accepted.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct UserCutoffs {
    /// Every token (global sign-out, user deleted).
    all_revoked: u64,
    /// Refresh tokens revoked through the test-control API.
    refresh_revoked: u64,
    /// Refresh tokens expired through the test-control API.
    refresh_expired: u64,
    /// Refresh tokens issued since the last test-control revoke or expire (its answer).
    refresh_issued: u64,
}

/// A rotated refresh token: when it was first exchanged, and until when to remember that.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Rotation {
    at: u64,
    keep_until: u64,
}

/// The bookkeeping; lives in [`crate::state::State`].
pub(crate) struct TokenBook {
    sealer: Sealer,
    /// Revoked `origin_jti` → until when (seconds) one of its tokens could still be shown.
    revoked_families: HashMap<String, u64>,
    /// Refresh token `jti` → its rotation.
    rotated: HashMap<String, Rotation>,
    users: HashMap<UserKey, UserCutoffs>,
    /// Behind its own lock: token checks hold the state only for reading.
    access_cache: Mutex<HashMap<[u8; 32], AccessRecord>>,
}

impl std::fmt::Debug for TokenBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBook")
            .field("key", &"[redacted]")
            .field("revoked_families", &self.revoked_families.len())
            .field("rotated", &self.rotated.len())
            .field("users", &self.users.len())
            .field("access_cache", &self.access_cache.lock().len())
            .finish()
    }
}

impl Default for TokenBook {
    fn default() -> Self {
        Self::with_sealer(Sealer::random())
    }
}

/// The milliseconds in a UUIDv7 (`jti`); 0 for anything else, which then counts as issued
/// before any cut-off (only tokens of this server carry a v7 `jti`).
pub(crate) fn jti_millis(jti: &str) -> u64 {
    let hex: String = jti.chars().filter(|c| *c != '-').take(12).collect();
    if jti.len() != 36 || jti.as_bytes().get(14) != Some(&b'7') {
        return 0;
    }
    u64::from_str_radix(&hex, 16).unwrap_or(0)
}

/// A fresh UUIDv7 for `millis` (a JWT `jti`).
pub(crate) fn new_jti(millis: u64) -> String {
    let mut random = [0u8; 10];
    rand::rng().fill_bytes(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid().to_string()
}

impl TokenBook {
    fn with_sealer(sealer: Sealer) -> Self {
        Self {
            sealer,
            revoked_families: HashMap::new(),
            rotated: HashMap::new(),
            users: HashMap::new(),
            access_cache: Mutex::new(HashMap::new()),
        }
    }

    /// Seals a new refresh token.
    pub(crate) fn seal_refresh(&mut self, claims: &RefreshClaims) -> String {
        let user = UserKey::new(&claims.pool_id, &claims.username);
        let cutoffs = self.users.entry(user).or_default();
        cutoffs.refresh_issued = cutoffs.refresh_issued.saturating_add(1);
        let mut plain = serde_json::to_vec(claims).unwrap_or_default();
        let (nonce, tag) = self.sealer.seal(REFRESH_HEADER.as_bytes(), &mut plain);
        format!(
            "{REFRESH_HEADER}..{}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(&plain),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Opens a refresh token this server sealed; `None` for anything else.
    pub(crate) fn open_refresh(&self, token: &str) -> Option<RefreshClaims> {
        let mut parts = token.split('.');
        let (header, key, nonce, body, tag) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || header != REFRESH_HEADER || !key.is_empty() {
            return None;
        }
        let nonce: [u8; SEAL_NONCE_LEN] = URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
        let mut sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
        sealed.extend(URL_SAFE_NO_PAD.decode(tag).ok()?);
        let plain = self.sealer.open(REFRESH_HEADER.as_bytes(), nonce, &mut sealed)?;
        serde_json::from_slice(plain).ok()
    }

    /// A refresh token's record as the refresh flow checks it: revoked when its family was
    /// revoked or a cut-off covers it, expired early by the test-control API, and when it was
    /// rotated. `None` for a token this server did not seal.
    pub(crate) fn refresh_record(&self, token: &str) -> Option<(RefreshRecord, RefreshClaims)> {
        let claims = self.open_refresh(token)?;
        let cutoffs = self
            .users
            .get(&UserKey::new(&claims.pool_id, &claims.username))
            .copied()
            .unwrap_or_default();
        let issued = claims.issued_ms;
        let revoked = self.revoked_families.contains_key(&claims.origin_jti)
            || issued <= cutoffs.all_revoked
            || issued <= cutoffs.refresh_revoked;
        let expires_at = if issued <= cutoffs.refresh_expired {
            claims.expires_at.min(cutoffs.refresh_expired / 1000)
        } else {
            claims.expires_at
        };
        let record = RefreshRecord {
            pool_id: claims.pool_id.clone(),
            username: claims.username.clone(),
            client_id: claims.client_id.clone(),
            issued_at: issued / 1000,
            expires_at,
            auth_time: claims.auth_time,
            origin_jti: claims.origin_jti.clone(),
            device_key: claims.device_key.clone(),
            revoked,
            rotated_at: self.rotated.get(&claims.jti).map(|r| r.at),
            scopes: claims.scopes.clone(),
        };
        Some((record, claims))
    }

    /// Records the first exchange of a rotated refresh token (kept while it could be shown).
    pub(crate) fn mark_rotated(&mut self, claims: &RefreshClaims, now: u64) {
        self.rotated
            .entry(claims.jti.clone())
            .or_insert(Rotation { at: now, keep_until: claims.expires_at });
    }

    /// Revokes a token family: its refresh token and the access and ID tokens it issued.
    pub(crate) fn revoke_family(&mut self, origin_jti: &str, keep_until: u64) {
        let until = self.revoked_families.entry(origin_jti.to_owned()).or_insert(keep_until);
        *until = (*until).max(keep_until);
    }

    /// The issue time (milliseconds) to give a token of `pool_id`/`username` issued at
    /// `now_ms`: after the user's latest cut-off even when that fell in the same
    /// millisecond, since cut-offs end tokens issued "at or before" them (the soak run saw
    /// a sign-in right after a GlobalSignOut refused as revoked).
    pub(crate) fn issue_millis(&self, pool_id: &str, username: &str, now_ms: u64) -> u64 {
        let latest = self
            .users
            .get(&UserKey::new(pool_id, username))
            .map_or(0, |c| c.all_revoked.max(c.refresh_revoked).max(c.refresh_expired));
        if latest == 0 { now_ms } else { now_ms.max(latest.saturating_add(1)) }
    }

    /// Revokes every token of a user issued until `now_ms` (GlobalSignOut, deletion).
    pub(crate) fn revoke_user(&mut self, pool_id: &str, username: &str, now_ms: u64) {
        let cutoffs = self.users.entry(UserKey::new(pool_id, username)).or_default();
        cutoffs.all_revoked = now_ms;
        self.access_cache.lock().retain(|_, r| !(r.pool_id == pool_id && r.username == username));
    }

    /// Revokes (or expires) a user's refresh tokens issued until `now_ms`; returns how many
    /// were issued since the last such call.
    pub(crate) fn end_user_refresh(
        &mut self,
        pool_id: &str,
        username: &str,
        revoke: bool,
        now_ms: u64,
    ) -> usize {
        let cutoffs = self.users.entry(UserKey::new(pool_id, username)).or_default();
        if revoke {
            cutoffs.refresh_revoked = now_ms;
        } else {
            cutoffs.refresh_expired = now_ms;
        }
        usize::try_from(std::mem::take(&mut cutoffs.refresh_issued)).unwrap_or(usize::MAX)
    }

    /// Whether a token of `pool_id`/`username` from family `origin_jti`, issued at
    /// `issued_ms`, was revoked.
    pub(crate) fn revoked(
        &self,
        pool_id: &str,
        username: &str,
        origin_jti: &str,
        issued_ms: u64,
    ) -> bool {
        self.revoked_families.contains_key(origin_jti)
            || self
                .users
                .get(&UserKey::new(pool_id, username))
                .is_some_and(|c| issued_ms <= c.all_revoked)
    }

    /// Remembers a checked access token by its SHA-256.
    pub(crate) fn remember_access(&self, digest: [u8; 32], record: AccessRecord) {
        let mut cache = self.access_cache.lock();
        if cache.len() >= ACCESS_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(digest, record);
    }

    /// An access token seen before, by its SHA-256.
    pub(crate) fn cached_access(&self, digest: &[u8; 32]) -> Option<AccessRecord> {
        self.access_cache.lock().get(digest).cloned()
    }

    /// Forgets revocations and rotations no token they concern could still be shown with,
    /// and cached access tokens that expired.
    pub(crate) fn sweep(&mut self, now: u64) {
        self.revoked_families.retain(|_, until| *until > now);
        self.rotated.retain(|_, r| r.keep_until > now);
        self.access_cache.lock().retain(|_, r| r.expires_at > now);
    }

    /// Forgets the cut-offs of users `exists` no longer finds: a deleted user's tokens fail
    /// the user lookup, and those of a user created again under the name fail the `sub`
    /// check, so nothing of a deleted user needs remembering (the soak run, whose workers
    /// replace their users, showed these records growing with every deleted user).
    pub(crate) fn retain_users(&mut self, mut exists: impl FnMut(&UserKey) -> bool) {
        self.users.retain(|user, _| exists(user));
    }

    /// Stored records (revocations, rotations, per-user cut-offs), for `/_mock/stats`.
    pub(crate) fn stored(&self) -> usize {
        self.revoked_families.len() + self.rotated.len() + self.users.len()
    }

    /// Cached access tokens, for `/_mock/stats`.
    pub(crate) fn cached(&self) -> usize {
        self.access_cache.lock().len()
    }

    /// The persistent part (the access cache is rebuilt by checking tokens again).
    pub(crate) fn snapshot(&self) -> TokenBookSnapshot {
        TokenBookSnapshot {
            key: self.sealer.export(),
            revoked_families: self.revoked_families.clone().into_iter().collect(),
            rotated: self.rotated.iter().map(|(k, r)| (k.clone(), r.at, r.keep_until)).collect(),
            users: self
                .users
                .iter()
                .map(|(k, c)| (k.pool_id().to_owned(), k.username().to_owned(), *c))
                .collect(),
        }
    }

    /// Restores a snapshot; `None` when its key is unusable.
    pub(crate) fn restore(snapshot: TokenBookSnapshot) -> Option<Self> {
        let mut book = Self::with_sealer(Sealer::import(&snapshot.key)?);
        book.revoked_families = snapshot.revoked_families.into_iter().collect();
        book.rotated = snapshot
            .rotated
            .into_iter()
            .map(|(jti, at, keep_until)| (jti, Rotation { at, keep_until }))
            .collect();
        book.users = snapshot
            .users
            .into_iter()
            .map(|(pool, user, c)| (UserKey::new(&pool, &user), c))
            .collect();
        Some(book)
    }
}

/// What the state file keeps of a [`TokenBook`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TokenBookSnapshot {
    /// The refresh-token sealing key (base64url): without it, refresh tokens issued before a
    /// restart could not be opened after it.
    key: String,
    revoked_families: Vec<(String, u64)>,
    rotated: Vec<(String, u64, u64)>,
    users: Vec<(String, String, UserCutoffs)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str, issued_ms: u64) -> RefreshClaims {
        RefreshClaims {
            pool_id: "us-east-1_x".into(),
            username: "alice".into(),
            sub: "sub-1".into(),
            client_id: "client".into(),
            issued_ms,
            expires_at: 1_000,
            auth_time: 1,
            origin_jti: "family".into(),
            device_key: None,
            jti: jti.into(),
            scopes: None,
        }
    }

    #[test]
    fn refresh_tokens_open_only_with_their_key_and_unaltered() {
        let mut book = TokenBook::default();
        let token = book.seal_refresh(&claims("a", 5));
        assert_eq!(token.split('.').count(), 5, "the shape of Cognito's JWE refresh tokens");
        let opened = book.open_refresh(&token).expect("opens");
        assert_eq!((opened.username.as_str(), opened.issued_ms), ("alice", 5));
        assert!(TokenBook::default().open_refresh(&token).is_none(), "another server's key");
        let mut altered = token.clone().into_bytes();
        let at = token.rfind('.').unwrap() - 2;
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        assert!(book.open_refresh(&String::from_utf8(altered).unwrap()).is_none());
        assert!(book.open_refresh("not.a.refresh.token.at-all").is_none());
        let restored = TokenBook::restore(book.snapshot()).unwrap();
        assert!(restored.open_refresh(&token).is_some(), "the key survives the state file");
    }

    #[test]
    fn revocations_cut_off_by_issue_time_and_family() {
        let mut book = TokenBook::default();
        let old = book.seal_refresh(&claims("a", 10));
        book.revoke_user("us-east-1_x", "alice", 10);
        let new = book.seal_refresh(&claims("b", 11));
        assert!(book.refresh_record(&old).unwrap().0.revoked);
        assert!(!book.refresh_record(&new).unwrap().0.revoked);
        book.revoke_family("family", 1_000);
        assert!(book.refresh_record(&new).unwrap().0.revoked);
        assert!(book.revoked("us-east-1_x", "alice", "family", 99));
        book.sweep(1_000);
        assert!(!book.revoked("us-east-1_x", "alice", "family", 99));
        assert_eq!(book.stored(), 1, "one per-user cut-off stays");
    }

    #[test]
    fn uuid7_jti_carries_its_issue_time() {
        assert_eq!(jti_millis(&new_jti(1_700_000_000_123)), 1_700_000_000_123);
        assert_eq!(jti_millis(&uuid::Uuid::new_v4().to_string()), 0);
        assert_eq!(jti_millis("short"), 0);
    }
}
