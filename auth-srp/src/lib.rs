//! Cognito's SRP-6a variant and `SECRET_HASH`, shared by the Cognito client and the mock server.
//!
//! Amazon Cognito signs users in with a variant of SRP-6a (RFC 5054 group, SHA-256) whose
//! integers are hashed in a *minimal two's-complement* encoding ([`pad_hex`]) instead of
//! RFC 5054's fixed width, whose session key comes from HKDF with the info string
//! `"Caldera Derived Key"`, and whose proof is an HMAC over the pool name, the user id, an
//! opaque secret block and a timestamp. Both sides live here so the client (`auth-cognito`)
//! and the local server (`auth-mock-server`) share one implementation, which is checked
//! against the reference test vector and vectors from an independent client (pycognito).
//!
//! # Client side (USER_SRP_AUTH)
//! ```
//! use auth_srp::{ClientEphemeral, PasswordChallenge};
//! # use auth_srp::{ServerEphemeral, Verifier};
//! # let verifier = Verifier::with_salt_bytes("ExAmPlE12", "alice", "Passw0rd!", &[0xa3; 16]);
//! # let server = ServerEphemeral::new(verifier.verifier());
//! let client = ClientEphemeral::new();
//! let srp_a = client.public_hex(); // send as AuthParameters.SRP_A
//! // ... the server answers PASSWORD_VERIFIER with SALT, SRP_B, SECRET_BLOCK, USER_ID_FOR_SRP.
//! # let (salt_hex, srp_b) = (verifier.salt_hex(), server.public_hex());
//! // pool name, USER_ID_FOR_SRP, SALT, SRP_B, SECRET_BLOCK:
//! let challenge = PasswordChallenge::new("ExAmPlE12", "alice", &salt_hex, &srp_b, "AAECAw==");
//! let timestamp = auth_srp::format_timestamp(std::time::SystemTime::now());
//! let signature = client.password_claim_signature(&challenge, "Passw0rd!", &timestamp)?;
//! # let key = server.session_key(client.public())?;
//! # assert!(key.verify_signature("ExAmPlE12", "alice", &[0, 1, 2, 3], &timestamp, &signature));
//! # Ok::<(), auth_srp::SrpError>(())
//! ```
//!
//! # Server side
//! Store a [`Verifier`] when a password is set; on `USER_SRP_AUTH` build a
//! [`ServerEphemeral`] from it, send its [`ServerEphemeral::public_hex`] as `SRP_B`, then check
//! the client's `PASSWORD_CLAIM_SIGNATURE` with [`SessionKey::verify_signature`].
//!
//! # Devices
//! [`DeviceVerifierConfig::generate`] produces what `ConfirmDevice` sends; device sign-in is the
//! same maths with the device group key as pool name and the device key as user id.
//!
//! This crate does no IO. All hashing uses RustCrypto crates; integers are `num-bigint`
//! values. Exponentiation modulo N takes one of two paths:
//!
//! - the client's ([`ClientEphemeral`], [`DeviceVerifierConfig`]), whose exponents derive
//!   from the password, the device secret or the private a, runs in constant time on
//!   `crypto-bigint`'s Montgomery arithmetic, with a masked fixed-base table for powers of
//!   g: its duration does not depend on the secrets;
//! - the server's ([`Verifier`], [`ServerEphemeral`]) uses the crate's own, faster,
//!   table-based Montgomery arithmetic (about nine times faster than `num-bigint`'s
//!   `modpow` for g^b and g^x, 1.4 times for the other exponentiations), which is not
//!   hardened against timing side channels: the mock server's b is fresh per challenge and
//!   its verifiers are test data.
//!
//! Both paths give the same values (a property test checks it); `cargo bench -p auth-srp
//! --bench srp` times each step on both.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod client;
mod constant_time;
mod device;
mod error;
mod group;
mod key;
mod modexp;
mod secret_hash;
mod server;
mod timestamp;

pub use client::{ClientEphemeral, PasswordChallenge};
pub use device::DeviceVerifierConfig;
pub use error::SrpError;
pub use group::{
    N_HEX, check_public, compute_u, compute_x, g, k, n, pad_bytes, pad_hex, parse_hex, pool_name,
};
pub use key::SessionKey;
pub use num_bigint::BigUint;
pub use secret_hash::secret_hash;
pub use server::{ServerEphemeral, Verifier};
pub use timestamp::{format_timestamp, parse_timestamp};

/// Decodes a base64 string the way Cognito clients do: the standard alphabet, or the URL-safe
/// one, with or without padding (amplify-js v6 tolerates both, so the server must too).
pub fn decode_base64_lenient(field: &'static str, value: &str) -> Result<Vec<u8>, SrpError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let trimmed = value.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(trimmed).ok())
        .ok_or(SrpError::InvalidBase64 { field })
}
