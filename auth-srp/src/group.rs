//! The group (N, g), the multiplier k, Cognito's integer encoding and the hashes u and x.

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_traits::Zero as _;
use sha2::{Digest as _, Sha256};

use crate::SrpError;

/// The RFC 5054 3072-bit safe prime N that Cognito uses, as uppercase hexadecimal.
pub const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

struct Group {
    n: BigUint,
    g: BigUint,
    k: BigUint,
}

fn group() -> &'static Group {
    static GROUP: OnceLock<Group> = OnceLock::new();
    GROUP.get_or_init(|| {
        let n = BigUint::parse_bytes(N_HEX.as_bytes(), 16).expect("N_HEX is valid hexadecimal");
        let g = BigUint::from(2u32);
        let k = hash_to_int(&[&pad_bytes(&n), &pad_bytes(&g)]);
        Group { n, g, k }
    })
}

/// The modulus N (see [`N_HEX`]).
pub fn n() -> &'static BigUint {
    &group().n
}

/// The generator g = 2.
pub fn g() -> &'static BigUint {
    &group().g
}

/// The multiplier k = H(padHex(N) ‖ padHex(g)).
pub fn k() -> &'static BigUint {
    &group().k
}

/// Cognito's encoding of an integer for hashing: minimal big-endian two's complement, i.e. the
/// big-endian bytes with a `0x00` prepended when the high bit of the first byte is set (the same
/// bytes as Java's `BigInteger.toByteArray()`). Zero encodes as a single `0x00`.
pub fn pad_bytes(value: &BigUint) -> Vec<u8> {
    let bytes = value.to_bytes_be();
    if bytes[0] & 0x80 != 0 {
        let mut padded = Vec::with_capacity(bytes.len() + 1);
        padded.push(0);
        padded.extend_from_slice(&bytes);
        padded
    } else {
        // `to_bytes_be` of zero is `[0]`, which is already the wanted encoding.
        bytes
    }
}

/// [`pad_bytes`] as lowercase hexadecimal: the `padHex` function of Cognito's clients.
///
/// `pad_hex(200) == "00c8"`, `pad_hex(20) == "14"`.
pub fn pad_hex(value: &BigUint) -> String {
    hex_lower(&pad_bytes(value))
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Parses a hexadecimal integer as Cognito peers send it (any case, odd length allowed, leading
/// zeros allowed). `field` names the value in the error.
pub fn parse_hex(field: &'static str, value: &str) -> Result<BigUint, SrpError> {
    let trimmed = value.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SrpError::InvalidHex { field });
    }
    BigUint::parse_bytes(trimmed.as_bytes(), 16).ok_or(SrpError::InvalidHex { field })
}

/// The pool name used by SRP: the part of a user pool id after the first `_`
/// (`us-east-1_AbCd123` → `AbCd123`). An id without `_` is returned unchanged.
pub fn pool_name(user_pool_id: &str) -> &str {
    user_pool_id.split_once('_').map_or(user_pool_id, |(_, name)| name)
}

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn hash_to_int(parts: &[&[u8]]) -> BigUint {
    BigUint::from_bytes_be(&sha256(parts))
}

/// The scrambling parameter u = H(padHex(A) ‖ padHex(B)); refused when it is 0.
pub fn compute_u(a_public: &BigUint, b_public: &BigUint) -> Result<BigUint, SrpError> {
    let u = hash_to_int(&[&pad_bytes(a_public), &pad_bytes(b_public)]);
    if u.is_zero() { Err(SrpError::ZeroScrambler) } else { Ok(u) }
}

/// The private value x = H(padHex(salt) ‖ H(poolName ‖ userId ‖ ":" ‖ password)).
///
/// For device SRP pass the device group key as `pool_name`, the device key as `user_id` and the
/// device secret as `password`.
pub fn compute_x(salt: &BigUint, pool_name: &str, user_id: &str, password: &str) -> BigUint {
    BigUint::from_bytes_be(compute_x_bytes(salt, pool_name, user_id, password).as_ref())
}

/// [`compute_x`] as the hash's bytes, for the constant-time client path (a `BigUint` would
/// drop x's leading zeros).
pub(crate) fn compute_x_bytes(
    salt: &BigUint,
    pool_name: &str,
    user_id: &str,
    password: &str,
) -> zeroize::Zeroizing<[u8; 32]> {
    let inner = zeroize::Zeroizing::new(sha256(&[
        pool_name.as_bytes(),
        user_id.as_bytes(),
        b":",
        password.as_bytes(),
    ]));
    zeroize::Zeroizing::new(sha256(&[&pad_bytes(salt), inner.as_ref()]))
}

/// Refuses a public value (A or B; `which` names it in the error) that is 0 modulo N, as SRP-6a
/// requires of both peers; returns it reduced modulo N otherwise.
pub fn check_public(which: &'static str, value: &BigUint) -> Result<BigUint, SrpError> {
    let reduced = value % n();
    if reduced.is_zero() { Err(SrpError::ZeroPublicValue { which }) } else { Ok(reduced) }
}
