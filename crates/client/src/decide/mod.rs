//! The decision protocol, the heart of the product: exactly one decision per reviewer action,
//! never two approvals, never a lost one, never a silent failure.
//!
//! 1. **Verify** (approve only): fetch the item, the snapshots and the request fresh and run
//!    the drift verdict against what the reviewer saw; any drift refuses locally, nothing sent.
//! 2. **Record the intent** in the ledger's outbox before the first byte goes out, with the
//!    reason, the note and the gate flag, and the row's lease held by this [`Decider`].
//! 3. **Send** with the reason/note (512 bytes max, longer is refused) and, where the gateway
//!    advertises them, the `expected_*` preconditions.
//! 4. **Retry** network errors, 5xx and lock answers with bounded backoff, renewing the lease
//!    and re-verifying an approval before every re-send (Cordum ignores the preconditions, so
//!    only the client can refuse a retry under a request or policy that changed meanwhile).
//! 5. **Reconcile** ambiguous answers from the job record ([`reconcile`]).
//! 6. **Close** the outbox row. At start-up, [`Decider::recover`] finishes every open row
//!    whose lease is free (re-verifying approvals first) before anything else.
//!
//! Rejects skip step 1: refusing a request that changed is safe whatever it became.
//!
//! Who drives a row is decided in the ledger file, not in memory, because every process of a
//! profile (the app, each CLI run) shares it: only the lease holder sends (see
//! [`countersign_ledger::outbox`]). Whenever a call ends with its row still open, it reports
//! [`ClientError::OutcomeUnknown`], never an error that looks final.
//!
//! A row that stays open blocks new decisions on its job ([`ClientError::DecisionInFlight`]
//! names it). It is finished by [`Decider::recover`]; a row the gateway keeps refusing while
//! the job still waits is closed after two identical refusals in one drive, and recovery
//! gives up on a row after [`MAX_RECOVERIES`] claims (the job still waits, so nothing landed:
//! [`ClientError::Abandoned`]). Either way the reviewer's next decision is a new row. A
//! reviewer who does not want to wait can supersede an open row explicitly with
//! [`Decider::withdraw`], which closes it only once the job record proves it did not land.
//!
//! [`Settlement::AlreadyApplied::by_us`] is `Some` only when the gateway tells us who we are
//! (its session endpoint): an approval in effect under our principal may be an earlier
//! attempt of ours whose answer was lost, or the same reviewer on another device; the client
//! does not claim to know which, and without an identity it does not claim either way.

mod reconcile;
mod retry;
mod send;
mod settle;
mod verify;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use countersign_core::outcome::DecisionAction;
use countersign_core::verify::{SeenItem, Verdict};
use countersign_ledger::{
    new_decision_id, DecisionIntent, EntryKind, IntentRecord, LeaseHolder, Ledger, LedgerError,
    NewEntry, Query,
};
use serde::Serialize;
use serde_json::Value;

pub(crate) use reconcile::{resolution_status, resolver};
pub(crate) use retry::backoff;
pub use retry::RetryPolicy;
pub use send::{free_text, FREE_TEXT_MAX_BYTES};

use self::reconcile::{reconcile, Reconciled};
use self::settle::JobRead;
use crate::error::{ClientError, Result};
use crate::http::GatewayClient;
use crate::job::JobStatus;
use crate::ledger_call;

/// How long an outbox lease lasts without renewal: longer than one send with its
/// verification (a few requests of at most the HTTP timeout each), so a live holder never
/// loses it, and short enough that a crashed one blocks recovery only briefly.
pub const LEASE: Duration = Duration::from_secs(120);

/// Claims by recovery after which a row the gateway will not settle is given up.
pub const MAX_RECOVERIES: u64 = 8;

/// How a decision ended, when it is in effect on the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Settlement {
    /// This call made the decision.
    Applied,
    /// The same decision was already in effect, by `by` (empty when the gateway does not
    /// say). `by_us`: whether `by` is our own principal, `None` when the gateway cannot tell
    /// us who we are or does not say who decided (see the module docs). `earlier_attempt`:
    /// the ledger holds this profile's own intent for this job, action and hash, so the
    /// decision in effect is most likely that attempt (whose answer was lost). Say so rather
    /// than name `by`: v0.9 fills `approval_by` with the requester when the approving key
    /// has no principal.
    AlreadyApplied {
        by: String,
        by_us: Option<bool>,
        earlier_attempt: bool,
    },
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
    /// Set when the gateway applied our approval but its record binds it to another request
    /// hash or policy than the reviewer saw (recorded as a `conflict` entry too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
}

/// One open intent finished by [`Decider::recover`].
#[derive(Debug)]
pub struct Recovered {
    pub decision_id: String,
    pub job_id: String,
    pub result: Result<DecisionReport>,
}

/// Makes decisions for one gateway and one ledger. Cheap to clone; clones share the set of
/// jobs being decided and the lease holder name.
#[derive(Debug, Clone)]
pub struct Decider {
    client: GatewayClient,
    ledger: Arc<Ledger>,
    retry: RetryPolicy,
    /// Jobs a call of this process is deciding: keeps two calls of one process from both
    /// verifying and recording; the lease does the same across processes.
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// The name this decider's leases are held under, from `lease`.
    holder: Arc<str>,
    /// Keeps the holder's lock file locked while any clone lives, so that after a crash the
    /// next process sees the holder is gone and finishes its decisions at once.
    _lease: Arc<LeaseHolder>,
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
        let lease = ledger.lease_holder("decider").unwrap_or_else(|error| {
            tracing::warn!(%error, "outbox leases will run out instead of ending with this process");
            LeaseHolder::unlocked(format!("decider-{}", new_decision_id()))
        });
        Self {
            client,
            ledger,
            retry,
            in_flight: Arc::default(),
            holder: Arc::from(lease.name()),
            _lease: Arc::new(lease),
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
        let (reason, note) = (free_text("reason", reason)?, free_text("note", note)?);
        let _claim = self.claim_or_busy(&seen.job_id)?;
        let fresh = verify::check(&self.client, seen).await?;
        let verdict = fresh.verdict.clone();
        let evidence = fresh.evidence(seen)?;
        if !verdict.is_verified() {
            self.append(evidence).await?;
            return match verdict {
                Verdict::NoLongerPending { .. } => {
                    self.already_resolved(seen, DecisionAction::Approve, verdict)
                        .await
                }
                _ => Err(ClientError::Drift(verdict)),
            };
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
            reason,
            note,
            workflow_gate: seen.workflow_gate,
            content_digest: seen.content_digest.clone(),
            content: seen.content.clone(),
        };
        self.send_new(intent, Some(verdict), evidence).await
    }

    /// Rejects the job; a reason is required.
    pub async fn reject(
        &self,
        seen: &SeenItem,
        reason: &str,
        note: &str,
    ) -> Result<DecisionReport> {
        let reason = free_text("reason", reason)?;
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
            note: free_text("note", note)?,
            workflow_gate: seen.workflow_gate,
            content_digest: String::new(),
            content: None,
        };
        self.send_new(intent, None, Vec::new()).await
    }

    /// Records the intent, with the evidence it rests on, and drives it.
    async fn send_new(
        &self,
        intent: DecisionIntent,
        verdict: Option<Verdict>,
        evidence: Vec<NewEntry>,
    ) -> Result<DecisionReport> {
        let recorded = intent.clone();
        let holder = Arc::clone(&self.holder);
        let kept = evidence.clone();
        let written = ledger_call(&self.ledger, move |l| {
            l.record_intent_leased(evidence, &recorded, &holder, LEASE)
                .map(drop)
        })
        .await;
        if let Err(ClientError::Ledger(LedgerError::IntentPending {
            job_id,
            decision_id,
        })) = written
        {
            // The check was made and belongs in the history, decision or not.
            self.append(kept).await?;
            return Err(ClientError::DecisionInFlight {
                job_id,
                decision_id: Some(decision_id),
            });
        }
        written?;
        // The approval was verified just now: the first send needs no second check.
        let (settlement, attempts, mismatch) = self.drive_leased(&intent, true).await?;
        Ok(report(&intent, settlement, verdict, attempts, mismatch))
    }

    /// The item is resolved already: fine when it went the reviewer's way, else a conflict.
    async fn already_resolved(
        &self,
        seen: &SeenItem,
        action: DecisionAction,
        verdict: Verdict,
    ) -> Result<DecisionReport> {
        let job = match self.read_job(&seen.job_id).await? {
            JobRead::Record(job) => job,
            JobRead::Gone(message) => return Err(ClientError::NotFound(message)),
        };
        // What the reviewer saw is what an approval in effect must match.
        let as_seen = DecisionIntent {
            decision_id: String::new(),
            job_id: seen.job_id.clone(),
            topic: None,
            action,
            job_hash: seen.job_hash.clone(),
            policy_snapshot: seen.policy_snapshot.clone(),
            reason: String::new(),
            note: String::new(),
            workflow_gate: seen.workflow_gate,
            content_digest: String::new(),
            content: None,
        };
        match reconcile(&as_seen, &job)? {
            Reconciled::Landed { by } => Ok(DecisionReport {
                job_id: seen.job_id.clone(),
                action,
                decision_id: None,
                settlement: self
                    .already(
                        &by,
                        self.has_intent(&seen.job_id, action, &seen.job_hash, None)
                            .await?,
                    )
                    .await,
                verdict: Some(verdict),
                attempts: 0,
                mismatch: None,
            }),
            // Listed as resolved yet the job waits (a refresh in between): the reviewer retries.
            Reconciled::Pending => Err(ClientError::Drift(verdict)),
            Reconciled::Conflict(outcome) => Err(ClientError::Conflict(outcome)),
        }
    }

    /// Whether the ledger holds an intent of this profile for `seen`'s job, `action` and hash.
    /// Whether this profile's ledger holds an intent to take `action` on `job_id` bound to
    /// `job_hash`, other than `except` (a decision id): a decision of this kind in effect is
    /// then most likely that one (another process of the profile, or an attempt whose answer
    /// was lost).
    pub(super) async fn has_intent(
        &self,
        job_id: &str,
        action: DecisionAction,
        job_hash: &str,
        except: Option<&str>,
    ) -> Result<bool> {
        let query = Query {
            kinds: vec![EntryKind::DecisionIntent],
            job_id: Some(job_id.to_owned()),
            decision: Some(action.as_str().to_owned()),
            ..Query::default()
        };
        let (hash, except) = (job_hash.to_owned(), except.map(str::to_owned));
        ledger_call(&self.ledger, move |l| l.query(&query))
            .await
            .map(|page| {
                page.entries.iter().any(|entry| {
                    let body = |key| entry.body.get(key).and_then(Value::as_str);
                    body("job_hash") == Some(hash.as_str())
                        && except
                            .as_deref()
                            .is_none_or(|id| body("decision_id") != Some(id))
                })
            })
    }

    /// Records a check that will not be followed by a send.
    async fn record_verification(&self, seen: &SeenItem, fresh: &verify::Fresh) -> Result<()> {
        self.append(fresh.evidence(seen)?).await
    }

    /// Appends `entries` in one transaction.
    async fn append(&self, entries: Vec<NewEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        ledger_call(&self.ledger, move |l| l.append_all(entries).map(drop)).await
    }

    /// Finishes every decision left open by a crash or an exhausted retry budget, oldest
    /// first. Call at start-up before anything else, and after the network comes back.
    /// Rows another call or process holds a live lease on are left to it, and so are rows
    /// closed since the list was read: each row is claimed, and re-read, in one transaction.
    pub async fn recover(&self) -> Result<Vec<Recovered>> {
        let open = ledger_call(&self.ledger, Ledger::open_intents).await?;
        let mut finished = Vec::with_capacity(open.len());
        for listed in open {
            let (decision_id, job_id) = (listed.intent.decision_id, listed.intent.job_id);
            let Some(_claim) = self.claim(&job_id) else {
                continue;
            };
            let (id, holder) = (decision_id.clone(), Arc::clone(&self.holder));
            let result =
                match ledger_call(&self.ledger, move |l| l.claim_intent(&id, &holder, LEASE)).await
                {
                    Ok(Some(record)) => self.finish(&record).await,
                    Ok(None) => continue,
                    Err(error) => Err(error),
                };
            finished.push(Recovered {
                decision_id,
                job_id,
                result,
            });
        }
        Ok(finished)
    }

    /// Withdraws an open decision the reviewer wants to replace: allowed only when nobody is
    /// driving it (its lease is free) and the job record shows it did not land (the job still
    /// awaits a decision); the row closes as `withdrawn` and the reviewer decides anew. If
    /// the job shows it resolved meanwhile, the row is closed as recovery would and the
    /// report says how (`Some`); an unreadable job leaves the row open.
    pub async fn withdraw(&self, decision_id: &str) -> Result<Option<DecisionReport>> {
        let id = decision_id.to_owned();
        let listed = ledger_call(&self.ledger, move |l| l.intent(&id)).await?;
        let job_id = listed.intent.job_id;
        let busy = || ClientError::DecisionInFlight {
            job_id: job_id.clone(),
            decision_id: Some(decision_id.to_owned()),
        };
        let _claim = self.claim(&job_id).ok_or_else(busy)?;
        let (id, holder) = (decision_id.to_owned(), Arc::clone(&self.holder));
        let Some(record) =
            ledger_call(&self.ledger, move |l| l.claim_intent(&id, &holder, LEASE)).await?
        else {
            return Err(busy());
        };
        let intent = &record.intent;
        let result = self.withdraw_claimed(intent).await;
        self.release(intent).await;
        result
    }

    async fn withdraw_claimed(&self, intent: &DecisionIntent) -> Result<Option<DecisionReport>> {
        let (job, job_json) = self.read_job_or_close(intent).await?;
        match reconcile(intent, &job)? {
            Reconciled::Pending => {
                let message = "withdrawn by the reviewer; the job still awaits a decision";
                self.record(intent, "withdrawn", message, job_json, true)
                    .await?;
                Ok(None)
            }
            Reconciled::Landed { by } => {
                let message = format!("resolved by {by}");
                self.record(intent, "reconciled", &message, job_json, true)
                    .await?;
                let settlement = self.already(&by, true).await;
                Ok(Some(report(intent, settlement, None, 0, None)))
            }
            Reconciled::Conflict(outcome) => {
                self.record_outcome(intent, &outcome, job_json, true)
                    .await?;
                Err(self.refusal(outcome))
            }
        }
    }

    /// The job record of a claimed intent, and its JSON for the ledger; a job that is gone
    /// closes the row as `not_found`.
    async fn read_job_or_close(&self, intent: &DecisionIntent) -> Result<(JobStatus, Value)> {
        match self.read_job(&intent.job_id).await? {
            JobRead::Record(job) => {
                let job_json = serde_json::to_value(&job).unwrap_or(Value::Null);
                Ok((job, job_json))
            }
            JobRead::Gone(message) => {
                self.record(intent, "not_found", &message, Value::Null, true)
                    .await?;
                Err(ClientError::NotFound(message))
            }
        }
    }

    /// One claimed intent: read the job; if the decision landed (or the job went another way)
    /// close the row; if it still waits, send it again (re-verifying an approval first).
    async fn finish(&self, record: &IntentRecord) -> Result<DecisionReport> {
        let intent = &record.intent;
        let result = self.finish_claimed(record).await;
        let result = self.unless_open(intent, result).await;
        self.release(intent).await;
        let (settlement, attempts, mismatch) = result?;
        Ok(report(intent, settlement, None, attempts, mismatch))
    }

    async fn finish_claimed(
        &self,
        record: &IntentRecord,
    ) -> Result<(Settlement, u32, Option<String>)> {
        let intent = &record.intent;
        let (job, job_json) = self.read_job_or_close(intent).await?;
        match reconcile(intent, &job)? {
            Reconciled::Landed { by } => {
                let message = format!("resolved by {by}");
                self.record(intent, "reconciled", &message, job_json, true)
                    .await?;
                Ok((self.already(&by, true).await, 0, None))
            }
            Reconciled::Conflict(outcome) => {
                self.record_outcome(intent, &outcome, job_json, true)
                    .await?;
                Err(self.refusal(outcome))
            }
            // The job waits and we hold the lease, so no attempt of ours is in flight: none
            // landed, and giving up is the truth, not a guess.
            Reconciled::Pending if record.recoveries > MAX_RECOVERIES => {
                let message = format!(
                    "the gateway did not settle it in {MAX_RECOVERIES} recoveries and the job \
                     still awaits a decision"
                );
                self.record(intent, "abandoned", &message, job_json, true)
                    .await?;
                Err(ClientError::Abandoned {
                    decision_id: intent.decision_id.clone(),
                    message,
                })
            }
            Reconciled::Pending => self.drive(intent, false).await,
        }
    }
}

fn report(
    intent: &DecisionIntent,
    settlement: Settlement,
    verdict: Option<Verdict>,
    attempts: u32,
    mismatch: Option<String>,
) -> DecisionReport {
    DecisionReport {
        job_id: intent.job_id.clone(),
        action: intent.action,
        decision_id: Some(intent.decision_id.clone()),
        settlement,
        verdict,
        attempts,
        mismatch,
    }
}
