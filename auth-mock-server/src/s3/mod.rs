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
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, header,
};
use md5::Md5;
use parking_lot::Mutex;
use sha2::Digest as _;

use crate::Shared;

mod auth;
mod chunked;
mod error;
mod objects;
mod sigv4;
mod xml;

use auth::{authenticate, decode_payload};
use error::S3Error;
use objects::{
    copy_object, empty, get_object, list_buckets, list_objects, put_object, xml_response,
};
use sigv4::{Credential, hex};

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

/// Serves one S3 request. `None` asks the caller to drop the connection (fault injection).
pub(crate) async fn serve(
    shared: Arc<Shared>,
    request: Request<Body>,
    request_id: &str,
) -> Option<Response<Body>> {
    let (parts, body) = request.into_parts();
    let head = parts.method == Method::HEAD;
    // On its own task, so that a bug answers InternalError instead of killing the connection.
    let handled = tokio::spawn(async move { handle(&shared, parts, body).await }).await;
    let mut response = match handled {
        Ok(Ok(response)) => response,
        Ok(Err(Handled::Drop)) => return None,
        Ok(Err(Handled::Error(error))) => error.into_response(request_id, head),
        Err(_) => {
            tracing::error!("S3 request handler panicked; answering InternalError");
            S3Error::new(
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
            .into_response(request_id, head)
        }
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
    let body = crate::wire::read_body(body, limit).await.map_err(|_| too_large())?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
