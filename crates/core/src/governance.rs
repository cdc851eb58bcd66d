//! Governance approvals (seed 004): a policy change is proposed as a **draft**, each save of it
//! is an immutable **draft snapshot**, and it becomes the current policy only when a human
//! other than its author approves that exact snapshot. This module is the wire model both sides
//! share (the reference gateway serializes it, the client reads it, the app renders it) and the
//! rules that must agree on both sides: the source hash of a snapshot and the stable codes of
//! every refusal.
//!
//! Every refusal fails closed with its own [`code`]: a client never infers success from a
//! refusal, and an approve bound to a snapshot never lands on another one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use ts_rs::TS;

mod answer;
mod check;

pub use answer::GovernanceAnswer;
pub use check::{check_fresh, DraftBinding, Refusal};

/// Stable codes of governance answers (the `code` field of the gateway's JSON bodies).
pub mod code {
    /// 200: the snapshot was approved now.
    pub const APPROVED: &str = "approved";
    /// 200: the snapshot was approved before; the existing approval is returned.
    pub const ALREADY_APPROVED: &str = "already_approved";
    /// 200: the draft was rejected now.
    pub const REJECTED: &str = "rejected";
    /// 200: the draft was rejected before at this snapshot; the existing rejection is returned.
    pub const ALREADY_REJECTED: &str = "already_rejected";
    /// 404: no such draft for the caller's tenant.
    pub const DRAFT_NOT_FOUND: &str = "draft_not_found";
    /// 409: the draft is closed (approved at another snapshot, or rejected).
    pub const DRAFT_CLOSED: &str = "draft_closed";
    /// 409: the expected snapshot is not the draft's active one (the draft moved).
    pub const STALE_LINEAGE: &str = "stale_lineage";
    /// 409: the expected source hash is not the active snapshot's.
    pub const SOURCE_HASH_MISMATCH: &str = "source_hash_mismatch";
    /// 409: the snapshot has blockers, or did not validate.
    pub const NOT_READY: &str = "not_ready_for_approval";
    /// 409: the current policy is no longer the base the draft was written against.
    pub const STALE_BASE: &str = "stale_base";
    /// 403: the approver is the draft's author.
    pub const SELF_APPROVAL_DENIED: &str = "self_approval_denied";
    /// 403: `PUT /api/v1/policy` is off (`policy_publish: approval_required`).
    pub const PUBLISH_REQUIRES_APPROVAL: &str = "policy_publish_requires_approval";
    /// 400: a body field is missing or invalid.
    pub const BAD_REQUEST: &str = "governance_bad_request";
}

/// SSE event kinds of the governance feed (on `GET /api/v1/approvals/events`).
pub mod event {
    /// A draft snapshot was saved (created or updated): data is the [`super::PolicyDraft`].
    pub const REQUIRED: &str = "governance.required";
    /// A draft was approved or rejected: data is [`super::GovernanceResolved`].
    pub const RESOLVED: &str = "governance.resolved";
}

/// The `source_snapshot_hash` of a draft snapshot: SHA-256 of the YAML bytes, lowercase hex.
/// Whitespace and comments count: the reviewer approves the text, not a parse of it.
pub fn source_snapshot_hash(yaml: &str) -> String {
    let digest = Sha256::digest(yaml.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a governance decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum GovernanceChannel {
    Desktop,
    Notification,
    Cli,
    Api,
}

impl GovernanceChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Notification => "notification",
            Self::Cli => "cli",
            Self::Api => "api",
        }
    }
}

/// A draft's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DraftStatus {
    /// Awaiting approval (its active snapshot may still have blockers).
    Open,
    Approved,
    Rejected,
}

/// A draft snapshot's validation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SnapshotStatus {
    ReadyForApproval,
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum FindingSeverity {
    /// Forbids approval.
    Blocker,
    /// A warning the approver should read.
    Advisory,
}

/// One validation finding; its `id` is one of `blocker_ids` or `advisory_ids`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Finding {
    /// Stable: `<kind>` or `<kind>:<rule_id>`, e.g. `rule_never_matches:allow-reads`.
    pub id: String,
    pub severity: FindingSeverity,
    #[serde(default)]
    pub rule_id: Option<String>,
    pub message: String,
}

/// A policy rule as diffs show it (the gateway's policy format, decision as written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PolicyRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub when: BTreeMap<String, String>,
    /// `allow`, `deny`, `require_human` or `throttle`.
    pub decision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    #[ts(type = "unknown")]
    pub constraints: Value,
}

/// One immutable save of a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DraftSnapshot {
    pub snapshot_id: String,
    pub draft_id: String,
    /// 1 for the first save, +1 for every later one.
    pub version: u32,
    pub source_snapshot_hash: String,
    /// The tenant's current policy snapshot (`base|cfg:…`) when this snapshot was saved.
    pub base_snapshot: String,
    pub author: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub status: SnapshotStatus,
    pub ready_for_approval: bool,
    pub blocker_ids: Vec<String>,
    pub advisory_ids: Vec<String>,
    pub findings: Vec<Finding>,
    pub rule_count: u32,
    /// The YAML, exactly as saved; present where one snapshot is shown in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
}

impl DraftSnapshot {
    /// Whether `yaml` is present and hashes to `source_snapshot_hash`: the check a client makes
    /// before showing the text as the snapshot's.
    pub fn yaml_matches_hash(&self) -> bool {
        self.yaml
            .as_deref()
            .is_some_and(|y| source_snapshot_hash(y) == self.source_snapshot_hash)
    }
}

/// A proposed policy change of one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PolicyDraft {
    pub draft_id: String,
    pub tenant: String,
    pub title: String,
    pub author: String,
    pub status: DraftStatus,
    pub created_at: String,
    pub updated_at: String,
    /// The newest snapshot, with its YAML.
    pub active_snapshot: DraftSnapshot,
    /// Every snapshot, newest first, without YAML; empty in lists.
    #[serde(default)]
    pub snapshots: Vec<DraftSnapshot>,
    #[serde(default)]
    pub approval: Option<GovernanceApproval>,
    #[serde(default)]
    pub rejection: Option<GovernanceRejection>,
}

/// The immutable proof that a human approved one draft snapshot, which made it current.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GovernanceApproval {
    pub approval_id: String,
    pub tenant: String,
    pub draft_id: String,
    pub snapshot_id: String,
    pub draft_version: u32,
    pub source_snapshot_hash: String,
    /// The policy snapshot the draft was written against (current until this approval).
    pub base_snapshot: String,
    /// The policy snapshot id the approval published.
    pub published_snapshot: String,
    pub blocker_ids: Vec<String>,
    pub advisory_ids: Vec<String>,
    pub actor: String,
    pub channel: GovernanceChannel,
    #[serde(default)]
    pub rationale: Option<String>,
    pub approved_at: String,
}

/// The immutable record of a rejected draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GovernanceRejection {
    pub rejection_id: String,
    pub tenant: String,
    pub draft_id: String,
    pub snapshot_id: String,
    pub draft_version: u32,
    pub source_snapshot_hash: String,
    pub actor: String,
    pub channel: GovernanceChannel,
    pub reason: String,
    pub rejected_at: String,
}

/// The data of a `governance.resolved` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GovernanceResolved {
    pub draft_id: String,
    pub snapshot_id: String,
    pub status: DraftStatus,
    pub actor: String,
    #[serde(default)]
    pub approval: Option<GovernanceApproval>,
    #[serde(default)]
    pub rejection: Option<GovernanceRejection>,
}

/// A rule at its place in a policy (0-based: the first match wins, so order matters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PlacedRule {
    pub position: u32,
    pub rule: PolicyRule,
}

/// A rule present in both policies under the same id, with what differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RuleChange {
    pub rule_id: String,
    pub before: PlacedRule,
    pub after: PlacedRule,
    /// Of `description`, `when`, `decision`, `reason`, `constraints`, `position`.
    pub fields: Vec<String>,
}

/// `GET …/diff`: a draft snapshot against the tenant's current policy, rule by rule (by id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PolicyDiff {
    pub draft_id: String,
    pub snapshot_id: String,
    pub base_snapshot: String,
    pub current_snapshot: String,
    pub added: Vec<PlacedRule>,
    pub removed: Vec<PlacedRule>,
    pub changed: Vec<RuleChange>,
    pub unchanged: u32,
}

/// What a publish of the draft would do to one pending approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ImpactEffect {
    /// Same decision, rule, reason and constraints (the item still moves to the new snapshot).
    Unchanged,
    /// Still approvable, under another rule, reason, constraints or decision.
    Reevaluated,
    /// Denied, throttled or unverifiable under the draft: it would leave the queue.
    Invalidated,
}

/// A policy verdict, as approval items carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ImpactVerdict {
    /// `ALLOW`, `DENY`, `REQUIRE_APPROVAL` or `THROTTLE`.
    pub decision: String,
    pub rule_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ImpactItem {
    pub job_id: String,
    pub topic: String,
    pub effect: ImpactEffect,
    pub before: ImpactVerdict,
    /// `None` when no verdict is possible (requester unknown, request unreadable).
    #[serde(default)]
    pub after: Option<ImpactVerdict>,
}

/// `GET …/impact`: what approving the draft snapshot would do to the tenant's pending approvals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DraftImpact {
    pub draft_id: String,
    pub snapshot_id: String,
    pub current_snapshot: String,
    /// Pending approvals of the tenant, all counted.
    pub pending: u32,
    pub unchanged: u32,
    pub reevaluated: u32,
    pub invalidated: u32,
    /// The re-evaluated and invalidated items (at most 500), then unchanged ones up to that cap.
    pub items: Vec<ImpactItem>,
    /// Whether `items` was cut at the cap.
    pub truncated: bool,
}

/// The body of `POST …/approve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApproveDraftBody {
    pub expected_snapshot_id: String,
    pub expected_source_snapshot_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<GovernanceChannel>,
}

/// The body of `POST …/reject`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectDraftBody {
    pub expected_snapshot_id: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<GovernanceChannel>,
}

/// A 200 answer of approve or reject: `code` is one of the four success codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GovernanceDecisionAnswer {
    pub code: String,
    #[serde(default)]
    pub approval: Option<GovernanceApproval>,
    #[serde(default)]
    pub rejection: Option<GovernanceRejection>,
}

#[cfg(test)]
mod tests;
