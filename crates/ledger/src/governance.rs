//! Governance decisions (seed 004): the policy draft snapshots the reviewer was shown, and the
//! governance outbox. A governance approve or reject is written down before it is sent and
//! closed when the gateway's answer is final, exactly like a job decision ([`crate::outbox`]),
//! so a crash in between is finished at the next start: the gateway's approve and reject are
//! idempotent per snapshot, so re-sending is safe.
//!
//! No leases here: a governance decision is bound to one snapshot and the gateway settles it
//! with a compare-and-set, so two processes finishing the same row send the same idempotent
//! request and read the same record back. The one guard kept locally is one open decision per
//! draft, so approve and reject of one draft are never in flight together.
//!
//! Every entry keeps the draft id in the `job_id` column: a draft's whole history is one query.

use countersign_core::governance::{DraftBinding, GovernanceChannel, PolicyDraft};
use countersign_core::outcome::DecisionAction;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::entry::{to_json, Entry, EntryKind, NewEntry};
use crate::error::{LedgerError, Result};
use crate::ledger::{from_sql_seq, to_sql_seq, Ledger};
use crate::outbox::DecisionOutcome;

/// The `topic` column of governance entries, so topic filters find them as one group.
pub const GOVERNANCE_TOPIC: &str = "policy.governance";

/// A governance decision about to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceIntent {
    pub decision_id: String,
    /// The snapshot the reviewer saw and the decision is bound to.
    pub binding: DraftBinding,
    pub action: DecisionAction,
    /// The rationale of an approve, the reason of a reject.
    pub reason: String,
    pub channel: GovernanceChannel,
}

/// A governance outbox row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceRecord {
    pub intent: GovernanceIntent,
    pub created_at: i64,
    pub intent_seq: u64,
    pub attempts: u64,
    pub last_code: Option<String>,
    pub closed_at: Option<i64>,
}

impl Ledger {
    /// Records the first sighting of a draft's active snapshot: a `policy_draft_seen` entry
    /// with the draft as shown, and `true`. A snapshot recorded before returns `false`.
    pub fn mark_draft_seen(&self, draft: &PolicyDraft) -> Result<bool> {
        let snapshot_id = &draft.active_snapshot.snapshot_id;
        if draft.draft_id.trim().is_empty() || snapshot_id.trim().is_empty() {
            return Err(LedgerError::InvalidInput(
                "a draft needs its id and its snapshot's".into(),
            ));
        }
        if self.read(|conn| draft_seen(conn, &draft.draft_id, snapshot_id))? {
            return Ok(false);
        }
        self.write(|writer| {
            if draft_seen(writer.conn(), &draft.draft_id, snapshot_id)? {
                return Ok(false);
            }
            let body = json!({
                "snapshot_id": snapshot_id,
                "source_snapshot_hash": draft.active_snapshot.source_snapshot_hash,
                "draft": to_json(draft)?,
            });
            let new = NewEntry::new(EntryKind::PolicyDraftSeen, body)
                .job_id(&draft.draft_id)
                .topic(GOVERNANCE_TOPIC);
            let entry = writer.append(new)?;
            writer.conn().execute(
                "INSERT INTO seen_drafts (draft_id, snapshot_id, first_seen, entry_seq)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    draft.draft_id,
                    snapshot_id,
                    entry.recorded_at,
                    to_sql_seq(entry.seq)?
                ],
            )?;
            Ok(true)
        })
    }

    /// Writes the governance outbox row and its `governance_intent` entry in one transaction.
    pub fn record_governance_intent(&self, intent: &GovernanceIntent) -> Result<Entry> {
        let draft_id = &intent.binding.draft_id;
        for (name, value) in [
            ("decision_id", &intent.decision_id),
            ("draft_id", draft_id),
            ("snapshot_id", &intent.binding.snapshot_id),
        ] {
            if value.trim().is_empty() {
                return Err(LedgerError::InvalidInput(format!("{name} is empty")));
            }
        }
        let body = to_json(intent)?;
        self.write(|writer| {
            if find(writer.conn(), "decision_id = ?1", &intent.decision_id)?.is_some() {
                return Err(LedgerError::DuplicateDecision(intent.decision_id.clone()));
            }
            if let Some(open) = find(
                writer.conn(),
                "draft_id = ?1 AND closed_at IS NULL",
                draft_id,
            )? {
                return Err(LedgerError::GovernancePending {
                    draft_id: draft_id.clone(),
                    decision_id: open.intent.decision_id,
                });
            }
            let new = NewEntry::new(EntryKind::GovernanceIntent, body.clone())
                .job_id(draft_id)
                .topic(GOVERNANCE_TOPIC)
                .decision(intent.action.as_str());
            let entry = writer.append(new)?;
            writer.conn().execute(
                "INSERT INTO governance_outbox
                     (decision_id, draft_id, snapshot_id, action, intent, created_at, intent_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    intent.decision_id,
                    draft_id,
                    intent.binding.snapshot_id,
                    intent.action.as_str(),
                    body.to_string(),
                    entry.recorded_at,
                    to_sql_seq(entry.seq)?,
                ],
            )?;
            Ok(entry)
        })
    }

    /// Records an answer and its `governance_outcome` entry in one transaction; a final
    /// outcome closes the row, and closing a closed row is [`LedgerError::IntentClosed`].
    pub fn close_governance_intent(
        &self,
        decision_id: &str,
        outcome: &DecisionOutcome,
    ) -> Result<Entry> {
        self.write(|writer| {
            let record =
                find(writer.conn(), "decision_id = ?1", decision_id)?.ok_or_else(|| {
                    LedgerError::not_found(format!("governance decision {decision_id}"))
                })?;
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
                map.insert(
                    "snapshot_id".into(),
                    record.intent.binding.snapshot_id.clone().into(),
                );
            }
            let new = NewEntry::new(EntryKind::GovernanceOutcome, body)
                .job_id(&record.intent.binding.draft_id)
                .topic(GOVERNANCE_TOPIC)
                .decision(record.intent.action.as_str())
                .outcome(&outcome.code);
            let entry = writer.append(new)?;
            writer.conn().execute(
                "UPDATE governance_outbox SET attempts = ?2, last_code = ?3, closed_at = ?4
                 WHERE decision_id = ?1",
                params![
                    decision_id,
                    to_sql_seq(attempt)?,
                    outcome.code,
                    outcome.is_final.then_some(entry.recorded_at),
                ],
            )?;
            Ok(entry)
        })
    }

    /// Governance decisions without a final outcome, oldest first: what recovery finishes.
    pub fn open_governance_intents(&self) -> Result<Vec<GovernanceRecord>> {
        self.read(|conn| select(conn, "closed_at IS NULL", None))
    }

    /// Open governance decisions recorded at least `min_age` ago (ledger clock), oldest first:
    /// what a recoverer may finish without racing the process that is still sending them.
    pub fn stale_governance_intents(
        &self,
        min_age: std::time::Duration,
    ) -> Result<Vec<GovernanceRecord>> {
        let age = i64::try_from(min_age.as_millis()).unwrap_or(i64::MAX);
        let before = self.now_ms().saturating_sub(age);
        Ok(self
            .open_governance_intents()?
            .into_iter()
            .filter(|r| r.created_at <= before)
            .collect())
    }

    /// One governance outbox row by decision id.
    pub fn governance_intent(&self, decision_id: &str) -> Result<GovernanceRecord> {
        self.read(|conn| find(conn, "decision_id = ?1", decision_id))?
            .ok_or_else(|| LedgerError::not_found(format!("governance decision {decision_id}")))
    }
}

fn draft_seen(conn: &Connection, draft_id: &str, snapshot_id: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM seen_drafts WHERE draft_id = ?1 AND snapshot_id = ?2",
            params![draft_id, snapshot_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn find(conn: &Connection, filter: &str, value: &str) -> Result<Option<GovernanceRecord>> {
    Ok(select(conn, filter, Some(value))?.into_iter().next())
}

fn select(conn: &Connection, filter: &str, value: Option<&str>) -> Result<Vec<GovernanceRecord>> {
    let sql = format!(
        "SELECT decision_id, intent, created_at, intent_seq, attempts, last_code, closed_at
         FROM governance_outbox WHERE {filter} ORDER BY intent_seq"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = match value {
        Some(value) => stmt.query([value])?,
        None => stmt.query([])?,
    };
    let mut records = Vec::new();
    while let Some(row) = rows.next()? {
        let decision_id: String = row.get(0)?;
        let text: String = row.get(1)?;
        let intent = serde_json::from_str(&text).map_err(|err| {
            LedgerError::Corrupt(format!("governance decision {decision_id}: {err}"))
        })?;
        records.push(GovernanceRecord {
            intent,
            created_at: row.get(2)?,
            intent_seq: from_sql_seq(row.get(3)?)?,
            attempts: from_sql_seq(row.get(4)?)?,
            last_code: row.get(5)?,
            closed_at: row.get(6)?,
        });
    }
    Ok(records)
}
