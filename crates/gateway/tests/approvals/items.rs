//! What becomes an approval item at submit time, what an item carries, and how the list pages.

use countersign_core::jobrequest::{Generation, JobRequest};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use crate::item;

#[tokio::test]
async fn submit_gate_allows_denies_throttles_and_holds() {
    let h = Harness::start().await;
    let (s, allowed) = h
        .submit(AGENT, json!({"prompt": "read", "topic": "knowledge.read"}))
        .await;
    assert_eq!(s, 200, "{allowed}");
    assert!(allowed["trace_id"].is_string() && allowed.get("status").is_none());
    let id = allowed["job_id"].as_str().expect("id");
    assert_eq!(h.dispatches(id).await, 1);

    let denied = h
        .submit(
            AGENT,
            json!({
            "prompt": "open", "topic": "infra.security_group.update",
            "labels": {"env": "production", "cidr": "0.0.0.0/0"}}),
        )
        .await;
    assert_error(
        &denied,
        403,
        None,
        "Public ingress to production is not allowed.",
    );

    // Raw requests from here on: the answers' headers matter too.
    let submit_raw = |body: Value| sent(h.keyed(Method::POST, AGENT, "/api/v1/jobs").json(&body));
    let resp = submit_raw(
        json!({"prompt": "go", "topic": "infra.cluster.recreate", "labels": {"env": "production"}}),
    )
    .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body, json!({"error": "policy throttled", "status": 429}));

    let resp = submit_raw(json!({"prompt": "pay", "topic": "finance.payment.execute", "labels": {"env": "production"}})).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-trace-id"));
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "approval_required");
    assert_eq!(body["reason"], "Payments need a human.");
    let id = body["job_id"].as_str().expect("id");
    assert_eq!(h.dispatches(id).await, 0);
}

#[tokio::test]
async fn item_carries_snapshot_hash_and_new_generation_fields() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let it = item(&h, &id).await;
    let (_, snaps) = h.get(ALICE, "/api/v1/policy/snapshots").await;
    assert_eq!(it["policy_snapshot"], snaps["snapshots"][0]);
    assert_eq!(it["decision"], "REQUIRE_APPROVAL");
    assert_eq!(it["policy_rule_id"], "require-approval-prod-finance");
    assert_eq!(it["constraints"], json!({"budgets": {"max_retries": 1}}));
    assert_eq!(it["approval_required"], true);
    assert_eq!(it["approval_ref"], id.as_str());
    assert_eq!(it["approval_status"], "pending");
    assert_eq!(it["approval_actionability"], "actionable");
    assert_eq!(it["approval_revision"], 1);
    assert_eq!(it["job"]["state"], "APPROVAL_REQUIRED");
    assert_eq!(it["job"]["principal"], "agent-7");
    assert_eq!(
        it["decision_summary"]["title"],
        "Approve 1200 EUR request with Globex"
    );
    let submitted = it["submitted_by"].as_str().expect("submitted_by");
    assert!(submitted.starts_with("apikey:") && submitted.ends_with("|principal:agent-7"));

    // Extension: the stored request hashes (with countersign-core) to the item's job_hash.
    let (s, req) = h
        .get(ALICE, &format!("/api/v1/approvals/{id}/request"))
        .await;
    assert_eq!(s, 200, "{req}");
    let parsed =
        JobRequest::from_protojson(req["job_request"].to_string().as_bytes(), Generation::New)
            .expect("protojson");
    assert_eq!(
        countersign_core::jobhash::job_hash(&parsed, Generation::New),
        it["job_hash"].as_str().expect("hash")
    );
    assert_eq!(req["job_hash"], it["job_hash"]);
    assert_eq!(parsed.topic, "finance.payment.execute");
    assert_eq!(
        parsed.env.get("tenant_id").map(String::as_str),
        Some("default")
    );

    let (s, ctx) = h
        .get(ALICE, &format!("/api/v1/approvals/{id}/context"))
        .await;
    assert_eq!(s, 200, "{ctx}");
    assert_eq!(ctx["approval"]["job_id"], id.as_str());
    assert_eq!(
        ctx["policy_snapshot_summary"]["matched_rule"]["id"],
        "require-approval-prod-finance"
    );
    assert_eq!(ctx["policy_snapshot_summary"]["rule_count"], 4);
    assert!(ctx["time_remaining_ms"].is_null());
}

#[tokio::test]
async fn list_pages_with_microsecond_cursors() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(h.payment().await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let path = match cursor {
            Some(c) => format!("/api/v1/approvals?limit=2&cursor={c}"),
            None => "/api/v1/approvals?limit=2".into(),
        };
        let (s, page) = h.get(ALICE, &path).await;
        assert_eq!(s, 200, "{page}");
        for it in page["items"].as_array().expect("items") {
            seen.push(it["job"]["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_i64() {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each once");
    let (s, _) = h.get(ALICE, "/api/v1/approvals?cursor=abc").await;
    assert_eq!(s, 400);
}
