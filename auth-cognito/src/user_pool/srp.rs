//! The answers to `PASSWORD_VERIFIER` and `DEVICE_PASSWORD_VERIFIER`, built on auth-srp's
//! maths.

use std::borrow::Cow;
use std::collections::BTreeMap;

use auth_srp::{ClientEphemeral, PasswordChallenge};

use super::wire::Params;
use crate::error::CognitoError;

/// A fresh ephemeral key pair (a, A = g^a mod N) for one SRP exchange, with a 256-bit a:
/// RFC 5054 §2.5.4 asks for at least 256 bits (about 128 bits of security, the strength of
/// the 3072-bit group). amazon-cognito-identity-js and pycognito draw 1024 bits; the server
/// cannot tell the difference, and the shorter exponent makes a sign-in's SRP work about a
/// third (see auth-srp's `ClientEphemeral::new_256_bit` and this crate's `client` bench).
pub(crate) fn new_ephemeral() -> ClientEphemeral {
    ClientEphemeral::new_256_bit()
}

fn parameter<'p>(
    params: &'p BTreeMap<String, String>,
    challenge: &str,
    name: &str,
) -> Result<&'p str, CognitoError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| CognitoError::protocol(format!("{challenge} without {name}")))
}

/// The `ChallengeResponses` of `PASSWORD_VERIFIER`: `USERNAME` (= `USER_ID_FOR_SRP`),
/// `PASSWORD_CLAIM_SECRET_BLOCK` (echoed), `TIMESTAMP` and `PASSWORD_CLAIM_SIGNATURE`.
/// `SECRET_HASH` and `DEVICE_KEY` are the caller's to add.
pub(crate) fn password_verifier_answer(
    ephemeral: &ClientEphemeral,
    pool_name: &str,
    params: &BTreeMap<String, String>,
    password: &str,
    timestamp: &str,
) -> Result<Params<'static>, CognitoError> {
    const CHALLENGE: &str = "PASSWORD_VERIFIER";
    // USER_ID_FOR_SRP is the internal username (a UUID when users sign in by email);
    // emulators that omit it use the same value in USERNAME.
    let user_id = parameter(params, CHALLENGE, "USER_ID_FOR_SRP")
        .or_else(|_| parameter(params, CHALLENGE, "USERNAME"))?;
    answer(ephemeral, CHALLENGE, pool_name, user_id, user_id, params, password, timestamp)
}

/// The `ChallengeResponses` of `DEVICE_PASSWORD_VERIFIER`: the same proof with the device
/// group key as pool name, the device key as user id and the device secret as password,
/// plus `DEVICE_KEY`.
pub(crate) fn device_verifier_answer(
    ephemeral: &ClientEphemeral,
    username: &str,
    device_group_key: &str,
    device_key: &str,
    device_secret: &str,
    params: &BTreeMap<String, String>,
    timestamp: &str,
) -> Result<Params<'static>, CognitoError> {
    const CHALLENGE: &str = "DEVICE_PASSWORD_VERIFIER";
    let username = params.get("USERNAME").map_or(username, String::as_str);
    let mut responses = answer(
        ephemeral,
        CHALLENGE,
        device_group_key,
        device_key,
        username,
        params,
        device_secret,
        timestamp,
    )?;
    responses.insert(Cow::Borrowed("DEVICE_KEY"), Cow::Owned(device_key.to_owned()));
    Ok(responses)
}

#[allow(clippy::too_many_arguments, reason = "each is one named input of the proof")]
fn answer(
    ephemeral: &ClientEphemeral,
    challenge_name: &str,
    pool_name: &str,
    user_id: &str,
    username: &str,
    params: &BTreeMap<String, String>,
    password: &str,
    timestamp: &str,
) -> Result<Params<'static>, CognitoError> {
    let salt = parameter(params, challenge_name, "SALT")?;
    let srp_b = parameter(params, challenge_name, "SRP_B")?;
    let secret_block = parameter(params, challenge_name, "SECRET_BLOCK")?;
    let challenge = PasswordChallenge::new(pool_name, user_id, salt, srp_b, secret_block);
    let signature = ephemeral
        .password_claim_signature(&challenge, password, timestamp)
        .map_err(|error| CognitoError::protocol(format!("{challenge_name}: {error}")))?;
    Ok(Params::from([
        (Cow::Borrowed("USERNAME"), Cow::Owned(username.to_owned())),
        (Cow::Borrowed("PASSWORD_CLAIM_SECRET_BLOCK"), Cow::Owned(secret_block.to_owned())),
        (Cow::Borrowed("TIMESTAMP"), Cow::Owned(timestamp.to_owned())),
        (Cow::Borrowed("PASSWORD_CLAIM_SIGNATURE"), Cow::Owned(signature)),
    ]))
}

#[cfg(test)]
mod tests {
    use auth_srp::{BigUint, DeviceVerifierConfig, ServerEphemeral, Verifier, pool_name};
    use serde_json::Value;

    use super::*;

    fn int(hex: &str) -> BigUint {
        BigUint::parse_bytes(hex.as_bytes(), 16).unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn get<'a>(answer: &'a Params<'_>, key: &str) -> &'a str {
        answer.get(key).map(|v| v.as_ref()).unwrap_or_else(|| panic!("no {key} in the answer"))
    }

    /// The protocol reference's vector (§4.5): fixed a, b, SALT, SECRET_BLOCK and TIMESTAMP
    /// give the expected PASSWORD_CLAIM_SIGNATURE, in the answer this client sends.
    #[test]
    fn password_verifier_answer_matches_the_reference_vector() {
        let pool = pool_name("us-east-1_ExAmPlE12");
        let salt = "a3f1c2d4e5f60718293a4b5c6d7e8f90";
        let block = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let timestamp = "Tue Mar 5 07:04:09 UTC 2024";
        let salt_bytes: Vec<u8> = (0..salt.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&salt[i..i + 2], 16).unwrap())
            .collect();
        let verifier = Verifier::with_salt_bytes(pool, "alice", "Passw0rd!", &salt_bytes);
        let server = ServerEphemeral::from_private(verifier.verifier(), int(&"22".repeat(32)));
        let srp_b = server.public_hex();
        assert!(srp_b.starts_with("9513e3e0415802225c0dd7442ed38194"));
        let client = ClientEphemeral::from_private(int(&"11".repeat(32))).unwrap();
        assert!(client.public_hex().starts_with("f2c4e7407ccfac452a7c7e1034e8388b"));

        let challenge = params(&[
            ("USER_ID_FOR_SRP", "alice"),
            ("USERNAME", "alice"),
            ("SALT", salt),
            ("SRP_B", &srp_b),
            ("SECRET_BLOCK", block),
        ]);
        let answer =
            password_verifier_answer(&client, pool, &challenge, "Passw0rd!", timestamp).unwrap();
        assert_eq!(
            get(&answer, "PASSWORD_CLAIM_SIGNATURE"),
            "6cWmJJGlkRzL2QVyqvqnpZ84jx2ZqU6P0YbYY58JeuM="
        );
        assert_eq!(get(&answer, "USERNAME"), "alice");
        assert_eq!(get(&answer, "PASSWORD_CLAIM_SECRET_BLOCK"), block);
        assert_eq!(get(&answer, "TIMESTAMP"), timestamp);
        assert_eq!(answer.len(), 4);
    }

    /// USERNAME in the answer is USER_ID_FOR_SRP (the internal name), not the alias the user
    /// typed.
    #[test]
    fn answer_uses_user_id_for_srp() {
        let client = ClientEphemeral::from_private(int(&"11".repeat(32))).unwrap();
        let challenge = params(&[
            ("USER_ID_FOR_SRP", "7d5e-uuid"),
            ("USERNAME", "alice@example.com"),
            ("SALT", "ab"),
            ("SRP_B", "1234"),
            ("SECRET_BLOCK", "AAEC"),
        ]);
        let answer = password_verifier_answer(
            &client,
            "Pool",
            &challenge,
            "pw",
            "Tue Mar 5 07:04:09 UTC 2024",
        )
        .unwrap();
        assert_eq!(get(&answer, "USERNAME"), "7d5e-uuid");
    }

    #[test]
    fn missing_or_bad_parameters_are_protocol_errors() {
        let client = ClientEphemeral::from_private(int(&"11".repeat(32))).unwrap();
        let missing = params(&[("USER_ID_FOR_SRP", "a"), ("SALT", "ab"), ("SRP_B", "12")]);
        let error = password_verifier_answer(&client, "P", &missing, "pw", "t").unwrap_err();
        assert!(
            matches!(&error, CognitoError::Protocol(m) if m.contains("SECRET_BLOCK")),
            "{error}"
        );
        let zero_b = params(&[
            ("USER_ID_FOR_SRP", "a"),
            ("SALT", "ab"),
            ("SRP_B", auth_srp::N_HEX),
            ("SECRET_BLOCK", "AAEC"),
        ]);
        let error = password_verifier_answer(&client, "P", &zero_b, "pw", "t").unwrap_err();
        assert!(matches!(error, CognitoError::Protocol(_)), "B = N must be refused: {error}");
    }

    #[test]
    fn ephemerals_are_fresh_256_bit_values() {
        let first = new_ephemeral();
        let second = new_ephemeral();
        assert_ne!(first.public(), second.public());
        assert!(first.public() < auth_srp::n());
        // The SRP_A of a 256-bit a is still a full-size group element.
        assert!(first.public_hex().len() > 700, "{}", first.public_hex().len());
    }

    /// Vectors computed by pycognito's AWSSRP (committed with their generator script in
    /// auth-srp): the answers this client builds carry the same signatures.
    #[test]
    fn answers_match_the_pycognito_vectors() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../../auth-srp/tests/vectors/pycognito.json"))
                .unwrap();
        let text = |v: &Value, key: &str| v[key].as_str().unwrap().to_owned();
        let password_vectors = vectors["password"].as_array().unwrap();
        assert!(password_vectors.len() >= 4);
        for vector in password_vectors {
            let expected = &vector["expected"];
            let client = ClientEphemeral::from_private(int(&text(vector, "a_hex"))).unwrap();
            assert_eq!(client.public_hex(), text(expected, "srp_a"));
            let user_id = text(vector, "user_id");
            let challenge = params(&[
                ("USER_ID_FOR_SRP", &user_id),
                ("SALT", &text(vector, "salt_hex")),
                ("SRP_B", &text(expected, "srp_b")),
                ("SECRET_BLOCK", &text(vector, "secret_block")),
            ]);
            let answer = password_verifier_answer(
                &client,
                pool_name(&text(vector, "pool_id")),
                &challenge,
                &text(vector, "password"),
                &text(vector, "timestamp"),
            )
            .unwrap();
            assert_eq!(get(&answer, "PASSWORD_CLAIM_SIGNATURE"), text(expected, "signature"));
            assert_eq!(get(&answer, "USERNAME"), user_id);
        }
        let device_vectors = vectors["device"].as_array().unwrap();
        assert!(device_vectors.len() >= 2);
        for vector in device_vectors {
            let expected = &vector["expected"];
            let group = text(vector, "device_group_key");
            let key = text(vector, "device_key");
            let secret = text(vector, "device_secret");
            let salt_hex = text(vector, "salt_bytes_hex");
            let salt: Vec<u8> = (0..salt_hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&salt_hex[i..i + 2], 16).unwrap())
                .collect();
            let config = DeviceVerifierConfig::with_secret_and_salt(&group, &key, &secret, &salt);
            assert_eq!(config.salt, text(expected, "config_salt"));
            assert_eq!(config.password_verifier, text(expected, "config_password_verifier"));
            let client = ClientEphemeral::from_private(int(&text(vector, "a_hex"))).unwrap();
            use base64::Engine as _;
            let salt_param = base64::engine::general_purpose::STANDARD
                .decode(&config.salt)
                .unwrap()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            let challenge = params(&[
                ("USERNAME", "user"),
                ("SALT", &salt_param),
                ("SRP_B", &text(expected, "srp_b")),
                ("SECRET_BLOCK", &text(vector, "secret_block")),
            ]);
            let answer = device_verifier_answer(
                &client,
                "user",
                &group,
                &key,
                &secret,
                &challenge,
                &text(vector, "timestamp"),
            )
            .unwrap();
            assert_eq!(get(&answer, "PASSWORD_CLAIM_SIGNATURE"), text(expected, "signature"));
            assert_eq!(get(&answer, "DEVICE_KEY"), key);
            assert_eq!(get(&answer, "USERNAME"), "user");
        }
    }
}
