//! Password storage (Argon2id hash plus SRP verifier, never plaintext) and the pool's
//! password policy.
//!
//! Argon2id runs with deliberately light parameters (64 KiB, one pass): this is a test server
//! whose stored hashes guard nothing real, and sign-in throughput matters more than resistance
//! to offline cracking. The parameters are in the PHC string, so stronger ones could be
//! introduced later without breaking stored hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;
use serde_json::Value;

use crate::state::{PasswordRecord, Pool};
use crate::wire::{CognitoError, invalid_member};

fn argon2() -> Argon2<'static> {
    let params = Params::new(64, 1, 1, None).expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Builds the stored record for a password of `username` (the internal username) in `pool`.
pub(crate) fn record(
    pool: &Pool,
    username: &str,
    password: &str,
    now: u64,
    temporary: bool,
) -> PasswordRecord {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes is a valid salt");
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashing with valid parameters")
        .to_string();
    let verifier = auth_srp::Verifier::generate(auth_srp::pool_name(&pool.id), username, password);
    PasswordRecord {
        hash,
        srp_salt: verifier.salt_hex(),
        srp_verifier: verifier.verifier().to_str_radix(16),
        set_at: now,
        temporary,
    }
}

/// Checks a password against a stored record.
pub(crate) fn verify(record: &PasswordRecord, password: &str) -> bool {
    PasswordHash::new(&record.hash)
        .is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
}

/// The stored SRP verifier.
pub(crate) fn srp_verifier(record: &PasswordRecord) -> Option<auth_srp::Verifier> {
    let salt = hex_to_bytes(&record.srp_salt)?;
    let verifier = auth_srp::BigUint::parse_bytes(record.srp_verifier.as_bytes(), 16)?;
    Some(auth_srp::Verifier::from_parts(salt, verifier))
}

pub(crate) fn hex_to_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
}

/// The pool's password policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    min_length: usize,
    uppercase: bool,
    lowercase: bool,
    numbers: bool,
    symbols: bool,
    /// Days a temporary password stays valid.
    pub(crate) temporary_validity_days: u64,
}

// Cognito's symbol set for RequireSymbols.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

impl Policy {
    pub(crate) fn of(pool: &Pool) -> Self {
        let policy = pool.settings.get("Policies").and_then(|p| p.get("PasswordPolicy"));
        let flag =
            |name: &str| policy.and_then(|p| p.get(name)).and_then(Value::as_bool).unwrap_or(true);
        let number = |name: &str, default: u64| {
            policy.and_then(|p| p.get(name)).and_then(Value::as_u64).unwrap_or(default)
        };
        Self {
            min_length: usize::try_from(number("MinimumLength", 8)).unwrap_or(8),
            uppercase: flag("RequireUppercase"),
            lowercase: flag("RequireLowercase"),
            numbers: flag("RequireNumbers"),
            symbols: flag("RequireSymbols"),
            temporary_validity_days: number("TemporaryPasswordValidityDays", 7),
        }
    }

    /// Checks a password, with Cognito's messages.
    pub(crate) fn check(&self, password: &str) -> Result<(), CognitoError> {
        let fail = |why: &str| {
            Err(CognitoError::invalid_password(format!(
                "Password did not conform with policy: {why}"
            )))
        };
        if password.chars().count() < self.min_length {
            return fail("Password not long enough");
        }
        if self.lowercase && !password.chars().any(|c| c.is_lowercase()) {
            return fail("Password must have lowercase characters");
        }
        if self.uppercase && !password.chars().any(|c| c.is_uppercase()) {
            return fail("Password must have uppercase characters");
        }
        if self.numbers && !password.chars().any(|c| c.is_ascii_digit()) {
            return fail("Password must have numeric characters");
        }
        if self.symbols && !password.chars().any(|c| SYMBOLS.contains(c)) {
            return fail("Password must have symbol characters");
        }
        Ok(())
    }

    /// A random password that satisfies the policy (AdminCreateUser without one).
    pub(crate) fn generate(&self) -> String {
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const DIGITS: &[u8] = b"23456789";
        let mut rng = rand::rng();
        let mut pick = |set: &[u8]| set[(rng.next_u32() as usize) % set.len()] as char;
        let mut password: String =
            (0..self.min_length.max(12).saturating_sub(4)).map(|_| pick(LOWER)).collect();
        password.push(pick(UPPER));
        password.push(pick(DIGITS));
        password.push(pick(LOWER));
        password.push('!');
        password
    }
}

/// Checks the wire limits of a password (at most 256 characters, no whitespace).
pub(crate) fn check_shape(field: &str, password: &str) -> Result<(), CognitoError> {
    if password.is_empty()
        || password.chars().count() > 256
        || password.chars().any(char::is_whitespace)
    {
        return Err(invalid_member(
            field,
            "Member must satisfy regular expression pattern: ^[\\S]+.*[\\S]+$",
        ));
    }
    Ok(())
}
