//! `cargo xtask soak --seconds N --concurrency C [--sign-ins M]`: a long mixed workload
//! against the mock server, to show that its memory stays flat however many sign-ins it has
//! served.
//!
//! Each of the C workers loops over a mix of what apps do: sign up (and confirm) a user now
//! and then, deleting the one it used before and its identity (a tidy test suite's users
//! come and go; what a deleted user leaves behind is what would leak), sign in alternately with USER_SRP_AUTH
//! (real client SRP maths) and USER_PASSWORD_AUTH, GetUser, refresh, identity-pool
//! credentials (GetId and GetCredentialsForIdentity with the ID token) and GlobalSignOut.
//! Every ten seconds, after 10,000 sign-ins and at the end it prints operations per second,
//! errors, the server's resident memory (VmRSS, and the peak VmHWM) from /proc, and
//! `GET /_mock/stats`. The run ends after N seconds, or after M sign-ins when `--sign-ins`
//! is given (then `--seconds` only bounds it); it fails on any error, and when resident
//! memory at the end exceeds resident memory after 10,000 sign-ins by more than
//! [`MEMORY_GROWTH_LIMIT_KIB`].
//!
//! The server binary is built in the debug profile unless `--release` is given: the run is
//! about memory over time, which the profile barely changes, and the debug build is the one
//! the tests already keep up to date.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Connection, MockProcess, build_mock, rss_kib, srp_sign_in};

const POOL_ID: &str = "us-east-1_SoakPool01";
const CLIENT_ID: &str = "soakclient0000000000000001";
const IDENTITY_POOL_ID: &str = "us-east-1:00000000-0000-4000-8000-00000000500a";
const PASSWORD: &str = "Soak-Passw0rd!";
const IDENTITY_TARGET: &str = "AWSCognitoIdentityService.";
/// Sign-ins after which a checkpoint is printed whatever the time, and the resident memory
/// the end is compared with.
const SIGN_IN_CHECKPOINT: u64 = 10_000;
/// How much resident memory may grow from [`SIGN_IN_CHECKPOINT`] sign-ins to the end: the
/// issue's target (within 20 MiB after 1,000,000 sign-ins).
const MEMORY_GROWTH_LIMIT_KIB: u64 = 20 * 1024;
/// How long a run bounded by `--sign-ins` alone may take.
const SIGN_IN_RUN_SECONDS: u64 = 4 * 3600;

struct Options {
    seconds: u64,
    concurrency: u32,
    release: bool,
    /// Stop after this many sign-ins.
    sign_ins: Option<u64>,
    /// Every sign-in with USER_PASSWORD_AUTH: the server's cheapest, so that a million
    /// sign-ins take minutes on two cores instead of most of an hour (the SRP sessions'
    /// memory is what the mixed run shows).
    password_only: bool,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        seconds: 60,
        concurrency: 64,
        release: false,
        sign_ins: None,
        password_only: false,
    };
    let mut seconds_given = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a whole number"))
        };
        match arg.as_str() {
            "--seconds" => {
                options.seconds = number("--seconds")?.max(1);
                seconds_given = true;
            }
            "--sign-ins" => options.sign_ins = Some(number("--sign-ins")?.max(1)),
            "--concurrency" => {
                options.concurrency =
                    u32::try_from(number("--concurrency")?.clamp(1, 4096)).unwrap_or(64);
            }
            "--release" => options.release = true,
            "--password-sign-ins" => options.password_only = true,
            other => return Err(format!("soak: unknown argument {other}")),
        }
    }
    if options.sign_ins.is_some() && !seconds_given {
        options.seconds = SIGN_IN_RUN_SECONDS;
    }
    Ok(options)
}

/// What the workers count.
#[derive(Default)]
struct Counters {
    ops: AtomicU64,
    sign_ins: AtomicU64,
    errors: AtomicU64,
}

/// Builds and starts the server, runs the workload, prints checkpoints.
pub(crate) fn run(workspace: &Path, args: &[String]) -> Result<(), String> {
    let options = parse_options(args)?;
    let binary = build_mock(workspace, options.release)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(soak(&binary, &options))
}

fn seed() -> Value {
    json!({
        "pools": [{
            "name": "soak",
            "id": POOL_ID,
            "clients": [{
                "name": "soak",
                "id": CLIENT_ID,
                "explicit_auth_flows": [
                    "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"
                ],
            }],
        }],
        "identity_pools": [{
            "name": "soak-identities",
            "id": IDENTITY_POOL_ID,
            "user_pools": [{ "pool": "soak", "client": "soak" }],
        }],
    })
}

async fn soak(binary: &Path, options: &Options) -> Result<(), String> {
    let server = MockProcess::start(binary, &seed(), "soak")?;
    let (url, pid) = (server.url(), server.pid());
    wait_for(&url).await?;
    let until = options.sign_ins.map(|n| format!(" or {n} sign-ins")).unwrap_or_default();
    println!(
        "soak: {} s{until}, {} workers against {url} (pid {pid}); idle VmRSS {} KiB",
        options.seconds,
        options.concurrency,
        rss_kib(pid, "VmRSS:").unwrap_or(0)
    );
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..options.concurrency {
        let (url, counters, stop) = (url.clone(), Arc::clone(&counters), Arc::clone(&stop));
        let srp = !options.password_only;
        workers.push(tokio::spawn(async move { work(&url, worker, srp, &counters, &stop).await }));
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let mut last = (started, 0u64);
    let mut next_report = started + Duration::from_secs(10);
    let mut rss_at_checkpoint = None;
    let target = options.sign_ins.unwrap_or(u64::MAX);
    while Instant::now() < deadline && counters.sign_ins.load(Ordering::Relaxed) < target {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sign_ins = counters.sign_ins.load(Ordering::Relaxed);
        let milestone = rss_at_checkpoint.is_none() && sign_ins >= SIGN_IN_CHECKPOINT;
        if milestone || Instant::now() >= next_report {
            if milestone {
                rss_at_checkpoint = rss_kib(pid, "VmRSS:");
            }
            let label = if milestone { "10,000 sign-ins" } else { "checkpoint" };
            last = checkpoint(&url, pid, &counters, started, last, label).await;
            next_report = Instant::now() + Duration::from_secs(10);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    checkpoint(&url, pid, &counters, started, last, "end").await;
    let growth = memory_growth(rss_at_checkpoint, rss_kib(pid, "VmRSS:"), &counters);
    let ops = counters.ops.load(Ordering::Relaxed);
    let errors = counters.errors.load(Ordering::Relaxed);
    println!(
        "soak: {ops} operations ({:.0}/s), {} sign-ins, {errors} errors; peak VmHWM {} KiB",
        ops as f64 / started.elapsed().as_secs_f64(),
        counters.sign_ins.load(Ordering::Relaxed),
        rss_kib(pid, "VmHWM:").unwrap_or(0),
    );
    drop(server);
    if errors > 0 {
        return Err(format!("{errors} operations failed"));
    }
    growth
}

/// Prints how resident memory grew from [`SIGN_IN_CHECKPOINT`] sign-ins to the end, and
/// fails when it grew by more than [`MEMORY_GROWTH_LIMIT_KIB`].
fn memory_growth(
    at_checkpoint: Option<u64>,
    at_end: Option<u64>,
    counters: &Counters,
) -> Result<(), String> {
    let (Some(before), Some(after)) = (at_checkpoint, at_end) else {
        println!("memory: fewer than {SIGN_IN_CHECKPOINT} sign-ins, nothing to compare");
        return Ok(());
    };
    let sign_ins = counters.sign_ins.load(Ordering::Relaxed);
    let growth = after.saturating_sub(before);
    println!(
        "memory: VmRSS {before} KiB after {SIGN_IN_CHECKPOINT} sign-ins, {after} KiB after \
         {sign_ins}: {:+.1} MiB (limit {} MiB)",
        (after as f64 - before as f64) / 1024.0,
        MEMORY_GROWTH_LIMIT_KIB / 1024,
    );
    if growth > MEMORY_GROWTH_LIMIT_KIB {
        Err(format!("resident memory grew by {growth} KiB"))
    } else {
        Ok(())
    }
}

async fn wait_for(url: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut conn) = Connection::open(url).await {
            if conn.get("/_mock/health").await.is_ok_and(|(status, _)| status == 200) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err("the server did not answer within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Prints one line of figures; returns the time and operation count it was taken at.
async fn checkpoint(
    url: &str,
    pid: u32,
    counters: &Counters,
    started: Instant,
    last: (Instant, u64),
    label: &str,
) -> (Instant, u64) {
    let now = Instant::now();
    let ops = counters.ops.load(Ordering::Relaxed);
    let rate = (ops - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-3);
    let stats = match Connection::open(url).await {
        Ok(mut conn) => conn
            .get("/_mock/stats")
            .await
            .map(|(_, body)| String::from_utf8_lossy(&body).into_owned())
            .unwrap_or_else(|e| e),
        Err(e) => e,
    };
    println!(
        "[{label} @ {:>5.1} s] sign-ins {:>7}  ops {:>8}  ops/s {rate:>7.0}  errors {}  VmRSS {} KiB  stats {stats}",
        now.duration_since(started).as_secs_f64(),
        counters.sign_ins.load(Ordering::Relaxed),
        ops,
        counters.errors.load(Ordering::Relaxed),
        rss_kib(pid, "VmRSS:").unwrap_or(0),
    );
    (now, ops)
}

/// Tokens of one sign-in.
struct Tokens {
    access: String,
    id: String,
    refresh: String,
}

/// One worker: its own connection and user, the mix in a loop until `stop`.
async fn work(url: &str, worker: u32, srp: bool, counters: &Counters, stop: &AtomicBool) {
    let Ok(mut conn) = Connection::open(url).await else {
        counters.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut generation = 0u32;
    let mut username = String::new();
    // The user this worker signed up, and the identity its credentials came from: deleted
    // when the next user replaces it (identities outlive their users, as in Cognito).
    let mut previous: Option<String> = None;
    let mut identity: Option<String> = None;
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let result = async {
            // A new user every 50 rounds: sign-ups are part of the mix, and the user count
            // grows as it would in a test suite.
            if round % 50 == 0 {
                if let Some(old) = previous.take() {
                    let delete = json!({ "UserPoolId": POOL_ID, "Username": old });
                    call(&mut conn, "AdminDeleteUser", &delete, counters).await?;
                }
                if let Some(old) = identity.take() {
                    let delete = json!({ "IdentityIdsToDelete": [old] });
                    identity_call(&mut conn, "DeleteIdentities", &delete, counters).await?;
                }
                username = format!("soak-{worker}-{generation}");
                generation += 1;
                previous = Some(username.clone());
                sign_up(&mut conn, &username, counters).await?;
            }
            let tokens = if srp && round % 2 == 0 {
                srp_sign_in_counted(&mut conn, &username, counters).await?
            } else {
                password_sign_in(&mut conn, &username, counters).await?
            };
            counters.sign_ins.fetch_add(1, Ordering::Relaxed);
            call(&mut conn, "GetUser", &json!({ "AccessToken": tokens.access }), counters).await?;
            match round % 8 {
                3 => {
                    let refresh = json!({
                        "AuthFlow": "REFRESH_TOKEN_AUTH",
                        "ClientId": CLIENT_ID,
                        "AuthParameters": { "REFRESH_TOKEN": tokens.refresh },
                    });
                    call(&mut conn, "InitiateAuth", &refresh, counters).await?;
                }
                5 => identity = Some(credentials(&mut conn, &tokens.id, counters).await?),
                7 => {
                    let sign_out = json!({ "AccessToken": tokens.access });
                    call(&mut conn, "GlobalSignOut", &sign_out, counters).await?;
                }
                _ => {}
            }
            Ok::<(), String>(())
        }
        .await;
        if let Err(error) = result {
            // The first few failures are worth reading; the rest only counted.
            if counters.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                eprintln!("soak worker {worker}: {error}");
            }
            match Connection::open(url).await {
                Ok(fresh) => conn = fresh,
                Err(_) => return,
            }
        }
        round += 1;
    }
}

/// A user-pool operation; its answer.
async fn call(
    conn: &mut Connection,
    operation: &str,
    body: &Value,
    counters: &Counters,
) -> Result<Value, String> {
    send(conn, crate::harness::TARGET, operation, body, counters).await
}

/// An operation of the service whose `X-Amz-Target` prefix is `service`; its answer, or
/// an error naming the operation.
async fn send(
    conn: &mut Connection,
    service: &str,
    operation: &str,
    body: &Value,
    counters: &Counters,
) -> Result<Value, String> {
    let (status, text) = conn
        .post_target(&format!("{service}{operation}"), body.to_string().as_bytes())
        .await
        .map_err(|error| format!("{operation}: {error}"))?;
    counters.ops.fetch_add(1, Ordering::Relaxed);
    let value: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
    if status == 200 { Ok(value) } else { Err(format!("{operation}: HTTP {status}: {value}")) }
}

async fn sign_up(conn: &mut Connection, username: &str, counters: &Counters) -> Result<(), String> {
    let body = json!({
        "ClientId": CLIENT_ID,
        "Username": username,
        "Password": PASSWORD,
        "UserAttributes": [{ "Name": "email", "Value": format!("{username}@example.com") }],
    });
    call(conn, "SignUp", &body, counters).await?;
    let confirm = json!({ "UserPoolId": POOL_ID, "Username": username });
    call(conn, "AdminConfirmSignUp", &confirm, counters).await?;
    Ok(())
}

fn tokens_of(answer: &Value) -> Result<Tokens, String> {
    let get = |name: &str| {
        answer
            .pointer(&format!("/AuthenticationResult/{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("no {name} in {answer}"))
    };
    Ok(Tokens { access: get("AccessToken")?, id: get("IdToken")?, refresh: get("RefreshToken")? })
}

async fn password_sign_in(
    conn: &mut Connection,
    username: &str,
    counters: &Counters,
) -> Result<Tokens, String> {
    let body = json!({
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": CLIENT_ID,
        "AuthParameters": { "USERNAME": username, "PASSWORD": PASSWORD },
    });
    tokens_of(&call(conn, "InitiateAuth", &body, counters).await?)
}

async fn srp_sign_in_counted(
    conn: &mut Connection,
    username: &str,
    counters: &Counters,
) -> Result<Tokens, String> {
    let answer = srp_sign_in(conn, POOL_ID, CLIENT_ID, username, PASSWORD).await?;
    counters.ops.fetch_add(2, Ordering::Relaxed);
    tokens_of(&answer)
}

/// An identity-pool operation; its answer.
async fn identity_call(
    conn: &mut Connection,
    operation: &str,
    body: &Value,
    counters: &Counters,
) -> Result<Value, String> {
    send(conn, IDENTITY_TARGET, operation, body, counters).await
}

/// GetId and GetCredentialsForIdentity with the user's ID token; the identity id.
async fn credentials(
    conn: &mut Connection,
    id_token: &str,
    counters: &Counters,
) -> Result<String, String> {
    let logins = json!({ format!("cognito-idp.us-east-1.amazonaws.com/{POOL_ID}"): id_token });
    let get_id = json!({ "IdentityPoolId": IDENTITY_POOL_ID, "Logins": logins });
    let identity = identity_call(conn, "GetId", &get_id, counters).await?;
    let identity_id = identity
        .get("IdentityId")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("GetId: no IdentityId in {identity}"))?
        .to_owned();
    let body = json!({ "IdentityId": identity_id, "Logins": logins });
    identity_call(conn, "GetCredentialsForIdentity", &body, counters).await?;
    Ok(identity_id)
}
