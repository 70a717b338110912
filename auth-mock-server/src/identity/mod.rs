//! Cognito identity pools (`AWSCognitoIdentityService.*`): pools, identities, logins checked
//! for real, STS-like temporary credentials (recorded so the mock S3 can check requests signed
//! with them) and the OpenID tokens of the basic flow.
//!
//! Everything lives in one [`IdentityState`] behind its own lock, next to (never inside) the
//! user-pool state. Handlers that need both take the user-pool lock first, copy what they
//! need, and release it before taking this one, so the two locks are never held together.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;

use crate::Shared;
use crate::cx::Handler;
use crate::keys::LazyKey;
use crate::state::Object;
use crate::wire::{CognitoError, OpResult, Operation, Table, invalid_member, operation_table};

mod control;
mod credentials;
mod flows;
mod handle;
mod logins;
mod persist;
mod pools;

pub(crate) use control::router;
pub(crate) use handle::create_identity_pool;
pub use handle::{IdentityPoolOptions, user_pool_login_key};
pub(crate) use persist::{IdentitySnapshot, restore, snapshot};

pub(crate) use credentials::{CredentialsBook, CredentialsInfo, Refusal};

/// The `X-Amz-Target` prefix of the identity-pool API.
pub(crate) const TARGET_PREFIX: &str = "AWSCognitoIdentityService.";

/// The `Logins` key (and token issuer host) of Cognito Identity's own OpenID tokens.
pub(crate) const COGNITO_IDENTITY_PROVIDER: &str = "cognito-identity.amazonaws.com";

/// The identity-pool API: every operation, declared once.
pub(crate) const IDENTITY_POOL_API: Table<Handler> = operation_table! {
    prefix: TARGET_PREFIX,
    handler: Handler,
    operations: {
        CreateIdentityPool: Signed, Write => pools::create_identity_pool;
        DeleteIdentities: Signed, Write => flows::delete_identities;
        DeleteIdentityPool: Signed, Write => pools::delete_identity_pool;
        DescribeIdentity: Signed, Read => flows::describe_identity;
        DescribeIdentityPool: Signed, Read => pools::describe_identity_pool;
        GetCredentialsForIdentity: Public, Write => flows::get_credentials_for_identity;
        GetId: Public, Write => flows::get_id;
        GetIdentityPoolRoles: Signed, Read => pools::get_identity_pool_roles;
        GetOpenIdToken: Public, Write => flows::get_open_id_token;
        GetOpenIdTokenForDeveloperIdentity: Signed, Write => flows::get_open_id_token_for_developer_identity;
        ListIdentities: Signed, Read => flows::list_identities;
        ListIdentityPools: Signed, Read => pools::list_identity_pools;
        LookupDeveloperIdentity: Signed, Read => flows::lookup_developer_identity;
        MergeDeveloperIdentities: Signed, Write => flows::merge_developer_identities;
        SetIdentityPoolRoles: Signed, Write => pools::set_identity_pool_roles;
        UnlinkDeveloperIdentity: Signed, Write => flows::unlink_developer_identity;
        UnlinkIdentity: Public, Write => flows::unlink_identity;
        UpdateIdentityPool: Signed, Write => pools::update_identity_pool;
    }
};

/// Every identity-pool operation the server implements, with how it is authorised and whether
/// it changes state.
pub const IDENTITY_OPERATIONS: &[Operation] = IDENTITY_POOL_API.operations;

/// Default lifetime of the credentials GetCredentialsForIdentity hands out (STS's default
/// for web-identity sessions).
pub(crate) const DEFAULT_CREDENTIALS_SECONDS: u64 = 3600;
/// Longest credential lifetime the test-control API accepts (STS's maximum session).
pub(crate) const MAX_CREDENTIALS_SECONDS: u64 = 12 * 3600;
/// Most identities the server keeps (a runaway guest loop answers `LimitExceededException`
/// instead of eating memory).
const MAX_IDENTITIES: usize = 1_000_000;

/// The identity-pool service: its state, and the key of its OpenID tokens.
#[derive(Debug, Default)]
pub(crate) struct IdentityService {
    pub(crate) state: RwLock<IdentityState>,
    /// Signs GetOpenIdToken tokens; made in the background when the first pool is created.
    pub(crate) openid_key: Arc<LazyKey>,
}

/// Pools, identities, links from logins to identities, and issued credentials.
pub(crate) struct IdentityState {
    pub(crate) pools: BTreeMap<String, IdentityPool>,
    pub(crate) identities: HashMap<String, Identity>,
    /// `(identity pool id, logins key, subject)` → identity id.
    pub(crate) links: HashMap<(String, String, String), String>,
    /// The sealing key of issued credentials, and an index of the recent ones.
    pub(crate) credentials: CredentialsBook,
    /// Lifetime of new credentials in seconds (test-control API).
    pub(crate) credentials_seconds: u64,
    /// Opaque provider tokens the mock accepts: `(logins key, token)` → registration.
    pub(crate) provider_tokens: HashMap<(String, String), ProviderToken>,
}

impl std::fmt::Debug for IdentityState {
    /// Counts only: the maps hold secrets (credentials, registered provider tokens).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityState")
            .field("pools", &self.pools.len())
            .field("identities", &self.identities.len())
            .field("credentials", &self.credentials)
            .field("provider_tokens", &self.provider_tokens.len())
            .field("credentials_seconds", &self.credentials_seconds)
            .finish_non_exhaustive()
    }
}

impl Default for IdentityState {
    fn default() -> Self {
        Self {
            pools: BTreeMap::new(),
            identities: HashMap::new(),
            links: HashMap::new(),
            credentials: CredentialsBook::default(),
            credentials_seconds: DEFAULT_CREDENTIALS_SECONDS,
            provider_tokens: HashMap::new(),
        }
    }
}

/// An identity pool.
#[derive(Debug, Clone)]
pub(crate) struct IdentityPool {
    pub(crate) id: String,
    /// The request fields of CreateIdentityPool/UpdateIdentityPool, echoed back.
    pub(crate) settings: Object,
    /// SetIdentityPoolRoles `Roles` (`authenticated`, `unauthenticated`).
    pub(crate) roles: BTreeMap<String, String>,
    /// SetIdentityPoolRoles `RoleMappings`, as sent.
    pub(crate) role_mappings: Object,
}

/// One `CognitoIdentityProviders` entry.
#[derive(Debug, Clone)]
pub(crate) struct UserPoolProvider {
    pub(crate) provider_name: String,
    pub(crate) client_id: String,
    pub(crate) server_side_token_check: bool,
}

impl IdentityPool {
    pub(crate) fn name(&self) -> &str {
        self.settings.get("IdentityPoolName").and_then(Value::as_str).unwrap_or_default()
    }

    pub(crate) fn allow_unauthenticated(&self) -> bool {
        self.settings
            .get("AllowUnauthenticatedIdentities")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub(crate) fn developer_provider_name(&self) -> Option<&str> {
        self.settings.get("DeveloperProviderName").and_then(Value::as_str)
    }

    pub(crate) fn supported_login_providers(&self) -> BTreeMap<String, String> {
        self.settings
            .get("SupportedLoginProviders")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn user_pool_providers(&self) -> Vec<UserPoolProvider> {
        self.settings
            .get("CognitoIdentityProviders")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        Some(UserPoolProvider {
                            provider_name: item.get("ProviderName")?.as_str()?.to_owned(),
                            client_id: item.get("ClientId")?.as_str()?.to_owned(),
                            server_side_token_check: item
                                .get("ServerSideTokenCheck")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn string_list(&self, field: &str) -> Vec<String> {
        crate::state::string_list(&self.settings, field)
    }
}

/// An identity.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) id: String,
    pub(crate) pool_id: String,
    /// Linked logins: `(logins key, subject)`; for the developer provider the subject is the
    /// developer user identifier (several may be linked after MergeDeveloperIdentities).
    pub(crate) logins: BTreeSet<(String, String)>,
    pub(crate) created: f64,
    pub(crate) modified: f64,
}

/// An opaque provider token registered through the test-control API (Facebook and Login with
/// Amazon access tokens, SAML assertions).
#[derive(Debug, Clone)]
pub(crate) struct ProviderToken {
    pub(crate) subject: String,
    /// The app the token was issued to; checked against `SupportedLoginProviders` when set.
    pub(crate) app_id: Option<String>,
    pub(crate) expires_at: u64,
}

impl IdentityState {
    pub(crate) fn pool(&self, id: &str) -> OpResult<&IdentityPool> {
        self.pools.get(id).ok_or_else(|| pool_not_found(id))
    }

    pub(crate) fn identity(&self, id: &str) -> OpResult<&Identity> {
        self.identities.get(id).ok_or_else(|| identity_not_found(id))
    }

    /// Creates an identity in a pool with these links; returns its id.
    pub(crate) fn new_identity(
        &mut self,
        pool_id: &str,
        logins: BTreeSet<(String, String)>,
        now: f64,
    ) -> OpResult<String> {
        if self.identities.len() >= MAX_IDENTITIES {
            return Err(CognitoError::limit_exceeded(
                "auth-mock-server keeps at most 1000000 identities; reset the server.",
            ));
        }
        let region = pool_id.split_once(':').map_or("us-east-1", |(region, _)| region);
        let id = format!("{region}:{}", uuid::Uuid::new_v4());
        for (provider, subject) in &logins {
            self.links.insert((pool_id.to_owned(), provider.clone(), subject.clone()), id.clone());
        }
        self.identities.insert(
            id.clone(),
            Identity {
                id: id.clone(),
                pool_id: pool_id.to_owned(),
                logins,
                created: now,
                modified: now,
            },
        );
        Ok(id)
    }

    /// Removes an identity and its links.
    pub(crate) fn remove_identity(&mut self, id: &str) -> Option<Identity> {
        let identity = self.identities.remove(id)?;
        for (provider, subject) in &identity.logins {
            self.links.remove(&(identity.pool_id.clone(), provider.clone(), subject.clone()));
        }
        Some(identity)
    }
}

pub(crate) fn pool_not_found(id: &str) -> CognitoError {
    CognitoError::resource_not_found(format!("IdentityPool '{id}' not found."))
}

pub(crate) fn identity_not_found(id: &str) -> CognitoError {
    CognitoError::resource_not_found(format!("Identity '{id}' not found."))
}

/// Checks a string member's length and characters.
pub(crate) fn check_string(
    value: &str,
    member: &str,
    min: usize,
    max: usize,
    pattern: &str,
    allowed: impl Fn(char) -> bool,
) -> OpResult<()> {
    let len = value.chars().count();
    if len < min {
        return Err(invalid_member(
            member,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if len > max {
        return Err(invalid_member(
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value.chars().all(allowed) {
        return Err(invalid_member(
            member,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

/// `IdentityPoolId` and `IdentityId`: `[\w-]+:[0-9a-f-]+`, at most 55 characters.
pub(crate) fn check_id(value: &str, member: &str) -> OpResult<()> {
    let well_formed = value.split_once(':').is_some_and(|(region, rest)| {
        !region.is_empty()
            && region.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-')
    });
    check_string(value, member, 1, 55, "[\\w-]+:[0-9a-f-]+", |_| true)?;
    if well_formed {
        Ok(())
    } else {
        Err(invalid_member(
            member,
            "Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+",
        ))
    }
}

/// A required `IdentityPoolId`/`IdentityId` member.
pub(crate) fn required_id<'a>(value: &'a Option<String>, member: &str) -> OpResult<&'a str> {
    let value = value.as_deref().ok_or_else(|| CognitoError::missing(member))?;
    check_id(value, member)?;
    Ok(value)
}

/// `MaxResults` of the list operations: required, 1..=60.
pub(crate) fn max_results(value: Option<i64>) -> OpResult<usize> {
    let value = value.ok_or_else(|| CognitoError::missing("MaxResults"))?;
    if !(1..=60).contains(&value) {
        return Err(invalid_member("MaxResults", "Member must have value between 1 and 60"));
    }
    Ok(usize::try_from(value).unwrap_or(60))
}

/// Forgets every pool, identity, credential and registered provider token.
pub(crate) fn reset(shared: &Shared) {
    *shared.identity.state.write() = IdentityState::default();
}
