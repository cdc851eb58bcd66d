//! The gateway's event stream, read: each `event:` kind the watch understands, parsed from its
//! JSON data; a kind it does not know is ignored, one it cannot read is an error (skipped).

use countersign_core::approval::ApprovalItem;
use countersign_core::governance;
use serde_json::Value;

use crate::error::{ClientError, Result};
use crate::text::clip;

/// A stream event, read.
pub(super) enum StreamEvent {
    Item(Box<ApprovalItem>),
    Resolved {
        job_id: String,
        by: Option<String>,
        status: Option<String>,
    },
    Policy(Option<String>),
    Governance {
        draft_id: Option<String>,
    },
    Ignored,
}

/// Reads one event; an error means it cannot be read (and is skipped).
pub(super) fn parse_event(kind: &str, data: &str) -> Result<StreamEvent> {
    let unreadable = |e: &dyn std::fmt::Display| {
        ClientError::GatewayProtocol(clip(&format!("{kind} event: {e}")))
    };
    let text = |data: &Value, key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let parsed = match kind {
        // `approval.updated` carries the same item after a re-evaluation; the view turns it
        // into a `Changed` event.
        "approval.required" | "approval.updated" => {
            let data: Value = serde_json::from_str(data).map_err(|e| unreadable(&e))?;
            let item = ApprovalItem::from_value(data).map_err(|e| unreadable(&e))?;
            StreamEvent::Item(Box::new(item))
        }
        "approval.resolved" => {
            let data: Value = serde_json::from_str(data).map_err(|e| unreadable(&e))?;
            match text(&data, "job_id") {
                Some(job_id) => StreamEvent::Resolved {
                    job_id,
                    by: text(&data, "resolved_by"),
                    status: text(&data, "status"),
                },
                None => return Err(unreadable(&"no job_id")),
            }
        }
        "policy.snapshot" => {
            let data: Value = serde_json::from_str(data).map_err(|e| unreadable(&e))?;
            StreamEvent::Policy(text(&data, "snapshot"))
        }
        governance::event::REQUIRED | governance::event::RESOLVED => {
            let data: Value = serde_json::from_str(data).map_err(|e| unreadable(&e))?;
            StreamEvent::Governance {
                draft_id: text(&data, "draft_id"),
            }
        }
        other => {
            tracing::debug!(kind = other, "ignoring unknown event");
            StreamEvent::Ignored
        }
    };
    Ok(parsed)
}
