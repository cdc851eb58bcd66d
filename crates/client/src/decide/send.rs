//! Steps 3 to 6 for one recorded intent: send, retry what is retryable, reconcile what is
//! ambiguous, and close the outbox row with the final outcome. Every attempt's answer is
//! recorded in the ledger, final or not, so the history shows each try.

use countersign_core::outcome::{classify, DecisionAction, GatewayOutcome};
use countersign_ledger::{DecisionIntent, DecisionOutcome};
use serde_json::{json, Value};

use super::reconcile::{reconcile, Reconciled};
use super::{Decider, Settlement};
use crate::error::{ClientError, Result};

/// Longest reason or note, in bytes: Cordum truncates at 512 bytes, so the client does the
/// same and the ledger records exactly what the gateway stores.
pub const FREE_TEXT_MAX_BYTES: usize = 512;

/// Trims and truncates to [`FREE_TEXT_MAX_BYTES`] at a character boundary.
pub fn free_text(text: &str) -> String {
    let text = text.trim();
    let mut end = text.len().min(FREE_TEXT_MAX_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}

/// The JSON body of approve or reject. The `expected_*` preconditions are the reference
/// gateway's extension; Cordum ignores unknown fields, so they are always sent on approve.
pub(crate) fn decision_body(intent: &DecisionIntent, note: &str) -> Value {
    let mut body = json!({ "reason": intent.reason });
    if !note.is_empty() {
        body["note"] = json!(note);
    }
    if intent.action == DecisionAction::Approve {
        body["expected_job_hash"] = json!(intent.job_hash);
        if !intent.policy_snapshot.is_empty() {
            body["expected_policy_snapshot"] = json!(intent.policy_snapshot);
        }
    }
    body
}

/// How one attempt ended.
enum Step {
    Done(Settlement),
    /// Worth another try. `uncertain` means the gateway may have committed this attempt
    /// (the answer was lost, or came from something in between, like a proxy's 502).
    Retry {
        why: String,
        uncertain: bool,
    },
    Fail(ClientError),
}

fn server_body(body: &str) -> Value {
    serde_json::from_str(body.trim())
        .unwrap_or_else(|_| Value::String(body.trim().chars().take(500).collect()))
}

impl Decider {
    /// Sends the intent until it settles or the retry budget is spent; in the latter case the
    /// outbox row stays open and [`ClientError::OutcomeUnknown`] says so.
    pub(super) async fn drive(
        &self,
        intent: &DecisionIntent,
        note: &str,
    ) -> Result<(Settlement, u32)> {
        let body = decision_body(intent, note);
        let mut uncertain = false;
        let mut last_error = String::new();
        for attempt in 1..=self.retry.attempts() {
            if attempt > 1 {
                tokio::time::sleep(self.retry.delay(attempt - 1)).await;
            }
            match self.attempt(intent, &body, uncertain).await? {
                Step::Done(settlement) => return Ok((settlement, attempt)),
                Step::Fail(error) => return Err(error),
                Step::Retry { why, uncertain: u } => {
                    uncertain |= u;
                    last_error = why;
                }
            }
        }
        Err(ClientError::OutcomeUnknown {
            decision_id: intent.decision_id.clone(),
            last_error,
        })
    }

    /// One send. `uncertain`: an earlier attempt may have landed.
    async fn attempt(
        &self,
        intent: &DecisionIntent,
        body: &Value,
        uncertain: bool,
    ) -> Result<Step> {
        let answer = match self
            .client
            .post_decision(&intent.job_id, intent.action, body)
            .await
        {
            Ok(answer) => answer,
            // Whatever broke, the gateway may have committed: the retry (or reconciliation)
            // finds out, since approve and reject are idempotent on the gateway.
            Err(error) => {
                let why = error.to_string();
                self.record(intent, error.code(), &why, Value::Null, false)
                    .await?;
                return Ok(Step::Retry {
                    why,
                    uncertain: true,
                });
            }
        };
        let outcome = classify(intent.action, answer.status, &answer.body);
        let server = server_body(&answer.body);
        match &outcome {
            GatewayOutcome::Success { .. } => {
                self.record_outcome(intent, &outcome, server, true).await?;
                Ok(Step::Done(Settlement::Applied))
            }
            GatewayOutcome::AlreadyApproved { by, .. }
            | GatewayOutcome::AlreadyRejected { by, .. } => {
                self.record_outcome(intent, &outcome, server, true).await?;
                Ok(Step::Done(self.already(by).await))
            }
            _ if outcome.is_retryable() => {
                self.record_outcome(intent, &outcome, server, false).await?;
                Ok(Step::Retry {
                    why: format!("{}: {}", outcome.code(), outcome.server_message()),
                    // A lock answer comes from the gateway before it decides anything.
                    uncertain: matches!(outcome, GatewayOutcome::Unavailable { .. }),
                })
            }
            GatewayOutcome::NotActionable {
                ambiguous: true, ..
            } => {
                self.record_outcome(intent, &outcome, server, false).await?;
                self.settle_from_job(intent, None).await
            }
            // A refusal may follow an attempt that landed (its answer lost); the job decides.
            _ if uncertain => {
                self.record_outcome(intent, &outcome, server, false).await?;
                self.settle_from_job(intent, Some(outcome)).await
            }
            _ => {
                self.record_outcome(intent, &outcome, server, true).await?;
                Ok(Step::Fail(self.refusal(outcome)))
            }
        }
    }

    /// Reads the job to settle an answer that does not say how the job got resolved.
    /// `refusal` is the gateway's answer when it refused outright: it becomes final unless
    /// the job shows our decision in effect; when the job cannot be read, the row stays open
    /// for [`Decider::recover`].
    async fn settle_from_job(
        &self,
        intent: &DecisionIntent,
        refusal: Option<GatewayOutcome>,
    ) -> Result<Step> {
        let job = match self.client.job_status(&intent.job_id).await {
            Ok(job) => job,
            Err(error) => {
                return Ok(match refusal {
                    Some(outcome) => Step::Fail(self.refusal(outcome)),
                    None if error.is_transient() => Step::Retry {
                        why: error.to_string(),
                        uncertain: true,
                    },
                    None => Step::Fail(error),
                })
            }
        };
        Ok(match (reconcile(intent.action, &job), refusal) {
            (Reconciled::Landed { by }, _) => {
                self.record(
                    intent,
                    "reconciled",
                    &format!("resolved by {by}"),
                    json!(job),
                    true,
                )
                .await?;
                Step::Done(self.already(&by).await)
            }
            (_, Some(outcome)) => {
                self.record_outcome(intent, &outcome, json!(job), true)
                    .await?;
                Step::Fail(self.refusal(outcome))
            }
            // The gateway said "not awaiting" yet the job waits: a race with a refresh; retry.
            (Reconciled::Pending, None) => Step::Retry {
                why: "job still awaiting approval".into(),
                uncertain: false,
            },
            (Reconciled::Conflict(outcome), None) => {
                self.record_outcome(intent, &outcome, json!(job), true)
                    .await?;
                Step::Fail(self.refusal(outcome))
            }
        })
    }

    /// An earlier or concurrent decision of the same kind is in effect.
    pub(super) async fn already(&self, by: &str) -> Settlement {
        let by_us = match self.client.identity().await {
            Some(me) => !by.is_empty() && me.principal == by,
            None => false,
        };
        Settlement::AlreadyApplied {
            by: by.to_owned(),
            by_us,
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
            other => ClientError::Conflict(other),
        }
    }

    async fn record_outcome(
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
        crate::ledger_call(&self.ledger, move |l| {
            l.close_intent(&id, &outcome).map(drop)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_cut_at_512_bytes_on_a_char_boundary() {
        assert_eq!(free_text("  ok \n"), "ok");
        assert_eq!(free_text(&"é".repeat(300)).len(), 512);
        assert_eq!(free_text(&format!("a{}", "é".repeat(300))).len(), 511);
        assert_eq!(free_text(&"x".repeat(600)).len(), 512);
    }

    #[test]
    fn approve_bodies_carry_preconditions() {
        let mut intent = DecisionIntent {
            decision_id: "d".into(),
            job_id: "j".into(),
            topic: None,
            action: DecisionAction::Approve,
            job_hash: "h".into(),
            policy_snapshot: "s".into(),
            reason: "r".into(),
        };
        assert_eq!(
            decision_body(&intent, "n"),
            json!({"reason": "r", "note": "n", "expected_job_hash": "h", "expected_policy_snapshot": "s"})
        );
        intent.policy_snapshot.clear();
        assert_eq!(
            decision_body(&intent, ""),
            json!({"reason": "r", "expected_job_hash": "h"})
        );
        intent.action = DecisionAction::Reject;
        assert_eq!(decision_body(&intent, ""), json!({"reason": "r"}));
    }
}
