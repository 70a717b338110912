//! The HTTP layer: the accept loop, the router, request framing, faults and request ids.
//!
//! This module only routes: the router is an axum [`Router`] into which each service merges
//! its routes (the AWS-JSON APIs at `POST /`, the per-pool discovery documents, the
//! test-control API, identity pools' control routes, the OIDC issuers), and S3 requests are
//! recognised before it. The accept loop is hand-written on hyper (rather
//! than `axum::serve`) so that fault injection can drop a connection without answering.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, header};
use axum::response::IntoResponse;
use axum::routing::post;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::Shared;
use crate::wire::{CognitoError, target};

/// How long a connection may take to send a request head. hyper counts it from the
/// connection's start and, on a kept-alive connection, from the end of the previous answer,
/// so it is also how long an idle connection stays open: long enough that a client's pool
/// reusing a connection after a pause in a test suite does not race the server's close (the
/// soak run saw that race at 10 s on a starved machine), short enough to drop a connection
/// that holds half a header.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the router of every service this server offers.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", post(crate::api::serve).get(root_info))
        .merge(crate::ops::discovery::router())
        .merge(crate::control::router())
        .merge(crate::compat::router())
        .merge(crate::identity::router())
        .merge(crate::oidc::router())
        .merge(crate::oauth::router())
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

/// Returned by the connection service to make hyper drop the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Handles one request: the control API's guard, counters, injected faults, CORS, request
/// id, then the router.
async fn serve_request(
    shared: Arc<Shared>,
    router: Router,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let request_id = uuid::Uuid::new_v4().to_string();
    // A `*` drop-connection fault is an outage of the whole server except its control API
    // (which tests need to end the outage). Requests naming an operation take their fault
    // below, where they are also counted.
    let controlled = request.uri().path().starts_with(crate::control::CONTROL_PREFIX);
    if !controlled && target(request.headers()).is_none() {
        if let Some(fault) = shared.control.take_outage() {
            if fault.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
            }
            return Err(DropConnection);
        }
    }
    let head = request.method() == Method::HEAD;
    let request = request.map(TrackedBody::new);
    let body_read = Arc::clone(&request.body().finished);
    let control = crate::guard::is_control_path(request.uri().path());
    let refused = if control {
        shared.config.control.refusal(request.method(), request.uri().path(), request.headers())
    } else {
        None
    };
    let mut response = if let Some(refusal) = refused {
        refusal
    } else if request.method() == Method::OPTIONS {
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
        let operation = target(request.headers())
            .and_then(crate::api::resolve)
            .map(|(_, operation)| operation.to_owned());
        if operation.is_some() {
            // Only known names, so arbitrary targets cannot grow the counter table.
            let known = target(request.headers()).and_then(crate::api::known_operation);
            shared.control.count(known.map_or("UnknownOperation", |op| op.name()));
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
    if !head {
        response = with_error_body(response).await;
    }
    let headers = response.headers_mut();
    // An answer given before the request body was read to its end (a refusal, a body over
    // the limit) closes the connection: the unread rest would otherwise be taken for the
    // next request.
    if !body_read.load(Ordering::Acquire) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    // The server's own (controllable) clock, as a real service's Date would be: clients
    // judge the expiry of what it issues by it.
    if let Some(value) = http_date(shared.clock.now()) {
        headers.insert(axum::http::header::DATE, value);
    }
    // Browsers may call the Cognito API from any page, as they can call Cognito; the
    // test-control surface answers no CORS at all (see `guard`).
    if !control {
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        headers.insert(
            "access-control-expose-headers",
            HeaderValue::from_static(
                "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date",
            ),
        );
    }
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

/// Gives a Cognito-shaped JSON body to error answers that have none of their own (axum's
/// 405 and extractor rejections, hyper-level refusals): every answer of this server can be
/// read by an AWS SDK. Answers with a body type of their own (JSON, S3's XML) are kept.
async fn with_error_body(response: Response<Body>) -> Response<Body> {
    use http_body_util::BodyExt as _;
    let status = response.status();
    let typed = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !(status.is_client_error() || status.is_server_error())
        || typed.is_some_and(|t| !t.starts_with("text/plain"))
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Plain-text rejections are short; anything longer is not worth echoing.
    let text = match http_body_util::Limited::new(body, 4096).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text
    };
    let kind = match status.as_u16() {
        405 => "MethodNotAllowedException",
        404 => "ResourceNotFoundException",
        408 => "RequestTimeoutException",
        413 => "RequestEntityTooLargeException",
        415 => "UnsupportedMediaTypeException",
        400..=499 => "InvalidParameterException",
        _ => "InternalErrorException",
    };
    let mut answer = CognitoError::new(kind, message).with_status(status.as_u16()).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// A request body that notes when it has been read to its end.
struct TrackedBody {
    inner: hyper::body::Incoming,
    finished: Arc<AtomicBool>,
}

impl TrackedBody {
    fn new(inner: hyper::body::Incoming) -> Self {
        use hyper::body::Body as _;
        let finished = Arc::new(AtomicBool::new(inner.is_end_stream()));
        Self { inner, finished }
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

fn with_request_id(request: Request<TrackedBody>, request_id: &str) -> Request<Body> {
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
            // A client that opens a connection and sends no (complete) request head is
            // dropped instead of holding a task and a socket forever.
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
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
