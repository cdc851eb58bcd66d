//! Item 4: a deadline is enforced. An overdue item is not actionable, shows `expired`, leaves
//! the pending list, and approve or reject answers 409 "approval expired" like Cordum.

use std::sync::Arc;
use std::time::Duration;

use countersign_gateway::clock::{Clock, ManualClock, SystemClock};
use serde_json::{json, Value};

use crate::common::*;

async fn harness_with_clock() -> (Harness, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(SystemClock.now_us()));
    let shared = Arc::clone(&clock);
    let h = Harness::start_with(move |c| {
        c.clock = shared;
        c.expiry_sweep = Duration::from_millis(50);
    })
    .await;
    (h, clock)
}

async fn payment_due_in(h: &Harness, deadline_ms: i64) -> String {
    let (status, body) = h
        .submit(
            AGENT,
            json!({
                "prompt": "pay",
                "topic": "finance.payment.execute",
                "labels": {"env": "production"},
                "deadline_ms": deadline_ms,
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["job_id"].as_str().expect("job id").to_owned()
}

async fn listed(h: &Harness, query: &str) -> Vec<Value> {
    let (status, page) = h.get(ALICE, &format!("/api/v1/approvals{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn an_overdue_item_is_expired_everywhere() {
    let (h, clock) = harness_with_clock().await;
    let stream = open_stream(&h, None).await;
    let id = payment_due_in(&h, 60_000).await;
    let pending = listed(&h, "?include_resolved=false").await;
    assert_eq!(pending[0]["approval_actionability"], "actionable");

    clock.advance(Duration::from_secs(61));
    assert!(
        listed(&h, "?include_resolved=false").await.is_empty(),
        "an expired item leaves the pending list"
    );
    let all = listed(&h, "").await;
    let it = all
        .iter()
        .find(|i| i["job"]["id"] == id.as_str())
        .expect("listed");
    assert_eq!(it["approval_status"], "expired", "{it}");
    assert_eq!(it["approval_actionability"], "expired");
    assert_eq!(it["approval_decision"], "expire");
    assert_eq!(it["job"]["state"], "TIMEOUT");
    let (_, context) = h
        .get(ALICE, &format!("/api/v1/approvals/{id}/context"))
        .await;
    assert_eq!(context["approval"]["approval_actionability"], "expired");
    assert_eq!(context["time_remaining_ms"], 0);

    for got in [
        h.approve(ALICE, &id, json!({})).await,
        h.reject(ALICE, &id, json!({})).await,
    ] {
        assert_error(
            &got,
            409,
            Some("approval_not_actionable"),
            "approval expired",
        );
    }
    assert_eq!(h.dispatches(&id).await, 0);
    let events = read_until(stream, "approval.resolved", 1).await;
    let resolved = events
        .iter()
        .find(|e| e.kind == "approval.resolved")
        .expect("resolved");
    assert_eq!(resolved.data["status"], "expired");
    let (_, audit) = h.get(ALICE, "/api/v1/audit/events?limit=1000").await;
    assert!(audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|e| e["action"] == "approval_expired" && e["job_id"] == id.as_str()));
}

#[tokio::test]
async fn approving_an_overdue_item_answers_approval_expired() {
    let (h, clock) = harness_with_clock().await;
    let id = payment_due_in(&h, 1_000).await;
    let early = payment_due_in(&h, 3_600_000).await;
    clock.advance(Duration::from_secs(2));
    // Straight to approve, before any list or sweep had a chance to run.
    let got = h.approve(ALICE, &id, json!({})).await;
    assert_error(
        &got,
        409,
        Some("approval_not_actionable"),
        "approval expired",
    );
    let (_, job) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["state"], "TIMEOUT");
    // A deadline still ahead is no obstacle.
    assert_eq!(h.approve(ALICE, &early, json!({})).await.0, 200);
}
