//! [`MockServerHandle`] methods for identity pools, the hosted OIDC issuers and the mock S3.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Shared;
use crate::oidc::{IdTokenRequest, OidcIssuerInfo, OidcIssuerOptions};
use crate::server::MockServerHandle;
use crate::wire::CognitoError;

/// Settings of an identity pool made with [`MockServerHandle::create_identity_pool`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct IdentityPoolOptions {
    /// `AllowUnauthenticatedIdentities` (guests).
    pub allow_unauthenticated: bool,
    /// `CognitoIdentityProviders`: `(user pool id, app client id)` pairs.
    pub user_pool_clients: Vec<(String, String)>,
    /// `ServerSideTokenCheck` on every user-pool provider: refuse ID tokens of users who
    /// signed out globally, were disabled or deleted.
    pub server_side_token_check: bool,
    /// `SupportedLoginProviders`: logins key → app id (the expected `aud`), e.g.
    /// `accounts.google.com` → a Google client id.
    pub supported_login_providers: BTreeMap<String, String>,
    /// `OpenIdConnectProviderARNs`.
    pub open_id_connect_provider_arns: Vec<String>,
    /// `DeveloperProviderName`.
    pub developer_provider_name: Option<String>,
    /// The authenticated role (default `arn:aws:iam::000000000000:role/<name>-authenticated`).
    pub authenticated_role_arn: Option<String>,
    /// The unauthenticated role (default `arn:aws:iam::000000000000:role/<name>-unauthenticated`).
    pub unauthenticated_role_arn: Option<String>,
    /// Extra CreateIdentityPool fields (a JSON object), e.g. `{"AllowClassicFlow": true}`.
    pub extra: Option<Value>,
}

impl IdentityPoolOptions {
    /// Allows (or refuses) guests.
    pub fn allow_unauthenticated(mut self, allow: bool) -> Self {
        self.allow_unauthenticated = allow;
        self
    }

    /// Trusts ID tokens of a user pool's app client.
    pub fn user_pool(mut self, pool_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        self.user_pool_clients.push((pool_id.into(), client_id.into()));
        self
    }

    /// Sets `ServerSideTokenCheck` on the user-pool providers.
    pub fn server_side_token_check(mut self, check: bool) -> Self {
        self.server_side_token_check = check;
        self
    }

    /// Trusts a provider under its logins key with this app id (expected `aud`).
    pub fn login_provider(mut self, key: impl Into<String>, app_id: impl Into<String>) -> Self {
        self.supported_login_providers.insert(key.into(), app_id.into());
        self
    }

    /// Trusts an OIDC provider by IAM ARN (see [`OidcIssuerInfo::provider_arn`]).
    pub fn oidc_provider(mut self, arn: impl Into<String>) -> Self {
        self.open_id_connect_provider_arns.push(arn.into());
        self
    }

    /// Sets the developer provider name.
    pub fn developer_provider(mut self, name: impl Into<String>) -> Self {
        self.developer_provider_name = Some(name.into());
        self
    }

    /// Sets the authenticated and unauthenticated roles.
    pub fn roles(
        mut self,
        authenticated: impl Into<String>,
        unauthenticated: impl Into<String>,
    ) -> Self {
        self.authenticated_role_arn = Some(authenticated.into());
        self.unauthenticated_role_arn = Some(unauthenticated.into());
        self
    }

    /// Adds extra CreateIdentityPool fields.
    pub fn extra(mut self, fields: Value) -> Self {
        self.extra = Some(fields);
        self
    }
}

/// The `Logins` key of a user pool: `cognito-idp.<region>.amazonaws.com/<poolId>`.
pub fn user_pool_login_key(pool_id: &str) -> String {
    let region = pool_id.split_once('_').map_or("us-east-1", |(region, _)| region);
    format!("cognito-idp.{region}.amazonaws.com/{pool_id}")
}

/// A created identity pool: its id and its roles.
#[derive(Debug, Clone)]
pub(crate) struct CreatedIdentityPool {
    pub(crate) id: String,
    pub(crate) authenticated_role_arn: String,
    pub(crate) unauthenticated_role_arn: String,
}

/// Creates an identity pool and gives it roles (by default
/// `arn:aws:iam::000000000000:role/<name>-authenticated` and `-unauthenticated`), as an
/// administrator would; for the handle and for seeds.
pub(crate) fn create_identity_pool(
    shared: &Shared,
    name: &str,
    options: IdentityPoolOptions,
) -> Result<CreatedIdentityPool, CognitoError> {
    let call = |operation: &str, body: Value| admin_call(shared, operation, body);
    let providers: Vec<Value> = options
        .user_pool_clients
        .iter()
        .map(|(pool, client)| {
            json!({
                "ProviderName": user_pool_login_key(pool),
                "ClientId": client,
                "ServerSideTokenCheck": options.server_side_token_check,
            })
        })
        .collect();
    let mut body = json!({
        "IdentityPoolName": name,
        "AllowUnauthenticatedIdentities": options.allow_unauthenticated,
    });
    if !providers.is_empty() {
        body["CognitoIdentityProviders"] = json!(providers);
    }
    if !options.supported_login_providers.is_empty() {
        body["SupportedLoginProviders"] = json!(options.supported_login_providers);
    }
    if !options.open_id_connect_provider_arns.is_empty() {
        body["OpenIdConnectProviderARNs"] = json!(options.open_id_connect_provider_arns);
    }
    if let Some(developer) = &options.developer_provider_name {
        body["DeveloperProviderName"] = json!(developer);
    }
    if let (Some(Value::Object(extra)), Some(map)) = (options.extra, body.as_object_mut()) {
        map.extend(extra);
    }
    let created = call("CreateIdentityPool", body)?;
    let id = created["IdentityPoolId"].as_str().unwrap_or_default().to_owned();
    let role = |kind: &str| format!("arn:aws:iam::000000000000:role/{name}-{kind}");
    let authenticated = options.authenticated_role_arn.unwrap_or_else(|| role("authenticated"));
    let unauthenticated =
        options.unauthenticated_role_arn.unwrap_or_else(|| role("unauthenticated"));
    call(
        "SetIdentityPoolRoles",
        json!({
            "IdentityPoolId": id,
            "Roles": { "authenticated": authenticated, "unauthenticated": unauthenticated },
        }),
    )?;
    Ok(CreatedIdentityPool {
        id,
        authenticated_role_arn: authenticated,
        unauthenticated_role_arn: unauthenticated,
    })
}

/// Runs one identity-pool operation as an administrator would (signed), as a state change.
fn admin_call(shared: &Shared, operation: &str, body: Value) -> Result<Value, CognitoError> {
    shared.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let meta = crate::wire::RequestMeta::internal();
    crate::cx::run(&super::IDENTITY_POOL_API, shared, operation, &meta, body.to_string().as_bytes())
}

impl MockServerHandle {
    /// Creates an identity pool and gives it roles; returns its id (`<region>:<uuid>`).
    pub async fn create_identity_pool(
        &self,
        name: &str,
        options: IdentityPoolOptions,
    ) -> Result<String, CognitoError> {
        let name = name.to_owned();
        self.blocking("the operation panicked", move |shared| {
            create_identity_pool(shared, &name, options)
        })
        .await
        .map(|created| created.id)
    }

    /// Runs any identity-pool operation as an administrator would (signed).
    pub async fn identity_call(&self, operation: &str, body: Value) -> Result<Value, CognitoError> {
        let operation = operation.to_owned();
        self.blocking("the operation panicked", move |shared| admin_call(shared, &operation, body))
            .await
    }

    /// Sets the lifetime of the credentials GetCredentialsForIdentity issues from now on
    /// (default one hour; 1 s to 12 h). Expiry reads the server clock.
    pub fn set_credentials_lifetime(&self, lifetime: Duration) -> Result<(), CognitoError> {
        self.shared.set_credentials_lifetime(lifetime.as_secs())
    }

    /// Makes identity pools accept an opaque provider token (a Facebook or Login with Amazon
    /// access token, or a SAML assertion under its provider ARN) for user `subject`, for an hour.
    pub fn register_provider_token(
        &self,
        provider: &str,
        token: &str,
        subject: &str,
    ) -> Result<(), CognitoError> {
        self.shared.register_provider_token(provider, token, subject, None, 3600)
    }

    /// Like [`Self::register_provider_token`], with the app the token was issued to (checked
    /// against `SupportedLoginProviders`) and a lifetime on the server clock.
    pub fn register_provider_token_with(
        &self,
        provider: &str,
        token: &str,
        subject: &str,
        app_id: Option<&str>,
        lifetime: Duration,
    ) -> Result<(), CognitoError> {
        self.shared.register_provider_token(provider, token, subject, app_id, lifetime.as_secs())
    }

    /// Describes a hosted OIDC issuer, creating it if needed (`google` and `apple` use the real
    /// issuers; other names `<server>/_mock/oidc/<name>`).
    pub fn oidc_issuer(&self, name: &str) -> Result<OidcIssuerInfo, CognitoError> {
        self.shared.oidc_issuer(name)
    }

    /// Creates or reconfigures a hosted OIDC issuer (its `iss`, accepted audiences).
    pub fn configure_oidc_issuer(
        &self,
        name: &str,
        options: OidcIssuerOptions,
    ) -> Result<OidcIssuerInfo, CognitoError> {
        self.shared.configure_oidc_issuer(name, options)
    }

    /// Mints an ID token with a hosted OIDC issuer (created if needed). The first token of an
    /// issuer waits for its RSA key.
    pub async fn mint_id_token(
        &self,
        issuer: &str,
        request: IdTokenRequest,
    ) -> Result<String, CognitoError> {
        let issuer = issuer.to_owned();
        self.blocking("key generation panicked", move |shared| {
            shared.mint_id_token(&issuer, &request).map(|(t, _)| t)
        })
        .await
    }

    /// The `iss` of the identity pools' OpenID tokens (GetOpenIdToken); their keys are at
    /// `<url>/.well-known/jwks_uri`.
    pub fn identity_openid_issuer(&self) -> String {
        crate::identity::flows::openid_issuer(&self.shared)
    }

    /// Creates an S3 bucket directly (no signed request needed), in region `us-east-1`.
    pub fn s3_create_bucket(&self, bucket: &str) -> Result<(), CognitoError> {
        self.shared
            .s3
            .create_bucket(bucket, "us-east-1", self.shared.clock.now_secs())
            .map_err(|e| CognitoError::new(e.code.into_owned(), e.message).with_status(e.status))
    }

    /// Stores an S3 object directly (no signed request needed).
    pub fn s3_put_object(
        &self,
        bucket: &str,
        key: &str,
        data: Vec<u8>,
    ) -> Result<(), CognitoError> {
        self.shared
            .s3
            .put_plain(bucket, key, data, self.shared.clock.now_secs())
            .map_err(|e| CognitoError::new(e.code.into_owned(), e.message).with_status(e.status))
    }

    /// The bytes of an S3 object, if it exists.
    pub fn s3_object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.shared.s3.object(bucket, key)
    }

    /// The keys of an S3 bucket in order, if the bucket exists.
    pub fn s3_keys(&self, bucket: &str) -> Option<Vec<String>> {
        self.shared.s3.keys(bucket)
    }

    /// The identity id that credentials (by access key id) were issued to, and when they
    /// expire on the server clock.
    pub fn credentials_owner(
        &self,
        access_key_id: &str,
    ) -> Option<(String, std::time::SystemTime)> {
        let state = self.shared.identity.state.read();
        state.credentials.recent(access_key_id).map(|c| {
            (c.identity_id.clone(), std::time::UNIX_EPOCH + Duration::from_secs(c.expires_at))
        })
    }
}
