//! Governance approvals (seed 004) over HTTP: every precondition's code, roles and tenants,
//! idempotent repeats, a race of approvers, the impact against what the publish does, the event
//! stream, and `policy_publish: approval_required`.

mod common;

use std::sync::Arc;

use common::*;
use countersign_gateway::config::PolicyPublish;
use reqwest::Method;
use serde_json::{json, Value};

/// The payments rule with another reason: pending payments are re-evaluated, not invalidated.
fn reworded() -> String {
    POLICY.replace("Payments need a human.", "Reworded. Payments need a human.")
}

async fn propose(h: &Harness, yaml: &str) -> Value {
    let (status, draft) = h
        .post(
            BOB,
            "/api/v1/policy/drafts",
            json!({"title": "Change", "yaml": yaml}),
        )
        .await;
    assert_eq!(status, 201, "{draft}");
    draft
}

fn approve_body(draft: &Value) -> Value {
    json!({
        "expected_snapshot_id": draft["active_snapshot"]["snapshot_id"],
        "expected_source_snapshot_hash": draft["active_snapshot"]["source_snapshot_hash"],
        "channel": "api",
    })
}

fn path(draft: &Value, tail: &str) -> String {
    format!(
        "/api/v1/policy/drafts/{}{tail}",
        draft["draft_id"].as_str().expect("id")
    )
}

#[tokio::test]
async fn every_precondition_fails_closed_with_its_code() {
    let h = Harness::start().await;
    let draft = propose(&h, &reworded()).await;
    let body = approve_body(&draft);

    let (status, e) = h
        .post(
            ALICE,
            "/api/v1/policy/drafts/drf-nope/approve",
            body.clone(),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (404, Some("draft_not_found")));
    let (status, e) = h.get(OTHER_TENANT, &path(&draft, "")).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("draft_not_found")),
        "another tenant's"
    );

    let mut wrong_hash = body.clone();
    wrong_hash["expected_source_snapshot_hash"] = json!("00");
    let (status, e) = h.post(ALICE, &path(&draft, "/approve"), wrong_hash).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("source_hash_mismatch"))
    );
    let (status, e) = h.post(BOB, &path(&draft, "/approve"), body.clone()).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("self_approval_denied"))
    );
    let (status, e) = h
        .post(
            BOB,
            &path(&draft, "/reject"),
            json!({"expected_snapshot_id": body["expected_snapshot_id"], "reason": "mine"}),
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("self_approval_denied"))
    );
    let (status, e) = h
        .post(VIEWER, &path(&draft, "/approve"), body.clone())
        .await;
    assert_eq!(status, 403, "{e}");
    assert_eq!(
        h.get(VIEWER, &path(&draft, "")).await.0,
        200,
        "viewers read"
    );
    assert_eq!(h.get(AGENT, "/api/v1/policy/drafts").await.0, 403);
    let (status, _) = h
        .post(
            ALICE,
            "/api/v1/policy/drafts",
            json!({"title": "x", "yaml": POLICY}),
        )
        .await;
    assert_eq!(status, 403, "operators do not propose");

    // The draft moves underneath the approver.
    let (status, moved) = h
        .send(
            Method::PUT,
            Some(BOB),
            &path(&draft, ""),
            Some(json!({"yaml": reworded() + "\n"})),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["active_snapshot"]["version"], 2);
    let (status, e) = h.post(ALICE, &path(&draft, "/approve"), body).await;
    assert_eq!((status, e["code"].as_str()), (409, Some("stale_lineage")));
    assert_eq!(
        e["draft"]["active_snapshot"]["version"], 2,
        "the refusal shows the draft now"
    );

    // A publish meanwhile.
    h.publish(&POLICY.replace("Payments", "All payments")).await;
    let (status, e) = h
        .post(ALICE, &path(&draft, "/approve"), approve_body(&moved))
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("stale_base")),
        "{e}"
    );

    // Blockers.
    let blocked = propose(
        &h,
        "version: v1\nrules:\n  - { id: open, decision: allow }\n",
    )
    .await;
    assert_eq!(
        blocked["active_snapshot"]["blocker_ids"],
        json!(["rule_allows_everything:open"])
    );
    let (status, e) = h
        .post(ALICE, &path(&blocked, "/approve"), approve_body(&blocked))
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("not_ready_for_approval"))
    );
    let (status, e) = h
        .get(ALICE, &path(&propose(&h, "rules: [").await, "/diff"))
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("not_ready_for_approval"))
    );

    // A rejected draft is closed; bad bodies are 400s with the code.
    let reject = json!({"expected_snapshot_id": blocked["active_snapshot"]["snapshot_id"], "reason": "allows everything"});
    let (status, r) = h
        .post(ALICE, &path(&blocked, "/reject"), reject.clone())
        .await;
    assert_eq!((status, r["code"].as_str()), (200, Some("rejected")), "{r}");
    let (status, r) = h.post(ALICE, &path(&blocked, "/reject"), reject).await;
    assert_eq!(
        (status, r["code"].as_str()),
        (200, Some("already_rejected"))
    );
    let (status, e) = h
        .post(ALICE, &path(&blocked, "/approve"), approve_body(&blocked))
        .await;
    assert_eq!((status, e["code"].as_str()), (409, Some("draft_closed")));
    for bad in [
        json!({}),
        json!({"title": "", "yaml": POLICY}),
        json!({"title": "t".repeat(201), "yaml": POLICY}),
        json!({"title": "t", "yaml": "x".repeat(300 * 1024)}),
    ] {
        let (status, e) = h.post(BOB, "/api/v1/policy/drafts", bad).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (400, Some("governance_bad_request")),
            "{e}"
        );
    }
    let (status, e) = h
        .post(
            ALICE,
            &path(&moved, "/reject"),
            json!({"expected_snapshot_id": "x", "reason": " "}),
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("governance_bad_request"))
    );
}

#[tokio::test]
async fn an_approval_publishes_once_re_evaluates_as_the_impact_said_and_is_announced() {
    let h = Harness::start().await;
    let job = h.payment().await;
    let before = pending_item(&h, &job).await;
    let stream = h
        .keyed(Method::GET, ALICE, "/api/v1/approvals/events")
        .send()
        .await
        .expect("stream");
    let draft = propose(&h, &reworded()).await;
    let (_, impact) = h.get(ALICE, &path(&draft, "/impact")).await;
    assert_eq!(
        (impact["pending"].as_u64(), impact["reevaluated"].as_u64()),
        (Some(1), Some(1)),
        "{impact}"
    );
    let (_, diff) = h.get(ALICE, &path(&draft, "/diff")).await;
    assert_eq!(diff["changed"][0]["fields"], json!(["reason"]), "{diff}");

    let (status, first) = h
        .post(ALICE, &path(&draft, "/approve"), approve_body(&draft))
        .await;
    assert_eq!(
        (status, first["code"].as_str()),
        (200, Some("approved")),
        "{first}"
    );
    let published = first["approval"]["published_snapshot"]
        .as_str()
        .expect("published")
        .to_owned();
    let (_, snapshots) = h.get(ALICE, "/api/v1/policy/snapshots").await;
    assert_eq!(snapshots["snapshots"][0], published.as_str());
    let after = pending_item(&h, &job).await;
    assert_ne!(after["policy_snapshot"], before["policy_snapshot"]);
    assert!(
        after["policy_reason"]
            .as_str()
            .expect("reason")
            .starts_with("Reworded."),
        "{after}"
    );
    assert_eq!(
        after["policy_reason"], impact["items"][0]["after"]["reason"],
        "the impact was what happened"
    );

    let (status, again) = h
        .post(ALICE, &path(&draft, "/approve"), approve_body(&draft))
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (200, Some("already_approved"))
    );
    assert_eq!(
        again["approval"]["approval_id"],
        first["approval"]["approval_id"]
    );

    let events = read_until(stream, "governance.resolved", 1).await;
    assert!(events.iter().any(|e| e.kind == "governance.required"));
    assert!(events.iter().any(|e| e.kind == "policy.snapshot"));
    let resolved = events
        .iter()
        .find(|e| e.kind == "governance.resolved")
        .expect("resolved");
    assert_eq!(resolved.data["approval"]["actor"], "alice");
    let (_, audit) = h.get(BOB, "/api/v1/audit/events?limit=1000").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "governance_approved")
            .count(),
        1
    );
    assert!(actions.contains(&"governance_draft_saved"));
    let (_, verify) = h.get(BOB, "/api/v1/audit/verify").await;
    assert_eq!(verify["status"], "ok", "{verify}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_approvers_racing_on_one_snapshot_make_one_approval() {
    let h = Arc::new(Harness::start().await);
    let mut published = std::collections::BTreeSet::new();
    for round in 0..10 {
        let yaml = POLICY.replace("Payments need", &format!("Round {round}, payments need"));
        let draft = propose(&h, &yaml).await;
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let (h, p, b) = (
                    Arc::clone(&h),
                    path(&draft, "/approve"),
                    approve_body(&draft),
                );
                tokio::spawn(async move { h.post(ALICE, &p, b).await })
            })
            .collect();
        let mut ids = Vec::new();
        let mut fresh = 0;
        for racer in racers {
            let (status, answer) = racer.await.expect("racer");
            assert_eq!(status, 200, "{answer}");
            fresh += usize::from(answer["code"] == "approved");
            ids.push(answer["approval"]["approval_id"].clone());
            published.insert(answer["approval"]["published_snapshot"].to_string());
        }
        assert_eq!(fresh, 1, "round {round}: one approval");
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "the losers read the winner's: {ids:?}"
        );
    }
    assert_eq!(published.len(), 10, "one publish per round: {published:?}");
    let (_, snapshots) = h.get(ALICE, "/api/v1/policy/snapshots").await;
    let listed: Vec<String> = snapshots["snapshots"]
        .as_array()
        .expect("list")
        .iter()
        .map(Value::to_string)
        .collect();
    assert!(published.iter().all(|p| listed.contains(p)), "{listed:?}");
}

#[tokio::test]
async fn with_approval_required_a_direct_publish_is_refused_and_drafts_still_work() {
    let h = Harness::start_with(|c| c.policy_publish = PolicyPublish::ApprovalRequired).await;
    let (status, e) = h
        .send(
            Method::PUT,
            Some(BOB),
            "/api/v1/policy",
            Some(Value::String(reworded())),
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("policy_publish_requires_approval")),
        "{e}"
    );
    let draft = propose(&h, &reworded()).await;
    let (status, answer) = h
        .post(ALICE, &path(&draft, "/approve"), approve_body(&draft))
        .await;
    assert_eq!((status, answer["code"].as_str()), (200, Some("approved")));
}
