//! The ledger at the sizes a long-serving reviewer reaches (issue 14's limits): appending,
//! verifying the whole chain of 1,000,000 entries (target under 2 s), and an offline search
//! over 100,000 entries (target under 50 ms). Entries look like the app's: an item seen with
//! its card, a verdict, a decision.

use std::hint::black_box;
use std::time::Instant;

use countersign_ledger::{EntryKind, Ledger, NewEntry, Query};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use tempfile::TempDir;

const TOPICS: [&str; 4] = [
    "finance.payment.execute",
    "customer.notify",
    "infra.resource.delete",
    "incident.remediate",
];

fn entry(n: u64) -> NewEntry {
    let job_id = format!("job-{n:07}");
    let topic = TOPICS[(n % 4) as usize];
    match n % 3 {
        0 => NewEntry::new(
            EntryKind::ItemSeen,
            json!({"card": {"title": format!("Pay invoice {n}"), "requester": "agent-billing",
                   "risk_tags": ["finance"], "rule": "payments-need-a-human",
                   "reason": "Payments need a human."},
                   "job_hash": format!("sha256:{n:064x}"), "policy_snapshot": "snap-1"}),
        ),
        1 => NewEntry::new(EntryKind::Verdict, json!({"ok": true, "verdict": "fresh"}))
            .outcome("fresh"),
        _ => NewEntry::new(
            EntryKind::DecisionOutcome,
            json!({"reason": "looks right", "channel": "desktop"}),
        )
        .decision("approve"),
    }
    .job_id(job_id)
    .topic(topic)
}

/// A ledger of `count` entries, written in batches; prints how long writing took.
fn ledger_of(count: u64) -> (TempDir, Ledger) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = Ledger::open(dir.path().join("ledger.sqlite")).expect("open");
    let start = Instant::now();
    let mut next = 0;
    while next < count {
        let end = (next + 10_000).min(count);
        ledger.append_all((next..end).map(entry)).expect("append");
        next = end;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "wrote {count} entries in batches of 10,000: {secs:.1} s ({:.0} entries/s)",
        count as f64 / secs
    );
    (dir, ledger)
}

fn appends(c: &mut Criterion) {
    let (_dir, ledger) = ledger_of(10_000);
    let mut n = 10_000;
    c.bench_function("append one entry (its own transaction)", |b| {
        b.iter(|| {
            n += 1;
            ledger.append(entry(n)).expect("append")
        })
    });
}

fn verify(c: &mut Criterion) {
    let (_dir, ledger) = ledger_of(1_000_000);
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.bench_function("the whole chain of 1,000,000 entries", |b| {
        b.iter(|| assert!(ledger.verify().expect("verify").is_intact()))
    });
    group.finish();
}

fn search(c: &mut Criterion) {
    let (_dir, ledger) = ledger_of(100_000);
    let mut group = c.benchmark_group("search over 100,000 entries");
    let text = Query {
        text: Some("invoice 54321".into()),
        ..Query::default()
    };
    group.bench_function("free text", |b| {
        b.iter(|| black_box(ledger.query(&text).expect("query")))
    });
    let filtered = Query {
        topic: Some("customer.notify".into()),
        decision: Some("approve".into()),
        ..Query::default()
    };
    group.bench_function("topic and decision", |b| {
        b.iter(|| black_box(ledger.query(&filtered).expect("query")))
    });
    let job = Query {
        job_id: Some("job-0054321".into()),
        ..Query::default()
    };
    group.bench_function("one job", |b| {
        b.iter(|| black_box(ledger.query(&job).expect("query")))
    });
    group.finish();
}

criterion_group!(benches, appends, verify, search);
criterion_main!(benches);
