use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::env::Clock;
use crate::error::{ProviderError, ServiceErrorKind};
use crate::jwt::UnverifiedClaims;
use crate::provider::CredentialsProvider;
use crate::secret::{SecretAccessKey, SessionToken};
use crate::types::{AwsCredentials, IdentityId, Logins};

/// How many times each method of a fake credentials provider was called.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeCredentialsCalls {
    /// `identity_id` calls.
    pub identity_id: usize,
    /// `credentials` calls.
    pub credentials: usize,
}

/// A scriptable in-memory identity pool: one identity per login (provider + `sub`), guest
/// identities that merge into the first login that claims them, credentials whose lifetime
/// follows the given clock, JWT logins rejected once expired or revoked, network failures on
/// demand, and call counters. Clones share state.
#[derive(Clone, Debug)]
pub struct FakeCredentialsProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    identity_calls: AtomicUsize,
    credentials_calls: AtomicUsize,
}

#[derive(Debug)]
struct State {
    allow_guests: bool,
    lifetime: Duration,
    identities: BTreeMap<String, IdentityId>,
    revoked: BTreeSet<String>,
    network_down: bool,
    scripted: VecDeque<ProviderError>,
    serial: u64,
    offered_for_merge: Vec<Option<IdentityId>>,
    stamp_issue_time: bool,
}

impl FakeCredentialsProvider {
    /// A pool that allows guests and issues 1-hour credentials.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                state: Mutex::new(State {
                    allow_guests: true,
                    lifetime: Duration::from_secs(3600),
                    identities: BTreeMap::new(),
                    revoked: BTreeSet::new(),
                    network_down: false,
                    scripted: VecDeque::new(),
                    serial: 0,
                    offered_for_merge: Vec::new(),
                    stamp_issue_time: true,
                }),
                identity_calls: AtomicUsize::new(0),
                credentials_calls: AtomicUsize::new(0),
            }),
        }
    }

    /// Whether unauthenticated identities are allowed.
    pub fn set_allow_guests(&self, allow: bool) {
        self.state().allow_guests = allow;
    }

    /// Sets the lifetime of credentials issued from now on.
    pub fn set_lifetime(&self, lifetime: Duration) {
        self.state().lifetime = lifetime;
    }

    /// Whether issued credentials carry the pool's time of issue (`issued_at`, as a real
    /// provider reads from the answer's `Date`); on by default.
    pub fn set_stamp_issue_time(&self, stamp: bool) {
        self.state().stamp_issue_time = stamp;
    }

    /// Makes the pool reject `token` from now on (as if the provider revoked it).
    pub fn revoke_token(&self, token: &str) {
        self.state().revoked.insert(token.to_owned());
    }

    /// While `false`, every call fails with a network error.
    pub fn set_network_available(&self, available: bool) {
        self.state().network_down = !available;
    }

    /// Makes the next call fail with `error`.
    pub fn fail_next(&self, error: ProviderError) {
        self.state().scripted.push_back(error);
    }

    /// The `current` identity passed to each `identity_id` call, in order: what the client
    /// offered to merge into the signed-in identity.
    pub fn offered_for_merge(&self) -> Vec<Option<IdentityId>> {
        self.state().offered_for_merge.clone()
    }

    /// The call counters.
    pub fn calls(&self) -> FakeCredentialsCalls {
        FakeCredentialsCalls {
            identity_id: self.inner.identity_calls.load(Ordering::SeqCst),
            credentials: self.inner.credentials_calls.load(Ordering::SeqCst),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks the network and the logins; returns the login keys (provider + subject).
    fn check(&self, logins: &Logins) -> Result<Vec<String>, ProviderError> {
        let now = self.inner.clock.now();
        let mut state = self.state();
        if let Some(error) = state.scripted.pop_front() {
            return Err(error);
        }
        if state.network_down {
            return Err(ProviderError::network("fake identity pool: network unavailable"));
        }
        if logins.is_empty() && !state.allow_guests {
            return Err(ProviderError::rejected(
                ServiceErrorKind::NotAuthorized,
                "Unauthenticated access is not supported",
            ));
        }
        let mut keys = Vec::new();
        for (provider, token) in logins {
            if state.revoked.contains(token.secret()) {
                return Err(ProviderError::rejected(
                    ServiceErrorKind::NotAuthorized,
                    "Invalid login token.",
                ));
            }
            let subject = match UnverifiedClaims::decode(token.secret()) {
                Ok(claims) => {
                    if claims.expires_at().map_or(true, |exp| exp <= now) {
                        return Err(ProviderError::rejected(
                            ServiceErrorKind::NotAuthorized,
                            "Invalid login token. Token expired.",
                        ));
                    }
                    claims.string("sub").unwrap_or_default().to_owned()
                }
                // Opaque tokens (e.g. Facebook access tokens) identify themselves.
                Err(_) => token.secret().to_owned(),
            };
            keys.push(format!("{provider}/{subject}"));
        }
        Ok(keys)
    }
}

#[async_trait]
impl CredentialsProvider for FakeCredentialsProvider {
    async fn identity_id(
        &self,
        logins: &Logins,
        current: Option<&IdentityId>,
    ) -> Result<IdentityId, ProviderError> {
        self.inner.identity_calls.fetch_add(1, Ordering::SeqCst);
        self.state().offered_for_merge.push(current.cloned());
        let keys = self.check(logins)?;
        let mut state = self.state();
        if let Some(known) = keys.iter().find_map(|key| state.identities.get(key)) {
            return Ok(known.clone());
        }
        let identity = match current {
            // A guest identity is merged into the first login that claims it.
            Some(current) if !state.identities.values().any(|id| id == current) => current.clone(),
            _ => {
                state.serial += 1;
                IdentityId::new(format!("us-east-1:00000000-0000-0000-0000-{:012}", state.serial))
            }
        };
        for key in keys {
            state.identities.insert(key, identity.clone());
        }
        Ok(identity)
    }

    async fn credentials(
        &self,
        identity_id: &IdentityId,
        logins: &Logins,
    ) -> Result<AwsCredentials, ProviderError> {
        self.inner.credentials_calls.fetch_add(1, Ordering::SeqCst);
        let keys = self.check(logins)?;
        let now = self.inner.clock.now();
        let mut state = self.state();
        if keys.iter().any(|key| state.identities.get(key).is_some_and(|id| id != identity_id)) {
            return Err(ProviderError::rejected(
                ServiceErrorKind::NotAuthorized,
                "Logins don't match the identity",
            ));
        }
        state.serial += 1;
        let credentials = AwsCredentials::new(
            format!("ASIAFAKE{:012}", state.serial),
            SecretAccessKey::new(format!("fake-secret-{}", state.serial)),
            Some(SessionToken::new(format!("fake-session-{}", state.serial))),
            Some(now + state.lifetime),
        );
        Ok(if state.stamp_issue_time { credentials.with_issued_at(now) } else { credentials })
    }
}
