//! The dispatch-time gate (seed 003's gate B): right before a job reaches a worker, the policy
//! is evaluated again through the policy engine, because the world may have changed since the
//! job was allowed or approved.
//!
//! | the engine says | what happens |
//! |---|---|
//! | allow | dispatched |
//! | require_human, and the job was approved under this snapshot base | dispatched (the approval covers this policy) |
//! | require_human otherwise | the approval is (re-)opened under the new snapshot: the reviewer signed the old policy |
//! | deny | `DENIED` at dispatch, the reason recorded |
//! | throttle | requeued with backoff |
//! | nothing (timeout, error, unreachable, breaker open) | by the job's fail mode: closed requeues with backoff, open dispatches unchecked and counts it |
//!
//! A dispatch also needs a worker for the topic (none: requeued) and a payload that still
//! matches its content-addressed pointer (changed: `FAILED`, a content conflict). Every requeue
//! counts one scheduling attempt; the last allowed one fails the job with
//! `scheduling_retries_exhausted`.
//!
//! The verdict is written under the publish lock, after checking that the policy evaluated is
//! still current (else it is evaluated again), so a re-opened item never claims a snapshot
//! that a concurrent publish has already replaced.

use countersign_core::snapshot::same_policy;
use serde_json::{json, Value};

use super::dispatcher::{move_to, Next};
use super::reevaluate::record_verdict;
use super::Gateway;
use crate::clock::duration_us;
use crate::config::FailMode;
use crate::dispatch;
use crate::engine::{EngineCall, EngineError};
use crate::error::GatewayError;
use crate::metrics::Conflict;
use crate::policy::{Decision, Evaluation};
use crate::request;
use crate::store::jobs::{state, ApprovalRecord, JobRow};
use crate::store::scheduling::{self, Scheduling};
use crate::store::{audit, events};
use crate::view;
use crate::workers::WorkerMode;

/// The failure reason of a job whose scheduling attempts ran out.
pub const RETRIES_EXHAUSTED: &str = "scheduling_retries_exhausted";
/// Why a job waits while the engine cannot answer in closed mode.
pub const WAIT_ENGINE: &str = "policy engine unavailable";
const WAIT_THROTTLED: &str = "throttled by policy";
const WAIT_NO_WORKER: &str = "no worker available for topic";
const PAYLOAD_CHANGED: &str =
    "payload_changed: the stored payload no longer matches its content-addressed pointer";

/// How many times a verdict is recomputed because a publish replaced the policy meanwhile.
const POLICY_RACE_RETRIES: usize = 3;

/// The gate's verdict on one attempt.
enum Verdict {
    Dispatch {
        fail_open: Option<EngineError>,
        eval: Option<Evaluation>,
    },
    Wait {
        reason: &'static str,
        engine: Option<EngineError>,
    },
    Deny(Evaluation),
    Reopen(Evaluation),
    Fail(&'static str),
}

impl Gateway {
    /// One attempt of the dispatch-time gate for a `PENDING` job.
    pub(super) async fn gate(&self, job: JobRow) -> Result<Next, GatewayError> {
        let Ok(req) = request::decode(&job.request) else {
            return self.stop(&job, "stored request unreadable").await;
        };
        let labels = request::policy_labels(&req);
        let fail_mode = self.inner.dispatch.fail_mode_for(&labels);
        let mut tries = 0usize;
        let (result, snapshot, stable) = loop {
            let (policy, snapshot) = self.current_policy(&job.tenant);
            let call = EngineCall {
                policy,
                topic: job.topic.clone(),
                labels: labels.clone(),
            };
            let checked = self.inner.policy_client.check(call).await;
            self.inner
                .metrics
                .breaker(self.inner.policy_client.breaker().state, checked.transition);
            let stable = self.inner.publish.read().await;
            tries = tries.saturating_add(1);
            if self.current_snapshot(&job.tenant) == snapshot || tries >= POLICY_RACE_RETRIES {
                break (checked.result, snapshot, stable);
            }
        };
        let verdict = match result {
            Err(e) => match fail_mode {
                FailMode::Closed => Verdict::Wait {
                    reason: WAIT_ENGINE,
                    engine: Some(e),
                },
                FailMode::Open => Verdict::Dispatch {
                    fail_open: Some(e),
                    eval: None,
                },
            },
            Ok(eval) => match eval.decision {
                Decision::Allow => Verdict::Dispatch {
                    fail_open: None,
                    eval: Some(eval),
                },
                Decision::Deny => Verdict::Deny(eval),
                Decision::Throttle => Verdict::Wait {
                    reason: WAIT_THROTTLED,
                    engine: None,
                },
                Decision::RequireHuman
                    if job.approval.status == "approved"
                        && same_policy(&job.approval.snapshot, &snapshot) =>
                {
                    Verdict::Dispatch {
                        fail_open: None,
                        eval: Some(eval),
                    }
                }
                Decision::RequireHuman => Verdict::Reopen(eval),
            },
        };
        let verdict = match verdict {
            Verdict::Dispatch { .. }
                if self.inner.workers.mode(&job.topic) == WorkerMode::Absent =>
            {
                Verdict::Wait {
                    reason: WAIT_NO_WORKER,
                    engine: None,
                }
            }
            Verdict::Dispatch { .. }
                if !request::payload_intact(&req, &job.prompt, &job.context) =>
            {
                self.inner.metrics.conflict(Conflict::Content);
                Verdict::Fail(PAYLOAD_CHANGED)
            }
            other => other,
        };
        let decision = |outcome: &str, eval: Option<&Evaluation>, engine: Option<&EngineError>| {
            decision_record(outcome, eval, engine, &snapshot, fail_mode, self.now_us())
        };
        let next = match verdict {
            Verdict::Dispatch { fail_open, eval } => {
                let outcome = if fail_open.is_some() {
                    "fail_open"
                } else {
                    "dispatched"
                };
                let record = decision(outcome, eval.as_ref(), fail_open.as_ref());
                let dispatched = self.dispatch_now(&job, record).await?;
                drop(stable);
                if let Some(sched) = dispatched {
                    self.inner.metrics.outcome(outcome);
                    if fail_open.is_some() {
                        self.inner.metrics.fail_open(&job.topic);
                        tracing::warn!(job_id = %job.id, topic = %job.topic, attempts = sched.attempts, "dispatched fail-open without a policy check");
                    }
                }
                // Straight to the worker: the dispatch is committed, delivery is idempotent.
                if self.deliver(&job).await? {
                    Next::Done
                } else {
                    Next::RetryAt(self.retry_time(u32::MAX))
                }
            }
            Verdict::Wait { reason, engine } => {
                let record = decision("requeued", None, engine.as_ref());
                self.requeue(&job, reason, engine.is_some().then_some(fail_mode), record)
                    .await?
            }
            Verdict::Deny(eval) => {
                let reason = if eval.reason.trim().is_empty() {
                    "policy denied".to_owned()
                } else {
                    eval.reason.clone()
                };
                let record = decision("denied", Some(&eval), None);
                self.stop_as(
                    &job,
                    state::DENIED,
                    &reason,
                    Some(record),
                    "dispatch_denied",
                )
                .await?
            }
            Verdict::Reopen(eval) => {
                let record = decision("reopened", Some(&eval), None);
                self.reopen(&job, eval, &snapshot, record).await?;
                Next::Done
            }
            Verdict::Fail(reason) => {
                let record = decision("failed", None, None);
                self.stop_as(&job, state::FAILED, reason, Some(record), "dispatch_failed")
                    .await?
            }
        };
        Ok(next)
    }

    /// When retry number `attempt` is due.
    pub(super) fn retry_time(&self, attempt: u32) -> i64 {
        self.now_us()
            .saturating_add(duration_us(self.inner.dispatch.backoff(attempt)))
    }

    /// `PENDING` → `SCHEDULED` with the dispatch recorded (once: `dispatches` is keyed on
    /// the job id). Returns the scheduling record when this call dispatched it.
    async fn dispatch_now(
        &self,
        job: &JobRow,
        record: Value,
    ) -> Result<Option<Scheduling>, GatewayError> {
        let source = if job.approval.status == "approved" {
            dispatch::Source::Approval
        } else {
            dispatch::Source::Submit
        };
        let written = self
            .commit_pending(
                &job.id,
                Box::new(move |tx, job, sched, stamp| {
                    sched.wait_reason.clear();
                    sched.decision = Some(record);
                    dispatch::record(tx, &job.id, &job.tenant, &job.topic, source, stamp)?;
                    move_to(tx, job, state::PENDING, state::SCHEDULED, stamp)
                }),
            )
            .await?;
        let Some((_, sched)) = written else {
            return Ok(None);
        };
        let waited_us = self.now_us().saturating_sub(sched.ready_at);
        self.inner.metrics.dispatched_after(waited_us as f64 / 1e6);
        Ok(Some(sched))
    }

    /// Counts an attempt and schedules the next, or fails the job at the cap.
    async fn requeue(
        &self,
        job: &JobRow,
        reason: &'static str,
        fail_mode: Option<FailMode>,
        record: Value,
    ) -> Result<Next, GatewayError> {
        let max = self.inner.dispatch.max_scheduling_attempts;
        let config = self.inner.dispatch.clone();
        let now = self.now_us();
        let written = self
            .commit_pending(
                &job.id,
                Box::new(move |tx, job, sched, stamp| {
                    sched.attempts = sched.attempts.saturating_add(1);
                    sched.wait_reason = reason.to_owned();
                    sched.fail_mode = fail_mode.map(|m| m.as_str().to_owned()).unwrap_or_default();
                    sched.decision = Some(record);
                    if sched.attempts >= max {
                        sched.failure_reason = RETRIES_EXHAUSTED.to_owned();
                        sched.wait_reason.clear();
                        let mut event =
                            stop_audit(job, stamp, "dispatch_failed", RETRIES_EXHAUSTED);
                        event.extra.insert("attempts".into(), json!(sched.attempts));
                        audit::append(tx, event)?;
                        return move_to(tx, job, state::PENDING, state::FAILED, stamp);
                    }
                    sched.next_attempt_at =
                        now.saturating_add(duration_us(config.backoff(sched.attempts)));
                    move_to(tx, job, state::PENDING, state::PENDING, stamp)
                }),
            )
            .await?;
        let Some((job, sched)) = written else {
            return Ok(Next::Done);
        };
        if job.state == state::FAILED {
            self.inner.metrics.outcome("failed");
            tracing::warn!(job_id = %job.id, "scheduling retries exhausted");
            return Ok(Next::Done);
        }
        self.inner.metrics.retried(reason);
        Ok(Next::RetryAt(sched.next_attempt_at))
    }

    /// A job the gate cannot run at all (its stored request is unreadable).
    async fn stop(&self, job: &JobRow, reason: &str) -> Result<Next, GatewayError> {
        self.stop_as(job, state::FAILED, reason, None, "dispatch_failed")
            .await
    }

    /// Ends a job's dispatch in `to` (`DENIED` or `FAILED`) with its reason, audited.
    async fn stop_as(
        &self,
        job: &JobRow,
        to: &'static str,
        reason: &str,
        record: Option<Value>,
        action: &'static str,
    ) -> Result<Next, GatewayError> {
        let reason = reason.to_owned();
        let written = self
            .commit_pending(
                &job.id,
                Box::new(move |tx, job, sched, stamp| {
                    sched.failure_reason.clone_from(&reason);
                    sched.wait_reason.clear();
                    if record.is_some() {
                        sched.decision = record;
                    }
                    audit::append(tx, stop_audit(job, stamp, action, &reason))?;
                    move_to(tx, job, state::PENDING, to, stamp)
                }),
            )
            .await?;
        if written.is_some() {
            self.inner.metrics.outcome(if to == state::DENIED {
                "denied"
            } else {
                "failed"
            });
            tracing::info!(job_id = %job.id, state = to, "stopped at dispatch");
        }
        Ok(Next::Done)
    }

    /// The policy requires a human for a job no approval under this snapshot covers: it goes
    /// back to the queue as a fresh item under the new snapshot (the job hash stays: the
    /// request did not change).
    async fn reopen(
        &self,
        job: &JobRow,
        eval: Evaluation,
        snapshot: &str,
        record: Value,
    ) -> Result<(), GatewayError> {
        let snapshot = snapshot.to_owned();
        let written = self
            .commit_pending(
                &job.id,
                Box::new(move |tx, job, sched, stamp| {
                    let previous = job.approval.snapshot.clone();
                    // Counts the change in the revision, as a re-evaluation does.
                    record_verdict(job, eval, &snapshot, stamp);
                    job.approval = ApprovalRecord {
                        status: "pending".into(),
                        revision: job.approval.revision,
                        ..ApprovalRecord::default()
                    };
                    job.safety.approval_required = true;
                    // The approval labels belonged to the approval that no longer covers it.
                    if let Ok(mut req) = request::decode(&job.request) {
                        req.labels
                            .retain(|k, _| !k.starts_with("approval_") && k != "cordum.bus_msg_id");
                        job.request = req.to_protojson();
                    }
                    sched.wait_reason.clear();
                    sched.decision = Some(record);
                    let mut event = stop_audit(job, stamp, "approval_reopened", &job.safety.reason);
                    event.policy_version = snapshot.clone();
                    event
                        .extra
                        .insert("previous_snapshot".into(), json!(previous));
                    audit::append(tx, event)?;
                    if !move_to(tx, job, state::PENDING, state::APPROVAL_REQUIRED, stamp)? {
                        return Ok(false);
                    }
                    events::append(
                        tx,
                        &job.tenant,
                        events::kind::APPROVAL_REQUIRED,
                        &view::approval_item(job),
                        stamp,
                    )?;
                    Ok(true)
                }),
            )
            .await?;
        if written.is_some() {
            self.inner.metrics.outcome("reopened");
            tracing::info!(job_id = %job.id, "approval re-opened: the policy changed before dispatch");
        }
        Ok(())
    }
}

/// A change of a job the gate still holds (`PENDING`), with its scheduling record to update.
type PendingWrite = Box<
    dyn FnOnce(
            &rusqlite::Transaction<'_>,
            &mut JobRow,
            &mut Scheduling,
            i64,
        ) -> Result<bool, GatewayError>
        + Send,
>;

impl Gateway {
    /// [`Gateway::commit_progress`] for a job still `PENDING`: `write` changes the job and its
    /// scheduling record, which is saved with it.
    async fn commit_pending(
        &self,
        job_id: &str,
        write: PendingWrite,
    ) -> Result<Option<(JobRow, Scheduling)>, GatewayError> {
        let written = self
            .commit_progress(
                job_id,
                Box::new(move |tx, job, stamp| {
                    let Some(mut sched) = pending_sched(tx, job, stamp)? else {
                        return Ok(false);
                    };
                    if !write(tx, job, &mut sched, stamp)? {
                        return Ok(false);
                    }
                    scheduling::save(tx, &sched)?;
                    Ok(true)
                }),
            )
            .await?;
        Ok(written.and_then(|(job, sched)| Some((job, sched?))))
    }
}

/// The scheduling record of a job still `PENDING` (the gate's to move), or a fresh one for a
/// job from a database older than the dispatcher; `None` once the job moved on.
fn pending_sched(
    tx: &rusqlite::Transaction<'_>,
    job: &JobRow,
    now_us: i64,
) -> Result<Option<Scheduling>, GatewayError> {
    if job.state != state::PENDING {
        return Ok(None);
    }
    Ok(Some(scheduling::get(tx, &job.id)?.unwrap_or_else(|| {
        Scheduling {
            job_id: job.id.clone(),
            tenant: job.tenant.clone(),
            ready_at: job.updated_at.min(now_us),
            next_attempt_at: now_us,
            ..Scheduling::default()
        }
    })))
}

fn stop_audit(job: &JobRow, now_us: i64, action: &str, reason: &str) -> audit::AuditEvent {
    let mut event = super::stamped_audit_event(now_us, &job.tenant, "dispatch", action);
    event.job_id = job.id.clone();
    event.agent_id = job.actor_id.clone();
    event.reason = reason.to_owned();
    event.risk_tags = job.risk_tags.clone();
    event.policy_version = job.safety.snapshot.clone();
    event
}

/// The dispatch-time decision as the job status shows it.
fn decision_record(
    outcome: &str,
    eval: Option<&Evaluation>,
    engine: Option<&EngineError>,
    snapshot: &str,
    fail_mode: FailMode,
    now_us: i64,
) -> Value {
    let mut record = json!({
        "outcome": outcome,
        "policy_snapshot": snapshot,
        "fail_mode": fail_mode.as_str(),
        "checked_at": now_us,
    });
    if let Some(eval) = eval {
        record["decision"] = json!(eval.decision.wire_name());
        record["rule_id"] = json!(eval.rule_id);
        record["reason"] = json!(eval.reason);
    }
    if let Some(e) = engine {
        record["engine_error"] = json!({ "code": e.code(), "message": e.to_string() });
    }
    record
}
