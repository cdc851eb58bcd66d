//! Published policy snapshots, per tenant, newest last in the table; a tenant's newest is its
//! current policy. Rows with an empty tenant were written by gateways from before policies
//! were per tenant; they seed every tenant that has no row of its own yet.

use rusqlite::{params, Connection};

/// The tenant of snapshots written before policies were per tenant.
pub const LEGACY_TENANT: &str = "";

/// One published snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    pub snapshot_id: String,
    pub yaml: String,
    /// The config overlay as JSON text.
    pub overlay: String,
}

/// Records a newly published snapshot of `tenant`.
pub fn insert(
    db: &Connection,
    tenant: &str,
    snapshot: &StoredSnapshot,
    source: &str,
    now_us: i64,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO policy_snapshots (tenant, snapshot_id, yaml, overlay, source, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            tenant,
            snapshot.snapshot_id,
            snapshot.yaml,
            snapshot.overlay,
            source,
            now_us
        ],
    )?;
    Ok(())
}

/// Every distinct snapshot of `tenant`, most recently published first, with its YAML.
pub fn all(db: &Connection, tenant: &str) -> rusqlite::Result<Vec<StoredSnapshot>> {
    let mut stmt = db.prepare_cached(
        "SELECT snapshot_id, yaml, overlay FROM policy_snapshots p WHERE tenant = ?1 AND seq = \
         (SELECT MAX(seq) FROM policy_snapshots q WHERE q.tenant = ?1 AND q.snapshot_id = p.snapshot_id) \
         ORDER BY seq DESC",
    )?;
    let rows = stmt.query_map([tenant], |r| {
        Ok(StoredSnapshot {
            snapshot_id: r.get(0)?,
            yaml: r.get(1)?,
            overlay: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// Every tenant that has a snapshot of its own.
pub fn tenants(db: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = db.prepare_cached(
        "SELECT DISTINCT tenant FROM policy_snapshots WHERE tenant != '' ORDER BY tenant",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}
