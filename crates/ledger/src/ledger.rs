//! [`Ledger`]: one open ledger file, and the single write path every append goes through.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::body::{deeper_than, MAX_BODY_DEPTH};
use crate::chain::{canonical_json, ChainHead, HashInput};
use crate::entry::{entry_from_row, Entry, NewEntry, ENTRY_COLUMNS};
use crate::error::{LedgerError, Result};
use crate::schema;

/// Milliseconds since the Unix epoch. Injectable so tests can pin `recorded_at`.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock in milliseconds; a clock before 1970 reads as 0.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// An open ledger file. `Send + Sync`: calls from several threads are serialised on one
/// connection, and several `Ledger`s (in one process or many) may share a file, since every
/// append runs in its own `BEGIN IMMEDIATE` transaction that reads the head and writes after it.
///
/// Every call blocks on SQLite and, for writes, on `fsync`: from async code, call it on a
/// blocking thread.
pub struct Ledger {
    path: PathBuf,
    conn: Mutex<Connection>,
    clock: Clock,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

impl Ledger {
    /// Opens the ledger at `path`, creating the file and its parent directories if needed and
    /// migrating an older schema. The caller chooses the path (one file per profile).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_clock(path, system_clock())
    }

    /// [`Ledger::open`] with the clock that stamps `recorded_at`.
    pub fn open_with_clock(path: impl AsRef<Path>, clock: Clock) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_connection(&path)?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
            clock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and returns it as stored.
    pub fn append(&self, entry: NewEntry) -> Result<Entry> {
        self.write(|writer| writer.append(entry))
    }

    /// Appends `entries` in order, in one transaction: all of them or none. Many entries at
    /// once (an import, a mirrored audit page) cost one commit instead of one each.
    pub fn append_all(&self, entries: impl IntoIterator<Item = NewEntry>) -> Result<u64> {
        self.write(|writer| {
            let mut appended = 0;
            for entry in entries {
                writer.append(entry)?;
                appended += 1;
            }
            Ok(appended)
        })
    }

    /// The last committed entry's seq and hash, checked against the stored entries.
    pub fn head(&self) -> Result<ChainHead> {
        self.read(read_head)
    }

    /// Number of stored entries.
    pub fn entry_count(&self) -> Result<u64> {
        self.read(|conn| {
            let count: i64 = conn.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?;
            from_sql_seq(count)
        })
    }

    /// The entry with this seq.
    pub fn entry(&self, seq: u64) -> Result<Entry> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE seq = ?1"
            ))?;
            let mut rows = stmt.query([to_sql_seq(seq)?])?;
            match rows.next()? {
                Some(row) => entry_from_row(row),
                None => Err(LedgerError::not_found(format!("entry {seq}"))),
            }
        })
    }

    pub(crate) fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: the write lock is taken before the head is
    /// read, so no other writer (thread or process) can append between the read and the insert
    /// and fork the chain. Everything `f` writes commits together or not at all.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head = read_head(&tx)?;
        let mut writer = Writer {
            tx,
            head,
            clock: &self.clock,
        };
        let value = f(&mut writer)?;
        writer.tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in one read transaction, so every statement in it sees the same snapshot.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.finish()?;
        Ok(value)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped its transaction, which rolled back, so the
        // connection is in a clean state and poisoning carries no information here.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The write side of one transaction.
pub(crate) struct Writer<'a> {
    tx: Transaction<'a>,
    head: ChainHead,
    clock: &'a Clock,
}

impl Writer<'_> {
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Appends after the current head and moves the `chain_head` anchor in the same transaction.
    pub fn append(&mut self, entry: NewEntry) -> Result<Entry> {
        let seq = self.head.seq + 1;
        let recorded_at = self.now_ms();
        if deeper_than(&entry.body, MAX_BODY_DEPTH) {
            return Err(LedgerError::InvalidInput(format!(
                "a {} entry body nests deeper than {MAX_BODY_DEPTH} levels",
                entry.kind
            )));
        }
        let body = canonical_json(&entry.body);
        let entry_hash = HashInput {
            seq,
            recorded_at,
            kind: entry.kind.as_str(),
            job_id: entry.job_id.as_deref(),
            topic: entry.topic.as_deref(),
            decision: entry.decision.as_deref(),
            outcome: entry.outcome.as_deref(),
            body: &body,
            prev_hash: &self.head.entry_hash,
        }
        .entry_hash();
        let sql_seq = to_sql_seq(seq)?;
        self.tx.execute(
            &format!(
                "INSERT INTO entries ({ENTRY_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                sql_seq,
                recorded_at,
                entry.kind.as_str(),
                entry.job_id,
                entry.topic,
                entry.decision,
                entry.outcome,
                body,
                self.head.entry_hash,
                entry_hash,
            ],
        )?;
        crate::search::index_entry(
            &self.tx,
            sql_seq,
            &body,
            entry.topic.as_deref(),
            entry.job_id.as_deref(),
        )?;
        self.tx.execute(
            "UPDATE chain_head SET seq = ?1, entry_hash = ?2 WHERE id = 1",
            params![sql_seq, entry_hash],
        )?;
        let stored = Entry {
            seq,
            recorded_at,
            kind: entry.kind,
            job_id: entry.job_id,
            topic: entry.topic,
            decision: entry.decision,
            outcome: entry.outcome,
            body: entry.body,
            prev_hash: std::mem::replace(&mut self.head.entry_hash, entry_hash.clone()),
            entry_hash,
        };
        self.head.seq = seq;
        Ok(stored)
    }
}

/// The anchor row, refused when it disagrees with the last stored entry: appending after a
/// truncated or rewritten tail would bury the evidence under fresh entries.
pub(crate) fn read_head(conn: &Connection) -> Result<ChainHead> {
    let anchor = read_anchor(conn)?;
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some(anchor) = anchor else {
        return Err(LedgerError::Tampered(
            "the chain head row is missing".into(),
        ));
    };
    let last = match last {
        Some((seq, entry_hash)) => ChainHead {
            seq: from_sql_seq(seq)?,
            entry_hash,
        },
        None => ChainHead::genesis(),
    };
    if anchor != last {
        return Err(LedgerError::Tampered(format!(
            "the chain head records entry {} ({}) but the last stored entry is {} ({})",
            anchor.seq, anchor.entry_hash, last.seq, last.entry_hash
        )));
    }
    Ok(anchor)
}

/// The `chain_head` row as stored, unchecked.
pub(crate) fn read_anchor(conn: &Connection) -> Result<Option<ChainHead>> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, entry_hash FROM chain_head WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    row.map(|(seq, entry_hash)| {
        Ok(ChainHead {
            seq: from_sql_seq(seq)?,
            entry_hash,
        })
    })
    .transpose()
}

pub(crate) fn to_sql_seq(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| LedgerError::InvalidQuery(format!("seq {seq} is out of range")))
}

pub(crate) fn from_sql_seq(seq: i64) -> Result<u64> {
    u64::try_from(seq).map_err(|_| LedgerError::Corrupt(format!("negative seq {seq}")))
}
