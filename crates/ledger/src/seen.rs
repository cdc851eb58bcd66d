//! What has already been recorded once: queue items (so an item is reported as arrived once per
//! job and request hash, across restarts) and gateway audit events mirrored for offline reading.
//!
//! An item is keyed by `(job_id, job_hash)`: the same job coming back with another hash is a
//! changed request and is recorded again, which is exactly the evidence a reviewer needs.

use countersign_core::approval::{ApprovalCard, ApprovalItem};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::chain::canonical_json;
use crate::entry::{to_json, EntryKind, NewEntry};
use crate::error::{LedgerError, Result};
use crate::ledger::{to_sql_seq, Ledger};

/// An approval item as the reviewer was shown it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemSighting {
    pub job_id: String,
    pub job_hash: String,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub policy_snapshot: Option<String>,
    /// The full item data as shown: the parsed gateway item or card, kept as JSON so that the
    /// record never depends on today's shape of the core types.
    pub card: Value,
}

impl ItemSighting {
    /// A sighting of a gateway item, recording all of it.
    pub fn from_item(item: &ApprovalItem) -> Result<Self> {
        Ok(Self {
            job_id: item.job.id.clone(),
            job_hash: item.job_hash.clone(),
            topic: non_empty(&item.job.topic),
            policy_snapshot: non_empty(&item.policy_snapshot),
            card: to_json(item)?,
        })
    }

    /// A sighting of the compact card the UI showed.
    pub fn from_card(card: &ApprovalCard) -> Result<Self> {
        Ok(Self {
            job_id: card.job_id.clone(),
            job_hash: card.job_hash.clone(),
            topic: non_empty(&card.topic),
            policy_snapshot: non_empty(&card.policy_snapshot),
            card: to_json(card)?,
        })
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl Ledger {
    /// Records the first sighting of `(job_id, job_hash)`: appends an `item_seen` entry with the
    /// card and returns `true`. A sighting recorded before (in any earlier run) returns `false`
    /// and appends nothing.
    pub fn mark_seen(&self, item: &ItemSighting) -> Result<bool> {
        if item.job_id.trim().is_empty() {
            return Err(LedgerError::InvalidInput("job_id is empty".into()));
        }
        // Most sightings are repeats from the queue watch: answer those without taking the
        // write lock, and check again under it for the race with another writer.
        if self.is_seen(&item.job_id, &item.job_hash)? {
            return Ok(false);
        }
        self.write(|writer| {
            if seen(writer.conn(), &item.job_id, &item.job_hash)? {
                return Ok(false);
            }
            let body = json!({
                "job_hash": item.job_hash,
                "policy_snapshot": item.policy_snapshot,
                "card": item.card,
            });
            let mut new = NewEntry::new(EntryKind::ItemSeen, body).job_id(&item.job_id);
            new.topic.clone_from(&item.topic);
            let entry = writer.append(new)?;
            writer.conn().execute(
                "INSERT INTO seen_items (job_id, job_hash, first_seen, entry_seq)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    item.job_id,
                    item.job_hash,
                    entry.recorded_at,
                    to_sql_seq(entry.seq)?
                ],
            )?;
            Ok(true)
        })
    }

    /// Whether `(job_id, job_hash)` was recorded by [`Ledger::mark_seen`].
    pub fn is_seen(&self, job_id: &str, job_hash: &str) -> Result<bool> {
        self.read(|conn| seen(conn, job_id, job_hash))
    }

    /// Appends a `gateway_audit` entry for each event not mirrored before, in one transaction,
    /// and returns how many were new. Events are recognised by the hash of their canonical JSON,
    /// so re-reading an overlapping page of the gateway's audit log adds nothing twice.
    pub fn mirror_gateway_events(&self, events: &[Value]) -> Result<usize> {
        self.write(|writer| {
            let mut added = 0;
            for event in events {
                let key = hex::encode(Sha256::digest(canonical_json(event).as_bytes()));
                let known: Option<i64> = writer
                    .conn()
                    .query_row(
                        "SELECT entry_seq FROM mirrored_events WHERE event_key = ?1",
                        [&key],
                        |row| row.get(0),
                    )
                    .optional()?;
                if known.is_some() {
                    continue;
                }
                let mut new = NewEntry::new(EntryKind::GatewayAudit, event.clone());
                new.job_id = event
                    .get("job_id")
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned);
                let entry = writer.append(new)?;
                writer.conn().execute(
                    "INSERT INTO mirrored_events (event_key, entry_seq) VALUES (?1, ?2)",
                    params![key, to_sql_seq(entry.seq)?],
                )?;
                added += 1;
            }
            Ok(added)
        })
    }
}

fn seen(conn: &Connection, job_id: &str, job_hash: &str) -> Result<bool> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT entry_seq FROM seen_items WHERE job_id = ?1 AND job_hash = ?2",
            [job_id, job_hash],
            |row| row.get(0),
        )
        .optional()?;
    Ok(found.is_some())
}
