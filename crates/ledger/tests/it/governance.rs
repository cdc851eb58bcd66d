//! The governance outbox and the draft snapshots seen.

use countersign_core::governance::{
    source_snapshot_hash, DraftBinding, GovernanceChannel, PolicyDraft,
};
use countersign_core::outcome::DecisionAction;
use countersign_ledger::{
    DecisionOutcome, EntryKind, GovernanceIntent, LedgerError, Query, GOVERNANCE_TOPIC,
};
use serde_json::{json, Value};

use crate::common::Fixture;

fn draft(snapshot_id: &str, version: u32) -> PolicyDraft {
    let yaml = format!("version: v1\nrules: [] # {version}\n");
    serde_json::from_value(json!({
        "draft_id": "drf-1", "tenant": "default", "title": "Tighten deploys", "author": "alice",
        "status": "open", "created_at": "t", "updated_at": "t",
        "active_snapshot": {
            "snapshot_id": snapshot_id, "draft_id": "drf-1", "version": version,
            "source_snapshot_hash": source_snapshot_hash(&yaml), "base_snapshot": "base",
            "author": "alice", "created_at": "t", "status": "ready_for_approval",
            "ready_for_approval": true, "blocker_ids": [], "advisory_ids": [], "findings": [],
            "rule_count": 0, "yaml": yaml
        }
    }))
    .expect("draft")
}

fn intent(decision_id: &str, action: DecisionAction) -> GovernanceIntent {
    GovernanceIntent {
        decision_id: decision_id.into(),
        binding: DraftBinding::of(&draft("dsn-1", 1)),
        action,
        reason: "looks right".into(),
        channel: GovernanceChannel::Cli,
    }
}

fn outcome(code: &str, is_final: bool) -> DecisionOutcome {
    DecisionOutcome {
        code: code.into(),
        message: String::new(),
        server_body: Value::Null,
        is_final,
    }
}

#[test]
fn a_draft_snapshot_is_recorded_once_and_a_new_snapshot_again() {
    let fx = Fixture::new();
    assert!(fx.ledger.mark_draft_seen(&draft("dsn-1", 1)).expect("seen"));
    assert!(!fx
        .ledger
        .mark_draft_seen(&draft("dsn-1", 1))
        .expect("again"));
    assert!(
        !fx.reopen()
            .mark_draft_seen(&draft("dsn-1", 1))
            .expect("after a restart"),
        "seen is durable"
    );
    assert!(fx
        .ledger
        .mark_draft_seen(&draft("dsn-2", 2))
        .expect("moved"));
    let page = fx
        .ledger
        .query(&Query {
            kinds: vec![EntryKind::PolicyDraftSeen],
            job_id: Some("drf-1".into()),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(page.entries.len(), 2);
    assert_eq!(page.entries[0].topic.as_deref(), Some(GOVERNANCE_TOPIC));
    assert_eq!(page.entries[0].body["snapshot_id"], "dsn-2");
    assert_eq!(page.entries[0].body["draft"]["title"], "Tighten deploys");
}

#[test]
fn a_governance_decision_is_open_until_a_final_answer_and_survives_a_restart() {
    let fx = Fixture::new();
    fx.ledger
        .record_governance_intent(&intent("d1", DecisionAction::Approve))
        .expect("intent");
    fx.ledger
        .close_governance_intent("d1", &outcome("unavailable", false))
        .expect("transient answer");
    let open = fx.reopen().open_governance_intents().expect("open");
    assert_eq!(open.len(), 1, "a transient answer leaves it for recovery");
    assert_eq!(open[0].intent, intent("d1", DecisionAction::Approve));
    assert_eq!(open[0].attempts, 1);

    fx.ledger
        .close_governance_intent("d1", &outcome("approved", true))
        .expect("final");
    assert!(fx
        .ledger
        .open_governance_intents()
        .expect("open")
        .is_empty());
    let err = fx
        .ledger
        .close_governance_intent("d1", &outcome("approved", true))
        .expect_err("a second final answer");
    assert_eq!(err.code(), "ledger_intent_closed");
    let record = fx.ledger.governance_intent("d1").expect("row");
    assert_eq!(record.last_code.as_deref(), Some("approved"));
    assert!(record.closed_at.is_some());

    let history = fx
        .ledger
        .query(&Query {
            job_id: Some("drf-1".into()),
            ..Query::default()
        })
        .expect("history");
    let kinds: Vec<_> = history.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::GovernanceOutcome,
            EntryKind::GovernanceOutcome,
            EntryKind::GovernanceIntent
        ]
    );
    assert_eq!(history.entries[0].outcome.as_deref(), Some("approved"));
    assert_eq!(history.entries[0].decision.as_deref(), Some("approve"));
    assert!(fx.ledger.verify().expect("verify").is_intact());
}

#[test]
fn one_draft_never_has_two_decisions_in_flight() {
    let fx = Fixture::new();
    fx.ledger
        .record_governance_intent(&intent("d1", DecisionAction::Approve))
        .expect("first");
    let err = fx
        .ledger
        .record_governance_intent(&intent("d2", DecisionAction::Reject))
        .expect_err("second while the first is open");
    assert!(
        matches!(err, LedgerError::GovernancePending { ref decision_id, .. } if decision_id == "d1")
    );
    let err = fx
        .ledger
        .record_governance_intent(&intent("d1", DecisionAction::Approve))
        .expect_err("the same id twice");
    assert_eq!(err.code(), "ledger_duplicate_decision");
    fx.ledger
        .close_governance_intent("d1", &outcome("stale_lineage", true))
        .expect("closed");
    fx.ledger
        .record_governance_intent(&intent("d2", DecisionAction::Reject))
        .expect("a new decision once the first is closed");
}

#[test]
fn empty_ids_are_refused_before_anything_is_written() {
    let fx = Fixture::new();
    let mut blank = intent(" ", DecisionAction::Approve);
    assert_eq!(
        fx.ledger
            .record_governance_intent(&blank)
            .expect_err("blank")
            .code(),
        "ledger_invalid_input"
    );
    blank.decision_id = "d1".into();
    blank.binding.snapshot_id.clear();
    assert!(fx.ledger.record_governance_intent(&blank).is_err());
    let mut nameless = draft("dsn-1", 1);
    nameless.draft_id.clear();
    assert!(fx.ledger.mark_draft_seen(&nameless).is_err());
    assert_eq!(fx.ledger.entry_count().expect("count"), 0);
}
