//! `cargo xtask fuzz --seconds N`: a bounded HTTP fuzzer against the mock server.
//!
//! Workers send requests over raw TCP (so that anything can be sent): random methods, paths
//! of every route plus random ones, random and valid headers (`X-Amz-Target`s of real
//! operations and junk, non-ASCII bytes), and bodies that are valid requests, mutations of
//! them (bytes flipped, truncated, duplicated) or random bytes. The run fails on any 5xx,
//! a connection closed without an answer, an answer that takes more than ten seconds, or the
//! server process exiting (a panic that took it down). The fault-injection and Lambda
//! endpoints are left out: they drop connections and call out on purpose.
//!
//! The random sequence is seeded from the clock and the seed is printed, so a failure can be
//! replayed with `--seed`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::{MockProcess, build_mock};

const POOL_ID: &str = "us-east-1_FuzzPool01";
const CLIENT_ID: &str = "fuzzclient0000000000000001";
const ANSWER_DEADLINE: Duration = Duration::from_secs(10);
const WORKERS: u64 = 8;

/// Operations whose valid bodies are mutated (public ones and a few admin ones).
const OPERATIONS: &[(&str, &str)] = &[
    (
        "InitiateAuth",
        r#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"fuzzclient0000000000000001","AuthParameters":{"USERNAME":"alice","PASSWORD":"Fuzz-Passw0rd!"}}"#,
    ),
    (
        "InitiateAuth",
        r#"{"AuthFlow":"USER_SRP_AUTH","ClientId":"fuzzclient0000000000000001","AuthParameters":{"USERNAME":"alice","SRP_A":"0a1b2c"}}"#,
    ),
    (
        "RespondToAuthChallenge",
        r#"{"ChallengeName":"PASSWORD_VERIFIER","ClientId":"fuzzclient0000000000000001","ChallengeResponses":{"USERNAME":"alice","PASSWORD_CLAIM_SECRET_BLOCK":"AAAA","PASSWORD_CLAIM_SIGNATURE":"AAAA","TIMESTAMP":"Tue Mar 5 07:04:09 UTC 2024"}}"#,
    ),
    (
        "SignUp",
        r#"{"ClientId":"fuzzclient0000000000000001","Username":"fuzzer","Password":"Fuzz-Passw0rd!","UserAttributes":[{"Name":"email","Value":"f@example.com"}]}"#,
    ),
    (
        "ConfirmSignUp",
        r#"{"ClientId":"fuzzclient0000000000000001","Username":"fuzzer","ConfirmationCode":"123456"}"#,
    ),
    ("ForgotPassword", r#"{"ClientId":"fuzzclient0000000000000001","Username":"alice"}"#),
    ("GetUser", r#"{"AccessToken":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}"#),
    ("GlobalSignOut", r#"{"AccessToken":"x"}"#),
    ("RevokeToken", r#"{"ClientId":"fuzzclient0000000000000001","Token":"a.b.c.d.e"}"#),
    ("ListUserPools", r#"{"MaxResults":10}"#),
    ("DescribeUserPool", r#"{"UserPoolId":"us-east-1_FuzzPool01"}"#),
    ("AdminGetUser", r#"{"UserPoolId":"us-east-1_FuzzPool01","Username":"alice"}"#),
    ("ListUsers", r#"{"UserPoolId":"us-east-1_FuzzPool01","Limit":5,"Filter":"email ^= \"a\""}"#),
    (
        "AdminCreateUser",
        r#"{"UserPoolId":"us-east-1_FuzzPool01","Username":"made","MessageAction":"SUPPRESS"}"#,
    ),
];

const PATHS: &[&str] = &[
    "/",
    "/_mock/health",
    "/_mock/clock",
    "/_mock/lifetimes",
    "/_mock/requests",
    "/_mock/codes/us-east-1_FuzzPool01/alice",
    "/_mock/custom-auth",
    "/_mock/refresh-tokens/revoke",
    "/_mock/refresh-tokens/expire",
    "/_mock/stats",
    "/_mock/attempt-limits",
    "/_mock/identity/credentials-lifetime",
    "/_mock/identity/provider-tokens",
    "/_mock/oidc/google",
    "/_mock/oidc/google/token",
    "/_mock/oidc/google/jwks.json",
    "/us-east-1_FuzzPool01/.well-known/jwks.json",
    "/us-east-1_FuzzPool01/.well-known/openid-configuration",
    "/_mock/faults",
    "/_mock/oidc/google/authorize?client_id=fuzz-idp&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&state=s&response_type=code",
    "/_mock/oidc/google/authorize?client_id=fuzz-idp&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&state=s&sub=x&email=x%40example.com",
    // The hosted UI and OAuth 2.0 endpoints, with the seeded web client's parameters (so
    // mutations reach past the client lookup) and without.
    "/oauth2/authorize?response_type=code&client_id=fuzzwebclient0000000000001&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&scope=openid&state=s&code_challenge_method=S256&code_challenge=4EKdI__sRYJYq8VKmGv2gwrFb-oftawRPnMjURLvGO4",
    "/oauth2/authorize?response_type=code&client_id=fuzzwebclient0000000000001&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&scope=openid&identity_provider=Google",
    "/oauth2/authorize",
    "/oauth2/token",
    "/oauth2/userInfo",
    "/oauth2/revoke",
    "/oauth2/idpresponse?code=x&state=y",
    "/login?response_type=code&client_id=fuzzwebclient0000000000001&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&scope=openid",
    "/logout?client_id=fuzzwebclient0000000000001&logout_uri=http%3A%2F%2Flocalhost%3A3000%2F",
    "/signup?client_id=fuzzwebclient0000000000001",
    "/confirm",
    "/forgotPassword?client_id=fuzzwebclient0000000000001",
    "/confirmforgotPassword",
    "/resetpassword",
    "/mfa",
    "/moto-api/reset",
    "/.well-known/openid-configuration",
    "/_aws/ses",
    "/_aws/sns/sms-messages",
    "/bucket/key.txt",
    "/bucket?list-type=2",
    "/%FF%FE/x",
    "/_mock/codes/%C3%28/x",
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "FUZZ"];

/// xorshift64*: small, seedable, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

/// One request as bytes, and a short description for failure reports.
fn request(rng: &mut Rng, host: &str) -> (Vec<u8>, String) {
    let method = *rng.pick(METHODS);
    let path = if rng.below(10) == 0 {
        format!("/{}", rng.bytes(8).iter().map(|b| format!("%{b:02X}")).collect::<String>())
    } else {
        (*rng.pick(PATHS)).to_owned()
    };
    let (operation, valid) = *rng.pick(OPERATIONS);
    let mut body = valid.as_bytes().to_vec();
    match rng.below(6) {
        0 => {
            let len = rng.below(200);
            body = rng.bytes(len);
        }
        1 => body.truncate(rng.below(body.len())),
        2 => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(body.len());
                body[at] = rng.bytes(1)[0];
            }
        }
        3 => {
            let copy = body.clone();
            body.extend_from_slice(&copy);
        }
        4 => body.clear(),
        _ => {}
    }
    let target = match rng.below(5) {
        0 => None,
        1 => Some(format!(
            "AWSCognitoIdentityProviderService.{}",
            String::from_utf8_lossy(&rng.bytes(6))
        )),
        2 => Some(format!("AWSCognitoIdentityService.{operation}")),
        _ => Some(format!("AWSCognitoIdentityProviderService.{operation}")),
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(target) = &target {
        head.push_str(&format!("X-Amz-Target: {target}\r\n"));
    }
    if rng.below(2) == 0 {
        head.push_str("Content-Type: application/x-amz-json-1.1\r\n");
    }
    if rng.below(3) == 0 {
        head.push_str("Authorization: AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20240101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=00\r\n");
    }
    let mut bytes = head.into_bytes();
    if rng.below(8) == 0 {
        // A header value with bytes outside ASCII (HTTP's obs-text).
        bytes.extend_from_slice(b"X-Fuzz: ");
        bytes.extend(rng.bytes(6).into_iter().map(|b| b | 0x80));
        bytes.extend_from_slice(b"\r\n");
    }
    if rng.below(6) == 0 {
        bytes.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        bytes.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(b"\r\n0\r\n\r\n");
    } else {
        bytes.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        bytes.extend_from_slice(&body);
    }
    let what =
        format!("{method} {path} target={target:?} body={:?}", String::from_utf8_lossy(&body));
    (bytes, what)
}

/// Sends one request; `Err` describes a failure of the server.
async fn send(addr: &str, bytes: &[u8]) -> Result<u16, String> {
    let exchange = async {
        let mut stream =
            tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        // The server may answer and close before it read everything: that is allowed.
        let _ = stream.write_all(bytes).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer);
        let status = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| "the connection closed without an answer".to_owned())?;
        if status >= 500 {
            return Err(format!("HTTP {status}: {}", text.lines().last().unwrap_or_default()));
        }
        Ok(status)
    };
    tokio::time::timeout(ANSWER_DEADLINE, exchange)
        .await
        .map_err(|_| format!("no answer within {} s", ANSWER_DEADLINE.as_secs()))?
}

/// Builds and starts the server, fuzzes it for `--seconds`, reports.
pub(crate) fn run(workspace: &Path, args: &[String]) -> Result<(), String> {
    let mut seconds = 60u64;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_nanos() % u128::from(u64::MAX)).unwrap_or(1))
        | 1;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), value) {
            ("--seconds", Some(v)) => seconds = v.max(1),
            ("--seed", Some(v)) => seed = v | 1,
            _ => return Err(format!("fuzz: expected --seconds N or --seed N, got {arg}")),
        }
    }
    let binary = build_mock(workspace, false)?;
    let seed_json = serde_json::json!({
        "pools": [{
            "name": "fuzz", "id": POOL_ID,
            "clients": [{ "name": "fuzz", "id": CLIENT_ID,
                "explicit_auth_flows": ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] },
                { "name": "fuzz-web", "id": "fuzzwebclient0000000000001",
                  "settings": {
                    "AllowedOAuthFlowsUserPoolClient": true,
                    "AllowedOAuthFlows": ["code"],
                    "AllowedOAuthScopes": ["openid", "email"],
                    "CallbackURLs": ["http://localhost:3000/callback"],
                    "LogoutURLs": ["http://localhost:3000/"],
                    "SupportedIdentityProviders": ["COGNITO", "Google"],
                  } }],
            "domain": "fuzz",
            "identity_providers": [{ "name": "Google", "type": "Google",
                "details": { "client_id": "fuzz-idp", "client_secret": "fuzz-idp-secret",
                    "authorize_scopes": "openid email" } }],
            "users": [{ "username": "alice", "password": "Fuzz-Passw0rd!",
                "attributes": { "email": "alice@example.com", "email_verified": "true" } }],
        }],
    });
    let mut server = MockProcess::start(&binary, &seed_json, "fuzz")?;
    let addr = server.addr.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!("fuzz: {seconds} s against http://{addr}, seed {seed}");
    let outcome = runtime.block_on(async {
        let ready = Instant::now() + Duration::from_secs(60);
        while send(
            &addr,
            format!("GET /_mock/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .is_err()
        {
            if Instant::now() > ready {
                return Err("the server did not start".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let sent = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for worker in 0..WORKERS {
            let (addr, sent, failed) = (addr.clone(), Arc::clone(&sent), Arc::clone(&failed));
            let mut rng = Rng(seed.wrapping_add(worker.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
            workers.push(tokio::spawn(async move {
                while Instant::now() < deadline && !failed.load(Ordering::Relaxed) {
                    let (bytes, what) = request(&mut rng, &addr);
                    sent.fetch_add(1, Ordering::Relaxed);
                    if let Err(error) = send(&addr, &bytes).await {
                        failed.store(true, Ordering::Relaxed);
                        return Err(format!("{error}\n  request: {what}"));
                    }
                }
                Ok(())
            }));
        }
        let mut first_error = None;
        for worker in workers {
            if let Ok(Err(error)) = worker.await {
                first_error.get_or_insert(error);
            }
        }
        println!("fuzz: {} requests", sent.load(Ordering::Relaxed));
        first_error.map_or(Ok(()), Err)
    });
    let exited = server.guard.0.try_wait().ok().flatten();
    if let Some(status) = exited {
        return Err(format!("the server exited during the run ({status}); seed {seed}"));
    }
    outcome.map_err(|error| {
        format!("{error}\n  (replay: cargo xtask fuzz --seconds {seconds} --seed {seed})")
    })?;
    println!("fuzz: no 5xx, panic, hang or dropped connection");
    Ok(())
}
