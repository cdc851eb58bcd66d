//! Malformed, oversized and unknown input, and how free text is stored.

use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::item;

#[tokio::test]
async fn bad_json_oversized_and_unknown_jobs() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let approve_path = format!("/api/v1/approvals/{id}/approve");
    let got = call(
        h.keyed(Method::POST, ALICE, &approve_path)
            .header("Content-Type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_error(&got, 400, Some("approval_bad_request"), "invalid body");

    let got = call(h.keyed(Method::POST, AGENT, "/api/v1/jobs").body("[1,")).await;
    assert_error(&got, 400, None, "invalid body");

    let huge = json!({"prompt": "x".repeat(3 * 1024 * 1024), "topic": "knowledge.read"});
    let got = h.submit(AGENT, huge).await;
    assert_error(&got, 413, None, "request body too large");

    let got = h
        .approve(ALICE, "00000000-0000-0000-0000-000000000000", json!({}))
        .await;
    assert_error(&got, 404, Some("approval_not_found"), "job not found");
    // An empty body is accepted.
    let resp = sent(h.keyed(Method::POST, ALICE, &approve_path)).await;
    assert_eq!(resp.status(), 200);
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
