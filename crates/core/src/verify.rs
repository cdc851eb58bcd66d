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
//!    check is cheap, so it runs before the expensive ones;
//! 4. **content changed**: the card's content fetched now (the payload, labels, rule, ...) must
//!    have the digest of what the reviewer read ([`crate::content`]): the job hash does not
//!    cover the payload, so this is the check that binds what was read;
//! 5. **request content**: parsing and hashing the full request proves that the hash the
//!    gateway claims (and the reviewer saw) really describes the request it holds;
//! 6. **payload**: when the request's `context_ptr` names the payload's SHA-256 and the gateway
//!    serves the payload's bytes, they must match, and the content must show those bytes.
//!
//! A verdict that allows approving has one of two levels ([`VerdictLevel`]):
//! [`Verdict::ContentVerified`] only when 5 and 6 both ran, so the job hash binds everything
//! the reviewer read; [`Verdict::IdentityChecked`] when the gateway could not show that (no
//! request to hash, or a pointer that names no digest): the identities and the content as
//! served matched, but the gateway's word for it is all there is.
//!
//! Workflow gates skip the policy check, as Cordum does (CONTRACT.md §3), but only while the
//! reviewer saw no real snapshot: the gate flag comes from a label the agent chose, so it may
//! not switch off the check of a snapshot the reviewer did see, and it applies only when both
//! the seen and the current item are gates.
//!
//! A request whose `job_id` is not the item's is reported as its own verdict,
//! [`Verdict::RequestForOtherJob`], rather than as a content mismatch: its hash may well be
//! self-consistent, the gateway simply served the wrong job, and the reviewer should be told so.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::approval::{ApprovalCard, ApprovalItem};
use crate::canonical::canonical_json;
use crate::content::{payload_matches, payload_value, pointer_digest};
use crate::content::{CardContent, FieldChange};
use crate::jobhash::job_hash;
use crate::jobrequest::{Generation, JobRequest};
use crate::snapshot::{same_policy, snapshot_base};

/// What the reviewer saw when deciding: the identity of the item on their screen and the
/// digest of its content ([`CardContent::digest`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SeenItem {
    pub job_id: String,
    pub job_hash: String,
    pub policy_snapshot: String,
    pub workflow_gate: bool,
    /// Empty when the content was not recorded; such an item cannot be approved.
    #[serde(default)]
    pub content_digest: String,
    /// The content itself, so a refusal can name what changed; a digest without it still
    /// binds, it only cannot say which field moved.
    #[serde(default)]
    pub content: Option<CardContent>,
}

impl SeenItem {
    /// Binds the content the reviewer was shown.
    pub fn with_content(mut self, content: CardContent) -> Self {
        self.content_digest = content.digest();
        self.content = Some(content);
        self
    }
}

impl From<&ApprovalItem> for SeenItem {
    fn from(item: &ApprovalItem) -> Self {
        Self {
            job_id: item.job.id.clone(),
            job_hash: item.job_hash.clone(),
            policy_snapshot: item.policy_snapshot.clone(),
            workflow_gate: item.is_workflow_gate(),
            ..Self::default()
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
            ..Self::default()
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
    /// Whose JobRequest schema and job-hash rules `request` is read and hashed with: the
    /// gateway's generation.
    pub generation: Generation,
    /// The card's content as fetched now; `None` when it could not be read.
    pub content: Option<&'a CardContent>,
    /// The payload's raw bytes, when the gateway serves them (extension).
    pub payload: Option<&'a [u8]>,
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
    /// The content the reviewer saw was not recorded, or the current one could not be read.
    MissingContent,
}

/// How much a verdict proves; what the app's badge shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum VerdictLevel {
    /// The request hash was recomputed and the payload matched the pointer it covers: the job
    /// hash binds everything the reviewer read.
    ContentVerified,
    /// Same hash, snapshot and content as the gateway reports now; the gateway offers no way
    /// to prove the content against the hash.
    IdentityChecked,
    /// Not approvable: something changed, could not be checked, or the item is resolved.
    Refused,
}

impl VerdictLevel {
    /// A stable machine-readable code, equal to the serialized form.
    pub fn code(self) -> &'static str {
        match self {
            Self::ContentVerified => "content_verified",
            Self::IdentityChecked => "identity_checked",
            Self::Refused => "refused",
        }
    }

    /// The words for the level, the same in the CLI, the ledger and the app.
    pub fn words(self) -> &'static str {
        match self {
            Self::ContentVerified => "content verified",
            Self::IdentityChecked => "identity checked",
            Self::Refused => "refused",
        }
    }
}

/// The verdict; [`Verdict::ContentVerified`] and [`Verdict::IdentityChecked`] allow approving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "code", rename_all = "snake_case")]
#[ts(export)]
pub enum Verdict {
    /// See [`VerdictLevel::ContentVerified`].
    ContentVerified,
    /// See [`VerdictLevel::IdentityChecked`]; `hash_recomputed` says whether the request was
    /// hashed (its payload pointer then named no digest, or the payload was not served).
    IdentityChecked {
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
    /// What the card shows now differs from what the reviewer read.
    ContentChanged {
        changes: Vec<FieldChange>,
    },
    /// The full request hashes to something other than the hash the gateway claims.
    ContentMismatch {
        recomputed: String,
        claimed: String,
    },
    /// The payload served is not the one the request's pointer names, or not the one shown.
    PayloadMismatch {
        pointer: String,
        why: String,
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
            Self::ContentVerified => "content_verified",
            Self::IdentityChecked { .. } => "identity_checked",
            Self::PolicyChanged { .. } => "policy_changed",
            Self::RequestChanged { .. } => "request_changed",
            Self::ContentChanged { .. } => "content_changed",
            Self::ContentMismatch { .. } => "content_mismatch",
            Self::PayloadMismatch { .. } => "payload_mismatch",
            Self::RequestForOtherJob { .. } => "request_for_other_job",
            Self::NoLongerPending { .. } => "no_longer_pending",
            Self::Unverifiable { .. } => "unverifiable",
        }
    }

    /// How much this verdict proves.
    pub fn level(&self) -> VerdictLevel {
        match self {
            Self::ContentVerified => VerdictLevel::ContentVerified,
            Self::IdentityChecked { .. } => VerdictLevel::IdentityChecked,
            _ => VerdictLevel::Refused,
        }
    }

    /// Whether approving is allowed.
    pub fn is_verified(&self) -> bool {
        self.level() != VerdictLevel::Refused
    }

    /// A sentence for the reviewer.
    pub fn message(&self) -> String {
        match self {
            Self::ContentVerified => "Content verified: the request hashes to the hash you saw \
                 and its payload is the one it points to, unchanged since you read it."
                .into(),
            Self::IdentityChecked {
                hash_recomputed: true,
            } => "Identity checked: the request hashes to the hash you saw and the card is \
                 unchanged, but this gateway cannot prove the payload against the hash."
                .into(),
            Self::IdentityChecked {
                hash_recomputed: false,
            } => "Identity checked: the gateway reports the hash and policy you saw and the \
                 card is unchanged; this gateway cannot show the request to recompute it."
                .into(),
            Self::PolicyChanged { seen, now } => {
                format!("The policy changed since you reviewed it (was {seen:?}, now {now:?}).")
            }
            Self::RequestChanged {
                seen_hash,
                now_hash,
            } => format!(
                "The request changed since you reviewed it (hash was {seen_hash}, now {now_hash})."
            ),
            Self::ContentChanged { changes } => {
                let fields: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{} (was {}, now {})", c.field, c.seen, c.now))
                    .collect();
                format!(
                    "What the card shows changed since you read it: {}.",
                    fields.join("; ")
                )
            }
            Self::ContentMismatch {
                recomputed,
                claimed,
            } => format!(
                "The request's content does not match its hash: it hashes to {recomputed}, \
                 the gateway claims {claimed}."
            ),
            Self::PayloadMismatch { pointer, why } => {
                format!("The payload does not match its pointer {pointer:?}: {why}.")
            }
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
    let gate = seen.workflow_gate && now.is_workflow_gate();
    if !gate || names_a_policy(&seen.policy_snapshot) {
        if let Some(verdict) = check_policy(seen, now, input.current_snapshots) {
            return verdict;
        }
    }
    let Some(content) = input.content.filter(|_| !seen.content_digest.is_empty()) else {
        return unverifiable(
            UnverifiableReason::MissingContent,
            "the content you read was not recorded, or the current content could not be read",
        );
    };
    if content.digest() != seen.content_digest {
        let changes = match &seen.content {
            Some(seen_content) if seen_content.digest() == seen.content_digest => {
                seen_content.changes(content)
            }
            // Only the digest is known: say that much rather than guess a field.
            _ => vec![FieldChange {
                field: "content".into(),
                seen: seen.content_digest.clone(),
                now: content.digest(),
            }],
        };
        return Verdict::ContentChanged { changes };
    }
    let Some(request) = input.request else {
        return Verdict::IdentityChecked {
            hash_recomputed: false,
        };
    };
    let request = match check_request(now, request, input.generation) {
        Ok(request) => request,
        Err(verdict) => return verdict,
    };
    match input.payload {
        Some(payload) if pointer_digest(&request.context_ptr).is_some() => {
            check_payload(&request.context_ptr, payload, content)
        }
        _ => Verdict::IdentityChecked {
            hash_recomputed: true,
        },
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

/// The request, once it is shown to be this job's and to hash to the claimed hash.
fn check_request(
    now: &ApprovalItem,
    request: &[u8],
    generation: Generation,
) -> Result<JobRequest, Verdict> {
    let request = JobRequest::from_protojson(request, generation).map_err(|error| {
        unverifiable(
            UnverifiableReason::RequestUnparseable,
            format!("the request could not be read ({}): {error}", error.code()),
        )
    })?;
    if request.job_id != now.job.id {
        return Err(Verdict::RequestForOtherJob {
            item_job_id: now.job.id.clone(),
            request_job_id: request.job_id,
        });
    }
    let recomputed = job_hash(&request, generation);
    if recomputed != now.job_hash {
        return Err(Verdict::ContentMismatch {
            recomputed,
            claimed: now.job_hash.clone(),
        });
    }
    Ok(request)
}

/// The payload bytes must be the ones the (hash-bound) pointer names, and the card must show
/// exactly them: otherwise the proof would be about bytes the reviewer never read.
fn check_payload(pointer: &str, payload: &[u8], content: &CardContent) -> Verdict {
    let mismatch = |why: &str| Verdict::PayloadMismatch {
        pointer: pointer.to_owned(),
        why: why.to_owned(),
    };
    if !payload_matches(pointer, payload) {
        return mismatch("the payload served has another SHA-256");
    }
    if canonical_json(&payload_value(payload)) != canonical_json(&content.payload) {
        return mismatch("the card does not show the payload served");
    }
    Verdict::ContentVerified
}

#[cfg(test)]
mod tests;
