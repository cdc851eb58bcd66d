//! The drift verdict the app computes before every approve: is what the gateway would approve
//! now still exactly what the reviewer saw, under the same policy?
//!
//! Checks run in this order, and the first failure is the verdict:
//!
//! 1. **pending**: a resolved item makes every other check moot, and its fields may have moved
//!    legitimately on resolution (a refreshed snapshot, say), which must not read as drift;
//! 2. **request changed**: the gateway itself says the request is no longer the one reviewed;
//!    the reviewer must look again whatever the policy says;
//! 3. **policy**: an unchanged request under a different policy still needs a new decision; this
//!    check is cheap, so it runs before the expensive one;
//! 4. **content**: parsing and hashing the full request proves that the hash the gateway claims
//!    (and the reviewer saw) really describes the request it holds. It only means something
//!    once that claimed hash is known to equal the seen one.
//!
//! Workflow gates skip the policy check, as Cordum does (CONTRACT.md §3), but still need a hash.
//! The skip applies only when both the seen and the current item are gates, so a gateway cannot
//! switch the check off after the reviewer looked.
//!
//! A request whose `job_id` is not the item's is reported as its own verdict,
//! [`Verdict::RequestForOtherJob`], rather than as a content mismatch: its hash may well be
//! self-consistent, the gateway simply served the wrong job, and the reviewer should be told so.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::approval::{ApprovalCard, ApprovalItem};
use crate::jobhash::job_hash;
use crate::jobrequest::JobRequest;
use crate::snapshot::{same_policy, snapshot_base};

/// What the reviewer saw when deciding: the identity of the item on their screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SeenItem {
    pub job_id: String,
    pub job_hash: String,
    pub policy_snapshot: String,
    pub workflow_gate: bool,
}

impl From<&ApprovalItem> for SeenItem {
    fn from(item: &ApprovalItem) -> Self {
        Self {
            job_id: item.job.id.clone(),
            job_hash: item.job_hash.clone(),
            policy_snapshot: item.policy_snapshot.clone(),
            workflow_gate: item.is_workflow_gate(),
        }
    }
}

impl From<&ApprovalCard> for SeenItem {
    fn from(card: &ApprovalCard) -> Self {
        Self {
            job_id: card.job_id.clone(),
            job_hash: card.job_hash.clone(),
            policy_snapshot: card.policy_snapshot.clone(),
            workflow_gate: card.workflow_gate,
        }
    }
}

/// Everything the verdict is computed from.
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    pub seen: &'a SeenItem,
    /// The item as the gateway lists it now; `None` when it is no longer listed or not found.
    pub now: Option<&'a ApprovalItem>,
    /// The gateway's `GET /api/v1/policy/snapshots` list; element 0 is current.
    pub current_snapshots: &'a [String],
    /// The full request in protojson, when the gateway exposes it.
    pub request: Option<&'a [u8]>,
}

/// Why a verdict could not be reached; stable codes for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum UnverifiableReason {
    /// The current item is a different job from the seen one (a caller mix-up).
    ItemMismatch,
    /// The seen or the current item carries no job hash.
    MissingJobHash,
    /// The seen or the current item carries no policy snapshot and is not a workflow gate.
    MissingItemSnapshot,
    /// The gateway reported no current policy snapshot.
    MissingCurrentSnapshot,
    /// The full request could not be parsed.
    RequestUnparseable,
}

/// The verdict; `Verified` is the only one that allows approving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "code", rename_all = "snake_case")]
#[ts(export)]
pub enum Verdict {
    /// `hash_recomputed` says whether the full request was hashed too, or only identities
    /// compared.
    Verified {
        hash_recomputed: bool,
    },
    /// The policy snapshot base differs: `seen` is the snapshot the reviewer saw, `now` the
    /// differing one (the item's own, or the gateway's current).
    PolicyChanged {
        seen: String,
        now: String,
    },
    RequestChanged {
        seen_hash: String,
        now_hash: String,
    },
    /// The full request hashes to something other than the hash the gateway claims.
    ContentMismatch {
        recomputed: String,
        claimed: String,
    },
    /// The full request served for this item belongs to another job.
    RequestForOtherJob {
        item_job_id: String,
        request_job_id: String,
    },
    /// `state` and `resolved_by` are `None` when the item is no longer listed at all.
    NoLongerPending {
        state: Option<String>,
        resolved_by: Option<String>,
    },
    Unverifiable {
        reason: UnverifiableReason,
        why: String,
    },
}

impl Verdict {
    /// A stable machine-readable code, equal to the serialized `code` tag.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verified { .. } => "verified",
            Self::PolicyChanged { .. } => "policy_changed",
            Self::RequestChanged { .. } => "request_changed",
            Self::ContentMismatch { .. } => "content_mismatch",
            Self::RequestForOtherJob { .. } => "request_for_other_job",
            Self::NoLongerPending { .. } => "no_longer_pending",
            Self::Unverifiable { .. } => "unverifiable",
        }
    }

    /// Whether approving is safe.
    pub fn is_verified(&self) -> bool {
        matches!(self, Self::Verified { .. })
    }

    /// A sentence for the reviewer.
    pub fn message(&self) -> String {
        match self {
            Self::Verified {
                hash_recomputed: true,
            } => "Verified: the request is unchanged and its content matches its hash.".into(),
            Self::Verified {
                hash_recomputed: false,
            } => "Verified: the request and the policy are unchanged.".into(),
            Self::PolicyChanged { seen, now } => {
                format!("The policy changed since you reviewed it (was {seen:?}, now {now:?}).")
            }
            Self::RequestChanged {
                seen_hash,
                now_hash,
            } => format!(
                "The request changed since you reviewed it (hash was {seen_hash}, now {now_hash})."
            ),
            Self::ContentMismatch {
                recomputed,
                claimed,
            } => format!(
                "The request's content does not match its hash: it hashes to {recomputed}, \
                 the gateway claims {claimed}."
            ),
            Self::RequestForOtherJob {
                item_job_id,
                request_job_id,
            } => format!(
                "The gateway served the request of job {request_job_id:?} for job {item_job_id:?}."
            ),
            Self::NoLongerPending { state, resolved_by } => {
                let mut text = String::from("This approval is no longer pending");
                if let Some(state) = state.as_deref().filter(|state| !state.is_empty()) {
                    text.push_str(&format!(" (state {state})"));
                }
                if let Some(by) = resolved_by.as_deref().filter(|by| !by.is_empty()) {
                    text.push_str(&format!("; resolved by {by}"));
                }
                text.push('.');
                text
            }
            Self::Unverifiable { why, .. } => format!("Cannot verify this approval: {why}."),
        }
    }
}

fn unverifiable(reason: UnverifiableReason, why: impl Into<String>) -> Verdict {
    Verdict::Unverifiable {
        reason,
        why: why.into(),
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// Computes the verdict; see the module documentation for the order of checks.
pub fn verify(input: &VerifyInput<'_>) -> Verdict {
    let seen = input.seen;
    let Some(now) = input.now else {
        return Verdict::NoLongerPending {
            state: None,
            resolved_by: None,
        };
    };
    if now.job.id != seen.job_id {
        return unverifiable(
            UnverifiableReason::ItemMismatch,
            format!(
                "the current item is job {:?}, not {:?}",
                now.job.id, seen.job_id
            ),
        );
    }
    if !now.is_pending() {
        return Verdict::NoLongerPending {
            state: non_empty(&now.job.state),
            resolved_by: non_empty(&now.resolved_by),
        };
    }
    if seen.job_hash.is_empty() || now.job_hash.is_empty() {
        return unverifiable(
            UnverifiableReason::MissingJobHash,
            "the gateway gave no job hash",
        );
    }
    if now.job_hash != seen.job_hash {
        return Verdict::RequestChanged {
            seen_hash: seen.job_hash.clone(),
            now_hash: now.job_hash.clone(),
        };
    }
    if !(seen.workflow_gate && now.is_workflow_gate()) {
        if let Some(verdict) = check_policy(seen, now, input.current_snapshots) {
            return verdict;
        }
    }
    match input.request {
        None => Verdict::Verified {
            hash_recomputed: false,
        },
        Some(request) => check_content(now, request),
    }
}

/// Whether a snapshot id names a policy at all. Only the base is compared, so an id whose base
/// is empty (`"|cfg:x"`) says nothing about the policy and would match any other empty base.
fn names_a_policy(snapshot: &str) -> bool {
    !snapshot_base(snapshot.trim()).is_empty()
}

fn check_policy(seen: &SeenItem, now: &ApprovalItem, current: &[String]) -> Option<Verdict> {
    if !names_a_policy(&seen.policy_snapshot) || !names_a_policy(&now.policy_snapshot) {
        return Some(unverifiable(
            UnverifiableReason::MissingItemSnapshot,
            "the approval has no policy snapshot",
        ));
    }
    let current = current
        .first()
        .map(|snapshot| snapshot.trim())
        .unwrap_or("");
    if !names_a_policy(current) {
        return Some(unverifiable(
            UnverifiableReason::MissingCurrentSnapshot,
            "the gateway reported no current policy snapshot",
        ));
    }
    [now.policy_snapshot.as_str(), current]
        .into_iter()
        .find(|other| !same_policy(&seen.policy_snapshot, other))
        .map(|other| Verdict::PolicyChanged {
            seen: seen.policy_snapshot.clone(),
            now: other.to_owned(),
        })
}

fn check_content(now: &ApprovalItem, request: &[u8]) -> Verdict {
    let request = match JobRequest::from_protojson(request) {
        Ok(request) => request,
        Err(error) => {
            return unverifiable(
                UnverifiableReason::RequestUnparseable,
                format!("the request could not be read ({}): {error}", error.code()),
            )
        }
    };
    if request.job_id != now.job.id {
        return Verdict::RequestForOtherJob {
            item_job_id: now.job.id.clone(),
            request_job_id: request.job_id,
        };
    }
    let recomputed = job_hash(&request);
    if recomputed != now.job_hash {
        return Verdict::ContentMismatch {
            recomputed,
            claimed: now.job_hash.clone(),
        };
    }
    Verdict::Verified {
        hash_recomputed: true,
    }
}

#[cfg(test)]
mod tests;
