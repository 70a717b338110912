//! The mock S3 through `aws-sdk-s3` with credentials from GetCredentialsForIdentity: objects
//! round-trip, and requests signed wrongly, with unknown keys or after the credentials expired
//! on the server clock are refused with S3's errors. The SigV4 verifier is also checked
//! against `aws-sigv4` over arbitrary requests, and with signed aws-chunked uploads.

use std::time::{Duration, SystemTime};

use auth_mock_server::{Fault, IdentityPoolOptions, MockServerHandle};
use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::primitives::ByteStream;
use proptest::prelude::*;

use crate::raw::{get, request};
use crate::support::{identity_sdk, s3_credentials, s3_sdk, server};

/// Guest credentials from a fresh identity pool.
async fn guest_credentials(server: &MockServerHandle) -> aws_sdk_s3::config::Credentials {
    let ids = identity_sdk(server);
    let pool = server
        .create_identity_pool("uploads", IdentityPoolOptions::default().allow_unauthenticated(true))
        .await
        .unwrap();
    s3_credentials(&crate::support::guest_credentials(&ids, &pool).await)
}

/// The S3 error code and HTTP status of an SDK error.
fn s3_error<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> (String, u16) {
    let status = error.raw_response().map_or(0, |r| r.status().as_u16());
    (error.code().unwrap_or("<no code>").to_owned(), status)
}

/// A server whose bucket `bkt` holds `key`, and guest credentials for it.
async fn guest_with_object(
    key: &str,
    body: &[u8],
) -> (MockServerHandle, aws_sdk_s3::config::Credentials) {
    let server = server().await;
    let credentials = guest_credentials(&server).await;
    server.s3_create_bucket("bkt").unwrap();
    server.s3_put_object("bkt", key, body.to_vec()).unwrap();
    (server, credentials)
}

/// PutObject of a small in-memory body, ready to send.
fn put_bytes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: &'static [u8],
) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
    s3.put_object().bucket(bucket).key(key).body(ByteStream::from_static(body))
}

#[tokio::test]
async fn objects_round_trip_with_identity_pool_credentials() {
    let server = server().await;
    let s3 = s3_sdk(&server, guest_credentials(&server).await);
    s3.create_bucket().bucket("uploads").send().await.unwrap();
    let again = s3.create_bucket().bucket("uploads").send().await.unwrap_err();
    assert_eq!(s3_error(&again), ("BucketAlreadyOwnedByYou".into(), 409));
    s3.head_bucket().bucket("uploads").send().await.unwrap();

    let put = s3
        .put_object()
        .bucket("uploads")
        .key("dir/hello.txt")
        .body(ByteStream::from_static(b"hello world"))
        .content_type("text/plain")
        .metadata("owner", "alice")
        .send()
        .await
        .unwrap();
    // S3's ETag of a single-part upload is the MD5 of the content.
    assert_eq!(put.e_tag(), Some("\"5eb63bbbe01eeed093cb22bb8f5acdc3\""));
    assert_eq!(server.s3_object("uploads", "dir/hello.txt").as_deref(), Some(&b"hello world"[..]));

    let got = s3.get_object().bucket("uploads").key("dir/hello.txt").send().await.unwrap();
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(got.metadata().unwrap()["owner"], "alice");
    assert_eq!(got.e_tag(), put.e_tag());
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"hello world");
    let head = s3.head_object().bucket("uploads").key("dir/hello.txt").send().await.unwrap();
    assert_eq!(head.content_length(), Some(11));
    let range = s3
        .get_object()
        .bucket("uploads")
        .key("dir/hello.txt")
        .range("bytes=6-")
        .send()
        .await
        .unwrap();
    assert_eq!(range.content_range(), Some("bytes 6-10/11"));
    assert_eq!(range.body.collect().await.unwrap().into_bytes().as_ref(), b"world");

    // Keys that need encoding.
    for key in ["a b/c+d.txt", "ünï/cödé", "x=1&y=2;z", "tilde~star*"] {
        put_bytes(&s3, "uploads", key, b"k").send().await.unwrap();
        let got = s3.get_object().bucket("uploads").key(key).send().await.unwrap();
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"k", "{key}");
    }

    // A streaming body (aws-chunked with a CRC32 trailer).
    let file = tempfile::NamedTempFile::new().unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(file.path(), &big).unwrap();
    s3.put_object()
        .bucket("uploads")
        .key("big.bin")
        .body(ByteStream::from_path(file.path()).await.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(server.s3_object("uploads", "big.bin").unwrap(), big);
    let got = s3.get_object().bucket("uploads").key("big.bin").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &big[..]);

    // Listing: prefixes, delimiters, pagination.
    let listed = s3.list_objects_v2().bucket("uploads").prefix("dir/").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
    assert_eq!(listed.contents()[0].key(), Some("dir/hello.txt"));
    assert_eq!(listed.contents()[0].size(), Some(11));
    let by_folder = s3.list_objects_v2().bucket("uploads").delimiter("/").send().await.unwrap();
    let prefixes: Vec<&str> =
        by_folder.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["a b/", "dir/", "ünï/"]);
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("uploads")
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(keys, server.s3_keys("uploads").unwrap());
    assert_eq!(keys.len(), 6);
    let buckets = s3.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets()[0].name(), Some("uploads"));

    // Copy, delete, and the 404s.
    s3.copy_object()
        .bucket("uploads")
        .key("copy.txt")
        .copy_source("uploads/dir/hello.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(server.s3_object("uploads", "copy.txt").as_deref(), Some(&b"hello world"[..]));
    s3.delete_object().bucket("uploads").key("dir/hello.txt").send().await.unwrap();
    let missing = s3.get_object().bucket("uploads").key("dir/hello.txt").send().await.unwrap_err();
    assert_eq!(s3_error(&missing), ("NoSuchKey".into(), 404));
    let no_bucket = s3.get_object().bucket("nope-bucket").key("x").send().await.unwrap_err();
    assert_eq!(s3_error(&no_bucket), ("NoSuchBucket".into(), 404));
    let not_empty = s3.delete_bucket().bucket("uploads").send().await.unwrap_err();
    assert_eq!(s3_error(&not_empty), ("BucketNotEmpty".into(), 409));
    assert_eq!(server.request_count("s3:PutObject"), 6, "one request per upload, no retries");
}

#[tokio::test]
async fn bad_credentials_are_refused() {
    let (server, credentials) = guest_with_object("k", b"v").await;
    let with = |key: &str, secret: &str, token: Option<&str>| {
        s3_sdk(
            &server,
            aws_sdk_s3::config::Credentials::new(
                key,
                secret,
                token.map(str::to_owned),
                None,
                "test",
            ),
        )
    };
    let token = credentials.session_token();
    let key = credentials.access_key_id();
    let wrong_secret = with(key, "0000000000000000000000000000000000000000", token);
    let error = wrong_secret.get_object().bucket("bkt").key("k").send().await.unwrap_err();
    assert_eq!(s3_error(&error), ("SignatureDoesNotMatch".into(), 403));
    let body =
        String::from_utf8_lossy(error.raw_response().unwrap().body().bytes().unwrap()).into_owned();
    assert!(body.contains("<CanonicalRequest>GET\n/bkt/k\n"), "{body}");
    assert!(body.contains("x-amz-security-token:[redacted]"), "{body}");
    assert!(!body.contains(token.unwrap()), "the session token is not echoed");
    let unknown = with("ASIAUNKNOWN000000000", credentials.secret_access_key(), token);
    let error = unknown.get_object().bucket("bkt").key("k").send().await.unwrap_err();
    assert_eq!(s3_error(&error), ("InvalidAccessKeyId".into(), 403));
    let static_key = with("AKIDTEST", "test-secret", None);
    let error = static_key.get_object().bucket("bkt").key("k").send().await.unwrap_err();
    assert_eq!(
        s3_error(&error),
        ("InvalidAccessKeyId".into(), 403),
        "only identity-pool credentials"
    );
    let wrong_token = with(key, credentials.secret_access_key(), Some("IQoJb3JpZ2luX2Vjforged"));
    let error = wrong_token.get_object().bucket("bkt").key("k").send().await.unwrap_err();
    assert_eq!(s3_error(&error), ("InvalidToken".into(), 400));

    let good = s3_sdk(&server, credentials.clone());
    good.get_object().bucket("bkt").key("k").send().await.unwrap();
    server.advance_clock(Duration::from_secs(3601));
    let error = good.get_object().bucket("bkt").key("k").send().await.unwrap_err();
    assert_eq!(s3_error(&error), ("ExpiredToken".into(), 400));
    let error = put_bytes(&good, "bkt", "k2", b"x").send().await.unwrap_err();
    assert_eq!(s3_error(&error), ("ExpiredToken".into(), 400));
    // Fresh credentials work again.
    let fresh = s3_sdk(&server, guest_credentials(&server).await);
    fresh.get_object().bucket("bkt").key("k").send().await.unwrap();
}

#[tokio::test]
async fn unsigned_requests_and_s3_xml_errors() {
    let server = server().await;
    server.s3_create_bucket("bkt").unwrap();
    let url = server.url();
    let anonymous = get(&url, "/bkt/k").await;
    assert_eq!(anonymous.status, 403);
    assert!(anonymous.body.contains("<Code>AccessDenied</Code>"), "{}", anonymous.body);
    assert!(anonymous.body.contains("<RequestId>"), "{}", anonymous.body);
    assert_eq!(anonymous.header("content-type"), Some("application/xml"));
    let put = request(&url, "PUT", "/bkt/k", &[], b"data").await.unwrap();
    assert_eq!(put.status, 403);
    let head = request(&url, "HEAD", "/bkt/k", &[], b"").await.unwrap();
    assert_eq!(head.status, 403);
    assert!(head.body.is_empty());
    // A request signed for S3 with a malformed header.
    let malformed = request(
        &url,
        "GET",
        "/bkt/k",
        &[("Authorization", "AWS4-HMAC-SHA256 Credential=ASIAX/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=zz")],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(malformed.status, 400);
    assert!(malformed.body.contains("AuthorizationHeaderMalformed"), "{}", malformed.body);
    // The user-pool API and the control API are unaffected.
    assert_eq!(get(&url, "/_mock/health").await.status, 200);
}

#[tokio::test]
async fn presigned_urls() {
    let (server, credentials) = guest_with_object("report.csv", b"a,b\n1,2\n").await;
    let s3 = s3_sdk(&server, credentials);
    let config =
        aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(60)).unwrap();
    let presigned =
        s3.get_object().bucket("bkt").key("report.csv").presigned(config.clone()).await.unwrap();
    let path = presigned.uri().trim_start_matches(&server.url()).to_owned();
    let fetched = get(&server.url(), &path).await;
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert_eq!(fetched.body, "a,b\n1,2\n");
    let tampered = path.replace("report.csv", "other.csv");
    let refused = get(&server.url(), &tampered).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("SignatureDoesNotMatch"), "{}", refused.body);
    let upload = s3.put_object().bucket("bkt").key("up.txt").presigned(config).await.unwrap();
    let headers: Vec<(&str, &str)> = upload.headers().collect();
    let path = upload.uri().trim_start_matches(&server.url()).to_owned();
    let put = request(&server.url(), "PUT", &path, &headers, b"uploaded").await.unwrap();
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(server.s3_object("bkt", "up.txt").as_deref(), Some(&b"uploaded"[..]));
    server.advance_clock(Duration::from_secs(61));
    let expired = get(&server.url(), presigned.uri().trim_start_matches(&server.url())).await;
    assert_eq!(expired.status, 403);
    assert!(expired.body.contains("Request has expired"), "{}", expired.body);
}

#[tokio::test]
async fn s3_faults_and_counters() {
    let (server, credentials) = guest_with_object("k", b"v").await;
    let s3 = s3_sdk(&server, credentials);
    server.add_fault(Fault::drop_connection("s3:GetObject").times(1));
    let dropped = s3.get_object().bucket("bkt").key("k").send().await.unwrap_err();
    assert!(matches!(dropped, aws_sdk_s3::error::SdkError::DispatchFailure(_)), "{dropped:?}");
    s3.get_object().bucket("bkt").key("k").send().await.unwrap();
    server.add_fault(
        Fault::error("s3:PutObject", "SlowDown", "Please reduce your request rate.")
            .status(503)
            .times(1),
    );
    let slow = put_bytes(&s3, "bkt", "k", b"x").send().await.unwrap_err();
    assert_eq!(s3_error(&slow), ("SlowDown".into(), 503));
    assert_eq!(server.request_count("s3:GetObject"), 2);
    assert_eq!(server.request_count("s3:PutObject"), 1);
}

/// Signs a request with `aws-sigv4` (S3 settings: no double encoding, no path normalisation).
pub(crate) fn sign(
    credentials: &aws_sdk_s3::config::Credentials,
    method: &str,
    uri: &str,
    headers: &[(String, String)],
    payload: aws_sigv4::http_request::SignableBody<'_>,
    time: SystemTime,
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{
        PercentEncodingMode, SignableRequest, SigningSettings, UriPathNormalizationMode,
    };
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    let identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        method,
        uri,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        payload,
    )
    .unwrap();
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params).unwrap().into_parts();
    let (signed, _) = instructions.into_parts();
    let mut all = headers.to_vec();
    all.extend(signed.iter().map(|h| (h.name().to_owned(), h.value().to_owned())));
    all
}

/// An upload in `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` chunks (as older SDKs send), with chunk
/// signatures computed here from the seed signature `aws-sigv4` made.
#[tokio::test]
async fn signed_chunked_uploads() {
    use hmac::Mac as _;
    use sha2::Digest as _;
    let server = server().await;
    let credentials = guest_credentials(&server).await;
    server.s3_create_bucket("bkt").unwrap();
    let host = server.url().trim_start_matches("http://").to_owned();
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 7) as u8 + b'a').collect();
    let chunks: Vec<&[u8]> = data.chunks(65_536).chain(std::iter::once(&[][..])).collect();
    let time = SystemTime::now();
    let headers = vec![
        ("host".to_owned(), host.clone()),
        ("content-encoding".to_owned(), "aws-chunked".to_owned()),
        ("x-amz-decoded-content-length".to_owned(), data.len().to_string()),
    ];
    let signed = sign(
        &credentials,
        "PUT",
        &format!("http://{host}/bkt/chunked.bin"),
        &headers,
        aws_sigv4::http_request::SignableBody::Precomputed(
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into(),
        ),
        time,
    );
    let value =
        |name: &str| signed.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).unwrap().1.clone();
    let auth = value("authorization");
    let mut previous = auth.rsplit("Signature=").next().unwrap().to_owned();
    let amz_date = value("x-amz-date");
    let scope = format!("{}/us-east-1/s3/aws4_request", &amz_date[..8]);
    let hmac = |key: &[u8], data: &[u8]| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    };
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let key = ["us-east-1", "s3", "aws4_request"].iter().fold(
        hmac(
            format!("AWS4{}", credentials.secret_access_key()).as_bytes(),
            &amz_date.as_bytes()[..8],
        ),
        |key, part| hmac(&key, part.as_bytes()),
    );
    let mut body = Vec::new();
    for chunk in &chunks {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{}\n{}",
            hex(&sha2::Sha256::digest(b"")),
            hex(&sha2::Sha256::digest(chunk))
        );
        previous = hex(&hmac(&key, string_to_sign.as_bytes()));
        body.extend_from_slice(
            format!("{:x};chunk-signature={previous}\r\n", chunk.len()).as_bytes(),
        );
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    let header_refs: Vec<(&str, &str)> =
        signed.iter().filter(|(n, _)| n != "host").map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let put = request(&server.url(), "PUT", "/bkt/chunked.bin", &header_refs, &body).await.unwrap();
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(server.s3_object("bkt", "chunked.bin").unwrap(), data);
    // One flipped byte in the second chunk: refused.
    let mut tampered = body.clone();
    let at = tampered.len() - 200;
    tampered[at] ^= 1;
    let put =
        request(&server.url(), "PUT", "/bkt/chunked.bin", &header_refs, &tampered).await.unwrap();
    assert_eq!(put.status, 403, "{}", put.body);
    assert!(put.body.contains("SignatureDoesNotMatch"));
}

struct SigEnv {
    runtime: tokio::runtime::Runtime,
    server: MockServerHandle,
    credentials: aws_sdk_s3::config::Credentials,
}

fn sig_env() -> &'static SigEnv {
    static ENV: std::sync::OnceLock<SigEnv> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (server, credentials) = runtime.block_on(async {
            let server = server().await;
            server.set_credentials_lifetime(Duration::from_secs(43_200)).unwrap();
            let credentials = guest_credentials(&server).await;
            server.s3_create_bucket("fuzz").unwrap();
            (server, credentials)
        });
        SigEnv { runtime, server, credentials }
    })
}

fn segment() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            1 => "[a-zA-Z0-9]",
            // Weighted by their count: each as likely as a random character.
            9 => prop::sample::select(vec!["%20", "%2B", "%C3%BC", "-", "_", ".", "~", "!", "="])
                .prop_map(str::to_owned),
        ],
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["prefix", "max-keys", "marker", "x-id", "a b", "ü", "k"]),
            prop::sample::select(vec!["", "1", "a/b", "x y", "+", "%", "é&=", "~._-"]),
        )
            .prop_map(|(k, v)| (k.to_owned(), v.to_owned())),
        0..4,
    )
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever path, query and extra headers `aws-sigv4` signs, the server's verifier agrees.
    #[test]
    fn the_verifier_agrees_with_aws_sigv4(
        segments in prop::collection::vec(segment(), 1..4),
        query in query(),
        extra in prop::collection::vec(("x-amz-meta-[a-z]{1,8}", "[ -~]{0,20}"), 0..3),
        body in prop::collection::vec(any::<u8>(), 0..64),
        unsigned in any::<bool>(),
    ) {
        let env = sig_env();
        let host = env.server.url().trim_start_matches("http://").to_owned();
        let path = format!("/fuzz/{}", segments.join("/"));
        let query: String = query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        let target = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
        let mut headers = vec![("host".to_owned(), host.clone())];
        // Header values as S3 sees them: leading/trailing spaces are not sent.
        headers.extend(extra.into_iter().map(|(n, v)| (n, v.trim().to_owned())));
        let payload = if unsigned {
            aws_sigv4::http_request::SignableBody::UnsignedPayload
        } else {
            aws_sigv4::http_request::SignableBody::Bytes(&body)
        };
        let signed = sign(&env.credentials, "PUT", &format!("http://{host}{target}"), &headers, payload, SystemTime::now());
        let refs: Vec<(&str, &str)> = signed.iter().filter(|(n, _)| n != "host").map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let response = env.runtime.block_on(request(&env.server.url(), "PUT", &target, &refs, &body)).unwrap();
        prop_assert!(!response.body.contains("SignatureDoesNotMatch"), "{target}: {}", response.body);
        prop_assert!(response.status == 200 || response.status == 501, "{target}: {} {}", response.status, response.body);
    }
}
