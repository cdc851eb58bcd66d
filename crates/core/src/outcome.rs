//! Classifies the gateway's answer to approve or reject into a [`GatewayOutcome`] with a stable
//! code, for both generations (CONTRACT.md §2): the new JSON bodies with conflict codes and the
//! v0.9 plain-text `http.Error` bodies.
//!
//! The content type is not reliable (v0.9 sends JSON as `text/plain`), so a body is JSON when it
//! parses as a JSON object. A recognised JSON `code` wins over everything else, and a numeric
//! `status` of 400 or more in the body wins over an HTTP 2xx, because the newest gateway writes
//! its lock-busy answer with HTTP 200 and `status: 409` in the body.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

/// The server's text is kept for display; a proxy's HTML error page need not be kept whole.
const MAX_MESSAGE_CHARS: usize = 500;

/// The reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DecisionAction {
    Approve,
    Reject,
}

impl DecisionAction {
    /// The last path segment of the decision endpoint, `/api/v1/approvals/{job_id}/<this>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// What the gateway's answer means for the decision the client sent.
///
/// `AlreadyApproved` only ever answers an approve and `AlreadyRejected` only a reject: both are
/// idempotent successes. The cross cases (an approve answered with "already rejected" and vice
/// versa) are conflicts and come out as a non-ambiguous `NotActionable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "code", rename_all = "snake_case")]
#[ts(export)]
pub enum GatewayOutcome {
    Success {
        job_id: String,
        trace_id: String,
    },
    /// `by`/`at` are as the gateway wrote them (`at` as text, its unit is not in the contract).
    AlreadyApproved {
        by: String,
        at: String,
    },
    AlreadyRejected {
        by: String,
        at: String,
    },
    StaleSnapshot {
        message: String,
    },
    StaleRequest {
        message: String,
    },
    SelfApprovalDenied {
        message: String,
    },
    /// The job is not awaiting this decision. `ambiguous` means the answer does not say how the
    /// job got resolved (v0.9's "job not awaiting approval", `approval_already_resolved`), so an
    /// earlier attempt of this very client may be what resolved it: read the job to reconcile.
    NotActionable {
        message: String,
        ambiguous: bool,
    },
    RetryableLock {
        message: String,
    },
    Unauthorized {
        message: String,
    },
    Forbidden {
        message: String,
    },
    NotFound {
        message: String,
    },
    /// 5xx, or 429: the gateway or a dependency is briefly unable to decide; retrying is safe
    /// because approve and reject are idempotent on the server.
    Unavailable {
        status: u16,
        message: String,
    },
    BadRequest {
        message: String,
    },
    /// An answer this classifier does not recognise. With a 2xx `status` it is ambiguous
    /// ([`GatewayOutcome::is_ambiguous`]): the job record decides whether the decision landed.
    Unexpected {
        status: u16,
        message: String,
    },
}

impl GatewayOutcome {
    /// A stable machine-readable code, equal to the serialized `code` tag.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Success { .. } => "success",
            Self::AlreadyApproved { .. } => "already_approved",
            Self::AlreadyRejected { .. } => "already_rejected",
            Self::StaleSnapshot { .. } => "stale_snapshot",
            Self::StaleRequest { .. } => "stale_request",
            Self::SelfApprovalDenied { .. } => "self_approval_denied",
            Self::NotActionable { .. } => "not_actionable",
            Self::RetryableLock { .. } => "retryable_lock",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Unavailable { .. } => "unavailable",
            Self::BadRequest { .. } => "bad_request",
            Self::Unexpected { .. } => "unexpected",
        }
    }

    /// Whether sending the same decision again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RetryableLock { .. } | Self::Unavailable { .. })
    }

    /// Whether the answer leaves open if the decision took effect, so only the job record can
    /// settle it: a refusal that does not say how the job got resolved, or a 2xx this
    /// classifier does not recognise (a gateway answering 2xx has most likely applied it, so
    /// such an answer must never be taken as a refusal).
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Self::NotActionable { ambiguous, .. } => *ambiguous,
            Self::Unexpected { status, .. } => is_success(*status),
            _ => false,
        }
    }

    /// The gateway's own text, empty for the success answers that carry none.
    pub fn server_message(&self) -> &str {
        match self {
            Self::Success { .. } | Self::AlreadyApproved { .. } | Self::AlreadyRejected { .. } => {
                ""
            }
            Self::StaleSnapshot { message }
            | Self::StaleRequest { message }
            | Self::SelfApprovalDenied { message }
            | Self::NotActionable { message, .. }
            | Self::RetryableLock { message }
            | Self::Unauthorized { message }
            | Self::Forbidden { message }
            | Self::NotFound { message }
            | Self::Unavailable { message, .. }
            | Self::BadRequest { message }
            | Self::Unexpected { message, .. } => message,
        }
    }
}

/// Classifies the answer (HTTP status and raw body) to an approve or reject call.
pub fn classify(action: DecisionAction, status: u16, body: &str) -> GatewayOutcome {
    match serde_json::from_str::<Value>(body.trim()) {
        Ok(Value::Object(object)) => classify_json(action, status, &object),
        _ => classify_text(status, &clip(body.trim())),
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_MESSAGE_CHARS).collect()
}

fn text_field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// A v0.9 body, or a JSON body without a recognised code.
fn classify_text(status: u16, message: &str) -> GatewayOutcome {
    let message = message.to_owned();
    match status {
        401 => GatewayOutcome::Unauthorized { message },
        403 if is_self_decision_denial(&message) => GatewayOutcome::SelfApprovalDenied { message },
        403 => GatewayOutcome::Forbidden { message },
        404 => GatewayOutcome::NotFound { message },
        400 | 413 | 422 => GatewayOutcome::BadRequest { message },
        409 => classify_conflict(message),
        429 | 500..=599 => GatewayOutcome::Unavailable { status, message },
        _ => GatewayOutcome::Unexpected { status, message },
    }
}

fn is_self_decision_denial(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("self-approval") || message.contains("self-rejection")
}

/// A 409 known only by its text: every v0.9 conflict, and new `approval_conflict` answers.
fn classify_conflict(message: String) -> GatewayOutcome {
    let lower = message.to_ascii_lowercase();
    if lower.ends_with("retry") {
        // "approval in progress; retry", "concurrent approval conflict; retry", ...
        GatewayOutcome::RetryableLock { message }
    } else if ["policy snapshot", "policy drift", "requester identity"]
        .iter()
        .any(|needle| lower.contains(needle))
    {
        GatewayOutcome::StaleSnapshot { message }
    } else if lower.contains("job request changed") || lower.contains("job hash unavailable") {
        GatewayOutcome::StaleRequest { message }
    } else {
        // "workflow run <status> — approval no longer valid": nobody decided, the run ended.
        let ambiguous = !lower.starts_with("workflow run");
        GatewayOutcome::NotActionable { message, ambiguous }
    }
}

fn classify_json(
    action: DecisionAction,
    status: u16,
    object: &Map<String, Value>,
) -> GatewayOutcome {
    let error = text_field(object, "error")
        .or_else(|| text_field(object, "message"))
        .map(clip);
    let message = error.clone().unwrap_or_default();
    let retryable = object.get("retryable").and_then(Value::as_bool) == Some(true);
    if let Some(outcome) = classify_code(text_field(object, "code"), &message, retryable) {
        return outcome;
    }
    let body_status = object
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok());
    let status = match body_status {
        Some(claimed) if is_success(status) && claimed >= 400 => claimed,
        _ => status,
    };
    if !is_success(status) {
        return classify_text(status, &message);
    }
    if error.is_some() {
        return GatewayOutcome::Unexpected { status, message };
    }
    classify_success(action, status, object)
}

/// Codes from the new generation's JSON bodies (CONTRACT.md §2.1, §2.3).
fn classify_code(code: Option<&str>, message: &str, retryable: bool) -> Option<GatewayOutcome> {
    let message = message.to_owned();
    Some(match code? {
        "approval_retryable_lock" => GatewayOutcome::RetryableLock { message },
        "approval_stale_snapshot" => GatewayOutcome::StaleSnapshot { message },
        "approval_stale_request" => GatewayOutcome::StaleRequest { message },
        "self_approval_denied" => GatewayOutcome::SelfApprovalDenied { message },
        "approval_already_resolved" | "approval_not_actionable" => GatewayOutcome::NotActionable {
            message,
            ambiguous: true,
        },
        "approval_terminal_run" => GatewayOutcome::NotActionable {
            message,
            ambiguous: false,
        },
        // The newest Cordum's strict decoder: our body is refused, nothing was decided.
        "approval_bad_request" | "invalid_body" => GatewayOutcome::BadRequest { message },
        "approval_forbidden" | "tier_limit_exceeded" => GatewayOutcome::Forbidden { message },
        "approval_not_found" => GatewayOutcome::NotFound { message },
        "approval_conflict" => classify_conflict(message),
        _ if retryable => GatewayOutcome::RetryableLock { message },
        _ => return None,
    })
}

/// A 2xx JSON body without an error: a fresh decision or an idempotent replay.
fn classify_success(
    action: DecisionAction,
    status: u16,
    object: &Map<String, Value>,
) -> GatewayOutcome {
    let text = |key: &str| clip(text_field(object, key).unwrap_or_default());
    // The replay time's type is not in the contract; keep numbers and strings alike as text.
    let time = |key: &str| match object.get(key) {
        Some(Value::Number(number)) => number.to_string(),
        _ => text(key),
    };
    match (text_field(object, "status"), action) {
        (None, _) if !text("job_id").is_empty() => GatewayOutcome::Success {
            job_id: text("job_id"),
            trace_id: text("trace_id"),
        },
        (Some("already_approved"), DecisionAction::Approve) => GatewayOutcome::AlreadyApproved {
            by: text("approved_by"),
            at: time("approved_at"),
        },
        (Some("already_rejected"), DecisionAction::Reject) => GatewayOutcome::AlreadyRejected {
            by: text("rejected_by"),
            at: time("rejected_at"),
        },
        (Some("already_approved"), DecisionAction::Reject) => GatewayOutcome::NotActionable {
            message: format!("job was already approved by {}", text("approved_by")),
            ambiguous: false,
        },
        (Some("already_rejected"), DecisionAction::Approve) => GatewayOutcome::NotActionable {
            message: format!("job was already rejected by {}", text("rejected_by")),
            ambiguous: false,
        },
        (Some(other), _) => GatewayOutcome::Unexpected {
            status,
            message: clip(&format!("unknown success status {other:?}")),
        },
        (None, _) => GatewayOutcome::Unexpected {
            status,
            message: "success answer without a job id".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests;
