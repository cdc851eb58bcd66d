//! The approval event log behind the SSE stream. Ids are one global autoincrement sequence,
//! so a client's `Last-Event-ID` names a position across all tenants; an event with an empty
//! tenant (a policy snapshot) is visible to every tenant.

use rusqlite::{params, Connection};
use serde_json::Value;

use super::from_json;

/// Event kinds.
pub mod kind {
    pub const APPROVAL_REQUIRED: &str = "approval.required";
    pub const APPROVAL_RESOLVED: &str = "approval.resolved";
    /// A pending item's safety record changed (re-evaluated under a new policy).
    pub const APPROVAL_UPDATED: &str = "approval.updated";
    pub const POLICY_SNAPSHOT: &str = "policy.snapshot";
    /// A job's status after approval changed (dispatch-time gate, scheduling, worker).
    pub const JOB_UPDATED: &str = "job.updated";
    /// A policy draft snapshot was saved, or a draft decided (seed 004).
    pub const GOVERNANCE_REQUIRED: &str = countersign_core::governance::event::REQUIRED;
    pub const GOVERNANCE_RESOLVED: &str = countersign_core::governance::event::RESOLVED;
}

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    /// Empty for an event every tenant sees (policy snapshots of older gateways).
    pub tenant: String,
    pub kind: String,
    pub data: Value,
}

/// Appends an event; returns its id.
pub fn append(
    db: &Connection,
    tenant: &str,
    kind: &str,
    data: &Value,
    now_us: i64,
) -> rusqlite::Result<i64> {
    db.execute(
        "INSERT INTO events (tenant, kind, data, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![tenant, kind, data.to_string(), now_us],
    )?;
    Ok(db.last_insert_rowid())
}

/// Events visible to `tenant` with an id above `after`, oldest first.
pub fn after(
    db: &Connection,
    tenant: &str,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, tenant, kind, data FROM events WHERE id > ?1 AND (tenant = ?2 OR tenant = '') \
         ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![after, tenant, i64::try_from(limit).unwrap_or(i64::MAX)],
        read_event,
    )?;
    rows.collect()
}

/// Events of every tenant with an id above `after`, oldest first (for the one reader that
/// fans them out to every stream).
pub fn after_all(db: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, tenant, kind, data FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
        read_event,
    )?;
    rows.collect()
}

fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        id: r.get(0)?,
        tenant: r.get(1)?,
        kind: r.get(2)?,
        data: from_json(&r.get::<_, String>(3)?),
    })
}

impl StoredEvent {
    /// Whether a stream of `tenant` shows this event.
    pub fn visible_to(&self, tenant: &str) -> bool {
        self.tenant.is_empty() || self.tenant == tenant
    }
}

/// The newest event id, 0 when there is none.
pub fn last_id(db: &Connection) -> rusqlite::Result<i64> {
    db.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))
}
