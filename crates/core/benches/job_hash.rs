//! Job hash cost against bare SHA-256 of the same canonical bytes, at 1 KB, 100 KB and 1 MB.
//!
//! The target is `job_hash` at most 1.25x `bare_sha256` at 1 MB: the encoder streams into
//! the hasher, so everything but the SHA-256 itself should vanish at that size.
//! `canonical_bytes_then_sha256` shows what materialising the encoding first would cost.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use countersign_core::jobhash::{canonical_bytes, job_hash};
use countersign_core::jobrequest::{
    ActorType, Budget, ContextHints, JobMetadata, JobPriority, JobRequest,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sha2::{Digest, Sha256};

fn entries(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A gateway-like approved request whose `context_ptr` carries about `size` bytes.
fn request(size: usize) -> JobRequest {
    let mut payload = String::with_capacity(size + 16);
    let mut i = 0;
    while payload.len() < size {
        payload.push_str(&format!("payload-{i};"));
        i += 1;
    }
    payload.truncate(size);
    JobRequest {
        job_id: "0c9f8a8e-3b1d-4d8e-9a55-0e0b3c2f6d71".into(),
        topic: "job.repo.write".into(),
        priority: JobPriority::INTERACTIVE,
        context_ptr: payload,
        env: entries(&[
            (
                "CORDUM_EFFECTIVE_CONFIG",
                r#"{"safety":{"deny_topics":["job.bad"]}}"#,
            ),
            ("LOCALE", "en"),
            ("tenant_id", "default"),
        ]),
        workflow_id: "wf-release".into(),
        step_index: 2,
        memory_id: "repo:cordum".into(),
        context_hints: Some(ContextHints {
            max_input_tokens: 8000,
            allow_retrieval: true,
            tags: vec!["code".into(), "logs".into()],
            ..ContextHints::default()
        }),
        budget: Some(Budget {
            max_input_tokens: 8000,
            max_output_tokens: 1024,
            deadline_ms: 300_000,
            ..Budget::default()
        }),
        tenant_id: "default".into(),
        principal_id: "alice".into(),
        labels: entries(&[
            ("approval_granted", "true"),
            ("approval_reason", "reviewed"),
            ("cordum.bus_msg_id", "approval:964f345e"),
            ("team", "core"),
        ]),
        meta: Some(JobMetadata {
            tenant_id: "default".into(),
            actor_id: "alice".into(),
            actor_type: ActorType::HUMAN,
            capability: "repo.write".into(),
            risk_tags: vec!["prod".into(), "write".into()],
            labels: entries(&[("team", "core")]),
            ..JobMetadata::default()
        }),
        ..JobRequest::default()
    }
}

fn job_hash_vs_sha256(c: &mut Criterion) {
    for (label, size) in [("1KB", 700), ("100KB", 100 << 10), ("1MB", 1 << 20)] {
        let req = request(size);
        let bytes = canonical_bytes(&req);
        let mut group = c.benchmark_group(format!("job_hash_{label}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("job_hash", |b| b.iter(|| job_hash(black_box(&req))));
        group.bench_function("canonical_bytes_then_sha256", |b| {
            b.iter(|| Sha256::digest(canonical_bytes(black_box(&req))))
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
