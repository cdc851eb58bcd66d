//! Lease holders that a claimant can tell dead from alive. A holder is a name plus an
//! exclusive lock on a file of that name beside the ledger (`<ledger>.holders/<name>`), taken
//! when the holder is made and kept while it lives. The operating system drops the lock when
//! the process ends, however it ends (SIGKILL included), so a row whose lease still runs but
//! whose holder's file can be locked by someone else belongs to a dead process: a recoverer
//! takes it over at once instead of waiting out the lease. A holder without a file (an older
//! client, a file that could not be made) is taken to be alive until its lease runs out.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use rusqlite::OptionalExtension;

use crate::error::{LedgerError, Result};
use crate::ledger::Ledger;

/// The longest holder name that gets a lock file.
const MAX_NAME: usize = 100;

/// A lease holder; alive (for every process sharing the ledger) until dropped.
#[derive(Debug)]
pub struct LeaseHolder {
    name: String,
    /// Held locked for the holder's life; `None` when no lock file could be made.
    _lock: Option<File>,
}

impl LeaseHolder {
    /// A holder with no lock file: others cannot tell when it dies, so its leases are free
    /// only once they run out.
    pub fn unlocked(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            _lock: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

fn io_error(error: std::io::Error) -> LedgerError {
    LedgerError::Io(format!("outbox lease holder file: {error}"))
}

/// Only names that are safe as a file name get a file: the name read back from a row is
/// data, and must never lead outside the holders' folder.
fn lockable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn holders_dir(ledger: &Path) -> PathBuf {
    let mut dir = ledger.as_os_str().to_owned();
    dir.push(".holders");
    PathBuf::from(dir)
}

/// Whether the holder's lock file exists and nobody holds its lock. The file stays: it is
/// the only evidence that the holder died for every row it may still hold, and is removed
/// by [`Ledger::lease_holder`]'s sweep once no open row names it.
fn is_dead(dir: &Path, name: &str) -> bool {
    if !lockable(name) {
        return false;
    }
    let Ok(file) = OpenOptions::new().write(true).open(dir.join(name)) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => true,
        Err(TryLockError::WouldBlock | TryLockError::Error(_)) => false,
    }
}

impl Ledger {
    /// A new lease holder named `<prefix>-<unique id>`, its lock file made and locked;
    /// `prefix` must be a lockable name (letters, digits, `-`, `_`). An error when the file
    /// cannot be made: the caller may go on with [`LeaseHolder::unlocked`], whose leases
    /// then simply run out.
    pub fn lease_holder(&self, prefix: &str) -> Result<LeaseHolder> {
        let name = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
        let dir = holders_dir(self.path());
        crate::files::create_private_dir_all(&dir).map_err(io_error)?;
        let file = File::create(dir.join(&name)).map_err(io_error)?;
        file.try_lock()
            .map_err(|e| io_error(std::io::Error::from(e)))?;
        self.sweep_dead_holders(&dir);
        Ok(LeaseHolder {
            name,
            _lock: Some(file),
        })
    }

    /// Whether `name`, holder of a lease that has not run out, is a process that ended.
    pub(crate) fn holder_is_dead(&self, name: &str) -> bool {
        is_dead(&holders_dir(self.path()), name)
    }

    /// Removes the files of holders that ended and hold no open row any more, so the folder
    /// does not grow with every run.
    fn sweep_dead_holders(&self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let holds_rows = self.read(|conn| {
                Ok(conn
                    .query_row(
                        "SELECT 1 FROM outbox WHERE claimed_by = ?1 AND closed_at IS NULL LIMIT 1",
                        [&name],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some())
            });
            if matches!(holds_rows, Ok(false)) && is_dead(dir, &name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_lock_files() {
        assert!(lockable("decider-0a1b"));
        for name in ["", "../x", "a/b", "a.b", &"x".repeat(101)] {
            assert!(!lockable(name), "{name:?}");
        }
    }

    #[test]
    fn a_holder_is_alive_while_it_lives_and_dead_after() {
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Ledger::open(dir.path().join("l.sqlite")).expect("ledger");
        let holder = ledger.lease_holder("decider").expect("holder");
        assert!(!ledger.holder_is_dead(holder.name()));
        assert!(
            !ledger.holder_is_dead("never-existed"),
            "no file: assumed alive"
        );
        let name = holder.name().to_owned();
        drop(holder);
        assert!(ledger.holder_is_dead(&name));
        assert!(ledger.holder_is_dead(&name), "still dead: the file is kept");
        // The next holder's sweep removes it: it holds no open row.
        let next = ledger.lease_holder("decider").expect("holder");
        assert!(!holders_dir(ledger.path()).join(&name).exists());
        assert!(holders_dir(ledger.path()).join(next.name()).exists());
    }
}
