//! Approve and reject with the new generation's semantics (CONTRACT.md §1.1.3, §1.1.4, §2, §3):
//! per-job lock, self-approval block, idempotent repeats, optional client preconditions (an
//! extension), snapshot drift with re-evaluation as the original requester, the request hash
//! check, and one transaction that resolves, dispatches (approve), audits and announces. An
//! item a policy change invalidated answers 409 `approval_not_actionable` "approval
//! invalidated" (CONTRACT.md §2.2).

use axum::http::StatusCode;
use countersign_core::snapshot::same_policy;
use serde::Deserialize;
use serde_json::{json, Value};

use super::expiry::APPROVAL_EXPIRED;
use super::reevaluate::{record_verdict, reevaluate, Reevaluation};
use super::Gateway;
use crate::apierror::{code, ApiError};
use crate::auth::{identities_overlap, Caller};
use crate::error::GatewayError;
use crate::metrics::Conflict;
use crate::request;
use crate::store::audit::AuditEvent;
use crate::store::jobs::{self, state, JobRow};
use crate::store::{audit, events, scheduling};
use crate::view;

/// Longest stored reason or note, in bytes (`approvalFreeTextMaxBytes`).
const FREE_TEXT_MAX_BYTES: usize = 512;

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Approve,
    Reject,
}

/// The optional body of approve/reject. The `expected_*` preconditions are an extension:
/// Cordum ignores unknown fields, so clients can always send them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DecisionBody {
    pub reason: String,
    pub note: String,
    pub expected_job_hash: Option<String>,
    pub expected_policy_snapshot: Option<String>,
}

/// Trims and truncates free text to 512 bytes at a character boundary.
pub fn sanitize(text: &str) -> String {
    cut(text.trim(), FREE_TEXT_MAX_BYTES).to_owned()
}

/// The longest prefix of `text` of at most `max_bytes` that ends at a character boundary.
pub(crate) fn cut(text: &str, max_bytes: usize) -> &str {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    text.get(..end).unwrap_or_default()
}

impl Gateway {
    /// Approves or rejects a pending job as `caller`; returns the 200 body.
    pub async fn decide(
        &self,
        caller: &Caller,
        job_id: &str,
        verb: Verb,
        body: DecisionBody,
    ) -> Result<Value, ApiError> {
        let busy = match verb {
            Verb::Approve => "approval in progress; retry",
            Verb::Reject => "rejection in progress; retry",
        };
        let _lock = self
            .inner
            .locks
            .acquire(job_id, self.inner.lock_wait)
            .await
            .ok_or_else(|| ApiError::conflict(code::RETRYABLE_LOCK, busy))?;
        // Taken before the read: a publish re-evaluating this job finishes first, so the
        // decision is made on the row as it is now, under the policy that is current now.
        let _policy_stable = self.inner.publish.read().await;

        let id = job_id.to_owned();
        let job = self
            .store()
            .run(move |c| Ok::<_, GatewayError>(jobs::get(&c.db, &id)?))
            .await?
            .filter(|j| j.tenant == caller.tenant)
            .ok_or_else(|| ApiError::approval(StatusCode::NOT_FOUND, "job not found"))?;

        if identities_overlap(&job.submitted_by, &caller.identity()) {
            let msg = match verb {
                Verb::Approve => "self-approval not permitted",
                Verb::Reject => "self-rejection not permitted",
            };
            return Err(ApiError::coded(
                StatusCode::FORBIDDEN,
                code::SELF_APPROVAL,
                msg,
            ));
        }

        if job.state != state::APPROVAL_REQUIRED {
            let answer = repeat_or_conflict(&job, verb);
            if verb == Verb::Approve && answer.is_ok() {
                self.metrics().already_approved();
            }
            return answer;
        }
        if super::expiry::is_overdue(&job, self.now_us()) {
            self.expire_overdue(Some(&job.tenant)).await?;
            return Err(ApiError::conflict(code::NOT_ACTIONABLE, APPROVAL_EXPIRED));
        }

        let mut job = job;
        let mut audits = Vec::new();
        if verb == Verb::Approve {
            let checked = check_preconditions(&job, &body)
                .and_then(|()| self.check_drift(&mut job, caller))
                .and_then(|refresh| check_hash(&job).map(|()| refresh));
            match checked {
                Ok(refresh) => audits.extend(refresh),
                Err(refusal) => {
                    self.count_conflict(&refusal);
                    return Err(refusal);
                }
            }
        }
        self.resolve(job, caller, verb, body, audits).await
    }

    /// Counts an approve refused for drift by its kind (the SLI of seed 000's next steps).
    fn count_conflict(&self, refusal: &ApiError) {
        let kind = match refusal.body.get("code").and_then(Value::as_str) {
            Some(code::STALE_SNAPSHOT) => Conflict::Snapshot,
            Some(code::STALE_REQUEST) => Conflict::Hash,
            _ => return,
        };
        self.metrics().conflict(kind);
    }

    /// Snapshot drift: if the base changed, re-evaluate as the original requester; a verdict
    /// that still lets the approval proceed refreshes the safety record (returned as an audit
    /// event), anything else is a stale-snapshot conflict. A publish already re-evaluates every
    /// pending item, so this is the safety net for rows no publish of this process reached.
    fn check_drift(
        &self,
        job: &mut JobRow,
        caller: &Caller,
    ) -> Result<Option<AuditEvent>, ApiError> {
        let stored = job.safety.snapshot.trim().to_owned();
        if stored.is_empty() {
            return Err(ApiError::conflict(
                code::STALE_SNAPSHOT,
                "approval policy snapshot unavailable",
            ));
        }
        let (policy, current) = self.current_policy(&job.tenant);
        if same_policy(&stored, &current) {
            return Ok(None);
        }
        let verdict = match reevaluate(job, &policy, &current) {
            Reevaluation::Proceeds(verdict) => verdict,
            Reevaluation::Refused { error, .. } => return Err(error),
        };
        let mut event = self.audit_event(&job.tenant, "approval", "approve_snapshot_refreshed");
        event.job_id = job.id.clone();
        event.decision = verdict.decision.wire_name().into();
        event.matched_rule = verdict.rule_id.clone();
        event.policy_version = current.clone();
        event.identity = caller.identity();
        event
            .extra
            .insert("previous_snapshot".into(), json!(stored));
        record_verdict(job, verdict, &current, self.now_us());
        Ok(Some(event))
    }

    async fn resolve(
        &self,
        mut job: JobRow,
        caller: &Caller,
        verb: Verb,
        body: DecisionBody,
        mut audits: Vec<AuditEvent>,
    ) -> Result<Value, ApiError> {
        let reason = sanitize(&body.reason);
        let note = sanitize(&body.note);
        let now = self.now_us();
        let mut req = request::decode(&job.request).map_err(|_| stale_request())?;
        let (new_state, status, decision, action) = match verb {
            Verb::Approve => (state::PENDING, "approved", "approve", "approve"),
            Verb::Reject => (state::DENIED, "rejected", "reject", "reject"),
        };
        if verb == Verb::Approve {
            // The labels Cordum writes on approve; the job hash strips all of them.
            req.labels.insert("approval_granted".into(), "true".into());
            req.labels
                .insert("approval_snapshot".into(), job.safety.snapshot.clone());
            req.labels.insert("approval_reason".into(), reason.clone());
            req.labels.insert("approval_note".into(), note.clone());
            req.labels
                .insert("cordum.bus_msg_id".into(), format!("approval:{}", job.id));
            job.request = req.to_protojson();
        }
        job.state = new_state.into();
        job.approval.status = status.into();
        job.approval.decision = decision.into();
        job.approval.bump_revision();
        job.approval.resolved_by = caller.principal.clone();
        job.approval.resolved_at = now;
        job.approval.resolution = reason.clone();
        job.approval.comment = note.clone();
        job.approval.job_hash = job.safety.job_hash.clone();
        job.approval.snapshot = job.safety.snapshot.clone();

        let mut event = self.audit_event(&job.tenant, "approval", action);
        event.job_id = job.id.clone();
        event.agent_id = job.actor_id.clone();
        event.decision = status.into();
        event.matched_rule = job.safety.rule_id.clone();
        event.reason = reason;
        event.risk_tags = job.risk_tags.clone();
        event.policy_version = job.safety.snapshot.clone();
        event.identity = caller.identity();
        event.extra.insert("note".into(), json!(note));
        event
            .extra
            .insert("job_hash".into(), json!(job.safety.job_hash));
        event
            .extra
            .insert("role".into(), json!(caller.role.as_str()));
        audits.push(event);

        let outcome = self
            .store()
            .run(move |c| {
                job.updated_at = c.stamp(now);
                let tx = c.db.transaction()?;
                if !jobs::update_guarded(&tx, &job, state::APPROVAL_REQUIRED)? {
                    return Ok::<_, GatewayError>(None);
                }
                if verb == Verb::Approve {
                    // Released to the dispatcher, which gates it again before any worker.
                    scheduling::ready(&tx, &job.id, &job.tenant, now)?;
                }
                for e in audits {
                    audit::append(&tx, e)?;
                }
                let event_id = events::append(
                    &tx,
                    &job.tenant,
                    events::kind::APPROVAL_RESOLVED,
                    &view::resolved_event(&job),
                    now,
                )?;
                tx.commit()?;
                Ok(Some((job, event_id)))
            })
            .await?;
        let Some((job, event_id)) = outcome else {
            return Err(ApiError::conflict(
                code::RETRYABLE_LOCK,
                "concurrent approval conflict; retry",
            ));
        };
        self.notify_events(Some(event_id));
        if verb == Verb::Approve {
            self.queue_dispatch(&job.id, now);
        }
        tracing::info!(job_id = %job.id, status = %job.approval.status, by = %job.approval.resolved_by, "approval resolved");
        Ok(match verb {
            Verb::Approve => json!({ "job_id": job.id, "trace_id": job.trace_id }),
            Verb::Reject => json!({ "job_id": job.id }),
        })
    }
}

pub(super) fn stale_request() -> ApiError {
    ApiError::conflict(
        code::STALE_REQUEST,
        "job request changed; approval no longer valid",
    )
}

/// The answer for a job that is no longer awaiting approval.
fn repeat_or_conflict(job: &JobRow, verb: Verb) -> Result<Value, ApiError> {
    let a = &job.approval;
    match (verb, a.status.as_str()) {
        (Verb::Approve, "approved") => Ok(json!({
            "job_id": job.id,
            "trace_id": job.trace_id,
            "status": "already_approved",
            "approved_by": a.resolved_by,
            "approved_at": a.resolved_at,
        })),
        (Verb::Reject, "rejected") => Ok(json!({
            "job_id": job.id,
            "status": "already_rejected",
            "rejected_by": a.resolved_by,
            "rejected_at": a.resolved_at,
        })),
        (_, "approved" | "rejected") => Err(ApiError::conflict(
            code::ALREADY_RESOLVED,
            "job not awaiting approval",
        )),
        (_, view::INVALIDATED) => Err(ApiError::conflict(
            code::NOT_ACTIONABLE,
            "approval invalidated",
        )),
        (_, view::EXPIRED) => Err(ApiError::conflict(code::NOT_ACTIONABLE, APPROVAL_EXPIRED)),
        _ => Err(ApiError::conflict(
            code::NOT_ACTIONABLE,
            "job not awaiting approval",
        )),
    }
}

/// The extension preconditions: what the reviewer saw must still be what is stored.
fn check_preconditions(job: &JobRow, body: &DecisionBody) -> Result<(), ApiError> {
    if let Some(expected) = body.expected_job_hash.as_deref().map(str::trim) {
        if !expected.is_empty() && !expected.eq_ignore_ascii_case(&job.safety.job_hash) {
            return Err(ApiError::conflict(
                code::STALE_REQUEST,
                format!(
                    "expected_job_hash does not match the pending request (expected={expected} stored={})",
                    job.safety.job_hash
                ),
            ));
        }
    }
    if let Some(expected) = body.expected_policy_snapshot.as_deref().map(str::trim) {
        if !expected.is_empty() && !same_policy(expected, &job.safety.snapshot) {
            return Err(ApiError::conflict(
                code::STALE_SNAPSHOT,
                format!(
                    "expected_policy_snapshot does not match the approval's snapshot (expected={expected} stored={})",
                    job.safety.snapshot
                ),
            ));
        }
    }
    Ok(())
}

/// The stored request must still hash to what was recorded at submit time, and the stored
/// payload must still be the one its `context_ptr` names: the dispatch gate would refuse to
/// run a changed payload anyway, but an approval must not land for content nobody reviewed.
fn check_hash(job: &JobRow) -> Result<(), ApiError> {
    if job.safety.job_hash.is_empty() {
        return Err(ApiError::conflict(
            code::STALE_REQUEST,
            "approval job hash unavailable",
        ));
    }
    let req = request::decode(&job.request).map_err(|_| stale_request())?;
    if request::job_hash(&req) != job.safety.job_hash {
        return Err(stale_request());
    }
    if !request::payload_intact(&req, &job.prompt, &job.context) {
        return Err(ApiError::conflict(
            code::STALE_REQUEST,
            "job payload changed; approval rejected",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn free_text_is_trimmed_and_cut_at_a_char_boundary() {
        assert_eq!(sanitize("  ok \n"), "ok");
        let long = "é".repeat(300); // 600 bytes
        let cut = sanitize(&long);
        assert_eq!(cut.len(), 512);
        assert!(cut.chars().all(|c| c == 'é'));
        let odd = format!("a{}", "é".repeat(300));
        assert_eq!(sanitize(&odd).len(), 511);
    }
}
