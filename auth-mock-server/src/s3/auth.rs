//! Authenticating S3 requests: SigV4 in the `Authorization` header or in a presigned URL's
//! query, against credentials the identity pools issued; then the payload as
//! `x-amz-content-sha256` describes it.

use std::collections::BTreeMap;

use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::chunked::{self, ChunkSigning};
use super::error::S3Error;
use super::sigv4::{
    self, AuthorizationHeader, Credential, hex, hmac, same_signature, sha256_hex, signing_key,
};
use super::{MAX_OBJECT_BYTES, query_params, too_large, xml};
use crate::Shared;
use crate::identity::Refusal;

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
pub(super) struct Authenticated {
    payload: Payload,
    chunk_signing: ChunkSigning,
    pub(super) region: String,
}

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The secret of issued, unexpired credentials, from the session token that carries them.
fn secret_for(
    shared: &Shared,
    access_key_id: &str,
    token: Option<&str>,
) -> Result<String, S3Error> {
    let unknown = || {
        S3Error::new(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
        .with("AWSAccessKeyId", access_key_id)
    };
    // Identity-pool credentials are temporary: without a session token they are unknown.
    let Some(token) = token else { return Err(unknown()) };
    let opened = match shared.identity.state.read().credentials.open(access_key_id, token) {
        Ok(opened) => opened,
        Err(Refusal::OtherKey) => return Err(unknown()),
        Err(Refusal::Malformed) => {
            return Err(S3Error::new(
                400,
                "InvalidToken",
                "The provided token is malformed or otherwise invalid.",
            ));
        }
    };
    if opened.info.expires_at <= shared.clock.now_secs() {
        return Err(S3Error::new(400, "ExpiredToken", "The provided token has expired."));
    }
    Ok(opened.secret_access_key)
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

pub(super) fn authenticate(shared: &Shared, parts: &Parts) -> Result<Authenticated, S3Error> {
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
pub(super) fn decode_payload(
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
