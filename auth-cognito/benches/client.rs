//! Client-side costs: the SRP computation of one sign-in, and verifying a JWT with a warm
//! JWKS. Targets: SRP under 5 ms, verification under 50 µs. With the `aws-sdk` feature also
//! the aws-sdk bridge: handing cached credentials to the SDK, and one SigV4 signature.
//!
//! `cargo bench -p auth-cognito --bench client [--features aws-sdk]`
#![allow(missing_docs, reason = "criterion's macros generate undocumented items")]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_cognito::JwtVerifier;
use auth_srp::{ClientEphemeral, PasswordChallenge, ServerEphemeral, Verifier};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const POOL_ID: &str = "us-east-1_BenchPool1";
const CLIENT: &str = "benchclient";

/// A fresh ephemeral key as `CognitoUserPool` makes it (`user_pool/srp.rs`,
/// `new_ephemeral`): a 256-bit random private value a.
fn ephemeral(private_bytes: usize) -> ClientEphemeral {
    let mut bytes = vec![0u8; private_bytes];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    ClientEphemeral::from_private(auth_srp::BigUint::from_bytes_be(&bytes)).unwrap()
}

/// What `CognitoUserPool` computes for USER_SRP_AUTH: a fresh ephemeral key (A = g^a, for
/// `SRP_A`), then, from the server's `PASSWORD_VERIFIER`, the session key and the
/// `PASSWORD_CLAIM_SIGNATURE` with the current `TIMESTAMP`. For comparison, the same with
/// the 1024-bit private value other Cognito clients use.
fn srp(c: &mut Criterion) {
    let pool = auth_srp::pool_name(POOL_ID);
    let verifier = Verifier::generate(pool, "bench-user", "Bench-Passw0rd!");
    let server = ServerEphemeral::new(verifier.verifier());
    let salt = verifier.salt_hex();
    let srp_b = server.public_hex();
    let block = STANDARD.encode([42u8; 1024]);
    let challenge = PasswordChallenge::new(pool, "bench-user", &salt, &srp_b, &block);
    let mut group = c.benchmark_group("srp");
    for (name, bytes) in
        [("client sign-in, 256-bit a (this crate)", 32), ("client sign-in, 1024-bit a", 128)]
    {
        group.bench_function(name, |b| {
            b.iter(|| {
                let ephemeral = ephemeral(bytes);
                let srp_a = ephemeral.public_hex();
                let timestamp = auth_srp::format_timestamp(SystemTime::now());
                let signature = ephemeral
                    .password_claim_signature(&challenge, "Bench-Passw0rd!", &timestamp)
                    .unwrap();
                black_box((srp_a, signature))
            });
        });
    }
    group.bench_function("ConfirmDevice verifier", |b| {
        b.iter(|| black_box(auth_srp::DeviceVerifierConfig::generate("group", "us-east-1_dev")));
    });
    group.finish();
}

fn jwt(c: &mut Criterion) {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let public = key.public_key();
    let jwks = json!({"keys": [{
        "kid": "bench-key", "alg": "RS256", "kty": "RSA", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
    }]});
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({
        "sub": "0f1e2d3c-aaaa-bbbb-cccc-000000000001", "client_id": CLIENT,
        "iss": format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}"),
        "token_use": "access", "scope": "aws.cognito.signin.user.admin", "username": "bench",
        "cognito:groups": ["a", "b"], "auth_time": now, "iat": now, "exp": now + 3600,
        "jti": "5d1b3c2a-0000-4000-8000-000000000000", "event_id": "e", "version": 2,
    });
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "kid": "bench-key"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message.as_bytes(), &mut signature).unwrap();
    let token = format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature));
    let verifier = JwtVerifier::builder(POOL_ID)
        .client_id(CLIENT)
        .jwks_json(jwks.to_string())
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(verifier.verify_access_token(&token)).expect("the bench token is valid");
    c.bench_function("jwt/verify access token (warm JWKS)", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(verifier.verify_access_token(black_box(&token)).await.unwrap())
        });
    });
}

/// What every aws-sdk-rust call costs the bridge when the credentials are cached: one
/// `AuthClient::aws_credentials()` and the conversion to the SDK's type. And what signing a
/// request with `RequestSigner` costs (1 KiB body, hashed).
#[cfg(feature = "aws-sdk")]
fn aws_sdk(c: &mut Criterion) {
    use std::sync::Arc;

    use auth_cognito::aws_sdk::{AuthClientCredentialsProvider, RequestSigner};
    use auth_core::testing::FakeCredentialsProvider;
    use auth_core::{AuthClient, SystemClock};

    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let client = AuthClient::builder()
        .credentials_provider(Arc::new(FakeCredentialsProvider::new(Arc::new(SystemClock))))
        .guest_access(true)
        .build();
    let credentials = runtime.block_on(async {
        client.initialize().await.unwrap();
        client.aws_credentials().await.unwrap()
    });
    let bridge = AuthClientCredentialsProvider::new(client.clone());
    c.bench_function("aws-sdk/provide cached credentials", |b| {
        b.to_async(&runtime).iter(|| async { black_box(bridge.credentials().await.unwrap()) });
    });
    let signer = RequestSigner::new(client, "us-east-1", "execute-api");
    let body = vec![b'x'; 1024];
    c.bench_function("aws-sdk/SigV4 sign a request (1 KiB body)", |b| {
        b.iter(|| {
            let mut request =
                http::Request::post("https://abc.execute-api.us-east-1.amazonaws.com/prod/items")
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .unwrap();
            signer.sign_with(&mut request, &credentials, SystemTime::now()).unwrap();
            black_box(request)
        });
    });
}

#[cfg(not(feature = "aws-sdk"))]
fn aws_sdk(_: &mut Criterion) {}

criterion_group!(benches, srp, jwt, aws_sdk);
criterion_main!(benches);
