//! Against the local Cognito: the default probes see an outage made with the mock's `*`
//! drop-connection fault as a client would, and see it end.

use std::sync::Arc;
use std::time::Duration;

use auth_connectivity::{
    Backoff, NetworkConnectivity, NetworkConnectivityBuilder, Probe, TcpProbe,
};
use auth_core::{Connectivity, TransportObserver, TransportOutcome};
use auth_mock_server::{Fault, MockServer, MockServerHandle};
use tokio::sync::watch;

/// Generous: the machine is shared and noisy; the schedule itself is tested with paused time.
const DEADLINE: Duration = Duration::from_secs(30);

async fn until(state: &mut watch::Receiver<bool>, online: bool) {
    tokio::time::timeout(DEADLINE, state.wait_for(|now| *now == online))
        .await
        .unwrap_or_else(|_| panic!("connectivity never became online={online}"))
        .unwrap();
}

fn quick(builder: NetworkConnectivityBuilder) -> NetworkConnectivity {
    builder
        .backoff(Backoff::new(Duration::from_millis(50), Duration::from_millis(400)))
        .probe_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// The default probes of `server`, every `online_interval` while online.
fn probing(server: &MockServerHandle, online_interval: Duration) -> NetworkConnectivityBuilder {
    NetworkConnectivity::builder().endpoint(server.url()).online_interval(online_interval)
}

#[tokio::test]
async fn an_outage_of_the_identity_provider_is_seen_and_so_is_its_end() {
    let server = MockServer::builder().start().await.unwrap();
    let net = quick(probing(&server, Duration::from_millis(100)).initially_online(false));
    let mut state = net.subscribe();
    until(&mut state, true).await;

    server.add_fault(Fault::drop_connection("*"));
    until(&mut state, false).await;
    assert!(!net.is_online());

    server.clear_faults();
    until(&mut state, true).await;
    assert!(net.is_online());
}

#[tokio::test]
async fn a_reported_network_failure_during_an_outage_goes_offline_at_once_and_recovers_by_probing()
{
    let server = MockServer::builder().start().await.unwrap();
    // Scheduled probes while online are an hour apart: only the report can find the outage.
    let net = quick(probing(&server, Duration::from_secs(3600)));
    let mut state = net.subscribe();
    assert!(net.is_online());
    server.add_fault(Fault::drop_connection("*"));
    net.report(TransportOutcome::NetworkFailed);
    assert!(!net.is_online());
    // The prompt re-probe confirms the outage: it stays offline while the fault lasts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!net.is_online());
    server.clear_faults();
    until(&mut state, true).await;
}

#[tokio::test]
async fn the_tcp_probe_sees_a_closed_port() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let probe = TcpProbe::new("127.0.0.1", port);
    assert!(probe.probe().await);
    drop(listener);
    assert!(!probe.probe().await);
    let net = quick(NetworkConnectivity::builder().probe(Arc::new(probe)).initially_online(true));
    let mut state = net.subscribe();
    until(&mut state, false).await;
}

/// The mock made unreachable and reachable again with its outage fault.
struct OutageFixture {
    server: MockServerHandle,
    connectivity: NetworkConnectivity,
}

#[async_trait::async_trait]
impl auth_core::testing::conformance::connectivity::ConnectivityFixture for OutageFixture {
    fn source(&self) -> Arc<dyn Connectivity> {
        Arc::new(self.connectivity.clone())
    }
    async fn go_offline(&self) {
        self.server.add_fault(Fault::drop_connection("*"));
    }
    async fn go_online(&self) {
        self.server.clear_faults();
    }
}

#[tokio::test]
async fn network_connectivity_conforms() {
    let server = MockServer::builder().start().await.unwrap();
    let connectivity = quick(probing(&server, Duration::from_millis(100)));
    let fixture = OutageFixture { server, connectivity };
    auth_core::testing::conformance::connectivity::run_all(&fixture).await;
}
