//! `Content-Encoding: aws-chunked` bodies, signed chunk by chunk
//! (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`) or unsigned with a checksum trailer
//! (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, what `aws-sdk-s3` sends for streaming bodies).
//!
//! ```text
//! <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
//! [<trailer name>:<value>\r\n ... [x-amz-trailer-signature:<sig>\r\n]]\r\n
//! ```

use sha2::{Digest as _, Sha256};

use super::error::S3Error;
use super::sigv4::{hex, hmac, same_signature, sha256_hex};

/// What chunk signatures are checked against.
#[derive(Debug, Clone)]
pub(crate) struct ChunkSigning {
    pub(crate) key: [u8; 32],
    pub(crate) amz_date: String,
    pub(crate) scope: String,
    /// The request's (seed) signature.
    pub(crate) seed: String,
}

/// A decoded body.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub(crate) data: Vec<u8>,
    /// Trailing headers, names in lower case (without the trailer signature).
    pub(crate) trailers: Vec<(String, String)>,
}

fn incomplete() -> S3Error {
    S3Error::new(400, "IncompleteBody", "The request body is not a valid aws-chunked encoding.")
}

fn chunk_signature_mismatch() -> S3Error {
    S3Error::new(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided (chunk signature).",
    )
}

/// Splits off one CRLF-terminated line.
fn line(body: &[u8]) -> Result<(&[u8], &[u8]), S3Error> {
    let end = body.windows(2).position(|w| w == b"\r\n").ok_or_else(incomplete)?;
    Ok((&body[..end], &body[end + 2..]))
}

/// Decodes an aws-chunked body, checking chunk signatures when `signing` is given (and the
/// trailer signature when `signed_trailer`).
pub(crate) fn decode(
    body: &[u8],
    signing: Option<&ChunkSigning>,
    signed_trailer: bool,
    limit: usize,
) -> Result<Decoded, S3Error> {
    let empty_hash = sha256_hex(b"");
    let mut previous = signing.map(|s| s.seed.clone()).unwrap_or_default();
    let mut decoded = Decoded::default();
    let mut rest = body;
    loop {
        let (header, after) = line(rest)?;
        let header = std::str::from_utf8(header).map_err(|_| incomplete())?;
        let (size, extensions) = header.split_once(';').unwrap_or((header, ""));
        let size = size.trim();
        if size.is_empty() || size.len() > 16 {
            return Err(incomplete());
        }
        let size = usize::from_str_radix(size, 16).map_err(|_| incomplete())?;
        if size > after.len() || decoded.data.len().saturating_add(size) > limit {
            return Err(if size > after.len() {
                incomplete()
            } else {
                S3Error::new(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size.",
                )
            });
        }
        let data = &after[..size];
        if let Some(signing) = signing {
            let given = extensions
                .split(';')
                .find_map(|e| e.trim().strip_prefix("chunk-signature="))
                .ok_or_else(chunk_signature_mismatch)?;
            let string_to_sign = format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{previous}\n{empty_hash}\n{}",
                signing.amz_date,
                signing.scope,
                hex(&Sha256::digest(data))
            );
            let expected = hex(&hmac(&signing.key, string_to_sign.as_bytes()));
            if !same_signature(&expected, &given.to_ascii_lowercase()) {
                return Err(chunk_signature_mismatch());
            }
            previous = expected;
        }
        decoded.data.extend_from_slice(data);
        rest = &after[size..];
        if size == 0 {
            break;
        }
        rest = rest.strip_prefix(b"\r\n").ok_or_else(incomplete)?;
    }
    // Trailers, then an empty line (some senders end the body right after the last chunk).
    let mut trailer_signature = None;
    let mut canonical_trailers = String::new();
    while !rest.is_empty() {
        let (header, after) = line(rest)?;
        rest = after;
        if header.is_empty() {
            break;
        }
        let header = std::str::from_utf8(header).map_err(|_| incomplete())?;
        let (name, value) = header.split_once(':').ok_or_else(incomplete)?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        if name == "x-amz-trailer-signature" {
            trailer_signature = Some(value);
        } else {
            canonical_trailers.push_str(&format!("{name}:{value}\n"));
            decoded.trailers.push((name, value));
        }
    }
    if let (Some(signing), true) = (signing, signed_trailer) {
        let given = trailer_signature.ok_or_else(chunk_signature_mismatch)?;
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{previous}\n{}",
            signing.amz_date,
            signing.scope,
            sha256_hex(canonical_trailers.as_bytes())
        );
        let expected = hex(&hmac(&signing.key, string_to_sign.as_bytes()));
        if !same_signature(&expected, &given.to_ascii_lowercase()) {
            return Err(chunk_signature_mismatch());
        }
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::sigv4::signing_key;

    fn aws_example_signing() -> ChunkSigning {
        ChunkSigning {
            key: signing_key(
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "20130524",
                "us-east-1",
                "s3",
            ),
            amz_date: "20130524T000000Z".into(),
            scope: "20130524/us-east-1/s3/aws4_request".into(),
            seed: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9".into(),
        }
    }

    /// AWS's chunked upload example (Amazon S3 API reference, "Signature Calculations for the
    /// Authorization Header: Transferring Payload in Multiple Chunks").
    fn aws_example_body() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
        body.extend(std::iter::repeat_n(b'a', 65_536));
        body.extend_from_slice(b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
        body.extend(std::iter::repeat_n(b'a', 1024));
        body.extend_from_slice(b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
        body
    }

    #[test]
    fn aws_signed_chunks_example() {
        let body = aws_example_body();
        assert_eq!(body.len(), 66_824);
        let decoded = decode(&body, Some(&aws_example_signing()), false, 1 << 20).unwrap();
        assert_eq!(decoded.data.len(), 66_560);
        assert!(decoded.data.iter().all(|&b| b == b'a'));
        // One changed byte breaks the chain.
        let mut tampered = body.clone();
        tampered[200] = b'b';
        assert_eq!(
            decode(&tampered, Some(&aws_example_signing()), false, 1 << 20).unwrap_err().code,
            "SignatureDoesNotMatch"
        );
        // Too large for the limit.
        assert_eq!(
            decode(&body, Some(&aws_example_signing()), false, 1000).unwrap_err().code,
            "EntityTooLarge"
        );
    }

    #[test]
    fn unsigned_trailer_body() {
        let body = b"B\r\nHello world\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n";
        let decoded = decode(body, None, false, 100).unwrap();
        assert_eq!(decoded.data, b"Hello world");
        assert_eq!(
            decoded.trailers,
            vec![("x-amz-checksum-crc32".to_owned(), "i9aeUg==".to_owned())]
        );
        let empty = decode(b"0\r\n\r\n", None, false, 100).unwrap();
        assert!(empty.data.is_empty());
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for body in [
            &b""[..],
            b"zz\r\n",
            b"5\r\nabc",
            b"3\r\nabcXX0\r\n\r\n",
            b"ffffffffffffffffff\r\n",
            b"\xff\r\n",
        ] {
            assert!(decode(body, None, false, 100).is_err(), "{body:?}");
        }
    }
}
