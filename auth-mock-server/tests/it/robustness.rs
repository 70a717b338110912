//! HTTP robustness: every error answer has a Cognito-shaped JSON body, early answers close
//! the connection, oversized and non-UTF-8 input get clear messages.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::raw::{RawResponse, call, get, request};
use crate::support::server;

const TARGET: (&str, &str) = ("X-Amz-Target", "AWSCognitoIdentityProviderService.ListUserPools");

/// Asserts a 400 with the exception `kind` whose message mentions `fragment`: a clear
/// message, not just a status, is what these answers owe the client.
#[track_caller]
fn assert_bad_request(answer: &RawResponse, kind: &str, fragment: &str) {
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["__type"], kind);
    assert!(answer.json()["message"].as_str().unwrap().contains(fragment), "{}", answer.body);
}

#[tokio::test]
async fn method_not_allowed_and_rejections_have_json_bodies() {
    let server = server().await;
    let url = server.url();
    for (method, path) in [("GET", "/_mock/reset"), ("DELETE", "/"), ("PUT", "/_mock/stats")] {
        let answer = request(&url, method, path, &[], b"").await.unwrap();
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.json()["__type"], "MethodNotAllowedException", "{method} {path}");
        assert!(answer.header("content-type").unwrap().contains("json"));
    }
    // An axum extractor rejection (a path segment that is not valid percent-encoded UTF-8).
    let bad_path = get(&url, "/_mock/codes/%FF/x").await;
    assert!(bad_path.status >= 400 && bad_path.status < 500, "{}", bad_path.status);
    assert!(bad_path.json()["__type"].is_string(), "{}", bad_path.body);
}

#[tokio::test]
async fn a_non_utf8_target_is_invalid_not_missing() {
    let server = server().await;
    let target = ("X-Amz-Target", "AWSCognitoIdentityProviderService.ListUserPoolsé");
    let answer = request(&server.url(), "POST", "/", &[target], b"{}").await.unwrap();
    assert_bad_request(&answer, "UnknownOperationException", "not valid");
}

#[tokio::test]
async fn oversized_and_non_utf8_bodies_get_clear_messages() {
    let server = server().await;
    let url = server.url();
    let big = vec![b' '; 1024 * 1024 + 1];
    let answer = request(&url, "POST", "/", &[TARGET], &big).await.unwrap();
    assert_eq!(answer.status, 413);
    assert!(answer.json()["message"].as_str().unwrap().contains("larger than 1048576 bytes"));
    let answer = call(&url, "ListUserPools", b"{\"MaxResults\": \xff}", true).await.unwrap();
    assert_bad_request(&answer, "SerializationException", "not UTF-8");
}

#[tokio::test]
async fn an_answer_before_the_body_was_read_closes_the_connection() {
    let server = server().await;
    let addr = server.url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // A refused control request (foreign Host) with a body the server never reads; the
    // request itself asks for keep-alive.
    let head = "POST /_mock/reset HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 100000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b'x'; 1000]).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer[..n]).to_lowercase();
    assert!(text.starts_with("http/1.1 403"), "{text}");
    assert!(text.contains("connection: close"), "{text}");
}

#[tokio::test]
async fn names_and_attributes_are_validated_as_cognito_documents() {
    use aws_sdk_cognitoidentityprovider::types::AttributeType;

    use crate::support::{PASSWORD, assert_code, fixture};
    let f = fixture().await;
    let sign_up = |username: &str, value: String| {
        f.sdk
            .sign_up()
            .client_id(&f.client.client_id)
            .username(username)
            .password(PASSWORD)
            .user_attributes(AttributeType::builder().name("email").value(value).build().unwrap())
            .send()
    };
    let ok_email = || "z@example.com".to_owned();
    for bad in ["   ", "ev\u{202e}il", "tab\there", &"a".repeat(129)] {
        assert_code(sign_up(bad, ok_email()).await, "InvalidParameterException");
    }
    assert_code(sign_up("zoe", "x".repeat(2049)).await, "InvalidParameterException");
    assert_code(
        sign_up("zoe", "z@example.com\u{202e}moc.live".to_owned()).await,
        "InvalidParameterException",
    );
    sign_up("zoe", ok_email()).await.unwrap();
    assert_code(
        f.sdk.create_user_pool().pool_name("bad/name").send().await,
        "InvalidParameterException",
    );
}
