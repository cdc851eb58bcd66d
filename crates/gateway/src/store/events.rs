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
}

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
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
        "SELECT id, kind, data FROM events WHERE id > ?1 AND (tenant = ?2 OR tenant = '') \
         ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![after, tenant, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| {
            Ok(StoredEvent {
                id: r.get(0)?,
                kind: r.get(1)?,
                data: from_json(&r.get::<_, String>(2)?),
            })
        },
    )?;
    rows.collect()
}

/// The newest event id, 0 when there is none.
pub fn last_id(db: &Connection) -> rusqlite::Result<i64> {
    db.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))
}
