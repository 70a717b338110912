//! The `auth-mock-server` binary: demo seed, flags, seed files, state file, Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::raw::{get, request};

pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) stdout: Vec<String>,
}

pub(crate) async fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth-mock-server"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("the binary prints its address");
            stdout.push(line.clone());
            if let Some(url) = line.strip_prefix("auth-mock-server listening on ") {
                return url.to_owned();
            }
        }
    })
    .await
    .expect("address printed in time");
    // Read the rest of the announcement (it is written in one go).
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_millis(200), lines.next_line()).await
    {
        stdout.push(line);
    }
    Running { child, url, stdout }
}

impl Running {
    /// Ctrl-C, then the exit status.
    pub(crate) async fn interrupt(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running").to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().await.expect("kill runs");
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("exits in time")
            .unwrap()
    }
}

fn sdk(url: &str) -> aws_sdk_cognitoidentityprovider::Client {
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
        .region(aws_sdk_cognitoidentityprovider::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::new(
            "a", "b", None, None, "t",
        ))
        .endpoint_url(url)
        .build();
    aws_sdk_cognitoidentityprovider::Client::from_conf(config)
}

async fn login(url: &str, client: &str, user: &str, password: &str) -> Result<String, String> {
    sdk(url)
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .map(|out| out.authentication_result().unwrap().refresh_token().unwrap().to_owned())
        .map_err(|e| crate::support::code(&e))
}

#[tokio::test]
async fn no_flags_serves_the_demo_pool_and_stops_on_ctrl_c() {
    // `--port 0` only so parallel tests do not fight over 9229; everything else is default.
    let running = start(&["--port", "0"]).await;
    let text = running.stdout.join("\n");
    assert!(text.contains("export COGNITO_USER_POOL_ID=us-east-1_DemoPool1"), "{text}");
    assert!(text.contains("export COGNITO_CLIENT_ID=democlient0000000000000001"), "{text}");
    assert!(text.contains("export AWS_ENDPOINT_URL_COGNITO_IDENTITY=http://"), "{text}");
    assert!(
        text.contains(&format!(
            "export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER={}",
            running.url
        )),
        "{text}"
    );
    login(&running.url, "democlient0000000000000001", "demo", "Passw0rd!").await.unwrap();
    // The demo pool has a domain and an OAuth client; the banner gives its sign-in URL.
    let hosted = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("hosted sign-in (demo-web): "))
        .expect("the banner prints the hosted sign-in URL");
    assert!(hosted.starts_with(&format!("{}/oauth2/authorize?", running.url)), "{hosted}");
    assert!(hosted.contains("redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback"), "{hosted}");
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let authorize = http.get(hosted).send().await.unwrap();
    assert_eq!(authorize.status(), reqwest::StatusCode::FOUND);
    let status = running.interrupt().await;
    assert!(status.success(), "clean exit on Ctrl-C: {status:?}");
}

/// A temporary directory holding the seed file `name` with `contents`; the directory must
/// live as long as the test uses the file.
fn seed_file(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

#[tokio::test]
async fn seed_state_file_issuer_base_and_log_format() {
    let (dir, seed) = seed_file(
        "seed.toml",
        r#"
[[pools]]
name = "ci"
id = "eu-west-1_CiPool001"

[[pools.clients]]
name = "web"
id = "ciwebclient000000000000001"

[[pools.groups]]
name = "admins"

[[pools.users]]
username = "zed"
password = "Zed-Passw0rd!"
attributes = { email = "zed@example.com", email_verified = "true" }
groups = ["admins"]
"#,
    );
    let state = dir.path().join("state.json");
    let args = [
        "--port",
        "0",
        "--seed",
        seed.to_str().unwrap(),
        "--state-file",
        state.to_str().unwrap(),
        "--issuer-base",
        "http://issuer.test",
        "--log-format",
        "json",
    ];
    let running = start(&args).await;
    assert!(running.stdout.join("\n").contains("pool eu-west-1_CiPool001 (ci)"));
    let refresh =
        login(&running.url, "ciwebclient000000000000001", "zed", "Zed-Passw0rd!").await.unwrap();
    let discovery =
        get(&running.url, "/eu-west-1_CiPool001/.well-known/openid-configuration").await.json();
    assert_eq!(discovery["issuer"], "http://issuer.test/eu-west-1_CiPool001");
    // Sign up a user so the restart has something the seed does not.
    sdk(&running.url)
        .sign_up()
        .client_id("ciwebclient000000000000001")
        .username("newbie")
        .password("Newbie-Passw0rd!")
        .send()
        .await
        .unwrap();
    assert!(running.interrupt().await.success());
    assert!(state.exists(), "state written at shutdown");

    let restarted = start(&args[..6]).await;
    let user = sdk(&restarted.url)
        .admin_get_user()
        .user_pool_id("eu-west-1_CiPool001")
        .username("newbie")
        .send()
        .await;
    assert!(user.is_ok(), "state restored: {user:?}");
    let refreshed = sdk(&restarted.url)
        .initiate_auth()
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .client_id("ciwebclient000000000000001")
        .auth_parameters("REFRESH_TOKEN", &refresh)
        .send()
        .await;
    assert!(refreshed.is_ok(), "refresh tokens survive a restart: {refreshed:?}");
    assert!(restarted.interrupt().await.success());
}

#[tokio::test]
async fn bad_seed_and_bad_flags_fail_with_a_message() {
    let (_dir, seed) = seed_file(
        "seed.json",
        r#"{"pools": [{"name": "x", "users": [{"username": "u", "password": "short"}]}]}"#,
    );
    let status = run_to_end(&["--port", "0", "--seed", seed.to_str().unwrap()]).await;
    assert!(!status.success());
    let status = run_to_end(&[
        "--port",
        "0",
        "--seed",
        Path::new("/nonexistent/seed.toml").to_str().unwrap(),
    ])
    .await;
    assert_eq!(status.code(), Some(2));
    let status = run_to_end(&["--port", "not-a-port"]).await;
    assert_eq!(status.code(), Some(2));
}

async fn run_to_end(args: &[&str]) -> std::process::ExitStatus {
    let child = Command::new(env!("CARGO_BIN_EXE_auth-mock-server"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    tokio::time::timeout(Duration::from_secs(20), child).await.expect("exits").unwrap()
}

#[tokio::test]
async fn no_demo_allow_unsigned_region_and_host() {
    let running = start(&[
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-demo",
        "--allow-unsigned",
        "--region",
        "eu-central-1",
    ])
    .await;
    assert!(!running.stdout.join("\n").contains("DemoPool1"), "--no-demo starts empty");
    // Unsigned admin call accepted; the pool gets the configured region.
    let created = crate::raw::call(&running.url, "CreateUserPool", br#"{"PoolName":"p"}"#, false)
        .await
        .unwrap();
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.json()["UserPool"]["Id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("eu-central-1_"), "{id}");
    let listed = crate::raw::call(&running.url, "ListUserPools", br#"{"MaxResults":10}"#, false)
        .await
        .unwrap();
    assert_eq!(listed.json()["UserPools"].as_array().unwrap().len(), 1);
    assert!(running.interrupt().await.success());

    // Without --allow-unsigned the same call is refused.
    let strict = start(&["--port", "0", "--no-demo"]).await;
    let refused = crate::raw::call(&strict.url, "CreateUserPool", br#"{"PoolName":"p"}"#, false)
        .await
        .unwrap();
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["__type"], "MissingAuthenticationTokenException");
    assert!(strict.interrupt().await.success());
}

#[tokio::test]
async fn control_token_and_control_host_flags() {
    let running = start(&[
        "--port",
        "0",
        "--no-demo",
        "--control-token",
        "flag-t0ken",
        "--control-host",
        "auth-mock",
    ])
    .await;
    assert!(
        !running.stdout.iter().any(|line| line.contains("flag-t0ken")),
        "the token is never printed"
    );
    let url = &running.url;
    let bare = get(url, "/_mock/health").await;
    assert_eq!(bare.status, 401);
    let token = [("Authorization", "Bearer flag-t0ken")];
    assert_eq!(request(url, "GET", "/_mock/health", &token, b"").await.unwrap().status, 200);
    let named = [("Authorization", "Bearer flag-t0ken"), ("Host", "auth-mock:9229")];
    assert_eq!(request(url, "GET", "/_mock/health", &named, b"").await.unwrap().status, 200);
    let other = [("Authorization", "Bearer flag-t0ken"), ("Host", "other:9229")];
    assert_eq!(request(url, "GET", "/_mock/health", &other, b"").await.unwrap().status, 403);
    assert!(running.interrupt().await.success());
}
