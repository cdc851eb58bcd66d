//! Publish-time re-evaluation (seed runbook step 5): a new policy base re-evaluates every
//! pending item of every tenant at once, so no item keeps claiming a snapshot that is no
//! longer current; start-up does the same for whatever a crash or an older gateway left.

use serde_json::{json, Value};

use crate::common::*;
use crate::item;

/// `POLICY` with one more rule in front: production payments of the red team are denied.
fn red_team_frozen() -> String {
    let rules = POLICY
        .strip_prefix("version: v1\nrules:\n")
        .expect("POLICY starts with its header");
    format!(
        "version: v1\nrules:\n  - id: freeze-red-team\n    when: {{ topic: finance.payment.execute, team: red }}\n    decision: deny\n    reason: Red team payments are frozen.\n{rules}"
    )
}

fn snapshot_of(it: &Value) -> String {
    it["policy_snapshot"].as_str().expect("snapshot").to_owned()
}

/// The audit actions recorded for `job_id`, oldest first.
async fn audit_actions(h: &Harness, job_id: &str) -> Vec<String> {
    let (s, body) = h.get(VIEWER, "/api/v1/audit/events?limit=1000").await;
    assert_eq!(s, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["job_id"] == job_id)
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect()
}

/// Ids of the items `key`'s reviewer can still decide.
async fn queue(h: &Harness, key: &str) -> Vec<String> {
    let (s, body) = h.get(key, "/api/v1/approvals?include_resolved=false").await;
    assert_eq!(s, 200, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["job"]["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn audit_is_intact(h: &Harness) {
    let (_, verify) = h.get(VIEWER, "/api/v1/audit/verify").await;
    assert_eq!(verify["status"], "ok", "{verify}");
}

#[tokio::test]
async fn publish_that_still_needs_a_human_refreshes_the_item() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let other = h.payment().await;
    let before = item(&h, &id).await;
    let stream = open_stream(&h, None).await;
    let changed = format!(
        "{POLICY}  - id: unrelated\n    when: {{ topic: other.topic }}\n    decision: deny\n"
    );
    let now = h.publish(&changed).await;

    let events = read_until(stream, "approval.updated", 2).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["policy.snapshot", "approval.updated", "approval.updated"]
    );
    let updated = &events[1].data;
    assert_eq!(updated["job"]["id"], id.as_str(), "oldest item first");
    assert_eq!(updated["policy_snapshot"], now.as_str());
    assert_eq!(updated["approval_revision"], 2);

    let it = item(&h, &id).await;
    let (_, snaps) = h.get(VIEWER, "/api/v1/policy/snapshots").await;
    assert_eq!(it["policy_snapshot"], snaps["snapshots"][0]);
    assert_eq!(it["policy_snapshot"], now.as_str());
    assert_eq!(it["approval_revision"], 2);
    assert_eq!(
        it["job_hash"], before["job_hash"],
        "the request did not change"
    );
    assert_eq!(it["decision"], "REQUIRE_APPROVAL");
    assert_eq!(it["policy_rule_id"], "require-approval-prod-finance");
    assert_eq!(it["approval_status"], "pending");
    assert_eq!(updated, &it, "the event carries the listed item");
    assert_eq!(
        audit_actions(&h, &id).await,
        ["submit", "approval_reevaluated"]
    );

    // What the reviewer saw before the publish no longer matches; the fresh item does.
    let stale = h
        .approve(
            ALICE,
            &other,
            json!({"expected_policy_snapshot": snapshot_of(&before)}),
        )
        .await;
    assert_eq!(stale.0, 409, "{}", stale.1);
    assert_eq!(stale.1["code"], "approval_stale_snapshot");
    let (s, body) = h
        .approve(
            ALICE,
            &id,
            json!({"expected_policy_snapshot": now, "expected_job_hash": it["job_hash"]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(item(&h, &id).await["approval_revision"], 3);
    assert_eq!(h.dispatches(&id).await, 1);
    audit_is_intact(&h).await;
}

#[tokio::test]
async fn publish_that_allows_keeps_the_job_held_and_says_so() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let relaxed = POLICY.replace(
        "    decision: require_human\n    reason: Payments need a human.",
        "    decision: allow",
    );
    let now = h.publish(&relaxed).await;
    let it = item(&h, &id).await;
    assert_eq!(it["approval_status"], "pending", "still held for a human");
    assert_eq!(it["approval_required"], true);
    assert_eq!(it["policy_snapshot"], now.as_str());
    assert_eq!(it["decision"], "ALLOW");
    assert_eq!(it["policy_rule_id"], "require-approval-prod-finance");
    assert_eq!(
        it["policy_reason"],
        "current policy allows this request; it stays held for the human decision it was submitted for"
    );
    assert_eq!(h.dispatches(&id).await, 0, "nothing runs unsigned");
    let (s, body) = h.approve(ALICE, &id, json!({})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(h.dispatches(&id).await, 1);
}

#[tokio::test]
async fn publish_that_denies_invalidates_items_of_every_tenant() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let foreign = h
        .pending_job(ACME_AGENT, json!({"env": "production"}))
        .await;
    let was = snapshot_of(&item(&h, &id).await);
    let stream = open_stream(&h, None).await;
    let denying = POLICY.replace(
        "    decision: require_human\n    reason: Payments need a human.",
        "    decision: deny\n    reason: Payments are frozen.",
    );
    let now = h.publish(&denying).await;

    let events = read_until(stream, "approval.resolved", 1).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["policy.snapshot", "approval.resolved"],
        "own tenant only"
    );
    let resolved = &events[1].data;
    let message = format!(
        "policy drift denies this request under current snapshot (was={was} now={now} decision=DENY)"
    );
    assert_eq!(resolved["job_id"], id.as_str());
    assert_eq!(resolved["status"], "invalidated");
    assert_eq!(resolved["resolved_by"], "policy");
    assert_eq!(
        resolved["approval_revision"], 3,
        "re-evaluation and resolution"
    );
    assert_eq!(resolved["item"]["resolution"], message.as_str());

    assert!(queue(&h, ALICE).await.is_empty(), "gone from the queue");
    let it = item(&h, &id).await;
    assert_eq!(it["approval_status"], "invalidated");
    assert_eq!(it["approval_actionability"], "invalidated");
    assert_eq!(it["approval_decision"], "invalidate");
    assert_eq!(it["decision"], "DENY");
    assert_eq!(it["policy_reason"], "Payments are frozen.");
    assert_eq!(it["policy_snapshot"], now.as_str());
    let (_, job) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["state"], "DENIED");

    for got in [
        h.approve(ALICE, &id, json!({})).await,
        h.reject(ALICE, &id, json!({})).await,
    ] {
        assert_error(
            &got,
            409,
            Some("approval_not_actionable"),
            "approval invalidated",
        );
    }
    assert_eq!(h.dispatches(&id).await, 0);
    assert!(
        queue(&h, OTHER_TENANT).await.is_empty(),
        "the other tenant's item too"
    );
    let (_, job) = h
        .get(OTHER_TENANT, &format!("/api/v1/jobs/{foreign}"))
        .await;
    assert_eq!(job["state"], "DENIED");
    assert_eq!(
        audit_actions(&h, &id).await,
        ["submit", "approval_invalidated"]
    );
    audit_is_intact(&h).await;
}

#[tokio::test]
async fn start_up_reevaluates_what_a_crash_left_stale() {
    let h = Harness::start().await;
    let red = h
        .pending_job(AGENT, json!({"env": "production", "team": "red"}))
        .await;
    let blue = h
        .pending_job(AGENT, json!({"env": "production", "team": "blue"}))
        .await;
    let was = snapshot_of(&item(&h, &blue).await);
    let frozen = red_team_frozen();
    let policy = countersign_gateway::policy::Policy::from_yaml(&frozen).expect("parses");
    let overlay = json!({ "throttle_retry_after_s": 30 });
    let now = countersign_gateway::policy::snapshot_id(&policy, &overlay);

    // The state a publish without re-evaluation leaves behind: a new current snapshot, and
    // pending items still claiming the old one.
    let h = h
        .restart(|db| {
            db.execute(
                "INSERT INTO policy_snapshots (tenant, snapshot_id, yaml, overlay, source, created_at) \
                 VALUES ('default', ?1, ?2, ?3, 'crashed', 0)",
                [&now, &frozen, &overlay.to_string()],
            )
            .expect("snapshot written");
        })
        .await;

    let (_, snaps) = h.get(VIEWER, "/api/v1/policy/snapshots").await;
    assert_eq!(snaps["snapshots"][0], now.as_str());
    let it = item(&h, &blue).await;
    assert_eq!(it["policy_snapshot"], now.as_str());
    assert_eq!(it["approval_revision"], 2);
    assert_eq!(queue(&h, ALICE).await, [blue.as_str()]);
    assert_eq!(item(&h, &red).await["approval_status"], "invalidated");
    let (_, job) = h.get(ALICE, &format!("/api/v1/jobs/{red}")).await;
    assert_eq!(job["state"], "DENIED");
    assert_error(
        &h.approve(ALICE, &red, json!({})).await,
        409,
        Some("approval_not_actionable"),
        "approval invalidated",
    );
    assert_ne!(was, now);
    let (s, body) = h
        .approve(ALICE, &blue, json!({"expected_policy_snapshot": now}))
        .await;
    assert_eq!(s, 200, "{body}");
    audit_is_intact(&h).await;
}
