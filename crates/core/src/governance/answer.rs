//! Classifies the gateway's answer to a governance approve or reject. Only a 200 with a
//! success code and the decision record settles a decision as done; every governance refusal
//! is final and named by its code; throttling and server trouble are transient (the decision
//! is re-sent, which the gateway's idempotency per snapshot makes safe); anything else is
//! final and never read as success.

use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use super::{code, GovernanceApproval, GovernanceRejection, PolicyDraft};

/// The server's text is kept for display; a proxy's error page need not be kept whole.
const MAX_MESSAGE_CHARS: usize = 500;

/// What an answer means for the decision sent.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum GovernanceAnswer {
    /// The approval stands; `repeat` when it was recorded before (`already_approved`).
    Approved {
        approval: GovernanceApproval,
        repeat: bool,
    },
    Rejected {
        rejection: GovernanceRejection,
        repeat: bool,
    },
    /// A governance refusal (`stale_lineage`, `stale_base`, …): final.
    Refused {
        code: String,
        message: String,
        /// The draft as it stands, when the gateway sent it.
        draft: Option<Box<PolicyDraft>>,
    },
    /// 401 or 403 without a governance code: the credential or its role.
    Forbidden { status: u16, message: String },
    /// 408, 429, 5xx: worth re-sending.
    Unavailable { status: u16, message: String },
    /// An answer that is none of the above (no governance support, a malformed success).
    Unrecognized { status: u16, message: String },
}

impl GovernanceAnswer {
    /// Classifies an HTTP status and body.
    pub fn classify(status: u16, body: &[u8]) -> Self {
        let json = serde_json::from_slice::<Value>(body).ok();
        let message = message_of(json.as_ref(), body);
        let gateway_code = json
            .as_ref()
            .and_then(|v| v.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if status == 200 {
            if let Some(answer) = json.as_ref().and_then(|v| success(gateway_code, v)) {
                return answer;
            }
            return Self::Unrecognized { status, message };
        }
        if is_refusal(gateway_code) {
            let draft = json
                .as_ref()
                .and_then(|v| v.get("draft"))
                .and_then(|d| serde_json::from_value(d.clone()).ok())
                .map(Box::new);
            return Self::Refused {
                code: gateway_code.to_owned(),
                message,
                draft,
            };
        }
        match status {
            401 | 403 => Self::Forbidden { status, message },
            408 | 429 | 500..=599 => Self::Unavailable { status, message },
            _ => Self::Unrecognized { status, message },
        }
    }

    /// Whether re-sending may still settle the decision.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// A stable code for records: the gateway's code, or the kind of trouble.
    pub fn code(&self) -> &str {
        match self {
            Self::Approved { repeat: false, .. } => code::APPROVED,
            Self::Approved { repeat: true, .. } => code::ALREADY_APPROVED,
            Self::Rejected { repeat: false, .. } => code::REJECTED,
            Self::Rejected { repeat: true, .. } => code::ALREADY_REJECTED,
            Self::Refused { code, .. } => code,
            Self::Forbidden { .. } => "forbidden",
            Self::Unavailable { .. } => "unavailable",
            Self::Unrecognized { .. } => "unrecognized_answer",
        }
    }
}

fn success(gateway_code: &str, body: &Value) -> Option<GovernanceAnswer> {
    let field = |name: &str| body.get(name).cloned();
    match gateway_code {
        code::APPROVED | code::ALREADY_APPROVED => Some(GovernanceAnswer::Approved {
            approval: serde_json::from_value(field("approval")?).ok()?,
            repeat: gateway_code == code::ALREADY_APPROVED,
        }),
        code::REJECTED | code::ALREADY_REJECTED => Some(GovernanceAnswer::Rejected {
            rejection: serde_json::from_value(field("rejection")?).ok()?,
            repeat: gateway_code == code::ALREADY_REJECTED,
        }),
        _ => None,
    }
}

fn is_refusal(gateway_code: &str) -> bool {
    [
        code::DRAFT_NOT_FOUND,
        code::DRAFT_CLOSED,
        code::STALE_LINEAGE,
        code::SOURCE_HASH_MISMATCH,
        code::NOT_READY,
        code::STALE_BASE,
        code::SELF_APPROVAL_DENIED,
        code::BAD_REQUEST,
    ]
    .contains(&gateway_code)
}

fn message_of(json: Option<&Value>, body: &[u8]) -> String {
    let text = json
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .map_or_else(
            || String::from_utf8_lossy(body).trim().to_owned(),
            str::to_owned,
        );
    text.chars().take(MAX_MESSAGE_CHARS).collect()
}
