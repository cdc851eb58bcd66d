//! What became of a job after it was allowed or approved: its scheduling row (attempts, the
//! reason it waits, the dispatch-time decision), the guarded state moves of the dispatcher and
//! the worker, and the worker's side-effect keys.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::jobs::state;
use super::{from_json, to_json};

/// A job's scheduling record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scheduling {
    pub job_id: String,
    pub tenant: String,
    /// When it became dispatchable (µs): the start of the dispatch latency.
    pub ready_at: i64,
    pub attempts: u32,
    pub next_attempt_at: i64,
    /// Why the last attempt requeued it (empty once dispatched or finished).
    pub wait_reason: String,
    /// The fail mode the last attempt applied (`closed` / `open`), when the engine failed.
    pub fail_mode: String,
    pub failure_reason: String,
    /// The dispatch-time decision (see `service::gate`), `None` before the first attempt.
    pub decision: Option<Value>,
}

/// States in which a job is the dispatcher's or a worker's to move on.
pub const IN_FLIGHT: [&str; 4] = [
    state::PENDING,
    state::SCHEDULED,
    state::DISPATCHED,
    state::RUNNING,
];

/// Makes a job dispatchable now: a fresh record (a re-approved job starts its attempts over).
pub fn ready(db: &Connection, job_id: &str, tenant: &str, now_us: i64) -> rusqlite::Result<()> {
    db.execute(
        "INSERT OR REPLACE INTO scheduling (job_id, tenant, ready_at, attempts, next_attempt_at) \
         VALUES (?1, ?2, ?3, 0, ?3)",
        params![job_id, tenant, now_us],
    )?;
    Ok(())
}

pub fn get(db: &Connection, job_id: &str) -> rusqlite::Result<Option<Scheduling>> {
    db.query_row(
        "SELECT job_id, tenant, ready_at, attempts, next_attempt_at, wait_reason, fail_mode, \
         failure_reason, decision FROM scheduling WHERE job_id = ?1",
        [job_id],
        |r| {
            Ok(Scheduling {
                job_id: r.get(0)?,
                tenant: r.get(1)?,
                ready_at: r.get(2)?,
                attempts: r.get(3)?,
                next_attempt_at: r.get(4)?,
                wait_reason: r.get(5)?,
                fail_mode: r.get(6)?,
                failure_reason: r.get(7)?,
                decision: from_json(&r.get::<_, String>(8)?),
            })
        },
    )
    .optional()
}

pub fn save(db: &Connection, s: &Scheduling) -> rusqlite::Result<()> {
    db.execute(
        "INSERT OR REPLACE INTO scheduling (job_id, tenant, ready_at, attempts, next_attempt_at, \
         wait_reason, fail_mode, failure_reason, decision) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            s.job_id,
            s.tenant,
            s.ready_at,
            s.attempts,
            s.next_attempt_at,
            s.wait_reason,
            s.fail_mode,
            s.failure_reason,
            to_json(&s.decision),
        ],
    )?;
    Ok(())
}

/// Jobs in flight with when their next attempt is due, for the pending replayer.
pub fn in_flight(db: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt = db.prepare_cached(
        "SELECT j.id, COALESCE(s.next_attempt_at, j.updated_at) FROM jobs j \
         LEFT JOIN scheduling s ON s.job_id = j.id \
         WHERE j.state IN ('PENDING', 'SCHEDULED', 'DISPATCHED', 'RUNNING') ORDER BY j.updated_at",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Records a side effect under `key`; returns whether it is new (false: it already ran).
pub fn side_effect(
    db: &Connection,
    key: &str,
    job_id: &str,
    now_us: i64,
) -> rusqlite::Result<bool> {
    Ok(db.execute(
        "INSERT OR IGNORE INTO side_effects (key, job_id, executed_at) VALUES (?1, ?2, ?3)",
        params![key, job_id, now_us],
    )? == 1)
}

/// How many side effects ran for a job (0 or 1 by construction).
pub fn side_effects_of(db: &Connection, job_id: &str) -> rusqlite::Result<i64> {
    db.query_row(
        "SELECT COUNT(*) FROM side_effects WHERE job_id = ?1",
        [job_id],
        |r| r.get(0),
    )
}
