//! Who may decide: credentials, roles, tenants, and the four-eyes rule.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

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
    let claiming = |tenant: &str| {
        h.keyed(Method::GET, ALICE, "/api/v1/approvals")
            .header("X-Tenant-ID", tenant)
    };
    let resp = sent(claiming("acme")).await;
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": "tenant access denied", "status": 403})
    );
    let resp = sent(claiming("default")).await;
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
        .submit(VIEWER, json!({"prompt": "x", "topic": "knowledge.read"}))
        .await;
    assert_eq!(s, 403);
    assert_eq!(h.dispatches(&id).await, 0);
}

#[tokio::test]
async fn missing_or_unknown_credentials_are_unauthorized() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let unauthorized = json!({"error": "unauthorized", "status": 401});
    let got = h.send(Method::GET, None, "/api/v1/approvals", None).await;
    assert_eq!(got, (401, unauthorized.clone()));
    let got = h.approve("not-a-key", &id, json!({})).await;
    assert_eq!(got, (401, unauthorized.clone()));
    let resp = sent(h.bearer(Method::GET, ALICE, "/api/v1/approvals")).await;
    assert_eq!(resp.status(), 200, "API keys also work as Bearer tokens");
}
