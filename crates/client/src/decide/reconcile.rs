//! Reconciliation: when an answer does not say whether our decision landed (a broken
//! connection, v0.9's 409 "job not awaiting approval" on a repeat, a crash before the answer),
//! the job record (`GET /api/v1/jobs/{id}`: state, `approval_by`, `rejected_by`) decides.

use countersign_core::outcome::{DecisionAction, GatewayOutcome};

use crate::http::JobStatus;

/// What the job record says about a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reconciled {
    /// The job is resolved the way the decision wanted, by `by` (empty when the gateway does
    /// not say, as v0.9 does not for rejects).
    Landed { by: String },
    /// Still waiting for a decision: nothing landed, sending is still possible.
    Pending,
    /// Resolved otherwise (the opposite decision, an expiry, a cancelled run).
    Conflict(GatewayOutcome),
}

/// States an approved job moves through (CONTRACT.md §1.1.3: the idempotent-replay states,
/// plus the terminal ones a dispatched job may reach).
const APPROVED_STATES: &[&str] = &[
    "PENDING",
    "SCHEDULED",
    "DISPATCHED",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
];

pub(crate) fn reconcile(action: DecisionAction, job: &JobStatus) -> Reconciled {
    let state = job.state.as_str();
    if state == "APPROVAL_REQUIRED" {
        return Reconciled::Pending;
    }
    let approved = !job.approval_by.is_empty() || APPROVED_STATES.contains(&state);
    let rejected = state == "DENIED";
    match action {
        DecisionAction::Approve if approved && !rejected => Reconciled::Landed {
            by: job.approval_by.clone(),
        },
        DecisionAction::Reject if rejected => Reconciled::Landed {
            by: job.rejected_by.clone(),
        },
        _ => {
            let message = if rejected {
                format!("job was rejected by {}", or_unknown(&job.rejected_by))
            } else if approved {
                format!("job was approved by {}", or_unknown(&job.approval_by))
            } else if state.is_empty() {
                "job is in an unknown state".to_owned()
            } else {
                format!("job is {state}")
            };
            Reconciled::Conflict(GatewayOutcome::NotActionable {
                message,
                ambiguous: false,
            })
        }
    }
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

    fn job(state: &str, approval_by: &str, rejected_by: &str) -> JobStatus {
        JobStatus {
            id: "j".into(),
            state: state.into(),
            approval_by: approval_by.into(),
            approval_job_hash: String::new(),
            rejected_by: rejected_by.into(),
        }
    }

    #[test]
    fn pending_jobs_are_pending_for_both_actions() {
        for action in [DecisionAction::Approve, DecisionAction::Reject] {
            assert_eq!(
                reconcile(action, &job("APPROVAL_REQUIRED", "", "")),
                Reconciled::Pending
            );
        }
    }

    #[test]
    fn approvals_land_in_every_approved_state() {
        for state in APPROVED_STATES {
            assert_eq!(
                reconcile(DecisionAction::Approve, &job(state, "alice", "")),
                Reconciled::Landed { by: "alice".into() }
            );
            assert!(matches!(
                reconcile(DecisionAction::Reject, &job(state, "alice", "")),
                Reconciled::Conflict(_)
            ));
        }
        // v0.9 shows the approver even once the job failed downstream.
        assert_eq!(
            reconcile(DecisionAction::Approve, &job("FAILED", "alice", "")),
            Reconciled::Landed { by: "alice".into() }
        );
    }

    #[test]
    fn rejections_and_other_ends() {
        assert_eq!(
            reconcile(DecisionAction::Reject, &job("DENIED", "", "bob")),
            Reconciled::Landed { by: "bob".into() }
        );
        let Reconciled::Conflict(outcome) =
            reconcile(DecisionAction::Approve, &job("DENIED", "", "bob"))
        else {
            panic!("conflict expected");
        };
        assert_eq!(outcome.server_message(), "job was rejected by bob");
        for state in ["TIMEOUT", "CANCELLED", ""] {
            assert!(matches!(
                reconcile(DecisionAction::Approve, &job(state, "", "")),
                Reconciled::Conflict(_)
            ));
        }
    }
}
