//! The local check before a governance decision leaves the laptop: the draft fetched fresh must
//! still be exactly what the reviewer saw, or the decision is refused here with the code the
//! gateway would answer. The gateway checks again; this check is what lets the app say *why*
//! before anything is sent, and refuse a gateway that serves text its own hash disowns.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{code, DraftStatus, PolicyDraft};
use crate::outcome::DecisionAction;
use crate::snapshot::same_policy;

/// What the reviewer saw of a draft: the snapshot a decision is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DraftBinding {
    pub draft_id: String,
    pub snapshot_id: String,
    pub draft_version: u32,
    pub source_snapshot_hash: String,
    pub base_snapshot: String,
    pub title: String,
}

impl DraftBinding {
    /// The binding of a draft's active snapshot, as shown.
    pub fn of(draft: &PolicyDraft) -> Self {
        let snapshot = &draft.active_snapshot;
        Self {
            draft_id: draft.draft_id.clone(),
            snapshot_id: snapshot.snapshot_id.clone(),
            draft_version: snapshot.version,
            source_snapshot_hash: snapshot.source_snapshot_hash.clone(),
            base_snapshot: snapshot.base_snapshot.clone(),
            title: draft.title.clone(),
        }
    }
}

/// A decision refused before sending, with the gateway's code for the same refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Refusal {
    pub code: String,
    pub message: String,
}

impl Refusal {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Checks `fresh` (the draft as the gateway serves it now, active snapshot with its YAML)
/// against `seen`. `current_policy` is the tenant's current policy snapshot, when known: an
/// approve is refused when it is no longer the draft's base. A draft already decided the same
/// way at the seen snapshot passes, so the gateway's idempotent answer can settle a decision
/// whose first answer was lost.
pub fn check_fresh(
    seen: &DraftBinding,
    fresh: &PolicyDraft,
    current_policy: Option<&str>,
    action: DecisionAction,
) -> Result<(), Refusal> {
    if fresh.draft_id != seen.draft_id {
        return Err(Refusal::new(
            code::DRAFT_NOT_FOUND,
            format!(
                "the gateway answered with draft {:?} for {:?}",
                fresh.draft_id, seen.draft_id
            ),
        ));
    }
    if let Some(done) = settled_as_seen(seen, fresh, action) {
        return done;
    }
    if fresh.status != DraftStatus::Open {
        return Err(Refusal::new(
            code::DRAFT_CLOSED,
            format!("the draft was {} meanwhile", status_word(fresh.status)),
        ));
    }
    let snapshot = &fresh.active_snapshot;
    if snapshot.snapshot_id != seen.snapshot_id {
        return Err(Refusal::new(
            code::STALE_LINEAGE,
            format!(
                "the draft moved to version {} since you saw version {}",
                snapshot.version, seen.draft_version
            ),
        ));
    }
    if snapshot.source_snapshot_hash != seen.source_snapshot_hash {
        return Err(Refusal::new(
            code::SOURCE_HASH_MISMATCH,
            "the snapshot's source hash is not the one you saw",
        ));
    }
    if !snapshot.yaml_matches_hash() {
        return Err(Refusal::new(
            code::SOURCE_HASH_MISMATCH,
            "the policy text the gateway serves does not hash to the snapshot's source hash",
        ));
    }
    if action == DecisionAction::Reject {
        return Ok(());
    }
    if !snapshot.ready_for_approval || !snapshot.blocker_ids.is_empty() {
        return Err(Refusal::new(
            code::NOT_READY,
            format!(
                "the snapshot has blockers: {}",
                snapshot.blocker_ids.join(", ")
            ),
        ));
    }
    if let Some(current) = current_policy {
        if !same_policy(current, &snapshot.base_snapshot) {
            return Err(Refusal::new(
                code::STALE_BASE,
                "a new policy was published since the draft was written",
            ));
        }
    }
    Ok(())
}

/// `Some(Ok)` when the draft is already decided as asked at the seen snapshot.
fn settled_as_seen(
    seen: &DraftBinding,
    fresh: &PolicyDraft,
    action: DecisionAction,
) -> Option<Result<(), Refusal>> {
    let decided_at = match action {
        DecisionAction::Approve => fresh.approval.as_ref().map(|a| &a.snapshot_id),
        DecisionAction::Reject => fresh.rejection.as_ref().map(|r| &r.snapshot_id),
    }?;
    (decided_at == &seen.snapshot_id).then_some(Ok(()))
}

fn status_word(status: DraftStatus) -> &'static str {
    match status {
        DraftStatus::Open => "reopened",
        DraftStatus::Approved => "approved",
        DraftStatus::Rejected => "rejected",
    }
}
