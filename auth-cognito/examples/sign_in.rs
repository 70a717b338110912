//! Signs a user in to a Cognito user pool (real Cognito, or a local one with `--endpoint`)
//! through `AuthClient`, answering challenges on the terminal.
//!
//! ```text
//! cargo run -p auth-cognito --example sign-in -- \
//!     --user-pool-id us-east-1_AbC123 --client-id 1h2j3k4l5m6n7o8p9q0r \
//!     [--username alice] [--password 'correct horse'] [--flow srp|password|user-auth] \
//!     [--endpoint http://127.0.0.1:9229] [--region us-east-1] [--client-secret S] \
//!     [--store-dir DIR [--resume]] [--identity-pool-id us-east-1:0b7c... [--identity-endpoint URL]]
//! ```
//!
//! Without `--password` (and with the default SRP flow), the drop-in sign-in of the
//! `drop-in` feature runs instead: it asks for the password on the terminal and answers
//! every challenge, and without `--username` it also offers sign-up and a forgotten password.
//!
//! `--flow user-auth` is Cognito's choice-based sign-in (`USER_AUTH`): with `--password`
//! it prefers `PASSWORD_SRP`; without one it lists the first factors the pool offers (e.g.
//! a one-time code by email or SMS), lets you pick one, then asks for the code. The other
//! flows need `--password`.
//!
//! It prints every user-state change as it happens, the ID token's claims (never a
//! token), forces one refresh and prints the new expiry. With `--identity-pool-id` it also
//! federates the sign-in into the identity pool and prints the identity id and when the
//! temporary AWS credentials expire (never the secret key or session token). With `--store-dir` the session is
//! kept in a file there (encrypted when `AUTH_STORE_KEY` holds 64 hex characters), and
//! `--resume` continues from it without a password; so is the device remembered at
//! sign-in (with the `file-device-store` feature), with the same key, so a later run
//! signs in on this device without MFA. Without `--store-dir` both live in memory. A refused sign-in (wrong password,
//! unknown user) exits with status 1 and one line naming Cognito's error; any other
//! failure exits with status 2.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example talks to the terminal"
)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_cognito::{CognitoIdentityPool, CognitoUserPool, DeviceStore, MemoryDeviceStore};
use auth_core::{
    AuthClient, AuthError, ChallengeKind, ChallengeResponse, DynTokenStore, FirstFactor,
    MemoryTokenStore, MfaType, ProviderError, SignInFlow, SignInNextStep, SignInRequest,
    SignInResult, SignOutOptions, StateChanges, UserPoolTokens, UserState,
};
use auth_storage::{FileTokenStore, Namespace};
use clap::{Parser, ValueEnum};

/// Sign in to a Cognito user pool with auth-core's AuthClient.
#[derive(Parser)]
struct Args {
    /// A Cognito-compatible endpoint (e.g. a local mock); real Cognito in the region if omitted.
    #[arg(long)]
    endpoint: Option<String>,
    /// The region (default: the user pool id's prefix).
    #[arg(long)]
    region: Option<String>,
    /// The user pool id, `<region>_<id>`.
    #[arg(long)]
    user_pool_id: String,
    /// The app client id.
    #[arg(long)]
    client_id: String,
    /// The app client secret, for clients that have one.
    #[arg(long, env = "COGNITO_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// The username (or an alias such as the email address).
    #[arg(long)]
    username: Option<String>,
    /// The password (or set COGNITO_PASSWORD to keep it out of the shell history).
    #[arg(long, env = "COGNITO_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The sign-in flow.
    #[arg(long, value_enum, default_value_t = Flow::Srp)]
    flow: Flow,
    /// Keep the session in a file in this directory.
    #[arg(long)]
    store_dir: Option<PathBuf>,
    /// Continue from the session stored in --store-dir, without a password.
    #[arg(long, requires = "store_dir")]
    resume: bool,
    /// A Cognito identity pool (`<region>:<uuid>`) that trusts the user pool: print the
    /// identity id and the expiry of the AWS credentials it issues.
    #[arg(long)]
    identity_pool_id: Option<String>,
    /// The identity pool's endpoint (default: --endpoint, else real Cognito in its region).
    #[arg(long, requires = "identity_pool_id")]
    identity_endpoint: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Flow {
    /// USER_SRP_AUTH: the password never leaves this machine.
    Srp,
    /// USER_PASSWORD_AUTH: the password is sent to Cognito over TLS.
    Password,
    /// USER_AUTH, choice-based: PASSWORD_SRP with --password, else pick a first factor
    /// (e.g. a one-time code by email or SMS).
    UserAuth,
}

/// A failure, and the exit status it deserves.
struct Failure {
    status: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self { status: 2, message: message.into() }
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        match &error {
            AuthError::Provider(ProviderError::Rejected(service)) => Self {
                status: 1,
                message: format!("Cognito refused: {}: {}", service.code(), service.message()),
            },
            _ => Self { status: 2, message: error.to_string() },
        }
    }
}

impl From<ProviderError> for Failure {
    fn from(error: ProviderError) -> Self {
        AuthError::Provider(error).into()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}

async fn run(args: Args) -> Result<(), Failure> {
    let mut builder = CognitoUserPool::builder(&args.user_pool_id, &args.client_id)
        .device_name("auth-cognito sign-in example");
    if let Some(endpoint) = &args.endpoint {
        builder = builder.endpoint(endpoint);
    }
    if let Some(region) = &args.region {
        builder = builder.region(region);
    }
    if let Some(secret) = &args.client_secret {
        builder = builder.client_secret(secret.as_str());
    }
    let pool = builder.device_store(device_store(&args)?);
    let pool = pool.build().map_err(|e| Failure::usage(e.to_string()))?;
    println!("user pool {} at {}", pool.pool_id(), pool.endpoint());

    let store = token_store(&args)?;
    let pool = Arc::new(pool);
    let mut builder = AuthClient::builder();
    if let Some(identity_pool) = identity_pool(&args)? {
        println!(
            "identity pool {} at {}",
            identity_pool.identity_pool_id(),
            identity_pool.endpoint()
        );
        builder = builder.credentials_provider(Arc::new(identity_pool));
    }
    let client = builder
        .identity_provider(pool.clone())
        .token_store(store.clone())
        // A stored session that can no longer be refreshed would otherwise wait for a new
        // sign-in forever; this example has nobody to sign in again.
        .sign_in_wait_timeout(Some(Duration::from_secs(5)))
        .build();
    // Every state change, printed right after the call that caused it (a listener task
    // would print them as well, but interleaved unpredictably with the rest).
    let mut changes = client.state_changes();
    let initial = client.initialize().await?;
    print_changes(&mut changes);

    if args.resume {
        if initial.state != UserState::SignedIn {
            return Err(Failure::usage(format!(
                "no stored session to resume (state {}); sign in without --resume first",
                initial.state
            )));
        }
        println!("resuming the stored session of {}", client.username().unwrap_or_default());
    } else {
        if initial.state.has_session() {
            println!("a session is stored already; signing it out locally first");
            client.sign_out(SignOutOptions::local()).await?;
            print_changes(&mut changes);
        }
        sign_in(&client, &args, &mut changes).await?;
    }

    let tokens = client.tokens().await;
    print_changes(&mut changes);
    let tokens = tokens?;
    print_claims(&tokens);
    println!("tokens expire at {}", describe(tokens.expires_at()));
    if args.identity_pool_id.is_some() {
        print_aws_credentials(&client, &mut changes).await?;
    }
    println!("forcing one refresh (AuthClient::refresh_tokens, REFRESH_TOKEN_AUTH)");
    let refreshed = client.refresh_tokens().await;
    print_changes(&mut changes);
    println!("refreshed tokens expire at {}", describe(refreshed?.expires_at()));
    Ok(())
}

fn identity_pool(args: &Args) -> Result<Option<CognitoIdentityPool>, Failure> {
    let Some(id) = &args.identity_pool_id else { return Ok(None) };
    let mut builder = CognitoIdentityPool::builder(id);
    if let Some(endpoint) = args.identity_endpoint.as_ref().or(args.endpoint.as_ref()) {
        builder = builder.endpoint(endpoint);
    }
    builder.build().map(Some).map_err(|e| Failure::usage(e.to_string()))
}

/// The identity-pool part: the identity id and the credentials' expiry. The access key id
/// is shortened and the secret key and session token are never printed.
async fn print_aws_credentials(
    client: &AuthClient,
    changes: &mut StateChanges,
) -> Result<(), Failure> {
    let credentials = client.aws_credentials().await;
    print_changes(changes);
    let credentials = credentials?;
    println!("identity id {}", client.identity_id().await?);
    let key_prefix: String = credentials.access_key_id.chars().take(4).collect();
    match credentials.expiration {
        Some(expiration) => {
            println!("AWS credentials ({key_prefix}...) expire at {}", describe(expiration))
        }
        None => println!("AWS credentials ({key_prefix}...) do not expire"),
    }
    Ok(())
}

fn print_changes(changes: &mut StateChanges) {
    while let Some(change) = changes.try_next() {
        let provider = change.provider.map(|p| format!(" provider={p}")).unwrap_or_default();
        let reason = change.reason.map(|r| format!(" reason={r}")).unwrap_or_default();
        println!("state: {}{provider}{reason}", change.state);
    }
}

fn token_store(args: &Args) -> Result<DynTokenStore, Failure> {
    let Some(dir) = &args.store_dir else {
        println!("session kept in memory only (use --store-dir to keep it)");
        return Ok(Arc::new(MemoryTokenStore::new()));
    };
    let namespace = namespace(args)?;
    let store = FileTokenStore::builder(dir, namespace)
        .encryption_key_from_env()
        .map_err(|e| Failure::usage(e.to_string()))?
        .build();
    println!("session kept in {} ({})", store.path().display(), encryption(store.is_encrypted()));
    Ok(Arc::new(store))
}

/// The namespace of the session and the remembered devices: the app client's, so that two
/// app clients sharing a `--store-dir` never read each other's.
fn namespace(args: &Args) -> Result<Namespace, Failure> {
    Namespace::app_client(&args.user_pool_id, &args.client_id)
        .map_err(|e| Failure::usage(e.to_string()))
}

/// How a store's file is written, for the line that says where it is.
fn encryption(encrypted: bool) -> &'static str {
    if encrypted { "encrypted with AUTH_STORE_KEY" } else { "not encrypted" }
}

/// Where remembered devices go: next to the session with `--store-dir` (and the same key),
/// so that they survive a restart; in memory otherwise.
fn device_store(args: &Args) -> Result<Arc<dyn DeviceStore>, Failure> {
    let Some(dir) = &args.store_dir else {
        println!("remembered devices kept in memory only");
        return Ok(Arc::new(MemoryDeviceStore::new()));
    };
    #[cfg(feature = "file-device-store")]
    {
        let namespace = namespace(args)?;
        let store = auth_cognito::FileDeviceStore::builder(dir, namespace)
            .encryption_key_from_env()
            .map_err(|e| Failure::usage(e.to_string()))?
            .build();
        println!(
            "remembered devices kept in {} ({})",
            store.path().display(),
            encryption(store.is_encrypted())
        );
        Ok(Arc::new(store))
    }
    #[cfg(not(feature = "file-device-store"))]
    {
        println!(
            "remembered devices kept in memory only (build with the file-device-store feature \
             to keep them in {})",
            dir.display()
        );
        Ok(Arc::new(MemoryDeviceStore::new()))
    }
}

async fn sign_in(
    client: &AuthClient,
    args: &Args,
    changes: &mut StateChanges,
) -> Result<(), Failure> {
    #[cfg(feature = "drop-in")]
    if args.password.is_none() && matches!(args.flow, Flow::Srp) {
        return drop_in(client, args, changes).await;
    }
    let username = args.username.clone().ok_or_else(|| Failure::usage("--username is required"))?;
    let password = args.password.as_deref();
    let request = match (args.flow, password) {
        (Flow::UserAuth, Some(password)) => {
            println!("signing in as {username} with USER_AUTH, preferring PASSWORD_SRP");
            SignInRequest::choice_based_with_password(username, password)
        }
        (Flow::UserAuth, None) => {
            println!("signing in as {username} with USER_AUTH (choice-based, no password)");
            SignInRequest::choice_based(username)
        }
        (flow, password) => {
            let password = password.ok_or_else(|| {
                Failure::usage("--password is required (except with --flow user-auth)")
            })?;
            let (flow, name) = match flow {
                Flow::Password => (SignInFlow::Password, "USER_PASSWORD_AUTH"),
                _ => (SignInFlow::SecureRemotePassword, "USER_SRP_AUTH"),
            };
            println!("signing in as {username} with {name}");
            SignInRequest::password(username, password).with_flow(flow)
        }
    };
    let mut result = client.sign_in(request).await;
    print_changes(changes);
    let mut failed_answers = 0;
    while let SignInResult::NextStep(step) = result? {
        let response = ask(&step, password).await?;
        let answered = client.confirm_sign_in(response).await;
        print_changes(changes);
        result = match answered {
            Ok(result) => Ok(result),
            // A mistyped code: the challenge stays open, ask again (a few times).
            Err(AuthError::Provider(ProviderError::Rejected(service))) if failed_answers < 2 => {
                failed_answers += 1;
                println!(
                    "Cognito refused the answer ({}: {}); try again",
                    service.code(),
                    service.message()
                );
                Ok(SignInResult::NextStep(step))
            }
            Err(error) => Err(error),
        };
    }
    Ok(())
}

/// Without `--password`: the drop-in sign-in (feature `drop-in`) asks for everything it
/// needs on the terminal, challenges included, and offers sign-up and a forgotten password
/// when no `--username` is given.
#[cfg(feature = "drop-in")]
async fn drop_in(
    client: &AuthClient,
    args: &Args,
    changes: &mut StateChanges,
) -> Result<(), Failure> {
    use auth_cognito::drop_in::{DropInError, DropInOptions, TerminalPrompter};

    println!("no --password: the drop-in sign-in asks for what it needs");
    let mut options = DropInOptions::default();
    if let Some(username) = &args.username {
        options = options.username(username);
    }
    let outcome =
        auth_cognito::drop_in::sign_in_interactively(client, &TerminalPrompter::new(), &options)
            .await;
    print_changes(changes);
    match outcome {
        Ok(outcome) => {
            println!("signed in as {}", outcome.username);
            Ok(())
        }
        Err(DropInError::Auth(error)) => Err(error.into()),
        Err(other) => Err(Failure { status: 1, message: other.to_string() }),
    }
}

/// Asks the user for the answer to a challenge; `password` is `--password`, if given.
async fn ask(step: &SignInNextStep, password: Option<&str>) -> Result<ChallengeResponse, Failure> {
    println!("challenge {}", step.challenge_name);
    Ok(match &step.kind {
        ChallengeKind::NewPasswordRequired { required_attributes } => {
            let mut response = ChallengeResponse::answer(prompt("new password").await?);
            for attribute in required_attributes {
                response = response.with_attribute(attribute, prompt(attribute).await?);
            }
            response
        }
        ChallengeKind::SmsMfa { destination }
        | ChallengeKind::SmsOtp { destination }
        | ChallengeKind::EmailOtp { destination } => {
            let to = destination.as_deref().unwrap_or("you");
            ChallengeResponse::answer(prompt(&format!("code sent to {to}")).await?)
        }
        ChallengeKind::SoftwareTokenMfa => {
            ChallengeResponse::answer(prompt("code from your authenticator app").await?)
        }
        ChallengeKind::MfaSetup { secret, otpauth_uri } => {
            // Showing the secret is the point of this step: the user types it (or scans the
            // URI as a QR code) into an authenticator app.
            println!("add this key to your authenticator app: {}", secret.secret());
            println!("or scan a QR code of: {}", otpauth_uri.secret());
            ChallengeResponse::answer(prompt("first code from the app").await?)
        }
        ChallengeKind::SelectFirstFactor { options } => {
            let factor = choose_first_factor(options).await?;
            let response = ChallengeResponse::first_factor(factor);
            if !factor.needs_password() {
                response
            } else if let Some(password) = password {
                response.with_password(password)
            } else {
                response.with_password(prompt("password").await?)
            }
        }
        ChallengeKind::SelectMfaType { options } => {
            let names: Vec<&str> = options.iter().map(|mfa| mfa.as_str()).collect();
            let choice = prompt(&format!("MFA method ({})", names.join(" / "))).await?;
            match MfaType::from_name(choice.trim()) {
                Some(mfa) => ChallengeResponse::mfa_type(mfa),
                None => ChallengeResponse::answer(choice),
            }
        }
        _ => {
            for (name, value) in &step.parameters {
                println!("  {name}: {value}");
            }
            ChallengeResponse::answer(prompt("answer").await?)
        }
    })
}

/// Lists the offered first factors and reads the user's pick (its number or its name).
async fn choose_first_factor(options: &[FirstFactor]) -> Result<FirstFactor, Failure> {
    for (number, factor) in options.iter().enumerate() {
        let what = match factor {
            FirstFactor::Password => "password (sent to Cognito over TLS)",
            FirstFactor::PasswordSrp => "password (SRP: it never leaves this machine)",
            FirstFactor::EmailOtp => "one-time code by email",
            FirstFactor::SmsOtp => "one-time code by SMS",
            _ => "another factor",
        };
        println!("  {}. {factor}: {what}", number + 1);
    }
    for _ in 0..3 {
        let answer = prompt("first factor (number or name)").await?;
        let picked = match answer.parse::<usize>() {
            Ok(number) => number.checked_sub(1).and_then(|i| options.get(i)).copied(),
            Err(_) => FirstFactor::from_name(&answer.to_ascii_uppercase())
                .filter(|factor| options.contains(factor)),
        };
        match picked {
            Some(factor) => return Ok(factor),
            None => println!("not one of the offered factors; try again"),
        }
    }
    Err(Failure::usage("no first factor chosen"))
}

async fn prompt(what: &str) -> Result<String, Failure> {
    print!("{what}: ");
    let _ = std::io::stdout().flush();
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|read| (read, line))
    })
    .await
    .map_err(|e| Failure::usage(e.to_string()))?
    .map_err(|e| Failure::usage(format!("cannot read the terminal: {e}")))?;
    match line {
        (0, _) => Err(Failure::usage("no answer (end of input)")),
        (_, line) => Ok(line.trim().to_owned()),
    }
}

fn print_claims(tokens: &UserPoolTokens) {
    match tokens.id_claims() {
        Ok(claims) => {
            println!("ID token claims (decoded, not verified):");
            for (name, value) in claims.as_map() {
                println!("  {name}: {value}");
            }
        }
        Err(error) => println!("the ID token's claims are unreadable: {error}"),
    }
}

/// An instant as RFC 3339 with the seconds left until it, for the expiry lines.
fn describe(at: SystemTime) -> String {
    let seconds = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let remaining = at.duration_since(SystemTime::now()).map_or(0, |d| d.as_secs());
    let formatted = i64::try_from(seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string());
    format!("{formatted} (in {remaining} s)")
}
