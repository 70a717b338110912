//! Seed files: pools, app clients, groups and users to create at start (TOML or JSON).
//!
//! ```toml
//! [[pools]]
//! name = "demo"
//! id = "us-east-1_DemoPool1"            # optional: a fixed id keeps CI variables stable
//! settings = { MfaConfiguration = "OFF" } # optional CreateUserPool fields
//!
//! [[pools.clients]]
//! name = "web"
//! id = "webclient00000000000000001"      # optional
//! generate_secret = false
//! explicit_auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
//!
//! [[pools.groups]]
//! name = "admins"
//! precedence = 1
//!
//! [[pools.users]]
//! username = "alice"
//! password = "Passw0rd!"
//! attributes = { email = "alice@example.com", email_verified = "true" }
//! groups = ["admins"]
//! status = "CONFIRMED"                    # or FORCE_CHANGE_PASSWORD, UNCONFIRMED
//!
//! # The hosted UI and OAuth 2.0 endpoints (optional):
//! # domain = "demo"  (in [[pools]], before its sub-tables)
//! [[pools.resource_servers]]
//! identifier = "https://api.example.com"
//! name = "API"
//! scopes = { read = "Read access" }
//!
//! [[pools.identity_providers]]
//! name = "Corp"
//! type = "OIDC"
//! details = { client_id = "corp", authorize_scopes = "openid email", oidc_issuer = "mock:corp" }
//! attribute_mapping = { email = "email" }
//!
//! [[identity_pools]]
//! name = "demo-identities"
//! id = "us-east-1:00000000-0000-4000-8000-000000000001"  # optional
//! allow_unauthenticated = true
//! user_pools = [{ pool = "demo", client = "web" }]       # seeded pool and client, by name or id
//! # authenticated_role_arn = "arn:aws:iam::000000000000:role/demo-identities-authenticated"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Shared;
use crate::state::{Group, Object, UserStatus};

/// A seed: what to create at start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Seed {
    /// The pools.
    #[serde(default)]
    pub pools: Vec<SeedPool>,
    /// Lambda function ARN → `http://` webhook URL for the pools' Lambda triggers
    /// (`[lambdas]` in TOML). Applied at every start, also when a state file is restored.
    #[serde(default)]
    pub lambdas: BTreeMap<String, String>,
    /// Identity pools (`[[identity_pools]]` in TOML), created after the user pools they trust.
    #[serde(default)]
    pub identity_pools: Vec<SeedIdentityPool>,
}

/// An identity pool in a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedIdentityPool {
    /// Identity pool name.
    pub name: String,
    /// A fixed id (`<region>:<uuid>`); generated when absent.
    pub id: Option<String>,
    /// `AllowUnauthenticatedIdentities` (guests).
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// The seeded user pools' app clients whose ID tokens the pool accepts.
    #[serde(default)]
    pub user_pools: Vec<SeedUserPoolProvider>,
    /// `ServerSideTokenCheck` on every user-pool provider.
    #[serde(default)]
    pub server_side_token_check: bool,
    /// `SupportedLoginProviders`: logins key → app id (`accounts.google.com` → client id).
    #[serde(default)]
    pub supported_login_providers: BTreeMap<String, String>,
    /// `DeveloperProviderName`.
    pub developer_provider_name: Option<String>,
    /// The authenticated role (default `arn:aws:iam::000000000000:role/<name>-authenticated`).
    pub authenticated_role_arn: Option<String>,
    /// The unauthenticated role (default `arn:aws:iam::000000000000:role/<name>-unauthenticated`).
    pub unauthenticated_role_arn: Option<String>,
    /// Extra CreateIdentityPool fields (`AllowClassicFlow`, ...).
    #[serde(default)]
    pub settings: BTreeMap<String, Value>,
}

/// A user pool's app client that an identity pool of the seed trusts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedUserPoolProvider {
    /// A seeded user pool, by name or id.
    pub pool: String,
    /// One of its seeded app clients, by name or id.
    pub client: String,
}

/// A pool in a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedPool {
    /// Pool name.
    pub name: String,
    /// A fixed pool id (`<region>_<alnum>`); generated when absent.
    pub id: Option<String>,
    /// Extra CreateUserPool fields (`Policies`, `MfaConfiguration`, `UsernameAttributes`, ...).
    #[serde(default)]
    pub settings: BTreeMap<String, Value>,
    /// App clients.
    #[serde(default)]
    pub clients: Vec<SeedClient>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
    /// Users.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// A prefix domain (CreateUserPoolDomain): turns on the OAuth endpoints and the hosted UI,
    /// also served by `Host` as `<prefix>.auth.<region>.localhost`.
    pub domain: Option<String>,
    /// A custom domain (a fully qualified name, served by `Host`).
    pub custom_domain: Option<String>,
    /// Resource servers and their custom scopes (`<identifier>/<scope>`).
    #[serde(default)]
    pub resource_servers: Vec<SeedResourceServer>,
    /// Identity providers (OIDC, Google, ...), for clients' `SupportedIdentityProviders`.
    #[serde(default)]
    pub identity_providers: Vec<SeedIdentityProvider>,
}

/// A resource server in a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedResourceServer {
    /// Identifier, e.g. `https://api.example.com`.
    pub identifier: String,
    /// Display name.
    pub name: String,
    /// Scope name → description.
    #[serde(default)]
    pub scopes: BTreeMap<String, String>,
}

/// An identity provider in a seed (CreateIdentityProvider).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedIdentityProvider {
    /// `ProviderName` (social providers: their type, e.g. `Google`).
    pub name: String,
    /// `ProviderType`: `OIDC`, `Google`, `Facebook`, `LoginWithAmazon`, `SignInWithApple`, `SAML`.
    #[serde(rename = "type")]
    pub provider_type: String,
    /// `ProviderDetails` (`client_id`, `authorize_scopes`, `oidc_issuer`, ...). An
    /// `oidc_issuer` of `mock:<name>` makes the provider the server's own OIDC issuer
    /// `/_mock/oidc/<name>`, so that hosted-UI sign-in through it works.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    /// `AttributeMapping`: pool attribute → provider claim.
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
    /// `IdpIdentifiers`.
    #[serde(default)]
    pub idp_identifiers: Vec<String>,
}

/// An app client in a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedClient {
    /// Client name.
    pub name: String,
    /// A fixed client id; generated when absent.
    pub id: Option<String>,
    /// A fixed client secret.
    pub secret: Option<String>,
    /// Generate a secret (ignored when `secret` is set).
    #[serde(default)]
    pub generate_secret: bool,
    /// `ExplicitAuthFlows` (default: every flow).
    pub explicit_auth_flows: Option<Vec<String>>,
    /// Extra CreateUserPoolClient fields.
    #[serde(default)]
    pub settings: BTreeMap<String, Value>,
}

/// A group in a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedGroup {
    /// Group name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Precedence.
    pub precedence: Option<i64>,
    /// IAM role ARN.
    pub role_arn: Option<String>,
}

/// A user in a seed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedUser {
    /// Username (or email/phone in pools with `UsernameAttributes`).
    pub username: String,
    /// Password (permanent unless `status` is `FORCE_CHANGE_PASSWORD`).
    pub password: Option<String>,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    /// `CONFIRMED` (default), `UNCONFIRMED`, `FORCE_CHANGE_PASSWORD` or `RESET_REQUIRED`.
    pub status: Option<String>,
    /// Whether the user is enabled (default true).
    pub enabled: Option<bool>,
    /// CUSTOM_CHALLENGE answer.
    pub custom_auth_answer: Option<String>,
}

/// Ids of what a seed created.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Seeded {
    /// One entry per pool.
    pub pools: Vec<SeededPool>,
    /// One entry per identity pool.
    pub identity_pools: Vec<SeededIdentityPool>,
}

/// Ids of one seeded identity pool.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct SeededIdentityPool {
    /// Identity pool id (`<region>:<uuid>`).
    pub id: String,
    /// Identity pool name.
    pub name: String,
    /// The role of signed-in identities.
    pub authenticated_role_arn: String,
    /// The role of guests.
    pub unauthenticated_role_arn: String,
}

/// Ids of one seeded pool.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct SeededPool {
    /// Pool id.
    pub id: String,
    /// Pool name.
    pub name: String,
    /// `(name, client id, client secret)`.
    pub clients: Vec<(String, String, Option<String>)>,
    /// `(username as given, internal username)`.
    pub users: Vec<(String, String)>,
    /// `(client name, path and query)` of a hosted sign-in (`/oauth2/authorize?...`) for each
    /// client that can use the code flow on the pool's domain.
    pub hosted_sign_in: Vec<(String, String)>,
}

impl Seed {
    /// Reads a seed file: `.json` as JSON, anything else as TOML.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
        } else {
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
    }

    /// The demo seed of the binary started without flags.
    pub fn demo() -> Self {
        Self {
            pools: vec![SeedPool {
                name: "demo".into(),
                id: Some("us-east-1_DemoPool1".into()),
                clients: vec![
                    SeedClient {
                        name: "demo-client".into(),
                        id: Some("democlient0000000000000001".into()),
                        ..SeedClient::default()
                    },
                    SeedClient {
                        name: "demo-web".into(),
                        id: Some("demowebclient0000000000001".into()),
                        settings: crate::oauth::admin::demo_client_settings(),
                        ..SeedClient::default()
                    },
                ],
                domain: Some("demo".into()),
                users: vec![SeedUser {
                    username: "demo".into(),
                    password: Some("Passw0rd!".into()),
                    attributes: BTreeMap::from([
                        ("email".into(), "demo@example.com".into()),
                        ("email_verified".into(), "true".into()),
                    ]),
                    ..SeedUser::default()
                }],
                ..SeedPool::default()
            }],
            lambdas: BTreeMap::new(),
            identity_pools: vec![SeedIdentityPool {
                name: "demo-identities".into(),
                id: Some("us-east-1:00000000-0000-4000-8000-000000000001".into()),
                allow_unauthenticated: true,
                user_pools: vec![SeedUserPoolProvider {
                    pool: "demo".into(),
                    client: "demo-client".into(),
                }],
                ..SeedIdentityPool::default()
            }],
        }
    }

    pub(crate) fn apply(&self, shared: &Shared) -> Result<Seeded, String> {
        let mut seeded = Seeded::default();
        let now = shared.clock.now_f64();
        let now_secs = shared.clock.now_secs();
        // The user pools first, under the state lock; identity pools read them afterwards.
        let mut state = shared.state.write();
        for seed_pool in &self.pools {
            let mut settings: Object = seed_pool.settings.clone().into_iter().collect();
            settings.insert("PoolName".into(), Value::String(seed_pool.name.clone()));
            let mut pool = crate::ops::seed_pool(&shared.config.region, settings, now)?;
            if let Some(id) = &seed_pool.id {
                let valid = id.len() <= 55
                    && id.split_once('_').is_some_and(|(region, rest)| {
                        !region.is_empty()
                            && !rest.is_empty()
                            && rest.chars().all(|c| c.is_ascii_alphanumeric())
                    });
                if !valid {
                    return Err(format!(
                        "pool id {id:?} is not of the form <region>_<alphanumeric>"
                    ));
                }
                pool.id = id.clone();
            }
            if state.pools.contains_key(&pool.id) {
                return Err(format!("pool id {} appears twice", pool.id));
            }
            let mut out = SeededPool {
                id: pool.id.clone(),
                name: pool.name.clone(),
                ..SeededPool::default()
            };
            for seed_client in &seed_pool.clients {
                let mut settings: Object = seed_client.settings.clone().into_iter().collect();
                settings.insert("ClientName".into(), Value::String(seed_client.name.clone()));
                let flows = seed_client.explicit_auth_flows.clone().unwrap_or_else(|| {
                    [
                        "ALLOW_USER_SRP_AUTH",
                        "ALLOW_USER_PASSWORD_AUTH",
                        "ALLOW_REFRESH_TOKEN_AUTH",
                        "ALLOW_CUSTOM_AUTH",
                        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                        "ALLOW_USER_AUTH",
                    ]
                    .map(String::from)
                    .to_vec()
                });
                settings.insert("ExplicitAuthFlows".into(), serde_json::json!(flows));
                settings.insert("GenerateSecret".into(), Value::Bool(seed_client.generate_secret));
                let client = crate::ops::seed_client(
                    settings,
                    now,
                    seed_client.id.clone(),
                    seed_client.secret.clone(),
                )?;
                if state.client_index.contains_key(&client.id) {
                    return Err(format!("client id {} appears twice", client.id));
                }
                state.client_index.insert(client.id.clone(), pool.id.clone());
                out.clients.push((
                    seed_client.name.clone(),
                    client.id.clone(),
                    client.secret.clone(),
                ));
                pool.clients.insert(client.id.clone(), client);
            }
            for group in &seed_pool.groups {
                pool.groups.insert(
                    group.name.clone(),
                    Group {
                        name: group.name.clone(),
                        description: group.description.clone(),
                        precedence: group.precedence,
                        role_arn: group.role_arn.clone(),
                        created: now,
                        modified: now,
                    },
                );
            }
            for seed_user in &seed_pool.users {
                let status = match seed_user.status.as_deref().unwrap_or("CONFIRMED") {
                    "CONFIRMED" => UserStatus::Confirmed,
                    "UNCONFIRMED" => UserStatus::Unconfirmed,
                    "FORCE_CHANGE_PASSWORD" => UserStatus::ForceChangePassword,
                    "RESET_REQUIRED" => UserStatus::ResetRequired,
                    other => {
                        return Err(format!("user {}: unknown status {other}", seed_user.username));
                    }
                };
                let mut user = crate::ops::seed_user(
                    &pool,
                    &seed_user.username,
                    seed_user.attributes.clone(),
                    now,
                    status,
                )?;
                if let Some(password) = &seed_user.password {
                    crate::password::Policy::of(&pool)
                        .check(password)
                        .map_err(|e| format!("user {}: {}", seed_user.username, e.message()))?;
                    let temporary = status == UserStatus::ForceChangePassword;
                    user.password = Some(crate::password::record(
                        &pool,
                        &user.username,
                        password,
                        now_secs,
                        temporary,
                    ));
                }
                for group in &seed_user.groups {
                    if !pool.groups.contains_key(group) {
                        return Err(format!(
                            "user {}: group {group} is not in the seed",
                            seed_user.username
                        ));
                    }
                    user.groups.insert(group.clone());
                }
                user.enabled = seed_user.enabled.unwrap_or(true);
                user.custom_auth = seed_user
                    .custom_auth_answer
                    .clone()
                    .map(|answer| crate::state::CustomAuth { answer, parameters: BTreeMap::new() });
                out.users.push((seed_user.username.clone(), user.username.clone()));
                let key = pool.user_key(&user.username);
                pool.users.insert(key, user);
            }
            seeded.pools.push(out);
            state.pools.insert(pool.id.clone(), pool);
        }
        drop(state);
        // Domains, resource servers and providers through their operations, then the seeded
        // clients' OAuth settings are checked against them.
        for (seed_pool, out) in self.pools.iter().zip(seeded.pools.iter_mut()) {
            out.hosted_sign_in = crate::oauth::admin::apply_seed(shared, &out.id, seed_pool)?;
        }
        for seed_pool in &self.identity_pools {
            seeded.identity_pools.push(seed_pool.apply(shared, &seeded.pools)?);
        }
        Ok(seeded)
    }
}

impl SeedIdentityPool {
    fn apply(
        &self,
        shared: &Shared,
        user_pools: &[SeededPool],
    ) -> Result<SeededIdentityPool, String> {
        let mut options =
            crate::IdentityPoolOptions::default().allow_unauthenticated(self.allow_unauthenticated);
        for provider in &self.user_pools {
            let pool = user_pools
                .iter()
                .find(|p| p.id == provider.pool || p.name == provider.pool)
                .ok_or_else(|| {
                    format!(
                        "identity pool {}: user pool {:?} is not in the seed",
                        self.name, provider.pool
                    )
                })?;
            let client = pool
                .clients
                .iter()
                .find(|(name, id, _)| *id == provider.client || *name == provider.client)
                .ok_or_else(|| {
                    format!(
                        "identity pool {}: app client {:?} is not in the seed's pool {}",
                        self.name, provider.client, pool.name
                    )
                })?;
            options = options.user_pool(&pool.id, &client.1);
        }
        options.server_side_token_check = self.server_side_token_check;
        options.supported_login_providers = self.supported_login_providers.clone();
        options.developer_provider_name = self.developer_provider_name.clone();
        options.authenticated_role_arn = self.authenticated_role_arn.clone();
        options.unauthenticated_role_arn = self.unauthenticated_role_arn.clone();
        if !self.settings.is_empty() {
            options.extra = Some(Value::Object(self.settings.clone().into_iter().collect()));
        }
        let created = crate::identity::create_identity_pool(shared, &self.name, options)
            .map_err(|e| format!("identity pool {}: {e}", self.name))?;
        let mut id = created.id;
        if let Some(fixed) = &self.id {
            let valid = fixed.len() <= 55
                && fixed.split_once(':').is_some_and(|(region, rest)| {
                    !region.is_empty()
                        && region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                        && !rest.is_empty()
                        && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
                });
            if !valid {
                return Err(format!(
                    "identity pool id {fixed:?} is not of the form <region>:<uuid>"
                ));
            }
            let mut identity = shared.identity.state.write();
            if identity.pools.contains_key(fixed) {
                return Err(format!("identity pool id {fixed} appears twice"));
            }
            if let Some(mut pool) = identity.pools.remove(&id) {
                pool.id = fixed.clone();
                identity.pools.insert(fixed.clone(), pool);
            }
            id = fixed.clone();
        }
        Ok(SeededIdentityPool {
            id,
            name: self.name.clone(),
            authenticated_role_arn: created.authenticated_role_arn,
            unauthenticated_role_arn: created.unauthenticated_role_arn,
        })
    }
}
