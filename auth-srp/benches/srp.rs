//! The SRP maths of one USER_SRP_AUTH login, each step timed twice: as this crate computes it
//! and as the textbook formula with `num-bigint`'s `modpow` (the baseline). This crate has two
//! paths: the client's exponentiations, whose exponents derive from secrets, run in constant
//! time on `crypto-bigint`; the server's use the faster table-based arithmetic (Montgomery
//! arithmetic, the comb table for powers of g). The same g^x is timed on both. Target: a whole login,
//! client and server together, well under 5 ms of CPU, so that `cargo xtask bench-server`
//! can reach 400 logins/s on two cores with its load generator sharing them.
//!
//! `cargo bench -p auth-srp --bench srp` (`-- "client sign-in"` for the client's whole share of a
//! sign-in alone)
#![allow(missing_docs, reason = "criterion's macros generate undocumented items")]

use std::hint::black_box;

use auth_srp::{
    BigUint, ClientEphemeral, DeviceVerifierConfig, PasswordChallenge, ServerEphemeral, SessionKey,
    Verifier, compute_u, compute_x, g, k, n,
};
use criterion::{Criterion, criterion_group, criterion_main};

const POOL: &str = "BenchPool1";
const USER: &str = "bench-user";
const PASSWORD: &str = "Bench-Passw0rd!";
const BLOCK: &str = "c2VjcmV0IGJsb2Nr";
const TIMESTAMP: &str = "Tue Mar 5 07:04:09 UTC 2024";

fn random(bytes: usize) -> BigUint {
    let mut buffer = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut buffer);
    BigUint::from_bytes_be(&buffer)
}

/// The client's S = (B − k·g^x)^(a + u·x) mod N with num-bigint only.
fn textbook_client_s(a: &BigUint, x: &BigUint, u: &BigUint, b_public: &BigUint) -> BigUint {
    let n = n();
    let kgx = k() * g().modpow(x, n) % n;
    ((b_public % n) + n - kgx).modpow(&(a + u * x), n)
}

/// The server's S = (A · v^u)^b mod N with num-bigint only.
fn textbook_server_s(a_public: &BigUint, v: &BigUint, u: &BigUint, b: &BigUint) -> BigUint {
    let n = n();
    ((a_public % n) * v.modpow(u, n) % n).modpow(b, n)
}

fn steps(c: &mut Criterion) {
    let n = n();
    let verifier = Verifier::generate(POOL, USER, PASSWORD);
    let v = verifier.verifier().clone();
    let salt = BigUint::from_bytes_be(verifier.salt());
    let x = compute_x(&salt, POOL, USER, PASSWORD);
    let (a, b) = (random(32), random(32));
    let client = ClientEphemeral::from_private(a.clone()).unwrap();
    let server = ServerEphemeral::from_private(&v, b.clone());
    let u = compute_u(client.public(), server.public()).unwrap();

    let mut group = c.benchmark_group("srp step");
    group.sample_size(30);
    group.bench_function("A = g^a, 256-bit a: this crate (client, constant time)", |bench| {
        bench.iter(|| ClientEphemeral::from_private(black_box(a.clone())).unwrap())
    });
    group.bench_function("A = g^a, 256-bit a: num-bigint modpow", |bench| {
        bench.iter(|| g().modpow(black_box(&a), n))
    });
    let long_a = random(128);
    group.bench_function("A = g^a, 1024-bit a: this crate (client, constant time)", |bench| {
        bench.iter(|| ClientEphemeral::from_private(black_box(long_a.clone())).unwrap())
    });
    group.bench_function("A = g^a, 1024-bit a: num-bigint modpow", |bench| {
        bench.iter(|| g().modpow(black_box(&long_a), n))
    });
    group.bench_function("v = g^x: constant time (client, DeviceVerifierConfig)", |bench| {
        bench.iter(|| {
            DeviceVerifierConfig::with_secret_and_salt(POOL, USER, black_box(PASSWORD), &[7; 16])
        })
    });
    group.bench_function("v = g^x: table-based (server, Verifier)", |bench| {
        bench.iter(|| Verifier::with_salt_bytes(POOL, USER, black_box(PASSWORD), &[7; 16]))
    });
    group.bench_function("B = k·v + g^b: this crate (server, table-based)", |bench| {
        bench.iter(|| ServerEphemeral::from_private(black_box(&v), b.clone()))
    });
    group.bench_function("B = k·v + g^b: num-bigint modpow", |bench| {
        bench.iter(|| (k() * black_box(&v) + g().modpow(&b, n)) % n)
    });
    group.bench_function("server S and key: this crate (server, table-based)", |bench| {
        bench.iter(|| server.session_key(black_box(client.public())).unwrap())
    });
    group.bench_function("server S and key: num-bigint modpow", |bench| {
        bench.iter(|| {
            let s = textbook_server_s(black_box(client.public()), &v, &u, &b);
            SessionKey::derive(&s, &u)
        })
    });
    group.bench_function(
        "client S and key, 256-bit a: this crate (client, constant time)",
        |bench| {
            bench.iter(|| {
                client.session_key(POOL, USER, PASSWORD, &salt, black_box(server.public())).unwrap()
            })
        },
    );
    group.bench_function("client S and key, 256-bit a: num-bigint modpow", |bench| {
        bench.iter(|| {
            let s = textbook_client_s(&a, &x, &u, black_box(server.public()));
            SessionKey::derive(&s, &u)
        })
    });
    group.finish();
}

/// The salt and B of a server challenge, as hex.
fn server_challenge() -> (String, String) {
    let verifier = Verifier::generate(POOL, USER, PASSWORD);
    let server = ServerEphemeral::new(verifier.verifier());
    (verifier.salt_hex(), server.public_hex())
}

/// The client's whole share of one USER_SRP_AUTH sign-in with a fresh `a` of `bytes`
/// bytes: A = g^a, and the password claim (x, u, S, the key and the signature), the
/// exponentiations in constant time.
fn client_share(bytes: usize, salt_hex: &str, srp_b: &str) -> (String, String) {
    let client = if bytes == 32 { ClientEphemeral::new_256_bit() } else { ClientEphemeral::new() };
    let challenge = PasswordChallenge::new(POOL, USER, salt_hex, srp_b, BLOCK);
    let signature = client.password_claim_signature(&challenge, PASSWORD, black_box(TIMESTAMP));
    (client.public_hex(), signature.unwrap())
}

/// [`client_share`] in wall time. The 256-bit `a` is what auth-cognito's provider uses
/// (`ClientEphemeral::new_256_bit`); the 1024-bit one is what Cognito's own SDKs use,
/// measured for comparison. Target for the provider's path: under 5 ms.
fn client_sign_in(c: &mut Criterion) {
    let (salt_hex, srp_b) = server_challenge();
    let mut group = c.benchmark_group("client sign-in");
    group.sample_size(20);
    for (bytes, name) in [
        (32, "256-bit a (auth-cognito), constant time: A and the password claim"),
        (128, "1024-bit a, constant time: A and the password claim"),
    ] {
        group.bench_function(name, |bench| bench.iter(|| client_share(bytes, &salt_hex, &srp_b)));
    }
    group.finish();
}

/// [`client_share`] with the 256-bit `a`, measured in the CPU time of the benchmark thread
/// instead of wall time: on a machine shared with other work (builds, other benchmarks)
/// wall time counts the time the thread waited for a core; CPU time counts only the work,
/// so it is the figure to compare with the 5 ms target there.
fn client_sign_in_cpu_time(c: &mut Criterion) {
    let (salt_hex, srp_b) = server_challenge();
    let mut group = c.benchmark_group("client sign-in, thread CPU time");
    group.sample_size(20);
    group.bench_function(
        "256-bit a (auth-cognito), constant time: A and the password claim",
        |bench| {
            bench.iter_custom(|iterations| {
                let started = cpu_time::ThreadTime::now();
                for _ in 0..iterations {
                    black_box(client_share(32, &salt_hex, &srp_b));
                }
                started.elapsed()
            })
        },
    );
    group.finish();
}

/// Everything both sides compute for one login with fresh random a and b: the SRP maths
/// `cargo xtask bench-server` spends per login (its load generator plays the client with a
/// 256-bit a).
fn login(c: &mut Criterion) {
    let n = n();
    let verifier = Verifier::generate(POOL, USER, PASSWORD);
    let salt_hex = verifier.salt_hex();
    let salt = BigUint::from_bytes_be(verifier.salt());
    let block = auth_srp::decode_base64_lenient("SECRET_BLOCK", BLOCK).unwrap();
    let mut group = c.benchmark_group("srp login, client and server");
    group.sample_size(20);
    group.bench_function("this crate", |bench| {
        bench.iter(|| {
            let client = ClientEphemeral::new_256_bit();
            let server = ServerEphemeral::new(verifier.verifier());
            let srp_b = server.public_hex();
            let challenge = PasswordChallenge::new(POOL, USER, &salt_hex, &srp_b, BLOCK);
            let signature =
                client.password_claim_signature(&challenge, PASSWORD, TIMESTAMP).unwrap();
            let key = server.session_key(client.public()).unwrap();
            assert!(key.verify_signature(POOL, USER, &block, TIMESTAMP, &signature));
        })
    });
    group.bench_function("num-bigint modpow", |bench| {
        let v = verifier.verifier();
        bench.iter(|| {
            let (a, b) = (random(32), random(32));
            let a_public = g().modpow(&a, n);
            let b_public = (k() * v + g().modpow(&b, n)) % n;
            let u = compute_u(&a_public, &b_public).unwrap();
            let x = compute_x(&salt, POOL, USER, PASSWORD);
            let client_key = SessionKey::derive(&textbook_client_s(&a, &x, &u, &b_public), &u);
            let signature = client_key.sign(POOL, USER, &block, TIMESTAMP);
            let server_key = SessionKey::derive(&textbook_server_s(&a_public, v, &u, &b), &u);
            assert!(server_key.verify_signature(POOL, USER, &block, TIMESTAMP, &signature));
        })
    });
    group.finish();
}

criterion_group!(benches, steps, client_sign_in, client_sign_in_cpu_time, login);
criterion_main!(benches);
