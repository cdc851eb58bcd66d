//! Items 2 and 3: what an agent may submit is bounded (context depth and size, labels, lists,
//! identifiers), every agent number is range-checked at submit, and arithmetic on stored
//! values cannot overflow: hostile numbers get a 400 naming the limit, never a dropped
//! connection.

use serde_json::{json, Value};

use crate::common::*;

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("leaf"), |inner, _| json!({ "k": inner }))
}

async fn submit_context(h: &Harness, context: Value) -> (u16, Value) {
    h.submit(AGENT, json!({"prompt": "x", "context": context}))
        .await
}

#[tokio::test]
async fn context_depth_and_payload_size_are_bounded() {
    let h = Harness::start().await;
    let got = submit_context(&h, nested(126)).await;
    assert_error(&got, 400, None, "context nested too deep (max 32 levels)");
    let got = submit_context(&h, nested(33)).await;
    assert_error(&got, 400, None, "context nested too deep (max 32 levels)");
    assert_eq!(submit_context(&h, nested(32)).await.0, 200);

    let got = submit_context(&h, json!({ "blob": "x".repeat(300 * 1024) })).await;
    assert_eq!(got.0, 400, "{}", got.1);
    let message = got.1["error"].as_str().expect("error");
    assert!(
        message.starts_with("payload too large") && message.contains("max 262144 bytes"),
        "{message}"
    );
    assert_eq!(
        submit_context(&h, json!({ "blob": "x".repeat(200 * 1024) }))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn labels_lists_and_identifiers_are_bounded() {
    let h = Harness::start().await;
    let cases = [
        (
            json!({"labels": {"k".repeat(257): "v"}}),
            "label key must be 1 to 256 bytes".to_owned(),
        ),
        (
            json!({"labels": {"k": "v".repeat(4097)}}),
            "label \"k\": value longer than 4096 bytes".to_owned(),
        ),
        (
            json!({"risk_tags": (0..51).map(|i| i.to_string()).collect::<Vec<_>>()}),
            "too many risk_tags (max 50)".to_owned(),
        ),
        (
            json!({"tags": ["t".repeat(1025)]}),
            "tags: an entry is longer than 1024 bytes".to_owned(),
        ),
        (
            json!({"capability": "c".repeat(1025)}),
            "capability longer than 1024 bytes".to_owned(),
        ),
    ];
    for (extra, message) in cases {
        let mut body = json!({"prompt": "x"});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        assert_error(&h.submit(AGENT, body).await, 400, None, &message);
    }
}

#[tokio::test]
async fn limits_are_configurable() {
    let h = Harness::start_with(|c| {
        c.submit_limits.max_context_depth = 4;
        c.submit_limits.max_labels = 2;
    })
    .await;
    let got = submit_context(&h, nested(5)).await;
    assert_error(&got, 400, None, "context nested too deep (max 4 levels)");
    let got = h
        .submit(
            AGENT,
            json!({"prompt": "x", "labels": {"a": "1", "b": "2", "c": "3"}}),
        )
        .await;
    assert_error(&got, 400, None, "too many labels (max 2)");
}

#[tokio::test]
async fn agent_numbers_are_range_checked() {
    let h = Harness::start().await;
    let cases = [
        (
            "deadline_ms",
            json!(i64::MAX),
            "deadline_ms out of range (0 to 2592000000)",
        ),
        (
            "deadline_ms",
            json!(-1),
            "deadline_ms out of range (0 to 2592000000)",
        ),
        (
            "max_output_tokens",
            json!(i64::MAX),
            "max_output_tokens out of range (0 to 2147483647)",
        ),
        (
            "max_total_tokens",
            json!(-5),
            "max_total_tokens out of range (0 to 2147483647)",
        ),
        (
            "max_input_tokens",
            json!(1_i64 << 40),
            "max_input_tokens out of range (0 to 2147483647)",
        ),
    ];
    for (field, value, message) in cases {
        let body = json!({"prompt": "x", "topic": "finance.payment.execute", field: value});
        assert_error(&h.submit(AGENT, body).await, 400, None, message);
    }
    // The largest accepted deadline still gives a sane time remaining.
    let (status, body) = h
        .submit(
            AGENT,
            json!({"prompt": "x", "topic": "finance.payment.execute",
                   "labels": {"env": "production"}, "deadline_ms": 2_592_000_000_i64}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["job_id"].as_str().expect("id");
    let (status, context) = h
        .get(ALICE, &format!("/api/v1/approvals/{id}/context"))
        .await;
    assert_eq!(status, 200, "{context}");
    assert!(context["time_remaining_ms"].as_i64().is_some_and(|t| t > 0));
}

#[tokio::test]
async fn extreme_stored_numbers_do_not_panic() {
    let h = Harness::start().await;
    let id = h.payment().await;
    let h = h
        .restart(|db| {
            db.execute(
                "UPDATE jobs SET deadline_unix = ?1, approval_revision = ?1 WHERE id = ?2",
                rusqlite::params![i64::MAX, id],
            )
            .expect("edited");
        })
        .await;
    let (status, context) = h
        .get(ALICE, &format!("/api/v1/approvals/{id}/context"))
        .await;
    assert_eq!(status, 200, "{context}");
    let (status, list) = h.get(ALICE, "/api/v1/approvals").await;
    assert_eq!(status, 200, "{list}");
    let (status, body) = h.approve(ALICE, &id, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, item) = h.get(ALICE, "/api/v1/approvals").await;
    assert_eq!(item["items"][0]["approval_revision"], i64::MAX);
}
