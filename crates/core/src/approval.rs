//! Approval items as `GET /api/v1/approvals` returns them, in both gateway generations
//! (CONTRACT.md §1.1.1), and the rules a reviewer client derives from one item: whether it is
//! still pending and whether it is a workflow gate, and [`ApprovalCard`], the compact card the UI
//! shows for an item.
//!
//! # Tolerance towards the gateway
//!
//! The two generations differ in which keys they send, v0.9 writes `null` for empty objects, and
//! a gateway may be hostile. Parsing therefore never panics and treats every key as optional,
//! ignoring unknown keys, but wrong types are handled per field (the reader is in `parse.rs`):
//!
//! * **Identity fields** (`job.id`, `job.state`, `job_hash`, `policy_snapshot`, and the page's
//!   `items` and `next_cursor`) decide what the reviewer signs or where the list continues.
//!   A wrong type there is an [`ApprovalError`] naming the field: guessing would let the gateway
//!   smuggle a different identity past the drift checks, and a dropped cursor would hide the
//!   rest of the list. A missing or `null` value reads as empty, exactly like Go's `omitempty`;
//!   an item without a job id is rejected because nothing can be done with it.
//! * **Everything else** is descriptive, or errs on the safe side when lost: an unreadable
//!   `gate_type` keeps the snapshot check on, and an unreadable resolution marker at worst
//!   offers an approve that the gateway refuses with a 409. A wrong type degrades to the empty
//!   value (`""`, `[]`, `None`, `null`), so one odd field cannot hide the item.
//!
//! One malformed item does not make the page unreadable: [`ApprovalPage::from_json`] keeps the
//! readable items and reports the others in [`ApprovalPage::rejected`].

mod card;
mod parse;
mod prior;

pub use card::{ApprovalCard, WorkflowInfo};
pub use prior::{prior_approvals, PriorApproval};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;
use ts_rs::TS;

/// The job state of an item waiting for a human decision.
pub const STATE_APPROVAL_REQUIRED: &str = "APPROVAL_REQUIRED";
/// The safety decision that asks for a human decision.
pub const DECISION_REQUIRE_APPROVAL: &str = "REQUIRE_APPROVAL";
/// The `gate_type` label value of a workflow approval gate.
pub const GATE_TYPE_WORKFLOW_APPROVAL: &str = "workflow_approval";

/// `approval_status` / `approval_actionability` values that mean the approval was settled one
/// way or another (CONTRACT.md §1.1.1), so approving it can no longer succeed.
const SETTLED_MARKERS: &[&str] = &[
    "approved",
    "rejected",
    "expired",
    "invalidated",
    "repaired",
    "resolved",
];

/// The gateway's job record (Cordum `model.JobRecord`) embedded in an approval item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct JobRecord {
    pub id: String,
    pub worker_id: String,
    pub trace_id: String,
    /// Microseconds since the Unix epoch; the list's cursor unit.
    #[ts(type = "number | null")]
    pub updated_at: Option<i64>,
    pub state: String,
    pub topic: String,
    pub tenant: String,
    pub team: String,
    pub principal: String,
    pub actor_id: String,
    pub actor_type: String,
    pub idempotency_key: String,
    pub capability: String,
    pub risk_tags: Vec<String>,
    pub requires: Vec<String>,
    pub pack_id: String,
    #[ts(type = "number | null")]
    pub attempts: Option<i64>,
    pub safety_decision: String,
    pub safety_reason: String,
    pub safety_rule_id: String,
    pub safety_snapshot: String,
    #[ts(type = "number | null")]
    pub deadline_unix: Option<i64>,
    pub failure_reason: String,
}

/// One entry of `GET /api/v1/approvals`. Keys the older generation does not send are empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ApprovalItem {
    pub job: JobRecord,
    pub decision: String,
    pub policy_snapshot: String,
    pub policy_rule_id: String,
    pub policy_reason: String,
    /// Free-form `PolicyConstraints` JSON, `null` when the gateway has none.
    #[ts(type = "unknown")]
    pub constraints: Value,
    pub job_hash: String,
    pub approval_required: bool,
    pub approval_ref: String,
    pub approval_status: String,
    pub approval_actionability: String,
    #[ts(type = "number | null")]
    pub approval_revision: Option<i64>,
    pub approval_decision: String,
    pub submitted_by: String,
    pub resolved_by: String,
    pub resolved_comment: String,
    pub resolution: String,
    /// Microseconds since the Unix epoch.
    #[ts(type = "number | null")]
    pub resolved_at: Option<i64>,
    pub workflow_id: String,
    pub workflow_run_id: String,
    pub workflow_step_id: String,
    pub step_name: String,
    pub gate_type: String,
    pub workflow_name: String,
    pub context_ptr: String,
    #[ts(type = "unknown")]
    pub job_input: Value,
    pub decision_summary: Option<DecisionSummary>,
    pub blast_radius: Option<BlastRadius>,
    pub rollback_hint: String,
    pub policy_snapshot_summary: Option<PolicySnapshotSummary>,
}

/// The gateway's plain-language digest of an item (new generation only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct DecisionSummary {
    #[serde(deserialize_with = "parse::lenient")]
    pub source: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub completeness: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub context_status: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub title: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub subject: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub why: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub next_effect: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub amount: Option<f64>,
    #[serde(deserialize_with = "parse::lenient")]
    pub currency: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub vendor: String,
    #[serde(deserialize_with = "parse::lenient")]
    #[ts(type = "number | null")]
    pub item_count: Option<i64>,
    #[serde(deserialize_with = "parse::lenient")]
    pub items_preview: Vec<String>,
    #[serde(deserialize_with = "parse::lenient")]
    pub escalation_reason: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub missing_fields: Vec<String>,
}

/// What an approved job may touch, as the requester declared it (new generation only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct BlastRadius {
    #[serde(deserialize_with = "parse::lenient")]
    pub systems: Vec<String>,
    #[serde(deserialize_with = "parse::lenient")]
    pub namespaces: Vec<String>,
    #[serde(deserialize_with = "parse::lenient")]
    pub resources: Vec<String>,
    #[serde(deserialize_with = "parse::lenient")]
    pub scope_description: String,
}

/// The policy behind the decision (new generation only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct PolicySnapshotSummary {
    #[serde(deserialize_with = "parse::lenient")]
    #[ts(type = "number | null")]
    pub rule_count: Option<i64>,
    #[serde(deserialize_with = "parse::lenient")]
    pub matched_rule: Option<MatchedRule>,
    /// The snapshot base of `policy_snapshot`.
    #[serde(deserialize_with = "parse::lenient")]
    pub policy_version: String,
}

/// The rule that matched, inside [`PolicySnapshotSummary`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct MatchedRule {
    #[serde(deserialize_with = "parse::lenient")]
    pub id: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub description: String,
    #[serde(deserialize_with = "parse::lenient")]
    pub decision: String,
    /// Shape not pinned down by the contract, so it stays raw JSON.
    #[serde(deserialize_with = "parse::lenient")]
    #[ts(type = "unknown")]
    pub constraints_summary: Value,
}

/// One page of `GET /api/v1/approvals`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApprovalPage {
    pub items: Vec<ApprovalItem>,
    /// Where the next page starts (µs `updated_at` cursor); `None` on the last page.
    pub next_cursor: Option<i64>,
    /// Items the gateway sent that could not be read; the UI should say that some exist.
    pub rejected: Vec<RejectedItem>,
}

/// An item of a page that was left out, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedItem {
    /// Position in the gateway's `items` array.
    pub index: usize,
    /// The item's `job.id`, when it can still be read: the reviewer can reject it by id.
    pub job_id: Option<String>,
    pub error: ApprovalError,
}

/// Why approval data from the gateway could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApprovalError {
    #[error("approval list is not JSON: {0}")]
    NotJson(String),
    #[error("approval field `{field}` should be {expected} but is {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("approval item has no job id")]
    MissingJobId,
}

impl ApprovalError {
    /// A stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotJson(_) => "approval_not_json",
            Self::WrongType { .. } => "approval_wrong_type",
            Self::MissingJobId => "approval_missing_job_id",
        }
    }
}

impl ApprovalItem {
    /// Whether the item still waits for a human decision.
    ///
    /// The rule is "state `APPROVAL_REQUIRED` or decision `REQUIRE_APPROVAL`"; the
    /// decision alone is not enough because v0.9 sends `approval_required: false` even on
    /// pending items and a record's decision may outlive its resolution. So:
    ///
    /// 1. a settled marker (`resolved_by`, or a settled `approval_status` /
    ///    `approval_actionability`) means not pending: the gateway refuses those with a 409;
    /// 2. otherwise the job state decides when the gateway sent one: only `APPROVAL_REQUIRED`
    ///    is pending. Any other state, known (`PENDING`, `DENIED`, `SUCCEEDED`, ...) or not,
    ///    wins over the decision, because the approve handler refuses every job that is not
    ///    in `APPROVAL_REQUIRED` (CONTRACT.md §2.2);
    /// 3. only without a state does the decision `REQUIRE_APPROVAL` make the item pending.
    pub fn is_pending(&self) -> bool {
        if self.is_settled() {
            return false;
        }
        match self.job.state.as_str() {
            "" => self.decision == DECISION_REQUIRE_APPROVAL,
            state => state == STATE_APPROVAL_REQUIRED,
        }
    }

    /// Whether the gateway treats the item as a workflow approval gate, which skips the policy
    /// snapshot check (CONTRACT.md §3).
    ///
    /// Only the `gate_type=workflow_approval` label is trusted. Cordum also recognises gates by
    /// their CAP approval-gate topic, but the exact subject strings are not in the contract;
    /// guessing them could wrongly skip the snapshot check, while missing a gate only makes the
    /// client stricter (it then asks for a snapshot the gate may not have).
    pub fn is_workflow_gate(&self) -> bool {
        self.gate_type == GATE_TYPE_WORKFLOW_APPROVAL
    }

    fn is_settled(&self) -> bool {
        !self.resolved_by.is_empty()
            || SETTLED_MARKERS.contains(&self.approval_status.as_str())
            || SETTLED_MARKERS.contains(&self.approval_actionability.as_str())
    }
}

#[cfg(test)]
mod tests;
