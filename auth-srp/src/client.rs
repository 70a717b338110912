//! The client's side of USER_SRP_AUTH / DEVICE_SRP_AUTH.

use num_bigint::BigUint;
use rand::RngCore as _;

use crate::constant_time::{PrivateExponent, client_shared_secret, public_a};
use crate::group::{check_public, compute_u, compute_x_bytes, parse_hex};
use crate::{SessionKey, SrpError, decode_base64_lenient};

/// The client's ephemeral key pair (a, A = g^a mod N) for one sign-in attempt.
///
/// `Debug` shows only A; the private `a` never leaves this value and is zeroed on drop.
///
/// Every exponentiation with a secret exponent (g^a, g^x of the password-derived x, and
/// (B − k·g^x)^(a + u·x)) runs in constant time: its duration depends on the size class of
/// a (256 or 1024 bits from the constructors), never on the bits of a, x or the password.
#[derive(Clone)]
pub struct ClientEphemeral {
    private: PrivateExponent,
    public: BigUint,
}

impl std::fmt::Debug for ClientEphemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientEphemeral")
            .field("a", &"[redacted]")
            .field("A", &self.public_hex())
            .finish()
    }
}

/// The server's `PASSWORD_VERIFIER` (or `DEVICE_PASSWORD_VERIFIER`) challenge, as received.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct PasswordChallenge<'a> {
    /// The pool name (the user pool id after `_`, see [`crate::pool_name`]); for device SRP,
    /// the device group key.
    pub pool_name: &'a str,
    /// `USER_ID_FOR_SRP` from the challenge parameters; for device SRP, the device key.
    pub user_id_for_srp: &'a str,
    /// `SALT` (hex).
    pub salt_hex: &'a str,
    /// `SRP_B` (hex).
    pub srp_b_hex: &'a str,
    /// `SECRET_BLOCK` (base64), which the answer echoes unchanged.
    pub secret_block: &'a str,
}

impl<'a> PasswordChallenge<'a> {
    /// Bundles the challenge fields (the struct is `non_exhaustive`, so other crates build it
    /// here).
    pub fn new(
        pool_name: &'a str,
        user_id_for_srp: &'a str,
        salt_hex: &'a str,
        srp_b_hex: &'a str,
        secret_block: &'a str,
    ) -> Self {
        Self { pool_name, user_id_for_srp, salt_hex, srp_b_hex, secret_block }
    }
}

impl Default for ClientEphemeral {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientEphemeral {
    /// A fresh random a of 128 bytes (1024 bits), as Cognito's own clients
    /// (amazon-cognito-identity-js, the Android SDK) and pycognito choose it.
    ///
    /// [`ClientEphemeral::new_256_bit`] is as secure for this group and costs much less.
    pub fn new() -> Self {
        Self::random::<128>()
    }

    /// A fresh random a of 32 bytes (256 bits): RFC 5054 §2.5.4 asks for "at least 256-bit
    /// random numbers", which give about 128 bits of security, the strength of the 3072-bit
    /// group itself. The server cannot tell it from [`ClientEphemeral::new`]'s 1024 bits, and
    /// the client's work is about a third: A = g^a comes from the precomputed table of powers
    /// of g, and the final exponent a + u·x has 512 bits instead of 1024.
    pub fn new_256_bit() -> Self {
        Self::random::<32>()
    }

    fn random<const BYTES: usize>() -> Self {
        let mut bytes = zeroize::Zeroizing::new([0u8; BYTES]);
        loop {
            rand::rng().fill_bytes(bytes.as_mut());
            // a = 0 (probability 2^-(8·BYTES)) would make A = 1: draw again.
            if bytes.iter().all(|&b| b == 0) {
                continue;
            }
            if let Ok(ephemeral) = Self::from_exponent(PrivateExponent::from_random_bytes(&bytes)) {
                return ephemeral;
            }
        }
    }

    /// Uses a fixed private value a (test vectors). Refused if A = g^a mod N would be 0 mod N
    /// (never for a prime N and g = 2, but the check is cheap).
    ///
    /// The exponentiations walk a's length rounded up to whole 64-bit words.
    pub fn from_private(a: BigUint) -> Result<Self, SrpError> {
        Self::from_exponent(PrivateExponent::from_biguint(&a))
    }

    fn from_exponent(private: PrivateExponent) -> Result<Self, SrpError> {
        let public = public_a(&private);
        check_public("A", &public)?;
        Ok(Self { private, public })
    }

    /// A = g^a mod N.
    pub fn public(&self) -> &BigUint {
        &self.public
    }

    /// A as the `SRP_A` parameter: lowercase hex *without* padding (JavaScript's
    /// `toString(16)`, possibly of odd length).
    pub fn public_hex(&self) -> String {
        self.public.to_str_radix(16)
    }

    /// Derives the session key from the server's B, the salt and the password:
    /// S = (B − k·g^x)^(a + u·x) mod N, then HKDF.
    pub fn session_key(
        &self,
        pool_name: &str,
        user_id: &str,
        password: &str,
        salt: &BigUint,
        b_public: &BigUint,
    ) -> Result<SessionKey, SrpError> {
        let b_reduced = check_public("B", b_public)?;
        let u = compute_u(&self.public, b_public)?;
        let x = compute_x_bytes(salt, pool_name, user_id, password);
        let shared = client_shared_secret(&self.private, &x, &u, &b_reduced);
        Ok(SessionKey::derive(&shared, &u))
    }

    /// Computes `PASSWORD_CLAIM_SIGNATURE` for a challenge: parses `SALT`, `SRP_B` and
    /// `SECRET_BLOCK`, derives the key, and signs with the given `TIMESTAMP`
    /// (see [`crate::format_timestamp`]).
    pub fn password_claim_signature(
        &self,
        challenge: &PasswordChallenge<'_>,
        password: &str,
        timestamp: &str,
    ) -> Result<String, SrpError> {
        let salt = parse_hex("SALT", challenge.salt_hex)?;
        let b_public = parse_hex("SRP_B", challenge.srp_b_hex)?;
        let secret_block = decode_base64_lenient("SECRET_BLOCK", challenge.secret_block)?;
        let key = self.session_key(
            challenge.pool_name,
            challenge.user_id_for_srp,
            password,
            &salt,
            &b_public,
        )?;
        Ok(key.sign(challenge.pool_name, challenge.user_id_for_srp, &secret_block, timestamp))
    }
}
