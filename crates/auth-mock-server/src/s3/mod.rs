//! A minimal path-style S3 that accepts only requests signed (SigV4, verified for real) with
//! credentials the identity pools issued and that have not expired: it exists so tests can
//! prove those credentials work.
//!
//! Routing: a request goes to S3 when its SigV4 credential scope names the `s3` service
//! (`Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/s3/aws4_request, ...`,
//! or `X-Amz-Credential=...%2Fs3%2Faws4_request` in a presigned URL). That is what `aws-sdk-s3`
//! sends with `force_path_style(true)` and the endpoint set to the server's URL: `PUT /bucket`,
//! `PUT /bucket/key?x-id=PutObject`, `GET /bucket?list-type=2`, and so on. Requests without
//! any signature that reach no other route get S3's `AccessDenied`.
//!
//! Objects live in memory: at most [`MAX_OBJECT_BYTES`] each and [`MAX_TOTAL_BYTES`] in all.

use std::collections::BTreeMap;
use std::ops::Bound;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, header,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};

use crate::Shared;

mod chunked;
mod error;
mod sigv4;
mod xml;

use chunked::ChunkSigning;
use error::S3Error;
use sigv4::{AuthorizationHeader, Credential, hex, hmac, same_signature, sha256_hex, signing_key};

/// Largest object the mock S3 stores.
pub const MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;
/// Most bytes the mock S3 keeps in all buckets together.
pub const MAX_TOTAL_BYTES: usize = 256 * 1024 * 1024;
/// Most buckets.
const MAX_BUCKETS: usize = 1000;
/// The XML namespace of S3 documents.
const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// Every operation name the request counters and faults use (`s3:<name>`).
pub const S3_OPERATIONS: &[&str] = &[
    "CopyObject",
    "CreateBucket",
    "DeleteBucket",
    "DeleteObject",
    "GetBucketLocation",
    "GetObject",
    "HeadBucket",
    "HeadObject",
    "ListBuckets",
    "ListObjects",
    "ListObjectsV2",
    "PutObject",
    "Unsupported",
];

/// The buckets and objects.
#[derive(Default)]
pub(crate) struct Store {
    inner: Mutex<Buckets>,
}

impl std::fmt::Debug for Store {
    /// Counts only, not the objects' bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("Store")
            .field("buckets", &inner.buckets.len())
            .field("bytes", &inner.bytes)
            .finish()
    }
}

#[derive(Debug, Default)]
struct Buckets {
    buckets: BTreeMap<String, Bucket>,
    bytes: usize,
}

#[derive(Debug)]
struct Bucket {
    created: u64,
    region: String,
    objects: BTreeMap<String, Object>,
}

#[derive(Debug, Clone)]
struct Object {
    data: Bytes,
    /// Quoted hex MD5, as S3 computes it for single-part uploads.
    etag: String,
    last_modified: u64,
    content_type: String,
    /// `Cache-Control`, `Content-Disposition`, `Content-Encoding`, `Content-Language`,
    /// `Expires`, and `x-amz-meta-*`, returned as stored.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// `x-amz-checksum-<algorithm>` values sent with the upload.
    checksums: Vec<(String, String)>,
}

impl Store {
    /// Forgets every bucket.
    pub(crate) fn reset(&self) {
        *self.inner.lock() = Buckets::default();
    }

    pub(crate) fn create_bucket(&self, name: &str, region: &str, now: u64) -> Result<(), S3Error> {
        check_bucket_name(name)?;
        let mut inner = self.inner.lock();
        if inner.buckets.contains_key(name) {
            return Err(S3Error::new(
                409,
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
            .with("BucketName", name));
        }
        if inner.buckets.len() >= MAX_BUCKETS {
            return Err(S3Error::new(
                400,
                "TooManyBuckets",
                "You have attempted to create more buckets than allowed.",
            ));
        }
        inner.buckets.insert(
            name.to_owned(),
            Bucket { created: now, region: region.to_owned(), objects: BTreeMap::new() },
        );
        Ok(())
    }

    fn put(&self, bucket: &str, key: &str, object: Object) -> Result<(), S3Error> {
        let mut inner = self.inner.lock();
        let size = object.data.len();
        let Buckets { buckets, bytes } = &mut *inner;
        let bucket_ref = buckets.get_mut(bucket).ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        let replaced = bucket_ref.objects.get(key).map_or(0, |o| o.data.len());
        let total = bytes.saturating_sub(replaced).saturating_add(size);
        if total > MAX_TOTAL_BYTES {
            return Err(S3Error::new(
                400,
                "EntityTooLarge",
                "auth-mock-server keeps at most 256 MiB of objects; delete some or reset the server.",
            ));
        }
        bucket_ref.objects.insert(key.to_owned(), object);
        *bytes = total;
        Ok(())
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Object, S3Error> {
        let inner = self.inner.lock();
        let bucket_ref =
            inner.buckets.get(bucket).ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        bucket_ref.objects.get(key).cloned().ok_or_else(|| S3Error::no_such_key(key))
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        let mut inner = self.inner.lock();
        let Buckets { buckets, bytes } = &mut *inner;
        let bucket_ref = buckets.get_mut(bucket).ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        if let Some(removed) = bucket_ref.objects.remove(key) {
            *bytes = bytes.saturating_sub(removed.data.len());
        }
        Ok(())
    }

    /// The bytes of an object (for the handle).
    pub(crate) fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.get(bucket, key).ok().map(|o| o.data.to_vec())
    }

    /// The keys of a bucket (for the handle).
    pub(crate) fn keys(&self, bucket: &str) -> Option<Vec<String>> {
        self.inner.lock().buckets.get(bucket).map(|b| b.objects.keys().cloned().collect())
    }

    /// Stores an object without a request (for the handle).
    pub(crate) fn put_plain(
        &self,
        bucket: &str,
        key: &str,
        data: Vec<u8>,
        now: u64,
    ) -> Result<(), S3Error> {
        check_key(key)?;
        if data.len() > MAX_OBJECT_BYTES {
            return Err(too_large());
        }
        let etag = format!("\"{}\"", hex(&Md5::digest(&data)));
        self.put(
            bucket,
            key,
            Object {
                data: Bytes::from(data),
                etag,
                last_modified: now,
                content_type: "binary/octet-stream".into(),
                headers: Vec::new(),
                checksums: Vec::new(),
            },
        )
    }
}

fn too_large() -> S3Error {
    S3Error::new(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
        .with("MaxSizeAllowed", MAX_OBJECT_BYTES.to_string())
}

fn check_bucket_name(name: &str) -> Result<(), S3Error> {
    let bytes = name.as_bytes();
    let ok = (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err();
    if ok {
        Ok(())
    } else {
        Err(S3Error::new(400, "InvalidBucketName", "The specified bucket is not valid.")
            .with("BucketName", name))
    }
}

fn check_key(key: &str) -> Result<(), S3Error> {
    if key.is_empty() || key.len() > 1024 {
        return Err(S3Error::new(400, "KeyTooLongError", "Your key is too long (or empty)."));
    }
    Ok(())
}

/// Whether a request is for S3: its SigV4 credential scope names the `s3` service.
pub(crate) fn is_s3_request(headers: &HeaderMap, uri: &Uri) -> bool {
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return auth
            .split("Credential=")
            .nth(1)
            .and_then(|rest| Credential::parse(rest.split(',').next().unwrap_or_default().trim()))
            .is_some_and(|credential| credential.service == "s3");
    }
    uri.query().is_some_and(|query| {
        query.split('&').any(|pair| {
            pair.strip_prefix("X-Amz-Credential=").is_some_and(|value| {
                let value = value.to_ascii_lowercase();
                value.contains("%2fs3%2faws4_request") || value.contains("/s3/aws4_request")
            })
        })
    })
}

/// What a request addresses.
#[derive(Debug)]
enum Target {
    Service,
    Bucket(String),
    Object(String, String),
}

/// Percent-decodes a path segment (no `+` rule in paths).
fn path_decode(text: &str) -> Result<String, S3Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = digits.and_then(|d| u8::from_str_radix(d, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| S3Error::new(400, "InvalidURI", "Couldn't parse the specified URI."))
}

impl Target {
    fn parse(path: &str) -> Result<Self, S3Error> {
        let path = path.strip_prefix('/').unwrap_or(path);
        if path.is_empty() {
            return Ok(Self::Service);
        }
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        let bucket = path_decode(bucket)?;
        if key.is_empty() {
            return Ok(Self::Bucket(bucket));
        }
        let key = path_decode(key)?;
        check_key(&key)?;
        Ok(Self::Object(bucket, key))
    }
}

/// Decoded query parameters (first value of each name).
fn query_params(query: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| path_decode(&s.replace('+', " ")).unwrap_or_else(|_| s.to_owned());
        params.entry(decode(name)).or_insert_with(|| decode(value));
    }
    params
}

/// Sub-resources this S3 does not implement.
const UNSUPPORTED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

fn operation(
    method: &Method,
    target: &Target,
    params: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> &'static str {
    if params.keys().any(|k| UNSUPPORTED_SUBRESOURCES.contains(&k.as_str())) {
        return "Unsupported";
    }
    match (target, method.as_str()) {
        (Target::Service, "GET") => "ListBuckets",
        (Target::Bucket(_), "PUT") => "CreateBucket",
        (Target::Bucket(_), "HEAD") => "HeadBucket",
        (Target::Bucket(_), "DELETE") => "DeleteBucket",
        (Target::Bucket(_), "GET") if params.contains_key("location") => "GetBucketLocation",
        (Target::Bucket(_), "GET") if params.get("list-type").is_some_and(|v| v == "2") => {
            "ListObjectsV2"
        }
        (Target::Bucket(_), "GET") => "ListObjects",
        (Target::Object(..), "PUT") if headers.contains_key("x-amz-copy-source") => "CopyObject",
        (Target::Object(..), "PUT") => "PutObject",
        (Target::Object(..), "GET") => "GetObject",
        (Target::Object(..), "HEAD") => "HeadObject",
        (Target::Object(..), "DELETE") => "DeleteObject",
        _ => "Unsupported",
    }
}

/// How the payload is protected (`x-amz-content-sha256`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Payload {
    Sha256(String),
    Unsigned,
    StreamingUnsignedTrailer,
    StreamingSigned { trailer: bool },
}

impl Payload {
    fn parse(value: &str) -> Result<Self, S3Error> {
        match value {
            "UNSIGNED-PAYLOAD" => Ok(Self::Unsigned),
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => Ok(Self::StreamingUnsignedTrailer),
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" => Ok(Self::StreamingSigned { trailer: false }),
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => {
                Ok(Self::StreamingSigned { trailer: true })
            }
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
            | "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER" => {
                Err(S3Error::not_implemented("SigV4a (ECDSA) streaming signatures"))
            }
            hash if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Self::Sha256(hash.to_ascii_lowercase()))
            }
            _ => Err(S3Error::invalid_argument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), or a valid sha256 value.",
            )),
        }
    }
}

/// A request whose signature checked out.
#[derive(Debug)]
struct Authenticated {
    payload: Payload,
    chunk_signing: ChunkSigning,
    region: String,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The secret of issued, unexpired credentials whose session token matches.
fn secret_for(
    shared: &Shared,
    access_key_id: &str,
    token: Option<&str>,
) -> Result<String, S3Error> {
    let state = shared.identity.state.read();
    let unknown = || {
        S3Error::new(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
        .with("AWSAccessKeyId", access_key_id)
    };
    let credentials = state.credentials.get(access_key_id).ok_or_else(unknown)?;
    let Some(token) = token else { return Err(unknown()) };
    if !same_signature(token, &credentials.session_token) {
        return Err(S3Error::new(
            400,
            "InvalidToken",
            "The provided token is malformed or otherwise invalid.",
        ));
    }
    if credentials.expires_at <= shared.clock.now_secs() {
        return Err(S3Error::new(400, "ExpiredToken", "The provided token has expired."));
    }
    Ok(credentials.secret_access_key.clone())
}

fn check_signature(
    secret: &str,
    credential: &Credential,
    amz_date: &str,
    canonical: &str,
    given: &str,
) -> Result<ChunkSigning, S3Error> {
    let scope = credential.scope();
    let string_to_sign = sigv4::string_to_sign(amz_date, &scope, canonical);
    let key = signing_key(secret, &credential.date, &credential.region, &credential.service);
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if !same_signature(&expected, given) {
        return Err(S3Error::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with("AWSAccessKeyId", credential.access_key_id.clone())
        .with("StringToSign", string_to_sign)
        .with("SignatureProvided", given)
        .with("CanonicalRequest", redact_token(canonical)));
    }
    Ok(ChunkSigning { key, amz_date: amz_date.to_owned(), scope, seed: expected })
}

/// The canonical request with the session token's value hidden (header or presigned query
/// parameter), to echo in an error.
fn redact_token(canonical: &str) -> String {
    canonical
        .split('\n')
        .map(|line| {
            if line.starts_with("x-amz-security-token:") {
                "x-amz-security-token:[redacted]".to_owned()
            } else if line.contains("X-Amz-Security-Token=") {
                line.split('&')
                    .map(|pair| {
                        if pair.starts_with("X-Amz-Security-Token=") {
                            "X-Amz-Security-Token=[redacted]"
                        } else {
                            pair
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("&")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn authenticate(shared: &Shared, parts: &Parts) -> Result<Authenticated, S3Error> {
    let headers = &parts.headers;
    let query = parts.uri.query().unwrap_or_default();
    let path = parts.uri.path();
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let auth = auth.to_str().map_err(|_| {
            S3Error::new(
                400,
                "AuthorizationHeaderMalformed",
                "The authorization header is malformed.",
            )
        })?;
        let parsed = AuthorizationHeader::parse(auth)?;
        let amz_date = header_str(headers, "x-amz-date").ok_or_else(|| {
            S3Error::access_denied("AWS authentication requires a valid Date or x-amz-date header")
        })?;
        if xml::parse_amz_date(amz_date).is_none() || !amz_date.starts_with(&parsed.credential.date)
        {
            return Err(S3Error::new(
                400,
                "AuthorizationHeaderMalformed",
                "Invalid credential date. Date is not the same as X-Amz-Date.",
            ));
        }
        if !parsed.signed_headers.iter().any(|h| h == "host") {
            return Err(S3Error::new(
                400,
                "AuthorizationHeaderMalformed",
                "The host header must be signed.",
            ));
        }
        let content_sha = header_str(headers, "x-amz-content-sha256").ok_or_else(|| {
            S3Error::new(
                400,
                "InvalidRequest",
                "Missing required header for this request: x-amz-content-sha256",
            )
        })?;
        let payload = Payload::parse(content_sha)?;
        let secret = secret_for(
            shared,
            &parsed.credential.access_key_id,
            header_str(headers, "x-amz-security-token"),
        )?;
        let canonical = sigv4::canonical_request(
            parts.method.as_str(),
            path,
            &sigv4::canonical_query(query, None),
            headers,
            &parsed.signed_headers,
            content_sha,
        );
        let chunk_signing =
            check_signature(&secret, &parsed.credential, amz_date, &canonical, &parsed.signature)?;
        return Ok(Authenticated { payload, chunk_signing, region: parsed.credential.region });
    }
    let params = query_params(query);
    if params.contains_key("X-Amz-Algorithm") {
        return presigned(shared, parts, &params);
    }
    Err(S3Error::access_denied("Access Denied"))
}

fn query_error(message: &str) -> S3Error {
    S3Error::new(400, "AuthorizationQueryParametersError", message)
}

/// Query-string (presigned URL) authentication.
fn presigned(
    shared: &Shared,
    parts: &Parts,
    params: &BTreeMap<String, String>,
) -> Result<Authenticated, S3Error> {
    let param = |name: &str| params.get(name).map(String::as_str);
    if param("X-Amz-Algorithm") != Some(sigv4::ALGORITHM) {
        return Err(query_error("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""));
    }
    let credential = param("X-Amz-Credential")
        .and_then(Credential::parse)
        .ok_or_else(|| query_error("Error parsing the X-Amz-Credential parameter."))?;
    let amz_date = param("X-Amz-Date").ok_or_else(|| {
        query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    })?;
    let signed_at = xml::parse_amz_date(amz_date)
        .filter(|_| amz_date.starts_with(&credential.date))
        .ok_or_else(|| query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" and match the credential date."))?;
    let expires = param("X-Amz-Expires")
        .and_then(|e| e.parse::<u64>().ok())
        .filter(|e| (1..=604_800).contains(e))
        .ok_or_else(|| query_error("X-Amz-Expires must be between 1 and 604800 seconds."))?;
    let signed_headers: Vec<String> = param("X-Amz-SignedHeaders")
        .ok_or_else(|| query_error("Query-string authentication requires X-Amz-SignedHeaders."))?
        .split(';')
        .map(str::to_owned)
        .collect();
    let signature = param("X-Amz-Signature")
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| query_error("Query-string authentication requires X-Amz-Signature."))?
        .to_ascii_lowercase();
    let now = shared.clock.now_secs();
    if signed_at.saturating_add(expires) < now {
        return Err(S3Error::access_denied("Request has expired")
            .with("X-Amz-Expires", expires.to_string())
            .with("Expires", xml::iso8601(signed_at.saturating_add(expires)))
            .with("ServerTime", xml::iso8601(now)));
    }
    let token = param("X-Amz-Security-Token")
        .or_else(|| header_str(&parts.headers, "x-amz-security-token"));
    let secret = secret_for(shared, &credential.access_key_id, token)?;
    let content_sha =
        header_str(&parts.headers, "x-amz-content-sha256").unwrap_or("UNSIGNED-PAYLOAD");
    let payload = Payload::parse(content_sha)?;
    let canonical = sigv4::canonical_request(
        parts.method.as_str(),
        parts.uri.path(),
        &sigv4::canonical_query(parts.uri.query().unwrap_or_default(), Some("X-Amz-Signature")),
        &parts.headers,
        &signed_headers,
        content_sha,
    );
    let chunk_signing = check_signature(&secret, &credential, amz_date, &canonical, &signature)?;
    Ok(Authenticated { payload, chunk_signing, region: credential.region })
}

/// The decoded request body, with any checksum trailers.
fn decode_payload(
    auth: &Authenticated,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<chunked::Decoded, S3Error> {
    let decoded = match &auth.payload {
        Payload::Sha256(expected) => {
            let actual = sha256_hex(body);
            if actual != *expected {
                return Err(S3Error::new(
                    400,
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                )
                .with("ClientComputedContentSHA256", expected.clone())
                .with("S3ComputedContentSHA256", actual));
            }
            chunked::Decoded { data: body.to_vec(), trailers: Vec::new() }
        }
        Payload::Unsigned => chunked::Decoded { data: body.to_vec(), trailers: Vec::new() },
        Payload::StreamingUnsignedTrailer => chunked::decode(body, None, false, MAX_OBJECT_BYTES)?,
        Payload::StreamingSigned { trailer } => {
            chunked::decode(body, Some(&auth.chunk_signing), *trailer, MAX_OBJECT_BYTES)?
        }
    };
    if !matches!(auth.payload, Payload::Sha256(_) | Payload::Unsigned) {
        if let Some(declared) = header_str(headers, "x-amz-decoded-content-length") {
            if declared.parse::<usize>().ok() != Some(decoded.data.len()) {
                return Err(S3Error::new(
                    400,
                    "IncompleteBody",
                    "You did not provide the number of bytes specified by the x-amz-decoded-content-length header.",
                ));
            }
        }
    }
    if decoded.data.len() > MAX_OBJECT_BYTES {
        return Err(too_large());
    }
    Ok(decoded)
}

/// Serves one S3 request. `None` asks the caller to drop the connection (fault injection).
pub(crate) async fn serve(
    shared: &Shared,
    request: Request<Body>,
    request_id: &str,
) -> Option<Response<Body>> {
    let (parts, body) = request.into_parts();
    let head = parts.method == Method::HEAD;
    let mut response = match handle(shared, parts, body).await {
        Ok(response) => response,
        Err(Handled::Drop) => return None,
        Err(Handled::Error(error)) => error.into_response(request_id, head),
    };
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amz-request-id", value);
    }
    Some(response)
}

enum Handled {
    Drop,
    Error(S3Error),
}

impl From<S3Error> for Handled {
    fn from(error: S3Error) -> Self {
        Self::Error(error)
    }
}

async fn handle(shared: &Shared, parts: Parts, body: Body) -> Result<Response<Body>, Handled> {
    let target = Target::parse(parts.uri.path())?;
    let params = query_params(parts.uri.query().unwrap_or_default());
    let operation = operation(&parts.method, &target, &params, &parts.headers);
    let counter = format!("s3:{operation}");
    shared.control.count(&counter);
    if let Some(fault) = shared.control.take_fault(&counter) {
        if fault.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(fault.latency_ms)).await;
        }
        if fault.drop_connection {
            return Err(Handled::Drop);
        }
        if let Some(error) = fault.error {
            return Err(
                S3Error::new(error.status(), error.kind().to_owned(), error.message()).into()
            );
        }
    }
    let auth = authenticate(shared, &parts)?;
    let limit = MAX_OBJECT_BYTES + MAX_OBJECT_BYTES / 8 + 64 * 1024;
    let body = crate::http::read_body(body, limit).await.ok_or_else(too_large)?;
    let payload = decode_payload(&auth, &parts.headers, &body)?;
    let now = shared.clock.now_secs();
    let store = &shared.s3;
    let response = match (operation, &target) {
        ("Unsupported", _) => {
            return Err(S3Error::not_implemented(&format!(
                "{} {}",
                parts.method,
                parts.uri.path()
            ))
            .into());
        }
        ("ListBuckets", _) => list_buckets(store),
        ("CreateBucket", Target::Bucket(bucket)) => {
            store.create_bucket(bucket, &auth.region, now)?;
            let mut response = empty(StatusCode::OK);
            if let Ok(location) = HeaderValue::from_str(&format!("/{bucket}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        ("HeadBucket", Target::Bucket(bucket)) => {
            let inner = store.inner.lock();
            let found = inner.buckets.get(bucket).ok_or_else(|| S3Error::no_such_bucket(bucket))?;
            let mut response = empty(StatusCode::OK);
            if let Ok(region) = HeaderValue::from_str(&found.region) {
                response.headers_mut().insert("x-amz-bucket-region", region);
            }
            response
        }
        ("DeleteBucket", Target::Bucket(bucket)) => {
            let mut inner = store.inner.lock();
            let found = inner.buckets.get(bucket).ok_or_else(|| S3Error::no_such_bucket(bucket))?;
            if !found.objects.is_empty() {
                return Err(S3Error::new(
                    409,
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty.",
                )
                .with("BucketName", bucket.clone())
                .into());
            }
            inner.buckets.remove(bucket);
            empty(StatusCode::NO_CONTENT)
        }
        ("GetBucketLocation", Target::Bucket(bucket)) => {
            let inner = store.inner.lock();
            let found = inner.buckets.get(bucket).ok_or_else(|| S3Error::no_such_bucket(bucket))?;
            let mut xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{NS}\">"
            );
            if found.region != "us-east-1" {
                xml::escape_into(&mut xml, &found.region);
            }
            xml.push_str("</LocationConstraint>");
            xml_response(xml)
        }
        ("ListObjectsV2" | "ListObjects", Target::Bucket(bucket)) => {
            list_objects(store, bucket, &params, operation == "ListObjectsV2")?
        }
        ("PutObject", Target::Object(bucket, key)) => {
            put_object(store, bucket, key, &parts.headers, payload, now)?
        }
        ("CopyObject", Target::Object(bucket, key)) => {
            copy_object(store, bucket, key, &parts.headers, now)?
        }
        ("GetObject" | "HeadObject", Target::Object(bucket, key)) => {
            get_object(store, bucket, key, &parts.headers, operation == "HeadObject")?
        }
        ("DeleteObject", Target::Object(bucket, key)) => {
            store.delete(bucket, key)?;
            empty(StatusCode::NO_CONTENT)
        }
        _ => {
            return Err(S3Error::new(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
            .into());
        }
    };
    Ok(response)
}

/// The answer to an unsigned request: S3 allows no anonymous access here.
pub(crate) fn anonymous(request_id: &str, head: bool) -> Response<Body> {
    S3Error::access_denied("Access Denied").into_response(request_id, head)
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

fn xml_response(xml: String) -> Response<Body> {
    let mut response = Response::new(Body::from(xml));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    response
}

fn list_buckets(store: &Store) -> Response<Body> {
    let inner = store.inner.lock();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"{NS}\"><Owner><ID>000000000000</ID><DisplayName>auth-mock-server</DisplayName></Owner><Buckets>"
    );
    for (name, bucket) in &inner.buckets {
        xml.push_str("<Bucket>");
        xml::element(&mut xml, "Name", name);
        xml::element(&mut xml, "CreationDate", &xml::iso8601(bucket.created));
        xml.push_str("</Bucket>");
    }
    xml.push_str("</Buckets></ListAllMyBucketsResult>");
    xml_response(xml)
}

/// One page of a listing.
struct Listing {
    contents: Vec<(String, u64, String, usize)>,
    prefixes: Vec<String>,
    next_marker: Option<String>,
}

fn list_page(
    bucket: &Bucket,
    prefix: &str,
    delimiter: &str,
    marker: Option<&str>,
    max: usize,
) -> Listing {
    let mut listing = Listing { contents: Vec::new(), prefixes: Vec::new(), next_marker: None };
    if max == 0 {
        return listing;
    }
    let mut count = 0;
    let mut last = String::new();
    for (key, object) in bucket.objects.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
    {
        if !key.starts_with(prefix) {
            break;
        }
        if let Some(marker) = marker {
            let inside_marker_prefix =
                !delimiter.is_empty() && marker.ends_with(delimiter) && key.starts_with(marker);
            if key.as_str() <= marker || inside_marker_prefix {
                continue;
            }
        }
        let common = (!delimiter.is_empty())
            .then(|| {
                key[prefix.len()..]
                    .find(delimiter)
                    .map(|i| &key[..prefix.len() + i + delimiter.len()])
            })
            .flatten();
        if let Some(common) = common {
            if listing.prefixes.last().is_some_and(|p| p == common) {
                continue;
            }
            if count == max {
                listing.next_marker = Some(last);
                return listing;
            }
            listing.prefixes.push(common.to_owned());
            common.clone_into(&mut last);
        } else {
            if count == max {
                listing.next_marker = Some(last);
                return listing;
            }
            listing.contents.push((
                key.clone(),
                object.last_modified,
                object.etag.clone(),
                object.data.len(),
            ));
            key.clone_into(&mut last);
        }
        count += 1;
    }
    listing
}

fn list_objects(
    store: &Store,
    bucket: &str,
    params: &BTreeMap<String, String>,
    v2: bool,
) -> Result<Response<Body>, S3Error> {
    let param = |name: &str| params.get(name).map(String::as_str);
    let max = match param("max-keys") {
        None => 1000,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| usize::try_from(n.min(1000)).unwrap_or(1000))
            .ok_or_else(|| {
                S3Error::invalid_argument(
                    "Provided max-keys not an integer or within integer range",
                )
            })?,
    };
    let url_encoding = match param("encoding-type") {
        None => false,
        Some("url") => true,
        Some(_) => {
            return Err(S3Error::invalid_argument("Invalid Encoding Method specified in Request"));
        }
    };
    let prefix = param("prefix").unwrap_or_default();
    let delimiter = param("delimiter").unwrap_or_default();
    let token = param("continuation-token");
    let marker = if v2 {
        match token {
            Some(token) => Some(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        S3Error::invalid_argument("The continuation token provided is incorrect")
                    })?,
            ),
            None => param("start-after").map(str::to_owned),
        }
    } else {
        param("marker").map(str::to_owned)
    };
    let inner = store.inner.lock();
    let found = inner.buckets.get(bucket).ok_or_else(|| S3Error::no_such_bucket(bucket))?;
    let listing =
        list_page(found, prefix, delimiter, marker.as_deref().filter(|m| !m.is_empty()), max);
    drop(inner);
    let encode = |text: &str| {
        if url_encoding { sigv4::uri_encode(text).replace("%2F", "/") } else { text.to_owned() }
    };
    let mut xml =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"{NS}\">");
    xml::element(&mut xml, "Name", bucket);
    xml::element(&mut xml, "Prefix", &encode(prefix));
    if !delimiter.is_empty() {
        xml::element(&mut xml, "Delimiter", &encode(delimiter));
    }
    xml::element(&mut xml, "MaxKeys", &max.to_string());
    if url_encoding {
        xml::element(&mut xml, "EncodingType", "url");
    }
    let truncated = listing.next_marker.is_some();
    xml::element(&mut xml, "IsTruncated", if truncated { "true" } else { "false" });
    if v2 {
        xml::element(
            &mut xml,
            "KeyCount",
            &(listing.contents.len() + listing.prefixes.len()).to_string(),
        );
        if let Some(token) = token {
            xml::element(&mut xml, "ContinuationToken", token);
        }
        if let Some(start_after) = param("start-after") {
            xml::element(&mut xml, "StartAfter", &encode(start_after));
        }
        if let Some(next) = &listing.next_marker {
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(next);
            xml::element(&mut xml, "NextContinuationToken", &token);
        }
    } else {
        xml::element(&mut xml, "Marker", &encode(marker.as_deref().unwrap_or_default()));
        if let (Some(next), false) = (&listing.next_marker, delimiter.is_empty()) {
            xml::element(&mut xml, "NextMarker", &encode(next));
        }
    }
    for (key, modified, etag, size) in &listing.contents {
        xml.push_str("<Contents>");
        xml::element(&mut xml, "Key", &encode(key));
        xml::element(&mut xml, "LastModified", &xml::iso8601(*modified));
        xml::element(&mut xml, "ETag", etag);
        xml::element(&mut xml, "Size", &size.to_string());
        xml::element(&mut xml, "StorageClass", "STANDARD");
        xml.push_str("</Contents>");
    }
    for prefix in &listing.prefixes {
        xml.push_str("<CommonPrefixes>");
        xml::element(&mut xml, "Prefix", &encode(prefix));
        xml.push_str("</CommonPrefixes>");
    }
    xml.push_str("</ListBucketResult>");
    Ok(xml_response(xml))
}

/// Headers stored with an object and returned on GET/HEAD.
const STORED_HEADERS: &[&str] =
    &["cache-control", "content-disposition", "content-encoding", "content-language", "expires"];
/// Checksum algorithms S3 accepts (`x-amz-checksum-<name>`).
const CHECKSUMS: &[&str] = &["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

fn stored_headers(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    let mut kept = Vec::new();
    for (name, value) in headers {
        let keep =
            STORED_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("x-amz-meta-");
        if !keep {
            continue;
        }
        if name == header::CONTENT_ENCODING {
            // `aws-chunked` describes the upload, not the object.
            let rest: Vec<&str> = value
                .to_str()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty() && *e != "aws-chunked")
                .collect();
            if let (false, Ok(value)) = (rest.is_empty(), HeaderValue::from_str(&rest.join(", "))) {
                kept.push((name.clone(), value));
            }
            continue;
        }
        kept.push((name.clone(), value.clone()));
    }
    kept
}

/// Checks the checksums sent in headers or trailers against the data.
fn checksums(
    headers: &HeaderMap,
    trailers: &[(String, String)],
    data: &[u8],
) -> Result<Vec<(String, String)>, S3Error> {
    let mut found = Vec::new();
    for algorithm in CHECKSUMS {
        let name = format!("x-amz-checksum-{algorithm}");
        let value = header_str(headers, &name)
            .map(str::to_owned)
            .or_else(|| trailers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()));
        let Some(value) = value else { continue };
        let computed = match *algorithm {
            "crc32" => Some(STANDARD.encode(crc32fast::hash(data).to_be_bytes())),
            "sha1" => Some(STANDARD.encode(sha1::Sha1::digest(data))),
            "sha256" => Some(STANDARD.encode(Sha256::digest(data))),
            // CRC32C and CRC64NVME are stored as sent, not checked.
            _ => None,
        };
        if computed.is_some_and(|c| c != value) {
            return Err(S3Error::new(
                400,
                "BadDigest",
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    algorithm.to_uppercase()
                ),
            ));
        }
        found.push((name, value));
    }
    Ok(found)
}

fn put_object(
    store: &Store,
    bucket: &str,
    key: &str,
    headers: &HeaderMap,
    payload: chunked::Decoded,
    now: u64,
) -> Result<Response<Body>, S3Error> {
    let data = payload.data;
    if let Some(md5) = header_str(headers, "content-md5") {
        let given = STANDARD.decode(md5).ok().filter(|d| d.len() == 16).ok_or_else(|| {
            S3Error::new(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        })?;
        if given.as_slice() != Md5::digest(&data).as_slice() {
            return Err(S3Error::new(
                400,
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            ));
        }
    }
    let checksums = checksums(headers, &payload.trailers, &data)?;
    if header_str(headers, "if-none-match") == Some("*") && store.get(bucket, key).is_ok() {
        return Err(S3Error::new(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        )
        .with("Condition", "If-None-Match"));
    }
    let etag = format!("\"{}\"", hex(&Md5::digest(&data)));
    let content_type =
        header_str(headers, "content-type").unwrap_or("binary/octet-stream").to_owned();
    let object = Object {
        data: Bytes::from(data),
        etag: etag.clone(),
        last_modified: now,
        content_type,
        headers: stored_headers(headers),
        checksums: checksums.clone(),
    };
    store.put(bucket, key, object)?;
    let mut response = empty(StatusCode::OK);
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    for (name, value) in checksums {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            out.insert(name, value);
        }
    }
    Ok(response)
}

fn copy_object(
    store: &Store,
    bucket: &str,
    key: &str,
    headers: &HeaderMap,
    now: u64,
) -> Result<Response<Body>, S3Error> {
    let source = header_str(headers, "x-amz-copy-source").unwrap_or_default();
    let source = source.split('?').next().unwrap_or_default();
    let source = path_decode(source.strip_prefix('/').unwrap_or(source))?;
    let (source_bucket, source_key) = source
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            S3Error::invalid_argument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
        })?;
    let mut object = store.get(source_bucket, source_key)?;
    if header_str(headers, "x-amz-metadata-directive") == Some("REPLACE") {
        object.content_type =
            header_str(headers, "content-type").unwrap_or("binary/octet-stream").to_owned();
        object.headers = stored_headers(headers);
    }
    object.last_modified = now;
    let etag = object.etag.clone();
    store.put(bucket, key, object)?;
    let mut xml =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult xmlns=\"{NS}\">");
    xml::element(&mut xml, "LastModified", &xml::iso8601(now));
    xml::element(&mut xml, "ETag", &etag);
    xml.push_str("</CopyObjectResult>");
    Ok(xml_response(xml))
}

/// A single `Range: bytes=...` against an object of `len` bytes: `Ok(None)` = whole object.
fn byte_range(value: Option<&str>, len: usize) -> Result<Option<(usize, usize)>, S3Error> {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else { return Ok(None) };
    let unsatisfiable = || {
        S3Error::new(416, "InvalidRange", "The requested range is not satisfiable")
            .with("RangeRequested", format!("bytes={spec}"))
            .with("ActualObjectSize", len.to_string())
    };
    let (start, end) = match (start.trim().parse::<usize>().ok(), end.trim().parse::<usize>().ok())
    {
        (Some(start), Some(end)) if start <= end => (start, end.min(len.saturating_sub(1))),
        (Some(start), None) if end.trim().is_empty() => (start, len.saturating_sub(1)),
        (None, Some(suffix)) if start.trim().is_empty() => {
            if suffix == 0 {
                return Err(unsatisfiable());
            }
            (len.saturating_sub(suffix), len.saturating_sub(1))
        }
        _ => return Ok(None),
    };
    if start >= len {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end)))
}

fn get_object(
    store: &Store,
    bucket: &str,
    key: &str,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response<Body>, S3Error> {
    let object = store.get(bucket, key)?;
    if let Some(wanted) = header_str(headers, "if-match") {
        if wanted != "*" && !wanted.split(',').any(|e| e.trim() == object.etag) {
            return Err(S3Error::new(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
            .with("Condition", "If-Match"));
        }
    }
    if let Some(unwanted) = header_str(headers, "if-none-match") {
        if unwanted == "*" || unwanted.split(',').any(|e| e.trim() == object.etag) {
            let mut response = empty(StatusCode::NOT_MODIFIED);
            if let Ok(etag) = HeaderValue::from_str(&object.etag) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            return Ok(response);
        }
    }
    let len = object.data.len();
    let range = byte_range(header_str(headers, "range"), len)?;
    let (status, body) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, object.data.slice(start..=end)),
        None => (StatusCode::OK, object.data.clone()),
    };
    let body_len = body.len();
    let mut response = Response::new(if head { Body::empty() } else { Body::from(body) });
    *response.status_mut() = status;
    let out = response.headers_mut();
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, &object.content_type);
    set(header::CONTENT_LENGTH, &body_len.to_string());
    set(header::ETAG, &object.etag);
    set(header::LAST_MODIFIED, &xml::http_date(object.last_modified));
    set(header::ACCEPT_RANGES, "bytes");
    if let Some((start, end)) = range {
        set(header::CONTENT_RANGE, &format!("bytes {start}-{end}/{len}"));
    }
    let checksum_mode = header_str(headers, "x-amz-checksum-mode")
        .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"));
    if checksum_mode && range.is_none() {
        for (name, value) in &object.checksums {
            if let Ok(name) = HeaderName::try_from(name.as_str()) {
                set(name, value);
            }
        }
    }
    for (name, value) in &object.headers {
        out.insert(name.clone(), value.clone());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket_with(keys: &[&str]) -> Bucket {
        let mut bucket =
            Bucket { created: 0, region: "us-east-1".into(), objects: BTreeMap::new() };
        for key in keys {
            bucket.objects.insert(
                (*key).to_owned(),
                Object {
                    data: Bytes::from_static(b"x"),
                    etag: "\"e\"".into(),
                    last_modified: 0,
                    content_type: String::new(),
                    headers: Vec::new(),
                    checksums: Vec::new(),
                },
            );
        }
        bucket
    }

    #[test]
    fn listing_pages_with_delimiters() {
        let bucket = bucket_with(&["a/1", "a/2", "b", "c/1", "c/2/x", "d"]);
        let page = list_page(&bucket, "", "/", None, 1000);
        assert_eq!(page.contents.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["b", "d"]);
        assert_eq!(page.prefixes, ["a/", "c/"]);
        assert!(page.next_marker.is_none());
        // Pages of two: a/ + b, then c/ + d.
        let first = list_page(&bucket, "", "/", None, 2);
        assert_eq!(first.prefixes, ["a/"]);
        assert_eq!(first.next_marker.as_deref(), Some("b"));
        let second = list_page(&bucket, "", "/", first.next_marker.as_deref(), 2);
        assert_eq!(second.prefixes, ["c/"]);
        assert_eq!(second.contents.len(), 1);
        assert!(second.next_marker.is_none());
        let resumed = list_page(&bucket, "", "/", Some("a/"), 1);
        assert_eq!(resumed.contents[0].0, "b");
        let prefixed = list_page(&bucket, "c/", "/", None, 10);
        assert_eq!(prefixed.contents[0].0, "c/1");
        assert_eq!(prefixed.prefixes, ["c/2/"]);
        assert!(list_page(&bucket, "", "", None, 0).contents.is_empty());
    }

    #[test]
    fn ranges() {
        assert_eq!(byte_range(Some("bytes=0-9"), 100).unwrap(), Some((0, 9)));
        assert_eq!(byte_range(Some("bytes=90-"), 100).unwrap(), Some((90, 99)));
        assert_eq!(byte_range(Some("bytes=-10"), 100).unwrap(), Some((90, 99)));
        assert_eq!(byte_range(Some("bytes=0-1000"), 100).unwrap(), Some((0, 99)));
        assert_eq!(byte_range(Some("bytes=5-2"), 100).unwrap(), None);
        assert_eq!(byte_range(Some("items=0-1"), 100).unwrap(), None);
        assert!(byte_range(Some("bytes=100-"), 100).is_err());
        assert!(byte_range(Some("bytes=-0"), 100).is_err());
    }

    #[test]
    fn names_and_paths() {
        assert!(check_bucket_name("my-bucket.1").is_ok());
        for bad in ["ab", "Upper", "-x-", "a..b", "192.168.0.1", &"a".repeat(64)] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
        assert!(matches!(Target::parse("/").unwrap(), Target::Service));
        assert!(matches!(Target::parse("/b/").unwrap(), Target::Bucket(b) if b == "b"));
        assert!(
            matches!(Target::parse("/b/a%20b/c%2B").unwrap(), Target::Object(b, k) if b == "b" && k == "a b/c+")
        );
        assert!(Target::parse("/b/%ff").is_err());
    }
}
