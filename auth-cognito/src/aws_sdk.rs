//! The bridge to aws-sdk-rust (feature `aws-sdk`): `AuthClient`'s AWS credentials for any
//! aws-sdk-rust client, and SigV4 signatures for any other HTTP request.
//!
//! - [`AuthClientCredentialsProvider`] implements
//!   [`ProvideCredentials`] with
//!   [`AuthClient::aws_credentials`]: give it to an SDK client's config and every call is
//!   signed with the signed-in user's (or the guest's) identity-pool credentials. The
//!   credentials carry their expiry, so the SDK's identity cache asks again when they
//!   expire, and `AuthClient` refreshes them then (one refresh however many calls ask).
//! - [`RequestSigner`] signs an [`http::Request`] with SigV4 and the same credentials, for
//!   services without an SDK client: API Gateway with IAM authorisation (`execute-api`),
//!   AppSync, a Lambda function URL, an S3-compatible endpoint.
//! - [`ClockTimeSource`] gives an SDK client the same clock as `AuthClient`, for tests that
//!   move time (a `ManualClock`): the SDK's identity cache judges expiry by its own clock.
//!
//! ```no_run
//! use auth_cognito::aws_sdk::AuthClientCredentialsProvider;
//!
//! # async fn run(client: auth_core::AuthClient) -> Result<(), Box<dyn std::error::Error>> {
//! // `client` is an initialised AuthClient with a CognitoIdentityPool.
//! let config = aws_sdk_s3::Config::builder()
//!     .behavior_version_latest()
//!     .region(aws_sdk_s3::config::Region::new("eu-west-1"))
//!     .credentials_provider(AuthClientCredentialsProvider::new(client.clone()))
//!     .build();
//! let s3 = aws_sdk_s3::Client::from_conf(config);
//! s3.put_object().bucket("uploads").key("photo.jpg").body(b"...".to_vec().into()).send().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::{AuthClient, AuthError, AwsCredentials, Clock, ProviderError, UserState};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

/// An identity cache for an aws-sdk-rust client using [`AuthClientCredentialsProvider`],
/// so its calls follow `AuthClient`'s offline rules: a call whose credentials expired while
/// offline waits (blocked, with the `...TokensInvalid` announcement) until the network
/// returns and the credentials are refreshed, for up to `deadline`. The SDK's default
/// cache gives up loading credentials after 5 seconds, which would turn every wait into a
/// failure. Give it to the config with `.identity_cache(offline_identity_cache(d))`, and
/// keep any operation timeout of the SDK's `timeout_config` above `deadline`.
pub fn offline_identity_cache(
    deadline: Duration,
) -> aws_smithy_runtime_api::client::identity::SharedIdentityCache {
    aws_smithy_runtime::client::identity::IdentityCache::lazy().load_timeout(deadline).build()
}

/// The provider name the SDK records with the credentials (in logs and metrics).
const PROVIDER_NAME: &str = "auth-cognito";

/// `AuthClient` as an aws-sdk-rust credentials provider.
///
/// Each call of [`provide_credentials`](ProvideCredentials::provide_credentials) is an
/// [`AuthClient::aws_credentials`] call: the cached credentials while they are valid, else
/// one refresh shared by all callers (a guest's, a user-pool user's or a federated user's,
/// as the client's state says). The expiry is passed on, so the SDK's identity cache
/// refreshes on time.
///
/// Errors become the [`CredentialsError`] an SDK expects:
/// - nobody signed in, a sign-out during the call, a wait for re-sign-in that the app
///   released or that timed out: [`CredentialsNotLoaded`](CredentialsError::CredentialsNotLoaded)
///   (this provider has no credentials to give);
/// - network failures, throttling, service errors, an offline device, a token store that is
///   unavailable, a login the identity pool refused:
///   [`ProviderError`](CredentialsError::ProviderError), with the `AuthError` as source;
/// - the call took longer than [`with_timeout`](Self::with_timeout):
///   [`ProviderTimedOut`](CredentialsError::ProviderTimedOut);
/// - a client that is not initialised or has no credentials provider, an identity pool
///   that is misconfigured or does not exist:
///   [`InvalidConfiguration`](CredentialsError::InvalidConfiguration);
/// - an answer that could not be understood: [`Unhandled`](CredentialsError::Unhandled).
#[derive(Clone, Debug)]
pub struct AuthClientCredentialsProvider {
    client: AuthClient,
    timeout: Option<Duration>,
}

impl AuthClientCredentialsProvider {
    /// A provider of `client`'s credentials. `client` must have a credentials provider
    /// (e.g. [`CognitoIdentityPool`](crate::CognitoIdentityPool)) and be initialised before
    /// the first SDK call.
    pub fn new(client: AuthClient) -> Self {
        Self { client, timeout: None }
    }

    /// Fails a call with `ProviderTimedOut` after `timeout`. Without it a call lasts as
    /// long as `AuthClient` waits (see its `sign_in_wait_timeout`), bounded by the SDK's
    /// own identity-cache load timeout (5 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The client behind this provider.
    pub fn client(&self) -> &AuthClient {
        &self.client
    }

    /// The current credentials, in the SDK's type.
    pub async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let result = match self.timeout {
            Some(timeout) => tokio::time::timeout(timeout, self.client.aws_credentials())
                .await
                .map_err(|_| CredentialsError::provider_timed_out(timeout))?,
            None => self.client.aws_credentials().await,
        };
        match result {
            Ok(credentials) => Ok(sdk_credentials(&credentials)),
            Err(error) => Err(credentials_error(error, self.client.current_user_state().state)),
        }
    }
}

impl ProvideCredentials for AuthClientCredentialsProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

/// Converts auth-core credentials into the SDK's type, expiry included.
pub fn sdk_credentials(credentials: &AwsCredentials) -> Credentials {
    let mut builder = Credentials::builder()
        .access_key_id(credentials.access_key_id.as_str())
        .secret_access_key(credentials.secret_access_key.secret())
        .provider_name(PROVIDER_NAME);
    builder.set_session_token(credentials.session_token.as_ref().map(|t| t.secret().to_owned()));
    builder.set_expiry(credentials.expiration);
    builder.build()
}

/// The [`CredentialsError`] for an `AuthClient` error, given the client's state after it
/// (which tells a wait for re-sign-in from a wait for connectivity).
fn credentials_error(error: AuthError, state: UserState) -> CredentialsError {
    let waiting_for_sign_in = matches!(
        state,
        UserState::SignedOutUserPoolsTokensInvalid | UserState::SignedOutFederatedTokensInvalid
    );
    match &error {
        AuthError::NotSignedIn | AuthError::SignedOut | AuthError::SignInWaitReleased => {
            CredentialsError::not_loaded(error)
        }
        AuthError::SignInWaitTimedOut if waiting_for_sign_in => CredentialsError::not_loaded(error),
        AuthError::NotInitialized | AuthError::NotConfigured(_) => {
            CredentialsError::invalid_configuration(error)
        }
        AuthError::Provider(ProviderError::Rejected(service))
            if matches!(
                service.code(),
                "InvalidIdentityPoolConfigurationException" | "ResourceNotFoundException"
            ) =>
        {
            CredentialsError::invalid_configuration(error)
        }
        AuthError::Provider(ProviderError::InvalidInput(_) | ProviderError::Unsupported(_)) => {
            CredentialsError::invalid_configuration(error)
        }
        AuthError::Provider(ProviderError::Protocol(_)) => CredentialsError::unhandled(error),
        _ => CredentialsError::provider_error(error),
    }
}

/// An auth-core [`Clock`] as aws-sdk-rust's time source (`time_source` of an SDK config).
///
/// The SDK dates signatures and judges the expiry of cached credentials by its time source.
/// In production the system clock serves both the SDK and `AuthClient`; a test that moves
/// time with a `ManualClock` (and the mock server's clock) gives the SDK the same clock, so
/// that "expired" means the same for both.
#[derive(Clone, Debug)]
pub struct ClockTimeSource(Arc<dyn Clock>);

impl ClockTimeSource {
    /// The SDK time source that reads `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self(clock)
    }
}

impl aws_smithy_async::time::TimeSource for ClockTimeSource {
    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// No credentials: see the `AuthError` (nobody signed in, network, ...).
    #[error("no AWS credentials to sign with: {0}")]
    Credentials(#[from] AuthError),
    /// The request cannot be signed as it is: no host, a header value that is not
    /// visible ASCII.
    #[error("the request cannot be signed: {0}")]
    Request(String),
    /// The SigV4 signer failed.
    #[error("SigV4 signing failed: {0}")]
    Signing(String),
}

/// Signs HTTP requests with SigV4 and `AuthClient`'s current AWS credentials.
///
/// ```no_run
/// use auth_cognito::aws_sdk::RequestSigner;
/// # async fn run(client: auth_core::AuthClient) -> Result<(), Box<dyn std::error::Error>> {
/// let signer = RequestSigner::new(client, "eu-west-1", "execute-api");
/// let mut request = http::Request::post("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/orders")
///     .header("content-type", "application/json")
///     .body(br#"{"item": 42}"#.to_vec())?;
/// signer.sign(&mut request).await?;
/// // Send `request` with any HTTP client: it now carries Authorization, X-Amz-Date and
/// // X-Amz-Security-Token.
/// # Ok(()) }
/// ```
///
/// Every header of the request is signed (except the few SigV4 leaves out, such as
/// `user-agent`), so set them all before signing and change none after. For the `s3`
/// service the signer follows S3's rules: single URI encoding, no path normalisation and an
/// `x-amz-content-sha256` header.
#[derive(Clone)]
pub struct RequestSigner {
    client: AuthClient,
    region: String,
    service: String,
    clock: Option<Arc<dyn Clock>>,
    unsigned_payload: bool,
}

crate::builder::debug_fields!(RequestSigner(&self) {
    region: self.region,
    service: self.service,
    unsigned_payload: self.unsigned_payload,
    ..
});

impl RequestSigner {
    /// Signs for `service` (the signing name, e.g. `execute-api`, `appsync`, `lambda`, `s3`)
    /// in `region`, with `client`'s credentials, dated by [`AuthClient::service_time`].
    pub fn new(client: AuthClient, region: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            client,
            region: region.into(),
            service: service.into(),
            clock: None,
            unsigned_payload: false,
        }
    }

    /// The client whose credentials sign.
    pub fn client(&self) -> &AuthClient {
        &self.client
    }

    crate::builder::setters! {
        /// The clock that dates signatures (default: [`AuthClient::service_time`], the client's
        /// clock corrected by the drift it saw in the issuer's tokens and credentials, so a
        /// device whose clock is off still signs within the 15 minutes a service accepts).
        clock(clock: Arc<dyn Clock>) => clock = Some(clock);

        /// Signs `UNSIGNED-PAYLOAD` instead of the body's hash, for bodies too large to hash
        /// twice; only services that accept it (S3) do.
        unsigned_payload(unsigned: bool) => unsigned_payload;
    }

    /// Signs `request` with the current credentials (refreshed first if they expired).
    pub async fn sign<B: AsRef<[u8]>>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<(), SignError> {
        let credentials = self.client.aws_credentials().await?;
        let time = match &self.clock {
            Some(clock) => clock.now(),
            None => self.client.service_time(),
        };
        self.sign_with(request, &credentials, time)
    }

    /// Signs `request` with `credentials` as of `time`, with no IO: for callers that
    /// already hold credentials, and for tests.
    pub fn sign_with<B: AsRef<[u8]>>(
        &self,
        request: &mut http::Request<B>,
        credentials: &AwsCredentials,
        time: SystemTime,
    ) -> Result<(), SignError> {
        // aws-sigv4 panics on a request with neither an absolute URI nor a Host header.
        if request.uri().authority().is_none()
            && !request.headers().contains_key(http::header::HOST)
        {
            return Err(SignError::Request("no host: use an absolute URI or a Host header".into()));
        }
        let mut headers = Vec::with_capacity(request.headers().len());
        for (name, value) in request.headers() {
            let value = value.to_str().map_err(|_| {
                SignError::Request(format!("the value of header `{name}` is not visible ASCII"))
            })?;
            headers.push((name.as_str(), value));
        }
        let body = if self.unsigned_payload {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(request.body().as_ref())
        };
        let uri = request.uri().to_string();
        let method = request.method().as_str();
        let signable = SignableRequest::new(method, uri, headers.into_iter(), body)
            .map_err(|error| SignError::Request(error.to_string()))?;
        let identity = sdk_credentials(credentials).into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(self.settings())
            .build()
            .map_err(|error| SignError::Signing(error.to_string()))?
            .into();
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|error| SignError::Signing(error.to_string()))?
            .into_parts();
        let (new_headers, _query) = instructions.into_parts();
        for header in new_headers {
            let mut value = http::HeaderValue::from_str(header.value())
                .map_err(|_| SignError::Signing(format!("invalid `{}` value", header.name())))?;
            // The signature is no secret, but it keeps HTTP debug logs free of it.
            value.set_sensitive(header.sensitive() || header.name() == "authorization");
            request.headers_mut().insert(header.name(), value);
        }
        Ok(())
    }

    fn settings(&self) -> SigningSettings {
        let mut settings = SigningSettings::default();
        if matches!(self.service.as_str(), "s3" | "s3-outposts" | "s3express") {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use auth_core::{SecretAccessKey, SessionToken};

    use super::*;

    fn example_credentials(session: Option<&str>) -> AwsCredentials {
        AwsCredentials::new(
            "AKIDEXAMPLE",
            SecretAccessKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session.map(SessionToken::new),
            None,
        )
    }

    fn signer(service: &str) -> RequestSigner {
        RequestSigner::new(AuthClient::builder().build(), "us-east-1", service)
    }

    fn example_time() -> SystemTime {
        // 2015-08-30T12:36:00Z, the time of the AWS SigV4 test suite.
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    /// The `get-vanilla` case of the public AWS SigV4 test suite.
    #[test]
    fn signs_the_aws_test_suite_vanilla_request() {
        let mut request =
            http::Request::get("https://example.amazonaws.com/").body(Vec::<u8>::new()).unwrap();
        signer("service")
            .sign_with(&mut request, &example_credentials(None), example_time())
            .unwrap();
        assert_eq!(
            request.headers()["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(request.headers()["x-amz-date"], "20150830T123600Z");
        assert!(request.headers()["authorization"].is_sensitive());
    }

    #[test]
    fn temporary_credentials_add_the_session_token_and_s3_the_payload_hash() {
        let mut request =
            http::Request::put("http://127.0.0.1:9000/bucket/key").body(b"hello".to_vec()).unwrap();
        signer("s3")
            .sign_with(&mut request, &example_credentials(Some("session-token")), example_time())
            .unwrap();
        let headers = request.headers();
        assert_eq!(headers["x-amz-security-token"], "session-token");
        assert!(headers["x-amz-security-token"].is_sensitive());
        assert_eq!(
            headers["x-amz-content-sha256"],
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let authorization = headers["authorization"].to_str().unwrap();
        assert!(authorization.contains("/us-east-1/s3/aws4_request"), "{authorization}");
        assert!(
            authorization.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
            ),
            "{authorization}"
        );
    }

    #[test]
    fn unsignable_requests_are_errors_not_panics() {
        let mut relative = http::Request::get("/path").body(Vec::<u8>::new()).unwrap();
        let error = signer("execute-api")
            .sign_with(&mut relative, &example_credentials(None), example_time())
            .unwrap_err();
        assert!(matches!(error, SignError::Request(_)), "{error:?}");
        let mut with_host = http::Request::get("/path")
            .header("host", "example.com")
            .body(Vec::<u8>::new())
            .unwrap();
        signer("execute-api")
            .sign_with(&mut with_host, &example_credentials(None), example_time())
            .expect("a Host header is enough");
        let mut binary = http::Request::get("https://example.com/")
            .header("x-custom", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
            .body(Vec::<u8>::new())
            .unwrap();
        let error = signer("execute-api")
            .sign_with(&mut binary, &example_credentials(None), example_time())
            .unwrap_err();
        assert!(matches!(error, SignError::Request(_)), "{error:?}");
    }

    #[test]
    fn sdk_credentials_keep_the_expiry_and_redact() {
        let expiry = example_time();
        let credentials = AwsCredentials::new(
            "ASIAEXAMPLE",
            SecretAccessKey::new("the-secret-key"),
            Some(SessionToken::new("the-session-token")),
            Some(expiry),
        );
        let sdk = sdk_credentials(&credentials);
        assert_eq!(sdk.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(sdk.secret_access_key(), "the-secret-key");
        assert_eq!(sdk.session_token(), Some("the-session-token"));
        assert_eq!(sdk.expiry(), Some(expiry));
        let printed = format!("{sdk:?}");
        assert!(!printed.contains("the-secret-key") && !printed.contains("the-session-token"));
    }

    #[test]
    fn errors_map_to_what_the_sdk_expects() {
        use UserState::*;
        let not_loaded =
            |e: &CredentialsError| matches!(e, CredentialsError::CredentialsNotLoaded(_));
        let provider = |e: &CredentialsError| matches!(e, CredentialsError::ProviderError(_));
        let config = |e: &CredentialsError| matches!(e, CredentialsError::InvalidConfiguration(_));
        type Check = fn(&CredentialsError) -> bool;
        let cases: Vec<(AuthError, UserState, Check)> = vec![
            (AuthError::NotSignedIn, SignedOut, not_loaded),
            (AuthError::SignedOut, SignedOut, not_loaded),
            (AuthError::SignInWaitReleased, SignedOutFederatedTokensInvalid, not_loaded),
            (AuthError::SignInWaitTimedOut, SignedOutFederatedTokensInvalid, not_loaded),
            (AuthError::SignInWaitTimedOut, SignedOutUserPoolsTokensInvalid, not_loaded),
            // A guest waiting for connectivity: transient.
            (AuthError::SignInWaitTimedOut, Guest, provider),
            (AuthError::Offline, Guest, provider),
            (ProviderError::network("connection refused").into(), SignedIn, provider),
            (
                ProviderError::Unavailable(auth_core::ServiceError::new(
                    "TooManyRequestsException",
                    "",
                ))
                .into(),
                SignedIn,
                provider,
            ),
            (
                ProviderError::rejected(auth_core::ServiceErrorKind::NotAuthorized, "").into(),
                SignedIn,
                provider,
            ),
            (
                ProviderError::rejected(
                    auth_core::ServiceErrorKind::Other(
                        "InvalidIdentityPoolConfigurationException".into(),
                    ),
                    "",
                )
                .into(),
                SignedIn,
                config,
            ),
            (
                ProviderError::rejected(auth_core::ServiceErrorKind::ResourceNotFound, "").into(),
                Guest,
                config,
            ),
            (AuthError::NotInitialized, Unknown, config),
            (AuthError::NotConfigured("a credentials provider"), SignedIn, config),
            (ProviderError::Protocol("garbage".into()).into(), SignedIn, |e: &CredentialsError| {
                matches!(e, CredentialsError::Unhandled(_))
            }),
        ];
        for (error, state, expected) in cases {
            let text = error.to_string();
            let mapped = credentials_error(error, state);
            assert!(expected(&mapped), "{text} in {state}: {mapped:?}");
            // The AuthError stays reachable for callers who want the details.
            let source = std::error::Error::source(&mapped).expect("a source");
            assert_eq!(source.to_string(), text);
        }
    }
}
