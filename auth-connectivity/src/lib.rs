//! The default [`Connectivity`] for auth-core's `AuthClient`: it decides "online" and
//! "offline" by itself, so an app needs no reachability wiring.
//!
//! [`NetworkConnectivity`] combines three sources:
//! - **active probes** of configured endpoints ([`NetworkConnectivityBuilder::endpoint`]:
//!   an HTTP `HEAD` for `http://` URLs, a TCP connect for `https://` ones, or any
//!   [`Probe`]), repeated with exponential [`Backoff`] while offline and at a steady
//!   interval while online;
//! - **passive signals**: it is a [`TransportObserver`], so providers that report their
//!   transport outcomes (auth-cognito's do) mark it offline the moment a request fails for
//!   network reasons (and re-probe at once), and online the moment any answer arrives;
//! - **OS network-change events** (netlink on Linux, the platform's own notifications on
//!   macOS and Windows, polling of the interface list elsewhere, through `if-watch`), each
//!   of which triggers a re-probe.
//!
//! It starts online (optimistically: a first request then tries the network instead of
//! blocking) and probes right away. Its tasks stop when the last clone is dropped.
//!
//! ```no_run
//! # async fn example() -> Result<(), auth_connectivity::ConnectivityError> {
//! use std::sync::Arc;
//! let connectivity = auth_connectivity::NetworkConnectivity::builder()
//!     .endpoint("https://cognito-idp.eu-west-1.amazonaws.com/")
//!     .build()?;
//! let client = auth_core::AuthClient::builder().connectivity(Arc::new(connectivity)).build();
//! # drop(client);
//! # Ok(())
//! # }
//! ```
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod backoff;
mod probe;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{Connectivity, TransportObserver, TransportOutcome};
use futures_util::StreamExt as _;
use tokio::sync::{Notify, watch};

pub use self::backoff::Backoff;
pub use self::probe::{HttpHeadProbe, Probe, TcpProbe, probe_for_endpoint};

/// Why a [`NetworkConnectivity`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectivityError {
    /// An endpoint is not an `http://` or `https://` URL with a host.
    #[error("endpoint `{endpoint}` cannot be probed: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing to probe: without probes, connectivity lost could never be seen to return.
    #[error("no endpoint or probe configured")]
    NoProbes,
    /// `build` was called outside a Tokio runtime, where the probe tasks cannot run.
    #[error("must be built inside a Tokio runtime")]
    NoRuntime,
}

/// Decides whether the device is online from probes, transport reports and OS network
/// events (see the crate docs). Cheap to clone; clones share the state and the tasks.
#[derive(Clone)]
pub struct NetworkConnectivity {
    shared: Arc<Shared>,
}

struct Shared {
    state: Arc<watch::Sender<bool>>,
    reprobe: Arc<Notify>,
    /// Dropped with the last clone, which ends the tasks.
    _shutdown: watch::Sender<()>,
}

impl fmt::Debug for NetworkConnectivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkConnectivity")
            .field("online", &*self.shared.state.borrow())
            .finish_non_exhaustive()
    }
}

impl NetworkConnectivity {
    /// Starts configuring one.
    pub fn builder() -> NetworkConnectivityBuilder {
        NetworkConnectivityBuilder::new()
    }

    /// Asks for a probe now (e.g. when the app comes to the foreground), without waiting
    /// for the next scheduled one.
    pub fn reprobe(&self) {
        self.shared.reprobe.notify_one();
    }

    /// This source as the observer providers report their transport outcomes to.
    pub fn observer(&self) -> Arc<dyn TransportObserver> {
        Arc::new(self.clone())
    }
}

impl Connectivity for NetworkConnectivity {
    fn subscribe(&self) -> watch::Receiver<bool> {
        self.shared.state.subscribe()
    }

    fn is_online(&self) -> bool {
        *self.shared.state.borrow()
    }
}

impl TransportObserver for NetworkConnectivity {
    fn report(&self, outcome: TransportOutcome) {
        match outcome {
            TransportOutcome::Answered => set_online(&self.shared.state, true),
            TransportOutcome::NetworkFailed => {
                // Offline at once, so requests block instead of failing one after another;
                // a probe right away finds out whether it was more than one lost request.
                set_online(&self.shared.state, false);
                self.shared.reprobe.notify_one();
            }
            // `TransportOutcome` may grow; an outcome not understood says nothing.
            _ => {}
        }
    }
}

fn set_online(state: &watch::Sender<bool>, online: bool) {
    let changed = state.send_if_modified(|current| std::mem::replace(current, online) != online);
    if changed {
        tracing::info!(online, "connectivity changed");
    }
}

/// Configures a [`NetworkConnectivity`].
#[derive(Debug)]
#[must_use]
pub struct NetworkConnectivityBuilder {
    endpoints: Vec<String>,
    probes: Vec<Arc<dyn Probe>>,
    backoff: Backoff,
    online_interval: Duration,
    probe_timeout: Duration,
    watch_interfaces: bool,
    initially_online: bool,
}

impl NetworkConnectivityBuilder {
    fn new() -> Self {
        Self {
            endpoints: Vec::new(),
            probes: Vec::new(),
            backoff: Backoff::default(),
            online_interval: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(5),
            watch_interfaces: true,
            initially_online: true,
        }
    }

    /// Probes the host of `endpoint` (typically the identity provider's): an HTTP `HEAD`
    /// for `http://` URLs, a TCP connect for `https://` ones (reaching the host is the
    /// question; a TLS handshake would only add cost). Checked by
    /// [`build`](Self::build).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoints.push(endpoint.into());
        self
    }

    /// Adds a probe of the app's own. The device counts as online when any probe succeeds.
    pub fn probe(mut self, probe: Arc<dyn Probe>) -> Self {
        self.probes.push(probe);
        self
    }

    /// How long to wait between probes while offline (default: 1 s doubling up to 30 s).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long to wait between probes while online (default 60 s): transport reports and
    /// OS events catch most changes sooner.
    pub fn online_interval(mut self, interval: Duration) -> Self {
        self.online_interval = interval;
        self
    }

    /// How long one probe may take before it counts as failed (default 5 s).
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Whether OS network-change events trigger re-probes (default true).
    pub fn watch_interfaces(mut self, enabled: bool) -> Self {
        self.watch_interfaces = enabled;
        self
    }

    /// The state before the first probe has answered (default online, so a first request
    /// tries the network rather than blocking).
    pub fn initially_online(mut self, online: bool) -> Self {
        self.initially_online = online;
        self
    }

    /// Checks the configuration and starts probing (and watching the OS's network
    /// events). Must be called inside a Tokio runtime.
    pub fn build(self) -> Result<NetworkConnectivity, ConnectivityError> {
        let mut probes = self.probes;
        for endpoint in &self.endpoints {
            probes.push(probe_for_endpoint(endpoint)?);
        }
        if probes.is_empty() {
            return Err(ConnectivityError::NoProbes);
        }
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ConnectivityError::NoRuntime)?;
        let state = Arc::new(watch::Sender::new(self.initially_online));
        let reprobe = Arc::new(Notify::new());
        let (shutdown, shutdown_rx) = watch::channel(());
        let prober = Prober {
            probes,
            backoff: self.backoff,
            online_interval: self.online_interval,
            probe_timeout: self.probe_timeout,
            state: Arc::clone(&state),
            reprobe: Arc::clone(&reprobe),
        };
        runtime.spawn(prober.run(shutdown_rx.clone()));
        if self.watch_interfaces {
            runtime.spawn(watch_interfaces(Arc::clone(&reprobe), shutdown_rx));
        }
        Ok(NetworkConnectivity { shared: Arc::new(Shared { state, reprobe, _shutdown: shutdown }) })
    }
}

/// The active side: probes, then waits (the backoff while offline, the steady interval
/// while online, or less if asked to re-probe), until shut down.
struct Prober {
    probes: Vec<Arc<dyn Probe>>,
    backoff: Backoff,
    online_interval: Duration,
    probe_timeout: Duration,
    state: Arc<watch::Sender<bool>>,
    reprobe: Arc<Notify>,
}

impl Prober {
    async fn run(mut self, mut shutdown: watch::Receiver<()>) {
        loop {
            let online = self.probe_once().await;
            set_online(&self.state, online);
            let wait = if online {
                self.backoff.reset();
                self.online_interval
            } else {
                self.backoff.next_delay()
            };
            tracing::debug!(
                online,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "connectivity probed"
            );
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.reprobe.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// True if any probe succeeds within the timeout.
    async fn probe_once(&self) -> bool {
        for probe in &self.probes {
            if let Ok(true) = tokio::time::timeout(self.probe_timeout, probe.probe()).await {
                return true;
            }
        }
        false
    }
}

/// The OS side: every change of the network interfaces' addresses asks for a re-probe.
async fn watch_interfaces(reprobe: Arc<Notify>, mut shutdown: watch::Receiver<()>) {
    let mut watcher = match if_watch::tokio::IfWatcher::new() {
        Ok(watcher) => watcher,
        Err(error) => {
            // Probes and transport reports still work; changes are only seen later.
            tracing::warn!(%error, "cannot watch network interfaces; relying on probes");
            return;
        }
    };
    loop {
        tokio::select! {
            event = watcher.next() => match event {
                Some(Ok(event)) => {
                    tracing::debug!(?event, "network interfaces changed; re-probing");
                    reprobe.notify_one();
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "watching network interfaces failed; relying on probes");
                    return;
                }
                None => return,
            },
            _ = shutdown.changed() => return,
        }
    }
}
