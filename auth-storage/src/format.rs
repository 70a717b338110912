//! The stored record: a versioned JSON envelope holding the generation and a payload (a
//! session, or the document of a [`FileDocumentStore`](crate::FileDocumentStore)), the
//! payload optionally encrypted.
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
//! A document record has the same shape with the format `auth-storage/<kind>` (for
//! example `auth-storage/devices`) and its payload under `document` instead of `session`.
//! The format is checked before anything else and is part of the associated data, so a
//! record of one kind is never read as another: a reader refuses (and leaves in place) a
//! record of another auth-storage kind.
//!
//! Migration path: readers first parse only `format` and `version`. A version above
//! [`VERSION`] is refused untouched (a newer library wrote it); older versions get a
//! decoder here and are rewritten in the current version by the next write.

use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::{Generation, StoreError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, AeadInPlace, Payload};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::key::Cipher;
use crate::namespace::Namespace;

/// The value of the `format` field of a session record.
pub(crate) const FORMAT: &str = "auth-storage/session";
/// The prefix of every format this library writes.
const FORMAT_PREFIX: &str = "auth-storage/";
/// The newest record version this library reads and the one it writes.
pub(crate) const VERSION: u32 = 1;
/// The only algorithm of version 1.
const ALGORITHM: &str = "XChaCha20-Poly1305";

/// What a record holds: its `format`, the field its payload is under and the words that
/// name it in messages and file names.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Kind {
    /// The value of the `format` field.
    pub(crate) format: Cow<'static, str>,
    /// What the payload is called in messages: "session", "devices document".
    pub(crate) what: Cow<'static, str>,
    /// The extension of the record file: "session", "devices".
    pub(crate) suffix: Cow<'static, str>,
    /// True for sessions, whose payload is under `session`; documents use `document`.
    session_field: bool,
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format)
    }
}

impl Kind {
    /// The records of token stores.
    pub(crate) const SESSION: Kind = Kind {
        format: Cow::Borrowed(FORMAT),
        what: Cow::Borrowed("session"),
        suffix: Cow::Borrowed("session"),
        session_field: true,
    };

    /// The records of a document store of kind `name`, which the caller has validated.
    pub(crate) fn document(name: &str) -> Kind {
        Kind {
            format: Cow::Owned(format!("{FORMAT_PREFIX}{name}")),
            what: Cow::Owned(format!("{name} document")),
            suffix: Cow::Owned(name.to_owned()),
            session_field: false,
        }
    }
}

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
struct RecordOut<'a, T> {
    format: &'a str,
    version: u32,
    namespace: &'a str,
    generation: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<&'a T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption: Option<Encryption<'a>>,
}

/// A version 1 record, read in one pass. It borrows from the input: the payload's JSON is
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
    document: Option<&'a RawValue>,
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
pub(crate) struct Decoded<T> {
    pub(crate) generation: Generation,
    pub(crate) payload: Option<T>,
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

fn associated_data(format: &str, namespace: &str, generation: u64, key_id: &str) -> Vec<u8> {
    format!("{format}\0v{VERSION}\0{namespace}\0{generation}\0{key_id}").into_bytes()
}

/// Serialises `value` into a buffer that is zeroed on drop. The size is measured first so
/// the buffer never reallocates (a reallocation would leave an unzeroed copy behind).
fn to_zeroizing_json<T: Serialize + ?Sized>(
    value: &T,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
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
        StoreError::Refused(format!("cannot serialise the {what}: {error}"))
    };
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).map_err(unserialisable)?;
    let mut buffer = Zeroizing::new(Vec::with_capacity(counter.0));
    serde_json::to_writer(&mut *buffer, value).map_err(unserialisable)?;
    Ok(buffer)
}

/// The bytes of a record of `kind` at `generation` holding `payload` (`None`: a
/// tombstone).
pub(crate) fn encode<T: Serialize>(
    kind: &Kind,
    namespace: &Namespace,
    generation: Generation,
    payload: Option<&T>,
    cipher: Option<&Cipher>,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let mut record = RecordOut {
        format: &kind.format,
        version: VERSION,
        namespace: namespace.key(),
        generation: generation.0,
        session: None,
        document: None,
        encryption: None,
    };
    let Some(cipher) = cipher else {
        if kind.session_field {
            record.session = payload;
        } else {
            record.document = payload;
        }
        return to_zeroizing_json(&record, &kind.what);
    };
    let plaintext = to_zeroizing_json(&payload, &kind.what)?;
    let mut nonce = XNonce::default();
    rand::rng().fill_bytes(nonce.as_mut_slice());
    let aad = associated_data(&kind.format, namespace.key(), generation.0, &cipher.key_id);
    let ciphertext = cipher
        .aead
        .encrypt(&nonce, Payload { msg: plaintext.as_slice(), aad: &aad })
        .map_err(|_| StoreError::Refused("encryption failed".into()))?;
    record.encryption = Some(Encryption {
        algorithm: Cow::Borrowed(ALGORITHM),
        key_id: Cow::Borrowed(&cipher.key_id),
        nonce: Cow::Owned(BASE64.encode(nonce)),
        ciphertext: Cow::Owned(BASE64.encode(ciphertext)),
    });
    to_zeroizing_json(&record, &kind.what)
}

/// Reads a record of `kind` for `namespace`, decrypting with `cipher` if it is encrypted.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    kind: &Kind,
    namespace: &Namespace,
    cipher: Option<&Cipher>,
) -> Result<Decoded<T>, DecodeError> {
    // The fast path reads a current record in one pass; anything else (another version,
    // damage) is sorted out by `classify`, which reads only the header.
    let record = match serde_json::from_slice::<RecordIn<'_>>(bytes) {
        Ok(record) if record.format == kind.format && record.version == VERSION => record,
        Ok(_) => return Err(classify(bytes, kind, None)),
        Err(error) => return Err(classify(bytes, kind, Some(&error))),
    };
    let what = &kind.what;
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
    // The field of the other kind, if present, is ignored like any unknown field.
    let plain = if kind.session_field { record.session } else { record.document };
    let Some(encryption) = record.encryption else {
        let payload = match plain {
            Some(raw) => parse_payload(raw.get().as_bytes(), what).map_err(damaged)?,
            None => None,
        };
        return Ok(Decoded { generation, payload, plaintext_with_key: cipher.is_some() });
    };
    if plain.is_some() {
        return Err(damaged(format!("the record holds both a plain and an encrypted {what}")));
    }
    if encryption.algorithm != ALGORITHM {
        return Err(DecodeError::Refused(format!(
            "the {what} is encrypted with {:?}, which this library does not support",
            encryption.algorithm
        )));
    }
    let Some(cipher) = cipher else {
        return Err(DecodeError::Refused(format!(
            "the {what} is encrypted but no key was configured (set AUTH_STORE_KEY or \
             configure a key); the file is left untouched"
        )));
    };
    if encryption.key_id != cipher.key_id {
        return Err(DecodeError::Refused(format!(
            "the {what} was encrypted with another key (key id {}, configured key id {}); \
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
    let aad =
        associated_data(&kind.format, &record.namespace, record.generation, &encryption.key_id);
    cipher.aead.decrypt_in_place(&nonce, &aad, &mut *buffer).map_err(|_| {
        damaged("the ciphertext failed authentication (corrupted or altered)".into())
    })?;
    let payload = parse_payload(&buffer, what).map_err(damaged)?;
    Ok(Decoded { generation, payload, plaintext_with_key: false })
}

fn parse_payload<T: DeserializeOwned>(json: &[u8], what: &str) -> Result<Option<T>, String> {
    serde_json::from_slice(json)
        .map_err(|error| format!("the {what} is unreadable ({})", describe_json_error(&error)))
}

/// Why a record that is not a readable current record failed: newer (refused), or damaged
/// (with the generation it claimed, if that much is readable).
fn classify(bytes: &[u8], kind: &Kind, error: Option<&serde_json::Error>) -> DecodeError {
    let what = &kind.what;
    let header: Header = match serde_json::from_slice(bytes) {
        Ok(header) => header,
        Err(header_error) => {
            return DecodeError::Damaged {
                message: format!(
                    "not a {what} record ({})",
                    describe_json_error(error.unwrap_or(&header_error))
                ),
                generation: None,
            };
        }
    };
    let claimed =
        serde_json::from_slice::<Claim>(bytes).ok().map(|claim| Generation(claim.generation));
    if header.format != kind.format {
        // A record of another kind of this library is intact and somebody's data, put in
        // the wrong place: leave it there, like a record of another namespace.
        if header.format.starts_with(FORMAT_PREFIX) {
            return DecodeError::Refused(format!(
                "the file holds a record of format {:?}, not {:?} (was it copied or renamed?); \
                 it is left untouched",
                header.format, kind.format
            ));
        }
        return DecodeError::Damaged {
            message: format!("not a {what} record (format {:?})", header.format),
            generation: None,
        };
    }
    if header.version > VERSION {
        return DecodeError::Refused(format!(
            "the {what} was written in format version {}, newer than the {VERSION} this \
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
        Some(error) => format!("unreadable {what} record ({})", describe_json_error(error)),
        None => format!("unreadable {what} record"),
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
    use auth_core::StoredSession;
    use auth_core::testing::conformance::token_store::sample_session;

    use super::*;
    use crate::key::EncryptionKey;

    /// [`super::encode`] for sessions.
    fn encode(
        namespace: &Namespace,
        generation: Generation,
        session: Option<&StoredSession>,
        cipher: Option<&Cipher>,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        super::encode(&Kind::SESSION, namespace, generation, session, cipher)
    }

    /// [`super::decode`] for sessions.
    fn decode(
        bytes: &[u8],
        namespace: &Namespace,
        cipher: Option<&Cipher>,
    ) -> Result<Decoded<StoredSession>, DecodeError> {
        super::decode(bytes, &Kind::SESSION, namespace, cipher)
    }

    fn ns() -> Namespace {
        Namespace::new("pool.client").unwrap()
    }

    #[test]
    fn plain_round_trip_and_tombstone() {
        let session = sample_session("x");
        let bytes = encode(&ns(), Generation(7), Some(&session), None).unwrap();
        let decoded = decode(&bytes, &ns(), None).unwrap();
        assert_eq!(decoded.generation, Generation(7));
        assert_eq!(decoded.payload, Some(session));
        let tombstone = encode(&ns(), Generation(8), None, None).unwrap();
        let decoded = decode(&tombstone, &ns(), None).unwrap();
        assert_eq!((decoded.generation, decoded.payload), (Generation(8), None));
    }

    #[test]
    fn encrypted_round_trip_hides_the_tokens() {
        let cipher = EncryptionKey::generate().cipher();
        let session = sample_session("secret-tag");
        let bytes = encode(&ns(), Generation(3), Some(&session), Some(&cipher)).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!text.contains("secret-tag"), "{text}");
        let decoded = decode(&bytes, &ns(), Some(&cipher)).unwrap();
        assert_eq!(decoded.payload, Some(session));
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
    fn documents_use_their_own_format_and_field() {
        let devices = Kind::document("devices");
        let value = serde_json::json!({"alice": "a"});
        let bytes = super::encode(&devices, &ns(), Generation(2), Some(&value), None).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert_eq!(
            text,
            r#"{"format":"auth-storage/devices","version":1,"namespace":"pool.client","generation":2,"document":{"alice":"a"}}"#
        );
        let decoded: Decoded<serde_json::Value> =
            super::decode(&bytes, &devices, &ns(), None).unwrap();
        assert_eq!(decoded.payload, Some(value));
        // Neither kind reads the other's record, and neither moves it aside.
        assert!(matches!(decode(&bytes, &ns(), None), Err(DecodeError::Refused(_))));
        let session = encode(&ns(), Generation(2), Some(&sample_session("s")), None).unwrap();
        assert!(matches!(
            super::decode::<serde_json::Value>(&session, &devices, &ns(), None),
            Err(DecodeError::Refused(_))
        ));
    }

    #[test]
    fn the_format_is_bound_into_the_ciphertext() {
        let cipher = EncryptionKey::generate().cipher();
        let (devices, other) = (Kind::document("devices"), Kind::document("other"));
        let bytes =
            super::encode(&devices, &ns(), Generation(3), Some(&"x"), Some(&cipher)).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let renamed = text.replace("auth-storage/devices", "auth-storage/other");
        assert!(matches!(
            super::decode::<String>(renamed.as_bytes(), &other, &ns(), Some(&cipher)),
            Err(DecodeError::Damaged { .. })
        ));
        let decoded: Decoded<String> =
            super::decode(&bytes, &devices, &ns(), Some(&cipher)).unwrap();
        assert_eq!(decoded.payload.as_deref(), Some("x"));
    }

    #[test]
    fn generations_jump_to_the_clock() {
        let next = next_generation(Generation(5));
        assert!(next.0 > 1_600_000_000_000_000, "{next}");
        let far = Generation(u64::MAX - 1);
        assert_eq!(next_generation(far), Generation(u64::MAX));
    }
}
