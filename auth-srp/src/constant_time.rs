//! The client's exponentiations, in constant time.
//!
//! The client raises g to its private a and to the password-derived x, and the server's
//! value to a + u·x. Timing that depends on those exponents' bits would let a local observer
//! (another process on a shared machine, a neighbouring VM) learn the password-derived x, so
//! these exponentiations run on `crypto-bigint`'s Montgomery arithmetic, whose `pow` does the
//! same squarings, multiplications and table reads (every entry is read and the wanted one
//! selected with masks) whatever the exponent's bits are. Only the number of exponent bits it
//! walks is visible, and that number is a public fact of each exponent (256 for x, the size
//! the caller chose for a), never derived from the secret value.
//!
//! The server's side keeps the faster table-based arithmetic of [`crate::modexp`]: the mock
//! server's ephemeral b is fresh per challenge and its verifiers are test data.
//!
//! The session key derivation that follows hashes S in Cognito's minimal encoding
//! ([`crate::pad_bytes`]), whose length depends on S's leading zero bytes; that is the
//! protocol's, and the same for every Cognito client.

use std::sync::OnceLock;

use crypto_bigint::modular::{MontyForm, MontyParams};
use crypto_bigint::subtle::{ConditionallySelectable as _, ConstantTimeEq as _};
use crypto_bigint::{Odd, U256, U512, U3072};
use num_bigint::BigUint;
use num_traits::Zero as _;
use zeroize::{Zeroize as _, Zeroizing};

use crate::group::{N_HEX, k, n};

/// 64-bit limbs of a value modulo N (3072 bits).
const LIMBS: usize = U3072::LIMBS;
/// Limbs of the final exponent a + u·x: a is below 2^3072, u·x below 2^512, so the sum
/// needs one limb more.
const EXPONENT_LIMBS: usize = LIMBS + 1;
/// x and u are SHA-256 values.
const HASH_BITS: u32 = 256;

struct Field {
    params: MontyParams<LIMBS>,
    g: MontyForm<LIMBS>,
    k: MontyForm<LIMBS>,
}

fn field() -> &'static Field {
    static FIELD: OnceLock<Field> = OnceLock::new();
    FIELD.get_or_init(|| {
        let modulus = Odd::new(U3072::from_be_hex(N_HEX)).expect("N is odd");
        let params = MontyParams::new(modulus);
        Field {
            params,
            g: MontyForm::new(&U3072::from_u8(2), params),
            k: MontyForm::new(&to_uint(k()), params),
        }
    })
}

/// A public value below N as a fixed-size integer; only public values pass through here,
/// since `num-bigint`'s own representation is variable-length.
fn to_uint(value: &BigUint) -> U3072 {
    debug_assert!(value < n(), "callers reduce modulo N first");
    U3072::from_be_slice(left_padded::<{ U3072::BYTES }>(value).as_ref())
}

/// The big-endian bytes of a value that fits, zero-padded on the left to `BYTES`.
fn left_padded<const BYTES: usize>(value: &BigUint) -> Zeroizing<[u8; BYTES]> {
    let bytes = Zeroizing::new(value.to_bytes_be());
    let mut padded = Zeroizing::new([0u8; BYTES]);
    padded[BYTES - bytes.len()..].copy_from_slice(&bytes);
    padded
}

/// A result (a public value, or S right before it is hashed) as a `num-bigint` integer.
fn to_biguint(value: &U3072) -> BigUint {
    BigUint::from_bytes_be(Zeroizing::new(value.to_be_bytes()).as_ref())
}

/// The client's private a, with the number of bits the exponentiations walk: a public fact
/// (the size [`crate::ClientEphemeral`]'s constructor chose), not a.bits().
#[derive(Clone)]
pub(crate) struct PrivateExponent {
    value: Zeroizing<U3072>,
    bits: u32,
}

impl PrivateExponent {
    /// `bytes` big-endian bytes of a random a: walked as `8 · bytes.len()` bits.
    pub(crate) fn from_random_bytes<const BYTES: usize>(bytes: &[u8; BYTES]) -> Self {
        const { assert!(BYTES <= U3072::BYTES, "a random a has at most 3072 bits") };
        let mut padded = Zeroizing::new([0u8; U3072::BYTES]);
        padded[U3072::BYTES - BYTES..].copy_from_slice(bytes);
        Self {
            value: Zeroizing::new(U3072::from_be_slice(padded.as_ref())),
            bits: 8 * BYTES as u32,
        }
    }

    /// A caller-chosen a (test vectors), walked as its length rounded up to whole 64-bit
    /// words. A value of 3072 bits or more is reduced modulo N − 1 first, which every element's
    /// order divides, so both g^a and the final exponent keep their results.
    pub(crate) fn from_biguint(a: &BigUint) -> Self {
        let n_minus_one = n() - 1u32;
        let reduced = if a.bits() >= 3072 { a % &n_minus_one } else { a.clone() };
        let bits = (reduced.bits().div_ceil(64) * 64).max(64) as u32;
        let padded = left_padded::<{ U3072::BYTES }>(&reduced);
        Self { value: Zeroizing::new(U3072::from_be_slice(padded.as_ref())), bits }
    }
}

/// g^exponent mod N for a secret exponent walked as `bits` bits: through the fixed-base
/// table when it has at most [`TABLE_BITS`] bits, else by `crypto-bigint`'s `pow`.
fn pow_g<const EXPONENT_LIMBS: usize>(
    exponent: &crypto_bigint::Uint<EXPONENT_LIMBS>,
    bits: u32,
) -> MontyForm<LIMBS> {
    if bits as usize <= TABLE_BITS {
        let words = exponent.resize::<{ U256::LIMBS }>();
        FixedBaseTable::get().pow(&Zeroizing::new(words))
    } else {
        field().g.pow_bounded_exp(exponent, bits)
    }
}

/// A = g^a mod N.
pub(crate) fn public_a(a: &PrivateExponent) -> BigUint {
    to_biguint(&pow_g(&*a.value, a.bits).retrieve())
}

/// g^x mod N for a password-derived x (SHA-256 output, big-endian).
pub(crate) fn pow_g_hash(x: &[u8; 32]) -> BigUint {
    let x = Zeroizing::new(U256::from_be_slice(x));
    to_biguint(&pow_g(&*x, HASH_BITS).retrieve())
}

/// Exponents of up to this many bits use [`FixedBaseTable`]: x, and the 256-bit a the
/// client draws.
const TABLE_BITS: usize = 256;
/// Exponent bits per table row.
const WINDOW_BITS: usize = 4;
const ROWS: usize = TABLE_BITS / WINDOW_BITS;

/// Powers of g for fixed-base exponentiation in constant time: row i holds g^(j·16^i) for
/// j = 0..16, so g^e is the product of one entry per 4-bit window of e, 64 multiplications
/// and no squaring (against 256 squarings and 64 multiplications for `pow`: about a
/// quarter of the time). Each entry is chosen by reading the whole row and keeping the
/// wanted one with a mask, so neither the memory accessed nor the time depends on e.
/// The table (64 × 16 residues, 384 KiB) is public data, built once per process.
struct FixedBaseTable {
    rows: Vec<[MontyForm<LIMBS>; 1 << WINDOW_BITS]>,
}

impl FixedBaseTable {
    fn get() -> &'static Self {
        static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
        TABLE.get_or_init(Self::build)
    }

    fn build() -> Self {
        let field = field();
        let one = MontyForm::one(field.params);
        let mut rows = Vec::with_capacity(ROWS);
        // base = g^(16^i)
        let mut base = field.g;
        for _ in 0..ROWS {
            let mut row = [one; 1 << WINDOW_BITS];
            for j in 1..row.len() {
                row[j] = row[j - 1].mul(&base);
            }
            base = row[row.len() - 1].mul(&base);
            rows.push(row);
        }
        Self { rows }
    }

    fn pow(&self, exponent: &U256) -> MontyForm<LIMBS> {
        let field = field();
        let mut acc = MontyForm::one(field.params);
        let bytes = Zeroizing::new(exponent.to_le_bytes());
        for (i, row) in self.rows.iter().enumerate() {
            let byte = bytes[i * WINDOW_BITS / 8];
            let window = u32::from((byte >> ((i * WINDOW_BITS) % 8)) & 0x0f);
            let mut entry = Zeroizing::new(row[0]);
            for (j, candidate) in row.iter().enumerate().skip(1) {
                entry.conditional_assign(candidate, (j as u32).ct_eq(&window));
            }
            acc = acc.mul(&entry);
        }
        acc
    }
}

/// The client's shared secret S = (B − k·g^x)^(a + u·x) mod N.
///
/// `b_reduced` is the server's public B already reduced modulo N, `u` the public scrambler
/// (a SHA-256 value), `x` the password-derived hash.
pub(crate) fn client_shared_secret(
    a: &PrivateExponent,
    x: &[u8; 32],
    u: &BigUint,
    b_reduced: &BigUint,
) -> BigUint {
    let field = field();
    let x = Zeroizing::new(U256::from_be_slice(x));
    let u = to_hash_uint(u);
    let gx = pow_g(&*x, HASH_BITS);
    let base = MontyForm::new(&to_uint(b_reduced), field.params).sub(&field.k.mul(&gx));
    let product: Zeroizing<U512> = Zeroizing::new(u.widening_mul(&*x));
    let exponent = Zeroizing::new(
        a.value.resize::<EXPONENT_LIMBS>().wrapping_add(&product.resize::<EXPONENT_LIMBS>()),
    );
    // a + u·x has at most max(bits of a, 512) + 1 bits.
    let bits = a.bits.max(2 * HASH_BITS) + 1;
    let mut shared = base.pow_bounded_exp(&*exponent, bits).retrieve();
    let result = to_biguint(&shared);
    shared.zeroize();
    result
}

/// u (public, at most 256 bits) as a fixed-size integer.
fn to_hash_uint(u: &BigUint) -> U256 {
    debug_assert!(u.bits() <= 256 && !u.is_zero());
    U256::from_be_slice(left_padded::<{ U256::BYTES }>(u).as_ref())
}

#[cfg(test)]
mod tests {
    //! The constant-time client path against the table-based one the server uses
    //! ([`crate::modexp`]): for the same inputs both give the same values.

    use proptest::prelude::*;

    use super::*;
    use crate::group::{compute_u, compute_x, compute_x_bytes};
    use crate::modexp::{Residue, pow_g};

    /// The client's S as the table-based arithmetic computes it (how this crate's client
    /// computed it before).
    fn table_based_client_secret(a: &BigUint, x: &BigUint, u: &BigUint, b: &BigUint) -> BigUint {
        let n = n();
        let kgx = (k() * pow_g(x).to_biguint()) % n;
        let base = (b + n - kgx) % n;
        Residue::new(&base).pow(&(a + u * x)).to_biguint()
    }

    fn integer(max_bytes: usize) -> impl Strategy<Value = BigUint> {
        proptest::collection::vec(any::<u8>(), 1..=max_bytes)
            .prop_map(|bytes| BigUint::from_bytes_be(&bytes))
    }

    #[test]
    fn edge_exponents_agree() {
        let n = n();
        let exponents = [
            BigUint::from(1u32),
            BigUint::from(2u32),
            (BigUint::from(1u32) << 256u32) - 1u32,
            (BigUint::from(1u32) << 1024u32) - 1u32,
            n - 2u32,
            n - 1u32,
            n.clone(),
            n * n + 3u32,
        ];
        for a in &exponents {
            assert_eq!(public_a(&PrivateExponent::from_biguint(a)), pow_g(a).to_biguint(), "{a:x}");
        }
        let x = [0xffu8; 32];
        assert_eq!(pow_g_hash(&x), pow_g(&BigUint::from_bytes_be(&x)).to_biguint());
        // x with leading zero bytes keeps its value.
        let mut small = [0u8; 32];
        small[31] = 3;
        assert_eq!(pow_g_hash(&small), BigUint::from(8u32));
        // B − k·g^x ≡ 0 gives S = 0 whatever the exponent.
        let x_int = BigUint::from_bytes_be(&x);
        let zero_base = (k() * pow_g(&x_int).to_biguint()) % n;
        let a = PrivateExponent::from_biguint(&(n - 1u32));
        assert_eq!(client_shared_secret(&a, &x, &BigUint::from(5u32), &zero_base), BigUint::ZERO);
    }

    #[test]
    fn random_exponents_walk_their_declared_size() {
        assert_eq!(PrivateExponent::from_random_bytes(&[0u8; 32]).bits, 256);
        assert_eq!(PrivateExponent::from_random_bytes(&[1u8; 128]).bits, 1024);
        assert_eq!(PrivateExponent::from_biguint(&BigUint::from(1u32)).bits, 64);
        assert_eq!(PrivateExponent::from_biguint(&(BigUint::from(1u32) << 64u32)).bits, 128);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn both_paths_agree(
            a in integer(130),
            salt in integer(16),
            password in "\\PC{0,20}",
            b in integer(384),
        ) {
            let b = b % n();
            prop_assume!(!b.is_zero());
            let private = PrivateExponent::from_biguint(&a);
            let a_public = public_a(&private);
            prop_assert_eq!(&a_public, &pow_g(&a).to_biguint());

            let x_bytes = compute_x_bytes(&salt, "Pool", "user", &password);
            let x = compute_x(&salt, "Pool", "user", &password);
            prop_assert_eq!(pow_g_hash(&x_bytes), pow_g(&x).to_biguint());

            let u = compute_u(&a_public, &b).unwrap();
            prop_assert_eq!(
                client_shared_secret(&private, &x_bytes, &u, &b),
                table_based_client_secret(&a, &x, &u, &b)
            );
        }
    }
}
