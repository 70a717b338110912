//! Machine-to-machine tokens: the `client_credentials` grant of a user pool's app client
//! through `auth_cognito::oauth::ClientCredentials`.
//!
//! ```text
//! cargo run -p auth-cognito --example client-credentials -- \
//!     --endpoint URL --user-pool-id ID --client-id ID --client-secret S --scope SCOPE
//! ```
//!
//! `--endpoint` is the user pool's domain (`https://<prefix>.auth.<region>.amazoncognito.com`)
//! or a local Cognito. It asks for a token twice and prints
//! `token scope=<granted scopes> expires_in=<seconds>` each time (the second comes from the
//! cache), then `requests=<n>`, the number of token requests made. It never prints a token.
//! A refused request exits with status 1 and one line naming the OAuth error; any other
//! failure with status 2.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example talks to the terminal"
)]

mod common;

use std::process::ExitCode;
use std::time::SystemTime;

use auth_cognito::CognitoError;
use auth_cognito::oauth::ClientCredentials;
use clap::Parser;

/// Get client_credentials access tokens for an app client.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    app: common::AppClient,
    /// The app client secret (or COGNITO_CLIENT_SECRET).
    #[arg(long, env = "COGNITO_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// The scopes to ask for, space-separated (e.g. `orders/read`); all allowed if omitted.
    #[arg(long)]
    scope: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(CognitoError::Service(failure)) if !failure.is_transient() => {
            eprintln!(
                "error: the token endpoint refused: {}: {}",
                failure.name(),
                failure.message()
            );
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<(), CognitoError> {
    let scopes: Vec<&str> = args.scope.as_deref().unwrap_or_default().split_whitespace().collect();
    let tokens = ClientCredentials::builder(
        &args.app.endpoint,
        &args.app.client_id,
        args.client_secret.as_str(),
    )
    .scopes(scopes)
    .build()?;
    eprintln!("user pool {}, app client {}", args.app.user_pool_id, args.app.client_id);
    for _ in 0..2 {
        let token = tokens.token().await?;
        println!(
            "token scope={} expires_in={}",
            token.scopes.join(" "),
            token.expires_in(SystemTime::now()).as_secs()
        );
    }
    println!("requests={}", tokens.requests());
    Ok(())
}
