//! The identity-pool part of the state file: pools, identities, issued credentials, registered
//! provider tokens, and the signing keys of the OpenID tokens and hosted OIDC issuers (so tokens
//! minted before a restart still verify after it). S3 objects are not saved.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::{
    CredentialsBook, CredentialsInfo, Identity, IdentityPool, IdentityState, ProviderToken,
};
use crate::Shared;
use crate::state::Object;

/// Everything of the identity side a restart needs.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct IdentitySnapshot {
    pools: Vec<PoolSnapshot>,
    identities: Vec<IdentityRecord>,
    /// The index of recently issued credentials (inspection only; S3 reads the tokens).
    credentials: Vec<CredentialsRecord>,
    /// The credentials' sealing key, base64url: without it, credentials issued before a
    /// restart would be refused after it.
    credentials_key: Option<String>,
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

/// An entry of the index of issued credentials. (State files from before sealed
/// credentials also hold their secrets and tokens; those fields are ignored.)
#[derive(Debug, Serialize, Deserialize)]
struct CredentialsRecord {
    access_key_id: String,
    expires_at: u64,
    identity_id: String,
    role_arn: String,
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
    let (credentials_key, recent) = state.credentials.snapshot(now);
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
        credentials: recent
            .into_iter()
            .map(|(access_key_id, info)| CredentialsRecord {
                access_key_id,
                expires_at: info.expires_at,
                identity_id: info.identity_id,
                role_arn: info.role_arn,
            })
            .collect(),
        credentials_key: Some(credentials_key),
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
    let recent = snapshot
        .credentials
        .into_iter()
        .map(|c| {
            let info = CredentialsInfo {
                identity_id: c.identity_id,
                role_arn: c.role_arn,
                expires_at: c.expires_at,
            };
            (c.access_key_id, info)
        })
        .collect();
    state.credentials = CredentialsBook::restore(snapshot.credentials_key.as_deref(), recent);
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
