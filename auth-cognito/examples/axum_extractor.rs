//! An axum server whose handlers receive the verified claims of the caller's Cognito access
//! token, through an extractor built on [`JwtVerifier`].
//!
//! ```text
//! cargo run -p auth-cognito --example axum-extractor -- \
//!     --user-pool-id us-east-1_AbC123 --client-id 1h2j3k4l5m6n7o8p9q0r [--listen 127.0.0.1:3000]
//! curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:3000/me
//! ```
//!
//! For a local Cognito, add `--issuer` (the `iss` its tokens carry) and `--jwks-url`.
//! `GET /me` answers with the caller's username and groups; `GET /admin` also requires
//! the `admins` group. A missing or invalid token gets `401` with a `WWW-Authenticate`
//! header; an unreachable JWKS gets `503`, because it is not the caller's fault.
#![allow(clippy::print_stdout, reason = "a command-line example reports where it listens")]

use auth_cognito::{JwtError, JwtVerifier, VerifiedClaims};
use axum::Router;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Parser;

/// Serve two routes protected by Cognito access tokens.
#[derive(Parser)]
struct Args {
    /// The user pool id, `<region>_<id>`.
    #[arg(long)]
    user_pool_id: String,
    /// The app client whose access tokens are accepted.
    #[arg(long)]
    client_id: String,
    /// The issuer, for a Cognito that is not AWS (default: the AWS issuer of the pool).
    #[arg(long)]
    issuer: Option<String>,
    /// The JWKS URL (default: `<issuer>/.well-known/jwks.json`).
    #[arg(long)]
    jwks_url: Option<String>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
}

/// The application's state: what handlers and extractors share.
#[derive(Clone)]
struct AppState {
    verifier: JwtVerifier,
}

impl FromRef<AppState> for JwtVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The caller, proven by a valid Cognito access token in `Authorization: Bearer ...`.
struct CognitoUser(VerifiedClaims);

/// Why a request was turned away.
enum AuthRejection {
    /// No bearer token.
    Missing,
    /// A token that failed verification, or a JWKS that could not be fetched.
    Invalid(JwtError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let challenge = |error: &str| {
            HeaderValue::from_str(&format!("Bearer error=\"{error}\""))
                .unwrap_or(HeaderValue::from_static("Bearer"))
        };
        match self {
            AuthRejection::Missing => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            )
                .into_response(),
            // Do not tell the caller which check failed beyond "invalid": that helps forgers.
            AuthRejection::Invalid(error) if error.is_token_rejected() => {
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge("invalid_token"))])
                    .into_response()
            }
            AuthRejection::Invalid(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "token keys unavailable, retry later")
                    .into_response()
            }
        }
    }
}

impl<S> FromRequestParts<S> for CognitoUser
where
    JwtVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(AuthRejection::Missing)?;
        let verifier = JwtVerifier::from_ref(state);
        verifier
            .verify_access_token(token.trim())
            .await
            .map(CognitoUser)
            .map_err(AuthRejection::Invalid)
    }
}

async fn me(CognitoUser(claims): CognitoUser) -> String {
    format!(
        "hello {} (groups: {})\n",
        claims.username().unwrap_or(claims.subject()),
        claims.groups().join(", ")
    )
}

async fn admin(CognitoUser(claims): CognitoUser) -> Result<String, StatusCode> {
    if claims.in_group("admins") {
        Ok(format!("welcome, administrator {}\n", claims.subject()))
    } else {
        Err(StatusCode::FORBIDDEN)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut builder = JwtVerifier::builder(&args.user_pool_id).client_id(&args.client_id);
    if let Some(issuer) = &args.issuer {
        builder = builder.issuer(issuer);
    }
    if let Some(url) = &args.jwks_url {
        builder = builder.jwks_url(url);
    }
    let state = AppState { verifier: builder.build()? };
    let app = Router::new().route("/me", get(me)).route("/admin", get(admin)).with_state(state);
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
