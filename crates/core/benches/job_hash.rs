//! Job hash cost against bare SHA-256 of the same canonical bytes, at 1 KB, 100 KB and 1 MB.
//!
//! The target is `job_hash` at most 1.25x `bare_sha256` at 1 MB: the encoder streams into
//! the hasher, so everything but the SHA-256 itself should vanish at that size.
//! `canonical_bytes_then_sha256` shows what materialising the encoding first would cost.

use std::hint::black_box;
use std::time::Duration;

use countersign_core::jobhash::{canonical_bytes, job_hash, Generation};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sha2::{Digest, Sha256};

mod support;
use support::request;

fn job_hash_vs_sha256(c: &mut Criterion) {
    for (label, size) in [("1KB", 700), ("100KB", 100 << 10), ("1MB", 1 << 20)] {
        let req = request(size);
        let bytes = canonical_bytes(&req, Generation::New);
        let mut group = c.benchmark_group(format!("job_hash_{label}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("job_hash", |b| {
            b.iter(|| job_hash(black_box(&req), Generation::New))
        });
        group.bench_function("canonical_bytes_then_sha256", |b| {
            b.iter(|| Sha256::digest(canonical_bytes(black_box(&req), Generation::New)))
        });
        group.bench_function("bare_sha256", |b| {
            b.iter(|| Sha256::digest(black_box(bytes.as_slice())))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = job_hash_vs_sha256
}
criterion_main!(benches);
