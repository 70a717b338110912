//! Exponentiation modulo the group prime N: the cost of every SRP exchange.
//!
//! A USER_SRP_AUTH login costs six exponentiations modulo the 3072-bit N (three on each side),
//! so this module decides how fast the server's side of a sign-in is. It is written by hand for two reasons:
//!
//! - No maintained crate offers fixed-base exponentiation, and three of the six are powers of
//!   the fixed generator g = 2 (A = g^a, g^x, g^b). A precomputed Lim–Lee comb table ([`Comb`])
//!   turns each of them from 256 squarings and 64 multiplications into 15 squarings and 32
//!   multiplications.
//! - The multiplication itself: `num-bigint` 0.4 keeps its Montgomery multiplication private
//!   behind `modpow` (one allocation per step, no dedicated squaring). The candidates measured
//!   in thread CPU time on the project's machine (3072-bit modulus, 256-bit exponent):
//!   num-bigint `modpow` 886 µs, crypto-bigint 0.7 `pow_vartime` 847 µs (and it needs Rust
//!   1.87, above the workspace's 1.85), dashu-int 0.6 1107 µs, ibig 0.3 1324 µs. The
//!   product-scanning ("FIPS") Montgomery multiplication and squaring below, on fixed-size
//!   arrays without allocation, cost about 2.1 µs and 1.8 µs against about 2.6 µs for a step
//!   of the others, and give a 256-bit exponentiation in about 0.62 ms.
//!
//! Everything else (parsing, hashing inputs, `% N` of peer values) stays on `num-bigint`; only
//! values already reduced modulo N enter [`Residue`].
//!
//! Timing: like `num-bigint`'s `modpow` which this replaces, this code is not hardened against
//! local timing side channels (table lookups are indexed by exponent bits and the final
//! Montgomery subtraction is conditional), so only the server's side uses it; the client's
//! exponentiations, whose exponents derive from its secrets, go through the constant-time
//! [`crate::constant_time`] instead.

use std::sync::OnceLock;

use num_bigint::BigUint;

use crate::group::n;

/// 64-bit limbs in a 3072-bit number.
const LIMBS: usize = 48;

/// The modulus N and the constants of Montgomery arithmetic modulo N (R = 2^3072).
struct Modulus {
    /// N, little-endian limbs.
    n: [u64; LIMBS],
    /// −N⁻¹ mod 2^64.
    n0_inv: u64,
    /// R² mod N: multiplying by it converts into Montgomery form.
    r2: [u64; LIMBS],
    /// R mod N: 1 in Montgomery form.
    one: [u64; LIMBS],
}

fn modulus() -> &'static Modulus {
    static MODULUS: OnceLock<Modulus> = OnceLock::new();
    MODULUS.get_or_init(|| {
        let n_big = n();
        let n = limbs(n_big);
        // Newton's iteration doubles the number of correct low bits each step: 1 → 64 in 6.
        let mut inv = 1u64;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inv)));
        }
        let r = BigUint::from(1u32) << (64 * LIMBS);
        Modulus {
            n,
            n0_inv: inv.wrapping_neg(),
            r2: limbs(&((&r * &r) % n_big)),
            one: limbs(&(r % n_big)),
        }
    })
}

/// The little-endian limbs of a value below 2^3072.
fn limbs(value: &BigUint) -> [u64; LIMBS] {
    let mut out = [0u64; LIMBS];
    for (slot, digit) in out.iter_mut().zip(value.iter_u64_digits()) {
        *slot = digit;
    }
    debug_assert!(value.bits() <= 64 * LIMBS as u64, "callers reduce modulo N first");
    out
}

/// A value modulo N in Montgomery form (x·R mod N), always fully reduced (< N).
#[derive(Clone, Copy)]
pub(crate) struct Residue([u64; LIMBS]);

impl std::fmt::Debug for Residue {
    // Residues hold secrets (g^b, the shared S); never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Residue([redacted])")
    }
}

/// A three-word accumulator for product scanning: (hi, lo) = hi·2^128 + lo.
#[derive(Clone, Copy, Default)]
struct Accumulator {
    lo: u128,
    hi: u64,
}

impl Accumulator {
    #[inline(always)]
    fn add_product(&mut self, a: u64, b: u64) {
        let (sum, carry) = self.lo.overflowing_add(u128::from(a) * u128::from(b));
        self.lo = sum;
        self.hi += u64::from(carry);
    }

    /// Adds twice `other` (the doubled cross products of a square).
    #[inline(always)]
    fn add_twice(&mut self, other: &Accumulator) {
        let (sum, carry) = self.lo.overflowing_add(other.lo << 1);
        self.lo = sum;
        self.hi += (other.hi << 1) + u64::from(other.lo >> 127 != 0) + u64::from(carry);
    }

    /// Takes the low word out and shifts the rest down by one word.
    #[inline(always)]
    fn shift_out(&mut self) -> u64 {
        let low = self.lo as u64;
        self.lo = (self.lo >> 64) | (u128::from(self.hi) << 64);
        self.hi = 0;
        low
    }
}

/// Subtracts N from `value` (whose true value is `top`·2^3072 + `value`) when it is ≥ N.
/// The callers' results are below 2N, so one subtraction reduces them fully.
#[inline(always)]
fn reduce_once(top: u64, value: &mut [u64; LIMBS], n: &[u64; LIMBS]) {
    if top == 0 && less_than(value, n) {
        return;
    }
    let mut borrow = false;
    for (v, m) in value.iter_mut().zip(n) {
        let (d1, b1) = v.overflowing_sub(*m);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *v = d2;
        borrow = b1 || b2;
    }
}

fn less_than(a: &[u64; LIMBS], b: &[u64; LIMBS]) -> bool {
    for (x, y) in a.iter().zip(b).rev() {
        if x != y {
            return x < y;
        }
    }
    false
}

impl Residue {
    /// 1 in Montgomery form.
    pub(crate) fn one() -> Self {
        Self(modulus().one)
    }

    /// Converts a value into Montgomery form, reducing it modulo N first.
    pub(crate) fn new(value: &BigUint) -> Self {
        let n = n();
        let reduced = if value < n { limbs(value) } else { limbs(&(value % n)) };
        Self(reduced).mul(&Self(modulus().r2))
    }

    /// The value as an ordinary integer in [0, N).
    pub(crate) fn to_biguint(self) -> BigUint {
        let mut plain_one = [0u64; LIMBS];
        plain_one[0] = 1;
        let plain = self.mul(&Self(plain_one));
        let digits: Vec<u32> =
            plain.0.iter().flat_map(|limb| [*limb as u32, (limb >> 32) as u32]).collect();
        BigUint::new(digits)
    }

    /// Montgomery product self·other·R⁻¹ mod N, by product scanning (the "FIPS" method of
    /// Koç, Acar and Kaliski): the columns of a·b and of q·N are summed together, so each
    /// partial sum stays in registers instead of a temporary array.
    pub(crate) fn mul(&self, other: &Self) -> Self {
        let Modulus { n, n0_inv, .. } = modulus();
        let (a, b) = (&self.0, &other.0);
        let mut q = [0u64; LIMBS];
        let mut out = [0u64; LIMBS];
        let mut acc = Accumulator::default();
        for k in 0..LIMBS {
            for i in 0..k {
                acc.add_product(a[i], b[k - i]);
                acc.add_product(q[i], n[k - i]);
            }
            acc.add_product(a[k], b[0]);
            // Choose q[k] so that this column's low word becomes zero.
            q[k] = (acc.lo as u64).wrapping_mul(*n0_inv);
            acc.add_product(q[k], n[0]);
            acc.shift_out();
        }
        for k in LIMBS..2 * LIMBS {
            for i in (k - LIMBS + 1)..LIMBS {
                acc.add_product(a[i], b[k - i]);
                acc.add_product(q[i], n[k - i]);
            }
            out[k - LIMBS] = acc.shift_out();
        }
        reduce_once(acc.lo as u64, &mut out, n);
        Self(out)
    }

    /// Montgomery square: as [`Residue::mul`], with each cross product a_i·a_j computed once
    /// and doubled, about a quarter fewer word multiplications.
    pub(crate) fn square(&self) -> Self {
        let Modulus { n, n0_inv, .. } = modulus();
        let a = &self.0;
        let mut q = [0u64; LIMBS];
        let mut out = [0u64; LIMBS];
        let mut acc = Accumulator::default();
        // Column k of a² is twice the sum of a_i·a_(k−i) over i < k − i, plus a_(k/2)² when k
        // is even. The two halves are separate loops (as in `mul`) so that the compiler sees
        // simple bounds: one unified loop measured 40% slower.
        for k in 0..LIMBS {
            let mut cross = Accumulator::default();
            for i in 0..k.div_ceil(2) {
                cross.add_product(a[i], a[k - i]);
            }
            acc.add_twice(&cross);
            if k % 2 == 0 {
                acc.add_product(a[k / 2], a[k / 2]);
            }
            for i in 0..k {
                acc.add_product(q[i], n[k - i]);
            }
            q[k] = (acc.lo as u64).wrapping_mul(*n0_inv);
            acc.add_product(q[k], n[0]);
            acc.shift_out();
        }
        for k in LIMBS..2 * LIMBS {
            let mut cross = Accumulator::default();
            for i in (k - LIMBS + 1)..k.div_ceil(2) {
                cross.add_product(a[i], a[k - i]);
            }
            acc.add_twice(&cross);
            if k % 2 == 0 {
                acc.add_product(a[k / 2], a[k / 2]);
            }
            for i in (k - LIMBS + 1)..LIMBS {
                acc.add_product(q[i], n[k - i]);
            }
            out[k - LIMBS] = acc.shift_out();
        }
        reduce_once(acc.lo as u64, &mut out, n);
        Self(out)
    }

    /// self^exponent mod N with fixed windows: one squaring per exponent bit and one
    /// multiplication per window, whatever the bits are.
    pub(crate) fn pow(&self, exponent: &BigUint) -> Self {
        let bits = exponent.bits();
        if bits == 0 {
            return Self::one();
        }
        // A window of 5 bits costs 16 more table entries than 4 bits and saves a
        // multiplication every 20 bits: worth it from about 400 bits on.
        let width: u32 = if bits > 384 { 5 } else { 4 };
        let mut table = Vec::with_capacity(1 << width);
        table.push(Self::one());
        table.push(*self);
        for i in 2..(1usize << width) {
            let next = table[i - 1].mul(self);
            table.push(next);
        }
        let digits: Vec<u64> = exponent.iter_u64_digits().collect();
        let windows = bits.div_ceil(u64::from(width));
        let mut acc = table[bits_at(&digits, (windows - 1) * u64::from(width), width)];
        for window in (0..windows - 1).rev() {
            for _ in 0..width {
                acc = acc.square();
            }
            acc = acc.mul(&table[bits_at(&digits, window * u64::from(width), width)]);
        }
        acc
    }
}

/// The `width` bits of the little-endian `digits` starting at bit `position`.
fn bits_at(digits: &[u64], position: u64, width: u32) -> usize {
    let limb = (position / 64) as usize;
    let shift = (position % 64) as u32;
    let low = digits.get(limb).map_or(0, |d| d >> shift);
    let high =
        if shift + width > 64 { digits.get(limb + 1).map_or(0, |d| d << (64 - shift)) } else { 0 };
    ((low | high) & ((1u64 << width) - 1)) as usize
}

/// The comb takes exponents of up to this many bits at once: b, x and a 256-bit a.
const COMB_BITS: usize = 256;
/// Lim–Lee parameters: h = 8 teeth (rows), v = 2 blocks per row. The table holds v·2^h = 512
/// residues (192 KiB) and costs about 240 squarings and 500 multiplications to build, once
/// per process; each exponentiation then takes 15 squarings and 32 multiplications.
/// (v = 4 would save 8 squarings per exponentiation for twice the table.)
const TEETH: usize = 8;
const BLOCKS: usize = 2;
/// Bits per row (a) and per block (b).
const ROW_BITS: usize = COMB_BITS / TEETH;
const BLOCK_BITS: usize = ROW_BITS / BLOCKS;

/// The Lim–Lee fixed-base comb for g = 2.
///
/// Write a ≤ 256-bit exponent as 8 rows of 32 bits, each row as 2 blocks of 16 bits. Entry
/// `[s][u]` is the product of g^(2^(32r + 16s)) over the rows r whose bit is set in u. Then
/// g^e = ∏ₖ (∏ₛ table[s][uₛₖ])^(2^k), where uₛₖ gathers bit 32r + 16s + k of e for each row r,
/// which Horner's rule evaluates with one squaring per k.
struct Comb {
    /// `BLOCKS` tables of `2^TEETH` residues, block-major.
    table: Vec<Residue>,
}

impl Comb {
    fn get() -> &'static Self {
        static COMB: OnceLock<Comb> = OnceLock::new();
        COMB.get_or_init(Self::build)
    }

    fn build() -> Self {
        // powers[t] = g^(2^(16t)) for t < 16; row r, block s is t = 2r + s.
        let mut powers = Vec::with_capacity(TEETH * BLOCKS);
        let mut power = Residue::new(&BigUint::from(2u32));
        for t in 0..TEETH * BLOCKS {
            if t > 0 {
                for _ in 0..BLOCK_BITS {
                    power = power.square();
                }
            }
            powers.push(power);
        }
        let mut table = Vec::with_capacity(BLOCKS << TEETH);
        for block in 0..BLOCKS {
            let start = table.len();
            table.push(Residue::one());
            for u in 1usize..(1 << TEETH) {
                // Entry u is entry u-without-its-lowest-row times that row's power.
                let row = u.trailing_zeros() as usize;
                let row_power = &powers[row * BLOCKS + block];
                let rest = u & (u - 1);
                let entry = if rest == 0 { *row_power } else { table[start + rest].mul(row_power) };
                table.push(entry);
            }
        }
        Self { table }
    }

    /// g^exponent for an exponent of at most [`COMB_BITS`] bits, as little-endian limbs.
    fn pow(&self, exponent: &[u64; COMB_BITS / 64]) -> Residue {
        let bit = |i: usize| ((exponent[i / 64] >> (i % 64)) & 1) as usize;
        let mut acc = Residue::one();
        for k in (0..BLOCK_BITS).rev() {
            if k != BLOCK_BITS - 1 {
                acc = acc.square();
            }
            for block in (0..BLOCKS).rev() {
                let mut u = 0;
                for row in 0..TEETH {
                    u |= bit(row * ROW_BITS + block * BLOCK_BITS + k) << row;
                }
                acc = acc.mul(&self.table[(block << TEETH) + u]);
            }
        }
        acc
    }
}

/// g^exponent mod N for the generator g = 2, with the comb (built on first use). A longer
/// exponent is taken 256 bits at a time, most significant first, by Horner's rule:
/// acc ← acc^(2^256) · g^chunk, so a 1024-bit exponent costs three rounds of 256 squarings
/// plus four combs instead of a full windowed exponentiation.
pub(crate) fn pow_g(exponent: &BigUint) -> Residue {
    let comb = Comb::get();
    let digits: Vec<u64> = exponent.iter_u64_digits().collect();
    let mut acc: Option<Residue> = None;
    for chunk in digits.chunks(COMB_BITS / 64).rev() {
        let mut limbs = [0u64; COMB_BITS / 64];
        limbs[..chunk.len()].copy_from_slice(chunk);
        let part = comb.pow(&limbs);
        acc = Some(match acc {
            None => part,
            Some(mut high) => {
                for _ in 0..COMB_BITS {
                    high = high.square();
                }
                high.mul(&part)
            }
        });
    }
    acc.unwrap_or_else(Residue::one)
}

#[cfg(test)]
mod tests {
    //! The fast paths against `num-bigint`'s `modpow` and plain `%`, on edge values and on
    //! random ones.

    use num_traits::One as _;
    use proptest::prelude::*;

    use super::*;

    fn reference_mul(a: &BigUint, b: &BigUint) -> BigUint {
        (a * b) % n()
    }

    /// Values where carries and the final subtraction are most likely to go wrong.
    fn edge_values() -> Vec<BigUint> {
        let n = n();
        let r = BigUint::one() << (64 * LIMBS);
        vec![
            BigUint::default(),
            BigUint::one(),
            BigUint::from(2u32),
            n - 1u32,
            n - 2u32,
            n >> 1u32,
            (&r - 1u32) % n,
            BigUint::from(u64::MAX),
            (BigUint::one() << 3071u32) + 1u32,
        ]
    }

    fn arbitrary_below_n() -> impl Strategy<Value = BigUint> {
        proptest::collection::vec(any::<u8>(), 0..=384)
            .prop_map(|bytes| BigUint::from_bytes_be(&bytes) % n())
    }

    fn arbitrary_exponent(max_bytes: usize) -> impl Strategy<Value = BigUint> {
        proptest::collection::vec(any::<u8>(), 0..=max_bytes)
            .prop_map(|bytes| BigUint::from_bytes_be(&bytes))
    }

    #[test]
    fn conversions_round_trip() {
        for value in edge_values() {
            assert_eq!(Residue::new(&value).to_biguint(), value);
        }
        // Values of N and above are reduced first.
        assert_eq!(Residue::new(n()).to_biguint(), BigUint::default());
        assert_eq!(Residue::new(&(n() + 5u32)).to_biguint(), BigUint::from(5u32));
        assert_eq!(Residue::new(&(n() * n() + 7u32)).to_biguint(), BigUint::from(7u32));
        assert_eq!(Residue::one().to_biguint(), BigUint::one());
    }

    #[test]
    fn products_and_squares_of_edge_values() {
        let edges = edge_values();
        for a in &edges {
            let ra = Residue::new(a);
            assert_eq!(ra.square().to_biguint(), reference_mul(a, a), "{a:x}²");
            for b in &edges {
                assert_eq!(ra.mul(&Residue::new(b)).to_biguint(), reference_mul(a, b));
            }
        }
    }

    #[test]
    fn powers_of_edge_values_and_exponents() {
        let exponents = [
            BigUint::default(),
            BigUint::one(),
            BigUint::from(2u32),
            BigUint::from(15u32),
            BigUint::from(16u32),
            (BigUint::one() << 256u32) - 1u32,
            BigUint::one() << 255u32,
            BigUint::one() << 256u32,
            (BigUint::one() << 1024u32) - 1u32,
            n() - 1u32,
        ];
        for base in edge_values() {
            for e in &exponents {
                assert_eq!(Residue::new(&base).pow(e).to_biguint(), base.modpow(e, n()));
            }
        }
        for e in &exponents {
            assert_eq!(pow_g(e).to_biguint(), BigUint::from(2u32).modpow(e, n()), "2^{e:x}");
        }
        // Fermat: g^(N-1) = 1 for the prime N.
        assert_eq!(pow_g(&(n() - 1u32)).to_biguint(), BigUint::one());
    }

    #[test]
    fn comb_rows_and_blocks_line_up() {
        // A single bit in each position exercises every (row, block, k) triple.
        for bit in 0..COMB_BITS as u32 {
            let e = BigUint::one() << bit;
            assert_eq!(pow_g(&e).to_biguint(), BigUint::from(2u32).modpow(&e, n()), "bit {bit}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn mul_and_square_match_num_bigint(a in arbitrary_below_n(), b in arbitrary_below_n()) {
            let (ra, rb) = (Residue::new(&a), Residue::new(&b));
            prop_assert_eq!(ra.mul(&rb).to_biguint(), reference_mul(&a, &b));
            prop_assert_eq!(ra.square().to_biguint(), reference_mul(&a, &a));
        }

        #[test]
        fn pow_matches_modpow(base in arbitrary_below_n(), e in arbitrary_exponent(130)) {
            prop_assert_eq!(Residue::new(&base).pow(&e).to_biguint(), base.modpow(&e, n()));
        }

        #[test]
        fn pow_g_matches_modpow(e in arbitrary_exponent(140)) {
            prop_assert_eq!(pow_g(&e).to_biguint(), BigUint::from(2u32).modpow(&e, n()));
        }
    }
}
