//! Signs a user in through a user pool's hosted UI in the browser (`auth_cognito::oauth::
//! HostedUi` inside an `AuthClient`), then signs out.
//!
//! ```text
//! cargo run -p auth-cognito --example hosted-ui -- --endpoint URL --user-pool-id ID \
//!     --client-id ID [--client-secret S] --redirect-port P [--scopes "openid email profile"] \
//!     [--identity-provider NAME] [--no-browser]
//! ```
//!
//! The redirect URI is `http://localhost:<P>/callback` (register it in the app client). With
//! `--no-browser` it prints one line `open <authorize URL>` and waits for a browser to
//! visit it. Once the browser comes back it prints `signed-in sub=<sub> email=<email or ->`,
//! signs out (revoking the refresh token) and prints `signed-out`. A refused or failed
//! sign-in exits with status 1 and one line naming the error. It never prints a token.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example talks to the terminal"
)]

mod common;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use auth_cognito::oauth::{Browser, HostedUi};
use auth_core::{AuthClient, AuthError, SignInRequest, SignOutOptions};
use clap::Parser;

/// Sign in through the hosted UI.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    app: common::AppClient,
    /// The app client secret, for clients that have one (or COGNITO_CLIENT_SECRET).
    #[arg(long, env = "COGNITO_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// The loopback port of the redirect URI `http://localhost:<port>/callback`.
    #[arg(long)]
    redirect_port: u16,
    /// The scopes, space-separated.
    #[arg(long, default_value = "openid email profile")]
    scopes: String,
    /// Go straight to this identity provider of the pool (e.g. `Google`).
    #[arg(long)]
    identity_provider: Option<String>,
    /// Print the authorization URL (`open <URL>`) instead of opening the browser.
    #[arg(long)]
    no_browser: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mut builder =
        HostedUi::builder(&args.app.endpoint, &args.app.user_pool_id, &args.app.client_id)
            .redirect_port(args.redirect_port)
            .scopes(args.scopes.split_whitespace());
    if let Some(secret) = &args.client_secret {
        builder = builder.client_secret(secret.as_str());
    }
    if let Some(provider) = &args.identity_provider {
        builder = builder.identity_provider(provider);
    }
    if args.no_browser {
        builder = builder.browser(Browser::Manual(Arc::new(|url: &str| {
            println!("open {url}");
            let _ = std::io::stdout().flush();
        })));
    }
    let hosted = builder.build().map_err(|error| error.to_string())?;
    let client = AuthClient::builder().identity_provider(Arc::new(hosted)).build();
    client.initialize().await.map_err(|error| error.to_string())?;
    client.sign_in(SignInRequest::browser()).await.map_err(describe)?;
    let tokens = client.tokens().await.map_err(describe)?;
    let claims = tokens.id_claims().map_err(|error| error.to_string())?;
    let sub = claims.string("sub").unwrap_or("-").to_owned();
    let email = claims.string("email").unwrap_or("-").to_owned();
    println!("signed-in sub={sub} email={email}");
    client.sign_out(SignOutOptions::invalidate_tokens()).await.map_err(describe)?;
    println!("signed-out");
    Ok(())
}

/// One line naming the error: the OAuth or Cognito error code when the service refused.
fn describe(error: AuthError) -> String {
    match &error {
        AuthError::Provider(provider) => match provider.code() {
            Some(code) => format!("{code}: {provider}"),
            None => provider.to_string(),
        },
        _ => error.to_string(),
    }
}
