//! The gateway-level log of authentication failures: bounded rows outside every tenant's
//! audit chain, so that nobody without a credential can write into a tenant's chain.

use rusqlite::{params, Connection};
use serde::Serialize;

/// One recorded failure; every text is already cut to its bound.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuthFailure {
    pub at: i64,
    /// `unauthorized`, `tenant_denied`, `login_failure`, `login_rate_limited`.
    pub kind: String,
    /// The peer address.
    pub source: String,
    /// The `X-Tenant-ID` (or login `tenant`) the caller claimed, as it claimed it.
    pub claimed_tenant: String,
    /// The username of a login attempt.
    pub username: String,
    pub path: String,
    pub reason: String,
}

/// Appends a failure and drops the oldest rows beyond `max_rows`.
pub fn append(db: &Connection, f: &AuthFailure, max_rows: usize) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO auth_failures (at, kind, source, claimed_tenant, username, path, reason) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            f.at,
            f.kind,
            f.source,
            f.claimed_tenant,
            f.username,
            f.path,
            f.reason
        ],
    )?;
    let keep = i64::try_from(max_rows).unwrap_or(i64::MAX);
    db.execute(
        "DELETE FROM auth_failures WHERE id <= (SELECT MAX(id) FROM auth_failures) - ?1",
        [keep],
    )?;
    Ok(())
}

/// The newest failures, newest first.
pub fn recent(db: &Connection, limit: usize) -> rusqlite::Result<Vec<AuthFailure>> {
    let mut stmt = db.prepare_cached(
        "SELECT at, kind, source, claimed_tenant, username, path, reason FROM auth_failures \
         ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok(AuthFailure {
            at: r.get(0)?,
            kind: r.get(1)?,
            source: r.get(2)?,
            claimed_tenant: r.get(3)?,
            username: r.get(4)?,
            path: r.get(5)?,
            reason: r.get(6)?,
        })
    })?;
    rows.collect()
}

/// How many failures are stored.
pub fn count(db: &Connection) -> rusqlite::Result<i64> {
    db.query_row("SELECT COUNT(*) FROM auth_failures", [], |r| r.get(0))
}
