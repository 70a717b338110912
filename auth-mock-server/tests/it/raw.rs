//! A minimal HTTP/1.1 client over a TCP socket, for requests no SDK would send (malformed
//! bodies, wrong headers) and for the test-control API.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A response: status, headers (lowercase names), body.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl RawResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one request with `Connection: close` and reads the whole answer. `Err` when the
/// server closed the connection without answering.
pub(crate) async fn request(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<RawResponse> {
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    // A test may address the request to another host name than the one it connects to.
    let host = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map_or(addr, |(_, value)| *value);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers.iter().filter(|(name, _)| !name.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // The server may answer (and close) before reading a body it refuses: read the answer
    // even when writing failed.
    let written = match stream.write_all(head.as_bytes()).await {
        Ok(()) => stream.write_all(body).await,
        Err(error) => Err(error),
    };
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw).await;
    if raw.is_empty() {
        return Err(written.err().or(read.err()).unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed without a response")
        }));
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    // Bodies are small; handle chunked encoding by stripping chunk sizes.
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    Ok(RawResponse { status, headers, body })
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// A GET without headers or body (the control API, discovery documents, S3 objects), which
/// must be answered.
pub(crate) async fn get(url: &str, path: &str) -> RawResponse {
    request(url, "GET", path, &[], b"").await.expect("an answer")
}

/// One of the server's JSON 1.1 APIs: user pools or identity pools. The two take the same
/// raw requests but for the `X-Amz-Target` prefix and the service in the SigV4 scope.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Api {
    /// `AWSCognitoIdentityProviderService`, signed for `cognito-idp`.
    UserPools,
    /// `AWSCognitoIdentityService`, signed for `cognito-identity`.
    IdentityPools,
}

impl Api {
    /// Calls `operation` with a raw JSON body; `signed` adds an `Authorization` header whose
    /// signature is a placeholder (the server reads only that a request is signed, and its
    /// region).
    pub(crate) async fn call(
        self,
        url: &str,
        operation: &str,
        body: &[u8],
        signed: bool,
    ) -> std::io::Result<RawResponse> {
        let (prefix, service) = match self {
            Api::UserPools => ("AWSCognitoIdentityProviderService", "cognito-idp"),
            Api::IdentityPools => ("AWSCognitoIdentityService", "cognito-identity"),
        };
        let target = format!("{prefix}.{operation}");
        let mut headers =
            vec![("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target.as_str())];
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"
        );
        if signed {
            headers.push(("Authorization", auth.as_str()));
        }
        request(url, "POST", "/", &headers, body).await
    }
}

/// Calls a user-pool operation with a raw JSON body (most raw requests are to user pools).
pub(crate) async fn call(
    url: &str,
    operation: &str,
    body: &[u8],
    signed: bool,
) -> std::io::Result<RawResponse> {
    Api::UserPools.call(url, operation, body, signed).await
}
