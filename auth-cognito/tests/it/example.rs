//! The `sign-in` example, run as a program against the in-process mock server: both flows,
//! a challenge answered on its standard input, choice-based sign-in with an email code, the file store with `--resume`, and the
//! one-line errors of a wrong password and an unknown user.
//!
//! `cargo test` builds the examples next to the test binaries; a run that did not (e.g.
//! `cargo test --test it`) skips these tests with a message, and fails them when
//! `AUTH_REQUIRE_ALL_TESTS=1`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use auth_mock_server::{ClientOptions, MockServer, MockServerHandle};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::Command;

use crate::support::{
    create_code_flow_client, create_domain, create_user_with_phone, free_port, prefer_sms_mfa,
};

const PASSWORD: &str = "Example-Passw0rd!";

fn example_binary() -> Option<PathBuf> {
    built_example("sign-in")
}

#[allow(clippy::print_stderr, reason = "a skipped test says so loudly")]
fn built_example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/it-<hash> -> target/<profile>/examples/<name>
    let profile_dir = exe.parent()?.parent()?;
    let binary =
        profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if binary.exists() {
        return Some(binary);
    }
    let message = format!(
        "the {name} example is not built at {} (run `cargo test -p auth-cognito`, which builds examples)",
        binary.display()
    );
    if std::env::var("AUTH_REQUIRE_ALL_TESTS").as_deref() == Ok("1") {
        panic!("{message}");
    }
    eprintln!("SKIPPED: {message}");
    None
}

struct Setup {
    server: MockServerHandle,
    pool_id: String,
    client_id: String,
    client_secret: String,
}

async fn setup(pool: serde_json::Value) -> Setup {
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server.create_pool_with(pool).await.unwrap();
    let client =
        server.create_client(&pool_id, "example", ClientOptions::with_secret()).await.unwrap();
    create_user_with_phone(&server, &pool_id, "ex", PASSWORD, "+15555550123").await;
    Setup {
        server,
        pool_id,
        client_id: client.client_id,
        client_secret: client.client_secret.unwrap(),
    }
}

impl Setup {
    fn command(&self, binary: &PathBuf, extra: &[&str]) -> Command {
        let mut command = Command::new(binary);
        command
            .args(["--endpoint", &self.server.url(), "--user-pool-id", &self.pool_id])
            .args(["--client-id", &self.client_id])
            .args(extra)
            .env("COGNITO_CLIENT_SECRET", &self.client_secret)
            .env_remove("AUTH_STORE_KEY")
            .env_remove("COGNITO_PASSWORD")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

async fn run(mut command: Command) -> Run {
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the example finishes")
        .expect("the example runs");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn assert_no_token(output: &str) {
    // Every JWT starts with base64url of `{"`: `eyJ`.
    assert!(!output.contains("eyJ"), "the output must never contain a token:\n{output}");
}

#[tokio::test]
async fn signs_in_with_both_flows_and_prints_the_state_changes() {
    let Some(binary) = example_binary() else { return };
    let setup = setup(json!({"PoolName": "example"})).await;
    for flow in ["srp", "password"] {
        let run =
            run(setup
                .command(&binary, &["--username", "ex", "--password", PASSWORD, "--flow", flow]))
            .await;
        assert_eq!(run.status, 0, "{flow}: stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        let signed_out =
            run.stdout.find("state: SIGNED_OUT").expect("the initial state is printed");
        let signed_in = run.stdout.find("state: SIGNED_IN").expect("the sign-in is printed");
        let claims = run.stdout.find("ID token claims").expect("the claims are printed");
        assert!(signed_out < signed_in && signed_in < claims, "in order:\n{}", run.stdout);
        assert!(run.stdout.contains("cognito:username: \"ex\""), "{}", run.stdout);
        assert!(run.stdout.contains("email: \"ex@example.com\""), "{}", run.stdout);
        assert!(run.stdout.contains("forcing one refresh"), "{}", run.stdout);
        assert!(run.stdout.contains("refreshed tokens expire at"), "{}", run.stdout);
        assert_no_token(&run.stdout);
        assert_no_token(&run.stderr);
    }
    assert_eq!(setup.server.request_count("InitiateAuth:USER_SRP_AUTH"), 1);
    assert_eq!(setup.server.request_count("InitiateAuth:USER_PASSWORD_AUTH"), 1);
    assert_eq!(setup.server.request_count("InitiateAuth:REFRESH_TOKEN_AUTH"), 2);
}

#[tokio::test]
async fn refusals_exit_non_zero_with_one_line_naming_the_error() {
    let Some(binary) = example_binary() else { return };
    let setup = setup(json!({"PoolName": "example-errors"})).await;
    for (user, password, error) in [
        ("ex", "Wrong-Passw0rd!", "NotAuthorizedException"),
        ("nobody-here", PASSWORD, "UserNotFoundException"),
    ] {
        for flow in ["srp", "password"] {
            let run = run(setup
                .command(&binary, &["--username", user, "--password", password, "--flow", flow]))
            .await;
            assert_eq!(run.status, 1, "{user}/{flow}: {}", run.stderr);
            let lines: Vec<&str> = run.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "one line: {:?}", run.stderr);
            assert!(lines[0].contains(error), "{user}/{flow}: {}", lines[0]);
            assert!(!run.stderr.contains(password), "the password is never printed");
        }
    }
    let unreachable = Command::new(&binary)
        .args(["--endpoint", &crate::support::closed_port_url().await])
        .args(["--user-pool-id", &setup.pool_id, "--client-id", &setup.client_id])
        .args(["--username", "ex", "--password", PASSWORD])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(2), "a network failure is not a refusal");
}

#[tokio::test]
async fn answers_a_challenge_typed_on_standard_input() {
    let Some(binary) = example_binary() else { return };
    let setup = setup(json!({"PoolName": "example-mfa", "MfaConfiguration": "OPTIONAL"})).await;
    prefer_sms_mfa(&setup.server, &setup.pool_id, "ex").await;
    let command = setup.command(&binary, &["--username", "ex", "--password", PASSWORD]);
    let output = run_answering_the_code(&setup, command, "").await;
    assert!(output.contains("challenge SMS_MFA"), "{output}");
    assert!(output.contains("state: SIGNED_IN"), "{output}");
}

/// Without `--password` the example runs the drop-in sign-in (feature `drop-in`): with
/// standard input piped it reads plain lines, shows a wrong password's refusal and asks
/// again.
#[cfg(feature = "drop-in")]
#[tokio::test]
async fn without_a_password_the_drop_in_asks_for_it() {
    let Some(binary) = example_binary() else { return };
    let setup = setup(json!({"PoolName": "example-drop-in"})).await;
    let mut command = setup.command(&binary, &["--username", "ex"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("Wrong-Passw0rd!\n{PASSWORD}\n").as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the example finishes")
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("the drop-in sign-in asks"), "{stdout}");
    assert!(
        stderr.contains("Password: ") && stderr.contains("Incorrect username or password"),
        "{stderr}"
    );
    assert!(stdout.contains("signed in as ex") && stdout.contains("state: SIGNED_IN"), "{stdout}");
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "the password is never printed"
    );
}

/// The drop-in in a real terminal (a pseudo-terminal): `dialoguer` asks for the password
/// without echoing it, and the sign-in completes.
#[cfg(feature = "drop-in")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)] // the waits below block a thread
async fn the_drop_in_in_a_real_terminal() {
    use std::io::{Read as _, Write as _};
    use std::sync::{Arc, Mutex};

    let Some(binary) = example_binary() else { return };
    let setup = setup(json!({"PoolName": "example-pty"})).await;
    let pair = portable_pty::native_pty_system()
        .openpty(portable_pty::PtySize { rows: 40, cols: 120, pixel_width: 0, pixel_height: 0 })
        .expect("a pseudo-terminal");
    let mut command = portable_pty::CommandBuilder::new(&binary);
    command.args(["--endpoint", &setup.server.url(), "--user-pool-id", &setup.pool_id]);
    command.args(["--client-id", &setup.client_id, "--username", "ex"]);
    command.env("COGNITO_CLIENT_SECRET", &setup.client_secret);
    command.env_remove("COGNITO_PASSWORD");
    command.env_remove("AUTH_STORE_KEY");
    command.env("TERM", "xterm");
    let mut child = pair.slave.spawn_command(command).expect("the example starts in the terminal");
    drop(pair.slave);
    let screen = Arc::new(Mutex::new(String::new()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let reading = {
        let screen = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            while let Ok(read) = reader.read(&mut chunk) {
                if read == 0 {
                    break;
                }
                screen.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..read]));
            }
        })
    };
    let wait_for = |text: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !screen.lock().unwrap().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "no {text:?} on the screen:\n{}",
                screen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("Password");
    let mut keyboard = pair.master.take_writer().unwrap();
    write!(keyboard, "{PASSWORD}\r").unwrap();
    keyboard.flush().unwrap();
    wait_for("signed in as ex");
    let status = child.wait().unwrap();
    drop(pair.master);
    let _ = reading.join();
    let screen = screen.lock().unwrap().clone();
    assert!(status.success(), "{screen}");
    assert!(screen.contains("state: SIGNED_IN"), "{screen}");
    assert!(!screen.contains(PASSWORD), "the password is not echoed:\n{screen}");
}

/// Runs the example, types `typed_first` at once (answers to earlier prompts), then the
/// code the server sent (by SMS or email) when it prompts for it, and returns everything it
/// printed; fails unless it prompts, and succeeds after the answer.
async fn run_answering_the_code(setup: &Setup, mut command: Command, typed_first: &str) -> String {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    // stderr is drained all along (a full pipe would block the example) and returned too,
    // so the callers' checks for leaked tokens cover it.
    let mut stderr = child.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.map(|_| text)
    });
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(typed_first.as_bytes()).await.unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // The prompt has no newline: read until it appears.
    let prompt = tokio::time::timeout(Duration::from_secs(30), async {
        let mut chunk = [0u8; 256];
        loop {
            let read = stdout.read(&mut chunk).await.unwrap();
            assert!(read > 0, "the example ended before prompting:\n{seen}");
            seen.push_str(&String::from_utf8_lossy(&chunk[..read]));
            if seen.contains("code sent to") {
                break;
            }
        }
    })
    .await;
    assert!(prompt.is_ok(), "no prompt for the code:\n{seen}");
    let code = setup.server.last_code(&setup.pool_id, "ex").unwrap().code;
    stdin.write_all(format!("{code}\n").as_bytes()).await.unwrap();
    let mut rest = String::new();
    while stdout.read_line(&mut rest).await.unwrap() > 0 {}
    let status = child.wait().await.unwrap();
    let errors = errors.await.unwrap().unwrap();
    let output = format!("{seen}{rest}{errors}");
    assert!(status.success(), "{output}");
    output
}

#[tokio::test]
async fn user_auth_flow_picks_the_email_code_on_standard_input() {
    let Some(binary) = example_binary() else { return };
    let setup = setup(json!({
        "PoolName": "example-choice",
        "Policies": {"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP"]}},
    }))
    .await;
    setup
        .server
        .call(
            "AdminUpdateUserAttributes",
            json!({"UserPoolId": setup.pool_id, "Username": "ex",
               "UserAttributes": [{"Name": "email_verified", "Value": "true"}]}),
        )
        .await
        .unwrap();
    let command = setup.command(&binary, &["--username", "ex", "--flow", "user-auth"]);
    let output = run_answering_the_code(&setup, command, "email_otp\n").await;
    assert!(output.contains("challenge SELECT_CHALLENGE"), "{output}");
    assert!(output.contains("3. EMAIL_OTP"), "the offered factors are listed:\n{output}");
    assert!(output.contains("challenge EMAIL_OTP"), "{output}");
    assert!(output.contains("state: SIGNED_IN"), "{output}");
    assert_no_token(&output);
    assert_eq!(setup.server.request_count("InitiateAuth:USER_AUTH"), 1);

    // With --password it prefers PASSWORD_SRP and needs no answer.
    let run = run(setup
        .command(&binary, &["--username", "ex", "--password", PASSWORD, "--flow", "user-auth"]))
    .await;
    assert_eq!(run.status, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("preferring PASSWORD_SRP"), "{}", run.stdout);
    assert!(run.stdout.contains("state: SIGNED_IN"), "{}", run.stdout);
    assert_eq!(setup.server.request_count("InitiateAuth:USER_AUTH"), 2);
}

/// The example keeps remembered devices in `--store-dir` only with this feature.
#[cfg(feature = "file-device-store")]
#[tokio::test]
async fn a_device_remembered_in_the_store_dir_skips_mfa_in_the_next_run() {
    let Some(binary) = example_binary() else { return };
    let setup = setup(crate::support::remembering_devices("example-devices", false)).await;
    prefer_sms_mfa(&setup.server, &setup.pool_id, "ex").await;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().to_str().unwrap();
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let args = ["--username", "ex", "--password", PASSWORD, "--store-dir", store_dir];

    let mut first = setup.command(&binary, &args);
    first.env("AUTH_STORE_KEY", key);
    let output = run_answering_the_code(&setup, first, "").await;
    assert!(output.contains("challenge SMS_MFA"), "a new device: MFA\n{output}");
    assert!(
        output.lines().any(|line| line.starts_with("remembered devices kept in")
            && line.ends_with("(encrypted with AUTH_STORE_KEY)")),
        "{output}"
    );
    let devices_file = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "devices"))
        .expect("a devices file was written");
    let text = std::fs::read_to_string(&devices_file).unwrap();
    assert!(text.contains("ciphertext") && !text.contains("device_secret"), "{text}");

    // A new process signs in again (after a local sign-out of the stored session) on the
    // device it remembered: no MFA.
    let mut second = setup.command(&binary, &args);
    second.env("AUTH_STORE_KEY", key);
    let run2 = run(second).await;
    assert_eq!(run2.status, 0, "{}\n{}", run2.stdout, run2.stderr);
    assert!(run2.stdout.contains("signing it out locally first"), "{}", run2.stdout);
    assert!(!run2.stdout.contains("challenge"), "no MFA on a remembered device:\n{}", run2.stdout);
    assert!(run2.stdout.contains("state: SIGNED_IN"), "{}", run2.stdout);
}

#[tokio::test]
async fn resumes_from_the_encrypted_file_store_without_a_password() {
    let Some(binary) = example_binary() else { return };
    let setup = setup(json!({"PoolName": "example-store"})).await;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().to_str().unwrap();
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    let mut first = setup
        .command(&binary, &["--username", "ex", "--password", PASSWORD, "--store-dir", store_dir]);
    first.env("AUTH_STORE_KEY", key);
    let run1 = run(first).await;
    assert_eq!(run1.status, 0, "{}\n{}", run1.stdout, run1.stderr);
    assert!(run1.stdout.contains("encrypted with AUTH_STORE_KEY"), "{}", run1.stdout);
    let stored: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned())
        .collect();
    // The ciphertext is base64, where `eyJ` (a JWT's start) turns up by chance in about one
    // run in a hundred; the session's field names, with `_`, never do.
    for text in &stored {
        assert!(
            !text.contains("id_token") && !text.contains("refresh_token"),
            "the stored session is encrypted: {text}"
        );
    }
    assert!(stored.iter().any(|text| text.contains("ciphertext")), "a session file was written");

    let mut second = setup.command(&binary, &["--store-dir", store_dir, "--resume"]);
    second.env("AUTH_STORE_KEY", key);
    let run2 = run(second).await;
    assert_eq!(run2.status, 0, "{}\n{}", run2.stdout, run2.stderr);
    assert!(run2.stdout.contains("resuming the stored session of ex"), "{}", run2.stdout);
    assert!(run2.stdout.contains("state: SIGNED_IN"), "{}", run2.stdout);
    assert!(!run2.stdout.contains("signing in as"), "no new sign-in: {}", run2.stdout);
    assert_no_token(&run2.stdout);

    let empty = tempfile::tempdir().unwrap();
    let run3 =
        run(setup.command(&binary, &["--store-dir", empty.path().to_str().unwrap(), "--resume"]))
            .await;
    assert_ne!(run3.status, 0);
    assert!(run3.stderr.contains("no stored session"), "{}", run3.stderr);
}

#[tokio::test]
async fn the_axum_extractor_example_guards_its_routes() {
    use auth_core::{IdentityProvider, SignInOutcome, SignInRequest};

    let Some(binary) = built_example("axum-extractor") else { return };
    let setup = setup(json!({"PoolName": "example-axum"})).await;
    let pool = auth_cognito::CognitoUserPool::builder(&setup.pool_id, &setup.client_id)
        .endpoint(setup.server.url())
        .client_secret(setup.client_secret.as_str())
        .build()
        .unwrap();
    let SignInOutcome::SignedIn(session) =
        pool.sign_in(&SignInRequest::password("ex", PASSWORD)).await.unwrap()
    else {
        panic!("expected tokens")
    };
    let mut child = Command::new(&binary)
        .args(["--user-pool-id", &setup.pool_id, "--client-id", &setup.client_id])
        .args(["--issuer", &setup.server.issuer(&setup.pool_id).unwrap()])
        .args([
            "--jwks-url",
            &format!("{}/{}/.well-known/jwks.json", setup.server.url(), setup.pool_id),
        ])
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the example says where it listens")
        .to_owned();

    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let access = session.tokens.access_token().secret();
    let ok = get("/me", Some(access)).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().starts_with("hello ex"));
    let missing = get("/me", None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let garbage = get("/me", Some("not.a.token")).await.unwrap();
    assert_eq!(garbage.status(), 401);
    assert_eq!(garbage.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    let id_token = get("/me", Some(session.tokens.id_token().secret())).await.unwrap();
    assert_eq!(id_token.status(), 401, "an ID token is not an access token");
    assert_eq!(get("/admin", Some(access)).await.unwrap().status(), 403);
    child.kill().await.unwrap();
}

/// True if `output` holds a run of 30 or more base64 characters: the shape of a secret
/// access key or a session token (identity ids and access key ids are shorter runs). The
/// store's path, which may hold a long hash, is left out.
fn has_secret_shaped_run(output: &str) -> bool {
    let names_a_file =
        |line: &str| line.starts_with("session kept in") || line.contains("devices kept in");
    output.lines().filter(|line| !names_a_file(line)).any(|line| {
        let mut run = 0;
        line.chars().any(|c| {
            run = if c.is_ascii_alphanumeric() || "+/=".contains(c) { run + 1 } else { 0 };
            run >= 30
        })
    })
}

#[tokio::test]
async fn prints_the_identity_id_and_the_credentials_expiry_with_an_identity_pool() {
    let Some(binary) = example_binary() else { return };
    let setup = setup(json!({"PoolName": "example-identity"})).await;
    let options = auth_mock_server::IdentityPoolOptions::default()
        .user_pool(&setup.pool_id, &setup.client_id);
    let identity_pool = setup.server.create_identity_pool("example", options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().to_str().unwrap();
    let identity_args = ["--identity-pool-id", identity_pool.as_str()];

    let mut first = setup
        .command(&binary, &["--username", "ex", "--password", PASSWORD, "--store-dir", store_dir]);
    first.args(identity_args);
    let run1 = run(first).await;
    assert_eq!(run1.status, 0, "{}\n{}", run1.stdout, run1.stderr);
    assert!(run1.stdout.contains(&format!("identity pool {identity_pool} at")), "{}", run1.stdout);
    let identity = run1
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("identity id "))
        .expect("the identity id is printed")
        .to_owned();
    assert!(identity.starts_with("us-east-1:"), "{identity}");
    let expiry = run1
        .stdout
        .lines()
        .find(|line| line.starts_with("AWS credentials (ASIA...) expire at "))
        .expect("the credentials' expiry is printed");
    assert!(expiry.contains("(in 3"), "about an hour from now: {expiry}");
    assert_no_token(&run1.stdout);
    assert!(
        !has_secret_shaped_run(&run1.stdout),
        "no secret key or session token:\n{}",
        run1.stdout
    );
    assert_eq!(setup.server.request_count("GetId"), 1);
    assert_eq!(setup.server.request_count("GetCredentialsForIdentity"), 1);

    // A restart over the same store resumes the identity and its credentials.
    let mut second = setup.command(&binary, &["--store-dir", store_dir, "--resume"]);
    second.args(identity_args);
    let run2 = run(second).await;
    assert_eq!(run2.status, 0, "{}\n{}", run2.stdout, run2.stderr);
    assert!(run2.stdout.contains(&format!("identity id {identity}")), "{}", run2.stdout);
    assert!(!has_secret_shaped_run(&run2.stdout), "{}", run2.stdout);
    assert_eq!(setup.server.request_count("GetId"), 1, "the stored identity was used");
    assert_eq!(setup.server.request_count("GetCredentialsForIdentity"), 1, "and its credentials");
}

/// The `offline` example rides out an outage of the identity provider: calls succeed,
/// block once the tokens expire during the outage (announced, never signed out), and
/// complete by themselves when it ends. Nothing here touches connectivity.
#[tokio::test]
async fn the_offline_example_blocks_during_an_outage_and_completes_after_it() {
    let Some(binary) = built_example("offline") else { return };
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server.create_pool_with(json!({"PoolName": "offline-example"})).await.unwrap();
    let client = server.create_client(&pool_id, "example", ClientOptions::default()).await.unwrap();
    server.create_user(&pool_id, "ex", PASSWORD, &[]).await.unwrap();
    let lifetimes = auth_mock_server::Lifetimes {
        access_token_seconds: Some(2),
        id_token_seconds: Some(2),
        ..auth_mock_server::Lifetimes::default()
    };
    server.set_lifetimes(Some(&pool_id), None, lifetimes).unwrap();
    let mut child = Command::new(&binary)
        .args(["--endpoint", &server.url(), "--user-pool-id", &pool_id])
        .args(["--client-id", &client.client_id, "--username", "ex", "--password", PASSWORD])
        .args(["--seconds", "10", "--expiry-margin-secs", "0"])
        .env_remove("COGNITO_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut until = async |wanted: &str, seen: &mut Vec<String>| {
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let done = line == wanted;
                seen.push(line);
                if done {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(found, Ok(true), "never saw `{wanted}` in {seen:?}");
    };
    until("call 2 ok", &mut seen).await;
    server.add_fault(auth_mock_server::Fault::drop_connection("*"));
    until("state SignedOutUserPoolsTokensInvalid", &mut seen).await;
    server.clear_faults();
    let rest = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push(line);
        }
    })
    .await;
    assert!(rest.is_ok(), "the example never finished: {seen:?}");
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
    let output = seen.join("\n");
    assert_no_token(&output);
    let signed_in = seen.iter().position(|l| l == "state SignedIn").expect(&output);
    // `SignedOut` only before the sign-in (the state `initialize` starts in), never after.
    assert!(!seen[signed_in..].iter().any(|l| l == "state SignedOut"), "{output}");
    assert!(!seen.iter().any(|l| l.starts_with("call ") && l.contains(" failed")), "{output}");
    let ok = seen.iter().filter(|l| l.starts_with("call ") && l.ends_with(" ok")).count();
    assert_eq!(seen.last().map(String::as_str), Some(format!("summary ok={ok} failed=0").as_str()));
    // Some calls completed after the announcement: the blocked ones, by themselves.
    let announced = seen.iter().position(|l| l == "state SignedOutUserPoolsTokensInvalid").unwrap();
    assert!(seen[announced..].iter().any(|l| l.ends_with(" ok")), "{output}");
}

/// A pool with a domain, a public app client and a confidential one (both with the callback
/// `http://localhost:<port>/callback`, the code flow and the scopes openid email profile), and
/// a user with an email. Returns the setup (its client is the public one), the confidential
/// client's id and secret, the port and the user's `sub`.
async fn hosted_setup(name: &str) -> (Setup, (String, String), u16, String) {
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server.create_pool_with(json!({"PoolName": name})).await.unwrap();
    create_domain(&server, &pool_id, name).await;
    let port = free_port();
    let client = async |client_name: &str, secret: bool| {
        let settings = json!({
            "ClientName": client_name, "GenerateSecret": secret,
            "AllowedOAuthScopes": ["openid", "email", "profile"],
            "SupportedIdentityProviders": ["COGNITO"],
        });
        create_code_flow_client(&server, &pool_id, port, settings).await
    };
    let (public, _) = client("desktop", false).await;
    let confidential = client("web", true).await;
    server.create_user(&pool_id, "hana", PASSWORD, &[("email", "hana@example.com")]).await.unwrap();
    let user =
        server.call("AdminGetUser", json!({"UserPoolId": pool_id, "Username": "hana"})).await;
    let sub = user.unwrap()["UserAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "sub")
        .unwrap()["Value"]
        .as_str()
        .unwrap()
        .to_owned();
    let setup = Setup { server, pool_id, client_id: public, client_secret: String::new() };
    (setup, confidential, port, sub)
}

/// The `hosted-ui` example with `--no-browser`, its standard output piped: the child and
/// the authorization URL it printed.
async fn start_hosted_ui(
    setup: &Setup,
    binary: &PathBuf,
    client_id: &str,
    extra: &[&str],
) -> (tokio::process::Child, BufReader<tokio::process::ChildStdout>, String) {
    let mut command = Command::new(binary);
    command
        .args(["--endpoint", &setup.server.url(), "--user-pool-id", &setup.pool_id])
        .args(["--client-id", client_id])
        .args(extra)
        .env_remove("COGNITO_CLIENT_SECRET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
        .await
        .expect("the example prints the authorization URL")
        .unwrap();
    let url = line.trim_end().strip_prefix("open ").unwrap_or_else(|| panic!("{line:?}"));
    (child, stdout, url.to_owned())
}

/// Plays the user on the mock's hosted pages over plain HTTP: the authorize redirect, the
/// login form, and the redirect back to the example's loopback listener, which answers.
async fn sign_in_on_the_pages(authorize: &str, username: &str, password: &str) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build();
    let http = http.unwrap();
    let base = url::Url::parse(authorize).unwrap();
    let login = http.get(authorize).send().await.unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::FOUND, "the authorize endpoint sends to login");
    let login = base.join(login.headers()["location"].to_str().unwrap()).unwrap();
    assert!(login.path().starts_with("/login"), "{login}");
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("username", username)
        .append_pair("password", password)
        .finish();
    let back = http
        .post(login)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), reqwest::StatusCode::FOUND, "the login form redirects back");
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.contains("code="), "{callback}");
    let landed = http.get(&callback).send().await.unwrap();
    assert!(landed.status().is_success(), "the loopback listener answers: {}", landed.status());
}

async fn finish(
    mut child: tokio::process::Child,
    mut stdout: BufReader<tokio::process::ChildStdout>,
) -> Run {
    let mut rest = String::new();
    let mut stderr = String::new();
    let mut errors = child.stderr.take().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), async {
        stdout.read_to_string(&mut rest).await.unwrap();
        errors.read_to_string(&mut stderr).await.unwrap();
        child.wait().await.unwrap()
    })
    .await
    .expect("the example finishes");
    Run { status: status.code().unwrap_or(-1), stdout: rest, stderr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_ui_example_signs_in_through_the_pages_and_signs_out() {
    let Some(binary) = built_example("hosted-ui") else { return };
    let (setup, _, port, sub) = hosted_setup("example-hosted").await;
    let port_arg = port.to_string();
    let (child, stdout, authorize) = start_hosted_ui(
        &setup,
        &binary,
        &setup.client_id,
        &["--redirect-port", &port_arg, "--no-browser"],
    )
    .await;
    assert!(authorize.starts_with(&format!("{}/oauth2/authorize?", setup.server.url())));
    assert!(
        authorize.contains("scope=openid+email+profile")
            || authorize.contains("scope=openid%20email%20profile"),
        "{authorize}"
    );
    sign_in_on_the_pages(&authorize, "hana", PASSWORD).await;
    let run = finish(child, stdout).await;
    assert_eq!(run.status, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [format!("signed-in sub={sub} email=hana@example.com").as_str(), "signed-out"]
    );
    assert_no_token(&run.stdout);
    assert_no_token(&run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_ui_example_with_a_client_secret_and_scopes_and_its_refusals() {
    let Some(binary) = built_example("hosted-ui") else { return };
    let (setup, (web, secret), port, sub) = hosted_setup("example-hosted-secret").await;
    let port_arg = port.to_string();
    let common = ["--redirect-port", port_arg.as_str(), "--no-browser"];

    // A confidential client, the secret given, fewer scopes (`openid` alone gives the ID
    // token every attribute the client may read, as in Cognito).
    let args = [&common[..], &["--client-secret", &secret, "--scopes", "openid profile"]].concat();
    let (child, stdout, authorize) = start_hosted_ui(&setup, &binary, &web, &args).await;
    assert!(!authorize.contains(&secret), "the secret never travels in the URL");
    assert!(
        authorize.contains("scope=openid+profile") || authorize.contains("scope=openid%20profile"),
        "{authorize}"
    );
    sign_in_on_the_pages(&authorize, "hana", PASSWORD).await;
    let run = finish(child, stdout).await;
    assert_eq!(run.status, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [format!("signed-in sub={sub} email=hana@example.com").as_str(), "signed-out"]
    );
    assert!(!run.stdout.contains(&secret) && !run.stderr.contains(&secret));

    // A wrong secret: the token endpoint refuses the code exchange.
    let args = [&common[..], &["--client-secret", "not-the-secret"]].concat();
    let (child, stdout, authorize) = start_hosted_ui(&setup, &binary, &web, &args).await;
    sign_in_on_the_pages(&authorize, "hana", PASSWORD).await;
    let run = finish(child, stdout).await;
    assert_eq!(run.status, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", run.stderr);
    assert!(lines[0].contains("invalid_client"), "{}", lines[0]);
    assert_no_token(&run.stderr);

    // The user declines (the authorization server redirects back with `access_denied`).
    let (child, stdout, authorize) = start_hosted_ui(&setup, &binary, &web, &common).await;
    let state = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    let mut denied = url::Url::parse(&format!("http://localhost:{port}/callback")).unwrap();
    denied
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("error_description", "The user declined")
        .append_pair("state", &state);
    let answered = reqwest::get(denied).await.unwrap();
    assert!(answered.status().is_client_error() || answered.status().is_success());
    let run = finish(child, stdout).await;
    assert_eq!(run.status, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", run.stderr);
    assert!(lines[0].contains("access_denied"), "{}", lines[0]);
}

#[tokio::test]
async fn the_client_credentials_example_caches_the_token() {
    let Some(binary) = built_example("client-credentials") else { return };
    let server = MockServer::builder().start().await.unwrap();
    let pool_id = server.create_pool_with(json!({"PoolName": "example-m2m"})).await.unwrap();
    create_domain(&server, &pool_id, "example-m2m").await;
    server
        .call(
            "CreateResourceServer",
            json!({"UserPoolId": pool_id, "Identifier": "orders", "Name": "Orders",
                   "Scopes": [{"ScopeName": "read", "ScopeDescription": "read orders"},
                              {"ScopeName": "write", "ScopeDescription": "write orders"}]}),
        )
        .await
        .unwrap();
    let created = server
        .call(
            "CreateUserPoolClient",
            json!({"UserPoolId": pool_id, "ClientName": "m2m", "GenerateSecret": true,
                   "AllowedOAuthFlowsUserPoolClient": true,
                   "AllowedOAuthFlows": ["client_credentials"],
                   "AllowedOAuthScopes": ["orders/read", "orders/write"]}),
        )
        .await
        .unwrap();
    let client_id = created["UserPoolClient"]["ClientId"].as_str().unwrap();
    let secret = created["UserPoolClient"]["ClientSecret"].as_str().unwrap();
    let answered = run({
        let mut command = Command::new(&binary);
        command
            .args(["--endpoint", &server.url(), "--user-pool-id", &pool_id])
            .args(["--client-id", client_id, "--client-secret", secret, "--scope", "orders/read"])
            .env_remove("COGNITO_CLIENT_SECRET")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    })
    .await;
    assert_eq!(answered.status, 0, "stdout:\n{}\nstderr:\n{}", answered.stdout, answered.stderr);
    let lines: Vec<&str> = answered.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", answered.stdout);
    for line in &lines[..2] {
        let expires_in = line
            .strip_prefix("token scope=orders/read expires_in=")
            .unwrap_or_else(|| panic!("{line}"));
        let expires_in: u64 = expires_in.parse().unwrap();
        assert!((3500..=3600).contains(&expires_in), "{line}");
    }
    assert_eq!(lines[2], "requests=1", "the second token came from the cache");
    assert_no_token(&answered.stdout);
    assert_no_token(&answered.stderr);
    assert!(!answered.stdout.contains(secret) && !answered.stderr.contains(secret));

    let refused = run({
        let mut command = Command::new(&binary);
        command
            .args(["--endpoint", &server.url(), "--user-pool-id", &pool_id])
            .args(["--client-id", client_id, "--client-secret", "wrong", "--scope", "orders/read"])
            .env_remove("COGNITO_CLIENT_SECRET")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    })
    .await;
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert_eq!(
        refused.stderr.lines().filter(|l| l.contains("invalid_client")).count(),
        1,
        "{}",
        refused.stderr
    );
}
