//! Resolving an item: the first decision wins and dispatches at most once; repeats answer
//! idempotently, contrary decisions conflict, and a busy decision lock asks for a retry.

use serde_json::{json, Value};

use crate::common::*;
use crate::item;

#[tokio::test]
async fn approve_dispatches_once_then_repeats_idempotently() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let (s, body) = h
        .approve(ALICE, &id, json!({"reason": "  invoice ok  ", "note": "n"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["job_id"], id.as_str());
    assert!(body["trace_id"].is_string());
    assert_eq!(h.dispatches(&id).await, 1);

    let (s, again) = h.approve(BOB, &id, json!({})).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["status"], "already_approved");
    assert_eq!(again["approved_by"], "alice");
    assert!(again["approved_at"].as_i64().expect("at") > 0);
    assert_eq!(h.dispatches(&id).await, 1);

    let conflict = h.reject(BOB, &id, json!({"reason": "too late"})).await;
    assert_error(
        &conflict,
        409,
        Some("approval_already_resolved"),
        "job not awaiting approval",
    );

    let (s, job) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(s, 200, "{job}");
    // Approve leaves it PENDING; the dispatcher ran it through the gate to its worker.
    assert_eq!(job["state"], "SUCCEEDED", "{job}");
    assert_eq!(job["dispatch_decision"]["outcome"], "dispatched", "{job}");
    assert_eq!(job["approval_by"], "alice");
    assert_eq!(job["approval_reason"], "invoice ok");
    assert_eq!(job["approval_job_hash"], job["safety_job_hash"]);
    assert_eq!(job["labels"]["approval_granted"], "true");
    let it = item(&h, &id).await;
    assert_eq!(it["approval_status"], "approved");
    assert_eq!(it["approval_actionability"], "resolved");
    assert_eq!(it["approval_revision"], 2);
    assert_eq!(it["resolved_by"], "alice");
    assert_eq!(it["resolution"], "invoice ok");
    let (_, pending) = h
        .get(ALICE, "/api/v1/approvals?include_resolved=false")
        .await;
    assert!(
        pending["items"].as_array().expect("items").is_empty(),
        "{pending}"
    );
}

#[tokio::test]
async fn reject_then_repeat_and_approve_conflicts() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let (s, body) = h.reject(ALICE, &id, json!({"reason": "not today"})).await;
    assert_eq!((s, body), (200, json!({"job_id": id})));
    let (s, again) = h.reject(BOB, &id, Value::Null).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["status"], "already_rejected");
    assert_eq!(again["rejected_by"], "alice");
    let conflict = h.approve(BOB, &id, json!({})).await;
    assert_error(
        &conflict,
        409,
        Some("approval_already_resolved"),
        "job not awaiting approval",
    );
    assert_eq!(h.dispatches(&id).await, 0);
    let (_, job) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["state"], "DENIED");
}

#[tokio::test]
async fn allowed_job_is_not_actionable() {
    let h = Harness::start().await;
    let (_, body) = h
        .submit(AGENT, json!({"prompt": "read", "topic": "knowledge.read"}))
        .await;
    let id = body["job_id"].as_str().expect("id");
    let got = h.approve(ALICE, id, json!({})).await;
    assert_error(
        &got,
        409,
        Some("approval_not_actionable"),
        "job not awaiting approval",
    );
}

#[tokio::test]
async fn busy_lock_answers_a_proper_retryable_409() {
    let h = Harness::start_with(|c| c.lock_wait = std::time::Duration::from_millis(50)).await;
    let id = h.payment().await;
    let guard = h
        .running
        .gateway()
        .hold_decision_lock(&id)
        .await
        .expect("lock");
    let got = h.approve(ALICE, &id, json!({})).await;
    assert_eq!(
        got,
        (
            409,
            json!({"error": "approval in progress; retry", "status": 409, "code": "approval_retryable_lock", "retryable": true})
        )
    );
    let got = h.reject(ALICE, &id, json!({})).await;
    assert_eq!(got.1["error"], "rejection in progress; retry");
    drop(guard);
    let (s, _) = h.approve(ALICE, &id, json!({})).await;
    assert_eq!(s, 200);
}
