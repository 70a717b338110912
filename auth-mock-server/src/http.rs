//! The HTTP layer: the accept loop, the router, request framing, faults and request ids.
//!
//! The router is an axum [`Router`]; the user-pool API (`POST /`), the per-pool discovery
//! documents and the test-control API are merged into it, and later services (identity pools,
//! the hosted UI) can be merged the same way. The accept loop is hand-written on hyper (rather
//! than `axum::serve`) so that fault injection can drop a connection without answering.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::Shared;
use crate::error::CognitoError;

/// The content type of AWS JSON 1.1.
pub(crate) const AMZ_JSON: &str = "application/x-amz-json-1.1";
/// The `X-Amz-Target` prefix of the user-pool API.
pub(crate) const IDP_PREFIX: &str = "AWSCognitoIdentityProviderService.";
/// Largest accepted request body.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Builds the router of every service this server offers.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", post(user_pool_api).get(root_info))
        .route("/{pool_id}/.well-known/jwks.json", get(jwks))
        .route("/{pool_id}/.well-known/openid-configuration", get(openid_configuration))
        .merge(crate::control::router())
        .merge(crate::compat::router())
        .merge(crate::identity::router())
        .merge(crate::oidc::router())
        .fallback(not_found)
        .with_state(shared)
}

async fn root_info() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain")],
        "auth-mock-server: a local Amazon Cognito. POST / with X-Amz-Target: AWSCognitoIdentityProviderService.<Operation> or AWSCognitoIdentityService.<Operation>; S3 requests signed for the s3 service.\n",
    )
}

/// Unknown paths: S3's `AccessDenied` for anonymous requests that look like S3 (any path
/// outside the test-control API, without `X-Amz-Target`), a Cognito-shaped 404 otherwise.
async fn not_found(request: Request<Body>) -> Response<Body> {
    let s3_like = !request.uri().path().starts_with(crate::control::CONTROL_PREFIX)
        && request.headers().get("x-amz-target").is_none()
        && request.headers().get(header::AUTHORIZATION).is_none();
    if s3_like {
        let head = request.method() == Method::HEAD;
        return crate::s3::anonymous(&request_id_of(&request), head);
    }
    CognitoError::new("UnknownOperationException", "No such resource.")
        .with_status(404)
        .into_response()
}

/// The request id `serve_request` gave a request.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

fn request_id_of(request: &Request<Body>) -> String {
    request.extensions().get::<RequestId>().map_or_else(String::new, |id| id.0.clone())
}

/// What handlers learn from the request besides its body.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestMeta {
    /// The region of the SigV4 credential scope, when the request is signed.
    pub(crate) signed_region: Option<String>,
    /// Whether an `Authorization: AWS4-HMAC-SHA256 ...` header is present.
    pub(crate) signed: bool,
}

impl RequestMeta {
    fn from_headers(headers: &HeaderMap) -> Self {
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
}

pub(crate) fn operation_name(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-amz-target").and_then(|v| v.to_str().ok())
}

async fn user_pool_api(
    State(shared): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Some(target) = operation_name(&parts.headers) else {
        return CognitoError::new("UnknownOperationException", "Missing X-Amz-Target header.")
            .into_response();
    };
    let (operation, identity) = if let Some(operation) = target.strip_prefix(IDP_PREFIX) {
        (operation, false)
    } else if let Some(operation) = target.strip_prefix(crate::identity::PREFIX) {
        (operation, true)
    } else {
        return CognitoError::new(
            "UnknownOperationException",
            format!(
                "Unknown target {target}: expected {IDP_PREFIX}<Operation> or {}<Operation>.",
                crate::identity::PREFIX
            ),
        )
        .into_response();
    };
    let body = match read_body(body, MAX_BODY).await {
        Some(body) => body,
        None => {
            return CognitoError::serialization(format!(
                "The request body is larger than {MAX_BODY} bytes or could not be read."
            ))
            .into_response();
        }
    };
    let meta = RequestMeta::from_headers(&parts.headers);
    // Identity-pool GetId/GetCredentialsForIdentity/GetOpenIdToken create identities and
    // credentials; user-pool GetTokensFromRefreshToken rotates refresh tokens and
    // GetUserAttributeVerificationCode makes a code.
    let read_only = if identity {
        ["List", "Describe", "Lookup", "GetIdentityPoolRoles"]
            .iter()
            .any(|p| operation.starts_with(p))
    } else {
        ["Get", "List", "Describe"].iter().any(|p| operation.starts_with(p))
            && !matches!(
                operation,
                "GetTokensFromRefreshToken" | "GetUserAttributeVerificationCode"
            )
    };
    if !read_only {
        shared.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let operation_name = operation.to_owned();
    let run = move || {
        if identity {
            crate::identity::dispatch(&shared, &operation_name, &meta, &body)
        } else {
            crate::ops::dispatch(&shared, &operation_name, &meta, &body)
        }
    };
    // Operations are synchronous. The user-pool ones that change state may wait for a
    // Lambda-trigger webhook, which a test may serve on this very (current-thread) runtime,
    // so they run on a blocking thread; the others never call a trigger and run here, since
    // the hand-off would cost GetUser over half its throughput.
    let outcome = if read_only || identity {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).map_err(drop)
    } else {
        tokio::task::spawn_blocking(run).await.map_err(drop)
    };
    // A bug must not silently kill the connection: a panic is answered InternalErrorException
    // as Cognito would; the state lock (parking_lot) is not poisoned.
    let outcome = outcome.unwrap_or_else(|()| {
        tracing::error!(operation, "operation panicked; answering InternalErrorException");
        Err(CognitoError::internal("An internal error occurred in auth-mock-server."))
    });
    match outcome {
        Ok(value) => json_response(StatusCode::OK, AMZ_JSON, value.to_string()),
        Err(error) => {
            tracing::debug!(operation, error = %error, "operation failed");
            error.into_response()
        }
    }
}

/// Reads a request body of at most `limit` bytes. A longer body is read on (and thrown away,
/// up to eight times the limit) before `None` is returned, so the client gets the error answer
/// instead of a connection reset by the unread data.
pub(crate) async fn read_body(body: Body, limit: usize) -> Option<axum::body::Bytes> {
    use http_body_util::BodyExt as _;
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return None };
        let Ok(data) = frame.into_data() else { continue };
        seen = seen.saturating_add(data.len());
        if seen > limit.saturating_mul(8) {
            return None;
        }
        if seen <= limit {
            kept.extend_from_slice(&data);
        }
    }
    (seen <= limit).then(|| axum::body::Bytes::from(kept))
}

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

async fn jwks(State(shared): State<Arc<Shared>>, Path(pool_id): Path<String>) -> Response<Body> {
    let keys = shared.state.read().pools.get(&pool_id).map(|pool| Arc::clone(&pool.keys));
    match keys {
        // Key generation may still be running; wait for it off the async workers.
        Some(keys) => match tokio::task::spawn_blocking(move || keys.jwks()).await {
            Ok(jwks) => json_response(StatusCode::OK, "application/json", jwks.to_string()),
            Err(_) => CognitoError::internal("Key generation failed.").into_response(),
        },
        None => crate::state::pool_not_found(&pool_id).with_status(404).into_response(),
    }
}

async fn openid_configuration(
    State(shared): State<Arc<Shared>>,
    Path(pool_id): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let state = shared.state.read();
    let Some(pool) = state.pools.get(&pool_id) else {
        return crate::state::pool_not_found(&pool_id).with_status(404).into_response();
    };
    let issuer = pool.issuer(shared.config.issuer_base.as_deref());
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let own_base = format!("http://{host}");
    let jwks_uri = format!("{own_base}/{pool_id}/.well-known/jwks.json");
    let doc = serde_json::json!({
        "authorization_endpoint": format!("{own_base}/oauth2/authorize"),
        "end_session_endpoint": format!("{own_base}/logout"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["code", "token"],
        "revocation_endpoint": format!("{own_base}/oauth2/revoke"),
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "token_endpoint": format!("{own_base}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "userinfo_endpoint": format!("{own_base}/oauth2/userInfo"),
    });
    json_response(StatusCode::OK, "application/json", doc.to_string())
}

/// Returned by the connection service to make hyper drop the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Handles one request: counters, injected faults, CORS, request id, then the router.
async fn serve_request(
    shared: Arc<Shared>,
    router: Router,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = if request.method() == Method::OPTIONS {
        // CORS preflight from browser clients (amazon-cognito-identity-js uses mode: cors).
        let mut preflight = Response::new(Body::empty());
        let allow = preflight.headers_mut();
        allow
            .insert("access-control-allow-methods", HeaderValue::from_static("GET, POST, OPTIONS"));
        allow.insert("access-control-allow-headers", HeaderValue::from_static("*"));
        allow.insert("access-control-max-age", HeaderValue::from_static("86400"));
        preflight
    } else if crate::s3::is_s3_request(request.headers(), request.uri()) {
        match crate::s3::serve(Arc::clone(&shared), request.map(Body::new), &request_id).await {
            Some(response) => response,
            None => return Err(DropConnection),
        }
    } else {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| {
                t.strip_prefix(IDP_PREFIX).or_else(|| t.strip_prefix(crate::identity::PREFIX))
            })
            .map(str::to_owned);
        if let Some(operation) = &operation {
            // Only known names, so arbitrary targets cannot grow the counter table.
            let known = crate::ops::OPERATIONS
                .iter()
                .chain(crate::identity::IDENTITY_OPERATIONS)
                .any(|(name, _)| name == operation);
            shared.control.count(if known { operation } else { "UnknownOperation" });
        }
        let fault = operation.as_deref().and_then(|op| shared.control.take_fault(op));
        if let Some(fault) = &fault {
            if fault.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
            }
            if fault.drop_connection {
                return Err(DropConnection);
            }
        }
        match fault.and_then(|f| f.error) {
            Some(error) => error.into_response(),
            None => match router.oneshot(with_request_id(request, &request_id)).await {
                Ok(response) => response,
                Err(infallible) => match infallible {},
            },
        }
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    // The server's own (controllable) clock, as a real service's Date would be: clients
    // judge the expiry of what it issues by it.
    if let Some(value) = http_date(shared.clock.now()) {
        headers.insert(axum::http::header::DATE, value);
    }
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date"),
    );
    Ok(response)
}

/// The `Date` header for `time`; `None` past what HTTP dates can say (year 9999), where
/// a test has pushed the clock (hyper then writes the real date).
fn http_date(time: std::time::SystemTime) -> Option<HeaderValue> {
    const LAST_HTTP_DATE: Duration = Duration::from_secs(253_402_300_799);
    let since_epoch = time.duration_since(std::time::UNIX_EPOCH).ok()?;
    if since_epoch > LAST_HTTP_DATE {
        return None;
    }
    HeaderValue::from_str(&httpdate::fmt_http_date(time)).ok()
}

fn with_request_id(request: Request<hyper::body::Incoming>, request_id: &str) -> Request<Body> {
    let mut request = request.map(Body::new);
    request.extensions_mut().insert(RequestId(request_id.to_owned()));
    request
}

/// Accepts connections until `shutdown` flips, then lets open connections finish (bounded).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = router(Arc::clone(&shared));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, _peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let router = router.clone();
        let service = hyper::service::service_fn(move |request| {
            serve_request(Arc::clone(&shared), router.clone(), request)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after 5 s; closing them");
    }
}
