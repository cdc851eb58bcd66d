//! [`LedgerError`]: every way a ledger operation can fail, each with a stable `code()` that
//! the app and the CLI can route on without parsing messages.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// A ledger failure. Messages are for people; [`LedgerError::code`] is for programs.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file system refused (permissions, disk full, missing directory, I/O error).
    #[error("ledger I/O error: {0}")]
    Io(String),

    /// The file is not a readable SQLite database, or SQLite found it damaged.
    #[error("ledger file is corrupt or not a database: {0}")]
    Corrupt(String),

    /// One stored entry cannot be read back (bad JSON body, unknown kind, wrong column type).
    #[error("ledger entry {seq} is malformed: {detail}")]
    MalformedEntry { seq: u64, detail: String },

    /// A valid SQLite database that is not a Countersign ledger; it is left untouched.
    #[error("{0} is a SQLite database but not a Countersign ledger")]
    ForeignFile(PathBuf),

    /// The file was written by a newer Countersign whose schema this build does not know.
    #[error("ledger schema version {found} is newer than the supported version {supported}")]
    SchemaTooNew { found: i64, supported: i64 },

    /// The chain head disagrees with the stored entries, so appending would extend a chain that
    /// no longer verifies. Run `verify()` for the details.
    #[error("ledger has been tampered with: {0}")]
    Tampered(String),

    /// Another process held the write lock for longer than the busy timeout.
    #[error("ledger is busy (locked by another writer): {0}")]
    Busy(String),

    #[error("{what} not found in the ledger")]
    NotFound { what: String },

    #[error("invalid ledger query: {0}")]
    InvalidQuery(String),

    /// An argument the ledger refuses to record (for example an empty decision id).
    #[error("invalid ledger input: {0}")]
    InvalidInput(String),

    /// A decision id was recorded twice.
    #[error("decision {0} is already recorded")]
    DuplicateDecision(String),

    /// The job already has a decision in flight; finish or close it first.
    #[error("job {job_id} already has an open decision {decision_id}")]
    IntentPending { job_id: String, decision_id: String },

    /// The policy draft already has a governance decision in flight.
    #[error("policy draft {draft_id} already has an open decision {decision_id}")]
    GovernancePending {
        draft_id: String,
        decision_id: String,
    },

    /// A final outcome was already recorded for this decision.
    #[error("decision {decision_id} is already closed with outcome {code}")]
    IntentClosed { decision_id: String, code: String },

    /// Any other SQLite failure (for example a schema a hostile file replaced).
    #[error("ledger database error: {0}")]
    Sqlite(String),
}

impl LedgerError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "ledger_io",
            Self::Corrupt(_) | Self::MalformedEntry { .. } => "ledger_corrupt",
            Self::ForeignFile(_) => "ledger_foreign_file",
            Self::SchemaTooNew { .. } => "ledger_schema_too_new",
            Self::Tampered(_) => "ledger_tampered",
            Self::Busy(_) => "ledger_busy",
            Self::NotFound { .. } => "ledger_not_found",
            Self::InvalidQuery(_) => "ledger_invalid_query",
            Self::InvalidInput(_) => "ledger_invalid_input",
            Self::DuplicateDecision(_) => "ledger_duplicate_decision",
            Self::IntentPending { .. } => "ledger_intent_pending",
            Self::GovernancePending { .. } => "ledger_governance_pending",
            Self::IntentClosed { .. } => "ledger_intent_closed",
            Self::Sqlite(_) => "ledger_sqlite",
        }
    }

    pub(crate) fn io(path: &Path, err: &std::io::Error) -> Self {
        Self::Io(format!("{}: {err}", path.display()))
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }
}

impl From<rusqlite::Error> for LedgerError {
    fn from(err: rusqlite::Error) -> Self {
        let message = err.to_string();
        match err.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Self::Corrupt(message),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Self::Busy(message),
            Some(
                ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::NoLargeFileSupport,
            ) => Self::Io(message),
            _ => Self::Sqlite(message),
        }
    }
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
