//! Approve/reject semantics over real HTTP: every branch of the validation runbook (seed 000)
//! and of CONTRACT.md §2 that this gateway can reach.

mod common;

use common::*;
use countersign_core::jobrequest::JobRequest;
use serde_json::{json, Value};

async fn item(h: &Harness, job_id: &str) -> Value {
    let (status, body) = h.get(ALICE, "/api/v1/approvals").await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["job"]["id"] == job_id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn submit_gate_allows_denies_throttles_and_holds() {
    let h = Harness::start().await;
    let (s, allowed) = h
        .post(
            AGENT,
            "/api/v1/jobs",
            json!({"prompt": "read", "topic": "knowledge.read"}),
        )
        .await;
    assert_eq!(s, 200, "{allowed}");
    assert!(allowed["trace_id"].is_string() && allowed.get("status").is_none());
    let id = allowed["job_id"].as_str().expect("id");
    assert_eq!(
        h.running.gateway().dispatch_count(id).await.expect("count"),
        1
    );

    let denied = h
        .post(
            AGENT,
            "/api/v1/jobs",
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

    let resp = h
        .http
        .post(h.url("/api/v1/jobs"))
        .header("X-API-Key", AGENT)
        .json(&json!({"prompt": "go", "topic": "infra.cluster.recreate", "labels": {"env": "production"}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body, json!({"error": "policy throttled", "status": 429}));

    let resp = h
        .http
        .post(h.url("/api/v1/jobs"))
        .header("X-API-Key", AGENT)
        .json(&json!({"prompt": "pay", "topic": "finance.payment.execute", "labels": {"env": "production"}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-trace-id"));
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "approval_required");
    assert_eq!(body["reason"], "Payments need a human.");
    let id = body["job_id"].as_str().expect("id");
    assert_eq!(
        h.running.gateway().dispatch_count(id).await.expect("count"),
        0
    );
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
        JobRequest::from_protojson(req["job_request"].to_string().as_bytes()).expect("protojson");
    assert_eq!(
        countersign_core::jobhash::job_hash(&parsed),
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
async fn approve_dispatches_once_then_repeats_idempotently() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let (s, body) = h
        .approve(ALICE, &id, json!({"reason": "  invoice ok  ", "note": "n"}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["job_id"], id.as_str());
    assert!(body["trace_id"].is_string());
    assert_eq!(
        h.running
            .gateway()
            .dispatch_count(&id)
            .await
            .expect("count"),
        1
    );

    let (s, again) = h.approve(BOB, &id, json!({})).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["status"], "already_approved");
    assert_eq!(again["approved_by"], "alice");
    assert!(again["approved_at"].as_i64().expect("at") > 0);
    assert_eq!(
        h.running
            .gateway()
            .dispatch_count(&id)
            .await
            .expect("count"),
        1
    );

    let conflict = h.reject(BOB, &id, json!({"reason": "too late"})).await;
    assert_error(
        &conflict,
        409,
        Some("approval_already_resolved"),
        "job not awaiting approval",
    );

    let (s, job) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(s, 200, "{job}");
    assert_eq!(job["state"], "PENDING");
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
    assert_eq!(
        h.running
            .gateway()
            .dispatch_count(&id)
            .await
            .expect("count"),
        0
    );
    let (_, job) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["state"], "DENIED");
}

#[tokio::test]
async fn allowed_job_is_not_actionable() {
    let h = Harness::start().await;
    let (_, body) = h
        .post(
            AGENT,
            "/api/v1/jobs",
            json!({"prompt": "read", "topic": "knowledge.read"}),
        )
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
async fn snapshot_drift_that_still_allows_refreshes_and_approves() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let before = item(&h, &id).await["policy_snapshot"].clone();
    let changed = format!(
        "{POLICY}  - id: unrelated\n    when: {{ topic: other.topic }}\n    decision: deny\n"
    );
    let now = h
        .running
        .gateway()
        .publish_policy(&changed, "test")
        .await
        .expect("publish");
    assert_ne!(before, now.as_str());
    let (s, body) = h.approve(ALICE, &id, json!({})).await;
    assert_eq!(s, 200, "{body}");
    let it = item(&h, &id).await;
    assert_eq!(it["policy_snapshot"], now.as_str());
    assert_eq!(
        it["approval_revision"], 3,
        "refresh and resolution both count"
    );
    assert_eq!(
        h.running
            .gateway()
            .dispatch_count(&id)
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn snapshot_drift_that_denies_is_a_stale_snapshot_conflict() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let was = item(&h, &id).await["policy_snapshot"]
        .as_str()
        .expect("snap")
        .to_owned();
    let denying = POLICY.replace(
        "    decision: require_human\n    reason: Payments need a human.",
        "    decision: deny\n    reason: Payments are frozen.",
    );
    let now = h
        .running
        .gateway()
        .publish_policy(&denying, "test")
        .await
        .expect("publish");
    let got = h.approve(ALICE, &id, json!({})).await;
    let message = format!(
        "policy drift denies this request under current snapshot (was={was} now={now} decision=DENY)"
    );
    assert_error(&got, 409, Some("approval_stale_snapshot"), &message);
    assert_eq!(
        h.running
            .gateway()
            .dispatch_count(&id)
            .await
            .expect("count"),
        0
    );
    // Rejecting a stale item is always allowed.
    let (s, _) = h.reject(ALICE, &id, json!({})).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn overlay_only_change_keeps_the_approval_valid() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let was = item(&h, &id).await["policy_snapshot"]
        .as_str()
        .expect("snap")
        .to_owned();
    let now = h
        .running
        .gateway()
        .publish_overlay(json!({"throttle_retry_after_s": 90}), "test")
        .await
        .expect("overlay");
    assert_ne!(was, now);
    assert_eq!(was.split('|').next(), now.split('|').next());
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
    assert_eq!(gw.dispatch_count(&tampered).await.expect("count"), 0);
    let (s, body) = h.approve(ALICE, &stripped_only, json!({})).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn self_approval_and_self_rejection_are_denied() {
    let h = Harness::start().await;
    let own = h.pending_job(BOB, json!({"env": "production"})).await;
    let got = h.approve(BOB, &own, json!({})).await;
    assert_error(
        &got,
        403,
        Some("self_approval_denied"),
        "self-approval not permitted",
    );
    let got = h.reject(BOB, &own, json!({})).await;
    assert_error(
        &got,
        403,
        Some("self_approval_denied"),
        "self-rejection not permitted",
    );

    // Same principal through a different key also overlaps.
    let via_agent = h
        .pending_job(ALICE_AGENT, json!({"env": "production"}))
        .await;
    let got = h.approve(ALICE, &via_agent, json!({})).await;
    assert_error(
        &got,
        403,
        Some("self_approval_denied"),
        "self-approval not permitted",
    );
    let (s, _) = h.approve(BOB, &via_agent, json!({})).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn other_tenants_items_are_invisible() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let got = h.approve(OTHER_TENANT, &id, json!({})).await;
    assert_error(&got, 404, Some("approval_not_found"), "job not found");
    let (s, list) = h.get(OTHER_TENANT, "/api/v1/approvals").await;
    assert_eq!(s, 200);
    assert!(list["items"].as_array().expect("items").is_empty());
    for path in [
        format!("/api/v1/jobs/{id}"),
        format!("/api/v1/approvals/{id}/context"),
        format!("/api/v1/approvals/{id}/request"),
    ] {
        let (s, _) = h.get(OTHER_TENANT, &path).await;
        assert_eq!(s, 404, "{path}");
    }
    let resp = h
        .http
        .get(h.url("/api/v1/approvals"))
        .header("X-API-Key", ALICE)
        .header("X-Tenant-ID", "acme")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": "tenant access denied", "status": 403})
    );
    let resp = h
        .http
        .get(h.url("/api/v1/approvals"))
        .header("X-API-Key", ALICE)
        .header("X-Tenant-ID", "default")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn roles_without_jobs_approve_are_forbidden() {
    let h = Harness::start().await;
    let id = h.payment().await;
    for key in [VIEWER, AGENT] {
        let (s, body) = h.get(key, "/api/v1/approvals").await;
        assert_eq!((s, &body["error"]), (403, &json!("forbidden")), "{body}");
        let (s, body) = h.approve(key, &id, json!({})).await;
        assert_eq!((s, &body["error"]), (403, &json!("forbidden")), "{body}");
        assert_eq!(body["details"]["required"], "jobs.approve");
    }
    let (s, _) = h
        .post(
            VIEWER,
            "/api/v1/jobs",
            json!({"prompt": "x", "topic": "knowledge.read"}),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        h.running
            .gateway()
            .dispatch_count(&id)
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn missing_or_unknown_credentials_are_unauthorized() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let unauthorized = json!({"error": "unauthorized", "status": 401});
    let got = h
        .send(reqwest::Method::GET, None, "/api/v1/approvals", None)
        .await;
    assert_eq!(got, (401, unauthorized.clone()));
    let got = h.approve("not-a-key", &id, json!({})).await;
    assert_eq!(got, (401, unauthorized.clone()));
    let resp = h
        .http
        .get(h.url("/api/v1/approvals"))
        .bearer_auth(ALICE)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200, "API keys also work as Bearer tokens");
}

#[tokio::test]
async fn bad_json_oversized_and_unknown_jobs() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let bad = |path: String| {
        h.http
            .post(h.url(&path))
            .header("X-API-Key", ALICE)
            .header("Content-Type", "application/json")
            .body("{not json")
    };
    let resp = bad(format!("/api/v1/approvals/{id}/approve"))
        .send()
        .await
        .expect("sent");
    let got = (
        resp.status().as_u16(),
        resp.json::<Value>().await.expect("json"),
    );
    assert_error(&got, 400, Some("approval_bad_request"), "invalid body");

    let resp = h
        .http
        .post(h.url("/api/v1/jobs"))
        .header("X-API-Key", AGENT)
        .body("[1,")
        .send()
        .await
        .expect("sent");
    let got = (
        resp.status().as_u16(),
        resp.json::<Value>().await.expect("json"),
    );
    assert_error(&got, 400, None, "invalid body");

    let huge = json!({"prompt": "x".repeat(3 * 1024 * 1024), "topic": "knowledge.read"});
    let got = h.post(AGENT, "/api/v1/jobs", huge).await;
    assert_error(&got, 413, None, "request body too large");

    let got = h
        .approve(ALICE, "00000000-0000-0000-0000-000000000000", json!({}))
        .await;
    assert_error(&got, 404, Some("approval_not_found"), "job not found");
    // An empty body is accepted.
    let resp = h
        .http
        .post(h.url(&format!("/api/v1/approvals/{id}/approve")))
        .header("X-API-Key", ALICE)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
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

#[tokio::test]
async fn free_text_is_trimmed_and_truncated() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let long = format!("  {}  ", "é".repeat(400));
    let (s, _) = h
        .reject(ALICE, &id, json!({"reason": long, "note": " why "}))
        .await;
    assert_eq!(s, 200);
    let it = item(&h, &id).await;
    let resolution = it["resolution"].as_str().expect("resolution");
    assert_eq!(resolution.len(), 512);
    assert_eq!(it["resolved_comment"], "why");
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
