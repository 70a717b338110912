//! The identity-pool part of the state file: pools, identities, issued credentials, registered
//! provider tokens, and the signing keys of the OpenID tokens and hosted OIDC issuers (so tokens
//! minted before a restart still verify after it). S3 objects are not saved.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::{Identity, IdentityPool, IdentityState, IssuedCredentials, ProviderToken};
use crate::Shared;
use crate::state::Object;

/// Everything of the identity side a restart needs.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct IdentitySnapshot {
    pools: Vec<PoolSnapshot>,
    identities: Vec<IdentityRecord>,
    credentials: Vec<CredentialsRecord>,
    credentials_seconds: Option<u64>,
    provider_tokens: Vec<ProviderTokenRecord>,
    /// PKCS#8 DER, base64.
    openid_key: Option<String>,
    oidc_issuers: Vec<crate::oidc::IssuerSnapshot>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PoolSnapshot {
    id: String,
    settings: Object,
    roles: BTreeMap<String, String>,
    role_mappings: Object,
}

#[derive(Debug, Serialize, Deserialize)]
struct IdentityRecord {
    id: String,
    pool_id: String,
    logins: Vec<(String, String)>,
    created: f64,
    modified: f64,
}

#[derive(Serialize, Deserialize)]
struct CredentialsRecord {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expires_at: u64,
    identity_id: String,
    role_arn: String,
}

impl std::fmt::Debug for CredentialsRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsRecord")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ProviderTokenRecord {
    provider: String,
    token: String,
    subject: String,
    app_id: Option<String>,
    expires_at: u64,
}

/// The identity side as it stands (expired credentials and tokens left out).
pub(crate) fn snapshot(shared: &Shared) -> IdentitySnapshot {
    let now = shared.clock.now_secs();
    let state = shared.identity.state.read();
    IdentitySnapshot {
        pools: state
            .pools
            .values()
            .map(|p| PoolSnapshot {
                id: p.id.clone(),
                settings: p.settings.clone(),
                roles: p.roles.clone(),
                role_mappings: p.role_mappings.clone(),
            })
            .collect(),
        identities: state
            .identities
            .values()
            .map(|i| IdentityRecord {
                id: i.id.clone(),
                pool_id: i.pool_id.clone(),
                logins: i.logins.iter().cloned().collect(),
                created: i.created,
                modified: i.modified,
            })
            .collect(),
        credentials: state
            .credentials
            .iter()
            .filter(|(_, c)| c.expires_at > now)
            .map(|(key, c)| CredentialsRecord {
                access_key_id: key.clone(),
                secret_access_key: c.secret_access_key.clone(),
                session_token: c.session_token.clone(),
                expires_at: c.expires_at,
                identity_id: c.identity_id.clone(),
                role_arn: c.role_arn.clone(),
            })
            .collect(),
        credentials_seconds: Some(state.credentials_seconds),
        provider_tokens: state
            .provider_tokens
            .iter()
            .filter(|(_, t)| t.expires_at > now)
            .map(|((provider, token), t)| ProviderTokenRecord {
                provider: provider.clone(),
                token: token.clone(),
                subject: t.subject.clone(),
                app_id: t.app_id.clone(),
                expires_at: t.expires_at,
            })
            .collect(),
        openid_key: shared.identity.openid_key.pkcs8().map(|der| STANDARD.encode(der)),
        oidc_issuers: shared.oidc.snapshot(),
    }
}

/// Restores a snapshot into an empty server.
pub(crate) fn restore(shared: &Shared, snapshot: IdentitySnapshot) -> Result<(), String> {
    let mut state = IdentityState::default();
    for pool in snapshot.pools {
        let restored = IdentityPool {
            id: pool.id.clone(),
            settings: pool.settings,
            roles: pool.roles,
            role_mappings: pool.role_mappings,
        };
        state.pools.insert(pool.id, restored);
    }
    for identity in snapshot.identities {
        for (provider, subject) in &identity.logins {
            state.links.insert(
                (identity.pool_id.clone(), provider.clone(), subject.clone()),
                identity.id.clone(),
            );
        }
        state.identities.insert(
            identity.id.clone(),
            Identity {
                id: identity.id,
                pool_id: identity.pool_id,
                logins: identity.logins.into_iter().collect(),
                created: identity.created,
                modified: identity.modified,
            },
        );
    }
    for c in snapshot.credentials {
        state.credentials.insert(
            c.access_key_id,
            IssuedCredentials {
                secret_access_key: c.secret_access_key,
                session_token: c.session_token,
                expires_at: c.expires_at,
                identity_id: c.identity_id,
                role_arn: c.role_arn,
            },
        );
    }
    if let Some(seconds) = snapshot.credentials_seconds {
        state.credentials_seconds = seconds.clamp(1, super::MAX_CREDENTIALS_SECONDS);
    }
    for t in snapshot.provider_tokens {
        state.provider_tokens.insert(
            (t.provider, t.token),
            ProviderToken { subject: t.subject, app_id: t.app_id, expires_at: t.expires_at },
        );
    }
    if let Some(key) = snapshot.openid_key {
        let der = STANDARD.decode(key).map_err(|e| format!("identity OpenID key: {e}"))?;
        // Nothing has used the fresh server's key yet.
        if !shared.identity.openid_key.restore(&der) {
            return Err("identity OpenID key: unusable".into());
        }
    }
    shared.oidc.restore(snapshot.oidc_issuers)?;
    *shared.identity.state.write() = state;
    Ok(())
}
