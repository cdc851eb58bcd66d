//! Answers the reference gateway never gives: malformed or hostile bodies become typed errors
//! (never a panic), and the newest Cordum's lock-busy answer, HTTP 200 with a 409 body, is
//! retried like a 409.

use std::sync::Arc;
use std::time::Duration;

use countersign_client::{Decider, QueueWatch, Settlement, WatchConfig, WatchEvent};
use countersign_core::verify::SeenItem;
use countersign_ledger::{EntryKind, Ledger, Query};

use crate::support::scripted::Scripted;
use crate::support::{client_for, fast_http, fast_retry, ALICE};

const PENDING_CONTEXT: &str = r#"{"approval": {"job_id": "j1", "state": "APPROVAL_REQUIRED",
    "job_hash": "h1", "policy_snapshot": "s1|cfg:a", "decision": "REQUIRE_APPROVAL"}}"#;

#[tokio::test]
async fn hostile_bodies_are_typed_errors() {
    let gw = Scripted::start().await;
    let client = client_for(&gw.url(), ALICE, fast_http());
    for body in [
        r#"{"items": 5}"#,
        "not json",
        r#"{"items": [], "next_cursor": "soon"}"#,
        "[1, 2]",
    ] {
        gw.on("GET /api/v1/approvals", &[(200, body)]);
        let error = client
            .list_approvals(None, 10, false)
            .await
            .expect_err(body);
        assert_eq!(error.code(), "gateway_protocol", "{body}: {error}");
    }
    gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots": [1]}"#)],
    );
    let error = client.policy_snapshots().await.expect_err("number");
    assert_eq!(error.code(), "gateway_protocol");
    gw.on(
        "GET /api/v1/approvals/j1/context",
        &[(200, r#"{"approval": 7}"#)],
    );
    let error = client.pending_item("j1").await.expect_err("bad context");
    assert_eq!(error.code(), "gateway_protocol");
    gw.on(
        "GET /api/v1/approvals/j1/request",
        &[(200, r#"{"job_request": "x"}"#)],
    );
    let error = client.job_request("j1").await.expect_err("bad request doc");
    assert_eq!(error.code(), "gateway_protocol");
    gw.on("GET /api/v1/jobs/j1", &[(503, "<html>bad gateway</html>")]);
    let error = client.job_status("j1").await.expect_err("503");
    assert_eq!(error.code(), "gateway_unavailable");
    assert!(error.is_transient());

    // A garbage event stream is a reported failure, and the watch keeps going.
    gw.on(
        "GET /api/v1/approvals/events",
        &[(200, "event: approval.required\ndata: {not json\n\n")],
    );
    gw.on("GET /api/v1/approvals", &[(200, r#"{"items": []}"#)]);
    let dir = tempfile::tempdir().expect("dir");
    let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
    let mut watch = QueueWatch::spawn(
        client,
        ledger,
        WatchConfig {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..WatchConfig::default()
        },
    );
    let mut protocol_errors = 0;
    while protocol_errors < 2 {
        match tokio::time::timeout(Duration::from_secs(20), watch.next()).await {
            Ok(Some(WatchEvent::Disconnected { code, .. })) if code == "gateway_protocol" => {
                protocol_errors += 1;
            }
            Ok(Some(_)) => {}
            other => panic!("watch ended: {other:?}"),
        }
    }
    watch.stop().await;
}

#[tokio::test]
async fn lock_busy_with_http_200_is_retried() {
    let gw = Scripted::start().await;
    gw.on(
        "GET /api/v1/approvals/j1/context",
        &[(200, PENDING_CONTEXT)],
    );
    gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots": ["s1|cfg:b"]}"#)],
    );
    gw.on(
        "POST /api/v1/approvals/j1/approve",
        &[
            (
                200,
                r#"{"error":"approval in progress; retry","status":409,"code":"approval_retryable_lock","retryable":true}"#,
            ),
            (200, r#"{"job_id":"j1","trace_id":""}"#),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
    let decider = Decider::new(
        client_for(&gw.url(), ALICE, fast_http()),
        Arc::clone(&ledger),
        fast_retry(),
    );
    let seen = SeenItem {
        job_id: "j1".into(),
        job_hash: "h1".into(),
        policy_snapshot: "s1|cfg:a".into(),
        workflow_gate: false,
    };
    let report = decider.approve(&seen, "ok", "").await.expect("approved");
    assert_eq!(report.settlement, Settlement::Applied);
    assert_eq!(report.attempts, 2);
    // No /request here: verified by identities only, and the verdict says so.
    assert_eq!(
        report.verdict,
        Some(countersign_core::verify::Verdict::Verified {
            hash_recomputed: false
        })
    );
    let outcomes: Vec<String> = ledger
        .query(&Query {
            kinds: vec![EntryKind::DecisionOutcome],
            job_id: Some("j1".into()),
            ..Query::default()
        })
        .expect("query")
        .entries
        .into_iter()
        .rev()
        .filter_map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, ["retryable_lock", "success"]);
}

#[tokio::test]
async fn drift_a_hostile_gateway_could_cause_is_refused_without_sending() {
    let gw = Scripted::start().await;
    gw.on(
        "GET /api/v1/approvals/j1/context",
        &[(200, PENDING_CONTEXT)],
    );
    gw.on(
        "GET /api/v1/approvals/j1/request",
        &[(200, r#"{"job_id": "j1", "job_hash": "h1", "job_request": {"jobId": "other", "topic": "job.x"}}"#)],
    );
    let dir = tempfile::tempdir().expect("dir");
    let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
    let decider = Decider::new(
        client_for(&gw.url(), ALICE, fast_http()),
        Arc::clone(&ledger),
        fast_retry(),
    );
    let seen = SeenItem {
        job_id: "j1".into(),
        job_hash: "h1".into(),
        policy_snapshot: "s1|cfg:a".into(),
        workflow_gate: false,
    };
    let expect_drift = |result: countersign_client::Result<_>, code: &str| match result {
        Err(countersign_client::ClientError::Drift(verdict)) => assert_eq!(verdict.code(), code),
        other => panic!("{code} expected, got {other:?}"),
    };
    // No current snapshot at all.
    gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots": []}"#)],
    );
    expect_drift(decider.approve(&seen, "", "").await, "unverifiable");
    // The request served for j1 is another job's.
    gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots": ["s1"]}"#)],
    );
    expect_drift(
        decider.approve(&seen, "", "").await,
        "request_for_other_job",
    );
    // The reviewer saw no snapshot and the item is no workflow gate.
    let bare = SeenItem {
        policy_snapshot: String::new(),
        ..seen.clone()
    };
    expect_drift(decider.approve(&bare, "", "").await, "unverifiable");
    assert!(gw.received("POST").is_empty(), "{:?}", gw.received("POST"));
    assert!(ledger.open_intents().expect("open").is_empty());
}

#[tokio::test]
async fn a_refusal_after_a_lost_answer_asks_the_job_first() {
    let gw = Scripted::start().await;
    gw.on(
        "GET /api/v1/approvals/j1/context",
        &[(200, PENDING_CONTEXT)],
    );
    gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots": ["s1"]}"#)],
    );
    // The first answer comes from a proxy after the gateway committed; then the session ends.
    gw.on(
        "POST /api/v1/approvals/j1/approve",
        &[
            (502, "bad gateway"),
            (401, r#"{"error":"unauthorized","status":401}"#),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
    let decider = Decider::new(
        client_for(&gw.url(), ALICE, fast_http()),
        Arc::clone(&ledger),
        fast_retry(),
    );
    let seen = SeenItem {
        job_id: "j1".into(),
        job_hash: "h1".into(),
        policy_snapshot: "s1|cfg:a".into(),
        workflow_gate: false,
    };

    // The job cannot be read either: the refusal is reported, the decision stays open.
    let error = decider.approve(&seen, "", "").await.expect_err("refused");
    assert_eq!(error.code(), "unauthorized");
    let open = ledger.open_intents().expect("open");
    assert_eq!(open.len(), 1, "left for recovery");

    // Once the job can be read, it shows the first attempt landed.
    gw.on(
        "GET /api/v1/jobs/j1",
        &[(
            200,
            r#"{"id":"j1","state":"PENDING","approval_by":"alice"}"#,
        )],
    );
    let recovered = decider.recover().await.expect("recover");
    let report = recovered[0].result.as_ref().expect("landed");
    assert_eq!(
        report.settlement,
        Settlement::AlreadyApplied {
            by: "alice".into(),
            by_us: false
        }
    );
    assert!(ledger.open_intents().expect("open").is_empty());
    assert_eq!(gw.received("POST").len(), 2, "recovery sent nothing more");
}
