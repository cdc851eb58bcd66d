//! The database schema. Tables are created if missing, so opening an existing file is a no-op.

use rusqlite::Connection;

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS jobs (
    id                   TEXT PRIMARY KEY,
    tenant               TEXT NOT NULL,
    trace_id             TEXT NOT NULL,
    state                TEXT NOT NULL,
    topic                TEXT NOT NULL,
    principal            TEXT NOT NULL,
    actor_id             TEXT NOT NULL,
    actor_type           TEXT NOT NULL,
    idempotency_key      TEXT NOT NULL,
    capability           TEXT NOT NULL,
    pack_id              TEXT NOT NULL,
    risk_tags            TEXT NOT NULL,
    requires             TEXT NOT NULL,
    prompt               TEXT NOT NULL,
    context              TEXT NOT NULL,
    request              TEXT NOT NULL,
    submitted_by         TEXT NOT NULL,
    deadline_unix        INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    safety_decision      TEXT NOT NULL,
    safety_reason        TEXT NOT NULL,
    safety_rule_id       TEXT NOT NULL,
    safety_snapshot      TEXT NOT NULL,
    safety_constraints   TEXT NOT NULL,
    safety_job_hash      TEXT NOT NULL,
    approval_required    INTEGER NOT NULL,
    checked_at           INTEGER NOT NULL,
    approval_status      TEXT NOT NULL DEFAULT '',
    approval_revision    INTEGER NOT NULL DEFAULT 0,
    approval_decision    TEXT NOT NULL DEFAULT '',
    resolved_by          TEXT NOT NULL DEFAULT '',
    resolved_at          INTEGER NOT NULL DEFAULT 0,
    resolution           TEXT NOT NULL DEFAULT '',
    resolved_comment     TEXT NOT NULL DEFAULT '',
    approval_job_hash    TEXT NOT NULL DEFAULT '',
    approval_snapshot    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_by_tenant_time ON jobs (tenant, updated_at);
CREATE INDEX IF NOT EXISTS jobs_by_topic ON jobs (tenant, topic, resolved_at);

CREATE TABLE IF NOT EXISTS dispatches (
    job_id        TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL,
    topic         TEXT NOT NULL,
    source        TEXT NOT NULL,
    dispatched_at INTEGER NOT NULL
);

-- One row per job that became dispatchable (allowed at submit, or approved): the
-- dispatch-time gate's attempts, why it waits, and the decision it took.
CREATE TABLE IF NOT EXISTS scheduling (
    job_id          TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    ready_at        INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    wait_reason     TEXT NOT NULL DEFAULT '',
    fail_mode       TEXT NOT NULL DEFAULT '',
    failure_reason  TEXT NOT NULL DEFAULT '',
    decision        TEXT NOT NULL DEFAULT 'null'
);

-- The simulated worker's side effects, keyed on approval_ref:job_hash (seed 001's
-- executeAfterApproval): a job delivered twice executes once.
CREATE TABLE IF NOT EXISTS side_effects (
    key         TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL,
    executed_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS idempotency (
    tenant     TEXT NOT NULL,
    key        TEXT NOT NULL,
    status     INTEGER NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, key)
);

CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS audit (
    tenant     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    event      TEXT NOT NULL,
    event_hash TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    PRIMARY KEY (tenant, seq)
);

CREATE TABLE IF NOT EXISTS policy_snapshots (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT NOT NULL DEFAULT '',
    snapshot_id TEXT NOT NULL,
    yaml        TEXT NOT NULL,
    overlay     TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS auth_failures (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    source         TEXT NOT NULL,
    claimed_tenant TEXT NOT NULL,
    username       TEXT NOT NULL,
    path           TEXT NOT NULL,
    reason         TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    tenant     TEXT NOT NULL,
    role       TEXT NOT NULL,
    principal  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
";

pub(super) fn migrate(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(SCHEMA)?;
    db.execute_batch(super::governance::SCHEMA)?;
    // Files from before policies were per tenant: their rows keep the empty (legacy) tenant.
    add_column_if_missing(db, "policy_snapshots", "tenant", "TEXT NOT NULL DEFAULT ''")?;
    // Files from before the list read its labels from a column: NULL, the request is decoded.
    add_column_if_missing(db, "jobs", "item_labels", "TEXT")?;
    db.execute_batch(
        "CREATE INDEX IF NOT EXISTS snapshots_by_tenant ON policy_snapshots (tenant, seq);
         CREATE INDEX IF NOT EXISTS jobs_by_state_deadline ON jobs (state, deadline_unix);",
    )
}

fn add_column_if_missing(
    db: &Connection,
    table: &str,
    column: &str,
    definition: &str,
) -> rusqlite::Result<()> {
    let mut stmt = db.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if !names.iter().any(|n| n == column) {
        db.execute_batch(&format!(
            "ALTER TABLE {table} ADD COLUMN {column} {definition}"
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_from_before_per_tenant_policies_is_migrated() {
        let db = Connection::open_in_memory().expect("db");
        db.execute_batch(
            "CREATE TABLE policy_snapshots (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
             snapshot_id TEXT NOT NULL, yaml TEXT NOT NULL, overlay TEXT NOT NULL, \
             source TEXT NOT NULL, created_at INTEGER NOT NULL); \
             INSERT INTO policy_snapshots (snapshot_id, yaml, overlay, source, created_at) \
             VALUES ('s', 'version: v1', '{}', 'old', 0);",
        )
        .expect("old schema");
        migrate(&db).expect("migrates");
        migrate(&db).expect("and again, as a no-op");
        let tenant: String = db
            .query_row("SELECT tenant FROM policy_snapshots", [], |r| r.get(0))
            .expect("row");
        assert_eq!(tenant, "");
    }

    #[test]
    fn jobs_from_before_the_item_labels_column_read_null() {
        let db = Connection::open_in_memory().expect("db");
        db.execute_batch(SCHEMA).expect("old schema");
        db.execute_batch(
            "INSERT INTO jobs (id, tenant, trace_id, state, topic, principal, actor_id, \
             actor_type, idempotency_key, capability, pack_id, risk_tags, requires, prompt, \
             context, request, submitted_by, deadline_unix, created_at, updated_at, \
             safety_decision, safety_reason, safety_rule_id, safety_snapshot, \
             safety_constraints, safety_job_hash, approval_required, checked_at) VALUES \
             ('j', 't', '', '', '', '', '', '', '', '', '', '[]', '[]', '', 'null', '{}', '', \
             0, 0, 0, '', '', '', '', 'null', '', 1, 0);",
        )
        .expect("old row");
        migrate(&db).expect("migrates");
        migrate(&db).expect("and again, as a no-op");
        let labels: Option<String> = db
            .query_row("SELECT item_labels FROM jobs", [], |r| r.get(0))
            .expect("row");
        assert_eq!(labels, None, "the list decodes this row's request itself");
    }
}
