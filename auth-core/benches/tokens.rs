#![allow(missing_docs, reason = "criterion generates the bench entry points")]
//! The cached `tokens()` path: what every API call of an app pays.
//!
//! One "iteration" is one `tokens()` call; with R readers the calls are split across R
//! tasks on a 2-worker runtime, so the reported time is wall-clock time per call with R
//! callers competing (lower is better; no lock is taken on this path, so it should not
//! grow with R).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use auth_core::testing::FakeIdentityProvider;
use auth_core::{AuthClient, ManualClock, SignInRequest};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn cached_tokens(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = runtime.block_on(async {
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let provider = FakeIdentityProvider::new(clock.clone());
        provider.add_user("bench", "Passw0rd!");
        let client =
            AuthClient::builder().identity_provider(Arc::new(provider)).clock(clock).build();
        client.initialize().await.expect("initialize");
        client.sign_in(SignInRequest::password("bench", "Passw0rd!")).await.expect("sign in");
        client
    });
    let mut group = c.benchmark_group("cached_tokens");
    group.measurement_time(Duration::from_secs(5));
    for readers in [1u64, 16] {
        group.bench_with_input(BenchmarkId::new("readers", readers), &readers, |b, &readers| {
            b.iter_custom(|iters| {
                let per_reader = iters.div_ceil(readers);
                let start = Instant::now();
                runtime.block_on(async {
                    let tasks: Vec<_> = (0..readers)
                        .map(|_| {
                            let client = client.clone();
                            tokio::spawn(async move {
                                for _ in 0..per_reader {
                                    let tokens = client.tokens().await.expect("cached tokens");
                                    std::hint::black_box(tokens);
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("reader");
                    }
                });
                // Report per call, whatever rounding `div_ceil` added.
                start.elapsed().mul_f64(iters as f64 / (per_reader * readers) as f64)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cached_tokens);
criterion_main!(benches);
