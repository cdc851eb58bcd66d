//! Policy drafts (seed 004): each draft of a tenant, its immutable snapshots (stored whole, as
//! the wire model serializes them, YAML included) and at most one decision per snapshot.
//!
//! The guards live in SQL as well as in the service: a snapshot's version is unique per
//! draft, a decision is unique per snapshot, and a draft is closed only by a compare-and-set
//! on its status and active snapshot, so two approvers racing on one snapshot cannot both win.

use countersign_core::governance::{DraftSnapshot, DraftStatus};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS policy_drafts (
    draft_id           TEXT PRIMARY KEY,
    tenant             TEXT NOT NULL,
    title              TEXT NOT NULL,
    author             TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('open', 'approved', 'rejected')),
    active_snapshot_id TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS drafts_by_tenant ON policy_drafts (tenant, updated_at);

CREATE TABLE IF NOT EXISTS draft_snapshots (
    snapshot_id TEXT PRIMARY KEY,
    draft_id    TEXT NOT NULL REFERENCES policy_drafts (draft_id),
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (draft_id, version)
);

CREATE TABLE IF NOT EXISTS governance_decisions (
    snapshot_id TEXT PRIMARY KEY REFERENCES draft_snapshots (snapshot_id),
    draft_id    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('approved', 'rejected')),
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
";

/// A draft's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRow {
    pub draft_id: String,
    pub tenant: String,
    pub title: String,
    pub author: String,
    pub status: DraftStatus,
    pub active_snapshot_id: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A decision's row: `approved` or `rejected`, its record as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    pub snapshot_id: String,
    pub kind: DraftStatus,
    pub body: String,
}

fn status_name(status: DraftStatus) -> &'static str {
    match status {
        DraftStatus::Open => "open",
        DraftStatus::Approved => "approved",
        DraftStatus::Rejected => "rejected",
    }
}

fn status_of(name: &str) -> DraftStatus {
    match name {
        "approved" => DraftStatus::Approved,
        "rejected" => DraftStatus::Rejected,
        _ => DraftStatus::Open,
    }
}

fn json_error(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

pub fn insert_draft(db: &Connection, row: &DraftRow) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO policy_drafts (draft_id, tenant, title, author, status, active_snapshot_id,
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            row.draft_id,
            row.tenant,
            row.title,
            row.author,
            status_name(row.status),
            row.active_snapshot_id,
            row.created_at,
            row.updated_at
        ],
    )?;
    Ok(())
}

pub fn insert_snapshot(db: &Connection, snapshot: &DraftSnapshot) -> rusqlite::Result<()> {
    let body = serde_json::to_string(snapshot).map_err(json_error)?;
    db.execute(
        "INSERT INTO draft_snapshots (snapshot_id, draft_id, version, body) VALUES (?1, ?2, ?3, ?4)",
        params![snapshot.snapshot_id, snapshot.draft_id, snapshot.version, body],
    )?;
    Ok(())
}

/// Moves an open draft to a new active snapshot (and title); `false` when it is not open.
pub fn advance(
    db: &Connection,
    draft_id: &str,
    snapshot_id: &str,
    title: &str,
    now_us: i64,
) -> rusqlite::Result<bool> {
    let changed = db.execute(
        "UPDATE policy_drafts SET active_snapshot_id = ?2, title = ?3, updated_at = ?4
         WHERE draft_id = ?1 AND status = 'open'",
        params![draft_id, snapshot_id, title, now_us],
    )?;
    Ok(changed == 1)
}

/// Closes the draft if it is still open at `expected_snapshot`: the lineage barrier.
pub fn close_if_at(
    db: &Connection,
    draft_id: &str,
    expected_snapshot: &str,
    status: DraftStatus,
    now_us: i64,
) -> rusqlite::Result<bool> {
    let changed = db.execute(
        "UPDATE policy_drafts SET status = ?3, updated_at = ?4
         WHERE draft_id = ?1 AND status = 'open' AND active_snapshot_id = ?2",
        params![draft_id, expected_snapshot, status_name(status), now_us],
    )?;
    Ok(changed == 1)
}

pub fn insert_decision(
    db: &Connection,
    draft_id: &str,
    snapshot_id: &str,
    kind: DraftStatus,
    body: &str,
    now_us: i64,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO governance_decisions (snapshot_id, draft_id, kind, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![snapshot_id, draft_id, status_name(kind), body, now_us],
    )?;
    Ok(())
}

const DRAFT_COLUMNS: &str =
    "draft_id, tenant, title, author, status, active_snapshot_id, created_at, updated_at";

fn draft_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DraftRow> {
    Ok(DraftRow {
        draft_id: r.get(0)?,
        tenant: r.get(1)?,
        title: r.get(2)?,
        author: r.get(3)?,
        status: status_of(&r.get::<_, String>(4)?),
        active_snapshot_id: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

/// One draft of `tenant`; another tenant's is `None`.
pub fn draft(db: &Connection, tenant: &str, draft_id: &str) -> rusqlite::Result<Option<DraftRow>> {
    db.query_row(
        &format!("SELECT {DRAFT_COLUMNS} FROM policy_drafts WHERE draft_id = ?1 AND tenant = ?2"),
        params![draft_id, tenant],
        draft_row,
    )
    .optional()
}

/// The drafts of `tenant` with `status` (any when `None`), most recently updated first.
pub fn drafts(
    db: &Connection,
    tenant: &str,
    status: Option<DraftStatus>,
    limit: usize,
) -> rusqlite::Result<Vec<DraftRow>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {DRAFT_COLUMNS} FROM policy_drafts WHERE tenant = ?1 AND (?2 IS NULL OR status = ?2)
         ORDER BY updated_at DESC LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![tenant, status.map(status_name), limit], draft_row)?;
    rows.collect()
}

fn parse_snapshot(body: &str) -> rusqlite::Result<DraftSnapshot> {
    serde_json::from_str(body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// One snapshot of a draft, YAML included.
pub fn snapshot(
    db: &Connection,
    draft_id: &str,
    snapshot_id: &str,
) -> rusqlite::Result<Option<DraftSnapshot>> {
    let body: Option<String> = db
        .query_row(
            "SELECT body FROM draft_snapshots WHERE draft_id = ?1 AND snapshot_id = ?2",
            params![draft_id, snapshot_id],
            |r| r.get(0),
        )
        .optional()?;
    body.as_deref().map(parse_snapshot).transpose()
}

/// Every snapshot of a draft, newest first, YAML included.
pub fn snapshots(db: &Connection, draft_id: &str) -> rusqlite::Result<Vec<DraftSnapshot>> {
    let mut stmt = db.prepare_cached(
        "SELECT body FROM draft_snapshots WHERE draft_id = ?1 ORDER BY version DESC",
    )?;
    let rows = stmt.query_map([draft_id], |r| r.get::<_, String>(0))?;
    rows.map(|body| parse_snapshot(&body?)).collect()
}

/// The highest version of a draft so far.
pub fn last_version(db: &Connection, draft_id: &str) -> rusqlite::Result<u32> {
    db.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM draft_snapshots WHERE draft_id = ?1",
        [draft_id],
        |r| r.get(0),
    )
}

/// The decision on a draft, if any (a draft is decided once).
pub fn decision(db: &Connection, draft_id: &str) -> rusqlite::Result<Option<DecisionRow>> {
    db.query_row(
        "SELECT snapshot_id, kind, body FROM governance_decisions WHERE draft_id = ?1",
        [draft_id],
        |r| {
            Ok(DecisionRow {
                snapshot_id: r.get(0)?,
                kind: status_of(&r.get::<_, String>(1)?),
                body: r.get(2)?,
            })
        },
    )
    .optional()
}
