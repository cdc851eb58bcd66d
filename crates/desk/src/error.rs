//! [`DeskError`]: what the app's commands fail with. It carries the engine's stable code
//! (`ClientError::code`, `LedgerError::code`, or one of this crate's own) so the UI branches on
//! `code`, a sentence for people, and structured `detail` where the UI shows more than words
//! (the drift verdict with seen-vs-now, the gateway's outcome).

use countersign_client::ClientError;
use countersign_ledger::LedgerError;
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

/// A failed desk operation, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct DeskError {
    pub code: String,
    pub message: String,
    #[ts(type = "unknown")]
    pub detail: Option<Value>,
}

impl DeskError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            detail: None,
        }
    }

    /// An approve of a high-risk item without the job hash characters the card shows.
    pub fn confirmation_required() -> Self {
        Self::new(
            codes::CONFIRMATION_REQUIRED,
            "this item is high risk: type the last 4 characters of its job hash to approve",
        )
    }

    pub fn confirmation_mismatch() -> Self {
        Self::new(
            codes::CONFIRMATION_MISMATCH,
            "the characters typed are not the end of this item's job hash; nothing was sent",
        )
    }
}

/// This crate's own codes, beside the engine's.
pub mod codes {
    pub const CONFIRMATION_REQUIRED: &str = "confirmation_required";
    pub const CONFIRMATION_MISMATCH: &str = "confirmation_mismatch";
    /// The item's deadline passed: it can no longer be approved.
    pub const EXPIRED: &str = "expired";
    /// The item is not (or no longer) in the queue on screen.
    pub const NOT_IN_QUEUE: &str = "not_in_queue";
    /// The click names another version of the card than the desk shows.
    pub const CARD_CHANGED: &str = "card_changed";
    /// The card appeared or changed less than half a second ago.
    pub const JUST_CHANGED: &str = "just_changed";
    /// The card's content (payload, labels) is not loaded yet, so nothing binds it.
    pub const CONTENT_LOADING: &str = "content_loading";
    /// The click was made in a desk that is no longer open.
    pub const SESSION_CHANGED: &str = "session_changed";
    /// No profile is open.
    pub const NO_SESSION: &str = "no_session";
    /// The embedded demo gateway could not start.
    pub const DEMO_FAILED: &str = "demo_failed";
    /// The reviewer said no when asked to confirm (outside the webview).
    pub const DECLINED: &str = "declined";
    pub const INVALID_INPUT: &str = "invalid_input";
    pub const IO: &str = "io";
}

impl From<ClientError> for DeskError {
    fn from(error: ClientError) -> Self {
        let detail = match &error {
            ClientError::Drift(verdict) => serde_json::to_value(verdict).ok(),
            ClientError::Conflict(outcome) => serde_json::to_value(outcome).ok(),
            _ => None,
        };
        // A governance refusal is known by its own code (`stale_lineage`, `stale_base`, …):
        // the Policy section branches on it.
        let code = match &error {
            ClientError::GovernanceRefused { code, .. } => code.clone(),
            other => other.code().to_owned(),
        };
        Self {
            code,
            message: error.to_string(),
            detail,
        }
    }
}

impl From<LedgerError> for DeskError {
    fn from(error: LedgerError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

pub type Result<T, E = DeskError> = std::result::Result<T, E>;
