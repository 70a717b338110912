//! The transport: AWS JSON 1.1 over HTTPS (`POST /`, `X-Amz-Target`), error classification,
//! and retries with backoff and jitter.
//!
//! It knows nothing about user pools: the target prefix and the endpoint are parameters,
//! so the Identity Pools client (`AWSCognitoIdentityService.*`) can use the same code.
//!
//! # Retries
//! A call is retried only when sending it again cannot do harm:
//! - a failure while connecting (DNS, refused, TLS handshake): the request never left,
//!   so any operation is retried;
//! - a failure after the request may have been sent (timeout, connection reset) or
//!   throttling (`TooManyRequestsException`, ...): retried only for operations marked
//!   [`Idempotency::Idempotent`], whose repetition changes nothing. Everything else (a
//!   one-time code, a sign-up, a password change) reports the failure to the caller.
//!
//! Server errors (5xx, `InternalErrorException`) are not retried here: they are reported as
//! transient, and the caller (e.g. `AuthClient`'s next token request) decides when to try
//! again. Backoff is exponential with full jitter, capped by [`RetryPolicy`].

use std::error::Error as StdError;
use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{
    CognitoError, NetworkErrorKind, NetworkFailure, ServiceFailure, error_message, error_name,
};

/// The content type of AWS JSON 1.1 requests.
const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// How often and how patiently a call that can be retried is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, backoff starting at 100 ms and capped at 2 s: enough to ride out a
    /// dropped connection or a throttling burst, short enough for an interactive sign-in.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// A policy of at most `max_attempts` attempts (at least 1) whose n-th retry waits a
    /// random time between 0 and `min(max_delay, base_delay · 2^(n-1))` ("full jitter").
    pub fn new(max_attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        Self { max_attempts: max_attempts.max(1), base_delay, max_delay }
    }

    /// Never retry.
    pub fn none() -> Self {
        Self::new(1, Duration::ZERO, Duration::ZERO)
    }

    /// The maximum number of attempts, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay before retry number `retry` (1-based).
    fn delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let cap = self.base_delay.saturating_mul(1 << exponent).min(self.max_delay);
        let cap_micros = u64::try_from(cap.as_micros()).unwrap_or(u64::MAX);
        if cap_micros == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(rand::random_range(0..=cap_micros))
    }
}

/// Whether an operation may be repeated after a failure that may have happened after the
/// request reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Repeating it changes nothing (reads, refresh, sign-out, starting an SRP sign-in).
    Idempotent,
    /// Repeating it may do something twice or fail misleadingly (codes, passwords, sign-up).
    SideEffects,
}

/// Timeouts and retries of the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpSettings {
    /// How long to wait for the TCP and TLS connection (DNS included).
    pub connect_timeout: Duration,
    /// How long one attempt may take, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    /// Retries of failed attempts.
    pub retry: RetryPolicy,
}

impl Default for HttpSettings {
    /// 5 s to connect, 20 s per attempt, the default [`RetryPolicy`].
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
        }
    }
}

impl HttpSettings {
    /// `client` if the caller supplied one (its own timeouts, proxy and TLS), else a client
    /// built from these settings.
    pub(crate) fn client_or(
        &self,
        client: Option<reqwest::Client>,
    ) -> Result<reqwest::Client, CognitoError> {
        match client {
            Some(client) => Ok(client),
            None => self.build_client(),
        }
    }

    pub(crate) fn build_client(&self) -> Result<reqwest::Client, CognitoError> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            // Cognito never redirects an API call; following one would send tokens and
            // passwords to wherever a misconfigured proxy points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("auth-cognito/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                CognitoError::invalid(format!("could not build the HTTP client: {error}"))
            })
    }
}

/// The DNS suffix of AWS endpoints in `region`: `amazonaws.com.cn` in the China regions.
pub(crate) fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" }
}

/// The default endpoint of a Cognito service in `region`: `https://<service>.<region>.
/// amazonaws.com/`, or `.amazonaws.com.cn` in the China regions.
pub(crate) fn default_endpoint(service: &str, region: &str) -> Result<Url, CognitoError> {
    let valid = !region.is_empty()
        && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(CognitoError::invalid(format!("`{region}` is not an AWS region name")));
    }
    let suffix = dns_suffix(region);
    Url::parse(&format!("https://{service}.{region}.{suffix}/"))
        .map_err(|error| CognitoError::invalid(format!("endpoint for {region}: {error}")))
}

/// Checks an endpoint given by the user (a local server, an emulator, a VPC endpoint).
pub(crate) fn check_endpoint(endpoint: &str) -> Result<Url, CognitoError> {
    let url = Url::parse(endpoint)
        .map_err(|error| CognitoError::invalid(format!("endpoint `{endpoint}`: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CognitoError::invalid(format!(
            "endpoint `{endpoint}` must be an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}

/// The part of a service client's configuration that decides where and how calls are sent:
/// an endpoint override, timeouts and retries, or a caller's own reqwest client. The user-
/// and identity-pool builders keep one each and turn it into their [`AwsJsonClient`].
#[derive(Default)]
pub(crate) struct Transport {
    /// Replaces the service's default endpoint in the region when set.
    pub(crate) endpoint: Option<String>,
    pub(crate) settings: HttpSettings,
    /// Used instead of a client built from `settings` (whose retry policy still applies).
    pub(crate) http_client: Option<reqwest::Client>,
    /// Told the outcome of every attempt (a connectivity source learning from traffic).
    pub(crate) observer: Option<std::sync::Arc<dyn auth_core::TransportObserver>>,
}

impl Transport {
    /// The endpoint calls will go to: the override, or `service`'s default in `region`.
    pub(crate) fn resolved_endpoint(
        &self,
        service: &str,
        region: &str,
    ) -> Result<Url, CognitoError> {
        match &self.endpoint {
            Some(endpoint) => check_endpoint(endpoint),
            None => default_endpoint(service, region),
        }
    }

    /// Checks the endpoint (or derives `service`'s default one for `region`) and builds the
    /// client for the API whose operations are named `<target_prefix><Operation>`.
    pub(crate) fn connect(
        self,
        service: &str,
        region: &str,
        target_prefix: &'static str,
    ) -> Result<AwsJsonClient, CognitoError> {
        let endpoint = self.resolved_endpoint(service, region)?;
        let http = self.settings.client_or(self.http_client)?;
        let mut client = AwsJsonClient::new(http, endpoint, target_prefix, self.settings.retry);
        client.observer = self.observer;
        Ok(client)
    }
}

/// The transport setters of a service client's builder (one with a `transport: Transport`
/// field), declared once for the user-pool and identity-pool builders. `$host` is the
/// service's host prefix, e.g. `cognito-idp`, for the docs of the default endpoint.
macro_rules! transport_setters {
    ($host:literal) => {
        #[doc = concat!("Sends calls to `endpoint` instead of `https://", $host, ".<region>.amazonaws.com/`:")]
        /// a local server, an emulator, a VPC endpoint. The URL is used as given.
        pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
            self.transport.endpoint = Some(endpoint.into());
            self
        }

        /// Sets or clears the endpoint override.
        pub fn set_endpoint(&mut self, endpoint: Option<String>) -> &mut Self {
            self.transport.endpoint = endpoint;
            self
        }

        /// How long to wait for a connection (default 5 s).
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.transport.settings.connect_timeout = timeout;
            self
        }

        /// How long one attempt of a call may take (default 20 s).
        pub fn request_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.transport.settings.request_timeout = timeout;
            self
        }

        /// How failed calls are retried (see [`RetryPolicy`](crate::RetryPolicy) and the
        /// `http` notes in the crate docs for which calls are retried at all).
        pub fn retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
            self.transport.settings.retry = policy;
            self
        }

        /// Uses this reqwest client (its own timeouts, proxy and TLS settings) instead of
        /// one built from the timeouts above.
        ///
        /// Build it with `.redirect(reqwest::redirect::Policy::none())`, as the built-in
        /// client is: a client that follows redirects sends the request (passwords, tokens)
        /// on to wherever a redirect points before this crate sees the answer. The answer
        /// of a redirected call is refused either way (a protocol error), but only a
        /// client that does not follow redirects keeps the request from leaving.
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.transport.http_client = Some(client);
            self
        }

        /// Tells `observer` the outcome of every attempt of every call: answered, or lost
        /// to the network. A connectivity source (such as auth-connectivity's
        /// `NetworkConnectivity`) then goes offline the moment a call fails for network
        /// reasons and online the moment any answer arrives.
        pub fn transport_observer(
            mut self,
            observer: std::sync::Arc<dyn auth_core::TransportObserver>,
        ) -> Self {
            self.transport.observer = Some(observer);
            self
        }
    };
}
pub(crate) use transport_setters;

/// What a builder that calls an endpoint of its own (the OAuth token endpoint, a JWKS)
/// keeps of the transport, set through [`http_setters`]: timeouts and retries, or a
/// caller's own reqwest client.
#[derive(Default)]
pub(crate) struct HttpOptions {
    pub(crate) settings: HttpSettings,
    /// Used instead of a client built from `settings` (whose retry policy still applies).
    pub(crate) client: Option<reqwest::Client>,
}

impl HttpOptions {
    /// The caller's client, else one built from the settings.
    pub(crate) fn client(self) -> Result<reqwest::Client, CognitoError> {
        self.settings.client_or(self.client)
    }
}

/// The HTTP setters of a builder with an `http: HttpOptions` field, declared once for the
/// OAuth builders and the JWT verifier's. `$calls` names the requests for the docs; further
/// literals are added to `http_client`'s docs.
macro_rules! http_setters {
    ($calls:literal $(, $client_doc:literal)*) => {
        #[doc = concat!("Timeouts and retries of ", $calls, ".")]
        pub fn http_settings(mut self, settings: crate::HttpSettings) -> Self {
            self.http.settings = settings;
            self
        }

        #[doc = concat!("Sends ", $calls, " with this reqwest client (its own timeouts, proxy and TLS")]
        /// settings) instead of one built from [`http_settings`](Self::http_settings), whose
        /// retries still apply.
        $(#[doc = $client_doc])*
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.http.client = Some(client);
            self
        }
    };
}
pub(crate) use http_setters;

/// An AWS JSON 1.1 client for one service endpoint.
#[derive(Clone, Debug)]
pub(crate) struct AwsJsonClient {
    http: reqwest::Client,
    endpoint: Url,
    target_prefix: &'static str,
    retry: RetryPolicy,
    observer: Option<std::sync::Arc<dyn auth_core::TransportObserver>>,
}

impl AwsJsonClient {
    pub(crate) fn new(
        http: reqwest::Client,
        endpoint: Url,
        target_prefix: &'static str,
        retry: RetryPolicy,
    ) -> Self {
        Self { http, endpoint, target_prefix, retry, observer: None }
    }

    /// Tells the observer, if any, how an attempt went.
    fn report(&self, outcome: auth_core::TransportOutcome) {
        if let Some(observer) = &self.observer {
            observer.report(outcome);
        }
    }

    pub(crate) fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Calls `operation` with `input` and parses the answer as `O`.
    pub(crate) async fn call<I, O>(
        &self,
        operation: &'static str,
        input: &I,
        idempotency: Idempotency,
    ) -> Result<O, CognitoError>
    where
        I: Serialize + Sync + ?Sized,
        O: DeserializeOwned + Send,
    {
        Ok(self.call_dated(operation, input, idempotency).await?.0)
    }

    /// Like [`call`](Self::call), also returning the answer's `Date` header: the
    /// service's clock, which callers use to judge expiry when the device clock is off.
    pub(crate) async fn call_dated<I, O>(
        &self,
        operation: &'static str,
        input: &I,
        idempotency: Idempotency,
    ) -> Result<(O, Option<SystemTime>), CognitoError>
    where
        I: Serialize + Sync + ?Sized,
        O: DeserializeOwned + Send,
    {
        // Serialising our own request types cannot fail (string maps and plain fields).
        let body = serde_json::to_vec(input).map_err(|error| {
            CognitoError::invalid(format!("{operation}: request not serialisable: {error}"))
        })?;
        let target = HeaderValue::try_from(format!("{}{operation}", self.target_prefix))
            .map_err(|_| CognitoError::invalid(format!("{operation}: not a valid target")))?;
        with_retries(self.retry, operation, idempotency, || async {
            let sent = self
                .http
                .post(self.endpoint.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON))
                .header("X-Amz-Target", target.clone())
                .body(body.clone())
                .send()
                .await;
            let response = match sent {
                Ok(response) => {
                    self.report(auth_core::TransportOutcome::Answered);
                    response
                }
                Err(error) => {
                    let error = network_failure(operation, &error);
                    if matches!(error, CognitoError::Network(_)) {
                        self.report(auth_core::TransportOutcome::NetworkFailed);
                    }
                    return Err(error);
                }
            };
            // A caller's client may follow redirects: the answer must come from the
            // configured endpoint, never from wherever a redirect pointed.
            if response.url() != &self.endpoint {
                return Err(CognitoError::protocol(format!(
                    "{operation}: the endpoint redirected the call; redirects are refused"
                )));
            }
            let date = response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| httpdate::parse_http_date(value).ok());
            Ok((read_answer(operation, response).await?, date))
        })
        .await
    }
}

/// Runs `attempt` until it succeeds, fails in a way that must not be retried, or the
/// policy's attempts are used up.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    operation: &'static str,
    idempotency: Idempotency,
    mut attempt: F,
) -> Result<T, CognitoError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CognitoError>>,
{
    let mut number = 1;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if number < policy.max_attempts && retryable(&error, idempotency) => {
                let delay = policy.delay(number);
                tracing::warn!(
                    operation,
                    attempt = number,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    %error,
                    "Cognito call failed; retrying"
                );
                tokio::time::sleep(delay).await;
                number += 1;
            }
            Err(error) => {
                tracing::debug!(operation, attempt = number, %error, "Cognito call failed");
                return Err(error);
            }
        }
    }
}

fn retryable(error: &CognitoError, idempotency: Idempotency) -> bool {
    match error {
        CognitoError::Network(failure) => {
            failure.request_not_sent() || idempotency == Idempotency::Idempotent
        }
        CognitoError::Service(failure) => {
            failure.is_throttling() && idempotency == Idempotency::Idempotent
        }
        _ => false,
    }
}

/// Reads a complete answer: a 2xx JSON body becomes `O`; an error answer becomes a
/// [`ServiceFailure`] (or a protocol error if it is not a Cognito error at all).
async fn read_answer<O: DeserializeOwned>(
    operation: &'static str,
    response: reqwest::Response,
) -> Result<O, CognitoError> {
    let status = response.status();
    let request_id =
        response.headers().get("x-amzn-requestid").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let error_type =
        response.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.bytes().await.map_err(|error| network_failure(operation, &error))?;
    tracing::debug!(operation, status = status.as_u16(), request_id, "Cognito answered");
    if status.is_success() {
        return parse_success(operation, &body);
    }
    Err(error_answer(operation, status, error_type.as_deref(), &body, request_id))
}

pub(crate) fn parse_success<O: DeserializeOwned>(
    operation: &'static str,
    body: &[u8],
) -> Result<O, CognitoError> {
    // Operations with empty output answer `{}`; some emulators send nothing at all.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|error| {
        // The serde message can quote values from the body (tokens); report only where
        // and what kind of mismatch it was.
        CognitoError::protocol(format!(
            "{operation}: the answer is not the documented JSON ({:?} error at line {}, column {})",
            error.classify(),
            error.line(),
            error.column()
        ))
    })
}

pub(crate) fn error_answer(
    operation: &'static str,
    status: StatusCode,
    error_type: Option<&str>,
    body: &[u8],
    request_id: Option<String>,
) -> CognitoError {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let name = error_name(error_type, &json);
    let code = status.as_u16();
    match name {
        Some(name) => {
            CognitoError::Service(ServiceFailure::new(name, error_message(&json), code, request_id))
        }
        // A bare 5xx or 429 (a load balancer, a gateway) is still the service being
        // unavailable.
        None if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            CognitoError::Service(ServiceFailure::new(
                format!("HttpStatus{code}"),
                String::new(),
                code,
                request_id,
            ))
        }
        // Anything else without a Cognito error name (a proxy's 403 page, a redirect, a
        // wrong URL's 404) is not Cognito refusing the request, and must not look like it:
        // a "rejected" refresh would sign the user out.
        None => CognitoError::protocol(format!(
            "{operation}: HTTP {code} without a Cognito error in the answer"
        )),
    }
}

/// Classifies a transport error of reqwest.
pub(crate) fn network_failure(operation: &'static str, error: &reqwest::Error) -> CognitoError {
    if error.is_builder() {
        return CognitoError::invalid(format!("{operation}: {error}"));
    }
    let connect = error.is_connect();
    let kind = if error.is_timeout() {
        NetworkErrorKind::Timeout
    } else if error.is_dns() {
        NetworkErrorKind::Dns
    } else if chain_has_tls_error(error) {
        NetworkErrorKind::Tls
    } else if connect {
        NetworkErrorKind::Connect
    } else if error.is_request() || error.is_body() || chain_has_closed_connection(error) {
        NetworkErrorKind::ConnectionClosed
    } else {
        NetworkErrorKind::Other
    };
    let source = without_url(error);
    CognitoError::Network(NetworkFailure::new(kind, operation, connect, source))
}

/// The error's causes, without reqwest's own wrapper (whose message would repeat the URL).
fn without_url(error: &reqwest::Error) -> Option<Box<dyn StdError + Send + Sync + 'static>> {
    StdError::source(error).map(|source| {
        Box::new(MessageChain(chain_messages(source))) as Box<dyn StdError + Send + Sync>
    })
}

fn chain_messages(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(next) = source {
        let text = next.to_string();
        // hyper and io errors often repeat their cause's text; keep the chain readable.
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        source = next.source();
    }
    parts.join(": ")
}

#[derive(Debug)]
struct MessageChain(String);

impl std::fmt::Display for MessageChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for MessageChain {}

/// Every error in the chain of `error`, including the errors that `io::Error`s wrap (their
/// `source()` skips them; hyper-rustls and tokio-rustls nest them two deep).
fn all_causes(error: &reqwest::Error) -> Vec<&(dyn StdError + 'static)> {
    fn push<'e>(error: &'e (dyn StdError + 'static), out: &mut Vec<&'e (dyn StdError + 'static)>) {
        out.push(error);
        if let Some(inner) =
            error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref)
        {
            push(inner, out);
        }
    }
    let mut causes = Vec::new();
    let mut source = StdError::source(error);
    while let Some(cause) = source {
        push(cause, &mut causes);
        source = cause.source();
    }
    causes
}

fn chain_has_tls_error(error: &reqwest::Error) -> bool {
    all_causes(error).iter().any(|e| e.is::<rustls::Error>())
}

fn chain_has_closed_connection(error: &reqwest::Error) -> bool {
    all_causes(error).iter().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_jittered() {
        let policy = RetryPolicy::new(5, Duration::from_millis(100), Duration::from_millis(250));
        for _ in 0..200 {
            assert!(policy.delay(1) <= Duration::from_millis(100));
            assert!(policy.delay(2) <= Duration::from_millis(200));
            assert!(policy.delay(3) <= Duration::from_millis(250));
            assert!(policy.delay(30) <= Duration::from_millis(250));
        }
        let distinct: std::collections::HashSet<_> = (0..50).map(|_| policy.delay(3)).collect();
        assert!(distinct.len() > 10, "delays must be jittered: {distinct:?}");
        assert_eq!(RetryPolicy::none().max_attempts(), 1);
        assert_eq!(RetryPolicy::new(0, Duration::ZERO, Duration::ZERO).max_attempts(), 1);
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            default_endpoint("cognito-idp", "eu-west-1").unwrap().as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            default_endpoint("cognito-idp", "cn-north-1").unwrap().as_str(),
            "https://cognito-idp.cn-north-1.amazonaws.com.cn/"
        );
        assert!(default_endpoint("cognito-idp", "evil.com/x").is_err());
        assert!(default_endpoint("cognito-idp", "").is_err());
        assert!(check_endpoint("http://127.0.0.1:9229").is_ok());
        assert!(check_endpoint("ftp://x").is_err());
        assert!(check_endpoint("not a url").is_err());
    }

    #[test]
    fn success_bodies() {
        let empty: serde_json::Value = parse_success("Op", b"").unwrap();
        assert_eq!(empty, serde_json::json!({}));
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code, reason = "only the parse result matters")]
        struct Out {
            #[serde(rename = "N")]
            n: u32,
        }
        let error = parse_success::<Out>("Op", br#"{"N": "secret-value"}"#).unwrap_err();
        let text = error.to_string();
        assert!(!text.contains("secret-value"), "{text}");
        assert!(matches!(error, CognitoError::Protocol(_)));
        assert!(matches!(parse_success::<Out>("Op", b"<html>"), Err(CognitoError::Protocol(_))));
    }

    #[test]
    fn error_answers() {
        let error = error_answer(
            "InitiateAuth",
            StatusCode::BAD_REQUEST,
            None,
            br#"{"__type":"NotAuthorizedException","message":"Incorrect username or password."}"#,
            Some("req-1".into()),
        );
        let CognitoError::Service(failure) = error else { panic!("{error:?}") };
        assert_eq!(failure.name(), "NotAuthorizedException");
        assert_eq!(failure.message(), "Incorrect username or password.");
        assert_eq!(failure.request_id(), Some("req-1"));
        let error = error_answer("Op", StatusCode::BAD_GATEWAY, None, b"<html>", None);
        assert!(error.is_transient(), "{error:?}");
        let error = error_answer("Op", StatusCode::FORBIDDEN, None, b"<html>", None);
        assert!(matches!(error, CognitoError::Protocol(_)), "{error:?}");
        let error = error_answer(
            "Op",
            StatusCode::BAD_REQUEST,
            Some("ThrottlingException"),
            br#"{"Message":"Rate exceeded"}"#,
            None,
        );
        let CognitoError::Service(failure) = error else { panic!() };
        assert!(failure.is_throttling());
        assert_eq!(failure.message(), "Rate exceeded");
    }
}
