//! Published policy snapshots, newest last in the table; the newest is the current policy.

use rusqlite::{params, Connection, OptionalExtension};

/// One published snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    pub snapshot_id: String,
    pub yaml: String,
    /// The config overlay as JSON text.
    pub overlay: String,
}

/// Records a newly published snapshot.
pub fn insert(
    db: &Connection,
    snapshot: &StoredSnapshot,
    source: &str,
    now_us: i64,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO policy_snapshots (snapshot_id, yaml, overlay, source, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            snapshot.snapshot_id,
            snapshot.yaml,
            snapshot.overlay,
            source,
            now_us
        ],
    )?;
    Ok(())
}

/// The current snapshot, if any was ever published.
pub fn latest(db: &Connection) -> rusqlite::Result<Option<StoredSnapshot>> {
    db.query_row(
        "SELECT snapshot_id, yaml, overlay FROM policy_snapshots ORDER BY seq DESC LIMIT 1",
        [],
        |r| {
            Ok(StoredSnapshot {
                snapshot_id: r.get(0)?,
                yaml: r.get(1)?,
                overlay: r.get(2)?,
            })
        },
    )
    .optional()
}

/// Every distinct snapshot, most recently published first, with its YAML.
pub fn all(db: &Connection) -> rusqlite::Result<Vec<StoredSnapshot>> {
    let mut stmt = db.prepare_cached(
        "SELECT snapshot_id, yaml, overlay FROM policy_snapshots p WHERE seq = \
         (SELECT MAX(seq) FROM policy_snapshots q WHERE q.snapshot_id = p.snapshot_id) \
         ORDER BY seq DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredSnapshot {
            snapshot_id: r.get(0)?,
            yaml: r.get(1)?,
            overlay: r.get(2)?,
        })
    })?;
    rows.collect()
}
