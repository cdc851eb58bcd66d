//! The library's error type. Every variant has a stable [`GatewayError::code`] so that an
//! embedding application can branch on it without parsing messages.

use thiserror::Error;

/// Why the gateway could not start, or an internal operation failed.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// The SQLite database could not be opened, migrated, read or written.
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    /// A blocking storage task was cancelled or panicked.
    #[error("storage task failed: {0}")]
    StorageTask(String),
    /// A policy document was not valid.
    #[error("invalid policy: {0}")]
    Policy(String),
    /// A configuration file or value was not valid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file or the listener could not be read, bound or served.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A stored job request could not be read back.
    #[error("stored job request is unreadable: {0}")]
    StoredRequest(String),
    /// A job that an operation names does not exist.
    #[error("job not found")]
    JobNotFound,
    /// Password hashing failed.
    #[error("password hashing: {0}")]
    Password(String),
}

impl GatewayError {
    /// A stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Storage(_) => "storage",
            Self::StorageTask(_) => "storage_task",
            Self::Policy(_) => "invalid_policy",
            Self::Config(_) => "invalid_config",
            Self::Io(_) => "io",
            Self::StoredRequest(_) => "stored_request_unreadable",
            Self::JobNotFound => "job_not_found",
            Self::Password(_) => "password_hash",
        }
    }
}
