//! The server's side: stored verifiers and the ephemeral B.

use num_bigint::BigUint;
use rand::RngCore as _;

use crate::group::{check_public, compute_u, compute_x, hex_lower, k, n, pad_bytes};
use crate::modexp::{Residue, pow_g};
use crate::{SessionKey, SrpError};

/// What a server stores instead of a password: the salt and v = g^x mod N.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    salt: Vec<u8>,
    verifier: BigUint,
}

impl Verifier {
    /// Computes a verifier with a fresh random 16-byte salt.
    ///
    /// The salt is stored in its canonical padHex form (no leading zero byte, `00` before a
    /// high bit), so clients that hash the `SALT` string as received (pycognito) and clients
    /// that re-encode its integer value (amplify-js) hash the same bytes.
    pub fn generate(pool_name: &str, user_id: &str, password: &str) -> Self {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let canonical = pad_bytes(&BigUint::from_bytes_be(&salt));
        Self::with_salt_bytes(pool_name, user_id, password, &canonical)
    }

    /// Computes a verifier with the given salt bytes (the salt is hashed as its integer value in
    /// padHex form, like every client does).
    pub fn with_salt_bytes(pool_name: &str, user_id: &str, password: &str, salt: &[u8]) -> Self {
        let x = compute_x(&BigUint::from_bytes_be(salt), pool_name, user_id, password);
        Self { salt: salt.to_vec(), verifier: pow_g(&x).to_biguint() }
    }

    /// Rebuilds a stored verifier (e.g. from ConfirmDevice's `DeviceSecretVerifierConfig`, or a
    /// state file).
    pub fn from_parts(salt: Vec<u8>, verifier: BigUint) -> Self {
        Self { salt, verifier }
    }

    /// The salt bytes as stored.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The salt as the `SALT` challenge parameter (lowercase hex of the stored bytes).
    pub fn salt_hex(&self) -> String {
        hex_lower(&self.salt)
    }

    /// v = g^x mod N.
    pub fn verifier(&self) -> &BigUint {
        &self.verifier
    }

    /// v in padHex byte form (what ConfirmDevice sends base64-encoded).
    pub fn verifier_bytes(&self) -> Vec<u8> {
        pad_bytes(&self.verifier)
    }
}

/// The server's ephemeral key pair for one challenge: b and B = (k·v + g^b) mod N.
#[derive(Clone)]
pub struct ServerEphemeral {
    private: BigUint,
    public: BigUint,
    verifier: BigUint,
}

impl std::fmt::Debug for ServerEphemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerEphemeral")
            .field("b", &"[redacted]")
            .field("B", &self.public_hex())
            .finish_non_exhaustive()
    }
}

impl ServerEphemeral {
    /// A fresh random b of 32 bytes for the given verifier.
    pub fn new(verifier: &BigUint) -> Self {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        loop {
            rand::rng().fill_bytes(bytes.as_mut());
            let b = BigUint::from_bytes_be(bytes.as_ref());
            let ephemeral = Self::from_private(verifier, b);
            if check_public("B", &ephemeral.public).is_ok() {
                return ephemeral;
            }
        }
    }

    /// Uses a fixed private value b (test vectors).
    pub fn from_private(verifier: &BigUint, b: BigUint) -> Self {
        let n = n();
        let public = (k() * verifier + pow_g(&b).to_biguint()) % n;
        Self { private: b, public, verifier: verifier.clone() }
    }

    /// B = (k·v + g^b) mod N.
    pub fn public(&self) -> &BigUint {
        &self.public
    }

    /// B as the `SRP_B` challenge parameter (lowercase hex, unpadded).
    pub fn public_hex(&self) -> String {
        self.public.to_str_radix(16)
    }

    /// Derives the session key from the client's A: S = (A · v^u)^b mod N, then HKDF.
    /// Refuses A ≡ 0 (mod N) and u = 0.
    pub fn session_key(&self, a_public: &BigUint) -> Result<SessionKey, SrpError> {
        let a_reduced = check_public("A", a_public)?;
        let u = compute_u(a_public, &self.public)?;
        let base = Residue::new(&a_reduced).mul(&Residue::new(&self.verifier).pow(&u));
        let shared = base.pow(&self.private).to_biguint();
        Ok(SessionKey::derive(&shared, &u))
    }
}
