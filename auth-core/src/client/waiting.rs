//! Waiting for fresh tokens or credentials: driving the machine when the cache misses,
//! then sleeping until a refresh, a sign-in, a sign-out, a release or a deadline ends the
//! wait.
//!
//! Waiting requests sleep on a `watch` channel that is bumped whenever they should look
//! again; what they look at (counts of releases, sign-outs, and each kind's completed and
//! failed refreshes) tells each waiter whether its wait ended and how.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use tokio::time::Instant;

use super::{Core, Inner};
use crate::error::AuthError;
use crate::machine::{Event, Failure, MachineState, Wait};
use crate::types::{AwsCredentials, UserPoolTokens};

/// What the client knows about the refreshes of one kind of cached value.
#[derive(Debug, Default)]
pub(super) struct RefreshTrack {
    /// Refreshes that completed and were made current.
    pub(super) refreshed: u64,
    /// Times the requests waiting for this kind were failed.
    pub(super) failed: u64,
    /// The error of the last failed refresh, reported to the requests it fails.
    pub(super) error: Option<AuthError>,
}

/// How far the per-kind counts had got when a request started waiting.
#[derive(Clone, Copy, Debug)]
struct Marks {
    released: u64,
    signed_out: u64,
    refreshed: u64,
    failed: u64,
}

/// What [`Inner::apply`] decided for the request that fed the event.
#[derive(Default)]
pub(super) struct Applied {
    pub(super) disposition: Option<Disposition>,
}

#[derive(Clone, Copy)]
pub(super) enum Disposition {
    Wait(Wait),
    Fail(Failure),
}

/// A value `AuthClient` caches and refreshes: user-pool tokens or AWS credentials.
pub(super) trait Cached: Clone + Send + Sync + 'static {
    /// What it is, for logs.
    const WHAT: &'static str;
    /// The client's cache of it.
    fn cache(inner: &Inner) -> &ArcSwapOption<Self>;
    /// What the client knows about its refreshes.
    fn track(core: &Core) -> &RefreshTrack;
    /// Whether the machine has a refresh of it in flight.
    fn refreshing(machine: &MachineState) -> bool;
    /// The event that reports a cache miss for it.
    fn needed(inner: &Inner, core: &Core) -> Event;
    /// Whether it is still valid at `now`, `margin` before its expiry.
    fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool;
}

impl Cached for UserPoolTokens {
    const WHAT: &'static str = "tokens";
    fn cache(inner: &Inner) -> &ArcSwapOption<Self> {
        &inner.tokens
    }
    fn track(core: &Core) -> &RefreshTrack {
        &core.tokens
    }
    fn refreshing(machine: &MachineState) -> bool {
        machine.token_refresh()
    }
    fn needed(_: &Inner, _: &Core) -> Event {
        Event::TokensNeeded
    }
    fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool {
        UserPoolTokens::is_valid_at(self, now, margin)
    }
}

impl Cached for AwsCredentials {
    const WHAT: &'static str = "AWS credentials";
    fn cache(inner: &Inner) -> &ArcSwapOption<Self> {
        &inner.credentials
    }
    fn track(core: &Core) -> &RefreshTrack {
        &core.credentials
    }
    fn refreshing(machine: &MachineState) -> bool {
        machine.credentials_refresh
    }
    fn needed(inner: &Inner, core: &Core) -> Event {
        let now = inner.now();
        let federated_token_valid =
            core.session.federated.as_ref().is_none_or(|f| f.is_valid_at(now, inner.margin));
        Event::CredentialsNeeded { federated_token_valid }
    }
    fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool {
        AwsCredentials::is_valid_at(self, now, margin)
    }
}

/// Why a wait ended well.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ready {
    /// The cache is valid.
    Valid,
    /// A refresh for this request completed: use its result as it is.
    JustRefreshed,
}

impl Inner {
    /// The cached `T`, if it is valid for at least the margin (the hot path: no lock).
    pub(super) fn valid<T: Cached>(&self) -> Option<T> {
        let guard = T::cache(self).load();
        let value = guard.as_deref()?;
        value.is_valid_at(self.now(), self.margin).then(|| value.clone())
    }

    /// Waits for `T`'s cache to be valid ([`Inner::wait_for`]) and returns its value. A
    /// value a refresh has just delivered is returned even if this device's clock already
    /// finds it expired; otherwise, if the clock moved past expiry since the wait ended,
    /// it waits again.
    pub(super) async fn wait_fresh<T: Cached>(
        self: &Arc<Self>,
        forced: bool,
    ) -> Result<T, AuthError> {
        loop {
            let ready = Inner::wait_for::<T>(self, forced).await?;
            let guard = T::cache(self).load();
            let Some(value) = guard.as_deref() else { return Err(AuthError::NotSignedIn) };
            let valid = value.is_valid_at(self.now(), Duration::ZERO);
            if ready == Ready::JustRefreshed && !valid {
                tracing::warn!(
                    what = T::WHAT,
                    "fresh values look expired by this device's clock; using them anyway"
                );
            }
            if valid || ready == Ready::JustRefreshed {
                return Ok(value.clone());
            }
        }
    }

    /// Waits until the cache for `T` is valid, driving the machine as needed.
    /// With `forced`, the cache counts only once a refresh has completed after the call
    /// began (a refresh already in flight is joined).
    async fn wait_for<T: Cached>(self: &Arc<Self>, forced: bool) -> Result<Ready, AuthError> {
        let mut deadline: Option<Instant> = None;
        // A forced wait needs a refresh that started after the call: one already in flight
        // may have been sent before whatever made the caller ask (e.g. an attribute
        // change), so it must complete and one more must follow.
        let (started, needed) = {
            let core = self.lock();
            let in_flight = T::refreshing(&core.machine);
            (T::track(&core).refreshed, if forced && in_flight { 2 } else { 1 })
        };
        let enough = |core: &Core| T::track(core).refreshed - started >= needed;
        loop {
            let (mut wake, ticket) = {
                let mut core = self.lock();
                let cached = self.valid::<T>().is_some();
                let refreshed_since_start = enough(&core);
                if cached && (!forced || refreshed_since_start) {
                    return Ok(Ready::Valid);
                }
                if forced && refreshed_since_start {
                    return Ok(Ready::JustRefreshed);
                }
                let event = T::needed(self, &core);
                let wait = match self.apply(&mut core, event).disposition {
                    Some(Disposition::Wait(wait)) => wait,
                    Some(Disposition::Fail(failure)) => return Err(failure_error(failure, None)),
                    None => return Err(AuthError::NotSignedIn),
                };
                // Subscribe under the lock: any change after this point wakes us.
                (self.wake.subscribe(), Ticket::new::<T>(self, &mut core, wait))
            };
            if ticket.blocked() && deadline.is_none() {
                deadline = self.sign_in_wait_timeout.map(|timeout| Instant::now() + timeout);
            }
            let woke = match deadline.filter(|_| ticket.blocked()) {
                Some(deadline) => tokio::time::timeout_at(deadline, wake.changed()).await.ok(),
                None => Some(wake.changed().await),
            };
            let core = self.lock();
            if woke.is_none() {
                return Err(AuthError::SignInWaitTimedOut);
            }
            if let Some(error) = ticket.ended::<T>(&core) {
                return Err(error);
            }
            if ticket.refreshed::<T>(&core) && (!forced || enough(&core)) {
                // A refresh completed for this request. What it got may look expired or
                // nearly so (a lifetime shorter than the margin, or a device clock far off
                // with no drift estimate yet): it is as fresh as the service makes it, so
                // it is used rather than refreshed again, which would never end.
                return Ok(Ready::JustRefreshed);
            }
            // Otherwise look again: the cache may be valid now, or the state has changed.
        }
    }
}

/// What a waiting request saw when it started waiting.
struct Ticket {
    wait: Wait,
    marks: Marks,
    inner: Arc<Inner>,
}

impl Ticket {
    fn new<T: Cached>(inner: &Arc<Inner>, core: &mut Core, wait: Wait) -> Self {
        let track = T::track(core);
        let marks = Marks {
            released: core.released,
            signed_out: core.signed_out,
            refreshed: track.refreshed,
            failed: track.failed,
        };
        let ticket = Ticket { wait, marks, inner: Arc::clone(inner) };
        if ticket.blocked() {
            core.blocked += 1;
        }
        ticket
    }

    fn blocked(&self) -> bool {
        matches!(self.wait, Wait::ForSignIn | Wait::ForConnectivity)
    }

    /// True if a refresh of what the request wants succeeded since it started waiting.
    fn refreshed<T: Cached>(&self, core: &Core) -> bool {
        T::track(core).refreshed != self.marks.refreshed
    }

    /// The error that ended this wait, if one did.
    fn ended<T: Cached>(&self, core: &Core) -> Option<AuthError> {
        if core.signed_out != self.marks.signed_out {
            return Some(AuthError::SignedOut);
        }
        if self.blocked() && core.released != self.marks.released {
            return Some(AuthError::SignInWaitReleased);
        }
        let track = T::track(core);
        (track.failed != self.marks.failed)
            .then(|| failure_error(Failure::RefreshFailed, track.error.clone()))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.blocked() {
            self.inner.lock().blocked -= 1;
        }
    }
}

pub(super) fn failure_error(failure: Failure, refresh_error: Option<AuthError>) -> AuthError {
    match failure {
        Failure::NotInitialized => AuthError::NotInitialized,
        Failure::NotSignedIn => AuthError::NotSignedIn,
        Failure::Released => AuthError::SignInWaitReleased,
        Failure::SignedOut => AuthError::SignedOut,
        Failure::AlreadySignedIn => AuthError::AlreadySignedIn,
        Failure::RefreshFailed => refresh_error.unwrap_or(AuthError::NotSignedIn),
        // `Failure` is non-exhaustive only for users of the machine; this crate knows all.
        #[allow(unreachable_patterns, reason = "Failure is non_exhaustive for other crates only")]
        _ => AuthError::NotSignedIn,
    }
}
