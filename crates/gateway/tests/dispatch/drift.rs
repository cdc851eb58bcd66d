//! A policy changed between approval and dispatch: a policy that now denies stops the job at
//! dispatch with its reason; one that requires a human again re-opens the approval under the
//! new snapshot; a payload changed behind its pointer fails the job as a content conflict.

use serde_json::json;

use crate::common::{open_stream, read_while, Harness, ALICE, POLICY};
use crate::*;

/// Holds an approved payment at the gate (engine down), publishes `yaml`, then lets the
/// engine answer. Returns the job id and the new snapshot.
async fn approve_then_publish(h: &Harness, yaml: &str) -> (String, String) {
    engine(h, "down").await;
    let id = approved_payment(h).await;
    wait_for(h, &id, "retried", |j| j["attempts"].as_u64() >= Some(1)).await;
    let snapshot = h.publish(yaml).await;
    engine(h, "healthy").await;
    (id, snapshot)
}

#[tokio::test]
async fn a_policy_that_now_denies_stops_the_job_at_dispatch() {
    let h = fast_harness().await;
    let denying = POLICY.replace(
        "    decision: require_human\n    reason: Payments need a human.",
        "    decision: deny\n    reason: Payments are frozen.",
    );
    let (id, snapshot) = approve_then_publish(&h, &denying).await;
    let denied = wait_state(&h, &id, "DENIED").await;
    assert_eq!(denied["failure_reason"], "Payments are frozen.", "{denied}");
    let decision = &denied["dispatch_decision"];
    assert_eq!(decision["outcome"], "denied");
    assert_eq!(decision["decision"], "DENY");
    assert_eq!(decision["rule_id"], "require-approval-prod-finance");
    assert_eq!(decision["policy_snapshot"], snapshot.as_str());
    assert_eq!(dispatched(&h, &id).await, 0);
    let (_, audit) = h.get(ALICE, "/api/v1/audit/events?limit=1000").await;
    assert!(audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|e| e["action"] == "dispatch_denied" && e["job_id"] == id.as_str()));
}

#[tokio::test]
async fn a_policy_that_requires_a_human_again_reopens_the_approval() {
    let h = fast_harness().await;
    let stream = open_stream(&h, None).await;
    let stricter = POLICY.replace(
        "reason: Payments need a human.",
        "reason: Payments need two looks.",
    );
    let (id, snapshot) = approve_then_publish(&h, &stricter).await;
    let reopened = wait_state(&h, &id, "APPROVAL_REQUIRED").await;
    assert_eq!(
        reopened["dispatch_decision"]["outcome"], "reopened",
        "{reopened}"
    );
    assert_eq!(
        reopened["dispatch_decision"]["policy_snapshot"],
        snapshot.as_str()
    );
    assert!(reopened.get("approval_by").is_none(), "{reopened}");
    assert!(
        reopened["labels"].get("approval_granted").is_none(),
        "{reopened}"
    );
    assert_eq!(dispatched(&h, &id).await, 0);

    let it = crate::common::pending_item(&h, &id).await;
    assert_eq!(it["approval_status"], "pending", "{it}");
    assert_eq!(it["policy_snapshot"], snapshot.as_str());
    assert_eq!(it["policy_reason"], "Payments need two looks.");
    assert_eq!(it["approval_revision"], 3, "fresh, approved, re-opened");
    let events = read_while(stream, |seen| {
        seen.iter()
            .filter(|e| e.kind == "approval.required" && e.data["job"]["id"] == id.as_str())
            .count()
            < 2
    })
    .await;
    let again = events
        .iter()
        .rfind(|e| e.kind == "approval.required")
        .expect("re-opened item announced");
    assert_eq!(again.data["policy_snapshot"], snapshot.as_str());

    // Approved under the new snapshot, it goes.
    let (s, body) = h
        .approve(ALICE, &id, json!({"expected_policy_snapshot": snapshot}))
        .await;
    assert_eq!(s, 200, "{body}");
    let done = wait_state(&h, &id, "SUCCEEDED").await;
    assert_eq!(
        done["attempts"], 0,
        "a new approval starts its attempts over: {done}"
    );
    assert_eq!(dispatched(&h, &id).await, 1);
}

#[tokio::test]
async fn a_job_allowed_at_submit_that_now_needs_a_human_waits_for_one() {
    let h = fast_harness().await;
    engine(&h, "down").await;
    let id = allowed(&h, "production").await;
    wait_for(&h, &id, "retried", |j| j["attempts"].as_u64() >= Some(1)).await;
    h.publish(&format!(
        "{POLICY}  - id: reads-need-human\n    when: {{ topic: knowledge.read }}\n    decision: require_human\n"
    ))
    .await;
    engine(&h, "healthy").await;
    let held = wait_state(&h, &id, "APPROVAL_REQUIRED").await;
    assert_eq!(held["approval_required"], true, "{held}");
    assert_eq!(
        crate::common::pending_item(&h, &id).await["approval_status"],
        "pending"
    );
    assert_eq!(dispatched(&h, &id).await, 0);
}

#[tokio::test]
async fn a_payload_changed_behind_its_pointer_fails_at_dispatch() {
    let h = fast_harness().await;
    engine(&h, "down").await;
    let id = approved_payment(&h).await;
    h.running
        .gateway()
        .mutate_stored_context(&id, |c| c["amount"] = json!(9_800_000))
        .await
        .expect("tamper");
    engine(&h, "healthy").await;
    let failed = wait_state(&h, &id, "FAILED").await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .expect("reason")
            .starts_with("payload_changed"),
        "{failed}"
    );
    assert_eq!(dispatched(&h, &id).await, 0);
    assert_eq!(
        metric(&h, "countersign_approval_conflicts_total{kind=\"content\"}").await,
        1.0
    );
}
