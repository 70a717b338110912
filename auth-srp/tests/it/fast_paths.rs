//! The crate's exponentiation (Montgomery arithmetic, the comb table for powers of g) against
//! the textbook formulas computed with `num-bigint`'s `modpow`, through the public API, for
//! random inputs: every value either side derives must be exactly the reference value.

use auth_srp::{
    BigUint, ClientEphemeral, ServerEphemeral, SessionKey, Verifier, compute_u, compute_x, g, k, n,
};
use proptest::prelude::*;

fn integer(max_bytes: usize) -> impl Strategy<Value = BigUint> {
    // Lengths on both sides of the 256-bit comb limit, and leading zero bytes.
    proptest::collection::vec(any::<u8>(), 1..=max_bytes)
        .prop_map(|bytes| BigUint::from_bytes_be(&bytes))
}

proptest! {
    // Each case runs eight 3072-bit exponentiations with num-bigint's modpow.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_derived_value_matches_the_reference(
        password in "\\PC{1,20}",
        salt in proptest::collection::vec(any::<u8>(), 1..=16),
        a in integer(130),
        b in integer(40),
    ) {
        let n = n();
        let verifier = Verifier::with_salt_bytes("Pool", "user", &password, &salt);
        let x = compute_x(&BigUint::from_bytes_be(&salt), "Pool", "user", &password);
        let v = g().modpow(&x, n);
        prop_assert_eq!(verifier.verifier(), &v);

        let Ok(client) = ClientEphemeral::from_private(a.clone()) else {
            // Only A ≡ 0 is refused, which no a gives.
            return Err(TestCaseError::fail("from_private refused a"));
        };
        let a_public = g().modpow(&a, n);
        prop_assert_eq!(client.public(), &a_public);

        let server = ServerEphemeral::from_private(&v, b.clone());
        let b_public = (k() * &v + g().modpow(&b, n)) % n;
        prop_assert_eq!(server.public(), &b_public);

        let u = compute_u(&a_public, &b_public).unwrap();
        let server_s = (&a_public * v.modpow(&u, n) % n).modpow(&b, n);
        let kgx = k() * g().modpow(&x, n) % n;
        let client_s = ((&b_public + n - kgx) % n).modpow(&(&a + &u * &x), n);
        prop_assert_eq!(&server_s, &client_s, "the textbook formulas agree");
        let expected = SessionKey::derive(&server_s, &u).to_hex();

        prop_assert_eq!(server.session_key(&a_public).unwrap().to_hex(), expected.clone());
        let salt_int = BigUint::from_bytes_be(&salt);
        let client_key = client.session_key("Pool", "user", &password, &salt_int, &b_public);
        prop_assert_eq!(client_key.unwrap().to_hex(), expected);
    }

    #[test]
    fn peer_values_above_n_are_reduced_like_the_reference(extra in integer(384), b in integer(32)) {
        // A peer may send A + j·N; the server must compute with A mod N (and hash A as sent).
        let n = n();
        let v = g().modpow(&BigUint::from(12345u32), n);
        let server = ServerEphemeral::from_private(&v, b.clone());
        let a_public = (&extra % n) + n * 2u32;
        prop_assume!(&a_public % n != BigUint::default());
        let u = compute_u(&a_public, server.public()).unwrap();
        let s = ((&a_public % n) * v.modpow(&u, n) % n).modpow(&b, n);
        prop_assert_eq!(
            server.session_key(&a_public).unwrap().to_hex(),
            SessionKey::derive(&s, &u).to_hex()
        );
    }
}

#[test]
fn fresh_ephemerals_of_both_sizes_agree_with_the_server() {
    let verifier = Verifier::with_salt_bytes("Pool", "user", "pw", &[7; 16]);
    let salt = BigUint::from_bytes_be(verifier.salt());
    for client in [ClientEphemeral::new_256_bit(), ClientEphemeral::new()] {
        let server = ServerEphemeral::new(verifier.verifier());
        let client_key = client.session_key("Pool", "user", "pw", &salt, server.public()).unwrap();
        let server_key = server.session_key(client.public()).unwrap();
        assert_eq!(client_key.to_hex(), server_key.to_hex());
    }
    assert_ne!(ClientEphemeral::new_256_bit().public(), ClientEphemeral::new_256_bit().public());
}
