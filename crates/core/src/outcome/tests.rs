//! Table-driven tests over real bodies from CONTRACT.md §2.2 and live-transcript.md.

use super::*;
use DecisionAction::{Approve, Reject};

/// (action, HTTP status, body, expected code, expected server message)
type Case = (
    DecisionAction,
    u16,
    &'static str,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
const V09_PLAIN_TEXT: &[Case] = &[
    (Approve, 409, "policy snapshot changed; re-evaluate before approving\n", "stale_snapshot", "policy snapshot changed; re-evaluate before approving"),
    (Approve, 409, "job request changed; approval rejected\n", "stale_request", "job request changed; approval rejected"),
    (Approve, 409, "job not awaiting approval\n", "not_actionable", "job not awaiting approval"),
    (Approve, 409, "approval in progress; retry\n", "retryable_lock", "approval in progress; retry"),
    (Reject, 409, "rejection in progress; retry\n", "retryable_lock", "rejection in progress; retry"),
    (Approve, 404, "job not found\n", "not_found", "job not found"),
    (Approve, 401, "unauthorized\n", "unauthorized", "unauthorized"),
    (Approve, 403, "forbidden\n", "forbidden", "forbidden"),
    (Reject, 403, "access denied\n", "forbidden", "access denied"),
    (Approve, 403, "tenant access denied\n", "forbidden", "tenant access denied"),
    (Approve, 400, "invalid body\n", "bad_request", "invalid body"),
    (Approve, 413, "request body too large\n", "bad_request", "request body too large"),
    (Approve, 503, "safety kernel unavailable\n", "unavailable", "safety kernel unavailable"),
    (Approve, 502, "list safety snapshots failed\n", "unavailable", "list safety snapshots failed"),
    (Approve, 500, "failed to hash job request\n", "unavailable", "failed to hash job request"),
    (Approve, 429, "rate limited\n", "unavailable", "rate limited"),
    (Approve, 302, "moved", "unexpected", "moved"),
    (Approve, 200, "ok", "unexpected", "ok"),
    (Approve, 200, "", "unexpected", ""),
];

#[rustfmt::skip]
const NEW_JSON_ERRORS: &[Case] = &[
    (Approve, 403, r#"{"error":"self-approval not permitted","code":"self_approval_denied","status":403}"#, "self_approval_denied", "self-approval not permitted"),
    (Reject, 403, r#"{"error":"self-rejection not permitted","code":"self_approval_denied","status":403}"#, "self_approval_denied", "self-rejection not permitted"),
    (Approve, 409, r#"{"error":"job not awaiting approval","status":409,"code":"approval_not_actionable"}"#, "not_actionable", "job not awaiting approval"),
    (Approve, 409, r#"{"error":"approval already resolved","status":409,"code":"approval_already_resolved"}"#, "not_actionable", "approval already resolved"),
    (Approve, 409, r#"{"error":"workflow run cancelled — approval no longer valid","status":409,"code":"approval_terminal_run"}"#, "not_actionable", "workflow run cancelled — approval no longer valid"),
    (Approve, 409, r#"{"error":"approval job hash unavailable","status":409,"code":"approval_stale_request"}"#, "stale_request", "approval job hash unavailable"),
    (Approve, 409, r#"{"error":"job request changed; approval no longer valid","status":409,"code":"approval_stale_request"}"#, "stale_request", "job request changed; approval no longer valid"),
    (Approve, 409, r#"{"error":"approval policy snapshot unavailable","status":409,"code":"approval_stale_snapshot"}"#, "stale_snapshot", "approval policy snapshot unavailable"),
    (Approve, 409, r#"{"error":"original requester identity unavailable; resubmit under current policy","status":409,"code":"approval_stale_snapshot"}"#, "stale_snapshot", "original requester identity unavailable; resubmit under current policy"),
    (Approve, 409, r#"{"error":"policy drift denies this request under current snapshot (was=a now=b decision=DENY)","status":409,"code":"approval_stale_snapshot"}"#, "stale_snapshot", "policy drift denies this request under current snapshot (was=a now=b decision=DENY)"),
    (Approve, 409, r#"{"error":"concurrent approval conflict; retry","status":409,"code":"approval_retryable_lock","retryable":true}"#, "retryable_lock", "concurrent approval conflict; retry"),
    (Approve, 400, r#"{"error":"invalid body","status":400,"code":"approval_bad_request"}"#, "bad_request", "invalid body"),
    (Approve, 400, r#"{"code":"invalid_body","error":"json: unknown field \"expected_job_hash\""}"#, "bad_request", "json: unknown field \"expected_job_hash\""),
    (Approve, 403, r#"{"error":"tenant access denied","status":403,"code":"approval_forbidden"}"#, "forbidden", "tenant access denied"),
    (Approve, 404, r#"{"error":"job not found","status":404,"code":"approval_not_found"}"#, "not_found", "job not found"),
    (Approve, 409, r#"{"error":"stored job identity is invalid","status":409,"code":"approval_conflict"}"#, "not_actionable", "stored job identity is invalid"),
    (Approve, 409, r#"{"error":"approval in progress; retry","status":409,"code":"approval_conflict"}"#, "retryable_lock", "approval in progress; retry"),
    (Approve, 409, r#"{"error":"approval expired","status":409,"code":"RESULT_INVALID_STATUS"}"#, "not_actionable", "approval expired"),
    (Approve, 401, r#"{"error":"unauthorized","status":401}"#, "unauthorized", "unauthorized"),
    (Approve, 403, r#"{"error":"forbidden","status":403,"reason":"key_scope_insufficient","details":{"required":"jobs.approve","granted":["jobs.read"]}}"#, "forbidden", "forbidden"),
    (Approve, 403, r#"{"error":"seats_exceeded","code":"tier_limit_exceeded","status":403,"message":"limit reached","limit":1,"current":2}"#, "forbidden", "seats_exceeded"),
    (Approve, 503, r#"{"error":"safety decision unavailable","status":503}"#, "unavailable", "safety decision unavailable"),
    (Approve, 502, r#"{"error":"publish approval failed","status":502}"#, "unavailable", "publish approval failed"),
    (Approve, 409, r#"{"message":"approval_conflict text","code":"something_new","retryable":true}"#, "retryable_lock", "approval_conflict text"),
    (Approve, 418, r#"{"error":"teapot","status":418}"#, "unexpected", "teapot"),
];

/// The newest gateway writes lock-busy with HTTP 200; the body's status and code must win.
#[rustfmt::skip]
const LOCK_BUSY_AS_HTTP_200: &[Case] = &[
    (Approve, 200, r#"{"error":"approval in progress; retry","status":409,"code":"approval_retryable_lock","retryable":true}"#, "retryable_lock", "approval in progress; retry"),
    (Reject, 200, r#"{"error":"rejection in progress; retry","status":409,"code":"approval_retryable_lock","retryable":true}"#, "retryable_lock", "rejection in progress; retry"),
    (Approve, 200, r#"{"error":"approval in progress; retry","status":409}"#, "retryable_lock", "approval in progress; retry"),
    (Approve, 200, r#"{"error":"safety kernel unavailable","status":503}"#, "unavailable", "safety kernel unavailable"),
    (Approve, 200, r#"{"error":"something odd"}"#, "unexpected", "something odd"),
];

fn run(cases: &[Case]) {
    for &(action, status, body, code, message) in cases {
        let outcome = classify(action, status, body);
        assert_eq!(
            outcome.code(),
            code,
            "{action:?} {status} {body:?} -> {outcome:?}"
        );
        assert_eq!(outcome.server_message(), message, "{status} {body:?}");
    }
}

#[test]
fn v09_plain_text_bodies() {
    run(V09_PLAIN_TEXT);
}

#[test]
fn new_json_error_bodies() {
    run(NEW_JSON_ERRORS);
}

#[test]
fn lock_busy_written_as_http_200_is_retryable() {
    run(LOCK_BUSY_AS_HTTP_200);
    assert!(classify(Approve, 200, LOCK_BUSY_AS_HTTP_200[0].2).is_retryable());
}

#[test]
fn fresh_approve_and_reject_succeed() {
    let live_approve = r#"{"job_id":"b5901a94-eff3-4c36-b743-4c98be5e9d4f","trace_id":"02b9158e-0b29-450a-b283-9731d5f9542d"}"#;
    assert_eq!(
        classify(Approve, 200, live_approve),
        GatewayOutcome::Success {
            job_id: "b5901a94-eff3-4c36-b743-4c98be5e9d4f".into(),
            trace_id: "02b9158e-0b29-450a-b283-9731d5f9542d".into(),
        }
    );
    let live_reject = "{\"job_id\":\"85dd411b-ce8b-48ca-8ad0-16e0b4b8fa4f\"}\n";
    let outcome = classify(Reject, 200, live_reject);
    assert_eq!(
        outcome,
        GatewayOutcome::Success {
            job_id: "85dd411b-ce8b-48ca-8ad0-16e0b4b8fa4f".into(),
            trace_id: String::new(),
        }
    );
    assert!(!outcome.is_retryable());
    assert!(!outcome.is_ambiguous());
}

#[test]
fn success_without_job_id_is_not_trusted() {
    for body in ["{}", r#"{"trace_id":"t"}"#, r#"{"job_id":5}"#] {
        assert_eq!(classify(Approve, 200, body).code(), "unexpected", "{body}");
    }
    assert_eq!(
        classify(
            Approve,
            200,
            r#"{"job_id":"j","status":"approval_required"}"#
        )
        .code(),
        "unexpected"
    );
}

#[test]
fn idempotent_replays_of_the_same_decision_succeed() {
    let approved = r#"{"job_id":"j","trace_id":"t","status":"already_approved","approved_by":"bob","approved_at":1795238282504683}"#;
    let outcome = classify(Approve, 200, approved);
    assert_eq!(
        outcome,
        GatewayOutcome::AlreadyApproved {
            by: "bob".into(),
            at: "1795238282504683".into()
        }
    );
    assert!(!outcome.is_ambiguous());

    let rejected = r#"{"job_id":"j","status":"already_rejected","rejected_by":"bob","rejected_at":"2026-11-21T05:18:28Z"}"#;
    let outcome = classify(Reject, 200, rejected);
    assert_eq!(
        outcome,
        GatewayOutcome::AlreadyRejected {
            by: "bob".into(),
            at: "2026-11-21T05:18:28Z".into()
        }
    );
    assert!(!outcome.is_ambiguous() && !outcome.is_retryable());
}

#[test]
fn replays_of_the_opposite_decision_are_conflicts() {
    let rejected =
        r#"{"job_id":"j","status":"already_rejected","rejected_by":"bob","rejected_at":1}"#;
    let outcome = classify(Approve, 200, rejected);
    assert_eq!(
        outcome,
        GatewayOutcome::NotActionable {
            message: "job was already rejected by bob".into(),
            ambiguous: false
        }
    );
    assert!(
        !outcome.is_ambiguous(),
        "the answer says who decided otherwise"
    );

    let approved = r#"{"job_id":"j","status":"already_approved","approved_by":"amy"}"#;
    let outcome = classify(Reject, 200, approved);
    assert_eq!(outcome.code(), "not_actionable");
    assert_eq!(outcome.server_message(), "job was already approved by amy");
    assert!(!outcome.is_ambiguous());
}

#[test]
fn ambiguity_marks_answers_that_need_reconciling() {
    let ambiguous = |outcome: GatewayOutcome| match outcome {
        GatewayOutcome::NotActionable { ambiguous, .. } => ambiguous,
        other => panic!("expected not_actionable, got {other:?}"),
    };
    assert!(ambiguous(classify(
        Approve,
        409,
        "job not awaiting approval\n"
    )));
    assert!(ambiguous(classify(
        Approve,
        409,
        r#"{"error":"approval already resolved","status":409,"code":"approval_already_resolved"}"#
    )));
    assert!(!ambiguous(classify(
        Approve,
        409,
        r#"{"error":"workflow run failed — approval no longer valid","status":409,"code":"approval_terminal_run"}"#
    )));
    assert!(!ambiguous(classify(
        Approve,
        409,
        "workflow run cancelled — approval no longer valid"
    )));
}

#[test]
fn json_that_is_not_an_object_is_text() {
    assert_eq!(
        classify(Approve, 409, "\"job not awaiting approval\"").code(),
        "not_actionable"
    );
    assert_eq!(classify(Approve, 500, "[1,2]").code(), "unavailable");
    assert_eq!(classify(Approve, 200, "null").code(), "unexpected");
}

#[test]
fn hostile_bodies_are_clipped_and_never_panic() {
    let huge = "é".repeat(10_000);
    let outcome = classify(Approve, 502, &huge);
    assert_eq!(outcome.server_message().chars().count(), MAX_MESSAGE_CHARS);
    let huge_json = format!(r#"{{"error":"{huge}","status":409}}"#);
    assert_eq!(
        classify(Approve, 409, &huge_json)
            .server_message()
            .chars()
            .count(),
        MAX_MESSAGE_CHARS
    );
    let deep = "[".repeat(100_000);
    assert_eq!(classify(Approve, 500, &deep).code(), "unavailable");
    // Odd field types are ignored, never trusted: the HTTP status decides, and a 2xx the
    // classifier cannot read stays ambiguous instead of becoming a refusal.
    #[rustfmt::skip]
    let odd: &[(&str, u16, &str)] = &[
        (r#"{"status":"409"}"#, 200, "unexpected"),
        (r#"{"status":"409"}"#, 409, "not_actionable"),
        (r#"{"status":-1,"error":"x"}"#, 200, "unexpected"),
        (r#"{"status":-1,"error":"x"}"#, 599, "unavailable"),
        (r#"{"status":99999999999,"error":"x"}"#, 200, "unexpected"),
        (r#"{"code":5,"error":7}"#, 409, "not_actionable"),
        (r#"{"code":5,"error":7}"#, 0, "unexpected"),
        (r#"{"retryable":"yes"}"#, 503, "unavailable"),
        (r#"{"retryable":"yes"}"#, 65535, "unexpected"),
    ];
    for &(body, status, code) in odd {
        let outcome = classify(Reject, status, body);
        assert_eq!(outcome.code(), code, "{status} {body}");
        assert_eq!(
            outcome.is_ambiguous(),
            status == 200 || status == 409,
            "{status} {body}"
        );
    }
}

#[test]
fn unrecognised_success_answers_are_ambiguous_not_refusals() {
    for (status, body) in [
        (204, ""),
        (200, ""),
        (200, "ok"),
        (200, "null"),
        (200, "{}"),
        (200, r#"{"job_id":"j1","status":"approved"}"#),
        (201, r#"{"result":"done"}"#),
        (200, r#"{"error":"something odd"}"#),
    ] {
        let outcome = classify(Approve, status, body);
        assert_eq!(outcome.code(), "unexpected", "{status} {body:?}");
        assert!(outcome.is_ambiguous(), "{status} {body:?}");
        assert!(!outcome.is_retryable(), "{status} {body:?}");
    }
    for (status, body) in [(302, "moved"), (418, r#"{"error":"teapot"}"#)] {
        let outcome = classify(Approve, status, body);
        assert_eq!(outcome.code(), "unexpected");
        assert!(!outcome.is_ambiguous(), "{status} is no success");
    }
}

#[test]
fn serialized_code_tag_equals_code() {
    let samples = [
        classify(Approve, 200, r#"{"job_id":"j"}"#),
        classify(
            Approve,
            200,
            r#"{"job_id":"j","status":"already_approved"}"#,
        ),
        classify(Reject, 200, r#"{"job_id":"j","status":"already_rejected"}"#),
        classify(
            Approve,
            409,
            "policy snapshot changed; re-evaluate before approving",
        ),
        classify(Approve, 409, "job request changed; approval rejected"),
        classify(Approve, 403, "self-approval not permitted"),
        classify(Approve, 409, "job not awaiting approval"),
        classify(Approve, 409, "approval in progress; retry"),
        classify(Approve, 401, "unauthorized"),
        classify(Approve, 403, "forbidden"),
        classify(Approve, 404, "job not found"),
        classify(Approve, 503, "down"),
        classify(Approve, 400, "invalid body"),
        classify(Approve, 418, "teapot"),
    ];
    let mut codes = std::collections::BTreeSet::new();
    for outcome in &samples {
        let json = serde_json::to_value(outcome).expect("outcomes serialize");
        assert_eq!(json["code"], outcome.code());
        codes.insert(outcome.code());
    }
    assert_eq!(codes.len(), samples.len(), "every variant is covered once");
}

#[test]
fn decision_action_wire_names() {
    assert_eq!(Approve.as_str(), "approve");
    assert_eq!(Reject.as_str(), "reject");
    assert_eq!(
        serde_json::to_string(&Reject).expect("serializes"),
        "\"reject\""
    );
    let parsed: DecisionAction = serde_json::from_str("\"approve\"").expect("parses");
    assert_eq!(parsed, Approve);
}
