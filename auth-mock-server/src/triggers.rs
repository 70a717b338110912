//! Cognito Lambda triggers, run as HTTP webhooks.
//!
//! A pool's `LambdaConfig` names Lambda functions by ARN, as in Cognito. The server maps an
//! ARN to a URL (test-control API, seed, `--lambda ARN=URL`, or an `http://` URL used as the
//! "ARN" itself) and POSTs the trigger event there; the handler answers the event with
//! `response` filled in, as a Lambda function returns it.
//!
//! Operations run synchronously (on a blocking thread), and the state lock is never held
//! while a webhook runs: callers read what the event needs, release the lock, call
//! [`invoke`], then lock again to apply the answer.

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::RwLock;
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::state::{Pool, User};
use crate::wire::CognitoError;

/// How long a webhook may take, like Cognito's 5-second limit for Lambda triggers.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// The largest webhook answer read (Cognito's Lambda response limit is far below this).
const MAX_ANSWER: usize = 1 << 20;

/// ARN → URL mappings. They are configuration, not state: `POST /_mock/reset` and the state
/// file leave them alone.
#[derive(Debug, Default)]
pub(crate) struct Lambdas {
    urls: RwLock<BTreeMap<String, String>>,
}

impl Lambdas {
    pub(crate) fn set(&self, arn: &str, url: &str) -> Result<(), CognitoError> {
        if arn.is_empty() {
            return Err(CognitoError::invalid_parameter("The Lambda ARN must not be empty."));
        }
        parse_url(url)?;
        self.urls.write().insert(arn.to_owned(), url.to_owned());
        Ok(())
    }

    pub(crate) fn remove(&self, arn: &str) -> bool {
        self.urls.write().remove(arn).is_some()
    }

    pub(crate) fn clear(&self) {
        self.urls.write().clear();
    }

    pub(crate) fn all(&self) -> BTreeMap<String, String> {
        self.urls.read().clone()
    }

    fn url_of(&self, arn: &str) -> Option<String> {
        if let Some(url) = self.urls.read().get(arn) {
            return Some(url.clone());
        }
        // An http:// URL in LambdaConfig is its own mapping.
        arn.starts_with("http://").then(|| arn.to_owned())
    }
}

/// The triggers the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    PreSignUp,
    PostConfirmation,
    PreAuthentication,
    PostAuthentication,
    PreTokenGeneration,
    DefineAuthChallenge,
    CreateAuthChallenge,
    VerifyAuthChallengeResponse,
}

impl Trigger {
    /// The `LambdaConfig` member, also the name in Cognito's error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::PreSignUp => "PreSignUp",
            Self::PostConfirmation => "PostConfirmation",
            Self::PreAuthentication => "PreAuthentication",
            Self::PostAuthentication => "PostAuthentication",
            Self::PreTokenGeneration => "PreTokenGeneration",
            Self::DefineAuthChallenge => "DefineAuthChallenge",
            Self::CreateAuthChallenge => "CreateAuthChallenge",
            Self::VerifyAuthChallengeResponse => "VerifyAuthChallengeResponse",
        }
    }
}

/// The `LambdaConfig` members holding a function ARN (the ones the server runs and the
/// ones it only stores), checked by CreateUserPool/UpdateUserPool.
pub(crate) const ARN_MEMBERS: &[&str] = &[
    "PreSignUp",
    "CustomMessage",
    "PostConfirmation",
    "PreAuthentication",
    "PostAuthentication",
    "DefineAuthChallenge",
    "CreateAuthChallenge",
    "VerifyAuthChallengeResponse",
    "PreTokenGeneration",
    "UserMigration",
    "KMSKeyID",
];

/// Checks the ARNs of a `LambdaConfig` the way Cognito's validation does (an http:// URL
/// is accepted too: it is its own webhook).
pub(crate) fn check_lambda_config(config: Option<&Value>) -> Result<(), CognitoError> {
    let Some(Value::Object(config)) = config else { return Ok(()) };
    let member = |name: &str, value: &Value| -> Result<(), CognitoError> {
        let valid = value.as_str().is_some_and(|s| {
            (1..=2048).contains(&s.len())
                && (s.starts_with("arn:") || s.starts_with("http://"))
                && !s.chars().any(char::is_whitespace)
        });
        if valid || value.is_null() {
            Ok(())
        } else {
            Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '{}' at 'lambdaConfig.{}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[\\w+=/,.@-]+:[\\w+=/,.@-]+:([\\w+=/,.@-]*)?:[0-9]+:[\\w+=/,.@-]+(:[\\w+=/,.@-]+)?(:[\\w+=/,.@-]+)?",
                value.as_str().unwrap_or_default(),
                crate::wire::lower_first(name)
            )))
        }
    };
    for name in ARN_MEMBERS {
        if let Some(value) = config.get(*name) {
            member(name, value)?;
        }
    }
    if let Some(Value::Object(ptg)) = config.get("PreTokenGenerationConfig") {
        if let Some(arn) = ptg.get("LambdaArn") {
            member("PreTokenGenerationConfig.LambdaArn", arn)?;
        }
        if let Some(version) = ptg.get("LambdaVersion") {
            if !matches!(version.as_str(), Some("V1_0" | "V2_0" | "V3_0")) {
                return Err(CognitoError::invalid_parameter(format!(
                    "1 validation error detected: Value '{}' at 'lambdaConfig.preTokenGenerationConfig.lambdaVersion' failed to satisfy constraint: Member must satisfy enum value set: [V1_0, V2_0, V3_0]",
                    version.as_str().unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

/// The ARN configured for a trigger, if any.
pub(crate) fn arn(pool: &Pool, trigger: Trigger) -> Option<String> {
    let config = pool.settings.get("LambdaConfig")?;
    if trigger == Trigger::PreTokenGeneration {
        return token_generation(pool).map(|(arn, _)| arn);
    }
    config.get(trigger.name()).and_then(Value::as_str).map(str::to_owned)
}

/// The pre token generation function and its event version (`"1"` or `"2"`):
/// `PreTokenGenerationConfig` wins over the older `PreTokenGeneration` member (always V1).
pub(crate) fn token_generation(pool: &Pool) -> Option<(String, &'static str)> {
    let config = pool.settings.get("LambdaConfig")?;
    if let Some(ptg) = config.get("PreTokenGenerationConfig") {
        if let Some(arn) = ptg.get("LambdaArn").and_then(Value::as_str) {
            let version = match ptg.get("LambdaVersion").and_then(Value::as_str) {
                Some("V2_0") => "2",
                Some("V3_0") => "3",
                _ => "1",
            };
            return Some((arn.to_owned(), version));
        }
    }
    config.get("PreTokenGeneration").and_then(Value::as_str).map(|arn| (arn.to_owned(), "1"))
}

/// A user's attributes as trigger events carry them (`{"name": "value"}`, `sub` and
/// Cognito's `cognito:user_status` included).
pub(crate) fn user_attributes(user: &User) -> Value {
    let mut map: Map<String, Value> =
        user.attributes.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    map.insert("cognito:user_status".into(), json!(user.status_name()));
    Value::Object(map)
}

/// Where an event comes from: the parts every trigger event shares.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) region: String,
    pub(crate) pool_id: String,
    pub(crate) username: String,
    pub(crate) client_id: Option<String>,
}

impl Origin {
    pub(crate) fn new(pool: &Pool, username: &str, client_id: Option<&str>) -> Self {
        Self {
            region: pool.region().to_owned(),
            pool_id: pool.id.clone(),
            username: username.to_owned(),
            client_id: client_id.map(str::to_owned),
        }
    }

    /// A whole event in Cognito's shape.
    pub(crate) fn event(
        &self,
        version: &str,
        source: &str,
        request: Value,
        response: Value,
    ) -> Value {
        json!({
            "version": version,
            "triggerSource": source,
            "region": self.region,
            "userPoolId": self.pool_id,
            "userName": self.username,
            "callerContext": {
                "awsSdkVersion": "aws-sdk-unknown-unknown",
                "clientId": self.client_id.as_deref().unwrap_or("CLIENT_ID_NOT_APPLICABLE"),
            },
            "request": request,
            "response": response,
        })
    }
}

/// Runs a trigger: POSTs `event` to the URL mapped to `arn` and returns the `response`
/// object of the answer (`{}` when the handler left it out).
///
/// Cognito's answers to failures: the handler's error (a non-2xx status, or a body with
/// `errorMessage`) is `UserLambdaValidationException` "`<Trigger>` failed with error
/// `<message>`."; an unmapped ARN, an unreachable URL or a timeout is
/// `UnexpectedLambdaException`; an answer that is not the event JSON is
/// `InvalidLambdaResponseException`.
pub(crate) fn invoke(
    shared: &Shared,
    trigger: Trigger,
    arn: &str,
    event: &Value,
) -> Result<Value, CognitoError> {
    let name = trigger.name();
    let Some(url) = shared.lambdas.url_of(arn) else {
        return Err(unexpected(format!(
            "{name} invocation failed: auth-mock-server has no URL for the Lambda function {arn}. Map it with PUT /_mock/lambdas {{\"arn\": \"{arn}\", \"url\": \"http://127.0.0.1:PORT/hook\"}}, the seed's \"lambdas\" table, --lambda {arn}=URL or MockServerHandle::map_lambda, or configure the trigger with an http:// URL."
        )));
    };
    tracing::debug!(trigger = name, %url, "invoking a trigger webhook");
    let body = event.to_string();
    let (status, answer) = post_json(&url, body, TIMEOUT).map_err(|detail| {
        unexpected(format!("{name} invocation failed due to error {detail} (webhook {url})."))
    })?;
    let parsed: Option<Value> = serde_json::from_slice(&answer).ok();
    let error_message = parsed.as_ref().and_then(|v| v.get("errorMessage")).and_then(Value::as_str);
    if let Some(message) = error_message {
        return Err(rejected(name, message));
    }
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(&answer);
        let text = text.trim();
        let message = if text.is_empty() {
            format!("HTTP status {status}")
        } else {
            text.chars().take(500).collect()
        };
        return Err(rejected(name, &message));
    }
    match parsed {
        Some(Value::Object(mut answer)) => match answer.remove("response") {
            Some(Value::Object(response)) => Ok(Value::Object(response)),
            None | Some(Value::Null) => Ok(json!({})),
            Some(_) => Err(invalid_answer(name, "`response` is not an object")),
        },
        _ => Err(invalid_answer(name, "the answer is not the event JSON object")),
    }
}

fn unexpected(message: String) -> CognitoError {
    CognitoError::new("UnexpectedLambdaException", message)
}

fn rejected(name: &str, message: &str) -> CognitoError {
    CognitoError::new(
        "UserLambdaValidationException",
        format!("{name} failed with error {message}."),
    )
}

fn invalid_answer(name: &str, why: &str) -> CognitoError {
    CognitoError::new(
        "InvalidLambdaResponseException",
        format!("Unrecognizable lambda output ({name}: {why})."),
    )
}

/// Host, port and path of an `http://` webhook URL.
fn parse_url(url: &str) -> Result<(String, u16, String), CognitoError> {
    let bad = |why: &str| {
        CognitoError::invalid_parameter(format!(
            "The webhook URL {url:?} is not usable: {why} (expected http://host:port/path)."
        ))
    };
    let uri: hyper::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("only http:// is supported"));
    }
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok((host, uri.port_u16().unwrap_or(80), path))
}

/// POSTs a JSON body and returns the status and body of the answer, within `timeout`.
///
/// Operations are synchronous, and the caller's runtime may be a single-threaded test
/// runtime that also serves the webhook; so the request runs on its own short-lived thread
/// and runtime rather than on the caller's.
fn post_json(url: &str, body: String, timeout: Duration) -> Result<(u16, Vec<u8>), String> {
    let (host, port, path) = parse_url(url).map_err(|e| e.message().to_owned())?;
    let request = async move {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(connection);
        let authority =
            if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .map_err(|e| format!("bad request: {e}"))?;
        let response = sender.send_request(request).await.map_err(|e| format!("HTTP: {e}"))?;
        let status = response.status().as_u16();
        let collected = http_body_util::BodyExt::collect(http_body_util::Limited::new(
            response.into_body(),
            MAX_ANSWER,
        ))
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
        Ok::<_, String>((status, collected.to_bytes().to_vec()))
    };
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?;
                runtime.block_on(async {
                    tokio::time::timeout(timeout, request).await.unwrap_or_else(|_| {
                        Err(format!("TimeoutError after {} ms", timeout.as_millis()))
                    })
                })
            })
            .join()
            .unwrap_or_else(|_| Err("the webhook client panicked".to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_plain_http() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/hook?x=1").unwrap(),
            ("127.0.0.1".to_owned(), 8080, "/hook?x=1".to_owned())
        );
        assert_eq!(parse_url("http://[::1]:9/").unwrap().0, "::1");
        assert_eq!(
            parse_url("http://localhost").unwrap(),
            ("localhost".to_owned(), 80, "/".to_owned())
        );
        assert!(parse_url("https://example.com/").is_err());
        assert!(parse_url("arn:aws:lambda:us-east-1:1:function:x").is_err());
    }

    #[test]
    fn a_webhook_that_does_not_answer_in_time_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/slow", listener.local_addr().unwrap());
        // Accepts and never answers; the connection stays open until the test ends.
        let held = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
        let error = post_json(&url, "{}".into(), Duration::from_millis(200)).unwrap_err();
        assert!(error.starts_with("TimeoutError"), "{error}");
        drop(held.join());
    }

    #[test]
    fn lambda_config_arns_are_validated() {
        let ok = json!({
            "PreSignUp": "arn:aws:lambda:us-east-1:123456789012:function:pre",
            "PostConfirmation": "http://127.0.0.1:1/post",
            "PreTokenGenerationConfig": {"LambdaArn": "arn:aws:lambda:us-east-1:1:function:t", "LambdaVersion": "V2_0"},
        });
        assert!(check_lambda_config(Some(&ok)).is_ok());
        let error = check_lambda_config(Some(&json!({"PreSignUp": "not an arn"}))).unwrap_err();
        assert_eq!(error.kind(), "InvalidParameterException");
        assert!(error.message().contains("lambdaConfig.preSignUp"), "{}", error.message());
        let error = check_lambda_config(Some(
            &json!({"PreTokenGenerationConfig": {"LambdaArn": "arn:x", "LambdaVersion": "V9"}}),
        ))
        .unwrap_err();
        assert!(error.message().contains("lambdaVersion"));
    }

    #[test]
    fn unmapped_arns_are_unexpected_lambda_errors_that_say_how_to_map_them() {
        let shared = Shared::new(crate::Config {
            issuer_base: None,
            region: "us-east-1".into(),
            require_signature: false,
            url: "http://127.0.0.1:1".into(),
            control: crate::guard::ControlAccess {
                token: None,
                hosts: Vec::new(),
                bound: std::net::IpAddr::from([127, 0, 0, 1]),
            },
        });
        let error = invoke(
            &shared,
            Trigger::PreSignUp,
            "arn:aws:lambda:us-east-1:1:function:f",
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(error.kind(), "UnexpectedLambdaException");
        assert!(error.message().contains("PUT /_mock/lambdas"), "{}", error.message());
        assert!(shared.lambdas.set("arn:x", "ftp://nope").is_err());
    }
}
