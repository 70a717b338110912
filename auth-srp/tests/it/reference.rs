//! The self-generated vector of the protocol reference (§4.5) and the other fixed facts.

use auth_srp::{
    BigUint, ClientEphemeral, PasswordChallenge, ServerEphemeral, SrpError, Verifier, compute_u,
    compute_x, k, pad_hex, parse_hex, parse_timestamp, pool_name, secret_hash,
};
use sha2::{Digest as _, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_pad(value: &BigUint) -> String {
    hex(&Sha256::digest(auth_srp::pad_bytes(value)))
}

fn a() -> BigUint {
    BigUint::parse_bytes("11".repeat(32).as_bytes(), 16).unwrap()
}

fn b() -> BigUint {
    BigUint::parse_bytes("22".repeat(32).as_bytes(), 16).unwrap()
}

const SALT: &str = "a3f1c2d4e5f60718293a4b5c6d7e8f90";
const BLOCK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const TIMESTAMP: &str = "Tue Mar 5 07:04:09 UTC 2024";

#[test]
fn constants_and_padding() {
    assert_eq!(
        format!("{:064x}", k()),
        "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6"
    );
    assert_eq!(pad_hex(&BigUint::from(200u32)), "00c8");
    assert_eq!(pad_hex(&BigUint::from(20u32)), "14");
    assert_eq!(pad_hex(&BigUint::from(0x123u32)), "0123");
    assert_eq!(pad_hex(&BigUint::from(0u32)), "00");
    assert_eq!(auth_srp::pad_bytes(auth_srp::n()).len(), 385);
    assert_eq!(pad_hex(auth_srp::g()), "02");
    assert_eq!(pool_name("us-east-1_AbCd123"), "AbCd123");
}

#[test]
fn reference_vector_section_4_5() {
    let pool = pool_name("us-east-1_ExAmPlE12");
    assert_eq!(pool, "ExAmPlE12");
    let salt = parse_hex("SALT", SALT).unwrap();
    let x = compute_x(&salt, pool, "alice", "Passw0rd!");
    assert_eq!(
        format!("{x:064x}"),
        "e4b511c9bf6cb808a36fc5ee407c5846f9339c002310d84b072936416eb78336"
    );

    let client = ClientEphemeral::from_private(a()).unwrap();
    assert!(client.public_hex().starts_with("f2c4e7407ccfac452a7c7e1034e8388b"));
    assert_eq!(
        sha256_pad(client.public()),
        "fb177c2f8a148859028b890ea60616525a0b01fee86908d6b72f135787965310"
    );

    let verifier = Verifier::with_salt_bytes(pool, "alice", "Passw0rd!", &hex_bytes(SALT));
    let server = ServerEphemeral::from_private(verifier.verifier(), b());
    assert!(server.public_hex().starts_with("9513e3e0415802225c0dd7442ed38194"));

    let u = compute_u(client.public(), server.public()).unwrap();
    assert_eq!(
        format!("{u:064x}"),
        "7fa8f82b45b219a6452eb7d97bff982a8d6f873604835cf6804fa5a2493250b9"
    );

    let client_key =
        client.session_key(pool, "alice", "Passw0rd!", &salt, server.public()).unwrap();
    let server_key = server.session_key(client.public()).unwrap();
    assert_eq!(client_key.to_hex(), "832d34f98d7a2bf3fa8ae4458d2ee301");
    assert_eq!(server_key.to_hex(), client_key.to_hex());

    let srp_b = server.public_hex();
    let challenge = PasswordChallenge::new(pool, "alice", SALT, &srp_b, BLOCK);
    let signature = client.password_claim_signature(&challenge, "Passw0rd!", TIMESTAMP).unwrap();
    assert_eq!(signature, "6cWmJJGlkRzL2QVyqvqnpZ84jx2ZqU6P0YbYY58JeuM=");
    let block = auth_srp::decode_base64_lenient("SECRET_BLOCK", BLOCK).unwrap();
    assert!(server_key.verify_signature(pool, "alice", &block, TIMESTAMP, &signature));
    assert!(!server_key.verify_signature(
        pool,
        "alice",
        &block,
        "Tue Mar 5 07:04:10 UTC 2024",
        &signature
    ));
    assert!(!server_key.verify_signature(pool, "bob", &block, TIMESTAMP, &signature));
    assert!(!server_key.verify_signature(pool, "alice", &block, TIMESTAMP, "not base64!"));
}

#[test]
fn reference_s_hash() {
    // SHA-256(padHex(S)) is given by the reference; recompute S = (A·v^u)^b mod N by hand.
    let pool = "ExAmPlE12";
    let verifier = Verifier::with_salt_bytes(pool, "alice", "Passw0rd!", &hex_bytes(SALT));
    let client = ClientEphemeral::from_private(a()).unwrap();
    let server = ServerEphemeral::from_private(verifier.verifier(), b());
    let u = compute_u(client.public(), server.public()).unwrap();
    let n = auth_srp::n();
    let s = (client.public() * verifier.verifier().modpow(&u, n) % n).modpow(&b(), n);
    assert_eq!(sha256_pad(&s), "833f6df10f2285d256c9bac7a7166e144c58b98b152458a4e44a656a779814be");
}

#[test]
fn secret_hash_vector() {
    assert_eq!(
        secret_hash("alice", "abc123clientid", "s3cr3t"),
        "T0sVO49Bonh532ldq8IbIJKmP/YC28Pfa88rBoSmnxs="
    );
}

#[test]
fn timestamp_format_and_parse() {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_709_622_249);
    assert_eq!(auth_srp::format_timestamp(at), TIMESTAMP);
    assert_eq!(parse_timestamp(TIMESTAMP).unwrap(), at);
    assert_eq!(parse_timestamp("Tue Mar 05 07:04:09 UTC 2024").unwrap(), at);
    assert_eq!(parse_timestamp("Tue  Mar 5 07:04:09 UTC 2024").unwrap(), at);
    for bad in ["", "Tue Mar 5 07:04:09 GMT 2024", "Tue Mar 32 07:04:09 UTC 2024", "yesterday"] {
        assert_eq!(parse_timestamp(bad), Err(SrpError::InvalidTimestamp), "{bad:?}");
    }
}

#[test]
fn invalid_public_values_are_refused() {
    let verifier = Verifier::with_salt_bytes("P", "u", "p", &[1; 16]);
    let server = ServerEphemeral::from_private(verifier.verifier(), b());
    for zero in [BigUint::from(0u32), auth_srp::n().clone(), auth_srp::n() * 3u32] {
        assert_eq!(
            server.session_key(&zero).unwrap_err(),
            SrpError::ZeroPublicValue { which: "A" }
        );
    }
    let client = ClientEphemeral::from_private(a()).unwrap();
    let salt = BigUint::from(7u32);
    assert_eq!(
        client.session_key("P", "u", "p", &salt, auth_srp::n()).unwrap_err(),
        SrpError::ZeroPublicValue { which: "B" }
    );
    let challenge = PasswordChallenge::new("P", "u", "zz", "12", BLOCK);
    assert_eq!(
        client.password_claim_signature(&challenge, "p", TIMESTAMP).unwrap_err(),
        SrpError::InvalidHex { field: "SALT" }
    );
    let challenge = PasswordChallenge::new("P", "u", "12", "", BLOCK);
    assert_eq!(
        client.password_claim_signature(&challenge, "p", TIMESTAMP).unwrap_err(),
        SrpError::InvalidHex { field: "SRP_B" }
    );
    let challenge = PasswordChallenge::new("P", "u", "12", "34", "***");
    assert_eq!(
        client.password_claim_signature(&challenge, "p", TIMESTAMP).unwrap_err(),
        SrpError::InvalidBase64 { field: "SECRET_BLOCK" }
    );
}

#[test]
fn debug_output_is_redacted() {
    let client = ClientEphemeral::from_private(a()).unwrap();
    assert!(!format!("{client:?}").contains(&"11".repeat(32)));
    let verifier = Verifier::with_salt_bytes("P", "u", "p", &[1; 16]);
    let server = ServerEphemeral::from_private(verifier.verifier(), b());
    assert!(format!("{server:?}").contains("[redacted]"));
    let key = server.session_key(client.public()).unwrap();
    assert_eq!(format!("{key:?}"), "SessionKey([redacted])");
    let device = auth_srp::DeviceVerifierConfig::generate("g", "k");
    assert!(!format!("{device:?}").contains(device.device_secret()));
}

pub(crate) fn hex_bytes(hex: &str) -> Vec<u8> {
    let padded = if hex.len() % 2 == 1 { format!("0{hex}") } else { hex.to_owned() };
    (0..padded.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&padded[i..i + 2], 16).unwrap())
        .collect()
}
