//! The policy engine unavailable at dispatch: closed mode waits and retries, open mode
//! dispatches unchecked and counts it, environments override the default, the retry cap ends
//! the wait; workers that fail or are absent.

use std::time::Duration;

use countersign_gateway::FailMode;
use serde_json::json;

use crate::common::{open_stream, read_while, Harness, ALICE};
use crate::*;

#[tokio::test]
async fn engine_down_in_closed_mode_requeues_and_dispatches_once_when_it_returns() {
    let h = fast_harness().await;
    engine(&h, "down").await;
    let stream = open_stream(&h, None).await;
    let id = approved_payment(&h).await;
    let waiting = wait_for(&h, &id, "retried", |j| j["attempts"].as_u64() >= Some(3)).await;
    assert_eq!(waiting["state"], "PENDING", "{waiting}");
    assert_eq!(waiting["wait_reason"], "policy engine unavailable");
    assert_eq!(waiting["fail_mode"], "closed");
    assert_eq!(waiting["max_attempts"], 50);
    assert_eq!(waiting["dispatch_decision"]["outcome"], "requeued");
    assert_eq!(
        dispatched(&h, &id).await,
        0,
        "nothing dispatched while down"
    );

    engine(&h, "healthy").await;
    let done = wait_state(&h, &id, "SUCCEEDED").await;
    assert_eq!(done["dispatch_decision"]["outcome"], "dispatched", "{done}");
    assert_eq!(done["dispatch_decision"]["decision"], "REQUIRE_APPROVAL");
    assert_eq!(
        done["dispatch_decision"]["policy_snapshot"],
        done["approval_policy_snapshot"]
    );
    assert!(done.get("wait_reason").is_none(), "{done}");
    assert_eq!(dispatched(&h, &id).await, 1);
    assert_eq!(
        metric(
            &h,
            "cordum_scheduler_input_fail_open_total{topic=\"finance.payment.execute\"}"
        )
        .await,
        0.0
    );

    // The same story on the event stream, ending in SUCCEEDED.
    let events = read_while(stream, |seen| {
        !seen
            .iter()
            .any(|e| e.kind == "job.updated" && e.data["state"] == "SUCCEEDED")
    })
    .await;
    let states: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "job.updated" && e.data["job_id"] == id.as_str())
        .filter_map(|e| e.data["state"].as_str())
        .collect();
    assert_eq!(states.first(), Some(&"PENDING"), "{states:?}");
    assert_eq!(
        states
            .iter()
            .rev()
            .take(4)
            .rev()
            .copied()
            .collect::<Vec<_>>(),
        ["SCHEDULED", "DISPATCHED", "RUNNING", "SUCCEEDED"]
    );
}

#[tokio::test]
async fn a_slow_engine_times_out_like_a_down_one() {
    let h = fast_harness().await;
    engine(&h, "slow").await;
    let id = approved_payment(&h).await;
    let waiting = wait_for(&h, &id, "retried", |j| j["attempts"].as_u64() >= Some(1)).await;
    assert_eq!(
        waiting["dispatch_decision"]["engine_error"]["code"], "engine_timeout",
        "{waiting}"
    );
    assert_eq!(dispatched(&h, &id).await, 0);
}

#[tokio::test]
async fn engine_down_in_open_mode_dispatches_and_counts_it() {
    let h = Harness::start_with(|c| {
        fast(c);
        c.dispatch.policy_check_fail_mode = FailMode::Open;
    })
    .await;
    engine(&h, "failing").await;
    let id = allowed(&h, "qa").await;
    let done = wait_state(&h, &id, "SUCCEEDED").await;
    assert_eq!(done["dispatch_decision"]["outcome"], "fail_open", "{done}");
    assert_eq!(done["dispatch_decision"]["fail_mode"], "open");
    assert_eq!(
        done["dispatch_decision"]["engine_error"]["code"],
        "engine_failed"
    );
    assert_eq!(done["attempts"], 0);
    assert_eq!(dispatched(&h, &id).await, 1);
    let sample = "cordum_scheduler_input_fail_open_total{topic=\"knowledge.read\"}";
    assert_eq!(metric(&h, sample).await, 1.0);
}

#[tokio::test]
async fn environment_labels_override_the_fail_mode() {
    // Default closed: development still dispatches (non-blocking), production waits.
    let h = fast_harness().await;
    engine(&h, "down").await;
    let dev = allowed(&h, "development").await;
    let prod = allowed(&h, "production").await;
    let done = wait_state(&h, &dev, "SUCCEEDED").await;
    assert_eq!(done["dispatch_decision"]["outcome"], "fail_open", "{done}");
    let waiting = wait_for(&h, &prod, "retried", |j| j["attempts"].as_u64() >= Some(2)).await;
    assert_eq!(waiting["state"], "PENDING", "{waiting}");
    assert_eq!(waiting["fail_mode"], "closed");
    assert_eq!(dispatched(&h, &prod).await, 0);

    // Default open: staging and production still fail closed; an unlisted env is open.
    let h = Harness::start_with(|c| {
        fast(c);
        c.dispatch.policy_check_fail_mode = FailMode::Open;
    })
    .await;
    engine(&h, "down").await;
    let staging = allowed(&h, "staging").await;
    let qa = allowed(&h, "qa").await;
    wait_state(&h, &qa, "SUCCEEDED").await;
    let waiting = wait_for(&h, &staging, "retried", |j| {
        j["attempts"].as_u64() >= Some(2)
    })
    .await;
    assert_eq!(waiting["state"], "PENDING", "{waiting}");
    assert_eq!(dispatched(&h, &staging).await, 0);
}

#[tokio::test]
async fn fifty_attempts_then_scheduling_retries_exhausted() {
    let h = fast_harness().await;
    engine(&h, "down").await;
    let id = approved_payment(&h).await;
    let failed = wait_state(&h, &id, "FAILED").await;
    assert_eq!(
        failed["failure_reason"], "scheduling_retries_exhausted",
        "{failed}"
    );
    assert_eq!(failed["attempts"], 50);
    assert_eq!(dispatched(&h, &id).await, 0);
    // 49 requeues; the 50th attempt ended it.
    let retries = "countersign_scheduling_retries_total{reason=\"policy engine unavailable\"}";
    assert_eq!(metric(&h, retries).await, 49.0);
    let failed_total = "countersign_dispatch_outcomes_total{outcome=\"failed\"}";
    metric_reaches(&h, failed_total, 1.0).await;
    // The engine coming back changes nothing for a failed job.
    engine(&h, "healthy").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(job(&h, &id).await["state"], "FAILED");
    let (_, audit) = h.get(ALICE, "/api/v1/audit/events?limit=1000").await;
    let failed_events = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "dispatch_failed" && e["job_id"] == id.as_str())
        .count();
    assert_eq!(failed_events, 1);
}

#[tokio::test]
async fn workers_that_fail_or_are_absent() {
    let h = fast_harness().await;
    workers(&h, "knowledge.read", "absent").await;
    let id = allowed(&h, "qa").await;
    let waiting = wait_for(&h, &id, "retried", |j| j["attempts"].as_u64() >= Some(2)).await;
    assert_eq!(
        waiting["wait_reason"], "no worker available for topic",
        "{waiting}"
    );
    assert_eq!(dispatched(&h, &id).await, 0);
    workers(&h, "knowledge.read", "accept").await;
    wait_state(&h, &id, "SUCCEEDED").await;
    assert_eq!(dispatched(&h, &id).await, 1);

    workers(&h, "*", "fail").await;
    let id = approved_payment(&h).await;
    let failed = wait_state(&h, &id, "FAILED").await;
    assert_eq!(failed["failure_reason"], "worker_failed", "{failed}");
    assert_eq!(dispatched(&h, &id).await, 1);
}

#[tokio::test]
async fn the_switches_need_an_admin_and_a_valid_mode() {
    let h = fast_harness().await;
    let put = |key: &'static str, path: &'static str, body| {
        h.send(reqwest::Method::PUT, Some(key), path, Some(body))
    };
    let (s, _) = put(
        ALICE,
        "/api/v1/admin/policy-engine",
        json!({"mode": "down"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, body) = put(
        crate::common::BOB,
        "/api/v1/admin/policy-engine",
        json!({"mode": "broken"}),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = put(
        crate::common::BOB,
        "/api/v1/admin/workers",
        json!({"mode": "accept", "topic": " "}),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(health(&h).await["policy_engine"]["mode"], "healthy");
    let off = Harness::start_with(|c| c.dispatch.simulation_controls = false).await;
    let (s, _) = off
        .send(
            reqwest::Method::GET,
            Some(crate::common::BOB),
            "/api/v1/admin/policy-engine",
            None,
        )
        .await;
    assert_eq!(s, 404);
}
