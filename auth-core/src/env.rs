//! The client's view of its environment: the network ([`Connectivity`]) and time
//! ([`Clock`]). Both are traits so tests (and apps with their own reachability source)
//! can drive them.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Whether the device can reach the network, and when that changes.
///
/// The client never decides "offline" from a failed request alone: a failed request is
/// reported to its caller, while this source decides when requests block and when they
/// resume.
pub trait Connectivity: fmt::Debug + Send + Sync + 'static {
    /// A receiver whose value is `true` while online; it changes when connectivity does.
    fn subscribe(&self) -> watch::Receiver<bool>;

    /// True while online.
    fn is_online(&self) -> bool {
        *self.subscribe().borrow()
    }
}

/// What one exchange with a service came to, as the transport saw it: the passive signal
/// a [`TransportObserver`] receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportOutcome {
    /// The service answered (with success or with an error): the network works.
    Answered,
    /// No answer arrived: connecting failed, the connection dropped or timed out.
    NetworkFailed,
}

/// Receives the outcome of every exchange a provider has with its service, so a
/// connectivity source can learn from traffic it did not send itself: a network failure
/// can mark the device offline at once and any answer online, without waiting for the
/// next probe.
///
/// Providers call [`report`](TransportObserver::report) from their request path: it must
/// be quick and must not block or await.
pub trait TransportObserver: fmt::Debug + Send + Sync + 'static {
    /// Takes note of one exchange's outcome.
    fn report(&self, outcome: TransportOutcome);
}

/// A connectivity source that is always online: the default, for servers and tools.
#[derive(Debug)]
pub struct AlwaysOnline {
    sender: watch::Sender<bool>,
}

impl AlwaysOnline {
    /// A source that never goes offline.
    pub fn new() -> Self {
        Self { sender: watch::Sender::new(true) }
    }
}

impl Default for AlwaysOnline {
    fn default() -> Self {
        Self::new()
    }
}

impl Connectivity for AlwaysOnline {
    fn subscribe(&self) -> watch::Receiver<bool> {
        self.sender.subscribe()
    }

    fn is_online(&self) -> bool {
        true
    }
}

/// A connectivity source the app (or a test) switches: wire the platform's reachability
/// callbacks to [`set_online`](ManualConnectivity::set_online). Clones share the state.
#[derive(Clone, Debug)]
pub struct ManualConnectivity {
    sender: Arc<watch::Sender<bool>>,
}

impl ManualConnectivity {
    /// A source starting `online` or not.
    pub fn new(online: bool) -> Self {
        Self { sender: Arc::new(watch::Sender::new(online)) }
    }

    /// Switches connectivity; subscribers are told only when the value changes.
    pub fn set_online(&self, online: bool) {
        self.sender.send_if_modified(|current| std::mem::replace(current, online) != online);
    }
}

impl Connectivity for ManualConnectivity {
    fn subscribe(&self) -> watch::Receiver<bool> {
        self.sender.subscribe()
    }

    fn is_online(&self) -> bool {
        *self.sender.borrow()
    }
}

/// Wall-clock time, for comparing with token expiry. Waits (deadlines) use the async
/// runtime's timer instead.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::exhaustive_structs, reason = "a unit struct that will never hold fields")]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to. Clones share the time; reads are lock-free.
#[derive(Clone, Debug)]
pub struct ManualClock {
    nanos_since_epoch: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock set to `start` (clamped to the range a `u64` of nanoseconds since the epoch
    /// can hold, about 1970 to 2554).
    pub fn new(start: SystemTime) -> Self {
        Self { nanos_since_epoch: Arc::new(AtomicU64::new(to_nanos(start))) }
    }

    /// Sets the time.
    pub fn set(&self, now: SystemTime) {
        self.nanos_since_epoch.store(to_nanos(now), Ordering::Release);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .nanos_since_epoch
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| Some(n.saturating_add(by)));
    }
}

fn to_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos_since_epoch.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.clone().advance(Duration::from_secs(5));
        assert_eq!(clock.now(), start + Duration::from_secs(5));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[tokio::test]
    async fn manual_connectivity_notifies_changes_only() {
        let net = ManualConnectivity::new(true);
        let mut rx = net.subscribe();
        net.set_online(true);
        assert!(!rx.has_changed().unwrap());
        net.set_online(false);
        rx.changed().await.unwrap();
        assert!(!*rx.borrow_and_update());
        assert!(!net.is_online());
    }
}
