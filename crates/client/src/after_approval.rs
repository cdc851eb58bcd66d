//! What became of a job after its approval, read from `GET /api/v1/jobs/{id}`: the reference
//! gateway reports its dispatch-time gate there (the `job-status` extension: `attempts`,
//! `max_attempts`, `wait_reason`, `fail_mode`, `failure_reason`, `dispatch_decision`), and
//! Cordum's own states (`SCHEDULED` … `SUCCEEDED`, `FAILED`) say part of it too.
//!
//! Reading is lenient by design: Cordum v0.9 and the newest Cordum report none of the
//! extension fields, and a field that is missing or of an unexpected type means "not
//! reported" ([`None`]), never an error: this is information for the reviewer, and nothing
//! the decision protocol relies on.

use serde::Serialize;
use serde_json::Value;

/// The post-approval status of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AfterApproval {
    /// Released, not yet looked at by the dispatcher.
    Queued,
    /// Waiting at the dispatch-time gate: `reason` (say, "policy engine unavailable"), the
    /// fail mode that made it wait when the engine failed, the attempts so far and the cap.
    Waiting {
        reason: String,
        fail_mode: Option<String>,
        attempts: Option<u32>,
        max_attempts: Option<u32>,
    },
    /// Past the gate: `state` is `SCHEDULED`, `DISPATCHED`, `RUNNING` or `SUCCEEDED`.
    Dispatched { state: String },
    /// The policy denied it at dispatch, after the approval.
    DeniedAtDispatch { reason: String },
    /// The policy changed before dispatch and needs a human again: the item is back in the
    /// queue under the new snapshot.
    Reopened,
    /// It failed after the approval (scheduling retries exhausted, the worker failed, ...).
    Failed { reason: String },
}

fn text<'a>(job: &'a Value, key: &str) -> &'a str {
    job.get(key).and_then(Value::as_str).map_or("", str::trim)
}

fn count(job: &Value, key: &str) -> Option<u32> {
    job.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// The first non-empty text, or a stand-in that says the gateway gave none.
fn reason_of(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|r| !r.is_empty())
        .map_or_else(|| "no reason given".to_owned(), |r| (*r).to_owned())
}

impl AfterApproval {
    /// Reads a job record; `None` when it reports nothing about what followed an approval.
    pub fn from_job(job: &Value) -> Option<Self> {
        let outcome = job
            .get("dispatch_decision")
            .map_or("", |d| text(d, "outcome"));
        let decision_reason = job
            .get("dispatch_decision")
            .map_or("", |d| text(d, "reason"));
        let failure = text(job, "failure_reason");
        match text(job, "state") {
            state @ ("SCHEDULED" | "DISPATCHED" | "RUNNING" | "SUCCEEDED") => {
                Some(Self::Dispatched {
                    state: state.to_owned(),
                })
            }
            "FAILED" => Some(Self::Failed {
                reason: reason_of(&[failure]),
            }),
            "DENIED" if outcome == "denied" => Some(Self::DeniedAtDispatch {
                reason: reason_of(&[failure, decision_reason]),
            }),
            "APPROVAL_REQUIRED" if outcome == "reopened" => Some(Self::Reopened),
            "PENDING" => {
                let wait = text(job, "wait_reason");
                if !wait.is_empty() {
                    let mode = text(job, "fail_mode");
                    Some(Self::Waiting {
                        reason: wait.to_owned(),
                        fail_mode: (!mode.is_empty()).then(|| mode.to_owned()),
                        attempts: count(job, "attempts"),
                        max_attempts: count(job, "max_attempts"),
                    })
                } else if count(job, "max_attempts").is_some() {
                    // A gateway that reports scheduling, before its first attempt.
                    Some(Self::Queued)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Whether the status can still change without anyone acting (the dispatcher has not
    /// decided yet).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Queued)
    }

    /// Whether this is where the job will stay as far as the reviewer is concerned: past the
    /// gate (dispatched), stopped (denied, failed) or back in the queue (re-opened). Queued and
    /// waiting jobs are still moving.
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Queued | Self::Waiting { .. })
    }

    /// One line for the reviewer, the same in the CLI and the app.
    pub fn line(&self) -> String {
        match self {
            Self::Queued => "approved, waiting for dispatch".to_owned(),
            Self::Waiting {
                reason,
                fail_mode,
                attempts,
                max_attempts,
            } => {
                let mut line = format!("approved, waiting: {reason}");
                if let Some(mode) = fail_mode {
                    line.push_str(&format!(" ({mode} mode)"));
                }
                match (attempts, max_attempts) {
                    (Some(n), Some(max)) => line.push_str(&format!(", attempt {n} of {max}")),
                    (Some(n), None) => line.push_str(&format!(", attempt {n}")),
                    _ => {}
                }
                line
            }
            Self::Dispatched { .. } => "approved, dispatched".to_owned(),
            Self::DeniedAtDispatch { reason } => {
                format!("approved, then denied at dispatch: {reason}")
            }
            Self::Reopened => "approval re-opened: the policy changed before dispatch".to_owned(),
            Self::Failed { reason } => format!("approved, then failed: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_without_the_extension_report_nothing() {
        // Cordum v0.9 after an approve, the newest Cordum, and garbage.
        for job in [
            json!({"id": "j", "state": "PENDING", "attempts": 0, "approval_by": "alice"}),
            json!({"id": "j", "state": "APPROVAL_REQUIRED"}),
            json!({"id": "j", "state": "DENIED", "approval_by": "bob"}),
            json!({"state": 7, "dispatch_decision": "reopened", "max_attempts": "50"}),
            json!([]),
            Value::Null,
        ] {
            assert_eq!(AfterApproval::from_job(&job), None, "{job}");
        }
    }

    #[test]
    fn each_status_reads_and_says_one_line() {
        let waiting = json!({"state": "PENDING", "attempts": 7, "max_attempts": 50,
            "wait_reason": "policy engine unavailable", "fail_mode": "closed"});
        let cases = [
            (
                waiting,
                "approved, waiting: policy engine unavailable (closed mode), attempt 7 of 50",
            ),
            (json!({"state": "SUCCEEDED"}), "approved, dispatched"),
            (
                json!({"state": "RUNNING", "dispatch_decision": {"outcome": "fail_open"}}),
                "approved, dispatched",
            ),
            (
                json!({"state": "DENIED", "failure_reason": "Payments are frozen.", "dispatch_decision": {"outcome": "denied"}}),
                "approved, then denied at dispatch: Payments are frozen.",
            ),
            (
                json!({"state": "APPROVAL_REQUIRED", "dispatch_decision": {"outcome": "reopened"}}),
                "approval re-opened: the policy changed before dispatch",
            ),
            (
                json!({"state": "FAILED", "failure_reason": "scheduling_retries_exhausted"}),
                "approved, then failed: scheduling_retries_exhausted",
            ),
            (
                json!({"state": "FAILED"}),
                "approved, then failed: no reason given",
            ),
            (
                json!({"state": "PENDING", "max_attempts": 50, "attempts": 0}),
                "approved, waiting for dispatch",
            ),
            (
                json!({"state": "PENDING", "wait_reason": "no worker available for topic", "attempts": 99999999999_u64}),
                "approved, waiting: no worker available for topic",
            ),
        ];
        for (job, line) in cases {
            let status = AfterApproval::from_job(&job).expect("reported");
            assert_eq!(status.line(), line, "{job}");
            // Only a job still on its way to a worker is worth looking at again.
            assert_eq!(
                status.is_final(),
                !line.starts_with("approved, waiting"),
                "{job}"
            );
        }
    }
}
