//! [`CognitoAuth`]: an `AuthClient` for a Cognito user pool (and optionally an identity
//! pool) with offline handling that needs no wiring.

use std::sync::Arc;
use std::time::Duration;

use auth_connectivity::{NetworkConnectivity, NetworkConnectivityBuilder};
use auth_core::{
    AuthClient, AuthClientBuilder, Clock, Connectivity, DynTokenStore, TransportObserver,
};

use crate::error::CognitoError;
use crate::identity_pool::CognitoIdentityPoolBuilder;
use crate::user_pool::CognitoUserPoolBuilder;

/// Assembles an [`AuthClient`] from a configured user pool (and optionally an identity
/// pool), a token store and, by default, auth-connectivity's [`NetworkConnectivity`]: it
/// probes the pools' endpoints, learns from every call the providers make (they report
/// their transport outcomes to it) and from the OS's network events. So the client's
/// offline rules (requests block while offline instead of failing, nobody is signed out
/// because the network is down, refreshes resume when it returns) work with no code of the
/// app's own.
#[derive(Debug)]
#[non_exhaustive]
pub struct CognitoAuth;

impl CognitoAuth {
    /// Starts from a configured user pool (endpoint, timeouts, devices, ...).
    pub fn builder(user_pool: CognitoUserPoolBuilder) -> CognitoAuthBuilder {
        CognitoAuthBuilder {
            user_pool,
            identity_pool: None,
            connectivity: None,
            tune: None,
            client: AuthClient::builder(),
        }
    }
}

/// Tweaks the default connectivity before it starts, e.g. its backoff.
type Tune = Box<dyn FnOnce(NetworkConnectivityBuilder) -> NetworkConnectivityBuilder + Send>;

/// Configures the [`AuthClient`] [`CognitoAuth`] builds.
#[must_use]
pub struct CognitoAuthBuilder {
    user_pool: CognitoUserPoolBuilder,
    identity_pool: Option<CognitoIdentityPoolBuilder>,
    connectivity: Option<Arc<dyn Connectivity>>,
    tune: Option<Tune>,
    /// The client's own settings (store, clock, margins, waits, guests), kept by
    /// auth-core's builder until the providers and the connectivity are added.
    client: AuthClientBuilder,
}

crate::builder::debug_fields!(CognitoAuthBuilder(&self) {
    identity_pool: self.identity_pool.is_some(),
    custom_connectivity: self.connectivity.is_some(),
    client: self.client,
    ..
});

impl CognitoAuthBuilder {
    /// Adds an identity pool, for AWS credentials.
    pub fn identity_pool(mut self, identity_pool: CognitoIdentityPoolBuilder) -> Self {
        self.identity_pool = Some(identity_pool);
        self
    }

    /// Where the session lives between runs (default: in memory).
    pub fn token_store(mut self, store: DynTokenStore) -> Self {
        self.client = self.client.token_store(store);
        self
    }

    /// Uses this connectivity source instead of the default [`NetworkConnectivity`]
    /// (e.g. auth-core's `AlwaysOnline` for a server).
    pub fn connectivity(mut self, connectivity: Arc<dyn Connectivity>) -> Self {
        self.connectivity = Some(connectivity);
        self
    }

    /// Adjusts the default [`NetworkConnectivity`] (backoff, intervals, extra probes)
    /// before it is built; the pools' endpoints are already added.
    pub fn tune_connectivity(
        mut self,
        tune: impl FnOnce(NetworkConnectivityBuilder) -> NetworkConnectivityBuilder + Send + 'static,
    ) -> Self {
        self.tune = Some(Box::new(tune));
        self
    }

    /// The clock expiry is judged by (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.client = self.client.clock(clock);
        self
    }

    /// How long before expiry tokens and credentials count as expired (default 5 minutes).
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.client = self.client.expiry_margin(margin);
        self
    }

    /// How long a blocked request may wait (for a re-sign-in or the network) before it
    /// fails; by default it waits until something changes.
    pub fn sign_in_wait_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.client = self.client.sign_in_wait_timeout(timeout);
        self
    }

    /// Whether guests get unauthenticated AWS credentials (needs an identity pool).
    pub fn guest_access(mut self, enabled: bool) -> Self {
        self.client = self.client.guest_access(enabled);
        self
    }

    /// Builds the providers, the connectivity source and the client. Call
    /// [`AuthClient::initialize`] next. With the default connectivity this must run inside
    /// a Tokio runtime (its probes are tasks).
    pub fn build(self) -> Result<AuthClient, CognitoError> {
        let mut user_pool = self.user_pool;
        let mut identity_pool = self.identity_pool;
        let connectivity: Arc<dyn Connectivity> = match self.connectivity {
            Some(connectivity) => connectivity,
            None => {
                let mut builder =
                    NetworkConnectivity::builder().endpoint(user_pool.resolved_endpoint()?);
                if let Some(identity_pool) = &identity_pool {
                    builder = builder.endpoint(identity_pool.resolved_endpoint()?);
                }
                if let Some(tune) = self.tune {
                    builder = tune(builder);
                }
                let network = builder.build().map_err(|error| {
                    CognitoError::invalid(format!("the default connectivity: {error}"))
                })?;
                let observer: Arc<dyn TransportObserver> = network.observer();
                user_pool = user_pool.transport_observer(Arc::clone(&observer));
                identity_pool = identity_pool.map(|pool| pool.transport_observer(observer));
                Arc::new(network)
            }
        };
        let mut client =
            self.client.identity_provider(Arc::new(user_pool.build()?)).connectivity(connectivity);
        if let Some(identity_pool) = identity_pool {
            client = client.credentials_provider(Arc::new(identity_pool.build()?));
        }
        Ok(client.build())
    }
}
