//! Settling what an answer leaves open from the job record, and the bookkeeping every step
//! shares: the lease, re-verification, and recording outcomes in the outbox.

use countersign_core::approval::ApprovalItem;
use countersign_core::outcome::GatewayOutcome;
use countersign_core::verify::{SeenItem, Verdict};
use countersign_ledger::{DecisionIntent, DecisionOutcome, NewEntry};
use serde_json::{json, Value};

use super::reconcile::{approval_mismatch, reconcile, Reconciled};
use super::send::{Drive, Step};
use super::{verify, Decider, Settlement, LEASE};
use crate::error::{ClientError, Result};
use crate::generation::is_missing_route;
use crate::http::RawAnswer;
use crate::job::JobStatus;
use crate::ledger_call;

/// What the gateway said before the job record is read.
pub(super) enum Answer {
    /// Nothing was sent: verification found the item no longer pending.
    NotPending,
    /// An answer that does not say whether our decision took effect.
    Ambiguous(GatewayOutcome),
    /// An outright refusal, after an earlier attempt that may have landed.
    Refusal(GatewayOutcome),
}

/// `GET /api/v1/jobs/{id}` as reconciliation needs it.
pub(super) enum JobRead {
    Record(JobStatus),
    /// A 404 about the job itself: the job is gone.
    Gone(String),
}

impl Decider {
    /// Reads the job to settle an answer; see [`Answer`]. When the job cannot be read the row
    /// stays open for another round or for [`Decider::recover`].
    pub(super) async fn settle_from_job(
        &self,
        intent: &DecisionIntent,
        answer: Answer,
        drive: &mut Drive,
    ) -> Result<Step> {
        let job = match self.read_job(&intent.job_id).await {
            Ok(JobRead::Record(job)) => job,
            Ok(JobRead::Gone(message)) => {
                self.record(intent, "not_found", &message, Value::Null, true)
                    .await?;
                return Ok(Step::Fail(ClientError::NotFound(message)));
            }
            Err(error) if error.is_transient() => {
                return Ok(Step::Retry {
                    why: format!("reading the job: {error}"),
                    uncertain: false,
                })
            }
            Err(error) => return Ok(Step::Fail(error)),
        };
        let reconciled = match reconcile(intent, &job) {
            Ok(reconciled) => reconciled,
            Err(error) => return Ok(Step::Fail(error)),
        };
        Ok(match (reconciled, answer) {
            (Reconciled::Landed { by }, _) => {
                let message = format!("resolved by {by}");
                self.record(intent, "reconciled", &message, json!(job), true)
                    .await?;
                // Most likely ours if an attempt of this drive (or of the process that recorded
                // it, for a recovered row) may have committed, or another intent of this
                // profile was bound to the same request; otherwise someone else's.
                let ours = drive.uncertain
                    || self
                        .has_intent(
                            &intent.job_id,
                            intent.action,
                            &intent.job_hash,
                            Some(&intent.decision_id),
                        )
                        .await?;
                Step::Done(self.already(&by, ours).await, None)
            }
            (Reconciled::Conflict(outcome), _)
            | (Reconciled::Pending, Answer::Refusal(outcome)) => {
                self.record_outcome(intent, &outcome, json!(job), true)
                    .await?;
                Step::Fail(self.refusal(outcome))
            }
            // Verification and the job record disagree for a moment (a refresh in between).
            (Reconciled::Pending, Answer::NotPending) => Step::Retry {
                why: "job still awaiting approval".into(),
                uncertain: false,
            },
            (Reconciled::Pending, Answer::Ambiguous(outcome)) => {
                self.stuck(intent, outcome, json!(job), drive).await?
            }
        })
    }

    /// The job waits, yet the gateway would not take the decision. Nothing of ours landed
    /// (the job says so), so once the item is not actionable any more, or the same answer
    /// comes twice in a row, re-sending cannot help: the row closes with that answer.
    async fn stuck(
        &self,
        intent: &DecisionIntent,
        outcome: GatewayOutcome,
        job: Value,
        drive: &mut Drive,
    ) -> Result<Step> {
        let item = match crate::review::fetch_item(&self.client, &intent.job_id).await {
            Ok(item) => item,
            Err(error) if error.is_transient() => {
                return Ok(Step::Retry {
                    why: format!("reading the item: {error}"),
                    uncertain: false,
                })
            }
            Err(error) => return Ok(Step::Fail(error)),
        };
        let key = (
            outcome.code().to_owned(),
            outcome.server_message().to_owned(),
        );
        let actionable = item.as_ref().is_some_and(ApprovalItem::is_pending);
        if actionable && drive.last_ambiguous.as_ref() != Some(&key) {
            drive.last_ambiguous = Some(key);
            return Ok(Step::Retry {
                why: format!("{}: {}", outcome.code(), outcome.server_message()),
                uncertain: false,
            });
        }
        let why = match &item {
            None => "the approval is not in the pending list".to_owned(),
            Some(item) if !actionable => format!(
                "the approval is {}",
                [&item.approval_actionability, &item.approval_status]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .map_or("settled", String::as_str)
            ),
            Some(_) => "the gateway gave the same answer twice".to_owned(),
        };
        let message = format!(
            "{} ({}: {}); the job still awaits a decision",
            why,
            outcome.code(),
            outcome.server_message()
        );
        self.record(intent, outcome.code(), &message, job, true)
            .await?;
        Ok(Step::Fail(ClientError::Conflict(
            GatewayOutcome::NotActionable {
                message,
                ambiguous: false,
            },
        )))
    }

    /// The job record; a 404 means the job is gone only when it is about the job, not a route
    /// the gateway lacks (that gateway cannot settle anything: a protocol error).
    pub(super) async fn read_job(&self, job_id: &str) -> Result<JobRead> {
        match self.client.job_status(job_id).await {
            Ok(job) => Ok(JobRead::Record(job)),
            Err(ClientError::NotFound(message)) => {
                let answer = RawAnswer {
                    status: 404,
                    body: message.clone(),
                };
                if is_missing_route(&answer) {
                    Err(ClientError::GatewayProtocol(format!(
                        "the gateway cannot show job {job_id}: {message}"
                    )))
                } else {
                    Ok(JobRead::Gone(message))
                }
            }
            Err(error) => Err(error),
        }
    }

    /// After the gateway applied our approval: its record must bind it to what the reviewer
    /// saw. A gateway that ignores the preconditions (Cordum) may approve under a request or
    /// policy that changed since; that is recorded as a conflict entry and reported. A record
    /// that cannot be read proves nothing either way.
    pub(super) async fn check_applied(
        &self,
        intent: &DecisionIntent,
    ) -> Option<(String, NewEntry)> {
        let job = match self.client.job_status(&intent.job_id).await {
            Ok(job) => job,
            Err(error) => {
                tracing::debug!(code = error.code(), "applied approval not read back");
                return None;
            }
        };
        let mismatch = approval_mismatch(intent, &job)?;
        let message = format!("the gateway applied the approval {mismatch}");
        tracing::warn!(job_id = %intent.job_id, "{message}");
        let entry = NewEntry::conflict(
            &intent.job_id,
            "applied_mismatch",
            json!({ "decision_id": intent.decision_id, "message": message, "job": job }),
        );
        Some((message, entry))
    }

    /// Re-runs the drift check for an approval about to be (re-)sent, against what the
    /// reviewer saw. `Ok(false)`: the item is not pending any more. Drift closes the row.
    pub(super) async fn reverify(&self, intent: &DecisionIntent) -> Result<bool> {
        let mut seen = SeenItem {
            job_id: intent.job_id.clone(),
            job_hash: intent.job_hash.clone(),
            policy_snapshot: intent.policy_snapshot.clone(),
            workflow_gate: intent.workflow_gate,
            content_digest: intent.content_digest.clone(),
            content: intent.content.clone(),
        };
        // Rows written before the gate flag was kept: verification refuses snapshot-less
        // items unless they are gates, so such a row can only have been a gate's.
        if !seen.workflow_gate && seen.policy_snapshot.trim().is_empty() {
            seen.workflow_gate = crate::review::fetch_item(&self.client, &seen.job_id)
                .await?
                .is_some_and(|item| item.is_workflow_gate());
        }
        let fresh = verify::check(&self.client, &seen).await?;
        self.record_verification(&seen, &fresh).await?;
        match fresh.verdict {
            verdict if verdict.is_verified() => Ok(true),
            Verdict::NoLongerPending { .. } => Ok(false),
            verdict => {
                self.record(
                    intent,
                    "drift",
                    &verdict.message(),
                    serde_json::to_value(&verdict).unwrap_or(Value::Null),
                    true,
                )
                .await?;
                Err(ClientError::Drift(verdict))
            }
        }
    }

    /// Extends the lease before a send; a lost lease means another process drives the row now.
    pub(super) async fn renew(&self, intent: &DecisionIntent) -> Result<()> {
        let (id, holder) = (intent.decision_id.clone(), self.holder.clone());
        let held = ledger_call(&self.ledger, move |l| l.renew_lease(&id, &holder, LEASE)).await?;
        if held {
            return Ok(());
        }
        Err(ClientError::OutcomeUnknown {
            decision_id: intent.decision_id.clone(),
            last_error: "another process took over or closed this decision; see the ledger".into(),
        })
    }

    /// Gives the lease back so recovery need not wait for it to expire.
    pub(super) async fn release(&self, intent: &DecisionIntent) {
        let (id, holder) = (intent.decision_id.clone(), self.holder.clone());
        if let Err(error) = ledger_call(&self.ledger, move |l| l.release_intent(&id, &holder)).await
        {
            // The lease runs out by itself; recovery just waits for that.
            tracing::warn!(code = error.code(), "outbox lease not released");
        }
    }

    /// A call's result, except that an error leaving the row open says the outcome is not
    /// known yet: a refusal or a read failure must not look final while recovery may still
    /// send the decision.
    pub(super) async fn unless_open<T>(
        &self,
        intent: &DecisionIntent,
        result: Result<T>,
    ) -> Result<T> {
        let error = match result {
            Ok(value) => return Ok(value),
            Err(
                error @ (ClientError::OutcomeUnknown { .. }
                | ClientError::AppliedNotRecorded { .. }),
            ) => return Err(error),
            Err(error) => error,
        };
        let id = intent.decision_id.clone();
        match ledger_call(&self.ledger, move |l| l.intent(&id)).await {
            Ok(record) if record.closed_at.is_some() => Err(error),
            _ => Err(ClientError::OutcomeUnknown {
                decision_id: intent.decision_id.clone(),
                last_error: format!("{}: {error}", error.code()),
            }),
        }
    }

    /// A decision of the same kind is in effect, by `by`.
    pub(super) async fn already(&self, by: &str, earlier_attempt: bool) -> Settlement {
        let by_us = if by.is_empty() {
            None
        } else {
            self.client.identity().await.map(|me| me.principal == by)
        };
        Settlement::AlreadyApplied {
            by: by.to_owned(),
            by_us,
            earlier_attempt,
        }
    }

    /// The error a final refusal is reported as.
    pub(super) fn refusal(&self, outcome: GatewayOutcome) -> ClientError {
        match outcome {
            GatewayOutcome::SelfApprovalDenied { message } => {
                ClientError::SelfApprovalDenied(message)
            }
            GatewayOutcome::Unauthorized { message } => self.client.unauthorized(message),
            GatewayOutcome::Forbidden { message } => ClientError::Forbidden(message),
            GatewayOutcome::NotFound { message } => ClientError::NotFound(message),
            // A body the gateway cannot read is a protocol mismatch, not a conflict about the
            // job: the reviewer must not be told someone else decided.
            GatewayOutcome::BadRequest { message } => ClientError::GatewayProtocol(format!(
                "the gateway refused the decision body: {message}"
            )),
            other => ClientError::Conflict(other),
        }
    }

    pub(super) async fn record_outcome(
        &self,
        intent: &DecisionIntent,
        outcome: &GatewayOutcome,
        server: Value,
        is_final: bool,
    ) -> Result<()> {
        let outcome = DecisionOutcome::from_gateway(outcome, server, is_final);
        self.write_outcome(intent, outcome).await
    }

    pub(super) async fn record(
        &self,
        intent: &DecisionIntent,
        code: &str,
        message: &str,
        server: Value,
        is_final: bool,
    ) -> Result<()> {
        let outcome = DecisionOutcome {
            code: code.to_owned(),
            message: message.to_owned(),
            server_body: server,
            is_final,
        };
        self.write_outcome(intent, outcome).await
    }

    async fn write_outcome(&self, intent: &DecisionIntent, outcome: DecisionOutcome) -> Result<()> {
        let id = intent.decision_id.clone();
        ledger_call(&self.ledger, move |l| {
            l.close_intent(&id, &outcome).map(drop)
        })
        .await
    }
}
