//! The verifier a client registers with ConfirmDevice.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::Verifier;
use crate::constant_time::pow_g_hash;
use crate::group::compute_x_bytes;

/// What ConfirmDevice sends (`DeviceSecretVerifierConfig`) plus the device secret the client
/// must keep to sign in with the device later.
#[derive(Clone)]
#[non_exhaustive]
pub struct DeviceVerifierConfig {
    /// `PasswordVerifier`: base64 of padHex(v).
    pub password_verifier: String,
    /// `Salt`: base64 of the salt bytes (padHex form of a 16-byte random integer).
    pub salt: String,
    device_secret: Zeroizing<String>,
}

impl std::fmt::Debug for DeviceVerifierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceVerifierConfig")
            .field("password_verifier", &self.password_verifier)
            .field("salt", &self.salt)
            .field("device_secret", &"[redacted]")
            .finish()
    }
}

impl DeviceVerifierConfig {
    /// Generates a random device secret (40 bytes, base64) and salt, and the verifier for
    /// x = H(padHex(salt) ‖ H(deviceGroupKey ‖ deviceKey ‖ ":" ‖ secret)).
    pub fn generate(device_group_key: &str, device_key: &str) -> Self {
        let mut secret_bytes = Zeroizing::new([0u8; 40]);
        rand::rng().fill_bytes(secret_bytes.as_mut());
        let device_secret = Zeroizing::new(STANDARD.encode(secret_bytes.as_ref()));
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        Self::with_secret_and_salt(device_group_key, device_key, &device_secret, &salt)
    }

    /// Builds the config for a known device secret and salt (test vectors).
    pub fn with_secret_and_salt(
        device_group_key: &str,
        device_key: &str,
        device_secret: &str,
        salt: &[u8],
    ) -> Self {
        let salt_int = num_bigint::BigUint::from_bytes_be(salt);
        let salt_bytes = crate::pad_bytes(&salt_int);
        // The client computes this, from the device secret: the constant-time path (the
        // server's `Verifier::with_salt_bytes` uses the table-based one).
        let x = compute_x_bytes(&salt_int, device_group_key, device_key, device_secret);
        let verifier = Verifier::from_parts(salt_bytes.clone(), pow_g_hash(&x));
        Self {
            password_verifier: STANDARD.encode(verifier.verifier_bytes()),
            salt: STANDARD.encode(&salt_bytes),
            device_secret: Zeroizing::new(device_secret.to_owned()),
        }
    }

    /// The device secret (the "password" of device SRP).
    ///
    /// Security: store it like a password; whoever holds it can skip MFA as this device.
    pub fn device_secret(&self) -> &str {
        &self.device_secret
    }
}
