//! The protections the review found already holding, kept tested where no other test did:
//! self-approval through a spoofed principal, viewers submitting, deep JSON, hostile ids, a
//! YAML alias bomb, and approve racing reject.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

#[tokio::test]
async fn self_approval_is_blocked_even_when_a_body_names_another_principal() {
    let h = Harness::start().await;
    let (status, body) = h
        .submit(
            ALICE_AGENT,
            json!({"prompt": "pay", "topic": "finance.payment.execute",
                   "labels": {"env": "production"}, "principal_id": "someone-else"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["job_id"].as_str().expect("id");
    let got = h
        .approve(
            ALICE,
            id,
            json!({"principal_id": "bob", "reason": "not me"}),
        )
        .await;
    assert_error(
        &got,
        403,
        Some("self_approval_denied"),
        "self-approval not permitted",
    );
    assert_eq!(h.dispatches(id).await, 0);
}

#[tokio::test]
async fn viewers_cannot_submit() {
    let h = Harness::start().await;
    let (status, body) = h.submit(VIEWER, json!({"prompt": "x"})).await;
    assert_eq!(
        (status, &body["error"]),
        (403, &json!("forbidden")),
        "{body}"
    );
}

#[tokio::test]
async fn json_nested_200_deep_is_a_bad_body() {
    let h = Harness::start().await;
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let body = format!("{{\"prompt\": \"x\", \"context\": {deep}}}");
    let got = call(
        h.keyed(Method::POST, AGENT, "/api/v1/jobs")
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await;
    assert_error(&got, 400, None, "invalid body");
}

#[tokio::test]
async fn traversal_and_sql_looking_ids_are_not_found() {
    let h = Harness::start().await;
    h.payment().await;
    for id in [
        "..%2F..%2Fetc%2Fpasswd",
        "%27%20OR%20%271%27%3D%271",
        "1%3B%20DROP%20TABLE%20jobs",
    ] {
        let (status, _) = h.get(ALICE, &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(status, 404, "{id}");
        let (status, _) = h
            .get(ALICE, &format!("/api/v1/approvals/{id}/context"))
            .await;
        assert_eq!(status, 404, "{id}");
    }
    let (_, list) = h.get(ALICE, "/api/v1/approvals").await;
    assert_eq!(
        list["items"].as_array().expect("items").len(),
        1,
        "the table is intact"
    );
}

#[tokio::test]
async fn a_yaml_alias_bomb_is_refused() {
    let h = Harness::start().await;
    // Inside `constraints`, which takes any mapping: only the alias limit can refuse it.
    let mut bomb = String::from(
        "version: v1\nrules:\n  - id: r\n    decision: allow\n    constraints:\n      a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!(
            "      a{i}: &a{i} [{}]\n",
            vec![prev; 9].join(", ")
        ));
    }
    let (status, body) = call(h.keyed(Method::PUT, BOB, "/api/v1/policy").body(bomb)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.starts_with("invalid policy: ")));
    assert_eq!(
        h.get(ALICE, "/api/v1/approvals").await.0,
        200,
        "still serving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approve_racing_reject_has_one_winner() {
    let h = Arc::new(Harness::start().await);
    for _ in 0..10 {
        let id = h.payment().await;
        let racers: Vec<_> = (0..20)
            .map(|i| {
                let (h, id) = (Arc::clone(&h), id.clone());
                tokio::spawn(async move {
                    if i % 2 == 0 {
                        h.approve(ALICE, &id, json!({})).await
                    } else {
                        h.reject(BOB, &id, json!({})).await
                    }
                })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            let (status, body): (u16, Value) = racer.await.expect("joined");
            // A first resolution answers 200 without a `status`; repeats carry one.
            if status == 200 && body.get("status").is_none() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "job {id}");
        assert!(h.dispatches(&id).await <= 1);
    }
}
