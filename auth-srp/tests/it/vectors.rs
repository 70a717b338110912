//! Vectors produced by an independent client, pycognito's `AWSSRP`
//! (`tests/vectors/generate.py` → `tests/vectors/pycognito.json`).

use auth_srp::{
    BigUint, ClientEphemeral, DeviceVerifierConfig, PasswordChallenge, ServerEphemeral, Verifier,
    compute_u, compute_x, decode_base64_lenient, parse_hex, pool_name,
};
use serde::Deserialize;

use crate::reference::hex_bytes;

#[derive(Deserialize)]
struct File {
    password: Vec<PasswordVector>,
    device: Vec<DeviceVector>,
    secret_hash: Vec<SecretHashVector>,
    timestamp: Vec<TimestampVector>,
}

#[derive(Deserialize)]
struct PasswordVector {
    pool_id: String,
    user_id: String,
    password: String,
    salt_hex: String,
    a_hex: String,
    b_hex: String,
    secret_block: String,
    timestamp: String,
    expected: PasswordExpected,
}

#[derive(Deserialize)]
struct PasswordExpected {
    srp_a: String,
    x_hex: String,
    verifier_hex: String,
    srp_b: String,
    u_hex: String,
    hkdf_key_hex: String,
    signature: String,
}

#[derive(Deserialize)]
struct DeviceVector {
    device_group_key: String,
    device_key: String,
    device_secret: String,
    salt_bytes_hex: String,
    a_hex: String,
    b_hex: String,
    secret_block: String,
    timestamp: String,
    expected: DeviceExpected,
}

#[derive(Deserialize)]
struct DeviceExpected {
    config_salt: String,
    config_password_verifier: String,
    srp_b: String,
    hkdf_key_hex: String,
    signature: String,
}

#[derive(Deserialize)]
struct SecretHashVector {
    username: String,
    client_id: String,
    client_secret: String,
    expected: String,
}

#[derive(Deserialize)]
struct TimestampVector {
    unix: u64,
    expected: String,
}

fn load() -> File {
    serde_json::from_str(include_str!("../vectors/pycognito.json")).expect("vector file parses")
}

fn int(hex: &str) -> BigUint {
    parse_hex("vector", hex).unwrap()
}

#[test]
fn password_vectors() {
    let file = load();
    assert!(file.password.len() >= 4);
    for v in &file.password {
        let pool = pool_name(&v.pool_id);
        let client = ClientEphemeral::from_private(int(&v.a_hex)).unwrap();
        assert_eq!(client.public_hex(), v.expected.srp_a, "A for {}", v.user_id);

        let salt = int(&v.salt_hex);
        let x = compute_x(&salt, pool, &v.user_id, &v.password);
        assert_eq!(format!("{x:064x}"), v.expected.x_hex, "x for {}", v.user_id);

        // The server stores the salt bytes as sent in SALT.
        let verifier =
            Verifier::with_salt_bytes(pool, &v.user_id, &v.password, &hex_bytes(&v.salt_hex));
        assert_eq!(verifier.verifier().to_str_radix(16), v.expected.verifier_hex);
        let server = ServerEphemeral::from_private(verifier.verifier(), int(&v.b_hex));
        assert_eq!(server.public_hex(), v.expected.srp_b, "B for {}", v.user_id);

        let u = compute_u(client.public(), server.public()).unwrap();
        assert_eq!(format!("{u:064x}"), v.expected.u_hex);

        let server_key = server.session_key(client.public()).unwrap();
        assert_eq!(server_key.to_hex(), v.expected.hkdf_key_hex, "server key for {}", v.user_id);

        let challenge = PasswordChallenge::new(
            pool,
            &v.user_id,
            &v.salt_hex,
            &v.expected.srp_b,
            &v.secret_block,
        );
        let signature =
            client.password_claim_signature(&challenge, &v.password, &v.timestamp).unwrap();
        assert_eq!(signature, v.expected.signature, "signature for {}", v.user_id);

        let block = decode_base64_lenient("SECRET_BLOCK", &v.secret_block).unwrap();
        assert!(server_key.verify_signature(
            pool,
            &v.user_id,
            &block,
            &v.timestamp,
            &v.expected.signature
        ));
    }
}

#[test]
fn device_vectors() {
    let file = load();
    assert!(file.device.len() >= 2);
    for v in &file.device {
        let config = DeviceVerifierConfig::with_secret_and_salt(
            &v.device_group_key,
            &v.device_key,
            &v.device_secret,
            &hex_bytes(&v.salt_bytes_hex),
        );
        assert_eq!(config.salt, v.expected.config_salt);
        assert_eq!(config.password_verifier, v.expected.config_password_verifier);

        // The server side of DEVICE_SRP_AUTH, from what ConfirmDevice stored.
        let salt = decode_base64_lenient("Salt", &config.salt).unwrap();
        let verifier_bytes =
            decode_base64_lenient("PasswordVerifier", &config.password_verifier).unwrap();
        let stored = Verifier::from_parts(salt, BigUint::from_bytes_be(&verifier_bytes));
        let server = ServerEphemeral::from_private(stored.verifier(), int(&v.b_hex));
        assert_eq!(server.public_hex(), v.expected.srp_b);

        let client = ClientEphemeral::from_private(int(&v.a_hex)).unwrap();
        let salt_hex = stored.salt_hex();
        let challenge = PasswordChallenge::new(
            &v.device_group_key,
            &v.device_key,
            &salt_hex,
            &v.expected.srp_b,
            &v.secret_block,
        );
        let signature =
            client.password_claim_signature(&challenge, &v.device_secret, &v.timestamp).unwrap();
        assert_eq!(signature, v.expected.signature);
        let key = server.session_key(client.public()).unwrap();
        assert_eq!(key.to_hex(), v.expected.hkdf_key_hex);
    }
}

#[test]
fn secret_hash_vectors() {
    for v in load().secret_hash {
        assert_eq!(auth_srp::secret_hash(&v.username, &v.client_id, &v.client_secret), v.expected);
    }
}

#[test]
fn timestamp_vectors() {
    for v in load().timestamp {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(v.unix);
        assert_eq!(auth_srp::format_timestamp(at), v.expected);
        assert_eq!(auth_srp::parse_timestamp(&v.expected).unwrap(), at);
    }
}
