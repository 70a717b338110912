//! The AWS-JSON plumbing every service uses: request metadata, body reading, JSON replies,
//! request parsing, required members, pagination, the error type and its HTTP form, and the
//! operation tables services declare themselves with.
//!
//! **Layering:** this module is a leaf. It imports nothing from the rest of the crate, so a
//! service module (user pools, identity pools, the test-control API, OIDC issuers, S3) can use
//! it without a cycle; xtask's tidy tests keep it so.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

mod error;
mod table;
mod text;

pub use error::CognitoError;
pub(crate) use error::{OpResult, invalid_member, lower_first};
pub use table::{Access, Auth, Operation};
pub(crate) use table::{Table, operation_table};
pub(crate) use text::{Escaped, TextRule, check_text};

/// The content type of AWS JSON 1.1.
pub(crate) const AMZ_JSON: &str = "application/x-amz-json-1.1";
/// Largest accepted request body.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// What handlers learn from the request besides its body.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestMeta {
    /// The region of the SigV4 credential scope, when the request is signed.
    pub(crate) signed_region: Option<String>,
    /// Whether an `Authorization: AWS4-HMAC-SHA256 ...` header is present.
    pub(crate) signed: bool,
}

impl RequestMeta {
    /// What the headers say: whether the request is signed, and for which region.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let signed = auth.starts_with("AWS4-HMAC-SHA256");
        // Credential=AKID/20240101/eu-west-1/cognito-idp/aws4_request
        let signed_region = auth
            .split("Credential=")
            .nth(1)
            .and_then(|scope| scope.split('/').nth(2))
            .filter(|region| !region.is_empty() && region.len() < 32)
            .map(str::to_owned);
        Self { signed_region, signed }
    }

    /// The metadata of a call the server makes to itself (the handle's methods): signed, so
    /// the operations that need IAM credentials run.
    pub(crate) fn internal() -> Self {
        Self { signed_region: None, signed: true }
    }
}

/// The `X-Amz-Target` header, when it is present and readable.
pub(crate) fn target(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-amz-target").and_then(|v| v.to_str().ok())
}

/// The `X-Amz-Target` header for the API endpoint: `Ok(None)` when absent, an error naming
/// the problem when present but not text (a non-UTF-8 value is invalid, not missing).
pub(crate) fn target_header(headers: &HeaderMap) -> Result<Option<&str>, CognitoError> {
    let Some(value) = headers.get("x-amz-target") else { return Ok(None) };
    value.to_str().map(Some).map_err(|_| {
        CognitoError::unknown_operation(
            "The X-Amz-Target header is not valid: it must be printable ASCII such as AWSCognitoIdentityProviderService.<Operation>.",
        )
    })
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// The connection failed while the body was read.
    Unreadable,
}

/// Reads a request body of at most `limit` bytes. A longer body is read on (and thrown away,
/// up to eight times the limit) before the error is returned, so the client gets the error
/// answer instead of a connection reset by the unread data (beyond that, the HTTP layer
/// closes the connection after answering).
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, BodyError> {
    use http_body_util::BodyExt as _;
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(BodyError::Unreadable) };
        let Ok(data) = frame.into_data() else { continue };
        seen = seen.saturating_add(data.len());
        if seen > limit.saturating_mul(8) {
            return Err(BodyError::TooLarge);
        }
        if seen <= limit {
            kept.extend_from_slice(&data);
        }
    }
    if seen <= limit { Ok(axum::body::Bytes::from(kept)) } else { Err(BodyError::TooLarge) }
}

/// A reply with `body` as `content_type`.
pub(crate) fn json_response(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `200 OK` with `value` as `application/json` (the test-control API, OIDC documents).
pub(crate) fn ok(value: Value) -> Response<Body> {
    json_response(StatusCode::OK, "application/json", value.to_string())
}

/// `outcome` as a JSON answer or a Cognito-shaped error.
pub(crate) fn result(outcome: Result<Value, CognitoError>) -> Response<Body> {
    match outcome {
        Ok(value) => ok(value),
        Err(error) => error.into_response(),
    }
}

/// The JSON body of a test-control request: a body that does not parse is answered with
/// `InvalidParameterException` before the handler runs; an empty body counts as `{}`.
pub(crate) struct ControlJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for ControlJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response<Body>;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Self::parse(&body).map_err(IntoResponse::into_response)
    }
}

impl<T: DeserializeOwned> ControlJson<T> {
    /// Parses a body already read (for handlers that accept other bodies too).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, CognitoError> {
        serde_json::from_slice(or_empty_object(body)).map(ControlJson).map_err(|error| {
            CognitoError::invalid_parameter(format!("Invalid test-control request: {error}"))
        })
    }
}

/// `body`, or `{}` when it is only whitespace (AWS JSON services read an empty body so).
fn or_empty_object(body: &[u8]) -> &[u8] {
    if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body }
}

/// Parses an AWS-JSON request body. Invalid JSON and wrong member types are
/// `SerializationException`s, as in AWS JSON services; an empty body counts as `{}`.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> OpResult<T> {
    if let Err(error) = std::str::from_utf8(body) {
        return Err(CognitoError::serialization(format!(
            "The request body is not UTF-8: invalid byte at offset {}.",
            error.valid_up_to()
        )));
    }
    serde_json::from_slice(or_empty_object(body)).map_err(|error| {
        // serde names our Rust request types; say "a JSON object" instead.
        let mut detail = error.to_string();
        if let Some(start) = detail.find("expected struct ") {
            let end = detail[start..].find(" at line").map_or(detail.len(), |e| start + e);
            detail.replace_range(start..end, "expected a JSON object");
        }
        match error.classify() {
            serde_json::error::Category::Data => {
                CognitoError::serialization(format!("Invalid request: {detail}"))
            }
            _ => {
                CognitoError::serialization(format!("The request body is not valid JSON: {detail}"))
            }
        }
    })
}

/// A required string member.
pub(crate) fn required<'a>(value: &'a Option<String>, member: &str) -> OpResult<&'a str> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => {
            Err(invalid_member(member, "Member must have length greater than or equal to 1"))
        }
        None => Err(CognitoError::missing(member)),
    }
}

/// `{}`.
pub(crate) fn empty() -> OpResult {
    Ok(json!({}))
}

/// Pagination over a sorted list: `(page, next token)`.
pub(crate) fn paginate<T: Clone>(
    items: &[T],
    limit: Option<i64>,
    token: Option<&str>,
    max: usize,
) -> OpResult<(Vec<T>, Option<String>)> {
    let start = match token {
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= items.len())
            .ok_or_else(|| CognitoError::invalid_parameter("Invalid pagination token."))?,
        None => 0,
    };
    let limit = match limit {
        Some(n) if n < 0 => return Err(CognitoError::invalid_parameter("Limit must be positive.")),
        Some(0) | None => max,
        Some(n) => usize::try_from(n).unwrap_or(max).min(max),
    };
    let end = (start + limit).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}

/// A list operation's answer: `out`, plus the token of the next page under `member`
/// (`NextToken` or `PaginationToken`) when there is one.
pub(crate) fn with_next_token(mut out: Value, member: &str, next: Option<String>) -> OpResult {
    if let Some(next) = next {
        out[member] = json!(next);
    }
    Ok(out)
}
