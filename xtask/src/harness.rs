//! What the load tasks (`bench-server`, `fuzz`, `soak`) share: building and starting the
//! mock server with a seed, a keep-alive HTTP/1.1 connection speaking the Cognito JSON API
//! and forms, one full USER_SRP_AUTH sign-in, and reading a process's memory from /proc.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// The Cognito user-pool API's `X-Amz-Target` prefix.
pub(crate) const TARGET: &str = "AWSCognitoIdentityProviderService.";
/// A well-formed SigV4 header: the mock checks its shape on signed operations, not the
/// signature; the peers ignore it.
pub(crate) const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=00";

/// A child process killed (and reaped) when dropped, so no run leaves a server behind.
pub(crate) struct Guard(pub(crate) Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free at the time of asking.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_or(0, |a| a.port())
}

/// A `kB` field (`VmRSS:`, `VmHWM:`) of a process's /proc status.
pub(crate) fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

/// Builds `auth-mock-server` (debug, or release) and returns the binary's path.
pub(crate) fn build_mock(workspace: &Path, release: bool) -> Result<PathBuf, String> {
    let mut build = vec!["build", "-p", "auth-mock-server"];
    if release {
        build.push("--release");
    }
    println!("$ cargo {}", build.join(" "));
    let status = Command::new("cargo")
        .current_dir(workspace)
        .args(&build)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err("the server does not build".into());
    }
    let profile = if release { "release" } else { "debug" };
    Ok(workspace.join("target").join(profile).join("auth-mock-server"))
}

/// A running mock server started from a seed file; stopped, and its seed file removed,
/// when dropped.
pub(crate) struct MockProcess {
    /// The server process.
    pub(crate) guard: Guard,
    /// `127.0.0.1:<port>`.
    pub(crate) addr: String,
    seed_path: PathBuf,
}

impl MockProcess {
    /// Starts `binary` on a free loopback port with `seed`, logging errors only; `task`
    /// names the seed file (one per task and process).
    pub(crate) fn start(binary: &Path, seed: &Value, task: &str) -> Result<Self, String> {
        let seed_path =
            std::env::temp_dir().join(format!("auth-mock-{task}-{}.json", std::process::id()));
        std::fs::write(&seed_path, seed.to_string()).map_err(|e| e.to_string())?;
        let port = free_port();
        let child = Command::new(binary)
            .args(["--seed", &seed_path.display().to_string(), "--port", &port.to_string()])
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        Ok(Self { guard: Guard(child), addr: format!("127.0.0.1:{port}"), seed_path })
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.guard.0.id()
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.seed_path);
    }
}

/// One full USER_SRP_AUTH sign-in of `username`: InitiateAuth with SRP_A, the client's
/// proof, and the answer holding `AuthenticationResult`. The client uses a 256-bit private
/// `a` (RFC 5054's minimum recommendation, and what auth-cognito uses): the generator shares
/// the cores with the server, whose work does not depend on it.
pub(crate) async fn srp_sign_in(
    conn: &mut Connection,
    pool_id: &str,
    client_id: &str,
    username: &str,
    password: &str,
) -> Result<Value, String> {
    let ephemeral = auth_srp::ClientEphemeral::new_256_bit();
    let init = json!({
        "AuthFlow": "USER_SRP_AUTH",
        "ClientId": client_id,
        "AuthParameters": { "USERNAME": username, "SRP_A": ephemeral.public_hex() },
    });
    let (status, body) = conn.post("InitiateAuth", init.to_string().as_bytes()).await?;
    let challenge: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("InitiateAuth: HTTP {status}: {challenge}"));
    }
    let params = challenge.get("ChallengeParameters").ok_or("no ChallengeParameters")?;
    let get = |name: &str| params.get(name).and_then(Value::as_str).ok_or(format!("no {name}"));
    let user_id = get("USER_ID_FOR_SRP")?;
    let timestamp = auth_srp::format_timestamp(std::time::SystemTime::now());
    let data = auth_srp::PasswordChallenge::new(
        auth_srp::pool_name(pool_id),
        user_id,
        get("SALT")?,
        get("SRP_B")?,
        get("SECRET_BLOCK")?,
    );
    let signature = ephemeral
        .password_claim_signature(&data, password, &timestamp)
        .map_err(|e| e.to_string())?;
    let mut respond = json!({
        "ClientId": client_id,
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeResponses": {
            "USERNAME": user_id,
            "PASSWORD_CLAIM_SECRET_BLOCK": get("SECRET_BLOCK")?,
            "PASSWORD_CLAIM_SIGNATURE": signature,
            "TIMESTAMP": timestamp,
        },
    });
    if let Some(session) = challenge.get("Session") {
        respond["Session"] = session.clone();
    }
    let (status, body) =
        conn.post("RespondToAuthChallenge", respond.to_string().as_bytes()).await?;
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status == 200 && answer.pointer("/AuthenticationResult/AccessToken").is_some() {
        Ok(answer)
    } else {
        Err(format!("RespondToAuthChallenge: HTTP {status}: {answer}"))
    }
}

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct Connection {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    host: String,
}

impl Connection {
    pub(crate) async fn open(url: &str) -> Result<Self, String> {
        let host = url.trim_start_matches("http://").to_owned();
        let stream = tokio::net::TcpStream::connect(&host).await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender, host })
    }

    /// Sends a form (or an empty GET when `body` is `None`) to `path_and_query`, with an
    /// optional `Authorization`; returns the status, the `Location` and the body.
    /// When the server closed the kept-alive connection, reconnects once and resends, as
    /// [`Connection::post_target`] does.
    pub(crate) async fn form(
        &mut self,
        path_and_query: &str,
        authorization: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, Option<String>, bytes::Bytes), String> {
        match self.form_once(path_and_query, authorization, body).await {
            Ok(answer) => Ok(answer),
            Err(_) if self.sender.is_closed() => {
                *self = Self::open(&format!("http://{}", self.host)).await?;
                self.form_once(path_and_query, authorization, body).await
            }
            Err(error) => Err(error),
        }
    }

    async fn form_once(
        &mut self,
        path_and_query: &str,
        authorization: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, Option<String>, bytes::Bytes), String> {
        use http_body_util::BodyExt as _;
        let mut request = match body {
            Some(_) => hyper::Request::post(path_and_query),
            None => hyper::Request::get(path_and_query),
        }
        .header("host", &self.host)
        .header("content-type", "application/x-www-form-urlencoded");
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.unwrap_or_default().to_owned(),
            )))
            .map_err(|e| e.to_string())?;
        let response = self.exchange(request).await?;
        let status = response.status().as_u16();
        let location =
            response.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, location, body))
    }

    /// Sends a request; when the server closed the kept-alive connection (some peers close
    /// after every answer), reconnects once and resends.
    pub(crate) async fn post(
        &mut self,
        operation: &str,
        body: &[u8],
    ) -> Result<(u16, bytes::Bytes), String> {
        self.post_target(&format!("{TARGET}{operation}"), body).await
    }

    /// [`Connection::post`] with a whole `X-Amz-Target` (another service's operations).
    pub(crate) async fn post_target(
        &mut self,
        target: &str,
        body: &[u8],
    ) -> Result<(u16, bytes::Bytes), String> {
        match self.send("POST", "/", Some(target), body).await {
            Ok(answer) => Ok(answer),
            Err(_) => {
                *self = Self::open(&format!("http://{}", self.host)).await?;
                self.send("POST", "/", Some(target), body).await
            }
        }
    }

    /// A GET of `path` (the test-control API).
    pub(crate) async fn get(&mut self, path: &str) -> Result<(u16, bytes::Bytes), String> {
        self.send("GET", path, None, b"").await
    }

    /// Waits until the connection can take a request, then sends it. HTTP/1 takes one
    /// request at a time: a request sent before the connection has finished the previous
    /// exchange is refused at once ("operation was canceled", caused by "connection was not
    /// ready"), a race a loaded CI machine lost on every hosted sign-in probe.
    async fn exchange(
        &mut self,
        request: hyper::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        self.sender.ready().await.map_err(|e| error_chain(&e))?;
        self.sender.send_request(request).await.map_err(|e| error_chain(&e))
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        target: Option<&str>,
        body: &[u8],
    ) -> Result<(u16, bytes::Bytes), String> {
        use http_body_util::BodyExt as _;
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("content-type", "application/x-amz-json-1.1")
            .header("authorization", AUTH);
        if let Some(target) = target {
            request = request.header("x-amz-target", target);
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(body)))
            .map_err(|e| e.to_string())?;
        let response = self.exchange(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, body))
    }
}

/// An error with its causes ("operation was canceled: connection was not ready"): hyper's
/// own text names only the kind.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
