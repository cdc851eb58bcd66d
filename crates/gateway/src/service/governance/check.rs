//! The preconditions of a governance decision, in the order the contract names them, each
//! failing closed with its own code. Run once before the publish lock for a quick answer and
//! again inside the publish's transaction, where it is authoritative.

use countersign_core::governance::{
    code, ApproveDraftBody, DraftSnapshot, DraftStatus, GovernanceApproval, GovernanceRejection,
    PolicyDraft, RejectDraftBody,
};
use countersign_core::outcome::DecisionAction;
use countersign_core::snapshot::same_policy;

/// A refused governance call: HTTP status, governance code, message and, for a draft that
/// exists, the draft as it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub draft: Option<Box<PolicyDraft>>,
}

impl Refusal {
    fn new(
        status: u16,
        code: &'static str,
        message: impl Into<String>,
        draft: &PolicyDraft,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            draft: Some(Box::new(draft.clone())),
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: 404,
            code: code::DRAFT_NOT_FOUND,
            message: "policy draft not found".into(),
            draft: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: code::BAD_REQUEST,
            message: message.into(),
            draft: None,
        }
    }

    pub fn closed(draft: Option<PolicyDraft>) -> Self {
        let status = draft.as_ref().map_or("decided", |d| match d.status {
            DraftStatus::Approved => "approved",
            DraftStatus::Rejected => "rejected",
            DraftStatus::Open => "open",
        });
        Self {
            status: 409,
            code: code::DRAFT_CLOSED,
            message: format!("the draft is closed: it was {status}"),
            draft: draft.map(Box::new),
        }
    }

    /// A snapshot whose YAML did not validate has no rules to compare.
    pub fn unreadable(snapshot: &DraftSnapshot) -> Self {
        Self {
            status: 409,
            code: code::NOT_READY,
            message: format!(
                "the snapshot's policy cannot be read: {}",
                snapshot.blocker_ids.join(", ")
            ),
            draft: None,
        }
    }
}

/// What a decision asks for.
#[derive(Debug, Clone)]
pub(super) struct Wanted {
    action: DecisionAction,
    snapshot_id: String,
    /// Approve only.
    source_hash: Option<String>,
    actor: String,
}

impl Wanted {
    pub fn approve(body: &ApproveDraftBody, actor: &str) -> Self {
        Self {
            action: DecisionAction::Approve,
            snapshot_id: body.expected_snapshot_id.clone(),
            source_hash: Some(body.expected_source_snapshot_hash.clone()),
            actor: actor.to_owned(),
        }
    }

    pub fn reject(body: &RejectDraftBody, actor: &str) -> Self {
        Self {
            action: DecisionAction::Reject,
            snapshot_id: body.expected_snapshot_id.clone(),
            source_hash: None,
            actor: actor.to_owned(),
        }
    }
}

/// What the decision may do.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Checked {
    Decide,
    AlreadyApproved(Box<GovernanceApproval>),
    AlreadyRejected(Box<GovernanceRejection>),
}

/// The checks; `current` is the tenant's current policy snapshot, for an approve's
/// `stale_base`.
pub(super) fn check(
    draft: &PolicyDraft,
    wanted: &Wanted,
    current: Option<&str>,
) -> Result<Checked, Refusal> {
    match (wanted.action, &draft.approval, &draft.rejection) {
        (DecisionAction::Approve, Some(a), _) if a.snapshot_id == wanted.snapshot_id => {
            return Ok(Checked::AlreadyApproved(Box::new(a.clone())));
        }
        (DecisionAction::Reject, _, Some(r)) if r.snapshot_id == wanted.snapshot_id => {
            return Ok(Checked::AlreadyRejected(Box::new(r.clone())));
        }
        _ => {}
    }
    if draft.status != DraftStatus::Open {
        return Err(Refusal::closed(Some(draft.clone())));
    }
    let snapshot = &draft.active_snapshot;
    if wanted.snapshot_id != snapshot.snapshot_id {
        return Err(Refusal::new(
            409,
            code::STALE_LINEAGE,
            format!(
                "the draft moved: its active snapshot is {} (version {})",
                snapshot.snapshot_id, snapshot.version
            ),
            draft,
        ));
    }
    if wanted.action == DecisionAction::Approve {
        if wanted.source_hash.as_deref() != Some(snapshot.source_snapshot_hash.as_str()) {
            return Err(Refusal::new(
                409,
                code::SOURCE_HASH_MISMATCH,
                "the expected source hash is not the snapshot's",
                draft,
            ));
        }
        if !snapshot.ready_for_approval || !snapshot.blocker_ids.is_empty() {
            return Err(Refusal::new(
                409,
                code::NOT_READY,
                format!(
                    "the snapshot has blockers: {}",
                    snapshot.blocker_ids.join(", ")
                ),
                draft,
            ));
        }
        if let Some(current) = current {
            if !same_policy(current, &snapshot.base_snapshot) {
                return Err(Refusal::new(
                    409,
                    code::STALE_BASE,
                    "a new policy was published since the draft was written; propose it again against the current policy",
                    draft,
                ));
            }
        }
    }
    if wanted.actor == draft.author {
        return Err(Refusal::new(
            403,
            code::SELF_APPROVAL_DENIED,
            "the author of a draft cannot decide it: another reviewer must",
            draft,
        ));
    }
    Ok(Checked::Decide)
}
