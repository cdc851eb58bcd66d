//! Steps 3 to 6 for one recorded intent: send, retry what is retryable, reconcile what is
//! ambiguous, and close the outbox row with the final outcome. Every attempt's answer is
//! recorded in the ledger, final or not, so the history shows each try.

use countersign_core::outcome::{classify, DecisionAction, GatewayOutcome};
use countersign_ledger::DecisionIntent;
use serde_json::{json, Value};

use super::settle::Answer;
use super::{Decider, Settlement};
use crate::error::{ClientError, Result};

/// Longest reason or note, in bytes: Cordum v0.9 cuts longer ones silently and the newest
/// stores them as `<redacted:too_large>`, so the client refuses them instead.
pub const FREE_TEXT_MAX_BYTES: usize = 512;

/// `text` trimmed; longer than [`FREE_TEXT_MAX_BYTES`] is refused (`invalid_input`) rather
/// than cut, so what the ledger records is exactly what the reviewer wrote.
pub fn free_text(what: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.len() > FREE_TEXT_MAX_BYTES {
        return Err(ClientError::InvalidInput(format!(
            "the {what} is {} bytes; at most {FREE_TEXT_MAX_BYTES} are allowed",
            text.len()
        )));
    }
    Ok(text.to_owned())
}

/// The JSON body of approve or reject. The `expected_*` preconditions are the reference
/// gateway's extension, sent only when the gateway advertises it: the newest Cordum refuses
/// unknown fields with a 400.
pub(crate) fn decision_body(intent: &DecisionIntent, preconditions: bool) -> Value {
    let mut body = json!({ "reason": intent.reason });
    if !intent.note.is_empty() {
        body["note"] = json!(intent.note);
    }
    if intent.action == DecisionAction::Approve && preconditions {
        body["expected_job_hash"] = json!(intent.job_hash);
        if !intent.policy_snapshot.is_empty() {
            body["expected_policy_snapshot"] = json!(intent.policy_snapshot);
        }
    }
    body
}

/// How one attempt ended.
pub(super) enum Step {
    /// Settled; the text names a mismatch between the approval in effect and what was seen.
    Done(Settlement, Option<String>),
    /// Worth another try. `uncertain` means the gateway may have committed this attempt
    /// (the answer was lost, or came from something in between, like a proxy's 502).
    Retry {
        why: String,
        uncertain: bool,
    },
    Fail(ClientError),
}

/// What one drive has learnt so far.
#[derive(Debug, Default)]
pub(super) struct Drive {
    /// An earlier attempt may have landed.
    pub uncertain: bool,
    pub last_error: String,
    /// The last ambiguous answer met while the job was verified waiting, as code and text.
    pub last_ambiguous: Option<(String, String)>,
    pub sends: u32,
}

fn server_body(body: &str) -> Value {
    serde_json::from_str(body.trim())
        .unwrap_or_else(|_| Value::String(crate::text::clip(body.trim())))
}

impl Decider {
    /// [`Decider::drive`], then: a row left open is reported as
    /// [`ClientError::OutcomeUnknown`], and the lease is given back either way.
    pub(super) async fn drive_leased(
        &self,
        intent: &DecisionIntent,
        verified: bool,
    ) -> Result<(Settlement, u32, Option<String>)> {
        let result = self.drive(intent, verified).await;
        let result = self.unless_open(intent, result).await;
        // A settled decision's row is closed, and its lease ended with it.
        if result.is_err() {
            self.release(intent).await;
        }
        result
    }

    /// Sends the intent until it settles or the retry budget is spent; in the latter case the
    /// outbox row stays open. Before every send the lease is renewed, and an approval is
    /// re-verified unless `verified` says the first send was checked just now.
    pub(super) async fn drive(
        &self,
        intent: &DecisionIntent,
        verified: bool,
    ) -> Result<(Settlement, u32, Option<String>)> {
        let preconditions = self.client.capabilities().preconditions == Some(true);
        let body = decision_body(intent, preconditions);
        // A recovered row may have been sent by the process that recorded it, its answer lost
        // with it: a replay is then most likely that send's.
        let mut drive = Drive {
            uncertain: !verified,
            ..Drive::default()
        };
        for round in 1..=self.retry.attempts() {
            if round > 1 {
                tokio::time::sleep(self.retry.delay(round - 1)).await;
            }
            // A first send right after recording holds the lease it was recorded with.
            if round > 1 || !verified {
                self.renew(intent).await?;
            }
            let step = if intent.action == DecisionAction::Approve && (round > 1 || !verified) {
                match self.reverify(intent).await {
                    Ok(true) => self.attempt(intent, &body, &mut drive).await?,
                    // Not pending any more: maybe our earlier attempt; the job says.
                    Ok(false) => {
                        self.settle_from_job(intent, Answer::NotPending, &mut drive)
                            .await?
                    }
                    Err(error) if error.is_transient() => Step::Retry {
                        why: error.to_string(),
                        uncertain: false,
                    },
                    Err(error) => return Err(error),
                }
            } else {
                self.attempt(intent, &body, &mut drive).await?
            };
            match step {
                Step::Done(settlement, mismatch) => return Ok((settlement, drive.sends, mismatch)),
                Step::Fail(error) => return Err(error),
                Step::Retry { why, uncertain } => {
                    drive.uncertain |= uncertain;
                    drive.last_error = why;
                }
            }
        }
        Err(ClientError::OutcomeUnknown {
            decision_id: intent.decision_id.clone(),
            last_error: drive.last_error,
        })
    }

    /// One send.
    async fn attempt(
        &self,
        intent: &DecisionIntent,
        body: &Value,
        drive: &mut Drive,
    ) -> Result<Step> {
        drive.sends += 1;
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
            GatewayOutcome::Success { .. } => self.applied(intent, &outcome, server).await,
            // A replay says some decision of this kind is in effect, not that it is the one the
            // reviewer saw: the job record's approval fields say that. It is ours only if an
            // earlier send of this drive may have landed; on a first send it is someone else's
            // (a reviewer who won the race), and saying "most likely your earlier attempt"
            // would hide that.
            GatewayOutcome::AlreadyApproved { .. } | GatewayOutcome::AlreadyRejected { .. } => {
                self.record_outcome(intent, &outcome, server, false).await?;
                self.settle_from_job(intent, Answer::Ambiguous(outcome), drive)
                    .await
            }
            _ if outcome.is_retryable() => {
                self.record_outcome(intent, &outcome, server, false).await?;
                Ok(Step::Retry {
                    why: format!("{}: {}", outcome.code(), outcome.server_message()),
                    // A lock answer comes from the gateway before it decides anything.
                    uncertain: matches!(outcome, GatewayOutcome::Unavailable { .. }),
                })
            }
            _ if outcome.is_ambiguous() => {
                self.record_outcome(intent, &outcome, server, false).await?;
                // An unreadable 2xx most likely applied it.
                drive.uncertain |= matches!(outcome, GatewayOutcome::Unexpected { .. });
                self.settle_from_job(intent, Answer::Ambiguous(outcome), drive)
                    .await
            }
            // A refusal may follow an attempt that landed (its answer lost); the job decides.
            _ if drive.uncertain => {
                self.record_outcome(intent, &outcome, server, false).await?;
                self.settle_from_job(intent, Answer::Refusal(outcome), drive)
                    .await
            }
            _ => {
                self.record_outcome(intent, &outcome, server, true).await?;
                Ok(Step::Fail(self.refusal(outcome)))
            }
        }
    }

    /// The gateway applied our decision: record it (a failure to is its own error, with the
    /// row left open for recovery to record from the job), then check the approval in effect
    /// is bound to what the reviewer saw where the gateway shows it.
    async fn applied(
        &self,
        intent: &DecisionIntent,
        outcome: &GatewayOutcome,
        server: Value,
    ) -> Result<Step> {
        // Reading the approval back does not wait for the outcome's durable write.
        let check = async {
            match intent.action {
                DecisionAction::Approve => self.check_applied(intent).await,
                DecisionAction::Reject => None,
            }
        };
        let (recorded, mismatch) =
            tokio::join!(self.record_outcome(intent, outcome, server, true), check);
        if let Err(error) = recorded {
            return Err(ClientError::AppliedNotRecorded {
                decision_id: intent.decision_id.clone(),
                message: error.to_string(),
            });
        }
        let Some((message, conflict)) = mismatch else {
            return Ok(Step::Done(Settlement::Applied, None));
        };
        // After the outcome, so the history reads in the order things were learnt.
        if let Err(error) = self.append(vec![conflict]).await {
            tracing::error!(code = error.code(), "applied mismatch not recorded");
        }
        Ok(Step::Done(Settlement::Applied, Some(message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_over_512_bytes_is_refused_not_cut() {
        assert_eq!(free_text("reason", "  ok \n").expect("short"), "ok");
        assert_eq!(
            free_text("reason", &"é".repeat(256)).expect("512").len(),
            512
        );
        for long in ["é".repeat(257), "x".repeat(513)] {
            let error = free_text("reason", &long).expect_err("too long");
            assert_eq!(error.code(), "invalid_input");
            assert!(error.to_string().contains("at most 512"), "{error}");
        }
    }

    #[test]
    fn approve_bodies_carry_preconditions_only_where_advertised() {
        let mut intent = DecisionIntent {
            decision_id: "d".into(),
            job_id: "j".into(),
            topic: None,
            action: DecisionAction::Approve,
            job_hash: "h".into(),
            policy_snapshot: "s".into(),
            reason: "r".into(),
            note: "n".into(),
            workflow_gate: false,
            content_digest: String::new(),
            content: None,
        };
        assert_eq!(
            decision_body(&intent, true),
            json!({"reason": "r", "note": "n", "expected_job_hash": "h", "expected_policy_snapshot": "s"})
        );
        // The newest Cordum refuses unknown fields: nothing extra without the advertisement.
        assert_eq!(
            decision_body(&intent, false),
            json!({"reason": "r", "note": "n"})
        );
        intent.policy_snapshot.clear();
        intent.note.clear();
        assert_eq!(
            decision_body(&intent, true),
            json!({"reason": "r", "expected_job_hash": "h"})
        );
        intent.action = DecisionAction::Reject;
        assert_eq!(decision_body(&intent, true), json!({"reason": "r"}));
    }
}
