//! Several writers on one file never fork the chain.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::thread;

use countersign_core::outcome::DecisionAction;
use countersign_ledger::{
    new_decision_id, DecisionIntent, EntryKind, Ledger, NewEntry, Query, MAX_LIMIT,
};
use serde_json::json;

use crate::common::Fixture;

const PER_WRITER: usize = 40;

#[test]
fn two_handles_appending_at_once_keep_one_chain() {
    let fixture = Fixture::new();
    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let path = fixture.path.clone();
            thread::spawn(move || {
                let ledger = Ledger::open(&path).expect("open second handle");
                for n in 0..PER_WRITER {
                    ledger
                        .append(
                            NewEntry::new(EntryKind::Verdict, json!({"writer": name, "n": n}))
                                .job_id(format!("{name}-{n}")),
                        )
                        .expect("append");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("writer thread");
    }

    let report = fixture.ledger.verify().expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries_checked, 2 * PER_WRITER as u64);
    let page = fixture
        .ledger
        .query(&Query {
            limit: Some(MAX_LIMIT),
            ..Query::default()
        })
        .expect("query");
    let seqs: BTreeSet<u64> = page.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=2 * PER_WRITER as u64).collect());
    let jobs: BTreeSet<String> = page
        .entries
        .iter()
        .filter_map(|e| e.job_id.clone())
        .collect();
    assert_eq!(
        jobs.len(),
        2 * PER_WRITER,
        "every append landed exactly once"
    );
}

#[test]
fn one_handle_shared_by_threads_keeps_one_chain() {
    let fixture = Fixture::new();
    let ledger = Arc::new(fixture.reopen());
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let ledger = Arc::clone(&ledger);
            thread::spawn(move || {
                for n in 0..10 {
                    ledger
                        .append(NewEntry::new(
                            EntryKind::Login,
                            json!({"w": writer, "n": n}),
                        ))
                        .expect("append");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("writer thread");
    }
    let report = ledger.verify().expect("verify");
    assert!(report.is_intact());
    assert_eq!(report.entries_checked, 30);
}

#[test]
fn racing_decisions_for_one_job_admit_exactly_one() {
    let fixture = Fixture::new();
    let racers: Vec<_> = [DecisionAction::Approve, DecisionAction::Reject]
        .into_iter()
        .map(|action| {
            let path = fixture.path.clone();
            thread::spawn(move || {
                let ledger = Ledger::open(&path).expect("open");
                ledger.record_intent(&DecisionIntent {
                    decision_id: new_decision_id(),
                    job_id: "job-race".into(),
                    topic: None,
                    action,
                    job_hash: "h".into(),
                    policy_snapshot: "snap".into(),
                    reason: String::new(),
                    note: String::new(),
                    workflow_gate: false,
                    content_digest: String::new(),
                    content: None,
                })
            })
        })
        .collect();
    let results: Vec<_> = racers
        .into_iter()
        .map(|racer| racer.join().expect("racer thread"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let loser = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("one refused");
    assert_eq!(loser.code(), "ledger_intent_pending");
    assert_eq!(
        fixture.ledger.open_intents().expect("open intents").len(),
        1
    );
    assert!(fixture.ledger.verify().expect("verify").is_intact());
}
