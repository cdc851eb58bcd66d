//! Drift between what the reviewer saw and what is current, at approve time: policy snapshots
//! (the safety net behind publish-time re-evaluation, see `reevaluation.rs`), overlays, the
//! stored request, and the reviewer's own preconditions.

use serde_json::json;

use crate::common::*;
use crate::item;

/// The policy snapshot the job's item was last evaluated under.
async fn item_snapshot(h: &Harness, job_id: &str) -> String {
    item(h, job_id).await["policy_snapshot"]
        .as_str()
        .expect("snap")
        .to_owned()
}

/// Publishes `yaml` without its re-evaluation reaching `job_id`: the row is briefly moved out
/// of `APPROVAL_REQUIRED` behind the gateway's back. This stands for a row the publish could
/// not see (written under an older policy by another process on the same file, or by a gateway
/// older than publish-time re-evaluation), where approve's own drift check is the safety net.
async fn publish_unreached(h: &Harness, job_id: &str, yaml: &str) -> String {
    let set_state = |state: &str| {
        rusqlite::Connection::open(h.dir.path().join("gw.db"))
            .expect("open")
            .execute("UPDATE jobs SET state = ?1 WHERE id = ?2", [state, job_id])
            .expect("state set");
    };
    set_state("HIDDEN_FROM_PUBLISH");
    let now = h.publish(yaml).await;
    set_state("APPROVAL_REQUIRED");
    now
}

#[tokio::test]
async fn snapshot_drift_that_still_allows_refreshes_and_approves() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let before = item(&h, &id).await["policy_snapshot"].clone();
    let changed = format!(
        "{POLICY}  - id: unrelated\n    when: {{ topic: other.topic }}\n    decision: deny\n"
    );
    let now = publish_unreached(&h, &id, &changed).await;
    assert_eq!(
        item(&h, &id).await["policy_snapshot"],
        before,
        "not re-evaluated"
    );
    assert_ne!(before, now.as_str());
    let (s, body) = h.approve(ALICE, &id, json!({})).await;
    assert_eq!(s, 200, "{body}");
    let it = item(&h, &id).await;
    assert_eq!(it["policy_snapshot"], now.as_str());
    assert_eq!(
        it["approval_revision"], 3,
        "refresh and resolution both count"
    );
    assert_eq!(h.dispatches(&id).await, 1);
}

#[tokio::test]
async fn snapshot_drift_that_denies_is_a_stale_snapshot_conflict() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let was = item_snapshot(&h, &id).await;
    let denying = POLICY.replace(
        "    decision: require_human\n    reason: Payments need a human.",
        "    decision: deny\n    reason: Payments are frozen.",
    );
    let now = publish_unreached(&h, &id, &denying).await;
    let got = h.approve(ALICE, &id, json!({})).await;
    let message = format!(
        "policy drift denies this request under current snapshot (was={was} now={now} decision=DENY)"
    );
    assert_error(&got, 409, Some("approval_stale_snapshot"), &message);
    assert_eq!(h.dispatches(&id).await, 0);
    // Rejecting a stale item is always allowed.
    let (s, _) = h.reject(ALICE, &id, json!({})).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn overlay_only_change_keeps_the_approval_valid() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let was = item_snapshot(&h, &id).await;
    let stream = open_stream(&h, None).await;
    let now = h.overlay(json!({"throttle_retry_after_s": 90})).await;
    assert_ne!(was, now);
    assert_eq!(was.split('|').next(), now.split('|').next());
    // Same base: nothing is re-evaluated, and the item keeps the snapshot string it has.
    let sentinel = h.payment().await;
    let events = read_until(stream, "approval.required", 1).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["policy.snapshot", "approval.required"]);
    assert_eq!(events[1].data["job"]["id"], sentinel.as_str());
    let it = item(&h, &id).await;
    assert_eq!(it["policy_snapshot"], was.as_str());
    assert_eq!(it["approval_revision"], 1);
    let (s, body) = h.approve(ALICE, &id, json!({})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        item(&h, &id).await["approval_revision"],
        2,
        "no refresh for an overlay change"
    );
}

#[tokio::test]
async fn mutated_request_is_a_stale_request_conflict() {
    let h = Harness::start().await;
    let tampered = h
        .pending_job(AGENT, json!({"env": "production", "team": "peer"}))
        .await;
    let stripped_only = h
        .pending_job(AGENT, json!({"env": "production", "team": "peer"}))
        .await;
    let gw = h.running.gateway();
    gw.mutate_stored_request(&tampered, |r| {
        r.labels.insert("team".into(), "attacker".into());
    })
    .await
    .expect("mutate");
    gw.mutate_stored_request(&stripped_only, |r| {
        r.labels.insert("approval_granted".into(), "true".into());
        r.labels.insert("Approval_Whatever".into(), "x".into());
        r.labels.insert("cordum.bus_msg_id".into(), "forged".into());
        r.env.insert("CORDUM_EFFECTIVE_CONFIG".into(), "{}".into());
    })
    .await
    .expect("mutate");
    let got = h
        .approve(ALICE, &tampered, json!({"reason": "should fail"}))
        .await;
    assert_error(
        &got,
        409,
        Some("approval_stale_request"),
        "job request changed; approval no longer valid",
    );
    assert_eq!(h.dispatches(&tampered).await, 0);
    let (s, body) = h.approve(ALICE, &stripped_only, json!({})).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn a_payload_changed_behind_its_pointer_is_refused_at_approve() {
    let h = Harness::start().await;
    let id = h.payment().await;
    h.running
        .gateway()
        .mutate_stored_context(&id, |c| c["amount"] = json!(9_800_000))
        .await
        .expect("tamper");
    let got = h.approve(ALICE, &id, json!({"reason": "read 1200"})).await;
    assert_error(
        &got,
        409,
        Some("approval_stale_request"),
        "job payload changed; approval rejected",
    );
    assert_eq!(item(&h, &id).await["approval_status"], "pending");
    assert_eq!(h.dispatches(&id).await, 0);
}

#[tokio::test]
async fn preconditions_guard_what_the_reviewer_saw() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let it = item(&h, &id).await;
    let hash = it["job_hash"].as_str().expect("hash").to_owned();
    let snap = it["policy_snapshot"].as_str().expect("snap").to_owned();
    let got = h
        .approve(ALICE, &id, json!({"expected_job_hash": "0".repeat(64)}))
        .await;
    assert_eq!(got.0, 409, "{}", got.1);
    assert_eq!(got.1["code"], "approval_stale_request");
    let got = h
        .approve(
            ALICE,
            &id,
            json!({"expected_policy_snapshot": "other|cfg:1"}),
        )
        .await;
    assert_eq!(got.0, 409, "{}", got.1);
    assert_eq!(got.1["code"], "approval_stale_snapshot");
    let base = snap.split('|').next().expect("base");
    let (s, body) = h
        .approve(
            ALICE,
            &id,
            json!({
                "expected_job_hash": hash,
                "expected_policy_snapshot": format!("{base}|cfg:anything"),
            }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}
