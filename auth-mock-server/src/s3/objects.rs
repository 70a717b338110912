//! The bucket and object operations, once a request is authenticated.

use std::collections::BTreeMap;
use std::ops::Bound;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::auth::header_str;
use super::error::S3Error;
use super::sigv4::{self, hex};
use super::{Bucket, NS, Object, Store, chunked, path_decode, xml};

pub(super) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

pub(super) fn xml_response(xml: String) -> Response<Body> {
    let mut response = Response::new(Body::from(xml));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    response
}

pub(super) fn list_buckets(store: &Store) -> Response<Body> {
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

pub(super) fn list_objects(
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

pub(super) fn put_object(
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

pub(super) fn copy_object(
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

pub(super) fn get_object(
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
}
