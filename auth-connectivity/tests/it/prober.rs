//! The prober's schedule, with Tokio's paused clock (no real waiting, no timing flakiness):
//! backoff while offline, reset once online, prompt re-probes after transport failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use auth_connectivity::{Backoff, NetworkConnectivity, Probe};
use auth_core::{Connectivity, TransportObserver, TransportOutcome};
use tokio::sync::watch;
use tokio::time::Instant;

/// A probe whose answer the test sets, recording when it was asked.
#[derive(Debug, Default)]
struct FakeProbe {
    reachable: AtomicBool,
    calls: std::sync::Mutex<Vec<Instant>>,
}

impl FakeProbe {
    fn new(reachable: bool) -> Arc<Self> {
        Arc::new(Self { reachable: AtomicBool::new(reachable), calls: Default::default() })
    }

    fn set(&self, reachable: bool) {
        self.reachable.store(reachable, Ordering::SeqCst);
    }

    fn calls(&self) -> Vec<Instant> {
        self.calls.lock().unwrap().clone()
    }

    /// The waits between consecutive probes, in whole seconds.
    fn gaps(&self) -> Vec<u64> {
        self.calls().windows(2).map(|w| (w[1] - w[0]).as_secs()).collect()
    }
}

#[async_trait]
impl Probe for FakeProbe {
    async fn probe(&self) -> bool {
        self.calls.lock().unwrap().push(Instant::now());
        self.reachable.load(Ordering::SeqCst)
    }
}

fn connectivity(probe: &Arc<FakeProbe>, initially_online: bool) -> NetworkConnectivity {
    NetworkConnectivity::builder()
        .probe(Arc::clone(probe) as Arc<dyn Probe>)
        .backoff(Backoff::new(Duration::from_secs(1), Duration::from_secs(8)))
        .online_interval(Duration::from_secs(60))
        .watch_interfaces(false)
        .initially_online(initially_online)
        .build()
        .unwrap()
}

/// A connectivity whose probe answers `reachable`, started in the other state and handed
/// back once the first probe has turned it: the probe, the connectivity and its state.
async fn turned(reachable: bool) -> (Arc<FakeProbe>, NetworkConnectivity, watch::Receiver<bool>) {
    let probe = FakeProbe::new(reachable);
    let net = connectivity(&probe, !reachable);
    let mut state = net.subscribe();
    state.wait_for(|online| *online == reachable).await.unwrap();
    (probe, net, state)
}

#[tokio::test(start_paused = true)]
async fn offline_probes_back_off_up_to_the_cap_and_start_short_again_after_an_outage() {
    let (probe, net, mut state) = turned(false).await;
    // Probes at 0, 1, 3, 7, 15, 23 and 31 s.
    tokio::time::sleep(Duration::from_millis(31_500)).await;
    assert_eq!(probe.gaps(), [1, 2, 4, 8, 8, 8]);
    assert!(!net.is_online());

    probe.set(true);
    state.wait_for(|online| *online).await.unwrap();
    let back = probe.calls().len();
    assert_eq!(probe.gaps()[back - 2], 8, "found at the next backoff probe");

    // Online the probes are a minute apart; the next outage starts again at 1 s.
    probe.set(false);
    state.wait_for(|online| !online).await.unwrap();
    assert_eq!(probe.gaps()[back - 1], 60);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert_eq!(&probe.gaps()[back..], [1, 2]);
}

#[tokio::test(start_paused = true)]
async fn a_network_failure_marks_offline_at_once_and_probes_right_away() {
    let (probe, net, mut state) = turned(true).await;
    let before = probe.calls().len();
    let reported_at = Instant::now();

    net.report(TransportOutcome::NetworkFailed);
    assert!(!net.is_online(), "offline before any probe");
    state.wait_for(|online| *online).await.unwrap();
    // The re-probe came at once, not at the next scheduled probe a minute later.
    let calls = probe.calls();
    assert_eq!(calls.len(), before + 1);
    assert_eq!(calls[before], reported_at);

    // A failure while the probe also fails keeps it offline, with the backoff schedule.
    probe.set(false);
    net.report(TransportOutcome::NetworkFailed);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert!(!net.is_online());
    assert_eq!(&probe.gaps()[before..], [0, 1, 2]);
}

#[tokio::test(start_paused = true)]
async fn any_answer_marks_online_at_once() {
    let (_probe, net, state) = turned(false).await;
    net.observer().report(TransportOutcome::Answered);
    assert!(net.is_online());
    assert!(state.has_changed().unwrap());
}

#[tokio::test]
async fn building_needs_a_probe_and_a_runtime() {
    let none = NetworkConnectivity::builder().build().unwrap_err();
    assert!(matches!(none, auth_connectivity::ConnectivityError::NoProbes), "{none:?}");
    let bad = NetworkConnectivity::builder().endpoint("ftp://example.com/").build().unwrap_err();
    assert!(matches!(bad, auth_connectivity::ConnectivityError::InvalidEndpoint { .. }));
    let outside = std::thread::spawn(|| {
        NetworkConnectivity::builder().endpoint("http://127.0.0.1:1/").build().unwrap_err()
    })
    .join()
    .unwrap();
    assert!(matches!(outside, auth_connectivity::ConnectivityError::NoRuntime));
}
