//! The decision protocol, the heart of the product: exactly one decision per reviewer action,
//! never two approvals, never a lost one, never a silent failure.
//!
//! 1. **Verify** (approve only): fetch the item, the snapshots and the request fresh and run
//!    the drift verdict against what the reviewer saw; any drift refuses locally, nothing sent.
//! 2. **Record the intent** in the ledger's outbox before the first byte goes out.
//! 3. **Send** with the reason/note (512 bytes max) and the `expected_*` preconditions.
//! 4. **Retry** network errors, 5xx and lock answers with bounded backoff.
//! 5. **Reconcile** ambiguous answers from the job record.
//! 6. **Close** the outbox row. At start-up, [`Decider::recover`] finishes every open row
//!    (re-verifying approvals first) before anything else.
//!
//! Rejects skip step 1: refusing a request that changed is safe whatever it became.

mod reconcile;
mod retry;
mod send;
mod verify;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use countersign_core::outcome::DecisionAction;
use countersign_core::verify::{SeenItem, Verdict};
use countersign_ledger::{new_decision_id, DecisionIntent, Ledger, LedgerError, NewEntry};
use serde::Serialize;
use serde_json::Value;

pub(crate) use retry::backoff;
pub use retry::RetryPolicy;
pub use send::{free_text, FREE_TEXT_MAX_BYTES};
pub(crate) use verify::fetch_item;

use self::reconcile::{reconcile, Reconciled};
use crate::error::{ClientError, Result};
use crate::http::GatewayClient;
use crate::ledger_call;

/// How a decision ended, when it is in effect on the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Settlement {
    /// This call made the decision.
    Applied,
    /// The same decision was already in effect: an earlier attempt of ours (`by_us`), or
    /// another reviewer or device that got there first. Not an error for the reviewer.
    AlreadyApplied { by: String, by_us: bool },
}

/// The result of [`Decider::approve`], [`Decider::reject`] or one recovered intent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionReport {
    pub job_id: String,
    pub action: DecisionAction,
    /// The outbox row; `None` when nothing had to be sent (already decided).
    pub decision_id: Option<String>,
    pub settlement: Settlement,
    /// The drift verdict computed before approving.
    pub verdict: Option<Verdict>,
    /// Sends made by this call.
    pub attempts: u32,
}

/// One open intent finished by [`Decider::recover`].
#[derive(Debug)]
pub struct Recovered {
    pub decision_id: String,
    pub job_id: String,
    pub result: Result<DecisionReport>,
}

/// Makes decisions for one gateway and one ledger. Cheap to clone; clones share the set of
/// jobs being decided, so [`Decider::recover`] never drives an intent a live call is driving.
#[derive(Debug, Clone)]
pub struct Decider {
    client: GatewayClient,
    ledger: Arc<Ledger>,
    retry: RetryPolicy,
    in_flight: Arc<Mutex<HashSet<String>>>,
}

/// A job claimed by one call of this process until dropped.
struct Claim {
    set: Arc<Mutex<HashSet<String>>>,
    job_id: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.set).remove(&self.job_id);
    }
}

fn lock(set: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    // Inserts and removes cannot be left half done, so a poisoned set is still accurate.
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Decider {
    pub fn new(client: GatewayClient, ledger: Arc<Ledger>, retry: RetryPolicy) -> Self {
        Self {
            client,
            ledger,
            retry,
            in_flight: Arc::default(),
        }
    }

    fn claim(&self, job_id: &str) -> Option<Claim> {
        lock(&self.in_flight)
            .insert(job_id.to_owned())
            .then(|| Claim {
                set: Arc::clone(&self.in_flight),
                job_id: job_id.to_owned(),
            })
    }

    fn claim_or_busy(&self, job_id: &str) -> Result<Claim> {
        self.claim(job_id)
            .ok_or_else(|| ClientError::DecisionInFlight {
                job_id: job_id.to_owned(),
                decision_id: None,
            })
    }

    pub fn client(&self) -> &GatewayClient {
        &self.client
    }

    /// Approves what the reviewer saw, if it is still exactly that.
    pub async fn approve(
        &self,
        seen: &SeenItem,
        reason: &str,
        note: &str,
    ) -> Result<DecisionReport> {
        let _claim = self.claim_or_busy(&seen.job_id)?;
        let fresh = verify::check(&self.client, seen).await?;
        let verdict = fresh.verdict.clone();
        self.record_verification(seen, &fresh).await?;
        match &verdict {
            Verdict::Verified { .. } => {}
            Verdict::NoLongerPending { .. } => {
                return self
                    .already_resolved(seen, DecisionAction::Approve, verdict)
                    .await
            }
            _ => return Err(ClientError::Drift(verdict)),
        }
        let topic = fresh
            .item
            .map(|item| item.job.topic)
            .filter(|t| !t.is_empty());
        let intent = DecisionIntent {
            decision_id: new_decision_id(),
            job_id: seen.job_id.clone(),
            topic,
            action: DecisionAction::Approve,
            job_hash: seen.job_hash.clone(),
            policy_snapshot: seen.policy_snapshot.clone(),
            reason: free_text(reason),
        };
        self.send_new(intent, &free_text(note), Some(verdict)).await
    }

    /// Rejects the job; a reason is required.
    pub async fn reject(
        &self,
        seen: &SeenItem,
        reason: &str,
        note: &str,
    ) -> Result<DecisionReport> {
        let reason = free_text(reason);
        if reason.is_empty() {
            return Err(ClientError::InvalidInput("a reject needs a reason".into()));
        }
        let _claim = self.claim_or_busy(&seen.job_id)?;
        let intent = DecisionIntent {
            decision_id: new_decision_id(),
            job_id: seen.job_id.clone(),
            topic: None,
            action: DecisionAction::Reject,
            job_hash: seen.job_hash.clone(),
            policy_snapshot: seen.policy_snapshot.clone(),
            reason,
        };
        self.send_new(intent, &free_text(note), None).await
    }

    async fn send_new(
        &self,
        intent: DecisionIntent,
        note: &str,
        verdict: Option<Verdict>,
    ) -> Result<DecisionReport> {
        let recorded = intent.clone();
        let written =
            ledger_call(&self.ledger, move |l| l.record_intent(&recorded).map(drop)).await;
        if let Err(ClientError::Ledger(LedgerError::IntentPending {
            job_id,
            decision_id,
        })) = written
        {
            return Err(ClientError::DecisionInFlight {
                job_id,
                decision_id: Some(decision_id),
            });
        }
        written?;
        let (settlement, attempts) = self.drive(&intent, note).await?;
        Ok(DecisionReport {
            job_id: intent.job_id,
            action: intent.action,
            decision_id: Some(intent.decision_id),
            settlement,
            verdict,
            attempts,
        })
    }

    /// The item is resolved already: fine when it went the reviewer's way, else a conflict.
    async fn already_resolved(
        &self,
        seen: &SeenItem,
        action: DecisionAction,
        verdict: Verdict,
    ) -> Result<DecisionReport> {
        let job = self.client.job_status(&seen.job_id).await?;
        match reconcile(action, &job) {
            Reconciled::Landed { by } => Ok(DecisionReport {
                job_id: seen.job_id.clone(),
                action,
                decision_id: None,
                settlement: self.already(&by).await,
                verdict: Some(verdict),
                attempts: 0,
            }),
            // Listed as resolved yet the job waits (a refresh in between): the reviewer retries.
            Reconciled::Pending => Err(ClientError::Drift(verdict)),
            Reconciled::Conflict(outcome) => Err(ClientError::Conflict(outcome)),
        }
    }

    async fn record_verification(&self, seen: &SeenItem, fresh: &verify::Fresh) -> Result<()> {
        let verdict_entry = NewEntry::verdict(seen, &fresh.verdict)?;
        let request_entry = fresh.request.as_ref().map(|doc| {
            let body = serde_json::from_slice(&doc.job_request).unwrap_or(Value::Null);
            NewEntry::job_request(&seen.job_id, body)
        });
        ledger_call(&self.ledger, move |l| {
            if let Some(entry) = request_entry {
                l.append(entry)?;
            }
            l.append(verdict_entry).map(drop)
        })
        .await
    }

    /// Finishes every decision left open by a crash or an exhausted retry budget, oldest
    /// first. Call at start-up before anything else, and after the network comes back;
    /// intents a live call of this process is driving are left to it.
    pub async fn recover(&self) -> Result<Vec<Recovered>> {
        let open = ledger_call(&self.ledger, Ledger::open_intents).await?;
        let mut finished = Vec::with_capacity(open.len());
        for record in open {
            let intent = record.intent;
            let Some(_claim) = self.claim(&intent.job_id) else {
                continue;
            };
            let result = self.finish(&intent).await;
            finished.push(Recovered {
                decision_id: intent.decision_id.clone(),
                job_id: intent.job_id.clone(),
                result,
            });
        }
        Ok(finished)
    }

    /// One open intent: read the job; if the decision landed (or the job went another way)
    /// close the row; if it still waits, re-verify an approval and send it.
    async fn finish(&self, intent: &DecisionIntent) -> Result<DecisionReport> {
        let report = |settlement, verdict, attempts| DecisionReport {
            job_id: intent.job_id.clone(),
            action: intent.action,
            decision_id: Some(intent.decision_id.clone()),
            settlement,
            verdict,
            attempts,
        };
        let job = match self.client.job_status(&intent.job_id).await {
            Ok(job) => job,
            Err(ClientError::NotFound(message)) => {
                self.record(intent, "not_found", &message, Value::Null, true)
                    .await?;
                return Err(ClientError::NotFound(message));
            }
            Err(error) => return Err(error),
        };
        match reconcile(intent.action, &job) {
            Reconciled::Landed { by } => {
                let job_json = serde_json::to_value(&job).unwrap_or(Value::Null);
                self.record(
                    intent,
                    "reconciled",
                    &format!("resolved by {by}"),
                    job_json,
                    true,
                )
                .await?;
                Ok(report(self.already(&by).await, None, 0))
            }
            Reconciled::Conflict(outcome) => {
                let job_json = serde_json::to_value(&job).unwrap_or(Value::Null);
                self.record(
                    intent,
                    outcome.code(),
                    outcome.server_message(),
                    job_json,
                    true,
                )
                .await?;
                Err(self.refusal(outcome))
            }
            Reconciled::Pending => {
                let verdict = match intent.action {
                    DecisionAction::Approve => Some(self.reverify(intent).await?),
                    DecisionAction::Reject => None,
                };
                let (settlement, attempts) = self.drive(intent, "").await?;
                Ok(report(settlement, verdict, attempts))
            }
        }
    }

    /// Re-runs the drift check for a recovered approval against what the reviewer saw then.
    async fn reverify(&self, intent: &DecisionIntent) -> Result<Verdict> {
        let mut seen = SeenItem {
            job_id: intent.job_id.clone(),
            job_hash: intent.job_hash.clone(),
            policy_snapshot: intent.policy_snapshot.clone(),
            workflow_gate: false,
        };
        // The gate flag is not in the outbox. Verification refuses snapshot-less items unless
        // they are gates, so an intent without a snapshot can only have been a gate's.
        if seen.policy_snapshot.trim().is_empty() {
            seen.workflow_gate = verify::fetch_item(&self.client, &seen.job_id)
                .await?
                .is_some_and(|item| item.is_workflow_gate());
        }
        let fresh = verify::check(&self.client, &seen).await?;
        self.record_verification(&seen, &fresh).await?;
        if fresh.verdict.is_verified() {
            return Ok(fresh.verdict);
        }
        let verdict = fresh.verdict;
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
