//! Client against server with random inputs: the right password is accepted, a wrong one is
//! refused.

use auth_srp::{ClientEphemeral, PasswordChallenge, ServerEphemeral, Verifier};
use proptest::prelude::*;

const BLOCK: &str = "c2VjcmV0IGJsb2Nr";

fn login(verifier: &Verifier, pool: &str, user: &str, password: &str, timestamp: &str) -> bool {
    let server = ServerEphemeral::new(verifier.verifier());
    let client = ClientEphemeral::new();
    let salt_hex = verifier.salt_hex();
    let srp_b = server.public_hex();
    let challenge = PasswordChallenge::new(pool, user, &salt_hex, &srp_b, BLOCK);
    let signature = client.password_claim_signature(&challenge, password, timestamp).unwrap();
    let key = server.session_key(client.public()).unwrap();
    key.verify_signature(pool, user, b"secret block", timestamp, &signature)
}

proptest! {
    // Each case does several 3072-bit exponentiations; a few dozen cases cover the encoding
    // edge cases (salts and values with or without the high bit) without slowing CI.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn right_password_accepted_wrong_refused(
        pool in "[A-Za-z0-9]{1,12}",
        user in "\\PC{1,20}",
        password in "\\PC{1,30}",
        wrong in "\\PC{1,30}",
    ) {
        let verifier = Verifier::generate(&pool, &user, &password);
        let timestamp = auth_srp::format_timestamp(std::time::SystemTime::now());
        prop_assert!(login(&verifier, &pool, &user, &password, &timestamp));
        if wrong != password {
            prop_assert!(!login(&verifier, &pool, &user, &wrong, &timestamp));
        }
    }
}

#[test]
fn generated_salts_are_canonical() {
    for _ in 0..200 {
        let verifier = Verifier::generate("P", "u", "p");
        let salt = verifier.salt();
        if salt[0] == 0 {
            assert!(salt[1] & 0x80 != 0, "a leading zero byte only before a high bit: {salt:?}");
        } else {
            assert!(salt[0] & 0x80 == 0, "a high bit must be preceded by a zero byte: {salt:?}");
        }
    }
}

#[test]
fn device_login_round_trip() {
    let config = auth_srp::DeviceVerifierConfig::generate("grp", "us-east-1_dev");
    let salt = auth_srp::decode_base64_lenient("Salt", &config.salt).unwrap();
    let v = auth_srp::decode_base64_lenient("PasswordVerifier", &config.password_verifier).unwrap();
    let stored = Verifier::from_parts(salt, auth_srp::BigUint::from_bytes_be(&v));
    let ts = "Mon Jan 1 00:00:00 UTC 2024";
    assert!(login(&stored, "grp", "us-east-1_dev", config.device_secret(), ts));
    assert!(!login(&stored, "grp", "us-east-1_dev", "not the secret", ts));
}
