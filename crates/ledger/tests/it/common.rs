//! Shared fixtures.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use countersign_ledger::{Clock, Ledger};
use tempfile::TempDir;

/// A ledger in a fresh temporary directory; the directory lives as long as the `TempDir`.
pub struct Fixture {
    pub dir: TempDir,
    pub path: PathBuf,
    pub ledger: Ledger,
    pub time: Arc<AtomicI64>,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("profile").join("ledger.sqlite");
        let time = Arc::new(AtomicI64::new(1_700_000_000_000));
        let ledger = Ledger::open_with_clock(&path, clock(&time)).expect("open ledger");
        Self {
            dir,
            path,
            ledger,
            time,
        }
    }

    /// Opens the same file again, as a later run of the app would.
    pub fn reopen(&self) -> Ledger {
        Ledger::open_with_clock(&self.path, clock(&self.time)).expect("reopen ledger")
    }

    pub fn set_time(&self, ms: i64) {
        self.time.store(ms, Ordering::SeqCst);
    }

    /// A plain connection that bypasses the ledger, for tampering.
    pub fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("raw connection")
    }

    /// Runs one statement on the file behind the ledger's back.
    pub fn tamper(&self, sql: &str) {
        self.raw().execute(sql, []).expect("tamper");
    }
}

/// A clock reading `time`, advancing 1 ms per reading so entries are ordered in time too.
pub fn clock(time: &Arc<AtomicI64>) -> Clock {
    let time = Arc::clone(time);
    Arc::new(move || time.fetch_add(1, Ordering::SeqCst))
}
