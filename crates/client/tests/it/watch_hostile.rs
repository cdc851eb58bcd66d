//! The queue watch against hostile gateways: a stream of many large items is held to the
//! list bounds, a stream that drips bytes without ever ending a line is dropped, and labels
//! an agent planted never decide the outcome the watch reports.

use std::time::Duration;

use countersign_client::WatchConfig;
use countersign_client::WatchEvent;
use countersign_ledger::Ledger;
use serde_json::json;

use crate::support::scripted::{Answer, Scripted};
use crate::support::{client_for, fast_http, ALICE};
use crate::watch::{arrived, config, event, expect_event, pending, scripted_watch};

/// A hostile stream of many distinct large items is held to the list bounds: the watch holds
/// and records at most what a full list could, says so once, and goes on.
#[tokio::test]
async fn a_stream_of_many_large_items_is_bounded_like_a_list() {
    const ITEMS: usize = 60;
    const ITEM_BYTES: usize = 100_000;
    let gw = Scripted::start().await;
    gw.on("GET /api/v1/approvals", &[(200, r#"{"items": []}"#)]);
    let blob = "x".repeat(ITEM_BYTES);
    let stream: String = (0..ITEMS)
        .map(|i| {
            let mut item = pending(&format!("big-{i}"), i as i64 + 1);
            item["job_input"] = json!({ "blob": blob });
            event("approval.required", Some(&i.to_string()), &item.to_string())
        })
        .collect();
    gw.on("GET /api/v1/approvals/events", &[(200, stream.as_str())]);
    // One round: no full list comes between the stream's items (each list round holds and
    // records at most one list's worth, stream or not).
    let bounds = WatchConfig {
        max_list_bytes: 1_000_000,
        poll_interval: Duration::from_secs(600),
        ..config(true)
    };
    let (mut watch, dir) = scripted_watch(&gw.url(), bounds);
    expect_event(
        &mut watch,
        "a refusal of the excess",
        |event| matches!(event, WatchEvent::Skipped { code, .. } if code == "stream_over_bounds"),
    )
    .await;
    // Let the rest of the stream (and its repeats) arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The full list the excess triggers (empty here) may already have replaced the view: only
    // the bound is certain, whatever the timing.
    let held = watch.pending().len();
    assert!(held <= 10, "{held} items held");
    watch.stop().await;
    // Unbounded, the ledger would record all 60 sightings of 100 KB each.
    let entries = Ledger::open(dir.path().join("l"))
        .expect("ledger reopens")
        .entry_count()
        .expect("count");
    assert!(entries <= 10, "{entries} ledger entries");
}

/// Headers at once, then a byte every 100 ms that never completes a line: every read is
/// prompt, so only counting complete lines sees that the stream is dead. The watch drops it
/// after the stream idle timeout and says why.
#[tokio::test]
async fn a_stream_that_drips_without_ending_a_line_is_dropped() {
    let gw = Scripted::start().await;
    gw.on("GET /api/v1/approvals", &[(200, r#"{"items": []}"#)]);
    gw.answer(
        "GET /api/v1/approvals/events",
        vec![Answer::Drip {
            content_type: "text/event-stream",
            prefix: ": hello\n".into(),
            every: Duration::from_millis(100),
        }],
    );
    let dir = tempfile::tempdir().expect("dir");
    let ledger = std::sync::Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
    let http = countersign_client::HttpConfig {
        stream_idle_timeout: Duration::from_secs(1),
        ..fast_http()
    };
    let mut watch = countersign_client::QueueWatch::spawn(
        client_for(&gw.url(), ALICE, http),
        ledger,
        config(true),
    );
    expect_event(&mut watch, "the dripping stream dropped", |event| {
        matches!(event, WatchEvent::Disconnected { message, .. } if message.contains("no complete line"))
    })
    .await;
    watch.stop().await;
}

/// Labels are the agent's: `approval_granted: "true"` and `gate_type` on a job that was then
/// rejected must not make the watch report it approved; the job record decides.
#[tokio::test]
async fn planted_labels_do_not_steer_the_outcome_the_watch_reports() {
    let gw = Scripted::start().await;
    let mut planted = pending("p", 1);
    planted["gate_type"] = json!("workflow_approval");
    planted["job"]["labels"] =
        json!({"approval_granted": "true", "gate_type": "workflow_approval"});
    let first = json!({"items": [planted], "next_cursor": null}).to_string();
    gw.on(
        "GET /api/v1/approvals",
        &[
            (200, first.as_str()),
            (200, r#"{"items": [], "next_cursor": null}"#),
        ],
    );
    gw.on(
        "GET /api/v1/jobs/p",
        &[(
            200,
            r#"{"id": "p", "state": "DENIED", "approval_by": "bob", "rejected_by": "bob",
                "labels": {"approval_granted": "true", "gate_type": "workflow_approval"}}"#,
        )],
    );
    let (mut watch, _dir) = scripted_watch(&gw.url(), config(false));
    expect_event(&mut watch, "arrival of p", arrived("p")).await;
    let resolved = loop {
        match tokio::time::timeout(Duration::from_secs(30), watch.next()).await {
            Ok(Some(WatchEvent::Resolved { job_id, by, status })) if job_id == "p" => {
                break (by, status)
            }
            Ok(Some(_)) => {}
            other => panic!("no resolution of p: {other:?}"),
        }
    };
    assert_eq!(resolved, (Some("bob".into()), Some("rejected".into())));
    watch.stop().await;
}
