//! Every branch of the verdict, on the live v0.9 job from live-transcript.md.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::content::payload_pointer;
use crate::jobrequest::Generation;

const LIVE_JOB_ID: &str = "b5901a94-eff3-4c36-b743-4c98be5e9d4f";
const LIVE_HASH: &str = "1914b6c1b23f727454dd6ed99703d9f71e6e412653dc651c209ef7f54b3dd41e";
const LIVE_SNAPSHOT: &str = "acdc641fa62a9021785981bd18b43f76c4437cfefb823227a6298b26656c8e47";

/// The stored request of the live job (vector `live_job_before_approval`).
const LIVE_REQUEST: &str = r#"{
 "jobId": "b5901a94-eff3-4c36-b743-4c98be5e9d4f",
 "topic": "job.peer.write",
 "priority": "JOB_PRIORITY_INTERACTIVE",
 "contextPtr": "redis://ctx:b5901a94-eff3-4c36-b743-4c98be5e9d4f",
 "adapterId": "",
 "env": {
  "max_input_tokens": "8000",
  "max_output_tokens": "1024",
  "memory_id": "mem:b5901a94-eff3-4c36-b743-4c98be5e9d4f",
  "tenant_id": "default"
 },
 "parentJobId": "",
 "workflowId": "",
 "stepIndex": 0,
 "memoryId": "mem:b5901a94-eff3-4c36-b743-4c98be5e9d4f",
 "contextHints": {
  "maxInputTokens": 8000,
  "allowSummarization": false,
  "allowRetrieval": false,
  "tags": []
 },
 "budget": {
  "maxInputTokens": "8000",
  "maxOutputTokens": "1024",
  "maxTotalTokens": "0",
  "deadlineMs": "0"
 },
 "tenantId": "default",
 "principalId": "alice",
 "labels": {
  "team": "peer"
 },
 "meta": {
  "tenantId": "default",
  "actorId": "alice",
  "actorType": "ACTOR_TYPE_UNSPECIFIED",
  "idempotencyKey": "",
  "capability": "",
  "riskTags": [
   "write"
  ],
  "requires": [],
  "packId": "",
  "labels": {
   "team": "peer"
  }
 }
}"#;

fn item(job_hash: &str, snapshot: &str) -> ApprovalItem {
    ApprovalItem::from_value(json!({
        "approval_ref": LIVE_JOB_ID,
        "approval_required": false,
        "constraints": null,
        "decision": "REQUIRE_APPROVAL",
        "job": {"id": LIVE_JOB_ID, "state": "APPROVAL_REQUIRED", "topic": "job.peer.write"},
        "job_hash": job_hash,
        "policy_snapshot": snapshot,
    }))
    .expect("test item parses")
}

fn gate(job_hash: &str, snapshot: &str) -> ApprovalItem {
    ApprovalItem {
        gate_type: "workflow_approval".into(),
        ..item(job_hash, snapshot)
    }
}

fn live() -> ApprovalItem {
    item(LIVE_HASH, LIVE_SNAPSHOT)
}

fn snapshots(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn content_with(item: &ApprovalItem, payload: Value) -> CardContent {
    CardContent::new(
        item,
        payload,
        &BTreeMap::from([("team".into(), "peer".into())]),
    )
}

fn content_of(item: &ApprovalItem) -> CardContent {
    content_with(item, json!({"prompt": "write the peer file"}))
}

fn run(
    seen: &ApprovalItem,
    now: Option<&ApprovalItem>,
    current: &[String],
    request: Option<&str>,
) -> Verdict {
    let content = now.map(content_of);
    verify(&VerifyInput {
        seen: &SeenItem::from(seen).with_content(content_of(seen)),
        now,
        current_snapshots: current,
        request: request.map(str::as_bytes),
        content: content.as_ref(),
        payload: None,
        generation: Generation::V09,
    })
}

fn reason_of(verdict: &Verdict) -> UnverifiableReason {
    match verdict {
        Verdict::Unverifiable { reason, .. } => *reason,
        other => panic!("expected unverifiable, got {other:?}"),
    }
}

#[test]
fn unchanged_item_is_verified_without_request() {
    let live = live();
    let verdict = run(&live, Some(&live), &snapshots(&[LIVE_SNAPSHOT]), None);
    assert_eq!(
        verdict,
        Verdict::IdentityChecked {
            hash_recomputed: false
        }
    );
    assert!(verdict.is_verified());
}

#[test]
fn live_request_hashes_to_the_live_job_hash() {
    let live = live();
    let verdict = run(
        &live,
        Some(&live),
        &snapshots(&[LIVE_SNAPSHOT]),
        Some(LIVE_REQUEST),
    );
    assert_eq!(
        verdict,
        Verdict::IdentityChecked {
            hash_recomputed: true
        }
    );
}

#[test]
fn overlay_only_snapshot_change_is_the_same_policy() {
    let seen = item(LIVE_HASH, "base|cfg:a");
    let now = item(LIVE_HASH, "base|cfg:b");
    let verdict = run(
        &seen,
        Some(&now),
        &snapshots(&[" base|cfg:c\n", "old"]),
        None,
    );
    assert_eq!(
        verdict,
        Verdict::IdentityChecked {
            hash_recomputed: false
        }
    );
}

#[test]
fn current_snapshot_with_a_new_base_is_a_policy_change() {
    let live = live();
    let verdict = run(
        &live,
        Some(&live),
        &snapshots(&["newbase|cfg:a", LIVE_SNAPSHOT]),
        None,
    );
    assert_eq!(
        verdict,
        Verdict::PolicyChanged {
            seen: LIVE_SNAPSHOT.into(),
            now: "newbase|cfg:a".into()
        }
    );
}

#[test]
fn item_snapshot_with_a_new_base_is_a_policy_change() {
    let seen = item(LIVE_HASH, "old|cfg:a");
    let now = item(LIVE_HASH, "new|cfg:a");
    let verdict = run(&seen, Some(&now), &snapshots(&["old|cfg:a"]), None);
    assert_eq!(
        verdict,
        Verdict::PolicyChanged {
            seen: "old|cfg:a".into(),
            now: "new|cfg:a".into()
        }
    );
}

#[test]
fn changed_job_hash_is_a_request_change() {
    let seen = live();
    let now = item(
        "674558d71ab290cdca970ebd87acde045540fa4160e8163ac130430543e321e2",
        LIVE_SNAPSHOT,
    );
    let verdict = run(&seen, Some(&now), &snapshots(&[LIVE_SNAPSHOT]), None);
    assert_eq!(
        verdict,
        Verdict::RequestChanged {
            seen_hash: LIVE_HASH.into(),
            now_hash: now.job_hash.clone()
        }
    );
}

#[test]
fn tampered_kept_label_is_a_content_mismatch() {
    let tampered = LIVE_REQUEST.replacen(r#""team": "peer""#, r#""team": "attacker""#, 1);
    let live = live();
    let verdict = run(
        &live,
        Some(&live),
        &snapshots(&[LIVE_SNAPSHOT]),
        Some(&tampered),
    );
    let expected = job_hash(
        &JobRequest::from_protojson(tampered.as_bytes(), Generation::V09).expect("parses"),
        Generation::V09,
    );
    assert_ne!(expected, LIVE_HASH);
    assert_eq!(
        verdict,
        Verdict::ContentMismatch {
            recomputed: expected,
            claimed: LIVE_HASH.into()
        }
    );
}

#[test]
fn request_of_another_job_is_reported_as_such() {
    let other = LIVE_REQUEST.replacen(LIVE_JOB_ID, "00000000-0000-0000-0000-000000000000", 1);
    let live = live();
    let verdict = run(
        &live,
        Some(&live),
        &snapshots(&[LIVE_SNAPSHOT]),
        Some(&other),
    );
    assert_eq!(
        verdict,
        Verdict::RequestForOtherJob {
            item_job_id: LIVE_JOB_ID.into(),
            request_job_id: "00000000-0000-0000-0000-000000000000".into()
        }
    );
}

#[test]
fn unparseable_request_is_unverifiable_with_the_parse_error() {
    let live = live();
    let verdict = run(
        &live,
        Some(&live),
        &snapshots(&[LIVE_SNAPSHOT]),
        Some("not json"),
    );
    assert_eq!(reason_of(&verdict), UnverifiableReason::RequestUnparseable);
    let parse_error =
        JobRequest::from_protojson(b"not json", Generation::V09).expect_err("must not parse");
    assert!(
        verdict.message().contains(&parse_error.to_string()),
        "{}",
        verdict.message()
    );
}

#[test]
fn unlisted_item_is_no_longer_pending() {
    let live = live();
    let verdict = run(
        &live,
        None,
        &snapshots(&[LIVE_SNAPSHOT]),
        Some(LIVE_REQUEST),
    );
    assert_eq!(
        verdict,
        Verdict::NoLongerPending {
            state: None,
            resolved_by: None
        }
    );
}

#[test]
fn resolved_item_is_no_longer_pending() {
    let seen = live();
    let mut now = live();
    now.job.state = "DENIED".into();
    now.resolved_by = "bob".into();
    let verdict = run(&seen, Some(&now), &snapshots(&[LIVE_SNAPSHOT]), None);
    assert_eq!(
        verdict,
        Verdict::NoLongerPending {
            state: Some("DENIED".into()),
            resolved_by: Some("bob".into())
        }
    );
    assert!(verdict.message().contains("DENIED") && verdict.message().contains("bob"));
}

#[test]
fn a_different_job_is_unverifiable() {
    let seen = live();
    let mut now = live();
    now.job.id = "someone-else".into();
    let verdict = run(&seen, Some(&now), &snapshots(&[LIVE_SNAPSHOT]), None);
    assert_eq!(reason_of(&verdict), UnverifiableReason::ItemMismatch);
}

#[test]
fn missing_job_hash_is_unverifiable() {
    let without_hash = item("", LIVE_SNAPSHOT);
    let current = snapshots(&[LIVE_SNAPSHOT]);
    for (seen, now) in [
        (&without_hash, &live()),
        (&live(), &without_hash),
        (&without_hash, &without_hash),
    ] {
        let verdict = run(seen, Some(now), &current, None);
        assert_eq!(reason_of(&verdict), UnverifiableReason::MissingJobHash);
    }
    let gate_without_hash = gate("", "");
    let verdict = run(&gate_without_hash, Some(&gate_without_hash), &[], None);
    assert_eq!(reason_of(&verdict), UnverifiableReason::MissingJobHash);
}

#[test]
fn missing_item_snapshot_is_unverifiable_outside_workflow_gates() {
    let current = snapshots(&[LIVE_SNAPSHOT]);
    // An empty base names no policy, whatever overlay follows it.
    for empty in ["  ", "|cfg:x", " |cfg:x "] {
        let without_snapshot = item(LIVE_HASH, empty);
        for (seen, now) in [(&without_snapshot, &live()), (&live(), &without_snapshot)] {
            let verdict = run(seen, Some(now), &current, None);
            assert_eq!(
                reason_of(&verdict),
                UnverifiableReason::MissingItemSnapshot,
                "{empty:?}"
            );
        }
    }
    // Two empty bases would compare equal: still not a verified policy.
    let both = item(LIVE_HASH, "|cfg:a");
    let verdict = run(&both, Some(&both), &snapshots(&["|cfg:b"]), None);
    assert_eq!(reason_of(&verdict), UnverifiableReason::MissingItemSnapshot);
}

#[test]
fn missing_current_snapshot_is_unverifiable() {
    let live = live();
    for current in [
        snapshots(&[]),
        snapshots(&[" \t"]),
        snapshots(&["", LIVE_SNAPSHOT]),
        snapshots(&["|cfg:x"]),
        snapshots(&[" |cfg:x", LIVE_SNAPSHOT]),
    ] {
        let verdict = run(&live, Some(&live), &current, None);
        assert_eq!(
            reason_of(&verdict),
            UnverifiableReason::MissingCurrentSnapshot
        );
    }
}

#[test]
fn workflow_gates_skip_the_snapshot_check_but_not_the_hash() {
    let seen = gate(LIVE_HASH, "");
    let now = gate(LIVE_HASH, "other|cfg:x");
    assert_eq!(
        run(&seen, Some(&now), &[], None),
        Verdict::IdentityChecked {
            hash_recomputed: false
        }
    );
    assert_eq!(
        run(&seen, Some(&now), &[], Some(LIVE_REQUEST)),
        Verdict::IdentityChecked {
            hash_recomputed: true
        }
    );
    let changed = gate("0000", "");
    assert_eq!(
        run(&seen, Some(&changed), &[], None).code(),
        "request_changed"
    );
}

#[test]
fn a_gate_label_appearing_later_does_not_skip_the_snapshot_check() {
    let seen = item(LIVE_HASH, "old");
    let now = gate(LIVE_HASH, "old");
    let verdict = run(&seen, Some(&now), &snapshots(&["new"]), None);
    assert_eq!(verdict.code(), "policy_changed");
}

#[test]
fn checks_run_in_order_pending_request_policy_content() {
    let seen = live();
    let mut resolved_and_changed = item("0000", "new");
    resolved_and_changed.job.state = "PENDING".into();
    let new_policy = snapshots(&["new"]);
    assert_eq!(
        run(
            &seen,
            Some(&resolved_and_changed),
            &new_policy,
            Some("garbage")
        )
        .code(),
        "no_longer_pending"
    );
    let changed = item("0000", "new");
    assert_eq!(
        run(&seen, Some(&changed), &new_policy, Some("garbage")).code(),
        "request_changed"
    );
    assert_eq!(
        run(&seen, Some(&seen), &new_policy, Some("garbage")).code(),
        "policy_changed"
    );
    let current = snapshots(&[LIVE_SNAPSHOT]);
    assert_eq!(
        run(&seen, Some(&seen), &current, Some("garbage")).code(),
        "unverifiable"
    );
}

#[test]
fn serialized_code_tag_equals_code_and_messages_exist() {
    let verdicts = [
        Verdict::IdentityChecked {
            hash_recomputed: true,
        },
        Verdict::IdentityChecked {
            hash_recomputed: false,
        },
        Verdict::ContentVerified,
        Verdict::ContentChanged {
            changes: vec![FieldChange {
                field: "payload".into(),
                seen: "1".into(),
                now: "2".into(),
            }],
        },
        Verdict::PayloadMismatch {
            pointer: "p".into(),
            why: "w".into(),
        },
        Verdict::PolicyChanged {
            seen: "a".into(),
            now: "b".into(),
        },
        Verdict::RequestChanged {
            seen_hash: "a".into(),
            now_hash: "b".into(),
        },
        Verdict::ContentMismatch {
            recomputed: "a".into(),
            claimed: "b".into(),
        },
        Verdict::RequestForOtherJob {
            item_job_id: "a".into(),
            request_job_id: "b".into(),
        },
        Verdict::NoLongerPending {
            state: None,
            resolved_by: None,
        },
        unverifiable(UnverifiableReason::MissingJobHash, "x"),
    ];
    for verdict in &verdicts {
        let json = serde_json::to_value(verdict).expect("verdicts serialize");
        assert_eq!(json["code"], verdict.code());
        assert!(!verdict.message().is_empty());
        let approvable = matches!(verdict.code(), "content_verified" | "identity_checked");
        assert_eq!(verdict.is_verified(), approvable);
        assert_eq!(
            verdict.level().code(),
            if approvable {
                verdict.code()
            } else {
                "refused"
            }
        );
    }
    let json = serde_json::to_value(unverifiable(UnverifiableReason::RequestUnparseable, "x"))
        .expect("serializes");
    assert_eq!(
        json,
        json!({"code": "unverifiable", "reason": "request_unparseable", "why": "x"})
    );
}

#[test]
fn seen_item_from_card_matches_seen_item_from_item() {
    for source in [live(), gate(LIVE_HASH, "")] {
        assert_eq!(
            SeenItem::from(&ApprovalCard::from(&source)),
            SeenItem::from(&source)
        );
    }
}

/// The live request with a content-addressed pointer to `payload`, and an item claiming its
/// hash.
fn addressed(payload: &[u8]) -> (String, ApprovalItem) {
    let request = LIVE_REQUEST.replacen(
        &format!("redis://ctx:{LIVE_JOB_ID}"),
        &payload_pointer(payload),
        1,
    );
    let hash = job_hash(
        &JobRequest::from_protojson(request.as_bytes(), Generation::V09).expect("parses"),
        Generation::V09,
    );
    (request, item(&hash, LIVE_SNAPSHOT))
}

fn run_with_payload(
    seen: &SeenItem,
    now: &ApprovalItem,
    content: &CardContent,
    request: &str,
    payload: &[u8],
) -> Verdict {
    verify(&VerifyInput {
        seen,
        now: Some(now),
        current_snapshots: &snapshots(&[LIVE_SNAPSHOT]),
        request: Some(request.as_bytes()),
        content: Some(content),
        payload: Some(payload),
        generation: Generation::V09,
    })
}

const PAYLOAD: &[u8] = br#"{"context":{"amount":120,"vendor":"Acme"},"prompt":"pay"}"#;

#[test]
fn payload_bound_by_its_pointer_is_content_verified() {
    let (request, now) = addressed(PAYLOAD);
    let content = content_with(&now, crate::content::payload_value(PAYLOAD));
    let seen = SeenItem::from(&now).with_content(content.clone());
    let verdict = run_with_payload(&seen, &now, &content, &request, PAYLOAD);
    assert_eq!(verdict, Verdict::ContentVerified);
    assert_eq!(verdict.level(), VerdictLevel::ContentVerified);
    assert_eq!(
        serde_json::to_value(verdict.level()).expect("serializes"),
        json!("content_verified")
    );
}

#[test]
fn payload_changed_behind_the_pointer_is_refused() {
    let (request, now) = addressed(PAYLOAD);
    let tampered: &[u8] = br#"{"context":{"amount":9800000,"vendor":"Mallory"},"prompt":"pay"}"#;
    // The card fetched now shows the tampered payload: the content check names the fields.
    let seen = SeenItem::from(&now)
        .with_content(content_with(&now, crate::content::payload_value(PAYLOAD)));
    let now_content = content_with(&now, crate::content::payload_value(tampered));
    let verdict = run_with_payload(&seen, &now, &now_content, &request, tampered);
    let Verdict::ContentChanged { changes } = &verdict else {
        panic!("expected content_changed, got {verdict:?}");
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].field, "payload");
    assert!(changes[0].seen.contains("120") && changes[0].now.contains("9800000"));
    assert!(
        verdict.message().contains("Mallory"),
        "{}",
        verdict.message()
    );
    assert_eq!(verdict.level(), VerdictLevel::Refused);
    // Had the reviewer somehow seen the tampered card, the pointer still refuses the bytes.
    let seen = SeenItem::from(&now).with_content(now_content.clone());
    let verdict = run_with_payload(&seen, &now, &now_content, &request, tampered);
    assert_eq!(verdict.code(), "payload_mismatch");
}

#[test]
fn a_card_that_does_not_show_the_payload_served_is_refused() {
    let (request, now) = addressed(PAYLOAD);
    let content = content_with(&now, json!({"prompt": "something else"}));
    let seen = SeenItem::from(&now).with_content(content.clone());
    let verdict = run_with_payload(&seen, &now, &content, &request, PAYLOAD);
    assert_eq!(verdict.code(), "payload_mismatch");
}

#[test]
fn a_pointer_naming_no_digest_is_only_an_identity_check() {
    let live = live();
    let content = content_of(&live);
    let seen = SeenItem::from(&live).with_content(content.clone());
    let verdict = run_with_payload(&seen, &live, &content, LIVE_REQUEST, PAYLOAD);
    assert_eq!(
        verdict,
        Verdict::IdentityChecked {
            hash_recomputed: true
        }
    );
    assert_eq!(verdict.level(), VerdictLevel::IdentityChecked);
}

#[test]
fn changed_labels_and_rule_are_named_seen_vs_now() {
    let seen_item = live();
    let mut now = live();
    now.policy_rule_id = "other-rule".into();
    let seen = SeenItem::from(&seen_item).with_content(content_of(&seen_item));
    let mut content = content_of(&now);
    content.labels.insert("vendor".into(), "Mallory".into());
    let verdict = verify(&VerifyInput {
        seen: &seen,
        now: Some(&now),
        current_snapshots: &snapshots(&[LIVE_SNAPSHOT]),
        request: None,
        content: Some(&content),
        payload: None,
        generation: Generation::V09,
    });
    let Verdict::ContentChanged { changes } = verdict else {
        panic!("expected content_changed");
    };
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["labels", "rule"]);
    assert_eq!(changes[1].seen, r#""""#);
    assert_eq!(changes[1].now, r#""other-rule""#);
}

#[test]
fn content_not_recorded_or_not_read_is_unverifiable() {
    let live = live();
    let content = content_of(&live);
    let current = snapshots(&[LIVE_SNAPSHOT]);
    let bare = SeenItem::from(&live);
    let with = SeenItem::from(&live).with_content(content.clone());
    for (seen, now_content) in [(&bare, Some(&content)), (&with, None)] {
        let verdict = verify(&VerifyInput {
            seen,
            now: Some(&live),
            current_snapshots: &current,
            request: None,
            content: now_content,
            payload: None,
            generation: Generation::V09,
        });
        assert_eq!(reason_of(&verdict), UnverifiableReason::MissingContent);
    }
}

#[test]
fn a_digest_without_its_content_still_binds() {
    let live = live();
    let mut seen = SeenItem::from(&live).with_content(content_of(&live));
    seen.content = None;
    let mut changed = content_of(&live);
    changed.title = "Pay Mallory".into();
    let verdict = verify(&VerifyInput {
        seen: &seen,
        now: Some(&live),
        current_snapshots: &snapshots(&[LIVE_SNAPSHOT]),
        request: None,
        content: Some(&changed),
        payload: None,
        generation: Generation::V09,
    });
    assert_eq!(verdict.code(), "content_changed");
}

#[test]
fn a_gate_label_does_not_skip_the_check_of_a_snapshot_the_reviewer_saw() {
    let seen = gate(LIVE_HASH, LIVE_SNAPSHOT);
    let verdict = run(&seen, Some(&seen), &snapshots(&["changed|cfg:1"]), None);
    assert_eq!(verdict.code(), "policy_changed");
}

/// The verdict on `request` for an item claiming `hash`, read with `generation`'s rules.
fn verdict_under(request: &str, hash: &str, generation: Generation) -> Verdict {
    let now = item(hash, LIVE_SNAPSHOT);
    let content = content_of(&now);
    verify(&VerifyInput {
        seen: &SeenItem::from(&now).with_content(content.clone()),
        now: Some(&now),
        current_snapshots: &snapshots(&[LIVE_SNAPSHOT]),
        request: Some(request.as_bytes()),
        generation,
        content: Some(&content),
        payload: None,
    })
}

/// The request is read and hashed by the gateway's generation: a newest-Cordum request (with
/// `"compensation": null`, and a `policy.attachment_id` label its hash ignores) verifies under
/// the new rules and is refused under v0.9's, and the other way round for a v0.9 hash.
#[test]
fn the_request_is_hashed_by_the_gateways_generation() {
    let request = LIVE_REQUEST.replacen(
        "\"labels\": {",
        "\"compensation\": null, \"labels\": {\"policy.attachment_id\": \"job/x/policy\", ",
        1,
    );
    let parsed = JobRequest::from_protojson(request.as_bytes(), Generation::New).expect("new");
    let new_hash = job_hash(&parsed, Generation::New);
    assert!(verdict_under(&request, &new_hash, Generation::New).is_verified());
    assert_eq!(
        reason_of(&verdict_under(&request, &new_hash, Generation::V09)),
        UnverifiableReason::RequestUnparseable,
        "v0.9 cannot read `compensation`"
    );
    let without = request.replacen("\"compensation\": null, ", "", 1);
    let v09 = JobRequest::from_protojson(without.as_bytes(), Generation::V09).expect("v0.9");
    let v09_hash = job_hash(&v09, Generation::V09);
    assert_ne!(v09_hash, new_hash, "v0.9 hashes the attachment label");
    assert!(verdict_under(&without, &v09_hash, Generation::V09).is_verified());
    assert_eq!(
        verdict_under(&without, &v09_hash, Generation::New).code(),
        "content_mismatch"
    );
}
