//! Ledger entries: the [`EntryKind`] codes, what a caller appends ([`NewEntry`]) and what the
//! ledger stores and returns ([`Entry`]).
//!
//! Bodies are JSON values rather than core types, so that a newer `countersign-core` adding
//! fields never makes an old ledger unreadable and the stored evidence is exactly what was seen.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::ValueRef;
use rusqlite::Row;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{self, MAX_BODY_DEPTH};
use crate::chain::{canonical_json, HashInput};
use crate::error::{LedgerError, Result};

/// What an entry records. The string codes are stored in the file and are stable: a new kind
/// is added with a schema version bump, so an older build refuses the file instead of
/// misreading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An approval item arrived; the body is the full card data as parsed.
    ItemSeen,
    /// The job request fetched to verify an item (its protojson).
    JobRequest,
    /// A local drift verdict computed before a decision.
    Verdict,
    /// A decision about to be sent (the outbox row's twin).
    DecisionIntent,
    /// The gateway's answer to a decision.
    DecisionOutcome,
    /// A conflict: the item changed, was resolved elsewhere, or disagreed with what was seen.
    Conflict,
    Login,
    Logout,
    /// An event of the gateway's own audit log, mirrored for offline reading.
    GatewayAudit,
    /// A desktop notification shown or withdrawn, or an action taken from one (and actions
    /// refused: forged, stale), so the audit says how each decision was made.
    Notification,
    /// What became of an approved job as the gateway reported it: dispatched, waiting at the
    /// dispatch-time gate, denied there, re-opened, failed.
    JobStatus,
    /// A policy draft snapshot shown to the reviewer (once per draft and snapshot). Governance
    /// entries keep the draft id in the `job_id` column, so a draft's history is one query.
    PolicyDraftSeen,
    /// A governance decision about to be sent (the governance outbox row's twin).
    GovernanceIntent,
    /// The gateway's answer to a governance decision.
    GovernanceOutcome,
}

impl EntryKind {
    pub const ALL: [EntryKind; 14] = [
        Self::ItemSeen,
        Self::JobRequest,
        Self::Verdict,
        Self::DecisionIntent,
        Self::DecisionOutcome,
        Self::Conflict,
        Self::Login,
        Self::Logout,
        Self::GatewayAudit,
        Self::Notification,
        Self::JobStatus,
        Self::PolicyDraftSeen,
        Self::GovernanceIntent,
        Self::GovernanceOutcome,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ItemSeen => "item_seen",
            Self::JobRequest => "job_request",
            Self::Verdict => "verdict",
            Self::DecisionIntent => "decision_intent",
            Self::DecisionOutcome => "decision_outcome",
            Self::Conflict => "conflict",
            Self::Login => "login",
            Self::Logout => "logout",
            Self::GatewayAudit => "gateway_audit",
            Self::Notification => "notification",
            Self::JobStatus => "job_status",
            Self::PolicyDraftSeen => "policy_draft_seen",
            Self::GovernanceIntent => "governance_intent",
            Self::GovernanceOutcome => "governance_outcome",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryKind {
    type Err = LedgerError;

    fn from_str(code: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == code)
            .ok_or_else(|| LedgerError::InvalidQuery(format!("unknown entry kind {code:?}")))
    }
}

/// An entry to append. `job_id`, `topic`, `decision` and `outcome` are indexed columns for
/// offline queries; everything else belongs in `body`.
///
/// Never put secrets (tokens, passwords, API keys, cookies) in an entry: the ledger is a plain
/// file meant to be exported and shared as evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub job_id: Option<String>,
    pub topic: Option<String>,
    /// The reviewer's decision (`approve` / `reject`) where the entry is about one.
    pub decision: Option<String>,
    /// A stable outcome or verdict code where the entry carries one.
    pub outcome: Option<String>,
    pub body: Value,
}

impl NewEntry {
    pub fn new(kind: EntryKind, body: Value) -> Self {
        Self {
            kind,
            job_id: None,
            topic: None,
            decision: None,
            outcome: None,
            body,
        }
    }

    pub fn job_id(mut self, job_id: impl Into<String>) -> Self {
        self.job_id = Some(job_id.into());
        self
    }

    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    pub fn decision(mut self, decision: impl Into<String>) -> Self {
        self.decision = Some(decision.into());
        self
    }

    pub fn outcome(mut self, outcome: impl Into<String>) -> Self {
        self.outcome = Some(outcome.into());
        self
    }
}

/// Serialises a value for an entry body; only a map with non-string keys can fail.
pub(crate) fn to_json(value: &impl Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|err| LedgerError::InvalidInput(err.to_string()))
}

/// A stored entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// Milliseconds since the Unix epoch, from the ledger's clock when the entry was appended.
    /// Wall-clock time: it follows the system clock, even backwards; `seq` is the order.
    pub recorded_at: i64,
    pub kind: EntryKind,
    pub job_id: Option<String>,
    pub topic: Option<String>,
    pub decision: Option<String>,
    pub outcome: Option<String>,
    pub body: Value,
    pub prev_hash: String,
    pub entry_hash: String,
}

impl Entry {
    /// The hash this entry's fields produce; equal to `entry_hash` for an untouched entry.
    /// Lets anyone holding an export or evidence pack re-check an entry without the ledger.
    pub fn computed_hash(&self) -> String {
        RawEntry::from_entry(self).hash_input().entry_hash()
    }
}

/// The columns every entry read selects, in the order [`RawEntry::from_row`] expects.
pub(crate) const ENTRY_COLUMNS: &str =
    "seq, recorded_at, kind, job_id, topic, decision, outcome, body, prev_hash, entry_hash";

/// An entry exactly as stored: text not yet parsed, so that verification can hash what is on
/// disk and a malformed row can be reported instead of aborting the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    pub seq: u64,
    pub recorded_at: i64,
    pub kind: String,
    pub job_id: Option<String>,
    pub topic: Option<String>,
    pub decision: Option<String>,
    pub outcome: Option<String>,
    pub body: String,
    pub prev_hash: String,
    pub entry_hash: String,
}

/// [`RawEntry`]'s fields borrowed from where they were read: what walking a chain of a million
/// rows checks, without copying each row's text first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredEntry<'a> {
    /// Everything the entry hash covers.
    pub fields: HashInput<'a>,
    pub entry_hash: &'a str,
}

impl<'a> StoredEntry<'a> {
    /// Reads a row selected with [`ENTRY_COLUMNS`]. Column types are checked by hand because a
    /// hostile or damaged file may hold any SQLite type in any column.
    pub fn from_row(row: &'a Row<'_>) -> Result<Self> {
        let seq = match row.get_ref(0)? {
            ValueRef::Integer(seq) if seq > 0 => seq.unsigned_abs(),
            other => {
                return Err(LedgerError::Corrupt(format!(
                    "an entry has an invalid seq {other:?}"
                )))
            }
        };
        let malformed = |detail: String| LedgerError::MalformedEntry { seq, detail };
        let recorded_at = match row.get_ref(1)? {
            ValueRef::Integer(ms) => ms,
            other => return Err(malformed(format!("recorded_at is {other:?}"))),
        };
        let text = |index: usize, name: &str| -> Result<Option<&'a str>> {
            match row.get_ref(index)? {
                ValueRef::Null => Ok(None),
                ValueRef::Text(bytes) => std::str::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| malformed(format!("{name} is not UTF-8"))),
                other => Err(malformed(format!("{name} has type {}", other.data_type()))),
            }
        };
        let required = |index: usize, name: &str| -> Result<&'a str> {
            text(index, name)?.ok_or_else(|| malformed(format!("{name} is missing")))
        };
        Ok(Self {
            fields: HashInput {
                seq,
                recorded_at,
                kind: required(2, "kind")?,
                job_id: text(3, "job_id")?,
                topic: text(4, "topic")?,
                decision: text(5, "decision")?,
                outcome: text(6, "outcome")?,
                body: required(7, "body")?,
                prev_hash: required(8, "prev_hash")?,
            },
            entry_hash: required(9, "entry_hash")?,
        })
    }

    pub fn to_raw(self) -> RawEntry {
        let owned = |text: Option<&str>| text.map(str::to_owned);
        let fields = self.fields;
        RawEntry {
            seq: fields.seq,
            recorded_at: fields.recorded_at,
            kind: fields.kind.to_owned(),
            job_id: owned(fields.job_id),
            topic: owned(fields.topic),
            decision: owned(fields.decision),
            outcome: owned(fields.outcome),
            body: fields.body.to_owned(),
            prev_hash: fields.prev_hash.to_owned(),
            entry_hash: self.entry_hash.to_owned(),
        }
    }
}

impl RawEntry {
    /// Reads a row selected with [`ENTRY_COLUMNS`] (see [`StoredEntry::from_row`]).
    pub fn from_row(row: &Row<'_>) -> Result<Self> {
        StoredEntry::from_row(row).map(|stored| stored.to_raw())
    }

    pub fn stored(&self) -> StoredEntry<'_> {
        StoredEntry {
            fields: HashInput {
                seq: self.seq,
                recorded_at: self.recorded_at,
                kind: &self.kind,
                job_id: self.job_id.as_deref(),
                topic: self.topic.as_deref(),
                decision: self.decision.as_deref(),
                outcome: self.outcome.as_deref(),
                body: &self.body,
                prev_hash: &self.prev_hash,
            },
            entry_hash: &self.entry_hash,
        }
    }

    /// The stored form of a typed entry (its body in canonical JSON).
    pub fn from_entry(entry: &Entry) -> Self {
        Self {
            seq: entry.seq,
            recorded_at: entry.recorded_at,
            kind: entry.kind.as_str().to_owned(),
            job_id: entry.job_id.clone(),
            topic: entry.topic.clone(),
            decision: entry.decision.clone(),
            outcome: entry.outcome.clone(),
            body: canonical_json(&entry.body),
            prev_hash: entry.prev_hash.clone(),
            entry_hash: entry.entry_hash.clone(),
        }
    }

    pub fn hash_input(&self) -> HashInput<'_> {
        self.stored().fields
    }

    /// Parses kind and body; an error names the entry's seq.
    pub fn into_entry(self) -> Result<Entry> {
        let seq = self.seq;
        let kind = self
            .kind
            .parse::<EntryKind>()
            .map_err(|_| LedgerError::MalformedEntry {
                seq,
                detail: format!("unknown kind {:?}", self.kind),
            })?;
        let body = body::from_str(&self.body, MAX_BODY_DEPTH).map_err(|err| {
            LedgerError::MalformedEntry {
                seq,
                detail: format!("body is not valid JSON: {err}"),
            }
        })?;
        Ok(Entry {
            seq,
            recorded_at: self.recorded_at,
            kind,
            job_id: self.job_id,
            topic: self.topic,
            decision: self.decision,
            outcome: self.outcome,
            body,
            prev_hash: self.prev_hash,
            entry_hash: self.entry_hash,
        })
    }
}

/// Reads one row selected with [`ENTRY_COLUMNS`] into a typed entry.
pub(crate) fn entry_from_row(row: &Row<'_>) -> Result<Entry> {
    RawEntry::from_row(row)?.into_entry()
}
