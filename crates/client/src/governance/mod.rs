//! Governance decisions (seed 004): approving or rejecting a policy draft, bound to the draft
//! snapshot the reviewer saw, with the guarantees of job decisions ([`crate::decide`]):
//!
//! 1. **Check** the draft fetched fresh against what was seen
//!    ([`countersign_core::governance::check_fresh`]: same active snapshot and source hash,
//!    YAML that hashes to it, no blockers, the current policy still the draft's base); any
//!    difference refuses locally with the gateway's code, nothing sent.
//! 2. **Record the intent** in the ledger's governance outbox before the first byte goes out.
//! 3. **Send** with `expected_snapshot_id` and `expected_source_snapshot_hash`, so the gateway
//!    applies the decision to that snapshot or to nothing.
//! 4. **Retry** network errors, timeouts, 429 and 5xx with bounded backoff: the gateway's
//!    approve is idempotent per snapshot, so a re-send after a lost answer reads the approval
//!    back (`already_approved`) instead of approving again.
//! 5. **Close** the row with the final answer. A decision whose retries ran out stays open
//!    ([`ClientError::OutcomeUnknown`]) and [`GovernanceDecider::recover`] finishes it.
//!
//! Recovery leaves alone the rows this decider is sending and rows younger than
//! [`RECOVERY_AGE`]: another process of the profile (the app, a CLI run) may still be sending
//! them. Two senders would do no harm at the gateway (one approval per snapshot), and a row
//! the other closed first is not an error here: the answer stands either way.
//!
//! A success is believed only when its record names the snapshot and source hash that were
//! sent: a gateway that answers "approved" for anything else is a protocol error.

mod api;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use countersign_core::governance::{
    check_fresh, DraftBinding, GovernanceAnswer, GovernanceChannel, Refusal,
};
use countersign_core::outcome::DecisionAction;
use countersign_ledger::{
    new_decision_id, DecisionOutcome, GovernanceIntent, Ledger, LedgerError, NewEntry,
};
use serde::Serialize;
use serde_json::{json, Value};

pub use api::DraftFilter;

use crate::decide::{backoff, free_text, RetryPolicy};
use crate::error::{ClientError, Result};
use crate::http::GatewayClient;
use crate::ledger_call;

/// How old an open row must be before recovery takes it from whoever recorded it: longer than
/// one decision's sends with their retries.
pub const RECOVERY_AGE: Duration = Duration::from_secs(120);

/// How a governance decision ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GovernanceReport {
    pub decision_id: String,
    pub binding: DraftBinding,
    pub action: DecisionAction,
    /// `Approved` or `Rejected`, with the gateway's record.
    pub answer: GovernanceAnswer,
    /// Whether the record is this reviewer's: `Some(true)` when the gateway's session names us
    /// as its actor, `None` when the gateway cannot say who we are.
    pub by_us: Option<bool>,
    /// Sends, the first included.
    pub attempts: u32,
}

impl GovernanceReport {
    /// Who the gateway recorded as deciding.
    pub fn actor(&self) -> &str {
        match &self.answer {
            GovernanceAnswer::Approved { approval, .. } => &approval.actor,
            GovernanceAnswer::Rejected { rejection, .. } => &rejection.actor,
            _ => "",
        }
    }

    /// The policy snapshot an approval made current.
    pub fn published_snapshot(&self) -> Option<&str> {
        match &self.answer {
            GovernanceAnswer::Approved { approval, .. } => Some(&approval.published_snapshot),
            _ => None,
        }
    }
}

/// Approves and rejects policy drafts.
#[derive(Debug, Clone)]
pub struct GovernanceDecider {
    client: GatewayClient,
    ledger: Arc<Ledger>,
    retry: RetryPolicy,
    /// Decisions this decider (and its clones) is sending now.
    sending: Arc<Mutex<HashSet<String>>>,
}

/// Marks a decision as being sent for as long as it lives.
struct Sending {
    set: Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl Sending {
    fn start(set: &Arc<Mutex<HashSet<String>>>, id: &str) -> Option<Self> {
        let fresh = set
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned());
        fresh.then(|| Self {
            set: Arc::clone(set),
            id: id.to_owned(),
        })
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl GovernanceDecider {
    pub fn new(client: GatewayClient, ledger: Arc<Ledger>, retry: RetryPolicy) -> Self {
        Self {
            client,
            ledger,
            retry,
            sending: Arc::default(),
        }
    }

    pub fn client(&self) -> &GatewayClient {
        &self.client
    }

    /// Fetches a draft and records its active snapshot as seen (once per snapshot).
    pub async fn show(&self, draft_id: &str) -> Result<countersign_core::governance::PolicyDraft> {
        let draft = self.client.policy_draft(draft_id).await?;
        let seen = draft.clone();
        ledger_call(&self.ledger, move |l| l.mark_draft_seen(&seen)).await?;
        Ok(draft)
    }

    /// Approves the snapshot `seen` names, with an optional rationale.
    pub async fn approve(
        &self,
        seen: &DraftBinding,
        rationale: &str,
        channel: GovernanceChannel,
    ) -> Result<GovernanceReport> {
        self.decide(seen, DecisionAction::Approve, rationale, channel)
            .await
    }

    /// Rejects the draft at the snapshot `seen` names; the reason is required.
    pub async fn reject(
        &self,
        seen: &DraftBinding,
        reason: &str,
        channel: GovernanceChannel,
    ) -> Result<GovernanceReport> {
        if reason.trim().is_empty() {
            return Err(ClientError::InvalidInput(
                "a rejection needs a reason".into(),
            ));
        }
        self.decide(seen, DecisionAction::Reject, reason, channel)
            .await
    }

    /// Finishes the governance decisions a crash or an outage left open (see the module docs
    /// for which), oldest first.
    pub async fn recover(&self) -> Result<Vec<(String, Result<GovernanceReport>)>> {
        self.recover_older_than(RECOVERY_AGE).await
    }

    /// [`GovernanceDecider::recover`] for rows at least `age` old: `Duration::ZERO` at the
    /// start of a process that knows no other is sending (a test, a single CLI run).
    pub async fn recover_older_than(
        &self,
        age: Duration,
    ) -> Result<Vec<(String, Result<GovernanceReport>)>> {
        let open = ledger_call(&self.ledger, move |l| l.stale_governance_intents(age)).await?;
        let mut finished = Vec::with_capacity(open.len());
        for record in open {
            let id = record.intent.decision_id.clone();
            let Some(_sending) = Sending::start(&self.sending, &id) else {
                continue;
            };
            finished.push((id, self.drive(record.intent).await));
        }
        Ok(finished)
    }

    async fn decide(
        &self,
        seen: &DraftBinding,
        action: DecisionAction,
        reason: &str,
        channel: GovernanceChannel,
    ) -> Result<GovernanceReport> {
        let reason = free_text("reason", reason)?;
        self.check(seen, action).await?;
        let intent = GovernanceIntent {
            decision_id: new_decision_id(),
            binding: seen.clone(),
            action,
            reason,
            channel,
        };
        let recorded = intent.clone();
        let _sending = Sending::start(&self.sending, &intent.decision_id);
        ledger_call(&self.ledger, move |l| l.record_governance_intent(&recorded))
            .await
            .map_err(|e| match e {
                ClientError::Ledger(LedgerError::GovernancePending {
                    draft_id,
                    decision_id,
                }) => ClientError::DecisionInFlight {
                    job_id: draft_id,
                    decision_id: Some(decision_id),
                },
                other => other,
            })?;
        self.drive(intent).await
    }

    /// Step 1: the draft now against the draft seen. A refusal is recorded as a conflict.
    ///
    /// The current policy is read before the draft. A gateway records an approval and
    /// publishes its policy in one transaction, so a current policy that is another
    /// reviewer's approval of this very draft comes with a draft read after it that shows the
    /// approval, and the check lets the approve go on to read it back (`already_approved`).
    /// Read the other way round, the draft could be read open just before that approval and
    /// the policy just after, and the reviewer was told `stale_base` ("propose it again") for
    /// a draft that had been approved.
    async fn check(&self, seen: &DraftBinding, action: DecisionAction) -> Result<()> {
        let current = match action {
            DecisionAction::Approve => self.client.policy_snapshots().await?.into_iter().next(),
            DecisionAction::Reject => None,
        };
        let fresh = self.client.policy_draft(&seen.draft_id).await?;
        let Err(refusal) = check_fresh(seen, &fresh, current.as_deref(), action) else {
            return Ok(());
        };
        let detail = json!({
            "seen": seen,
            "now": {
                "status": fresh.status,
                "snapshot_id": fresh.active_snapshot.snapshot_id,
                "version": fresh.active_snapshot.version,
                "source_snapshot_hash": fresh.active_snapshot.source_snapshot_hash,
                "blocker_ids": fresh.active_snapshot.blocker_ids,
            },
            "current_policy": current,
            "message": refusal.message,
        });
        let entry = NewEntry::conflict(&seen.draft_id, &refusal.code, detail)
            .topic(countersign_ledger::GOVERNANCE_TOPIC)
            .decision(action.as_str());
        ledger_call(&self.ledger, move |l| l.append(entry)).await?;
        Err(refused(refusal))
    }

    /// Steps 3 to 5 for a recorded intent.
    async fn drive(&self, intent: GovernanceIntent) -> Result<GovernanceReport> {
        let body = decision_body(&intent);
        let draft_id = intent.binding.draft_id.clone();
        let attempts = self.retry.attempts();
        let mut last_error = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(backoff(
                    self.retry.initial_delay,
                    self.retry.max_delay,
                    attempt - 1,
                ))
                .await;
            }
            let answer = match self
                .client
                .post_governance_decision(&draft_id, intent.action, &body)
                .await
            {
                Ok(raw) => (
                    GovernanceAnswer::classify(raw.status, raw.body.as_bytes()),
                    raw,
                ),
                Err(e) if e.is_transient() => {
                    last_error = e.to_string();
                    self.close(&intent, e.code(), &last_error, Value::Null, false)
                        .await?;
                    continue;
                }
                Err(e) => {
                    // Not worth re-sending (an answer over the size limit): final, and said.
                    self.close(&intent, e.code(), &e.to_string(), Value::Null, true)
                        .await?;
                    return Err(e);
                }
            };
            let (answer, raw) = answer;
            let server_body = serde_json::from_str(&raw.body).unwrap_or(Value::Null);
            if answer.is_transient() {
                last_error = format!("HTTP {}", raw.status);
                self.close(&intent, answer.code(), &last_error, server_body, false)
                    .await?;
                continue;
            }
            let code = answer.code().to_owned();
            let settled = settled(&intent, answer);
            let message = match &settled {
                Ok(_) => String::new(),
                Err(e) => e.to_string(),
            };
            self.close(&intent, &code, &message, server_body, true)
                .await?;
            let answer = settled?;
            let by_us = self.by_us(&answer).await;
            return Ok(GovernanceReport {
                decision_id: intent.decision_id.clone(),
                binding: intent.binding.clone(),
                action: intent.action,
                answer,
                by_us,
                attempts: attempt,
            });
        }
        Err(ClientError::OutcomeUnknown {
            decision_id: intent.decision_id,
            last_error,
        })
    }

    async fn close(
        &self,
        intent: &GovernanceIntent,
        code: &str,
        message: &str,
        server_body: Value,
        is_final: bool,
    ) -> Result<()> {
        let outcome = DecisionOutcome {
            code: code.to_owned(),
            message: message.to_owned(),
            server_body,
            is_final,
        };
        let id = intent.decision_id.clone();
        ledger_call(&self.ledger, move |l| {
            l.close_governance_intent(&id, &outcome)
        })
        .await?;
        Ok(())
    }

    async fn by_us(&self, answer: &GovernanceAnswer) -> Option<bool> {
        let actor = match answer {
            GovernanceAnswer::Approved { approval, .. } => &approval.actor,
            GovernanceAnswer::Rejected { rejection, .. } => &rejection.actor,
            _ => return None,
        };
        let me = self.client.identity().await?;
        Some(&me.principal == actor)
    }
}

/// The answer as the end of the decision: a success for the snapshot sent, or the error.
fn settled(intent: &GovernanceIntent, answer: GovernanceAnswer) -> Result<GovernanceAnswer> {
    let binding = &intent.binding;
    let names_the_snapshot = |snapshot_id: &str, hash: &str| {
        snapshot_id == binding.snapshot_id && hash == binding.source_snapshot_hash
    };
    match (&answer, intent.action) {
        (GovernanceAnswer::Approved { approval, .. }, DecisionAction::Approve)
            if names_the_snapshot(&approval.snapshot_id, &approval.source_snapshot_hash) =>
        {
            Ok(answer)
        }
        (GovernanceAnswer::Rejected { rejection, .. }, DecisionAction::Reject)
            if names_the_snapshot(&rejection.snapshot_id, &rejection.source_snapshot_hash) =>
        {
            Ok(answer)
        }
        (GovernanceAnswer::Approved { .. } | GovernanceAnswer::Rejected { .. }, _) => {
            Err(ClientError::GatewayProtocol(format!(
                "the gateway answered {} with a record of another snapshot or decision",
                intent.action.as_str()
            )))
        }
        (GovernanceAnswer::Refused { code, message, .. }, _) => Err(refused(Refusal {
            code: code.clone(),
            message: message.clone(),
        })),
        (GovernanceAnswer::Forbidden { message, .. }, _) => {
            Err(ClientError::Forbidden(message.clone()))
        }
        (GovernanceAnswer::Unavailable { status, message }, _)
        | (GovernanceAnswer::Unrecognized { status, message }, _) => Err(
            ClientError::GatewayProtocol(format!("HTTP {status}: {message}")),
        ),
    }
}

fn refused(refusal: Refusal) -> ClientError {
    ClientError::GovernanceRefused {
        code: refusal.code,
        message: refusal.message,
    }
}

fn decision_body(intent: &GovernanceIntent) -> Value {
    let binding = &intent.binding;
    let mut body = json!({
        "expected_snapshot_id": binding.snapshot_id,
        "channel": intent.channel,
    });
    match intent.action {
        DecisionAction::Approve => {
            body["expected_source_snapshot_hash"] = json!(binding.source_snapshot_hash);
            if !intent.reason.is_empty() {
                body["rationale"] = json!(intent.reason);
            }
        }
        DecisionAction::Reject => body["reason"] = json!(intent.reason),
    }
    body
}
