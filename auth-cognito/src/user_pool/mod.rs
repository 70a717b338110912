//! The Cognito user-pool client: [`CognitoUserPool`] implements auth-core's
//! [`IdentityProvider`] (sign-in with every flow and challenge, refresh, sign-out) and
//! [`AccountProvider`](auth_core::AccountProvider) (sign-up, passwords, attributes), plus
//! devices and MFA settings as inherent methods.

mod account;
mod challenge;
mod client_account;
mod devices;
#[cfg(feature = "file-device-store")]
mod file_devices;
mod sign_in;
mod srp;
mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{
    ChallengeContext, ChallengeResponse, Clock, DynAccountProvider, IdentityProvider,
    ProviderError, SecretString, SignInOutcome, SignInRequest, SignOutOptions, SystemClock,
    UserPoolSession, UserPoolTokens,
};

pub use self::account::{MfaPreference, TotpSetup, UserProfile};
pub use self::challenge::challenge_names;
pub use self::client_account::CognitoAccount;
pub use self::devices::{
    Device, DevicePage, DeviceStore, DeviceTracking, MemoryDeviceStore, RememberedDevice,
};
#[cfg(feature = "file-device-store")]
pub use self::file_devices::{
    DEVICES_DOCUMENT_KIND, DeviceDocument, FileDeviceStore, FileDeviceStoreBuilder,
};
use crate::error::CognitoError;
use crate::http::{AwsJsonClient, Transport};

/// The `X-Amz-Target` prefix of the user-pool API.
const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// A Cognito user pool app client, as an identity provider for `AuthClient` and a client for
/// the account operations.
///
/// Cheap to clone: clones share the HTTP connection pool and configuration.
///
/// ```no_run
/// use std::sync::Arc;
/// use auth_cognito::CognitoUserPool;
/// use auth_core::{AuthClient, SignInRequest, SignInResult};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = CognitoUserPool::builder("eu-west-1_AbCdEf123", "3n4b5urk1ft4fl3mg5e62d9ado")
///     .build()?;
/// let client = AuthClient::builder().identity_provider(Arc::new(pool.clone())).build();
/// client.initialize().await?;
/// match client.sign_in(SignInRequest::password("alice", "correct horse")).await? {
///     SignInResult::Done => println!("signed in"),
///     SignInResult::NextStep(step) => println!("answer the {} challenge", step.challenge_name),
///     _ => {}
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CognitoUserPool {
    inner: Arc<Inner>,
}

struct Inner {
    api: AwsJsonClient,
    pool_id: String,
    region: String,
    client_id: String,
    client_secret: Option<SecretString>,
    devices: Arc<dyn DeviceStore>,
    device_tracking: DeviceTracking,
    device_name: Option<String>,
    totp_issuer: String,
    clock: Arc<dyn Clock>,
    refresh_token_rotation: bool,
}

crate::builder::debug_fields!(CognitoUserPool(&self) {
    pool_id: self.inner.pool_id,
    client_id: self.inner.client_id,
    client_secret: self.inner.client_secret.as_ref().map(|_| "[redacted]"),
    endpoint: crate::untrusted::redacted_url(self.inner.api.endpoint()),
    device_tracking: self.inner.device_tracking,
    ..
});

impl CognitoUserPool {
    /// Starts configuring a client for app client `client_id` of user pool `pool_id`
    /// (`<region>_<id>`).
    pub fn builder(
        pool_id: impl Into<String>,
        client_id: impl Into<String>,
    ) -> CognitoUserPoolBuilder {
        CognitoUserPoolBuilder {
            pool_id: pool_id.into(),
            client_id: client_id.into(),
            client_secret: None,
            region: None,
            transport: Transport::default(),
            devices: None,
            device_tracking: DeviceTracking::default(),
            device_name: None,
            totp_issuer: None,
            clock: None,
            refresh_token_rotation: false,
        }
    }

    /// The user pool id.
    pub fn pool_id(&self) -> &str {
        &self.inner.pool_id
    }

    /// The app client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The region the pool lives in.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The endpoint calls go to.
    pub fn endpoint(&self) -> &str {
        self.inner.api.endpoint().as_str()
    }

    /// The store of remembered devices.
    pub fn device_store(&self) -> &Arc<dyn DeviceStore> {
        &self.inner.devices
    }

    /// The pool name used by SRP: the pool id after `_`.
    fn pool_name(&self) -> &str {
        auth_srp::pool_name(&self.inner.pool_id)
    }

    /// `SECRET_HASH` for `username`, if the app client has a secret.
    fn secret_hash(&self, username: &str) -> Option<String> {
        self.inner
            .client_secret
            .as_ref()
            .map(|secret| auth_srp::secret_hash(username, &self.inner.client_id, secret.secret()))
    }
}

/// Configures a [`CognitoUserPool`].
#[must_use]
pub struct CognitoUserPoolBuilder {
    pool_id: String,
    client_id: String,
    client_secret: Option<SecretString>,
    region: Option<String>,
    transport: Transport,
    devices: Option<Arc<dyn DeviceStore>>,
    device_tracking: DeviceTracking,
    device_name: Option<String>,
    totp_issuer: Option<String>,
    clock: Option<Arc<dyn Clock>>,
    refresh_token_rotation: bool,
}

impl CognitoUserPoolBuilder {
    crate::builder::setters! {
        /// The app client's secret, for app clients created with one: every unauthenticated
        /// call then carries `SECRET_HASH`, and RevokeToken the secret itself.
        client_secret(secret: impl Into<SecretString>) => client_secret = Some(secret.into());

        /// Sets or clears the app client's secret.
        set_client_secret(&mut self, secret: Option<SecretString>) => client_secret;

        /// The region, if it differs from the pool id's prefix (it never does on AWS). It picks
        /// the default endpoint and the identity-pool logins key.
        region(region: impl Into<String>) => region = Some(region.into());
    }

    crate::http::transport_setters!("cognito-idp");

    crate::builder::setters! {
        /// Where remembered devices are kept (default: in memory).
        device_store(store: Arc<dyn DeviceStore>) => devices = Some(store);

        /// What to do with new devices (default [`DeviceTracking::Confirm`]).
        device_tracking(tracking: DeviceTracking) => device_tracking;

        /// The name ConfirmDevice gives this device (e.g. the host name); none by default.
        device_name(name: impl Into<String>) => device_name = Some(name.into());

        /// The issuer shown by authenticator apps for TOTP set up during sign-in (the
        /// `issuer` of the `otpauth://` URI); the pool id by default.
        totp_issuer(issuer: impl Into<String>) => totp_issuer = Some(issuer.into());

        /// Refreshes with GetTokensFromRefreshToken, for app clients with refresh-token rotation
        /// enabled: each refresh then returns a new refresh token and the old one stops working
        /// after the client's grace period. Off by default (InitiateAuth `REFRESH_TOKEN_AUTH`,
        /// which clients without rotation use).
        ///
        /// A rotating refresh is not retried once it may have reached Cognito: if the answer
        /// was lost, the old token is only good for the grace period.
        refresh_token_rotation(enabled: bool) => refresh_token_rotation;

        /// The clock for SRP's `TIMESTAMP` (default: the system clock).
        clock(clock: Arc<dyn Clock>) => clock = Some(clock);
    }

    /// The endpoint the built client will call, for probes of its reachability.
    pub(crate) fn resolved_endpoint(&self) -> Result<reqwest::Url, CognitoError> {
        let (pool_region, _) = split_pool_id(&self.pool_id)?;
        let region = self.region.as_deref().unwrap_or(pool_region);
        self.transport.resolved_endpoint("cognito-idp", region)
    }

    /// Checks the configuration and builds the client. Nothing is sent.
    pub fn build(self) -> Result<CognitoUserPool, CognitoError> {
        let (pool_region, _) = split_pool_id(&self.pool_id)?;
        if self.client_id.is_empty()
            || self.client_id.len() > 128
            || !self.client_id.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '+')
        {
            return Err(CognitoError::invalid(format!(
                "`{}` is not an app client id",
                self.client_id
            )));
        }
        let region = self.region.unwrap_or_else(|| pool_region.to_owned());
        let api = self.transport.connect("cognito-idp", &region, TARGET_PREFIX)?;
        let totp_issuer = self.totp_issuer.unwrap_or_else(|| self.pool_id.clone());
        Ok(CognitoUserPool {
            inner: Arc::new(Inner {
                api,
                pool_id: self.pool_id,
                region,
                client_id: self.client_id,
                client_secret: self.client_secret,
                devices: self.devices.unwrap_or_else(|| Arc::new(MemoryDeviceStore::new())),
                device_tracking: self.device_tracking,
                device_name: self.device_name,
                totp_issuer,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                refresh_token_rotation: self.refresh_token_rotation,
            }),
        })
    }
}

/// Splits `<region>_<name>`, checking the documented pattern `[\w-]+_[0-9a-zA-Z]+` and the
/// 55-character limit.
pub(crate) fn split_pool_id(pool_id: &str) -> Result<(&str, &str), CognitoError> {
    let invalid = || CognitoError::invalid(format!("`{pool_id}` is not a user pool id"));
    if pool_id.len() > 55 {
        return Err(invalid());
    }
    let (region, name) = pool_id.split_once('_').ok_or_else(invalid)?;
    let region_ok = !region.is_empty()
        && region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric());
    if region_ok && name_ok { Ok((region, name)) } else { Err(invalid()) }
}

#[async_trait]
impl IdentityProvider for CognitoUserPool {
    fn logins_key(&self) -> String {
        crate::identity_pool::user_pool_key(&self.inner.region, &self.inner.pool_id)
    }

    /// A user pool offers sign-up, password reset and attributes itself: an `AuthClient`
    /// built with it needs no separate account provider.
    fn account_provider(self: Arc<Self>) -> Option<DynAccountProvider> {
        Some(self)
    }

    async fn sign_in(&self, request: &SignInRequest) -> Result<SignInOutcome, ProviderError> {
        Ok(self.start_sign_in(request).await?)
    }

    async fn respond_to_challenge(
        &self,
        context: &ChallengeContext,
        response: &ChallengeResponse,
    ) -> Result<SignInOutcome, ProviderError> {
        Ok(self.continue_sign_in(context, response).await?)
    }

    async fn refresh(&self, session: &UserPoolSession) -> Result<UserPoolTokens, ProviderError> {
        Ok(self.refresh_tokens(session).await?)
    }

    async fn sign_out(
        &self,
        session: &UserPoolSession,
        options: &SignOutOptions,
    ) -> Result<(), ProviderError> {
        Ok(self.remote_sign_out(session, options).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ids() {
        assert_eq!(split_pool_id("us-east-1_AbC123").unwrap(), ("us-east-1", "AbC123"));
        for bad in ["", "nounderscore", "us-east-1_", "_abc", "us-east-1_a-b", &"a_".repeat(30)] {
            assert!(split_pool_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn builder_checks_and_debug_redacts() {
        assert!(CognitoUserPool::builder("bad", "client").build().is_err());
        assert!(CognitoUserPool::builder("us-east-1_abc", "").build().is_err());
        assert!(
            CognitoUserPool::builder("us-east-1_abc", "c").endpoint("ftp://x").build().is_err()
        );
        let pool = CognitoUserPool::builder("eu-west-1_abc", "client1")
            .client_secret("top-secret-value")
            .build()
            .unwrap();
        assert_eq!(pool.endpoint(), "https://cognito-idp.eu-west-1.amazonaws.com/");
        assert_eq!(pool.logins_key(), "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc");
        let printed = format!("{pool:?}");
        assert!(!printed.contains("top-secret-value"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
        let pool = CognitoUserPool::builder("cn-north-1_abc", "client1").build().unwrap();
        assert_eq!(pool.endpoint(), "https://cognito-idp.cn-north-1.amazonaws.com.cn/");
        assert_eq!(pool.logins_key(), "cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc");
    }
}
