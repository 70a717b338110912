//! Load and save latency of the file store, plain and encrypted, with a session the size of
//! a real Cognito one (about 4.5 KB: ID and access JWTs of about 1 KB each, a 1.8 KB
//! refresh token, AWS credentials).
//!
//! `cargo bench -p auth-storage --bench file_store`. Saves include both fsyncs (file and
//! directory), so their figure is mostly the disk's; set `AUTH_STORAGE_BENCH_DIR` to
//! measure on a particular file system (default: the system's temporary directory).
#![allow(missing_docs, reason = "criterion's macros generate undocumented items")]
#![allow(clippy::print_stderr, reason = "a benchmark reports the record size it measured")]

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::testing::unsigned_jwt;
use auth_core::{
    AccessToken, AwsCredentials, Generation, IdToken, IdentityId, RefreshToken, SecretAccessKey,
    SessionToken, StoredSession, TokenStore, UserPoolSession, UserPoolTokens,
};
use auth_storage::{EncryptionKey, FileTokenStore, Namespace};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

/// A session shaped like Cognito's: the claims a user pool puts in its tokens, RS256-sized
/// signatures, an opaque refresh token of Cognito's length.
fn cognito_sized_session() -> StoredSession {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let signature = "s".repeat(342);
    let jwt = |claims: serde_json::Value| {
        let unsigned = unsigned_jwt(&claims);
        format!("{}.{signature}", unsigned.rsplit_once('.').unwrap().0)
    };
    let sub = "8f1c2e3d-4b5a-6978-8796-a5b4c3d2e1f0";
    let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI";
    let id = jwt(json!({
        "sub": sub, "email_verified": true, "iss": issuer, "cognito:username": "alice",
        "origin_jti": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "aud": "1h2j3k4l5m6n7o8p9q0r1s2t3u",
        "event_id": "a5b4c3d2-e1f0-0f1e-2d3c-4b5a69788796", "token_use": "id", "auth_time": now,
        "exp": now + 3600, "iat": now, "jti": "4b5a6978-8796-a5b4-c3d2-e1f00f1e2d3c",
        "email": "alice@example.com", "cognito:groups": ["admins", "users"],
    }));
    let access = jwt(json!({
        "sub": sub, "iss": issuer, "client_id": "1h2j3k4l5m6n7o8p9q0r1s2t3u",
        "origin_jti": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "event_id": "a5b4c3d2-e1f0-0f1e-2d3c-4b5a69788796",
        "token_use": "access", "scope": "aws.cognito.signin.user.admin", "auth_time": now,
        "exp": now + 3600, "iat": now, "jti": "6978-8796-a5b4-c3d2-e1f00f1e2d3c", "username": "alice",
    }));
    let tokens = UserPoolTokens::new(
        IdToken::new(id),
        AccessToken::new(access),
        Some(RefreshToken::new("r".repeat(1780))),
    )
    .unwrap();
    let mut session = StoredSession::default();
    session.user_pool = Some(UserPoolSession::new("alice", tokens));
    session.identity_id = Some(IdentityId::new("us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));
    session.aws_credentials = Some(AwsCredentials::new(
        "ASIAXXXXXXXXXXXXXXXX",
        SecretAccessKey::new("k".repeat(40)),
        Some(SessionToken::new("t".repeat(1100))),
        Some(SystemTime::now() + Duration::from_secs(3600)),
    ));
    session
}

fn bench(c: &mut Criterion) {
    let base = std::env::var_os("AUTH_STORAGE_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = match &base {
        Some(base) => tempfile::tempdir_in(base),
        None => tempfile::tempdir(),
    }
    .unwrap();
    let session = cognito_sized_session();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    for (name, key) in [("plain", None), ("encrypted", Some(EncryptionKey::generate()))] {
        let mut builder = FileTokenStore::builder(dir.path(), Namespace::new(name).unwrap());
        builder.set_encryption_key(key);
        let store = builder.build();
        let mut generation =
            store.compare_and_swap_blocking(Generation::NEW, Some(&session)).unwrap();
        let size = std::fs::metadata(store.path()).unwrap().len();
        eprintln!("{name}: record of {size} bytes in {}", dir.path().display());

        let mut group = c.benchmark_group(format!("file_store/{name}"));
        group.bench_function("load (calling thread)", |b| {
            b.iter(|| black_box(store.load_blocking().unwrap()));
        });
        group.bench_function("load (async, blocking pool)", |b| {
            b.to_async(&runtime).iter(|| async { black_box(store.load().await.unwrap()) });
        });
        group.sample_size(30).measurement_time(Duration::from_secs(8));
        group.bench_function("save with fsync (calling thread)", |b| {
            b.iter(|| {
                generation = store.compare_and_swap_blocking(generation, Some(&session)).unwrap();
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
