//! Durable state in one SQLite file (WAL): jobs with their safety and approval records,
//! dispatches, idempotency answers, approval events, the audit chain, policy snapshots and
//! login sessions. Every state change runs in one transaction, so a kill -9 loses nothing that
//! was acknowledged.
//!
//! # Concurrency
//!
//! One connection behind a mutex, used from `spawn_blocking`. SQLite admits one writer at a
//! time anyway, so a pool would only add `SQLITE_BUSY` handling; every closure is short (a few
//! indexed statements), and running it on the blocking pool keeps the async workers free.
//! The single connection also lets [`Conn::stamp`] hand out strictly increasing timestamps,
//! which keeps µs list cursors unambiguous.

pub mod audit;
pub mod authlog;
pub mod events;
pub mod governance;
pub mod jobs;
pub mod scheduling;
mod schema;
pub mod sessions;
pub mod snapshots;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension};

use crate::error::GatewayError;

/// The open database.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Conn>,
}

/// The connection plus the last timestamp handed out.
#[derive(Debug)]
pub struct Conn {
    pub db: Connection,
    last_us: i64,
}

impl Conn {
    /// A timestamp strictly greater than every earlier one (and than any stored `updated_at`),
    /// so rows never share a cursor position.
    pub fn stamp(&mut self, now_us: i64) -> i64 {
        self.last_us = now_us.max(self.last_us.saturating_add(1));
        self.last_us
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database file.
    pub fn open(path: &Path) -> Result<Arc<Self>, GatewayError> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an acknowledged decision must survive power loss, not only a process kill.
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&db)?;
        let last_us: i64 = db
            .query_row("SELECT COALESCE(MAX(updated_at), 0) FROM jobs", [], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0);
        Ok(Arc::new(Self {
            conn: Mutex::new(Conn { db, last_us }),
        }))
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn run<R, E, F>(self: &Arc<Self>, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<GatewayError> + Send + 'static,
        F: FnOnce(&mut Conn) -> Result<R, E> + Send + 'static,
    {
        let store = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            // A poisoned mutex only means another closure panicked mid-way; SQLite rolled its
            // transaction back, so the connection itself is still consistent.
            let mut conn = store.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| E::from(GatewayError::StorageTask(e.to_string())))?
    }
}

/// Serializes a value for a JSON text column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// Reads a JSON text column, treating unreadable text as the default.
pub(crate) fn from_json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}
