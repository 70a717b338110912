//! Offline handling with no wiring: signs in, serves a small local API protected by
//! Cognito JWT verification (as API Gateway would), and calls it every 250 ms through the
//! offline-aware HTTP layer with the default connectivity.
//!
//! ```text
//! cargo run -p auth-cognito --example offline -- \
//!     --endpoint http://127.0.0.1:9229 --user-pool-id us-east-1_AbC123 \
//!     --client-id 1h2j3k4l5m6n7o8p9q0r --username alice --password 'correct horse' \
//!     --seconds 30 [--expiry-margin-secs 0]
//! ```
//!
//! It prints one line per event, as it happens:
//! - `state <UserState>` on every state change (`SignedIn`,
//!   `SignedOutUserPoolsTokensInvalid`, ...);
//! - `call <n> ok` or `call <n> failed <reason>` when call `n` completes (a call blocked
//!   while offline prints nothing until it completes);
//! - finally `summary ok=<a> failed=<b>`.
//!
//! It never prints a token. Make the identity provider unreachable while it runs (with the
//! mock: `POST /_mock/faults {"operation":"*","drop_connection":true}`) and, with short
//! token lifetimes (`POST /_mock/lifetimes`), watch calls block once the tokens expire,
//! the `SignedOutUserPoolsTokensInvalid` announcement, and the blocked calls completing
//! when the outage ends (`DELETE /_mock/faults`). A failed sign-in exits with status 1.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example talks to the terminal"
)]

mod common;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth_cognito::layer::{AuthLayer, ReqwestService};
use auth_cognito::{CognitoAuth, CognitoUserPool, JwtVerifier, TokenUse};
use auth_core::{DEFAULT_EXPIRY_MARGIN, SignInRequest, SignInResult};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use bytes::Bytes;
use clap::Parser;
use tower::{Service as _, ServiceBuilder, ServiceExt as _};

/// Calls a JWT-protected local API through the offline-aware HTTP layer.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    app: common::AppClient,
    /// The username.
    #[arg(long)]
    username: String,
    /// The password (or set COGNITO_PASSWORD to keep it out of the shell history).
    #[arg(long, env = "COGNITO_PASSWORD", hide_env_values = true)]
    password: String,
    /// How long to keep calling, in seconds.
    #[arg(long)]
    seconds: u64,
    /// How long before expiry tokens count as expired (default: the client's 5 minutes).
    #[arg(long)]
    expiry_margin_secs: Option<u64>,
}

/// How long one call may take, blocked time included, before it fails.
const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// Prints one event line at once: the lines are read by people and scripts as they happen.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let pool = CognitoUserPool::builder(&args.app.user_pool_id, &args.app.client_id)
        .endpoint(&args.app.endpoint)
        .connect_timeout(Duration::from_secs(3))
        .request_timeout(Duration::from_secs(10));
    let margin = args.expiry_margin_secs.map_or(DEFAULT_EXPIRY_MARGIN, Duration::from_secs);
    // The default connectivity: probes of the endpoint, the providers' transport reports,
    // OS network events. Nothing to wire.
    let client = CognitoAuth::builder(pool).expiry_margin(margin).build()?;

    let mut changes = client.state_changes();
    tokio::spawn(async move {
        while let Some(details) = changes.next().await {
            emit(&format!("state {:?}", details.state));
        }
    });
    client.initialize().await?;
    match client.sign_in(SignInRequest::password(&args.username, args.password.as_str())).await {
        Ok(SignInResult::Done) => {}
        Ok(_) => {
            eprintln!("sign-in needs a challenge answered; use the sign-in example for that user");
            return Ok(ExitCode::from(1));
        }
        Err(error) => {
            eprintln!("sign-in failed: {error}");
            return Ok(ExitCode::from(1));
        }
    }

    let api = serve_api(&args).await?;
    let layer = AuthLayer::bearer_access_token(client.clone()).deadline(CALL_DEADLINE);
    let http = ServiceBuilder::new().layer(layer).service(ReqwestService::new(
        reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
    ));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut calls = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let end = tokio::time::Instant::now() + Duration::from_secs(args.seconds);
    let mut n = 0_u64;
    loop {
        tick.tick().await;
        if tokio::time::Instant::now() >= end {
            break;
        }
        n += 1;
        let (mut http, url) = (http.clone(), api.clone());
        let (ok, failed) = (Arc::clone(&ok), Arc::clone(&failed));
        calls.push(tokio::spawn(async move {
            let request = http::Request::get(url).body(Bytes::new()).expect("a valid URL");
            let outcome = match http.ready().await {
                Ok(ready) => ready.call(request).await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(response) if response.status().is_success() => {
                    ok.fetch_add(1, Ordering::Relaxed);
                    emit(&format!("call {n} ok"));
                }
                Ok(response) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    emit(&format!("call {n} failed status {}", response.status().as_u16()));
                }
                Err(error) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    emit(&format!("call {n} failed {error}"));
                }
            }
        }));
    }
    // Calls still blocked finish by themselves, or at their deadline.
    for call in calls {
        let _ = call.await;
    }
    emit(&format!(
        "summary ok={} failed={}",
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    ));
    Ok(ExitCode::SUCCESS)
}

/// Serves `GET /api` on an ephemeral local port, answering 200 only to requests bearing a
/// valid access token of the pool and app client; returns the URL.
async fn serve_api(args: &Args) -> Result<String, Box<dyn std::error::Error>> {
    let verifier = JwtVerifier::builder(&args.app.user_pool_id)
        .endpoint(&args.app.endpoint)
        .client_id(&args.app.client_id)
        .build()?;
    let app = Router::new().route("/api", get(protected)).with_state(Arc::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("the local API stopped: {error}");
        }
    });
    Ok(url)
}

async fn protected(State(verifier): State<Arc<JwtVerifier>>, headers: HeaderMap) -> StatusCode {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match token {
        Some(token) if verifier.verify(token, TokenUse::Access).await.is_ok() => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}
