//! [`ClientError`]: every way a client call can fail, each with a stable [`ClientError::code`]
//! the app and the CLI branch on without parsing messages. Messages never carry secrets.

use countersign_core::outcome::GatewayOutcome;
use countersign_core::verify::Verdict;
use countersign_ledger::LedgerError;

/// A client failure. Messages are for people; [`ClientError::code`] is for programs.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The session expired or was revoked: sign in again.
    #[error("the session expired or was revoked; sign in again")]
    ReauthRequired,
    /// The gateway refused the credential (a wrong or revoked API key, a bad password).
    #[error("the gateway refused the credentials: {0}")]
    Unauthorized(String),
    #[error("the gateway refused access: {0}")]
    Forbidden(String),
    #[error("not found on the gateway: {0}")]
    NotFound(String),
    /// No saved profile has this name (a local matter, unlike [`ClientError::NotFound`]).
    #[error("no saved profile named {0:?}")]
    ProfileNotFound(String),
    /// The gateway could not be reached or the connection broke.
    #[error("network error: {0}")]
    Network(String),
    #[error("the gateway did not answer in time")]
    Timeout,
    /// The gateway or a dependency is briefly unable to serve (5xx, 429).
    #[error("the gateway is unavailable (HTTP {status}): {message}")]
    Unavailable { status: u16, message: String },
    /// Plain HTTP to a host other than loopback.
    #[error("refusing plain HTTP to {0}: use https (plain http is allowed only to loopback)")]
    InsecureTransport(String),
    #[error("invalid profile: {0}")]
    InvalidProfile(String),
    /// The caller's input cannot be sent (for example a reject without a reason).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The item drifted from what the reviewer saw; nothing was sent.
    #[error("{}", .0.message())]
    Drift(Verdict),
    /// The gateway refused the decision.
    #[error("the gateway refused the decision ({}): {}", .0.code(), .0.server_message())]
    Conflict(GatewayOutcome),
    /// The gateway does not let a requester decide their own job.
    #[error("you cannot decide a job you submitted: {0}")]
    SelfApprovalDenied(String),
    /// The gateway answered something this client cannot read.
    /// A governance decision refused, locally or by the gateway, with the governance code
    /// (`stale_lineage`, `stale_base`, `self_approval_denied`, …).
    #[error("{message} ({code})")]
    GovernanceRefused { code: String, message: String },
    #[error("unexpected gateway answer: {0}")]
    GatewayProtocol(String),
    /// The gateway has no such API at all (a missing route), as opposed to a missing job.
    #[error("this gateway does not offer {0}")]
    NotOffered(String),
    /// The gateway kept failing; the decision stays open in the outbox and is finished by
    /// [`crate::Decider::recover`].
    #[error("the outcome of decision {decision_id} is not known yet ({last_error}); it will be reconciled")]
    OutcomeUnknown {
        decision_id: String,
        last_error: String,
    },
    /// The gateway applied the decision but the ledger could not record it; the outbox row
    /// stays open and [`crate::Decider::recover`] records it from the job record.
    #[error(
        "decision {decision_id} was applied by the gateway but could not be recorded: {message}"
    )]
    AppliedNotRecorded {
        decision_id: String,
        message: String,
    },
    /// Recovery gave up on a decision the gateway kept refusing while the job still waits
    /// (so it did not land): the reviewer decides again.
    #[error("decision {decision_id} was given up ({message}); decide again")]
    Abandoned {
        decision_id: String,
        message: String,
    },
    /// Another decision for this job is being made or is still open in the outbox
    /// (`decision_id` names the open outbox row; finish it with [`crate::Decider::recover`]).
    #[error("job {job_id} already has a decision in flight")]
    DecisionInFlight {
        job_id: String,
        decision_id: Option<String>,
    },
    #[error("secret store error: {0}")]
    SecretStore(String),
    #[error("ledger error: {0}")]
    Ledger(#[from] LedgerError),
    #[error("I/O error: {0}")]
    Io(String),
}

impl ClientError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ReauthRequired => "reauth_required",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::ProfileNotFound(_) => "profile_not_found",
            Self::Network(_) => "network",
            Self::Timeout => "timeout",
            Self::Unavailable { .. } => "gateway_unavailable",
            Self::InsecureTransport(_) => "insecure_transport",
            Self::InvalidProfile(_) => "invalid_profile",
            Self::InvalidInput(_) => "invalid_input",
            Self::Drift(_) => "drift",
            Self::Conflict(_) => "conflict",
            Self::SelfApprovalDenied(_) => "self_approval_denied",
            Self::GovernanceRefused { .. } => "governance_refused",
            Self::GatewayProtocol(_) => "gateway_protocol",
            Self::NotOffered(_) => "not_offered",
            Self::OutcomeUnknown { .. } => "outcome_unknown",
            Self::AppliedNotRecorded { .. } => "applied_not_recorded",
            Self::Abandoned { .. } => "decision_abandoned",
            Self::DecisionInFlight { .. } => "decision_in_flight",
            Self::SecretStore(_) => "secret_store",
            Self::Ledger(_) => "ledger",
            Self::Io(_) => "io",
        }
    }

    /// Whether trying the same call again later may succeed (the network, the gateway's
    /// availability), as opposed to needing a person (credentials, drift, conflicts).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Network(_) | Self::Timeout | Self::Unavailable { .. }
        )
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            return Self::Timeout;
        }
        // reqwest's message may name the URL; ours never carry credentials in URLs.
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Network(text)
    }
}

impl From<std::io::Error> for ClientError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error.to_string())
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
