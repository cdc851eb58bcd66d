//! Opening a ledger file: connection settings, recognising our own files, and the schema
//! migrations (tracked in SQLite's `user_version`).

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::chain::GENESIS_HASH;
use crate::error::{LedgerError, Result};

/// Stored in the SQLite header (`PRAGMA application_id`) so that a ledger is recognisable and
/// another application's database is never migrated into one. ASCII "CSLG".
const APPLICATION_ID: i64 = 0x4353_4C47;

/// How long a writer waits for another process's write transaction before `ledger_busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Migration `n` (0-based) takes the schema from version `n` to `n + 1`. Append only: a
/// released migration is never edited, because files in the field already ran it.
const MIGRATIONS: &[&str] = &[
    // v1
    "
    CREATE TABLE entries (
        seq         INTEGER PRIMARY KEY,
        recorded_at INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        job_id      TEXT,
        topic       TEXT,
        decision    TEXT,
        outcome     TEXT,
        body        TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        entry_hash  TEXT NOT NULL
    );
    CREATE INDEX entries_recorded_at ON entries (recorded_at);
    CREATE INDEX entries_kind ON entries (kind);
    CREATE INDEX entries_job_id ON entries (job_id);
    CREATE INDEX entries_topic ON entries (topic);
    CREATE INDEX entries_decision ON entries (decision);
    CREATE INDEX entries_outcome ON entries (outcome);

    -- The anchor: the head as of the last committed append, written in the same transaction.
    -- It is what lets verify() notice a truncated tail, which the chain alone cannot.
    CREATE TABLE chain_head (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        seq        INTEGER NOT NULL,
        entry_hash TEXT NOT NULL
    );

    CREATE TABLE outbox (
        decision_id      TEXT PRIMARY KEY,
        job_id           TEXT NOT NULL,
        topic            TEXT,
        action           TEXT NOT NULL CHECK (action IN ('approve', 'reject')),
        job_hash         TEXT NOT NULL,
        policy_snapshot  TEXT NOT NULL,
        reason           TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        intent_seq       INTEGER NOT NULL REFERENCES entries (seq),
        attempts         INTEGER NOT NULL DEFAULT 0,
        last_code        TEXT,
        last_outcome_seq INTEGER REFERENCES entries (seq),
        closed_at        INTEGER
    );
    -- At most one decision in flight per job: the guard against sending two.
    CREATE UNIQUE INDEX outbox_one_open_per_job ON outbox (job_id) WHERE closed_at IS NULL;

    CREATE TABLE seen_items (
        job_id     TEXT NOT NULL,
        job_hash   TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        entry_seq  INTEGER NOT NULL REFERENCES entries (seq),
        PRIMARY KEY (job_id, job_hash)
    );

    CREATE TABLE mirrored_events (
        event_key TEXT PRIMARY KEY,
        entry_seq INTEGER NOT NULL REFERENCES entries (seq)
    );
    ",
    // v2: what recovery needs to re-send a decision exactly as the reviewer made it (the note,
    // the gate flag the drift check depends on), and the cross-process lease on a row.
    "
    ALTER TABLE outbox ADD COLUMN note TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN workflow_gate INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
    ALTER TABLE outbox ADD COLUMN recoveries INTEGER NOT NULL DEFAULT 0;
    ",
    // v3: the content the reviewer read, which every re-send of an approval is checked against.
    "
    ALTER TABLE outbox ADD COLUMN content_digest TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN content TEXT;
    ",
    // v4: governance decisions (policy drafts, seed 004) and the draft snapshots seen. A table
    // of their own: a governance decision is bound to a draft snapshot, not a job, and its
    // recovery re-sends through other endpoints.
    "
    CREATE TABLE governance_outbox (
        decision_id TEXT PRIMARY KEY,
        draft_id    TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        action      TEXT NOT NULL CHECK (action IN ('approve', 'reject')),
        intent      TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        intent_seq  INTEGER NOT NULL REFERENCES entries (seq),
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_code   TEXT,
        closed_at   INTEGER
    );
    CREATE UNIQUE INDEX governance_one_open_per_draft
        ON governance_outbox (draft_id) WHERE closed_at IS NULL;

    CREATE TABLE seen_drafts (
        draft_id    TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        first_seen  INTEGER NOT NULL,
        entry_seq   INTEGER NOT NULL REFERENCES entries (seq),
        PRIMARY KEY (draft_id, snapshot_id)
    );
    ",
    // v5: the free-text search index (src/search.rs), filled from the entries already stored
    // by the rule `search::index_entry` applies to new ones (the 4096 and the mark are its
    // INDEXED_BYTES_MAX and UNINDEXED). Derived data outside the chain: no entry hash covers
    // it and verify() never reads it. Contentless (no second copy of every body) and without
    // positions (detail='none'): about the size of the bodies again instead of three times it;
    // queries re-check every candidate against the entry itself, so the index only has to
    // over-approximate. 'optimize' merges the fill into one segment, which a search reads
    // several times faster than many.
    "
    CREATE VIRTUAL TABLE entry_text USING fts5(
        searchable, content = '', detail = 'none', tokenize = 'trigram'
    );
    INSERT INTO entry_text (rowid, searchable)
        SELECT seq, CASE
            WHEN octet_length(body) + coalesce(octet_length(topic), 0)
                 + coalesce(octet_length(job_id), 0) > 4096 THEN char(1, 1, 1)
            ELSE concat_ws(char(10), body, topic, job_id)
        END FROM entries;
    INSERT INTO entry_text (entry_text) VALUES ('optimize');
    ",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens (creating if needed) and migrates the ledger at `path`.
pub(crate) fn open_connection(path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::create_private_dir_all(parent)
            .map_err(|err| LedgerError::io(parent, &err))?;
    }
    // SQLite creates its -wal and -shm files with the main file's mode, so 0600 here covers
    // all three.
    crate::files::create_private_file(path).map_err(|err| LedgerError::io(path, &err))?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)
        .map_err(|err| LedgerError::Io(format!("{}: {err}", path.display())))?;
    harden(&conn)?;
    // Recognised before anything is changed, so another application's database is left exactly
    // as it was (not even switched to WAL).
    recognise(&conn, path)?;
    configure(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn harden(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // A hostile file must not be able to reach beyond its own rows: no schema writes through
    // SQL, no functions run from triggers or views it ships.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    Ok(())
}

fn configure(conn: &Connection) -> Result<()> {
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LedgerError::Io(format!(
            "the file system does not support SQLite WAL mode (got {mode})"
        )));
    }
    // A lost approval record is worse than a slower write.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "cell_size_check", true)?;
    Ok(())
}

fn recognise(conn: &Connection, path: &Path) -> Result<()> {
    // The first statement that reads the file: a non-database fails here with NOTADB.
    let application_id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version = user_version(conn)?;
    if application_id == APPLICATION_ID {
        return check_not_too_new(version);
    }
    let objects: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    // A fresh file (no tables yet) becomes a ledger; anything else belongs to someone else.
    if application_id != 0 || version != 0 || objects != 0 {
        return Err(LedgerError::ForeignFile(path.to_path_buf()));
    }
    Ok(())
}

fn check_not_too_new(version: i64) -> Result<()> {
    if version > SCHEMA_VERSION {
        return Err(LedgerError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    if user_version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    // IMMEDIATE so two processes opening a new file at once migrate it once: the second waits,
    // then re-reads the version inside its own transaction.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let from = user_version(&tx)?;
    check_not_too_new(from)?;
    let start = usize::try_from(from).map_err(|_| {
        LedgerError::Corrupt(format!("schema version {from} is not a valid version"))
    })?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql)?;
        if index == 0 {
            tx.execute(
                "INSERT INTO chain_head (id, seq, entry_hash) VALUES (1, 0, ?1)",
                [GENESIS_HASH],
            )?;
        }
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
