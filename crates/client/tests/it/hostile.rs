//! Answers the reference gateway never gives: malformed or hostile bodies become typed errors
//! (never a panic), and the newest Cordum's lock-busy answer, HTTP 200 with a 409 body, is
//! retried like a 409.

use std::sync::Arc;
use std::time::Duration;

use countersign_client::{ClientError, Decider, QueueWatch, Settlement, WatchConfig, WatchEvent};
use countersign_core::outcome::DecisionAction;
use countersign_core::verify::SeenItem;
use countersign_ledger::{new_decision_id, DecisionIntent, EntryKind, Ledger, Query};

use crate::support::scripted::{seen_j1 as seen, Scripted};
use crate::support::{client_for, fast_http, fast_retry, ALICE};

const PENDING_CONTEXT: &str = r#"{"approval": {"job_id": "j1", "state": "APPROVAL_REQUIRED",
    "job_hash": "h1", "policy_snapshot": "s1|cfg:a", "decision": "REQUIRE_APPROVAL"}}"#;
const APPROVE: &str = "POST /api/v1/approvals/j1/approve";
const JOB: &str = "GET /api/v1/jobs/j1";
const JOB_PENDING: &str = r#"{"id":"j1","state":"APPROVAL_REQUIRED"}"#;
const JOB_APPROVED: &str = r#"{"id":"j1","state":"PENDING","approval_by":"alice",
    "approval_job_hash":"h1","approval_policy_snapshot":"s1|cfg:a",
    "labels":{"approval_granted":"true"}}"#;

/// A scripted gateway holding j1 pending (as the reviewer saw it), a ledger and a decider.
struct Scene {
    gw: Scripted,
    ledger: Arc<Ledger>,
    decider: Decider,
    _dir: tempfile::TempDir,
}

impl Scene {
    async fn new() -> Self {
        let gw = Scripted::start().await;
        gw.on(
            "GET /api/v1/approvals/j1/context",
            &[(200, PENDING_CONTEXT)],
        );
        gw.on(
            "GET /api/v1/policy/snapshots",
            &[(200, r#"{"snapshots": ["s1|cfg:b"]}"#)],
        );
        gw.on(JOB, &[(200, JOB_PENDING)]);
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
        let decider = Decider::new(
            client_for(&gw.url(), ALICE, fast_http()),
            Arc::clone(&ledger),
            fast_retry(),
        );
        Self {
            gw,
            ledger,
            decider,
            _dir: dir,
        }
    }

    fn open(&self) -> usize {
        self.ledger.open_intents().expect("open").len()
    }

    fn posts(&self) -> usize {
        self.gw.received("POST").len()
    }

    /// The outcome codes recorded for j1, oldest first.
    fn outcomes(&self) -> Vec<String> {
        self.ledger
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
            .collect()
    }
}

fn assert_unknown(result: countersign_client::Result<countersign_client::DecisionReport>) {
    match result {
        Err(ClientError::OutcomeUnknown { .. }) => {}
        other => panic!("outcome_unknown expected, got {other:?}"),
    }
}

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

    // A garbage event is reported and skipped (see watch.rs), and the watch keeps going.
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
            Ok(Some(WatchEvent::Skipped { code, .. })) if code == "gateway_protocol" => {
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
    let s = Scene::new().await;
    s.gw.on(
        APPROVE,
        &[
            (
                200,
                r#"{"error":"approval in progress; retry","status":409,"code":"approval_retryable_lock","retryable":true}"#,
            ),
            (200, r#"{"job_id":"j1","trace_id":""}"#),
        ],
    );
    let report = s
        .decider
        .approve(&seen(), "ok", "")
        .await
        .expect("approved");
    assert_eq!(report.settlement, Settlement::Applied);
    assert_eq!(report.attempts, 2);
    assert_eq!(
        report.mismatch, None,
        "no job record to compare: nothing claimed"
    );
    // No /request here: verified by identities only, and the verdict says so.
    assert_eq!(
        report.verdict,
        Some(countersign_core::verify::Verdict::IdentityChecked {
            hash_recomputed: false
        })
    );
    assert_eq!(s.outcomes(), ["retryable_lock", "success"]);
}

#[tokio::test]
async fn drift_a_hostile_gateway_could_cause_is_refused_without_sending() {
    let s = Scene::new().await;
    s.gw.on(
        "GET /api/v1/approvals/j1/request",
        &[(200, r#"{"job_id": "j1", "job_hash": "h1", "job_request": {"jobId": "other", "topic": "job.x"}}"#)],
    );
    let expect_drift = |result: countersign_client::Result<_>, code: &str| match result {
        Err(ClientError::Drift(verdict)) => assert_eq!(verdict.code(), code),
        other => panic!("{code} expected, got {other:?}"),
    };
    // No current snapshot at all.
    s.gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots": []}"#)],
    );
    expect_drift(s.decider.approve(&seen(), "", "").await, "unverifiable");
    // The request served for j1 is another job's.
    s.gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots": ["s1"]}"#)],
    );
    expect_drift(
        s.decider.approve(&seen(), "", "").await,
        "request_for_other_job",
    );
    // The reviewer saw no snapshot and the item is no workflow gate.
    let bare = SeenItem {
        policy_snapshot: String::new(),
        ..seen()
    };
    expect_drift(s.decider.approve(&bare, "", "").await, "unverifiable");
    assert_eq!(s.posts(), 0, "{:?}", s.gw.received("POST"));
    assert_eq!(s.open(), 0);
}

#[tokio::test]
async fn a_refusal_after_a_lost_answer_asks_the_job_first() {
    let s = Scene::new().await;
    // The first answer comes from a proxy after the gateway committed; then the session ends.
    s.gw.on(
        APPROVE,
        &[
            (502, "bad gateway"),
            (401, r#"{"error":"unauthorized","status":401}"#),
        ],
    );
    // The job cannot be read either once the card content was fetched for the send and the
    // re-send (no such route): the refusal may follow an approval that landed, so nothing
    // final is reported and the decision stays open.
    s.gw.on(
        JOB,
        &[
            (200, JOB_PENDING),
            (200, JOB_PENDING),
            (404, "404 page not found\n"),
        ],
    );
    let error = s.decider.approve(&seen(), "", "").await.expect_err("open");
    let ClientError::OutcomeUnknown { last_error, .. } = &error else {
        panic!("outcome_unknown expected, got {error:?}");
    };
    assert!(last_error.contains("cannot show job"), "{last_error}");
    assert_eq!(s.open(), 1, "left for recovery");

    // Once the job can be read, it shows the first attempt landed.
    s.gw.on(
        JOB,
        &[(
            200,
            r#"{"id":"j1","state":"PENDING","approval_by":"alice"}"#,
        )],
    );
    let recovered = s.decider.recover().await.expect("recover");
    let report = recovered[0].result.as_ref().expect("landed");
    assert_eq!(
        report.settlement,
        Settlement::AlreadyApplied {
            by: "alice".into(),
            by_us: None,
            earlier_attempt: true
        }
    );
    assert_eq!(s.open(), 0);
    assert_eq!(s.posts(), 2, "recovery sent nothing more");
}

#[tokio::test]
async fn unrecognised_success_answers_are_reconciled_never_refused() {
    for (status, body) in [
        (204, ""),
        (200, ""),
        (200, r#"{"job_id":"j1","status":"approved"}"#),
    ] {
        let s = Scene::new().await;
        s.gw.on(APPROVE, &[(status, body)]);
        s.gw.on(JOB, &[(200, JOB_APPROVED)]);
        let report = s.decider.approve(&seen(), "ok", "").await.expect(body);
        assert_eq!(
            report.settlement,
            Settlement::AlreadyApplied {
                by: "alice".into(),
                by_us: None,
                earlier_attempt: true
            },
            "{status} {body:?}"
        );
        assert_eq!(
            s.outcomes(),
            ["unexpected", "reconciled"],
            "{status} {body:?}"
        );
        assert_eq!((s.open(), s.posts()), (0, 1), "{status} {body:?}");
    }
}

#[tokio::test]
async fn an_unreadable_job_record_keeps_the_decision_open() {
    let s = Scene::new().await;
    s.gw.on(APPROVE, &[(409, "job not awaiting approval\n")]);
    // No state: the record settles nothing.
    s.gw.on(JOB, &[(200, r#"{"id":"j1","approval_by":""}"#)]);
    assert_unknown(s.decider.approve(&seen(), "ok", "").await);
    assert_eq!(s.open(), 1);
    // A 404 from a route the gateway lacks is not "the job is gone".
    s.gw.on(JOB, &[(404, "404 page not found\n")]);
    let recovered = s.decider.recover().await.expect("recover");
    assert_unknown(recovered.into_iter().next().expect("one").result);
    assert_eq!(s.open(), 1);
    // A 404 about the job is.
    s.gw.on(JOB, &[(404, r#"{"error":"job not found","status":404}"#)]);
    let recovered = s.decider.recover().await.expect("recover");
    let error = recovered
        .into_iter()
        .next()
        .expect("one")
        .result
        .expect_err("gone");
    assert_eq!(error.code(), "not_found");
    assert_eq!(s.open(), 0);
    assert_eq!(s.posts(), 1, "an open row is read, not re-sent blindly");
}

#[tokio::test]
async fn an_approval_of_another_request_is_a_conflict() {
    let s = Scene::new().await;
    s.gw.on(
        APPROVE,
        &[(
            200,
            r#"{"job_id":"j1","status":"already_approved","approved_by":"bob"}"#,
        )],
    );
    s.gw.on(
        JOB,
        &[(
            200,
            r#"{"id":"j1","state":"PENDING","approval_by":"bob","approval_job_hash":"h2"}"#,
        )],
    );
    let error = s
        .decider
        .approve(&seen(), "ok", "")
        .await
        .expect_err("conflict");
    assert_eq!(error.code(), "conflict", "{error}");
    assert!(error.to_string().contains("another request"), "{error}");
    assert_eq!(s.open(), 0);

    // A state alone, without approval evidence, is not our approval in effect either.
    let s = Scene::new().await;
    s.gw.on(APPROVE, &[(409, "job not awaiting approval\n")]);
    s.gw.on(JOB, &[(200, r#"{"id":"j1","state":"SUCCEEDED"}"#)]);
    assert_unknown(s.decider.approve(&seen(), "ok", "").await);
    assert_eq!(s.open(), 1);
}

#[tokio::test]
async fn an_applied_approval_bound_to_something_else_is_recorded_loudly() {
    let s = Scene::new().await;
    s.gw.on(APPROVE, &[(200, r#"{"job_id":"j1","trace_id":"t"}"#)]);
    s.gw.on(
        JOB,
        &[(200, r#"{"id":"j1","state":"PENDING","approval_by":"alice","approval_job_hash":"h1","approval_policy_snapshot":"s9|cfg:a"}"#)],
    );
    let report = s.decider.approve(&seen(), "ok", "").await.expect("applied");
    assert_eq!(report.settlement, Settlement::Applied);
    let mismatch = report.mismatch.expect("mismatch reported");
    assert!(mismatch.contains("another policy"), "{mismatch}");
    let conflicts = s
        .ledger
        .query(&Query {
            kinds: vec![EntryKind::Conflict],
            job_id: Some("j1".into()),
            ..Query::default()
        })
        .expect("query")
        .entries;
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].outcome.as_deref(), Some("applied_mismatch"));
}

#[tokio::test]
async fn an_unknown_conflict_repeated_while_the_job_waits_closes_the_decision() {
    let s = Scene::new().await;
    s.gw.on(
        APPROVE,
        &[(409, r#"{"error":"approval frozen","status":409}"#)],
    );
    s.gw.on(JOB, &[(200, JOB_PENDING)]);
    let error = s
        .decider
        .approve(&seen(), "ok", "")
        .await
        .expect_err("refused");
    assert_eq!(error.code(), "conflict", "{error}");
    assert!(error.to_string().contains("same answer twice"), "{error}");
    assert_eq!((s.open(), s.posts()), (0, 2));
    assert!(s.decider.recover().await.expect("recover").is_empty());
    // The job still waits, and the reviewer's next decision is not blocked.
    s.gw.on(
        "POST /api/v1/approvals/j1/reject",
        &[(200, r#"{"job_id":"j1"}"#)],
    );
    let report = s.decider.reject(&seen(), "no", "").await.expect("rejected");
    assert_eq!(report.settlement, Settlement::Applied);
    assert_eq!(s.posts(), 3);
}

#[tokio::test]
async fn recovery_resends_the_note_and_gives_up_on_a_row_it_cannot_settle() {
    let s = Scene::new().await;
    s.gw.on(APPROVE, &[(503, "down")]);
    s.gw.on(JOB, &[(200, JOB_PENDING)]);
    s.ledger
        .record_intent(&DecisionIntent {
            decision_id: new_decision_id(),
            job_id: "j1".into(),
            topic: None,
            action: DecisionAction::Approve,
            job_hash: "h1".into(),
            policy_snapshot: "s1|cfg:a".into(),
            reason: "ok".into(),
            note: "ticket 12".into(),
            workflow_gate: false,
            content_digest: seen().content_digest,
            content: seen().content,
        })
        .expect("intent");
    let max = countersign_client::decide::MAX_RECOVERIES;
    for round in 1..=max {
        let recovered = s.decider.recover().await.expect("recover");
        assert_unknown(recovered.into_iter().next().expect("one").result);
        assert_eq!(s.posts(), usize::try_from(round).expect("small") * 4);
    }
    let recovered = s.decider.recover().await.expect("recover");
    let error = recovered
        .into_iter()
        .next()
        .expect("one")
        .result
        .expect_err("given up");
    assert_eq!(error.code(), "decision_abandoned", "{error}");
    assert_eq!(s.open(), 0);
    assert!(s.decider.recover().await.expect("recover").is_empty());
    let bodies = s.gw.bodies(APPROVE);
    assert_eq!(bodies.len(), usize::try_from(max).expect("small") * 4);
    for body in bodies {
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body["note"], "ticket 12");
        // This gateway does not advertise the preconditions extension.
        assert_eq!(body.get("expected_job_hash"), None);
    }
}

#[tokio::test]
async fn a_stuck_decision_is_withdrawn_only_when_it_did_not_land() {
    let s = Scene::new().await;
    s.gw.on(APPROVE, &[(503, "down")]);
    // Readable while the card content is fetched, then gone.
    s.gw.on(JOB, &[(200, JOB_PENDING), (404, "404 page not found\n")]);
    assert_unknown(s.decider.approve(&seen(), "ok", "").await);
    let open = s.ledger.open_intents().expect("open");
    let id = open[0].intent.decision_id.clone();
    // A new decision is refused and names the open row.
    match s.decider.reject(&seen(), "no", "").await {
        Err(ClientError::DecisionInFlight { decision_id, .. }) => {
            assert_eq!(decision_id.as_deref(), Some(id.as_str()));
        }
        other => panic!("decision_in_flight expected, got {other:?}"),
    }
    // The job cannot be read: whether it landed is unknown, so it stays.
    let error = s.decider.withdraw(&id).await.expect_err("unknown");
    assert_eq!(error.code(), "gateway_protocol");
    assert_eq!(s.open(), 1);
    // The job still waits: nothing landed, so the reviewer may replace it.
    s.gw.on(JOB, &[(200, JOB_PENDING)]);
    assert_eq!(s.decider.withdraw(&id).await.expect("withdrawn"), None);
    assert_eq!(s.open(), 0);
    s.gw.on(
        "POST /api/v1/approvals/j1/reject",
        &[(200, r#"{"job_id":"j1"}"#)],
    );
    let report = s.decider.reject(&seen(), "no", "").await.expect("rejected");
    assert_eq!(report.settlement, Settlement::Applied);
}

/// The newest Cordum decodes the approve body strictly: the extension's preconditions are
/// sent only to a gateway that advertises them, and a refused body is a protocol error.
#[tokio::test]
async fn preconditions_go_only_where_advertised_and_a_refused_body_is_a_protocol_error() {
    let s = Scene::new().await;
    s.gw.on(APPROVE, &[(200, r#"{"job_id":"j1"}"#)]);
    s.decider
        .approve(&seen(), "ok", "")
        .await
        .expect("approved");
    let body: serde_json::Value =
        serde_json::from_str(&s.gw.bodies(APPROVE)[0]).expect("json body");
    assert_eq!(body, serde_json::json!({"reason": "ok"}));

    let s = Scene::new().await;
    s.gw.on(
        APPROVE,
        &[(
            400,
            r#"{"code":"invalid_body","error":"json: unknown field \"x\""}"#,
        )],
    );
    let error = s
        .decider
        .approve(&seen(), "ok", "")
        .await
        .expect_err("refused");
    assert_eq!(error.code(), "gateway_protocol", "{error}");
    assert!(error.to_string().contains("unknown field"), "{error}");
    assert_eq!(s.open(), 0);
}

/// The newest Cordum's `/context` names no job hash, topic, tenant, requester or risk tags
/// (new-observed.md): the item is completed from `GET /api/v1/jobs/{id}`, so it can be
/// verified and approved, with a strict body (no preconditions without the advertisement).
#[tokio::test]
async fn a_newest_cordum_item_is_completed_from_the_job_and_approved() {
    let s = Scene::new().await;
    s.gw.on(
        "GET /api/v1/approvals/j1/context",
        &[(
            200,
            r#"{"approval": {"job_id": "j1", "state": "APPROVAL_REQUIRED",
                "policy_snapshot": "s1|cfg:b", "decision": "REQUIRE_APPROVAL",
                "approval_status": "pending", "approval_revision": 1}}"#,
        )],
    );
    s.gw.on(
        JOB,
        &[(
            200,
            r#"{"id": "j1", "state": "APPROVAL_REQUIRED", "topic": "finance.pay",
                "tenant": "default", "principal": "agent-7", "risk_tags": ["payment"],
                "safety_job_hash": "h-new", "submitted_by": "apikey:1|principal:agent-7",
                "context": {"prompt": "pay 120 to Acme"}, "labels": {"env": "prod"}}"#,
        )],
    );
    s.gw.on(APPROVE, &[(200, r#"{"job_id":"j1"}"#)]);
    let client = s.decider.client();
    let review = client.review("j1").await.expect("read").expect("pending");
    assert_eq!(review.item.job_hash, "h-new");
    assert_eq!(review.content.requester, "agent-7");
    assert_eq!(review.content.risk_tags, ["payment"]);
    assert_eq!(review.content.payload["prompt"], "pay 120 to Acme");
    let report = s
        .decider
        .approve(&review.seen(), "ok", "")
        .await
        .expect("approved");
    assert_eq!(report.verdict.map(|v| v.code()), Some("identity_checked"));
    let body: serde_json::Value =
        serde_json::from_str(&s.gw.bodies(APPROVE)[0]).expect("json body");
    assert_eq!(body, serde_json::json!({"reason": "ok"}));
}
