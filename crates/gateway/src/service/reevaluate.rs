//! Re-evaluation of pending approvals under a new policy: the seed runbook's step 5 ("re-run
//! policy evaluation to create a fresh approval item"), done by the gateway itself. Without it
//! every item submitted before a publish keeps claiming the old snapshot, and a client that
//! verifies the snapshot before approving (Countersign does) refuses it forever.
//!
//! When it runs:
//! * in the transaction that makes a new snapshot base current (`PUT /api/v1/policy`, the
//!   policy file, the demo), so a crash can never separate the publish from the
//!   re-evaluation;
//! * at start-up, for every pending item whose base is not the current one (a database written
//!   by an older gateway, or changed behind this one's back).
//!
//! An overlay-only change keeps the base, selects nothing, and leaves the stored snapshot
//! strings alone: clients compare bases only, and rewriting every item for a setting that
//! changed no decision would bump revisions and wake every reviewer for nothing.
//!
//! What becomes of a stale item (re-evaluated as its original requester, like approve does):
//! * `require_human` or `allow`: the safety record takes the current snapshot, rule, reason and
//!   constraints, and the decision the policy gives *now* (an `ALLOW` stays honest on the
//!   record). The job stays held either way: it was submitted for a human decision, and a
//!   publish that relaxes the policy must not dispatch work nobody signed. Revision + 1, audit
//!   `approval_reevaluated`, event `approval.updated`. The job hash is untouched.
//! * `deny`, `throttle`, or no verdict possible (requester unknown, request unreadable):
//!   invalidated. The job leaves the queue (`DENIED`, status and actionability
//!   `invalidated`, resolved by `policy`, resolution = the message approve would answer),
//!   audit `approval_invalidated`, event `approval.resolved`.
//!
//! Approve keeps its own drift check as the safety net and shares [`reevaluate`] and
//! [`record_verdict`] with this module, so the two paths cannot disagree.

use countersign_core::snapshot::same_policy;
use rusqlite::Transaction;
use serde_json::{json, Value};

use super::decide::stale_request;
use super::stamped_audit_event;
use crate::apierror::{code, ApiError};
use crate::error::GatewayError;
use crate::policy::{Decision, Evaluation, Policy, Subject};
use crate::request;
use crate::store::audit::{self, AuditEvent};
use crate::store::jobs::{self, state, JobRow};
use crate::store::{events, Conn};
use crate::view;

/// `resolved_by` of an item a policy change invalidated.
const RESOLVED_BY_POLICY: &str = "policy";

/// The reason recorded when the current policy allows a held job without saying why.
const ALLOWED_BUT_HELD: &str =
    "current policy allows this request; it stays held for the human decision it was submitted for";

/// The verdict of the current policy on a stale item.
pub(super) enum Reevaluation {
    /// Approval may proceed (`allow` or `require_human`).
    Proceeds(Evaluation),
    /// The item can no longer be approved; `error` is approve's answer, `verdict` the policy's
    /// decision when there was one.
    Refused {
        error: ApiError,
        verdict: Option<Evaluation>,
    },
}

/// Re-evaluates a stale item's stored request under `policy` (snapshot `current`).
pub(super) fn reevaluate(job: &JobRow, policy: &Policy, current: &str) -> Reevaluation {
    let Ok(req) = request::decode(&job.request) else {
        return Reevaluation::Refused {
            error: stale_request(),
            verdict: None,
        };
    };
    if request::requester_of(&req).is_empty() {
        return Reevaluation::Refused {
            error: ApiError::conflict(
                code::STALE_SNAPSHOT,
                "original requester identity unavailable; resubmit under current policy",
            ),
            verdict: None,
        };
    }
    let labels = request::policy_labels(&req);
    let verdict = policy.evaluate(Subject {
        topic: &req.topic,
        labels: &labels,
    });
    if verdict.decision.lets_approval_proceed() {
        return Reevaluation::Proceeds(verdict);
    }
    let message = format!(
        "policy drift denies this request under current snapshot (was={} now={current} decision={})",
        job.safety.snapshot.trim(),
        verdict.decision.wire_name()
    );
    Reevaluation::Refused {
        error: ApiError::conflict(code::STALE_SNAPSHOT, message),
        verdict: Some(verdict),
    }
}

/// Writes a verdict into the safety record (the job hash stays: the request did not change)
/// and counts the change in the approval revision.
pub(super) fn record_verdict(job: &mut JobRow, verdict: Evaluation, snapshot: &str, now_us: i64) {
    let reason = if verdict.decision == Decision::Allow && verdict.reason.is_empty() {
        ALLOWED_BUT_HELD.to_owned()
    } else {
        verdict.reason
    };
    job.safety.decision = verdict.decision.wire_name().into();
    job.safety.rule_id = verdict.rule_id;
    job.safety.reason = reason;
    job.safety.constraints = verdict.constraints;
    job.safety.snapshot = snapshot.to_owned();
    job.safety.checked_at = now_us;
    job.approval.bump_revision();
}

/// One planned change: the new row, the snapshot it was read with (the write's guard), and
/// what to audit and announce.
struct Change {
    job: JobRow,
    was: String,
    audit: AuditEvent,
    kind: &'static str,
    event: Value,
}

/// What a batch changed.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Applied {
    pub last_event: Option<i64>,
    pub refreshed: usize,
    pub invalidated: usize,
}

/// Every stale pending item's new state, computed before the transaction that writes it.
pub(super) struct Batch {
    changes: Vec<Change>,
}

impl Batch {
    /// Reads every pending item of `tenant` whose snapshot base is not `snapshot`'s and decides what
    /// becomes of it under `policy`. Items without a snapshot never claimed a policy and are
    /// left alone (approve refuses them with "approval policy snapshot unavailable").
    pub(super) fn plan(
        c: &mut Conn,
        tenant: &str,
        policy: &Policy,
        snapshot: &str,
        source: &str,
        now_us: i64,
    ) -> Result<Self, GatewayError> {
        let stale: Vec<JobRow> = jobs::pending(&c.db, tenant)?
            .into_iter()
            .filter(|j| !j.safety.snapshot.trim().is_empty())
            .filter(|j| !same_policy(&j.safety.snapshot, snapshot))
            .collect();
        let changes = stale
            .into_iter()
            .map(|mut job| {
                let was = job.safety.snapshot.clone();
                let outcome = reevaluate(&job, policy, snapshot);
                let mut audit = stamped_audit_event(now_us, &job.tenant, "approval", "");
                audit.job_id = job.id.clone();
                audit.agent_id = job.actor_id.clone();
                audit.risk_tags = job.risk_tags.clone();
                audit.policy_version = snapshot.to_owned();
                audit.extra.insert("previous_snapshot".into(), json!(was));
                audit.extra.insert("source".into(), json!(source));
                job.updated_at = c.stamp(now_us);
                let (kind, event) = match outcome {
                    Reevaluation::Proceeds(verdict) => {
                        audit.action = "approval_reevaluated".into();
                        audit.decision = verdict.decision.wire_name().into();
                        audit.matched_rule = verdict.rule_id.clone();
                        record_verdict(&mut job, verdict, snapshot, now_us);
                        audit.reason = job.safety.reason.clone();
                        (events::kind::APPROVAL_UPDATED, view::approval_item(&job))
                    }
                    Reevaluation::Refused { error, verdict } => {
                        audit.action = "approval_invalidated".into();
                        audit.severity = "MEDIUM".into();
                        if let Some(verdict) = verdict {
                            audit.decision = verdict.decision.wire_name().into();
                            audit.matched_rule = verdict.rule_id.clone();
                            record_verdict(&mut job, verdict, snapshot, now_us);
                        }
                        audit.reason = error.message().to_owned();
                        invalidate(&mut job, error.message(), now_us);
                        (events::kind::APPROVAL_RESOLVED, view::resolved_event(&job))
                    }
                };
                Change {
                    job,
                    was,
                    audit,
                    kind,
                    event,
                }
            })
            .collect();
        Ok(Self { changes })
    }

    /// Writes the batch in `tx`. A row that changed since it was read (an approve or reject
    /// won the race) is skipped: its new owner already decided it.
    pub(super) fn apply(self, tx: &Transaction<'_>, now_us: i64) -> Result<Applied, GatewayError> {
        let mut applied = Applied::default();
        for change in self.changes {
            let job = &change.job;
            if !jobs::update_if_snapshot(tx, job, state::APPROVAL_REQUIRED, &change.was)? {
                continue;
            }
            audit::append(tx, change.audit)?;
            applied.last_event = Some(events::append(
                tx,
                &job.tenant,
                change.kind,
                &change.event,
                now_us,
            )?);
            if change.kind == events::kind::APPROVAL_UPDATED {
                applied.refreshed += 1;
            } else {
                applied.invalidated += 1;
            }
        }
        Ok(applied)
    }
}

/// Takes an item out of the queue because the current policy refuses it.
fn invalidate(job: &mut JobRow, resolution: &str, now_us: i64) {
    job.state = state::DENIED.into();
    job.approval.status = view::INVALIDATED.into();
    job.approval.decision = "invalidate".into();
    // A verdict already counted the refresh; the resolution counts once more, as approve does.
    job.approval.bump_revision();
    job.approval.resolved_by = RESOLVED_BY_POLICY.into();
    job.approval.resolved_at = now_us;
    job.approval.resolution = resolution.to_owned();
    job.approval.comment.clear();
    job.approval.job_hash = job.safety.job_hash.clone();
    job.approval.snapshot = job.safety.snapshot.clone();
}
