//! The decision outbox.

use countersign_core::outcome::{classify, DecisionAction};
use countersign_ledger::{
    DecisionIntent, DecisionOutcome, Entry, EntryKind, Ledger, NewEntry, Result,
};
use serde_json::json;

use crate::common::Fixture;

fn intent(decision_id: &str, job_id: &str, action: DecisionAction) -> DecisionIntent {
    DecisionIntent {
        decision_id: decision_id.into(),
        job_id: job_id.into(),
        topic: Some("finance.payment.execute".into()),
        action,
        job_hash: "9f2c".into(),
        policy_snapshot: "snap-1|cfg:abc".into(),
        reason: "invoice checked".into(),
        note: String::new(),
        workflow_gate: false,
        content_digest: String::new(),
        content: None,
    }
}

fn outcome(code: &str, is_final: bool) -> DecisionOutcome {
    DecisionOutcome {
        code: code.into(),
        message: format!("{code} message"),
        server_body: json!({"job_id": "job-1", "trace_id": "t-1"}),
        is_final,
    }
}

fn record(
    ledger: &Ledger,
    decision_id: &str,
    job_id: &str,
    action: DecisionAction,
) -> Result<Entry> {
    ledger.record_intent(&intent(decision_id, job_id, action))
}

fn close(ledger: &Ledger, decision_id: &str, code: &str, is_final: bool) -> Result<Entry> {
    ledger.close_intent(decision_id, &outcome(code, is_final))
}

#[test]
fn intent_then_final_outcome_closes_and_chains() {
    let fixture = Fixture::new();
    let recorded =
        record(&fixture.ledger, "d-1", "job-1", DecisionAction::Approve).expect("record intent");
    assert_eq!(recorded.kind, EntryKind::DecisionIntent);
    assert_eq!(recorded.decision.as_deref(), Some("approve"));
    assert_eq!(recorded.topic.as_deref(), Some("finance.payment.execute"));
    assert_eq!(recorded.body["job_hash"], "9f2c");

    let open = fixture.ledger.open_intents().expect("open intents");
    assert_eq!(open.len(), 1);
    assert_eq!(
        open[0].intent,
        intent("d-1", "job-1", DecisionAction::Approve)
    );
    assert_eq!(open[0].intent_seq, recorded.seq);
    assert_eq!(open[0].attempts, 0);

    let answer = close(&fixture.ledger, "d-1", "success", true).expect("close");
    assert_eq!(answer.kind, EntryKind::DecisionOutcome);
    assert_eq!(answer.outcome.as_deref(), Some("success"));
    assert_eq!(answer.decision.as_deref(), Some("approve"));
    assert_eq!(answer.body["final"], true);
    assert_eq!(answer.body["decision_id"], "d-1");
    assert_eq!(answer.body["server_body"]["trace_id"], "t-1");

    assert!(fixture
        .ledger
        .open_intents()
        .expect("open intents")
        .is_empty());
    let record = fixture.ledger.intent("d-1").expect("record");
    assert_eq!(record.closed_at, Some(answer.recorded_at));
    assert_eq!(record.last_code.as_deref(), Some("success"));
    assert_eq!(record.last_outcome_seq, Some(answer.seq));
    assert!(fixture.ledger.verify().expect("verify").is_intact());
}

#[test]
fn a_non_final_outcome_keeps_the_decision_open() {
    let fixture = Fixture::new();
    record(&fixture.ledger, "d-1", "job-1", DecisionAction::Reject).expect("record");
    close(&fixture.ledger, "d-1", "retryable_lock", false).expect("first attempt");
    let open = fixture.ledger.open_intents().expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].attempts, 1);
    assert_eq!(open[0].last_code.as_deref(), Some("retryable_lock"));

    let last = close(&fixture.ledger, "d-1", "already_rejected", true).expect("second attempt");
    assert_eq!(last.body["attempt"], 2);
    assert!(fixture.ledger.open_intents().expect("open").is_empty());
}

#[test]
fn closing_twice_is_an_error_with_a_clear_code() {
    let fixture = Fixture::new();
    record(&fixture.ledger, "d-1", "job-1", DecisionAction::Approve).expect("record");
    close(&fixture.ledger, "d-1", "success", true).expect("close");
    let count = fixture.ledger.entry_count().expect("count");
    let err = close(&fixture.ledger, "d-1", "success", true).expect_err("second close");
    assert_eq!(err.code(), "ledger_intent_closed");
    assert!(err.to_string().contains("success"), "{err}");
    assert_eq!(
        fixture.ledger.entry_count().expect("count"),
        count,
        "nothing appended"
    );
}

#[test]
fn unknown_duplicate_and_concurrent_decisions_are_refused() {
    let fixture = Fixture::new();
    let err = close(&fixture.ledger, "nope", "success", true).expect_err("unknown");
    assert_eq!(err.code(), "ledger_not_found");

    record(&fixture.ledger, "d-1", "job-1", DecisionAction::Approve).expect("record");
    let dup =
        record(&fixture.ledger, "d-1", "job-2", DecisionAction::Approve).expect_err("duplicate id");
    assert_eq!(dup.code(), "ledger_duplicate_decision");
    let pending = record(&fixture.ledger, "d-2", "job-1", DecisionAction::Reject)
        .expect_err("job already has an open decision");
    assert_eq!(pending.code(), "ledger_intent_pending");
    assert!(pending.to_string().contains("d-1"), "{pending}");

    // Once settled, the job may be decided again (for example after a conflict).
    close(&fixture.ledger, "d-1", "stale_request", true).expect("close");
    record(&fixture.ledger, "d-2", "job-1", DecisionAction::Reject)
        .expect("new decision after close");

    let empty =
        record(&fixture.ledger, " ", "job-3", DecisionAction::Approve).expect_err("empty id");
    assert_eq!(empty.code(), "ledger_invalid_input");
    assert!(fixture.ledger.verify().expect("verify").is_intact());
}

#[test]
fn open_intents_survive_a_restart() {
    let fixture = Fixture::new();
    record(&fixture.ledger, "d-1", "job-1", DecisionAction::Approve).expect("record");
    record(&fixture.ledger, "d-2", "job-2", DecisionAction::Reject).expect("record");
    close(&fixture.ledger, "d-2", "success", true).expect("close");

    let after_restart = fixture.reopen();
    let open = after_restart.open_intents().expect("open intents");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].intent.decision_id, "d-1");
    close(&after_restart, "d-1", "already_approved", true).expect("recovery closes it");
    assert!(fixture.ledger.open_intents().expect("open").is_empty());
}

#[test]
fn a_classified_gateway_answer_becomes_an_outcome() {
    let body = r#"{"error":"job request changed; approval rejected","status":409}"#;
    let classified = classify(DecisionAction::Approve, 409, body);
    let outcome =
        DecisionOutcome::from_gateway(&classified, serde_json::from_str(body).expect("json"), true);
    assert_eq!(outcome.code, classified.code());
    assert_eq!(outcome.message, classified.server_message());
    assert_eq!(outcome.server_body["status"], 409);
}

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

#[test]
fn the_creator_holds_the_lease_until_it_expires_or_is_released() {
    let fixture = Fixture::new();
    let mut leased = intent("d-1", "job-1", DecisionAction::Approve);
    leased.note = "see ticket 12".into();
    leased.workflow_gate = true;
    fixture
        .ledger
        .record_intent_leased(Vec::new(), &leased, "app", LEASE)
        .expect("record");
    let other = fixture.reopen();
    assert_eq!(
        other.intent("d-1").expect("row").intent,
        leased,
        "note and gate kept"
    );
    assert_eq!(
        other.claim_intent("d-1", "cli", LEASE).expect("claim"),
        None
    );
    assert!(fixture
        .ledger
        .renew_lease("d-1", "app", LEASE)
        .expect("renew"));
    assert!(!other.renew_lease("d-1", "cli", LEASE).expect("not held"));

    // The holder died: once its lease runs out, a recoverer takes over and the old holder
    // can no longer renew (it must stop sending).
    fixture.set_time(1_700_000_000_000 + 10 * 60 * 1000);
    let claimed = other
        .claim_intent("d-1", "cli", LEASE)
        .expect("claim")
        .expect("expired lease is free");
    assert_eq!(claimed.claimed_by.as_deref(), Some("cli"));
    assert_eq!(claimed.recoveries, 1);
    assert!(!fixture
        .ledger
        .renew_lease("d-1", "app", LEASE)
        .expect("lost"));
    assert_eq!(
        fixture
            .ledger
            .claim_intent("d-1", "app", LEASE)
            .expect("claim"),
        None
    );

    other.release_intent("d-1", "cli").expect("release");
    let again = fixture
        .ledger
        .claim_intent("d-1", "app", LEASE)
        .expect("claim")
        .expect("released row is free");
    assert_eq!(again.recoveries, 2);
}

#[test]
fn a_live_lease_of_a_holder_that_ended_is_free_at_once() {
    let fixture = Fixture::new();
    let sender = fixture.ledger.lease_holder("decider").expect("holder");
    let recoverer = fixture.reopen();
    let other = recoverer.lease_holder("decider").expect("holder");
    fixture
        .ledger
        .record_intent_leased(
            Vec::new(),
            &intent("d-1", "job-1", DecisionAction::Approve),
            sender.name(),
            LEASE,
        )
        .expect("record");
    // Alive: its lease is its own, as before.
    assert_eq!(
        recoverer
            .claim_intent("d-1", other.name(), LEASE)
            .expect("claim"),
        None
    );
    // Its process ends (here: the holder is dropped; a SIGKILL drops the lock the same way).
    let dead = sender.name().to_owned();
    drop(sender);
    let taken = recoverer
        .claim_intent("d-1", other.name(), LEASE)
        .expect("claim")
        .expect("a dead holder's row is free");
    assert_eq!(taken.claimed_by.as_deref(), Some(other.name()));
    assert!(!fixture
        .ledger
        .renew_lease("d-1", &dead, LEASE)
        .expect("lost"));
    // A name read back from a row never reaches outside the holders' folder.
    fixture
        .ledger
        .record_intent_leased(
            Vec::new(),
            &intent("d-2", "job-2", DecisionAction::Approve),
            "../../etc/passwd",
            LEASE,
        )
        .expect("record");
    assert_eq!(
        recoverer
            .claim_intent("d-2", other.name(), LEASE)
            .expect("claim"),
        None
    );
}

#[test]
fn evidence_goes_in_with_its_intent_or_not_at_all() {
    let fixture = Fixture::new();
    let evidence = || {
        vec![
            NewEntry::new(EntryKind::JobRequest, json!({"topic": "t"})).job_id("job-1"),
            NewEntry::new(EntryKind::Verdict, json!({"verdict": "verified"})).job_id("job-1"),
        ]
    };
    let first = intent("d-1", "job-1", DecisionAction::Approve);
    let entry = fixture
        .ledger
        .record_intent_leased(evidence(), &first, "app", LEASE)
        .expect("record");
    assert_eq!(
        entry.seq, 3,
        "the evidence comes first, the intent after it"
    );
    let kinds: Vec<EntryKind> = (1..=3)
        .map(|seq| fixture.ledger.entry(seq).expect("entry").kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EntryKind::JobRequest,
            EntryKind::Verdict,
            EntryKind::DecisionIntent
        ]
    );

    // A second decision on the same job is refused, and its evidence with it.
    let second = intent("d-2", "job-1", DecisionAction::Approve);
    let refused = fixture
        .ledger
        .record_intent_leased(evidence(), &second, "app", LEASE)
        .expect_err("job already has an open decision");
    assert_eq!(refused.code(), "ledger_intent_pending");
    assert_eq!(
        fixture.ledger.head().expect("head").seq,
        3,
        "nothing appended"
    );
    assert!(fixture.ledger.verify().expect("verify").is_intact());
}

#[test]
fn closed_rows_are_never_claimed_and_unleased_rows_are_free() {
    let fixture = Fixture::new();
    record(&fixture.ledger, "d-1", "job-1", DecisionAction::Reject).expect("record");
    let claimed = fixture
        .ledger
        .claim_intent("d-1", "a", LEASE)
        .expect("claim")
        .expect("unleased row is free");
    assert_eq!(claimed.claimed_by.as_deref(), Some("a"));
    close(&fixture.ledger, "d-1", "success", true).expect("close");
    let closed = fixture.ledger.intent("d-1").expect("row");
    assert_eq!((closed.claimed_by, closed.lease_until), (None, None));
    fixture.set_time(i64::MAX / 2);
    assert_eq!(
        fixture
            .ledger
            .claim_intent("d-1", "b", LEASE)
            .expect("claim"),
        None
    );
    assert!(!fixture
        .ledger
        .renew_lease("d-1", "a", LEASE)
        .expect("closed"));
}

#[test]
fn a_version_1_outbox_is_migrated_with_its_open_rows() {
    let fixture = Fixture::new();
    record(&fixture.ledger, "d-1", "job-1", DecisionAction::Approve).expect("record");
    // Rebuild the file as version 1 wrote it: the later tables and columns gone, the version
    // set back.
    let raw = fixture.raw();
    raw.execute_batch(
        "         DROP TABLE entry_text;
         DROP TABLE governance_outbox;
         DROP TABLE seen_drafts;
         ALTER TABLE outbox DROP COLUMN content;
         ALTER TABLE outbox DROP COLUMN content_digest;
         ALTER TABLE outbox DROP COLUMN recoveries;
         ALTER TABLE outbox DROP COLUMN lease_until;
         ALTER TABLE outbox DROP COLUMN claimed_by;
         ALTER TABLE outbox DROP COLUMN workflow_gate;
         ALTER TABLE outbox DROP COLUMN note;
         PRAGMA user_version = 1;",
    )
    .expect("downgrade");
    drop(raw);
    let ledger = fixture.reopen();
    let open = ledger.open_intents().expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].intent.note, "");
    assert!(!open[0].intent.workflow_gate);
    assert_eq!(open[0].claimed_by, None);
    assert_eq!(open[0].intent.content_digest, "");
    assert_eq!(open[0].intent.content, None);
    assert!(ledger
        .claim_intent("d-1", "x", LEASE)
        .expect("claim")
        .is_some());
    assert!(ledger.verify().expect("verify").is_intact());
}

#[test]
fn the_content_read_is_kept_with_the_intent() {
    let fixture = Fixture::new();
    let content = countersign_core::content::CardContent {
        title: "Pay Acme".into(),
        payload: serde_json::json!({"amount": 120}),
        ..Default::default()
    };
    let mut recorded = intent("d-1", "job-1", DecisionAction::Approve);
    recorded.content_digest = content.digest();
    recorded.content = Some(content.clone());
    fixture.ledger.record_intent(&recorded).expect("record");
    let open = fixture.reopen().open_intents().expect("open");
    assert_eq!(open[0].intent.content_digest, content.digest());
    assert_eq!(open[0].intent.content, Some(content));
}
