//! `/metrics` shows each counter moving, and `POST /api/v1/policy/simulate` answers what the
//! current policy would decide.

use serde_json::json;

use crate::common::{ACME_ADMIN, ACME_AGENT, AGENT, ALICE, VIEWER};
use crate::*;

#[tokio::test]
async fn the_metrics_endpoint_shows_each_counter_moving() {
    let h = fast_harness().await;
    let resp = crate::common::sent(h.keyed(reqwest::Method::GET, VIEWER, "/metrics")).await;
    assert_eq!(resp.status(), 403, "the counters span tenants: admins only");
    let resp =
        crate::common::sent(h.keyed(reqwest::Method::GET, crate::common::BOB, "/metrics")).await;
    assert!(resp.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("application/openmetrics-text"));

    let approved = "countersign_approvals_already_approved_total";
    let snapshot = "countersign_approval_conflicts_total{kind=\"snapshot\"}";
    let hash = "countersign_approval_conflicts_total{kind=\"hash\"}";
    let dispatched_total = "countersign_dispatch_outcomes_total{outcome=\"dispatched\"}";
    let latency = "countersign_dispatch_latency_seconds_count";
    let young = "countersign_pending_approvals{age=\"lt_1m\"}";
    for sample in [approved, snapshot, hash, dispatched_total, latency, young] {
        assert_eq!(metric(&h, sample).await, 0.0, "{sample}");
    }

    let id = approved_payment(&h).await;
    wait_state(&h, &id, "SUCCEEDED").await;
    assert_eq!(metric(&h, dispatched_total).await, 1.0);
    assert_eq!(metric(&h, latency).await, 1.0);
    let (s, _) = h.approve(ALICE, &id, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(metric(&h, approved).await, 1.0);

    let stale = h.payment().await;
    assert_eq!(metric(&h, young).await, 1.0);
    let (s, _) = h
        .approve(
            ALICE,
            &stale,
            json!({"expected_policy_snapshot": "0000|cfg:x"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(metric(&h, snapshot).await, 1.0);
    let (s, _) = h
        .approve(ALICE, &stale, json!({"expected_job_hash": "00"}))
        .await;
    assert_eq!(s, 409);
    assert_eq!(metric(&h, hash).await, 1.0);

    // The dispatcher's counters (fail-open, breaker, replays, retries, content conflicts)
    // are shown moving where those events happen: outage.rs, breaker.rs, replay.rs, drift.rs.
}

#[tokio::test]
async fn simulate_answers_what_the_current_policy_decides() {
    let h = fast_harness().await;
    let ask = |key: &'static str, body| h.post(key, "/api/v1/policy/simulate", body);
    let (s, body) = ask(
        AGENT,
        json!({"topic": "finance.payment.execute", "labels": {"env": "production"}}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["decision"], "REQUIRE_APPROVAL");
    assert_eq!(body["rule_id"], "require-approval-prod-finance");
    assert_eq!(
        body["policy_snapshot"],
        h.running.gateway().current_snapshot("default").as_str()
    );
    let (_, body) = ask(AGENT, json!({"topic": "knowledge.read"})).await;
    assert_eq!(body["decision"], "ALLOW", "{body}");
    let (_, body) = ask(
        AGENT,
        json!({"topic": "infra.security_group.update", "labels": {"env": "production", "cidr": "0.0.0.0/0"}}),
    )
    .await;
    assert_eq!(body["decision"], "DENY", "{body}");
    // Another tenant's policy is its own; naming a foreign tenant is refused.
    let resp = crate::common::sent(
        h.keyed(reqwest::Method::PUT, ACME_ADMIN, "/api/v1/policy")
            .body("version: v1\nrules: []\n"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (_, body) = ask(
        ACME_AGENT,
        json!({"topic": "finance.payment.execute", "labels": {"env": "production"}}),
    )
    .await;
    assert_eq!(body["decision"], "ALLOW", "{body}");
    let (s, _) = ask(AGENT, json!({"topic": "knowledge.read", "tenant": "acme"})).await;
    assert_eq!(s, 403);
    let (s, _) = ask(AGENT, json!({"labels": {}})).await;
    assert_eq!(s, 400);
    let (s, body) = ask(AGENT, json!({"topic": "a b\u{1b}"})).await;
    assert_eq!(s, 400, "{body}");
    let (s, _) = ask(AGENT, json!({"topic": "t", "labels": {"env": 7}})).await;
    assert_eq!(s, 400, "labels are text");
    engine(&h, "down").await;
    let (s, body) = ask(AGENT, json!({"topic": "knowledge.read"})).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (503, Some("engine_unreachable")),
        "{body}"
    );
}
