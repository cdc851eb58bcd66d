//! The hash chain: appends of every kind verify; each kind of tampering is found at the right
//! seq with the right problem.

use countersign_ledger::{ChainHead, ChainProblem, ChainStatus, EntryKind, NewEntry, GENESIS_HASH};
use serde_json::json;

use crate::common::Fixture;

fn broken(fixture: &Fixture) -> (u64, ChainProblem) {
    match fixture.ledger.verify().expect("verify runs").status {
        ChainStatus::Broken { at_seq, problem } => (at_seq, problem),
        ChainStatus::Intact => panic!("tampering was not detected"),
    }
}

/// Five entries, one of each of several kinds.
fn five() -> Fixture {
    let fixture = Fixture::new();
    let entries = [
        NewEntry::new(EntryKind::Login, json!({"gateway": "http://127.0.0.1:1"})),
        NewEntry::new(EntryKind::ItemSeen, json!({"card": {"title": "Pay"}}))
            .job_id("job-1")
            .topic("finance.payment.execute"),
        NewEntry::new(EntryKind::Verdict, json!({"ok": true}))
            .job_id("job-1")
            .outcome("fresh"),
        NewEntry::new(EntryKind::Conflict, json!({"why": "hash changed"})).job_id("job-2"),
        NewEntry::new(EntryKind::Logout, json!({})),
    ];
    for entry in entries {
        fixture.ledger.append(entry).expect("append");
    }
    fixture
}

#[test]
fn appended_entries_link_and_verify() {
    let fixture = five();
    let report = fixture.ledger.verify().expect("verify");
    assert_eq!(report.status, ChainStatus::Intact);
    assert_eq!(report.entries_checked, 5);
    let head = fixture.ledger.head().expect("head");
    assert_eq!(head.seq, 5);
    assert_eq!(report.head_hash, head.entry_hash);

    let first = fixture.ledger.entry(1).expect("entry 1");
    assert_eq!(first.prev_hash, GENESIS_HASH);
    for seq in 2..=5 {
        let entry = fixture.ledger.entry(seq).expect("entry");
        let before = fixture.ledger.entry(seq - 1).expect("entry before");
        assert_eq!(entry.prev_hash, before.entry_hash);
        assert_eq!(entry.computed_hash(), entry.entry_hash);
    }
    assert_eq!(
        fixture.ledger.entry(2).expect("entry 2").topic.as_deref(),
        Some("finance.payment.execute")
    );
}

#[test]
fn empty_ledger_is_intact_at_genesis() {
    let fixture = Fixture::new();
    let report = fixture.ledger.verify().expect("verify");
    assert!(report.is_intact());
    assert_eq!(
        (report.head_seq, report.head_hash.as_str()),
        (0, GENESIS_HASH)
    );
    assert_eq!(fixture.ledger.head().expect("head"), ChainHead::genesis());
}

#[test]
fn an_edited_body_is_found_at_its_seq() {
    let fixture = five();
    fixture.tamper("UPDATE entries SET body = '{\"ok\":false}' WHERE seq = 3");
    assert_eq!(broken(&fixture), (3, ChainProblem::EntryEdited));
    assert_eq!(fixture.ledger.verify().expect("verify").entries_checked, 2);
}

#[test]
fn an_edited_indexed_column_is_found() {
    let fixture = five();
    fixture.tamper("UPDATE entries SET outcome = 'stale' WHERE seq = 3");
    assert_eq!(broken(&fixture), (3, ChainProblem::EntryEdited));
}

#[test]
fn a_deleted_entry_is_found_at_its_seq() {
    let fixture = five();
    fixture.tamper("DELETE FROM entries WHERE seq = 3");
    assert_eq!(
        broken(&fixture),
        (3, ChainProblem::EntryMissing { next_seq: 4 })
    );
}

#[test]
fn a_deleted_first_entry_is_found() {
    let fixture = five();
    fixture.tamper("DELETE FROM entries WHERE seq = 1");
    assert_eq!(
        broken(&fixture),
        (1, ChainProblem::EntryMissing { next_seq: 2 })
    );
}

#[test]
fn a_deletion_hidden_by_renumbering_is_found() {
    let fixture = five();
    let raw = fixture.raw();
    raw.execute("DELETE FROM entries WHERE seq = 3", [])
        .expect("delete");
    raw.execute("UPDATE entries SET seq = seq - 1 WHERE seq > 3", [])
        .expect("renumber");
    raw.execute("UPDATE chain_head SET seq = 4", [])
        .expect("move head");
    let (at_seq, problem) = broken(&fixture);
    assert_eq!(at_seq, 3);
    // Entry 4's content now sits at seq 3: intact, but recorded elsewhere.
    assert_eq!(problem, ChainProblem::EntryMoved { belongs_at: 4 });
}

#[test]
fn a_replaced_and_rehashed_entry_breaks_the_next_link() {
    let fixture = five();
    let mut forged = fixture.ledger.entry(3).expect("entry 3");
    forged.body = json!({"ok": "forged"});
    forged.entry_hash = forged.computed_hash();
    let raw = fixture.raw();
    raw.execute(
        "UPDATE entries SET body = ?1, entry_hash = ?2 WHERE seq = 3",
        [forged.body.to_string(), forged.entry_hash.clone()],
    )
    .expect("forge");
    let (at_seq, problem) = broken(&fixture);
    assert_eq!(at_seq, 4);
    assert!(
        matches!(&problem, ChainProblem::BrokenLink { expected_prev, .. } if *expected_prev == forged.entry_hash),
        "{problem:?}"
    );
}

fn swap(fixture: &Fixture, a: i64, b: i64) {
    let raw = fixture.raw();
    raw.execute("UPDATE entries SET seq = -1 WHERE seq = ?1", [a])
        .expect("swap");
    raw.execute("UPDATE entries SET seq = ?1 WHERE seq = ?2", [a, b])
        .expect("swap");
    raw.execute("UPDATE entries SET seq = ?1 WHERE seq = -1", [b])
        .expect("swap");
}

#[test]
fn swapped_entries_are_reported_as_reordered() {
    let fixture = five();
    swap(&fixture, 2, 3);
    assert_eq!(
        broken(&fixture),
        (2, ChainProblem::EntryMoved { belongs_at: 3 })
    );
}

#[test]
fn swapping_the_last_two_entries_is_found() {
    let fixture = five();
    swap(&fixture, 4, 5);
    assert_eq!(
        broken(&fixture),
        (4, ChainProblem::EntryMoved { belongs_at: 5 })
    );
}

#[test]
fn swapping_the_first_and_a_later_entry_is_found() {
    let fixture = five();
    swap(&fixture, 1, 4);
    assert_eq!(
        broken(&fixture),
        (1, ChainProblem::EntryMoved { belongs_at: 4 })
    );
}

#[test]
fn a_truncated_tail_is_found_through_the_anchor() {
    let fixture = five();
    fixture.tamper("DELETE FROM entries WHERE seq > 3");
    let report = fixture.ledger.verify().expect("verify");
    assert_eq!(report.entries_checked, 3);
    assert_eq!(report.head_seq, 5);
    assert_eq!(
        report.status,
        ChainStatus::Broken {
            at_seq: 4,
            problem: ChainProblem::TailTruncated { head_seq: 5 }
        }
    );
}

#[test]
fn deleting_every_entry_is_found() {
    let fixture = five();
    fixture.tamper("DELETE FROM entries");
    assert_eq!(
        broken(&fixture),
        (1, ChainProblem::TailTruncated { head_seq: 5 })
    );
}

#[test]
fn a_missing_anchor_is_found() {
    let fixture = five();
    fixture.tamper("DELETE FROM chain_head");
    let (at_seq, problem) = broken(&fixture);
    assert_eq!(at_seq, 5);
    assert!(
        matches!(problem, ChainProblem::HeadMismatch { .. }),
        "{problem:?}"
    );
}

#[test]
fn appending_after_tampering_is_refused() {
    let fixture = five();
    fixture.tamper("DELETE FROM entries WHERE seq = 5");
    let err = fixture
        .ledger
        .append(NewEntry::new(EntryKind::Login, json!({})))
        .expect_err("append must refuse");
    assert_eq!(err.code(), "ledger_tampered");
    assert_eq!(
        fixture.ledger.head().expect_err("head refuses").code(),
        "ledger_tampered"
    );
    // Nothing was written over the evidence.
    assert_eq!(fixture.ledger.entry_count().expect("count"), 4);
}

#[test]
fn a_consistent_rewrite_is_caught_only_against_an_exported_head() {
    let fixture = five();
    let exported = fixture.ledger.head().expect("head");
    // Drop the last entry and move the anchor with it: the file alone is consistent.
    let raw = fixture.raw();
    raw.execute("DELETE FROM entries WHERE seq = 5", [])
        .expect("tamper");
    raw.execute(
        "UPDATE chain_head
         SET seq = 4, entry_hash = (SELECT entry_hash FROM entries WHERE seq = 4)",
        [],
    )
    .expect("tamper");
    assert!(fixture.ledger.verify().expect("verify").is_intact());
    let report = fixture
        .ledger
        .verify_against(&exported)
        .expect("verify against");
    assert_eq!(
        report.status,
        ChainStatus::Broken {
            at_seq: 5,
            problem: ChainProblem::AnchorMismatch {
                expected_hash: exported.entry_hash.clone(),
                found_hash: None
            }
        }
    );
    let earlier = ChainHead {
        seq: 3,
        entry_hash: fixture.ledger.entry(3).expect("entry 3").entry_hash,
    };
    assert!(fixture
        .ledger
        .verify_against(&earlier)
        .expect("verify")
        .is_intact());
}

#[test]
fn a_malformed_body_is_an_error_naming_its_seq() {
    let fixture = five();
    fixture.tamper("UPDATE entries SET body = 'not json' WHERE seq = 2");
    let err = fixture.ledger.entry(2).expect_err("unreadable");
    assert_eq!(err.code(), "ledger_corrupt");
    assert!(err.to_string().contains("entry 2"), "{err}");
    assert_eq!(broken(&fixture), (2, ChainProblem::EntryEdited));
}

#[test]
fn a_wrongly_typed_column_is_reported_not_panicked_on() {
    let fixture = five();
    fixture.tamper("UPDATE entries SET body = x'00ff' WHERE seq = 4");
    let (at_seq, problem) = broken(&fixture);
    assert_eq!(at_seq, 4);
    assert!(
        matches!(problem, ChainProblem::Malformed { .. }),
        "{problem:?}"
    );
    assert_eq!(
        fixture.ledger.entry(4).expect_err("unreadable").code(),
        "ledger_corrupt"
    );
}

#[test]
fn a_batch_appends_in_order_on_the_same_chain_as_single_appends() {
    let fixture = Fixture::new();
    fixture
        .ledger
        .append(NewEntry::new(EntryKind::Login, json!({})))
        .expect("append");
    let batch = (0..100)
        .map(|n| NewEntry::new(EntryKind::ItemSeen, json!({"n": n})).job_id(format!("job-{n}")));
    assert_eq!(fixture.ledger.append_all(batch).expect("batch"), 100);
    fixture
        .ledger
        .append(NewEntry::new(EntryKind::Logout, json!({})))
        .expect("append");
    assert_eq!(fixture.ledger.entry_count().expect("count"), 102);
    assert!(fixture.ledger.verify().expect("verify runs").is_intact());
    assert_eq!(
        fixture.ledger.entry(51).expect("entry").job_id.as_deref(),
        Some("job-49")
    );
}
