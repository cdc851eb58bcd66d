//! Time to decide (issue 14): a verified approve (a fresh fetch of the item and its content,
//! the snapshot and content checks, the request recomputed and hashed where the gateway
//! exposes it, the intent written to the outbox before sending, the approve call, the outcome
//! recorded) against a bare approve call, as `curl` would send it, on the same gateway.
//! Target: at most 1.3x the bare call at a 10 KB request. The large case is 250 KB, under the
//! reference gateway's 256 KiB submit limit, where the hashing share shows.
//! Each measured approve is of a fresh job, submitted outside the timing.

#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::{json, Value};
use support::{submit_to, Harness, AGENT, ALICE};

/// A payment request whose context is about `bytes` long.
fn context_of(bytes: usize) -> Value {
    json!({"amount": 1200, "vendor": "Acme", "notes": "x".repeat(bytes)})
}

fn decide(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let harness = runtime.block_on(Harness::start());
    let decider = harness.decider(ALICE, "bench");
    let url = harness.url();
    let mut group = c.benchmark_group("approve");
    group.sample_size(30);
    for (label, bytes) in [("10 KB", 10 * 1024), ("250 KB", 250 * 1024)] {
        group.bench_with_input(BenchmarkId::new("bare call", label), &bytes, |b, &bytes| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let job = submit_to(&harness.http, &url, AGENT, context_of(bytes)).await;
                        let start = Instant::now();
                        let response = harness
                            .http
                            .post(format!("{url}/api/v1/approvals/{job}/approve"))
                            .header("X-API-Key", ALICE)
                            .json(&json!({"reason": "bench"}))
                            .send()
                            .await
                            .expect("approve sent");
                        assert!(response.status().is_success(), "{}", response.status());
                        response.bytes().await.expect("answer read");
                        total += start.elapsed();
                    }
                    total
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("verified", label), &bytes, |b, &bytes| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let job = submit_to(&harness.http, &url, AGENT, context_of(bytes)).await;
                        let seen = harness.seen(&job).await;
                        let start = Instant::now();
                        decider.approve(&seen, "bench", "").await.expect("approved");
                        total += start.elapsed();
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
