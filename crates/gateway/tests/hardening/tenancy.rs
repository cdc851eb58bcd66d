//! Item 1: a policy belongs to one tenant. Publishing, snapshots, re-evaluation, the audit
//! record, the event stream and policy files never cross to another tenant.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

const DENY_ALL: &str =
    "version: v1\nrules:\n  - {id: all, decision: deny, reason: set by acme admin}\n";
const EMPTY: &str = "version: v1\nrules: []\n";

async fn put_policy(h: &Harness, key: &str, yaml: &str) -> (u16, Value) {
    call(
        h.keyed(Method::PUT, key, "/api/v1/policy")
            .body(yaml.to_owned()),
    )
    .await
}

async fn item(h: &Harness, key: &str, job_id: &str) -> Value {
    let (status, body) = h
        .get(key, &format!("/api/v1/approvals/{job_id}/context"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["approval"].clone()
}

#[tokio::test]
async fn another_tenants_admin_cannot_change_this_tenants_policy() {
    let h = Harness::start().await;
    let stream = open_stream(&h, None).await;
    let ours = h.payment().await;
    let theirs = h
        .pending_job(ACME_AGENT, json!({"env": "production"}))
        .await;
    let (_, before) = h.get(ALICE, "/api/v1/policy/snapshots").await;
    let snapshot_before = item(&h, ALICE, &ours).await["policy_snapshot"].clone();

    let (status, published) = put_policy(&h, ACME_ADMIN, DENY_ALL).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["changed"], true);

    // Ours is untouched: still pending, under the same snapshot.
    let ours_now = item(&h, ALICE, &ours).await;
    assert_eq!(ours_now["approval_status"], "pending", "{ours_now}");
    assert_eq!(ours_now["state"], "APPROVAL_REQUIRED");
    assert_eq!(ours_now["policy_snapshot"], snapshot_before);
    let (_, after) = h.get(ALICE, "/api/v1/policy/snapshots").await;
    assert_eq!(after, before, "default's snapshots did not move");
    // Theirs was re-evaluated under their new policy.
    let theirs_now = item(&h, OTHER_TENANT, &theirs).await;
    assert_eq!(theirs_now["approval_status"], "invalidated", "{theirs_now}");
    let (_, acme) = h.get(OTHER_TENANT, "/api/v1/policy/snapshots").await;
    assert_eq!(acme["snapshots"][0], published["snapshot"]);

    // An empty policy in acme does not let default's agent dispatch a payment unreviewed.
    let (status, _) = put_policy(&h, ACME_ADMIN, EMPTY).await;
    assert_eq!(status, 200);
    // Still held for a human (`pending_job` asserts it).
    h.pending_job(AGENT, json!({"env": "production"})).await;
    let (status, body) = h.approve(ALICE, &ours, json!({})).await;
    assert_eq!(status, 200, "default's item stays approvable: {body}");

    // Default's chain and stream carry nothing of acme's publishes.
    let (_, audit) = h.get(ALICE, "/api/v1/audit/events?limit=1000").await;
    let foreign: Vec<&Value> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["extra"]["source"] == "api:ada")
        .collect();
    assert!(foreign.is_empty(), "{foreign:?}");
    let events = read_until(stream, "approval.resolved", 1).await;
    assert!(
        events.iter().all(|e| e.kind != "policy.snapshot"),
        "acme's snapshots reached default's stream"
    );
}

#[tokio::test]
async fn a_tenants_policy_file_governs_that_tenant_only() {
    let dir = tempfile::tempdir().expect("dir");
    let acme_file = dir.path().join("acme.yaml");
    let default_file = dir.path().join("default.yaml");
    std::fs::write(&acme_file, DENY_ALL).expect("write");
    std::fs::write(&default_file, POLICY).expect("write");
    let (a, d) = (acme_file.clone(), default_file.clone());
    let h = Harness::start_with(move |c| {
        c.tenant_policy_files.insert("acme".into(), a);
        c.policy_file = Some(d);
        c.policy_poll = Duration::from_secs(3600);
    })
    .await;
    let gw = h.running.gateway().clone();
    assert_eq!(gw.reload_policy_files().await.expect("reload"), 2);
    let got = h.submit(ACME_AGENT, json!({"prompt": "x"})).await;
    assert_error(&got, 403, None, "set by acme admin");
    assert_eq!(h.submit(AGENT, json!({"prompt": "x"})).await.0, 200);

    // The default file does not reach a tenant with a file of its own.
    let default_before = gw.current_snapshot("default");
    std::fs::write(&default_file, EMPTY).expect("write");
    gw.reload_policy_files().await.expect("reload");
    assert_ne!(gw.current_snapshot("default"), default_before);
    let got = h.submit(ACME_AGENT, json!({"prompt": "x"})).await;
    assert_error(&got, 403, None, "set by acme admin");

    // And acme's file does not reach default.
    let default_now = gw.current_snapshot("default");
    std::fs::write(&acme_file, POLICY).expect("write");
    gw.reload_policy_files().await.expect("reload");
    assert_eq!(gw.current_snapshot("default"), default_now);
    assert_eq!(h.submit(ACME_AGENT, json!({"prompt": "x"})).await.0, 200);
}

#[tokio::test]
async fn a_database_from_before_per_tenant_policies_keeps_its_policy_for_every_tenant() {
    let h = Harness::start().await;
    let before = h.running.gateway().current_snapshot("default");
    // What an older gateway left: snapshot rows without a tenant.
    let h = h
        .restart(|db| {
            db.execute_batch(
                "DELETE FROM policy_snapshots WHERE source != 'test'; \
                 UPDATE policy_snapshots SET tenant = '';",
            )
            .expect("made legacy");
        })
        .await;
    let gw = h.running.gateway();
    assert_eq!(gw.current_snapshot("default"), before);
    assert_eq!(gw.current_snapshot("acme"), before);
    // Both still hold payments for a human (`pending_job` asserts it).
    for key in [AGENT, ACME_AGENT] {
        h.pending_job(key, json!({"env": "production"})).await;
    }
}
