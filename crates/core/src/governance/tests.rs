use serde_json::json;

use super::*;
use crate::outcome::DecisionAction;

const YAML: &str = "version: v1\nrules: []\n";

fn snapshot(yaml: &str) -> DraftSnapshot {
    DraftSnapshot {
        snapshot_id: "dsn-1".into(),
        draft_id: "drf-1".into(),
        version: 1,
        source_snapshot_hash: source_snapshot_hash(yaml),
        base_snapshot: "base-a|cfg:x".into(),
        author: "alice".into(),
        created_at: "2026-12-03T10:00:00.000Z".into(),
        status: SnapshotStatus::ReadyForApproval,
        ready_for_approval: true,
        blocker_ids: vec![],
        advisory_ids: vec![],
        findings: vec![],
        rule_count: 0,
        yaml: Some(yaml.into()),
    }
}

fn draft() -> PolicyDraft {
    PolicyDraft {
        draft_id: "drf-1".into(),
        tenant: "default".into(),
        title: "Tighten deploys".into(),
        author: "alice".into(),
        status: DraftStatus::Open,
        created_at: "2026-12-03T10:00:00.000Z".into(),
        updated_at: "2026-12-03T10:00:00.000Z".into(),
        active_snapshot: snapshot(YAML),
        snapshots: vec![],
        approval: None,
        rejection: None,
    }
}

fn approval() -> GovernanceApproval {
    GovernanceApproval {
        approval_id: "gva-1".into(),
        tenant: "default".into(),
        draft_id: "drf-1".into(),
        snapshot_id: "dsn-1".into(),
        draft_version: 1,
        source_snapshot_hash: source_snapshot_hash(YAML),
        base_snapshot: "base-a|cfg:x".into(),
        published_snapshot: "base-b|cfg:x".into(),
        blocker_ids: vec![],
        advisory_ids: vec![],
        actor: "bob".into(),
        channel: GovernanceChannel::Desktop,
        rationale: None,
        approved_at: "2026-12-03T10:01:00.000Z".into(),
    }
}

fn refused(fresh: &PolicyDraft, current: Option<&str>, action: DecisionAction) -> Option<String> {
    check_fresh(&DraftBinding::of(&draft()), fresh, current, action)
        .err()
        .map(|r| r.code)
}

#[test]
fn the_source_hash_is_sha256_of_the_exact_bytes() {
    assert_eq!(
        source_snapshot_hash(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_ne!(
        source_snapshot_hash("version: v1\n"),
        source_snapshot_hash("version: v1\n\n"),
        "whitespace is part of what was approved"
    );
}

#[test]
fn yaml_is_checked_against_the_snapshot_hash() {
    let mut snapshot = snapshot(YAML);
    assert!(snapshot.yaml_matches_hash());
    snapshot.yaml = Some(format!("{YAML}# edited\n"));
    assert!(!snapshot.yaml_matches_hash());
    snapshot.yaml = None;
    assert!(!snapshot.yaml_matches_hash(), "no text is no match");
}

#[test]
fn decision_bodies_use_the_documented_field_names() {
    let body = ApproveDraftBody {
        expected_snapshot_id: "dsn-1".into(),
        expected_source_snapshot_hash: "ab".into(),
        rationale: None,
        channel: Some(GovernanceChannel::Cli),
    };
    assert_eq!(
        serde_json::to_value(&body).expect("json"),
        serde_json::json!({
            "expected_snapshot_id": "dsn-1",
            "expected_source_snapshot_hash": "ab",
            "channel": "cli"
        })
    );
}

#[test]
fn a_draft_as_seen_passes_for_both_decisions() {
    for action in [DecisionAction::Approve, DecisionAction::Reject] {
        assert_eq!(refused(&draft(), Some("base-a|cfg:other"), action), None);
    }
}

#[test]
fn every_change_since_it_was_seen_is_refused_with_its_code() {
    let approve = DecisionAction::Approve;
    let mut moved = draft();
    moved.active_snapshot.snapshot_id = "dsn-2".into();
    moved.active_snapshot.version = 2;
    assert_eq!(
        refused(&moved, None, approve).as_deref(),
        Some(code::STALE_LINEAGE)
    );

    let mut rehashed = draft();
    rehashed.active_snapshot = snapshot("version: v1\nrules: [] # other\n");
    assert_eq!(
        refused(&rehashed, None, approve).as_deref(),
        Some(code::SOURCE_HASH_MISMATCH)
    );

    let mut lying = draft();
    lying.active_snapshot.yaml = Some("version: v1\nrules: [{id: x, decision: allow}]\n".into());
    assert_eq!(
        refused(&lying, None, DecisionAction::Reject).as_deref(),
        Some(code::SOURCE_HASH_MISMATCH),
        "text the snapshot's own hash disowns is never decided on"
    );

    let mut blocked = draft();
    blocked.active_snapshot.ready_for_approval = false;
    blocked.active_snapshot.blocker_ids = vec!["rule_allows_everything:open".into()];
    assert_eq!(
        refused(&blocked, None, approve).as_deref(),
        Some(code::NOT_READY)
    );
    assert_eq!(
        refused(&blocked, None, DecisionAction::Reject),
        None,
        "a draft with blockers can always be rejected"
    );

    assert_eq!(
        refused(&draft(), Some("base-b|cfg:x"), approve).as_deref(),
        Some(code::STALE_BASE)
    );

    let mut rejected = draft();
    rejected.status = DraftStatus::Rejected;
    assert_eq!(
        refused(&rejected, None, approve).as_deref(),
        Some(code::DRAFT_CLOSED)
    );

    let mut other = draft();
    other.draft_id = "drf-2".into();
    assert_eq!(
        refused(&other, None, approve).as_deref(),
        Some(code::DRAFT_NOT_FOUND)
    );
}

#[test]
fn a_draft_already_approved_at_the_seen_snapshot_passes_so_the_repeat_can_settle() {
    let mut done = draft();
    done.status = DraftStatus::Approved;
    done.approval = Some(approval());
    assert_eq!(
        refused(&done, Some("base-b|cfg:x"), DecisionAction::Approve),
        None
    );
    assert_eq!(
        refused(&done, None, DecisionAction::Reject).as_deref(),
        Some(code::DRAFT_CLOSED),
        "approved is not rejected"
    );
    done.approval.as_mut().expect("approval").snapshot_id = "dsn-0".into();
    assert_eq!(
        refused(&done, None, DecisionAction::Approve).as_deref(),
        Some(code::DRAFT_CLOSED),
        "approved at another snapshot is not what was seen"
    );
}

#[test]
fn answers_are_classified_by_code_never_by_status_alone() {
    let ok = json!({"code": "already_approved", "approval": approval()}).to_string();
    let answer = GovernanceAnswer::classify(200, ok.as_bytes());
    assert!(matches!(
        answer,
        GovernanceAnswer::Approved { repeat: true, .. }
    ));
    assert_eq!(answer.code(), code::ALREADY_APPROVED);

    let no_record = json!({"code": "approved"}).to_string();
    assert!(
        matches!(
            GovernanceAnswer::classify(200, no_record.as_bytes()),
            GovernanceAnswer::Unrecognized { .. }
        ),
        "a success without its record is not a success"
    );
    assert!(matches!(
        GovernanceAnswer::classify(200, b"<html>ok</html>"),
        GovernanceAnswer::Unrecognized { .. }
    ));

    let stale =
        json!({"error": "draft moved", "status": 409, "code": "stale_lineage", "draft": draft()})
            .to_string();
    match GovernanceAnswer::classify(409, stale.as_bytes()) {
        GovernanceAnswer::Refused {
            code,
            message,
            draft,
        } => {
            assert_eq!(code, "stale_lineage");
            assert_eq!(message, "draft moved");
            assert!(draft.is_some());
        }
        other => panic!("{other:?}"),
    }
    let own = json!({"error": "no", "status": 403, "code": "self_approval_denied"}).to_string();
    assert_eq!(
        GovernanceAnswer::classify(403, own.as_bytes()).code(),
        code::SELF_APPROVAL_DENIED
    );
    assert!(matches!(
        GovernanceAnswer::classify(403, b"{\"error\":\"forbidden\"}"),
        GovernanceAnswer::Forbidden { .. }
    ));
    assert!(GovernanceAnswer::classify(503, b"busy").is_transient());
    assert!(GovernanceAnswer::classify(429, b"").is_transient());
    assert!(!GovernanceAnswer::classify(404, b"{\"error\":\"not found\"}").is_transient());
    let long = "x".repeat(10_000);
    match GovernanceAnswer::classify(502, long.as_bytes()) {
        GovernanceAnswer::Unavailable { message, .. } => assert_eq!(message.len(), 500),
        other => panic!("{other:?}"),
    }
}
