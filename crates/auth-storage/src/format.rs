//! The stored record: a versioned JSON envelope holding the generation and the session,
//! the session optionally encrypted.
//!
//! Version 1, plain:
//! ```json
//! {"format":"auth-storage/session","version":1,"namespace":"pool.client",
//!  "generation":1732871234567890,"session":{...}}
//! ```
//! A cleared store keeps its generation in a record without `session` (a tombstone).
//! Encrypted, `session` is replaced by
//! `"encryption":{"algorithm":"XChaCha20-Poly1305","key_id":"…","nonce":"…","ciphertext":"…"}`
//! whose plaintext is the session's JSON (or `null` for a tombstone). The associated data
//! binds the format, version, namespace, generation and key id, so none of them can be
//! changed (or a ciphertext moved to another namespace or generation) without detection.
//!
//! Migration path: readers first parse only `format` and `version`. A version above
//! [`VERSION`] is refused untouched (a newer library wrote it); older versions get a
//! decoder here and are rewritten in the current version by the next write.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::{Generation, StoreError, StoredSession};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, AeadInPlace, Payload};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::key::Cipher;
use crate::namespace::Namespace;

/// The value of the `format` field: what this file is.
pub(crate) const FORMAT: &str = "auth-storage/session";
/// The newest record version this library reads and the one it writes.
pub(crate) const VERSION: u32 = 1;
/// The only algorithm of version 1.
const ALGORITHM: &str = "XChaCha20-Poly1305";

/// What a reader needs before it knows the version.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

/// The generation a damaged record claims, if it can be read.
#[derive(Deserialize)]
struct Claim {
    generation: u64,
}

#[derive(Serialize)]
struct RecordOut<'a> {
    format: &'static str,
    version: u32,
    namespace: &'a str,
    generation: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a StoredSession>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption: Option<Encryption<'a>>,
}

/// A version 1 record, read in one pass. It borrows from the input: the session's JSON is
/// parsed from the input bytes (which the caller zeroes) without an intermediate copy.
#[derive(Deserialize)]
struct RecordIn<'a> {
    #[serde(borrow)]
    format: Cow<'a, str>,
    version: u32,
    #[serde(borrow)]
    namespace: Cow<'a, str>,
    generation: u64,
    #[serde(default, borrow)]
    session: Option<&'a RawValue>,
    #[serde(default, borrow)]
    encryption: Option<Encryption<'a>>,
}

#[derive(Serialize, Deserialize)]
struct Encryption<'a> {
    #[serde(borrow)]
    algorithm: Cow<'a, str>,
    #[serde(borrow)]
    key_id: Cow<'a, str>,
    #[serde(borrow)]
    nonce: Cow<'a, str>,
    #[serde(borrow)]
    ciphertext: Cow<'a, str>,
}

/// A record that was read successfully.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) generation: Generation,
    pub(crate) session: Option<StoredSession>,
    /// True if the record was not encrypted although the store has a key: the next write
    /// encrypts it.
    pub(crate) plaintext_with_key: bool,
}

/// Why a record could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// Unreadable as a record of ours: move it aside. `generation` is the generation the
    /// record claimed, if that much could be read.
    Damaged { message: String, generation: Option<Generation> },
    /// Intact as far as we can tell, but not ours to read: leave it where it is.
    Refused(String),
}

/// The generation after `current`: one more, or the current time in microseconds since
/// the epoch if that is larger. Jumping to the clock means a location that was deleted,
/// or whose damaged record had to be moved aside, starts again above every generation it
/// handed out before (unless the system clock went back), so a stale writer still
/// conflicts.
pub(crate) fn next_generation(current: Generation) -> Generation {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    current.next().max(Generation(now))
}

/// The generation of the tombstone left where a damaged record was: above the generation
/// the record claimed, if it claimed a plausible one. A damaged record is untrusted, and a
/// claim near `u64::MAX` would leave no room for later writes to grow.
pub(crate) fn tombstone_generation(claimed: Option<Generation>) -> Generation {
    next_generation(claimed.filter(|g| g.0 < u64::MAX / 2).unwrap_or(Generation::NEW))
}

/// The generation a write over `current` gets, or `Refused` if the counter is exhausted
/// (only a hand-edited record can get there: the clock would take 290,000 years).
pub(crate) fn write_generation(current: Generation) -> Result<Generation, StoreError> {
    let next = next_generation(current);
    if next > current {
        Ok(next)
    } else {
        Err(StoreError::Refused(format!(
            "the store's generation counter is exhausted ({current}); the record was edited by \
             hand"
        )))
    }
}

fn associated_data(namespace: &str, generation: u64, key_id: &str) -> Vec<u8> {
    format!("{FORMAT}\0v{VERSION}\0{namespace}\0{generation}\0{key_id}").into_bytes()
}

/// Serialises `value` into a buffer that is zeroed on drop. The size is measured first so
/// the buffer never reallocates (a reallocation would leave an unzeroed copy behind).
fn to_zeroizing_json<T: Serialize + ?Sized>(value: &T) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let unserialisable = |error: serde_json::Error| {
        StoreError::Refused(format!("cannot serialise the session: {error}"))
    };
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).map_err(unserialisable)?;
    let mut buffer = Zeroizing::new(Vec::with_capacity(counter.0));
    serde_json::to_writer(&mut *buffer, value).map_err(unserialisable)?;
    Ok(buffer)
}

/// The bytes of a record at `generation` holding `session` (`None`: a tombstone).
pub(crate) fn encode(
    namespace: &Namespace,
    generation: Generation,
    session: Option<&StoredSession>,
    cipher: Option<&Cipher>,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let Some(cipher) = cipher else {
        return to_zeroizing_json(&RecordOut {
            format: FORMAT,
            version: VERSION,
            namespace: namespace.key(),
            generation: generation.0,
            session,
            encryption: None,
        });
    };
    let plaintext = to_zeroizing_json(&session)?;
    let mut nonce = XNonce::default();
    rand::rng().fill_bytes(nonce.as_mut_slice());
    let aad = associated_data(namespace.key(), generation.0, &cipher.key_id);
    let ciphertext = cipher
        .aead
        .encrypt(&nonce, Payload { msg: plaintext.as_slice(), aad: &aad })
        .map_err(|_| StoreError::Refused("encryption failed".into()))?;
    to_zeroizing_json(&RecordOut {
        format: FORMAT,
        version: VERSION,
        namespace: namespace.key(),
        generation: generation.0,
        session: None,
        encryption: Some(Encryption {
            algorithm: Cow::Borrowed(ALGORITHM),
            key_id: Cow::Borrowed(&cipher.key_id),
            nonce: Cow::Owned(BASE64.encode(nonce)),
            ciphertext: Cow::Owned(BASE64.encode(ciphertext)),
        }),
    })
}

/// Reads a record for `namespace`, decrypting with `cipher` if it is encrypted.
pub(crate) fn decode(
    bytes: &[u8],
    namespace: &Namespace,
    cipher: Option<&Cipher>,
) -> Result<Decoded, DecodeError> {
    // The fast path reads a current record in one pass; anything else (another version,
    // damage) is sorted out by `classify`, which reads only the header.
    let record = match serde_json::from_slice::<RecordIn<'_>>(bytes) {
        Ok(record) if record.format == FORMAT && record.version == VERSION => record,
        Ok(_) => return Err(classify(bytes, None)),
        Err(error) => return Err(classify(bytes, Some(&error))),
    };
    let claimed = Some(Generation(record.generation));
    let damaged = |message: String| DecodeError::Damaged { message, generation: claimed };
    if record.namespace != namespace.key() {
        return Err(DecodeError::Refused(format!(
            "the record belongs to namespace {:?}, not {:?} (was it copied from elsewhere?); \
             it is left untouched",
            record.namespace,
            namespace.key()
        )));
    }
    let generation = Generation(record.generation);
    let Some(encryption) = record.encryption else {
        let session = match record.session {
            Some(raw) => parse_session(raw.get().as_bytes()).map_err(damaged)?,
            None => None,
        };
        return Ok(Decoded { generation, session, plaintext_with_key: cipher.is_some() });
    };
    if record.session.is_some() {
        return Err(damaged("the record holds both a plain and an encrypted session".into()));
    }
    if encryption.algorithm != ALGORITHM {
        return Err(DecodeError::Refused(format!(
            "the session is encrypted with {:?}, which this library does not support",
            encryption.algorithm
        )));
    }
    let Some(cipher) = cipher else {
        return Err(DecodeError::Refused(
            "the session is encrypted but no key was configured (set AUTH_STORE_KEY or \
             configure a key); the file is left untouched"
                .into(),
        ));
    };
    if encryption.key_id != cipher.key_id {
        return Err(DecodeError::Refused(format!(
            "the session was encrypted with another key (key id {}, configured key id {}); \
             check the configured key (the file is left untouched)",
            encryption.key_id, cipher.key_id
        )));
    }
    let mut nonce = XNonce::default();
    let nonce_ok = BASE64
        .decode_slice(encryption.nonce.as_bytes(), nonce.as_mut_slice())
        .is_ok_and(|len| len == nonce.len());
    if !nonce_ok {
        return Err(damaged("the nonce is not 24 bytes of base64".into()));
    }
    let mut buffer = Zeroizing::new(
        BASE64
            .decode(encryption.ciphertext.as_bytes())
            .map_err(|_| damaged("the ciphertext is not base64".into()))?,
    );
    let aad = associated_data(&record.namespace, record.generation, &encryption.key_id);
    cipher.aead.decrypt_in_place(&nonce, &aad, &mut *buffer).map_err(|_| {
        damaged("the ciphertext failed authentication (corrupted or altered)".into())
    })?;
    let session = parse_session(&buffer).map_err(damaged)?;
    Ok(Decoded { generation, session, plaintext_with_key: false })
}

fn parse_session(json: &[u8]) -> Result<Option<StoredSession>, String> {
    serde_json::from_slice(json)
        .map_err(|error| format!("the session is unreadable ({})", describe_json_error(&error)))
}

/// Why a record that is not a readable current record failed: newer (refused), or damaged
/// (with the generation it claimed, if that much is readable).
fn classify(bytes: &[u8], error: Option<&serde_json::Error>) -> DecodeError {
    let header: Header = match serde_json::from_slice(bytes) {
        Ok(header) => header,
        Err(header_error) => {
            return DecodeError::Damaged {
                message: format!(
                    "not a session record ({})",
                    describe_json_error(error.unwrap_or(&header_error))
                ),
                generation: None,
            };
        }
    };
    let claimed =
        serde_json::from_slice::<Claim>(bytes).ok().map(|claim| Generation(claim.generation));
    if header.format != FORMAT {
        return DecodeError::Damaged {
            message: format!("not a session record (format {:?})", header.format),
            generation: None,
        };
    }
    if header.version > VERSION {
        return DecodeError::Refused(format!(
            "the session was written in format version {}, newer than the {VERSION} this \
             library reads; upgrade the application (the file is left untouched)",
            header.version
        ));
    }
    if header.version != VERSION {
        return DecodeError::Damaged {
            message: format!("unknown format version {}", header.version),
            generation: claimed,
        };
    }
    let message = match error {
        Some(error) => format!("unreadable session record ({})", describe_json_error(error)),
        None => "unreadable session record".to_owned(),
    };
    DecodeError::Damaged { message, generation: claimed }
}

/// A JSON error without the offending input: serde_json messages can quote parts of the
/// document, and the document holds tokens.
fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match error.classify() {
        Category::Io => "read error",
        Category::Syntax => "invalid JSON",
        Category::Data => "unexpected content",
        Category::Eof => "truncated",
    };
    format!("{kind} at line {} column {}", error.line(), error.column())
}

#[cfg(test)]
mod tests {
    use auth_core::testing::conformance::token_store::sample_session;

    use super::*;
    use crate::key::EncryptionKey;

    fn ns() -> Namespace {
        Namespace::new("pool.client").unwrap()
    }

    #[test]
    fn plain_round_trip_and_tombstone() {
        let session = sample_session("x");
        let bytes = encode(&ns(), Generation(7), Some(&session), None).unwrap();
        let decoded = decode(&bytes, &ns(), None).unwrap();
        assert_eq!(decoded.generation, Generation(7));
        assert_eq!(decoded.session, Some(session));
        let tombstone = encode(&ns(), Generation(8), None, None).unwrap();
        let decoded = decode(&tombstone, &ns(), None).unwrap();
        assert_eq!((decoded.generation, decoded.session), (Generation(8), None));
    }

    #[test]
    fn encrypted_round_trip_hides_the_tokens() {
        let cipher = EncryptionKey::generate().cipher();
        let session = sample_session("secret-tag");
        let bytes = encode(&ns(), Generation(3), Some(&session), Some(&cipher)).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!text.contains("secret-tag"), "{text}");
        let decoded = decode(&bytes, &ns(), Some(&cipher)).unwrap();
        assert_eq!(decoded.session, Some(session));
        assert!(!decoded.plaintext_with_key);
    }

    #[test]
    fn tampered_generation_or_namespace_fails_authentication() {
        let cipher = EncryptionKey::generate().cipher();
        let bytes =
            encode(&ns(), Generation(3), Some(&sample_session("a")), Some(&cipher)).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let bumped = text.replace("\"generation\":3", "\"generation\":4");
        assert!(matches!(
            decode(bumped.as_bytes(), &ns(), Some(&cipher)),
            Err(DecodeError::Damaged { generation: Some(Generation(4)), .. })
        ));
        let other = Namespace::new("other").unwrap();
        let moved = text.replace("pool.client", "other");
        assert!(matches!(
            decode(moved.as_bytes(), &other, Some(&cipher)),
            Err(DecodeError::Damaged { .. })
        ));
    }

    #[test]
    fn errors_never_quote_the_record() {
        let bytes = encode(&ns(), Generation(1), Some(&sample_session("leak")), None).unwrap();
        let cut = &bytes[..bytes.len() - 40];
        match decode(cut, &ns(), None) {
            Err(DecodeError::Damaged { message, .. }) => {
                assert!(!message.contains("leak"), "{message}");
                assert!(message.contains("truncated"), "{message}");
            }
            other => panic!("expected damage, got {other:?}"),
        }
    }

    #[test]
    fn a_newer_version_is_refused_whatever_its_shape() {
        let newer =
            br#"{"format":"auth-storage/session","version":2,"generation":"g","namespace":5}"#;
        assert!(matches!(decode(newer, &ns(), None), Err(DecodeError::Refused(_))));
        let older = br#"{"format":"auth-storage/session","version":0,"generation":4}"#;
        assert!(matches!(
            decode(older, &ns(), None),
            Err(DecodeError::Damaged { generation: Some(Generation(4)), .. })
        ));
    }

    #[test]
    fn implausible_generations_are_not_trusted() {
        let huge = Some(Generation(u64::MAX));
        assert!(tombstone_generation(huge) < Generation(u64::MAX / 2));
        assert!(tombstone_generation(Some(Generation(5))) > Generation(5));
        assert!(write_generation(Generation(u64::MAX)).is_err());
        assert!(write_generation(Generation(7)).unwrap() > Generation(7));
    }

    #[test]
    fn generations_jump_to_the_clock() {
        let next = next_generation(Generation(5));
        assert!(next.0 > 1_600_000_000_000_000, "{next}");
        let far = Generation(u64::MAX - 1);
        assert_eq!(next_generation(far), Generation(u64::MAX));
    }
}
