//! `auth-mock-server`: a local Amazon Cognito User Pools server.
//!
//! Started without flags it seeds a demo pool, app client, confirmed user and identity pool,
//! prints their ids and a block of `export` lines, and serves until Ctrl-C.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use auth_mock_server::MockServer;
use auth_mock_server::seed::Seed;
use clap::{Parser, ValueEnum};

/// A local Amazon Cognito User Pools server speaking the real wire protocol.
#[derive(Debug, Parser)]
#[command(name = "auth-mock-server", version)]
struct Args {
    /// Interface to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "AUTH_MOCK_HOST")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free port (the bound address is printed).
    #[arg(long, default_value_t = 9229, env = "AUTH_MOCK_PORT")]
    port: u16,
    /// Seed file (TOML, or JSON if it ends in .json) with pools, clients, groups and users.
    #[arg(long, env = "AUTH_MOCK_SEED")]
    seed: Option<PathBuf>,
    /// Keep state in this file across restarts (written atomically).
    #[arg(long, env = "AUTH_MOCK_STATE_FILE")]
    state_file: Option<PathBuf>,
    /// Issue tokens with iss = <URL>/<poolId> instead of https://cognito-idp.<region>.amazonaws.com/<poolId>;
    /// `self` means this server's own URL.
    #[arg(long, env = "AUTH_MOCK_ISSUER_BASE")]
    issuer_base: Option<String>,
    /// Region of pools created by unsigned requests.
    #[arg(long, default_value = "us-east-1", env = "AUTH_MOCK_REGION")]
    region: String,
    /// Accept admin operations without a SigV4 Authorization header.
    #[arg(long)]
    allow_unsigned: bool,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "AUTH_MOCK_LOG_FORMAT")]
    log_format: LogFormat,
    /// Run a Lambda trigger as a webhook: `--lambda ARN=http://host:port/path` (repeatable).
    #[arg(long = "lambda", value_name = "ARN=URL", value_parser = parse_lambda)]
    lambdas: Vec<(String, String)>,
    /// Do not seed the demo pool when neither --seed nor an existing --state-file is given.
    #[arg(long)]
    no_demo: bool,
    /// Require `Authorization: Bearer <TOKEN>` on the test-control API (`/_mock/*`) and the
    /// moto/LocalStack compatibility endpoints.
    #[arg(long, env = "AUTH_MOCK_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
    /// Accept this Host name on the test-control API besides loopback names (repeatable),
    /// e.g. the server's service name in a Docker network.
    #[arg(long = "control-host", value_name = "NAME")]
    control_hosts: Vec<String>,
    /// Once listening, write what the banner prints as JSON to this file (url, region, the
    /// `environment` variables, the `seeded` ids), for programs that start the server.
    #[arg(long, env = "AUTH_MOCK_READY_FILE")]
    ready_file: Option<PathBuf>,
}

/// `ARN=URL`, split at the first `=` (ARNs contain no `=`; URLs may).
fn parse_lambda(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((arn, url)) if !arn.is_empty() && url.starts_with("http://") => {
            Ok((arn.to_owned(), url.to_owned()))
        }
        _ => Err(format!("expected ARN=http://host:port/path, got {value:?}")),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

/// Threads for the blocking pool, which runs the user-pool API's writes (RSA signatures,
/// password hashing, SRP) one at a time under the state's lock, and trigger webhooks. Tokio's
/// default of 512 let 64 concurrent clients grow the soak's server to 108 threads, each
/// with its own allocator caches: resident memory kept climbing for the first few hundred
/// thousand sign-ins. More threads than this add memory, not throughput.
const MAX_BLOCKING_THREADS: usize = 16;

async fn run(args: Args) -> ExitCode {
    let state_exists = args.state_file.as_ref().is_some_and(|p| p.exists());
    let (seed, demo) = match &args.seed {
        Some(path) => match Seed::from_file(path) {
            Ok(seed) => (Some(seed), false),
            Err(error) => {
                tracing::error!(%error, "cannot read the seed file");
                return ExitCode::from(2);
            }
        },
        None if !state_exists && !args.no_demo => (Some(Seed::demo()), true),
        None => (None, false),
    };
    let mut builder = MockServer::builder()
        .host(args.host)
        .port(args.port)
        .region(args.region.clone())
        .require_signature(!args.allow_unsigned);
    builder.set_issuer_base(args.issuer_base.clone());
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    for (arn, url) in &args.lambdas {
        builder = builder.lambda(arn, url);
    }
    if let Some(token) = &args.control_token {
        builder = builder.control_token(token);
    }
    for host in &args.control_hosts {
        builder = builder.control_host(host);
    }
    if let Some(path) = &args.state_file {
        builder = builder.state_file(path);
    }
    let server = match builder.start().await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let environment = environment(&server, demo, &args.region);
    // The ready file first: whoever reads the banner may look for it next.
    if let Some(path) = &args.ready_file {
        if let Err(error) = write_ready_file(path, &server, &args.region, &environment) {
            tracing::error!(%error, path = %path.display(), "cannot write the ready file");
            server.shutdown().await;
            return ExitCode::FAILURE;
        }
    }
    announce(&server, &environment);
    match tokio::signal::ctrl_c().await {
        Ok(()) => tracing::info!("shutting down"),
        Err(error) => tracing::error!(%error, "cannot wait for Ctrl-C; shutting down"),
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// The variables the banner's `export` block sets, in its order: the endpoints and region for
/// the AWS SDKs and CLI, dummy credentials, and the seeded ids.
fn environment(
    server: &auth_mock_server::MockServerHandle,
    demo: bool,
    region: &str,
) -> Vec<(&'static str, String)> {
    let url = server.url();
    let mut env = vec![
        ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", url.clone()),
        ("AWS_ENDPOINT_URL_COGNITO_IDENTITY", url.clone()),
        ("AWS_ENDPOINT_URL_S3", url),
        ("AWS_REGION", region.to_owned()),
        // The AWS CLI v1 and older SDKs read only this one.
        ("AWS_DEFAULT_REGION", region.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ];
    let Some(seeded) = server.seeded() else { return env };
    if let Some(pool) = seeded.pools.first() {
        env.push(("COGNITO_USER_POOL_ID", pool.id.clone()));
        if let Some((_, id, secret)) = pool.clients.first() {
            env.push(("COGNITO_CLIENT_ID", id.clone()));
            if let Some(secret) = secret {
                env.push(("COGNITO_CLIENT_SECRET", secret.clone()));
            }
        }
        if demo {
            env.push(("COGNITO_USERNAME", "demo".to_owned()));
            env.push(("COGNITO_PASSWORD", "Passw0rd!".to_owned()));
        }
    }
    if let Some(identity_pool) = seeded.identity_pools.first() {
        env.push(("COGNITO_IDENTITY_POOL_ID", identity_pool.id.clone()));
    }
    env
}

/// `value` quoted for a POSIX shell when it holds anything but safe characters.
fn shell_quote(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_.:/@%+=,".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// Writes the ready file atomically (a temporary file renamed into place), so a reader that
/// sees the file sees all of it.
fn write_ready_file(
    path: &std::path::Path,
    server: &auth_mock_server::MockServerHandle,
    region: &str,
    environment: &[(&'static str, String)],
) -> std::io::Result<()> {
    let environment: serde_json::Map<String, serde_json::Value> =
        environment.iter().map(|(k, v)| ((*k).to_owned(), v.clone().into())).collect();
    let ready = serde_json::json!({
        "url": server.url(),
        "region": region,
        "pid": std::process::id(),
        "environment": environment,
        "seeded": server.seeded(),
    });
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&temporary, format!("{ready:#}\n"))?;
    std::fs::rename(&temporary, path)
}

#[allow(
    clippy::print_stdout,
    reason = "the binary's job is to tell the user where it listens and what it seeded"
)]
fn announce(server: &auth_mock_server::MockServerHandle, environment: &[(&'static str, String)]) {
    use std::io::Write as _;
    let url = server.url();
    let mut out = String::new();
    out.push_str(&format!("auth-mock-server listening on {url}\n"));
    if let Some(seeded) = server.seeded() {
        for pool in &seeded.pools {
            out.push_str(&format!("pool {} ({})\n", pool.id, pool.name));
            for (name, id, secret) in &pool.clients {
                let secret = if secret.is_some() { " (with secret)" } else { "" };
                out.push_str(&format!("  app client {id} ({name}){secret}\n"));
            }
            for (given, internal) in &pool.users {
                out.push_str(&format!("  user {given} (internal username {internal})\n"));
            }
            for (name, path) in &pool.hosted_sign_in {
                out.push_str(&format!("  hosted sign-in ({name}): {url}{path}\n"));
            }
        }
        for pool in &seeded.identity_pools {
            out.push_str(&format!("identity pool {} ({})\n", pool.id, pool.name));
            out.push_str(&format!("  authenticated role {}\n", pool.authenticated_role_arn));
            out.push_str(&format!("  unauthenticated role {}\n", pool.unauthenticated_role_arn));
        }
        out.push_str("\n# paste into a shell:\n");
        for (name, value) in environment {
            out.push_str(&format!("export {name}={}\n", shell_quote(value)));
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}
