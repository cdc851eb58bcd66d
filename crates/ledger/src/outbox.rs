//! The decision outbox: a decision is written down before its first byte is sent and closed
//! when the gateway's answer is final, so a crash in between leaves an open row that start-up
//! recovery finishes (the gateway's approve and reject are idempotent, so re-sending is safe).
//!
//! Every outbox change also appends a chain entry in the same transaction, so the outbox can
//! never say more than the audit history does.
//!
//! Rules:
//! * a decision id is recorded once ([`LedgerError::DuplicateDecision`]);
//! * a job has at most one open decision ([`LedgerError::IntentPending`]): the guard against
//!   sending approve twice, or approve and reject at once;
//! * [`Ledger::close_intent`] with a non-final outcome (a retryable answer, a network error)
//!   records the attempt and leaves the decision open for the retry or for recovery;
//! * once a final outcome is recorded, closing again is an error
//!   ([`LedgerError::IntentClosed`], code `ledger_intent_closed`), not a silent success: a
//!   second final answer means the decision was sent twice, which must not go unnoticed.
//!
//! Leases: a ledger file is shared by every process of a profile (the app, each CLI run), so
//! "who is sending this decision now" has to live in the file, not in one process's memory.
//! A row is driven only by the holder of its lease ([`Ledger::record_intent_leased`] gives it
//! to the creator, [`Ledger::claim_intent`] to a recoverer when it is free or expired); the
//! holder renews it before every send ([`Ledger::renew_lease`]) and gives it up when it stops
//! ([`Ledger::release_intent`], or a final outcome). A holder made by [`Ledger::lease_holder`]
//! can be seen to have died, so its rows are free at once after a crash. Leases are coordination, not history:
//! taking and renewing one appends no chain entry.

use std::time::Duration;

use countersign_core::content::CardContent;
use countersign_core::outcome::{DecisionAction, GatewayOutcome};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entry::{to_json, Entry, EntryKind, NewEntry};
use crate::error::{LedgerError, Result};
use crate::ledger::{from_sql_seq, to_sql_seq, Ledger};

/// A decision about to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionIntent {
    /// Unique per decision; see [`new_decision_id`].
    pub decision_id: String,
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub action: DecisionAction,
    /// The job hash the reviewer saw and the decision is bound to.
    pub job_hash: String,
    /// The policy snapshot the reviewer saw.
    pub policy_snapshot: String,
    pub reason: String,
    /// The reviewer's note, re-sent as it was when recovery finishes the decision.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Whether the reviewer saw a workflow gate (no snapshot check), so recovery re-verifies
    /// under the same rule instead of guessing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub workflow_gate: bool,
    /// The digest of the card content the reviewer read, so every re-send is checked against
    /// it; empty on rows written before it was kept (those cannot be re-verified and close).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_digest: String,
    /// That content, so a refused re-send can name what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<CardContent>,
}

/// The gateway's answer to one attempt at sending a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionOutcome {
    /// A stable outcome code (`countersign_core::outcome::GatewayOutcome::code`, or a client
    /// code such as a network failure).
    pub code: String,
    pub message: String,
    /// The server's answer as received (`null` when there was none).
    pub server_body: Value,
    /// Whether this answer settles the decision. A non-final outcome keeps it open.
    #[serde(rename = "final")]
    pub is_final: bool,
}

impl DecisionOutcome {
    /// The outcome for a classified gateway answer; whether it settles the decision stays the
    /// caller's call (a retryable answer usually does not, an ambiguous one not until the job
    /// has been read back).
    pub fn from_gateway(outcome: &GatewayOutcome, server_body: Value, is_final: bool) -> Self {
        Self {
            code: outcome.code().to_owned(),
            message: outcome.server_message().to_owned(),
            server_body,
            is_final,
        }
    }
}

/// An outbox row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentRecord {
    #[serde(flatten)]
    pub intent: DecisionIntent,
    pub created_at: i64,
    /// The `decision_intent` entry.
    pub intent_seq: u64,
    /// Outcomes recorded so far.
    pub attempts: u64,
    pub last_code: Option<String>,
    /// The latest `decision_outcome` entry.
    pub last_outcome_seq: Option<u64>,
    /// Set when a final outcome was recorded.
    pub closed_at: Option<i64>,
    /// Who holds the lease on the row, and until when (ledger clock, ms).
    pub claimed_by: Option<String>,
    pub lease_until: Option<i64>,
    /// How often the row was claimed after its creator let go (recovery, withdrawal).
    pub recoveries: u64,
}

/// A fresh random decision id (UUID v4).
pub fn new_decision_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Ledger {
    /// Writes the outbox row and its `decision_intent` entry in one transaction, unleased: the
    /// next recovery of any process may drive it (what a crash right after recording leaves).
    pub fn record_intent(&self, intent: &DecisionIntent) -> Result<Entry> {
        self.insert_intent(Vec::new(), intent, None)
    }

    /// [`Ledger::record_intent`] with the lease held by `holder` for `lease` from now, taken in
    /// the same transaction, so no recoverer can drive the row while its creator sends it.
    /// `evidence` (the verdict the decision rests on, the request it was checked against) is
    /// appended before the intent in that same transaction: one durable write instead of one
    /// per entry, on the path every click waits on. When the intent is refused, so is the
    /// evidence; the caller records it on its own if it still wants it.
    pub fn record_intent_leased(
        &self,
        evidence: Vec<NewEntry>,
        intent: &DecisionIntent,
        holder: &str,
        lease: Duration,
    ) -> Result<Entry> {
        self.insert_intent(evidence, intent, Some((holder, lease)))
    }

    fn insert_intent(
        &self,
        evidence: Vec<NewEntry>,
        intent: &DecisionIntent,
        lease: Option<(&str, Duration)>,
    ) -> Result<Entry> {
        for (name, value) in [
            ("decision_id", &intent.decision_id),
            ("job_id", &intent.job_id),
        ] {
            if value.trim().is_empty() {
                return Err(LedgerError::InvalidInput(format!("{name} is empty")));
            }
        }
        let body = to_json(intent)?;
        self.write(|writer| {
            if find_intents(writer.conn(), "decision_id = ?1", &intent.decision_id)?.is_some() {
                return Err(LedgerError::DuplicateDecision(intent.decision_id.clone()));
            }
            if let Some(open) = find_intents(
                writer.conn(),
                "job_id = ?1 AND closed_at IS NULL",
                &intent.job_id,
            )? {
                return Err(LedgerError::IntentPending {
                    job_id: intent.job_id.clone(),
                    decision_id: open.intent.decision_id,
                });
            }
            for entry in evidence {
                writer.append(entry)?;
            }
            let mut new = NewEntry::new(EntryKind::DecisionIntent, body)
                .job_id(&intent.job_id)
                .decision(intent.action.as_str());
            new.topic.clone_from(&intent.topic);
            let entry = writer.append(new)?;
            let (holder, until) = match lease {
                Some((holder, lease)) => (Some(holder), Some(lease_end(writer.now_ms(), lease))),
                None => (None, None),
            };
            writer.conn().execute(
                "INSERT INTO outbox (decision_id, job_id, topic, action, job_hash, policy_snapshot,
                     reason, created_at, intent_seq, note, workflow_gate, claimed_by, lease_until,
                     content_digest, content)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    intent.decision_id,
                    intent.job_id,
                    intent.topic,
                    intent.action.as_str(),
                    intent.job_hash,
                    intent.policy_snapshot,
                    intent.reason,
                    entry.recorded_at,
                    to_sql_seq(entry.seq)?,
                    intent.note,
                    intent.workflow_gate,
                    holder,
                    until,
                    intent.content_digest,
                    intent
                        .content
                        .as_ref()
                        .map(to_json)
                        .transpose()?
                        .map(|v| v.to_string()),
                ],
            )?;
            Ok(entry)
        })
    }

    /// Records an answer for the decision and appends its `decision_outcome` entry, in one
    /// transaction. A final outcome closes the decision; see the module docs for the rules.
    pub fn close_intent(&self, decision_id: &str, outcome: &DecisionOutcome) -> Result<Entry> {
        self.write(|writer| {
            let record = find_intents(writer.conn(), "decision_id = ?1", decision_id)?
                .ok_or_else(|| LedgerError::not_found(format!("decision {decision_id}")))?;
            if record.closed_at.is_some() {
                return Err(LedgerError::IntentClosed {
                    decision_id: decision_id.to_owned(),
                    code: record.last_code.unwrap_or_default(),
                });
            }
            let attempt = record.attempts + 1;
            let mut body = to_json(outcome)?;
            if let Value::Object(map) = &mut body {
                map.insert("decision_id".into(), decision_id.into());
                map.insert("attempt".into(), attempt.into());
            }
            let mut new = NewEntry::new(EntryKind::DecisionOutcome, body)
                .job_id(&record.intent.job_id)
                .decision(record.intent.action.as_str())
                .outcome(&outcome.code);
            new.topic = record.intent.topic;
            let entry = writer.append(new)?;
            let closed_at = outcome.is_final.then_some(entry.recorded_at);
            // A closed row has nothing left to drive, so its lease ends with it.
            writer.conn().execute(
                "UPDATE outbox SET attempts = ?2, last_code = ?3, last_outcome_seq = ?4,
                     closed_at = ?5,
                     claimed_by = CASE WHEN ?5 IS NULL THEN claimed_by END,
                     lease_until = CASE WHEN ?5 IS NULL THEN lease_until END
                 WHERE decision_id = ?1",
                params![
                    decision_id,
                    to_sql_seq(attempt)?,
                    outcome.code,
                    to_sql_seq(entry.seq)?,
                    closed_at,
                ],
            )?;
            Ok(entry)
        })
    }

    /// Takes the lease on an open row for `holder` when nobody holds it, the holder's lease
    /// ran out, or the holder is a process that ended (its lock file is free: see
    /// [`crate::holder`]), counting one more recovery; the row as it stands after the claim,
    /// re-read in the same transaction. `None` when the row is closed or a live holder has
    /// it: whoever holds it is driving it, and a closed row must never be sent again.
    pub fn claim_intent(
        &self,
        decision_id: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<IntentRecord>> {
        self.write(|writer| {
            let now = writer.now_ms();
            let current: Option<(Option<String>, Option<i64>)> = writer
                .conn()
                .query_row(
                    "SELECT claimed_by, lease_until FROM outbox
                     WHERE decision_id = ?1 AND closed_at IS NULL",
                    params![decision_id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            // Checked inside the write transaction, so the holder cannot renew in between.
            let dead = match current {
                Some((Some(by), Some(until))) if until > now && by != holder => {
                    self.holder_is_dead(&by).then_some(by)
                }
                _ => None,
            };
            let claimed = writer.conn().execute(
                "UPDATE outbox SET claimed_by = ?2, lease_until = ?3, recoveries = recoveries + 1
                 WHERE decision_id = ?1 AND closed_at IS NULL
                   AND (claimed_by IS NULL OR lease_until IS NULL OR lease_until <= ?4
                        OR claimed_by = ?5)",
                params![decision_id, holder, lease_end(now, lease), now, dead],
            )?;
            if claimed == 0 {
                return Ok(None);
            }
            find_intents(writer.conn(), "decision_id = ?1", decision_id)
        })
    }

    /// Extends `holder`'s lease on an open row; `false` when the row closed or the lease was
    /// lost (it expired and someone else claimed it): the caller must stop sending then.
    pub fn renew_lease(&self, decision_id: &str, holder: &str, lease: Duration) -> Result<bool> {
        self.write(|writer| {
            let until = lease_end(writer.now_ms(), lease);
            let renewed = writer.conn().execute(
                "UPDATE outbox SET lease_until = ?3
                 WHERE decision_id = ?1 AND claimed_by = ?2 AND closed_at IS NULL",
                params![decision_id, holder, until],
            )?;
            Ok(renewed == 1)
        })
    }

    /// Gives up `holder`'s lease on a row left open, so the next recovery need not wait for it
    /// to expire. Releasing a lease one does not hold changes nothing.
    pub fn release_intent(&self, decision_id: &str, holder: &str) -> Result<()> {
        self.write(|writer| {
            writer.conn().execute(
                "UPDATE outbox SET claimed_by = NULL, lease_until = NULL
                 WHERE decision_id = ?1 AND claimed_by = ?2",
                params![decision_id, holder],
            )?;
            Ok(())
        })
    }

    /// Decisions without a final outcome, oldest first: what start-up recovery must finish.
    pub fn open_intents(&self) -> Result<Vec<IntentRecord>> {
        self.read(|conn| select_intents(conn, "closed_at IS NULL", None))
    }

    /// One outbox row by decision id.
    pub fn intent(&self, decision_id: &str) -> Result<IntentRecord> {
        self.read(|conn| find_intents(conn, "decision_id = ?1", decision_id))?
            .ok_or_else(|| LedgerError::not_found(format!("decision {decision_id}")))
    }
}

fn lease_end(now: i64, lease: Duration) -> i64 {
    now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

/// All decisions for one job, oldest first.
pub(crate) fn intents_for_job(conn: &Connection, job_id: &str) -> Result<Vec<IntentRecord>> {
    select_intents(conn, "job_id = ?1", Some(job_id))
}

fn find_intents(conn: &Connection, filter: &str, value: &str) -> Result<Option<IntentRecord>> {
    Ok(select_intents(conn, filter, Some(value))?
        .into_iter()
        .next())
}

fn select_intents(
    conn: &Connection,
    filter: &str,
    value: Option<&str>,
) -> Result<Vec<IntentRecord>> {
    let sql = format!(
        "SELECT decision_id, job_id, topic, action, job_hash, policy_snapshot, reason, created_at,
                intent_seq, attempts, last_code, last_outcome_seq, closed_at, note, workflow_gate,
                claimed_by, lease_until, recoveries, content_digest, content
         FROM outbox WHERE {filter} ORDER BY intent_seq"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = match value {
        Some(value) => stmt.query([value])?,
        None => stmt.query([])?,
    };
    let mut records = Vec::new();
    while let Some(row) = rows.next()? {
        records.push(intent_from_row(row)?);
    }
    Ok(records)
}

fn intent_from_row(row: &Row<'_>) -> Result<IntentRecord> {
    let decision_id: String = row.get(0)?;
    let action: String = row.get(3)?;
    let action = match action.as_str() {
        "approve" => DecisionAction::Approve,
        "reject" => DecisionAction::Reject,
        other => {
            return Err(LedgerError::Corrupt(format!(
                "decision {decision_id} has an unknown action {other:?}"
            )))
        }
    };
    let optional_seq = |index: usize| -> Result<Option<u64>> {
        row.get::<_, Option<i64>>(index)?
            .map(from_sql_seq)
            .transpose()
    };
    Ok(IntentRecord {
        intent: DecisionIntent {
            decision_id,
            job_id: row.get(1)?,
            topic: row.get(2)?,
            action,
            job_hash: row.get(4)?,
            policy_snapshot: row.get(5)?,
            reason: row.get(6)?,
            note: row.get(13)?,
            workflow_gate: row.get(14)?,
            content_digest: row.get(18)?,
            content: match row.get::<_, Option<String>>(19)? {
                // The digest binds; unreadable content only loses the names of changed fields.
                Some(text) => serde_json::from_str(&text).ok(),
                None => None,
            },
        },
        created_at: row.get(7)?,
        intent_seq: from_sql_seq(row.get(8)?)?,
        attempts: from_sql_seq(row.get(9)?)?,
        last_code: row.get(10)?,
        last_outcome_seq: optional_seq(11)?,
        closed_at: row.get(12)?,
        claimed_by: row.get(15)?,
        lease_until: row.get(16)?,
        recoveries: from_sql_seq(row.get(17)?)?,
    })
}
