//! Refreshing tokens and AWS credentials, each in a task of its own, so a caller that
//! gives up (drops its future) does not cancel the refresh others are waiting for.

use std::sync::Arc;

use super::{Core, Inner};
use crate::error::{AuthError, ProviderError, ServiceErrorKind};
use crate::machine::{Event, Phase};
use crate::secret::ProviderToken;
use crate::types::{AwsCredentials, IdentityId, Logins, StoredSession, UserPoolTokens};

impl Inner {
    pub(super) fn spawn_token_refresh(self: &Arc<Self>, core: &Core) {
        let inner = Arc::clone(self);
        let session = core.session.user_pool.clone();
        let epoch = core.epoch;
        tokio::spawn(async move {
            let result = match (&inner.identity_provider, session) {
                (Some(provider), Some(session)) if session.tokens.refresh_token().is_some() => {
                    let provider = Arc::clone(provider);
                    // The provider runs in a task of its own so that a panic in it becomes
                    // an error here instead of a refresh that never ends.
                    let refreshed = tokio::spawn(async move {
                        let result = provider.refresh(&session).await;
                        result.map(|tokens| tokens.or_refresh_token(session.tokens.refresh_token()))
                    })
                    .await;
                    refreshed.unwrap_or_else(|_| {
                        Err(ProviderError::Protocol("the identity provider panicked".into()))
                    })
                }
                (Some(_), Some(_)) => Err(ProviderError::rejected(
                    ServiceErrorKind::Other("NoRefreshToken".into()),
                    "the session has no refresh token",
                )),
                _ => Err(ProviderError::Unsupported("refresh without an identity provider".into())),
            };
            match result {
                Ok(tokens) => {
                    let change = |session: &mut StoredSession| {
                        if let Some(user_pool) = session.user_pool.as_mut() {
                            user_pool.tokens = tokens.clone();
                        }
                    };
                    inner
                        .commit(epoch, change, |inner, core| {
                            if let Some(user_pool) = &core.session.user_pool {
                                inner.note_clock_drift(user_pool.tokens.issued_at());
                            }
                            core.tokens.refreshed += 1;
                            inner.apply(core, Event::TokenRefreshSucceeded);
                        })
                        .await;
                }
                Err(error) => {
                    let mut core = inner.lock();
                    if core.epoch != epoch {
                        // A sign-in or sign-out happened meanwhile; this result belongs to
                        // a session that no longer exists.
                        return;
                    }
                    if error.is_rejected() {
                        tracing::info!(%error, "the refresh token was rejected; waiting for a new sign-in");
                        inner.apply(&mut core, Event::TokenRefreshRejected);
                    } else {
                        tracing::warn!(%error, "token refresh failed; the session is kept");
                        core.tokens.error = Some(error.into());
                        inner.sync_connectivity(&mut core);
                        inner.apply(&mut core, Event::TokenRefreshFailed);
                    }
                }
            }
        });
    }

    pub(super) fn spawn_credentials_refresh(self: &Arc<Self>, core: &Core) {
        let inner = Arc::clone(self);
        let epoch = core.epoch;
        tokio::spawn(async move {
            match inner.fetch_credentials().await {
                Ok((identity, credentials, logins_key)) => {
                    let change = |session: &mut StoredSession| {
                        session.identity_id = Some(identity.clone());
                        session.aws_credentials = Some(credentials.clone());
                    };
                    inner
                        .commit(epoch, change, |inner, core| {
                            if let Some(credentials) = &core.session.aws_credentials {
                                inner.note_clock_drift(credentials.issued_at);
                            }
                            core.identity_logins = Some(logins_key);
                            core.credentials.refreshed += 1;
                            inner.apply(core, Event::CredentialsRefreshSucceeded);
                        })
                        .await;
                }
                Err(error) => {
                    let mut core = inner.lock();
                    if core.epoch != epoch {
                        return;
                    }
                    let rejected = matches!(&error, AuthError::Provider(e) if e.is_rejected());
                    tracing::warn!(%error, "AWS credentials refresh failed");
                    core.credentials.error = Some(error);
                    let event = if rejected {
                        Event::CredentialsRefreshRejected
                    } else {
                        inner.sync_connectivity(&mut core);
                        Event::CredentialsRefreshFailed
                    };
                    inner.apply(&mut core, event);
                }
            }
        });
    }

    async fn fetch_credentials(
        self: &Arc<Self>,
    ) -> Result<(IdentityId, AwsCredentials, String), AuthError> {
        let provider = self
            .credentials_provider
            .clone()
            .ok_or(AuthError::NotConfigured("a credentials provider"))?;
        let (kind, federated, identity, identity_logins) = {
            let core = self.lock();
            (
                core.machine.phase.clone(),
                core.session.federated.clone(),
                core.session.identity_id.clone(),
                core.identity_logins.clone(),
            )
        };
        let logins: Logins = match (&kind, federated) {
            (Phase::UserPool { .. }, _) => {
                let idp = self
                    .identity_provider
                    .as_ref()
                    .ok_or(AuthError::NotConfigured("an identity provider"))?;
                let tokens = match self.valid::<UserPoolTokens>() {
                    Some(tokens) => tokens,
                    None => self.wait_fresh::<UserPoolTokens>(false).await?,
                };
                Logins::from([(idp.logins_key(), ProviderToken::new(tokens.id_token().secret()))])
            }
            (Phase::Federated { .. }, Some(federated)) => {
                Logins::from([(federated.provider, federated.token)])
            }
            _ => Logins::new(),
        };
        let logins_key = logins.keys().next().cloned().unwrap_or_default();
        let identity = match identity {
            Some(identity) if identity_logins.as_deref() == Some(logins_key.as_str()) => identity,
            current => {
                spawn_provider(provider.clone(), {
                    let logins = logins.clone();
                    move |p| async move { p.identity_id(&logins, current.as_ref()).await }
                })
                .await?
            }
        };
        let credentials = spawn_provider(provider, {
            let identity = identity.clone();
            move |p| async move { p.credentials(&identity, &logins).await }
        })
        .await?;
        Ok((identity, credentials, logins_key))
    }
}

/// Runs a provider call in a task of its own, turning a panic into an error.
async fn spawn_provider<P, F, Fut, T>(provider: P, call: F) -> Result<T, AuthError>
where
    P: Send + 'static,
    F: FnOnce(P) -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>> + Send + 'static,
    T: Send + 'static,
{
    match tokio::spawn(call(provider)).await {
        Ok(result) => result.map_err(AuthError::from),
        Err(_) => Err(ProviderError::Protocol("the credentials provider panicked".into()).into()),
    }
}
