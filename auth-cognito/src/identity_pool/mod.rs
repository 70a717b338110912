//! The Cognito identity-pool client: [`CognitoIdentityPool`] implements auth-core's
//! [`CredentialsProvider`] with the enhanced (simplified) flow, GetId then
//! GetCredentialsForIdentity, for guests, user-pool users and federated providers; and
//! [`DeveloperIdentityCredentials`] for developer-authenticated identities.

mod developer;
mod logins;
mod wire;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use auth_core::{AwsCredentials, CredentialsProvider, IdentityId, Logins, ProviderError};

pub use self::developer::{
    DEVELOPER_LOGINS_KEY, DeveloperIdentity, DeveloperIdentityCredentials, DeveloperIdentityError,
    DeveloperIdentitySource, developer_identity_fn,
};
pub use self::logins::LoginProvider;
pub(crate) use self::logins::user_pool_key;
use self::wire::{
    GetCredentialsForIdentityInput, GetCredentialsForIdentityOutput, GetIdInput, GetIdOutput,
};
use crate::error::CognitoError;
use crate::http::{AwsJsonClient, Idempotency, Transport};

/// The `X-Amz-Target` prefix of the identity-pool API.
const TARGET_PREFIX: &str = "AWSCognitoIdentityService.";

/// How long credentials fetched while resolving an identity (a merge) are kept for the
/// `credentials` call that follows it. `AuthClient` makes that call right away; the window
/// only has to outlast a slow scheduler, and stale credentials are never handed out.
const HANDOFF_WINDOW: Duration = Duration::from_secs(30);

/// Service errors after which a stored identity is given up for a fresh GetId: the identity
/// was deleted (or belongs to another pool), or the logins do not belong to it (another
/// user's identity, or an authenticated identity asked for as a guest).
const STALE_IDENTITY_ERRORS: [&str; 3] =
    ["ResourceNotFoundException", "NotAuthorizedException", "ResourceConflictException"];

/// A Cognito identity pool, as the credentials provider of `AuthClient`: it turns a
/// user-pool sign-in, a third-party token or nothing at all (a guest) into temporary AWS
/// credentials.
///
/// It speaks the enhanced flow: `GetId` finds (or creates) the identity for the logins,
/// `GetCredentialsForIdentity` returns credentials for it. Given the identity the client
/// already has (e.g. a guest's, kept in the token store), it asks for credentials for that
/// identity with the new logins, which is how Cognito merges a guest identity into the
/// signed-in user's; if Cognito answers with another identity id, that one is used.
///
/// Cheap to clone: clones share the HTTP connection pool and configuration.
///
/// ```no_run
/// use std::sync::Arc;
/// use auth_cognito::{CognitoIdentityPool, CognitoUserPool};
/// use auth_core::AuthClient;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let user_pool = CognitoUserPool::builder("eu-west-1_AbCdEf123", "3n4b5urk1ft4fl3mg5e62d9ado")
///     .build()?;
/// let identity_pool =
///     CognitoIdentityPool::builder("eu-west-1:0b7c4f35-5d7e-4a6f-9f8e-2c1d0e9b8a7f").build()?;
/// let client = AuthClient::builder()
///     .identity_provider(Arc::new(user_pool))
///     .credentials_provider(Arc::new(identity_pool))
///     .guest_access(true)
///     .build();
/// client.initialize().await?;
/// // A guest until someone signs in; the guest identity is merged at sign-in.
/// let credentials = client.aws_credentials().await?;
/// println!("{} until {:?}", client.identity_id().await?, credentials.expiration);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CognitoIdentityPool {
    inner: Arc<Inner>,
}

struct Inner {
    api: AwsJsonClient,
    identity_pool_id: String,
    region: String,
    account_id: Option<String>,
    custom_role_arn: Option<String>,
    /// Credentials fetched by a merge in `identity_id`, for the `credentials` call after it.
    handoff: Mutex<Option<Handoff>>,
}

/// Credentials obtained while resolving an identity, waiting for the `credentials` call
/// that `AuthClient` makes next, so that a merge costs one GetCredentialsForIdentity, not two.
struct Handoff {
    identity_id: IdentityId,
    logins: Logins,
    credentials: AwsCredentials,
    at: Instant,
}

crate::builder::debug_fields!(CognitoIdentityPool(&self) {
    identity_pool_id: self.inner.identity_pool_id,
    endpoint: crate::untrusted::redacted_url(self.inner.api.endpoint()),
    account_id: self.inner.account_id,
    custom_role_arn: self.inner.custom_role_arn,
    ..
});

/// What GetCredentialsForIdentity returned: the identity the credentials belong to (which
/// differs from the one asked for when Cognito merged identities) and the credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityCredentials {
    /// The identity the credentials were issued for.
    pub identity_id: IdentityId,
    /// Temporary AWS credentials (`ASIA...`), with their expiry.
    pub credentials: AwsCredentials,
}

impl CognitoIdentityPool {
    /// Starts configuring a client for identity pool `identity_pool_id`
    /// (`<region>:<uuid>`).
    pub fn builder(identity_pool_id: impl Into<String>) -> CognitoIdentityPoolBuilder {
        CognitoIdentityPoolBuilder {
            identity_pool_id: identity_pool_id.into(),
            region: None,
            account_id: None,
            custom_role_arn: None,
            transport: Transport::default(),
        }
    }

    /// The identity pool id.
    pub fn identity_pool_id(&self) -> &str {
        &self.inner.identity_pool_id
    }

    /// The region the identity pool lives in.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The endpoint calls go to.
    pub fn endpoint(&self) -> &str {
        self.inner.api.endpoint().as_str()
    }

    /// `GetId`: the identity of `logins` (created on first use), or a new guest identity
    /// when `logins` is empty. Retried on network failures and throttling.
    pub async fn get_id(&self, logins: &Logins) -> Result<IdentityId, CognitoError> {
        let input = GetIdInput {
            account_id: self.inner.account_id.as_deref(),
            identity_pool_id: &self.inner.identity_pool_id,
            logins,
        };
        let output: GetIdOutput =
            self.inner.api.call("GetId", &input, Idempotency::Idempotent).await?;
        let id = output
            .identity_id
            .filter(|id| is_identity_id(id))
            .ok_or_else(|| CognitoError::protocol("GetId answered without a valid IdentityId"))?;
        Ok(IdentityId::new(id))
    }

    /// `GetCredentialsForIdentity`: credentials for `identity_id`, proven with `logins`
    /// (empty for a guest identity), assuming the custom role if one is configured.
    /// Retried on network failures and throttling: it only reads, or merges an identity,
    /// which a repetition does not do twice.
    pub async fn get_credentials_for_identity(
        &self,
        identity_id: &IdentityId,
        logins: &Logins,
    ) -> Result<IdentityCredentials, CognitoError> {
        if !is_identity_id(identity_id.as_str()) {
            return Err(CognitoError::invalid(format!("`{identity_id}` is not an identity id")));
        }
        let input = GetCredentialsForIdentityInput {
            identity_id: identity_id.as_str(),
            logins,
            custom_role_arn: self.inner.custom_role_arn.as_deref(),
        };
        let (output, date): (GetCredentialsForIdentityOutput, _) = self
            .inner
            .api
            .call_dated("GetCredentialsForIdentity", &input, Idempotency::Idempotent)
            .await?;
        let answered = match output.identity_id {
            Some(id) if is_identity_id(&id) => IdentityId::new(id),
            Some(_) => {
                return Err(CognitoError::protocol(
                    "GetCredentialsForIdentity answered with an invalid IdentityId",
                ));
            }
            None => identity_id.clone(),
        };
        let credentials = output.credentials.ok_or_else(|| {
            CognitoError::protocol("GetCredentialsForIdentity answered without Credentials")
        })?;
        let credentials = credentials_from(credentials)?;
        // The answer's Date is the service's clock: AuthClient corrects expiry checks with
        // it when the device clock is off.
        let credentials = match date {
            Some(date) => credentials.with_issued_at(date),
            None => credentials,
        };
        Ok(IdentityCredentials { identity_id: answered, credentials })
    }

    fn take_handoff(&self, identity_id: &IdentityId, logins: &Logins) -> Option<AwsCredentials> {
        let handoff = self.inner.handoff.lock().unwrap_or_else(PoisonError::into_inner).take()?;
        let usable = handoff.at.elapsed() < HANDOFF_WINDOW
            && &handoff.identity_id == identity_id
            && &handoff.logins == logins
            && handoff.credentials.is_valid_at(SystemTime::now(), Duration::ZERO);
        usable.then_some(handoff.credentials)
    }

    fn put_handoff(&self, identity_id: IdentityId, logins: &Logins, credentials: AwsCredentials) {
        let handoff =
            Handoff { identity_id, logins: logins.clone(), credentials, at: Instant::now() };
        *self.inner.handoff.lock().unwrap_or_else(PoisonError::into_inner) = Some(handoff);
    }
}

#[async_trait]
impl CredentialsProvider for CognitoIdentityPool {
    /// Without a `current` identity: GetId. With one: GetCredentialsForIdentity for it with
    /// `logins`, which merges a guest identity into the signed-in one and also proves the
    /// identity still exists; the identity Cognito answers with is returned (and its
    /// credentials kept for the `credentials` call that follows, so no second call is
    /// made). If Cognito says the identity is gone or not this user's, GetId finds the
    /// right one.
    async fn identity_id(
        &self,
        logins: &Logins,
        current: Option<&IdentityId>,
    ) -> Result<IdentityId, ProviderError> {
        let Some(current) = current else {
            return Ok(self.get_id(logins).await?);
        };
        match self.get_credentials_for_identity(current, logins).await {
            Ok(IdentityCredentials { identity_id, credentials }) => {
                if &identity_id != current {
                    tracing::info!(from = %current, to = %identity_id, "Cognito merged the identity");
                }
                self.put_handoff(identity_id.clone(), logins, credentials);
                Ok(identity_id)
            }
            Err(CognitoError::Service(failure))
                if STALE_IDENTITY_ERRORS.contains(&failure.name()) =>
            {
                tracing::info!(
                    identity = %current,
                    error = failure.name(),
                    "the stored identity cannot be used with these logins; asking for the right one"
                );
                Ok(self.get_id(logins).await?)
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn credentials(
        &self,
        identity_id: &IdentityId,
        logins: &Logins,
    ) -> Result<AwsCredentials, ProviderError> {
        if let Some(credentials) = self.take_handoff(identity_id, logins) {
            return Ok(credentials);
        }
        let answer = self.get_credentials_for_identity(identity_id, logins).await?;
        if &answer.identity_id != identity_id {
            // The trait has no way to hand the new id back; the credentials are valid for
            // the identity Cognito chose, and the next identity resolution will see it.
            tracing::warn!(
                asked = %identity_id,
                answered = %answer.identity_id,
                "Cognito issued credentials for another identity"
            );
        }
        Ok(answer.credentials)
    }
}

/// Configures a [`CognitoIdentityPool`].
#[must_use]
pub struct CognitoIdentityPoolBuilder {
    identity_pool_id: String,
    region: Option<String>,
    account_id: Option<String>,
    custom_role_arn: Option<String>,
    transport: Transport,
}

impl CognitoIdentityPoolBuilder {
    /// The region, if it differs from the identity pool id's prefix (it never does on AWS).
    /// It picks the default endpoint.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    crate::http::transport_setters!("cognito-identity");

    crate::builder::setters! {
        /// The AWS account that owns the identity pool, sent with GetId (Cognito accepts it
        /// but does not need it).
        account_id(account_id: impl Into<String>) => account_id = Some(account_id.into());

        /// Sets or clears the account id.
        set_account_id(&mut self, account_id: Option<String>) => account_id;

        /// The IAM role to assume when the identity pool's role mapping offers several (from
        /// the token's `cognito:roles` / `cognito:preferred_role` claims); Cognito's default
        /// choice when unset.
        custom_role_arn(arn: impl Into<String>) => custom_role_arn = Some(arn.into());

        /// Sets or clears the custom role.
        set_custom_role_arn(&mut self, arn: Option<String>) => custom_role_arn;
    }

    /// The endpoint the built client will call, for probes of its reachability.
    pub(crate) fn resolved_endpoint(&self) -> Result<reqwest::Url, CognitoError> {
        let (pool_region, _) = self.identity_pool_id.split_once(':').unwrap_or_default();
        let region = self.region.as_deref().unwrap_or(pool_region);
        self.transport.resolved_endpoint("cognito-identity", region)
    }

    /// Checks the configuration and builds the client. Nothing is sent.
    pub fn build(self) -> Result<CognitoIdentityPool, CognitoError> {
        let id = &self.identity_pool_id;
        if !is_identity_id(id) {
            return Err(CognitoError::invalid(format!(
                "`{id}` is not an identity pool id (<region>:<uuid>)"
            )));
        }
        let (pool_region, _) = id.split_once(':').unwrap_or_default();
        let region = self.region.unwrap_or_else(|| pool_region.to_owned());
        if let Some(account) = &self.account_id {
            if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
                return Err(CognitoError::invalid(format!(
                    "`{account}` is not an AWS account id (12 digits)"
                )));
            }
        }
        if let Some(arn) = &self.custom_role_arn {
            if !arn.starts_with("arn:") || !(20..=2048).contains(&arn.len()) {
                return Err(CognitoError::invalid(format!("`{arn}` is not an IAM role ARN")));
            }
        }
        let api = self.transport.connect("cognito-identity", &region, TARGET_PREFIX)?;
        Ok(CognitoIdentityPool {
            inner: Arc::new(Inner {
                api,
                identity_pool_id: self.identity_pool_id,
                region,
                account_id: self.account_id,
                custom_role_arn: self.custom_role_arn,
                handoff: Mutex::new(None),
            }),
        })
    }
}

/// True for identity and identity pool ids: `[\w-]+:[0-9a-f-]+`, at most 55 characters.
fn is_identity_id(id: &str) -> bool {
    let Some((region, uuid)) = id.split_once(':') else { return false };
    id.len() <= 55
        && !region.is_empty()
        && region.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !uuid.is_empty()
        && uuid.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-')
}

/// Checks and converts the credentials of an answer.
fn credentials_from(credentials: wire::Credentials) -> Result<AwsCredentials, CognitoError> {
    let missing = |field: &str| {
        CognitoError::protocol(format!("GetCredentialsForIdentity answered without {field}"))
    };
    let access_key_id = credentials.access_key_id.ok_or_else(|| missing("AccessKeyId"))?;
    let secret = credentials.secret_key.ok_or_else(|| missing("SecretKey"))?;
    let session_token = credentials.session_token.ok_or_else(|| missing("SessionToken"))?;
    let seconds = credentials.expiration.ok_or_else(|| missing("Expiration"))?;
    let expiration = auth_core::jwt::time_from_epoch_seconds(seconds)
        .ok_or_else(|| CognitoError::protocol("GetCredentialsForIdentity: invalid Expiration"))?;
    if access_key_id.is_empty() || secret.secret().is_empty() {
        return Err(missing("a key"));
    }
    Ok(AwsCredentials::new(access_key_id, secret, Some(session_token), Some(expiration)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn identity_ids() {
        assert!(is_identity_id("us-east-1:0b7c4f35-5d7e-4a6f-9f8e-2c1d0e9b8a7f"));
        assert!(is_identity_id("eu-west-1:1"));
        for bad in [
            "",
            "us-east-1",
            ":abc",
            "us-east-1:",
            "us-east-1:XYZ",
            "us east:abc",
            &format!("us-east-1:{}", "a".repeat(50)),
        ] {
            assert!(!is_identity_id(bad), "{bad}");
        }
    }

    #[test]
    fn builder_checks_and_picks_the_endpoint() {
        let pool = CognitoIdentityPool::builder("eu-west-1:0b7c4f35-5d7e-4a6f-9f8e-2c1d0e9b8a7f")
            .build()
            .unwrap();
        assert_eq!(pool.endpoint(), "https://cognito-identity.eu-west-1.amazonaws.com/");
        assert_eq!(pool.region(), "eu-west-1");
        let cn = CognitoIdentityPool::builder("cn-north-1:abc").build().unwrap();
        assert_eq!(cn.endpoint(), "https://cognito-identity.cn-north-1.amazonaws.com.cn/");
        assert!(CognitoIdentityPool::builder("nope").build().is_err());
        assert!(CognitoIdentityPool::builder("us-east-1:abc").account_id("12").build().is_err());
        assert!(
            CognitoIdentityPool::builder("us-east-1:abc").custom_role_arn("x").build().is_err()
        );
        assert!(CognitoIdentityPool::builder("us-east-1:abc").endpoint("ftp://x").build().is_err());
        let configured = CognitoIdentityPool::builder("us-east-1:abc")
            .account_id("123456789012")
            .custom_role_arn("arn:aws:iam::123456789012:role/Reader")
            .endpoint("http://127.0.0.1:9229")
            .build()
            .unwrap();
        let printed = format!("{configured:?}");
        assert!(printed.contains("us-east-1:abc") && printed.contains("role/Reader"), "{printed}");
    }

    #[test]
    fn credentials_are_checked() {
        let full = || wire::Credentials {
            access_key_id: Some("ASIAEXAMPLE".into()),
            secret_key: Some("secret".into()),
            session_token: Some("session".into()),
            expiration: Some(1_700_000_000.5),
        };
        let credentials = credentials_from(full()).unwrap();
        assert_eq!(
            credentials.expiration,
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_500))
        );
        for broken in [
            wire::Credentials { access_key_id: None, ..full() },
            wire::Credentials { secret_key: None, ..full() },
            wire::Credentials { session_token: None, ..full() },
            wire::Credentials { expiration: None, ..full() },
            wire::Credentials { expiration: Some(-1.0), ..full() },
            wire::Credentials { expiration: Some(f64::NAN), ..full() },
            wire::Credentials { expiration: Some(f64::INFINITY), ..full() },
            wire::Credentials { expiration: Some(1e300), ..full() },
            wire::Credentials { access_key_id: Some(String::new()), ..full() },
        ] {
            assert!(matches!(credentials_from(broken), Err(CognitoError::Protocol(_))));
        }
    }
}
