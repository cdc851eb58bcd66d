//! Reconciliation: when an answer does not say whether our decision landed (a broken
//! connection, v0.9's 409 "job not awaiting approval" on a repeat, a 2xx this client cannot
//! read, a crash before the answer), the job record (`GET /api/v1/jobs/{id}`) decides.
//!
//! An approval counts as in effect only with evidence of one in the approval record
//! (`approval_by`) on a job that is not rejected: a state alone says where the job went, not
//! that a reviewer let it. Labels are never evidence: the agent writes them, and one planted
//! `approval_granted: "true"` would read a rejected job as approved. The newest Cordum sets
//! `approval_by` on rejects too, so a rejection (state `DENIED`, or `rejected_by`) is read
//! first, and its `approval_by` names who rejected when `rejected_by` is empty. And it counts as *ours* only when it is bound to what our
//! reviewer saw: an `approval_job_hash` for another request, or an `approval_policy_snapshot`
//! under another policy base, is somebody else's approval of something else — a conflict.

use countersign_core::outcome::{DecisionAction, GatewayOutcome};
use countersign_core::snapshot::same_policy;
use countersign_ledger::DecisionIntent;

use crate::after_approval::AfterApproval;
use crate::error::{ClientError, Result};
use crate::job::JobStatus;

/// What the job record says about a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reconciled {
    /// The job is resolved the way the decision wanted, by `by` (empty when the gateway does
    /// not say, as v0.9 does not for rejects).
    Landed { by: String },
    /// Still waiting for a decision: nothing landed, sending is still possible.
    Pending,
    /// Resolved otherwise (the opposite decision, an expiry, a cancelled run, an approval of
    /// another request or under another policy).
    Conflict(GatewayOutcome),
}

const AWAITING: &str = "APPROVAL_REQUIRED";
const DENIED: &str = "DENIED";

fn rejected(job: &JobStatus) -> bool {
    // A job the policy denied at dispatch was approved first: `DENIED` there is no reject.
    let denied_at_dispatch = matches!(
        job.after_approval,
        Some(AfterApproval::DeniedAtDispatch { .. })
    );
    (job.state.trim() == DENIED && !denied_at_dispatch) || !job.rejected_by.is_empty()
}

/// Whether the record carries evidence that some approval was granted.
fn approved(job: &JobStatus) -> bool {
    !rejected(job) && !job.approval_by.is_empty()
}

/// Who rejected the job: `rejected_by`, else the newest Cordum's `approval_by`.
fn rejecter(job: &JobStatus) -> &str {
    if job.rejected_by.is_empty() {
        &job.approval_by
    } else {
        &job.rejected_by
    }
}

/// Who resolved the job, when the record says: the one rule the decision protocol and the
/// queue watch share.
pub(crate) fn resolver(job: &JobStatus) -> Option<String> {
    let by = if rejected(job) {
        rejecter(job)
    } else {
        &job.approval_by
    };
    Some(by.to_owned()).filter(|by| !by.is_empty())
}

/// How the job got resolved, in the event stream's words (`approved`, `rejected`, or the
/// lower-cased state); `None` while the record says nothing.
pub(crate) fn resolution_status(job: &JobStatus) -> Option<String> {
    let status = if rejected(job) {
        "rejected".to_owned()
    } else if approved(job) {
        "approved".to_owned()
    } else {
        job.state.to_ascii_lowercase()
    };
    Some(status).filter(|s| !s.is_empty())
}

/// What `job` says about `intent`. A record without a state, or an approved-looking state
/// without approval evidence, cannot settle anything: a protocol error, and the decision stays
/// open.
pub(crate) fn reconcile(intent: &DecisionIntent, job: &JobStatus) -> Result<Reconciled> {
    let state = job.state.trim();
    if state.is_empty() {
        return Err(ClientError::GatewayProtocol(format!(
            "job record for {} has no state",
            intent.job_id
        )));
    }
    if state == AWAITING {
        return Ok(Reconciled::Pending);
    }
    let conflict = |message: String| {
        Ok(Reconciled::Conflict(GatewayOutcome::NotActionable {
            message,
            ambiguous: false,
        }))
    };
    if rejected(job) {
        return match intent.action {
            DecisionAction::Reject => Ok(Reconciled::Landed {
                by: rejecter(job).to_owned(),
            }),
            DecisionAction::Approve => {
                conflict(format!("job was rejected by {}", or_unknown(rejecter(job))))
            }
        };
    }
    if !approved(job) {
        return match state {
            // The states an approved job moves through: without evidence the record is
            // contradictory, so it settles nothing.
            "PENDING" | "SCHEDULED" | "DISPATCHED" | "RUNNING" | "SUCCEEDED" => {
                Err(ClientError::GatewayProtocol(format!(
                    "job {} is {state} but its record shows no approval",
                    intent.job_id
                )))
            }
            _ => conflict(format!("job is {state}")),
        };
    }
    let by = or_unknown(&job.approval_by);
    if intent.action == DecisionAction::Reject {
        return conflict(format!("job was approved by {by}"));
    }
    if let Some(mismatch) = approval_mismatch(intent, job) {
        return conflict(format!("job was approved by {by} {mismatch}"));
    }
    Ok(Reconciled::Landed {
        by: job.approval_by.clone(),
    })
}

/// How the approval in effect differs from what our reviewer saw, if it does. Fields the
/// gateway leaves empty (v0.9, workflow gates without a snapshot) prove nothing either way.
pub(crate) fn approval_mismatch(intent: &DecisionIntent, job: &JobStatus) -> Option<String> {
    let hash = job.approval_job_hash.trim();
    if !hash.is_empty() && hash != intent.job_hash.trim() {
        return Some(format!(
            "for another request (job hash {hash}, the reviewer saw {})",
            intent.job_hash
        ));
    }
    let snapshot = job.approval_policy_snapshot.trim();
    let checked = !intent.workflow_gate && !intent.policy_snapshot.trim().is_empty();
    if checked && !snapshot.is_empty() && !same_policy(snapshot, &intent.policy_snapshot) {
        return Some(format!(
            "under another policy (snapshot {snapshot}, the reviewer saw {})",
            intent.policy_snapshot
        ));
    }
    None
}

fn or_unknown(text: &str) -> &str {
    if text.is_empty() {
        "someone"
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(action: DecisionAction) -> DecisionIntent {
        DecisionIntent {
            decision_id: "d".into(),
            job_id: "j".into(),
            topic: None,
            action,
            job_hash: "h1".into(),
            policy_snapshot: "s1|cfg:a".into(),
            reason: "r".into(),
            note: String::new(),
            workflow_gate: false,
            content_digest: String::new(),
            content: None,
        }
    }

    fn job(state: &str, approval_by: &str, rejected_by: &str) -> JobStatus {
        JobStatus {
            id: "j".into(),
            state: state.into(),
            approval_by: approval_by.into(),
            rejected_by: rejected_by.into(),
            ..JobStatus::default()
        }
    }

    fn message(result: Result<Reconciled>) -> String {
        match result {
            Ok(Reconciled::Conflict(outcome)) => outcome.server_message().to_owned(),
            other => panic!("conflict expected, got {other:?}"),
        }
    }

    const APPROVED_STATES: &[&str] = &[
        "PENDING",
        "SCHEDULED",
        "DISPATCHED",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
    ];

    #[test]
    fn pending_jobs_are_pending_for_both_actions() {
        for action in [DecisionAction::Approve, DecisionAction::Reject] {
            assert_eq!(
                reconcile(&intent(action), &job("APPROVAL_REQUIRED", "", "")).expect("read"),
                Reconciled::Pending
            );
        }
    }

    #[test]
    fn a_reject_with_approval_by_is_a_reject() {
        // The newest Cordum names the rejecter in `approval_by`.
        let record = job("DENIED", "bob", "");
        assert_eq!(resolution_status(&record).as_deref(), Some("rejected"));
        assert_eq!(resolver(&record).as_deref(), Some("bob"));
        assert_eq!(
            reconcile(&intent(DecisionAction::Reject), &record).expect("read"),
            Reconciled::Landed { by: "bob".into() }
        );
        assert_eq!(
            message(reconcile(&intent(DecisionAction::Approve), &record)),
            "job was rejected by bob"
        );
        let named = job("DENIED", "bob", "carol");
        assert_eq!(resolver(&named).as_deref(), Some("carol"));
    }

    #[test]
    fn an_approval_denied_at_dispatch_landed_and_is_no_reject() {
        let record = JobStatus {
            after_approval: Some(AfterApproval::DeniedAtDispatch {
                reason: "Payments are frozen.".into(),
            }),
            ..job("DENIED", "alice", "")
        };
        assert_eq!(resolution_status(&record).as_deref(), Some("approved"));
        assert_eq!(
            reconcile(&intent(DecisionAction::Approve), &record).expect("read"),
            Reconciled::Landed { by: "alice".into() }
        );
    }

    #[test]
    fn approvals_land_only_with_evidence() {
        let approve = intent(DecisionAction::Approve);
        for state in APPROVED_STATES {
            assert_eq!(
                reconcile(&approve, &job(state, "alice", "")).expect("read"),
                Reconciled::Landed { by: "alice".into() }
            );
            assert_eq!(
                message(reconcile(
                    &intent(DecisionAction::Reject),
                    &job(state, "alice", "")
                )),
                "job was approved by alice"
            );
        }
        // A state alone is no approval: contradictory while moving on, a conflict once failed.
        for state in ["PENDING", "SCHEDULED", "RUNNING", "SUCCEEDED"] {
            let error = reconcile(&approve, &job(state, "", "")).expect_err("no evidence");
            assert_eq!(error.code(), "gateway_protocol", "{state}");
        }
        assert_eq!(
            message(reconcile(&approve, &job("FAILED", "", ""))),
            "job is FAILED"
        );
    }

    #[test]
    fn an_approval_of_something_else_is_a_conflict() {
        let approve = intent(DecisionAction::Approve);
        let other_hash = JobStatus {
            approval_job_hash: "h2".into(),
            ..job("PENDING", "bob", "")
        };
        assert!(message(reconcile(&approve, &other_hash)).contains("another request"));
        let other_policy = JobStatus {
            approval_job_hash: "h1".into(),
            approval_policy_snapshot: "s2|cfg:a".into(),
            ..job("PENDING", "bob", "")
        };
        assert!(message(reconcile(&approve, &other_policy)).contains("another policy"));
        // Only the base counts, and gates are exempt from the snapshot rule.
        let overlay_only = JobStatus {
            approval_policy_snapshot: "s1|cfg:b".into(),
            ..other_policy.clone()
        };
        assert!(matches!(
            reconcile(&approve, &overlay_only),
            Ok(Reconciled::Landed { .. })
        ));
        let gate = DecisionIntent {
            workflow_gate: true,
            content_digest: String::new(),
            content: None,
            ..approve
        };
        assert!(matches!(
            reconcile(&gate, &other_policy),
            Ok(Reconciled::Landed { .. })
        ));
    }

    #[test]
    fn rejections_other_ends_and_unreadable_records() {
        assert_eq!(
            reconcile(&intent(DecisionAction::Reject), &job("DENIED", "", "bob")).expect("read"),
            Reconciled::Landed { by: "bob".into() }
        );
        assert_eq!(
            message(reconcile(
                &intent(DecisionAction::Approve),
                &job("DENIED", "", "bob")
            )),
            "job was rejected by bob"
        );
        for state in ["TIMEOUT", "CANCELLED"] {
            assert_eq!(
                message(reconcile(
                    &intent(DecisionAction::Approve),
                    &job(state, "", "")
                )),
                format!("job is {state}")
            );
        }
        for action in [DecisionAction::Approve, DecisionAction::Reject] {
            let error = reconcile(&intent(action), &job(" ", "alice", "")).expect_err("no state");
            assert_eq!(error.code(), "gateway_protocol");
        }
    }

    #[test]
    fn the_resolver_rule() {
        assert_eq!(resolver(&job("PENDING", "alice", "")), Some("alice".into()));
        assert_eq!(resolver(&job("DENIED", "", "bob")), Some("bob".into()));
        assert_eq!(resolver(&job("TIMEOUT", "", "")), None);
        assert_eq!(
            resolution_status(&job("PENDING", "alice", "")).as_deref(),
            Some("approved")
        );
        assert_eq!(
            resolution_status(&job("DENIED", "", "")).as_deref(),
            Some("rejected")
        );
        assert_eq!(
            resolution_status(&job("TIMEOUT", "", "")).as_deref(),
            Some("timeout")
        );
        assert_eq!(resolution_status(&job("", "", "")), None);
    }
}
